import CEvent
import CRing
import CSys
import Glibc
import Synchronization
import Testing
import OmniEngine

/// Emits `count` events tagged with `source`, seq 0..<count.
struct TaggedSource: EventSource {
    let tag: UInt16
    let count: UInt64
    var next: UInt64 = 0
    mutating func next(_ event: inout omni_event) -> SourcePoll {
        if next == count { return .finished }
        event = omni_event()
        event.source = tag
        event.seq = next
        event.rx_tsc = csys_rdtsc()
        next += 1
        return .produced
    }
}

/// Per source tag: events seen and order breaks; written by one stage thread, read after join.
final class TagTally: Sendable {
    let seen0 = Atomic<UInt64>(0), seen1 = Atomic<UInt64>(0)
    let disorder = Atomic<UInt64>(0)
    func seen(_ tag: Int) -> UInt64 { tag == 0 ? seen0.load(ordering: .relaxed) : seen1.load(ordering: .relaxed) }
}

struct TagCheck: EventHandler {
    let tally: TagTally
    var expected: [UInt64] = [0, 0]
    mutating func handle(_ event: inout omni_event) -> Bool {
        let t = Int(event.source)
        if event.seq != expected[t] { tally.disorder.add(1, ordering: .relaxed) }
        expected[t] = event.seq &+ 1
        if t == 0 { tally.seen0.store(expected[t], ordering: .relaxed) } else { tally.seen1.store(expected[t], ordering: .relaxed) }
        return true
    }
}

extension Running {
    @Suite("Fan-in, fan-out and fused groups")
    struct FanAndFusionTests {
        let wait = BackoffWait(spins: 200, minSleepNs: 2_000, maxSleepNs: 200_000)

        @Test func fanInMergesTwoProducersEachInOrder() throws {
            let a = try EventRing(capacity: 1024), b = try EventRing(capacity: 1024)
            let tally = TagTally()
            let p = Pipeline()
            p.addSource(name: "src0", core: 0, output: a, source: TaggedSource(tag: 0, count: 300_000), wait: wait)
            p.addSource(name: "src1", core: 0, output: b, source: TaggedSource(tag: 1, count: 200_000), wait: wait)
            let merge = p.addStage(name: "merge", core: nil, inputs: [a, b], outputs: [], handler: TagCheck(tally: tally), wait: wait)
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            p.stop()
            #expect(tally.seen(0) == 300_000 && tally.seen(1) == 200_000)
            #expect(tally.disorder.load(ordering: .relaxed) == 0)
            #expect(merge.events == 500_000 && a.count == 0 && b.count == 0)
        }

        @Test func fanOutGivesEveryConsumerEveryEvent() throws {
            let src = try EventRing(capacity: 1024), o1 = try EventRing(capacity: 1024), o2 = try EventRing(capacity: 1024)
            let t1 = TagTally(), t2 = TagTally()
            let p = Pipeline()
            p.addSource(name: "src", core: 0, output: src, source: TaggedSource(tag: 0, count: 200_000), wait: wait)
            p.addStage(name: "split", core: nil, inputs: [src], outputs: [o1, o2], handler: PassThrough(), wait: wait)
            p.addStage(name: "c1", core: nil, input: o1, output: nil, handler: TagCheck(tally: t1), wait: wait)
            p.addStage(name: "c2", core: nil, input: o2, output: nil, handler: TagCheck(tally: t2), wait: wait)
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            p.stop()
            for t in [t1, t2] {
                #expect(t.seen(0) == 200_000 && t.disorder.load(ordering: .relaxed) == 0)
            }
        }

        @Test func topologyFanInAndOutAreWired() throws {
            let t = try Topology(yaml: """
                stages: [{name: a, core: 0}, {name: b, core: 0}, {name: m, core: 1}, {name: x, core: 0}, {name: y, core: 0}]
                rings:
                  - {from: a, to: m, capacity: 1024}
                  - {from: b, to: m, capacity: 1024}
                  - {from: m, to: x, capacity: 1024}
                  - {from: m, to: y, capacity: 1024}
                """, onlineCores: 2)
            let w = try Wiring(t)
            #expect(try w.inputs(of: "m").count == 2 && w.outputs(of: "m").count == 2)
            let tx = TagTally(), ty = TagTally()
            let p = Pipeline()
            try p.addSource("a", of: w, source: TaggedSource(tag: 0, count: 50_000))
            try p.addSource("b", of: w, source: TaggedSource(tag: 1, count: 70_000))
            try p.addStage("m", of: w, handler: PassThrough())
            try p.addStage("x", of: w, handler: TagCheck(tally: tx))
            try p.addStage("y", of: w, handler: TagCheck(tally: ty))
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            p.stop()
            for t in [tx, ty] {
                #expect(t.seen(0) == 50_000 && t.seen(1) == 70_000)
                #expect(t.disorder.load(ordering: .relaxed) == 0)
            }
        }

