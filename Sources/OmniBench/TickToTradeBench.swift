import ArgumentParser
import CSys
import OmniCore
import OmniEngine

#if canImport(Glibc)
import Glibc
#endif

/// What `omni bench tick-to-trade` is given: rates, triggers, receive paths, rounds, the two
/// processes' cores, stage stamps, and where the CSV, histograms, logs and plot go.
public protocol TickToTradeOptions {
    var rates: String { get }
    var count: Int { get }
    var paths: String { get }
    var orderPaths: String { get }
    var background: String { get }
    var backgroundFile: String? { get }
    var sqpollCore: Int? { get }
    var rounds: Int { get }
    var venueCore: Int { get }
    var traderCore: Int { get }
    var stageStamps: Bool { get }
    var csv: String? { get }
    var out: String { get }
    var plot: String? { get }
}

/// One configuration's report line and CSV row.
struct TickToTradeRow { let line: String, csv: String }

/// One configuration's paths: the market data's receive path, the orders' way out, the background
/// flow's speed (as given; nil: none).
struct TickToTradePath {
    let receive: String, orders: String, backgroundSpeed: String?
    /// As the report, the CSV and the files name it: "socket", "socket+io_uring", "memif+bg8x", ...
    var name: String { (orders == "send" ? receive : "\(receive)+\(orders)") + (backgroundSpeed.map { "+bg\($0)x" } ?? "") }
}

extension TickToTradeOptions {
    /// `omni bench tick-to-trade`: every configuration measured in `omni sim --triggers` and `omni run --strategy trigger` processes, reported.
    public func measureTickToTrade() throws {
        let rateList = try rates.split(separator: ",").map { s -> Double in
            guard let r = Double(s), r > 0, r <= 1_000_000 else { throw ValidationError("--rates: '\(s)' is not a rate in (0, 1000000]") }
            return r
        }
        let receivePaths = paths.split(separator: ",").map(String.init)
        let known = ["socket", "io_uring", "dpdk", "memif", "socket-veth", "io_uring-veth"]
        for p in receivePaths where !known.contains(p) { throw ValidationError("--paths: '\(p)' is not one of \(known.joined(separator: ", "))") }
        let orderList = orderPaths.split(separator: ",").map(String.init)
        let knownOrders = ["send", "io_uring", "busy-poll"]
        for p in orderList where !knownOrders.contains(p) { throw ValidationError("--order-paths: '\(p)' is not one of \(knownOrders.joined(separator: ", "))") }
        guard !receivePaths.isEmpty, !orderList.isEmpty else { throw ValidationError("--paths and --order-paths name at least one path each") }
        let speeds = try background.split(separator: ",").map { s -> (text: String, value: Double) in
            guard let v = Double(s), v >= 0, v <= 1_000 else { throw ValidationError("--background: '\(s)' is not a speed in [0, 1000] (0: none)") }
            return (String(s), v)
        }
        guard !speeds.isEmpty else { throw ValidationError("--background: give at least one speed (0: none)") }
        let flowFile = backgroundFile ?? (getenv("OMNI_DATA").map { String(cString: $0) } ?? "../shared/data") + "/nasdaq-itch50-12302019-fixtures/12302019_open0930_1000msgs.NASDAQ_ITCH50"
        if speeds.contains(where: { $0.value > 0 }), access(flowFile, R_OK) != 0 {
            throw ValidationError("--background-file \(flowFile): \(String(cString: strerror(errno))) (set OMNI_DATA, or name a real ITCH day file)")
        }
        let configurations = receivePaths.flatMap { r in orderList.flatMap { o in speeds.map { b in
            TickToTradePath(receive: r, orders: o, backgroundSpeed: b.value > 0 ? b.text : nil)
        } } }
        let veth = receivePaths.contains { $0.hasSuffix("-veth") }
        if veth { try VethPair.setUp() }
        defer { if veth { VethPair.tearDown() } }
        guard count > 0, rounds > 0 else { throw ValidationError("--count and --rounds must be positive") }
        let omni = try selfPath()
        _ = mkdir("bench-data", 0o755); _ = mkdir(out, 0o755)
        var load = [Double](repeating: 0, count: 3)
        _ = getloadavg(&load, 3)
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        print("tick-to-trade: \(count) triggers per configuration, venue on core \(venueCore), trader on core \(traderCore), kernel \(kernel), load \(fixed(load[0], 2)) \(fixed(load[1], 2)) \(fixed(load[2], 2)) on \(csys_online_cores()) cores")
        // Both processes busy-poll a core each: anything else running shares their cores. The
        // load average lags by a minute, so the host's own use is sampled over one second.
        let busyShare = cpuBusyShare(overNs: 1_000_000_000)
        let hostBusy = busyShare > 0.2
        if hostBusy { print("HOST BUSY: \(Int(busyShare * 100)) % of the CPUs busy in the second before measuring: other work shares the cores; the figures below measure the contention, not the path") }
        var rows: [String] = ["round,path,rate,sent,answered,unanswered,p50_ns,p90_ns,p99_ns,p99_9_ns,max_ns,send_lag_p50_ns,send_lag_p99_ns,in_process_p50_ns,in_process_p99_ns,verdict"]
        for round in 0..<rounds {
            for rate in rateList {
                for path in round % 2 == 0 ? configurations : configurations.reversed() {
                    let r = try measure(omni: omni, path: path, rate: rate, round: round, hostBusy: hostBusy, flowFile: flowFile)
                    print(r.line)
                    rows.append(r.csv)
                    fflush(nil)
                }
            }
        }
        // The plot: the last round's histogram of each configuration, read back from the venue's files.
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        var curves: [LatencyCurve] = []
        for (i, path) in configurations.map(\.name).enumerated() {
            for (j, rate) in rateList.enumerated() {
                guard let h = readHistogram(hgrm: "\(out)/\(path)-\(Int(rate)).tick-to-trade.hgrm") else { continue }
                curves.append(LatencyCurve(name: "\(path)-\(Int(rate))", label: "\(path) \(grouped(UInt64(rate)))/s (\(grouped(h.totalCount)))",
                                           color: colors[i % colors.count], dashed: j > 0, histogram: h))
            }
        }
        if !curves.isEmpty {
            let svg = plot ?? "\(out)/tick-to-trade.svg"
            try writePlot(curves, title: "omni bench tick-to-trade: the venue's stamps",
                          subtitle: "trigger due -> the venue reads the answering order; \(count) triggers per configuration\(hostBusy ? "; HOST BUSY" : "")",
                          yLabel: "tick-to-trade", to: svg)
            print("plot        \(svg)")
        }
        if let csv {
            let w = try FileWriter(path: csv)
            try w.write(rows.joined(separator: "\n") + "\n")
            try w.flush()
            print("csv         \(csv)")
        }
    }

