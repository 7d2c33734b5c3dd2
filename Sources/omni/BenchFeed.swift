import OmniBench
import OmniNet
import OmniCore
import OmniWire
import ArgumentParser
import CNet
import CSys
import CWire
import OmniBook
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
        if memoryOnly { return try runMemoryOnly(pass) }
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

        var lines: [String] = []
        lines.append("file        \(file): \(grouped(UInt64(pass.fixtureMessages))) messages + \(grouped(UInt64(pass.cleanupDeletes))) cleanup deletes per pass, \(pass.packetCount) MoldUDP64 packets of up to \(messagesPerPacket) messages (\(fixed(Double(pass.messageCount) / Double(pass.packetCount), 2)) avg), \(pass.payloadBytes / pass.packetCount) payload bytes avg")
        lines.append("capture     \(capturePath) through net_pcap0 infinite_rx=1; core \(core), burst \(burst), \(grouped(n)) packets per path per round, \(rounds) rounds")
        lines.append("eal         \(memoryLine)")
        func row(_ name: String, _ v: [Double]) -> String {
            let m = median(v)
            return "\(name.padding(toLength: 9, withPad: " ", startingAt: 0))\(pad(fixed(m, 2), 8)) ns/packet  \(pad(fixed(1e3 / m, 2), 7)) M packets/s  \(pad(fixed(1e3 / m * pass.messagesPerPacket, 2), 7)) M msgs/s   rounds: \(v.map { fixed($0, 1) }.joined(separator: " "))"
        }
        lines.append(row("dpdk", t[0]))
        lines.append(row("session", t[1]))
        lines.append(row("reader", t[2]))
        lines.append(row("rx only", t[3]) + "  (rx_burst + parse + match + rewrite, no session)")
        let overReader = median(zip(t[0], t[2]).map { $0 - $1 }), overSession = median(zip(t[0], t[1]).map { $0 - $1 })
        let sessionOverReader = median(zip(t[1], t[2]).map { $0 - $1 })
        lines.append("overhead    dpdk - reader \(fixed(overReader, 2)) ns/packet; dpdk - session (rx + frame parse) \(fixed(overSession, 2)) ns/packet; session - reader \(fixed(sessionOverReader, 2)) ns/packet (medians of per-round differences)")
        let goal = 1e3 / median(t[0])
        lines.append("split       of dpdk's \(fixed(median(t[0]), 2)) ns/packet: rx + parse \(fixed(median(t[3]), 2)), session + ITCH + books \(fixed(median(t[1]), 2)) from memory")
        lines.append("goal        >= 20 M packets/s on one core: \(goal >= 20 ? "met" : "not met") (\(fixed(goal, 2)) M packets/s)")
        lines.append("port        ipackets \(grouped(stats.ipackets)), imissed \(stats.imissed), ierrors \(stats.ierrors), rx_nombuf \(stats.rxNoMbuf); frames not ours \(dpdk.otherFrames)")
        let dpdkCheck = sessionCheck("dpdk", dpdk), memoryChecks = memory.checks()
        lines += [dpdkCheck.line] + memoryChecks.lines
        let ok = dpdkCheck.ok && memoryChecks.ok && dpdk.otherFrames == 0
        print(lines.joined(separator: "\n"))
        if !ok { throw ExitCode(1) }
    }
}

extension BenchFeed {
    /// The session and reader paths alone, no EAL: what a profiler can run.
    func runMemoryOnly(_ pass: FeedPass) throws {
        var memory = try MemoryPaths(pass)
        let clock = TickClock()
        memory.warm()
        var t: [[Double]] = [[], []]
        for r in 0..<rounds {
            for path in r % 2 == 0 ? [0, 1] : [1, 0] {
                if path == 0 { t[0].append(clock.ns(memory.timeSession(packets), packets)) }
                else { t[1].append(clock.ns(memory.timeReader(packets), packets)) }
            }
        }
        for (name, v) in [("session", t[0]), ("reader", t[1])] {
            print("\(name.padding(toLength: 9, withPad: " ", startingAt: 0))\(pad(fixed(median(v), 2), 8)) ns/packet   rounds: \(v.map { fixed($0, 1) }.joined(separator: " "))")
        }
        let checks = memory.checks()
        print(checks.lines.joined(separator: "\n"))
        if !checks.ok { throw ExitCode(1) }
    }
}

