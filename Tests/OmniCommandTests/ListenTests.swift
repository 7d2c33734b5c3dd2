import OmniLab
import OmniVenue
import OmniWire
import CNet
import CSys
import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import OmniNet
import FeedTestSupport
import SharedTestData
import Testing

/// A synthetic day of ~100k messages, cached by its parameters (the same bytes every time):
/// written once under a temporary name and renamed, so concurrent runs never read half a file.
let syntheticDay: String = {
    let path = TestScratch.path("listen-synthetic-50sym-100000-seed11.itch")
    if FileManager.default.fileExists(atPath: path) { return path }
    let partial = path + ".\(getpid())"
    let w = try! FileWriter(path: partial)
    try! SyntheticDay(symbols: 50, messages: 100_000, seed: 11).write(to: w)
    try! w.flush()
    rename(partial, path)
    return path
}()

/// `omni replay`'s BBO stream and message count for a day file.
func reference(_ path: String) throws -> (rows: [String], messages: UInt64) {
    let input = try MappedInput(path: path)
    let r = ITCHReplay(books: try Books())
    var sink = RowSink()
    withExtendedLifetime(input) { r.runDayFile(input.bytes, into: &sink) }
    return (sink.rows, r.counts.messages)
}

struct Scenario: Sendable {
    var lossA = 0.0
    var lossB: Double? = nil // nil: no line B
    var server = true
    /// The server answers this many requests, then stops answering (its socket stays open, unread).
    var serverStopsAfter: UInt64? = nil
    var seed: UInt64 = 5
    var malformed = false
}

struct Outcome: Sendable {
    var rows: [String]
    var delivered: UInt64
    var messages: UInt64
    var state: MoldSessionState
    var booksStale: Bool
    var counters: MoldSessionCounters
    var requestsAnswered: UInt64
    var droppedA: UInt64
    var droppedB: UInt64
    var droppedBoth: UInt64
    var latencySamples: UInt64
    var expected: UInt64
    var openGaps: Int
    /// Requests the server had read when it stopped answering (nil: it never stopped).
    var answeredBeforeStop: UInt64?
}

let groupA = MulticastGroup("239.1.1.1", port: 31001)
let groupB = MulticastGroup("239.1.1.2", port: 31002)

/// Publisher and listener on real multicast sockets in a private namespace, interleaved on one thread.
func runFeed(_ path: String, receive: ReceivePath, _ s: Scenario) throws -> Outcome {
    try NetworkNamespace.privateLoopback.run {
        switch receive {
        case .socket: try runFeed(path, s) { g throws(NetError) in try MulticastReceiver<SocketBackend>(g) }
        case .ioUring: try runFeed(path, s) { g throws(NetError) in try MulticastReceiver<IoUringBackend>(g) }
        }
    }
}

func runFeed<B: ReceiveBackend & ~Copyable>(_ path: String, _ s: Scenario,
                                           open: (MulticastGroup) throws(NetError) -> MulticastReceiver<B>) throws -> Outcome {
    let input = try MappedInput(path: path)
    return try withExtendedLifetime(input) {
        var pc = MoldPublisherConfig(lineA: groupA)
        pc.lineB = s.lossB == nil ? nil : groupB
        pc.lossA = s.lossA
        pc.lossB = s.lossB ?? 0
        pc.seed = s.seed
        pc.retransmitPort = s.server ? 0 : nil
        var pub = try MoldPublisher(pc, input: input.bytes)
        var lc = MoldListenerConfig()
        lc.session = MoldSessionConfig(session: "OMNI000001") // named: another session's packets are foreign, not in doubt
        lc.retransmit = pub.retransmitEndpoint
        lc.session.requestTimeout = 5_000_000
        lc.session.requestDelay = 2_000_000 // the A/B arbitration window before asking
        let replay = ITCHReplay(books: try Books())
        var lis = try MoldListener(lc, replay: replay, sink: RowSink())
        var ra = try open(groupA)
        var rb = try open(groupB)
        var sent = 0
        var stoppedAt: UInt64?
        func serve() throws {
            if stoppedAt != nil { return }
            try pub.serveRequests()
            if let limit = s.serverStopsAfter, pub.server.counters.requests >= limit { stoppedAt = pub.server.counters.requests }
        }
        while !pub.finished {
            for _ in 0..<4 { try pub.sendNext(maxMessages: 4) }
            sent += 1
            if s.malformed && sent == 20 { try sendMalformed() }
            try serve()
            while try lis.step(&ra.backend, &rb.backend) > 0 {}
        }
        try pub.sendEndOfSession()
        let deadline = csys_monotonic_ns() + 3_000_000_000
        while !lis.finished && lis.session.state != .stale && csys_monotonic_ns() < deadline {
            try serve()
            if try lis.step(&ra.backend, &rb.backend) == 0 { usleep(200) }
        }
        let c = lis.session.counters
        return Outcome(rows: lis.consumer.itch.sink.rows, delivered: c.delivered, messages: pub.nextSequence - 1,
                       state: lis.session.state, booksStale: replay.books.stale, counters: c,
                       requestsAnswered: pub.server.counters.requests, droppedA: pub.counters.dropped[0],
                       droppedB: pub.counters.dropped[1], droppedBoth: pub.counters.droppedBoth, latencySamples: lis.consumer.latencyTicks.totalCount,
                       expected: lis.session.expected, openGaps: lis.session.openGaps, answeredBeforeStop: stoppedAt)
    }
}

