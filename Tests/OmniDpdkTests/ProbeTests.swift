import Foundation
import OmniDpdk
import OmniFeed
import SharedTestData
import Testing

/// Runs omni-dpdk-probe (built beside the test binary) and parses its summary line.
/// EAL initialises once per process, so every DPDK run is its own child process.
enum ProbeRun {
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("omni-dpdk-probe").path
    }()
    /// The core EAL pins the probe to: OMNI_DPDK_CORE, else the last online one.
    static let core = ProcessInfo.processInfo.environment["OMNI_DPDK_CORE"].flatMap { Int($0) }
        ?? max(0, sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1)

    struct Result {
        var summary: [String: String]
        var payloadLines: [String]
        func int(_ key: String) -> Int? { summary[key].flatMap { Int($0) } }
    }

    /// Cancels the calling test, saying why, when the probe is missing or DPDK's EAL cannot start here.
    static func run(_ args: [String]) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            try Test.cancel("omni-dpdk-probe not built at \(binary): run `swift build` first")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args + ["--core", String(core)]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let last = lines.last(where: { $0.hasPrefix("probe=") }) else {
            Issue.record("probe printed no summary (exit \(p.terminationStatus)); stderr: \(errText)")
            return Result(summary: [:], payloadLines: [])
        }
        if last.hasPrefix("probe=eal_failed") {
            try Test.cancel("DPDK EAL cannot start on this machine, skipping: \(last.dropFirst("probe=eal_failed reason=".count))")
        }
        var kv: [String: String] = [:]
        for field in last.split(separator: " ") {
            guard let eq = field.firstIndex(of: "=") else { continue }
            kv[String(field[..<eq])] = String(field[field.index(after: eq)...])
        }
        #expect(p.terminationStatus == 0, "probe exit \(p.terminationStatus): \(last) \(errText)")
        return Result(summary: kv, payloadLines: lines.filter { $0.hasPrefix("payload ") })
    }
}

func temporaryFile(_ name: String) -> String {
    TestScratch.path("dpdk-\(name)")
}

/// net_pcap reads plain files only: inflate a .gz fixture into a temp file (OmniFeed's MappedInput does the inflating).
func inflated(_ gz: String, to name: String) throws -> (path: String, bytes: Int) {
    let input = try MappedInput(path: gz)
    let path = temporaryFile(name)
    try withExtendedLifetime(input) { try Data(input.bytes).write(to: URL(fileURLWithPath: path)) }
    return (path, input.bytes.count)
}

