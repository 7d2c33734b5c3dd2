import CEvent
import OmniCore
import OmniOrders
import Testing

let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)

/// The venue's answers and fills, as the gateway turns them into events.
enum Venue {
    static func answer(_ type: omni_event_type, _ id: ClientOrderID, price: UInt32 = 0, qty: UInt32 = 0, reason: UInt16 = 0) -> omni_event {
        var e = omni_event()
        e.type = UInt8(type.rawValue)
        e.locate = 1
        e.order.client_order_id = id.raw
        e.order.price = price
        e.order.qty = qty
        e.order.reason = reason
        return e
    }

    static func fill(_ id: ClientOrderID, match: UInt64, px: UInt32, qty: UInt32, leaves: UInt32, side: UInt8 = buy,
                     liquidity: UInt8 = UInt8(OMNI_LIQ_ADDED), locate: UInt16 = 1, strategy: UInt16 = 0) -> omni_event {
        var e = omni_event()
        e.type = UInt8(OMNI_EV_FILL.rawValue)
        e.locate = locate
        e.seq = match
        e.fill.client_order_id = id.raw
        e.fill.last_px = px
        e.fill.last_qty = qty
        e.fill.leaves_qty = leaves
        e.fill.side = side
        e.fill.liquidity = liquidity
        e.fill.strategy = strategy
        return e
    }
}

func enter(_ l: OrderLedger, side: UInt8 = buy, price: UInt32 = 100_000, qty: UInt32 = 100, locate: UInt16 = 1) throws -> ClientOrderID {
    var req = omni_event()
    let id = try l.enter(locate: locate, strategy: 0, side: side, price: price, qty: qty, request: &req).get()
    #expect(req.type == UInt8(OMNI_EV_ORDER_NEW.rawValue) && req.order.client_order_id == id.raw && req.order.qty == qty)
    return id
}

@Suite("Order state machine")
struct OrderStateTests {
    func ledger(orders: Int = 64) -> OrderLedger { OrderLedger(OrderLedgerConfig(orders: orders, strategies: 2, locates: 8, rememberedExecutions: 64)) }

    @Test func newAcceptedPartiallyFilledFilled() throws {
        let l = ledger()
        let id = try enter(l)
        #expect(l.order(id)?.state == .pendingNew)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100)) == .applied(id, .new))
        #expect(l.apply(Venue.fill(id, match: 1, px: 100_000, qty: 30, leaves: 70)) == .applied(id, .partiallyFilled))
        #expect(l.order(id)?.leaves == 70 && l.order(id)?.cumQty == 30)
        #expect(l.apply(Venue.fill(id, match: 2, px: 100_000, qty: 70, leaves: 0)) == .applied(id, .filled))
        #expect(l.order(id) == nil && l.table.open == 0)
        let c = l.counters
        #expect(c.entered == 1 && c.accepted == 1 && c.fills == 2 && c.filled == 1)
        #expect(l.position(strategy: 0, locate: 1).shares == 100)
    }

