import CWire
import OmniCore

/// What a capture replay saw: the capture, the frames, and the feed protocols in their UDP payloads.
public struct CaptureCounts {
    // Capture level.
    /// Complete records read.
    public var packets: UInt64 = 0
    /// Records cut short at the end of the file (real captures end that way): 0 or 1.
    public var truncatedRecords: UInt64 = 0
    /// Records or pcapng blocks with impossible lengths: the walk stops at the first.
    public var malformedRecords: UInt64 = 0
    public var firstTimestampNs: UInt64?
    public var lastTimestampNs: UInt64 = 0

    // Frame level.
    public var udpDatagrams: UInt64 = 0
    /// Not IPv4/UDP (ARP, IPv6, IGMP ...), or a link type we do not read.
    public var otherFrames: UInt64 = 0
    public var fragments: UInt64 = 0
    /// Link, IPv4 or UDP headers cut short or inconsistent.
    public var malformedFrames: UInt64 = 0
    /// UDP payloads the snap length cut short (not decoded).
    public var cutPayloads: UInt64 = 0
    /// UDP payloads that are neither IEX-TP nor MoldUDP64.
    public var unknownPayloads: UInt64 = 0

    // IEX-TP level.
    public var iexSegments: UInt64 = 0
    /// Segments with message count 0.
    public var iexHeartbeats: UInt64 = 0
    /// Segments whose header or message blocks do not add up (short, bad length, blocks past the payload, bytes left over).
    public var malformedSegments: UInt64 = 0
    /// Well-formed IEX messages by type byte.
    public var iexByType = [UInt64](repeating: 0, count: 256)
    /// Unknown type for the segment's protocol, or a length not matching the type.
    public var malformedMessages: UInt64 = 0
    /// Message protocol ids seen (0x8003 TOPS, 0x8004 DEEP ...), in order of first appearance.
    public var protocols: [UInt16] = []
    /// IEX-TP sessions seen.
    public var sessions: Int = 0
    /// Jumps forward in a session's sequence, and the messages they skipped.
    public var gaps: UInt64 = 0
    public var missedMessages: UInt64 = 0
    /// Segments whose first sequence number is behind the session's next expected one: the
    /// stream restarted (IEX's DEEP sample restarts at sequence 1, stream offset 0, eleven times
    /// in one session) or a retransmission. Counting resumes from that segment; its messages count above.
    public var sequenceResets: UInt64 = 0
    /// Distinct symbols in IEX messages that carry one.
    public var symbols: Int { symbolSet.count }
    public internal(set) var symbolSet: Set<Symbol> = []

    // MoldUDP64 level (ITCH inside; the messages themselves are counted by the ITCHReplay).
    public var moldPackets: UInt64 = 0

    public var iexMessages: UInt64 { iexByType.reduce(0, +) }
    public init() {}
}

/// Replays a packet capture: every frame down to UDP, then IEX-TP segments (DEEP 1.0, TOPS 1.6)
/// counted message by message with per-session sequence checks, and MoldUDP64 packets handed
/// to a MoldPacketReader whose ITCH messages drive an ITCHReplay (its books and counts).
public final class CaptureReplay {
    public private(set) var counts = CaptureCounts()
    /// The ITCH side: set when MoldUDP64 payloads should be replayed through books.
    public let itch: ITCHReplay?
    public private(set) var mold = MoldPacketReader()
    /// Next expected sequence number per IEX-TP session; the current session is cached.
    private var nextSequence: [UInt64: UInt64] = [:]
    private var currentKey: UInt64 = .max
    private var currentNext: UInt64 = 0

    public init(itch: ITCHReplay? = nil) {
        self.itch = itch
        counts.symbolSet.reserveCapacity(1 << 14)
    }

    /// Replays the capture in `bytes`; throws when it is no pcap / pcapng capture.
    public func run<Sink: BBOSink>(_ bytes: UnsafeRawBufferPointer, path: String = "", into sink: inout Sink) throws {
        guard var capture = PacketCapture(bytes) else {
            throw FeedError.corrupt(path: path, offset: 0, reason: "not a pcap or pcapng capture")
        }
        while let p = capture.next() {
            handle(frame: p, into: &sink)
        }
        counts.packets = capture.packets
        counts.truncatedRecords = capture.truncatedRecords
        counts.malformedRecords = capture.malformedRecords
        flushSession()
    }

    public func run(_ bytes: UnsafeRawBufferPointer, path: String = "") throws {
        var sink = NoBBOSink()
        try run(bytes, path: path, into: &sink)
    }

    /// One captured frame.
    @inlinable public func handle<Sink: BBOSink>(frame p: CapturedPacket, into sink: inout Sink) {
        noteTime(p.timestampNs)
        switch FrameContent.parse(p) {
        case .udp(let d):
            countUDP()
            if d.cut { countCut(); return }
            handle(payload: d.payload, into: &sink)
        case .otherTraffic, .unknownLink: countOther()
        case .fragment: countFragment()
        case .malformed: countMalformedFrame()
        }
    }

