import OmniNet
import OmniWire
import OmniConfig
import CWire
import OmniCore

/// Who a venue session is: an OUCH login (one per SoupBinTCP user name), a FIX counterparty
/// (one per client CompID), or the order-flow generator.
enum SimSessionOwner {
    case free
    case generator
    case ouch(SoupUser)
    case fix(compID: String)
}

/// A client order as the order-entry side tracks it; its index in `SimOrderTable` is the
/// venue tag, so every venue event finds it without a search.
struct SimOrder {
    var session: SessionID = 0
    var id: OrderID = .none
    /// The venue's order reference: OUCH order_ref and FIX OrderID, the ref its ITCH messages carry.
    var ref: UInt64 = 0
    var locate: Locate = 0
    var side: Side = .bid
    var price: UInt32 = 0
    /// FIX: OrderQty (total, filled part included). OUCH: shares open.
    var orderQty: UInt32 = 0
    /// Filled so far: across OUCH replaces an order can fill more than UInt32 shares in all.
    var cumQty: UInt64 = 0
    /// Sum of fill price × quantity, for FIX AvgPx (128 bits: a UInt64 overflows after two fills of 2^32 shares at 2^32).
    var notional: UInt128 = 0
    // OUCH
    var token = cw_ouch_token()
    var enter = cw_ouch_enter()
    // FIX
    var clOrdID = FixString()
    var fixSide: FixSide = .buy
    var symbol = FixString()
    var inUse = false
}

/// OUCH order tokens per session, as two words (14 bytes + session), so lookups allocate nothing.
struct OuchKey: Hashable {
    var a: UInt64
    var b: UInt64
    init(_ session: SessionID, _ t: cw_ouch_token) {
        var t = t
        (a, b) = withUnsafeBytes(of: &t) { p in
            (p.loadUnaligned(as: UInt64.self), UInt64(p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
                | UInt64(p[12]) << 32 | UInt64(p[13]) << 40 | UInt64(session) << 48)
        }
    }
}

struct FixKey: Hashable {
    var session: SessionID
    var clOrdID: FixString
}

/// Tags → orders, with a free list; keys → tags per protocol; live orders per session.
struct SimOrderTable {
    var orders: [SimOrder] = []
    var free: [Int] = []
    var ouch: [OuchKey: Int] = [:]
    var fix: [FixKey: Int] = [:]
    /// Client orders in use per venue session (index = SessionID).
    var liveBySession: [Int]

    init(capacity: Int, sessions: Int) {
        orders.reserveCapacity(capacity)
        free.reserveCapacity(capacity)
        ouch.reserveCapacity(capacity)
        liveBySession = [Int](repeating: 0, count: sessions)
    }

    mutating func allocate(_ o: SimOrder) -> Int {
        var o = o
        o.inUse = true
        liveBySession[Int(o.session)] += 1
        if let t = free.popLast() { orders[t] = o; return t }
        orders.append(o)
        return orders.count - 1
    }

    /// Forgets a finished order (filled, canceled, rejected) and its key.
    mutating func release(_ tag: Int, fixClient: Bool) {
        guard tag < orders.count, orders[tag].inUse else { return }
        let o = orders[tag]
        if fixClient { fix[FixKey(session: o.session, clOrdID: o.clOrdID)] = nil } else { ouch[OuchKey(o.session, o.token)] = nil }
        orders[tag].inUse = false
        orders[tag].clOrdID = FixString()
        liveBySession[Int(o.session)] -= 1
        free.append(tag)
    }

    var live: Int { orders.count - free.count }
}

/// OUCH 4.2 reject reasons for venue rejects of a new order.
func ouchRejectReason(_ r: RejectReason) -> UInt8 {
    switch r {
    case .unknownInstrument: return UInt8(ascii: "S")   // invalid stock
    case .marketClosed: return UInt8(ascii: "C")        // exchange closed
    case .zeroQuantity, .badLot, .orderTooLarge, .orderValueTooLarge: return UInt8(ascii: "Z") // shares exceed / invalid size
    case .badTick, .outsidePriceBand: return UInt8(ascii: "X") // invalid price
    default: return UInt8(ascii: "O")                   // other
    }
}

/// OUCH 4.2 cancel reasons.
func ouchCancelReason(_ r: CancelReason) -> UInt8 {
    switch r {
    case .requested: return UInt8(ascii: "U")
    case .unfilledRemainder: return UInt8(ascii: "I")
    case .selfMatch: return UInt8(ascii: "Q")
    case .massCancel: return UInt8(ascii: "S")
    }
}

func rejectText(_ r: RejectReason) -> String {
    switch r {
    case .unknownInstrument: return "unknown symbol"
    case .unknownSession: return "no venue session left"
    case .marketClosed: return "market closed"
    case .zeroQuantity: return "zero quantity"
    case .badTick: return "price not a multiple of the tick"
    case .badLot: return "quantity not a multiple of the lot"
    case .outsidePriceBand: return "price outside the price band"
    case .rateLimited: return "order rate limit"
    case .poolExhausted: return "venue order capacity reached"
    case .postOnlyWouldCross: return "post-only order would cross"
    case .fillOrKillUnfillable: return "fill-or-kill order cannot fill"
    case .unknownOrder: return "unknown order"
    case .notYourOrder: return "order of another session"
    case .orderTooLarge: return "quantity above the instrument's maximum order size"
    case .orderValueTooLarge: return "price times quantity above the instrument's maximum order value"
    }
}
