import CEvent
import CWire
import OmniCore
import OmniWire

/// OUCH 4.2 over SoupBinTCP as an `OrderEntry`: our CEvent requests become Enter / Replace /
/// Cancel Order messages, queued and sent in one write per pass (`flush`); the venue's
/// Accepted, Replaced, Canceled, Executed, Rejected and Cancel Reject come back from `poll`
/// (a non-blocking read, no poll(2)) as CEvent answers and fills, reasons as
/// OMNI_REASON_OUCH | the OUCH character.
///
/// Tokens carry our client order id: its base 36 in the first 12 characters and the order's
/// replace count in the last 2 (OUCH wants a fresh token per replace), so an answer's token
/// gives the id back with no lookup. What OUCH's answers leave out (side, instrument,
/// strategy, shares still open) is kept per client order slot in arrays sized at start.
public final class OuchOrderEntry: OrderEntry {
    public let client: OuchClient
    let answers: EventQueue
    let slots: Int
    let replaces: UnsafeMutablePointer<UInt16>
    let leaves: UnsafeMutablePointer<UInt32>
    let sides: UnsafeMutablePointer<UInt8>
    let locates: UnsafeMutablePointer<UInt16>
    let strategies: UnsafeMutablePointer<UInt16>
    /// An Enter Order per locate with its stock and firm filled in (index = locate; stock blank: unknown).
    let templates: [cw_ouch_enter]
    /// Requests refused here: not connected, no room in the send buffer, an unknown
    /// instrument or order, an id past the token's range.
    public private(set) var refused = 0
    /// Messages that decoded but named a token not ours, or that OUCH has no answer type for here.
    public private(set) var unmatched = 0
    public private(set) var lastError: SoupError?

    /// `symbols[locate]` is the stock each locate trades as; `orderSlots` bounds our client
    /// order ids' slots (the ledger's capacity).
    public init(_ config: SoupClientConfig, symbols: [UInt16: String], orderSlots: Int = 1 << 16, answerCapacity: Int = 1 << 16,
                firm: String = "OMNI") {
        client = OuchClient(config)
        answers = EventQueue(capacity: answerCapacity)
        slots = orderSlots
        replaces = .allocate(capacity: orderSlots); replaces.initialize(repeating: 0, count: orderSlots)
        leaves = .allocate(capacity: orderSlots); leaves.initialize(repeating: 0, count: orderSlots)
        sides = .allocate(capacity: orderSlots); sides.initialize(repeating: 0, count: orderSlots)
        locates = .allocate(capacity: orderSlots); locates.initialize(repeating: 0, count: orderSlots)
        strategies = .allocate(capacity: orderSlots); strategies.initialize(repeating: 0, count: orderSlots)
        let top = Int(symbols.keys.max() ?? 0)
        var t = [cw_ouch_enter](repeating: cw_ouch_enter(), count: top + 1)
        for (locate, stock) in symbols { t[Int(locate)] = .limit(token: "", stock: stock, side: "B", shares: 0, price: 0, firm: firm) }
        templates = t
    }

    deinit {
        replaces.deallocate(); leaves.deallocate(); sides.deallocate(); locates.deallocate(); strategies.deallocate()
    }

    /// Connects and logs in (again after a disconnect: from the next sequence number, so no
    /// answer is lost or seen twice).
    public func connect() throws(SoupError) { try client.connect() }

    public var isConnected: Bool { client.soup.isConnected }

    // MARK: tokens

    static let idDigits = 12
    static let maxID: UInt64 = 4_738_381_338_321_616_895 // 36^12 - 1

    /// The token of order `id` after `replaces` replaces.
    public static func token(_ id: UInt64, replaces: UInt16) -> cw_ouch_token {
        var t = cw_ouch_token()
        withUnsafeMutableBytes(of: &t) { b in
            var v = id
            for i in stride(from: idDigits - 1, through: 0, by: -1) { b[i] = digit(v % 36); v /= 36 }
            b[idDigits] = digit(UInt64(replaces / 36 % 36))
            b[idDigits + 1] = digit(UInt64(replaces % 36))
        }
        return t
    }