/// TSC ticks to nanoseconds per item.
struct TickClock {
    private var clock = csys_clock()
    init() { _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 50) }
    func ns(_ ticks: UInt64, _ n: UInt64) -> Double {
        var c = clock
        return Double(csys_clock_ns(&c, ticks)) / Double(n)
    }
}

/// The two paths that read the packets from memory: the session path and the file reader,
/// each with its own writable copy of the pass.
struct MemoryPaths: ~Copyable {
    var session: FeedPathState
    var reader: FeedPathState
    let sessionPackets: UnsafeMutableRawBufferPointer, readerPackets: UnsafeMutableRawBufferPointer

    init(_ pass: FeedPass) throws {
        let session = try FeedPathState(pass, cumulative: false), reader = try FeedPathState(pass, cumulative: false)
        self.session = session
        self.reader = reader
        sessionPackets = pass.copyPackets()
        readerPackets = pass.copyPackets()
    }

    deinit { sessionPackets.deallocate(); readerPackets.deallocate() }

    /// Two passes on each path (page faults, first book levels, branch predictors).
    mutating func warm() {
        let n = UInt64(session.packetsPerPass * 2)
        _ = timeSession(n)
        _ = timeReader(n)
    }

    mutating func timeSession(_ n: UInt64) -> UInt64 { benchSession(sessionPackets, &session, n) }
    mutating func timeReader(_ n: UInt64) -> UInt64 { benchReader(readerPackets, &reader, n) }

    /// The `check` lines of both paths, and whether both delivered everything cleanly.
    func checks() -> (lines: [String], ok: Bool) {
        let s = sessionCheck("session", session)
        let rr = reader.reader
        let delivered = reader.consumer.replay.counts.messages
        let good = rr.gaps == 0 && rr.duplicateMessages == 0 && rr.malformedPackets == 0 && delivered == reader.messagesFed
        let line = "check       reader: \(grouped(delivered)) messages of \(grouped(reader.messagesFed)), \(rr.gaps) gaps, \(rr.duplicateMessages) duplicates, \(rr.malformedPackets) malformed: \(good ? "ok" : "FAILED")"
        return ([s.line, line], s.ok && good)
    }
}

/// A session path's `check` line: every message delivered once, no gap, nothing malformed, books not stale.
func sessionCheck(_ name: String, _ s: FeedPathState) -> (line: String, ok: Bool) {
    let c = s.session.counters
    let stale = s.consumer.replay.books.stale
    let good = c.gapsOpened == 0 && c.duplicates == 0 && c.malformed == 0 && c.delivered == s.messagesFed && !stale
    return ("check       \(name): \(grouped(c.delivered)) delivered of \(grouped(s.messagesFed)), \(c.gapsOpened) gaps, \(c.duplicates) duplicates, \(c.malformed) malformed, books stale \(stale ? "yes" : "no"): \(good ? "ok" : "FAILED")", good)
}

/// One pass of the benchmark's feed: MoldUDP64 payloads (sequence from 1) packed back to back.
struct FeedPass {
    static let group: UInt32 = 0xEF01_0101, port: UInt16 = 31001
    let fixtureMessages: Int
    let cleanupDeletes: Int
    var messageCount: Int { fixtureMessages + cleanupDeletes }
    /// Payloads, back to back; offsets[i] ..< offsets[i + 1] is packet i.
    let payloads: [UInt8]
    let offsets: [Int]
    /// Messages in packet i.
    let counts: [Int]
    var packetCount: Int { counts.count }
    var payloadBytes: Int { payloads.count }
    var messagesPerPacket: Double { Double(messageCount) / Double(packetCount) }

