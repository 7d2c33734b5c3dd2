import CSys
import OmniGateway
import OmniWire
import OmniVenue
import OmniNet
import CWire
import Foundation
import Testing
@testable import OmniGateway

/// The FIX acceptor with several counterparties at once, its bind address, and the one poll
/// set it can share with the SoupBinTCP server.
@Suite(.serialized) struct FixAcceptorTests {
    func acceptor(_ dir: String, venue: FakeFixVenue, host: String = "127.0.0.1") throws -> FixAcceptor<FixVenueApplication<FakeFixVenue>> {
        try (FixAcceptor(host: host, config: FixSessionConfig(storeDirectory: dir), app: FixVenueApplication(venue: venue)))
    }

    @Test func twoConcurrentClientsBothTrade() throws {
        let dir = tempDir("multi")
        let venue = FakeFixVenue()
        let acc = try acceptor(dir, venue: venue)
        let a = try #require(RawClient(port: acc.port, sender: "ALPHA"))
        let b = try #require(RawClient(port: acc.port, sender: "BETA"))
        // Both connected before either logs on: neither waits for the other to leave.
        let la = try #require(a.logon(acc))
        let lb = try #require(b.logon(acc))
        #expect(la[56] == "ALPHA" && lb[56] == "BETA" && la[34] == "1" && lb[34] == "1")
        #expect(acc.connections.count == 2 && Set(acc.loggedOn.keys) == ["ALPHA", "BETA"])
        // Interleaved orders: each gets its own reports, numbered in its own session.
        a.send("D", [(11, "a1"), (55, "X"), (54, "1"), (38, "10"), (40, "1")])
        b.send("D", [(11, "b1"), (55, "X"), (54, "2"), (38, "7"), (40, "1")])
        a.send("D", [(11, "a2"), (55, "X"), (54, "1"), (38, "5"), (40, "2"), (44, "98")])
        let ra = a.read(acc, count: 3)
        let rb = b.read(acc, count: 2)
        #expect(ra.map { $0[11] ?? "" } == ["a1", "a1", "a2"] && ra.map { $0[150] ?? "" } == ["0", "F", "0"], "\(ra)")
        #expect(ra.map { $0[34] ?? "" } == ["2", "3", "4"] && ra.allSatisfy { $0[56] == "ALPHA" })
        #expect(rb.map { $0[11] ?? "" } == ["b1", "b1"] && rb.last?[39] == "2" && rb.last?[31] == "99", "\(rb)")
        #expect(rb.map { $0[34] ?? "" } == ["2", "3"] && rb.allSatisfy { $0[56] == "BETA" })
        #expect(Set(venue.calls) == ["D a1 10@0", "D b1 7@0", "D a2 5@980000"])
        // One store per counterparty.
        for (cp, n) in [("ALPHA", [5, 4]), ("BETA", [4, 3])] {
            let nums = try String(contentsOfFile: dir + "/OMNI-\(cp).seqnums", encoding: .utf8)
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
            #expect(nums == n, "\(cp): \(nums)")
        }
        // One leaves; the other keeps trading.
        a.send("5")
        #expect(a.read(acc, count: 1).first?[35] == "5")
        b.send("D", [(11, "b2"), (55, "X"), (54, "2"), (38, "1"), (40, "1")])
        #expect(b.read(acc, count: 2).last?[39] == "2")
        #expect(acc.connections.count == 1 && Array(acc.loggedOn.keys) == ["BETA"])
        #expect(venue.sessionEvents == ["on ALPHA", "on BETA", "end ALPHA"], "\(venue.sessionEvents)")
    }

    @Test func duplicateCompIDIsRefusedWithLogout() throws {
        let dir = tempDir("dup")
        let venue = FakeFixVenue()
        let acc = try acceptor(dir, venue: venue)
        let first = try #require(RawClient(port: acc.port, sender: "DUP"))
        _ = try #require(first.logon(acc))
        let second = try #require(RawClient(port: acc.port, sender: "DUP"))
        let answer = second.logon(acc)
        #expect(answer?[35] == "5" && answer?[58]?.contains("already logged on") == true, "\(answer ?? [:])")
        _ = second.read(acc, count: 1, seconds: 0.5)
        #expect(second.closed, "the refused connection is closed")
        #expect(acc.refusedLogons == 1)
        // The first session is untouched: same numbers, still trading.
        first.send("D", [(11, "d1"), (55, "X"), (54, "1"), (38, "1"), (40, "1")])
        let r = first.read(acc, count: 2)
        #expect(r.map { $0[34] ?? "" } == ["2", "3"] && r.last?[39] == "2", "\(r)")
        #expect(venue.sessionEvents == ["on DUP"])
        // Once it logs out, the CompID may log on again and its numbers continue.
        first.send("5")
        _ = first.read(acc, count: 1)
        let again = try #require(RawClient(port: acc.port, sender: "DUP"))
        again.seq = 4
        let l = try #require(again.logon(acc))
        #expect(l[35] == "A" && l[34] == "5", "\(l)")
        #expect(venue.sessionEvents == ["on DUP", "end DUP", "on DUP"], "\(venue.sessionEvents)")
    }

