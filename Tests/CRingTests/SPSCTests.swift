import CEvent
import CRing
import CSys
import Glibc
import SharedTestData
import Testing

/// The ring's sequence counters start this far below 2^64, so that every
/// concurrent run carries them across the wrap halfway through.
func nearWrap(_ count: UInt64) -> UInt64 { UInt64.max - count / 2 }

/// One producer thread sends 0..<count through a fresh ring, one consumer thread
/// checks that exactly those values come out, in order. `batch` 0: try_push /
/// try_pop; else claim/publish and peek/release of up to `batch` slots.
func spscRun<T: RingValue>(_: T.Type, count: UInt64, capacity: UInt32, batch: UInt32, firstSeq: UInt64) -> Received {
    let size = UInt32(MemoryLayout<T>.stride)
    let mem = RingMemory<cring_spsc>(bytes: cring_spsc_bytes(capacity, size))
    #expect(cring_spsc_init(mem.ring, capacity, size, firstSeq) == CRING_OK.rawValue)
    let ring = Shared(p: mem.ring)
    let result = Shared(p: UnsafeMutablePointer<Received>.allocate(capacity: 1))
    result.p.initialize(to: Received())
    defer { result.p.deallocate() }
    let end = deadline(seconds: 60)

    let producer: @Sendable () -> Void = {
        let r = ring.p
        var i: UInt64 = 0, idle = Backoff()
        while i < count {
            var sent: UInt32 = 0
            if batch == 0 {
                var v = T(encoding: i)
                sent = UInt32(cring_spsc_try_push(r, &v, size))
            } else {
                var slots: UnsafeMutableRawPointer?
                sent = cring_spsc_claim(r, UInt32(min(UInt64(batch), count - i)), &slots)
                for k in 0..<Int(sent) { slots!.storeBytes(of: T(encoding: i + UInt64(k)), toByteOffset: k * Int(size), as: T.self) }
                if sent > 0 { cring_spsc_publish(r, sent) }
            }
            if sent > 0 {
                i += UInt64(sent)
                idle.progressed()
            } else {
                idle.wait()
                if csys_monotonic_ns() > end { return }
            }
        }
    }
    let consumer: @Sendable () -> Void = {
        let r = ring.p
        var got = Received(), idle = Backoff()
        while got.count < count {
            if batch == 0 {
                var v = T(encoding: 0)
                if cring_spsc_try_pop(r, &v, size) == 1 { got.check(v.decoded, expected: got.count); idle.progressed(); continue }
            } else {
                var slots: UnsafeRawPointer?
                let n = cring_spsc_peek(r, batch, &slots)
                if n > 0 {
                    for k in 0..<Int(n) { got.check(slots!.load(fromByteOffset: k * Int(size), as: T.self).decoded, expected: got.count) }
                    cring_spsc_release(r, n)
                    idle.progressed()
                    continue
                }
            }
            idle.wait()
            if csys_monotonic_ns() > end { got.timedOut = true; break }
        }
        result.p.pointee = got
    }
    runThreads([producer, consumer])
    #expect(cring_spsc_count(mem.ring) == 0, "events left over: duplicates")
    var extra = T(encoding: 0)
    #expect(cring_spsc_try_pop(mem.ring, &extra, size) == 0)
    return result.p.pointee
}

extension Kernels {
    @Suite("SPSC ring")
    struct SPSC {
        @Test("8-byte slots, a producer and a consumer thread: no loss, no duplicate, order kept",
              arguments: [UInt32(0), 64])
        func concurrentU64(batch: UInt32) {
            let n: UInt64 = 3_000_000
            let got = spscRun(UInt64.self, count: n, capacity: 1024, batch: batch, firstSeq: nearWrap(n))
            #expect(!got.timedOut && got.count == n && got.wrong == 0, "\(got)")
        }

        @Test("64-byte omni_event slots, a producer and a consumer thread", arguments: [UInt32(0), 32])
        func concurrentEvents(batch: UInt32) {
            let n: UInt64 = 1_500_000
            let got = spscRun(omni_event.self, count: n, capacity: 256, batch: batch, firstSeq: nearWrap(n))
            #expect(!got.timedOut && got.count == n && got.wrong == 0, "\(got)")
        }

        @Test("a ring in CSys hugepage memory works like one in any memory")
        func inHugepageMemory() throws {
            var r = csys_region()
            #expect(csys_alloc_hugepages(&r, 3 << 20, -1) == 0)
            defer { csys_region_free(&r) }
            let ring = try #require(r.base).assumingMemoryBound(to: cring_spsc.self)
            #expect(cring_spsc_init(ring, 4096, 64, 0) == CRING_OK.rawValue)
            var e = omni_event(encoding: 5), back = omni_event()
            #expect(cring_spsc_try_push(ring, &e, 64) == 1 && cring_spsc_try_pop(ring, &back, 64) == 1 && back.decoded == 5)
        }

        @Test("a tiny ring laps itself every few events: the two sides meet at every slot")
        func tinyRingManyLaps() {
            let got = spscRun(UInt64.self, count: 200_000, capacity: 2, batch: 2, firstSeq: 0)
            #expect(!got.timedOut && got.count == 200_000 && got.wrong == 0, "\(got)")
        }

