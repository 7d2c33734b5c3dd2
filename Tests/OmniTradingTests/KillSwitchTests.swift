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
import Testing

/// The kill switch's triggers (RTS 6 Art. 12) at the loop level, against the venue in process:
/// each one turns risk's switch on, cancels every order the venue holds for us, and lets
/// nothing new out after; and tick-to-trade is recorded once per request a requote sends.
@Suite struct KillSwitchTests {
    struct Setup {
        let entry: VenueOrderEntry<DayFileBuffer>
        let loop: TradingLoop<VenueOrderEntry<DayFileBuffer>, InventorySkewQuoter>
        var sink: BoardSink
        var watch = KillSwitchWatch(staleAfterNs: 3_000_000_000)
        var now: UInt64 = 10_000_000_000

        mutating func book(bid: UInt32, ask: UInt32, batchTSC: UInt64 = 0) {
            sink.bboChanged(1, BBO(bidPrice: Price(raw: Int64(bid)), bidSize: 100, askPrice: Price(raw: Int64(ask)), askSize: 100))
            if batchTSC != 0 { loop.board.stamp(batchTSC: batchTSC) }
            now += 1_000_000
            loop.pass(now: now)
        }

        /// One check of the triggers; the loop then polls the venue's answers.
        mutating func check(signal: Bool = false, connected: Bool = true, lastPacketNs: UInt64? = nil, sessionStale: Bool = false) -> KillTrigger? {
            let t = watch.check(loop, signal: signal, connected: connected, disconnectReason: "test", lastPacketNs: lastPacketNs ?? now,
                                sessionStale: sessionStale, now: now)
            loop.poll(now: now)
            return t
        }

        /// After the switch: every order gone at the venue, and a new touch sends nothing.
        mutating func expectKilledAndHolding(_ reason: KillReason) {
            #expect(loop.risk.killReason == reason && loop.killHandled == reason)
            #expect(entry.venue.liveOrders == 0 && loop.ledger.table.open == 0)
            let sent = loop.counters.requests
            book(bid: 1_990_300, ask: 1_990_500)
            book(bid: 1_989_000, ask: 1_989_200)
            #expect(loop.counters.requests == sent && entry.venue.liveOrders == 0)
        }
    }

    func setUp(maxDailyLoss: Int64 = 100_000_000) throws -> Setup {
        let entry = VenueOrderEntry(instruments: Array(InstrumentSpec.defaults.prefix(1)), feed: DayFileBuffer(capacity: 1 << 20),
                                    session: 1, orderSlots: 1 << 10)
        entry.advance(to: 34_200_000_000_000)
        entry.venue.open()
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: maxDailyLoss)
        rc.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
        rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000)
        let loop = try testLoop(entry, risk: rc)
        loop.quote(1)
        var s = Setup(entry: entry, loop: loop, sink: BoardSink(board: loop.board))
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(entry.venue.liveOrders == 2)
        return s
    }

    @Test func sigusr1TripsTheSwitch() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        #expect(s.check() == nil && s.entry.venue.liveOrders == 2) // healthy: nothing trips
        #expect(s.check(signal: true) == .signal)
        s.expectKilledAndHolding(.signal)
        #expect(s.check(signal: true, connected: false) == nil && s.watch.trigger == .signal) // once, the first reason stays
    }

    @Test func theDailyLossTripsTheSwitch() throws {
        var s = try setUp(maxDailyLoss: 10_000 * 100) // $100 over 100 shares: a dollar a share
        defer { s.entry.venue.feed.deallocate() }
        // Another session sells 100 into our bid at 198.99, then the market falls two dollars.
        _ = s.entry.venue.submit(session: 2, order: NewOrder(locate: 1, side: .ask, kind: .immediateOrCancel, price: 1_989_900, quantity: 100))
        s.loop.poll(now: s.now)
        #expect(s.loop.ledger.position(strategy: 1, locate: 1).shares == 100)
        s.book(bid: 1_969_000, ask: 1_969_200) // risk marks the position at the mid: -$209, beyond -$100
        #expect(s.loop.risk.killReason == .dailyLoss)
        #expect(s.check() == .dailyLoss)
        s.expectKilledAndHolding(.dailyLoss)
    }

    @Test func aGatewayDisconnectTripsTheSwitch() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        let t = s.check(connected: false)
        #expect(t == .disconnect("test") && t?.description == "gateway disconnect (test)")
        s.expectKilledAndHolding(.disconnect)
    }

    @Test func aSilentFeedTripsTheSwitchAfterStaleAfter() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        #expect(s.check(lastPacketNs: s.now - 2_999_000_000) == nil && s.entry.venue.liveOrders == 2) // just inside
        #expect(s.check(lastPacketNs: 0) == nil) // no packet yet: not judged
        let t = s.check(lastPacketNs: s.now - 3_000_000_000)
        #expect(t == .feedSilent(silentNs: 3_000_000_000) && t?.description.contains("3000 ms") == true)
        s.expectKilledAndHolding(.staleFeed)
    }

    @Test func aStaleMoldSessionTripsTheSwitch() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        #expect(s.check(sessionStale: true) == .feedStale)
        s.expectKilledAndHolding(.staleFeed)
    }

    /// A kill through risk directly (a command) is noticed by the loop on its next pass.
    @Test func aCommandThroughRiskIsHandledOnTheNextPass() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        s.loop.risk.kill(.command)
        s.book(bid: 1_990_000, ask: 1_990_200)
        #expect(s.check() == .command)
        s.expectKilledAndHolding(.command)
    }

    /// One value per request a requote sends, measured from the batch's stamp; cancels of the
    /// kill switch carry no stamp and are not recorded.
    @Test func tickToTradeIsRecordedPerRequoteRequest() throws {
        var s = try setUp()
        defer { s.entry.venue.feed.deallocate() }
        #expect(s.loop.tickToTrade.totalCount == 0) // the first quotes came with no stamp
        s.book(bid: 1_990_200, ask: 1_990_400, batchTSC: csys_rdtsc()) // both quotes replaced
        #expect(s.loop.counters.stamped == 2 && s.loop.tickToTrade.totalCount == 2)
        let (v, n) = s.loop.tickToTradeNs(percentiles: [50, 99])
        #expect(n == 2 && v[0] > 0 && v[1] >= v[0] && v[1] < 1_000_000_000, "\(v)")
        #expect(s.check(signal: true) == .signal)
        #expect(s.loop.tickToTrade.totalCount == 2)
        #expect(s.loop.board.batchTSC == 0) // the stamp is the pass's, cleared with it
    }
}