/// Short header, count past the end, wrong session: each to line A.
func sendMalformed() throws {
    let tx = try MulticastSender(groupA, ttl: 1)
    var p = [UInt8](repeating: 0, count: 64)
    let session = moldSessionName("OMNI000001")
    try p.withUnsafeBufferPointer { try tx.send(UnsafeRawBufferPointer(start: $0.baseAddress, count: 10)) }
    p.withUnsafeMutableBufferPointer { b in
        var f = cw_mold_builder()
        _ = cw_mold_begin(&f, b.baseAddress!, 64, session, 1)
        let m: [UInt8] = [1, 2, 3]
        _ = cw_mold_append(&f, m, 3)
        cw_put16(b.baseAddress! + 18, 3) // promises 3 blocks, carries 1
    }
    try p.withUnsafeBufferPointer { try tx.send(UnsafeRawBufferPointer(start: $0.baseAddress, count: 25)) }
    let other = moldSessionName("OTHER00001")
    p.withUnsafeMutableBufferPointer { b in
        var f = cw_mold_builder()
        _ = cw_mold_begin(&f, b.baseAddress!, 64, other, 1)
        let m: [UInt8] = [1, 2, 3]
        _ = cw_mold_append(&f, m, 3)
    }
    try p.withUnsafeBufferPointer { try tx.send(UnsafeRawBufferPointer(start: $0.baseAddress, count: 25)) }
}

@Suite("omni publish -> omni listen over multicast in a private namespace", .serialized)
struct ListenTests {
    static let cases: [(String, Scenario)] = [
        ("A only, 1% loss, retransmission", Scenario(lossA: 0.01)),
        ("A 1% loss, B clean", Scenario(lossA: 0.01, lossB: 0)),
        ("A clean, B 1% loss", Scenario(lossA: 0, lossB: 0.01)),
        ("A and B 1% loss each, retransmission", Scenario(lossA: 0.01, lossB: 0.01, seed: 3)),
    ]

