import OmniFeed
import OmniNet

/// The market data of a trading run: each receive step applies what arrived to the books
/// (through a listener whose sink marks the `board`) and stamps the board with the receive TSC
/// of the first batch that changed a book, where tick-to-trade starts. The loop's runner steps
/// it once per pass; which receive path it uses is its own affair.
public protocol TradingFeed: ~Copyable {
    var board: QuoteBoard { get }
    /// Monotonic ns of the last packet or heartbeat received (0: none yet): the stale-feed trigger.
    var lastPacketNs: UInt64 { get }
    /// The MoldUDP64 session declared a gap lost: the books no longer match the market.
    var isStale: Bool { get }
    /// What the feed took, lost and fell behind by, so far.
    var health: FeedHealth { get }
    /// One receive step over every line and the retransmission socket; returns the datagrams taken.
    mutating func step() throws -> Int
    /// Nothing arrived for a while: waits at most `ns` for the feed (a busy-polled path returns at once).
    mutating func idle(ns: UInt64)
}

/// A MoldUDP64 feed on kernel sockets (recvmmsg) or io_uring: line A, line B when there is one,
/// and the retransmission server.
public struct MoldFeed<Backend: ReceiveBackend & ~Copyable>: TradingFeed, ~Copyable {
    public var listener: MoldListener<BoardSink>
    var lineA: MulticastReceiver<Backend>
    var lineB: MulticastReceiver<Backend>?
    var none: NoReceive
    public let board: QuoteBoard

    /// `open` makes a line's receiver on the chosen path.
    public init(listener: consuming MoldListener<BoardSink>, board: QuoteBoard, lineA: MulticastGroup, lineB: MulticastGroup?,
                open: (MulticastGroup) throws(NetError) -> MulticastReceiver<Backend>) throws(NetError) {
        let a = try open(lineA)
        var b: MulticastReceiver<Backend>?
        if let g = lineB { b = try open(g) }
        self.listener = listener
        self.board = board
        self.lineA = a
        self.lineB = b
        none = NoReceive(label: lineA)
    }

    public var lastPacketNs: UInt64 { listener.counters.lastBatchNs }
    public var isStale: Bool { listener.session.state == .stale }
    public var health: FeedHealth { listener.health }

    public mutating func step() throws -> Int {
        var n = listener.stampBoard(after: try listener.drain(&lineA.backend, line: .a))
        if lineB != nil {
            n += listener.stampBoard(after: try listener.drain(&lineB!.backend, line: .b))
        } else {
            n += try listener.drain(&none, line: .b)
        }
        return n + (try listener.finishTradingStep())
    }

    public mutating func idle(ns: UInt64) { _ = try? lineA.backend.wait(timeoutNanoseconds: ns) }
}

extension MoldListener where Sink == BoardSink {
    /// After a drain that took `n` datagrams: when any, the board keeps their batch's receive TSC
    /// (if no earlier batch of the pass changed a book). Returns `n`.
    @inline(__always) public mutating func stampBoard(after n: Int) -> Int {
        if n > 0 { consumer.itch.sink.board.stamp(batchTSC: counters.lastBatchTSC) }
        return n
    }

    /// Every receive path's end of step: the retransmission server's answers (stamped as the lines
    /// are) and the session's timers. Returns the datagrams taken.
    public mutating func finishTradingStep() throws -> Int {
        let r = stampBoard(after: try drainRetransmissions())
        poll()
        return r
    }
}

/// A trading run's feed in numbers: for the status line, the summary and whoever watches the run.
public struct FeedHealth: Sendable, Equatable {
    /// Datagrams received on every line and from the retransmission server.
    public var packets: UInt64 = 0
    /// Messages delivered in sequence to the books.
    public var delivered: UInt64 = 0
    /// Gaps seen; filled by the other line, late, or by retransmission; declared lost.
    public var gapsOpened: UInt64 = 0, gapsFilled: UInt64 = 0, gapsLost: UInt64 = 0
    /// Receive batches, and those that came back full (more was waiting: the loop was behind).
    public var batches: UInt64 = 0, fullBatches: UInt64 = 0
    /// Monotonic ns of the first and the last packet (0: none yet).
    public var firstPacketNs: UInt64 = 0, lastPacketNs: UInt64 = 0
    public init() {}

    /// Messages per second between the first and the last packet (0 before two packets).
    public var messagesPerSecond: Double {
        lastPacketNs > firstPacketNs ? Double(delivered) * 1e9 / Double(lastPacketNs - firstPacketNs) : 0
    }
}

extension MoldListener {
    public var health: FeedHealth {
        var h = FeedHealth()
        let c = session.counters
        h.packets = counters.datagrams.reduce(0, &+)
        h.delivered = c.delivered
        h.gapsOpened = c.gapsOpened
        h.gapsFilled = c.gapsFilledByOtherLine + c.gapsFilledLate + c.gapsFilledByRetransmission
        h.gapsLost = c.gapsLost
        h.batches = counters.batches
        h.fullBatches = counters.fullBatches
        h.firstPacketNs = counters.firstBatchNs
        h.lastPacketNs = counters.lastBatchNs
        return h
    }
}
