import OmniCore
import OmniLab
import OmniVenue
import CNet
import CWire
import Foundation
import OmniFeed
import OmniNet
import SharedTestData
import Testing

/// EAL initialises once per process, so every `--via dpdk` run is its own child process.
extension OmniTool {
    /// The core EAL pins `omni listen --via dpdk` to: OMNI_DPDK_CORE, else the last online one.
    static let core = ProcessInfo.processInfo.environment["OMNI_DPDK_CORE"].flatMap { Int($0) }
        ?? max(0, sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1)

    struct Run {
        var status: Int32
        var out: String
        var err: String
        var lines: [String] { out.split(separator: "\n").map(String.init) }
        /// The summary line that starts with `key` (the summary's left column).
        func line(_ key: String) -> String? { lines.first { $0.hasPrefix(key + " ") } }
    }

    /// Cancels the calling test when the tool is not built.
    static func run(_ args: [String], timeout: TimeInterval = 60) throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            try Test.cancel("omni not built at \(binary): run `swift build` first")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let outFile = temporaryPath("out-\(UUID().uuidString)"), errFile = temporaryPath("err-\(UUID().uuidString)")
        _ = try? Data().write(to: URL(fileURLWithPath: outFile))
        _ = try? Data().write(to: URL(fileURLWithPath: errFile))
        defer { try? FileManager.default.removeItem(atPath: outFile); try? FileManager.default.removeItem(atPath: errFile) }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            Issue.record("omni \(args.joined(separator: " ")) ran past \(timeout) s and was stopped")
        }
        p.waitUntilExit()
        return Run(status: p.terminationStatus,
                   out: (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "",
                   err: (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "")
    }
}

/// 1234567 -> "1,234,567", as the summaries print counts.
func thousands(_ n: UInt64) -> String {
    let d = Array(String(n))
    return String(d.enumerated().flatMap { i, c in (i > 0 && (d.count - i) % 3 == 0) ? [",", c] : [c] })
}

func temporaryPath(_ name: String) -> String {
    TestScratch.path("listen-\(name)")
}

/// Records what `omni publish` would send for `day` (line A and B, `lossA` dropped on A only,
/// three end-of-session packets per line) into a pcap: the publisher runs in a private network
/// namespace (its multicast goes nowhere), its recorder writes every frame it sent. Between the
/// feed's frames sit frames the DPDK path must skip: an ARP frame and UDP to another port.
/// Returns the packets and frames written.
func recordMoldCapture(day: String, to path: String, lossA: Double, seed: UInt64) throws -> (mold: UInt64, noise: Int, droppedA: UInt64) {
    try NetworkNamespace.privateLoopback.run {
        let input = try MappedInput(path: day)
        return try withExtendedLifetime(input) {
            var pc = MoldPublisherConfig(lineA: groupA)
            pc.lineB = groupB
            pc.lossA = lossA
            pc.seed = seed
            var pub = try MoldPublisher(pc, input: input.bytes)
            let w = try PcapWriter(path: path)
            pub.recorder = w
            var noise = 0
            var packets = 0
            while !pub.finished {
                try pub.sendNext(maxMessages: 3)
                packets += 1
                if packets % 50 == 7 {
                    var arp = [UInt8](repeating: 0, count: 60)
                    arp[12] = 0x08; arp[13] = 0x06
                    try arp.withUnsafeBytes { try w.write(frame: $0, timestampNs: 1) }
                    let junk: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
                    try junk.withUnsafeBytes {
                        try w.writeUDP(payload: $0, timestampNs: 2, endpoints: UDPEndpoints(
                            sourceIP: 0x7f00_0001, destinationIP: 0xEF01_0101, sourcePort: 9, destinationPort: 31009))
                    }
                    noise += 2
                }
            }
            try pub.sendEndOfSession()
            try w.flush()
            #expect(pub.recordError == nil)
            return (w.records - UInt64(noise), noise, pub.counters.dropped[0])
        }
    }
}

