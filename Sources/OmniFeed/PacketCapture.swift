import CNet

/// The container format of a packet capture, told by its magic number.
public enum CaptureFormat: Sendable, Equatable, CustomStringConvertible {
    case pcap, pcapng

    /// The format of the capture in `bytes`, or nil when it starts with no pcap / pcapng magic.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> CaptureFormat? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        switch cn_capture_detect(base, bytes.count) {
        case CN_CAPTURE_PCAP: return .pcap
        case CN_CAPTURE_PCAPNG: return .pcapng
        default: return nil
        }
    }

    public var description: String { self == .pcap ? "pcap" : "pcapng" }
}

/// One captured frame: a view into the capture's buffer, valid while that buffer is.
public struct CapturedPacket {
    public let timestampNs: UInt64
    public let linkType: UInt32
    public let interface: UInt32
    public let bytes: UnsafeRawBufferPointer
    public let originalLength: Int

    @inlinable public init(timestampNs: UInt64, linkType: UInt32, interface: UInt32, bytes: UnsafeRawBufferPointer, originalLength: Int) {
        self.timestampNs = timestampNs; self.linkType = linkType; self.interface = interface
        self.bytes = bytes; self.originalLength = originalLength
    }
}

/// Walks the packets of a classic pcap or pcapng capture held in memory (CNet's
/// cn_pcap reader): zero-copy, bounds-checked; a record cut short at the end of the
/// buffer and a malformed record both stop the walk and are counted.
public struct PacketCapture {
    @usableFromInline var reader = cn_pcap_reader()
    public let format: CaptureFormat

    /// nil when `bytes` is no capture (unknown magic or a short file header).
    /// The buffer must outlive the walk (keep its MappedInput alive).
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let f = CaptureFormat.of(bytes), let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
              cn_pcap_open(&reader, base, bytes.count) == CN_PCAP_END.rawValue else { return nil }
        format = f
    }

    /// The next packet, or nil at the end, at a truncated record or at a malformed one (see `ending`).
    @inlinable public mutating func next() -> CapturedPacket? {
        var p = cn_pcap_packet()
        guard cn_pcap_next(&reader, &p) == CN_PCAP_PACKET.rawValue, let data = p.data else { return nil }
        return CapturedPacket(timestampNs: p.ts_ns, linkType: p.linktype, interface: p.interface_id,
                              bytes: UnsafeRawBufferPointer(start: data, count: Int(p.caplen)),
                              originalLength: Int(p.origlen))
    }

    /// How the walk ended so far: nil while packets remain.
    public enum Ending: Equatable, Sendable {
        case end
        /// The record at this byte offset runs past the end of the buffer.
        case truncated(offset: Int)
        /// The record or block at this byte offset has a length or field that cannot be right.
        case malformed(offset: Int)
    }

    public var ending: Ending? {
        switch reader.status {
        case CN_PCAP_END.rawValue where reader.off == reader.size: return .end
        case CN_PCAP_TRUNCATED.rawValue: return .truncated(offset: reader.off)
        case CN_PCAP_MALFORMED.rawValue: return .malformed(offset: reader.off)
        default: return nil
        }
    }

    public var packets: UInt64 { reader.packets }
    public var truncatedRecords: UInt64 { reader.truncated }
    public var malformedRecords: UInt64 { reader.malformed }
    /// pcapng blocks of types the reader passes over (statistics, name resolution ...).
    public var skippedBlocks: UInt64 { reader.skipped_blocks }
}

/// IPv4 addresses in host order, to and from dotted quads.
public enum IPv4 {
    public static func parse(_ text: some StringProtocol) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var a: UInt32 = 0
        for p in parts {
            guard let b = UInt8(p) else { return nil }
            a = a << 8 | UInt32(b)
        }
        return a
    }

    public static func format(_ a: UInt32) -> String {
        "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
    }
}

/// A UDP datagram found in a captured frame.
public struct UDPDatagram {
    public let sourceIP: UInt32
    public let destinationIP: UInt32
    public let sourcePort: UInt16
    public let destinationPort: UInt16
    /// The captured payload: shorter than `sentLength` when `cut`.
    public let payload: UnsafeRawBufferPointer
    /// The payload length the UDP header states.
    public let sentLength: Int
    /// The capture's snap length ended inside the payload.
    public var cut: Bool { payload.count < sentLength }
    public let vlanTags: Int

    @inlinable public init(sourceIP: UInt32, destinationIP: UInt32, sourcePort: UInt16, destinationPort: UInt16,
                           payload: UnsafeRawBufferPointer, sentLength: Int, vlanTags: Int) {
        self.sourceIP = sourceIP; self.destinationIP = destinationIP
        self.sourcePort = sourcePort; self.destinationPort = destinationPort
        self.payload = payload; self.sentLength = sentLength; self.vlanTags = vlanTags
    }
}

/// What a frame turned out to be, parsed down to UDP (CNet's cn_parse_udp).
public enum FrameContent {
    case udp(UDPDatagram)
    /// Not IPv4 (ARP, IPv6 ...) or IPv4 carrying another protocol.
    case otherTraffic
    /// An IPv4 fragment (not reassembled).
    case fragment
    /// A link type the parser does not read.
    case unknownLink
    /// Headers cut short or inconsistent (a cn_frame_status below zero).
    case malformed(Int32)

    @inlinable public static func parse(_ packet: CapturedPacket) -> FrameContent {
        guard let base = packet.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .malformed(CN_FRAME_SHORT.rawValue) }
        var v = cn_udp_view()
        let status = cn_parse_udp(base, packet.bytes.count, packet.linkType, &v)
        switch status {
        case CN_FRAME_UDP.rawValue:
            return .udp(UDPDatagram(sourceIP: v.src_ip, destinationIP: v.dst_ip, sourcePort: v.src_port, destinationPort: v.dst_port,
                                    payload: UnsafeRawBufferPointer(start: v.payload, count: Int(v.payload_len)),
                                    sentLength: Int(v.udp_len), vlanTags: Int(v.vlan_count)))
        case CN_FRAME_OTHER.rawValue, CN_FRAME_NOT_UDP.rawValue: return .otherTraffic
        case CN_FRAME_FRAGMENT.rawValue: return .fragment
        case CN_FRAME_UNKNOWN_LINK.rawValue: return .unknownLink
        default: return .malformed(status)
        }
    }
}
