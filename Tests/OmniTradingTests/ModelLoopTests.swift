import CEvent
import OmniBook
import OmniCore
import OmniFeed
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniVenue
import Testing

/// `omni run`'s model market makers in the trading loop, against the venue in process: nothing is
/// quoted until σ has its window of returns, then both sides are, and a fill skews them against
/// the position. The clock is the loop's `now`, stepped by the test (no timing).
@Suite struct ModelLoopTests {
    final class Setup<S: Strategy> {
        let entry: VenueOrderEntry<DayFileBuffer>
        let loop: TradingLoop<VenueOrderEntry<DayFileBuffer>, S>
        var sink: BoardSink
        var now: UInt64 = 1_000_000_000

        init(_ strategy: S) throws {
            entry = VenueOrderEntry(instruments: Array(InstrumentSpec.defaults.prefix(1)), feed: DayFileBuffer(capacity: 1 << 20),
                                    session: 1, orderSlots: 1 << 10)
            entry.advance(to: 34_200_000_000_000)
            entry.venue.open()
            var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: 100_000_000)
            rc.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
            rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000)
            let board = QuoteBoard(locates: 16)
            loop = TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 10, strategies: 2, locates: 16)),
                               risk: try PreTradeCheck(rc), board: board, strategy: strategy)
            loop.quote(1)
            sink = BoardSink(board: board)
        }

        /// AAPL's touch as the feed would report it, 100 ms later, then one pass.
        func book(bid: UInt32, ask: UInt32) {
            sink.bboChanged(1, BBO(bidPrice: Price(raw: Int64(bid)), bidSize: 100, askPrice: Price(raw: Int64(ask)), askSize: 100))
            now += 100_000_000
            loop.pass(now: now)
        }
        /// The touch alternating a tick up and down: a mid that moves, so σ > 0.
        func wiggle(_ i: Int) { i % 2 == 0 ? book(bid: 1_990_000, ask: 1_990_200) : book(bid: 1_990_100, ask: 1_990_300) }
        func open(side: UInt8) -> OrderRecord? {
            var found: OrderRecord?
            loop.ledger.table.forEachOpen { if $0.side == side { found = $0 } }
            return found
        }
        var ourBid: OrderRecord? { open(side: UInt8(OMNI_SIDE_BUY)) }
        var ourAsk: OrderRecord? { open(side: UInt8(OMNI_SIDE_SELL)) }
    }

    static let aapl: [UInt16: RunConfig.Instrument] = [1: RunConfig.Instrument(symbol: "AAPL")]
    static var model: RunConfig.Model {
        var m = RunConfig.Model()
        m.gamma = 1; m.k = 1; m.a = 1; m.horizonSeconds = 1; m.sigmaIntervalNs = 100_000_000; m.sigmaWindow = 5
        return m
    }

    /// Warm-up, two sides, then a fill of our bid: long one quote, so both quotes move down.
    func warmUpQuoteAndSkew<S: Strategy>(_ s: Setup<S>) -> (before: (UInt32, UInt32), after: (UInt32, UInt32))? {
        defer { s.entry.venue.feed.deallocate() }
        for i in 0..<5 { s.wiggle(i) } // σ has at most 4 returns: no quote yet
        #expect(s.entry.venue.liveOrders == 0 && s.loop.counters.requests == 0)
        for i in 5..<10 { s.wiggle(i) }
        s.book(bid: 1_990_000, ask: 1_990_200)
        guard let bid = s.ourBid, let ask = s.ourAsk else { Issue.record("no two-sided quote after the warm-up"); return nil }
        #expect(s.entry.venue.liveOrders == 2 && bid.price < 1_990_200 && ask.price > 1_990_000 && bid.price <= 1_990_000 && ask.price >= 1_990_200)
        // Another session sells a quote's size into our bid: we are long 100.
        _ = s.entry.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, kind: .immediateOrCancel, price: bid.price, quantity: 100))
        s.loop.poll(now: s.now)
        #expect(s.loop.ledger.position(strategy: 1, locate: 1).shares == 100 && s.ourBid == nil)
        s.book(bid: 1_990_100, ask: 1_990_300)
        s.book(bid: 1_990_000, ask: 1_990_200) // the same touch as before the fill
        guard let bid2 = s.ourBid, let ask2 = s.ourAsk else { Issue.record("no two-sided quote after the fill"); return nil }
        #expect(s.loop.counters.refusedByRisk == 0)
        return ((bid.price, ask.price), (bid2.price, ask2.price))
    }

    @Test func glftWaitsForSigmaQuotesBothSidesAndSkewsAfterAFill() throws {
        let s = try Setup(ModelQuoters(glft: Self.aapl, model: Self.model))
        let r = try #require(warmUpQuoteAndSkew(s))
        #expect(r.after.0 < r.before.0 && r.after.1 < r.before.1, "\(r)")
        #expect(s.loop.strategy[1]!.quoter.sigma > 0)
        #expect(s.loop.strategy[1]!.intensity!.steps > 0) // the fill-intensity window steps on the loop's clock
    }

    @Test func avellanedaStoikovWaitsForSigmaQuotesBothSidesAndSkewsAfterAFill() throws {
        let s = try Setup(ModelQuoters(avellanedaStoikov: Self.aapl, model: Self.model))
        let r = try #require(warmUpQuoteAndSkew(s))
        #expect(r.after.0 < r.before.0 && r.after.1 < r.before.1, "\(r)")
        #expect(s.loop.strategy[1]!.intensity == nil)
    }
}
