// The trading path in process, no socket (issue 12 item 8):
//
//   trading-pass-ouch-encoded  book change -> strategy -> risk -> order encoded. One iteration =
//                              one book change (the touch of one instrument alternates between
//                              two prices a tick apart, so every pass requotes: a replace on both
//                              sides) and one `TradingLoop.pass`: InventorySkewQuoter, PreTradeCheck
//                              (CRisk) on each replace, the ledger, and `EncodingOrderEntry`, which
//                              writes each request as the SoupBinTCP Unsequenced Data packet
//                              carrying the OUCH 4.2 Replace Order (Enter Order on the first
//                              pass) into a preallocated buffer with CWire's encoders
//                              (cw_soup_put_header, cw_ouch_put_enter / _replace / _cancel, the
//                              ones OuchClient uses) and OuchOrderEntry.token; `flush` discards
//                              the bytes. The venue's answers (Replaced / Accepted / Canceled) are
//                              answered in process as CEvent events from the request and applied
//                              by the same pass's poll (ledger and risk), so the next pass may
//                              replace again.
//   risk-check-new-order       PreTradeCheck.check of one new order that passes every check, with
//                              every instrument and strategy limit configured; the order's
//                              Rejected answer (which takes it off risk's working counts) and the
//                              next BBO are applied outside the measured region.
//
// Both: warm-up iterations unmeasured, then each iteration measured on its own (wall clock and
// mallocCountTotal per iteration, from the framework), plus the measured call alone timed with
// the TSC (`pass ns (tsc)`, `check ns (tsc)`). Any malloc inside the measured call after the
// warm-up fails the process (as Matching and the ITCHReplay steady state do); the static
// thresholds Thresholds/Trading.*.p90.json hold mallocCountTotal at 0 for `thresholds check`.
//
// What is not OuchOrderEntry itself: OuchOrderEntry.submit writes through its OuchClient's
// SoupBinTCP link (it refuses when not connected), so `EncodingOrderEntry` calls the same
// request -> message mapping (OuchOrderEntry.enter / .replace / .token) and CWire encoders into
// a buffer instead.

import Benchmark
import CEvent
import CSys
import CWire
import OmniBook
import OmniCore
import OmniGateway
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniWire

#if canImport(MallocInterposerSwift)
import MallocInterposerSwift
#endif

#if canImport(Glibc)
import Glibc
#endif

let passNs = BenchmarkMetric.custom("pass ns (tsc)", polarity: .prefersSmaller, useScalingFactor: false)
let checkNs = BenchmarkMetric.custom("check ns (tsc)", polarity: .prefersSmaller, useScalingFactor: false)
let bytesPerPass = BenchmarkMetric.custom("OUCH bytes per pass", polarity: .prefersSmaller, useScalingFactor: false)
let requestsPerPass = BenchmarkMetric.custom("requests per pass", polarity: .prefersSmaller, useScalingFactor: false)

func fail(_ s: String) -> Never {
    var t = "error: " + s + "\n"
    t.withUTF8 { u in _ = write(2, u.baseAddress, u.count) }
    exit(EXIT_FAILURE)
}

@inline(__always) func mallocCount() -> Int {
    #if canImport(MallocInterposerSwift)
    return MallocInterposerSwift.getStatistics().mallocCount
    #else
    return 0
    #endif
}

/// An OrderEntry that encodes each request as the OUCH 4.2 bytes OuchOrderEntry would send
/// (inside a SoupBinTCP Unsequenced Data header) into a preallocated buffer, discards them at
/// `flush`, and answers each request at once as the venue would (Accepted, Replaced, Canceled).
final class EncodingOrderEntry: OrderEntry {
    let buffer: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var used = 0
    /// Bytes encoded and discarded so far, and by the last flush.
    var encoded = 0, lastFlushBytes = 0
    let answers = EventQueue(capacity: 1 << 12)
    let slots: Int
    let replaces: UnsafeMutablePointer<UInt16>
    /// An Enter Order per locate with its stock and firm filled in (built once, off the hot path).
    let templates: UnsafeMutablePointer<cw_ouch_enter>
    let locates: Int

    init(symbols: [UInt16: String], locates: Int, orderSlots: Int, capacity: Int = 1 << 16) {
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
        buffer.initialize(repeating: 0, count: capacity)
        slots = orderSlots
        replaces = .allocate(capacity: orderSlots); replaces.initialize(repeating: 0, count: orderSlots)
        self.locates = locates
        templates = .allocate(capacity: locates); templates.initialize(repeating: cw_ouch_enter(), count: locates)
        for (l, stock) in symbols where Int(l) < locates {
            templates[Int(l)] = .limit(token: "", stock: stock, side: "B", shares: 0, price: 0, firm: "OMNI")
        }
    }

