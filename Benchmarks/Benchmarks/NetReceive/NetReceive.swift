// UDP multicast receive benchmarks: recvmmsg against io_uring multishot recvmsg, on a private
// loopback in a network namespace of the benchmark's own (nothing reaches the host's interfaces).
//
// Each iteration opens a fresh receiver (socket joined; an io_uring receiver arms at its first
// receive), fills its socket queue with 20,000 datagrams of 64 bytes (not measured), then
// measures draining them in bursts of 64 through MulticastReceiver<Backend>.receive, reading
// each datagram's sequence number. A warm-up round on another receiver of the same type runs
// first, so one-time runtime work (metadata, lazy symbol binding) is not in the window.
// net-tx-sendmmsg measures the send side alike (sendAll of 20,000 datagrams to a socket that
// does not read them). Reports datagrams/s and mallocCountTotal; neither may allocate: a malloc in the
// window fails the run (OMNI_BENCH_ALLOW_ALLOCS=1 turns that into a warning).
//
//   swift package --disable-sandbox benchmark --target NetReceive
import CSys
import Benchmark
import OmniNet

#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

#if canImport(Glibc)
import Glibc
#endif

let datagramsPerSecond = BenchmarkMetric.custom("datagrams/s", polarity: .prefersLarger, useScalingFactor: false)
let datagramsPerIteration = 20_000
let payloadBytes = 64

/// The benchmark handle, passed to the namespace thread; the runner thread waits in pthread_join meanwhile.
struct Handle: @unchecked Sendable { let benchmark: Benchmark }

enum Path: Sendable {
    case recvmmsg, ioUring, ioUringDefer, send
}

func options(_ path: Path) -> ReceiveOptions {
    var o = ReceiveOptions()
    o.receiveBufferBytes = 256 << 20 // the socket queue must hold a whole iteration
    o.slotSize = 256
    o.ioUringBuffers = 4096
    o.armOnFirstReceive = true
    o.deferTaskRun = path == .ioUringDefer
    return o
}

func fill(_ sender: inout MulticastSender, _ count: Int) throws(NetError) {
    _ = try sender.sendAll(count) { i, slot in
        slot.storeBytes(of: UInt64(i), as: UInt64.self)
        return payloadBytes
    }
}

/// Drains `count` datagrams; the number received out of sequence (0 when all is well).
func drain<B: ReceiveBackend & ~Copyable>(_ r: inout MulticastReceiver<B>, _ batch: inout DatagramBatch,
                                          _ count: Int) throws(NetError) -> (received: Int, outOfOrder: Int) {
    var received = 0, outOfOrder = 0
    var expected: UInt64 = 0
    var idle = 0
    while received < count && idle < 1_000_000 {
        let n = try r.receive(into: &batch)
        idle = n == 0 ? idle + 1 : 0
        for i in 0..<n {
            let seq = batch.bytes(i).loadUnaligned(as: UInt64.self)
            outOfOrder &+= seq == expected ? 0 : 1
            expected = seq &+ 1
        }
        received += n
    }
    return (received, outOfOrder)
}

/// One measured iteration: warm-up on one receiver, then fill and measure the drain of a fresh one.
func iteration<B: ReceiveBackend & ~Copyable>(_ make: () throws(NetError) -> MulticastReceiver<B>, _ h: Handle) throws(NetError) -> String? {
    let group = MulticastGroup("239.192.60.1", port: 34001, interface: "lo")
    var sender = try MulticastSender(group, ttl: 0)
    var batch = DatagramBatch(capacity: 64)
    do {
        var warm = try make()
        try fill(&sender, 2_000)
        _ = try drain(&warm, &batch, 2_000)
        _ = try warm.receive(into: &batch) // hand held buffers back before this receiver closes
    }
    var r = try make()
    try fill(&sender, datagramsPerIteration)
    h.benchmark.startMeasurement()
    #if canImport(MallocInterposerSwift)
    let before = MallocInterposerSwift.getStatistics()
    #endif
    let t0 = csys_monotonic_ns()
    let (received, outOfOrder) = try drain(&r, &batch, datagramsPerIteration)
    let t1 = csys_monotonic_ns()
    #if canImport(MallocInterposerSwift)
    let after = MallocInterposerSwift.getStatistics()
    #endif
    h.benchmark.stopMeasurement()
    _ = try r.receive(into: &batch)
    if t1 > t0 { h.benchmark.measurement(datagramsPerSecond, Int(Double(received) * 1e9 / Double(t1 - t0))) }
    if received != datagramsPerIteration || outOfOrder != 0 {
        return "received \(received) of \(datagramsPerIteration), \(outOfOrder) out of order"
    }
    #if canImport(MallocInterposerSwift)
    let mallocs = after.mallocCount - before.mallocCount
    if mallocs > 0 { return "the drain allocated: \(mallocs) mallocs (\(after.mallocBytesCount - before.mallocBytesCount) bytes) over \(received) datagrams" }
    #endif
    return nil
}

