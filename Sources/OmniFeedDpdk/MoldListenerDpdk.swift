import CNet
import CSys
import OmniDpdk
import OmniFeed
import OmniNet

// The DPDK receive path of the listener: Ethernet frames from a DPDK port (a NIC, or a
// vdev such as net_pcap on a kernel interface) are parsed down to UDP in C (cdpdk_rx_udp);
// those addressed to line A's or B's group and port go to the session. Requests and their
// answers still use the kernel's unicast socket.

public struct DpdkLineCounters: Sendable {
    /// Frames polled, frames that were UDP to neither group, frames that were not UDP at all.
    public var frames: UInt64 = 0
    public var otherUDP: UInt64 = 0
    public var notUDP: UInt64 = 0
    /// `notUDP` by cause, causes that occurred only ("not_ipv4", "fragment", "short", ...).
    public var notUDPByCause: [(cause: String, frames: UInt64)] = []
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

    /// The burst a DPDK receive step fills: UDP to line A's group and port (dest 0) or line B's (dest 1).
    public static func dpdkBurst(lineA: IPv4Endpoint, lineB: IPv4Endpoint?) -> UDPBurst {
        UDPBurst(capacity: 32, destinations: [
            cn_udp_dest(group: lineA.address, port: lineA.port),
            cn_udp_dest(group: lineB?.address ?? 0xFFFF_FFFF, port: lineB?.port ?? 0xFFFF),
        ])
    }

    /// One receive step: a burst from the port into the session (no retransmission, no timers);
    /// returns the datagrams fed.
    public mutating func stepDpdk(port: borrowing DpdkPort, burst: inout UDPBurst) -> Int {
        let before = burst.frames
        let n = port.receive(into: &burst)
        guard burst.frames != before else { return 0 }
        counters.batches &+= 1
        if burst.frames - before >= UInt64(burst.capacity) { counters.fullBatches &+= 1 }
        let now = csys_monotonic_ns()
        if counters.firstBatchNs == 0 { counters.firstBatchNs = now }
        counters.lastBatchNs = now
        counters.lastBatchTSC = burst.rxTSC
        for i in 0..<n {
            let d = burst[i]
            feed(payload: d.bytes, line: d.dest == 0 ? .a : .b, tsc: burst.rxTSC, now: now)
        }
        return n
    }

    /// Polls the port until the session finishes (when `untilEnd`), `deadlineNs` passes or `stop` says so.
    public mutating func runDpdk(port: borrowing DpdkPort, lineA: IPv4Endpoint, lineB: IPv4Endpoint?,
                                 untilEnd: Bool, deadlineNs: UInt64?, stop: () -> Bool) throws(NetError) -> DpdkLineCounters {
        var burst = Self.dpdkBurst(lineA: lineA, lineB: lineB)
        var idle = 0
        while true {
            if stepDpdk(port: port, burst: &burst) > 0 { idle = 0 }
            _ = try drainRetransmissions()
            poll()
            if untilEnd && finished { break }
            idle += 1
            if idle & 1023 == 0 {
                if stop() { break }
                if let dl = deadlineNs, csys_monotonic_ns() >= dl { break }
            }
        }
        burst.release()
        return DpdkLineCounters(burst)
    }
}

extension DpdkLineCounters {
    /// What a burst counted over its life.
    public init(_ burst: borrowing UDPBurst) {
        self.init()
        (frames, otherUDP, notUDP, notUDPByCause) = (burst.frames, burst.otherUDP, burst.notUDP, burst.notUDPByCause)
    }
}
