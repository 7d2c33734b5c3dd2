import CWire
import OmniWire

// MoldUDP64 session layer: sequencing, gap detection, reordering, A/B line
// arbitration and (in MoldRetransmission.swift) gap recovery. Pure logic: the
// caller owns the sockets and the clock and hands in packets with their receive
// time; requests come back as bytes for the caller to send.
//
// Why Swift and not a C header: the per-byte work (header parse, block walk,
// validation) is already C in cw_frame.h; what is left is a state machine whose
// output goes to a generic consumer. Generic Swift specialises that call per
// consumer type with no indirection; a C kernel would need a function pointer
// per message. Memory is raw and preallocated at init, as a C kernel's would be.

/// Where a packet came from. A and B carry the same multicast stream; the
/// retransmission line is the unicast answer of the re-request server.
public enum MoldLine: Int, CaseIterable, Sendable {
    case a = 0, b = 1, retransmission = 2
}

/// What the books fed by a session may be used for.
public enum MoldSessionState: Sendable, Equatable {
    /// Every message known to exist has been delivered.
    case live
    /// Messages are missing and being recovered (other line, reorder, retransmission);
    /// messages after the gap are held back, so the books lag the market.
    case gapOpen
    /// A gap was declared lost after its retries, or messages that may be genuine were
    /// dropped (past an announced end of session, or of another session on the group):
    /// books must not be quoted on until a late retransmission fills the gap or the
    /// operator skips it (and rebuilds the books).
    case stale
    /// End of session seen and every message before it delivered.
    case finished
}

/// Receives the session's output in sequence order. Implement it on a struct:
/// `MoldSession.receive` is generic over it and specialises, with no existential.
public protocol MoldConsumer {
    /// One message, in sequence order, exactly once. `bytes` is valid only during the call.
    /// `lastInPacket`: no other message follows from what delivered this one: the last message
    /// a packet made deliverable (its own, then those it released from the reorder buffer), or
    /// the last an operator's skip released. Books fed by the stream are consistent after it,
    /// so a consumer publishes, or marks its last event, there (and not once per message).
    mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool)
    /// The operator skipped these sequence numbers: they will never be delivered, and
    /// anything built from the stream (order books) is now wrong until rebuilt.
    mutating func skipped(_ sequences: Range<UInt64>)
    /// The session's state changed (see `MoldSessionState`); mark the books fed by it.
    mutating func stateChanged(to state: MoldSessionState)
}

/// Counters of one line.
public struct MoldLineCounters: Sendable, Equatable {
    /// Well-formed packets of the session (heartbeats and end of session included).
    public var packets: UInt64 = 0
    /// Message blocks carried by those packets.
    public var messages: UInt64 = 0
    /// Messages this line brought that were already delivered or buffered.
    public var duplicates: UInt64 = 0
    public var malformed: UInt64 = 0
    public var wrongSession: UInt64 = 0
    public var heartbeats: UInt64 = 0
    /// Session gaps this line revealed (its packet or heartbeat ran ahead of the session).
    public var gapsFirstSeen: UInt64 = 0
    /// Jumps in this line's own sequence (loss on this line, covered by the other or not).
    /// Not kept for the retransmission line, whose answers jump by nature.
    public var lineGaps: UInt64 = 0
    /// Messages that were new when this line brought them (delivered, held, or dropped for want of buffer).
    public var won: UInt64 { messages - duplicates }
    public init() {}
}

