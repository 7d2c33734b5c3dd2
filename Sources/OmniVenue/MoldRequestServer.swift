import OmniCore
import OmniWire
import CWire

// The re-request server's logic, no sockets: it keeps a bounded history of the
// messages published on a session (a byte ring plus an index by sequence number)
// and turns each request datagram into downstream packets, the same packets the
// multicast carried, for the caller to send back by unicast.

public struct MoldRequestServerConfig: Sendable {
    public var session: [UInt8]
    /// Sequence number of the first message published.
    public var firstSequence: UInt64 = 1
    /// History kept: bytes of messages and number of messages; the oldest go first.
    public var historyBytes = 64 << 20
    public var historyMessages = 1 << 20
    /// Largest downstream packet written (UDP payload; 1400 leaves room in a 1500 MTU).
    public var maxPacketBytes = 1400
    /// Messages answered per request; a request for more is answered up to this.
    public var maxMessagesPerRequest: UInt16 = 1_000

    public init(session: String) { self.session = moldSessionName(session) }
}

public struct MoldRequestServerCounters: Sendable, Equatable {
    public var requests: UInt64 = 0
    /// Not exactly 20 bytes, a count of 0, sequence 0, or a range that would wrap: ignored.
    public var malformed: UInt64 = 0
    public var wrongSession: UInt64 = 0
    /// Asked for more than `maxMessagesPerRequest`: answered up to it.
    public var clamped: UInt64 = 0
    /// Reached past the last message published: answered with what exists (maybe nothing).
    public var beyondHighWater: UInt64 = 0
    /// Started before the oldest message kept: answered from the oldest kept (maybe nothing).
    public var tooOld: UInt64 = 0
    /// Messages too large for one packet: cannot be answered, the response ends there.
    public var oversize: UInt64 = 0
    /// Published packets that skipped sequence numbers: the history restarts after them.
    public var historyResets: UInt64 = 0
    public var packets: UInt64 = 0
    public var messages: UInt64 = 0
    public init() {}
}

/// What one request will be answered with: messages [next, end), written packet by packet.
public struct MoldResponse: Sendable, Equatable {
    public internal(set) var next: UInt64
    public let end: UInt64
    public var isEmpty: Bool { next >= end }
    static let none = MoldResponse(next: 0, end: 0)
}

@usableFromInline struct MoldHistoryEntry {
    @usableFromInline var position: Int // monotonic byte position; physical = position % bytes
    @usableFromInline var length: UInt16
}

final class MoldHistoryStorage {
    let arena: UnsafeMutableRawPointer
    let bytes: Int
    let index: UnsafeMutablePointer<MoldHistoryEntry>
    let capacity: Int
    let session: UnsafeMutablePointer<UInt8>

    init(bytes: Int, capacity: Int, session: [UInt8]) {
        self.bytes = bytes
        self.capacity = capacity
        arena = .allocate(byteCount: bytes, alignment: 8)
        index = .allocate(capacity: capacity)
        self.session = .allocate(capacity: Int(CW_MOLD_SESSION_LEN))
        self.session.initialize(from: session, count: Int(CW_MOLD_SESSION_LEN))
    }

    deinit {
        arena.deallocate()
        index.deallocate()
        session.deallocate()
    }
}

/// Answers MoldUDP64 retransmission requests from a bounded history. All memory is
/// allocated at init; `publish`, `record`, `answer` and `nextPacket` allocate nothing.
/// Use it through one variable: copies share the history.
public struct MoldRequestServer {
    public let config: MoldRequestServerConfig
    let store: MoldHistoryStorage
    /// The oldest sequence number kept, and the next one to be published (the high water).
    public private(set) var firstRetained: UInt64
    public private(set) var next: UInt64
    public private(set) var counters = MoldRequestServerCounters()
    private var writePosition = 0

    public init(_ config: MoldRequestServerConfig) {
        precondition(config.session.count == Int(CW_MOLD_SESSION_LEN), "a session is 10 bytes")
        precondition(config.historyBytes >= 64 && config.historyMessages >= 1)
        precondition(config.maxPacketBytes > Int(CW_MOLD_HEADER_LEN) + 2 && config.maxMessagesPerRequest >= 1)
        self.config = config
        store = MoldHistoryStorage(bytes: config.historyBytes, capacity: config.historyMessages, session: config.session)
        firstRetained = config.firstSequence
        next = config.firstSequence
    }

    /// Messages kept.
    public var retained: UInt64 { next - firstRetained }

