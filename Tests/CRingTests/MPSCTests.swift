import CEvent
import CRing
import CSys
import Glibc
import SharedTestData
import Testing

/// What the MPSC consumer saw: per producer, the next index it expects (each
/// producer's order must be kept) and the values out of place.
struct FanIn {
    var next: [UInt64]
    var wrong: UInt64 = 0
    var total: UInt64 = 0
    var timedOut = false

    init(producers: Int) { next = Array(repeating: 0, count: producers) }

    /// Values carry the producer in the top byte, its own counter below.
    mutating func check(_ v: UInt64?) {
        total += 1
        guard let v, Int(v >> 56) < next.count, v & 0x00FF_FFFF_FFFF_FFFF == next[Int(v >> 56)] else { wrong += 1; return }
        next[Int(v >> 56)] += 1
    }
}

/// `producers` threads send `perProducer` values each into one ring (even
/// producers with try_push, odd ones with claim/publish); one consumer thread
/// takes them (single pops, or peek/release batches of up to `batch`).
func mpscRun<T: RingValue>(_: T.Type, producers: Int, perProducer: UInt64, capacity: UInt32, batch: UInt32) -> FanIn {
    let size = UInt32(MemoryLayout<T>.stride)
    let total = perProducer * UInt64(producers)
    let mem = RingMemory<cring_mpsc>(bytes: cring_mpsc_bytes(capacity, size))
    #expect(cring_mpsc_init(mem.ring, capacity, size, nearWrap(total)) == CRING_OK.rawValue)
    let ring = Shared(p: mem.ring)
    let result = Shared(p: UnsafeMutablePointer<FanIn>.allocate(capacity: 1))
    result.p.initialize(to: FanIn(producers: producers))
    defer { result.p.deinitialize(count: 1); result.p.deallocate() }
    let end = deadline(seconds: 60)

    var bodies: [@Sendable () -> Void] = (0..<producers).map { k in
        { @Sendable in
            let r = ring.p
            var i: UInt64 = 0, idle = Backoff()
            while i < perProducer {
                let v = UInt64(k) << 56 | i
                var sent = false
                if k % 2 == 0 {
                    var x = T(encoding: v)
                    sent = cring_mpsc_try_push(r, &x, size) == 1
                } else {
                    var seq: UInt64 = 0
                    if let slot = cring_mpsc_claim(r, &seq) {
                        slot.storeBytes(of: T(encoding: v), as: T.self)
                        cring_mpsc_publish(r, seq)
                        sent = true
                    }
                }
                if sent { i += 1; idle.progressed() } else { idle.wait(); if csys_monotonic_ns() > end { return } }
            }
        }
    }
    bodies.append {
        let r = ring.p
        var got = FanIn(producers: producers), idle = Backoff()
        while got.total < total {
            if batch == 0 {
                var x = T(encoding: 0)
                if cring_mpsc_try_pop(r, &x, size) == 1 { got.check(x.decoded); idle.progressed(); continue }
            } else {
                var slots: UnsafeRawPointer?
                let n = cring_mpsc_peek(r, batch, &slots)
                if n > 0 {
                    for k in 0..<Int(n) { got.check(slots!.load(fromByteOffset: k * Int(size), as: T.self).decoded) }
                    cring_mpsc_release(r, n)
                    idle.progressed()
                    continue
                }
            }
            idle.wait()
            if csys_monotonic_ns() > end { got.timedOut = true; break }
        }
        result.p.pointee = got
    }
    runThreads(bodies)
    var extra = T(encoding: 0)
    #expect(cring_mpsc_try_pop(mem.ring, &extra, size) == 0, "events left over: duplicates")
    return result.p.pointee
}

extension Kernels {
    @Suite("MPSC ring")
    struct MPSC {
        @Test("3 producers, 8-byte slots, batch consumer: every producer's order kept, total exact")
        func threeProducersU64() {
            let got = mpscRun(UInt64.self, producers: 3, perProducer: 1_000_000, capacity: 1024, batch: 64)
            #expect(!got.timedOut && got.total == 3_000_000 && got.wrong == 0 && got.next == [1_000_000, 1_000_000, 1_000_000], "\(got)")
        }

        @Test("2 producers, 64-byte omni_event slots, single pops")
        func twoProducersEvents() {
            let got = mpscRun(omni_event.self, producers: 2, perProducer: 500_000, capacity: 256, batch: 0)
            #expect(!got.timedOut && got.total == 1_000_000 && got.wrong == 0 && got.next == [500_000, 500_000], "\(got)")
        }

