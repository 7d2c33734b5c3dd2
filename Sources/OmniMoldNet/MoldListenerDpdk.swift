import CNet
import CSys
import OmniDpdk
import OmniFeed
import OmniNet

// The DPDK receive path of the listener: Ethernet frames from a DPDK port (a NIC, or a
// vdev such as net_pcap on a kernel interface) are parsed down to UDP (CNet's cn_packet.h);
// those addressed to line A's or B's group and port go to the session. Requests and their
// answers still use the kernel's unicast socket.

public struct DpdkLineCounters: Sendable, Equatable {
    /// Frames polled, frames that were UDP to neither group, frames that were not UDP at all.
    public var frames: UInt64 = 0
    public var otherUDP: UInt64 = 0
    public var notUDP: UInt64 = 0
    public init() {}
}

extension MoldListener {
    /// Feeds one UDP payload that arrived on `line`, received at TSC `tsc`.
    public mutating func feed(payload: UnsafeRawBufferPointer, line: MoldLine, tsc: UInt64, now: UInt64) {
        counters.datagrams[line.rawValue] &+= 1
        consumer.batchTSC = tsc
        session.receive(payload, line: line, at: now, into: &consumer)
        consumer.batchTSC = 0
    }

    /// Polls the port until the session finishes (when `untilEnd`), `deadlineNs` passes or `stop` says so.
    public mutating func runDpdk(port: borrowing DpdkPort, lineA: IPv4Endpoint, lineB: IPv4Endpoint?,
                                 untilEnd: Bool, deadlineNs: UInt64?, stop: () -> Bool) throws(NetError) -> DpdkLineCounters {
        var dests = [cn_udp_dest(group: lineA.address, port: lineA.port),
                     cn_udp_dest(group: lineB?.address ?? 0xFFFF_FFFF, port: lineB?.port ?? 0xFFFF)]
        var burst = RxBurst(capacity: 32)
        var k = DpdkLineCounters()
        var idle = 0
        try dests.withUnsafeMutableBufferPointer { d throws(NetError) in
            while true {
                let n = port.receive(into: &burst)
                if n > 0 {
                    idle = 0
                    counters.batches &+= 1
                    k.frames &+= UInt64(n)
                    let now = csys_monotonic_ns()
                    if counters.firstBatchNs == 0 { counters.firstBatchNs = now }
                    counters.lastBatchNs = now
                    for i in 0..<n {
                        let p = burst[i]
                        var v = cn_udp_view()
                        guard cn_parse_udp_whole(p.data, Int(p.len), UInt32(CN_LINK_ETHERNET), &v) == CN_FRAME_UDP.rawValue else { k.notUDP &+= 1; continue }
                        let m = cn_udp_match(&v, d.baseAddress, 2)
                        guard m >= 0 else { k.otherUDP &+= 1; continue }
                        feed(payload: UnsafeRawBufferPointer(start: v.payload, count: Int(v.payload_len)),
                             line: m == 0 ? .a : .b, tsc: p.rx_tsc, now: now)
                    }
                }
                _ = try drainRetransmissions()
                poll()
                if untilEnd && finished { break }
                idle += 1
                if idle & 1023 == 0 {
                    if stop() { break }
                    if let dl = deadlineNs, csys_monotonic_ns() >= dl { break }
                }
            }
        }
        return k
    }
}
