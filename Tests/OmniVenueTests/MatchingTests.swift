import OmniVenue
import OmniWire
import OmniNet
import CWire
import OmniCore
import Testing
@testable import OmniVenue

enum Ev: Equatable {
    case accepted(OrderID)
    case rejected(RejectReason)
    case executed(passive: OrderID, aggressor: OrderID, price: UInt32, qty: UInt32, match: UInt64)
    case canceled(OrderID, UInt32, CancelReason)
    case replaced(OrderID, price: UInt32, qty: UInt32, kept: Bool)
}

struct Recorder: VenueEventSink {
    var log: [Ev] = []
    /// The order refs `accepted` and `replaced` gave, in order.
    var refs: [UInt64] = []
    mutating func accepted(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, _ o: NewOrder) {
        log.append(.accepted(order))
        refs.append(ref)
    }
    mutating func rejected(session: SessionID, tag: UInt64, order: OrderID, reason: RejectReason) { log.append(.rejected(reason)) }
    mutating func executed(_ e: Execution) {
        log.append(.executed(passive: e.passive, aggressor: e.aggressor, price: e.price, qty: e.quantity, match: e.matchNumber))
    }
    mutating func canceled(_ order: OrderID, session: SessionID, tag: UInt64, quantity: UInt32, reason: CancelReason) {
        log.append(.canceled(order, quantity, reason))
    }
    mutating func replaced(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, price: UInt32, quantity: UInt32, priorityKept: Bool) {
        log.append(.replaced(order, price: price, qty: quantity, kept: priorityKept))
        refs.append(ref)
    }
}

typealias TestVenue = Venue<Recorder, DayFileBuffer>

let AAPL: Locate = 1
/// Dollars and cents to ITCH price.
func px(_ dollars: Double) -> UInt32 { UInt32((dollars * 10_000).rounded()) }

func makeVenue(_ config: VenueConfig = VenueConfig(maxOrders: 4096)) -> TestVenue {
    let v = TestVenue(config: config, events: Recorder(), feed: DayFileBuffer(capacity: 1 << 22))
    v.open()
    v.events.log.removeAll()
    return v
}

extension TestVenue {
    @discardableResult
    func buy(_ p: Double, _ q: UInt32, _ kind: OrderKind = .limit, session: SessionID = 1, owner: UInt32 = 0) -> OrderID {
        submit(session: session, order: NewOrder(locate: AAPL, side: .bid, kind: kind, price: px(p), quantity: q, owner: owner))
    }
    @discardableResult
    func sell(_ p: Double, _ q: UInt32, _ kind: OrderKind = .limit, session: SessionID = 2, owner: UInt32 = 0) -> OrderID {
        submit(session: session, order: NewOrder(locate: AAPL, side: .ask, kind: kind, price: px(p), quantity: q, owner: owner))
    }
    var asks: [VenueLevel] { book(AAPL)!.depth(.ask) }
    var bids: [VenueLevel] { book(AAPL)!.depth(.bid) }
    func take() -> [Ev] { defer { events.log.removeAll() }; return events.log }
}

