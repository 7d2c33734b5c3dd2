import CEvent
import CSys
import OmniBook
import OmniCore
import OmniFeed
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniVenue
import OmniWire
import Testing

/// The trading loop against the venue in process (tests may use both sides): quotes follow the
/// touch, a fill skews them, risk refuses what is beyond its limits before the venue sees it,
/// and the kill switch cancels everything and lets nothing new out.
@Suite struct TradingLoopTests {
    struct Setup {
        let entry: VenueOrderEntry<DayFileBuffer>
        let loop: TradingLoop<VenueOrderEntry<DayFileBuffer>, InventorySkewQuoter>
        var sink: BoardSink
        var now: UInt64 = 1_000_000_000

        /// The touch of AAPL as the feed would report it, then one pass of the loop.
        mutating func book(bid: UInt32, ask: UInt32) {
            sink.bboChanged(1, BBO(bidPrice: Price(raw: Int64(bid)), bidSize: 100, askPrice: Price(raw: Int64(ask)), askSize: 100))
            now += 1_000_000
            loop.pass(now: now)
        }
        var ourBid: OrderRecord? { open(side: UInt8(OMNI_SIDE_BUY)) }
        var ourAsk: OrderRecord? { open(side: UInt8(OMNI_SIDE_SELL)) }
        func open(side: UInt8) -> OrderRecord? {
            var found: OrderRecord?
            loop.ledger.table.forEachOpen { if $0.side == side { found = $0 } }
            return found
        }
    }

