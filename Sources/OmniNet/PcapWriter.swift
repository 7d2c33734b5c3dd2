import CNet
import Glibc
import OmniCore

/// Writes a classic pcap file (nanosecond timestamps, one link type) through a FileWriter:
/// whole frames, or UDP payloads wrapped in Ethernet/IPv4/UDP headers, e.g. MoldUDP64
/// packets recorded as the multicast frames they were sent as.
public final class PcapWriter {
    public let out: FileWriter
    public let linkType: UInt32
    public let snapLength: UInt32
    public private(set) var records: UInt64 = 0
    private let scratch: UnsafeMutablePointer<UInt8>
    private static let scratchSize = 16 + 65_536 + 64
    private var ipID: UInt16 = 0

    public init(path: String, linkType: UInt32 = UInt32(CN_LINK_ETHERNET), snapLength: UInt32 = 262_144) throws {
        out = try FileWriter(path: path)
        self.linkType = linkType
        self.snapLength = snapLength
        scratch = .allocate(capacity: PcapWriter.scratchSize)
        let n = cn_pcap_put_file_header(scratch, PcapWriter.scratchSize, snapLength, linkType)
        try out.write(UnsafeRawBufferPointer(start: scratch, count: n))
    }

    deinit { scratch.deallocate() }

    /// One whole frame, captured in full.
    public func write(frame: UnsafeRawBufferPointer, timestampNs: UInt64) throws {
        var header = (UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &header) { h in
            let p = h.baseAddress!.assumingMemoryBound(to: UInt8.self)
            _ = cn_pcap_put_record_header(p, h.count, timestampNs, UInt32(frame.count), UInt32(frame.count))
            try out.write(UnsafeRawBufferPointer(h))
        }
        try out.write(frame)
        records += 1
    }

    /// A UDP payload as an Ethernet/IPv4/UDP frame (valid IPv4 and UDP checksums; IP ids count up).
    public func writeUDP(payload: UnsafeRawBufferPointer, timestampNs: UInt64, endpoints e: UDPEndpoints) throws {
        guard linkType == UInt32(CN_LINK_ETHERNET) else {
            throw FileError(path: out.path, reason: "UDP frames need an Ethernet capture (link type \(linkType))")
        }
        var ep = cn_udp_endpoints()
        ep.src_ip = e.sourceIP; ep.dst_ip = e.destinationIP
        ep.src_port = e.sourcePort; ep.dst_port = e.destinationPort
        ep.src_mac = e.sourceMAC
        ep.ttl = e.ttl
        ep.ip_id = ipID
        ipID &+= 1
        let n = cn_pcap_put_udp_record(scratch, PcapWriter.scratchSize, timestampNs, &ep,
                                       payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count)
        guard n > 0 else {
            throw FileError(path: out.path, reason: "a UDP payload of \(payload.count) bytes does not fit one IPv4 datagram")
        }
        try out.write(UnsafeRawBufferPointer(start: scratch, count: n))
        records += 1
    }

    public func flush() throws { try out.flush() }
}

/// Addresses a recorded UDP frame is given (host order); the Ethernet destination of a
/// multicast group is derived from the group as a NIC would.
public struct UDPEndpoints: Sendable {
    public var sourceIP: UInt32
    public var destinationIP: UInt32
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sourceMAC: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0x02, 0, 0, 0, 0, 0x01) // locally administered
    public var ttl: UInt8 = 1

    public init(sourceIP: UInt32, destinationIP: UInt32, sourcePort: UInt16, destinationPort: UInt16) {
        self.sourceIP = sourceIP; self.destinationIP = destinationIP
        self.sourcePort = sourcePort; self.destinationPort = destinationPort
    }
}
