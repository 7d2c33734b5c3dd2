import OmniWire
import OmniCore
import CSys
import CWire
import Foundation
import OmniGateway
import OmniNet
import OmniVenue
import Testing

/// What one OUCH user saw, as `describe` writes it.
final class OuchLog {
    var lines: [String] = []
    func poll(_ c: OuchClient) {
        c.poll(timeoutMs: 1) { ev in if case .message(_, let m) = ev { self.lines.append(describe(m)) } }
    }
}

struct SessionOutcome: Sendable {
    var ouchAfterRelogin: [String] = []
    var fixAfterRelogon: [[UInt32: String]] = []
    var fixBeta: [[UInt32: String]] = []
    var fixAlpha: [[UInt32: String]] = []
    var liveAfterDisconnects = -1
    var summary = SimSummary()
    var venueLive = -1
}

/// Two FIX clients (ALPHA, BETA) and one OUCH user at once against the sim. ALPHA rests a bid,
/// BETA sells into it; the OUCH user and BETA rest orders, then both leave (OUCH: connection
/// dropped, BETA: Logout). With cancel on disconnect their resting orders go; the OUCH user
/// finds the Canceled in its stream on re-login, BETA gets its cancel resent after its next Logon.
func runSessions(cancelOnDisconnect: Bool) throws -> SessionOutcome {
    let dir = simTempDir("sessions")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = simConfig(dir)
    config.cancelOnDisconnect = cancelOnDisconnect
    config.spinNs = 0 // the loop sleeps in its one poll between requests
    let sim = try SimVenue(config)
    sim.start()
    defer { sim.stop() }
    var out = SessionOutcome()

    let ouchLog = OuchLog()
    let ouch = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "OU1", password: "pw"))
    try ouch.connect()
    try ouch.enter(ouchOrder("T1", "AAPL", side: "B", shares: 100, price: 1_980_000))
    try waitFor("OUCH T1 accepted", { ouchLog.poll(ouch) }) { ouchLog.lines.count >= 1 }

    func fixClient(_ id: String) throws -> (FixSession<FixInbox>, FixInbox) {
        let inbox = FixInbox()
        let c = FixSessionConfig(senderCompID: id, targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: true)
        guard let s = try? FixInitiator.connect(port: sim.fixPort, config: c, app: inbox) else { throw SimTestError.setup("FIX connect \(id)") }
        return (s, inbox)
    }
    let (alpha, alphaIn) = try fixClient("ALPHA")
    let (beta, betaIn) = try fixClient("BETA")
    func pollAll() { alpha.pollOnce(timeoutMs: 0); beta.pollOnce(timeoutMs: 1); ouchLog.poll(ouch) }
    try waitFor("both FIX logons", pollAll) { alpha.state == .loggedOn && beta.state == .loggedOn }
    func order(_ s: FixSession<FixInbox>, _ cl: String, _ sym: String, _ side: UInt8, _ qty: Int64, _ px: Int64) {
        s.send(FixNewOrder(clOrdID: FixString(cl)!, symbol: FixString(sym)!, side: FixSide(rawValue: side)!, quantity: qty,
                           ordType: .limit, price: px).message)
    }
    order(alpha, "A1", "MSFT", UInt8(ascii: "1"), 50, 3_990_000)
    try waitFor("ALPHA A1 new", pollAll) { alphaIn.received.count >= 1 }
    order(beta, "B1", "MSFT", UInt8(ascii: "2"), 20, 3_990_000)   // crosses ALPHA's bid
    order(beta, "B2", "SPY", UInt8(ascii: "2"), 10, 5_050_000)    // rests
    try waitFor("BETA fill + rest, ALPHA fill", pollAll) { betaIn.received.count >= 3 && alphaIn.received.count >= 2 }
    out.fixAlpha = alphaIn.received
    out.fixBeta = betaIn.received

    // Both leave: OUCH drops its connection, BETA logs out. ALPHA stays.
    ouch.disconnect()
    beta.logout()
    try waitFor("BETA logout answered", pollAll) { !beta.isOpen }
    usleep(50_000)
    for _ in 0..<20 { alpha.pollOnce(timeoutMs: 1) }

    // OUCH re-login from the start of its stream: the Canceled is there if orders were canceled.
    let again = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "OU1", password: "pw"))
    try again.connect(sequence: 1)
    let relog = OuchLog()
    try waitFor("OUCH replay", { relog.poll(again) }) { relog.lines.count >= (cancelOnDisconnect ? 2 : 1) }
    for _ in 0..<20 { relog.poll(again) }
    out.ouchAfterRelogin = relog.lines
    // BETA comes back without resetting its numbers: the venue's Logon is numbered past what
    // BETA last saw, BETA asks for the gap and gets the cancel of B2 (PossDupFlag) from the store.
    let inbox2 = FixInbox()
    let c2 = FixSessionConfig(senderCompID: "BETA", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: false)
    let beta2 = try FixInitiator.connect(port: sim.fixPort, config: c2, app: inbox2)
    try waitFor("BETA logon again", { beta2.pollOnce(timeoutMs: 1) }) { beta2.state == .loggedOn }
    if cancelOnDisconnect { try waitFor("BETA resend", { beta2.pollOnce(timeoutMs: 1) }) { inbox2.received.count >= 1 } }
    for _ in 0..<20 { beta2.pollOnce(timeoutMs: 1) }
    out.fixAfterRelogon = inbox2.received
    sim.stop()
    out.summary = sim.summary
    out.venueLive = sim.liveOrders
    return out
}