    /// The share of all CPUs' time not idle over `ns`, from /proc/stat (0 when it cannot be read).
    func cpuBusyShare(overNs ns: UInt64) -> Double {
        func sample() -> (busy: UInt64, total: UInt64)? {
            guard case .success(let text) = readTextFile("/proc/stat"), let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
            let v = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
            guard v.count >= 5 else { return nil }
            let total = v.reduce(0, +), idle = v[3] + v[4] // idle + iowait
            return (total - idle, total)
        }
        guard let a = sample() else { return 0 }
        usleep(UInt32(ns / 1_000))
        guard let b = sample(), b.total > a.total else { return 0 }
        return Double(b.busy - a.busy) / Double(b.total - a.total)
    }

    func measure(omni: String, path configuration: TickToTradePath, rate: Double, round: Int, hostBusy: Bool, flowFile: String) throws -> TickToTradeRow {
        let path = configuration.name
        let tag = "\(path)-\(Int(rate))"
        let (receivePath, orderPath) = (configuration.receive, configuration.orders)
        let backgroundFlow = configuration.backgroundSpeed.map { ["--background", flowFile, "--background-speed", $0] } ?? []
        let base = 32_000 + Int(getpid() % 8_000)
        let (ouch, fix, mold) = (base, base + 1, base + 2)
        let dir = out
        // Over veth: each side in its namespace, on its end of the pair; else both on loopback.
        let veth = receivePath.hasSuffix("-veth")
        // memif: the venue's DPDK transmit to the trader's DPDK receive over shared memory (the venue serves the socket).
        let memif = receivePath == "memif"
        let via = veth ? String(receivePath.dropLast(5)) : memif ? "dpdk" : receivePath
        let memifSocket = "\(dir)/\(tag).memif.sock"
        let traderVdev = memif ? "net_memif0,role=client,id=0,socket=\(memifSocket)" : "net_af_packet0,iface=lo"
        let venueDpdk = memif ? ["--dpdk-vdev", "net_memif0,role=server,id=0,socket=\(memifSocket)", "--dpdk-core", String(venueCore)] : []
        let busyPoll = orderPath == "busy-poll" ? ["--so-busy-poll", "50"] : []
        let orderTx = orderPath == "io_uring" ? ["--order-tx", "io_uring"] + (sqpollCore.map { ["--sqpoll-core", String($0)] } ?? []) : []
        let (venueIP, traderIP) = veth ? (VethPair.venueIP, VethPair.traderIP) : ("127.0.0.1", "127.0.0.1")
        let (inVenue, inTrader): ([String], [String]) = veth ? (["ip", "netns", "exec", VethPair.venue], ["ip", "netns", "exec", VethPair.trader]) : ([], [])
        try writeTextFile(dir + "/venue.yaml", """
        mold: {line_a: "239.192.79.1:\(mold)", line_b: off, retransmit_port: \(mold), interface: \(venueIP)}
        ouch: {port: \(ouch), host: \(venueIP)}
        fix: {port: \(fix), host: \(venueIP), store: \(dir)/fix}
        """)
        try writeTextFile(dir + "/trader.yaml", """
        venue: {ouch: "\(venueIP):\(ouch)", fix: "\(venueIP):\(fix)"}
        feed: {line_a: "239.192.79.1:\(mold)", line_b: off, retransmit: "\(venueIP):\(mold)", interface: \(traderIP), via: \(via), dpdk_core: \(traderCore), dpdk_vdev: "\(traderVdev)"}
        instruments: [{symbol: AAPL, messages_per_second: 1000000}]
        risk: {messages_per_second: 1000000, max_fills_per_second: 1024}
        strategy: trigger
        core: \(traderCore)
        """)
        let seconds = Double(count) / rate
        let venue = try Child.spawn(inVenue + [omni, "sim", "--config", dir + "/venue.yaml", "--core", String(venueCore), "--triggers", String(rate),
                                     "--trigger-count", String(count), "--seconds", fixed(seconds + 4, 1), "--trigger-hdr", "\(dir)/\(tag)"] + busyPoll + backgroundFlow + venueDpdk,
                                    output: "\(dir)/\(tag).venue.log")
        usleep(500_000)
        let trader = try Child.spawn(inTrader + [omni, "run", "--config", dir + "/trader.yaml", "--seconds", fixed(seconds + 2.5, 1), "--control", "off"]
                                     + (stageStamps ? ["--stage-stamps"] : []) + busyPoll + orderTx,
                                     output: "\(dir)/\(tag).trader.log")
        let traderStatus = trader.wait()
        let venueStatus = venue.wait()
        let v = readText("\(dir)/\(tag).venue.log"), t = readText("\(dir)/\(tag).trader.log")
        guard venueStatus == 0, traderStatus == 0, let lag = figures(v, after: "send lag       "), let counts = triggerCounts(v) else {
            throw ValidationError("\(tag): the venue (exit \(venueStatus)) or the trader (exit \(traderStatus)) failed; see \(dir)/\(tag).venue.log and .trader.log")
        }
        guard let ttt = figures(v, after: "tick-to-trade  ") else {
            // Both ran, nothing was answered: a finding about the path (a trader that could not keep up), not a failed run.
            let why = t.split(separator: "\n").first { $0.contains("kill switch on (") }.map { "; the trader's \($0.drop { $0 == " " })" } ?? ""
            let verdict = "no trigger answered\(why)"
            return TickToTradeRow(line: "\(path.padding(toLength: 24, withPad: " ", startingAt: 0)) \(grouped(UInt64(rate)))/s  answered 0 of \(grouped(counts.sent)): \(verdict); see \(dir)/\(tag).trader.log",
                                  csv: "\(round),\(path),\(Int(rate)),\(counts.sent),0,\(counts.sent),0,0,0,0,0,\(lag[0]),\(lag.count > 2 ? lag[2] : 0),0,0,\(String(verdict.map { $0 == "," ? ";" : $0 }))")
        }
        let inProcess = figures(t, after: "latency     tick-to-trade ") ?? []
        let late = (lag.first ?? 0) > 50_000
        let busy = late || hostBusy
        let verdict = late ? "not measured: the venue itself was \(grouped(lag[0])) ns late at p50 (a busy host, or the path stalls it)" : hostBusy ? "host busy before the runs" : "ok"
        let p = { (i: Int) in ttt.count > i ? grouped(ttt[i]) : "-" }
        let line = "\(path.padding(toLength: 24, withPad: " ", startingAt: 0)) \(grouped(UInt64(rate)))/s  answered \(grouped(counts.answered)) of \(grouped(counts.sent)): p50 \(p(0)) ns, p90 \(p(1)), p99 \(p(2)), p99.9 \(p(3)), max \(p(4)); venue send lag p50 \(grouped(lag[0])) ns; in process p50 \(inProcess.first.map(grouped) ?? "-") ns\(busy ? "  [\(verdict)]" : "")"
            + stageLines(t).map { "\n          " + $0.drop { $0 == " " } }.joined()
        let csv = "\(round),\(path),\(Int(rate)),\(counts.sent),\(counts.answered),\(counts.sent - counts.answered),\(ttt.map(String.init).joined(separator: ",")),\(lag[0]),\(lag.count > 2 ? lag[2] : 0),\(inProcess.first ?? 0),\(inProcess.count > 1 ? inProcess[1] : 0),\(verdict)"
        return TickToTradeRow(line: line, csv: csv)
    }