/// Counters of the session as a whole.
public struct MoldSessionCounters: Sendable, Equatable {
    public var delivered: UInt64 = 0
    /// Messages already delivered or buffered when they arrived (any line).
    public var duplicates: UInt64 = 0
    /// Packets all of whose messages were duplicates.
    public var duplicatePackets: UInt64 = 0
    /// Packets that were partly duplicate: only their new tail was used.
    public var partialDuplicatePackets: UInt64 = 0
    public var heartbeats: UInt64 = 0
    /// Dropped whole: short header, block past the end, count past the end, trailing bytes, sequence overflow.
    public var malformed: UInt64 = 0
    public var wrongSession: UInt64 = 0
    /// Messages in packets of another session: dropped. Without a configured session name the
    /// session turns stale: locked on the first packet seen, which session is genuine cannot be told.
    public var wrongSessionMessages: UInt64 = 0
    /// Gaps detected, those merged into the previous one (`gapsMerged`) included.
    public var gapsOpened: UInt64 = 0
    /// Filled by the line that did not reveal the gap (A/B arbitration at work).
    public var gapsFilledByOtherLine: UInt64 = 0
    /// Filled late by the line that revealed it (reordering on that line).
    public var gapsFilledLate: UInt64 = 0
    public var gapsFilledByRetransmission: UInt64 = 0
    /// Declared lost after their retries (each one made the session stale).
    public var gapsLost: UInt64 = 0
    /// Lost gaps later filled after all (by a late answer or a line).
    public var gapsRecovered: UInt64 = 0
    /// Gaps the operator skipped, and the messages in them that were never delivered.
    public var gapsSkipped: UInt64 = 0
    public var skippedMessages: UInt64 = 0
    /// Gaps merged into the previous one because the gap table was full.
    public var gapsMerged: UInt64 = 0
    public var requestsSent: UInt64 = 0
    /// Request rounds sent again after a timeout with no progress.
    public var retries: UInt64 = 0
    /// Packets whose new messages did not fit the reorder buffer, and those messages (left for retransmission).
    public var reorderOverflows: UInt64 = 0
    public var overflowMessages: UInt64 = 0
    /// Messages at or beyond the end-of-session sequence: dropped, and the session turns
    /// stale (an end announced too early, e.g. forged, would otherwise hide their loss).
    public var beyondEnd: UInt64 = 0
    /// Packets starting more than `maxSequenceJump` beyond the high water: dropped.
    public var implausibleSequence: UInt64 = 0
    /// Packets starting more than `confirmJump` beyond the high water with no second packet
    /// near them yet: dropped (their messages are recovered with the gap once it is confirmed).
    public var unconfirmedJumps: UInt64 = 0
    public init() {}
}

public struct MoldSessionConfig: Sendable {
    /// The session to accept (10 bytes, space padded); nil locks onto the first session seen.
    public var session: [UInt8]?
    /// The first sequence number expected; nil starts at the first packet seen (late join:
    /// what came before is not recovered). Joining a session mid-day with 1 here asks for the
    /// whole day so far, or, past `maxSequenceJump`, refuses every packet as implausible.
    public var firstSequence: UInt64? = 1
    /// Reorder buffer: bytes of message blocks held, and the window of sequence numbers
    /// beyond `expected` that can be held (rounded up to a power of two).
    public var reorderBytes = 1 << 20
    public var reorderMessages = 1 << 14
    /// Open gaps tracked at once; beyond it a new gap is merged into the last one.
    public var maxGaps = 256
    /// A packet starting further than this beyond the high water is not believed (a corrupt
    /// sequence number would otherwise open a gap of up to 2^64 messages and poison the session):
    /// it is counted in `implausibleSequence` and dropped.
    public var maxSequenceJump: UInt64 = 1 << 32
    /// A packet starting further than this beyond the high water is believed only when a
    /// second packet (any line) starts within this distance of it: one forged datagram must
    /// not open a gap no server can fill and leave the books stale for the day.
    public var confirmJump: UInt64 = 1 << 16
    /// Time a gap is left to the other line (A/B arbitration window) or to reordering
    /// before the first request. All times here are in the unit of the receive times and of
    /// `poll(now:)`: nanoseconds by default; TSC ticks work as well if these are given in ticks.
    public var requestDelay: UInt64 = 0
    /// Time to wait for an answer before asking again (10 ms).
    public var requestTimeout: UInt64 = 10_000_000
    /// Request rounds sent again without progress before the gap is declared lost.
    public var maxRetries = 3
    /// Messages asked for in one request packet.
    public var maxMessagesPerRequest: UInt16 = 1_000
    /// Request packets per gap per round; a larger gap is asked for in pieces, round after round.
    public var maxRequestsPerRound = 16

