import OmniWire
import CSys
import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import OmniGateway
import OmniNet
import OmniVenue
import SharedTestData
import Testing

struct NoBBO: BBOSink {
    mutating func bboChanged(_ locate: Locate, _ b: BBO) {}
}

/// Collects every application message a FIX initiator receives, as tag -> value.
final class FixInbox: FixApplication, @unchecked Sendable {
    var received: [[UInt32: String]] = []
    func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict {
        received.append(Dictionary(m.all, uniquingKeysWith: { a, _ in a }))
        return .accepted
    }
}

func simTempDir(_ name: String) -> String {
    TestScratch.directory("sim-\(name)")
}

func ouchOrder(_ token: String, _ stock: String, side: Character, shares: UInt32, price: UInt32,
               tif: UInt32 = CW_OUCH_TIF_SYSTEM_HOURS) -> cw_ouch_enter {
    .limit(token: token, stock: stock, side: side, shares: shares, price: price, tif: tif)
}

/// One OUCH response as text: "A T1 100 1990000", "E T1 60 1990000 A", "C T2 30 U", "J T4 X", "Z" (end of session).
func describe(_ m: cw_ouch_out) -> String {
    let c = { (v: CChar) in String(UnicodeScalar(UInt8(bitPattern: v))) }
    switch m.type {
    case UInt8(ascii: "A"): return "A \(m.u.accepted.token.text) \(m.u.accepted.shares) \(m.u.accepted.price)"
    case UInt8(ascii: "E"): return "E \(m.u.executed.token.text) \(m.u.executed.shares) \(m.u.executed.price) \(c(m.u.executed.liquidity))"
    case UInt8(ascii: "C"): return "C \(m.u.canceled.token.text) \(m.u.canceled.decrement) \(c(m.u.canceled.reason))"
    case UInt8(ascii: "J"): return "J \(m.u.rejected.token.text) \(c(m.u.rejected.reason))"
    case UInt8(ascii: "U"): return "U \(m.u.replaced.token.text) \(m.u.replaced.shares) \(m.u.replaced.price) prev \(m.u.replaced.previous.text)"
    default: return "\(String(UnicodeScalar(m.type)))"
    }
}

struct SimOutcome: Sendable {
    var ouch: [String] = []
    var ouchEnded = false
    var fix: [[UInt32: String]] = []
    var fixLoggedOn = false
    var fixEvents: [String] = []
    var venueBooks: [String] = []
    var feedBooks: [String] = []
    var venueLive = 0
    var feedLive: UInt64 = 0
    var published: UInt64 = 0
    var delivered: UInt64 = 0
    var listenerFinished = false
    var systemEvents = ""
    var malformed: UInt64 = 0
    var summary = SimSummary()
    var roundTripNs: [UInt64] = []
    var fixRoundTripNs: [UInt64] = []
    var discarded = 0
    var gapsFilledByRetransmission: UInt64 = 0
}

/// The default venue without its order flow, on ephemeral order-entry ports, in a private network namespace (its own
/// loopback), so the default MoldUDP64 groups and ports collide with nothing.
func simConfig(_ dir: String) -> SimConfig {
    var c = SimConfig()
    c.ouchPort = 0
    c.fixPort = 0
    c.retransmitPort = 0
    c.fixStore = dir + "/venue"
    c.generator = nil  // a quiet book: the order-by-order expectations below need it
    return c
}

func waitFor(_ what: String, seconds: Double = 5, _ step: () -> Void, until done: () -> Bool) throws {
    let deadline = csys_monotonic_ns() + UInt64(seconds * 1e9)
    while !done() {
        if csys_monotonic_ns() > deadline { throw SimTestError.timeout(what) }
        step()
    }
}

enum SimTestError: Error { case timeout(String), setup(String) }