    /// The trader's per-stage lines (--stage-stamps): the stages, and their means adding up.
    func stageLines(_ log: String) -> [Substring] {
        let lines = log.split(separator: "\n")
        guard let i = lines.firstIndex(where: { $0.hasPrefix("  stages ") }) else { return [] }
        return Array(lines[i..<min(i + 2, lines.count)])
    }

    /// The numbers of the line that starts with `prefix` ("p50 44,991 ns, p90 49,151, ..."): p50, p90, p99, p99.9, max.
    func figures(_ text: String, after prefix: String) -> [UInt64]? {
        let key = prefix.drop { $0 == " " }
        guard let line = text.split(separator: "\n").first(where: { $0.drop { $0 == " " }.hasPrefix(key) }) else { return nil }
        var out: [UInt64] = []
        for word in line.split(separator: " ") {
            let digits = word.filter { $0 != "," && $0 != "(" }
            if let v = UInt64(digits), !word.hasPrefix("(") { out.append(v) }
        }
        return out.isEmpty ? nil : Array(out.prefix(5))
    }

    func triggerCounts(_ text: String) -> (sent: UInt64, answered: UInt64)? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains("triggers    ") && $0.contains("sent,") }) else { return nil }
        let numbers = line.split(separator: " ").compactMap { UInt64($0.filter { $0 != "," }) }
        return numbers.count >= 2 ? (numbers[0], numbers[1]) : nil
    }

    func selfPath() throws -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { throw ValidationError("cannot find this omni binary (/proc/self/exe)") }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func readText(_ path: String) -> String {
        guard case .success(let t) = readTextFile(path) else { return "" }
        return t
    }
}

