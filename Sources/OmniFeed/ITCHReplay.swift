import CBook
import CWire
import OmniBook
import OmniCore

/// Receives each change of an instrument's best bid or offer, right after the message that caused it.
public protocol BBOSink {
    mutating func bboChanged(_ locate: Locate, _ bbo: BBO)
}

/// A sink that drops everything: replays that only want the books and the summary.
public struct NoBBOSink: BBOSink {
    public init() {}
    @inlinable public mutating func bboChanged(_ locate: Locate, _ bbo: BBO) {}
}

/// Counts of what a replay saw, message by message.
public struct FeedCounts {
    /// Well-formed messages by type byte.
    public var byType = [UInt64](repeating: 0, count: 256)
    /// Unknown type, or length not matching the type: counted and skipped.
    public var malformed: UInt64 = 0
    /// Byte offset of a record that ran past the end of the input, if one did.
    public var truncatedAt: Int?
    public var bytes: Int = 0
    public var messages: UInt64 { byType.reduce(0, +) }
    public init() {}
}

/// Drives ITCH messages from any framing into CWire validation and CBook books,
/// keeping the feed's own state (stock directory, trading states, system events).
public final class ITCHReplay {
    public let books: Books
    @usableFromInline package let kernel: UnsafeMutablePointer<cbook_set>
    public private(set) var directory = StockDirectory()
    // Per-type counters live behind a pointer: the hot loop bumps them with no
    // exclusivity check or copy-on-write test, which a class's array property would cost.
    @usableFromInline let typeCounts: UnsafeMutablePointer<UInt64>
    private var truncatedAt: Int?
    private var bytesWalked = 0
    public var counts: FeedCounts {
        var c = FeedCounts()
        c.malformed = typeCounts[256]
        for t in 0..<256 { c.byType[t] = typeCounts[t] }
        c.truncatedAt = truncatedAt
        c.bytes = bytesWalked
        return c
    }
    /// System Event (S) codes in arrival order with their timestamps.
    public private(set) var systemEvents: [(Timestamp, UInt8)] = []
    /// Timestamp of the last well-formed message.
    public private(set) var lastTimestamp = Timestamp(nanoseconds: 0)
    private var wantedSymbols: Set<Symbol>?

    public init(books: Books) {
        self.books = books
        kernel = books.kernel
        typeCounts = .allocate(capacity: 257) // 256 types, then malformed
        typeCounts.initialize(repeating: 0, count: 257)
    }

    deinit { typeCounts.deallocate() }

    /// Builds books only for these symbols, as their Stock Directory messages announce them.
    public func restrict(to symbols: Set<Symbol>) {
        wantedSymbols = symbols
        books.enableFilter()
    }

    /// Symbols asked for with `restrict` that the directory has not announced.
    public var missingSymbols: [Symbol] {
        (wantedSymbols ?? []).filter { directory.locate(of: $0) == nil }.sorted { $0.description < $1.description }
    }

    /// One ITCH message, from any framing.
    @inlinable @inline(__always)
    public func handle<Sink: BBOSink>(_ m: UnsafePointer<UInt8>, _ len: UInt16, into sink: inout Sink) {
        guard cw_itch_valid(m, Int(len)) != 0 else {
            typeCounts[256] &+= 1
            return
        }
        let type = m[0]
        typeCounts[Int(type)] &+= 1
        let changed = cbook_apply_valid(kernel, m, len) // validated just above
        if changed >= 0 {
            sink.bboChanged(Locate(truncatingIfNeeded: changed), BBO(cbook_bbo_of(kernel, Locate(truncatingIfNeeded: changed))))
        } else if type == UInt8(ascii: "R") || type == UInt8(ascii: "H") || type == UInt8(ascii: "S") {
            feedState(m, type)
        }
    }

    // Feed state messages are rare (directory at start, a few events): kept out of the inlined path.
    @usableFromInline func feedState(_ m: UnsafePointer<UInt8>, _ type: UInt8) {
        lastTimestamp = Timestamp(nanoseconds: cw_itch_timestamp(m))
        switch type {
        case UInt8(ascii: "R"):
            directory.record(directory: m)
            if let wanted = wantedSymbols, wanted.contains(Symbol(wire: UnsafeRawPointer(m + 11))) {
                books.include(cw_itch_locate(m))
            }
        case UInt8(ascii: "H"): directory.record(tradingAction: m)
        case UInt8(ascii: "S"): systemEvents.append((lastTimestamp, m[11]))
        default: break
        }
    }

    /// Replays a whole day file (`[u16 BE length][message]` records). `progress` is
    /// called with the byte offset about every million messages.
    public func runDayFile<Sink: BBOSink>(_ input: UnsafeRawBufferPointer, into sink: inout Sink,
                                          progress: ((Int) -> Void)? = nil) {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let size = input.count
        // Lookahead cursors: see cbook_prefetch_far / cbook_prefetch_near.
        var far = LookaheadCursor(), near = LookaheadCursor()
        for _ in 0..<ITCHReplay.farDistance { far.advance(base, size) { cbook_prefetch_far(kernel, $0, $1) } }
        for _ in 0..<ITCHReplay.nearDistance { near.advance(base, size) { cbook_prefetch_near(kernel, $0, $1) } }
        var off = 0
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        var untilProgress = 1 << 20
        while true {
            let r = cw_dayfile_next(base, size, &off, &msg, &len)
            guard r == CW_FRAME_MSG, let m = msg else {
                if r == CW_FRAME_TRUNCATED { truncatedAt = off }
                break
            }
            far.advance(base, size) { cbook_prefetch_far(kernel, $0, $1) }
            near.advance(base, size) { cbook_prefetch_near(kernel, $0, $1) }
            handle(m, len, into: &sink)
            untilProgress &-= 1
            if untilProgress == 0, let progress {
                untilProgress = 1 << 20
                progress(off)
            }
        }
        bytesWalked += off
        if let m = msg, cw_itch_valid(m, Int(len)) != 0 { lastTimestamp = Timestamp(nanoseconds: cw_itch_timestamp(m)) }
    }

    /// Messages ahead of the applied one at which order slots, then books, are prefetched.
    @usableFromInline static let farDistance = 16
    @usableFromInline static let nearDistance = 6
}

/// A framing cursor that runs ahead of the replay to issue prefetches; stops at the end or at a broken record.
@usableFromInline struct LookaheadCursor {
    @usableFromInline var off = 0
    @usableFromInline init() {}

    @inlinable @inline(__always)
    mutating func advance(_ base: UnsafePointer<UInt8>, _ size: Int, _ hint: (UnsafePointer<UInt8>, UInt16) -> Void) {
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        if cw_dayfile_next(base, size, &off, &msg, &len) == CW_FRAME_MSG, let m = msg { hint(m, len) }
    }
}
