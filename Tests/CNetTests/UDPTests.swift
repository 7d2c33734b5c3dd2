import CNet
import CSys
import Glibc
import OmniNet
import Testing

// Every test runs its sockets on a thread inside a private network namespace (its own
// loopback, multicast on), so nothing reaches the host's interfaces and nothing is left behind.
// Bodies return what they saw; the assertions run on the test's own task.

private let group = "239.192.7.1"

/// Sequence number i in the first 8 bytes, then filler, `len` bytes in all.
private func fill(_ b: inout cn_batch, count: Int, len: Int, first: UInt64 = 0) {
    for i in 0..<count {
        let slot = cn_batch_slot(&b, UInt32(i))!
        memset(slot, 0xA5, len)
        var seq = first + UInt64(i)
        memcpy(slot, &seq, 8)
        b.datagrams[i].len = UInt32(len)
    }
}

private func sequence(_ p: UnsafeRawPointer) -> UInt64 { p.loadUnaligned(as: UInt64.self) }

/// The kernel switches receive stamping on host-wide lazily (a static key flipped from a work
/// queue) when the first socket asks, so the first datagrams after that may come unstamped.
/// Sends probes until one arrives stamped; true when one did.
private func awaitStamping(rx: Int32, tx: Int32) -> Bool {
    var probe = cn_batch()
    precondition(cn_batch_init(&probe, 4, 256) == 0)
    defer { cn_batch_free(&probe) }
    for _ in 0..<2500 { // up to 5 s: the kernel flips stamping on from a work queue, slow under load
        fill(&probe, count: 1, len: 16, first: .max)
        _ = cn_udp_send_batch(tx, &probe, 1, nil)
        usleep(2_000)
        var stamped = false
        while cn_udp_recv_batch(rx, &probe) > 0 {
            stamped = stamped || probe.datagrams[0].ts_ns > 0
        }
        if stamped { return true }
    }
    return false
}

private struct Seen: Sendable {
    /// Receive stamping came on before the stream was sent (else the body returns early).
    var stamped = false
    var sequences: [UInt64] = []
    var timestamps: [UInt64] = []
    var lengths: [UInt32] = []
    var sources: [UInt32] = []
    var tsc: UInt64 = 0
    var timestamping: Int32 = 0
    var rcvbuf: Int32 = 0
    var sent = 0
    var extra: [Int] = []
}

private func openReceiver(_ port: UInt16, source: String? = nil, nonblocking: Bool = true) -> (Int32, cn_socket_info) {
    var info = cn_socket_info()
    let fd: Int32 = group.withCString { g in
        "lo".withCString { i in
            if let source {
                return source.withCString { s in
                    var c = cn_mcast_rx_config(group: g, port: port, interface: i, source: s, rcvbuf: 1 << 20, nonblocking: nonblocking ? 1 : 0, timestamps: 1)
                    return cn_mcast_rx_open(&c, &info)
                }
            }
            var c = cn_mcast_rx_config(group: g, port: port, interface: i, source: nil, rcvbuf: 1 << 20, nonblocking: nonblocking ? 1 : 0, timestamps: 1)
            return cn_mcast_rx_open(&c, &info)
        }
    }
    return (fd, info)
}

private func openSender(_ port: UInt16) -> Int32 {
    var info = cn_socket_info()
    return group.withCString { g in
        var c = cn_mcast_tx_config_default(g, port) // 127.0.0.1, TTL 1
        return cn_mcast_tx_open(&c, &info)
    }
}

/// A joined receiver with an io_uring ring on it, a sender to the same group, a send batch and
/// room for views; all closed when dropped. Open it on the namespace thread.
private final class RingRig {
    let rx: Int32
    let tx: Int32
    let ring: OpaquePointer
    var out = cn_batch()
    let views: UnsafeMutablePointer<cn_uring_view>
    let viewCapacity: UInt32

    init(port: UInt16, configure: (inout cn_uring_config) -> Void = { _ in }, sendSlots: UInt32, views: Int) {
        (rx, _) = openReceiver(port)
        precondition(rx >= 0, String(cString: cn_strerror(rx)))
        var cfg = cn_uring_config_default()
        configure(&cfg)
        var r: OpaquePointer?
        let rc = cn_uring_rx_open(rx, &cfg, &r)
        precondition(rc == 0, String(cString: cn_strerror(rc)))
        ring = r!
        tx = openSender(port)
        precondition(tx >= 0 && cn_batch_init(&out, sendSlots, 512) == 0)
        self.views = .allocate(capacity: views)
        viewCapacity = UInt32(views)
    }

    /// Sends `count` datagrams of `len` bytes numbered from `first`; how many went.
    func send(_ count: Int, len: Int, first: UInt64 = 0) -> Int {
        fill(&out, count: count, len: len, first: first)
        return Int(cn_udp_send_batch(tx, &out, UInt32(count), nil))
    }