    @Test func bindsTheConfiguredHost() throws {
        let venue = FakeFixVenue()
        let acc = try acceptor(tempDir("host"), venue: venue, host: "127.0.0.2")
        #expect(acc.host == "127.0.0.2")
        #expect(RawClient(port: acc.port, sender: "X", host: "127.0.0.1") == nil, "nothing listens on 127.0.0.1")
        let c = try #require(RawClient(port: acc.port, sender: "X", host: "127.0.0.2"))
        #expect(c.logon(acc)?[35] == "A")
        #expect { _ = try FixAcceptor(host: "not-an-address", config: FixSessionConfig(storeDirectory: "/tmp"), app: FixVenueApplication(venue: venue)) }
            throws: { "\($0)" == "not-an-address:0: not an IPv4 address" }
    }

    @Test func silentConnectionWithoutLogonIsClosed() throws {
        let acc = try acceptor(tempDir("nologon"), venue: FakeFixVenue())
        acc.logonTimeoutNs = 50_000_000
        let c = try #require(RawClient(port: acc.port))
        _ = c.read(acc, count: 1, seconds: 0.5)
        #expect(c.closed && acc.connections.isEmpty)
    }

    /// One thread, one poll(2): a SoupBinTCP server and a FIX acceptor registered in the same
    /// PollSet, the wait bounded by their timers. Both clients are answered, and the loop
    /// sleeps between requests instead of spinning.
    @Test func soupServerAndFixAcceptorShareOnePoll() throws {
        let dir = tempDir("onepoll")
        var sc = SoupServerConfig()
        sc.credentials = nil
        let soup = try SoupServer(sc)
        let venue = FakeFixVenue()
        let acc = try acceptor(dir, venue: venue)
        let stop = Atomic(false), passes = Atomic(0), longestWaitMs = Atomic(0)
        let loop = Thread {
            let echo = EchoApp()
            let set = PollSet(capacity: 2)  // grows as connections come
            while !stop.load() {
                set.reset()
                soup.register(in: set)
                acc.register(in: set)
                let now = csys_monotonic_ns()
                let wait = pollTimeoutMs(until: min(soup.nextTimerNs(), acc.nextTimerNs()), now: now, capMs: 200)
                longestWaitMs.update { max($0, Int(wait)) }
                set.wait(timeoutMs: wait)
                acc.handle(in: set)
                soup.handle(echo, in: set, now: csys_monotonic_ns())
                passes.update { $0 + 1 }
            }
        }
        loop.start()
        defer { stop.store(true); while !loop.isFinished { usleep(1000) } }

        let ouch = SoupClient(clientConfig(soup.port, "u", "p"))
        try ouch.connect()
        let fixApp = Collector()
        let ini = try #require(try? FixInitiator.connect(port: acc.port, config: FixSessionConfig(senderCompID: "C1", targetCompID: "OMNI",
                                                                                             heartBtInt: 30, storeDirectory: dir, resetOnLogon: true), app: fixApp))
        let t0 = Date()
        while ini.state != .loggedOn && Date().timeIntervalSince(t0) < 3 { ini.pollOnce(timeoutMs: 5) }
        #expect(ini.state == .loggedOn)
        let before = passes.load()
        for i in 0..<20 {
            try send(ouch, "m\(i)")
            #expect(events(ouch, ms: 1000, until: { !$0.isEmpty }) == ["S\(i + 1):m\(i)"])
            ini.send(FixNewOrder(clOrdID: "o\(i)", symbol: "X", side: .buy, quantity: 1, ordType: .limit, price: 980_000).message)
            let t = Date()
            while fixApp.received.count < i + 1 && Date().timeIntervalSince(t) < 1 { ini.pollOnce(timeoutMs: 1) }
            #expect(fixApp.received.count == i + 1)
        }
        // 40 requests (and the client heartbeats) take a few passes each, not a spin.
        let used = passes.load() - before
        #expect(used < 400, "\(used) passes for 40 requests")
        #expect(longestWaitMs.load() >= 100, "idle waits were bounded by the timers (capped at 200 ms), not 0")
    }
}

/// A tiny lock-protected box for the loop thread's counters (tests only).
final class Atomic<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func load() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func store(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func update(_ f: (T) -> T) { lock.lock(); value = f(value); lock.unlock() }
}