    public init(session: String? = nil) {
        if let session { self.session = moldSessionName(session) }
    }
}

/// One gap: sequence numbers [from, to) of which `missing` have not arrived.
@usableFromInline struct MoldGap {
    @usableFromInline var from: UInt64
    @usableFromInline var to: UInt64
    @usableFromInline var missing: UInt64
    @usableFromInline var openedAt: UInt64
    @usableFromInline var lastRequestAt: UInt64 = 0
    @usableFromInline var missingAtRequest: UInt64 = 0
    /// Request rounds sent since the last progress.
    @usableFromInline var attempts: Int = 0
    @usableFromInline var openedBy: MoldLine
    @usableFromInline var lost = false
    /// Messages of it were dropped for want of buffer: no point waiting for the other line.
    @usableFromInline var overflowed = false

    @usableFromInline init(from: UInt64, to: UInt64, missing: UInt64, openedAt: UInt64, openedBy: MoldLine) {
        self.from = from; self.to = to; self.missing = missing; self.openedAt = openedAt; self.openedBy = openedBy
    }
}

/// One held message: its sequence (UInt64.max when the slot is free) and where its bytes are.
@usableFromInline struct MoldSlot {
    @usableFromInline var sequence: UInt64
    @usableFromInline var offset: UInt32 // of the message bytes in the arena
    @usableFromInline var record: UInt32 // of the arena record holding them
    @usableFromInline var length: UInt16
}

/// The session's preallocated memory. Only `let` pointers: every mutable index lives
/// in the `MoldSession` struct, so the hot path has no class-property exclusivity checks.
@usableFromInline final class MoldSessionStorage {
    /// Byte ring of records: [u32 size][u32 live slots][message blocks...], 8-byte aligned.
    @usableFromInline let arena: UnsafeMutableRawPointer
    @usableFromInline let arenaBytes: Int
    /// Slot of sequence s is s & slotMask: the window [expected, expected + slots) never collides.
    @usableFromInline let slots: UnsafeMutablePointer<MoldSlot>
    @usableFromInline let slotMask: UInt64
    /// Ring of open gaps in sequence order.
    @usableFromInline let gaps: UnsafeMutablePointer<MoldGap>
    @usableFromInline let gapCapacity: Int
    /// The session's 10 bytes once locked.
    @usableFromInline let session: UnsafeMutablePointer<UInt8>
    /// Per line (MoldLine.rawValue): counters, and one past the highest sequence the line carried (0: none yet).
    @usableFromInline let lines: UnsafeMutablePointer<MoldLineCounters>
    @usableFromInline let lineNext: UnsafeMutablePointer<UInt64>

    init(arenaBytes: Int, slots: Int, gaps: Int) {
        self.arenaBytes = arenaBytes
        arena = .allocate(byteCount: arenaBytes, alignment: 8)
        self.slots = .allocate(capacity: slots)
        self.slots.initialize(repeating: MoldSlot(sequence: .max, offset: 0, record: 0, length: 0), count: slots)
        slotMask = UInt64(slots - 1)
        self.gaps = .allocate(capacity: gaps)
        gapCapacity = gaps
        session = .allocate(capacity: Int(CW_MOLD_SESSION_LEN))
        session.initialize(repeating: UInt8(ascii: " "), count: Int(CW_MOLD_SESSION_LEN))
        lines = .allocate(capacity: MoldLine.allCases.count)
        lines.initialize(repeating: MoldLineCounters(), count: MoldLine.allCases.count)
        lineNext = .allocate(capacity: MoldLine.allCases.count)
        lineNext.initialize(repeating: 0, count: MoldLine.allCases.count)
    }