    @inline(__always) static func digit(_ v: UInt64) -> UInt8 { v < 10 ? UInt8(48 + v) : UInt8(55 + v) } // 0-9, A-Z

    /// The client order id a token carries, or nil when it is not one of ours.
    public static func clientOrderID(_ token: cw_ouch_token) -> UInt64? {
        withUnsafeBytes(of: token) { b -> UInt64? in
            var v: UInt64 = 0
            for i in 0..<idDigits {
                let c = b[i]
                let d: UInt64
                switch c {
                case 48...57: d = UInt64(c - 48)
                case 65...90: d = UInt64(c - 55)
                default: return nil
                }
                v = v * 36 + d
            }
            return v
        }
    }

    @inline(__always) func slot(_ id: UInt64) -> Int? {
        let s = Int(id & 0xFF_FFFF)
        return s < slots && id <= Self.maxID ? s : nil
    }

    // MARK: OrderEntry

    public func submit(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        guard let s = slot(o.client_order_id), isConnected else { refused += 1; return false }
        do throws(SoupError) {
            switch Int32(request.type) {
            case Int32(OMNI_EV_ORDER_NEW.rawValue):
                guard Int(request.locate) < templates.count, templates[Int(request.locate)].stock.0 != 0 else { refused += 1; return false }
                var e = templates[Int(request.locate)]
                replaces[s] = 0
                leaves[s] = o.qty
                sides[s] = o.side
                locates[s] = request.locate
                strategies[s] = o.strategy
                e.token = Self.token(o.client_order_id, replaces: 0)
                e.side = CChar(bitPattern: o.side == UInt8(OMNI_SIDE_BUY) ? UInt8(ascii: "B") : UInt8(ascii: "S"))
                e.shares = o.qty
                e.price = o.price
                e.tif = o.order_flags & UInt8(OMNI_ORDF_IOC) != 0 ? CW_OUCH_TIF_IOC : CW_OUCH_TIF_SYSTEM_HOURS
                if o.order_flags & UInt8(OMNI_ORDF_POST_ONLY) != 0 { e.display = CChar(bitPattern: UInt8(ascii: "P")) }
                try client.enter(e, flush: false)
            case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
                try client.cancel(Self.token(o.client_order_id, replaces: replaces[s]), shares: o.qty, flush: false)
            case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
                var r = cw_ouch_replace()
                r.existing = Self.token(o.client_order_id, replaces: replaces[s])
                r.replacement = Self.token(o.client_order_id, replaces: replaces[s] &+ 1)
                r.shares = o.qty
                r.price = o.price
                r.tif = CW_OUCH_TIF_SYSTEM_HOURS
                r.display = CChar(bitPattern: UInt8(ascii: "Y"))
                r.ise = CChar(bitPattern: UInt8(ascii: "N"))
                try client.replace(r, flush: false)
            default:
                refused += 1
                return false
            }
        } catch {
            lastError = error
            refused += 1
            return false
        }
        return true
    }

    public func flush() {
        guard isConnected else { return }
        do throws(SoupError) { try client.soup.flush() } catch { lastError = error }
    }

    @discardableResult
    public func poll(_ body: (inout omni_event) -> Void) -> Int {
        client.poll(timeoutMs: 0) { ev in
            switch ev {
            case .message(let sequence, let m): translate(m, sequence: sequence)
            case .malformed: unmatched += 1
            case .endOfSession: break
            case .disconnected(let e): lastError = e
            }
        }
        return answers.drain(body)
    }