    deinit { buffer.deallocate(); replaces.deallocate(); templates.deallocate() }

    /// One Unsequenced Data packet whose payload `encode` writes (0: it did not fit).
    @inline(__always) func packet(max: Int, _ encode: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> Bool {
        guard capacity - used >= max + 3 else { return false }
        let p = buffer + used
        let n = encode(p + 3, max)
        guard n > 0 else { return false }
        _ = cw_soup_put_header(p, 3, UInt8(ascii: "U"), n)
        used += n + 3
        return true
    }

    func submit(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        let s = Int(omni_order_slot(o.client_order_id))
        guard s < slots else { return false }
        var answer = copy request
        switch Int32(request.type) {
        case Int32(OMNI_EV_ORDER_NEW.rawValue):
            guard Int(request.locate) < locates, templates[Int(request.locate)].stock.0 != 0 else { return false }
            var e = OuchOrderEntry.enter(templates[Int(request.locate)], request)
            replaces[s] = 0
            guard packet(max: Int(CW_OUCH_ENTER_LEN), { cw_ouch_put_enter($0, $1, &e) }) else { return false }
            answer.type = UInt8(OMNI_EV_ORDER_ACCEPTED.rawValue)
        case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
            var t = OuchOrderEntry.token(o.client_order_id, replaces: replaces[s])
            guard packet(max: Int(CW_OUCH_CANCEL_LEN), { cw_ouch_put_cancel($0, $1, &t, o.qty) }) else { return false }
            answer.type = UInt8(OMNI_EV_ORDER_CANCELED.rawValue)
            answer.order.qty = 0
        case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
            var r = OuchOrderEntry.replace(request, replaces: replaces[s])
            guard packet(max: Int(CW_OUCH_REPLACE_LEN), { cw_ouch_put_replace($0, $1, &r) }) else { return false }
            replaces[s] &+= 1 // the venue's Replaced is given at once
            answer.type = UInt8(OMNI_EV_ORDER_REPLACED.rawValue)
        default:
            return false
        }
        answers.push(answer)
        return true
    }

    func flush() {
        lastFlushBytes = used
        encoded &+= used
        used = 0 // discarded: no socket
    }

    @discardableResult
    func poll(_ body: (inout omni_event) -> Void) -> Int { answers.drain(body) }
}

/// The loop, its board sink and the clock it is driven by, built once (not per iteration).
final class PassBench {
    typealias Loop = TradingLoop<EncodingOrderEntry, InventorySkewQuoter>
    let entry: EncodingOrderEntry
    let loop: Loop
    var sink: BoardSink
    var now: UInt64 = 34_200_000_000_000
    var up = false
    let locate: UInt16 = 1

    init() throws {
        entry = EncodingOrderEntry(symbols: [1: "AAPL"], locates: 16, orderSlots: 1 << 10)
        // Every limit configured, none binding: the quotes are 100 shares a side inside a 1,000
        // share position limit; message rates above the passes' rate (now advances 1 ms a pass,
        // two replaces a pass = 2,000 messages/s per instrument and strategy).
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: 100_000_000)
        rc.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000,
                                                  collarBasisPoints: 100, messageBurst: 1_000, messagesPerSecond: 10_000)
        rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000, messageBurst: 1_000, messagesPerSecond: 10_000)
        let board = QuoteBoard(locates: 16)
        loop = TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 10, strategies: 2, locates: 16)),
                           risk: try PreTradeCheck(rc), board: board,
                           strategy: InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: 100, maxPosition: 500))
        loop.quote(locate)
        sink = BoardSink(board: board)
    }

    /// The book change: the touch alternates between 199.0000/199.0200 and 199.0100/199.0300.
    @inline(__always) func bookChange() {
        up.toggle()
        let bid: Int64 = up ? 1_990_100 : 1_990_000
        sink.bboChanged(locate, BBO(bidPrice: Price(raw: bid), bidSize: 100, askPrice: Price(raw: bid + 200), askSize: 100))
        now &+= 1_000_000
    }

    @inline(__always) func pass() { loop.pass(now: now) }
}

/// One new order that passes every check, and the answer that takes it off risk's books again.
final class RiskBench {
    let risk: PreTradeCheck
    var now: UInt64 = 34_200_000_000_000
    var next: UInt64 = 1
    var order = omni_event()