    /// Adds the next message of the session to the history; returns its sequence number.
    @discardableResult
    public mutating func publish(_ message: UnsafeRawBufferPointer) -> UInt64 {
        let seq = next
        let len = min(message.count, Int(UInt16.max))
        next += 1
        guard len <= store.bytes else {
            // Larger than the whole history: nothing before or at it can be answered any more.
            firstRetained = next
            writePosition = 0
            counters.oversize += 1
            return seq
        }
        var position = writePosition
        let phys = position % store.bytes
        if phys + len > store.bytes { position += store.bytes - phys } // a message never wraps
        while firstRetained < seq {
            let oldest = store.index[Int(firstRetained % UInt64(store.capacity))].position
            guard position + len - oldest > store.bytes || seq - firstRetained >= UInt64(store.capacity) else { break }
            firstRetained += 1
        }
        if len > 0, let src = message.baseAddress {
            (store.arena + position % store.bytes).copyMemory(from: src, byteCount: len)
        }
        store.index[Int(seq % UInt64(store.capacity))] = MoldHistoryEntry(position: position, length: UInt16(len))
        writePosition = position + len
        return seq
    }

    /// Adds the messages of a downstream packet as it was published. Messages already kept
    /// are skipped; a packet that starts past `next` restarts the history at its sequence.
    /// False (nothing kept) for a malformed packet or another session's.
    @discardableResult
    public mutating func record(packet: UnsafeRawBufferPointer) -> Bool {
        guard let base = packet.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var h = cw_mold_header()
        guard cw_mold_parse_header(base, packet.count, &h) == 0,
              cw_mold_check_blocks(base, packet.count, &h) == CW_MOLD_OK,
              memcmp(base, store.session, Int(CW_MOLD_SESSION_LEN)) == 0 else { return false }
        var cursor = cw_mold_cursor()
        cw_mold_cursor_init(&cursor, base, packet.count, &h)
        var seq = h.sequence
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while cw_mold_next(&cursor, &msg, &len) == CW_FRAME_MSG, let m = msg {
            if seq > next {
                counters.historyResets += 1
                firstRetained = seq
                next = seq
                writePosition = 0
            }
            if seq == next { publish(UnsafeRawBufferPointer(start: m, count: Int(len))) }
            seq &+= 1
        }
        return true
    }

    /// Reads one request datagram; the response to write with `nextPacket` (empty when
    /// there is nothing to answer: malformed, another session, nothing kept in range).
    public mutating func answer(_ request: UnsafeRawBufferPointer) -> MoldResponse {
        guard let base = request.baseAddress?.assumingMemoryBound(to: UInt8.self) else { counters.malformed += 1; return .none }
        var r = cw_mold_header()
        // Sequence numbers start at 1: a request for 0 is malformed, not a request for the first.
        guard cw_mold_parse_request(base, request.count, &r) == 0, r.count != 0, r.sequence != 0,
              r.sequence <= UInt64.max - UInt64(r.count) else { counters.malformed += 1; return .none }
        guard memcmp(base, store.session, Int(CW_MOLD_SESSION_LEN)) == 0 else { counters.wrongSession += 1; return .none }
        counters.requests += 1
        var count = UInt64(r.count)
        if count > UInt64(config.maxMessagesPerRequest) { counters.clamped += 1; count = UInt64(config.maxMessagesPerRequest) }
        var start = r.sequence
        var end = start + count
        if end > next { counters.beyondHighWater += 1; end = next }
        if start < firstRetained { counters.tooOld += 1; start = firstRetained }
        return start < end ? MoldResponse(next: start, end: end) : .none
    }

    /// Writes the next packet of `response` into `buffer` (at most `maxPacketBytes`); its
    /// length, or 0 when the response is complete.
    public mutating func nextPacket(_ response: inout MoldResponse, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if response.next < firstRetained { response.next = firstRetained } // evicted since `answer`
        guard response.next < response.end, response.end <= next,
              let out = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var b = cw_mold_builder()
        guard cw_mold_begin(&b, out, min(buffer.count, config.maxPacketBytes), store.session, response.next) == 0 else { return 0 }
        while response.next < response.end {
            let e = store.index[Int(response.next % UInt64(store.capacity))]
            let m = store.arena.advanced(by: e.position % store.bytes).assumingMemoryBound(to: UInt8.self)
            guard cw_mold_append(&b, m, e.length) == 0 else {
                if b.count == 0 {
                    // Cannot fit even alone: the rest of the response cannot be sent in order.
                    counters.oversize += 1
                    response.next = response.end
                }
                break
            }
            response.next += 1
        }
        guard b.count > 0 else { return 0 }
        counters.packets += 1
        counters.messages += UInt64(b.count)
        return b.len
    }
}
