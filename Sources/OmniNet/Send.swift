import CNet
import CSys
import Glibc

/// Sends to a multicast group with sendmmsg batches. IP_MULTICAST_IF is always the named
/// interface (loopback 127.0.0.1 by default), IP_MULTICAST_LOOP is on, and the TTL is 0 or 1:
/// 1 (the default) lets the datagram reach other hosts' sockets on the same link — veth peers in
/// a test namespace, a switch in production — and no router forwards it; 0 keeps it on this host.
public struct MulticastSender: ~Copyable {
    let fd: Int32
    var batch: cn_batch
    public let group: MulticastGroup
    public let info: SocketInfo

    /// Refuses with `.noInterface` when `group.interface` is nil or empty.
    public init(_ group: MulticastGroup, ttl: Int32 = 1, batch capacity: Int = 64, slotSize: Int = 2048) throws(NetError) {
        guard let interface = group.interface, !interface.isEmpty else {
            throw .noInterface(group: group.group, port: group.port)
        }
        var info = cn_socket_info()
        let fd: Int32 = group.group.withCString { g in
            interface.withCString { i in
                var cfg = cn_mcast_tx_config_default(g, group.port)
                cfg.interface = i
                cfg.ttl = ttl
                return cn_mcast_tx_open(&cfg, &info)
            }
        }
        guard fd >= 0 else {
            throw .open(role: "multicast sender", group: group.group, port: group.port, interface: interface, code: -fd)
        }
        var b = cn_batch()
        let rc = cn_batch_init(&b, UInt32(capacity), UInt32(slotSize))
        guard rc == 0 else {
            cn_udp_close(fd)
            throw .open(role: "send batch", group: group.group, port: group.port, interface: interface, code: -rc)
        }
        self.fd = fd
        self.batch = b
        self.group = group
        self.info = SocketInfo(info)
    }

    deinit {
        var b = batch
        cn_batch_free(&b)
        cn_udp_close(fd)
    }

    /// Slots available per `send` call.
    public var capacity: Int { Int(batch.capacity) }
    public var slotSize: Int { Int(batch.slot_size) }

    /// Fills `count` slots with `fill(index, slot) -> length` and sends them with one sendmmsg
    /// (retried on short sends). Returns datagrams sent.
    @inlinable
    public mutating func send(_ count: Int, fill: (Int, UnsafeMutableRawBufferPointer) -> Int) throws(NetError) -> Int {
        let n = min(count, capacity)
        for i in 0..<n {
            let slot = UnsafeMutableRawBufferPointer(start: slotPointer(i), count: slotSize)
            setLength(i, fill(i, slot))
        }
        return try flush(n)
    }

    /// Sends `count` datagrams, any number, in batches of `capacity`: `fill(index, slot) -> length`
    /// with index counting from 0 over the whole run. Returns datagrams sent (fewer only when a
    /// batch went out short).
    @inlinable
    public mutating func sendAll(_ count: Int, fill: (Int, UnsafeMutableRawBufferPointer) -> Int) throws(NetError) -> Int {
        var sent = 0
        while sent < count {
            let base = sent
            let want = min(capacity, count - sent)
            let n = try send(want) { i, slot in fill(base + i, slot) }
            sent += n
            if n < want { break }
        }
        return sent
    }

    @usableFromInline func slotPointer(_ i: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(batch.data + i * Int(batch.slot_size))
    }

    @usableFromInline mutating func setLength(_ i: Int, _ len: Int) {
        batch.datagrams[i].len = UInt32(clamping: min(len, slotSize))
    }

    @usableFromInline mutating func flush(_ n: Int) throws(NetError) -> Int {
        let sent = cn_udp_send_batch(fd, &batch, UInt32(n), nil)
        guard sent >= 0 else {
            throw .send(group: group.group, port: group.port, interface: group.interfaceName, code: -sent)
        }
        return Int(sent)
    }

    /// Sends one datagram.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(NetError) {
        let rc = cn_udp_send_to(fd, bytes.baseAddress, bytes.count, nil)
        guard rc >= 0 else {
            throw .send(group: group.group, port: group.port, interface: group.interfaceName, code: -rc)
        }
    }
}

/// A plain UDP socket bound to an address and port, for retransmission requests and their
/// answers. It receives with recvmmsg like the multicast socket backend.
public struct UnicastSocket: ~Copyable {
    var backend: SocketBackend
    public let info: SocketInfo
    /// The bound address and port (an ephemeral port when 0 was asked for).
    public var local: IPv4Endpoint { info.local }
    /// The socket's descriptor, for an event loop's poll set (readable: datagrams wait).
    public var descriptor: Int32 { backend.fd }

    public init(address: String = "127.0.0.1", port: UInt16 = 0, options: ReceiveOptions = .init()) throws(NetError) {
        var info = cn_socket_info()
        let fd = cn_udp_open(address, port, 1, Int32(clamping: options.receiveBufferBytes), &info)
        guard fd >= 0 else {
            throw .open(role: "unicast socket", group: address, port: port, interface: address, code: -fd)
        }
        let granted = SocketInfo(info)
        let label = MulticastGroup(address, port: granted.local.port, interface: address)
        let backend = try SocketBackend(fd: fd, batch: options.batch, slotSize: options.slotSize, label: label)
        self.backend = backend
        self.info = granted
    }

    /// Sends one datagram to `peer`.
    public func send(_ bytes: UnsafeRawBufferPointer, to peer: IPv4Endpoint) throws(NetError) {
        var sa = peer.sockaddr
        let rc = cn_udp_send_to(backend.fd, bytes.baseAddress, bytes.count, &sa)
        guard rc >= 0 else {
            throw .send(group: "\(peer)", port: peer.port, interface: backend.label.interfaceName, code: -rc)
        }
    }

    public mutating func receive(into batch: inout DatagramBatch) throws(NetError) -> Int {
        try backend.receive(into: &batch)
    }

    public mutating func wait(timeoutNanoseconds: UInt64) throws(NetError) -> Bool {
        try backend.wait(timeoutNanoseconds: timeoutNanoseconds)
    }
}

/// A way out for datagrams other than this host's sockets: a kernel-bypass port that builds the
/// Ethernet / IPv4 / UDP frame itself (omni's DPDK transmit). A MoldUDP64 publisher hands it its
/// line A packets when given one.
public protocol DatagramBypass: AnyObject {
    /// Sends `bytes` as one UDP datagram to `group`; throws when the port cannot take it.
    func send(_ bytes: UnsafeRawBufferPointer, to group: MulticastGroup) throws(NetError)
    /// What it is, for the start-up lines ("DPDK net_memif0 on core 0").
    var label: String { get }
}