    deinit {
        arena.deallocate()
        slots.deallocate()
        gaps.deallocate()
        session.deallocate()
        lines.deallocate()
        lineNext.deallocate()
    }
}

/// One MoldUDP64 session fed by one or more lines (A, B, retransmission): first
/// arrival wins, messages come out once and in order, gaps are recovered from the
/// other line, from reordering, or by retransmission requests (`poll`).
///
/// All memory is allocated at init; `receive`, `poll` and `skipGap` allocate nothing.
/// Use a session through one variable: copies share the reorder buffer.
public struct MoldSession {
    public let config: MoldSessionConfig
    @usableFromInline let store: MoldSessionStorage
    @usableFromInline var sessionWord0: UInt64 = 0 // the locked session's bytes 0..<8
    @usableFromInline var sessionWord1: UInt16 = 0 // and 8..<10
    @usableFromInline var locked = false
    @usableFromInline var started = false
    /// The next sequence number to deliver.
    public var expected: UInt64 { _expected }
    @usableFromInline var _expected: UInt64
    /// One past the highest sequence number known to exist (from packets, heartbeats, end of session).
    public var highWater: UInt64 { _highWater }
    @usableFromInline var _highWater: UInt64
    /// The sequence number the end-of-session packet announced as next, once one arrived.
    public internal(set) var endSequence: UInt64?
    public internal(set) var state: MoldSessionState = .live
    /// Bumped at every state change: a cheap "did anything change" for pollers.
    public internal(set) var stateEpoch: UInt64 = 0
    public var counters: MoldSessionCounters { _counters }
    @usableFromInline var _counters = MoldSessionCounters()
    /// Messages held in the reorder buffer.
    public internal(set) var buffered = 0
    @usableFromInline var arenaHead = 0 // monotonic byte positions; physical = position % arenaBytes
    @usableFromInline var arenaTail = 0
    @usableFromInline var gapFront = 0
    @usableFromInline var gapCount = 0 // entries in the ring, closed ones not yet popped included
    /// Gaps with messages still missing, and those of them declared lost.
    public internal(set) var openGaps = 0
    public internal(set) var lostGaps = 0
    /// The first sequence number of a far packet waiting for a second one near it (0: none).
    @usableFromInline var unconfirmedJump: UInt64 = 0
    /// Another session's messages came while locked on the first session seen (see `wrongSessionMessages`).
    @usableFromInline var sessionInDoubt = false

    public init(_ config: MoldSessionConfig = MoldSessionConfig()) {
        precondition(config.reorderBytes >= 64 && config.reorderBytes <= Int(UInt32.max) / 2, "reorderBytes must be 64...2^31")
        precondition(config.reorderMessages >= 1 && config.reorderMessages <= 1 << 26, "reorderMessages must be 1...2^26")
        precondition(config.maxGaps >= 1 && config.maxMessagesPerRequest >= 1 && config.maxRequestsPerRound >= 1)
        if let s = config.session { precondition(s.count == Int(CW_MOLD_SESSION_LEN), "a session is 10 bytes") }
        self.config = config
        var slots = 1
        while slots < config.reorderMessages { slots <<= 1 }
        store = MoldSessionStorage(arenaBytes: (config.reorderBytes + 7) & ~7, slots: slots, gaps: config.maxGaps)
        _expected = config.firstSequence ?? 0
        _highWater = _expected
        if let s = config.session {
            s.withUnsafeBytes { lock($0.baseAddress!) }
        }
    }

    public func line(_ l: MoldLine) -> MoldLineCounters { store.lines[l.rawValue] }

    /// The locked session name (10 bytes), or nil before the first packet when none was configured.
    public var session: [UInt8]? {
        locked ? Array(UnsafeBufferPointer(start: store.session, count: Int(CW_MOLD_SESSION_LEN))) : nil
    }