    deinit {
        cn_uring_rx_close(ring)
        cn_udp_close(rx)
        cn_udp_close(tx)
        cn_batch_free(&out)
        views.deallocate()
    }
}

@Suite("CNet UDP and io_uring on a private loopback", .serialized)
struct UDPTests {
    @Test("a sendmmsg batch arrives whole, in order, stamped, through recvmmsg")
    func recvmmsgBatch() throws {
        let n = 64
        let seen = try NetworkNamespace.privateLoopback.run { () -> Seen in
            var s = Seen()
            let (rx, info) = openReceiver(31001)
            precondition(rx >= 0, String(cString: cn_strerror(rx)))
            defer { cn_udp_close(rx) }
            s.timestamping = info.timestamping
            s.rcvbuf = info.rcvbuf_granted
            let tx = openSender(31001)
            precondition(tx >= 0, String(cString: cn_strerror(tx)))
            defer { cn_udp_close(tx) }
            var out = cn_batch()
            var inb = cn_batch()
            precondition(cn_batch_init(&out, UInt32(n), 1500) == 0 && cn_batch_init(&inb, UInt32(n), 1500) == 0)
            defer { cn_batch_free(&out); cn_batch_free(&inb) }
            s.stamped = awaitStamping(rx: rx, tx: tx)
            guard s.stamped else { return s }
            fill(&out, count: n, len: 200)
            let before = csys_rdtsc()
            s.sent = Int(cn_udp_send_batch(tx, &out, UInt32(n), nil))
            while s.sequences.count < n {
                let got = cn_udp_recv_batch(rx, &inb)
                if got == -EAGAIN { break }
                precondition(got > 0, String(cString: cn_strerror(got)))
                for i in 0..<Int(got) {
                    s.sequences.append(sequence(cn_batch_slot(&inb, UInt32(i))))
                    s.timestamps.append(inb.datagrams[i].ts_ns)
                    s.lengths.append(inb.datagrams[i].len)
                    s.sources.append(UInt32(bigEndian: inb.datagrams[i].src.sin_addr.s_addr))
                }
                s.tsc = inb.tsc
            }
            s.extra = [Int(truncatingIfNeeded: s.tsc &- before)]
            return s
        }
        try #require(seen.stamped, "receive timestamps never came on")
        #expect(seen.sent == n)
        #expect(seen.timestamping == Int32(CN_TS_SOFTWARE))
        #expect(seen.rcvbuf >= 1 << 20) // the kernel doubles the request
        #expect(seen.sequences == (0..<UInt64(n)).map { $0 })
        #expect(seen.lengths.allSatisfy { $0 == 200 })
        #expect(seen.sources.allSatisfy { $0 == 0x7F00_0001 })
        #expect(seen.timestamps.allSatisfy { $0 > 0 })
        #expect(zip(seen.timestamps, seen.timestamps.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(seen.extra[0] > 0) // the batch's TSC stamp was taken after the send
    }

    @Test("the same stream arrives whole, in order, stamped, through io_uring multishot recvmsg",
          arguments: [0, UInt32(CN_URING_DEFER_TASKRUN), UInt32(CN_URING_ARM_LATER), UInt32(CN_URING_DEFER_TASKRUN | CN_URING_ARM_LATER)])
    func uringBatch(flags: UInt32) throws {
        let n = 64
        let seen = try NetworkNamespace.privateLoopback.run { () -> Seen in
            var s = Seen()
            let rig = RingRig(port: 31002, configure: { $0.flags = flags }, sendSlots: UInt32(n), views: 16)
            // Probe through a second member of the group; the ring skips the probes (sequence .max).
            let (probeRx, _) = openReceiver(31002)
            defer { cn_udp_close(probeRx) }
            s.stamped = awaitStamping(rx: probeRx, tx: rig.tx)
            guard s.stamped else { return s }
            s.sent = rig.send(n, len: 300)
            var waits = 0
            while s.sequences.count < n && waits < 50 {
                let got = cn_uring_rx_burst(rig.ring, rig.views, rig.viewCapacity)
                precondition(got >= 0, String(cString: cn_strerror(got)))
                if got == 0 {
                    waits += 1
                    _ = cn_uring_rx_wait(rig.ring, 20_000_000)
                    continue
                }
                for v in UnsafeBufferPointer(start: rig.views, count: Int(got)) where sequence(v.data) != .max {
                    s.sequences.append(sequence(v.data))
                    s.timestamps.append(v.ts_ns)
                    s.lengths.append(v.len)
                    s.sources.append(UInt32(bigEndian: v.src.sin_addr.s_addr))
                }
                cn_uring_rx_release(rig.ring, rig.views, UInt32(got))
            }
            let st = cn_uring_rx_stats(rig.ring)
            s.tsc = st.tsc
            s.extra = [Int(st.datagrams), Int(st.malformed), Int(st.truncated)]
            return s
        }
        try #require(seen.stamped, "receive timestamps never came on")
        #expect(seen.sent == n)
        #expect(seen.sequences == (0..<UInt64(n)).map { $0 })
        #expect(seen.lengths.allSatisfy { $0 == 300 })
        #expect(seen.sources.allSatisfy { $0 == 0x7F00_0001 })
        #expect(seen.timestamps.allSatisfy { $0 > 0 }) // parsed from io_uring_recvmsg_out's cmsg
        #expect(zip(seen.timestamps, seen.timestamps.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(seen.tsc > 0)
        #expect(seen.extra[0] >= n && seen.extra[1] == 0 && seen.extra[2] == 0)
    }

