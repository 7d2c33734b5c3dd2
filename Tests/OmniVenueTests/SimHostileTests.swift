import OmniWire
import CSys
import CWire
import Foundation
import OmniCore
import OmniGateway
import OmniNet
import OmniVenue
import Testing

/// One OUCH client of a running sim with what it has seen, as `describe` writes it.
final class OuchUser {
    let client: OuchClient
    var lines: [String] = []
    init(_ sim: SimVenue, _ name: String) throws {
        client = OuchClient(SoupClientConfig(port: sim.ouchPort, username: name, password: "pw"))
        try client.connect()
    }
    func poll() { client.poll(timeoutMs: 1) { ev in if case .message(_, let m) = ev { self.lines.append(describe(m)) } } }
    func waitFor(_ n: Int, _ what: String) throws { try OmniVenueTests.waitFor(what, { poll() }) { lines.count >= n } }
}

func replaceOrder(_ existing: String, _ replacement: String, shares: UInt32, price: UInt32) -> cw_ouch_replace {
    var r = cw_ouch_replace()
    r.existing = cw_ouch_token(existing)
    r.replacement = cw_ouch_token(replacement)
    r.shares = shares
    r.price = price
    r.tif = CW_OUCH_TIF_SYSTEM_HOURS
    r.display = CChar(bitPattern: UInt8(ascii: "Y"))
    r.ise = CChar(bitPattern: UInt8(ascii: "N"))
    return r
}

/// The defects a hostile client found in `omni sim` (issue 16), each against a running sim.
@Suite(.serialized) struct SimHostileTests {
    func withSim<T>(_ name: String, _ tweak: (inout SimConfig) -> Void = { _ in }, _ body: (SimVenue) throws -> T) throws -> (T, SimSummary) {
        let dir = simTempDir(name)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = simConfig(dir)
        tweak(&c)
        let sim = try SimVenue(c)
        sim.start()
        defer { sim.stop() }
        let r = try body(sim)
        sim.stop()
        return (r, sim.summary)
    }

    /// D3: two fills of 4,294,967,294 shares on one order (replaced back up in between) overflowed
    /// the 32-bit filled quantity and trapped the sim.
    @Test func fillsBeyondUInt32SharesOnOneOrderDoNotTrap() throws {
        let big: UInt32 = 4_294_967_294
        let (lines, summary) = try withSim("d3", { c in
            c.instruments = [InstrumentSpec(locate: 1, symbol: Symbol("HUGE")!, referencePrice: 10_000,
                                            maxOrderShares: .max, maxOrderValue: .max)]
        }) { sim in
            let buyer = try OuchUser(sim, "BUYER"), seller = try OuchUser(sim, "SELLER")
            try buyer.client.enter(ouchOrder("B1", "HUGE", side: "B", shares: big + 1, price: 10_000))
            try buyer.waitFor(1, "buy accepted")
            try seller.client.enter(ouchOrder("S1", "HUGE", side: "S", shares: big, price: 10_000))
            try buyer.waitFor(2, "first fill")
            try buyer.client.replace(replaceOrder("B1", "B2", shares: big + 1, price: 10_000))
            try buyer.waitFor(3, "replaced back up")
            try seller.client.enter(ouchOrder("S2", "HUGE", side: "S", shares: big, price: 10_000))
            try buyer.waitFor(4, "second fill")
            return buyer.lines
        }
        #expect(lines == ["A B1 4294967295 10000", "E B1 4294967294 10000 A", "U B2 4294967295 10000 prev B1", "E B2 4294967294 10000 A"])
        #expect(summary.sharesTraded == 2 * UInt64(big))
    }

    /// D9: orders above the instrument's maximum size (OUCH 4.2: fewer than 1,000,000 shares) or
    /// value are rejected, on OUCH and FIX, limit and market alike.
    @Test func ordersAboveTheMaximumSizeOrValueAreRejected() throws {
        let ((ouch, fix), summary) = try withSim("d9") { sim in
            let u = try OuchUser(sim, "BIG")
            try u.client.enter(ouchOrder("O1", "AAPL", side: "B", shares: 1_000_000, price: 1_990_000))
            try u.client.enter(ouchOrder("O2", "AAPL", side: "B", shares: 999_999, price: 1_990_000)) // $199 M: above $10 M
            var market = ouchOrder("O3", "AAPL", side: "B", shares: 4_294_967_295, price: 0)
            market.price = CW_OUCH_MARKET_PRICE
            try u.client.enter(market)
            try u.client.enter(ouchOrder("O4", "AAPL", side: "B", shares: 100, price: 1_990_000))
            try u.waitFor(4, "four answers")
            let dir = simTempDir("d9fix")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let inbox = FixInbox()
            let c = FixSessionConfig(senderCompID: "BIGFIX", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: true)
            let s = try FixInitiator.connect(port: sim.fixPort, config: c, app: inbox)
            try waitFor("logon", { s.pollOnce(timeoutMs: 1) }) { s.state == .loggedOn }
            s.send(FixNewOrder(clOrdID: "F1", symbol: "AAPL", side: .buy, quantity: 4_294_967_295, ordType: .market, price: 0).message)
            try waitFor("FIX reject", { s.pollOnce(timeoutMs: 1) }) { inbox.received.count >= 1 }
            return (u.lines, inbox.received)
        }
        #expect(ouch == ["J O1 Z", "J O2 Z", "J O3 Z", "A O4 100 1990000"])
        #expect(fix.first?[39] == "8" && fix.first?[58]?.contains("maximum order size") == true, "\(fix)")
        #expect(summary.executions == 0)
    }

