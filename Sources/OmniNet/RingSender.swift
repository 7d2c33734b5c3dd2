import CNet
import Glibc

/// SO_BUSY_POLL on `fd`: a receive that finds nothing spins `microseconds` on the device's queue
/// before it sleeps. nil, or the errno (raising it above net.core.busy_read needs CAP_NET_ADMIN).
public func setBusyPoll(_ fd: Int32, microseconds: Int) -> Int32? {
    var us = Int32(clamping: microseconds)
    return setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, socklen_t(MemoryLayout<Int32>.size)) == 0 ? nil : errno
}

/// Sends on a connected socket through io_uring (CNet's cn_uring_tx), at most one send in flight.
/// With SQPOLL a kernel thread takes each send off the submission queue: no syscall per send
/// while that thread is awake (`stats.wakeups` counts the sends that found it asleep). The bytes
/// of a send must stay unchanged until `reap` has returned its completion.
public final class RingSender {
    let tx: OpaquePointer
    public let sqpoll: Bool

    /// `sqpollCore`: the core the SQPOLL thread is pinned to (nil: the scheduler's choice);
    /// `idleMs`: it sleeps after this long without a send. Throws the errno (positive) on failure.
    public init(fd: Int32, sqpoll: Bool, sqpollCore: Int? = nil, idleMs: UInt32 = 1_000) throws(TCPError) {
        var cfg = cn_uring_config_default()
        cfg.sq_entries = 8
        if sqpoll { cfg.flags = UInt32(CN_URING_SQPOLL) }
        cfg.sqpoll_idle_ms = idleMs
        cfg.sqpoll_cpu = Int32(sqpollCore ?? -1)
        var t: OpaquePointer?
        let rc = cn_uring_tx_open(fd, &cfg, &t)
        guard rc == 0, let t else { throw TCPError(endpoint: "fd \(fd)", problem: "io_uring\(sqpoll ? " (SQPOLL)" : ""): \(errnoText(-rc))") }
        tx = t
        self.sqpoll = sqpoll
    }

    deinit { cn_uring_tx_close(tx) }

    /// Queues a send of `count` bytes at `bytes`: 0, or a negative errno (-EBUSY while one is in flight).
    @inline(__always) public func send(_ bytes: UnsafeRawPointer, count: Int) -> Int32 { cn_uring_tx_send(tx, bytes, UInt32(count)) }

    /// The send in flight's result once complete (bytes sent, or a negative errno), else nil.
    @inline(__always) public func reap() -> Int32? {
        var r: Int32 = 0
        return cn_uring_tx_reap(tx, &r) == 1 ? r : nil
    }

    public var stats: RingSenderStats {
        let s = cn_uring_tx_stats_get(tx)
        return RingSenderStats(sends: s.sends, bytes: s.bytes, wakeups: s.wakeups, enters: s.enters)
    }
}

/// What a RingSender did: sends queued, bytes sent, sends that woke a sleeping SQPOLL thread,
/// and sends that entered the kernel themselves (every one without SQPOLL).
public struct RingSenderStats: Sendable, Equatable {
    public var sends: UInt64, bytes: UInt64, wakeups: UInt64, enters: UInt64
}
