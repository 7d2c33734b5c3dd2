import CEvent
import OmniCore
import OmniWire

/// The venue in this process as an `OrderEntry`: a request is a venue call on our session, the
/// venue's events on our orders come back as CEvent answers and fills, reasons in OUCH's terms
/// (OMNI_REASON_OUCH | its character). For tests and backtests: the same strategy, risk and
/// order code that trades over OUCH or FIX trades here, and other sessions (the order-flow
/// generator) trade on the same `venue`.
///
/// Our client order ids carry a table slot in their low 24 bits (OmniOrders); the venue's id
/// of each order is kept in an array by that slot, so nothing is looked up by hashing and
/// nothing allocates per order. Answers wait in a preallocated queue until `poll`.
public final class VenueOrderEntry<Feed: ITCHSink>: OrderEntry {
    public let venue: Venue<AnswerSink, Feed>
    public let answers: VenueAnswers
    public var session: SessionID { answers.session }

    /// A venue of `instruments` with our `session` on it; `orderSlots` bounds our client order
    /// ids' slots (the ledger's capacity), `answerCapacity` the answers waiting for a poll.
    public init(instruments: [InstrumentSpec] = InstrumentSpec.defaults, config: VenueConfig = VenueConfig(), feed: Feed,
                session: SessionID = 1, orderSlots: Int = 1 << 16, answerCapacity: Int = 1 << 16) {
        answers = VenueAnswers(session: session, orderSlots: orderSlots, capacity: answerCapacity)
        venue = Venue(instruments: instruments, config: config, events: AnswerSink(answers: answers), feed: feed)
    }

    /// Moves the venue's clock (ns since midnight) forward: answers and fills carry it.
    public func advance(to ns: UInt64) {
        if ns > venue.now { venue.now = ns }
        answers.now = venue.now
    }

    public func submit(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        guard let s = answers.slot(o.client_order_id) else { return false }
        answers.now = venue.now
        switch Int32(request.type) {
        case Int32(OMNI_EV_ORDER_NEW.rawValue):
            answers.strategies[s] = o.strategy
            let kind: OrderKind = o.order_flags & UInt8(OMNI_ORDF_IOC) != 0 ? .immediateOrCancel
                : o.order_flags & UInt8(OMNI_ORDF_POST_ONLY) != 0 ? .postOnly : .limit
            _ = venue.submit(session: answers.session, order: NewOrder(locate: request.locate, side: o.side == UInt8(OMNI_SIDE_BUY) ? .bid : .ask,
                                                                       kind: kind, price: o.price, quantity: o.qty, tag: o.client_order_id))
        case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
            guard let live = venue.order(answers.venueIDs[s]) else { answers.refuseUnknown(o); return true }
            if o.qty == 0 {
                venue.cancel(session: answers.session, order: answers.venueIDs[s])
            } else {
                answers.reducing[s] = true // the venue reduces by a replace in place; our ledger hears a cancel
                venue.replace(session: answers.session, order: answers.venueIDs[s], price: live.price, quantity: o.qty)
                answers.reducing[s] = false
            }
        case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
            guard venue.order(answers.venueIDs[s]) != nil else { answers.refuseUnknown(o); return true }
            venue.replace(session: answers.session, order: answers.venueIDs[s], price: o.price, quantity: o.qty)
        default:
            return false
        }
        return true
    }

    /// Venue calls happen at once: nothing waits to be sent.
    public func flush() {}

    @discardableResult
    public func poll(_ body: (inout omni_event) -> Void) -> Int { answers.queue.drain(body) }
}

/// What the venue's events on our session's orders become: CEvent answers and fills, queued
/// for `poll`. Our client order ids carry a table slot in their low 24 bits (OmniOrders): the
/// venue's id, the strategy and a pending partial cancel are kept in arrays by that slot, so
/// nothing is hashed and nothing allocates per order.
public final class VenueAnswers {
    public let session: SessionID
    let queue: EventQueue
    let slots: Int
    let venueIDs: UnsafeMutablePointer<OrderID>
    let strategies: UnsafeMutablePointer<UInt16>
    let reducing: UnsafeMutablePointer<Bool>
    /// The venue time answers carry (ns since midnight).
    var now: UInt64 = 0
    /// Requests that named an order the venue does not hold for us (answered CANCEL_REJECTED).
    public private(set) var unknownOrderRequests = 0
    /// Answers dropped because `poll` was not called often enough (the queue was full).
    public var dropped: Int { queue.dropped }

    init(session: SessionID, orderSlots: Int, capacity: Int) {
        self.session = session
        queue = EventQueue(capacity: capacity)
        slots = orderSlots
        venueIDs = .allocate(capacity: orderSlots)
        venueIDs.initialize(repeating: .none, count: orderSlots)
        strategies = .allocate(capacity: orderSlots)
        strategies.initialize(repeating: 0, count: orderSlots)
        reducing = .allocate(capacity: orderSlots)
        reducing.initialize(repeating: false, count: orderSlots)
    }