@Suite("DPDK rx through virtual devices (omni-dpdk-probe subprocess)", .serialized)
struct ProbeTests {
    @Test(.enabled(if: IEXData.present, IEXData.skipReason))
    func deep10ThroughNetPcapMatchesProvenance() throws {
        let (path, size) = try inflated(IEXData.dir + "/DEEP10.pcap.gz", to: "DEEP10.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try ProbeRun.run(["--pcap", path, "--dest", "224.2.3.10:16648"])
        #expect(r.summary["probe"] == "ok")
        #expect(r.int("packets") == 121_314)
        #expect(r.int("udp") == 121_314 && r.int("matched") == 121_314)
        #expect(r.summary["dests"] == "224.2.3.10:16648/121314")
        // Every complete record's bytes: the file less its 24-byte header, 16 bytes per record
        // header, and the truncated last record (16 + 460 bytes), which net_pcap counts as one rx error.
        #expect(r.int("bytes") == size - 24 - 16 * 121_314 - (16 + 460))
        #expect(r.int("ierrors") == 1)
        #expect(r.int("rx_nombuf") == 0 && r.int("segmented") == 0)
        // net_pcap stamps the capture time in microseconds: the first record is 2017-04-25 15:03:18.746881 UTC.
        #expect(r.int("first_hw_ts") == 1_493_132_598_746_881)
    }

    @Test(.enabled(if: IEXData.present, IEXData.skipReason))
    func tops16PcapngThroughNetPcapMatchesProvenance() throws {
        let (path, _) = try inflated(IEXData.dir + "/TOPS16.pcapng.gz", to: "TOPS16.pcapng")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try ProbeRun.run(["--pcap", path])
        #expect(r.summary["probe"] == "ok")
        #expect(r.int("packets") == 13_022 && r.int("udp") == 13_022)
        #expect(r.summary["dests"] == "224.67.0.199:16642/13022")
        #expect(r.int("ierrors") == 0)
        #expect(r.int("first_hw_ts").map { $0 / 1_000_000 } == 1_499_697_138)  // 2017-07-10 14:32:18 UTC
    }

    @Test func handWrittenPcapDeliversEveryPayloadByteAndNamesTheRest() throws {
        let big = (0..<1400).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let udp: [(frame: [UInt8], dest: String, payload: [UInt8])] = [
            (udpFrame(payload: Array("first".utf8)), "224.0.1.2:3000", Array("first".utf8)),
            (udpFrame(vlan: 42, dst: [239, 9, 8, 7], port: 16648, payload: [0xde, 0xad, 0xbe, 0xef]), "239.9.8.7:16648", [0xde, 0xad, 0xbe, 0xef]),
            (udpFrame(payload: []), "224.0.1.2:3000", []),
            (udpFrame(payload: big), "224.0.1.2:3000", big),
        ]
        var arp = udpFrame(payload: [1]); arp[12] = 0x08; arp[13] = 0x06
        var tcp = udpFrame(payload: [1]); tcp[23] = 6
        var frag = udpFrame(payload: [1]); frag[20] = 0x20
        // Ethernet padding after a short UDP payload must not leak into it.
        let padded = udpFrame(payload: [7, 7]) + [UInt8](repeating: 0xEE, count: 60 - 44)
        let frames = [udp[0].frame, arp, udp[1].frame, tcp, udp[2].frame, frag, padded, udp[3].frame]
        let path = temporaryFile("hand.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try pcapFile(frames).write(to: URL(fileURLWithPath: path))

        let r = try ProbeRun.run(["--pcap", path, "--dump", "--dest", "224.0.1.2:3000"])
        #expect(r.int("packets") == frames.count)
        #expect(r.int("bytes") == frames.reduce(0) { $0 + $1.count })
        #expect(r.int("udp") == 5 && r.int("matched") == 4)
        #expect(r.int("not_ipv4") == 1 && r.int("not_udp") == 1 && r.int("fragment") == 1 && r.int("short") == 0)
        let expected = [udp[0], udp[1], udp[2], ([], "224.0.1.2:3000", [7, 7]), udp[3]].map {
            "payload dst=\($0.dest) len=\($0.payload.count) hex=\($0.payload.map { String(format: "%02x", $0) }.joined())"
        }
        #expect(r.payloadLines == expected)
        #expect(r.int("udp_payload_bytes") == 5 + 4 + 0 + 2 + 1400)
    }

    @Test("cdpdk_rx_udp keeps the datagrams for its groups whole and counts every other frame by cause")
    func feedReceiveKeepsOursAndCountsTheRest() throws {
        let big = (0..<1400).map { UInt8(truncatingIfNeeded: $0 * 3) }
        var arp = udpFrame(payload: [1]); arp[12] = 0x08; arp[13] = 0x06
        var tcp = udpFrame(payload: [1]); tcp[23] = 6
        var frag = udpFrame(payload: [1]); frag[20] = 0x20
        let cut = Array(udpFrame(payload: [1, 2, 3])[..<30])         // ends inside the IPv4 header
        var liar = udpFrame(payload: [1, 2, 3]); liar[17] = 0xFF      // IPv4 total length past the frame
        let padded = udpFrame(payload: [7, 7]) + [UInt8](repeating: 0xEE, count: 60 - 44)
        let frames = [udpFrame(payload: Array("first".utf8)), arp, udpFrame(vlan: 42, dst: [239, 9, 8, 7], port: 16648, payload: [0xde, 0xad]),
                      tcp, udpFrame(payload: []), frag, cut, padded, liar, udpFrame(payload: big)]
        let path = temporaryFile("udp.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try pcapFile(frames).write(to: URL(fileURLWithPath: path))

        let r = try ProbeRun.run(["--pcap", path, "--udp", "--dump", "--dest", "224.0.1.2:3000"])
        #expect(r.summary["mode"] == "udp")
        #expect(r.int("frames") == frames.count && r.int("kept") == 4 && r.int("other_udp") == 1, "\(r.summary)")
        #expect(r.int("non_udp_frames") == 5 && r.int("not_ipv4") == 1 && r.int("not_udp") == 1, "\(r.summary)")
        #expect(r.summary["fragment"] == "1" && r.summary["short"] == "1" && r.summary["bad_ipv4"] == "1", "\(r.summary)")
        let expected = [Array("first".utf8), [], [7, 7], big].map {
            "payload dst=224.0.1.2:3000 len=\($0.count) hex=\($0.map { String(format: "%02x", $0) }.joined())"
        }
        #expect(r.payloadLines == expected)
        #expect(r.int("kept_payload_bytes") == 5 + 0 + 2 + 1400)
        #expect(r.int("rx_nombuf") == nil) // the --udp summary is its own, not the raw one
    }

    @Test func netRingLoopbackReturnsEveryTransmittedByte() throws {
        let r = try ProbeRun.run(["--loopback", "3000", "--frame-payload", "300"])
        #expect(r.summary["port"] == "net_ring0")
        #expect(r.int("sent") == 3000 && r.int("opackets") == 3000)
        #expect(r.int("packets") == 3000 && r.int("udp") == 3000 && r.int("mismatched") == 0)
        #expect(r.int("udp_payload_bytes") == 3000 * 300)
        #expect(r.summary["dests"] == "239.1.1.1:5000/3000")
    }

    @Test func netNullStampedPoolIsAnEndlessUDPSource() throws {
        let r = try ProbeRun.run(["--null", "--packets", "200000", "--frame-payload", "100"])
        #expect(r.summary["port"] == "net_null0")
        let n = r.int("packets") ?? 0
        #expect(n >= 200_000 && n < 200_000 + 256)  // stops within one burst of the limit
        #expect(r.int("udp") == n && r.int("bytes") == n * 142)
        #expect(r.int("rx_nombuf") == 0)
    }

    @Test("cdpdk_rx_udp on an endless source: every frame kept, and --seconds ends the run")
    func feedReceiveOnNetNullStopsOnTime() throws {
        // --packets is the backstop: a run that ignored --seconds would stop there, far past 0.3 s of frames.
        let r = try ProbeRun.run(["--null", "--udp", "--seconds", "0.3", "--packets", "500000000", "--frame-payload", "100",
                                  "--dest", "239.1.1.1:5000"])
        let n = r.int("frames") ?? 0
        #expect(n < 100_000_000, "the run ignored --seconds: \(n) frames")
        #expect(n > 1000 && r.int("kept") == n && r.int("kept_payload_bytes") == n * 100, "\(r.summary)")
        #expect(r.int("other_udp") == 0 && r.int("non_udp_frames") == 0)
    }

    @Test func ealFailureIsReportedNotCrashed() throws {
        // A core that does not exist: EAL refuses (and prints its usage text), the probe says so last and exits 3.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ProbeRun.binary)
        guard FileManager.default.isExecutableFile(atPath: ProbeRun.binary) else { try Test.cancel("omni-dpdk-probe not built") }
        p.arguments = ["--null", "--packets", "1", "--core", "4095"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 3)
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("probe=eal_failed reason=DPDK EAL init failed: rte_eal_init failed"))
    }
}

@Suite("EAL options")
struct EALOptionsTests {
    @Test func pcapOptionsBuildTheVdev() throws {
        let path = temporaryFile("opt.pcap")
        try pcapFile([]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let o = try EALOptions.pcap(path, infiniteRx: true, core: 1)
        #expect(o.arguments == ["-l", "1", "-m", "256", "--no-shconf", "--no-telemetry", "--no-huge", "--no-pci",
                                "--log-level=*:warning", "--vdev=net_pcap0,rx_pcap=\(path),infinite_rx=1"])
    }

    @Test func hugePagesRunInMemoryInsteadOfNoHuge() throws {
        var o = EALOptions.null(core: 0)
        o.hugePages = true
        #expect(o.arguments.contains("--in-memory") && !o.arguments.contains("--no-huge"), "\(o.arguments)")
        o.hugePages = false
        #expect(!o.arguments.contains("--in-memory") && o.arguments.contains("--no-huge"), "\(o.arguments)")
    }

    @Test func unusablePcapPathsAreNamed() {
        #expect(throws: DpdkError.badOption("net_pcap reads plain pcap or pcapng files: decompress /x/a.pcap.gz first")) {
            try EALOptions.pcap("/x/a.pcap.gz")
        }
        #expect(throws: DpdkError.self) { try EALOptions.pcap("/x/a,b.pcap") }
        #expect(throws: DpdkError.self) { try EALOptions.pcap("/no/such/file.pcap") }
    }
}

/// A classic little-endian microsecond pcap (Ethernet link type) holding `frames`.
func pcapFile(_ frames: [[UInt8]]) -> Data {
    var d = Data()
    func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    le32(0xA1B2_C3D4); le16(2); le16(4); le32(0); le32(0); le32(65535); le32(1)
    for (i, f) in frames.enumerated() {
        le32(1_700_000_000); le32(UInt32(i)); le32(UInt32(f.count)); le32(UInt32(f.count))
        d.append(contentsOf: f)
    }
    return d
}
