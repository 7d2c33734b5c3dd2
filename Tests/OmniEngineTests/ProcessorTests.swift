import CEvent
import CRing
import CSys
import Glibc
import Synchronization
import Testing
import OmniEngine

// Processors with ports and endOfBatch, batch publish, back-pressure, feedback cycles,
// MPSC fan-in and ring memory.

/// Even seqs to port 0 ("even"), odd ones to port 1 ("odd").
struct Router: Processor {
    static var ports: [String] { ["even", "odd"] }
    mutating func process<Out: Emitter>(_ event: inout omni_event, to out: inout Out) {
        out.emit(Int(event.seq & 1), &event)
    }
}

final class ParityTally: Sendable {
    let seen = Atomic<UInt64>(0)
    let wrong = Atomic<UInt64>(0)
}

struct ParityCheck: EventHandler {
    let tally: ParityTally
    let parity: UInt64
    func handle(_ event: inout omni_event) -> Bool {
        if event.seq & 1 != parity { tally.wrong.add(1, ordering: .relaxed) }
        tally.seen.add(1, ordering: .relaxed)
        return false
    }
}

/// What a `BatchRecorder` saw; read on the thread that drives the stage.
final class BatchLog: @unchecked Sendable {
    var batches: [Int] = []
    var current = 0
    /// The watched ring's count (what its consumer can see) at each process and endOfBatch call.
    var seen: [Int] = []
}

/// Emits every event twice, and one marker at the end of each batch; records batch sizes.
struct BatchRecorder: Processor, @unchecked Sendable {
    let log: BatchLog
    let watch: EventRing
    mutating func process<Out: Emitter>(_ event: inout omni_event, to out: inout Out) {
        log.current += 1
        log.seen.append(watch.count)
        out.emit(0, &event)
        out.emit(0, &event)
    }
    mutating func endOfBatch<Out: Emitter>(to out: inout Out) {
        log.batches.append(log.current)
        log.current = 0
        var marker = omni_event()
        marker.seq = .max
        out.emit(0, &marker)
        log.seen.append(watch.count)
    }
}

/// Pushes `n` events with seq `from`..<`from + n` into an SPSC ring.
func push(_ ring: EventRing, _ n: Int, from: UInt64 = 0) {
    var e = omni_event()
    for i in 0..<UInt64(n) {
        e.seq = from + i
        #expect(cring_spsc_try_push(ring.raw, &e, UInt32(MemoryLayout<omni_event>.stride)) == 1)
    }
}

@Suite("Processors, driven on this thread")
struct ProcessorTests {
    @Test func endOfBatchIsCalledOnceAfterEachBatchAndOutputsArePublishedOnlyThen() throws {
        let input = try EventRing(capacity: 256), output = try EventRing(capacity: 1024)
        let log = BatchLog()
        let control = StageControl(name: "batch")
        var stage = Stage(inputs: [input], outputs: [output], hop: nil, handler: BatchRecorder(log: log, watch: output),
                          wait: SpinWait(), control: control)
        var beat: UInt64 = 0
        #expect(stage.poll(control: control, beat: &beat) == 0)
        #expect(log.batches.isEmpty) // no batch, no endOfBatch
        push(input, 3)
        #expect(stage.poll(control: control, beat: &beat) == 3)
        #expect(log.batches == [3])
        #expect(output.count == 7) // 2 per event + the marker, published at the end of the batch
        push(input, 70, from: 3)
        #expect(stage.poll(control: control, beat: &beat) == 64) // one batch: 64 events at most
        #expect(stage.poll(control: control, beat: &beat) == 6)
        #expect(log.batches == [3, 64, 6])
        #expect(output.count == 7 + 129 + 13)
        // Inside each batch (its events and its endOfBatch) the consumer saw only earlier batches.
        #expect(log.seen == Array(repeating: 0, count: 4) + Array(repeating: 7, count: 65) + Array(repeating: 136, count: 7))
        #expect(input.count == 0)
        var e = omni_event()
        var seqs: [UInt64] = []
        while cring_spsc_try_pop(output.raw, &e, 64) == 1 { seqs.append(e.seq) }
        #expect(seqs.prefix(7) == [0, 0, 1, 1, 2, 2, .max])
        #expect(seqs.count == 149 && seqs.last == .max)
    }