    @Test("io_uring: buffers held by the consumer stop the multishot; release re-arms it, nothing is lost")
    func uringExhaustionRearm() throws {
        let n = 40
        let seen = try NetworkNamespace.privateLoopback.run { () -> Seen in
            var s = Seen()
            let rig = RingRig(port: 31003, configure: { $0.buffers = 8; $0.buffer_size = 512 }, sendSlots: UInt32(n), views: 64)
            defer { withExtendedLifetime(rig) {} } // ring and views below are rig's
            let (ring, views) = (rig.ring, rig.views)
            s.sent = rig.send(n, len: 64)
            var spins = 0
            while s.sequences.count < n && spins < 200 {
                // Take everything available but hold it: at most 8 buffers exist.
                var held = 0
                while true {
                    let got = cn_uring_rx_burst(ring, views + held, UInt32(64 - held))
                    precondition(got >= 0)
                    if got == 0 { break }
                    held += Int(got)
                }
                s.extra.append(held)
                for i in 0..<held { s.sequences.append(sequence(views[i].data)) }
                cn_uring_rx_release(ring, views, UInt32(held))
                if held == 0 { spins += 1; _ = cn_uring_rx_wait(ring, 10_000_000) }
            }
            let st = cn_uring_rx_stats(ring)
            s.lengths = [UInt32(st.rearms), UInt32(st.no_buffers)]
            return s
        }
        #expect(seen.sent == n)
        #expect(seen.sequences == (0..<UInt64(n)).map { $0 })
        #expect(seen.extra.allSatisfy { $0 <= 8 })
        #expect(seen.lengths[0] > 0) // the multishot ended (ENOBUFS) and was re-armed
        #expect(seen.lengths[1] > 0)
    }

    @Test("io_uring: a stream longer than the submission queue and several buffer turns arrives whole")
    func uringLongStream() throws {
        let n = 2000
        let seen = try NetworkNamespace.privateLoopback.run { () -> Seen in
            var s = Seen()
            let rig = RingRig(port: 31007, configure: { $0.buffers = 256; $0.buffer_size = 512; $0.sq_entries = 4 },
                              sendSlots: 100, views: 32)
            defer { withExtendedLifetime(rig) {} } // ring and views below are rig's
            let (ring, views) = (rig.ring, rig.views)
            var idle = 0
            for chunk in 0..<(n / 100) { s.sent += rig.send(100, len: 48, first: UInt64(chunk * 100)) }
            while s.sequences.count < n && idle < 50 {
                let got = cn_uring_rx_burst(ring, views, 32)
                precondition(got >= 0, String(cString: cn_strerror(got)))
                if got == 0 { idle += 1; _ = cn_uring_rx_wait(ring, 10_000_000); continue }
                for i in 0..<Int(got) { s.sequences.append(sequence(views[i].data)) }
                cn_uring_rx_release(ring, views, UInt32(got))
            }
            let st = cn_uring_rx_stats(ring)
            s.extra = [Int(st.rearms), Int(st.no_buffers)]
            return s
        }
        #expect(seen.sent == n)
        #expect(seen.sequences == (0..<UInt64(n)).map { $0 })
        #expect(seen.extra[0] > 0) // 2000 datagrams through 256 buffers: the multishot ran dry and was re-armed
    }

    @Test("source-specific join: the named source is heard, another source filters it out")
    func sourceSpecific() throws {
        let counts = try NetworkNamespace.privateLoopback.run { () -> [Int32] in
            let (match, _) = openReceiver(31004, source: "127.0.0.1")
            let (other, _) = openReceiver(31004, source: "127.0.0.2")
            precondition(match >= 0 && other >= 0, "\(match) \(other)")
            defer { cn_udp_close(match); cn_udp_close(other) }
            let tx = openSender(31004)
            defer { cn_udp_close(tx) }
            var b = cn_batch()
            precondition(cn_batch_init(&b, 8, 256) == 0)
            defer { cn_batch_free(&b) }
            fill(&b, count: 8, len: 32)
            _ = cn_udp_send_batch(tx, &b, 8, nil)
            return [cn_udp_recv_batch(match, &b), cn_udp_recv_batch(other, &b)]
        }
        #expect(counts == [8, -EAGAIN])
    }

