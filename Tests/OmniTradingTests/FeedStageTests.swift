import CSys
import Foundation
import OmniEngine
@testable import OmniTrading
import Testing

/// A feed whose every receive step (up to `steps`) changes the touch of locates 1...`instruments`;
/// step k sets locate l to bid 1_000_000 + k × 1_000 + l, ask 100 above. `failAt`: the step that throws.
struct ScriptedFeed: TradingFeed {
    let board: QuoteBoard
    let instruments: Int
    let steps: Int
    var failAt = Int.max
    var taken = 0

    static func bid(step: Int, locate: Int) -> UInt32 { UInt32(1_000_000 + step * 1_000 + locate) }

    var lastPacketNs: UInt64 { UInt64(taken) }
    var isStale: Bool { false }
    var health: FeedHealth { var h = FeedHealth(); h.packets = UInt64(taken); return h }

    mutating func step() throws -> Int {
        guard taken < steps else { return 0 }
        taken += 1
        if taken == failAt { throw ScriptedFailure() }
        for l in 1...instruments {
            let bid = Self.bid(step: taken, locate: l)
            board.mark(UInt16(l), bid: bid, ask: bid + 100)
        }
        board.stamp(batchTSC: UInt64(taken))
        return 1
    }

    mutating func idle(ns: UInt64) {}
}

struct ScriptedFailure: Error, CustomStringConvertible {
    var description: String { "line A: scripted failure" }
}

/// The feed of a split placement as an engine source stage (`FeedStage`): its ring under
/// `full: block`, its stop, its failure.
@Suite struct FeedStageTests {
    /// A consumer that does not read: the feed stage fills the ring and waits (counted), losing
    /// nothing; once the consumer drains, every touch arrives — one per instrument per step, the
    /// last step's last — and the stage stops and joins.
    @Test func aFullRingIsWaitedOnCountedAndLosesNoTouch() throws {
        let (instruments, steps) = (20, 50)
        let ring = try EventRing(capacity: 8)
        let watch = FeedWatch()
        let feed = ScriptedFeed(board: QuoteBoard(locates: 64), instruments: instruments, steps: steps)
        let stage = FeedStage(feed, ring: ring, watch: watch, core: nil, wait: .backoff)
        defer { stage.stop() }
        try stage.start()

        // Not read: the ring fills and the feed waits on it, counted.
        let end = csys_monotonic_ns() + 10_000_000_000
        while stage.control.fullWaits == 0 && csys_monotonic_ns() < end { usleep(1_000) }
        #expect(stage.control.fullWaits > 0)
        #expect(ring.count == ring.capacity)
        #expect(stage.control.dropped == 0)

        // Drained: every touch arrives, in order, none dropped.
        let board = QuoteBoard(locates: 64)
        var touches = RingFeed(board: board, ring: ring, watch: watch) {}
        var received = 0
        func settled() -> Bool {
            (1...instruments).allSatisfy { board.touch(UInt16($0)).bid == ScriptedFeed.bid(step: steps, locate: $0) }
        }
        while (received < instruments * steps || !settled()) && csys_monotonic_ns() < end {
            let n = try touches.step()
            received += n
            if n == 0 { usleep(100) }
        }
        #expect(received == instruments * steps)
        for l in 1...instruments {
            let bid = ScriptedFeed.bid(step: steps, locate: l)
            #expect(board.touch(UInt16(l)) == (bid, bid + 100), "locate \(l)")
        }
        #expect(board.batchTSC == 1) // the first changing step's stamp, as the trading thread keeps it
        #expect(stage.control.dropped == 0 && stage.control.fullWaits > 0)
        #expect(watch.health.packets == UInt64(steps))

        stage.stop()
        #expect(stage.control.isFinished)
    }

    /// The run ends while the feed waits on a full ring nobody reads: stop still ends the stage
    /// and joins its thread.
    @Test func stopEndsAFeedWaitingOnAFullRing() throws {
        let ring = try EventRing(capacity: 4)
        let stage = FeedStage(ScriptedFeed(board: QuoteBoard(locates: 16), instruments: 8, steps: 1_000), ring: ring, watch: FeedWatch(),
                              core: nil, wait: .backoff)
        try stage.start()
        let end = csys_monotonic_ns() + 10_000_000_000
        while stage.control.fullWaits == 0 && csys_monotonic_ns() < end { usleep(1_000) }
        #expect(stage.control.fullWaits > 0)
        stage.stop()
        #expect(stage.control.isFinished)
    }

    /// A receive step that throws ends the stage and reaches the trading thread as
    /// FeedThreadFailure, naming the error; the touches before it were delivered.
    @Test func aFailedReceiveStepReachesTheTradingThread() throws {
        let ring = try EventRing(capacity: 64)
        let watch = FeedWatch()
        let stage = FeedStage(ScriptedFeed(board: QuoteBoard(locates: 16), instruments: 2, steps: 10, failAt: 3), ring: ring, watch: watch,
                              core: nil, wait: .backoff)
        defer { stage.stop() }
        try stage.start()
        let end = csys_monotonic_ns() + 10_000_000_000
        while !stage.control.isFinished && csys_monotonic_ns() < end { usleep(1_000) }
        #expect(stage.control.isFinished)
        #expect(ring.count == 4) // steps 1 and 2, two instruments each
        var touches = RingFeed(board: QuoteBoard(locates: 16), ring: ring, watch: watch) {}
        let error = #expect(throws: FeedThreadFailure.self) { _ = try touches.step() }
        #expect(error?.description == "the feed thread stopped: line A: scripted failure")
    }
}
