import OmniCore
import OmniWire
import CNet
import CSys
import CWire
import Glibc
import OmniNet

// A MoldUDP64 publisher for test and lab use: walks an ITCH day file, packs its
// messages into downstream packets, sends each on line A (and B) with seeded,
// deliberate loss per line, and answers retransmission requests by unicast from
// the history of everything published. Step-driven: the caller owns the clock and
// the loop (the CLI paces it; tests interleave it with a listener on one thread).

public struct MoldPublisherConfig: Sendable {
    public var lineA: MulticastGroup
    public var lineB: MulticastGroup?
    public var session = "OMNI000001"
    /// Largest downstream packet (UDP payload).
    public var maxPacketBytes = 1400
    /// Probability that a packet is not sent on a line, decided per packet per line.
    public var lossA = 0.0
    public var lossB = 0.0
    public var seed: UInt64 = 1
    /// Unicast port of the retransmission server on the interface address; nil: no server.
    public var retransmitPort: UInt16?
    /// Address the retransmission server binds (the interface's IPv4 address).
    public var serverAddress = "127.0.0.1"
    /// End-of-session packets sent at the end (they are not sequenced: sent a few times).
    public var endRepeats = 3

    public init(lineA: MulticastGroup) { self.lineA = lineA }
}

public struct MoldPublisherCounters: Sendable, Equatable {
    public var packets: [UInt64] = [0, 0]
    public var messages: [UInt64] = [0, 0]
    /// Packets deliberately not sent, per line.
    public var dropped: [UInt64] = [0, 0]
    /// Packets dropped on both lines (only a retransmission can bring them).
    public var droppedBoth: UInt64 = 0
    public var heartbeats: UInt64 = 0
    public var endOfSession: UInt64 = 0
    public init() {}
}

/// The downstream half of a MoldUDP64 session shared by the file publisher and the live
/// stream publisher: sequence numbering, packets built from day-file framed messages, lines
/// A / B with seeded deliberate loss, the history and unicast server for retransmission
/// requests, heartbeats, end of session and optional pcap recording.
public struct MoldDownstream: ~Copyable {
    public let config: MoldPublisherConfig
    let senderA: MulticastSender
    let senderB: MulticastSender?
    var requests: UnicastSocket?
    /// The retransmission server's socket descriptor (nil: no server), for a caller's poll set.
    public let requestDescriptor: Int32?
    public private(set) var server: MoldRequestServer
    /// The next sequence number to publish.
    public private(set) var nextSequence: UInt64 = 1
    public private(set) var counters = MoldPublisherCounters()
    var rng: SeededRandom
    let session: [UInt8]
    let packet: UnsafeMutableRawBufferPointer
    var batch = DatagramBatch(capacity: 32)
    /// Every packet sent (per line, after the deliberate loss) is also written here, when set.
    public var recorder: PcapWriter?
    /// Line A's packets go here instead of its socket, when set (a kernel-bypass port).
    public var bypassA: (any DatagramBypass)?
    /// Recording errors (the first one ends the recording).
    public private(set) var recordError: (any Error)?
    /// The port the retransmission server is bound to (the one asked for, or the ephemeral one given).
    public let retransmitEndpoint: IPv4Endpoint?

    public init(_ config: MoldPublisherConfig) throws {
        self.config = config
        let a = try MulticastSender(config.lineA, ttl: 1)
        let b = try MoldDownstream.openSender(config.lineB)
        var endpoint: IPv4Endpoint?
        var descriptor: Int32?
        let r = try MoldDownstream.openServer(config, &endpoint, &descriptor)
        retransmitEndpoint = endpoint
        requestDescriptor = descriptor
        senderA = a
        senderB = b
        requests = r
        var sc = MoldRequestServerConfig(session: config.session)
        sc.maxPacketBytes = config.maxPacketBytes
        sc.historyMessages = 1 << 22
        sc.historyBytes = 256 << 20
        server = MoldRequestServer(sc)
        rng = SeededRandom(seed: config.seed)
        session = moldSessionName(config.session)
        packet = .allocate(byteCount: max(config.maxPacketBytes, Int(CW_MOLD_HEADER_LEN)), alignment: 8)
    }

    deinit { packet.deallocate() }

    static func openSender(_ g: MulticastGroup?) throws(NetError) -> MulticastSender? {
        guard let g else { return nil }
        return try MulticastSender(g, ttl: 1)
    }