    @Test func rejectedFreesTheSlot() throws {
        let l = ledger()
        let id = try enter(l)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_REJECTED, id, reason: UInt16(OMNI_REASON_OUCH) | UInt16(UInt8(ascii: "X")))) == .applied(id, .rejected))
        #expect(l.table.open == 0 && l.order(id) == nil && l.counters.rejected == 1)
    }

    @Test func aCancelIsPendingUntilAnsweredAndOnlyOneAtATime() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        var req = omni_event()
        #expect(l.cancel(id, request: &req) == nil)
        #expect(req.type == UInt8(OMNI_EV_ORDER_CANCEL.rawValue) && req.order.client_order_id == id.raw && req.order.qty == 0)
        #expect(l.order(id)?.pendingCancel == true)
        #expect(l.cancel(id, request: &req) == .alreadyPending)
        #expect(l.replace(id, price: 100_100, qty: 50, request: &req) == .alreadyPending)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_CANCELED, id, qty: 0)) == .applied(id, .canceled))
        #expect(l.counters.canceled == 1 && l.counters.unsolicitedCancels == 0)
        #expect(l.cancel(id, request: &req) == .notOpen)
    }

    /// A fill while a cancel is pending: the fill counts and finishes the order; the venue's
    /// "too late" that follows finds it done.
    @Test func aFillWhileACancelIsPending() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        var req = omni_event()
        #expect(l.cancel(id, request: &req) == nil)
        #expect(l.apply(Venue.fill(id, match: 7, px: 100_000, qty: 100, leaves: 0)) == .applied(id, .filled))
        #expect(l.apply(Venue.answer(OMNI_EV_CANCEL_REJECTED, id, reason: UInt16(OMNI_REASON_FIX) | 0)) == .unknownOrder)
        #expect(l.counters.answersForUnknownOrders == 1 && l.position(strategy: 0, locate: 1).shares == 100)
    }

    /// A partial fill while a cancel is pending, then the cancel: the position keeps the fill.
    @Test func aPartialFillThenTheCancel() throws {
        let l = ledger()
        let id = try enter(l, side: sell)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        var req = omni_event()
        _ = l.cancel(id, request: &req)
        _ = l.apply(Venue.fill(id, match: 3, px: 100_000, qty: 40, leaves: 60, side: sell))
        #expect(l.order(id)?.pendingCancel == true && l.order(id)?.state == .partiallyFilled)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_CANCELED, id, qty: 0)) == .applied(id, .canceled))
        #expect(l.position(strategy: 0, locate: 1).shares == -40)
    }

    /// The venue refuses the cancel as too late while shares are still open (a race with a
    /// fill in flight): the order stands, no longer pending, and can be canceled again.
    @Test func aCancelRejectedAsTooLateLeavesTheOrderStanding() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        var req = omni_event()
        _ = l.cancel(id, request: &req)
        #expect(l.apply(Venue.answer(OMNI_EV_CANCEL_REJECTED, id)) == .applied(id, .new))
        #expect(l.order(id)?.pendingCancel == false && l.counters.cancelRejects == 1)
        #expect(l.cancel(id, request: &req) == nil)
    }

    /// A replace of a partially filled order sets the open shares; what filled stays filled.
    @Test func aReplaceOfAPartiallyFilledOrder() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        _ = l.apply(Venue.fill(id, match: 1, px: 100_000, qty: 30, leaves: 70))
        var req = omni_event()
        #expect(l.replace(id, price: 100_100, qty: 50, request: &req) == nil)
        #expect(req.type == UInt8(OMNI_EV_ORDER_REPLACE.rawValue) && req.order.price == 100_100 && req.order.qty == 50)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_REPLACED, id, price: 100_100, qty: 50)) == .applied(id, .partiallyFilled))
        let o = try #require(l.order(id))
        #expect(o.price == 100_100 && o.leaves == 50 && o.cumQty == 30 && !o.pendingReplace)
        #expect(l.apply(Venue.fill(id, match: 2, px: 100_100, qty: 50, leaves: 0)) == .applied(id, .filled))
        let p = l.position(strategy: 0, locate: 1)
        #expect(p.shares == 80 && p.openCost == 30 * 100_000 + 50 * 100_100)
    }

    /// Regression (found by the executions fuzz check, issue 12 item 7): a venue that fills past
    /// the order's size, or reports more open than remains, used to push cumQty past the size and
    /// keep the order open for ever. The position still takes every share; the order stops at its
    /// size, ends filled, and the overfill is counted.
    @Test func aFillPastTheOrdersSizeIsCountedAndEndsTheOrder() throws {
        let l = ledger()
        let id = try enter(l, qty: 100)
        #expect(l.order(id)?.qty == 100)
        // 60 filled but the venue says 90 still open: open is capped at what remains.
        #expect(l.apply(Venue.fill(id, match: 1, px: 100_000, qty: 60, leaves: 90)) == .applied(id, .partiallyFilled))
        #expect(l.order(id)?.cumQty == 60 && l.order(id)?.leaves == 40 && l.counters.overfills == 0)
        // A partial cancel leaving more than remains: capped too.
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_CANCELED, id, qty: 500))
        #expect(l.order(id)?.leaves == 40)
        // 60 more with 50 "still open": 20 past the size.
        #expect(l.apply(Venue.fill(id, match: 2, px: 100_000, qty: 60, leaves: 50)) == .applied(id, .filled))
        #expect(l.order(id) == nil && l.counters.overfills == 1 && l.counters.filled == 1)
        #expect(l.position(strategy: 0, locate: 1).shares == 120)
        // A replace sets the size to filled + the venue's open shares.
        let r = try enter(l, qty: 100)
        _ = l.apply(Venue.fill(r, match: 3, px: 100_000, qty: 30, leaves: 70))
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_REPLACED, r, price: 100_000, qty: 200))
        #expect(l.order(r)?.qty == 230 && l.order(r)?.leaves == 200 && l.order(r)?.cumQty == 30)
    }

    /// A cancel the venue made on its own (cancel on disconnect, an IOC's remainder): counted.
    @Test func anUnsolicitedCancel() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_CANCELED, id, qty: 0)) == .applied(id, .canceled))
        #expect(l.counters.unsolicitedCancels == 1)
    }

    /// A cancel down to some shares (OUCH's reduce): the order stays open with those.
    @Test func aPartialCancel() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, id, price: 100_000, qty: 100))
        var req = omni_event()
        #expect(l.cancel(id, leaving: 25, request: &req) == nil && req.order.qty == 25)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_CANCELED, id, qty: 25)) == .applied(id, .new))
        #expect(l.order(id)?.leaves == 25 && l.counters.partialCancels == 1)
    }

    @Test func aFillSentTwiceCountsOnce() throws {
        let l = ledger()
        let id = try enter(l)
        _ = l.apply(Venue.fill(id, match: 9, px: 100_000, qty: 10, leaves: 90))
        #expect(l.apply(Venue.fill(id, match: 9, px: 100_000, qty: 10, leaves: 90)) == .duplicateFill)
        #expect(l.position(strategy: 0, locate: 1).shares == 10 && l.counters.duplicateFills == 1 && l.order(id)?.cumQty == 10)
    }

    /// A fill for an order the table no longer holds still moves the position: it happened.
    @Test func aFillForAnUnknownOrderStillCountsInThePosition() {
        let l = ledger()
        #expect(l.apply(Venue.fill(ClientOrderID(raw: 12345), match: 4, px: 100_000, qty: 5, leaves: 0, side: sell)) == .unknownOrder)
        #expect(l.position(strategy: 0, locate: 1).shares == -5 && l.counters.fillsForUnknownOrders == 1)
    }

    @Test func aFullTableRefusesAndAReusedSlotHasANewId() throws {
        let l = ledger(orders: 2)
        let a = try enter(l), b = try enter(l)
        var req = omni_event()
        #expect(l.enter(locate: 1, strategy: 0, side: buy, price: 1, qty: 1, request: &req) == .failure(.tableFull))
        #expect(l.enter(locate: 1, strategy: 0, side: buy, price: 1, qty: 0, request: &req) == .failure(.zeroQuantity))
        _ = l.apply(Venue.answer(OMNI_EV_ORDER_REJECTED, a))
        let c = try enter(l)
        #expect(c != a && c != b && l.order(a) == nil && l.order(c)?.state == .pendingNew)
        #expect(l.apply(Venue.answer(OMNI_EV_ORDER_ACCEPTED, a)) == .unknownOrder) // the old id names nothing
    }

    @Test func otherEventsAreIgnored() {
        let l = ledger()
        var e = omni_event()
        e.type = UInt8(OMNI_EV_BBO.rawValue)
        #expect(l.apply(e) == .ignored && l.counters.ignored == 1)
    }

    @Test func workingSharesCountOpenOrders() throws {
        let l = ledger()
        _ = try enter(l, qty: 100)
        let b = try enter(l, qty: 50)
        _ = try enter(l, side: sell, qty: 70)
        _ = l.apply(Venue.fill(b, match: 1, px: 100_000, qty: 20, leaves: 30))
        #expect(l.working(locate: 1, side: buy) == 130 && l.working(locate: 1, side: sell) == 70 && l.working(locate: 2, side: buy) == 0)
    }
}

