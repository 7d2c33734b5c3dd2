import CEvent
import CRing
import CSys
import OmniEngine
import Synchronization

/// Where `omni run`'s two stages run, from a topology file (OmniEngine's format): `feed`
/// (receive steps, MoldUDP64, ITCH, books) and `trading` (strategy, risk, orders, gateway),
/// joined by one ring `feed -> trading`. On one core: one thread, run to completion (the
/// default). On two: the feed's own thread hands each changed instrument's touch to the trading
/// thread through the ring (`FeedThread`, `RingFeed`), so a burst's books are applied while the
/// trading core sends.
public struct RunPlacement: Sendable, Equatable {
    public var feedCore: Int
    public var tradingCore: Int
    public var ringCapacity: Int
    public var split: Bool { feedCore != tradingCore }

    public init(feedCore: Int, tradingCore: Int, ringCapacity: Int = 4096) {
        self.feedCore = feedCore; self.tradingCore = tradingCore; self.ringCapacity = ringCapacity
    }

    static let expected = ["feed", "trading"]

    /// The placement a validated topology gives; refused unless it has exactly the stages `feed`
    /// and `trading` and one plain ring from the first to the second.
    public init(_ t: Topology) throws(TopologyError) {
        guard Set(t.stages.map(\.name)) == Set(Self.expected), t.stages.count == 2,
              let f = t.stages.first(where: { $0.name == "feed" }), let x = t.stages.first(where: { $0.name == "trading" }) else {
            throw .notAChain(expected: Self.expected, reason: "omni run's stages are feed and trading, found \(t.stages.map(\.name))")
        }
        guard t.rings.count == 1, let r = t.rings.first, r.producers == ["feed"], r.to == "trading", !r.feedback, r.port == "out" else {
            throw .notAChain(expected: Self.expected, reason: "omni run wants one ring, from feed to trading (no feedback, port out)")
        }
        self.init(feedCore: f.core, tradingCore: x.core, ringCapacity: r.capacity)
    }
}

/// What the feed thread tells the trading thread besides the touches: the feed's health and
/// staleness (relaxed atomics: each value is read whole, the set need not be one instant), its
/// error if a receive step failed, and the stop request.
public final class FeedWatch: Sendable {
    let lastPacketNs = Atomic<UInt64>(0), firstPacketNs = Atomic<UInt64>(0)
    let packets = Atomic<UInt64>(0), delivered = Atomic<UInt64>(0)
    let gapsOpened = Atomic<UInt64>(0), gapsFilled = Atomic<UInt64>(0), gapsLost = Atomic<UInt64>(0)
    let batches = Atomic<UInt64>(0), fullBatches = Atomic<UInt64>(0)
    let stale = Atomic<Bool>(false)
    /// Steps whose changes did not all fit the ring: the rest stayed on the feed's board, to be
    /// sent with the next step's (coalesced: the trading thread gets the latest touch).
    let ringFull = Atomic<UInt64>(0)
    let stopping = Atomic<Bool>(false), ended = Atomic<Bool>(false)
    let failure = Mutex<String?>(nil) // taken once, when a receive step fails: not on the hot path

    public init() {}

    func publish(_ h: FeedHealth, stale s: Bool) {
        lastPacketNs.store(h.lastPacketNs, ordering: .relaxed); firstPacketNs.store(h.firstPacketNs, ordering: .relaxed)
        packets.store(h.packets, ordering: .relaxed); delivered.store(h.delivered, ordering: .relaxed)
        gapsOpened.store(h.gapsOpened, ordering: .relaxed); gapsFilled.store(h.gapsFilled, ordering: .relaxed)
        gapsLost.store(h.gapsLost, ordering: .relaxed)
        batches.store(h.batches, ordering: .relaxed); fullBatches.store(h.fullBatches, ordering: .relaxed)
        stale.store(s, ordering: .relaxed)
    }

    public var health: FeedHealth {
        var h = FeedHealth()
        h.lastPacketNs = lastPacketNs.load(ordering: .relaxed); h.firstPacketNs = firstPacketNs.load(ordering: .relaxed)
        h.packets = packets.load(ordering: .relaxed); h.delivered = delivered.load(ordering: .relaxed)
        h.gapsOpened = gapsOpened.load(ordering: .relaxed); h.gapsFilled = gapsFilled.load(ordering: .relaxed)
        h.gapsLost = gapsLost.load(ordering: .relaxed)
        h.batches = batches.load(ordering: .relaxed); h.fullBatches = fullBatches.load(ordering: .relaxed)
        return h
    }

    /// Steps that found the ring too full for all their changes.
    public var ringFullSteps: UInt64 { ringFull.load(ordering: .relaxed) }
}