    /// Books fed by this session may be quoted on: nothing missing, nothing held back.
    public var isQuotable: Bool { state == .live || state == .finished }

    /// Messages known to exist and not yet delivered (held or missing).
    public var behind: UInt64 { highWater - expected }

    // MARK: receive

    /// One packet as it came off `line` at `rxTime`. Delivers what it makes deliverable to `consumer`.
    @inlinable
    public mutating func receive<C: MoldConsumer>(_ packet: UnsafeRawBufferPointer, line: MoldLine, at rxTime: UInt64,
                                                  into consumer: inout C) {
        let li = line.rawValue
        guard let raw = packet.baseAddress else { malformed(li); return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let size = packet.count
        var h = cw_mold_header()
        guard cw_mold_parse_header(base, size, &h) == 0, cw_mold_check_blocks(base, size, &h) == CW_MOLD_OK else {
            malformed(li); return
        }
        let isEnd = h.count == UInt16(CW_MOLD_END_OF_SESSION)
        let count = isEnd ? 0 : UInt64(h.count)
        let first = h.sequence
        guard first <= UInt64.max - count else { malformed(li); return } // a sequence that would wrap
        if locked {
            guard raw.loadUnaligned(as: UInt64.self) == sessionWord0,
                  raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self) == sessionWord1 else {
                store.lines[li].wrongSession &+= 1; _counters.wrongSession &+= 1
                if count > 0 {
                    _counters.wrongSessionMessages &+= count
                    // Locked on the first packet seen, which of the two is genuine is unknown.
                    if config.session == nil { sessionInDoubt = true; if settle() { consumer.stateChanged(to: state) } }
                }
                return
            }
        } else {
            lock(raw)
        }
        if !started { start(at: first) }
        if first > highWater && first - highWater > min(config.confirmJump, config.maxSequenceJump) {
            guard first - highWater <= config.maxSequenceJump else { _counters.implausibleSequence &+= 1; return }
            guard confirmed(first) else { _counters.unconfirmedJumps &+= 1; return }
        }
        store.lines[li].packets &+= 1
        let end = min(first + count, endSequence ?? .max) // nothing exists past the announced end
        if li != MoldLine.retransmission.rawValue {
            if first > store.lineNext[li] && store.lineNext[li] != 0 { store.lines[li].lineGaps &+= 1 }
            if end > store.lineNext[li] { store.lineNext[li] = end }
        }
        if count == 0 {
            arrivedEmpty(first: first, isEnd: isEnd, line: line, at: rxTime)
        } else {
            store.lines[li].messages &+= count
            let oldHigh = highWater
            // cw_mold_check_blocks proved that exactly `count` blocks fill the packet: walk them
            // without checking each one again.
            var off = Int(CW_MOLD_HEADER_LEN)
            var seq = first
            var dups: UInt64 = 0
            var droppedAbove: UInt64 = 0
            var record = HoldRecord()
            var beyond = false
            let limit = endSequence ?? .max
            for i in 0..<count {
                let len = cw_be16(base + off)
                let m = base + off + 2
                off &+= 2 &+ Int(len)
                defer { seq &+= 1 }
                if seq >= limit { _counters.beyondEnd &+= 1; beyond = true; continue }
                if seq < expected { dups &+= 1; continue }
                if seq == expected {
                    if buffered != 0 && store.slots[Int(seq & store.slotMask)].sequence == seq {
                        release(seq)
                        dups &+= 1
                    } else if seq < oldHigh {
                        filled(seq, by: line)
                    }
                    // Last unless a later block of this packet is delivered too (it is, being next,
                    // unless past the end) or the drain below releases the next one from the buffer.
                    let next = seq &+ 1
                    let last = (i == count &- 1 || next >= limit) && !isHeld(next)
                    consumer.message(UnsafeRawBufferPointer(start: m, count: Int(len)), sequence: seq, lastInPacket: last)
                    _expected = next
                    _counters.delivered &+= 1
                    continue
                }
                // Ahead of expected: hold it for later.
                switch hold(seq, m, len, packetEnd: base + size, record: &record) {
                case .held: if seq < oldHigh { filled(seq, by: line) }
                case .duplicate: dups &+= 1
                case .dropped:
                    _counters.overflowMessages &+= 1
                    if seq >= oldHigh { droppedAbove &+= 1 }
                }
            }
            if record.offset >= 0 { reclaim() } // every block of it may have been a duplicate
            if dups != 0 {
                store.lines[li].duplicates &+= dups
                _counters.duplicates &+= dups
                if dups == count { _counters.duplicatePackets &+= 1 } else { _counters.partialDuplicatePackets &+= 1 }
            }
            if end > oldHigh {
                // In order and nothing dropped (every packet of a clean stream): no gap to open, inline.
                if first <= oldHigh && droppedAbove == 0 { _highWater = end }
                else { advanceHighWater(first: first, end: end, droppedAbove: droppedAbove, line: line, at: rxTime) }
            }
            if record.offset == -2 { overflowed() }
            if buffered != 0 { drain(into: &consumer) }
            if beyond, settle() { consumer.stateChanged(to: state) }
        }
        // Live with nothing open and no end announced: nothing can have changed state.
        if gapCount != 0 || state != .live || endSequence != nil, settle() { consumer.stateChanged(to: state) }
    }