    /// One OUCH message from the venue as the CEvent answer or fill it means.
    func translate(_ m: cw_ouch_out, sequence: UInt64) {
        var token = cw_ouch_token()
        var e = omni_event()
        e.order.venue_ns = m.timestamp
        switch m.type {
        case UInt8(ascii: "A"):
            token = m.u.accepted.token
            e.type = UInt8(OMNI_EV_ORDER_ACCEPTED.rawValue)
            e.order.price = m.u.accepted.price
            e.order.qty = m.u.accepted.shares
        case UInt8(ascii: "U"):
            token = m.u.replaced.token
            e.type = UInt8(OMNI_EV_ORDER_REPLACED.rawValue)
            e.order.price = m.u.replaced.price
            e.order.qty = m.u.replaced.shares
        case UInt8(ascii: "C"):
            token = m.u.canceled.token
            e.type = UInt8(OMNI_EV_ORDER_CANCELED.rawValue)
            e.order.reason = canceledReason(m.u.canceled.reason)
        case UInt8(ascii: "D"):
            token = m.u.aiq_canceled.token
            e.type = UInt8(OMNI_EV_ORDER_CANCELED.rawValue)
            e.order.reason = canceledReason(m.u.aiq_canceled.reason)
        case UInt8(ascii: "E"):
            token = m.u.executed.token
            e.type = UInt8(OMNI_EV_FILL.rawValue)
        case UInt8(ascii: "J"):
            token = m.u.rejected.token
            e.type = UInt8(OMNI_EV_ORDER_REJECTED.rawValue)
            e.order.reason = UInt16(OMNI_REASON_OUCH) | UInt16(UInt8(bitPattern: m.u.rejected.reason))
        case UInt8(ascii: "I"):
            token = m.u.cancel_reject.token
            e.type = UInt8(OMNI_EV_CANCEL_REJECTED.rawValue)
            e.order.reason = UInt16(OMNI_REASON_OUCH) | UInt16(UInt8(ascii: "I"))
        default: // system events, cancel pending, modified, broken trade: no answer in our terms
            unmatched += 1
            return
        }
        guard let id = Self.clientOrderID(token), let s = slot(id) else { unmatched += 1; return }
        e.locate = locates[s]
        switch m.type {
        case UInt8(ascii: "E"):
            let x = m.u.executed
            leaves[s] = leaves[s] > x.shares ? leaves[s] - x.shares : 0
            e.seq = x.match
            e.fill.client_order_id = id
            e.fill.venue_ns = m.timestamp
            e.fill.last_px = x.price
            e.fill.last_qty = x.shares
            e.fill.leaves_qty = leaves[s]
            e.fill.strategy = strategies[s]
            e.fill.side = sides[s]
            e.fill.liquidity = x.liquidity == CChar(bitPattern: UInt8(ascii: "A")) ? UInt8(OMNI_LIQ_ADDED)
                : x.liquidity == CChar(bitPattern: UInt8(ascii: "R")) ? UInt8(OMNI_LIQ_REMOVED) : UInt8(OMNI_LIQ_UNKNOWN)
        case UInt8(ascii: "C"), UInt8(ascii: "D"):
            let dec = m.type == UInt8(ascii: "C") ? m.u.canceled.decrement : m.u.aiq_canceled.decrement
            leaves[s] = leaves[s] > dec ? leaves[s] - dec : 0
            fill(&e, id: id, slot: s, qty: leaves[s]) // OUCH says what went; our answer says what is left
        case UInt8(ascii: "U"):
            replaces[s] &+= 1 // the replacement token is the order's token from now on
            leaves[s] = e.order.qty
            fill(&e, id: id, slot: s, qty: e.order.qty)
        case UInt8(ascii: "A"):
            leaves[s] = e.order.qty
            fill(&e, id: id, slot: s, qty: e.order.qty)
        default:
            fill(&e, id: id, slot: s, qty: 0)
        }
        answers.push(e)
    }

    func fill(_ e: inout omni_event, id: UInt64, slot s: Int, qty: UInt32) {
        e.order.client_order_id = id
        e.order.qty = qty
        e.order.strategy = strategies[s]
        e.order.side = sides[s]
    }

    func canceledReason(_ c: CChar) -> UInt16 {
        let r = UInt8(bitPattern: c)
        return r == UInt8(ascii: "U") ? UInt16(OMNI_REASON_NONE) : UInt16(OMNI_REASON_OUCH) | UInt16(r) // U: the user asked
    }
}
