import CEvent
import CRing
import CSys
import Glibc
import OmniEngine
import Synchronization

/// Where `omni run`'s two stages run, from a topology file (OmniEngine's format): `feed`
/// (receive steps, MoldUDP64, ITCH, books) and `trading` (strategy, risk, orders, gateway),
/// joined by one ring `feed -> trading`. On one core: one thread, run to completion (the
/// default). On two: the feed runs as an engine source stage on its own core (`FeedStage`) and
/// hands each changed instrument's touch to the trading thread through the ring (`RingFeed`), so
/// a burst's books are applied while the trading core sends.
public struct RunPlacement: Sendable, Equatable {
    public var feedCore: Int
    public var tradingCore: Int
    public var ringCapacity: Int
    /// How the feed stage waits after a pass that emitted nothing (the topology's `wait` of `feed`).
    public var feedWait: WaitKind
    public var split: Bool { feedCore != tradingCore }

    public init(feedCore: Int, tradingCore: Int, ringCapacity: Int = 4096, feedWait: WaitKind = .spin) {
        self.feedCore = feedCore; self.tradingCore = tradingCore; self.ringCapacity = ringCapacity; self.feedWait = feedWait
    }

    static let expected = ["feed", "trading"]

    /// The placement a validated topology gives; refused unless it has exactly the stages `feed`
    /// and `trading` and one plain ring from the first to the second, under `full: block`.
    public init(_ t: Topology) throws(TopologyError) {
        guard Set(t.stages.map(\.name)) == Set(Self.expected), t.stages.count == 2,
              let f = t.stages.first(where: { $0.name == "feed" }), let x = t.stages.first(where: { $0.name == "trading" }) else {
            throw .notAChain(expected: Self.expected, reason: "omni run's stages are feed and trading, found \(t.stages.map(\.name))")
        }
        guard t.rings.count == 1, let r = t.rings.first, r.producers == ["feed"], r.to == "trading", !r.feedback, r.port == "out" else {
            throw .notAChain(expected: Self.expected, reason: "omni run wants one ring, from feed to trading (no feedback, port out)")
        }
        // A touch's change mark is cleared as the feed emits it: a dropped event would be a lost touch.
        guard r.full == .block else {
            throw .notAChain(expected: Self.expected, reason: "rings[0].full: \(r.full.rawValue) would lose touches; omni run's ring takes full: block (the feed waits, counted)")
        }
        self.init(feedCore: f.core, tradingCore: x.core, ringCapacity: r.capacity, feedWait: f.wait)
    }
}

/// What the feed stage tells the trading thread besides the touches: the feed's health and
/// staleness (relaxed atomics: each value is read whole, the set need not be one instant) and
/// its error if a receive step failed.
public final class FeedWatch: Sendable {
    let lastPacketNs = Atomic<UInt64>(0), firstPacketNs = Atomic<UInt64>(0)
    let packets = Atomic<UInt64>(0), delivered = Atomic<UInt64>(0)
    let gapsOpened = Atomic<UInt64>(0), gapsFilled = Atomic<UInt64>(0), gapsLost = Atomic<UInt64>(0)
    let batches = Atomic<UInt64>(0), fullBatches = Atomic<UInt64>(0)
    let stale = Atomic<Bool>(false)
    /// Set (releasing) once `failure` holds the receive step's error.
    let failed = Atomic<Bool>(false)
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

    func fail(_ reason: String) {
        failure.withLock { $0 = reason }
        failed.store(true, ordering: .releasing)
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
}

/// The feed's owner while its stage runs: from `FeedStage.start` on, only the stage's thread
/// steps it. (A class: the engine copies its source once into the stage; the feed cannot be copied.)
final class OwnedFeed<F: TradingFeed & ~Copyable> {
    @exclusivity(unchecked) var feed: F // one thread's alone: no dynamic exclusivity check per access
    init(_ feed: consuming F) { self.feed = feed }
}

/// The feed as an OmniEngine source: a receive step applies what arrived to the books (marking
/// the board), then each `next` emits one changed instrument's touch as an OMNI_EV_BBO event
/// carrying the receive TSC of the step's first changing batch (`rx_tsc`: tick-to-trade starts
/// there, the ring's crossing inside it). The next receive step comes only once the step's
/// changes are all emitted, and the pass ends there (`.idle`), so the stage publishes them at
/// once instead of after another receive step.
///
/// A full ring: the stage writes under `full: block` (the only policy `RunPlacement` takes), so
/// an emit that finds the ring full waits for the trading thread, counted in the stage's
/// `fullWaits`, and the touch is in the ring when it returns; meanwhile the feed is not stepped
/// (datagrams wait in the socket). Each touch's change mark is cleared as it is emitted, so
/// under `drop` a dropped event would be a lost touch: that policy is refused.
///
/// Hot path: `next` allocates nothing and takes no lock; a receive step that throws is written
/// to the watch once (under its mutex) and the source finishes.
public struct FeedSource<F: TradingFeed & ~Copyable>: EventSource, @unchecked Sendable {
    let owner: OwnedFeed<F>
    let board: QuoteBoard
    let watch: FeedWatch
    /// The first `sent` of the board's changes are emitted (forgotten once all are).
    var sent = 0
    /// Receive steps in a row that took nothing.
    var emptySteps = 0