@Suite struct MatchingRules {
    @Test func restingLimitAndPartialFillsAcrossLevels() {
        let v = makeVenue()
        let a1 = v.sell(200.01, 100)
        let a2 = v.sell(200.02, 200)
        let a3 = v.sell(200.02, 50)
        _ = v.take()
        let b = v.buy(200.02, 320)
        #expect(v.take() == [
            .accepted(b),
            .executed(passive: a1, aggressor: b, price: px(200.01), qty: 100, match: 1),
            .executed(passive: a2, aggressor: b, price: px(200.02), qty: 200, match: 2),
            .executed(passive: a3, aggressor: b, price: px(200.02), qty: 20, match: 3),
        ])
        #expect(v.asks == [VenueLevel(price: px(200.02), shares: 30, orders: 1)])
        #expect(v.bids.isEmpty)
        #expect(v.order(a3)?.quantity == 30)
        #expect(v.order(a1) == nil)
    }

    @Test func priceTimePriority() {
        let v = makeVenue()
        let first = v.sell(200.00, 100, session: 2)
        let second = v.sell(200.00, 100, session: 3)
        let better = v.sell(199.99, 10, session: 4)
        #expect(v.queue(AAPL, .ask, price: px(200.00)) == [first, second])
        _ = v.take()
        let b = v.buy(200.00, 150)
        #expect(v.take() == [
            .accepted(b),
            .executed(passive: better, aggressor: b, price: px(199.99), qty: 10, match: 1),
            .executed(passive: first, aggressor: b, price: px(200.00), qty: 100, match: 2),
            .executed(passive: second, aggressor: b, price: px(200.00), qty: 40, match: 3),
        ])
    }

    @Test func restingRemainderOfCrossingLimit() {
        let v = makeVenue()
        v.sell(200.00, 100)
        let b = v.buy(200.05, 150)
        #expect(v.bids == [VenueLevel(price: px(200.05), shares: 50, orders: 1)])
        #expect(v.order(b)?.quantity == 50)
        #expect(v.asks.isEmpty)
    }

    @Test func iocRemainderCanceled() {
        let v = makeVenue()
        let a = v.sell(200.00, 100)
        _ = v.take()
        let b = v.buy(200.00, 150, .immediateOrCancel)
        #expect(v.take() == [.accepted(b), .executed(passive: a, aggressor: b, price: px(200.00), qty: 100, match: 1),
                             .canceled(b, 50, .unfilledRemainder)])
        #expect(v.bids.isEmpty && v.asks.isEmpty)
    }

    @Test func fokThatCannotFillDoesNothing() {
        let v = makeVenue()
        v.sell(200.00, 100)
        v.sell(200.01, 100)
        v.sell(200.03, 100)
        _ = v.take()
        let before = v.feed.count
        #expect(v.buy(200.01, 201, .fillOrKill) == .none)
        #expect(v.take() == [.rejected(.fillOrKillUnfillable)])
        #expect(v.feed.count == before)
        #expect(v.asks.count == 3)
        let b = v.buy(200.01, 200, .fillOrKill)
        #expect(v.take().count == 3 && b != .none)
        #expect(v.asks == [VenueLevel(price: px(200.03), shares: 100, orders: 1)])
    }

    @Test func postOnly() {
        let v = makeVenue()
        v.sell(200.00, 100)
        _ = v.take()
        #expect(v.buy(200.00, 10, .postOnly) == .none)
        #expect(v.take() == [.rejected(.postOnlyWouldCross)])
        let b = v.buy(199.99, 10, .postOnly)
        #expect(v.take() == [.accepted(b)])
        #expect(v.bids.count == 1)
    }

    @Test func marketOrders() {
        let v = makeVenue()
        let m = v.buy(0, 100, .market)
        #expect(v.take() == [.accepted(m), .canceled(m, 100, .unfilledRemainder)])
        let a = v.sell(210.00, 60)
        let a2 = v.sell(219.00, 60)
        _ = v.take()
        let m2 = v.buy(0, 100, .market)
        #expect(v.take() == [.accepted(m2), .executed(passive: a, aggressor: m2, price: px(210.00), qty: 60, match: 1),
                             .executed(passive: a2, aggressor: m2, price: px(219.00), qty: 40, match: 2)])
        #expect(v.asks == [VenueLevel(price: px(219.00), shares: 20, orders: 1)])
        #expect(v.bids.isEmpty)
    }

    @Test func cancelAndItsRejects() {
        let v = makeVenue()
        let b = v.buy(199.00, 100)
        _ = v.take()
        #expect(!v.cancel(session: 2, order: b))
        #expect(v.take() == [.rejected(.notYourOrder)])
        #expect(v.cancel(session: 1, order: b))
        #expect(v.take() == [.canceled(b, 100, .requested)])
        #expect(!v.cancel(session: 1, order: b))
        #expect(v.take() == [.rejected(.unknownOrder)])
        #expect(v.bids.isEmpty)
    }

    @Test func replaceKeepsPriorityOnSizeDecrease() {
        let v = makeVenue()
        let first = v.sell(200.00, 100, session: 2)
        let second = v.sell(200.00, 100, session: 3)
        let ref = v.order(first)!.ref
        _ = v.take()
        #expect(v.replace(session: 2, order: first, price: px(200.00), quantity: 40))
        #expect(v.take() == [.replaced(first, price: px(200.00), qty: 40, kept: true)])
        #expect(v.queue(AAPL, .ask, price: px(200.00)) == [first, second])
        #expect(v.order(first)!.ref == ref)
        #expect(v.asks == [VenueLevel(price: px(200.00), shares: 140, orders: 2)])
    }

    @Test func replaceLosesPriorityOnIncreaseOrPriceChange() {
        let v = makeVenue()
        let first = v.sell(200.00, 100, session: 2)
        let second = v.sell(200.00, 100, session: 3)
        let ref = v.order(first)!.ref
        #expect(v.replace(session: 2, order: first, price: px(200.00), quantity: 150))
        #expect(v.queue(AAPL, .ask, price: px(200.00)) == [second, first])
        #expect(v.order(first)!.ref > ref)
        #expect(v.replace(session: 3, order: second, price: px(200.01), quantity: 100))
        #expect(v.replace(session: 3, order: second, price: px(200.00), quantity: 100))
        #expect(v.queue(AAPL, .ask, price: px(200.00)) == [first, second])
    }

    @Test func replaceIntoCross() {
        let v = makeVenue()
        let a = v.sell(200.00, 100)
        let b = v.buy(199.00, 150)
        _ = v.take()
        #expect(v.replace(session: 1, order: b, price: px(200.00), quantity: 150))
        #expect(v.take() == [.replaced(b, price: px(200.00), qty: 150, kept: false),
                             .executed(passive: a, aggressor: b, price: px(200.00), qty: 100, match: 1)])
        #expect(v.bids == [VenueLevel(price: px(200.00), shares: 50, orders: 1)])
        #expect(v.asks.isEmpty)
    }

    @Test func selfMatchCancelNewest() {
        let v = makeVenue()
        let other = v.sell(200.00, 50, session: 3)
        let mine = v.sell(200.00, 50, session: 1)
        let deeper = v.sell(200.01, 50, session: 3)
        _ = v.take()
        let b = v.buy(200.01, 200, session: 1)
        #expect(v.take() == [.accepted(b), .executed(passive: other, aggressor: b, price: px(200.00), qty: 50, match: 1),
                             .canceled(b, 150, .selfMatch)])
        #expect(v.order(mine)?.quantity == 50 && v.order(deeper)?.quantity == 50)
        #expect(v.bids.isEmpty)
    }

    @Test func selfMatchCancelOldest() {
        let v = makeVenue(VenueConfig(maxOrders: 1024, selfMatch: .cancelOldest))
        let mine = v.sell(200.00, 50, session: 5, owner: 77)
        let other = v.sell(200.00, 50, session: 3)
        _ = v.take()
        // Another session of the same owner group.
        let b = v.buy(200.00, 80, session: 6, owner: 77)
        #expect(v.take() == [.accepted(b), .canceled(mine, 50, .selfMatch),
                             .executed(passive: other, aggressor: b, price: px(200.00), qty: 50, match: 1)])
        #expect(v.bids == [VenueLevel(price: px(200.00), shares: 30, orders: 1)])
        #expect(v.asks.isEmpty)
    }

    @Test(arguments: [
        (NewOrder(locate: 99, side: .bid, price: 2_000_000, quantity: 1), RejectReason.unknownInstrument),
        (NewOrder(locate: AAPL, side: .bid, price: 2_000_050, quantity: 1), .badTick),
        (NewOrder(locate: AAPL, side: .bid, price: 2_000_000, quantity: 0), .zeroQuantity),
        (NewOrder(locate: AAPL, side: .bid, price: 2_200_100, quantity: 1), .outsidePriceBand),
        (NewOrder(locate: AAPL, side: .ask, price: 1_799_900, quantity: 1), .outsidePriceBand),
    ])
    func rejects(order: NewOrder, reason: RejectReason) {
        let v = makeVenue()
        #expect(v.submit(session: 1, order: order) == .none)
        #expect(v.take() == [.rejected(reason)])
        #expect(v.rejects(reason) == 1)
        // Band edges are accepted.
        #expect(v.buy(180.00, 1) != .none && v.sell(220.00, 1) != .none)
    }

    @Test func lotSize() {
        let spec = InstrumentSpec(locate: AAPL, symbol: Symbol("AAPL")!, referencePrice: px(200), tick: 100, lot: 100)
        let v = TestVenue(instruments: [spec], events: Recorder(), feed: DayFileBuffer(capacity: 1 << 16))
        #expect(v.buy(200, 100) == .none) // before open
        v.open()
        #expect(v.buy(200, 150) == .none)
        #expect(v.buy(200, 200) != .none)
        #expect(v.rejects(.badLot) == 1 && v.rejects(.marketClosed) == 1)
    }

    @Test func rateLimit() {
        let v = makeVenue(VenueConfig(maxOrders: 1024, ordersPerSecond: 1000, burst: 3))
        v.now = 1_000_000_000
        for i in 0..<3 { #expect(v.buy(199.00 - Double(i) * 0.01, 1) != .none) }
        #expect(v.buy(198.00, 1) == .none)
        #expect(v.take().last == .rejected(.rateLimited))
        #expect(v.sell(201, 1, session: 2) != .none) // per session
        v.now += 1_000_000 // one token back after 1 ms
        #expect(v.buy(198.00, 1) != .none)
        #expect(v.buy(198.00, 1) == .none)
    }

    @Test func poolExhaustion() {
        let v = makeVenue(VenueConfig(maxOrders: 2))
        #expect(v.buy(199, 1) != .none && v.buy(198, 1) != .none)
        #expect(v.buy(197, 1) == .none)
        #expect(v.rejects(.poolExhausted) == 1)
        // A fully filled aggressor does not need a free slot beyond its own: none is free, so it is rejected too.
        #expect(v.sell(199, 1) == .none)
        #expect(v.cancel(session: 1, order: v.queue(AAPL, .bid, price: px(198))[0]))
        #expect(v.sell(199, 1) != .none)
        #expect(v.bids.isEmpty && v.liveOrders == 0)
    }

    @Test func massCancel() {
        let v = makeVenue()
        let mine = [v.buy(199, 10), v.buy(198, 10), v.sell(201, 10, session: 1)]
        let msft = v.submit(session: 1, order: NewOrder(locate: 2, side: .bid, price: px(400), quantity: 5))
        let theirs = v.sell(202, 10, session: 2)
        _ = v.take()
        #expect(v.massCancel(session: 1, locate: 2) == 1)
        #expect(v.take() == [.canceled(msft, 5, .massCancel)])
        #expect(v.massCancel(session: 1) == 3)
        #expect(Set(v.take()) == Set(mine.map { Ev.canceled($0, 10, .massCancel) }))
        #expect(v.order(theirs) != nil && v.liveOrders == 1)
    }
}

extension Ev: Hashable {
    func hash(into h: inout Hasher) { h.combine("\(self)") }
}