    /// D7: every client that traded took one of the venue's sessions for the day; after
    /// `maxSessions` names every new client was refused. Sessions now go back when a client
    /// leaves with nothing live.
    @Test func sessionsOfClientsThatLeftAreGivenBack() throws {
        let ((accepted, fixNew), summary) = try withSim("d7", { $0.venue.maxSessions = 3 }) { sim in
            var accepted = 0
            for i in 0..<8 {
                let u = try OuchUser(sim, "U\(i)")
                try u.client.enter(ouchOrder("T\(i)", "AAPL", side: "B", shares: 100, price: 1_990_000))
                try u.waitFor(1, "answer to U\(i)")
                if u.lines[0].hasPrefix("A ") { accepted += 1 }
                u.client.disconnect()
                try waitFor("U\(i) canceled on disconnect", { usleep(1_000) }) { sim.liveOrders == 0 }
            }
            var fixNew = 0
            let dir = simTempDir("d7fix")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for i in 0..<6 {
                let inbox = FixInbox()
                let c = FixSessionConfig(senderCompID: "FX\(i)", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: true)
                let s = try FixInitiator.connect(port: sim.fixPort, config: c, app: inbox)
                try waitFor("logon FX\(i)", { s.pollOnce(timeoutMs: 1) }) { s.state == .loggedOn }
                s.send(FixNewOrder(clOrdID: "C\(i)", symbol: "MSFT", side: .buy, quantity: 10, ordType: .limit, price: 3_990_000).message)
                try waitFor("FIX answer FX\(i)", { s.pollOnce(timeoutMs: 1) }) { inbox.received.count >= 1 }
                if inbox.received[0][150] == "0" { fixNew += 1 }
                s.logout()
                try waitFor("logout FX\(i)", { s.pollOnce(timeoutMs: 1) }) { !s.isOpen }
                try waitFor("FX\(i) canceled on logout", { usleep(1_000) }) { sim.liveOrders == 0 }
            }
            return (accepted, fixNew)
        }
        #expect(accepted == 8)
        #expect(fixNew == 6)
        #expect(summary.sessionsReleased == 14)
    }

    /// A replace that names another symbol than its order is refused, not applied to the order.
    @Test func aReplaceNamingAnotherSymbolIsRefused() throws {
        let (received, _) = try withSim("sym") { sim in
            let dir = simTempDir("symfix")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let inbox = FixInbox()
            let c = FixSessionConfig(senderCompID: "SYM", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: true)
            let s = try FixInitiator.connect(port: sim.fixPort, config: c, app: inbox)
            try waitFor("logon", { s.pollOnce(timeoutMs: 1) }) { s.state == .loggedOn }
            s.send(FixNewOrder(clOrdID: "A1", symbol: "MSFT", side: .buy, quantity: 10, ordType: .limit, price: 3_990_000).message)
            s.send(FixReplaceRequest(clOrdID: "A2", origClOrdID: "A1", symbol: "AAPL", side: .buy, quantity: 20, ordType: .limit,
                                     price: 1_990_000).message)
            try waitFor("new and cancel reject", { s.pollOnce(timeoutMs: 1) }) { inbox.received.count >= 2 }
            return inbox.received
        }
        #expect(received[0][150] == "0")
        #expect(received[1][434] == "2" && received[1][58]?.contains("Symbol cannot change") == true, "\(received)")
    }

    /// D6: a heartbeat went out after every data packet (the loop read `now` before publishing,
    /// then subtracted the later send time with wrapping arithmetic). MoldUDP64 wants one after
    /// about a second of silence: none while the order flow keeps packets going.
    @Test func noFeedHeartbeatWhileDataFlows() throws {
        let summary = try NetworkNamespace.privateLoopback.run { () throws -> SimSummary in
            let (_, s) = try withSim("d6", { $0.generator = SimGeneratorConfig(intensity: 20, seed: 3) }) { _ in usleep(1_500_000) }
            return s
        }
        #expect(summary.packetsA > 100, "\(summary.packetsA) packets")
        #expect(summary.heartbeats <= 2, "\(summary.heartbeats) heartbeats for \(summary.packetsA) packets in 1.5 s")
    }
}

/// D15: configurations that were accepted and then broke the sim.
@Suite(.serialized) struct SimConfigStartTests {
    /// The order-flow generator added ticks to a reference price near 2^32 / 10^4 and trapped.
    @Test func aReferencePriceAtTheTopOfTheRangeDoesNotTrapTheGenerator() throws {
        let summary = try NetworkNamespace.privateLoopback.run { () throws -> SimSummary in
            let dir = simTempDir("maxprice")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var c = simConfig(dir)
            c.instruments = [InstrumentSpec(locate: 1, symbol: Symbol("TOP")!, referencePrice: 4_294_967_200, bandBasisPoints: 100)]
            c.generator = SimGeneratorConfig(intensity: 5, seed: 1)
            let sim = try SimVenue(c)
            sim.start()
            usleep(300_000)
            sim.stop()
            return sim.summary
        }
        #expect(summary.generatedOrders > 0)
    }

    /// A FIX store that is a regular file closed every Logon unanswered; the sim now refuses to start.
    @Test func aFixStoreThatIsAFileIsRefusedAtStart() throws {
        let dir = simTempDir("storefile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/store"
        #expect((try? Data("x".utf8).write(to: URL(fileURLWithPath: file))) != nil)
        var c = simConfig(dir)
        c.fixStore = file
        #expect { _ = try SimVenue(c) } throws: { "\($0)".contains("fix.store \(file): not a directory") }
    }
}
