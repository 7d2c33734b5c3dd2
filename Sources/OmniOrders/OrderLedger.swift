import CEvent

/// Sizes of an order ledger, fixed at start.
public struct OrderLedgerConfig: Sendable {
    /// Orders open at once.
    public var orders: Int
    /// Strategy ids 0..<strategies and stock locates 0..<locates have a position.
    public var strategies: Int
    public var locates: Int
    /// Executions remembered for de-duplication.
    public var rememberedExecutions: Int
    public var fees: FeeSchedule
    /// The generation of every slot's first order, so of the first client order ids (slot in the
    /// low 24 bits, generation above). OUCH tokens and FIX ClOrdIDs must be new to the venue for
    /// the whole day: a run that logs in under the name of an earlier run that day takes
    /// `dayUniqueGeneration()`, later than any id the earlier run can have reached.
    public var firstGeneration: UInt32
    public init(orders: Int = 1 << 16, strategies: Int = 16, locates: Int = 1 << 13, rememberedExecutions: Int = 1 << 18,
                fees: FeeSchedule = FeeSchedule(), firstGeneration: UInt32 = 1) {
        self.orders = orders; self.strategies = strategies; self.locates = locates
        self.rememberedExecutions = rememberedExecutions; self.fees = fees; self.firstGeneration = firstGeneration
    }

    /// A first generation that no earlier run of the day reached: the seconds since midnight UTC
    /// times 2^15. An earlier run started at least a second before, and would have had to reuse
    /// one slot 32,768 times a second to reach it; 86,400 × 2^15 still fits the 32 bits.
    public static func dayUniqueGeneration(secondsSinceMidnight: UInt32) -> UInt32 {
        max(1, (secondsSinceMidnight % 86_400) << 15)
    }
}

/// What happened to the ledger, by kind. Every answer from the venue lands in exactly one.
public struct OrderLedgerCounters: Sendable, Equatable {
    public var entered: UInt64 = 0, accepted: UInt64 = 0, rejected: UInt64 = 0
    public var fills: UInt64 = 0, filled: UInt64 = 0
    public var canceled: UInt64 = 0, partialCancels: UInt64 = 0, replaced: UInt64 = 0, cancelRejects: UInt64 = 0
    /// Cancels the venue made on its own (cancel on disconnect, an IOC remainder, self-match).
    public var unsolicitedCancels: UInt64 = 0
    /// A fill of an execution already applied: dropped, the position unchanged.
    public var duplicateFills: UInt64 = 0
    /// A fill for an order not open here (done, or never ours): the position still takes it,
    /// since the execution happened; the order table cannot.
    public var fillsForUnknownOrders: UInt64 = 0
    /// Fills (already counted in `fills`) that took the order past its size: the position takes
    /// every share (the execution happened), the order's cumQty stops at its size and it ends filled.
    public var overfills: UInt64 = 0
    /// Accepted / rejected / canceled / replaced / cancel rejected for an order not open here.
    public var answersForUnknownOrders: UInt64 = 0
    /// Events that are no answer or fill (market data, requests, commands).
    public var ignored: UInt64 = 0
    public init() {}
}

/// What one event did.
public enum OrderOutcome: Sendable, Equatable {
    case applied(ClientOrderID, OrderState)
    case duplicateFill
    case unknownOrder
    case ignored
}

/// OmniOrders: our orders and what they did. Requests (enter, cancel, replace) take or mark a
/// slot; the venue's answers, as CEvent order-lifecycle events from the gateway, move each
/// order through its states; fills are de-duplicated by execution id and build the positions
/// per strategy and instrument, with realised PnL and fees. Preallocated, allocation-free,
/// one thread.
public final class OrderLedger {
    public let table: OrderTable
    let seen: SeenExecutions
    public let positions: PositionBook
    public let fees: FeeSchedule
    /// What the ledger did, by kind.
    public var counters: OrderLedgerCounters { tally }
    @exclusivity(unchecked) var tally = OrderLedgerCounters() // one thread (see OmniTrading's QuoteBoard)

    public init(_ config: OrderLedgerConfig = OrderLedgerConfig()) {
        table = OrderTable(capacity: config.orders, firstGeneration: config.firstGeneration)
        seen = SeenExecutions(capacity: config.rememberedExecutions)
        positions = PositionBook(strategies: config.strategies, locates: config.locates)
        fees = config.fees
    }

    // MARK: requests

    /// A new order, pending until the venue answers; its request event is written to `request`.
    public func enter(locate: UInt16, strategy: UInt16, side: UInt8, price: UInt32, qty: UInt32,
                                          flags: UInt8 = 0, request: inout omni_event) -> Result<ClientOrderID, OrderRefusal> {
        let r = table.add(locate: locate, strategy: strategy, side: side, price: price, qty: qty, flags: flags)
        guard case .success(let id) = r else { return r }
        tally.entered += 1
        request = omni_order_event(UInt8(OMNI_EV_ORDER_NEW.rawValue), locate, id.raw, side, price, qty, strategy, flags)
        return r
    }

    /// Asks to cancel `id` (to `leaving` shares open; 0 cancels it whole).
    public func cancel(_ id: ClientOrderID, leaving: UInt32 = 0, request: inout omni_event) -> OrderRefusal? {
        guard let r = table.record(id) else { return .notOpen }
        guard !r.pointee.pendingCancel && !r.pointee.pendingReplace else { return .alreadyPending }
        r.pointee.pendingCancel = true
        request = Self.request(OMNI_EV_ORDER_CANCEL, r.pointee, price: r.pointee.price, qty: leaving)
        return nil
    }

