// ITCH 5.0 day-file replay benchmarks. See Benchmarks/README.md for what each one measures.
//
// The throughput benchmarks run over the whole in-memory day file of Input.swift (synthetic by
// default); the steady-state benchmark over the last 20 % of a file with a steady state (the real
// fixture flow replicated, by default). Each reports, besides the framework's own metrics:
//   msgs/s    messages in the measured region / its wall time, one sample per iteration, shown
//             in K (thousands) msgs/s (the framework's `throughput` metric would count
//             iterations, i.e. whole files, per second: left out)
//   messages  messages in the measured region (so mallocs per message = mallocCountTotal / messages)
// Setup that is not the thing measured (creating books, warming them up) runs outside
// startMeasurement() / stopMeasurement().

import CSys
import Benchmark
import CBook
import CWire
import OmniBook
import OmniCore
import OmniFeed

#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

#if canImport(Glibc)
import Glibc
#endif

let messagesPerSecond = BenchmarkMetric.custom("msgs/s", polarity: .prefersLarger, useScalingFactor: false)
let messagesMeasured = BenchmarkMetric.custom("messages", polarity: .prefersSmaller, useScalingFactor: false)
let mallocsPerMillionMessages = BenchmarkMetric.custom("mallocs per 1M msgs", polarity: .prefersSmaller, useScalingFactor: false)

/// Records `messages` and their rate over `ns` nanoseconds.
func report(_ benchmark: Benchmark, messages: Int, ns: UInt64) {
    benchmark.measurement(messagesMeasured, messages)
    if ns > 0 { benchmark.measurement(messagesPerSecond, Int(Double(messages) * 1e9 / Double(ns))) }
}

/// BBO changes into memory: a preallocated ring of rows, as a consumer thread would read them.
struct MemoryBBOSink: BBOSink {
    struct Row { var locate: Locate; var bbo: BBO }
    let rows: UnsafeMutablePointer<Row>
    let mask: Int
    var count = 0

    init(capacityLog2: Int) {
        mask = (1 << capacityLog2) - 1
        rows = .allocate(capacity: mask + 1)
        rows.initialize(repeating: Row(locate: 0, bbo: .empty), count: mask + 1)
    }

    func free() { rows.deallocate() }

    @inline(__always) mutating func bboChanged(_ locate: Locate, _ bbo: BBO) {
        rows[count & mask] = Row(locate: locate, bbo: bbo)
        count &+= 1
    }
}

func makeReplay() -> ITCHReplay {
    do { return ITCHReplay(books: try Books()) } catch { fatalError("Books(): \(error)") }
}

/// Loads (generating once if needed) the input before a benchmark's iterations, outside any measurement.
func loadShared() async throws { _ = BenchInput.shared }
func loadSteady() async throws { _ = BenchInput.steady }

