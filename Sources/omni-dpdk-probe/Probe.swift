import ArgumentParser
import CDpdk
import CSys
import OmniDpdk

/// Receives from one DPDK port until the source is exhausted (or a packet / time
/// limit), parses every frame as Ethernet/IPv4/UDP and prints one `key=value`
/// summary line. EAL initialises once per process, so tests run this as a child.
@main
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omni-dpdk-probe",
        abstract: "Receive from a DPDK port (net_pcap, net_null, net_ring) and count UDP frames per destination.",
        discussion: """
            Exactly one source: --pcap FILE, --null or --loopback N; or raw EAL arguments after `--`.
            Prints `probe=ok key=value ...` on success; `probe=eal_failed reason=...` (exit 3) when EAL \
            cannot start here, so callers can tell "no DPDK" from a wrong count.
            """)

    @Option(help: "Plain pcap or pcapng file replayed through net_pcap (not .gz).") var pcap: String?
    @Flag(help: "With --pcap: replay forever (net_pcap infinite_rx=1); needs --seconds or --packets.") var infinite = false
    @Flag(help: "net_null source: endless copies of one stamped UDP frame; needs --seconds or --packets.") var null = false
    @Option(help: "With --null / --loopback: UDP payload bytes per frame.") var framePayload = 22
    @Option(help: "net_ring loopback: transmit this many UDP frames and receive them back, checking every payload byte.") var loopback: Int?
    @Option(help: "EAL -l: the core this process is pinned to.") var core = 0
    @Option(help: "EAL -m: megabytes of DPDK memory.") var memory = 256
    @Option(help: "mbufs in the port's pool (infinite_rx keeps the whole pcap there).") var poolMbufs: UInt32 = 8191
    @Option(help: "Stop after this many frames.") var packets: UInt64?
    @Option(help: "Stop after this many seconds.") var seconds: Double?
    @Option(help: "Frames per rx poll (1...256).") var burst = 32
    @Option(help: "Consecutive empty polls that end the run (a pcap is exhausted).") var idlePolls = 10_000
    @Option(name: .customLong("dest"), help: "GROUP:PORT to count as matched (repeatable; 0 matches any). Default: every UDP frame.") var dests: [String] = []
    @Flag(help: "Print every UDP payload as `payload dst=G:P len=N hex=...` before the summary.") var dump = false
    @Flag(name: .customLong("udp"), help: "Receive through cdpdk_rx_udp instead (parse and --dest filter in C, drops counted by cause): prints probe=ok mode=udp frames= kept= other_udp= non_udp_frames= and a count per cause; --dump prints the kept payloads. Not with --loopback.")
    var udpMode = false
    @Argument(parsing: .postTerminator, help: "Raw EAL arguments (replace the ones the options build).") var eal: [String] = []

    mutating func validate() throws {
        let sources = (pcap != nil ? 1 : 0) + (null ? 1 : 0) + (loopback != nil ? 1 : 0)
        guard sources == 1 || (sources == 0 && !eal.isEmpty) else { throw ValidationError("give exactly one of --pcap, --null, --loopback (or raw EAL args after --)") }
        guard (1...Int(CDPDK_MAX_BURST)).contains(burst) else { throw ValidationError("--burst must be 1...\(CDPDK_MAX_BURST)") }
        if (infinite || null) && packets == nil && seconds == nil { throw ValidationError("an endless source needs --packets or --seconds") }
        guard framePayload >= 8 && framePayload <= 1400 else { throw ValidationError("--frame-payload must be 8...1400") }
        for d in dests where parseDest(d) == nil { throw ValidationError("--dest \(d): expected GROUP:PORT, e.g. 224.2.3.10:16648") }
        if udpMode && loopback != nil { throw ValidationError("--udp receives only: not with --loopback") }
    }

    func run() throws {
        let options: EALOptions
        do {
            if let pcap { options = try .pcap(pcap, infiniteRx: infinite, core: core, memoryMB: memory) }
            else if null { options = EALOptions(cores: String(core), memoryMB: memory, vdevs: ["net_null0,size=\(frameLength)"]) }
            else if loopback != nil { options = EALOptions(cores: String(core), memoryMB: memory, vdevs: ["net_ring0"]) }
            else { options = EALOptions() } // unused: raw EAL arguments
        } catch {
            print("probe=bad_option reason=\(error)")
            throw ExitCode(2)
        }
        do { try EAL.start(arguments: eal.isEmpty ? options.arguments : eal, program: "omni-dpdk-probe") }
        catch {
            print("probe=eal_failed reason=\(error)")
            throw ExitCode(3)
        }
        defer { EAL.stop() }
        var config = DpdkPort.Config()
        config.poolMbufs = poolMbufs
        let port: DpdkPort
        do { port = try DpdkPort(id: 0, config: config) }
        catch {
            print("probe=port_failed reason=\(error)")
            throw ExitCode(4)
        }
        if null { try port.stampPool(with: syntheticFrame(sequence: 0)) }
        if udpMode { return receiveUDP(port) }
        var clock = csys_clock()
        csys_clock_init(&clock, CSYS_CLOCK_TSC, 50)
        var counts = Counts(dests: dests.compactMap(parseDest))
        let started = csys_clock_now(&clock)
        let deadline = seconds.map { started &+ UInt64($0 * Double(clock.hz)) } ?? UInt64.max
        var rx = RxBurst(capacity: burst)
        receive(port, &rx, &counts, clock: clock, deadline: deadline)
        let elapsed = Double(csys_clock_ns(&clock, csys_clock_now(&clock) &- started)) / 1e9
        rx.release()
        let s = port.stats
        var line = "probe=ok port=\(port.name) packets=\(counts.packets) bytes=\(counts.bytes) udp=\(counts.udp)"
        line += " udp_payload_bytes=\(counts.payloadBytes) matched=\(counts.matched) segmented=\(counts.segmented)"
        for st in Int(CN_FRAME_STATUS_MIN)...Int(CN_FRAME_STATUS_MAX) where st != Int(CN_FRAME_UDP.rawValue) {
            line += " \(String(cString: cn_frame_status_name(Int32(st))))=\(counts.byStatus[st - Counts.statusBase])"
        }
        if let loopback { line += " sent=\(counts.sent) loopback=\(loopback) mismatched=\(counts.mismatched)" }
        line += " first_hw_ts=\(counts.firstHwTs) last_hw_ts=\(counts.lastHwTs)"
        line += " ipackets=\(s.ipackets) ibytes=\(s.ibytes) imissed=\(s.imissed) ierrors=\(s.ierrors) rx_nombuf=\(s.rxNoMbuf) opackets=\(s.opackets)"
        let pps = elapsed > 0 ? Double(counts.packets) / elapsed : 0
        line += " seconds=\(fixed(elapsed, 3)) pps=\(Int(pps)) burst=\(burst) lcore=\(cdpdk_lcore())"
        line += " dests=" + (counts.dests == 0 ? "none" : (0..<counts.dests).map {
            "\(dotted(counts.destGroup[$0])):\(counts.destPort[$0])/\(counts.destCount[$0])"
        }.joined(separator: ","))
        print(line)
    }

    var frameLength: Int { max(60, 42 + framePayload) }

    /// A UDP frame to 239.1.1.1:5000 whose payload is the 8-byte big-endian sequence then bytes (seq + i) & 0xFF.
    func syntheticFrame(sequence: UInt64) -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: framePayload)
        fillPayload(&payload, sequence: sequence)
        var frame = [UInt8](repeating: 0, count: frameLength)
        let mac: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0x02, 0, 0, 0, 0, 1)
        // dst_mac all zero: the builder writes the group's 01:00:5e multicast MAC.
        var e = cn_udp_endpoints(dst_mac: (0, 0, 0, 0, 0, 0), src_mac: mac, src_ip: 0x0A00_0001, dst_ip: 0xEF01_0101, src_port: 4000, dst_port: 5000, ip_id: 0, ttl: 1)
        let n = frame.withUnsafeMutableBufferPointer { f in
            cn_eth_pad(f.baseAddress, f.count, cn_put_udp_frame(f.baseAddress, f.count, &e, payload, payload.count))
        }
        precondition(n == frame.count)
        return frame
    }

    /// The poll loop: no allocation per packet, one C call per burst and one inline parse per frame.
    /// Every option is copied to a local first: ArgumentParser's property wrappers cost a
    /// generic-metadata lookup per read, which would dominate a per-packet loop.
    func receive(_ port: borrowing DpdkPort, _ rx: inout RxBurst, _ c: inout Counts, clock: csys_clock, deadline: UInt64) {
        var clock = clock
        let limit = packets ?? UInt64.max, idlePolls = self.idlePolls, dump = self.dump, burst = self.burst
        let loopback = self.loopback ?? 0, checking = self.loopback != nil, framePayload = self.framePayload
        let filtering = self.dests.isEmpty ? 0 : c.filter.count
        var idle = 0
        var view = cn_udp_view()
        var txFrames: [[UInt8]] = []
        while c.packets < limit {
            if c.sent < loopback {
                // Keep at most one burst in flight: net_ring's ring holds 1024 frames.
                txFrames.removeAll(keepingCapacity: true)
                for k in 0..<min(burst, loopback - c.sent) { txFrames.append(syntheticFrame(sequence: UInt64(c.sent + k))) }
                c.sent += send(port, txFrames)
            }
            let n = port.receive(queue: 0, into: &rx)
            if n == 0 {
                idle += 1
                if idle >= idlePolls && c.sent >= loopback { break }
                if csys_clock_now(&clock) >= deadline { break }
                continue
            }
            idle = 0
            for i in 0..<n {
                let p = rx[i]
                c.packets += 1
                c.bytes += UInt64(p.pkt_len)
                if c.firstHwTs == 0 { c.firstHwTs = p.hw_ts }
                c.lastHwTs = p.hw_ts
                if p.len != p.pkt_len { c.segmented += 1 }
                // Frames come whole from the port: one the IPv4 lengths run past is bad_ipv4, not a cut capture.
                let st = cn_parse_udp_whole(p.data, Int(p.len), UInt32(CN_LINK_ETHERNET), &view)
                c.byStatus[Int(st) - Counts.statusBase] += 1
                guard st == CN_FRAME_UDP.rawValue else { continue }
                c.udp += 1
                c.payloadBytes += UInt64(view.payload_len)
                c.count(&view, filtering: filtering)
                if dump { printPayload(view) }
                if checking { c.check(view, framePayload: framePayload) }
            }
            if c.packets & 0x3FF < UInt64(n), csys_clock_now(&clock) >= deadline { break }
        }
    }

    func send(_ port: borrowing DpdkPort, _ frames: [[UInt8]]) -> Int {
        var sent = 0
        for f in frames {
            guard f.withUnsafeBytes({ port.send(frame: $0) }) else { break }
            sent += 1
        }
        return sent
    }

    func printPayload(_ v: cn_udp_view) {
        printPayload(dst: v.dst_ip, port: v.dst_port, UnsafeBufferPointer(start: v.payload, count: Int(v.payload_len)))
    }

    func printPayload(dst: UInt32, port: UInt16, _ bytes: UnsafeBufferPointer<UInt8>) {
        print("payload dst=\(dotted(dst)):\(port) len=\(bytes.count) hex=\(hex(bytes))")
    }

    /// --udp: the feed handler's receive (cdpdk_rx_udp through UDPBurst) until the source is
    /// exhausted or a limit is reached; the summary counts what it kept and what it dropped, by cause.
    func receiveUDP(_ port: borrowing DpdkPort) {
        let wanted = dests.compactMap(parseDest)
        var rx = UDPBurst(capacity: burst, destinations: wanted.isEmpty ? [cn_udp_dest(group: 0, port: 0)] : wanted)
        let limit = packets ?? UInt64.max
        var clock = csys_clock()
        csys_clock_init(&clock, CSYS_CLOCK_TSC, 50)
        let deadline = seconds.map { csys_clock_now(&clock) &+ UInt64($0 * Double(clock.hz)) } ?? UInt64.max
        var kept: UInt64 = 0, keptBytes: UInt64 = 0, idle = 0
        while rx.frames < limit {
            if csys_clock_now(&clock) >= deadline { break } // one TSC read per poll: endless sources stop on --seconds
            let before = rx.frames
            let n = port.receive(into: &rx)
            if rx.frames == before {
                idle += 1
                if idle >= idlePolls { break }
                continue
            }
            idle = 0
            for i in 0..<n {
                let d = rx[i]
                kept += 1
                keptBytes += UInt64(d.len)
                if dump {
                    let dest = wanted.isEmpty ? cn_udp_dest(group: 0, port: 0) : wanted[Int(d.dest)]
                    printPayload(dst: dest.group, port: dest.port, UnsafeBufferPointer(start: d.payload, count: Int(d.len)))
                }
            }
        }
        rx.release()
        var line = "probe=ok mode=udp port=\(port.name) frames=\(rx.frames) kept=\(kept) kept_payload_bytes=\(keptBytes)"
        line += " other_udp=\(rx.otherUDP) non_udp_frames=\(rx.notUDP)" // then per cause, one of which is not_udp (IPv4, not UDP)
        for c in rx.notUDPByCause { line += " \(c.cause)=\(c.frames)" }
        print(line)
    }
}

