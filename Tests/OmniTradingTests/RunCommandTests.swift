import Foundation
import SharedTestData
import Testing

/// `omni run` as a subprocess against `omni sim` (another subprocess, its generator on), once
/// per feed path: it finds the stock directory, quotes the 8 default symbols, and at --seconds
/// cancels everything and exits 0 with no order left open. TCP ports and multicast groups of its
/// own, on loopback.
@Suite(.serialized) struct RunCommandTests {
    static let omni = OmniTool.binary
    static let present = OmniTool.present

    func launch(_ args: [String], out: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.omni)
        p.arguments = args
        FileManager.default.createFile(atPath: out, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = p.standardOutput
        try p.run()
        return p
    }

    /// `omni bench tick-to-trade` end to end, short: the venue's triggers are answered by the
    /// trader's trigger strategy, and the venue's figures and the CSV row come out.
    @Test(.enabled(if: present, OmniTool.absent))
    func benchTickToTradeMeasuresTheVenuesTriggers() throws {
        let dir = TestScratch.directory("t2t")
        let p = try launch(["bench", "tick-to-trade", "--rates", "1000", "--count", "2000", "--paths", "socket", "--out", dir,
                            "--csv", dir + "/t2t.csv"], out: dir + "/bench.log")
        let end = Date().addingTimeInterval(60)
        while p.isRunning && Date() < end { usleep(50_000) }
        if p.isRunning { p.terminate(); Issue.record("omni bench tick-to-trade did not end") }
        p.waitUntilExit()
        let log = (try? String(contentsOfFile: dir + "/bench.log", encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(log)")
        let row = ((try? String(contentsOfFile: dir + "/t2t.csv", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst().first ?? ""
        let fields = row.split(separator: ",")
        // round, path, rate, sent, answered, ...: every trigger sent; answers came (a busy host coalesces many).
        #expect(fields.count >= 6 && fields[1] == "socket" && fields[3] == "2000", "\(row)\n\(log)")
        #expect((Int(fields.count > 4 ? fields[4] : "") ?? 0) > 100, "answered: \(row)\n\(log)")
        #expect(FileManager.default.fileExists(atPath: dir + "/socket-1000.tick-to-trade.hgrm"), "\(log)")
    }

    /// The other paths end to end, short: market data over memif (the venue's DPDK transmit to the
    /// trader's DPDK receive), orders through io_uring SQPOLL, SO_BUSY_POLL, and real flow behind
    /// the triggers (at a hundredth of the 09:30 open's rate, 6,400 msgs/s: a debug build's trader keeps up).
    @Test(.enabled(if: present, OmniTool.absent), arguments: [
        ("memif", "send", "0", "memif"), ("socket", "io_uring", "0", "socket+io_uring"), ("socket", "busy-poll", "0.01", "socket+busy-poll+bg0.01x"),
    ])
    func benchTickToTradeRunsEachPath(paths: String, orders: String, background: String, tag: String) throws {
        let dir = TestScratch.directory("t2t-\(tag)")
        let p = try launch(["bench", "tick-to-trade", "--rates", "1000", "--count", "2000", "--paths", paths, "--order-paths", orders,
                            "--background", background, "--out", dir, "--csv", dir + "/t2t.csv"], out: dir + "/bench.log")
        let end = Date().addingTimeInterval(90)
        while p.isRunning && Date() < end { usleep(50_000) }
        if p.isRunning { p.terminate(); Issue.record("omni bench tick-to-trade did not end") }
        p.waitUntilExit()
        let log = (try? String(contentsOfFile: dir + "/bench.log", encoding: .utf8)) ?? ""
        let venue = (try? String(contentsOfFile: dir + "/\(tag)-1000.venue.log", encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(log)\n\(venue)")
        let row = ((try? String(contentsOfFile: dir + "/t2t.csv", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst().first ?? ""
        let fields = row.split(separator: ",")
        #expect(fields.count >= 6 && fields[1] == Substring(tag) && fields[3] == "2000", "\(row)\n\(log)")
        #expect((Int(fields.count > 4 ? fields[4] : "") ?? 0) > 100, "answered: \(row)\n\(log)\n\(venue)")
        let trader = (try? String(contentsOfFile: dir + "/\(tag)-1000.trader.log", encoding: .utf8)) ?? ""
        switch tag {
        case "memif": #expect(venue.contains("through DPDK net_memif0") && trader.contains("via DPDK net_memif0"), "\(venue)\n\(trader)")
        case "socket+io_uring": #expect(trader.contains("order tx    io_uring SQPOLL:"), "\(trader)")
        default: #expect(trader.contains("SO_BUSY_POLL 50 µs") && venue.contains("messages replayed"), "\(trader)\n\(venue)")
        }
    }

    @Test(.enabled(if: present, OmniTool.absent), arguments: ["socket", "io_uring", "dpdk"])
    func quotesTheSimAndEndsWithNothingOpen(via: String) throws {
        try quoteTheSim(via: via, name: via, ports: 20_000 + Int(getpid() % 10_000) * 3)
    }

    /// The split placement: a topology puts the feed on core 0 and the trading loop on core 1,
    /// the touches crossing on a ring; the run quotes and ends with nothing open as on one core.
    @Test(.enabled(if: present && ProcessInfo.processInfo.activeProcessorCount >= 2,
                   "needs omni built at .build/debug/omni and two online cores"))
    func quotesTheSimWithTheFeedOnACoreOfItsOwn() throws {
        let dir = TestScratch.directory("run-split-topology")
        try "stages:\n  - {name: feed, core: 0}\n  - {name: trading, core: 1}\nrings:\n  - {from: feed, to: trading, capacity: 1024}\n"
            .write(toFile: dir + "/split.yaml", atomically: false, encoding: .utf8)
        let log = try quoteTheSim(via: "socket", name: "split", ports: 50_000 + Int(getpid() % 5_000), topology: dir + "/split.yaml")
        #expect(log.contains("on core 1, feed on core 0 (ring of 1024)"), "\(log)")
    }

    /// omni sim (generator on) and omni run --seconds 4 on `via`; the run's log. The run has a
    /// control store of its own: the default one ($TMPDIR/omni-run) is every run's of this user,
    /// and a kill switch left on there would start this run killed.
    @discardableResult
    func quoteTheSim(via: String, name: String, ports base: Int, topology: String? = nil) throws -> String {
        let dir = TestScratch.directory("run-\(name)")
        let (ouch, fix, mold) = (base, base + 1, base + 2)
        try """
        mold: {line_a: "239.192.78.1:\(mold)", line_b: "239.192.78.2:\(mold)", retransmit_port: \(mold)}
        ouch: {port: \(ouch)}
        fix: {port: \(fix), store: \(dir)/fix}
        """.write(toFile: dir + "/sim.yaml", atomically: false, encoding: .utf8)
        try """
        venue: {ouch: "127.0.0.1:\(ouch)", fix: "127.0.0.1:\(fix)", fix_store: \(dir)/run-fix}
        feed: {line_a: "239.192.78.1:\(mold)", line_b: "239.192.78.2:\(mold)", retransmit: "127.0.0.1:\(mold)", via: \(via)}
        control: {listen: "127.0.0.1:0", store: \(dir)/control.sqlite}
        \(topology.map { "topology: \($0)" } ?? "")
        """.write(toFile: dir + "/run.yaml", atomically: false, encoding: .utf8)
        let sim = try launch(["sim", "--config", dir + "/sim.yaml", "--seconds", "12"], out: dir + "/sim.log")
        defer { if sim.isRunning { sim.interrupt() }; sim.waitUntilExit() }
        usleep(1_500_000)
        let run = try launch(["run", "--config", dir + "/run.yaml", "--seconds", "4", "--status-every", "2"], out: dir + "/run.log")
        let end = Date().addingTimeInterval(30)
        while run.isRunning && Date() < end { usleep(50_000) }
        if run.isRunning { run.terminate(); Issue.record("omni run --via \(via) did not end") }
        run.waitUntilExit()
        let log = (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? ""
        #expect(run.terminationStatus == 0, "\(log)")
        #expect(log.contains("via \(via)") && log.contains("open orders 0 left at the end"), "\(log)")
        let entered = log.split(separator: "\n").first { $0.contains(" entered, ") }
            .flatMap { Int($0.split(separator: " ").first { Int($0) != nil } ?? "") } ?? 0
        #expect(entered >= 16, "the 8 symbols quoted on both sides:\n\(log)")
        return log
    }
}
