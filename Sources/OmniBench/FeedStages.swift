import OmniFeed
import CBook
import CEvent
import CRing
import CSys
import CWire
import OmniBook
import OmniCore
import OmniEngine
import Synchronization

// The ITCH path as pipeline stages: feed (a day file in memory) -> decode -> book.
// Each event carries one message by reference (omni_itch_ref: an offset into the
// input buffer), so a ring moves 64 bytes per message whatever its length.
// A live MoldUDP64 session feeds the chain through MoldFeedEvents (at the end), which
// decodes and books each message as it is delivered and marks each packet's last event.

/// Counts the feed stages share with whoever runs them; each written by one
/// stage's thread, read after the pipeline stops.
public final class FeedStageCounts: Sendable {
    @usableFromInline let truncatedCell = Atomic<Bool>(false)
    @usableFromInline let malformedCell = Atomic<UInt64>(0)
    @usableFromInline let bboChangesCell = Atomic<UInt64>(0)
    public init() {}
    /// The day file ended inside a record.
    public var truncated: Bool { truncatedCell.load(ordering: .relaxed) }
    /// Messages the decode stage refused (unknown type, wrong length): dropped, not passed on.
    public var malformed: UInt64 { malformedCell.load(ordering: .relaxed) }
    /// Messages after which an instrument's best bid or offer changed.
    public var bboChanges: UInt64 { bboChangesCell.load(ordering: .relaxed) }
}

/// Source stage: frames the messages of an ITCH day file held in memory and emits
/// one event per message, up to `limit` messages. Paced at `ticksPerMessage`
/// TSC ticks (0: as fast as the downstream takes them); when paced, an event's
/// rx_tsc is its scheduled send time, so a source held back by a full ring
/// charges the wait to latency instead of hiding it (no coordinated omission).
public struct DayFileFeed: EventSource, @unchecked Sendable {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let size: Int
    @usableFromInline var offset = 0
    @usableFromInline var sent: UInt64 = 0
    @usableFromInline let limit: UInt64
    @usableFromInline let ticksPerMessage: UInt64
    @usableFromInline var nextDue: UInt64 = 0
    @usableFromInline let counts: FeedStageCounts

    /// `input` must stay mapped while the pipeline runs (the events refer into it).
    public init(input: UnsafeRawBufferPointer, limit: UInt64 = .max, ticksPerMessage: UInt64 = 0, counts: FeedStageCounts) {
        base = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        size = input.count
        self.limit = limit
        self.ticksPerMessage = ticksPerMessage
        self.counts = counts
    }

    @inlinable public mutating func next(_ event: inout omni_event) -> SourcePoll {
        if sent == limit { return .finished }
        var now = csys_rdtsc()
        if ticksPerMessage > 0 {
            if nextDue == 0 { nextDue = now }
            if now < nextDue { return .idle }
            now = nextDue
            nextDue &+= ticksPerMessage
        }
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        let r = cw_dayfile_next(base, size, &offset, &msg, &len)
        guard r == CW_FRAME_MSG, let m = msg else {
            if r == CW_FRAME_TRUNCATED { counts.truncatedCell.store(true, ordering: .relaxed) }
            return .finished
        }
        event.type = UInt8(OMNI_EV_ITCH.rawValue)
        event.locate = 0
        event.flags = 0
        event.seq = sent
        event.rx_tsc = now
        event.hop = (0, 0, 0, 0, 0)
        event.itch = omni_itch_ref()
        event.itch.offset = UInt64(m - base)
        event.itch.length = len
        sent &+= 1
        return .produced
    }
}

/// Decode stage: checks each message's length against its type, reads its type
/// and stock locate into the event, and drops (counts) what is malformed.
public struct ITCHDecode: EventHandler, @unchecked Sendable {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let size: UInt64
    @usableFromInline var malformed: UInt64 = 0
    @usableFromInline let counts: FeedStageCounts

    public init(input: UnsafeRawBufferPointer, counts: FeedStageCounts) {
        base = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        size = UInt64(input.count)
        self.counts = counts
    }

    @inlinable public mutating func handle(_ event: inout omni_event) -> Bool {
        let off = event.itch.offset, len = UInt64(event.itch.length)
        guard event.type == UInt8(OMNI_EV_ITCH.rawValue), off <= size, len <= size - off,
              cw_itch_valid(base + Int(off), Int(len)) != 0 else {
            malformed &+= 1
            counts.malformedCell.store(malformed, ordering: .relaxed) // only this stage writes it
            return false
        }
        let m = base + Int(off)
        event.itch.msg_type = m[0]
        event.locate = cw_itch_locate(m)
        return true
    }
}

/// Book stage: applies each decoded message to the L3 books through `replay`
/// (which also keeps the stock directory and trading states). When the message
/// changed its instrument's best bid or offer, the event becomes OMNI_EV_BBO
/// with the new BBO as its payload; otherwise it passes on as it came.
public struct BookUpdate: EventHandler, @unchecked Sendable {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let replay: ITCHReplay
    @usableFromInline var changes: UInt64 = 0
    @usableFromInline let counts: FeedStageCounts

