import OmniVenue
import OmniWire
import OmniNet
import OmniCore
import CSys
import CWire
import Foundation
import OmniGateway
import SharedTestData
import Testing

/// One process's resident memory, open descriptors and CPU time, from /proc.
struct ProcessUsage {
    var rssKB = 0, fds = 0
    var cpuTicks = 0  // utime + stime, in clock ticks

    init(_ pid: Int32) {
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
            rssKB = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let f = stat[stat.index(after: close)...].split(separator: " ")
            cpuTicks = (Int(f[11]) ?? 0) + (Int(f[12]) ?? 0)  // fields 14 and 15 of the whole line
        }
    }

    /// Share of one core the process used over `seconds`, in percent.
    static func cpuPercent(_ pid: Int32, over seconds: Double) -> Double {
        let a = ProcessUsage(pid).cpuTicks
        usleep(UInt32(seconds * 1e6))
        return Double(ProcessUsage(pid).cpuTicks - a) / Double(sysconf(Int32(_SC_CLK_TCK))) / seconds * 100
    }
}

/// Issue 16's bounded soak: `omni sim` as a process, with hundreds of OUCH and FIX clients
/// entering, replacing and canceling, some never reading, some dropping their connection
/// without a word. Afterwards the sim's memory, descriptors and idle CPU are back near their
/// baseline, and `omni listen`, run beside it, rebuilt exactly the books `omni replay` builds
/// from the sim's recording. `make soak` runs it longer and with more clients
/// (OMNI_SOAK_SECONDS, OMNI_SOAK_CLIENTS); `make test` runs a short one.
@Suite(.serialized) struct SimSoakTests {
    static let env = ProcessInfo.processInfo.environment
    static let seconds = Double(env["OMNI_SOAK_SECONDS"] ?? "") ?? 5
    static let clients = Int(env["OMNI_SOAK_CLIENTS"] ?? "") ?? 200

    struct Client {
        var ouch: OuchClient?
        var fix: FixSession<FixInbox>?
        let name: String
        let slow: Bool
        var next = 0       // orders entered so far
        var live: [Int] = [] // order numbers that may rest
    }

