import Glibc

/// One poll(2) set that several servers fill and then read back, so a single thread can block
/// on all of them at once (the SoupBinTCP server, the FIX acceptor, a UDP socket...).
///
/// Each pass: `reset()`, every party `register(in:)` (which `add`s its descriptors and keeps the
/// indices), one `wait`, then every party `handle(...)`, reading `revents(at:)` of its indices.
/// The entries live in one buffer allocated once and doubled only when more descriptors are
/// registered than ever before (a new connection), so a pass allocates nothing.
public final class PollSet {
    public private(set) var entries: UnsafeMutablePointer<pollfd>
    public private(set) var capacity: Int
    public private(set) var count = 0

    public init(capacity: Int = 64) {
        self.capacity = max(capacity, 4)
        entries = .allocate(capacity: self.capacity)
    }

    deinit { entries.deallocate() }

    /// Empties the set for the next pass.
    @inline(__always) public func reset() { count = 0 }

    /// Adds a descriptor with the events wanted; returns its index for `revents(at:)`.
    @inline(__always) @discardableResult
    public func add(_ fd: Int32, events: Int16) -> Int {
        if count == capacity { grow() }
        entries[count] = pollfd(fd: fd, events: events, revents: 0)
        count += 1
        return count - 1
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<pollfd>.allocate(capacity: capacity * 2)
        bigger.update(from: entries, count: count)
        entries.deallocate()
        entries = bigger
        capacity *= 2
    }

    /// What poll(2) reported for entry `i` in the last `wait` (0 before one).
    @inline(__always) public func revents(at i: Int) -> Int16 { entries[i].revents }

    /// poll(2) over every entry: waits up to `timeoutMs` (0: no wait, -1: no limit). Returns the
    /// number of ready entries; 0 on timeout or on an interrupted wait (EINTR), -1 on failure.
    @discardableResult
    public func wait(timeoutMs: Int32) -> Int32 {
        let n = poll(entries, nfds_t(count), timeoutMs)
        if n < 0 {
            // revents may not have been written: nothing is ready.
            for i in 0..<count { entries[i].revents = 0 }
            return errno == EINTR ? 0 : -1
        }
        return n
    }
}

/// The poll timeout (ms, rounded up, at most `capMs`) until monotonic time `dueNs`; 0 when due.
@inline(__always)
public func pollTimeoutMs(until dueNs: UInt64, now: UInt64, capMs: Int32) -> Int32 {
    if dueNs <= now { return 0 }
    let ms = (dueNs - now + 999_999) / 1_000_000
    return ms >= UInt64(capMs) ? capMs : Int32(ms)
}