    static func openServer(_ c: MoldPublisherConfig, _ endpoint: inout IPv4Endpoint?, _ descriptor: inout Int32?) throws(NetError) -> UnicastSocket? {
        guard let port = c.retransmitPort else { return nil }
        let s = try UnicastSocket(address: c.serverAddress, port: port)
        endpoint = s.local
        descriptor = s.descriptor
        return s
    }

    /// Packs day-file framed messages (`[u16 BE length][message]...`) from `offset` into one
    /// packet (up to `maxMessages`), sends it and advances `offset`; messages in it (0 at the end).
    @discardableResult
    public mutating func sendPacket(from input: UnsafeRawBufferPointer, offset: inout Int,
                                    maxMessages: Int = Int(UInt16.max) - 1) throws(NetError) -> Int {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var b = cw_mold_builder()
        let out = packet.baseAddress!.assumingMemoryBound(to: UInt8.self)
        _ = cw_mold_begin(&b, out, config.maxPacketBytes, session, nextSequence)
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while Int(b.count) < maxMessages {
            var o = offset
            guard cw_dayfile_next(base, input.count, &o, &msg, &len) == CW_FRAME_MSG else { offset = input.count; break }
            if cw_mold_append(&b, msg, len) != 0 {
                if b.count == 0 { offset = o } // larger than a packet can hold: skipped
                break
            }
            offset = o
        }
        guard b.count > 0 else { return 0 }
        let bytes = UnsafeRawBufferPointer(start: out, count: b.len)
        server.record(packet: bytes)
        nextSequence += UInt64(b.count)
        try transmit(bytes, messages: UInt64(b.count))
        return Int(b.count)
    }

    mutating func transmit(_ bytes: UnsafeRawBufferPointer, messages: UInt64) throws(NetError) {
        // Both draws are taken every time, so line A's losses do not depend on whether B exists.
        let dropA = rng.unit() < config.lossA
        let dropB = rng.unit() < config.lossB
        if dropA && (dropB || config.lineB == nil) { counters.droppedBoth += 1 }
        if dropA { counters.dropped[0] += 1 } else {
            try sendA(bytes); counters.packets[0] += 1; counters.messages[0] += messages
            record(bytes, config.lineA)
        }
        if config.lineB != nil {
            if dropB { counters.dropped[1] += 1 } else {
                try senderB?.send(bytes); counters.packets[1] += 1; counters.messages[1] += messages
                record(bytes, config.lineB!)
            }
        }
    }

    @inline(__always) func sendA(_ bytes: UnsafeRawBufferPointer) throws(NetError) {
        if let bypassA { try bypassA.send(bytes, to: config.lineA) } else { try senderA.send(bytes) }
    }

    mutating func record(_ bytes: UnsafeRawBufferPointer, _ g: MulticastGroup) {
        guard let w = recorder else { return }
        var e = UDPEndpoints(sourceIP: IPv4Endpoint(config.serverAddress, port: 0)?.address ?? 0x7f00_0001,
                             destinationIP: IPv4Endpoint(g.group, port: g.port)?.address ?? 0,
                             sourcePort: retransmitEndpoint?.port ?? 0, destinationPort: g.port)
        e.ttl = 1
        do {
            try w.writeUDP(payload: bytes, timestampNs: csys_realtime_ns(), endpoints: e)
        } catch {
            recordError = error
            recorder = nil
        }
    }

    /// A heartbeat (count 0, the next sequence) on every line; never dropped.
    public mutating func sendHeartbeat() throws(NetError) {
        let out = packet.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var b = cw_mold_builder()
        _ = cw_mold_begin(&b, out, config.maxPacketBytes, session, nextSequence)
        let bytes = UnsafeRawBufferPointer(start: out, count: b.len)
        try sendA(bytes)
        try senderB?.send(bytes)
        record(bytes, config.lineA)
        if let g = config.lineB { record(bytes, g) }
        counters.heartbeats += 1
    }

