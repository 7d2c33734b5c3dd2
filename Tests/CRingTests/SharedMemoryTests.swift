import CEvent
import CRing
import CSys
import Glibc
import Testing

/// A shared-memory name of this test process, so that concurrent runs never meet.
func shmName(_ tag: String) -> String { "/omni-ring-test-\(getpid())-\(tag)" }

/// Runs both directions of a duplex exchange until it has sent and received
/// `count` events or the deadline passes: pushes i = 0..<count on `out`, pops and
/// checks 0..<count from `into`. Only C calls and integer arithmetic, so a forked
/// child of a multithreaded process may run it (no Swift runtime call, no lock,
/// no allocation, no generic type's metadata). Returns the events received out of
/// place, or UInt64.max on timeout.
func duplex(out: UnsafeMutablePointer<cring_spsc>, into: UnsafeMutablePointer<cring_spsc>, count: UInt64, until end: UInt64) -> UInt64 {
    var sent: UInt64 = 0, received: UInt64 = 0, wrong: UInt64 = 0, idle: UInt32 = 0
    while sent < count || received < count {
        var progressed = false
        if sent < count {
            var e = omni_event()
            e.type = UInt8(OMNI_EV_FILL.rawValue)
            e.seq = sent
            e.fill.venue_ns = sent &* 0x9E37_79B9_7F4A_7C15
            if cring_spsc_try_push(out, &e, 64) == 1 { sent += 1; progressed = true }
        }
        var slots: UnsafeRawPointer?
        let n = cring_spsc_peek(into, 32, &slots)
        if n > 0 {
            var k = 0
            while k < Int(n) {
                // omni_event.seq at offset 16, fill.venue_ns at 40 (ABI v2), read as plain words
                let seq = slots!.load(fromByteOffset: k * 64 + 16, as: UInt64.self)
                let match = slots!.load(fromByteOffset: k * 64 + 40, as: UInt64.self)
                if seq != received || match != received &* 0x9E37_79B9_7F4A_7C15 { wrong += 1 }
                received += 1
                k += 1
            }
            cring_spsc_release(into, n)
            progressed = true
        }
        if progressed {
            idle = 0
        } else {
            idle &+= 1 // as Backoff, with nanosleep: usleep is not async-signal-safe
            if idle > 64 { var ts = timespec(tv_sec: 0, tv_nsec: 10_000); nanosleep(&ts, nil) }
            if csys_monotonic_ns() > end { return UInt64.max }
        }
    }
    return wrong
}

extension Kernels {
    @Suite("Shared-memory SPSC ring")
    struct SharedMemory {
        @Test("two real processes exchange events both ways through rings opened by name")
        func acrossProcesses() throws {
            let count: UInt64 = 400_000
            let up = shmName("up"), down = shmName("down")
            var parentToChild = cring_shm(), childToParent = cring_shm()
            #expect(cring_shm_create(&parentToChild, down, 1024, 64) == CRING_OK.rawValue)
            #expect(cring_shm_create(&childToParent, up, 1024, 64) == CRING_OK.rawValue)
            defer {
                cring_shm_close(&parentToChild); cring_shm_close(&childToParent)
                _ = cring_shm_unlink(up); _ = cring_shm_unlink(down)
            }
            try #require(parentToChild.ring != nil && childToParent.ring != nil)
            // Everything the child touches is made before fork: names as C strings, the deadline.
            let upC = strdup(up)!, downC = strdup(down)!
            defer { free(upC); free(downC) }
            let end = deadline(seconds: 30)

            let pid = fork()
            if pid == 0 {
                // The child: its own mappings, opened by name; exit status 0 = all received in order.
                var a = cring_shm(), b = cring_shm()
                if cring_shm_open(&a, upC, 1024, 64) != 0 || cring_shm_open(&b, downC, 1024, 64) != 0 { _exit(2) }
                let wrong = duplex(out: a.ring, into: b.ring, count: count, until: end)
                _exit(wrong == 0 ? 0 : wrong == UInt64.max ? 3 : 1)
            }
            try #require(pid > 0, "fork failed: errno \(errno)")
            let wrong = duplex(out: parentToChild.ring, into: childToParent.ring, count: count, until: end)
            var status: Int32 = 0
            if wrong == UInt64.max { kill(pid, SIGKILL) }
            #expect(waitpid(pid, &status, 0) == pid)
            #expect(wrong == 0, "parent received events out of place (UInt64.max: timed out)")
            #expect(status & 0x7F == 0 && (status >> 8) & 0xFF == 0,
                    "child: exit \((status >> 8) & 0xFF) (1 wrong events, 2 open failed, 3 timed out), signal \(status & 0x7F)")
            #expect(cring_spsc_count(parentToChild.ring) == 0 && cring_spsc_count(childToParent.ring) == 0)
        }

