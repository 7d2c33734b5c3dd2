import CDpdk

/// The UDP datagrams one poll kept: frames parsed down to UDP in C (cdpdk_rx_udp) and
/// filtered on the burst's destinations; every other frame is counted and freed at once.
/// The mbufs stay the driver's until `release()` (or the next receive, or deinit).
public struct UDPBurst: ~Copyable {
    @usableFromInline let slots: UnsafeMutablePointer<cdpdk_udp>
    @usableFromInline let destinations: UnsafeMutablePointer<cn_udp_dest>
    @usableFromInline let destinationCount: UInt32
    public let capacity: Int
    @usableFromInline var _count = 0
    public var count: Int { _count }
    /// TSC read once per poll, right after the driver returned frames.
    public var rxTSC: UInt64 { _rxTSC }
    @usableFromInline var _rxTSC: UInt64 = 0
    /// Frames polled and dropped over every poll into this burst.
    @usableFromInline var _drops = cdpdk_udp_counts()
    public var frames: UInt64 { _drops.frames }
    /// Whole UDP datagrams to none of the destinations.
    public var otherUDP: UInt64 { _drops.other_udp }
    /// Frames that were no whole UDP datagram (ARP, IPv6, TCP, fragments, broken headers).
    public var notUDP: UInt64 { _drops.not_udp }

    /// `destinations`: the (group, port) pairs to keep, in the order `cdpdk_udp.dest` indexes;
    /// 0 in a field matches any.
    public init(capacity: Int = 32, destinations: [cn_udp_dest]) {
        precondition(capacity > 0 && capacity <= Int(CDPDK_MAX_BURST), "burst capacity must be 1...\(CDPDK_MAX_BURST)")
        precondition(!destinations.isEmpty, "a UDP burst needs at least one destination")
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        self.destinations = .allocate(capacity: destinations.count)
        self.destinations.initialize(from: destinations, count: destinations.count)
        destinationCount = UInt32(destinations.count)
    }

    deinit {
        if _count > 0 { cdpdk_rx_udp_free(slots, UInt16(_count)) }
        slots.deallocate()
        destinations.deallocate()
    }

    /// The frames counted in `notUDP`, by cause (cn_frame_status_name: "not_ipv4", "fragment",
    /// "short", ...), causes that occurred only, in status order.
    public var notUDPByCause: [(cause: String, frames: UInt64)] {
        withUnsafeBytes(of: _drops.by_status) { raw in
            (CN_FRAME_STATUS_MIN...CN_FRAME_STATUS_MAX).compactMap { status -> (String, UInt64)? in
                let n = raw.load(fromByteOffset: Int(status - CN_FRAME_STATUS_MIN) * 8, as: UInt64.self)
                return n == 0 ? nil : (String(cString: cn_frame_status_name(status)), n)
            }
        }
    }

    /// The i-th kept datagram: payload, length, matched destination, driver timestamp.
    @inlinable
    public subscript(i: Int) -> cdpdk_udp { slots[i] }

    /// Gives the mbufs back to their pool.
    @inlinable
    public mutating func release() {
        if _count > 0 { cdpdk_rx_udp_free(slots, UInt16(_count)); _count = 0 }
    }
}

extension cdpdk_udp {
    /// The UDP payload, valid until its burst is released.
    @inlinable
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: payload, count: Int(len)) }
}

extension DpdkPort {
    /// Polls `queue` once for UDP datagrams to the burst's destinations. Releases what `burst`
    /// still held, then fills it; returns how many were kept (0 also when every frame was dropped:
    /// `burst.frames` says what arrived).
    @inlinable
    public func receive(queue: UInt16 = 0, into burst: inout UDPBurst) -> Int {
        burst.release()
        burst._count = Int(cdpdk_rx_udp(id, queue, burst.destinations, burst.destinationCount, burst.slots,
                                        UInt16(burst.capacity), &burst._rxTSC, &burst._drops))
        return burst._count
    }
}