    init(day: UnsafeRawBufferPointer, messagesPerPacket: Int) throws {
        guard let base = day.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw ValidationError("empty day file") }
        var messages: [[UInt8]] = []
        var refs: [UInt64] = []
        var off = 0
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while cw_dayfile_next(base, day.count, &off, &msg, &len) == CW_FRAME_MSG, let m = msg {
            messages.append(Array(UnsafeBufferPointer(start: m, count: Int(len))))
            // Refs an order may rest under: the adds' (A, F) and a replace's new one (U).
            if (m[0] == UInt8(ascii: "A") || m[0] == UInt8(ascii: "F")) && len >= 19 { refs.append(cw_be64(m + 11)) }
            if m[0] == UInt8(ascii: "U") && len >= 27 { refs.append(cw_be64(m + 19)) }
        }
        guard !messages.isEmpty else { throw ValidationError("no ITCH messages in the day file") }
        fixtureMessages = messages.count
        // Replay once; delete whatever is left resting, at the last message's timestamp.
        let scratch = ITCHReplay(books: try Books())
        var sink = NoBBOSink()
        for m in messages { m.withUnsafeBufferPointer { scratch.handle($0.baseAddress!, UInt16($0.count), into: &sink) } }
        let last = messages[messages.count - 1]
        var ts: UInt64 = 0
        if last.count >= Int(CW_ITCH_HEADER_LEN) { ts = last.withUnsafeBufferPointer { cw_itch_timestamp($0.baseAddress!) } }
        var seen = Set<UInt64>()
        var deletes = 0
        for ref in refs where seen.insert(ref).inserted {
            guard let o = scratch.books.order(ref) else { continue }
            var d = [UInt8](repeating: 0, count: 19)
            let n = d.withUnsafeMutableBufferPointer { cw_itch_put_delete($0.baseAddress!, $0.count, o.locate, ts, ref) }
            guard n == d.count else { throw ValidationError("ITCH Order Delete encoder refused a \(d.count)-byte buffer") }
            messages.append(d)
            deletes += 1
        }
        cleanupDeletes = deletes
        for m in messages[fixtureMessages...] { m.withUnsafeBufferPointer { scratch.handle($0.baseAddress!, UInt16($0.count), into: &sink) } }
        guard scratch.books.liveOrders == 0 else {
            throw ValidationError("the cleanup deletes left \(scratch.books.liveOrders) orders resting")
        }
        // A second pass must do the same book work as the first.
        let unknown1 = scratch.books.stats.unknown_ref
        for m in messages { m.withUnsafeBufferPointer { scratch.handle($0.baseAddress!, UInt16($0.count), into: &sink) } }
        guard scratch.books.liveOrders == 0, scratch.books.stats.unknown_ref == 2 * unknown1 else {
            throw ValidationError("a second pass differs from the first (\(scratch.books.liveOrders) resting, unknown refs \(scratch.books.stats.unknown_ref) vs \(unknown1))")
        }

        // Pack into MoldUDP64.
        let session = moldSessionName("OMNI000001")
        var payloads: [UInt8] = [], offsets = [0], counts: [Int] = []
        var packet = [UInt8](repeating: 0, count: 1400)
        var i = 0
        var sequence: UInt64 = 1
        while i < messages.count {
            let (bytes, n) = packet.withUnsafeMutableBufferPointer { p -> (Int, Int) in
                var b = cw_mold_builder()
                _ = cw_mold_begin(&b, p.baseAddress!, p.count, session, sequence)
                var n = 0
                while n < messagesPerPacket && i + n < messages.count {
                    let m = messages[i + n]
                    if cw_mold_append(&b, m, UInt16(m.count)) != 0 { break }
                    n += 1
                }
                return (b.len, n)
            }
            precondition(n > 0, "an ITCH message does not fit a 1400-byte MoldUDP64 packet")
            payloads += packet[..<bytes]
            offsets.append(payloads.count)
            counts.append(n)
            i += n
            sequence += UInt64(n)
        }
        self.payloads = payloads
        self.offsets = offsets
        self.counts = counts
    }

    func writeCapture(to path: String) throws {
        let w = try PcapWriter(path: path)
        let e = UDPEndpoints(sourceIP: 0x0A00_0001, destinationIP: FeedPass.group, sourcePort: 4000, destinationPort: FeedPass.port)
        try payloads.withUnsafeBytes { p in
            for k in 0..<packetCount {
                try w.writeUDP(payload: UnsafeRawBufferPointer(rebasing: p[offsets[k]..<offsets[k + 1]]), timestampNs: UInt64(k) * 1000, endpoints: e)
            }
        }
        try w.flush()
    }

    /// A private, writable copy of the payloads (the memory paths rewrite sequences in place).
    func copyPackets() -> UnsafeMutableRawBufferPointer {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: payloads.count, alignment: 64)
        payloads.withUnsafeBytes { b.copyMemory(from: $0) }
        return b
    }
}