    @Test("lossy lines are made whole: every message once, in order, BBO stream = omni replay's",
          arguments: ReceivePath.allCases, 0..<4)
    func synthetic(path: ReceivePath, which: Int) throws {
        let (name, s) = ListenTests.cases[which]
        let ref = try reference(syntheticDay)
        let o = try runFeed(syntheticDay, receive: path, s)
        #expect(o.messages == ref.messages, "\(name)")
        #expect(o.delivered == ref.messages, "\(name)")
        #expect(o.state == .finished, "\(name)")
        #expect(!o.booksStale, "\(name)")
        #expect(o.rows == ref.rows, "\(name): BBO stream differs")
        #expect(o.droppedA + o.droppedB > 0, "\(name): the loss did happen")
        #expect(o.counters.gapsLost == 0 && o.counters.malformed == 0, "\(name)")
        #expect(o.latencySamples == ref.messages, "\(name)")
        // Retransmission is needed exactly when a packet was lost on every line.
        #expect((o.counters.gapsFilledByRetransmission > 0) == (o.droppedBoth > 0), "\(name)")
        #expect((o.requestsAnswered > 0) == (o.droppedBoth > 0), "\(name)")
        if s.lossB == nil || (s.lossA > 0 && s.lossB! > 0) { #expect(o.droppedBoth > 0, "\(name): the seed gives no double loss") }
        if s.lossB != nil && s.lossA > 0 { #expect(o.counters.gapsFilledByOtherLine > 0, "\(name)") }
        if s.lossA == 0 { #expect(o.counters.gapsOpened == 0, "\(name): B's losses hide behind A") }
        if s.lossB != nil && (s.lossA == 0 || s.lossB! == 0) {
            #expect(o.counters.gapsFilledByRetransmission == 0, "\(name): the clean line should fill every gap")
        }
    }

    @Test("real NASDAQ fixtures through lossy A/B lines equal omni replay", .enabled(if: RealData.present, RealData.skipReason),
          arguments: ["12302019_open0930_1000msgs.NASDAQ_ITCH50", "12302019_0400_first500_orderflow.NASDAQ_ITCH50"])
    func realFixtures(file: String) throws {
        let path = RealData.path(file)
        let ref = try reference(path)
        for receive in ReceivePath.allCases {
            let o = try runFeed(path, receive: receive, Scenario(lossA: 0.05, lossB: 0.05, seed: 9))
            #expect(o.delivered == ref.messages && o.state == .finished)
            #expect(o.rows == ref.rows)
        }
    }

    @Test("no retransmission server: the gap is reported lost, session and books stale, nothing skipped silently",
          arguments: ReceivePath.allCases)
    func noServer(path: ReceivePath) throws {
        let ref = try reference(syntheticDay)
        let o = try runFeed(syntheticDay, receive: path, Scenario(lossA: 0.01, server: false))
        #expect(o.droppedA > 0)
        #expect(o.state == .stale)
        #expect(o.booksStale)
        #expect(o.counters.gapsLost > 0)
        #expect(o.counters.requestsSent > 0)
        #expect(o.counters.skippedMessages == 0)
        #expect(o.delivered < ref.messages)
        // What was delivered is exactly the prefix before the first lost message.
        #expect(o.rows.count <= ref.rows.count && Array(ref.rows.prefix(o.rows.count)) == o.rows)
    }

    @Test("a retransmission server that answers for a while, then stops: the unfilled gap is reported, books stale, nothing skipped",
          arguments: ReceivePath.allCases)
    func serverStopsAnswering(path: ReceivePath) throws {
        let ref = try reference(syntheticDay)
        let o = try runFeed(syntheticDay, receive: path, Scenario(lossA: 0.01, serverStopsAfter: 10))
        // It did answer for a while: gaps before the stop were filled by retransmission.
        #expect(o.answeredBeforeStop != nil, "the server never reached its limit")
        #expect((o.answeredBeforeStop ?? 0) >= 10 && o.requestsAnswered == o.answeredBeforeStop)
        #expect(o.counters.gapsFilledByRetransmission > 0)
        // Then a gap went unanswered: asked for (with retries), declared lost, session and books stale.
        #expect(o.counters.requestsSent > o.requestsAnswered, "requests after the stop went unanswered")
        #expect(o.counters.retries > 0)
        #expect(o.counters.gapsLost > 0)
        #expect(o.state == .stale)
        #expect(o.booksStale)
        // No silent skip: nothing jumped over, delivery stopped right before the hole, and the hole is counted.
        #expect(o.counters.skippedMessages == 0 && o.counters.gapsSkipped == 0)
        #expect(o.expected == o.delivered + 1, "the next message owed is the first one missing")
        #expect(o.delivered < ref.messages && o.delivered > 0)
        #expect(o.droppedA > o.counters.gapsFilledByRetransmission, "more was lost than the server answered")
        // What was delivered is in order: exactly omni replay's BBO stream up to the hole.
        #expect(o.rows.count < ref.rows.count && Array(ref.rows.prefix(o.rows.count)) == o.rows)
        // Messages before the hole include the ones recovered while the server still answered.
        #expect(o.latencySamples == o.delivered)
    }

    @Test("malformed packets on the group are counted and dropped; the stream stays whole", arguments: ReceivePath.allCases)
    func malformed(path: ReceivePath) throws {
        let ref = try reference(syntheticDay)
        let o = try runFeed(syntheticDay, receive: path, Scenario(lossA: 0, malformed: true))
        #expect(o.counters.malformed == 2)
        #expect(o.counters.wrongSession == 1)
        #expect(o.delivered == ref.messages && o.state == .finished && o.rows == ref.rows)
    }
}