    @Test func dropPolicyCountsAndDropsWhatAFullRingCannotTake() throws {
        let input = try EventRing(capacity: 64), output = try EventRing(capacity: 4)
        let control = StageControl(name: "drop")
        var stage = Stage(inputs: [input], outputs: [output], hop: nil, handler: PassThrough(), wait: SpinWait(),
                          control: control, full: .drop)
        push(input, 10)
        var beat: UInt64 = 0
        #expect(stage.poll(control: control, beat: &beat) == 10)
        #expect(output.count == 4 && control.dropped == 6 && control.fullWaits == 0)
        var e = omni_event()
        var seqs: [UInt64] = []
        while cring_spsc_try_pop(output.raw, &e, 64) == 1 { seqs.append(e.seq) }
        #expect(seqs == [0, 1, 2, 3])
    }

    @Test func ringMemoryComesFromCSysAndIsReported() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let small = try EventRing(capacity: 1024)
        let bytes = cring_spsc_bytes(1024, 64) // 384 B of header + 64 KiB of slots
        #expect(bytes == 65_920)
        #expect(["numa", "pages"].contains(small.memory.kind))
        #expect(small.memory.mapped == (bytes + page - 1) / page * page)
        let large = try EventRing(capacity: 1 << 15) // 2 MiB of slots + the header: two 2 MiB pages
        #expect(["hugetlb", "thp"].contains(large.memory.kind))
        #expect(large.memory.mapped == 4 << 20)
        let fanIn = try EventRing(capacity: 1024, kind: .mpsc)
        #expect(fanIn.kind == .mpsc && fanIn.count == 0)
        let w = try Wiring(try Topology(yaml: """
            stages: [{name: a, core: 0}, {name: b, core: 0}, {name: c, core: 0}]
            rings: [{from: a, to: b, capacity: 64}, {from: [a, b], to: c, capacity: 1024, full: drop}]
            """, onlineCores: 1))
        #expect(w.rings[0] == nil && w.rings[1]?.kind == .mpsc)
        #expect(w.ringReport[0] == "a -> b: fused (no ring)")
        #expect(w.ringReport[1] == "a+b -> c: mpsc 1024 x 64 B, full: drop, memory \(w.rings[1]!.memory)")
        #expect("\(w.rings[1]!.memory)".hasPrefix(w.rings[1]!.memory.kind))
    }
}

final class LoopCounts: Sendable {
    let strategy = Atomic<UInt64>(0)
    let gateway = Atomic<UInt64>(0)
}

/// A strategy in a loop: each event is a token on its round (seq); below `rounds` it goes
/// out again one round on, as an order to the gateway.
struct StrategyOf: Processor {
    let counts: LoopCounts
    let rounds: UInt64
    mutating func process<Out: Emitter>(_ event: inout omni_event, to out: inout Out) {
        counts.strategy.add(1, ordering: .relaxed)
        if event.seq < rounds {
            event.seq += 1
            out.emit(0, &event)
        }
    }
}

/// The gateway: every order comes back as a fill.
struct GatewayOf: EventHandler {
    let counts: LoopCounts
    func handle(_ event: inout omni_event) -> Bool {
        counts.gateway.add(1, ordering: .relaxed)
        return true
    }
}

/// Counts what it gets; blocks on its first event until `gate` opens.
final class GatedCount: Sendable {
    let gate = Gate()
    let seen = Atomic<UInt64>(0)
    let disorder = Atomic<UInt64>(0)
}

struct GatedCounter: EventHandler {
    let state: GatedCount
    var expected: UInt64 = 0
    mutating func handle(_ event: inout omni_event) -> Bool {
        while !state.gate.open.load(ordering: .acquiring) { usleep(500) }
        if event.seq != expected { state.disorder.add(1, ordering: .relaxed) }
        expected = event.seq + 1
        state.seen.add(1, ordering: .relaxed)
        return false
    }
}

extension Running {
    @Suite("Processors on pinned stages: ports, feedback, back-pressure, fan-in")
    struct ProcessorStageTests {
        let cores = max(Topology.onlineCores(), 2)

        func portsTopology(odd: Bool, port: String = "odd") throws -> Topology {
            try Topology(yaml: """
                stages:
                  - {name: src, core: 0, wait: backoff}
                  - {name: router, core: 0}
                  - {name: evens, core: 1, wait: backoff}
                  - {name: odds, core: 1, wait: backoff}
                rings:
                  - {from: src, to: router, capacity: 64}
                  - {from: router, port: even, to: evens, capacity: 256}
                """ + (odd ? "\n  - {from: router, port: \(port), to: odds, capacity: 256}\n" : ""), onlineCores: cores)
        }