let benchmarks: @Sendable () -> Void = {
    _ = savedStderr // dup stderr now, before the runner silences it

    // Whole-file passes take tens to hundreds of ms: a handful of iterations per benchmark.
    // `.throughput` is left out: it counts iterations (whole files) per second; msgs/s is the rate.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, messagesPerSecond, messagesMeasured],
        timeUnits: .milliseconds,
        units: [messagesPerSecond: .kilo, mallocsPerMillionMessages: .count],
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 10
    )

    // 1. Framing walk + type/length validation + per-type counts (cw_scan_dayfile), nothing else.
    Benchmark("decode-only", configuration: .init(maxDuration: .seconds(5), maxIterations: 50), closure: { benchmark in
        let input = BenchInput.shared
        let base = input.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var stats = cw_scan_stats()
        cw_scan_stats_reset(&stats)
        benchmark.startMeasurement()
        let t0 = csys_monotonic_ns()
        let end = cw_scan_dayfile(base, input.bytes.count, 0, &stats)
        let t1 = csys_monotonic_ns()
        benchmark.stopMeasurement()
        blackHole(end)
        let n = Int(stats.messages + stats.malformed)
        if n != input.records { benchmark.error("decode-only counted \(n) messages, expected \(input.records)") }
        report(benchmark, messages: n, ns: t1 - t0)
    }, setup: loadShared)

    // 2. The full replay: decode, validate, apply every message to fresh L3 books, no BBO output.
    Benchmark("decode+books", configuration: .init(metrics: Benchmark.defaultConfiguration.metrics + [.mallocCountTotal]), closure: { benchmark in
        let input = BenchInput.shared
        let replay = makeReplay()
        var sink = NoBBOSink()
        benchmark.startMeasurement()
        let t0 = csys_monotonic_ns()
        replay.runDayFile(input.bytes, into: &sink)
        let t1 = csys_monotonic_ns()
        benchmark.stopMeasurement()
        let c = replay.counts
        report(benchmark, messages: Int(c.messages + c.malformed), ns: t1 - t0)
    }, setup: loadShared)

    // 3. The same, with every BBO change written to a preallocated in-memory ring.
    Benchmark("decode+books+bbo-memory-sink", configuration: .init(metrics: Benchmark.defaultConfiguration.metrics + [.mallocCountTotal]), closure: { benchmark in
        let input = BenchInput.shared
        let replay = makeReplay()
        var sink = MemoryBBOSink(capacityLog2: 20)
        defer { sink.free() }
        benchmark.startMeasurement()
        let t0 = csys_monotonic_ns()
        replay.runDayFile(input.bytes, into: &sink)
        let t1 = csys_monotonic_ns()
        benchmark.stopMeasurement()
        blackHole(sink.count)
        blackHole(sink.rows[(sink.count &- 1) & sink.mask].bbo) // the stores are read: not dead
        let c = replay.counts
        report(benchmark, messages: Int(c.messages + c.malformed), ns: t1 - t0)
    }, setup: loadShared)

    // 4. Allocation freedom in steady state: fresh books replay the first 80 % of the steady
    //    file (warm-up, not measured: order pages and level arrays reach their working size),
    //    then the last 20 % is measured. mallocCountTotal must be 0: the static threshold
    //    Thresholds/ITCHReplay.steady-state-no-alloc.p90.json fails `benchmark thresholds check`,
    //    and the benchmark itself reports an error (failing a plain `swift package benchmark`)
    //    when the window allocated.
    Benchmark(
        "steady-state-no-alloc",
        configuration: .init(
            metrics: [.wallClock, messagesPerSecond, messagesMeasured, .mallocCountTotal, .mallocBytesCount,
                      .memoryLeakedBytes, mallocsPerMillionMessages],
            maxDuration: .seconds(20),
            maxIterations: 5,
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
        ),
        closure: { benchmark in
            let input = BenchInput.steady
            let replay = makeReplay()
            var sink = NoBBOSink()
            replay.runDayFile(input.warmBytes, into: &sink)
            let warm = replay.counts
            guard warm.messages + warm.malformed == UInt64(input.warmRecords) else {
                benchmark.error("warm-up replayed \(warm.messages + warm.malformed) messages, expected \(input.warmRecords)")
                return
            }
            benchmark.startMeasurement()
            #if canImport(MallocInterposerSwift)
            let before = MallocInterposerSwift.getStatistics()
            #endif
            let t0 = csys_monotonic_ns()
            replay.runDayFile(input.windowBytes, into: &sink)
            let t1 = csys_monotonic_ns()
            #if canImport(MallocInterposerSwift)
            let after = MallocInterposerSwift.getStatistics()
            #endif
            benchmark.stopMeasurement()
            let c = replay.counts
            let n = Int(c.messages + c.malformed) - Int(warm.messages + warm.malformed)
            report(benchmark, messages: n, ns: t1 - t0)
            #if canImport(MallocInterposerSwift)
            let mallocs = after.mallocCount - before.mallocCount
            benchmark.measurement(mallocsPerMillionMessages, n > 0 ? mallocs * 1_000_000 / n : 0)
            if mallocs > 0 {
                let what = "steady state is not allocation-free: \(mallocs) mallocs (\(after.mallocBytesCount - before.mallocBytesCount) bytes) over \(n) messages of \(input.label)"
                if input.allowAllocations {
                    writeStderr("warning: \(what) (OMNI_BENCH_ALLOW_ALLOCS is set: reported, not failed)\n")
                } else {
                    // benchmark.error() alone does not change the exit status of a plain
                    // `swift package benchmark` run in 1.38.1; a failed benchmark process does.
                    writeStderr("error: \(what)\n")
                    exit(EXIT_FAILURE)
                }
            }
            #endif
        },
        setup: loadSteady
    )

    stageBenchmarks()
}