@Suite("Positions and PnL")
struct PositionTests {
    let fees = FeeSchedule(takePerShare: 30, addRebatePerShare: 20)

    /// Average cost through a long, a flip to short and back to flat: realised PnL equals
    /// proceeds minus cost exactly (2,700 - 2,500 = $200.0000).
    @Test func averageCostAcrossAFlip() {
        var p = Position()
        let added = UInt8(OMNI_LIQ_ADDED)
        p.apply(side: buy, price: 100_000, qty: 100, liquidity: added, fees: fees)
        p.apply(side: buy, price: 110_000, qty: 100, liquidity: added, fees: fees)
        #expect(p.shares == 200 && p.averagePrice == 105_000)
        p.apply(side: sell, price: 120_000, qty: 150, liquidity: added, fees: fees)
        #expect(p.shares == 50 && p.realised == 150 * 15_000)
        p.apply(side: sell, price: 90_000, qty: 100, liquidity: added, fees: fees)   // closes 50, opens 50 short
        #expect(p.shares == -50 && p.realised == 150 * 15_000 - 50 * 15_000 && p.openCost == 50 * 90_000)
        p.apply(side: buy, price: 80_000, qty: 50, liquidity: added, fees: fees)
        #expect(p.shares == 0 && p.openCost == 0 && p.realised == 2_000_000) // $200.0000
        #expect(p.boughtShares == 250 && p.soldShares == 250 && p.fills == 5)
        #expect(p.fees == -20 * 500) // 500 shares added liquidity at a 0.0020 rebate
    }

