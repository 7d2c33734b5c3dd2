import CNet
import CSys
import Glibc

/// One received datagram: a view into the backend's buffer, valid until the batch that
/// holds it is used for the next receive.
public struct Datagram {
    public let bytes: UnsafeRawBufferPointer
    /// Kernel receive timestamp in nanoseconds (CLOCK_REALTIME for software stamps), 0 when absent.
    public let kernelTimestampNs: UInt64
    /// The datagram was larger than its buffer and was cut.
    public let truncated: Bool
    public let source: IPv4Endpoint

    @usableFromInline init(bytes: UnsafeRawBufferPointer, kernelTimestampNs: UInt64, truncated: Bool, source: IPv4Endpoint) {
        self.bytes = bytes
        self.kernelTimestampNs = kernelTimestampNs
        self.truncated = truncated
        self.source = source
    }
}

/// Views of the datagrams of one receive, allocated once. The views point into the receiving
/// backend's buffers and stay valid until this batch is used for the next receive. io_uring
/// buffers go back to their ring at that next receive (with any receiver): receive once more
/// before dropping a batch whose ring stays open, or those buffers stay out of circulation.
public struct DatagramBatch: ~Copyable {
    @usableFromInline let views: UnsafeMutablePointer<cn_uring_view>
    public let capacity: Int
    /// Datagrams of the last receive.
    public internal(set) var count = 0
    /// TSC (csys_rdtsc) taken as the last receive returned: one stamp per batch.
    public internal(set) var tsc: UInt64 = 0
    /// The io_uring ring whose buffers these views hold, to be given back on the next receive.
    var heldBy: OpaquePointer?

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        views = .allocate(capacity: capacity)
        views.initialize(repeating: cn_uring_view(), count: capacity)
    }

    deinit { views.deallocate() }

    @inlinable public subscript(i: Int) -> Datagram {
        precondition(i >= 0 && i < count, "datagram index out of range")
        let v = views[i]
        return Datagram(bytes: UnsafeRawBufferPointer(start: v.data, count: Int(v.len)), kernelTimestampNs: v.ts_ns,
                        truncated: (Int(v.flags) & Int(CN_RX_TRUNCATED)) != 0, source: IPv4Endpoint(v.src))
    }

    @inlinable public func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        precondition(i >= 0 && i < count, "datagram index out of range")
        return UnsafeRawBufferPointer(start: views[i].data, count: Int(views[i].len))
    }

    @inlinable public func kernelTimestampNs(_ i: Int) -> UInt64 {
        precondition(i >= 0 && i < count, "datagram index out of range")
        return views[i].ts_ns
    }
}

/// A way of receiving batches of datagrams from one socket. Structs conforming to it are used
/// as generic parameters, so a receive loop specialises for each and never goes through an existential.
public protocol ReceiveBackend: ~Copyable {
    /// Receives what is waiting (up to the batch's capacity) without blocking; 0 when nothing is.
    /// The batch's previous views are given up first.
    mutating func receive(into batch: inout DatagramBatch) throws(NetError) -> Int
    /// Blocks until something can be received or the timeout passes; false on timeout.
    mutating func wait(timeoutNanoseconds: UInt64) throws(NetError) -> Bool
    /// Where the socket points, for error messages.
    var label: MulticastGroup { get }
}

/// Batch size and buffering for a receiver.
public struct ReceiveOptions: Sendable {
    /// Datagrams per recvmmsg (socket backend).
    public var batch = 64
    /// Bytes per datagram buffer, socket backend; io_uring buffers add 160 bytes of header.
    public var slotSize = 2048
    /// SO_RCVBUF request in bytes.
    public var receiveBufferBytes = 4 << 20
    /// Request SO_TIMESTAMPING receive stamps.
    public var timestamps = true
    /// Provided buffers for io_uring (a power of two).
    public var ioUringBuffers = 1024
    /// io_uring submission-queue polling thread (costs a core while busy).
    public var sqPoll = false
    /// io_uring copies datagrams only when a burst finds no completions (DEFER_TASKRUN), instead of
    /// whenever a burst sees the kernel's pending-work flag (the default, cooperative mode). The
    /// receiver must stay on the thread that opened it.
    public var deferTaskRun = false
    /// io_uring starts receiving at the first receive or wait instead of when opened; until then
    /// datagrams queue in the socket as they do for recvmmsg.
    public var armOnFirstReceive = false
    /// SO_BUSY_POLL: a receive that finds nothing spins this long on the device's queue before
    /// sleeping (0: off). Only NAPI devices have a queue to spin on: loopback has none.
    public var busyPollMicroseconds = 0