    init() throws {
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 16, maxDailyLoss: 100_000_000)
        rc.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
        rc.strategyLimits[1] = StrategyLimits(maxLong: 1_000, maxShort: 1_000)
        risk = try PreTradeCheck(rc)
        order.type = UInt8(OMNI_EV_ORDER_NEW.rawValue)
        order.locate = 1
        order.order.strategy = 1
        order.order.side = UInt8(OMNI_SIDE_BUY)
        order.order.price = 1_990_000
        order.order.qty = 100
    }

    /// Outside the measured region: time moves 10 ms (the default 100 messages/s bucket gets its
    /// token back; the 1 ms duplicate window has passed), the touch is fresh, a new client order id.
    @inline(__always) func prepare() {
        now &+= 10_000_000
        risk.onBBO(locate: 1, bid: 1_990_000, ask: 1_990_200, now: now)
        next &+= 1
        if next >= 1 << 16 { next = 1 }
        order.order.client_order_id = next
    }

    /// Outside the measured region: the venue's Rejected takes the order off the working counts.
    @inline(__always) func answer() {
        var e = order
        e.type = UInt8(OMNI_EV_ORDER_REJECTED.rawValue)
        _ = risk.onEvent(e, now: now)
    }
}

let warmUp = 10_000

let benchmarks: @Sendable () -> Void = {
    var clock = csys_clock()
    _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 20)
    let tsc = clock

    Benchmark(
        "trading-pass-ouch-encoded",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, passNs, bytesPerPass, requestsPerPass], scalingFactor: .one,
                             maxDuration: .seconds(5), maxIterations: 200_000,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let b = state.pass
        if !state.passWarm {
            for _ in 0..<warmUp { b.bookChange(); b.pass() }
            state.passWarm = true
            if b.loop.counters.refusedByRisk != 0 || b.loop.counters.notSent != 0 {
                fail("trading-pass-ouch-encoded: warm-up refused \(b.loop.counters.refusedByRisk) by risk, \(b.loop.counters.notSent) not sent (last reason \(b.loop.lastRefusal))")
            }
        }
        let requests0 = b.loop.counters.requests
        b.bookChange()
        benchmark.startMeasurement()
        let m0 = mallocCount()
        let t0 = csys_tsc_begin()
        b.pass()
        let t1 = csys_tsc_end()
        let m1 = mallocCount()
        benchmark.stopMeasurement()
        let requests = b.loop.counters.requests - requests0
        withUnsafePointer(to: tsc) { c in benchmark.measurement(passNs, Int(csys_clock_ns(c, t1 &- t0))) }
        benchmark.measurement(bytesPerPass, b.entry.lastFlushBytes)
        benchmark.measurement(requestsPerPass, Int(requests))
        if m1 != m0 { fail("trading-pass-ouch-encoded: \(m1 - m0) mallocs in one pass after \(warmUp) warm-up passes") }
        if requests != 2 || b.loop.counters.refusedByRisk != 0 || b.loop.counters.notSent != 0 {
            fail("trading-pass-ouch-encoded: the pass sent \(requests) requests (2 replaces expected), refused by risk \(b.loop.counters.refusedByRisk), not sent \(b.loop.counters.notSent)")
        }
    }

    Benchmark(
        "risk-check-new-order",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, checkNs], scalingFactor: .one,
                             maxDuration: .seconds(5), maxIterations: 200_000,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let r = state.risk
        if !state.riskWarm {
            for _ in 0..<warmUp {
                r.prepare()
                guard r.risk.check(r.order, now: r.now) == .pass else { fail("risk-check-new-order: warm-up order refused: \(r.risk.check(r.order, now: r.now))") }
                r.answer()
            }
            state.riskWarm = true
        }
        r.prepare()
        benchmark.startMeasurement()
        let m0 = mallocCount()
        let t0 = csys_tsc_begin()
        let verdict = r.risk.check(r.order, now: r.now)
        let t1 = csys_tsc_end()
        let m1 = mallocCount()
        benchmark.stopMeasurement()
        r.answer()
        withUnsafePointer(to: tsc) { c in benchmark.measurement(checkNs, Int(csys_clock_ns(c, t1 &- t0))) }
        if m1 != m0 { fail("risk-check-new-order: \(m1 - m0) mallocs in one check") }
        if verdict != .pass { fail("risk-check-new-order: refused: \(verdict)") }
    }
}

/// Built once per process, on first use (the loop's constructor calibrates its clock for 20 ms).
final class State: @unchecked Sendable {
    let pass: PassBench
    let risk: RiskBench
    var passWarm = false, riskWarm = false
    init() {
        do { pass = try PassBench(); risk = try RiskBench() } catch { fail("setting up: \(error)") }
    }
}

let state = State()
