import CSys
import Glibc
import SharedTestData
import Testing

/// Runs `body` on a thread of its own and returns its result: pinning, priorities
/// and names then stay off the test runner's threads.
func onThread<R>(_ body: @escaping @Sendable () -> R) -> R {
    let out = Shared(p: UnsafeMutablePointer<R>.allocate(capacity: 1))
    defer { out.p.deinitialize(count: 1); out.p.deallocate() }
    runThreads([{ out.p.initialize(to: body()) }])
    return out.p.pointee
}

/// A field of /proc/meminfo, e.g. "HugePages_Free".
func meminfo(_ key: String) -> Int? {
    guard let f = fopen("/proc/meminfo", "r") else { return nil }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), f) != nil {
        let s = String(cString: line)
        // "HugePages_Total:     512\n", "MemTotal:  24000000 kB\n": the first field after the colon.
        if s.hasPrefix(key + ":") { return Int(s.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\n" }).first ?? "") }
    }
    return nil
}

extension String {
    func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}

/// Run alone: the clock tests time sleeps and the thread tests pin and reprioritise.
@Suite("CSys system calls", .serialized)
enum SystemCalls {}

extension SystemCalls {
    @Suite("CSys threads")
    struct Threads {
        @Test("pinning to core 0 takes effect; a core out of range is -EINVAL")
        func pin() {
            let (rc, core) = onThread { (csys_pin_to_core(0), csys_current_core()) }
            #expect(rc == 0 && core == 0)
            #expect(onThread { csys_pin_to_core(10_000) } == -EINVAL)
            #expect(onThread { csys_pin_to_core(-1) } == -EINVAL)
            #expect(onThread { csys_pin_to_core(csys_online_cores()) } == -EINVAL, "one past the last online core")
        }

        @Test("online cores match sysconf; names are cut to 15 characters")
        func coresAndNames() {
            #expect(csys_online_cores() >= 1 && csys_online_cores() == Int32(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
            let name: String = onThread {
                guard csys_name_thread("omni-journal-writer") == 0 else { return "" }
                guard let f = fopen("/proc/thread-self/comm", "r") else { return "" }
                defer { fclose(f) }
                var buf = [CChar](repeating: 0, count: 32)
                _ = fgets(&buf, Int32(buf.count), f)
                return String(cString: buf).trimmingSuffix("\n")
            }
            #expect(name == "omni-journal-wr")
        }

        @Test("SCHED_FIFO: granted or refused with -EPERM, range checked, undone with priority 0")
        func fifo() {
            let (set, policy, reset) = onThread { () -> (Int32, Int32, Int32) in
                let set = csys_set_fifo(10)
                let policy = sched_getscheduler(0)
                return (set, policy, csys_set_fifo(0))
            }
            #expect(set == 0 || set == -EPERM)
            if set == 0 { #expect(policy == SCHED_FIFO) }
            #expect(reset == 0)
            #expect(onThread { csys_set_fifo(100) } == -EINVAL)
        }

        @Test("mlockall: locked, or refused with a reason")
        func lockMemory() {
            let rc = csys_lock_memory()
            #expect(rc == 0 || rc == -EPERM || rc == -ENOMEM)
            munlockall() // the rest of the test process need not stay resident
        }
    }

    @Suite("CSys memory")
    struct Memory {
        @Test("hugepage allocation: MAP_HUGETLB when the pool has pages, else THP pages, and says which")
        func hugepages() throws {
            var r = csys_region()
            #expect(csys_alloc_hugepages(&r, 3 << 20, -1) == 0)
            // Only an empty pool proves the fallback: other processes (DPDK runs) take and give back free pages any time.
            let total = meminfo("HugePages_Total") ?? 0
            if total < 2 { #expect(r.kind == CSYS_MEM_THP, "the pool has \(total) pages: fallback expected") }
            #expect(r.kind == CSYS_MEM_HUGETLB || r.kind == CSYS_MEM_THP)
            #expect(r.size == 4 << 20 && Int(bitPattern: r.base) % (2 << 20) == 0, "2 MiB pages, 2 MiB aligned, either kind")
            let bytes = try #require(r.base).assumingMemoryBound(to: UInt8.self)
            #expect(bytes[0] == 0 && bytes[r.size - 1] == 0)
            bytes[r.size - 1] = 7
            print("hugepage allocation: \(String(cString: csys_mem_kind_name(r.kind))), \(r.size) bytes")

            csys_region_free(&r)
            #expect(r.kind == CSYS_MEM_NONE && r.base == nil)
            #expect(csys_alloc_hugepages(&r, 0, -1) == -EINVAL)
        }

        @Test("NUMA-local allocation through libnuma, or plain pages where libnuma is unavailable")
        func numaLocal() throws {
            var r = csys_region()
            #expect(csys_alloc_on_node(&r, 100_000, -1) == 0)
            #expect(r.kind == CSYS_MEM_NUMA || r.kind == CSYS_MEM_PAGES)
            #expect(r.size == 102_400 && r.base != nil)
            if r.kind == CSYS_MEM_NUMA { #expect(r.node >= 0) }
            let bytes = try #require(r.base).assumingMemoryBound(to: UInt8.self)
            bytes[r.size - 1] = 1
            print("node allocation: \(String(cString: csys_mem_kind_name(r.kind))), node \(r.node)")
            let numa = r.kind == CSYS_MEM_NUMA
            csys_region_free(&r)
            #expect(r.kind == CSYS_MEM_NONE)
            if numa {
                #expect(csys_alloc_on_node(&r, 4096, 0) == 0 && r.node == 0)
                csys_region_free(&r)
                #expect(csys_alloc_on_node(&r, 4096, 4096) == -EINVAL, "no such node")
                #expect(csys_alloc_hugepages(&r, 4096, 0) == 0 && r.node == 0)
                csys_region_free(&r)
                #expect(csys_alloc_hugepages(&r, 4096, 4096) == -EINVAL && r.kind == CSYS_MEM_NONE)
            }
        }
    }

    @Suite("CSys clock")
    struct Clock {
        @Test("the TSC is used only when invariant; calibrated rate in range; a 10 ms sleep converts within ±20 %")
        func tscCalibration() {
            var c = csys_clock()
            let source = csys_clock_init(&c, CSYS_CLOCK_TSC, 50)
            #expect(source == c.source)
            #expect(source == (csys_tsc_invariant() == 1 ? CSYS_CLOCK_TSC : CSYS_CLOCK_MONOTONIC))
            if source == CSYS_CLOCK_TSC {
                #expect(c.hz > 100_000_000 && c.hz < 10_000_000_000, "ticks per second: \(c.hz)")
            }
            print("clock: \(String(cString: csys_clock_source_name(source))), \(c.hz) ticks/s, mult \(c.mult) >> \(CSYS_CLOCK_SHIFT)")

            // The interval in converted ticks against the same interval on CLOCK_MONOTONIC: both
            // bracket the sleep, so load on the machine stretches both alike.
            let t0 = csys_clock_now(&c), m0 = csys_monotonic_ns()
            usleep(10_000)
            let t1 = csys_clock_now(&c), m1 = csys_monotonic_ns()
            let ns = Double(csys_clock_ns(&c, t1 - t0)), mono = Double(m1 - m0)
            #expect(mono >= 10_000_000)
            #expect(abs(ns - mono) <= 0.2 * mono, "converted \(ns) ns, CLOCK_MONOTONIC \(mono) ns")

            // A reading placed on the monotonic time line lands where clock_gettime says.
            let placed = Double(csys_clock_monotonic_ns(&c, csys_clock_now(&c)))
            #expect(abs(placed - Double(csys_monotonic_ns())) < 1_000_000)
            #expect(csys_tsc_begin() <= csys_tsc_end())
        }

        @Test("the CLOCK_MONOTONIC fallback: ticks are nanoseconds")
        func monotonicFallback() {
            var c = csys_clock()
            #expect(csys_clock_init(&c, CSYS_CLOCK_MONOTONIC, 50) == CSYS_CLOCK_MONOTONIC)
            #expect(c.mult == 1 << CSYS_CLOCK_SHIFT && c.hz == 1_000_000_000)
            #expect(csys_clock_ns(&c, 123_456_789) == 123_456_789 && csys_clock_ns(&c, UInt64.max) == UInt64.max)
            let a = csys_clock_now(&c), m = csys_monotonic_ns(), b = csys_clock_now(&c)
            #expect(a <= m && m <= b)
            #expect(String(cString: csys_clock_source_name(c.source)) == "monotonic")
        }
    }
}
