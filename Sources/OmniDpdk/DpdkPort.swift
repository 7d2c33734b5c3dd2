import CDpdk

/// One started ethdev port with its own mbuf pool. Closing it (deinit) stops the
/// device and frees the pool: release every RxBurst first.
public struct DpdkPort: ~Copyable {
    public struct Config: Sendable, Equatable {
        public var rxQueues: UInt16 = 1
        public var txQueues: UInt16 = 1
        public var rxRing: UInt16 = 1024
        public var txRing: UInt16 = 1024
        /// mbufs in the pool: rx rings + bursts in flight + tx; net_pcap infinite_rx also keeps the whole file here.
        public var poolMbufs: UInt32 = 8191
        public var poolCache: UInt32 = 256
        /// Bytes per mbuf, 128 of them headroom; the default holds a 2048-byte frame.
        public var dataRoom: UInt16 = 2176
        public var promiscuous = true
        public init() {}
    }

    public let id: UInt16
    public let name: String

    /// Opens and starts the port with id `id`.
    public init(id: UInt16, config: Config = Config()) throws(DpdkError) {
        guard EAL.isStarted else { throw .notStarted }
        var c = cdpdk_port_conf()
        c.rx_queues = config.rxQueues
        c.tx_queues = config.txQueues
        c.rx_ring = config.rxRing
        c.tx_ring = config.txRing
        c.pool_mbufs = config.poolMbufs
        c.pool_cache = config.poolCache
        c.data_room = config.dataRoom
        c.promiscuous = config.promiscuous ? 1 : 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = cdpdk_port_open(id, &c, &err, err.count)
        if rc != 0 {
            if rc == -19 { throw .noSuchPort("\(id) (EAL found \(EAL.portCount))") } // ENODEV
            throw .portSetup(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.id = id
        self.name = DpdkPort.name(of: id) ?? "port\(id)"
    }

    /// Opens and starts the port EAL named `name` (a vdev's name, e.g. `net_pcap0`).
    public init(named name: String, config: Config = Config()) throws(DpdkError) {
        guard EAL.isStarted else { throw .notStarted }
        var id: UInt16 = 0
        guard cdpdk_port_by_name(name, &id) == 0 else { throw .noSuchPort("named \(name)") }
        try self.init(id: id, config: config)
    }

    deinit { cdpdk_port_close(id) }

    public static func name(of id: UInt16) -> String? {
        var buf = [CChar](repeating: 0, count: 64)
        guard cdpdk_port_name(id, &buf, buf.count) == 0 else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Polls `queue` once. Releases what `burst` still held, then fills it; returns how many arrived.
    @inlinable
    public func receive(queue: UInt16 = 0, into burst: inout RxBurst) -> Int {
        burst.release()
        burst._count = Int(cdpdk_rx_burst(id, queue, burst.slots, UInt16(burst.capacity)))
        return burst._count
    }

    /// Copies up to 256 frames into mbufs and transmits them; returns how many of the first went.
    /// A frame longer than `maxFrame` is never sent.
    public func send(queue: UInt16 = 0, frames: UnsafeBufferPointer<cdpdk_frame>) -> Int {
        guard let base = frames.baseAddress, !frames.isEmpty else { return 0 }
        return Int(cdpdk_tx_copy(id, queue, base, UInt16(min(frames.count, Int(CDPDK_MAX_BURST)))))
    }

    /// Copies one frame and transmits it; true when the driver took it.
    public func send(queue: UInt16 = 0, frame: UnsafeRawBufferPointer) -> Bool {
        guard let base = frame.baseAddress else { return false }
        var f = cdpdk_frame(data: base.assumingMemoryBound(to: UInt8.self), len: UInt32(frame.count))
        return cdpdk_tx_copy(id, queue, &f, 1) == 1
    }

    public var maxFrame: Int { Int(cdpdk_port_max_frame(id)) }

    /// Writes `frame` into every mbuf of the pool: net_null then delivers it endlessly.
    public func stampPool(with frame: [UInt8]) throws(DpdkError) {
        let rc = frame.withUnsafeBufferPointer { cdpdk_pool_stamp(id, $0.baseAddress, UInt32($0.count)) }
        if rc != 0 { throw .portSetup("cannot stamp a \(frame.count)-byte frame into port \(id)'s pool (max \(maxFrame))") }
    }

    public var stats: DpdkStats {
        var s = cdpdk_stats()
        _ = cdpdk_port_stats(id, &s)
        return DpdkStats(s)
    }

    public func resetStats() { _ = cdpdk_port_stats_reset(id) }
}

/// The device's own counters (rte_eth_stats).
public struct DpdkStats: Sendable, Equatable {
    public var ipackets, ibytes, imissed, ierrors, rxNoMbuf, opackets, obytes, oerrors: UInt64
    init(_ s: cdpdk_stats) {
        (ipackets, ibytes, imissed, ierrors, rxNoMbuf) = (s.ipackets, s.ibytes, s.imissed, s.ierrors, s.rx_nombuf)
        (opackets, obytes, oerrors) = (s.opackets, s.obytes, s.oerrors)
    }
}

/// Views of the frames one poll returned. The mbufs stay the driver's until
/// `release()` (or the next receive, or deinit): keep a burst short-lived.
public struct RxBurst: ~Copyable {
    @usableFromInline let slots: UnsafeMutablePointer<cdpdk_pkt>
    public let capacity: Int
    @usableFromInline var _count = 0
    public var count: Int { _count }

    public init(capacity: Int = 32) {
        precondition(capacity > 0 && capacity <= Int(CDPDK_MAX_BURST), "burst capacity must be 1...\(CDPDK_MAX_BURST)")
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
    }

    deinit {
        if _count > 0 { cdpdk_rx_free(slots, UInt16(_count)) }
        slots.deallocate()
    }

    /// The i-th frame: data pointer, length, per-burst TSC, driver timestamp.
    @inlinable
    public subscript(i: Int) -> cdpdk_pkt { slots[i] }

    /// Gives the mbufs back to their pool.
    @inlinable
    public mutating func release() {
        if _count > 0 { cdpdk_rx_free(slots, UInt16(_count)); _count = 0 }
    }
}

extension cdpdk_pkt {
    /// The frame's bytes (first segment), valid until its burst is released.
    @inlinable
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: Int(len)) }
}