@Suite(.serialized) struct SimSessionTests {
    /// With nothing to do, the loop blocks in its one poll until a timer (heartbeats, at most
    /// `maxIdleWaitMs`) or `requestStop` wakes it: a handful of passes, not a spin.
    @Test func anIdleLoopSleepsInItsOnePoll() throws {
        let (passes, stopped) = try NetworkNamespace.privateLoopback.run { () throws -> (Int, Bool) in
            let dir = simTempDir("idle")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var c = simConfig(dir)
            c.spinNs = 0
            c.generator = SimGeneratorConfig(intensity: 0.01, seed: 1) // its next event is a timer too: ~3 events/s here
            let sim = try SimVenue(c)
            sim.start()
            usleep(300_000)
            sim.requestStop()
            let t0 = csys_monotonic_ns()
            sim.stop()
            return (sim.passes, csys_monotonic_ns() - t0 < 2_000_000_000)
        }
        #expect(passes > 0 && passes < 40, "\(passes) passes in 300 ms idle")
        #expect(stopped)
    }

    @Test func twoFixClientsTradeWithEachOtherAndCancelOnDisconnect() throws {
        let o = try NetworkNamespace.privateLoopback.run { try runSessions(cancelOnDisconnect: true) }
        // ALPHA's bid rests, then BETA's sell fills 20 of it: each side gets its own report.
        #expect(o.fixAlpha.count == 2 && o.fixAlpha[0][150] == "0" && o.fixAlpha[1][150] == "F"
                && o.fixAlpha[1][32] == "20" && o.fixAlpha[1][151] == "30", "\(o.fixAlpha)")
        #expect(o.fixBeta.count == 3 && o.fixBeta.contains { $0[11] == "B1" && $0[39] == "2" && $0[31] == "399" }
                && o.fixBeta.contains { $0[11] == "B2" && $0[150] == "0" }, "\(o.fixBeta)")
        // OUCH: T1 canceled when its connection dropped (mass cancel, reason S), found on re-login.
        #expect(o.ouchAfterRelogin.prefix(2) == ["A T1 100 1980000", "C T1 100 S"], "\(o.ouchAfterRelogin)")
        // BETA's B2 canceled at its Logout, ALPHA's 30 left rests: it never left.
        #expect(o.summary.canceledOnDisconnect == 2, "\(o.summary)")
        #expect(o.venueLive == 1)
        #expect(o.summary.fixLogons == 3 && o.summary.executions == 1)
        // BETA was away when B2 was canceled: the report waited in its store, resent after its Logon.
        #expect(o.summary.fixStoredForResend == 1 && o.summary.fixUndeliverable == 0, "\(o.summary)")
        #expect(o.fixAfterRelogon.count == 1 && o.fixAfterRelogon.first?[11] == "B2" && o.fixAfterRelogon.first?[150] == "4"
                && o.fixAfterRelogon.first?[43] == "Y", "\(o.fixAfterRelogon)")
    }

    @Test func ordersStayWhenCancelOnDisconnectIsOff() throws {
        let o = try NetworkNamespace.privateLoopback.run { try runSessions(cancelOnDisconnect: false) }
        #expect(o.ouchAfterRelogin == ["A T1 100 1980000"], "\(o.ouchAfterRelogin)")
        #expect(o.summary.canceledOnDisconnect == 0 && o.summary.fixStoredForResend == 0)
        #expect(o.fixAfterRelogon.isEmpty, "\(o.fixAfterRelogon)")
        #expect(o.venueLive == 3)
    }

    @Test func aSecondLogonOfALoggedOnCompIDIsRefused() throws {
        let o = try NetworkNamespace.privateLoopback.run { () throws -> (SimSummary, [String], Bool) in
            let dir = simTempDir("dup")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let sim = try SimVenue(simConfig(dir))
            sim.start()
            defer { sim.stop() }
            let c = FixSessionConfig(senderCompID: "TWIN", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir + "/a", resetOnLogon: true)
            let c2 = FixSessionConfig(senderCompID: "TWIN", targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir + "/b", resetOnLogon: true,
                                      logEvents: true)
            try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: true)
            let first = try FixInitiator.connect(port: sim.fixPort, config: c, app: FixInbox())
            try waitFor("first logon", { first.pollOnce(timeoutMs: 1) }) { first.state == .loggedOn }
            let second = try FixInitiator.connect(port: sim.fixPort, config: c2, app: FixInbox())
            try waitFor("second refused", { second.pollOnce(timeoutMs: 1); first.pollOnce(timeoutMs: 0) }) { !second.isOpen }
            for _ in 0..<10 { first.pollOnce(timeoutMs: 1) }
            let stillOn = first.state == .loggedOn
            sim.stop()
            return (sim.summary, second.events, stillOn)
        }
        #expect(o.0.fixLogonsRefused == 1 && o.0.fixLogons == 1)
        #expect(o.1.contains { $0.hasPrefix("in 5") }, "the refused one is told by a Logout: \(o.1)")
        #expect(o.2)
    }
}