        @Test("full and empty edges: the whole capacity is usable and no more")
        func fullAndEmpty() {
            let mem = RingMemory<cring_spsc>(bytes: cring_spsc_bytes(8, 8))
            let r = mem.ring
            #expect(cring_spsc_init(r, 8, 8, 0) == CRING_OK.rawValue)
            var v: UInt64 = 0
            var slot: UnsafeRawPointer?
            #expect(cring_spsc_try_pop(r, &v, 8) == 0)
            #expect(cring_spsc_peek(r, 8, &slot) == 0)
            for i: UInt64 in 0..<8 { var x = i; #expect(cring_spsc_try_push(r, &x, 8) == 1) }
            #expect(cring_spsc_count(r) == 8)
            var x: UInt64 = 99
            #expect(cring_spsc_try_push(r, &x, 8) == 0, "a push into a full ring must fail")
            var free: UnsafeMutableRawPointer?
            #expect(cring_spsc_claim(r, 4, &free) == 0)
            #expect(cring_spsc_try_pop(r, &v, 8) == 1 && v == 0)
            #expect(cring_spsc_try_push(r, &x, 8) == 1, "one slot released, one slot free")
            #expect(cring_spsc_try_push(r, &x, 8) == 0)
            var out: [UInt64] = []
            while cring_spsc_try_pop(r, &v, 8) == 1 { out.append(v) }
            #expect(out == [1, 2, 3, 4, 5, 6, 7, 99])
            #expect(cring_spsc_count(r) == 0 && cring_spsc_try_pop(r, &v, 8) == 0)
        }

        @Test("claim and peek return contiguous runs that stop at the end of the slot array, across the u64 wrap")
        func runsAcrossTheArrayEndAndTheCounterWrap() {
            let mem = RingMemory<cring_spsc>(bytes: cring_spsc_bytes(8, 8))
            let r = mem.ring
            // Sequence 2^64 - 3 sits in slot 5: three slots to the end of the array, and the counters wrap after them.
            #expect(cring_spsc_init(r, 8, 8, UInt64.max - 2) == CRING_OK.rawValue)
            var slots: UnsafeMutableRawPointer?
            #expect(cring_spsc_claim(r, 8, &slots) == 3)
            #expect(slots == UnsafeMutableRawPointer(r + 1) + 5 * 8)
            for k in 0..<3 { slots!.storeBytes(of: UInt64(k), toByteOffset: k * 8, as: UInt64.self) }
            cring_spsc_publish(r, 3)
            #expect(cring_spsc_claim(r, 8, &slots) == 5, "the rest of the capacity, from slot 0")
            #expect(slots == UnsafeMutableRawPointer(r + 1))
            for k in 0..<4 { slots!.storeBytes(of: UInt64(3 + k), toByteOffset: k * 8, as: UInt64.self) }
            cring_spsc_publish(r, 4) // publishes fewer than claimed
            #expect(cring_spsc_count(r) == 7)
            var ready: UnsafeRawPointer?
            #expect(cring_spsc_peek(r, 100, &ready) == 3)
            #expect((0..<3).map { ready!.load(fromByteOffset: $0 * 8, as: UInt64.self) } == [0, 1, 2])
            cring_spsc_release(r, 2) // releases fewer than peeked
            #expect(cring_spsc_peek(r, 100, &ready) == 1 && ready!.load(as: UInt64.self) == 2)
            cring_spsc_release(r, 1)
            #expect(cring_spsc_peek(r, 100, &ready) == 4)
            #expect((0..<4).map { ready!.load(fromByteOffset: $0 * 8, as: UInt64.self) } == [3, 4, 5, 6])
            cring_spsc_release(r, 4)
            #expect(cring_spsc_count(r) == 0 && cring_spsc_peek(r, 1, &ready) == 0)
        }

        @Test("geometry and alignment are checked")
        func geometry() {
            #expect(cring_spsc_bytes(1024, 64) == MemoryLayout<cring_spsc>.size + 1024 * 64)
            for (cap, slot) in [(0, 8), (1, 8), (3, 8), (1 << 31 + 1, 8), (8, 4), (8, 12), (8, 8192)] as [(UInt32, UInt32)] {
                #expect(cring_spsc_bytes(cap, slot) == 0)
            }
            let mem = RingMemory<cring_spsc>(bytes: 4096)
            #expect(cring_spsc_init(mem.ring, 6, 8, 0) == CRING_EBADCAPACITY.rawValue)
            #expect(cring_spsc_init(mem.ring, 8, 24, 0) == CRING_EBADSLOT.rawValue)
            let skewed = (mem.raw + 64).assumingMemoryBound(to: cring_spsc.self)
            #expect(cring_spsc_init(skewed, 8, 8, 0) == CRING_EMISALIGNED.rawValue)
            #expect(String(cString: cring_status_name(CRING_EMISALIGNED.rawValue)).contains("aligned"))
        }
    }
}
