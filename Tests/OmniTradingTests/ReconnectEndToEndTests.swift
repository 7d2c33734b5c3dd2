import CEvent
import CSys
import CWire
import Glibc
import OmniBook
import OmniCore
import OmniGateway
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniVenue
import OmniWire
import SharedTestData
import Testing

/// A disconnect mid-run and the reconnect, end to end against `omni sim` (in this process, on
/// loopback), over OUCH and over FIX: our quotes are hit while the loop is not reading, the
/// connection drops with those fills unread and one order request never delivered, the venue
/// cancels the rest (cancel on disconnect), and the loop reconnects and recovers as `omni run`
/// does (KillSwitchWatch + GatewayRecovery). Afterwards the ledger's and risk's positions and
/// cash equal the venue's own record of our executions, to the share and the 1/10000 dollar;
/// no fill is lost or counted twice; the undelivered request is answered as lost.
@Suite(.serialized) struct ReconnectEndToEndTests {
    static let specs = Array(InstrumentSpec.defaults.prefix(4))

    static var symbols: [UInt16: String] {
        var s: [UInt16: String] = [:]
        for x in specs { s[x.locate] = x.symbol.description }
        return s
    }

    @Test func overOUCHNoFillIsLostAndPositionsEqualTheVenuesRecord() throws {
        let sim = try LoopHarness<OuchOrderEntry>.venue(TestScratch.directory("reconnect-ouch"))
        defer { sim.stop() }
        let entry = OuchOrderEntry(SoupClientConfig(port: sim.ouchPort, username: "MMK", password: "x"), symbols: Self.symbols, orderSlots: 1 << 10)
        try entry.connect()
        // The request is queued in the session's send buffer, then the connection drops under it.
        try Self.scenario(entry, sim: sim, client: "MMK") { send in send(); entry.client.disconnect() }
    }

    @Test func overFIXNoFillIsLostAndPositionsEqualTheVenuesRecord() throws {
        let dir = TestScratch.directory("reconnect-fix")
        let sim = try LoopHarness<FixOrderEntry>.venue(dir)
        defer { sim.stop() }
        let cfg = FixSessionConfig(senderCompID: "MMF", targetCompID: sim.config.fixSenderCompID, heartBtInt: 30, storeDirectory: dir,
                                   resetOnLogon: true, resendApplicationMessages: false)
        let entry = try FixOrderEntry(port: sim.fixPort, timeoutMs: 2_000, config: cfg, symbols: Self.symbols, orderSlots: 1 << 10)
        let end = csys_monotonic_ns() + 5_000_000_000
        while !entry.isLoggedOn && csys_monotonic_ns() < end { _ = entry.session.pollOnce(timeoutMs: 10) }
        #expect(entry.isLoggedOn)
        // The socket is shut down under the session: the next request is stored and numbered but
        // never reaches the venue, which the ResendRequest after the logon will show (gap-filled).
        try Self.scenario(entry, sim: sim, client: "MMF") { send in _ = shutdown(entry.session.fileDescriptor, Int32(SHUT_RDWR)); send() }
    }

    /// FIX with orders still resting at the venue through the drop (cancel on disconnect off): after
    /// the recovery the venue is asked the status of each (OrderStatusRequest under the ClOrdID it
    /// last answered with, a replace's included) and answers each live; nothing changes here, and
    /// the orders are then canceled as usual.
    @Test func overFIXTheStatusOfEachOrderStillOpenIsAskedAfterTheReconnect() throws {
        let h = try LoopHarness.fix(user: "MMS", cancelOnDisconnect: false)
        defer { h.sim.stop() }
        let bid = h.a.referencePrice - 100
        h.touch(h.b)
        let first = try #require(h.order(h.a, buy, bid, 100))
        let second = try #require(h.order(h.b, sell, h.b.referencePrice + 300, 100))
        h.settle()
        #expect(h.loop.ledger.order(second)?.state == .new)
        h.replace(first, price: bid - 100, qty: 100) // the venue knows this one by its second ClOrdID now
        h.settle()
        _ = shutdown(h.entry.session.fileDescriptor, Int32(SHUT_RDWR))
        var recovery = GatewayRecovery(intervalNs: 50_000_000)
        var news: [GatewayRecovery.News] = []
        let end = csys_monotonic_ns() + 10_000_000_000
        while csys_monotonic_ns() < end && !(news.contains { if case .recovered = $0 { true } else { false } } && h.entry.reports.statusLive == 2) {
            h.loop.pass(now: csys_monotonic_ns())
            if let n = recovery.step(h.loop, now: csys_monotonic_ns()) { news.append(n) }
            usleep(200)
        }
        #expect(news.contains(.recovered(lostRequests: 0, statusRequests: 2)), "\(news)")
        #expect(h.entry.reports.statusLive == 2 && h.entry.reports.statusEnded == 0)
        #expect(h.loop.ledger.order(first)?.price == bid - 100 && h.loop.ledger.order(second) != nil && h.sim.liveOrders == 2)
        h.loop.cancelAll(now: csys_monotonic_ns())
        h.reconcile()
    }

