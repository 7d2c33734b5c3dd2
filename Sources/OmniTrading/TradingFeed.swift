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