    /// An average that does not divide: rounding never leaves a flat position with a cost.
    @Test func roundingIsSettledWhenFlat() {
        var p = Position()
        let none = UInt8(OMNI_LIQ_UNKNOWN)
        p.apply(side: buy, price: 100_001, qty: 1, liquidity: none, fees: fees)
        p.apply(side: buy, price: 100_000, qty: 2, liquidity: none, fees: fees)
        p.apply(side: sell, price: 100_000, qty: 1, liquidity: none, fees: fees)
        p.apply(side: sell, price: 100_000, qty: 2, liquidity: none, fees: fees)
        #expect(p.shares == 0 && p.openCost == 0 && p.realised == -1 && p.fees == 0)
    }

    @Test func takerFeesAndMakerRebates() {
        var p = Position()
        p.apply(side: buy, price: 100_000, qty: 100, liquidity: UInt8(OMNI_LIQ_REMOVED), fees: fees)
        p.apply(side: sell, price: 100_000, qty: 40, liquidity: UInt8(OMNI_LIQ_ADDED), fees: fees)
        #expect(p.fees == 100 * 30 - 40 * 20)
    }

    @Test func unrealisedAtTheMid() {
        var p = Position()
        p.apply(side: buy, price: 100_000, qty: 10, liquidity: 0, fees: fees)
        #expect(p.unrealised(bid: 100_100, ask: 100_300) == Int128(10 * 200))
        #expect(p.unrealised(bid: 0, ask: 100_300) == nil)
        p.apply(side: sell, price: 100_000, qty: 20, liquidity: 0, fees: fees) // short 10 at 10.0000
        #expect(p.unrealised(bid: 99_900, ask: 100_000) == Int128(10 * 50)) // mid 9.9950
        #expect(Position().unrealised(bid: 0, ask: 0) == 0)
    }

    /// Per strategy and per instrument: the ledger routes each fill to its strategy's position.
    @Test func positionsPerStrategyAndInstrument() throws {
        let l = OrderLedger(OrderLedgerConfig(orders: 8, strategies: 2, locates: 4, rememberedExecutions: 8, fees: fees))
        _ = l.apply(Venue.fill(ClientOrderID(raw: 1), match: 1, px: 100_000, qty: 10, leaves: 0, locate: 2, strategy: 0))
        _ = l.apply(Venue.fill(ClientOrderID(raw: 2), match: 2, px: 100_000, qty: 4, leaves: 0, side: sell, locate: 2, strategy: 1))
        #expect(l.position(strategy: 0, locate: 2).shares == 10 && l.position(strategy: 1, locate: 2).shares == -4)
        let whole = l.positions.instrument(2)
        #expect(whole.shares == 6 && whole.fills == 2)
        #expect(l.positions.unrealised(locate: 2, bid: 100_100, ask: 100_100) == Int128(10 * 100 - 4 * 100))
        // A fill naming a strategy or instrument the book has no room for changes nothing and does not trap.
        _ = l.apply(Venue.fill(ClientOrderID(raw: 3), match: 3, px: 1, qty: 1, leaves: 0, locate: 9, strategy: 7))
        #expect(l.positions.instrument(2).shares == 6)
    }
}

