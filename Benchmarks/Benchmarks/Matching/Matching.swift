// Matching engine benchmarks: one book (AAPL, tick 0.01, band ±10 %), preloaded with 4,000 resting
// orders 1..50 ticks around the mid (kept between 2,000 and 8,000 during the run), then the exchange-core benchmark mix:
//   9 % GTC limit, 3 % IOC, 6 % cancel, 82 % move (replace to a new price, same size).
// Op targets come from a live-order table kept current by the event sink (fills and cancels
// remove orders), so cancels and moves hit live orders, not stale ids.
//   matching-throughput  ops/s over the measured loop, and mallocs in it (must be 0: the
//                        benchmark fails the process otherwise)
//   matching-latency     the same loop with csys_tsc_begin/end around each op into a
//                        preallocated array; p50 / p99 / p99.9 / max in ns (exact, from the sorted
//                        samples after the measured window)
// ITCH is encoded for every state change into a counting sink (the bytes are produced, not kept).

import Benchmark
import CSys
import OmniCore
import OmniVenue

#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

#if canImport(Glibc)
import Glibc
#endif

let opsPerSecond = BenchmarkMetric.custom("ops/s", polarity: .prefersLarger, useScalingFactor: false)
let opsMeasured = BenchmarkMetric.custom("ops", polarity: .prefersSmaller, useScalingFactor: false)
let mallocsInLoop = BenchmarkMetric.custom("mallocs in loop", polarity: .prefersSmaller, useScalingFactor: false)
let p50ns = BenchmarkMetric.custom("op p50 ns", polarity: .prefersSmaller, useScalingFactor: false)
let p99ns = BenchmarkMetric.custom("op p99 ns", polarity: .prefersSmaller, useScalingFactor: false)
let p999ns = BenchmarkMetric.custom("op p99.9 ns", polarity: .prefersSmaller, useScalingFactor: false)
let mixGTC = BenchmarkMetric.custom("mix GTC permille", polarity: .prefersSmaller, useScalingFactor: false)
let mixIOC = BenchmarkMetric.custom("mix IOC permille", polarity: .prefersSmaller, useScalingFactor: false)
let mixCancel = BenchmarkMetric.custom("mix cancel permille", polarity: .prefersSmaller, useScalingFactor: false)
let mixMove = BenchmarkMetric.custom("mix move permille", polarity: .prefersSmaller, useScalingFactor: false)
let tradesMeasured = BenchmarkMetric.custom("trades", polarity: .prefersSmaller, useScalingFactor: false)
let restingAtEnd = BenchmarkMetric.custom("resting orders at end", polarity: .prefersSmaller, useScalingFactor: false)
let maxns = BenchmarkMetric.custom("op max ns", polarity: .prefersSmaller, useScalingFactor: false)

/// Live resting orders: a dense array plus each pool slot's position in it (swap-remove in O(1)).
struct LiveTable {
    let ids: UnsafeMutablePointer<OrderID>
    let position: UnsafeMutablePointer<Int32>
    var count = 0
    init(capacity: Int) {
        ids = .allocate(capacity: capacity)
        position = .allocate(capacity: capacity)
        position.initialize(repeating: -1, count: capacity)
    }
    @inline(__always) mutating func add(_ id: OrderID) {
        ids[count] = id
        position[id.poolIndex] = Int32(count)
        count += 1
    }
    @inline(__always) mutating func remove(_ id: OrderID) {
        let i = Int(position[id.poolIndex])
        guard i >= 0, ids[i] == id else { return }
        count -= 1
        let last = ids[count]
        ids[i] = last
        position[last.poolIndex] = Int32(i)
        position[id.poolIndex] = -1
    }
}

/// Keeps the live table current from the engine's events; counts trades.
struct BenchEvents: VenueEventSink {
    let live: UnsafeMutablePointer<LiveTable>
    var trades: UInt64 = 0
    var rejects: UInt64 = 0
    @inline(__always) mutating func accepted(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, _ o: NewOrder) {}
    @inline(__always) mutating func rejected(session: SessionID, tag: UInt64, order: OrderID, reason: RejectReason) { rejects &+= 1 }
    @inline(__always) mutating func executed(_ e: Execution) {
        trades &+= 1
        if e.passiveLeaves == 0 { live.pointee.remove(e.passive) }
        if e.aggressorLeaves == 0 { live.pointee.remove(e.aggressor) } // a moved order that traded out
    }
    @inline(__always) mutating func canceled(_ order: OrderID, session: SessionID, tag: UInt64, quantity: UInt32, reason: CancelReason) {
        live.pointee.remove(order)
    }
    @inline(__always) mutating func replaced(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, price: UInt32, quantity: UInt32, priorityKept: Bool) {}
}

