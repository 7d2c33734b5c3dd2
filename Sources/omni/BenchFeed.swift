import ArgumentParser
import CNet
import CSys
import CWire
import OmniBench
import OmniCore
import OmniDpdk
import OmniFeed

#if canImport(Glibc)
import Glibc
#endif

/// `omni bench feed`: packets/s of the DPDK receive path into books against the file reader,
/// on one core, in one run. A subcommand rather than a package-benchmark target because EAL
/// initialises once per process and pins the caller to its core: one process measures every
/// path on that core, back to back, under the same conditions.
struct BenchFeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "DPDK rx -> frame parse -> MoldUDP64 session -> ITCH decode -> books on one core, against the file reader.",
        discussion: """
        The ITCH day FILE (a real fixture, e.g. 12302019_open0930_1000msgs.NASDAQ_ITCH50) becomes one \
        "pass": its messages, then one synthetic ITCH delete (D) for every order they leave resting, so \
        each pass ends on empty books and every pass does the same book work (orders the fixture \
        references but never adds stay unknown in every pass). The pass is packed into MoldUDP64 \
        packets of --messages-per-packet messages (at most 1400 bytes), wrapped in Ethernet/IPv4/UDP to \
        239.1.1.1:31001 and written to a pcap, replayed by a net_pcap vdev with infinite_rx=1 (the \
        driver copies each stored frame into a fresh mbuf per rx, as a NIC's DMA would land it).

        Looping repeats sequence numbers, so every path rewrites the MoldUDP64 sequence of every \
        packet before the session sees it (one 8-byte big-endian load, add and store in the packet's \
        header): pass p carries sequences p * M + 1 ... (p + 1) * M for M messages per pass. The \
        session therefore sees one endless gap-free stream; nothing is reset between passes.

        Four paths, on the core EAL pins this thread to (--core), each with its own session and books:
          dpdk     rx_burst (--burst) -> cn_parse_udp_whole + cn_udp_match -> sequence rewrite -> \
        MoldSession.receive -> MoldITCHConsumer -> ITCHReplay (ITCH decode, CBook) ;
          session  the same UDP payloads from memory -> sequence rewrite -> the same session/consumer/books ;
          reader   the same payloads from memory -> sequence rewrite -> MoldPacketReader -> ITCHReplay \
        (the file reader of `omni replay CAPTURE`);
          rx only  rx_burst -> parse + match -> sequence rewrite, no session: the driver's and the parse's         share (whole passes only, the tail through a one-frame burst, so the dpdk path's stream is not cut).
        Each round runs every path for --packets packets (order reversed in odd rounds); the report \
        gives median ns/packet and packets/s per path and the per-packet overhead of dpdk over reader \
        and over session (median of per-round differences). Receive-to-book latency is not recorded \
        here (see omni listen). After the rounds every path is checked: no gap, no duplicate, no \
        malformed packet, every message delivered, books not stale.
        """
    )

    @Argument(help: "ITCH 5.0 day file ([u16 length][message]...), plain or .gz.") var file: String
    @Option(name: .customLong("messages-per-packet"), help: "ITCH messages per MoldUDP64 packet (NASDAQ's feed averages 1-2).")
    var messagesPerPacket = 1
    @Option(help: "Packets per path per round.") var packets: UInt64 = 10_000_000
    @Option(help: "Rounds.") var rounds = 5
    @Option(help: "Frames per rx_burst (1...256).") var burst = 32
    @Option(help: "EAL -l: the core this thread is pinned to (default: the last online core).") var core: Int?
    @Option(help: "Keep the capture at this path (default: a temporary file, removed at the end).") var pcap: String?
    @Option(name: .customLong("huge-pages"), help: HugePageChoice.help) var hugePages: HugePageChoice = .auto
    @Flag(name: .customLong("memory-only"), help: "Only the session and reader paths, from memory, without EAL (for profilers such as callgrind).")
    var memoryOnly = false

    func validate() throws {
        guard messagesPerPacket >= 1 && messagesPerPacket <= 1000 else { throw ValidationError("--messages-per-packet must be 1...1000") }
        guard (1...256).contains(burst) else { throw ValidationError("--burst must be 1...256") }
        guard rounds >= 1 && packets >= 1000 else { throw ValidationError("--rounds >= 1 and --packets >= 1000") }
    }

    func run() throws {
        let input = try MappedInput(path: file)
        let pass = try withExtendedLifetime(input) { try FeedPass(day: input.bytes, messagesPerPacket: messagesPerPacket) }
        if memoryOnly { return try measureFromMemory(pass) }
        let capturePath = pcap ?? "/tmp/omni-bench-feed-\(getpid()).pcap"
        try pass.writeCapture(to: capturePath)
        defer { if pcap == nil { unlink(capturePath) } }
        let core = self.core ?? max(0, sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1)

        var portConfig = DpdkPort.Config()
        portConfig.poolMbufs = UInt32(max(8191, pass.packetCount + 4096)) // infinite_rx holds the whole capture in the pool
        // The pool (an mbuf: 64 B pool header, 128 B struct, data room) plus 64 MB for rings and the driver.
        let poolMB = (Int(portConfig.poolMbufs) * (192 + Int(portConfig.dataRoom))) >> 20
        var eal = try EALOptions.pcap(capturePath, infiniteRx: true, core: core, memoryMB: poolMB + 64)
        let memoryLine = try HugePageChoice.apply(hugePages, to: &eal)
        try EAL.start(eal)
        defer { EAL.stop() }
        let port = try DpdkPort(id: 0, config: portConfig)
        let ours = [cn_udp_dest(group: FeedPass.group, port: FeedPass.port)]
        var rx = UDPBurst(capacity: burst, destinations: ours)
        var one = UDPBurst(capacity: 1, destinations: ours)

        var dpdk = try FeedPathState(pass, cumulative: true)
        var memory = try MemoryPaths(pass)
        let clock = TickClock()

        // Warm-up: two passes on every path (page faults, first book levels, branch predictors).
        _ = benchDpdk(port, &rx, &dpdk, UInt64(pass.packetCount * 2))
        memory.warm()

        let n = packets
        let rxPasses = max(1, n / UInt64(pass.packetCount))
        _ = benchRx(port, &rx, &one, &dpdk, passes: 1)
        var t: [[Double]] = [[], [], [], []]
        for r in 0..<rounds {
            let order = r % 2 == 0 ? [0, 1, 2, 3] : [3, 2, 1, 0]
            for path in order {
                switch path {
                case 0:
                    let (ticks, got) = benchDpdk(port, &rx, &dpdk, n)
                    t[0].append(clock.ns(ticks, got))
                case 1: t[1].append(clock.ns(memory.timeSession(n), n))
                case 2: t[2].append(clock.ns(memory.timeReader(n), n))
                default:
                    let (ticks, got) = benchRx(port, &rx, &one, &dpdk, passes: rxPasses)
                    t[3].append(clock.ns(ticks, got))
                }
            }
        }
        rx.release()
        one.release()
        dpdk.otherFrames &+= rx.otherUDP &+ rx.notUDP &+ one.otherUDP &+ one.notUDP
        let stats = port.stats

        let report = feedReport(pass, capture: capturePath, core: core, eal: memoryLine, times: t,
                                port: "port        ipackets \(grouped(stats.ipackets)), imissed \(stats.imissed), ierrors \(stats.ierrors), rx_nombuf \(stats.rxNoMbuf); frames not ours \(dpdk.otherFrames)",
                                dpdk: dpdk, memory: memory)
        print(report.text)
        if !report.ok { throw ExitCode(1) }
    }
}

