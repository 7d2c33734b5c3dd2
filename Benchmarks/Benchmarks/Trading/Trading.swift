// The trading path in process, no socket (issue 12 item 8):
//
//   decision-path-ouch-encoded book update -> strategy -> risk -> orders encoded: one
//                              OmniBench.DecisionPath.pass (the same pass `omni bench
//                              decision-path` times and Benchmarks/decision-path-instructions.sh
//                              counts): one ITCH message (an Add Order or its Delete, moving
//                              AAPL's mid a tick) through CWire's checks and CBook, the BBO sink,
//                              then TradingLoop.pass: InventorySkewQuoter, PreTradeCheck (CRisk)
//                              on each request, the ledger, and `EncodingOrderEntry`, which
//                              writes each request as the SoupBinTCP Unsequenced Data packet
//                              carrying the OUCH 4.2 Replace Order into a preallocated buffer with
//                              CWire's encoders (the ones OuchClient uses); `flush` discards the
//                              bytes, after taking the TSC that ends "to orders encoded". The
//                              venue's Replaced answers are then decoded by OuchAnswers, as
//                              OuchOrderEntry's are, and applied by the same pass's poll ("pass ns").
//   control-command-applied    the control plane's command in the loop: ControlPort.drain of one
//                              SET_PARAM (AAPL's spread_ticks, 2 and 3 in turn; pushed on the
//                              command ring outside the measured region) applied to
//                              DecisionPath's loop and acknowledged on the ack ring, then
//                              ControlPort.publish of the snapshot (seqlock); the pass that
//                              requotes at the new spread and the ack's pop stay outside.
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

import Benchmark
import OmniBench
import CEvent
import CRing
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
/// From the pass's start to the order entry's flush: book change -> orders encoded (the 300 ns goal).
let decisionNs = BenchmarkMetric.custom("to orders encoded ns (tsc)", polarity: .prefersSmaller, useScalingFactor: false)
let checkNs = BenchmarkMetric.custom("check ns (tsc)", polarity: .prefersSmaller, useScalingFactor: false)
let commandNs = BenchmarkMetric.custom("drain + publish ns (tsc)", polarity: .prefersSmaller, useScalingFactor: false)
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
        "decision-path-ouch-encoded",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, decisionNs, passNs, bytesPerPass, requestsPerPass], scalingFactor: .one,
                             maxDuration: .seconds(5), maxIterations: 200_000,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let d = state.path
        if !state.passWarm {
            for _ in 0..<warmUp { d.pass() }
            state.passWarm = true
            if d.loop.counters.refusedByRisk != 0 || d.loop.counters.notSent != 0 {
                fail("decision-path-ouch-encoded: warm-up refused \(d.loop.counters.refusedByRisk) by risk, \(d.loop.counters.notSent) not sent (last reason \(d.loop.lastRefusal))")
            }
        }
        let requests0 = d.loop.counters.requests
        benchmark.startMeasurement()
        let m0 = mallocCount()
        let t0 = csys_tsc_begin()
        d.pass()
        let t1 = csys_tsc_end()
        let m1 = mallocCount()
        benchmark.stopMeasurement()
        let requests = d.loop.counters.requests - requests0
        withUnsafePointer(to: tsc) { c in
            benchmark.measurement(decisionNs, Int(csys_clock_ns(c, d.entry.lastFlushTSC &- t0)))
            benchmark.measurement(passNs, Int(csys_clock_ns(c, t1 &- t0)))
        }
        benchmark.measurement(bytesPerPass, d.entry.lastFlushBytes)
        benchmark.measurement(requestsPerPass, Int(requests))
        if m1 != m0 { fail("decision-path-ouch-encoded: \(m1 - m0) mallocs in one pass after \(warmUp) warm-up passes") }
        if requests != 2 || d.loop.counters.refusedByRisk != 0 || d.loop.counters.notSent != 0 {
            fail("decision-path-ouch-encoded: the pass sent \(requests) requests (2 replaces expected), refused by risk \(d.loop.counters.refusedByRisk), not sent \(d.loop.counters.notSent)")
        }
    }

    Benchmark(
        "control-command-applied",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, commandNs], scalingFactor: .one,
                             maxDuration: .seconds(5), maxIterations: 200_000,
                             thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        let c = state.control
        let d = state.path
        if !state.controlWarm {
            for _ in 0..<warmUp { c.push(); c.port.drain(d.loop, now: d.now); c.port.publish(d.loop, now: d.now, feed: c.feed, stale: false, gatewayUp: true); c.popAck(); d.pass() }
            state.controlWarm = true
        }
        c.push()
        benchmark.startMeasurement()
        let m0 = mallocCount()
        let t0 = csys_tsc_begin()
        let applied = c.port.drain(d.loop, now: d.now)
        c.port.publish(d.loop, now: d.now, feed: c.feed, stale: false, gatewayUp: true)
        let t1 = csys_tsc_end()
        let m1 = mallocCount()
        benchmark.stopMeasurement()
        withUnsafePointer(to: tsc) { cl in benchmark.measurement(commandNs, Int(csys_clock_ns(cl, t1 &- t0))) }
        if m1 != m0 { fail("control-command-applied: \(m1 - m0) mallocs in one drain and publish after \(warmUp) warm-up commands") }
        if applied != 1 || !c.popAck() { fail("control-command-applied: the command was not applied and acknowledged") }
        d.pass()
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

/// The control plane's end of DecisionPath's loop: one SET_PARAM at a time on the command ring.
final class ControlBench {
    let port: ControlPort
    let feed = FeedHealth()
    var seq: UInt64 = 0

    init() throws {
        port = try ControlPort(instruments: 1)
        port.bind(locates: [1])
    }

    /// Outside the measured region: the control plane's push (spread_ticks 2 and 3 in turn).
    @inline(__always) func push() {
        seq &+= 1
        var e = omni_event()
        e.type = UInt8(OMNI_EV_COMMAND.rawValue)
        e.locate = 1
        e.seq = seq
        e.rx_tsc = csys_rdtsc()
        e.command.code = UInt32(OMNI_CMD_SET_PARAM)
        e.command.arg.0 = UInt64(OMNI_PARAM_SPREAD_TICKS)
        e.command.arg.1 = 2 + seq % 2
        _ = cring_spsc_try_push(port.commands.raw, &e, 64)
    }

    /// Outside the measured region: the control plane's read of the acknowledgement; true when applied.
    @discardableResult @inline(__always) func popAck() -> Bool {
        var a = omni_event()
        return cring_spsc_try_pop(port.acks.raw, &a, 64) == 1 && a.command.arg.1 == UInt64(OMNI_CMDR_APPLIED) && a.seq == seq
    }
}

/// Built once per process, on first use (the loop's constructor calibrates its clock for 20 ms).
final class State: @unchecked Sendable {
    let path: DecisionPath
    let risk: RiskBench
    let control: ControlBench
    var passWarm = false, riskWarm = false, controlWarm = false
    init() {
        do { path = try DecisionPath(); risk = try RiskBench(); control = try ControlBench() } catch { fail("setting up: \(error)") }
    }
}

let state = State()