typealias BenchVenue = Venue<BenchEvents, CountingITCHSink>

let mid: UInt32 = 2_000_000 // 200.00
let tick: UInt32 = 100
let preload = 4_000
let opsPerIteration = 2_000_000
let sessions: UInt32 = 8

final class Bench {
    let live: UnsafeMutablePointer<LiveTable>
    let venue: BenchVenue
    var rng = SeededRandom(seed: 0x9E37_79B9_7F4A_7C15)
    /// Operations done, by kind: GTC, IOC, cancel, move (to report the mix actually run).
    let mix: UnsafeMutablePointer<Int> = { let p = UnsafeMutablePointer<Int>.allocate(capacity: 4); p.initialize(repeating: 0, count: 4); return p }()

    init() {
        live = .allocate(capacity: 1)
        live.initialize(to: LiveTable(capacity: 1 << 20))
        venue = BenchVenue(instruments: [InstrumentSpec.defaults[0]],
                           config: VenueConfig(maxOrders: 1 << 20, maxSessions: Int(sessions), selfMatch: .cancelOldest),
                           events: BenchEvents(live: live), feed: CountingITCHSink())
        venue.open()
        // Preload: resting orders 1..50 ticks either side of the mid.
        for i in 0..<preload {
            let buy = i & 1 == 0
            let off = UInt32(1 + rng.next() % 50) * tick
            submitGTC(buy: buy, price: buy ? mid - off : mid + off, qty: UInt32(1 + rng.next() % 10) * 10)
        }
    }

    @inline(__always) func submitGTC(buy: Bool, price: UInt32, qty: UInt32) {
        let id = venue.submit(session: SessionID(rng.next() % UInt64(sessions)),
                              order: NewOrder(locate: 1, side: buy ? .bid : .ask, kind: .limit, price: price, quantity: qty))
        if venue.isLive(id) { live.pointee.add(id) }
    }

    /// One operation of the mix. Prices are passive 1..63 ticks from the mid, and 1 in 64 goes one
    /// tick through it (a marketable limit / a move that trades). The book is held near its preloaded
    /// size: above 2x a GTC becomes a cancel, below 1/2 a cancel becomes a GTC (rare: the mix itself is
    /// close to stationary).
    @inline(__always) func step() {
        let r = rng.next()
        let dice = r % 100
        let buy = (r >> 8) & 1 == 0
        let off = UInt32((r >> 16) & 63)
        @inline(__always) func price(_ bid: Bool) -> UInt32 {
            off == 0 ? (bid ? mid + tick : mid - tick) : (bid ? mid - off * tick : mid + off * tick)
        }
        let n = live.pointee.count
        let gtc = dice < 9 && n < 2 * preload
        let cancel = (dice < 9 && n >= 2 * preload) || (dice >= 12 && dice < 18 && n > preload / 2)
        if n == 0 || gtc || (dice >= 12 && dice < 18 && !cancel) {
            mix[0] &+= 1
            submitGTC(buy: buy, price: price(buy), qty: UInt32(1 + (r >> 32) % 10) * 10)
        } else if dice >= 9 && dice < 12 {
            mix[1] &+= 1
            let p = buy ? mid + 3 * tick : mid - 3 * tick
            venue.submit(session: SessionID((r >> 40) % UInt64(sessions)),
                         order: NewOrder(locate: 1, side: buy ? .bid : .ask, kind: .immediateOrCancel, price: p, quantity: UInt32(1 + (r >> 32) % 5) * 10))
        } else if cancel {
            mix[2] &+= 1
            let id = live.pointee.ids[Int((r >> 24) % UInt64(n))]
            venue.cancel(session: venue.session(of: id), order: id)
        } else {
            mix[3] &+= 1
            let id = live.pointee.ids[Int((r >> 24) % UInt64(n))]
            guard let o = venue.order(id) else { return }
            let isBid = venue.side(of: id) == .bid
            let p = price(isBid)
            venue.replace(session: venue.session(of: id), order: id, price: p == o.price ? (isBid ? p &- tick : p &+ tick) : p, quantity: o.quantity)
        }
    }
}