@Suite("Execution de-duplication")
struct SeenExecutionsTests {
    @Test func theOldestIsForgottenFirst() {
        let s = SeenExecutions(capacity: 4)
        for m in 1...4 as ClosedRange<UInt64> { #expect(s.insert(order: 1, execution: m)) }
        #expect(!s.insert(order: 1, execution: 2))
        #expect(s.insert(order: 1, execution: 5))       // forgets execution 1
        #expect(s.insert(order: 1, execution: 1))       // ... which is new again, forgetting 2
        #expect(!s.insert(order: 1, execution: 5) && !s.insert(order: 1, execution: 4) && s.remembered == 4)
        #expect(s.insert(order: 2, execution: 5))       // the same match number on the other side of a self-cross
    }

    /// Against Swift's Set over a long random run with eviction: the same answers.
    @Test func agreesWithASetWindow() {
        let s = SeenExecutions(capacity: 64)
        var window: [UInt64] = []
        var set = Set<UInt64>()
        var rng = SeededRandom(seed: 5)
        for _ in 0..<20_000 {
            let m = rng.next() % 200
            let expected = !set.contains(m)
            #expect(s.insert(order: 9, execution: m) == expected)
            if expected {
                if window.count == 64 { set.remove(window.removeFirst()) }
                window.append(m)
                set.insert(m)
            }
        }
    }
}

@Suite("Order ledger under random answers")
struct OrderLedgerRandomTests {
    /// Requests and answers in any order, for ids ours, done and never ours, fills repeated: nothing
    /// traps, every event lands in exactly one counter, the open count matches the table, and the
    /// position equals the sum of the distinct fills.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func everyEventLandsSomewhereAndThePositionAddsUp(seed: UInt64) throws {
        let l = OrderLedger(OrderLedgerConfig(orders: 32, strategies: 1, locates: 2, rememberedExecutions: 1 << 14))
        var rng = SeededRandom(seed: seed)
        var ids: [ClientOrderID] = [ClientOrderID(raw: 999_999)]
        var req = omni_event()
        var applied = 0
        var distinctFills: [UInt64: Int64] = [:] // match -> signed shares
        let types = [OMNI_EV_ORDER_ACCEPTED, OMNI_EV_ORDER_REJECTED, OMNI_EV_ORDER_CANCELED, OMNI_EV_ORDER_REPLACED,
                     OMNI_EV_CANCEL_REJECTED, OMNI_EV_FILL, OMNI_EV_BBO]
        for _ in 0..<20_000 {
            let id = ids[Int(rng.next() % UInt64(ids.count))]
            switch rng.next() % 10 {
            case 0, 1:
                if case .success(let n) = l.enter(locate: 1, strategy: 0, side: UInt8(rng.next() % 2), price: 100_000,
                                                  qty: UInt32(1 + rng.next() % 100), request: &req) { ids.append(n) }
            case 2: _ = l.cancel(id, leaving: UInt32(rng.next() % 3), request: &req)
            case 3: _ = l.replace(id, price: 100_100, qty: UInt32(rng.next() % 50), request: &req)
            default:
                let type = types[Int(rng.next() % UInt64(types.count))]
                var e: omni_event
                if type == OMNI_EV_FILL {
                    let match = rng.next() % 2_000, side = UInt8(rng.next() % 2), qty = UInt32(1 + rng.next() % 20)
                    e = Venue.fill(id, match: match, px: 100_000, qty: qty, leaves: UInt32(rng.next() % 40), side: side)
                } else {
                    e = Venue.answer(type, id, price: 100_000, qty: UInt32(rng.next() % 40))
                }
                let outcome = l.apply(e)
                applied += 1
                if type == OMNI_EV_FILL && outcome != .duplicateFill {
                    #expect(distinctFills[SeenKey.of(id, e.seq)] == nil)
                    distinctFills[SeenKey.of(id, e.seq)] = e.fill.side == buy ? Int64(e.fill.last_qty) : -Int64(e.fill.last_qty)
                }
            }
        }
        let c = l.counters
        let landed = c.accepted + c.rejected + c.canceled + c.partialCancels + c.replaced + c.cancelRejects
            + c.fills + c.duplicateFills + c.answersForUnknownOrders + c.ignored
        #expect(landed == UInt64(applied))
        var open = 0
        l.table.forEachOpen { _ in open += 1 }
        #expect(open == l.table.open)
        #expect(l.position(strategy: 0, locate: 1).shares == distinctFills.values.reduce(0, +))
    }
}

/// The test's own key for the fills it sent: one execution per (order, match number).
enum SeenKey { static func of(_ id: ClientOrderID, _ match: UInt64) -> UInt64 { id.raw &* 1_000_003 &+ match } }