        @Test("a 4-slot ring: the consumer waits at the producers' heels, so a slot read before it is written shows")
        func tinyRing() {
            let got = mpscRun(UInt64.self, producers: 2, perProducer: 100_000, capacity: 4, batch: 4)
            #expect(!got.timedOut && got.total == 200_000 && got.wrong == 0 && got.next == [100_000, 100_000], "\(got)")
        }

        @Test("full and empty edges, a claimed slot holds back the ones after it, runs stop at the array end")
        func edges() {
            let mem = RingMemory<cring_mpsc>(bytes: cring_mpsc_bytes(4, 8))
            let r = mem.ring
            #expect(cring_mpsc_init(r, 4, 8, UInt64.max - 1) == CRING_OK.rawValue) // slot 2; counters wrap after two
            var v: UInt64 = 0
            var ready: UnsafeRawPointer?
            #expect(cring_mpsc_try_pop(r, &v, 8) == 0 && cring_mpsc_peek(r, 4, &ready) == 0)
            var seq: UInt64 = 0
            let held = cring_mpsc_claim(r, &seq)
            #expect(held != nil && seq == UInt64.max - 1)
            for i: UInt64 in 1...3 { var x = i; #expect(cring_mpsc_try_push(r, &x, 8) == 1) }
            var x: UInt64 = 9
            #expect(cring_mpsc_try_push(r, &x, 8) == 0, "a push into a full ring must fail")
            #expect(cring_mpsc_claim(r, &seq) == nil)
            #expect(cring_mpsc_peek(r, 4, &ready) == 0, "the first slot is claimed, not published")
            held!.storeBytes(of: 0, as: UInt64.self)
            cring_mpsc_publish(r, UInt64.max - 1)
            #expect(cring_mpsc_peek(r, 4, &ready) == 2, "two ready slots before the end of the array")
            #expect(ready!.load(as: UInt64.self) == 0 && ready!.load(fromByteOffset: 8, as: UInt64.self) == 1)
            cring_mpsc_release(r, 2)
            #expect(cring_mpsc_try_push(r, &x, 8) == 1, "a released slot is free again")
            var out: [UInt64] = []
            while cring_mpsc_try_pop(r, &v, 8) == 1 { out.append(v) }
            #expect(out == [2, 3, 9])
            #expect(cring_mpsc_bytes(6, 8) == 0 && cring_mpsc_init(r, 4, 3, 0) == CRING_EBADSLOT.rawValue)
        }
    }

    @Suite("Baseline ring (the benchmarks' comparison)")
    struct Baseline {
        @Test("a producer and a consumer thread, and the full / empty edges")
        func concurrentAndEdges() {
            let count: UInt64 = 1_000_000
            let mem = RingMemory<ring_baseline>(bytes: ring_baseline_bytes(8192, 8))
            #expect(ring_baseline_init(mem.ring, 8192, 8) == 0)
            let ring = Shared(p: mem.ring)
            let result = Shared(p: UnsafeMutablePointer<Received>.allocate(capacity: 1))
            result.p.initialize(to: Received())
            defer { result.p.deallocate() }
            let end = deadline(seconds: 60)
            runThreads([
                {
                    var i: UInt64 = 0, idle = Backoff()
                    while i < count && csys_monotonic_ns() < end {
                        var v = i
                        if ring_baseline_push(ring.p, &v, 8) == 1 { i += 1; idle.progressed() } else { idle.wait() }
                    }
                },
                {
                    var got = Received(), idle = Backoff(), v: UInt64 = 0
                    while got.count < count {
                        if ring_baseline_pop(ring.p, &v, 8) == 1 { got.check(v, expected: got.count); idle.progressed(); continue }
                        idle.wait()
                        if csys_monotonic_ns() > end { got.timedOut = true; break }
                    }
                    result.p.pointee = got
                },
            ])
            let got = result.p.pointee
            #expect(!got.timedOut && got.count == count && got.wrong == 0, "\(got)")

            let r = mem.ring
            var v: UInt64 = 0
            #expect(ring_baseline_pop(r, &v, 8) == 0)
            for i: UInt64 in 0..<8192 { var x = i; guard ring_baseline_push(r, &x, 8) == 1 else { Issue.record("push \(i) refused"); break } }
            #expect(ring_baseline_push(r, &v, 8) == 0)
            #expect(ring_baseline_pop(r, &v, 8) == 1 && v == 0)
            #expect(ring_baseline_bytes(3, 8) == 0 && ring_baseline_init(r, 8, 4) == -EINVAL)
        }
    }
}