    @Test(.enabled(if: SimCommandTests.present, OmniTool.absent))
    func manyClientsComeAndGoAndTheSimReturnsToItsBaseline() throws {
        let dir = TestScratch.directory("soak")
        let base = 20_000 + Int(getpid() % 10_000) * 4
        let (ouchPort, fixPort, retransmitPort, feedPort) = (UInt16(base), UInt16(base + 1), UInt16(base + 2), base + 3)
        try """
        instruments:
          - {symbol: AAPL, price: 200.00}
          - {symbol: MSFT, price: 400.00}
          - {symbol: SPY, price: 500.00, band: 5%}
        generator: {intensity: 1, seed: 11}
        mold: {line_a: "239.192.88.1:\(feedPort)", line_b: "239.192.88.2:\(feedPort)", retransmit_port: \(retransmitPort)}
        ouch: {port: \(ouchPort)}
        fix: {port: \(fixPort), store: \(dir)/fix}
        limits: {connections: \(Self.clients + 16), ouch_users: \(Self.clients + 16), sessions: \(Self.clients * 2 + 16), output_queue: 262144}
        """.write(toFile: dir + "/venue.yaml", atomically: false, encoding: .utf8)
        let tool = SimCommandTests()
        let (listen, listenOut, listenErr) = try tool.launch(
            ["listen", "--group", "239.192.88.1:\(feedPort)", "--line-b", "239.192.88.2:\(feedPort)",
             "--retransmit", "127.0.0.1:\(retransmitPort)", "--until-end", "--bbo-csv", dir + "/listen.csv", "--seconds", "\(Self.seconds + 60)"],
            dir: dir, name: "listen")
        defer { if listen.isRunning { listen.terminate() } }
        let (sim, simOut, simErr) = try tool.launch(["sim", "--config", dir + "/venue.yaml", "--record", dir + "/sim.pcap"], dir: dir, name: "sim")
        defer { if sim.isRunning { sim.terminate() } }
        let ready = Date().addingTimeInterval(20)
        while !tool.read(simOut).contains("Ctrl-C ends the session.") && sim.isRunning && Date() < ready { usleep(20_000) }
        try #require(sim.isRunning, "omni sim did not start: \(tool.read(simErr))")
        usleep(1_000_000)
        let pid = sim.processIdentifier
        let before = ProcessUsage(pid)
        let cpuBefore = ProcessUsage.cpuPercent(pid, over: 1)

        // The load: 3 OUCH clients for each FIX one; every tenth never reads.
        var rng = SystemRandomNumberGenerator()
        var all: [Client] = (0..<Self.clients).map { i in Client(name: (i % 4 == 3 ? "FX" : "OU") + "\(i)", slow: i % 10 == 9) }
        func connect(_ c: inout Client) {
            if c.name.hasPrefix("OU") {
                let o = OuchClient(SoupClientConfig(port: ouchPort, username: c.name, password: "x"))
                if (try? o.connect()) != nil { c.ouch = o }
            } else {
                let cfg = FixSessionConfig(senderCompID: c.name, targetCompID: "OMNI", heartBtInt: 30, storeDirectory: dir, resetOnLogon: true)
                c.fix = try? FixInitiator.connect(port: fixPort, config: cfg, app: FixInbox())
            }
        }
        let symbols = ["AAPL", "MSFT", "SPY"], refs: [UInt32] = [2_000_000, 4_000_000, 5_000_000]
        var orders = 0, drops = 0, refusedConnects = 0
        let end = Date().addingTimeInterval(Self.seconds)
        while Date() < end {
            for i in all.indices {
                if all[i].ouch == nil && all[i].fix == nil {
                    connect(&all[i])
                    if all[i].ouch == nil && all[i].fix == nil { refusedConnects += 1; continue }
                }
                let k = Int.random(in: 0..<3, using: &rng)
                let px = refs[k] - UInt32.random(in: 1...200, using: &rng) * 100
                let action = Int.random(in: 0..<100, using: &rng)
                let n = all[i].next
                if let o = all[i].ouch {
                    if action < 60 || all[i].live.isEmpty {
                        try? o.enter(ouchOrder("\(all[i].name)-\(n)", symbols[k], side: action % 2 == 0 ? "B" : "S", shares: 100, price: px))
                        all[i].live.append(n); all[i].next += 1; orders += 1
                    } else if action < 80 {
                        let old = all[i].live.removeFirst()
                        try? o.replace(replaceOrder("\(all[i].name)-\(old)", "\(all[i].name)-\(n)", shares: 200, price: px))
                        all[i].live.append(n); all[i].next += 1
                    } else {
                        try? o.cancel(cw_ouch_token("\(all[i].name)-\(all[i].live.removeFirst())"))
                    }
                    if !all[i].slow { o.poll(timeoutMs: 0) { _ in } }
                } else if let f = all[i].fix {
                    let m: FixOut
                    let sym = FixString(symbols[k])!
                    if action < 60 || all[i].live.isEmpty {
                        m = FixNewOrder(clOrdID: "C\(n)", symbol: sym, side: action % 2 == 0 ? .buy : .sell, quantity: 100,
                                        ordType: .limit, price: Int64(px)).message
                        all[i].live.append(n); orders += 1
                    } else if action < 80 {
                        let old = all[i].live.removeFirst()
                        m = FixReplaceRequest(clOrdID: "C\(n)", origClOrdID: "C\(old)", symbol: sym, side: .buy, quantity: 200,
                                              ordType: .limit, price: Int64(px)).message
                        all[i].live.append(n)
                    } else {
                        m = FixCancelRequest(clOrdID: "C\(n)", origClOrdID: "C\(all[i].live.removeFirst())", symbol: sym, side: .buy).message
                    }
                    all[i].next += 1
                    if f.state == .loggedOn { f.send(m) }
                    if !all[i].slow { f.pollOnce(timeoutMs: 0) }
                }
                // One action in 500 drops the connection without a Logout; the client comes back next pass.
                if Int.random(in: 0..<500, using: &rng) == 0 {
                    all[i].ouch?.disconnect(); all[i].ouch = nil
                    if let f = all[i].fix { close(f.fileDescriptor) }  // under the session's feet, as a crash would
                    all[i].fix = nil
                    drops += 1
                }
            }
        }
        // Everyone leaves: half say goodbye, half just go.
        for i in all.indices {
            if i % 2 == 0 { all[i].ouch?.logout(); all[i].fix?.logout() }
            all[i].ouch?.disconnect()
            if let f = all[i].fix, f.isOpen { close(f.fileDescriptor) }
        }
        all.removeAll()
        usleep(3_000_000)
        let after = ProcessUsage(pid)
        let cpuAfter = ProcessUsage.cpuPercent(pid, over: 1)

        sim.interrupt()
        let simEnded = tool.wait(sim, seconds: 20)
        let listenEnded = tool.wait(listen, seconds: 20)
        try #require(simEnded && sim.terminationStatus == 0, "sim: \(tool.read(simErr))")
        try #require(listenEnded && listen.terminationStatus == 0, "listen: \(tool.read(listenOut)) \(tool.read(listenErr))")
        let replay = Process()
        replay.executableURL = URL(fileURLWithPath: SimCommandTests.omni)
        replay.arguments = ["replay", dir + "/sim.pcap", "--bbo-csv", dir + "/replay.csv"]
        replay.standardOutput = FileHandle.nullDevice
        try replay.run()
        replay.waitUntilExit()
        let listenCSV = tool.read(dir + "/listen.csv"), replayCSV = tool.read(dir + "/replay.csv")
        let summary = tool.read(simOut)
        print("""
        soak: \(Self.clients) clients for \(Self.seconds) s: \(orders) orders, \(drops) dropped connections, \(refusedConnects) connects refused
          sim RSS \(before.rssKB / 1024) MB -> \(after.rssKB / 1024) MB, fds \(before.fds) -> \(after.fds), CPU \(Int(cpuBefore)) % -> \(Int(cpuAfter)) % of a core
          listen: \(listenCSV.split(separator: "\n").count) BBO rows, replay of the recording: \(replayCSV.split(separator: "\n").count)
        \(summary.split(separator: "\n").filter { $0.contains("orders ") || $0.contains("limits ") || $0.contains("clients ") }.joined(separator: "\n"))
        """)
        #expect(after.fds <= before.fds + 2, "descriptors \(before.fds) -> \(after.fds)")
        #expect(after.rssKB < before.rssKB + 256 * 1024, "RSS \(before.rssKB) kB -> \(after.rssKB) kB")
        #expect(cpuAfter < cpuBefore + 15, "idle CPU \(cpuBefore) % -> \(cpuAfter) %")
        #expect(orders > Self.clients, "the load ran")
        #expect(!replayCSV.isEmpty && listenCSV == replayCSV, "omni listen's books differ from omni replay's of the recording")
        #expect(tool.read(listenOut).contains("books stale no"), "\(tool.read(listenOut))")
    }
}