        @Test func sourceFusedWithItsHandlersRunsAloneAndStampsEachHop() throws {
            // The whole chain on one core: one thread, no ring; Stamped marks each member's hop.
            let t = try Topology(yaml: """
                stages: [{name: feed, core: 0, wait: backoff}, {name: pass, core: 0}, {name: sink, core: 0}]
                rings: [{from: feed, to: pass, capacity: 64}, {from: pass, to: sink, capacity: 64}]
                """, onlineCores: 1)
            #expect(try t.chainGroups(["feed", "pass", "sink"]) == [["feed", "pass", "sink"]])
            let w = try Wiring(t)
            #expect(w.rings.allSatisfy { $0 == nil })
            let tally = SinkTally()
            let p = Pipeline()
            // One chain type; the topology fuses all three links (a call each, no ring); each link stamps its hop on emit.
            let groups = try p.add(SourceLink("feed", CountingSource(count: 100_000), hop: 0,
                then: Link("pass", PassThrough(), hop: 1, then: Link("sink", SequenceSink(tally: tally)))), of: w)
            #expect(groups.count == 1)
            let group = groups[0]
            #expect(group.name == "feed..sink")
            try p.start()
            #expect(p.waitForSources(timeoutNs: 60_000_000_000))
            p.stop()
            #expect(tally.received.load(ordering: .relaxed) == 100_000)
            #expect(tally.outOfOrder.load(ordering: .relaxed) == 0 && tally.unstamped.load(ordering: .relaxed) == 0)
            #expect(group.events == 100_000) // consumed in the group: the sink passes nothing on
        }
    }
}

@Suite("Chains cut into fused groups")
struct ChainGroupTests {
    func topology(_ cores: [Int]) throws -> Topology {
        let names = ["feed", "decode", "book", "sink"]
        let stages = zip(names, cores).map { StageSpec(name: $0, core: $1) }
        let rings = (0..<3).map { RingSpec(from: names[$0], to: names[$0 + 1], capacity: 64) }
        return try Topology(stages: stages, rings: rings, onlineCores: 4)
    }
    let chain = ["feed", "decode", "book", "sink"]

    @Test func neighboursOnACoreAreGrouped() throws {
        #expect(try topology([1, 1, 1, 1]).chainGroups(chain) == [chain])
        #expect(try topology([0, 0, 1, 1]).chainGroups(chain) == [["feed", "decode"], ["book", "sink"]])
        #expect(try topology([0, 1, 2, 3]).chainGroups(chain) == chain.map { [$0] })
    }

    @Test func sharedCoreApartIsRefusedByName() throws {
        let t = try topology([0, 1, 0, 2])
        #expect(throws: TopologyError.sharedCoreApart(core: 0, stages: ["feed", "book"])) { try t.chainGroups(chain) }
        #expect("\(TopologyError.sharedCoreApart(core: 0, stages: ["feed", "book"]))".contains("'feed' and 'book' share core 0"))
    }

    @Test func otherShapesAreNotTheChain() throws {
        let t = try topology([0, 0, 1, 1])
        #expect(throws: TopologyError.self) { try t.chainGroups(["feed", "book", "decode", "sink"]) }
        #expect(throws: TopologyError.self) { try t.chainGroups(["feed", "decode", "book"]) }
        #expect(throws: TopologyError.self) { try t.chainGroups(chain + ["strategy"]) }
    }
}

@Suite("Latency telemetry")
struct TelemetryTests {
    var clock: csys_clock {
        var c = csys_clock()
        csys_clock_init(&c, CSYS_CLOCK_TSC, 20)
        return c
    }

    @Test func hopLatenciesAreDifferencesOfStamps() {
        let l = HopLatencies(hopNames: ["decode", "book"], clock: clock)
        var c = clock
        var e = omni_event()
        // Stamps as ticks from rx: decode ends at 1 µs, book at 3 µs (as hop codes: 12 significant bits).
        let us = csys_clock_ns(&c, 1_000_000) > 0 ? UInt64((Double(c.hz) / 1e6).rounded()) : 1
        e.hop = (omni_hop_encode(us), omni_hop_encode(3 * us), 0, 0, 0)
        for _ in 0..<10 { l.record(e) }
        e.hop = (omni_hop_encode(us), 0, 0, 0, 0)
        l.record(e) // book unstamped: not recorded
        #expect(l.unstamped == 1)
        #expect(l.hops[0].totalCount == 10 && l.endToEnd.totalCount == 10)
        #expect((990...1010).contains(l.hops[0].valueAtPercentile(50)))
        #expect((1980...2020).contains(l.hops[1].valueAtPercentile(50)))
        #expect((2970...3030).contains(l.endToEnd.valueAtPercentile(50)))
        e.hop = (omni_hop_encode(3 * us), omni_hop_encode(us), 0, 0, 0) // book stamped before decode: two cores' TSCs apart
        l.record(e)
        let book = l.hops[1]
        #expect(l.reordered == 1 && book.min == 0)
    }

    @Test func tapDropsAndCountsWhenItsRingIsFull() throws {
        let ring = try EventRing(capacity: 4)
        let counts = TapCounts()
        var tap = EventTap(ring: ring, counts: counts)
        var e = omni_event()
        for _ in 0..<10 {
            let passed = tap.handle(&e)
            #expect(passed)
        }
        #expect(counts.tapped == 4 && counts.dropped == 6 && ring.count == 4)
    }
}
