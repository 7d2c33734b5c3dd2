import ArgumentParser
import CNet
import CSys
import CWire
import OmniBook
import OmniCore
import OmniFeed
import OmniNet
import OmniWire

#if canImport(Glibc)
import Glibc
#endif

/// What `omni bench feed` is given: the day file, packing, packets per path and rounds, rx burst, core.
public protocol FeedBenchOptions {
    var file: String { get }
    var messagesPerPacket: Int { get }
    var packets: UInt64 { get }
    var rounds: Int { get }
    var burst: Int { get }
}

extension FeedBenchOptions {
    /// The session and reader paths alone, no EAL: what a profiler can run.
    public func measureFromMemory(_ pass: FeedPass) throws {
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

    /// The report of a run with EAL: the set-up, each path's median ns/packet and rate, the
    /// overheads, the port's counters (`port`, a line) and every path's check; whether all passed.
    public func feedReport(_ pass: FeedPass, capture capturePath: String, core: Int, eal memoryLine: String, times t: [[Double]],
                           port: String, dpdk: FeedPathState, memory: borrowing MemoryPaths) -> (text: String, ok: Bool) {
        let n = packets
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
        lines.append(port)
        let dpdkCheck = sessionCheck("dpdk", dpdk), memoryChecks = memory.checks()
        lines += [dpdkCheck.line] + memoryChecks.lines
        let ok = dpdkCheck.ok && memoryChecks.ok && dpdk.otherFrames == 0
        return (lines.joined(separator: "\n"), ok)
    }
}

/// TSC ticks to nanoseconds per item.
public struct TickClock {
    private var clock = csys_clock()
    public init() { _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 50) }
    public func ns(_ ticks: UInt64, _ n: UInt64) -> Double {
        var c = clock
        return Double(csys_clock_ns(&c, ticks)) / Double(n)
    }
}

/// The two paths that read the packets from memory: the session path and the file reader,
/// each with its own writable copy of the pass.
public struct MemoryPaths: ~Copyable {
    var session: FeedPathState
    var reader: FeedPathState
    let sessionPackets: UnsafeMutableRawBufferPointer, readerPackets: UnsafeMutableRawBufferPointer

    public init(_ pass: FeedPass) throws {
        let session = try FeedPathState(pass, cumulative: false), reader = try FeedPathState(pass, cumulative: false)
        self.session = session
        self.reader = reader
        sessionPackets = pass.copyPackets()
        readerPackets = pass.copyPackets()
    }

    deinit { sessionPackets.deallocate(); readerPackets.deallocate() }

    /// Two passes on each path (page faults, first book levels, branch predictors).
    public mutating func warm() {
        let n = UInt64(session.packetsPerPass * 2)
        _ = timeSession(n)
        _ = timeReader(n)
    }

    public mutating func timeSession(_ n: UInt64) -> UInt64 { benchSession(sessionPackets, &session, n) }
    public mutating func timeReader(_ n: UInt64) -> UInt64 { benchReader(readerPackets, &reader, n) }

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
public struct FeedPass {
    public static let group: UInt32 = 0xEF01_0101, port: UInt16 = 31001
    public let fixtureMessages: Int
    public let cleanupDeletes: Int
    public var messageCount: Int { fixtureMessages + cleanupDeletes }
    /// Payloads, back to back; offsets[i] ..< offsets[i + 1] is packet i.
    let payloads: [UInt8]
    let offsets: [Int]
    /// Messages in packet i.
    let counts: [Int]
    public var packetCount: Int { counts.count }
    public var payloadBytes: Int { payloads.count }
    public var messagesPerPacket: Double { Double(messageCount) / Double(packetCount) }

    public init(day: UnsafeRawBufferPointer, messagesPerPacket: Int) throws {
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

    public func writeCapture(to path: String) throws {
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
public struct FeedPathState {
    public var session: MoldSession
    public var consumer: MoldITCHConsumer<NoBBOSink>
    public var reader = MoldPacketReader()
    public let packetsPerPass: Int
    public let messagesPerPass: UInt64
    /// Packet offsets (packetCount + 1) and message counts, as plain memory for the loops.
    public let offsets: UnsafeMutableBufferPointer<Int>
    public let counts: UnsafeMutableBufferPointer<Int>
    /// dpdk: every rx brings the pristine packet, so `delta` is pass * M (cumulative);
    /// memory: the packet keeps last pass's rewrite, so `delta` is M from the second pass on.
    public let cumulative: Bool
    public var delta: UInt64 = 0
    public var inPass = 0
    public var messagesFed: UInt64 = 0
    public var otherFrames: UInt64 = 0

    public init(_ pass: FeedPass, cumulative: Bool) throws {
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
    @inlinable @inline(__always)
    public mutating func rewrite(_ payload: UnsafeMutablePointer<UInt8>) {
        cw_put64(payload + 10, cw_be64(payload + 10) &+ delta)
        messagesFed &+= UInt64(counts[inPass])
        inPass += 1
        if inPass == packetsPerPass {
            inPass = 0
            delta = cumulative ? delta &+ messagesPerPass : messagesPerPass
        }
    }
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
