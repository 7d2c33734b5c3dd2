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
import Testing

/// The sim with its order-flow generator on: a client trades against the generated book, and
/// a listener on lines A and B rebuilds exactly the venue's books from the live feed.
@Suite(.serialized) struct SimOrderFlowTests {
    struct Outcome: Sendable {
        var ouch: [String] = []
        var summary = SimSummary()
        var published: UInt64 = 0, delivered: UInt64 = 0
        var listenerFinished = false
        var malformed: UInt64 = 0
        var systemEvents = ""
        var venueLive = 0, feedLive: UInt64 = 0
        var venueBooks: [String] = [], feedBooks: [String] = []
        var twoSided = 0
    }

    func run() throws -> Outcome {
        let dir = simTempDir("flow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = simConfig(dir)
        config.generator = SimGeneratorConfig(intensity: 20, seed: 3)
        var ra = try MulticastReceiver<SocketBackend>(MulticastGroup(config.lineA.address, port: config.lineA.port))
        var rb = try MulticastReceiver<SocketBackend>(MulticastGroup(config.lineB!.address, port: config.lineB!.port))
        let sim = try SimVenue(config)
        var lc = MoldListenerConfig()
        lc.retransmit = sim.retransmitEndpoint
        let books = try Books()
        let replay = ITCHReplay(books: books)
        var lis = try MoldListener(lc, replay: replay, sink: NoBBO())
        sim.start()
        defer { sim.stop() }
        var out = Outcome()
        let ouch = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "TAKER", password: "pw"))
        try ouch.connect()
        func pump() {
            ouch.poll(timeoutMs: 1) { ev in if case .message(_, let m) = ev { out.ouch.append(describe(m)) } }
            _ = try? lis.step(&ra.backend, &rb.backend)
        }
        // Let the generator list and trade for a while, then buy through the touch.
        let t0 = csys_monotonic_ns()
        while csys_monotonic_ns() - t0 < 500_000_000 { pump() }
        try ouch.enter(ouchOrder("BUY1", "AAPL", side: "B", shares: 300, price: 2_010_000, tif: CW_OUCH_TIF_IOC))
        try waitFor("OUCH answer to BUY1", pump) { out.ouch.contains { $0.hasPrefix("E BUY1") || $0.hasPrefix("C BUY1") } }
        let t1 = csys_monotonic_ns()
        while csys_monotonic_ns() - t1 < 500_000_000 { pump() }
        sim.requestStop()
        sim.stop()
        try waitForFeedEnd(&lis, &ra.backend, &rb.backend)
        out.listenerFinished = lis.finished
        out.summary = sim.summary
        out.published = sim.publishedMessages
        out.delivered = lis.session.counters.delivered
        out.malformed = replay.counts.malformed
        out.systemEvents = String(decoding: replay.systemEvents.map { $0.1 }, as: UTF8.self)
        out.venueLive = sim.liveOrders
        out.feedLive = books.liveOrders
        out.twoSided = sim.instruments.filter { !sim.depth($0.locate, .bid).isEmpty && !sim.depth($0.locate, .ask).isEmpty }.count
        (out.venueBooks, out.feedBooks) = bookRows(sim, books)
        return out
    }

    @Test func generatedFlowTradesWithClientsAndTheFeedRebuildsEveryBook() throws {
        let o = try NetworkNamespace.privateLoopback.run { try run() }
        // The generator listed every book and kept trading: at intensity 20, ~800 ITCH messages/s per instrument.
        #expect(o.summary.generatedOrders > 1_000, "\(o.summary)")
        #expect(o.twoSided == o.venueBooks.count / 2, "every default book two-sided at the end: \(o.venueBooks)")
        // The client's marketable IOC bought from generated asks (the taker's fills say R: liquidity removed).
        #expect(o.ouch.first == "A BUY1 300 2010000", "\(o.ouch)")
        #expect(o.ouch.contains { $0.hasPrefix("E BUY1 ") && $0.hasSuffix(" R") }, "\(o.ouch)")
        #expect(o.summary.executions > 0 && o.summary.ouchOrders == 1)
        // The live feed carried all of it: every message once, the venue's books rebuilt exactly.
        #expect(o.listenerFinished)
        #expect(o.malformed == 0)
        #expect(o.published > 1_000 && o.delivered == o.published)
        #expect(o.systemEvents == "OSQMEC")
        #expect(o.venueLive > 0 && o.feedLive == UInt64(o.venueLive))
        #expect(o.feedBooks == o.venueBooks)
    }
}