    deinit { venueIDs.deallocate(); strategies.deallocate(); reducing.deallocate() }

    @inline(__always) func slot(_ clientOrderID: UInt64) -> Int? {
        let s = Int(omni_order_slot(clientOrderID))
        return s < slots ? s : nil
    }

    func refuseUnknown(_ o: omni_order) {
        unknownOrderRequests += 1
        queue.push(answer(OMNI_EV_CANCEL_REJECTED, o.client_order_id, reason: UInt16(OMNI_REASON_UNKNOWN_ORDER)))
    }

    func answer(_ type: omni_event_type, _ clientOrderID: UInt64, price: UInt32 = 0, qty: UInt32 = 0, reason: UInt16 = 0,
                locate: UInt16 = 0) -> omni_event {
        var e = omni_order_event(UInt8(type.rawValue), locate, clientOrderID, 0, price, qty, 0, 0)
        e.order.reason = reason
        e.order.venue_ns = now
        if let s = slot(clientOrderID) { e.order.strategy = strategies[s] }
        return e
    }

    func accepted(_ id: OrderID, tag: UInt64, _ o: NewOrder) {
        if let s = slot(tag) { venueIDs[s] = id }
        queue.push(answer(OMNI_EV_ORDER_ACCEPTED, tag, price: o.price, qty: o.quantity, locate: o.locate))
    }

    func rejected(tag: UInt64, order: OrderID, reason: RejectReason) {
        let why = UInt16(OMNI_REASON_OUCH) | UInt16(ouchRejectReason(reason))
        queue.push(answer(order == .none ? OMNI_EV_ORDER_REJECTED : OMNI_EV_CANCEL_REJECTED, tag, reason: why))
    }

    func canceled(tag: UInt64, reason: CancelReason) {
        let why = reason == .requested ? UInt16(OMNI_REASON_NONE) : UInt16(OMNI_REASON_OUCH) | UInt16(ouchCancelReason(reason))
        queue.push(answer(OMNI_EV_ORDER_CANCELED, tag, qty: 0, reason: why)) // the venue cancels whole remainders
    }

    func replaced(tag: UInt64, price: UInt32, quantity: UInt32) {
        let isReduce = slot(tag).map { reducing[$0] } ?? false
        queue.push(answer(isReduce ? OMNI_EV_ORDER_CANCELED : OMNI_EV_ORDER_REPLACED, tag, price: price, qty: quantity))
    }

    func executed(_ x: Execution) {
        if x.passiveSession == session {
            fill(x, tag: x.passiveTag, leaves: x.passiveLeaves, side: x.aggressorSide == .bid ? .ask : .bid, liquidity: UInt8(OMNI_LIQ_ADDED))
        }
        if x.aggressorSession == session {
            fill(x, tag: x.aggressorTag, leaves: x.aggressorLeaves, side: x.aggressorSide, liquidity: UInt8(OMNI_LIQ_REMOVED))
        }
    }

    func fill(_ x: Execution, tag: UInt64, leaves: UInt32, side: Side, liquidity: UInt8) {
        var e = omni_event()
        e.type = UInt8(OMNI_EV_FILL.rawValue)
        e.locate = x.locate
        e.seq = x.matchNumber
        e.fill.client_order_id = tag
        e.fill.venue_ns = now
        e.fill.last_px = x.price
        e.fill.last_qty = x.quantity
        e.fill.leaves_qty = leaves
        e.fill.side = side == .bid ? UInt8(OMNI_SIDE_BUY) : UInt8(OMNI_SIDE_SELL)
        e.fill.liquidity = liquidity
        if let s = slot(tag) { e.fill.strategy = strategies[s] }
        queue.push(e)
    }
}

/// The venue's event sink of a `VenueOrderEntry`: answers for our session's orders only (the
/// other sessions' trades still print on the feed).
public struct AnswerSink: VenueEventSink {
    unowned(unsafe) let answers: VenueAnswers // the entry owns both the venue and the answers
    public mutating func accepted(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, _ o: NewOrder) {
        if session == answers.session { answers.accepted(order, tag: tag, o) }
    }
    public mutating func rejected(session: SessionID, tag: UInt64, order: OrderID, reason: RejectReason) {
        if session == answers.session { answers.rejected(tag: tag, order: order, reason: reason) }
    }
    public mutating func executed(_ e: Execution) { answers.executed(e) }
    public mutating func canceled(_ order: OrderID, session: SessionID, tag: UInt64, quantity: UInt32, reason: CancelReason) {
        if session == answers.session { answers.canceled(tag: tag, reason: reason) }
    }
    public mutating func replaced(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, price: UInt32, quantity: UInt32, priorityKept: Bool) {
        if session == answers.session { answers.replaced(tag: tag, price: price, quantity: quantity) }
    }
}