/// One path's session, consumer (books) and position in the looped pass.
struct FeedPathState {
    var session: MoldSession
    var consumer: MoldITCHConsumer<NoBBOSink>
    var reader = MoldPacketReader()
    let packetsPerPass: Int
    let messagesPerPass: UInt64
    /// Packet offsets (packetCount + 1) and message counts, as plain memory for the loops.
    let offsets: UnsafeMutableBufferPointer<Int>
    let counts: UnsafeMutableBufferPointer<Int>
    /// dpdk: every rx brings the pristine packet, so `delta` is pass * M (cumulative);
    /// memory: the packet keeps last pass's rewrite, so `delta` is M from the second pass on.
    let cumulative: Bool
    var delta: UInt64 = 0
    var inPass = 0
    var messagesFed: UInt64 = 0
    var otherFrames: UInt64 = 0

    init(_ pass: FeedPass, cumulative: Bool) throws {
        session = MoldSession(MoldSessionConfig())
        consumer = MoldITCHConsumer(replay: ITCHReplay(books: try Books()), sink: NoBBOSink())
        packetsPerPass = pass.packetCount
        messagesPerPass = UInt64(pass.messageCount)
        offsets = .allocate(capacity: pass.offsets.count)
        _ = offsets.initialize(from: pass.offsets)
        counts = .allocate(capacity: pass.counts.count)
        _ = counts.initialize(from: pass.counts)
        self.cumulative = cumulative
    }

    /// Rewrites the packet's sequence for this pass, then moves on one packet.
    @inline(__always)
    mutating func rewrite(_ payload: UnsafeMutablePointer<UInt8>) {
        cw_put64(payload + 10, cw_be64(payload + 10) &+ delta)
        messagesFed &+= UInt64(counts[inPass])
        inPass += 1
        if inPass == packetsPerPass {
            inPass = 0
            delta = cumulative ? delta &+ messagesPerPass : messagesPerPass
        }
    }
}

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

/// The same payloads from memory -> session -> books, a clock read per 32 packets as per burst above.
@inline(never)
func benchSession(_ mem: UnsafeMutableRawBufferPointer, _ s: inout FeedPathState, _ packets: UInt64) -> UInt64 {
    let base = mem.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var now = csys_monotonic_ns()
    let t0 = csys_rdtsc()
    for k in 0..<packets {
        if k & 31 == 0 { now = csys_monotonic_ns() }
        let i = s.inPass
        let p = base + s.offsets[i]
        let len = s.offsets[i + 1] - s.offsets[i]
        s.rewrite(p)
        s.session.receive(UnsafeRawBufferPointer(start: p, count: len), line: .a, at: now, into: &s.consumer)
    }
    return csys_rdtsc() &- t0
}

/// The same payloads from memory -> MoldPacketReader -> books (the file reader).
@inline(never)
func benchReader(_ mem: UnsafeMutableRawBufferPointer, _ s: inout FeedPathState, _ packets: UInt64) -> UInt64 {
    let base = mem.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let replay = s.consumer.replay
    var sink = NoBBOSink()
    let t0 = csys_rdtsc()
    for _ in 0..<packets {
        let i = s.inPass
        let p = base + s.offsets[i]
        let len = s.offsets[i + 1] - s.offsets[i]
        s.rewrite(p)
        s.reader.read(UnsafeRawBufferPointer(start: p, count: len), into: replay, sink: &sink)
    }
    return csys_rdtsc() &- t0
}
