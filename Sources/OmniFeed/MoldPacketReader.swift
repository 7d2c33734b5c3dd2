import CWire

/// Reads MoldUDP64 packets of one session in arrival order and hands their ITCH
/// messages, in sequence, to an `ITCHReplay`. Messages already seen are dropped;
/// a jump in sequence is counted as a gap (recovery is the session layer's job).
public struct MoldPacketReader {
    /// Session name from the first packet; packets of another session are counted and dropped.
    public private(set) var session: [UInt8]?
    /// Sequence number of the next message expected.
    public private(set) var nextSequence: UInt64 = 1
    public private(set) var packets: UInt64 = 0
    public private(set) var heartbeats: UInt64 = 0
    public private(set) var endOfSession = false
    /// Shorter than the header, or a block count that runs past the packet.
    public private(set) var malformedPackets: UInt64 = 0
    public private(set) var wrongSession: UInt64 = 0
    public private(set) var duplicateMessages: UInt64 = 0
    public private(set) var gaps: UInt64 = 0
    public private(set) var missedMessages: UInt64 = 0

    public init(firstSequence: UInt64 = 1) { nextSequence = firstSequence }

    public mutating func read<Sink: BBOSink>(_ packet: UnsafeRawBufferPointer, into replay: ITCHReplay, sink: inout Sink) {
        guard let base = packet.baseAddress?.assumingMemoryBound(to: UInt8.self) else { malformedPackets += 1; return }
        var h = cw_mold_header()
        guard cw_mold_parse_header(base, packet.count, &h) == 0 else { malformedPackets += 1; return }
        if let session {
            // compared in place: an Array of the name per packet was an allocation per packet
            let same = session.withUnsafeBytes { locked in withUnsafeBytes(of: h.session) { locked.elementsEqual($0) } }
            guard same else { wrongSession += 1; return }
        } else {
            session = withUnsafeBytes(of: h.session) { Array($0) }
        }
        packets += 1
        if h.count == UInt16(CW_MOLD_END_OF_SESSION) { endOfSession = true; return }
        if h.count == UInt16(CW_MOLD_HEARTBEAT) { heartbeats += 1; return }
        // Its last message must be numbered below 2^64 - 1, so the next expected number exists:
        // a capture running past it (0xFFFFFFFFFFFFFFFF, then 10) is malformed, not a wrap.
        guard h.sequence <= UInt64.max - UInt64(h.count) else { malformedPackets += 1; return }
        if h.sequence > nextSequence {
            gaps += 1
            missedMessages = missedMessages.addingReportingOverflow(h.sequence - nextSequence).overflow ? .max : missedMessages + (h.sequence - nextSequence)
            nextSequence = h.sequence
        }
        var cursor = cw_mold_cursor()
        cw_mold_cursor_init(&cursor, base, packet.count, &h)
        var seq = h.sequence
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while true {
            let r = cw_mold_next(&cursor, &msg, &len)
            if r == CW_FRAME_END { break }
            guard r == CW_FRAME_MSG, let m = msg else { malformedPackets += 1; break }
            if seq < nextSequence {
                duplicateMessages += 1
            } else {
                replay.handle(m, len, into: &sink)
                nextSequence = seq + 1
            }
            seq += 1 // below 2^64 - 1: checked with the header
        }
    }
}