    public init() {}
}

/// recvmmsg into fixed slots: one syscall per batch, kernel timestamps from each datagram's cmsg.
public struct SocketBackend: ReceiveBackend, ~Copyable {
    let fd: Int32
    var batch: cn_batch
    let slots: UInt32
    public let label: MulticastGroup

    /// Takes ownership of fd (non-blocking) and closes it on deinit.
    init(fd: Int32, batch capacity: Int, slotSize: Int, label: MulticastGroup) throws(NetError) {
        var b = cn_batch()
        let rc = cn_batch_init(&b, UInt32(capacity), UInt32(slotSize))
        guard rc == 0 else {
            cn_udp_close(fd)
            throw .open(role: "receive batch", group: label.group, port: label.port, interface: label.interfaceName, code: -rc)
        }
        self.fd = fd
        self.batch = b
        self.slots = UInt32(capacity)
        self.label = label
    }

    deinit {
        var b = batch
        cn_batch_free(&b)
        cn_udp_close(fd)
    }

    public mutating func receive(into out: inout DatagramBatch) throws(NetError) -> Int {
        if let ring = out.heldBy { // the batch last held io_uring buffers: give them back
            cn_uring_rx_release(ring, out.views, UInt32(out.count))
            out.heldBy = nil
        }
        batch.capacity = min(UInt32(out.capacity), slots)
        let n = cn_udp_recv_batch(fd, &batch)
        out.tsc = batch.tsc
        guard n > 0 else {
            out.count = 0
            if n == -EAGAIN || n == -EINTR { return 0 }
            throw .receive(group: label.group, port: label.port, interface: label.interfaceName, code: -n)
        }
        for i in 0..<Int(n) {
            let d = batch.datagrams[i]
            out.views[i] = cn_uring_view(data: UnsafePointer(batch.iov[i].iov_base.assumingMemoryBound(to: UInt8.self)),
                                          len: d.len, buffer_id: 0, flags: UInt16(truncatingIfNeeded: d.flags),
                                          ts_ns: d.ts_ns, src: d.src)
        }
        out.count = Int(n)
        return Int(n)
    }

    public mutating func wait(timeoutNanoseconds: UInt64) throws(NetError) -> Bool {
        try pollReadable(fd, timeoutNanoseconds, label)
    }
}

func pollReadable(_ fd: Int32, _ timeoutNanoseconds: UInt64, _ label: MulticastGroup) throws(NetError) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ms = timeoutNanoseconds == 0 ? -1 : Int32(clamping: (timeoutNanoseconds + 999_999) / 1_000_000)
    let rc = poll(&p, 1, ms)
    if rc < 0 {
        let e = errno
        if e == EINTR { return false }
        throw .receive(group: label.group, port: label.port, interface: label.interfaceName, code: e)
    }
    return rc > 0
}

/// io_uring multishot recvmsg into a provided buffer ring. Kernel timestamps come from each
/// buffer's cmsg; the TSC stamp is one per completion batch.
public struct IoUringBackend: ReceiveBackend, ~Copyable {
    let fd: Int32
    let ring: OpaquePointer
    public let label: MulticastGroup

    /// Takes ownership of fd and closes it on deinit, after the ring.
    init(fd: Int32, options: ReceiveOptions, label: MulticastGroup) throws(NetError) {
        var cfg = cn_uring_config_default()
        cfg.buffers = UInt32(options.ioUringBuffers)
        cfg.buffer_size = UInt32(options.slotSize + 160)
        if options.sqPoll { cfg.flags |= UInt32(CN_URING_SQPOLL) }
        if options.deferTaskRun { cfg.flags |= UInt32(CN_URING_DEFER_TASKRUN) }
        if options.armOnFirstReceive { cfg.flags |= UInt32(CN_URING_ARM_LATER) }
        var r: OpaquePointer?
        let rc = cn_uring_rx_open(fd, &cfg, &r)
        guard rc == 0, let r else {
            cn_udp_close(fd)
            throw .ioUring(group: label.group, port: label.port, interface: label.interfaceName, code: -rc)
        }
        self.fd = fd
        self.ring = r
        self.label = label
    }

    deinit {
        cn_uring_rx_close(ring)
        cn_udp_close(fd)
    }

    public mutating func receive(into out: inout DatagramBatch) throws(NetError) -> Int {
        if let held = out.heldBy {
            cn_uring_rx_release(held, out.views, UInt32(out.count))
            out.heldBy = nil
        }
        let n = cn_uring_rx_burst(ring, out.views, UInt32(out.capacity))
        guard n > 0 else {
            out.count = 0
            if n == 0 { return 0 }
            throw .ioUring(group: label.group, port: label.port, interface: label.interfaceName, code: -n)
        }
        out.count = Int(n)
        out.tsc = cn_uring_rx_stats(ring).tsc
        out.heldBy = ring
        return Int(n)
    }

