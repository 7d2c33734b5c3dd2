// MoldUDP64 session benchmarks: MoldSession.receive + poll + MoldRequestServer over a synthetic
// day of 1M messages packed into packets of 1...8 messages. Three scenarios:
//   no-loss           one line, nothing lost
//   loss-1pct-retx    one line, 1 % of packets lost, recovered by requests to the server,
//                     whose answers come back 8 packets later (a round trip)
//   ab-loss-1pct      lines A and B (B two packets behind), 1 % loss on each, independently;
//                     what both lost is recovered by retransmission
// The first half of the packets warms the session up (not measured); the second half is
// measured, and must allocate nothing: mallocCountTotal > 0 fails the run (exit status), as
// ITCHReplay's steady-state benchmark does. OMNI_BENCH_ALLOW_ALLOCS=1 reports instead.
// Reported: ns per packet slot (all lines, polls and server work included), msgs/s.

import CSys
import OmniWire
import Benchmark
import CWire
import OmniFeed
import OmniLab
import OmniVenue
import OmniCore

#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

#if canImport(Glibc)
import Glibc
#endif

let messagesPerSecond = BenchmarkMetric.custom("msgs/s", polarity: .prefersLarger, useScalingFactor: false)
let nsPerPacket = BenchmarkMetric.custom("ns/packet", polarity: .prefersSmaller, useScalingFactor: false)

/// The day packed into MoldUDP64 packets, built once.
final class MoldInput: @unchecked Sendable {
    let buffer: UnsafeMutableRawPointer
    let start: [Int]
    let length: [Int]
    let messages: Int
    let server: Box
    let lostA: [Bool]
    let lostB: [Bool]
    var count: Int { start.count }

    final class Box { var server: MoldRequestServer; init(_ s: MoldRequestServer) { server = s } }

    static let shared = MoldInput(messages: 1_000_000)
    static let session = "BENCH00001"

    init(messages wanted: Int) {
        let path = "/tmp/omni-moldbench-\(wanted).itch"
        if access(path, F_OK) != 0 {
            let w = try! FileWriter(path: path)
            try! SyntheticDay(symbols: 200, messages: wanted, seed: 7).write(to: w)
            try! w.flush()
        }
        let input = try! MappedInput(path: path)
        let day = input.bytes
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: day.count * 2, alignment: 8)
        self.buffer = buffer
        var starts: [Int] = [], lengths: [Int] = []
        var total = 0
        withExtendedLifetime(input) {
            let base = day.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var off = 0, out = 0
            var seq: UInt64 = 1
            var rng = SeededRandom(seed: 3)
            let name = moldSessionName(MoldInput.session)
            var msg: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            var done = false
            while !done {
                let want = 1 + Int(rng.next() % 8)
                var b = cw_mold_builder()
                _ = cw_mold_begin(&b, (buffer + out).assumingMemoryBound(to: UInt8.self), 1400, name, seq)
                for _ in 0..<want {
                    guard cw_dayfile_next(base, day.count, &off, &msg, &len) == CW_FRAME_MSG else { done = true; break }
                    _ = cw_mold_append(&b, msg, len)
                }
                if b.count == 0 { break }
                starts.append(out); lengths.append(b.len)
                out += b.len
                seq += UInt64(b.count)
                total += Int(b.count)
            }
        }
        start = starts
        length = lengths
        messages = total
        var c = MoldRequestServerConfig(session: MoldInput.session)
        c.historyBytes = 1 << 30
        c.historyMessages = 1 << 24
        var s = MoldRequestServer(c)
        for i in 0..<starts.count {
            s.record(packet: UnsafeRawBufferPointer(start: buffer + starts[i], count: lengths[i]))
        }
        server = Box(s)
        func pattern(_ seed: UInt64) -> [Bool] {
            var rng = SeededRandom(seed: seed)
            return (0..<starts.count).map { _ in rng.unit() < 0.01 }
        }
        lostA = pattern(11)
        lostB = pattern(12)
    }

    @inline(__always) func packet(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer + start[i], count: length[i])
    }
}

/// Checks order and exactly-once delivery as it goes.
struct Checksum: MoldConsumer {
    var delivered = 0
    var lastSeq: UInt64 = 0
    var disorder = 0
    var sum: UInt64 = 0
    mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool) {
        if sequence != lastSeq + 1 { disorder += 1 }
        lastSeq = sequence
        delivered += 1
        sum = sum &* 31 &+ UInt64(bytes.count) &+ UInt64(bytes[bytes.count - 1])
    }
    mutating func skipped(_ sequences: Range<UInt64>) { disorder += 1 }
    mutating func stateChanged(to state: MoldSessionState) {}
}

