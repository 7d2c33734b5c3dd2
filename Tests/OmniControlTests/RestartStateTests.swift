import Foundation
@testable import OmniControl
import OmniRisk
import SharedTestData
import Testing

/// What a restart must not forget (store migration v2): the kill switch and the raised limits not
/// yet expired. Two runs of the loop over the in-process venue on one store file (each a new loop
/// and a new venue, as a new `omni run` against a venue that canceled our orders when we left):
/// what the second venue holds is read from its own book with the loop paused.
@Suite(.serialized) struct RestartStateTests {
    @Test func aKillSurvivesARestartAndTheNewRunSendsNothingUntilARiskOfficerResetsIt() async throws {
        let path = TestScratch.directory("restart-kill") + "/control.sqlite"
        let first = try ControlledLoop(store: try SQLiteControlStore(path: path))
        try await first.serve()
        #expect(first.server.killSwitchResumed.withLock { $0 }?.contains("never turned on") == true)
        try await first.wait("quotes at the venue") { first.port.snapshot.read().summary.openOrders == 4 }
        let kill = try await first.call("POST", "/v1/kill", role: .trader)
        #expect(kill.status == 200, "\(kill)")
        try await first.wait("every order canceled") { first.port.snapshot.read().summary.openOrders == 0 }
        await first.close()

        // Run 2 on the same store: killed before its first pass.
        let store = try SQLiteControlStore(path: path)
        let second = try ControlledLoop(store: store)
        try await second.serve()
        let note = second.server.killSwitchResumed.withLock { $0 } ?? ""
        #expect(note.contains("kill switch on since") && note.contains("(command, by trader (trader)") && note.contains("the loop starts killed"), "\(note)")
        try await Task.sleep(nanoseconds: 500_000_000) // five touches: a loop not killed quotes at the first
        second.pause()
        #expect(second.entry.venue.liveOrders == 0 && second.loop.counters.requests == 0 && second.loop.risk.isKilled,
                "nothing sent: \(second.entry.venue.liveOrders) orders at the venue, \(second.loop.counters.requests) requests")
        second.resume()
        let status = try await second.call("GET", "/v1/status", role: .viewer)
        #expect(status.body.contains(#""killed":true"#) && status.body.contains(#""kill_reason":"command""#), "\(status)")
        // Only a risk officer (or admin) resets it.
        let denied = try await second.call("POST", "/v1/kill/reset", role: .trader)
        #expect(denied.status == 403, "\(denied)")
        let reset = try await second.call("POST", "/v1/kill/reset", role: .riskOfficer)
        #expect(reset.status == 200 && reset.body.contains(#""killed":false"#), "\(reset)")
        try await second.wait("quoting again at the venue") { second.port.snapshot.read().summary.openOrders == 4 }
        second.pause()
        let aapl = ControlledLoop.specs[0]
        #expect(second.entry.venue.liveOrders == 4 && second.entry.venue.book(1)?.depth(.bid).first?.price == aapl.referencePrice - 200,
                "our four orders at the venue")
        second.resume()
        await second.close()

        let last = try #require(try await store.lastKillSwitch())
        #expect(!last.engaged && last.who == "risk_officer (risk_officer)", "\(last)")
        let rows = try await store.audit(after: 0, limit: 100).map(\.entry)
        #expect(rows.contains { $0.who == "omni run" && $0.action == "resume kill switch" && $0.outcome.contains("the loop starts killed") }, "\(rows)")
        #expect(try await store.verifyAudit().intact)

        // Run 3: reset, so it starts quoting.
        let third = try ControlledLoop(store: try SQLiteControlStore(path: path))
        try await third.serve()
        #expect(third.server.killSwitchResumed.withLock { $0 }?.contains("kill switch off (reset by risk_officer (risk_officer)") == true)
        try await third.wait("quotes at the venue") { third.port.snapshot.read().summary.openOrders == 4 }
        await third.close()
    }

    /// The daily loss and SIGUSR1 hold across a restart; a stale feed or a disconnect (this run's
    /// connection gone) does not: the next run connects again.
    @Test(arguments: [(KillReason.dailyLoss, true), (.signal, true), (.staleFeed, false), (.disconnect, false)])
    func aKillByATriggerOfTheLoopsOwnIsKeptWhenARestartMustKeepIt(reason: KillReason, kept: Bool) async throws {
        let store = try SQLiteControlStore(path: TestScratch.directory("restart-trigger-\(reason.name)") + "/control.sqlite")
        let c = try ControlledLoop(store: store)
        try await c.serve()
        try await c.wait("quotes at the venue") { c.port.snapshot.read().summary.openOrders == 4 }
        c.pause()
        c.loop.kill(reason, now: 0) // as KillSwitchWatch or the risk check trips it
        c.resume()
        var last: KillSwitchRecord?
        for _ in 0..<(kept ? 300 : 50) where last?.engaged != true { // not kept: half a second of readings (every 100 ms) writes nothing
            try await Task.sleep(nanoseconds: 10_000_000)
            last = try await store.lastKillSwitch()
        }
        await c.close()
        if kept {
            #expect(last?.engaged == true && last?.reason == reason.name && last?.who == "omni run (\(reason.name))", "\(String(describing: last))")
        } else {
            #expect(last == nil, "\(reason.name) is not kept: \(String(describing: last))")
        }
    }

    @Test func anUnexpiredRaiseIsResumedWithItsTimeLeftAndOneExpiredMeanwhileIsDropped() async throws {
        let path = TestScratch.directory("restart-override") + "/control.sqlite"
        let first = try ControlledLoop(store: try SQLiteControlStore(path: path))
        try await first.serve()
        try await first.wait("the resume at start") { first.server.resumed.withLock { $0 } != nil }
        let long = try await first.call("PUT", "/v1/risk/limits", body: #"{"symbol": "AAPL", "max_order_qty": 1500, "max_position": 1200, "expires_in_s": 3600}"#,
                                        role: .riskOfficer)
        #expect(long.status == 200, "\(long)")
        let short = try await first.call("PUT", "/v1/risk/limits", body: #"{"symbol": "MSFT", "max_order_qty": 1300, "expires_in_s": 2}"#, role: .riskOfficer)
        #expect(short.status == 200, "\(short)")
        await first.close()
        let store = try SQLiteControlStore(path: path)
        let kept = try await store.limitOverrides()
        #expect(kept.map(\.symbol) == ["AAPL", "MSFT"] && kept[0].maxOrderQty == 1_500 && kept[0].revertsToMaxOrderQty == 1_000, "\(kept)")
        try await Task.sleep(nanoseconds: 2_200_000_000) // MSFT's raise expires while no run holds it

        let second = try ControlledLoop(store: store)
        try await second.serve()
        try await second.wait("the resume at start") { second.server.resumed.withLock { $0 } != nil }
        let note = second.server.resumed.withLock { $0 } ?? ""
        #expect(note.contains("AAPL limits 1500/1200 (override by risk_officer (risk_officer) until") && note.contains("MSFT override by risk_officer (risk_officer) expired at")
                && note.contains("dropped") && !note.contains("NOT"), "\(note)")
        let limits = try await second.call("GET", "/v1/risk/limits", role: .viewer)
        #expect(limits.body.contains(#""max_order_qty":1500,"max_position":1200,"override":{"#) && limits.body.contains(#""reverts_to_max_order_qty":1000"#)
                && limits.body.contains(#"{"max_order_qty":1000,"max_position":1000,"symbol":"MSFT"}"#), "\(limits)")
        let left = second.server.overrides.withLock { $0["AAPL"]?.body.expiresInS } ?? 0
        #expect(left > 3_500 && left <= 3_600, "its remaining time, not a new hour: \(left) s")
        #expect(second.loop.risk.limits(instrument: 1)?.maxOrderQuantity == 1_500 && second.loop.risk.limits(instrument: 2)?.maxOrderQuantity == 1_000)
        #expect(try await store.limitOverrides().map(\.symbol) == ["AAPL"])
        let rows = try await store.audit(after: 0, limit: 100).map(\.entry)
        #expect(rows.contains { $0.who == "system" && $0.role == "system" && $0.action == "revert limit override" && $0.endpoint == "(start)"
                && $0.outcome.contains("MSFT") && $0.outcome.contains("not resumed") }, "\(rows.map(\.outcome))")

        // At its expiry it reverts as any override does, and the store forgets it.
        await second.server.revertExpired(now: .max)
        #expect(second.port.snapshot.read().instruments[0].limits?.maxOrderQuantity == 1_000)
        #expect(try await store.limitOverrides().isEmpty)
        await second.close()
        #expect(try await store.verifyAudit().intact)
    }

    /// `omni run` end to end against `omni sim` (subprocesses, ports 45200-45499 and groups of their
    /// own): killed through `omni ctl kill` in run 1; run 2 on the same store (the default one, in
    /// the run's data folder) against a new venue starts killed and the venue's own summary counts
    /// no order from it, though it logged in; run 3 still starts killed, and `omni ctl reset` sets it
    /// quoting at the venue.
    @Test(.enabled(if: CtlCommandTests.present, "omni not built at .build/debug/omni (swift build)"))
    func omniRunResumesTheKillSwitchAndTheVenueSeesNothingUntilAReset() async throws {
        let ctl = CtlCommandTests()
        let dir = TestScratch.directory("restart-run")
        let base = 45_200 + Int(getpid() % 50) * 6 // 45200-45499
        func venue(_ name: String, _ port: Int, group: String) throws {
            try """
            mold: {line_a: "\(group):\(port + 2)", line_b: off, retransmit_port: \(port + 2)}
            ouch: {port: \(port)}
            fix: {port: \(port + 1), store: \(dir)/\(name)-fix}
            """.write(toFile: "\(dir)/\(name).yaml", atomically: false, encoding: .utf8)
            try """
            venue: {ouch: "127.0.0.1:\(port)", fix: "127.0.0.1:\(port + 1)", fix_store: \(dir)/\(name)-run-fix}
            feed: {line_a: "\(group):\(port + 2)", line_b: off, retransmit: "127.0.0.1:\(port + 2)"}
            instruments: [{symbol: AAPL}, {symbol: MSFT}]
            control: {listen: "127.0.0.1:0"}
            """.write(toFile: "\(dir)/run-\(name).yaml", atomically: false, encoding: .utf8)
        }
        try venue("a", base, group: "239.192.79.7")
        try venue("b", base + 3, group: "239.192.79.8")
        let token = dir + "/omni-run/control-token"
        func ctlCall(_ control: String, _ args: String...) async throws -> (status: Int32, out: String) {
            try await runToEnd(CtlCommandTests.omni, ["ctl"] + args + ["--control", control, "--token-file", token])
        }
        func waitForExit(_ p: Process, _ what: String, seconds: Double) async throws {
            let end = Date().addingTimeInterval(seconds)
            while p.isRunning && Date() < end { try await Task.sleep(nanoseconds: 50_000_000) }
            if p.isRunning { Issue.record("\(what) did not end at --seconds"); p.terminate() }
            p.waitUntilExit()
        }
        /// Starts `omni run` on venue `name`; returns it and its control plane's HOST:PORT once it answers.
        func run(_ n: Int, on name: String, seconds: Int) async throws -> (Process, String) {
            let p = try ctl.launch(["run", "--config", "\(dir)/run-\(name).yaml", "--seconds", "\(seconds)", "--status-every", "60"], out: "\(dir)/run\(n).log", tmp: dir)
            let control = try #require(try await ctl.controlEndpoint(log: "\(dir)/run\(n).log"), "run \(n): no control line:\n\(ctl.log("\(dir)/run\(n).log"))")
            var status = try await ctlCall(control, "status")
            for _ in 0..<400 where status.status != 0 { try await Task.sleep(nanoseconds: 50_000_000); status = try await ctlCall(control, "status") }
            #expect(status.status == 0, "run \(n): \(status.out)")
            return (p, control)
        }

        let simA = try ctl.launch(["sim", "--config", dir + "/a.yaml", "--seconds", "150"], out: dir + "/sim-a.log", tmp: dir)
        defer { if simA.isRunning { simA.terminate() }; simA.waitUntilExit() }
        try await Task.sleep(nanoseconds: 1_500_000_000)

        // Run 1: quoting, then killed.
        let (run1, control1) = try await run(1, on: "a", seconds: 15)
        defer { if run1.isRunning { run1.interrupt() }; run1.waitUntilExit() }
        var json = try await ctlCall(control1, "status", "--json")
        for _ in 0..<200 where !json.out.contains(#""open_orders":4"#) { try await Task.sleep(nanoseconds: 50_000_000); json = try await ctlCall(control1, "status", "--json") }
        #expect(json.out.contains(#""open_orders":4"#), "run 1 quoting: \(json.out)")
        let kill = try await ctlCall(control1, "kill")
        #expect(kill.status == 0 && kill.out.contains("kill switch ON (command)"), "\(kill.out)")
        try await waitForExit(run1, "run 1", seconds: 40)
        #expect(ctl.log(dir + "/run1.log").contains("kill switch never turned on this store: starts off"), "\(ctl.log(dir + "/run1.log"))")

        // Run 2 on the same store against a new venue: killed before its first pass; the venue counts no order.
        let simB = try ctl.launch(["sim", "--config", dir + "/b.yaml", "--seconds", "25"], out: dir + "/sim-b.log", tmp: dir)
        defer { if simB.isRunning { simB.terminate() }; simB.waitUntilExit() }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let (run2, control2) = try await run(2, on: "b", seconds: 8)
        defer { if run2.isRunning { run2.interrupt() }; run2.waitUntilExit() }
        let status2 = try await ctlCall(control2, "status", "--json")
        #expect(status2.out.contains(#""killed":true"#) && status2.out.contains(#""open_orders":0"#), "\(status2.out)")
        try await waitForExit(run2, "run 2", seconds: 40)
        let log2 = ctl.log(dir + "/run2.log")
        #expect(log2.contains("critical omni.control: kill switch on since") && log2.contains("(command, by admin (admin)") && log2.contains("the loop starts killed"), "\(log2)")
        #expect(log2.contains("orders      0 entered"), "run 2 sent nothing: \(log2)")
        simB.terminate() // or it ends at --seconds (a test process may block the signal in its children)
        try await waitForExit(simB, "venue B", seconds: 40)
        let venueB = ctl.log(dir + "/sim-b.log")
        #expect(venueB.contains("orders      0 OUCH") && venueB.contains("1 OUCH logins"), "venue B saw run 2 log in and no order from it:\n\(venueB)")

        // Run 3: still killed at start (no one reset it); a reset by a person, and it quotes at the venue.
        let (run3, control3) = try await run(3, on: "a", seconds: 12)
        defer { if run3.isRunning { run3.interrupt() }; run3.waitUntilExit() }
        let status3 = try await ctlCall(control3, "status")
        #expect(status3.out.contains("kill switch ON (command)"), "\(status3.out)")
        let reset = try await ctlCall(control3, "reset")
        #expect(reset.status == 0 && reset.out.contains("kill switch off"), "\(reset.out)")
        json = try await ctlCall(control3, "status", "--json")
        for _ in 0..<200 where !json.out.contains(#""open_orders":4"#) { try await Task.sleep(nanoseconds: 50_000_000); json = try await ctlCall(control3, "status", "--json") }
        #expect(json.out.contains(#""open_orders":4"#) && json.out.contains(#""killed":false"#), "quoting after the reset: \(json.out)")
        try await waitForExit(run3, "run 3", seconds: 40)
        let log3 = ctl.log(dir + "/run3.log")
        #expect(log3.contains("the loop starts killed") && log3.contains("kill switch reset by the control plane") && log3.contains("open orders 0 left at the end"), "\(log3)")
    }
}