    public mutating func wait(timeoutNanoseconds: UInt64) throws(NetError) -> Bool {
        let rc = cn_uring_rx_wait(ring, timeoutNanoseconds)
        if rc == 0 { return true }
        if rc == -ETIME || rc == -EINTR { return false }
        throw .ioUring(group: label.group, port: label.port, interface: label.interfaceName, code: -rc)
    }

    /// The ring's counters: datagrams, re-arms, ENOBUFS completions, truncations.
    public var stats: cn_uring_stats { cn_uring_rx_stats(ring) }
}

/// Which receive path a receiver uses.
public enum ReceivePath: String, Sendable, CaseIterable {
    case socket   // recvmmsg
    case ioUring  // io_uring multishot recvmsg
}

/// A joined multicast group and the backend that receives from it.
public struct MulticastReceiver<Backend: ReceiveBackend & ~Copyable>: ~Copyable {
    public var backend: Backend
    public let info: SocketInfo
    public var group: MulticastGroup { backend.label }

    public mutating func receive(into batch: inout DatagramBatch) throws(NetError) -> Int {
        try backend.receive(into: &batch)
    }

    public mutating func wait(timeoutNanoseconds: UInt64) throws(NetError) -> Bool {
        try backend.wait(timeoutNanoseconds: timeoutNanoseconds)
    }
}

/// Opens a non-blocking, joined receiver socket; the fd and what it was granted.
func openMulticastSocket(_ g: MulticastGroup, _ o: ReceiveOptions) throws(NetError) -> (Int32, SocketInfo) {
    var info = cn_socket_info()
    let fd: Int32 = g.group.withCString { group in
        withOptionalCString(g.interface) { interface in
            withOptionalCString(g.source) { source in
                var cfg = cn_mcast_rx_config(group: group, port: g.port, interface: interface, source: source,
                                             rcvbuf: Int32(clamping: o.receiveBufferBytes), nonblocking: 1,
                                             timestamps: o.timestamps ? 1 : 0)
                return cn_mcast_rx_open(&cfg, &info)
            }
        }
    }
    guard fd >= 0 else {
        throw .open(role: "multicast receiver", group: g.group, port: g.port, interface: g.interface ?? "127.0.0.1", code: -fd)
    }
    if o.busyPollMicroseconds > 0, let e = setBusyPoll(fd, microseconds: o.busyPollMicroseconds) {
        cn_udp_close(fd)
        throw .open(role: "multicast receiver (SO_BUSY_POLL)", group: g.group, port: g.port, interface: g.interface ?? "127.0.0.1", code: e)
    }
    return (fd, SocketInfo(info))
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

extension MulticastReceiver where Backend == SocketBackend {
    /// Joins the group and receives with recvmmsg.
    public init(_ group: MulticastGroup, options: ReceiveOptions = .init()) throws(NetError) {
        let (fd, info) = try openMulticastSocket(group, options)
        backend = try SocketBackend(fd: fd, batch: options.batch, slotSize: options.slotSize, label: group)
        self.info = info
    }
}

extension MulticastReceiver where Backend == IoUringBackend {
    /// Joins the group and receives with an io_uring multishot recvmsg.
    public init(_ group: MulticastGroup, options: ReceiveOptions = .init()) throws(NetError) {
        let (fd, info) = try openMulticastSocket(group, options)
        backend = try IoUringBackend(fd: fd, options: options, label: group)
        self.info = info
    }
}

/// A receive loop written once and specialised per backend: `MulticastGroup.receive(path:into:)`
/// picks the backend at run time, then calls `run` with the concrete receiver type.
public protocol ReceiveLoop: ~Copyable {
    associatedtype Result
    mutating func run<B: ReceiveBackend & ~Copyable>(_ receiver: inout MulticastReceiver<B>) throws(NetError) -> Result
}

extension MulticastGroup {
    /// Opens a receiver of the chosen path and hands it to the loop; closed when the loop returns.
    public func receive<L: ReceiveLoop & ~Copyable>(path: ReceivePath, options: ReceiveOptions = .init(), into loop: inout L) throws(NetError) -> L.Result {
        switch path {
        case .socket:
            var r = try MulticastReceiver<SocketBackend>(self, options: options)
            return try loop.run(&r)
        case .ioUring:
            var r = try MulticastReceiver<IoUringBackend>(self, options: options)
            return try loop.run(&r)
        }
    }
}