/// The two namespaces of the -veth paths and the veth pair joining them (`ip`, root).
enum VethPair {
    static let venue = "omni-t2t-venue", trader = "omni-t2t-trader"
    static let venueIP = "10.79.0.1", traderIP = "10.79.0.2"

    static func setUp() throws {
        tearDown() // what a killed run left
        let steps: [[String]] = [
            ["ip", "netns", "add", venue], ["ip", "netns", "add", trader],
            ["ip", "link", "add", "omni-t2t-v", "type", "veth", "peer", "name", "omni-t2t-t"],
            ["ip", "link", "set", "omni-t2t-v", "netns", venue], ["ip", "link", "set", "omni-t2t-t", "netns", trader],
            ["ip", "-n", venue, "addr", "add", venueIP + "/30", "dev", "omni-t2t-v"], ["ip", "-n", trader, "addr", "add", traderIP + "/30", "dev", "omni-t2t-t"],
            ["ip", "-n", venue, "link", "set", "omni-t2t-v", "up"], ["ip", "-n", trader, "link", "set", "omni-t2t-t", "up"],
            ["ip", "-n", venue, "link", "set", "lo", "up"], ["ip", "-n", trader, "link", "set", "lo", "up"],
        ]
        for step in steps {
            let rc = try Child.spawn(step, output: "/dev/null").wait()
            guard rc == 0 else { tearDown(); throw ValidationError("veth paths: `\(step.joined(separator: " "))` failed (exit \(rc)): they need root and iproute2") }
        }
    }

    /// Deletes both namespaces (and with them the pair); quiet when they do not exist.
    static func tearDown() {
        for ns in [venue, trader] { _ = try? Child.spawn(["ip", "netns", "del", ns], output: "/dev/null").wait() }
    }
}

/// A child process whose stdout and stderr go to a file.
struct Child {
    let pid: pid_t

    static func spawn(_ args: [String], output: String) throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, args[0], &actions, nil, &argv, environ) // a bare name is looked up in PATH
        guard rc == 0 else { throw ValidationError("cannot start \(args.joined(separator: " ")): \(String(cString: strerror(rc)))") }
        return Child(pid: pid)
    }

    /// Waits for the child; its exit code (128 + signal when killed).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
