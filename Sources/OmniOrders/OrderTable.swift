import CEvent

// Our orders: a table preallocated at start, addressed by the client order id itself (slot and
// generation packed into it), so every lookup is one index and nothing allocates per order.
//
// The state machine, as the venue's answers (CEvent order-lifecycle events) drive it:
//
//   pendingNew --accepted--> new --fill--> partiallyFilled --fill (leaves 0)--> filled
//        |                    |                  |
//        +--rejected          +--canceled--------+--canceled (leaves 0)--> canceled
//
// A cancel or replace request sets `pendingCancel` / `pendingReplace` on the order, whatever
// its state; the venue's answer clears it: CANCELED / REPLACED apply it, CANCEL_REJECTED (too
// late, unknown) just clears it. The races the venue can produce all land somewhere defined:
// a fill while a cancel is pending (the fill counts; a later CANCEL_REJECTED or CANCELED with
// nothing left finds the order done), a replace of a partially filled order (the replace sets
// the open quantity; filled shares stay filled), an unsolicited cancel (counted), answers for
// an order already done or never ours (counted, ignored).

/// Where an order stands. Terminal: filled, canceled, rejected (the slot is then free).
public enum OrderState: UInt8, Sendable {
    case pendingNew, new, partiallyFilled, filled, canceled, rejected
    public var isOpen: Bool { self == .pendingNew || self == .new || self == .partiallyFilled }
}

/// A client order id: the table slot in the low 24 bits, the slot's generation above, so an
/// id names one order for ever (a reused slot has a new generation) and finds it in one step.
public struct ClientOrderID: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    public init(raw: UInt64) { self.raw = raw }
    init(slot: Int, generation: UInt32) { raw = UInt64(generation) << OMNI_ORDER_SLOT_BITS | UInt64(slot) }
    var slot: Int { Int(omni_order_slot(raw)) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> OMNI_ORDER_SLOT_BITS) }
    public var description: String { "#\(raw)" }
}

/// One of our orders as we know it.
public struct OrderRecord: Sendable {
    public var id = ClientOrderID(raw: 0)
    public var locate: UInt16 = 0
    public var strategy: UInt16 = 0
    public var side: UInt8 = UInt8(OMNI_SIDE_BUY)
    public var flags: UInt8 = 0
    public var price: UInt32 = 0
    /// The order's size: what filled plus what may still fill, as we asked for it (enter) and as
    /// the venue's Replaced set it (filled + the replace's open shares). cumQty ≤ qty and
    /// cumQty + leaves ≤ qty hold whatever the venue says (see `OrderLedger.applyFill`).
    public var qty: UInt32 = 0
    /// Shares still open (what can still fill): the order's size until fills, cancels or
    /// replaces change it.
    public var leaves: UInt32 = 0
    public var cumQty: UInt64 = 0
    public var state: OrderState = .rejected
    public var pendingCancel = false
    public var pendingReplace = false
    /// The price and open size a pending replace asked for.
    public var replacePrice: UInt32 = 0
    public var replaceQty: UInt32 = 0
    var generation: UInt32 = 0
}

/// What a request to the table could not do.
public enum OrderRefusal: Error, Sendable, Equatable {
    /// Every slot holds an open order.
    case tableFull
    /// The id names no open order (never ours, or done).
    case notOpen
    /// A cancel or replace is already waiting for the venue's answer.
    case alreadyPending
    case zeroQuantity
}

/// The preallocated order table: `capacity` slots, a free list, ids that carry their slot.
public final class OrderTable {
    let records: UnsafeMutablePointer<OrderRecord>
    let freeSlots: UnsafeMutablePointer<Int32>
    var freeCount: Int
    public let capacity: Int
    /// Orders not yet done.
    public var open: Int { openCount }
    var openCount = 0

    /// `firstGeneration`: the generation of each slot's first order (0 counts as 1); see
    /// `OrderLedgerConfig.firstGeneration`.
    public init(capacity: Int, firstGeneration: UInt32 = 1) {
        precondition(capacity > 0 && capacity <= 1 << 24, "an order table holds 1...2^24 orders")
        self.capacity = capacity
        records = .allocate(capacity: capacity)
        var empty = OrderRecord()
        empty.generation = max(firstGeneration, 1) - 1
        records.initialize(repeating: empty, count: capacity)
        freeSlots = .allocate(capacity: capacity)
        for i in 0..<capacity { freeSlots[i] = Int32(capacity - 1 - i) } // slot 0 is taken first
        freeCount = capacity
    }

    deinit {
        records.deallocate()
        freeSlots.deallocate()
    }

    /// The open order `id` names, or nil (done, never ours, or from an earlier generation).
    public func record(_ id: ClientOrderID) -> UnsafeMutablePointer<OrderRecord>? {
        let s = id.slot
        guard s < capacity else { return nil }
        let r = records + s
        guard r.pointee.generation == id.generation, r.pointee.state.isOpen else { return nil }
        return r
    }

    /// Takes a slot for a new order in state pendingNew.
    public func add(locate: UInt16, strategy: UInt16, side: UInt8, price: UInt32, qty: UInt32,
                                        flags: UInt8) -> Result<ClientOrderID, OrderRefusal> {
        guard qty > 0 else { return .failure(.zeroQuantity) }
        guard freeCount > 0 else { return .failure(.tableFull) }
        freeCount -= 1
        let s = Int(freeSlots[freeCount])
        let r = records + s
        var generation = r.pointee.generation &+ 1
        if generation == 0 { generation = 1 } // 0 never names an order: ids are never 0-generation
        r.pointee = OrderRecord(id: ClientOrderID(slot: s, generation: generation), locate: locate, strategy: strategy,
                                side: side, flags: flags, price: price, qty: qty, leaves: qty, cumQty: 0, state: .pendingNew,
                                generation: generation)
        openCount += 1
        return .success(r.pointee.id)
    }

    /// Ends an order (filled, canceled, rejected): its slot goes back to the free list.
    func finish(_ r: UnsafeMutablePointer<OrderRecord>, as state: OrderState) {
        r.pointee.state = state
        r.pointee.pendingCancel = false
        r.pointee.pendingReplace = false
        freeSlots[freeCount] = Int32(r.pointee.id.slot)
        freeCount += 1
        openCount -= 1
    }

    /// Calls `body` with every open order.
    public func forEachOpen(_ body: (OrderRecord) -> Void) {
        for i in 0..<capacity where records[i].state.isOpen { body(records[i]) }
    }
}
