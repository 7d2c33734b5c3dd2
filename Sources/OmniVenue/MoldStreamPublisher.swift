import CSys
import OmniNet

// The live mode of the MoldUDP64 publisher: a producer (the venue's ITCH output) hands it
// day-file framed messages as they are made, and it sends them at once as downstream
// packets on lines A / B, keeping them for retransmission. Between bursts it sends a
// heartbeat after a second of silence; at the end, the end-of-session packet.
// Step-driven like MoldPublisher: the caller's loop calls publish / idle / serveRequests.

public struct MoldStreamPublisher: ~Copyable {
    public var downstream: MoldDownstream
    /// Monotonic ns of the last packet (data or heartbeat) sent.
    var lastSendNs: UInt64
    /// A heartbeat goes out after this long without a packet (MoldUDP64: about 1 s).
    public var heartbeatIntervalNs: UInt64 = 1_000_000_000
    public private(set) var ended = false

    public init(_ config: MoldPublisherConfig) throws {
        downstream = try MoldDownstream(config)
        lastSendNs = csys_monotonic_ns()
    }

    public var nextSequence: UInt64 { downstream.nextSequence }
    public var retransmitEndpoint: IPv4Endpoint? { downstream.retransmitEndpoint }

    /// Sends every message of `messages` (day-file framing, e.g. OmniVenue.DayFileBuffer.bytes)
    /// in as few packets as fit; messages sent. The caller may reuse the bytes afterwards.
    @discardableResult
    public mutating func publish(_ messages: UnsafeRawBufferPointer) throws(NetError) -> Int {
        guard !ended, messages.count > 0 else { return 0 }
        var offset = 0
        var sent = 0
        while offset < messages.count {
            let n = try downstream.sendPacket(from: messages, offset: &offset)
            if n == 0 { break }
            sent += n
        }
        if sent > 0 { lastSendNs = csys_monotonic_ns() }
        return sent
    }

    /// Heartbeat when nothing was sent for `heartbeatIntervalNs`; true if one went out.
    @discardableResult
    public mutating func idle(now: UInt64 = csys_monotonic_ns()) throws(NetError) -> Bool {
        guard !ended, csys_elapsed_ns(now, lastSendNs) >= heartbeatIntervalNs else { return false }
        try downstream.sendHeartbeat()
        lastSendNs = now
        return true
    }

    /// The end-of-session packet (repeated per config); later `publish` calls send nothing.
    /// The retransmission server keeps answering.
    public mutating func endSession() throws(NetError) {
        guard !ended else { return }
        try downstream.sendEndOfSession()
        ended = true
    }

    /// Answers waiting retransmission requests; requests read.
    @discardableResult
    public mutating func serveRequests() throws(NetError) -> Int { try downstream.serveRequests() }
}