    /// `replay` belongs to this stage's thread from start to stop.
    public init(input: UnsafeRawBufferPointer, replay: ITCHReplay, counts: FeedStageCounts) {
        base = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        self.replay = replay
        self.counts = counts
    }

    @inlinable public mutating func handle(_ event: inout omni_event) -> Bool {
        var change = BBOChange()
        replay.handle(base + Int(event.itch.offset), event.itch.length, into: &change)
        if let locate = change.locate {
            event.type = UInt8(OMNI_EV_BBO.rawValue)
            event.locate = locate
            event.bbo = cbook_get_bbo(replay.kernel, locate) // CBook keeps it as omni_bbo: one copy, whole
            changes &+= 1
            counts.bboChangesCell.store(changes, ordering: .relaxed)
        }
        return true
    }
}

/// The ITCH chain of every staged feed measurement: `source` -> decode (hop 0) -> book (hop 1)
/// -> `sink`, as one static type whose links the topology fuses or cuts by a ring at bind.
public func itchChain<Source: EventSource, Sink: EventHandler>(
    _ source: Source, input: UnsafeRawBufferPointer, replay: ITCHReplay, counts: FeedStageCounts, sink: Sink
) -> SourceLink<Source, Link<Stamped<ITCHDecode>, Link<Stamped<BookUpdate>, Link<Sink, ChainEnd>>>> {
    SourceLink("feed", source,
        then: Link("decode", Stamped(ITCHDecode(input: input, counts: counts), hop: 0),
        then: Link("book", Stamped(BookUpdate(input: input, replay: replay, counts: counts), hop: 1),
        then: Link("sink", sink))))
}

/// Notes which instrument's BBO a message changed, if any.
public struct BBOChange: BBOSink {
    public var locate: Locate?
    @inlinable public init() {}
    @inlinable public mutating func bboChanged(_ locate: Locate, _ bbo: BBO) { self.locate = locate }
}

/// The feed stage of a live MoldUDP64 session, run to completion on the receiving core:
/// the session's consumer. Each message is decoded, applied to the books, and becomes
/// one event handed on the spot to `next` (the rest of the fused chain, specialised):
/// OMNI_EV_BBO with CBook's omni_bbo when it changed its instrument's best bid or offer,
/// else OMNI_EV_ITCH with its type and length (offset OMNI_ITCH_NO_OFFSET: the message
/// lives no longer than the call). seq is the message's sequence number, rx_tsc the TSC
/// the receive loop set in `rxTSC` for the packet that made it deliverable; the decode
/// and book hops are stamped. The last event of each packet, and of each release from
/// the reorder buffer, carries OMNI_EVF_LAST_IN_PACKET: the books are consistent there.
public struct MoldFeedEvents<Next: EventHandler>: MoldConsumer {
    public var itch: MoldITCHConsumer<BBOChange>
    public var next: Next
    /// TSC at which the packet about to be handed to the session arrived: set before each `receive`.
    public var rxTSC: UInt64 = 0
    /// omni_event.source of the events made.
    public let source: UInt16

    public init(replay: ITCHReplay, source: UInt16 = 0, next: Next) {
        itch = MoldITCHConsumer(replay: replay, sink: BBOChange())
        self.source = source
        self.next = next
    }

    @inlinable
    public mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool) {
        var e = omni_event()
        e.type = UInt8(OMNI_EV_ITCH.rawValue)
        e.flags = lastInPacket ? UInt8(OMNI_EVF_LAST_IN_PACKET) : 0
        e.source = source
        e.seq = sequence
        e.rx_tsc = rxTSC
        e.itch.offset = OMNI_ITCH_NO_OFFSET
        e.itch.length = UInt16(truncatingIfNeeded: bytes.count)
        if let m = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), cw_itch_valid(m, bytes.count) != 0 {
            e.itch.msg_type = m[0]
            e.locate = cw_itch_locate(m)
        }
        omni_event_stamp(&e, UInt32(OMNI_HOP_DECODE), csys_rdtsc())
        itch.sink.locate = nil
        itch.message(bytes, sequence: sequence, lastInPacket: lastInPacket)
        if let locate = itch.sink.locate {
            e.type = UInt8(OMNI_EV_BBO.rawValue)
            e.locate = locate
            e.itch = omni_itch_ref() // clears the union before the 24-byte bbo goes in
            e.bbo = cbook_bbo_of(itch.replay.kernel, locate)
        }
        omni_event_stamp(&e, UInt32(OMNI_HOP_BOOK), csys_rdtsc())
        _ = next.handle(&e)
    }

    public mutating func skipped(_ sequences: Range<UInt64>) { itch.skipped(sequences) }
    public mutating func stateChanged(to state: MoldSessionState) { itch.stateChanged(to: state) }
}