func scenario(_ benchmark: Benchmark, ab: Bool, loss: Bool) {
    let input = MoldInput.shared
    let packets = input.count
    var config = MoldSessionConfig(session: MoldInput.session)
    config.requestDelay = ab ? 10_000 : 0
    config.requestTimeout = 1_000_000
    var s = MoldSession(config)
    var c = Checksum()
    let reqBuf = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 20, alignment: 8)
    let ringSlots = 256
    let ring = UnsafeMutableRawPointer.allocate(byteCount: ringSlots * 1500, alignment: 8)
    let ringLen = UnsafeMutablePointer<Int>.allocate(capacity: ringSlots)
    let ringDue = UnsafeMutablePointer<Int>.allocate(capacity: ringSlots)
    defer { reqBuf.deallocate(); ring.deallocate(); ringLen.deallocate(); ringDue.deallocate() }
    var ringHead = 0, ringTail = 0
    let half = packets / 2
    var t0: UInt64 = 0
    #if canImport(MallocInterposerSwift)
    var before = MallocInterposerSwift.getStatistics()
    #endif
    for i in 0..<packets + 16 {
        if i == half {
            benchmark.startMeasurement()
            #if canImport(MallocInterposerSwift)
            before = MallocInterposerSwift.getStatistics()
            #endif
            t0 = csys_monotonic_ns()
        }
        let now = UInt64(i) * 1_000
        if i < packets && !(loss && input.lostA[i]) { s.receive(input.packet(i), line: .a, at: now, into: &c) }
        if ab && i >= 2 && i - 2 < packets && !(loss && input.lostB[i - 2]) { s.receive(input.packet(i - 2), line: .b, at: now, into: &c) }
        while ringTail < ringHead && ringDue[ringTail % ringSlots] <= i {
            let k = ringTail % ringSlots
            s.receive(UnsafeRawBufferPointer(start: ring + k * 1500, count: ringLen[k]), line: .retransmission, at: now, into: &c)
            ringTail += 1
        }
        let n = s.poll(now: now, requests: reqBuf, into: &c)
        for r in 0..<n {
            var resp = input.server.server.answer(UnsafeRawBufferPointer(rebasing: reqBuf[(r * 20)..<(r * 20 + 20)]))
            while ringHead - ringTail < ringSlots {
                let k = ringHead % ringSlots
                let len = input.server.server.nextPacket(&resp, into: UnsafeMutableRawBufferPointer(start: ring + k * 1500, count: 1500))
                if len == 0 { break }
                ringLen[k] = len; ringDue[k] = i + 8; ringHead += 1
            }
        }
    }
    let t1 = csys_monotonic_ns()
    #if canImport(MallocInterposerSwift)
    let after = MallocInterposerSwift.getStatistics()
    #endif
    benchmark.stopMeasurement()
    let measured = packets + 16 - half
    benchmark.measurement(nsPerPacket, Int((t1 - t0) / UInt64(measured)))
    benchmark.measurement(messagesPerSecond, Int(Double(input.messages / 2) / (Double(t1 - t0) / 1e9)))
    if c.delivered != input.messages || c.disorder != 0 || s.state != .live {
        benchmark.error("delivered \(c.delivered) of \(input.messages), disorder \(c.disorder), state \(s.state)")
        writeStderr("error: MoldSession delivered \(c.delivered) of \(input.messages), disorder \(c.disorder), state \(s.state)\n")
        exit(EXIT_FAILURE)
    }
    #if canImport(MallocInterposerSwift)
    let mallocs = after.mallocCount - before.mallocCount
    if mallocs > 0 {
        let what = "MoldSession steady state is not allocation-free: \(mallocs) mallocs over \(measured) packet slots"
        if getenv("OMNI_BENCH_ALLOW_ALLOCS") != nil {
            writeStderr("warning: \(what) (OMNI_BENCH_ALLOW_ALLOCS is set: reported, not failed)\n")
        } else {
            writeStderr("error: \(what)\n")
            exit(EXIT_FAILURE)
        }
    }
    #endif
}

func writeStderr(_ s: String) {
    var t = s
    t.withUTF8 { u in _ = write(2, u.baseAddress, u.count) }
}

func loadMold() async throws { _ = MoldInput.shared }

let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(
        metrics: [.wallClock, messagesPerSecond, nsPerPacket, .mallocCountTotal],
        maxDuration: .seconds(20),
        maxIterations: 3,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )
    Benchmark("no-loss", configuration: config, closure: { scenario($0, ab: false, loss: false) }, setup: loadMold)
    Benchmark("loss-1pct-retx", configuration: config, closure: { scenario($0, ab: false, loss: true) }, setup: loadMold)
    Benchmark("ab-loss-1pct", configuration: config, closure: { scenario($0, ab: true, loss: true) }, setup: loadMold)
}