    /// The run: quote, get hit while not reading, drop the connection with one more request under
    /// way (`dropWith` sends it and breaks the connection, in its protocol's order), then reconnect,
    /// recover, cancel what is left, and compare with the venue.
    static func scenario<E: GatewaySession>(_ entry: E, sim: SimVenue, client: String, dropWith: (() -> Void) -> Void) throws {
        let rc = LoopHarness<OuchOrderEntry>.risk(instruments: specs)
        let loop = try testLoop(entry, risk: rc, skewShares: 1_000)
        var sink = BoardSink(board: loop.board)
        for s in specs {
            let r = Int64(s.referencePrice)
            sink.bboChanged(s.locate, BBO(bidPrice: Price(raw: r - 100), bidSize: 100, askPrice: Price(raw: r + 100), askSize: 100))
            loop.quote(s.locate)
        }
        func pump(_ what: String, until done: () -> Bool) {
            let end = csys_monotonic_ns() + 10_000_000_000
            while !done() {
                if csys_monotonic_ns() > end { Issue.record("timed out: \(what)"); return }
                loop.pass(now: csys_monotonic_ns())
                usleep(200)
            }
        }
        func working() -> Int { var n = 0; loop.ledger.table.forEachOpen { if $0.state == .new && !$0.pendingCancel { n += 1 } }; return n }
        loop.pass(now: csys_monotonic_ns())
        pump("8 quotes accepted") { working() == 2 * specs.count }
        var bids: [UInt16: UInt32] = [:], asks: [UInt16: UInt32] = [:]
        loop.ledger.table.forEachOpen { o in if o.side == UInt8(OMNI_SIDE_BUY) { bids[o.locate] = o.price } else { asks[o.locate] = o.price } }

        // A taker hits three of our quotes; we do not read (the fills wait in our socket).
        let taker = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "TAKER", password: "x"))
        try taker.connect()
        let (a, b, c) = (specs[0], specs[1], specs[2])
        try taker.enter(.limit(token: "T1", stock: a.symbol.description, side: "S", shares: 60, price: bids[a.locate]!, tif: CW_OUCH_TIF_IOC))
        try taker.enter(.limit(token: "T2", stock: b.symbol.description, side: "B", shares: 40, price: asks[b.locate]!, tif: CW_OUCH_TIF_IOC))
        try taker.enter(.limit(token: "T3", stock: c.symbol.description, side: "S", shares: 100, price: bids[c.locate]!, tif: CW_OUCH_TIF_IOC))
        var takerFills = 0
        let end = csys_monotonic_ns() + 5_000_000_000
        while takerFills < 3 && csys_monotonic_ns() < end {
            taker.poll(timeoutMs: 10) { if case .message(_, let m) = $0, m.type == UInt8(ascii: "E") { takerFills += 1 } }
        }
        #expect(takerFills == 3, "the taker's three executions")
        #expect(loop.ledger.counters.fills == 0, "the loop has read none of its fills yet")

        // One more order, passed by risk and handed to the session, never delivered: the drop.
        let d = specs[3]
        var req = omni_event()
        guard case .success(let lostID) = loop.ledger.enter(locate: d.locate, strategy: 1, side: UInt8(OMNI_SIDE_BUY),
                                                             price: bids[d.locate]! - 300, qty: 50, request: &req) else {
            Issue.record("ledger refused the extra order"); return
        }
        #expect(loop.risk.check(req, now: csys_monotonic_ns()) == .pass)
        dropWith { #expect(entry.submit(req)) }

        // Run as omni run does: the kill switch trips on the disconnect, the session comes back,
        // the replay or resend brings what we missed, the lost request is answered here.
        var watch = KillSwitchWatch()
        var recovery = GatewayRecovery(intervalNs: 50_000_000)
        var news: [GatewayRecovery.News] = []
        pump("reconnected and recovered") {
            let now = csys_monotonic_ns()
            loop.retryCancels = entry.isUp
            _ = watch.check(loop, signal: false, connected: entry.isUp, lastPacketNs: 0, sessionStale: false, now: now)
            if let n = recovery.step(loop, now: now) { news.append(n) }
            return news.contains { if case .recovered = $0 { true } else { false } } && loop.ledger.table.open == 0
        }
        #expect(watch.trigger.map { if case .disconnect = $0 { true } else { false } } == true, "the disconnect tripped the kill switch")
        #expect(news.contains(.recovered(lostRequests: 1, statusRequests: 0)), "\(news)") // the venue canceled the rest on disconnect
        #expect(loop.ledger.order(lostID) == nil && loop.lastRefusal == UInt16(OMNI_REASON_NOT_CONNECTED))
        sim.stop()

        // The venue's record against ours: every fill arrived once, positions and cash equal.
        let record = sim.executions(of: client)
        #expect(record.values.map(\.executions).reduce(0, +) == 3)
        #expect(loop.ledger.counters.fills == 3 && loop.ledger.counters.duplicateFills == 0)
        for s in specs {
            let v = record[s.locate] ?? ClientExecutions()
            let p = loop.ledger.position(strategy: 1, locate: s.locate)
            #expect(p.shares == v.position && p.cashFlow == v.cashFlow, "\(s.symbol): ours \(p.shares) shares, cash \(p.cashFlow); the venue's \(v.position), \(v.cashFlow)")
            #expect(loop.risk.instrument(s.locate)?.position == v.position, "\(s.symbol): risk's position")
        }
        #expect(record[a.locate]?.position == 60 && record[b.locate]?.position == -40 && record[c.locate]?.position == 100)
        #expect(sim.liveOrders == 0 && sim.summary.canceledOnDisconnect == 2 * specs.count - 1) // c's bid filled whole
    }

    /// A second run logs in under the first run's name the same day (OUCH): it takes nothing the
    /// venue sequenced for the first (no answer of the first run's orders lands on the second's,
    /// whose first ids would otherwise be the same), and its tokens are new to the venue (no
    /// duplicate-token refusal): its order is accepted, fills and is its own.
    @Test func aSecondRunUnderTheSameLoginSeesNothingOfTheFirst() throws {
        let first = try LoopHarness.ouch(user: "RERUN")
        defer { first.sim.stop() }
        let early = try #require(first.order(first.a, buy, first.a.referencePrice - 100, 100))
        first.settle()
        first.taker(first.a, side: "S", price: first.a.referencePrice - 100, shares: 30)
        #expect(first.loop.ledger.position(strategy: 1, locate: first.a.locate).shares == 30)
        first.cancel(early)
        first.settle()
        first.entry.close()

        let generation = OrderLedgerConfig.dayUniqueGeneration(secondsSinceMidnight: 1)
        let second = try LoopHarness.ouch(user: "RERUN", on: first.sim, firstGeneration: generation)
        let id = try #require(second.order(second.a, buy, second.a.referencePrice - 100, 100))
        #expect(id.raw != early.raw, "the second run's first id is new")
        second.settle()
        second.taker(second.a, side: "S", price: second.a.referencePrice - 100, shares: 50)
        let c = second.loop.ledger.counters
        #expect(c.accepted == 1 && c.rejected == 0 && c.fills == 1 && c.unsolicitedCancels == 0 && c.answersForUnknownOrders == 0)
        #expect(second.entry.unmatched == 0, "none of the first run's messages replayed to the second")
        #expect(second.loop.ledger.position(strategy: 1, locate: second.a.locate).shares == 50, "only the second run's fill")
    }
}
