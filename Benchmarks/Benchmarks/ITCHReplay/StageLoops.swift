// OmniEngine stage loops: what a stage costs per event, and that running stages allocate nothing.
//
// stage-empty:          a Stage of one PassThrough link between two SPSC rings, driven on this thread through
//                       Stage.poll (its loop body): per chunk, 2048 events are pushed into its input
//                       (not timed), the stage moves them to its output (timed with the TSC around
//                       each poll), and they are popped from the output (not timed). Reports
//                       ns/event of the stage alone. Cache-hot, one thread: the CPU cost of a stage,
//                       not the cross-core hop that placing it on another core adds. The stage
//                       stamps its hop (one TSC read per event); stage-empty-unstamped does not.
// stage-raw-move:       the same chunks moved from ring to ring with cring_spsc_peek /
//                       try_push / release and nothing else: the floor the stage is compared to.
// stage-loops-no-alloc: the ITCH chain split over two pinned threads (feed+decode | book+sink) on
//                       the steady-state file's window, books warmed with its first 80 % first; one
//                       chain type (SourceLink -> Link -> ...) fused and cut by the topology at bind.
//                       The loops allocate nothing by construction: ports are raw tables made at bind,
//                       outputs are claimed ring slots, inputs are read in place.
//                       mallocCountTotal counts from the moment every stage loop is running until
//                       the sink has seen the whole window; it must be 0 (the run fails otherwise).

import OmniBench
import OmniLab
import OmniCore
import Benchmark
import CEvent
import CRing
import CSys
import OmniBook
import OmniEngine
import OmniFeed
import Synchronization

#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

#if canImport(Glibc)
import Glibc
#endif

let nsPerEvent = BenchmarkMetric.custom("ns/event (x100)", polarity: .prefersSmaller, useScalingFactor: false)

let stageChunk = 2048
let stageEvents = 1 << 21

/// Pushes `stageChunk` events into `input`, runs `move` (timed) until they are all in `output`,
/// drains `output`; returns the TSC ticks spent in `move` over `stageEvents` events.
func timeChunks(input: EventRing, output: EventRing, move: () -> Void) -> UInt64 {
    let size = UInt32(MemoryLayout<omni_event>.stride)
    var e = omni_event()
    var ticks: UInt64 = 0
    var moved = 0
    while moved < stageEvents {
        for i in 0..<stageChunk {
            e.seq = UInt64(moved + i)
            _ = cring_spsc_try_push(input.raw, &e, size)
        }
        let t0 = csys_rdtsc()
        move()
        ticks &+= csys_rdtsc() &- t0
        var out = omni_event()
        while cring_spsc_try_pop(output.raw, &out, size) != 0 {}
        moved += stageChunk
    }
    return ticks
}

/// Opens when the benchmark has seen every stage loop running: until then the feed is idle.
final class Gate: Sendable {
    let open = Atomic<Bool>(false)
}

struct GatedSource<S: EventSource>: EventSource, @unchecked Sendable {
    var source: S
    let gate: Gate
    mutating func next(_ event: inout omni_event) -> SourcePoll {
        gate.open.load(ordering: .acquiring) ? source.next(&event) : .idle
    }
}