@Suite("omni listen --via dpdk: a net_pcap vdev replays a recorded MoldUDP64 capture", .serialized)
struct DpdkListenTests {
    @Test("DPDK pcap vdev path delivers the same messages as the file reader on the same capture",
          .enabled(if: RealData.present, RealData.skipReason),
          arguments: ["12302019_open0930_1000msgs.NASDAQ_ITCH50", "12302019_0400_first500_orderflow.NASDAQ_ITCH50"])
    func sameMessagesAsFileReader(file: String) throws {
        let day = RealData.path(file)
        let capture = temporaryPath("\(file).pcap")
        let listenCSV = temporaryPath("\(file).listen.csv")
        let dayCSV = temporaryPath("\(file).day.csv")
        let captureCSV = temporaryPath("\(file).capture.csv")
        defer { for p in [capture, listenCSV, dayCSV, captureCSV] { try? FileManager.default.removeItem(atPath: p) } }

        let rec = try recordMoldCapture(day: day, to: capture, lossA: 0.03, seed: 4)
        #expect(rec.droppedA > 0, "the seed should drop some of line A")
        let ref = try reference(day)

        let listen = try OmniTool.run([
            "listen", "--via", "dpdk", "--dpdk-vdev", "net_pcap0,rx_pcap=\(capture)", "--dpdk-core", String(OmniTool.core), "--huge-pages", "off",
            "--group", "\(groupA.group):\(groupA.port)", "--line-b", "\(groupB.group):\(groupB.port)",
            "--until-end", "--seconds", "30", "--bbo-csv", listenCSV,
        ])
        if listen.out.isEmpty && listen.err.contains("EAL") && listen.status != 0 {
            try Test.cancel("DPDK EAL cannot start on this machine: \(listen.err.suffix(400))")
        }
        #expect(listen.status == 0, "omni listen: \(listen.err)")
        let replayDay = try OmniTool.run(["replay", day, "--bbo-csv", dayCSV])
        let replayCapture = try OmniTool.run(["replay", capture, "--bbo-csv", captureCSV])
        #expect(replayDay.status == 0 && replayCapture.status == 0)

        // Every message once, in order: all of them delivered, none twice, no gap, end of session reached.
        let n = ref.messages
        #expect(listen.line("delivered")?.hasPrefix("delivered   \(thousands(n)) messages;") == true, "\(listen.out)")
        #expect(listen.line("gaps")?.hasPrefix("gaps        0 seen") == true, "\(listen.out)")
        #expect(listen.line("state") == "state       finished at end; expected \(n + 1), high water \(n + 1), end of session at \(n + 1)", "\(listen.out)")
        #expect(listen.line("latency")?.hasPrefix("latency     receive to book update, \(thousands(n)) messages") == true)
        #expect(listen.line("books") == "books stale no")
        #expect(listen.lines.contains("malformed   0 packets, 0 wrong session, 0 implausible sequence, 0 truncated"), "\(listen.out)")
        // Line B fills what line A lost, so line A shows jumps and B's copies of A's packets are duplicates.
        #expect(listen.line("line A")?.contains(" 0 jumps") == false, "\(listen.out)")
        #expect(listen.line("line B")?.contains(", 0 jumps") == true, "\(listen.out)")
        // The DPDK port skipped exactly the noise, and saw every recorded frame up to the first end of
        // session (--until-end stops there: of the 3 + 3 end-of-session copies, the rest of the last burst at most).
        let dpdk = listen.line("dpdk") ?? ""
        #expect(dpdk.contains(" frames, \(rec.noise / 2) other UDP, \(rec.noise / 2) not UDP (not_ipv4 \(rec.noise / 2))"), "\(dpdk)")
        let frames = dpdk.split(separator: ": ").last.flatMap { UInt64($0.split(separator: " ")[0].filter { $0 != "," }) } ?? 0
        let recorded = rec.mold + UInt64(rec.noise)
        #expect(frames >= recorded - 5 && frames <= recorded, "\(frames) of \(recorded) frames")
        // The same ITCH counts by type as omni replay of the day file (the summary's shared lines).
        for key in ["messages", "unknown ref", "live orders"] {
            #expect(listen.line(key) != nil && listen.line(key) == replayDay.line(key), "\(key)")
        }
        // The BBO stream: identical to omni replay of the day file and of the capture through the file reader.
        let listenRows = try String(contentsOfFile: listenCSV, encoding: .utf8)
        let dayRows = try String(contentsOfFile: dayCSV, encoding: .utf8)
        let captureRows = try String(contentsOfFile: captureCSV, encoding: .utf8)
        #expect(dayRows.split(separator: "\n").count > 10, "the fixture should move some BBOs")
        #expect(listenRows == dayRows)
        #expect(captureRows == dayRows)
        #expect(replayCapture.out.contains("moldudp64"), "omni replay read the capture as MoldUDP64: \(replayCapture.out)")
    }

    @Test("omni bench feed: every path delivers every looped message once, in order, onto books that empty each pass",
          .enabled(if: RealData.present, RealData.skipReason), arguments: [1, 3])
    func benchFeedChecks(messagesPerPacket: Int) throws {
        let day = RealData.path("12302019_open0930_1000msgs.NASDAQ_ITCH50")
        let r = try OmniTool.run(["bench", "feed", day, "--messages-per-packet", String(messagesPerPacket),
                                  "--packets", "5000", "--rounds", "2", "--core", String(OmniTool.core),
                                  "--huge-pages", "off"]) // the pool is benchFeedOnHugePages' alone: tests run side by side
        if r.status != 0 && r.err.contains("EAL") && !r.out.contains("check") {
            try Test.cancel("DPDK EAL cannot start on this machine: \(r.err.suffix(400))")
        }
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        // 1,000 real messages leave 532 orders resting: as many cleanup deletes close each pass.
        #expect(r.line("file")?.contains("1,000 messages + 532 cleanup deletes per pass") == true, "\(r.out)")
        let checks = r.lines.filter { $0.hasPrefix("check ") }
        #expect(checks.count == 3 && checks.allSatisfy { $0.hasSuffix(": ok") }, "\(r.out)")
        #expect(r.line("port")?.hasSuffix("rx_nombuf 0; frames not ours 0") == true, "\(r.out)")
        for path in ["dpdk", "session", "reader"] { #expect(r.line(path)?.contains(" ns/packet") == true) }
    }

    @Test("omni bench feed --huge-pages on: runs on hugepages when enough are reserved, else refuses and says how many are missing",
          .enabled(if: RealData.present, RealData.skipReason))
    func benchFeedOnHugePages() throws {
        let day = RealData.path("12302019_open0930_1000msgs.NASDAQ_ITCH50")
        let r = try OmniTool.run(["bench", "feed", day, "--packets", "5000", "--rounds", "1", "--core", String(OmniTool.core),
                                  "--huge-pages", "on"])
        if r.status == 0 {
            #expect(r.line("eal")?.hasSuffix("MB on hugepages (--in-memory)") == true, "\(r.out)")
            #expect(r.lines.filter { $0.hasPrefix("check ") }.allSatisfy { $0.hasSuffix(": ok") }, "\(r.out)")
        } else {
            // Refused before EAL starts: the shortfall is named, with the way to reserve more.
            #expect(r.err.contains("MB of hugepages needed, ") && r.err.contains(" MB free") && r.err.contains("make hugepages"), "\(r.err)")
            #expect(!r.out.contains("check "), "\(r.out)")
        }
    }
}