/// The send side: 20,000 datagrams with MulticastSender.sendAll (sendmmsg, 64 a call) to a
/// joined socket that does not read them; measured the same way, mallocs must be 0.
func sendIteration(_ h: Handle) throws(NetError) -> String? {
    let group = MulticastGroup("239.192.60.2", port: 34002, interface: "lo")
    var sender = try MulticastSender(group, ttl: 0)
    let sink = try MulticastReceiver<SocketBackend>(group, options: options(.recvmmsg))
    try fill(&sender, 2_000) // warm-up
    h.benchmark.startMeasurement()
    #if canImport(MallocInterposerSwift)
    let before = MallocInterposerSwift.getStatistics()
    #endif
    let t0 = csys_monotonic_ns()
    let sent = try sender.sendAll(datagramsPerIteration) { i, slot in
        slot.storeBytes(of: UInt64(i), as: UInt64.self)
        return payloadBytes
    }
    let t1 = csys_monotonic_ns()
    #if canImport(MallocInterposerSwift)
    let after = MallocInterposerSwift.getStatistics()
    #endif
    h.benchmark.stopMeasurement()
    _ = consume sink
    if t1 > t0 { h.benchmark.measurement(datagramsPerSecond, Int(Double(sent) * 1e9 / Double(t1 - t0))) }
    if sent != datagramsPerIteration { return "sent \(sent) of \(datagramsPerIteration)" }
    #if canImport(MallocInterposerSwift)
    let mallocs = after.mallocCount - before.mallocCount
    if mallocs > 0 { return "the send allocated: \(mallocs) mallocs (\(after.mallocBytesCount - before.mallocBytesCount) bytes) over \(sent) datagrams" }
    #endif
    return nil
}

func run(_ benchmark: Benchmark, _ path: Path) {
    let h = Handle(benchmark: benchmark)
    let problem: String?
    do {
        problem = try NetworkNamespace.privateLoopback.run { () throws -> String? in
            let group = MulticastGroup("239.192.60.1", port: 34001, interface: "lo")
            switch path {
            case .recvmmsg:
                return try iteration({ () throws(NetError) in try MulticastReceiver<SocketBackend>(group, options: options(path)) }, h)
            case .ioUring, .ioUringDefer:
                return try iteration({ () throws(NetError) in try MulticastReceiver<IoUringBackend>(group, options: options(path)) }, h)
            case .send:
                return try sendIteration(h)
            }
        }
    } catch {
        problem = "\(error)"
    }
    guard let problem else { return }
    if problem.contains("allocated"), getenv("OMNI_BENCH_ALLOW_ALLOCS") != nil {
        printError("warning: \(problem) (OMNI_BENCH_ALLOW_ALLOCS is set: reported, not failed)")
        return
    }
    // benchmark.error() alone leaves a plain `swift package benchmark` run's exit status at 0 in 1.38.1.
    printError("error: \(problem)")
    exit(EXIT_FAILURE)
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, datagramsPerSecond, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 10,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )
    Benchmark("net-rx-recvmmsg-drain", configuration: configuration) { run($0, .recvmmsg) }
    Benchmark("net-rx-io_uring-drain", configuration: configuration) { run($0, .ioUring) }
    Benchmark("net-rx-io_uring-defer-drain", configuration: configuration) { run($0, .ioUringDefer) }
    Benchmark("net-tx-sendmmsg", configuration: configuration) { run($0, .send) }
}
