import Foundation
import SharedTestData
import Testing

/// `omni ctl` against a running `omni run` (subprocesses, against `omni sim`, on ports and groups of
/// their own): a parameter change, quoting off, the kill and the reset, each answered with the
/// version the loop applied, and seen in the run's own log.
@Suite(.serialized) struct CtlCommandTests {
    static let omni = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/.build/debug/omni"
    static let present = FileManager.default.isExecutableFile(atPath: omni)

    func launch(_ args: [String], out: String, tmp: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.omni)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": tmp]) { $1 }
        FileManager.default.createFile(atPath: out, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = p.standardOutput
        try p.run()
        return p
    }

    func log(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The control plane's HOST:PORT from the first lines of the run's log at `path` (waits up to 15 s), nil when none:
    /// its log line "TIME info omni.control: http://HOST:PORT (...)".
    func controlEndpoint(log path: String) async throws -> String? {
        for _ in 0..<300 {
            if let line = log(path).split(separator: "\n").first(where: { $0.contains(" info omni.control: http://") }),
               let url = line.components(separatedBy: "omni.control: http://").dropFirst().first {
                return String(url.prefix { $0 != " " })
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return nil
    }

    /// On each store kind (SQLite: the default file in the run's data folder; PostgreSQL: a database
    /// of its own in the test process's cluster, through control.store): the second run resumes.
    @Test(.enabled(if: present, "omni not built at .build/debug/omni (swift build)"), arguments: StoreKind.available)
    func omniCtlChangesKillsAndResetsARunningLoop(_ kind: StoreKind) async throws {
        let dir = TestScratch.directory("ctl")
        // Ports above the other tests' and the kernel's ephemeral range; the PostgreSQL case 3 further on.
        let base = 61_000 + Int(getpid() % 700) * 6 + (kind == .postgres ? 3 : 0)
        var storeLine = "info omni.control: store sqlite \(dir)/omni-run/control.sqlite"
        var storeKey = ""
        if kind == .postgres {
            let cluster = try PostgresCluster.shared()
            let db = "ctl_\(UInt32.random(in: 0...UInt32.max))"
            try cluster.createDatabase(db)
            storeKey = ", store: \"\(cluster.url(db))\""
            storeLine = "info omni.control: store postgres 127.0.0.1:\(cluster.port)/\(db)"
        }
        let (ouch, fix, mold) = (base, base + 1, base + 2)
        try """
        mold: {line_a: "239.192.79.1:\(mold)", line_b: off, retransmit_port: \(mold)}
        ouch: {port: \(ouch)}
        fix: {port: \(fix), store: \(dir)/fix}
        """.write(toFile: dir + "/sim.yaml", atomically: false, encoding: .utf8)
        try """
        venue: {ouch: "127.0.0.1:\(ouch)", fix: "127.0.0.1:\(fix)", fix_store: \(dir)/run-fix}
        feed: {line_a: "239.192.79.1:\(mold)", line_b: off, retransmit: "127.0.0.1:\(mold)"}
        instruments: [{symbol: AAPL}, {symbol: MSFT}]
        control: {listen: "127.0.0.1:0"\(storeKey)}
        """.write(toFile: dir + "/run.yaml", atomically: false, encoding: .utf8)
        let sim = try launch(["sim", "--config", dir + "/sim.yaml", "--seconds", "150"], out: dir + "/sim.log", tmp: dir)
        defer { if sim.isRunning { sim.terminate() }; sim.waitUntilExit() } // SIGTERM: a test process may block SIGINT in its children
        try await Task.sleep(nanoseconds: 1_500_000_000)
        // 60 s: room for a loaded test host (the whole suite beside it) to get through the commands;
        // signals from a test process may find themselves blocked in its children, so the run ends at --seconds.
        let run = try launch(["run", "--config", dir + "/run.yaml", "--seconds", "60", "--status-every", "60"], out: dir + "/run.log", tmp: dir)
        defer { if run.isRunning { run.interrupt() }; run.waitUntilExit() }

        let control = try #require(try await controlEndpoint(log: dir + "/run.log"), "no control line:\n\(log(dir + "/run.log"))")
        let token = dir + "/omni-run/control-token"
        let attributes = try FileManager.default.attributesOfItem(atPath: token)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the generated token is its owner's only")
        func ctl(_ args: String...) async throws -> (status: Int32, out: String) {
            try await runToEnd(Self.omni, ["ctl"] + args + ["--control", control, "--token-file", token])
        }
        // Until the loop has found the stock directory the API answers 503.
        var status = try await ctl("status")
        for _ in 0..<300 where status.status != 0 { try await Task.sleep(nanoseconds: 50_000_000); status = try await ctl("status") }
        #expect(status.status == 0 && status.out.contains("kill switch off"), "\(status.out)")

        let set = try await ctl("set", "AAPL", "spread_ticks=6", "size=150")
        #expect(set.status == 0 && set.out.contains("spread_ticks 6, size 150") && set.out.contains("config version 3"), "\(set.out)")
        let bad = try await ctl("set", "AAPL", "size=0")
        #expect(bad.status == 1 && bad.out.contains("400 size: 0 is out of range"), "\(bad.out)")
        let off = try await ctl("quote", "MSFT", "off")
        #expect(off.status == 0 && off.out.contains("MSFT: quoting off") && off.out.contains("config version 4"), "\(off.out)")
        let kill = try await ctl("kill")
        #expect(kill.status == 0 && kill.out.contains("kill switch ON (command), config version 5"), "\(kill.out)")
        var json = try await ctl("status", "--json")
        for _ in 0..<100 where !json.out.contains(#""open_orders":0"#) { try await Task.sleep(nanoseconds: 20_000_000); json = try await ctl("status", "--json") }
        #expect(json.out.contains(#""killed":true"#) && json.out.contains(#""open_orders":0"#), "\(json.out)")
        let reset = try await ctl("reset")
        #expect(reset.status == 0 && reset.out.contains("kill switch off, config version 6"), "\(reset.out)")
        let denied = try await runToEnd(Self.omni, ["ctl", "status", "--control", control], environment: ["OMNI_CTL_TOKEN": "wrong"])
        #expect(denied.status == 1 && denied.out.contains("401"), "\(denied.out)")

        let end = Date().addingTimeInterval(75)
        while run.isRunning && Date() < end { try await Task.sleep(nanoseconds: 50_000_000) }
        if run.isRunning { Issue.record("omni run did not end at --seconds"); run.terminate() }
        run.waitUntilExit() // the exit status recorded
        let text = log(dir + "/run.log")
        #expect(run.terminationStatus == 0, "\(text)")
        #expect(text.contains("critical omni.risk: KILL SWITCH ON: command") && text.contains("notice omni.risk: kill switch reset by the control plane"), "\(text)")
        #expect(text.contains("open orders 0 left at the end"), "\(text)")
        #expect(text.contains("\(storeLine): nothing to resume"), "\(text)")
        #expect(!text.contains(PostgresCluster.password), "the store's password never printed")

        // A second run on the same store (SQLite: the default, in the run's data folder) starts with the
        // first one's last configuration, re-applied through the command ring.
        let again = try launch(["run", "--config", dir + "/run.yaml", "--seconds", "4", "--status-every", "60"], out: dir + "/run2.log", tmp: dir)
        let end2 = Date().addingTimeInterval(40)
        while again.isRunning && Date() < end2 { try await Task.sleep(nanoseconds: 50_000_000) }
        if again.isRunning { Issue.record("the second omni run did not end at --seconds"); again.terminate() }
        again.waitUntilExit()
        let second = log(dir + "/run2.log")
        #expect(again.terminationStatus == 0, "\(second)")
        let resumed = second.split(separator: "\n").first { $0.contains(storeLine) } ?? ""
        #expect(resumed.contains("resumed: AAPL spread_ticks=6, AAPL size=150, MSFT quoting off") && !resumed.contains("NOT"), "\(second)")
    }
}