/// Steps the listener on lines A and B until the feed's end of session (or a stale session, when nothing more will come).
func waitForFeedEnd<Sink: BBOSink, A: ReceiveBackend & ~Copyable, B: ReceiveBackend & ~Copyable>(
    _ lis: inout MoldListener<Sink>, _ a: inout A, _ b: inout B) throws {
    try waitFor("feed end of session", { if (try? lis.step(&a, &b)) ?? 0 == 0 { usleep(200) } }) {
        lis.finished || lis.session.state == .stale
    }
}

func runScenario(roundTrips: Int = 0, lateJoin: Bool = false, spinNs: UInt64? = nil) throws -> SimOutcome {
    let dir = simTempDir("e2e")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = simConfig(dir)
    if let spinNs { config.spinNs = spinNs }
    var ra = try MulticastReceiver<SocketBackend>(MulticastGroup(config.lineA.address, port: config.lineA.port))
    var rb = try MulticastReceiver<SocketBackend>(MulticastGroup(config.lineB!.address, port: config.lineB!.port))
    let sim = try SimVenue(config)
    var lc = MoldListenerConfig()
    lc.retransmit = sim.retransmitEndpoint
    lc.session.requestTimeout = 5_000_000
    lc.session.requestDelay = 2_000_000
    let books = try Books()
    let replay = ITCHReplay(books: books)
    var lis = try MoldListener(lc, replay: replay, sink: NoBBO())
    sim.start()
    defer { sim.stop() } // also when a wait below throws
    var out = SimOutcome()
    // A late joiner throws away what came before its first order's answer and must ask the
    // retransmission server for the session from sequence 1.
    var feeding = !lateJoin

    let ouch = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "OU1", password: "pw"))
    try ouch.connect()
    func pollOuch() {
        ouch.poll(timeoutMs: 1) { ev in
            switch ev {
            case .message(_, let m): out.ouch.append(describe(m))
            case .endOfSession: out.ouchEnded = true
            default: break
            }
        }
        if feeding { _ = try? lis.step(&ra.backend, &rb.backend) }
    }
    // OUCH: a bid that rests.
    try ouch.enter(ouchOrder("T1", "AAPL", side: "B", shares: 100, price: 1_990_000))
    try waitFor("OUCH accepted", pollOuch) { out.ouch.count >= 1 }
    if lateJoin {
        var junk = DatagramBatch(capacity: 64)
        usleep(20_000)
        while try ra.receive(into: &junk) + rb.receive(into: &junk) > 0 { out.discarded += 1 }
        feeding = true
    }

    // FIX: a sell that crosses it.
    let inbox = FixInbox()
    let fixConfig = FixSessionConfig(senderCompID: "CLIENT1", targetCompID: "OMNI", heartBtInt: 30,
                                     storeDirectory: dir, resetOnLogon: true, logEvents: true)
    let fix = try FixInitiator.connect(port: sim.fixPort, config: fixConfig, app: inbox)
    func pollFix() { fix.pollOnce(timeoutMs: 1); pollOuch() }
    try waitFor("FIX logon", pollFix) { fix.state == .loggedOn }
    out.fixLoggedOn = true
    func newOrder(_ cl: String, _ sym: String, _ side: UInt8, _ qty: Int64, _ px: Int64) {
        fix.send(FixNewOrder(clOrdID: FixString(cl)!, symbol: FixString(sym)!, side: FixSide(rawValue: side)!, quantity: qty,
                             ordType: .limit, price: px).message)
    }
    newOrder("F1", "AAPL", UInt8(ascii: "2"), 60, 1_990_000)
    try waitFor("FIX new + fill, OUCH fill", pollFix) { inbox.received.count >= 2 && out.ouch.count >= 2 }

    // FIX: a bid that rests, then a replace up in size and price (priority lost).
    newOrder("F2", "MSFT", UInt8(ascii: "1"), 10, 3_990_000)
    try waitFor("FIX F2 new", pollFix) { inbox.received.count >= 3 }
    fix.send(FixReplaceRequest(clOrdID: "F3", origClOrdID: "F2", symbol: "MSFT", side: .buy, quantity: 20, ordType: .limit,
                               price: 3_995_000).message)
    try waitFor("FIX replaced", pollFix) { inbox.received.count >= 4 }
    // FIX: a cancel of an order that does not exist.
    fix.send(FixCancelRequest(clOrdID: "F4", origClOrdID: "NOPE", symbol: "MSFT", side: .buy).message)
    try waitFor("FIX cancel reject", pollFix) { inbox.received.count >= 5 }

    // OUCH: an ask that rests, reduced by a cancel with shares left; a price outside the band.
    try ouch.enter(ouchOrder("T2", "SPY", side: "S", shares: 50, price: 5_010_000))
    try waitFor("OUCH T2", pollFix) { out.ouch.count >= 3 }
    try ouch.cancel(cw_ouch_token("T2"), shares: 20)
    try ouch.enter(ouchOrder("T4", "AAPL", side: "B", shares: 10, price: 2_500_000))
    try ouch.enter(ouchOrder("T5", "ZZZZ", side: "B", shares: 10, price: 100_000))
    try waitFor("OUCH reduce + rejects", pollFix) { out.ouch.count >= 6 }
    // OUCH: a replace (new token, new price: priority lost), an IOC that finds nothing, a sell
    // into the session's own bid (self-match prevention cancels the newest).
    var r = cw_ouch_replace()
    r.existing = cw_ouch_token("T2"); r.replacement = cw_ouch_token("T2B"); r.shares = 30; r.price = 5_020_000
    r.tif = CW_OUCH_TIF_SYSTEM_HOURS; r.display = CChar(bitPattern: UInt8(ascii: "Y")); r.ise = CChar(bitPattern: UInt8(ascii: "N"))
    try ouch.replace(r)
    try ouch.enter(ouchOrder("T6", "AAPL", side: "S", shares: 10, price: 1_995_000, tif: CW_OUCH_TIF_IOC))
    try ouch.enter(ouchOrder("T3", "AAPL", side: "S", shares: 5, price: 1_990_000))
    try waitFor("OUCH replace, IOC, self-match", pollFix) { out.ouch.count >= 11 }

    // Round trips: enter → Accepted, one at a time, each at its own price so they all rest.
    var rt: [UInt64] = []
    for i in 0..<roundTrips {
        let before = out.ouch.count
        let t0 = csys_monotonic_ns()
        try ouch.enter(ouchOrder("R\(i)", "QQQ", side: i & 1 == 0 ? "B" : "S", shares: 100,
                                 price: i & 1 == 0 ? 4_400_000 - UInt32(i % 500) * 100 : 4_600_000 + UInt32(i % 500) * 100))
        while out.ouch.count == before {
            ouch.poll(timeoutMs: 0) { ev in if case .message(_, let m) = ev { out.ouch.append(describe(m)) } }
            if csys_monotonic_ns() - t0 > 2_000_000_000 { throw SimTestError.timeout("round trip \(i)") }
        }
        rt.append(csys_monotonic_ns() - t0)
        if i & 63 == 0 { _ = try? lis.step(&ra.backend, &rb.backend) }
    }
    out.roundTripNs = rt
    // FIX: NewOrderSingle → ExecutionReport (new), one at a time, all resting.
    var frt: [UInt64] = []
    for i in 0..<roundTrips / 4 {
        let before = inbox.received.count
        let t0 = csys_monotonic_ns()
        newOrder("RT\(i)", "TSLA", UInt8(ascii: "1"), 10, 2_400_000 - Int64(i % 500) * 100)
        while inbox.received.count == before {
            fix.pollOnce(timeoutMs: 0)
            if csys_monotonic_ns() - t0 > 2_000_000_000 { throw SimTestError.timeout("FIX round trip \(i)") }
        }
        frt.append(csys_monotonic_ns() - t0)
    }
    out.fixRoundTripNs = frt

    // End of session: both clients told, the feed ends.
    sim.requestStop()
    try waitFor("OUCH end of session and FIX logout", pollFix) { out.ouchEnded && !fix.isOpen }
    sim.stop()
    out.fix = inbox.received
    out.fixEvents = fix.events
    try waitForFeedEnd(&lis, &ra.backend, &rb.backend)
    out.listenerFinished = lis.finished
    out.summary = sim.summary
    out.published = sim.publishedMessages
    out.delivered = lis.session.counters.delivered
    out.gapsFilledByRetransmission = lis.session.counters.gapsFilledByRetransmission
    out.venueLive = sim.liveOrders
    out.feedLive = books.liveOrders
    out.malformed = replay.counts.malformed
    out.systemEvents = String(decoding: replay.systemEvents.map { $0.1 }, as: UTF8.self)
    (out.venueBooks, out.feedBooks) = bookRows(sim, books)
    return out
}