    /// The end-of-session packet, `endRepeats` times on every line; never dropped.
    public mutating func sendEndOfSession() throws(NetError) {
        let out = packet.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var b = cw_mold_builder()
        _ = cw_mold_begin(&b, out, config.maxPacketBytes, session, nextSequence)
        cw_mold_mark_end_of_session(&b)
        let bytes = UnsafeRawBufferPointer(start: out, count: b.len)
        for _ in 0..<max(1, config.endRepeats) {
            try sendA(bytes)
            try senderB?.send(bytes)
            record(bytes, config.lineA)
            if let g = config.lineB { record(bytes, g) }
            counters.endOfSession += 1
        }
    }

    /// Answers the requests waiting on the retransmission socket; requests read.
    @discardableResult
    public mutating func serveRequests() throws(NetError) -> Int {
        guard retransmitEndpoint != nil else { return 0 }
        var total = 0
        while true {
            let n = try requests!.receive(into: &batch)
            if n == 0 { break }
            total += n
            for i in 0..<n {
                let d = batch[i]
                var response = server.answer(d.bytes)
                while true {
                    let len = server.nextPacket(&response, into: packet)
                    if len == 0 { break }
                    try requests!.send(UnsafeRawBufferPointer(start: packet.baseAddress, count: len), to: d.source)
                }
            }
        }
        return total
    }

    /// Blocks until a request arrives or the timeout passes (no server: sleeps).
    public mutating func waitForRequests(timeoutNanoseconds: UInt64) throws(NetError) {
        if retransmitEndpoint != nil {
            _ = try requests!.wait(timeoutNanoseconds: timeoutNanoseconds)
        } else {
            var ts = timespec(tv_sec: Int(timeoutNanoseconds / 1_000_000_000), tv_nsec: Int(timeoutNanoseconds % 1_000_000_000))
            nanosleep(&ts, nil)
        }
    }
}

public struct MoldPublisher: ~Copyable {
    public var downstream: MoldDownstream
    let input: UnsafeRawBufferPointer
    var offset = 0

    /// `input` (a day file, [u16 BE length][message]...) must outlive the publisher.
    public init(_ config: MoldPublisherConfig, input: UnsafeRawBufferPointer) throws {
        self.input = input
        downstream = try MoldDownstream(config)
    }

    public var config: MoldPublisherConfig { downstream.config }
    public var server: MoldRequestServer { downstream.server }
    /// The next sequence number to publish.
    public var nextSequence: UInt64 { downstream.nextSequence }
    public var counters: MoldPublisherCounters { downstream.counters }
    /// Every packet sent (per line, after the deliberate loss) is also written here, when set.
    public var recorder: PcapWriter? {
        get { downstream.recorder }
        set { downstream.recorder = newValue }
    }
    /// Recording errors (the first one ends the recording).
    public var recordError: (any Error)? { downstream.recordError }
    /// The port the retransmission server is bound to (the one asked for, or the ephemeral one given).
    public var retransmitEndpoint: IPv4Endpoint? { downstream.retransmitEndpoint }

    public var finished: Bool { offset >= input.count }
    public var bytesRead: Int { offset }

    /// ITCH timestamp (ns since midnight) of the next message, for real-time pacing; nil at the end.
    public var nextTimestamp: UInt64? {
        guard offset + 2 + 11 <= input.count, let base = input.baseAddress else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self) + offset + 2
        guard cw_be16(p - 2) >= 11 else { return nil }
        return cw_itch_timestamp(p)
    }

    /// Packs and sends the next packet (up to `maxMessages` messages); messages in it (0 at the end).
    @discardableResult
    public mutating func sendNext(maxMessages: Int = Int(UInt16.max) - 1) throws(NetError) -> Int {
        try downstream.sendPacket(from: input, offset: &offset, maxMessages: maxMessages)
    }

    /// A heartbeat (count 0, the next sequence) on every line; never dropped.
    public mutating func sendHeartbeat() throws(NetError) { try downstream.sendHeartbeat() }

    /// The end-of-session packet, `endRepeats` times on every line; never dropped.
    public mutating func sendEndOfSession() throws(NetError) { try downstream.sendEndOfSession() }

    /// Answers the requests waiting on the retransmission socket; requests read.
    @discardableResult
    public mutating func serveRequests() throws(NetError) -> Int { try downstream.serveRequests() }

    /// Blocks until a request arrives or the timeout passes (no server: sleeps).
    public mutating func waitForRequests(timeoutNanoseconds: UInt64) throws(NetError) {
        try downstream.waitForRequests(timeoutNanoseconds: timeoutNanoseconds)
    }
}