    @Test("a multicast sender without an interface is refused; a TTL above 1 is refused")
    func senderRefusals() {
        var info = cn_socket_info()
        let noInterface: Int32 = group.withCString { g in
            var c = cn_mcast_tx_config_default(g, 31005)
            c.interface = nil
            return cn_mcast_tx_open(&c, &info)
        }
        let empty: Int32 = group.withCString { g in
            "".withCString { e in
                var c = cn_mcast_tx_config_default(g, 31005)
                c.interface = e
                return cn_mcast_tx_open(&c, &info)
            }
        }
        let ttl: Int32 = group.withCString { g in
            var c = cn_mcast_tx_config_default(g, 31005)
            c.ttl = 2
            return cn_mcast_tx_open(&c, &info)
        }
        #expect(noInterface == -Int32(CN_ENOINTERFACE))
        #expect(empty == -Int32(CN_ENOINTERFACE))
        #expect(ttl == -Int32(CN_ETTL))
        #expect(String(cString: cn_strerror(noInterface)).contains("interface"))
    }

    @Test("bad groups, ports and interfaces give distinct codes")
    func badArguments() {
        func rx(_ g: String, _ port: UInt16, _ i: String?) -> Int32 {
            var info = cn_socket_info()
            return g.withCString { gp in
                if let i {
                    return i.withCString { ip in
                        var c = cn_mcast_rx_config(group: gp, port: port, interface: ip, source: nil, rcvbuf: 0, nonblocking: 1, timestamps: 0)
                        return cn_mcast_rx_open(&c, &info)
                    }
                }
                var c = cn_mcast_rx_config(group: gp, port: port, interface: nil, source: nil, rcvbuf: 0, nonblocking: 1, timestamps: 0)
                return cn_mcast_rx_open(&c, &info)
            }
        }
        #expect(rx("10.1.2.3", 31006, nil) == -Int32(CN_ENOTMULTICAST))
        #expect(rx("239.1.1", 31006, nil) == -Int32(CN_EBADADDRESS))
        #expect(rx("239.1.1.1", 0, nil) == -Int32(CN_EBADPORT))
        #expect(rx("239.1.1.1", 31006, "nosuch0") == -ENODEV)
        #expect(rx("239.1.1.1", 31006, "10.255.255.254") == -EADDRNOTAVAIL)
        #expect(String(cString: cn_strerror(-ENODEV)) == String(cString: strerror(ENODEV)))
    }

    @Test("unicast request and response through cn_udp_open / send_to / recv_batch")
    func unicast() throws {
        let got = try NetworkNamespace.privateLoopback.run { () -> [UInt64] in
            var a = cn_socket_info()
            var b = cn_socket_info()
            let server = cn_udp_open("127.0.0.1", 0, 1, 0, &a)
            let client = cn_udp_open("127.0.0.1", 0, 1, 0, &b)
            precondition(server >= 0 && client >= 0)
            defer { cn_udp_close(server); cn_udp_close(client) }
            var request: UInt64 = 42
            _ = cn_udp_send_to(client, &request, 8, &a.group)
            var batch = cn_batch()
            precondition(cn_batch_init(&batch, 4, 128) == 0)
            defer { cn_batch_free(&batch) }
            precondition(cn_udp_recv_batch(server, &batch) == 1)
            var reply = sequence(cn_batch_slot(&batch, 0)) + 1
            var from = batch.datagrams[0].src // answer whoever asked
            _ = cn_udp_send_to(server, &reply, 8, &from)
            precondition(cn_udp_recv_batch(client, &batch) == 1)
            return [sequence(cn_batch_slot(&batch, 0)), UInt64(UInt16(bigEndian: from.sin_port)), UInt64(UInt16(bigEndian: b.group.sin_port))]
        }
        #expect(got[0] == 43)
        #expect(got[1] == got[2]) // the reply went to the client's bound port
    }

    @Test("loopback reports software receive timestamps only")
    func timestampCapabilities() throws {
        let caps = try NetworkNamespace.privateLoopback.run { cn_interface_timestamping("lo") }
        #expect(caps > 0)
        #expect(caps & 0x8 != 0) // SOF_TIMESTAMPING_RX_SOFTWARE
        #expect(caps & 0x4 == 0) // SOF_TIMESTAMPING_RX_HARDWARE
    }
}