/// Every instrument's book as the venue holds it and as the feed rebuilt it, a row per side:
/// "AAPL bid 1990000x40/1 ..." (price x shares / orders per level, from the touch).
func bookRows(_ sim: SimVenue, _ books: Books) -> (venue: [String], feed: [String]) {
    var venue: [String] = [], feed: [String] = []
    for spec in sim.instruments {
        let l = spec.locate
        let row = { (side: String, levels: [(UInt64, UInt64, UInt32)]) in "\(spec.symbol) \(side) " + levels.map { "\($0.0)x\($0.1)/\($0.2)" }.joined(separator: " ") }
        venue.append(row("bid", sim.depth(l, .bid).map { (UInt64($0.price), $0.shares, $0.orders) }))
        venue.append(row("ask", sim.depth(l, .ask).map { (UInt64($0.price), $0.shares, $0.orders) }))
        let d = books.book(l).depth(100_000)
        feed.append(row("bid", d.bids.map { (UInt64($0.price.raw), $0.shares, $0.orders) }))
        feed.append(row("ask", d.asks.map { (UInt64($0.price.raw), $0.shares, $0.orders) }))
    }
    return (venue, feed)
}

@Suite(.serialized) struct SimEndToEndTests {
    @Test func ouchRestsFixCrossesAndTheFeedRebuildsTheBook() throws {
        let o = try NetworkNamespace.privateLoopback.run { try runScenario() }
        // OUCH: accepted, then filled passively by the FIX sell at the resting price.
        #expect(o.ouch.count >= 6, "\(o.ouch)")
        #expect(o.ouch.prefix(2) == ["A T1 100 1990000", "E T1 60 1990000 A"], "\(o.ouch)")
        #expect(o.ouch.contains("A T2 50 5010000"))
        #expect(o.ouch.contains("C T2 30 U"), "the cancel to 20 shares takes 30 off: \(o.ouch)")
        #expect(o.ouch.contains("J T4 X"), "250.00 is outside AAPL's ±10 % band: \(o.ouch)")
        #expect(o.ouch.contains("J T5 S"), "ZZZZ is not listed: \(o.ouch)")
        #expect(o.ouch.contains("U T2B 30 5020000 prev T2"), "\(o.ouch)")
        #expect(o.ouch.contains("A T6 10 1995000") && o.ouch.contains("C T6 10 I"), "IOC remainder: \(o.ouch)")
        #expect(o.ouch.contains("A T3 5 1990000") && o.ouch.contains("C T3 5 Q"), "self-match: \(o.ouch)")
        #expect(o.ouchEnded)
        // FIX: new, then a full fill of 60 at 199.00 taking liquidity.
        #expect(o.fixLoggedOn)
        #expect(o.fix.count == 5, "\(o.fix)")
        if o.fix.count == 5 {
            #expect(o.fix[0][35] == "8" && o.fix[0][150] == "0" && o.fix[0][39] == "0" && o.fix[0][11] == "F1")
            #expect(o.fix[1][150] == "F" && o.fix[1][39] == "2" && o.fix[1][32] == "60" && o.fix[1][31] == "199"
                    && o.fix[1][151] == "0" && o.fix[1][14] == "60", "\(o.fix[1])")
            #expect(o.fix[2][150] == "0" && o.fix[2][11] == "F2")
            #expect(o.fix[3][150] == "5" && o.fix[3][11] == "F3" && o.fix[3][41] == "F2" && o.fix[3][38] == "20"
                    && o.fix[3][44] == "399.5", "\(o.fix[3])")
            #expect(o.fix[4][35] == "9" && o.fix[4][434] == "1" && o.fix[4][102] == "1", "\(o.fix[4])")
        }
        #expect(o.fixEvents.contains { $0.hasPrefix("in 5") }, "the venue logs the client out at the end: \(o.fixEvents)")
        // The feed: every message delivered, the same book as the venue's.
        #expect(o.listenerFinished)
        #expect(o.malformed == 0)
        #expect(o.published > 20 && o.delivered == o.published)
        #expect(o.systemEvents == "OSQMEC")
        #expect(o.venueLive == 3 && o.feedLive == UInt64(o.venueLive))
        #expect(o.feedBooks == o.venueBooks)
        #expect(o.venueBooks.contains("AAPL bid 1990000x40/1"), "\(o.venueBooks)")
        #expect(o.venueBooks.contains("MSFT bid 3995000x20/1"), "\(o.venueBooks)")
        #expect(o.venueBooks.contains("SPY ask 5020000x30/1"), "\(o.venueBooks)")
        // The summary counts what happened.
        let s = o.summary
        #expect(s.ouchOrders == 6 && s.fixOrders == 2 && s.executions == 1 && s.sharesTraded == 60)
        #expect(s.ouchLogins == 1 && s.fixLogons == 1 && s.replaced == 3 && s.canceled == 2 && s.unknownOrderRequests == 1)
        #expect(s.packetsA > 0 && s.packetsA == s.packetsB && s.endOfSession > 0 && s.feedOverflow == 0 && s.feedSendErrors == 0)
    }

    /// A listener that missed the start of day recovers it from the sim's retransmission server.
    @Test func lateJoinerRecoversByRetransmission() throws {
        let o = try NetworkNamespace.privateLoopback.run { try runScenario(lateJoin: true) }
        #expect(o.discarded > 0)
        #expect(o.summary.retransmitRequests > 0 && o.summary.retransmitPackets > 0)
        #expect(o.gapsFilledByRetransmission == 1, "one gap: the day before the first packet it kept")
        #expect(o.listenerFinished && o.delivered == o.published)
        #expect(o.systemEvents == "OSQMEC")
        #expect(o.feedBooks == o.venueBooks)
    }

    /// OUCH Enter Order → Accepted through the sim's loop (debug build: a functional figure, not a benchmark).
    @Test func ouchRoundTrip() throws {
        let o = try NetworkNamespace.privateLoopback.run { try runScenario(roundTrips: 2000) }
        #expect(o.roundTripNs.count == 2000)
        #expect(o.feedBooks == o.venueBooks)
        #expect(o.fixRoundTripNs.count == 500)
        #expect(o.venueLive == 2503)
        printRoundTrips(o, "spinning")
    }

    /// The same with a loop that never spins (`spinNs` 0): it sleeps in poll between requests,
    /// so every request has to wake it.
    @Test func roundTripWithSleepingLoop() throws {
        let o = try NetworkNamespace.privateLoopback.run { try runScenario(roundTrips: 400, spinNs: 0) }
        #expect(o.roundTripNs.count == 400 && o.fixRoundTripNs.count == 100)
        #expect(o.feedBooks == o.venueBooks)
        printRoundTrips(o, "sleeping")
    }

    func printRoundTrips(_ o: SimOutcome, _ mode: String) {
        for (name, samples) in [("OUCH Enter Order → Accepted", o.roundTripNs), ("FIX NewOrderSingle → ExecutionReport", o.fixRoundTripNs)] {
            let s = samples.sorted()
            guard !s.isEmpty else { continue }
            print("sim (\(mode) loop) \(name) round trip over loopback (\(s.count) orders): p50 \(s[s.count / 2] / 1000) µs, p99 \(s[s.count * 99 / 100] / 1000) µs, max \(s.last! / 1000) µs")
        }
    }
}