func failOnMallocs(_ mallocs: Int, _ what: String) {
    if mallocs > 0 {
        var t = "error: \(what): \(mallocs) mallocs in the measured loop\n"
        t.withUTF8 { u in _ = write(2, u.baseAddress, u.count) }
        exit(EXIT_FAILURE)
    }
}

/// Runs `body` as the measured window: records the mallocs in it (failing the run on any) and
/// returns its wall time in ns.
func measureWithoutAllocations(_ benchmark: Benchmark, _ what: String, _ body: () -> Void) -> UInt64 {
    benchmark.startMeasurement()
    #if canImport(MallocInterposerSwift)
    let before = MallocInterposerSwift.getStatistics()
    #endif
    let t0 = csys_monotonic_ns()
    body()
    let t1 = csys_monotonic_ns()
    #if canImport(MallocInterposerSwift)
    let after = MallocInterposerSwift.getStatistics()
    #endif
    benchmark.stopMeasurement()
    #if canImport(MallocInterposerSwift)
    benchmark.measurement(mallocsInLoop, after.mallocCount - before.mallocCount)
    failOnMallocs(after.mallocCount - before.mallocCount, what)
    #endif
    return t1 - t0
}

let benchmarks: @Sendable () -> Void = {
    orderFlowBenchmark()
    Benchmark(
        "matching-throughput",
        configuration: .init(metrics: [.wallClock, opsPerSecond, opsMeasured, .mallocCountTotal, mallocsInLoop, restingAtEnd, tradesMeasured, mixGTC, mixIOC, mixCancel, mixMove],
                             scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 5,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let b = Bench()
        for _ in 0..<200_000 { b.step() } // warm-up: caches, pool slots touched
        b.mix.update(repeating: 0, count: 4)
        let trades0 = b.venue.events.trades
        let ns = measureWithoutAllocations(benchmark, "matching-throughput") {
            for _ in 0..<opsPerIteration { b.step() }
        }
        benchmark.measurement(opsMeasured, opsPerIteration)
        benchmark.measurement(opsPerSecond, Int(Double(opsPerIteration) * 1e9 / Double(ns)))
        benchmark.measurement(restingAtEnd, b.venue.liveOrders)
        benchmark.measurement(tradesMeasured, Int(b.venue.events.trades - trades0))
        for (i, m) in [mixGTC, mixIOC, mixCancel, mixMove].enumerated() { benchmark.measurement(m, b.mix[i] * 1000 / opsPerIteration) }
        blackHole(b.venue.feed.messages)
        blackHole(b.venue.events.trades)
    }

    Benchmark(
        "matching-latency",
        configuration: .init(metrics: [.wallClock, p50ns, p99ns, p999ns, maxns, opsMeasured, mallocsInLoop],
                             scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 3)
    ) { benchmark in
        var clock = csys_clock()
        _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 50)
        let b = Bench()
        for _ in 0..<200_000 { b.step() }
        let samples = UnsafeMutablePointer<UInt64>.allocate(capacity: opsPerIteration)
        defer { samples.deallocate() }
        samples.initialize(repeating: 0, count: opsPerIteration)
        _ = measureWithoutAllocations(benchmark, "matching-latency") {
            for i in 0..<opsPerIteration {
                let t0 = csys_tsc_begin()
                b.step()
                samples[i] = csys_tsc_end() &- t0
            }
        }
        var sorted = UnsafeMutableBufferPointer(start: samples, count: opsPerIteration)
        sorted.sort()
        func pct(_ q: Double) -> Int { Int(csys_clock_ns(&clock, sorted[min(opsPerIteration - 1, Int(Double(opsPerIteration) * q))])) }
        benchmark.measurement(p50ns, pct(0.50))
        benchmark.measurement(p99ns, pct(0.99))
        benchmark.measurement(p999ns, pct(0.999))
        benchmark.measurement(maxns, Int(csys_clock_ns(&clock, sorted[opsPerIteration - 1])))
        benchmark.measurement(opsMeasured, opsPerIteration)
    }
}