func stageBenchmarks() {
    var clock = csys_clock()
    csys_clock_init(&clock, CSYS_CLOCK_TSC, 50)
    let hz = Double(clock.hz)
    let config = Benchmark.Configuration(metrics: [.wallClock, nsPerEvent, .mallocCountTotal], maxDuration: .seconds(5), maxIterations: 30)

    // hop 0: the stage stamps the TSC into each event (what a pipeline stage does); nil: no stamp.
    for (name, hop) in [("stage-empty", 0 as Int?), ("stage-empty-unstamped", nil)] {
        Benchmark(name, configuration: config) { benchmark in
            let input = try EventRing(capacity: 4096), output = try EventRing(capacity: 4096)
            var stage = Stage(input: input, output: output, hop: hop, handler: PassThrough(), wait: SpinWait())
            let control = StageControl(name: "empty")
            var beat: UInt64 = 0
            benchmark.startMeasurement()
            let ticks = timeChunks(input: input, output: output) {
                while stage.poll(control: control, beat: &beat) > 0 {}
            }
            benchmark.stopMeasurement()
            benchmark.measurement(nsPerEvent, Int(Double(ticks) / hz * 1e11 / Double(stageEvents)))
        }
    }

    Benchmark("stage-raw-move", configuration: config) { benchmark in
        let input = try EventRing(capacity: 4096), output = try EventRing(capacity: 4096)
        let size = UInt32(MemoryLayout<omni_event>.stride)
        benchmark.startMeasurement()
        let ticks = timeChunks(input: input, output: output) {
            var slots: UnsafeRawPointer?
            while case let n = cring_spsc_peek(input.raw, 64, &slots), n > 0 {
                for k in 0..<Int(n) { _ = cring_spsc_try_push(output.raw, slots! + k * Int(size), size) }
                cring_spsc_release(input.raw, n)
            }
        }
        benchmark.stopMeasurement()
        benchmark.measurement(nsPerEvent, Int(Double(ticks) / hz * 1e11 / Double(stageEvents)))
    }

    Benchmark(
        "stage-loops-no-alloc",
        configuration: .init(metrics: [.wallClock, messagesPerSecond, messagesMeasured, .mallocCountTotal],
                             maxDuration: .seconds(30), maxIterations: 3,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]),
        closure: { benchmark in
            let input = BenchInput.steady
            let replay = makeReplay()
            var sink = NoBBOSink()
            replay.runDayFile(input.warmBytes, into: &sink) // books at their working size before any stage runs
            let window = input.windowBytes
            let counts = FeedStageCounts()
            let gate = Gate()
            let t = try Topology(yaml: """
                stages: [{name: feed, core: 0}, {name: decode, core: 0}, {name: book, core: 1}, {name: sink, core: 1}]
                rings: [{from: feed, to: decode, capacity: 4096}, {from: decode, to: book, capacity: 4096}, {from: book, to: sink, capacity: 4096}]
                """, onlineCores: max(Topology.onlineCores(), 2))
            let w = try Wiring(t)
            let p = Pipeline()
            // One chain type; the topology fuses feed+decode and book+sink and puts a ring between them.
            let groups = try p.add(itchChain(GatedSource(source: DayFileFeed(input: window, counts: counts), gate: gate),
                                             input: window, replay: replay, counts: counts, sink: Stamped(PassThrough(), hop: 2)), of: w)
            let feed = groups[0], book = groups[1]
            try p.start()
            while feed.heartbeat == 0 || book.heartbeat == 0 { usleep(100) } // both loops are running
            benchmark.startMeasurement()
            #if canImport(MallocInterposerSwift)
            let before = MallocInterposerSwift.getStatistics()
            #endif
            let t0 = csys_monotonic_ns()
            gate.open.store(true, ordering: .releasing)
            let expected = UInt64(input.windowRecords)
            while book.events + counts.malformed < expected { usleep(200) }
            let t1 = csys_monotonic_ns()
            #if canImport(MallocInterposerSwift)
            let after = MallocInterposerSwift.getStatistics()
            #endif
            benchmark.stopMeasurement()
            p.stop()
            report(benchmark, messages: Int(expected), ns: t1 - t0)
            #if canImport(MallocInterposerSwift)
            let mallocs = after.mallocCount - before.mallocCount
            if mallocs > 0 && !input.allowAllocations {
                writeStderr("error: stage loops are not allocation-free: \(mallocs) mallocs over \(expected) messages of \(input.label)\n")
                exit(EXIT_FAILURE)
            }
            #endif
        },
        setup: loadSteady
    )
}