/// The feed on its own pinned thread: receive steps (socket or io_uring, as on one core), then
/// every instrument whose touch changed goes to the trading thread as one OMNI_EV_BBO event
/// carrying the receive TSC of the step's first changing batch (`rx_tsc`: tick-to-trade starts
/// there, the ring's crossing inside it).
public final class FeedThread<F: TradingFeed & ~Copyable>: @unchecked Sendable {
    var feed: F // this thread's alone once started
    let ring: EventRing
    let watch: FeedWatch
    var thread: PinnedThread?

    /// Takes the feed (its books and board): from `start` on, only the feed thread steps it.
    public init(_ feed: consuming F, ring: EventRing, watch: FeedWatch) {
        self.feed = feed; self.ring = ring; self.watch = watch
    }

    public func start(core: Int) throws(EngineError) {
        thread = try PinnedThread(name: "omni-feed", core: core) { [self] _ in run() }
    }

    /// Asks the thread to end and waits for it.
    public func stop() {
        watch.stopping.store(true, ordering: .relaxed)
        thread?.join()
    }

    func run() {
        var idle = 0
        while !watch.stopping.load(ordering: .relaxed) {
            let n: Int
            do { n = try feed.step() } catch {
                watch.failure.withLock { $0 = "\(error)" }
                break
            }
            if feed.board.pending > 0 { handOver() }
            if n > 0 {
                watch.publish(feed.health, stale: feed.isStale)
                idle = 0
            } else {
                idle += 1
                if idle & 63 == 0 { feed.idle(ns: 200_000) }
            }
        }
        watch.ended.store(true, ordering: .releasing)
    }

    /// The board's changes into the ring, as many as fit; the rest wait on the board for the next step.
    func handOver() {
        let board = feed.board
        var slots: UnsafeMutableRawPointer?
        let want = UInt32(board.changedCount)
        let n = cring_spsc_claim(ring.raw, want, &slots)
        guard n > 0, let base = slots else { watch.ringFull.add(1, ordering: .relaxed); return }
        let tsc = board.batchTSC
        for i in 0..<Int(n) {
            let locate = board.changed[i]
            board.dirty[Int(locate)] = false
            let e = (base + i * MemoryLayout<omni_event>.stride).assumingMemoryBound(to: omni_event.self)
            e.pointee = omni_event()
            e.pointee.type = UInt8(OMNI_EV_BBO.rawValue)
            e.pointee.locate = locate
            e.pointee.rx_tsc = tsc
            let (bid, ask) = board.touch(locate)
            e.pointee.bbo.bid_px = bid
            e.pointee.bbo.ask_px = ask
        }
        cring_spsc_publish(ring.raw, n)
        board.dropFirstChanges(Int(n))
        if n < want { watch.ringFull.add(1, ordering: .relaxed) }
    }
}

/// The trading thread's side of a split placement: a `TradingFeed` whose receive step takes the
/// feed thread's BBO events from the ring onto its own board.
public struct RingFeed: TradingFeed, ~Copyable {
    public let board: QuoteBoard
    let ring: EventRing
    let watch: FeedWatch
    var startFeed: (() throws -> Void)?

    /// `start` starts the feed thread, at the first receive step: by then the order entry is up and
    /// the loop about to run, so no touch waits in the ring while it connects.
    public init(board: QuoteBoard, ring: EventRing, watch: FeedWatch, start: @escaping () throws -> Void) {
        self.board = board; self.ring = ring; self.watch = watch; startFeed = start
    }

    public var lastPacketNs: UInt64 { watch.lastPacketNs.load(ordering: .relaxed) }
    public var isStale: Bool { watch.stale.load(ordering: .relaxed) }
    public var health: FeedHealth { watch.health }

    public mutating func step() throws -> Int {
        if let start = startFeed { startFeed = nil; try start() }
        if watch.ended.load(ordering: .acquiring), let why = watch.failure.withLock({ $0 }) { throw FeedThreadFailure(reason: why) }
        var slots: UnsafeRawPointer?
        let n = cring_spsc_peek(ring.raw, 512, &slots)
        guard n > 0, let base = slots else { return 0 }
        for i in 0..<Int(n) {
            let e = (base + i * MemoryLayout<omni_event>.stride).assumingMemoryBound(to: omni_event.self)
            board.mark(e.pointee.locate, bid: e.pointee.bbo.bid_px, ask: e.pointee.bbo.ask_px)
            board.stamp(batchTSC: e.pointee.rx_tsc)
        }
        cring_spsc_release(ring.raw, n)
        return Int(n)
    }

    /// The trading thread busy-polls the ring: it has nothing else to wait on.
    public mutating func idle(ns: UInt64) {}
}

/// The feed thread's receive step failed (the socket's error, as it said it).
public struct FeedThreadFailure: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the feed thread stopped: \(reason)" }
}