        @Test func eachEventGoesToThePortItIsEmittedOn() throws {
            let w = try Wiring(try portsTopology(odd: true))
            let evens = ParityTally(), odds = ParityTally()
            let p = Pipeline()
            let head = try p.add(SourceLink("src", CountingSource(count: 10_000), then: Link("router", Router())), of: w)
            #expect(head.map(\.name) == ["src..router"]) // fused on core 0: one stage
            try p.addStage("evens", of: w, handler: ParityCheck(tally: evens, parity: 0))
            try p.addStage("odds", of: w, handler: ParityCheck(tally: odds, parity: 1))
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            #expect(p.stop())
            #expect(evens.seen.load(ordering: .relaxed) == 5_000 && evens.wrong.load(ordering: .relaxed) == 0)
            #expect(odds.seen.load(ordering: .relaxed) == 5_000 && odds.wrong.load(ordering: .relaxed) == 0)
            #expect(head[0].unrouted == 0 && head[0].events == 10_000)
        }

        @Test func anUnboundPortCountsWhatIsEmittedOnIt() throws {
            let w = try Wiring(try portsTopology(odd: false))
            let evens = ParityTally()
            let p = Pipeline()
            let head = try p.add(SourceLink("src", CountingSource(count: 10_000), then: Link("router", Router())), of: w)
            try p.addStage("evens", of: w, handler: ParityCheck(tally: evens, parity: 0))
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            p.stop()
            #expect(evens.seen.load(ordering: .relaxed) == 5_000 && head[0].unrouted == 5_000)
        }

        @Test func aRingOnAPortTheProcessorLacksIsRefusedByName() throws {
            let w = try Wiring(try portsTopology(odd: true, port: "middle"))
            #expect(throws: EngineError.unsupported("stage 'router' has no port 'middle' (its ports: even, odd)")) {
                try Pipeline().add(SourceLink("src", CountingSource(count: 1), then: Link("router", Router())), of: w)
            }
        }

