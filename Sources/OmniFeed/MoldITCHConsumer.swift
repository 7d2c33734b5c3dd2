import CWire
import OmniCore

/// Feeds a MoldUDP64 session's messages to an `ITCHReplay` (books, BBO sink) and keeps
/// what the session says about those books: `quotable` is false while the session has
/// a gap open or is stale, and `rebuildNeeded` once the operator skipped messages
/// (the books then miss orders and must be rebuilt from a snapshot or a replay).
public struct MoldITCHConsumer<Sink: BBOSink>: MoldConsumer {
    public let replay: ITCHReplay
    public var sink: Sink
    public private(set) var state: MoldSessionState = .live
    public private(set) var skippedMessages: UInt64 = 0
    public var quotable: Bool { (state == .live || state == .finished) && skippedMessages == 0 }
    public var rebuildNeeded: Bool { skippedMessages > 0 }

    public init(replay: ITCHReplay, sink: Sink) {
        self.replay = replay
        self.sink = sink
    }

    @inlinable
    public mutating func message(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, lastInPacket: Bool) {
        guard let m = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        replay.handle(m, UInt16(truncatingIfNeeded: bytes.count), into: &sink)
    }

    public mutating func skipped(_ sequences: Range<UInt64>) {
        skippedMessages += sequences.upperBound - sequences.lowerBound
        replay.books.stale = true
    }

    public mutating func stateChanged(to state: MoldSessionState) {
        self.state = state
        replay.books.stale = state == .stale || skippedMessages > 0
    }
}