    func setUp(maxOrderQuantity: UInt32 = 1_000, rule: QuotingRule = QuotingRule()) throws -> Setup {
        let entry = VenueOrderEntry(instruments: Array(InstrumentSpec.defaults.prefix(1)), feed: DayFileBuffer(capacity: 1 << 20),
                                    session: 1, orderSlots: 1 << 10)
        entry.advance(to: 34_200_000_000_000)
        entry.venue.open()
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: 100_000_000)
        rc.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: maxOrderQuantity, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
        rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000)
        let loop = try testLoop(entry, risk: rc, rule: rule)
        loop.quote(1)
        return Setup(entry: entry, loop: loop, sink: BoardSink(board: loop.board))
    }

    /// Our open orders' prices on one side, best first.
    func prices(_ s: Setup, _ side: UInt8) -> [UInt32] {
        var p: [UInt32] = []
        s.loop.ledger.table.forEachOpen { if $0.side == side { p.append($0.price) } }
        return side == UInt8(OMNI_SIDE_BUY) ? p.sorted(by: >) : p.sorted()
    }

    /// Three levels a side, two ticks apart, all at the venue; the ladder moves with the touch.
    @Test func levelsPerSideRestBehindTheQuote() throws {
        var s = try setUp(rule: QuotingRule(levels: 3, spacingTicks: 2))
        defer { s.entry.venue.feed.deallocate() }
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(prices(s, UInt8(OMNI_SIDE_BUY)) == [1_989_900, 1_989_700, 1_989_500])
        #expect(prices(s, UInt8(OMNI_SIDE_SELL)) == [1_990_300, 1_990_500, 1_990_700])
        #expect(s.entry.venue.liveOrders == 6)
        s.book(bid: 1_990_200, ask: 1_990_400)
        #expect(prices(s, UInt8(OMNI_SIDE_BUY)) == [1_990_100, 1_989_900, 1_989_700])
        #expect(prices(s, UInt8(OMNI_SIDE_SELL)) == [1_990_500, 1_990_700, 1_990_900])
        #expect(s.loop.ledger.counters.entered == 6 && s.loop.ledger.counters.replaced == 6 && s.entry.venue.liveOrders == 6)
    }

    /// With 200 shares long or short at most and 100 a quote, only two levels a side are quoted;
    /// after 100 bought, one bid level is left and the asks keep three.
    @Test func theLadderStopsAtTheMaximumPosition() throws {
        var s = try setUp(rule: QuotingRule(levels: 3, spacingTicks: 1))
        defer { s.entry.venue.feed.deallocate() }
        s.loop.setMaxPosition(200, locate: 1)
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(prices(s, UInt8(OMNI_SIDE_BUY)).count == 2 && prices(s, UInt8(OMNI_SIDE_SELL)).count == 2)
        _ = s.entry.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, kind: .immediateOrCancel, price: 1_989_900, quantity: 100))
        s.loop.poll(now: s.now)
        s.book(bid: 1_990_000, ask: 1_990_200)
        s.book(bid: 1_990_000, ask: 1_990_200) // the cancel of the second bid level is answered
        #expect(s.loop.ledger.position(strategy: 1, locate: 1).shares == 100)
        #expect(prices(s, UInt8(OMNI_SIDE_BUY)).count == 1 && prices(s, UInt8(OMNI_SIDE_SELL)).count == 3)
    }

    /// An order younger than the minimum resting time is not moved; once it has rested, it is.
    @Test func anOrderIsNotMovedBeforeItsMinimumRestingTime() throws {
        var s = try setUp(rule: QuotingRule(minRestNs: 500_000_000))
        defer { s.entry.venue.feed.deallocate() }
        s.book(bid: 1_990_000, ask: 1_990_200)
        s.now += 100_000_000
        s.book(bid: 1_990_200, ask: 1_990_400)
        #expect(s.ourBid?.price == 1_989_900 && s.loop.ledger.counters.replaced == 0)
        s.now += 500_000_000
        s.book(bid: 1_990_200, ask: 1_990_400)
        #expect(s.ourBid?.price == 1_990_100 && s.ourAsk?.price == 1_990_500 && s.loop.ledger.counters.replaced == 2)
    }

    @Test func quotesFollowTheTouchAndAFillSkewsThem() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(s.ourBid?.price == 1_989_900 && s.ourAsk?.price == 1_990_300 && s.ourBid?.state == .new)
        // The touch moves up two ticks: both quotes are replaced, the same two orders.
        let bidID = s.ourBid?.id
        s.book(bid: 1_990_200, ask: 1_990_400)
        #expect(s.ourBid?.price == 1_990_100 && s.ourAsk?.price == 1_990_500 && s.ourBid?.id == bidID)
        // Another session sells 100 into our bid: we are long 100, so both quotes drop a tick.
        _ = s.entry.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, kind: .immediateOrCancel, price: 1_990_100, quantity: 100))
        s.loop.poll(now: s.now)
        #expect(s.loop.ledger.position(strategy: 1, locate: 1).shares == 100 && s.ourBid == nil)
        s.book(bid: 1_990_200, ask: 1_990_400)
        #expect(s.ourBid?.price == 1_990_000 && s.ourAsk?.price == 1_990_400)
        #expect(s.loop.counters.refusedByRisk == 0 && s.loop.risk.passed == s.loop.counters.requests)
    }

    /// Stage stamps: every request a requote sent with a batch stamp is stamped once, and the
    /// stages' means add up to the tick-to-trade histogram's mean (recorded apart, to three
    /// significant digits).
    @Test func stageStampsAddUpToTheTickToTrade() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        s.loop.stages = StageStamps()
        for k in 0..<10 {
            let mid = 1_990_100 + UInt32(k % 2) * 200 // the touch moves: both quotes move each pass
            s.sink.bboChanged(1, BBO(bidPrice: Price(raw: Int64(mid - 100)), bidSize: 100, askPrice: Price(raw: Int64(mid + 100)), askSize: 100))
            s.loop.board.stamp(batchTSC: csys_rdtsc())
            s.now += 1_000_000
            s.loop.pass(now: s.now)
        }
        let f = try #require(s.loop.stageFiguresNs())
        #expect(f.requests == s.loop.counters.stamped && f.requests >= 18, "new orders, then replaces both sides")
        let sum = f.stages.reduce(0) { $0 + $1.mean }
        #expect(abs(sum - f.totalMean) <= f.totalMean * 2e-3, "\(f.stages) add up to \(sum), the histogram's mean \(f.totalMean)")
        #expect(f.stages.allSatisfy { $0.mean >= 0 } && f.stages.count == StageStamps.names.count)
    }

    /// A fill the venue sends twice (as after a reconnect) moves neither the ledger's nor risk's
    /// position a second time.
    @Test func aResentFillCountsOnceInTheLedgerAndInRisk() throws {
        let venue = VenueOrderEntry(instruments: Array(InstrumentSpec.defaults.prefix(1)), feed: DayFileBuffer(capacity: 1 << 20),
                                    session: 1, orderSlots: 1 << 10)
        defer { venue.venue.feed.deallocate() }
        venue.advance(to: 34_200_000_000_000)
        venue.venue.open()
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: 100_000_000)
        rc.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
        rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000)
        let loop = try testLoop(ResendingFills(venue), risk: rc)
        loop.quote(1)
        var sink = BoardSink(board: loop.board)
        sink.bboChanged(1, BBO(bidPrice: Price(raw: 1_990_000), bidSize: 100, askPrice: Price(raw: 1_990_200), askSize: 100))
        loop.pass(now: 1_000_000_000)
        _ = venue.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, kind: .immediateOrCancel, price: 1_989_900, quantity: 100))
        loop.poll(now: 1_001_000_000)
        #expect(loop.ledger.counters.fills == 1 && loop.ledger.counters.duplicateFills == 1)
        #expect(loop.ledger.position(strategy: 1, locate: 1).shares == 100)
        #expect(loop.risk.instrument(1)?.position == 100)
    }

    /// An order beyond a limit is refused by risk and never reaches the venue: the venue's own
    /// count of our orders proves it.
    @Test func riskRefusesBeforeTheVenueSeesIt() throws {
        var s = try setUp(maxOrderQuantity: 50) // our quotes are for 100
        defer { s.entry.venue.feed.deallocate() }
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(s.loop.counters.refusedByRisk == 2 && s.loop.risk.refusals(.orderQuantity) == 2)
        #expect(s.entry.venue.liveOrders == 0 && s.loop.ledger.table.open == 0 && s.loop.ledger.counters.rejected == 2)
    }

    /// The kill switch: every open order canceled at the venue, and nothing new goes out after.
    @Test func theKillSwitchCancelsEverythingAndHolds() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(s.entry.venue.liveOrders == 2)
        s.loop.risk.kill(.command)
        s.loop.cancelAll(now: s.now)
        s.loop.poll(now: s.now)
        #expect(s.entry.venue.liveOrders == 0 && s.loop.ledger.table.open == 0)
        let sent = s.loop.counters.requests
        s.book(bid: 1_990_300, ask: 1_990_500)
        #expect(s.loop.counters.requests == sent && s.entry.venue.liveOrders == 0) // the loop stopped quoting
    }
}

/// An order entry that hands every fill to the loop twice, as a venue resending after a
/// reconnect would.
final class ResendingFills<Inner: OrderEntry>: OrderEntry {
    let inner: Inner
    init(_ inner: Inner) { self.inner = inner }
    func submit(_ request: borrowing omni_event) -> Bool { inner.submit(request) }
    func flush() { inner.flush() }
    @discardableResult func poll(_ body: (inout omni_event) -> Void) -> Int {
        inner.poll { e in
            var again = e
            body(&e)
            if again.type == UInt8(OMNI_EV_FILL.rawValue) { body(&again) }
        }
    }
}