struct Counts: ~Copyable {
    var packets: UInt64 = 0, bytes: UInt64 = 0, udp: UInt64 = 0, payloadBytes: UInt64 = 0, matched: UInt64 = 0
    var segmented: UInt64 = 0, sent = 0, mismatched: UInt64 = 0, nextSequence: UInt64 = 0
    var firstHwTs: UInt64 = 0, lastHwTs: UInt64 = 0
    // Fixed buffers, not arrays: an array mutated per packet pays a uniqueness check each time.
    /// byStatus[status - statusBase]: cn_frame_status spans CN_FRAME_STATUS_MIN...CN_FRAME_STATUS_MAX.
    static let statusBase = Int(CN_FRAME_STATUS_MIN)
    let byStatus = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: Int(CN_FRAME_STATUS_MAX) - Counts.statusBase + 1)
    let filter: UnsafeMutableBufferPointer<cn_udp_dest>
    // Per-destination counts: a few feeds' groups, searched linearly; capped so a flood of odd destinations cannot grow it.
    static let maxDests = 64
    let destGroup = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: Counts.maxDests)
    let destPort = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: Counts.maxDests)
    let destCount = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: Counts.maxDests)
    var dests = 0

    init(dests wanted: [cn_udp_dest]) {
        byStatus.initialize(repeating: 0)
        filter = .allocate(capacity: max(1, wanted.count))
        _ = filter.initialize(from: wanted)
    }

    deinit {
        byStatus.deallocate(); filter.deallocate()
        destGroup.deallocate(); destPort.deallocate(); destCount.deallocate()
    }

    @inline(__always)
    mutating func count(_ v: inout cn_udp_view, filtering: Int) {
        if filtering == 0 || cn_udp_match(&v, filter.baseAddress, UInt32(filtering)) >= 0 { matched += 1 }
        for i in 0..<dests where destGroup[i] == v.dst_ip && destPort[i] == v.dst_port {
            destCount[i] += 1
            return
        }
        if dests < Counts.maxDests { destGroup[dests] = v.dst_ip; destPort[dests] = v.dst_port; destCount[dests] = 1; dests += 1 }
    }

    /// Loopback: payloads must come back in order, byte for byte as syntheticFrame wrote them.
    mutating func check(_ v: cn_udp_view, framePayload: Int) {
        var expected = [UInt8](repeating: 0, count: framePayload)
        fillPayload(&expected, sequence: nextSequence)
        nextSequence += 1
        let got = UnsafeBufferPointer(start: v.payload, count: Int(v.payload_len))
        if !got.elementsEqual(expected) { mismatched += 1 }
    }
}

func fillPayload(_ p: inout [UInt8], sequence: UInt64) {
    for k in 0..<8 { p[k] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(k))) }
    for k in 8..<p.count { p[k] = UInt8(truncatingIfNeeded: sequence &+ UInt64(k)) }
}

func parseDest(_ s: String) -> cn_udp_dest? {
    let parts = s.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
    if parts[0] == "0" { return cn_udp_dest(group: 0, port: port) }
    let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
    guard octets.count == 4 else { return nil }
    return cn_udp_dest(group: octets.reduce(0) { $0 << 8 | UInt32($1) }, port: port)
}

func dotted(_ ip: UInt32) -> String { "\(ip >> 24).\((ip >> 16) & 0xFF).\((ip >> 8) & 0xFF).\(ip & 0xFF)" }

func hex(_ b: UnsafeBufferPointer<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(b.count * 2)
    for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 0xF)]) }
    return String(decoding: out, as: UTF8.self)
}

func fixed(_ x: Double, _ places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let v = Int((x * scale).rounded())
    let frac = String(v % Int(scale))
    return "\(v / Int(scale)).\(String(repeating: "0", count: places - frac.count))\(frac)"
}
