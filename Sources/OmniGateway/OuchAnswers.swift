import CEvent
import CWire
import OmniWire

/// The venue's OUCH 4.2 answers as CEvent order-lifecycle events: what `OuchOrderEntry` does with
/// each message its SoupBinTCP session delivers, out of the socket code so the same path can be
/// driven from bytes (`receive`) by tests and fuzzers. Accepted, Replaced, Canceled, AIQ Canceled,
/// Executed, Rejected and Cancel Reject become events in `answers`; everything else is counted.
///
/// What OUCH's answers leave out (side, instrument, strategy, shares still open, the token's
/// replace count) is kept per client order slot in arrays sized at start; `register` fills a
/// slot from our Enter Order request. Allocation-free after init.
public final class OuchAnswers {
    public let answers: EventQueue
    let slots: Int
    let replaces: UnsafeMutablePointer<UInt16>
    let leaves: UnsafeMutablePointer<UInt32>
    let sides: UnsafeMutablePointer<UInt8>
    let locates: UnsafeMutablePointer<UInt16>
    let strategies: UnsafeMutablePointer<UInt16>
    /// Each order's token with its replace count 0, made once at `register`: a cancel or a
    /// replace copies it and sets the last two characters (base 36 costs ~270 instructions).
    let tokens: UnsafeMutablePointer<cw_ouch_token>
    /// Messages that decoded but named a token not ours, or that OUCH has no answer type for here.
    public internal(set) var unmatched = 0
    /// Payloads handed to `receive` that did not decode as an OUCH 4.2 outbound message.
    public private(set) var malformed = 0

    public init(orderSlots: Int = 1 << 16, answerCapacity: Int = 1 << 16) {
        answers = EventQueue(capacity: answerCapacity)
        slots = orderSlots
        replaces = .allocate(capacity: orderSlots); replaces.initialize(repeating: 0, count: orderSlots)
        leaves = .allocate(capacity: orderSlots); leaves.initialize(repeating: 0, count: orderSlots)
        sides = .allocate(capacity: orderSlots); sides.initialize(repeating: 0, count: orderSlots)
        locates = .allocate(capacity: orderSlots); locates.initialize(repeating: 0, count: orderSlots)
        strategies = .allocate(capacity: orderSlots); strategies.initialize(repeating: 0, count: orderSlots)
        tokens = .allocate(capacity: orderSlots); tokens.initialize(repeating: cw_ouch_token(), count: orderSlots)
    }

    deinit {
        replaces.deallocate(); leaves.deallocate(); sides.deallocate(); locates.deallocate(); strategies.deallocate()
        tokens.deallocate()
    }

    /// The token the order in slot `s` has now (after its confirmed replaces), or after `ahead`
    /// more (a Replace Order names the next one).
    @inline(__always) public func token(slot s: Int, ahead: UInt16 = 0) -> cw_ouch_token {
        var t = tokens[s]
        let r = replaces[s] &+ ahead
        withUnsafeMutableBytes(of: &t) { OuchOrderEntry.setReplaces(r, in: $0) }
        return t
    }

    /// The slot of client order id `id`, or nil when the id is past the arrays or the token's range.
    @inline(__always) public func slot(_ id: UInt64) -> Int? {
        let s = Int(omni_order_slot(id))
        return s < slots && id <= ClientOrderIDText.maxID ? s : nil
    }

    /// Remembers what our Enter Order request for `request.order.client_order_id` said (side,
    /// instrument, strategy, size), for the answers; false when the id has no slot here.
    @discardableResult
    public func register(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        guard let s = slot(o.client_order_id) else { return false }
        replaces[s] = 0
        tokens[s] = OuchOrderEntry.token(o.client_order_id, replaces: 0)
        leaves[s] = o.qty
        sides[s] = o.side
        locates[s] = request.locate
        strategies[s] = o.strategy
        return true
    }

    /// One sequenced SoupBinTCP payload: decoded as an OUCH 4.2 outbound message (counted in
    /// `malformed` when it does not decode) and translated.
    public func receive(_ payload: UnsafeRawBufferPointer, sequence: UInt64) {
        var out = cw_ouch_out()
        guard OuchClient.decode(payload, into: &out) == CW_OUCH_OK else { malformed += 1; return }
        translate(out, sequence: sequence)
    }

    /// Hands every queued answer to `body`; returns how many.
    public func drain(_ body: (inout omni_event) -> Void) -> Int { answers.drain(body) }

    /// One OUCH message from the venue as the CEvent answer or fill it means.
    public func translate(_ m: cw_ouch_out, sequence: UInt64) {
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
        guard let id = OuchOrderEntry.clientOrderID(token), let s = slot(id) else { unmatched += 1; return }
        e.locate = locates[s]
        // A Rejected naming the replacement token refuses the Replace Order only: the order stands
        // under its token as it was (OUCH 4.2), so in our terms the replace was refused.
        if m.type == UInt8(ascii: "J") && OuchOrderEntry.replaces(in: token) != replaces[s] % 1_296 /* 36^2: two digits */ {
            e.type = UInt8(OMNI_EV_CANCEL_REJECTED.rawValue)
        }
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