    /// Asks to move `id` to `price` with `qty` shares open.
    public func replace(_ id: ClientOrderID, price: UInt32, qty: UInt32, request: inout omni_event) -> OrderRefusal? {
        guard qty > 0 else { return .zeroQuantity }
        guard let r = table.record(id) else { return .notOpen }
        guard !r.pointee.pendingCancel && !r.pointee.pendingReplace else { return .alreadyPending }
        r.pointee.pendingReplace = true
        r.pointee.replacePrice = price
        r.pointee.replaceQty = qty
        request = Self.request(OMNI_EV_ORDER_REPLACE, r.pointee, price: price, qty: qty)
        return nil
    }

    static func request(_ type: omni_event_type, _ o: OrderRecord, price: UInt32, qty: UInt32) -> omni_event {
        omni_order_event(UInt8(type.rawValue), o.locate, o.id.raw, o.side, price, qty, o.strategy, o.flags)
    }

    // MARK: the venue's answers

    /// Applies one event from the gateway: an answer or a fill. Anything else is ignored.
    public func apply(_ e: borrowing omni_event) -> OrderOutcome {
        switch Int32(e.type) {
        case Int32(OMNI_EV_FILL.rawValue): return applyFill(e)
        case Int32(OMNI_EV_ORDER_ACCEPTED.rawValue), Int32(OMNI_EV_ORDER_REJECTED.rawValue), Int32(OMNI_EV_ORDER_CANCELED.rawValue),
             Int32(OMNI_EV_ORDER_REPLACED.rawValue), Int32(OMNI_EV_CANCEL_REJECTED.rawValue):
            return applyAnswer(e)
        default:
            tally.ignored += 1
            return .ignored
        }
    }

    func applyFill(_ e: borrowing omni_event) -> OrderOutcome {
        let f = e.fill
        guard seen.insert(order: f.client_order_id, execution: e.seq) else { tally.duplicateFills += 1; return .duplicateFill }
        tally.fills += 1
        // The execution happened whatever the table knows: the position always takes it.
        positions.position(strategy: f.strategy, locate: e.locate)?.pointee
            .apply(side: f.side, price: f.last_px, qty: f.last_qty, liquidity: f.liquidity, fees: fees)
        let id = ClientOrderID(raw: f.client_order_id)
        guard let r = table.record(id) else { tally.fillsForUnknownOrders += 1; return .unknownOrder }
        // The venue's count of what is still open is the truth, within the order's size: a venue
        // (or a hostile or broken peer) that fills past it or leaves more open than remains is
        // counted, and the order never shows more filled or open than it has.
        let room = UInt64(r.pointee.qty) - min(r.pointee.cumQty, UInt64(r.pointee.qty))
        if UInt64(f.last_qty) > room { tally.overfills += 1 }
        r.pointee.cumQty += min(UInt64(f.last_qty), room)
        r.pointee.leaves = UInt32(min(UInt64(f.leaves_qty), UInt64(r.pointee.qty) - r.pointee.cumQty))
        if r.pointee.leaves == 0 {
            tally.filled += 1
            table.finish(r, as: .filled)
            return .applied(id, .filled)
        }
        r.pointee.state = .partiallyFilled
        return .applied(id, .partiallyFilled)
    }

    func applyAnswer(_ e: borrowing omni_event) -> OrderOutcome {
        let o = e.order
        let id = ClientOrderID(raw: o.client_order_id)
        guard let r = table.record(id) else { tally.answersForUnknownOrders += 1; return .unknownOrder }
        switch Int32(e.type) {
        case Int32(OMNI_EV_ORDER_ACCEPTED.rawValue):
            tally.accepted += 1
            if r.pointee.state == .pendingNew { r.pointee.state = .new }
        case Int32(OMNI_EV_ORDER_REJECTED.rawValue):
            tally.rejected += 1
            table.finish(r, as: .rejected)
            return .applied(id, .rejected)
        case Int32(OMNI_EV_ORDER_CANCELED.rawValue):
            if !r.pointee.pendingCancel { tally.unsolicitedCancels += 1 }
            r.pointee.pendingCancel = false
            if o.qty == 0 {
                tally.canceled += 1
                table.finish(r, as: .canceled)
                return .applied(id, .canceled)
            }
            tally.partialCancels += 1
            r.pointee.leaves = UInt32(min(UInt64(o.qty), UInt64(r.pointee.qty) - r.pointee.cumQty))
        case Int32(OMNI_EV_ORDER_REPLACED.rawValue):
            tally.replaced += 1
            r.pointee.pendingReplace = false
            r.pointee.price = o.price
            // The replace's size is what filled plus the open shares the venue says.
            let size = min(r.pointee.cumQty + UInt64(o.qty), UInt64(UInt32.max))
            r.pointee.qty = UInt32(size)
            r.pointee.leaves = UInt32(size - r.pointee.cumQty)
            if r.pointee.state == .pendingNew { r.pointee.state = .new }
        default: // OMNI_EV_CANCEL_REJECTED: too late, or unknown at the venue; the order stands as it is
            tally.cancelRejects += 1
            r.pointee.pendingCancel = false
            r.pointee.pendingReplace = false
        }
        return .applied(id, r.pointee.state)
    }

    // MARK: reading

    /// The open order `id`, or nil when it is done or was never ours.
    public func order(_ id: ClientOrderID) -> OrderRecord? { table.record(id)?.pointee }

    public func position(strategy: UInt16, locate: UInt16) -> Position {
        positions.position(strategy: strategy, locate: locate)?.pointee ?? Position()
    }

    /// Shares our open orders could still buy (or sell) in `locate`: exposure counts working
    /// orders as if they filled.
    public func working(locate: UInt16, side: UInt8) -> UInt64 {
        var total: UInt64 = 0
        table.forEachOpen { if $0.locate == locate && $0.side == side { total += UInt64($0.leaves) } }
        return total
    }
}
