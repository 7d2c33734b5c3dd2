import CNet
import OmniCore
import Glibc
import OmniDpdk
import OmniNet

/// `omni sim --dpdk-vdev`: line A's MoldUDP64 packets leave through a DPDK port (net_memif to a
/// trader's DPDK receive over shared memory, or any vdev) as whole Ethernet / IPv4 / UDP frames
/// built here, from the interface address and the retransmission port as their source.
final class DpdkFeedBypass: DatagramBypass {
    let port: DpdkPort
    let label: String
    var endpoints = cn_udp_endpoints()
    let frame: UnsafeMutablePointer<UInt8>
    static let frameCapacity = 2048
    /// The destination group, parsed at its first packet (line A's is the only one).
    var group: (name: String, address: UInt32)?

    init(vdev: String, core: Int, source: String, sourcePort: UInt16) throws {
        var eal = EALOptions(cores: String(core), memoryMB: 256, vdevs: [vdev])
        let memory = try HugePageChoice.apply(.auto, to: &eal)
        try EAL.start(eal)
        port = try DpdkPort(id: 0)
        guard let src = IPv4Endpoint(source, port: sourcePort) else { throw CommandError.refused("--dpdk-vdev: the source address \(source) is not IPv4") }
        endpoints.src_ip = src.address
        endpoints.src_port = sourcePort
        endpoints.ttl = 1
        withUnsafeMutableBytes(of: &endpoints.src_mac) { m in for (i, b) in [0x02, 0, 0, 0x4f, 0x4d, 0x01].enumerated() { m[i] = UInt8(b) } } // locally administered
        frame = .allocate(capacity: Self.frameCapacity)
        label = "DPDK \(port.name) (EAL on core \(core), \(memory))"
    }

    deinit { frame.deallocate() }

    func send(_ bytes: UnsafeRawBufferPointer, to g: MulticastGroup) throws(NetError) {
        if group?.name != g.group {
            guard let a = IPv4Endpoint(g.group, port: g.port) else { throw .send(group: g.group, port: g.port, interface: label, code: EINVAL) }
            group = (g.group, a.address)
        }
        endpoints.dst_ip = group!.address
        endpoints.dst_port = g.port
        endpoints.ip_id &+= 1
        let n = cn_put_udp_frame(frame, Self.frameCapacity, &endpoints, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        guard n > 0 else { throw .send(group: g.group, port: g.port, interface: label, code: EMSGSIZE) }
        let f = UnsafeRawBufferPointer(start: frame, count: n)
        var tries = 0
        // A full ring (the peer behind) drains in microseconds; no peer yet (memif before its client connects) fails the send, counted by the caller.
        while !port.send(frame: f) {
            tries += 1
            if tries > 10_000 { throw .send(group: g.group, port: g.port, interface: label, code: ENOBUFS) }
        }
    }
}