        @Test("open validates the header: geometry, version, magic, size, readiness, existence")
        func headerChecks() throws {
            let name = shmName("hdr")
            var s = cring_shm()
            _ = cring_shm_unlink(name)
            #expect(cring_shm_open(&s, name, 0, 0) == CRING_ESYS.rawValue && errno == ENOENT)
            #expect(cring_shm_create(&s, name, 1000, 64) == CRING_EBADCAPACITY.rawValue)
            #expect(cring_shm_create(&s, name, 1024, 64) == CRING_OK.rawValue)
            defer { cring_shm_close(&s); _ = cring_shm_unlink(name) }
            #expect(s.map_bytes % 4096 == 0 && s.header.pointee.file_bytes == UInt64(s.map_bytes))
            var again = cring_shm()
            #expect(cring_shm_create(&again, name, 1024, 64) == CRING_ESYS.rawValue && errno == EEXIST)

            var o = cring_shm()
            #expect(cring_shm_open(&o, name, 2048, 64) == CRING_EGEOMETRY.rawValue && o.ring == nil)
            #expect(cring_shm_open(&o, name, 1024, 8) == CRING_EGEOMETRY.rawValue)
            #expect(cring_shm_open(&o, name, 0, 0) == CRING_OK.rawValue)
            #expect(o.header.pointee.capacity == 1024 && o.header.pointee.slot_size == 64)
            // The two mappings are one ring: an event pushed through one pops out of the other.
            var e = omni_event(encoding: 42), back = omni_event()
            #expect(cring_spsc_try_push(s.ring, &e, 64) == 1 && cring_spsc_try_pop(o.ring, &back, 64) == 1)
            #expect(back.decoded == 42)
            cring_shm_close(&o)

            s.header.pointee.version = 99
            #expect(cring_shm_open(&o, name, 0, 0) == CRING_EVERSION.rawValue)
            s.header.pointee.version = CRING_SHM_VERSION
            s.header.pointee.file_bytes += 4096
            #expect(cring_shm_open(&o, name, 0, 0) == CRING_ETRUNCATED.rawValue)
            s.header.pointee.file_bytes -= 4096
            let raw = UnsafeMutableRawPointer(s.header!)
            raw.storeBytes(of: 0x1234, as: UInt64.self) // the magic word
            #expect(cring_shm_open(&o, name, 0, 0) == CRING_EMAGIC.rawValue)
            raw.storeBytes(of: 0, as: UInt64.self)
            #expect(cring_shm_open(&o, name, 0, 0) == CRING_ENOTREADY.rawValue)

            // A file created and not yet sized is not ready; one too short for a header is not a ring.
            let bare = shmName("bare")
            let fd = shm_open(bare, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            defer { close(fd); shm_unlink(bare) }
            #expect(cring_shm_open(&o, bare, 0, 0) == CRING_ENOTREADY.rawValue)
            #expect(ftruncate(fd, 64) == 0)
            #expect(cring_shm_open(&o, bare, 0, 0) == CRING_EMAGIC.rawValue)
            #expect(String(cString: cring_status_name(CRING_EGEOMETRY.rawValue)).contains("capacity"))
        }

        @Test("a file path (not a POSIX shm name) is opened as a file: the hugetlbfs form")
        func filePath() {
            let path = "/dev/shm/omni-ring-test-\(getpid())-file"
            var s = cring_shm(), o = cring_shm()
            #expect(cring_shm_create(&s, path, 64, 8) == CRING_OK.rawValue)
            defer { cring_shm_close(&s); cring_shm_close(&o); _ = cring_shm_unlink(path) }
            #expect(access(path, F_OK) == 0)
            #expect(cring_shm_open(&o, path, 64, 8) == CRING_OK.rawValue)
            var v: UInt64 = 7, w: UInt64 = 0
            #expect(cring_spsc_try_push(s.ring, &v, 8) == 1 && cring_spsc_try_pop(o.ring, &w, 8) == 1 && w == 7)
        }
    }
}