        /// strategy -> gateway -> (feedback) -> strategy: `tokens` events seeded into the
        /// feedback ring go round `rounds` times each; fused or across two cores.
        @Test(arguments: [false, true])
        func aFeedbackRingCarriesEventsRoundTheCycleExactly(fused: Bool) throws {
            let t = try Topology(yaml: """
                stages: [{name: strategy, core: 0, wait: backoff}, {name: gateway, core: \(fused ? 0 : 1), wait: backoff}]
                rings:
                  - {from: strategy, to: gateway, capacity: 64}
                  - {from: gateway, to: strategy, capacity: 64, feedback: true}
                """, onlineCores: cores)
            let w = try Wiring(t)
            #expect((w.rings[0] == nil) == fused && w.rings[1] != nil) // a feedback ring is never fused
            let tokens = 8, rounds: UInt64 = 2_000
            var token = omni_event() // every token starts on round 0 (seq 0)
            for _ in 0..<tokens { #expect(cring_spsc_try_push(w.rings[1]!.raw, &token, 64) == 1) }
            let counts = LoopCounts()
            let p = Pipeline()
            let groups = try p.add(Link("strategy", StrategyOf(counts: counts, rounds: rounds),
                                        then: Link("gateway", GatewayOf(counts: counts))), of: w)
            #expect(groups.map(\.name) == (fused ? ["strategy..gateway"] : ["strategy", "gateway"]))
            try p.start()
            #expect(p.stop()) // quiescent: every token finished its rounds before the stages were stopped
            #expect(counts.strategy.load(ordering: .relaxed) == UInt64(tokens) * (rounds + 1))
            #expect(counts.gateway.load(ordering: .relaxed) == UInt64(tokens) * rounds)
            #expect(w.rings.allSatisfy { ($0?.count ?? 0) == 0 })
            #expect(groups.allSatisfy { $0.dropped == 0 && $0.unrouted == 0 })
        }

        /// A cycle that never stops circulating cannot go quiescent: stop gives up after
        /// `quiesceTimeoutNs`, says so, and every stage still ends (no endless spin, no hang).
        @Test(arguments: [false, true])
        func aCycleThatNeverSettlesIsAbandonedOnStop(fused: Bool) throws {
            let w = try Wiring(try Topology(yaml: """
                stages: [{name: strategy, core: 0, wait: backoff}, {name: gateway, core: \(fused ? 0 : 1), wait: backoff}]
                rings:
                  - {from: strategy, to: gateway, capacity: 64}
                  - {from: gateway, to: strategy, capacity: 64, feedback: true}
                """, onlineCores: cores))
            var token = omni_event()
            for _ in 0..<8 { #expect(cring_spsc_try_push(w.rings[1]!.raw, &token, 64) == 1) }
            let counts = LoopCounts()
            let p = Pipeline()
            p.quiesceTimeoutNs = 50_000_000
            let groups = try p.add(Link("strategy", StrategyOf(counts: counts, rounds: .max),
                                        then: Link("gateway", GatewayOf(counts: counts))), of: w)
            try p.start()
            let end = csys_monotonic_ns() + 10_000_000_000
            while counts.gateway.load(ordering: .relaxed) < 10_000 && csys_monotonic_ns() < end { usleep(1000) }
            #expect(!p.stop())
            #expect(groups.allSatisfy { $0.isFinished })
            #expect(counts.gateway.load(ordering: .relaxed) >= 10_000)
        }

        func pressureTopology(_ full: FullPolicy) throws -> Topology {
            try Topology(yaml: """
                stages: [{name: src, core: 0, wait: backoff}, {name: sink, core: 1, wait: backoff}]
                rings: [{from: src, to: sink, capacity: 4, full: \(full.rawValue)}]
                """, onlineCores: cores)
        }

        @Test func aFullBlockRingIsWaitedOnAndCountedNeverSilently() throws {
            let w = try Wiring(try pressureTopology(.block))
            let sink = GatedCount()
            let p = Pipeline()
            let src = try p.addSource("src", of: w, source: CountingSource(count: 10))
            try p.addStage("sink", of: w, handler: GatedCounter(state: sink))
            try p.start()
            // The sink holds the first 4 (its batch, blocked on its first event); the 5th emit waits.
            let end = csys_monotonic_ns() + 10_000_000_000
            while src.fullWaits == 0 && csys_monotonic_ns() < end { usleep(200) }
            let beat = src.heartbeat
            usleep(20_000)
            #expect(src.fullWaits == 1 && src.dropped == 0 && sink.seen.load(ordering: .relaxed) == 0)
            #expect(src.heartbeat != beat) // waiting, visibly: the heartbeat moves
            #expect(!src.isFinished)
            sink.gate.open.store(true, ordering: .releasing)
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            #expect(p.stop())
            #expect(sink.seen.load(ordering: .relaxed) == 10 && sink.disorder.load(ordering: .relaxed) == 0)
            #expect(src.fullWaits >= 1 && src.dropped == 0 && src.events == 10)
        }

        @Test func aFullDropRingDropsAndCounts() throws {
            let w = try Wiring(try pressureTopology(.drop))
            let sink = GatedCount()
            let p = Pipeline()
            let src = try p.addSource("src", of: w, source: CountingSource(count: 10))
            try p.addStage("sink", of: w, handler: GatedCounter(state: sink))
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000)) // the source never waits on the sink
            // It wrote 4 (the ring's capacity, published as the 5th found the ring full) and dropped 6.
            #expect(src.dropped == 6 && src.fullWaits == 0 && src.events == 10)
            sink.gate.open.store(true, ordering: .releasing)
            #expect(p.stop())
            #expect(sink.seen.load(ordering: .relaxed) == 4 && sink.disorder.load(ordering: .relaxed) == 0)
        }

        @Test(arguments: [64, 4096])
        func mpscFanInDeliversEveryProducersEventsInOrder(capacity: Int) throws {
            let t = try Topology(yaml: """
                stages: [{name: a, core: 0, wait: backoff}, {name: b, core: \(cores > 2 ? 2 : 0), wait: backoff}, {name: m, core: 1, wait: backoff}]
                rings: [{from: [a, b], to: m, capacity: \(capacity)}]
                """, onlineCores: cores)
            let w = try Wiring(t)
            #expect(w.rings.count == 1 && w.rings[0]?.kind == .mpsc)
            let tally = TagTally()
            let p = Pipeline()
            let a = try p.addSource("a", of: w, source: TaggedSource(tag: 0, count: 300_000))
            let b = try p.addSource("b", of: w, source: TaggedSource(tag: 1, count: 200_000))
            let m = try p.addStage("m", of: w, handler: TagCheck(tally: tally))
            try p.start()
            #expect(p.waitForSources(timeoutNs: 120_000_000_000))
            #expect(p.stop())
            #expect(tally.seen(0) == 300_000 && tally.seen(1) == 200_000)
            #expect(tally.disorder.load(ordering: .relaxed) == 0)
            #expect(m.events == 500_000 && w.rings[0]!.count == 0)
            #expect(a.dropped == 0 && b.dropped == 0)
        }
    }
}