    // Small counters behind calls so the inlinable frame path needs no internal state.
    @usableFromInline func noteTime(_ t: UInt64) {
        if counts.firstTimestampNs == nil { counts.firstTimestampNs = t }
        counts.lastTimestampNs = t
    }
    @usableFromInline func countUDP() { counts.udpDatagrams &+= 1 }
    @usableFromInline func countCut() { counts.cutPayloads &+= 1 }
    @usableFromInline func countOther() { counts.otherFrames &+= 1 }
    @usableFromInline func countFragment() { counts.fragments &+= 1 }
    @usableFromInline func countMalformedFrame() { counts.malformedFrames &+= 1 }

    /// One UDP payload: an IEX-TP segment (first byte is the version, 1) or a MoldUDP64
    /// packet (first bytes are a printable session name); anything else is counted unknown.
    @usableFromInline func handle<Sink: BBOSink>(payload: UnsafeRawBufferPointer, into sink: inout Sink) {
        guard let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count > 0 else {
            counts.unknownPayloads &+= 1
            return
        }
        if base[0] == UInt8(CW_IEXTP_VERSION) {
            handleIEX(base, payload.count)
        } else if CaptureReplay.looksLikeMold(payload) {
            counts.moldPackets &+= 1
            if let itch { mold.read(payload, into: itch, sink: &sink) }
        } else {
            counts.unknownPayloads &+= 1
        }
    }

    /// A MoldUDP64 packet: a printable session name, and blocks that fill the packet exactly.
    public static func looksLikeMold(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var h = cw_mold_header()
        guard cw_mold_parse_header(base, payload.count, &h) == 0 else { return false }
        for i in 0..<Int(CW_MOLD_SESSION_LEN) where base[i] < 0x20 || base[i] > 0x7E { return false }
        if h.count == UInt16(CW_MOLD_HEARTBEAT) || h.count == UInt16(CW_MOLD_END_OF_SESSION) {
            return payload.count == Int(CW_MOLD_HEADER_LEN)
        }
        var c = cw_mold_cursor()
        cw_mold_cursor_init(&c, base, payload.count, &h)
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while true {
            let r = cw_mold_next(&c, &msg, &len)
            if r == CW_FRAME_END { return c.off == payload.count }
            if r != CW_FRAME_MSG { return false }
        }
    }

    private func handleIEX(_ seg: UnsafePointer<UInt8>, _ size: Int) {
        var h = cw_iextp_header()
        guard cw_iextp_parse_header(seg, size, &h) == CW_IEXTP_OK.rawValue else {
            counts.malformedSegments &+= 1
            return
        }
        counts.iexSegments &+= 1
        if !counts.protocols.contains(h.protocol_id) { counts.protocols.append(h.protocol_id) }
        sequence(h)
        if h.message_count == 0 {
            counts.iexHeartbeats &+= 1
            return
        }
        var c = cw_iextp_cursor()
        cw_iextp_cursor_init(&c, seg, size, &h)
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while true {
            let r = cw_iextp_next(&c, &msg, &len)
            guard r == CW_FRAME_MSG, let m = msg else {
                if r != CW_FRAME_END || cw_iextp_leftover(&c) != 0 { counts.malformedSegments &+= 1 }
                break
            }
            guard cw_iex_valid(h.protocol_id, m, Int(len)) != 0 else {
                counts.malformedMessages &+= 1
                continue
            }
            counts.iexByType[Int(m[0])] &+= 1
            if cw_iex_has_symbol(m[0]) != 0 { counts.symbolSet.insert(Symbol(wire: UnsafeRawPointer(m + 10))) }
        }
    }

    /// Sequence continuity per (channel, session): each segment's first sequence number should be
    /// the previous segment's first plus its count (a heartbeat carries the next expected number).
    /// A jump forward is a gap; a jump back resynchronises there (see `sequenceResets`).
    private func sequence(_ h: cw_iextp_header) {
        let key = UInt64(h.channel_id) << 32 | UInt64(h.session_id)
        if key != currentKey {
            flushSession()
            currentKey = key
            if let n = nextSequence[key] {
                currentNext = n
            } else {
                counts.sessions += 1
                currentNext = h.first_seq
            }
        }
        if h.first_seq > currentNext {
            counts.gaps &+= 1
            counts.missedMessages &+= h.first_seq - currentNext
        } else if h.first_seq < currentNext {
            counts.sequenceResets &+= 1
        }
        currentNext = h.first_seq &+ UInt64(h.message_count)
    }

    private func flushSession() {
        if currentKey != .max { nextSequence[currentKey] = currentNext }
    }

    /// Names of the IEX message types.
    public static func iexTypeName(_ type: UInt8) -> String { String(cString: cw_iex_type_name(type)) }
}