extension BenchFeed: FeedBenchOptions {}

/// DPDK rx -> parse -> session -> books for `packets` packets (whole bursts); TSC ticks taken.
@inline(never)
func benchDpdk(_ port: borrowing DpdkPort, _ rx: inout UDPBurst, _ s: inout FeedPathState, _ packets: UInt64) -> (ticks: UInt64, packets: UInt64) {
    var done: UInt64 = 0
    let t0 = csys_rdtsc()
    while done < packets {
        let n = port.receive(into: &rx)
        if n == 0 { continue }
        let now = csys_monotonic_ns()
        for i in 0..<n {
            let p = rx[i]
            guard p.len >= CW_MOLD_HEADER_LEN else { s.otherFrames &+= 1; continue }
            s.rewrite(UnsafeMutablePointer(mutating: p.payload))
            s.session.receive(p.bytes, line: .a, at: now, into: &s.consumer)
        }
        done &+= UInt64(n)
    }
    rx.release()
    return (csys_rdtsc() &- t0, done)
}

/// DPDK rx -> parse -> sequence rewrite only, no session: what the driver and the parse cost.
/// Takes exactly `passes` whole passes (the tail through a one-frame burst), so the stream stays
/// where the dpdk path left it and that path's session sees no jump.
@inline(never)
func benchRx(_ port: borrowing DpdkPort, _ rx: inout UDPBurst, _ one: inout UDPBurst, _ s: inout FeedPathState,
             passes: UInt64) -> (ticks: UInt64, packets: UInt64) {
    let packets = passes * UInt64(s.packetsPerPass)
    var done: UInt64 = 0
    let t0 = csys_rdtsc()
    while done < packets {
        let tail = packets - done < UInt64(rx.capacity)
        let n = tail ? port.receive(into: &one) : port.receive(into: &rx)
        if n == 0 { continue }
        for i in 0..<n {
            let p = tail ? one[i] : rx[i]
            guard p.len >= CW_MOLD_HEADER_LEN else { s.otherFrames &+= 1; continue }
            let q = UnsafeMutablePointer(mutating: p.payload!)
            cw_put64(q + 10, cw_be64(q + 10) &+ s.delta)
        }
        done &+= UInt64(n)
    }
    rx.release()
    one.release()
    return (csys_rdtsc() &- t0, done)
}