    public init(_ feed: consuming F, watch: FeedWatch) {
        board = feed.board
        owner = OwnedFeed(feed)
        self.watch = watch
    }

    public mutating func next(_ event: inout omni_event) -> SourcePoll {
        if sent == board.changedCount {
            if sent > 0 { // the step's changes are all emitted: end the pass, so the stage publishes them now
                board.dropFirstChanges(sent)
                sent = 0
                return .idle
            }
            let n: Int
            do { n = try owner.feed.step() } catch {
                watch.fail("\(error)")
                return .finished
            }
            if n > 0 {
                watch.publish(owner.feed.health, stale: owner.feed.isStale)
                emptySteps = 0
            } else {
                emptySteps &+= 1
                if emptySteps & 63 == 0 { owner.feed.idle(ns: 200_000) } // the receive path's own wait (a socket poll)
            }
            if board.changedCount == 0 { return .idle }
        }
        let locate = board.changed[sent]
        board.dirty[Int(locate)] = false
        let (bid, ask) = board.touch(locate)
        event = omni_event()
        event.type = UInt8(OMNI_EV_BBO.rawValue)
        event.locate = locate
        event.rx_tsc = board.batchTSC
        event.bbo.bid_px = bid
        event.bbo.ask_px = ask
        sent &+= 1
        return .produced
    }
}

/// The feed stage of a split placement: a `FeedSource` run by OmniEngine (a pipeline of one
/// source stage, `feed`, on its pinned core) writing the feed -> trading ring under `full: block`.
public final class FeedStage: @unchecked Sendable {
    let pipeline = Pipeline()
    let ring: EventRing
    /// The stage's heartbeat and counters: `fullWaits` counts the emits that found the ring full.
    public let control: StageControl
    var started = false

    /// Takes the feed (its books and board): from `start` on, only the stage's thread steps it.
    /// `core` nil: not pinned.
    public init<F: TradingFeed & ~Copyable>(_ feed: consuming F, ring: EventRing, watch: FeedWatch, core: Int?, wait: WaitKind = .spin) {
        self.ring = ring
        control = pipeline.addSource(name: "feed", core: core, output: ring, source: FeedSource(feed, watch: watch), wait: wait, full: .block)
    }

    public func start() throws(EngineError) {
        try pipeline.start()
        started = true
    }

    /// Stops the stage and joins its thread. Called by the ring's consumer (the trading thread),
    /// which reads no more: what the ring still holds is released unread, so a feed waiting on a
    /// full ring gets its room, sees the stop and ends.
    public func stop() {
        if started {
            control.requestStop()
            while !control.isFinished {
                var slots: UnsafeRawPointer?
                let n = cring_spsc_peek(ring.raw, UInt32(ring.capacity), &slots)
                if n > 0 { cring_spsc_release(ring.raw, n) } else { sched_yield() }
            }
            started = false
        }
        pipeline.stop()
    }
}

/// The trading thread's side of a split placement: a `TradingFeed` whose receive step takes the
/// feed stage's BBO events from the ring onto its own board.
public struct RingFeed: TradingFeed, ~Copyable {
    public let board: QuoteBoard
    let ring: EventRing
    let watch: FeedWatch
    var startFeed: (() throws -> Void)?

    /// `start` starts the feed stage, at the first receive step: by then the order entry is up and
    /// the loop about to run, so no touch waits in the ring while it connects.
    public init(board: QuoteBoard, ring: EventRing, watch: FeedWatch, start: @escaping () throws -> Void) {
        self.board = board; self.ring = ring; self.watch = watch; startFeed = start
    }

    public var lastPacketNs: UInt64 { watch.lastPacketNs.load(ordering: .relaxed) }
    public var isStale: Bool { watch.stale.load(ordering: .relaxed) }
    public var health: FeedHealth { watch.health }

    public mutating func step() throws -> Int {
        if let start = startFeed { startFeed = nil; try start() }
        if watch.failed.load(ordering: .acquiring), let why = watch.failure.withLock({ $0 }) { throw FeedThreadFailure(reason: why) }
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

/// The feed stage's receive step failed (the socket's error, as it said it).
public struct FeedThreadFailure: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the feed thread stopped: \(reason)" }
}