    /// Delivers held messages from `expected` on while they are contiguous; the last one
    /// (the next is not held) ends the packet that released them.
    @inlinable
    mutating func drain<C: MoldConsumer>(into consumer: inout C) {
        while buffered != 0 {
            let slot = store.slots[Int(expected & store.slotMask)]
            guard slot.sequence == expected else { return }
            consumer.message(UnsafeRawBufferPointer(start: store.arena + Int(slot.offset), count: Int(slot.length)),
                             sequence: expected, lastInPacket: !isHeld(expected &+ 1))
            release(expected)
            _expected &+= 1
            _counters.delivered &+= 1
        }
    }

    @usableFromInline enum Held { case held, duplicate, dropped }

    /// The arena record holding the current packet's held blocks.
    @usableFromInline struct HoldRecord {
        /// Arena offset of the record; -1 none yet, -2 the packet overflowed (drop the rest too).
        @usableFromInline var offset = -1
        /// Where the copied bytes came from in the packet.
        @usableFromInline var source = UnsafeRawPointer(bitPattern: 1)!
        @usableFromInline init() {}
    }

    /// Holds message `seq` (bytes `m`, its block prefix just before) in the reorder buffer.
    @usableFromInline
    mutating func hold(_ seq: UInt64, _ m: UnsafePointer<UInt8>, _ len: UInt16, packetEnd: UnsafePointer<UInt8>,
                       record: inout HoldRecord) -> Held {
        let i = Int(seq & store.slotMask)
        if store.slots[i].sequence == seq { return .duplicate }
        if record.offset == -2 { return .dropped }
        if seq - expected > store.slotMask { record.offset = -2; return .dropped } // beyond the window
        if record.offset == -1 {
            // Copy this block and every block after it in one record.
            let blocks = UnsafeRawPointer(m - 2)
            let n = UnsafeRawPointer(packetEnd) - blocks
            guard let r = allocate(n) else { record.offset = -2; return .dropped }
            (store.arena + r + 8).copyMemory(from: blocks, byteCount: n)
            record.offset = r
            record.source = blocks
        }
        let offset = record.offset + 8 + (UnsafeRawPointer(m) - record.source)
        store.slots[i] = MoldSlot(sequence: seq, offset: UInt32(offset), record: UInt32(record.offset), length: len)
        let live = store.arena.load(fromByteOffset: record.offset + 4, as: UInt32.self)
        store.arena.storeBytes(of: live + 1, toByteOffset: record.offset + 4, as: UInt32.self)
        buffered += 1
        return .held
    }
}
