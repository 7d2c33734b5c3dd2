import CEvent
import CRisk
import Testing
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

// CRisk through its C API: each check passes at its limit and refuses one beyond it, with
// exactly that refusal counted under its id.

let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)
let t0: UInt64 = 1_000_000_000_000 // some time into the session, ns

/// One crisk over its own memory: 8 instruments, 4 strategies, 64 order slots.
final class Risk {
    var r = crisk()
    let memory: UnsafeMutableRawPointer
    var nextSlot: UInt64 = 0

    init(dupWindow: UInt64 = 0, dupMemory: UInt32 = 8, maxAge: UInt64 = 1_000_000_000, maxLoss: Int64 = 1_000_000_000, configure: Bool = true) {
        var c = crisk_config(instruments: 8, strategies: 4, orders: 64, duplicate_memory: dupMemory, max_fills_limit: 16, reserved: 0,
                             max_bbo_age_ns: maxAge, duplicate_window_ns: dupWindow, max_daily_loss: maxLoss)
        let size = crisk_footprint(&c)
        precondition(size > 0)
        memory = .allocate(byteCount: size, alignment: 64)
        precondition(crisk_init(&r, &c, memory, size) == 0)
        if configure {
            instrument(1)
            strategy(0)
            _ = crisk_on_bbo(&r, 1, 100_000, 100_100, t0) // $10.00 / $10.01
        }
    }
    deinit { memory.deallocate() }

    func instrument(_ locate: UInt16, qty: UInt32 = 1_000, value: UInt64 = 1_000 * 100_100, collar: UInt32 = 100,
                    burst: UInt32 = 1_000, perSecond: UInt32 = 1_000, long: Int64 = 10_000, short: Int64 = 10_000) {
        var l = crisk_instrument_limits()
        l.configured = 1; l.max_order_qty = qty; l.max_order_value = value; l.collar_bps = collar
        l.rate_burst = burst; l.rate_per_second = perSecond; l.max_long = long; l.max_short = short
        #expect(crisk_set_instrument_limits(&r, locate, &l) == 0)
    }

    func strategy(_ s: UInt16, burst: UInt32 = 1_000, perSecond: UInt32 = 1_000, fills: UInt32 = 16,
                  window: UInt64 = 1_000_000_000, long: Int64 = 10_000, short: Int64 = 10_000) {
        var l = crisk_strategy_limits()
        l.configured = 1; l.rate_burst = burst; l.rate_per_second = perSecond; l.max_fills = fills
        l.fill_window_ns = window; l.max_long = long; l.max_short = short
        #expect(crisk_set_strategy_limits(&r, s, &l) == 0)
    }

    /// A fresh client order id: generation 1, the next slot.
    func id() -> UInt64 { defer { nextSlot += 1 }; return 1 << 24 | nextSlot }

    func request(_ type: omni_event_type, id: UInt64, side: UInt8 = buy, price: UInt32 = 100_000, qty: UInt32 = 100,
                 locate: UInt16 = 1, strategy: UInt16 = 0) -> omni_event {
        omni_order_event(UInt8(type.rawValue), locate, id, side, price, qty, strategy, 0)
    }

    func check(_ e: omni_event, _ now: UInt64 = t0) -> Int32 { withUnsafePointer(to: e) { crisk_check(&r, $0, now) } }

    /// A new order: returns (its id, the check's answer).
    @discardableResult
    func new(side: UInt8 = buy, price: UInt32 = 100_000, qty: UInt32 = 100, locate: UInt16 = 1, strategy: UInt16 = 0,
             at now: UInt64 = t0) -> (UInt64, Int32) {
        let i = id()
        return (i, check(request(OMNI_EV_ORDER_NEW, id: i, side: side, price: price, qty: qty, locate: locate, strategy: strategy), now))
    }

    @discardableResult
    func answer(_ type: omni_event_type, id: UInt64, price: UInt32 = 0, qty: UInt32 = 0, now: UInt64 = t0) -> Int32 {
        var e = omni_event()
        e.type = UInt8(type.rawValue)
        e.order.client_order_id = id
        e.order.price = price
        e.order.qty = qty
        return withUnsafePointer(to: e) { crisk_on_event(&r, $0, now) }
    }

    @discardableResult
    func fill(id: UInt64, px: UInt32, qty: UInt32, leaves: UInt32, side: UInt8 = buy, locate: UInt16 = 1,
              strategy: UInt16 = 0, now: UInt64 = t0) -> Int32 {
        var e = omni_event()
        e.type = UInt8(OMNI_EV_FILL.rawValue)
        e.locate = locate
        e.fill.client_order_id = id
        e.fill.last_px = px
        e.fill.last_qty = qty
        e.fill.leaves_qty = leaves
        e.fill.side = side
        e.fill.strategy = strategy
        return withUnsafePointer(to: e) { crisk_on_event(&r, $0, now) }
    }

    func count(_ id: Int) -> UInt64 { crisk_counter(&r, UInt32(id)) }
    var refusals: UInt64 { (1..<UInt32(CRISK_CHECKS)).reduce(0) { $0 + crisk_counter(&r, $1) } }
    var view: crisk_instrument_view { var v = crisk_instrument_view(); _ = crisk_instrument_state(&r, 1, &v); return v }
}

func refused(_ check: Int) -> Int32 { Int32(-check) }

@Suite("CRisk: fail closed")
struct FailClosedTests {
    @Test func noLimitsRefuseEveryOrder() {
        let k = Risk(configure: false)
        _ = crisk_on_bbo(&k.r, 1, 100_000, 100_100, t0)
        #expect(k.new().1 == refused(CRISK_CHECK_NOT_CONFIGURED))
        k.instrument(1)
        #expect(k.new().1 == refused(CRISK_CHECK_NOT_CONFIGURED)) // the strategy still has none
        k.strategy(0)
        #expect(k.new().1 == 0)
        #expect(k.new(strategy: 1).1 == refused(CRISK_CHECK_NOT_CONFIGURED))
        #expect(k.new(locate: 2).1 == refused(CRISK_CHECK_NOT_CONFIGURED))
        #expect(k.new(locate: 8).1 == refused(CRISK_CHECK_NOT_CONFIGURED)) // beyond the configured instruments
        #expect(k.new(strategy: 4).1 == refused(CRISK_CHECK_NOT_CONFIGURED))
        #expect(k.count(CRISK_CHECK_NOT_CONFIGURED) == 6 && k.count(CRISK_PASSED) == 1 && k.refusals == 6)
    }

    @Test func zeroLimitsRefuse() {
        let k = Risk()
        k.instrument(1, qty: 0)
        #expect(k.new(qty: 1).1 == refused(CRISK_CHECK_ORDER_QTY))
    }

    @Test func malformedRequests() {
        let k = Risk()
        var e = k.request(OMNI_EV_ORDER_NEW, id: 64) // slot 64 of 64: beyond the table
        #expect(k.check(e) == refused(CRISK_CHECK_MALFORMED))
        e = k.request(OMNI_EV_ORDER_NEW, id: 1 << 24 | 63)
        #expect(k.check(e) == 0) // the last slot is fine
        #expect(k.check(k.request(OMNI_EV_ORDER_NEW, id: 1 << 24 | 62, qty: 0)) == refused(CRISK_CHECK_MALFORMED))
        #expect(k.check(k.request(OMNI_EV_ORDER_NEW, id: 1 << 24 | 62, price: 0)) == refused(CRISK_CHECK_MALFORMED))
        #expect(k.check(k.request(OMNI_EV_ORDER_NEW, id: 1 << 24 | 62, side: 2)) == refused(CRISK_CHECK_MALFORMED))
        #expect(k.check(k.request(OMNI_EV_FILL, id: 1 << 24 | 62)) == refused(CRISK_CHECK_MALFORMED))
        #expect(k.check(k.request(OMNI_EV_ORDER_NEW, id: 2 << 24 | 63)) == refused(CRISK_CHECK_MALFORMED)) // slot still working
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: 1 << 24 | 5)) == refused(CRISK_CHECK_MALFORMED)) // not working
        #expect(k.check(k.request(OMNI_EV_ORDER_CANCEL, id: 64)) == refused(CRISK_CHECK_MALFORMED))
        #expect(k.count(CRISK_CHECK_MALFORMED) == 8 && k.count(CRISK_PASSED) == 1 && k.refusals == 8)
    }
}

@Suite("CRisk: price collar and reference")
struct CollarTests {
    // 100 bp of ask 10.0100 = 0.1001: buys up to 10.1101; of bid 10.0000 = 0.1000: sells down to 9.9000.
    @Test func buyAtAskPlusCollarPassesOneTickMoreRefuses() {
        let k = Risk()
        #expect(k.new(price: 101_101).1 == 0)
        #expect(k.new(price: 101_102).1 == refused(CRISK_CHECK_COLLAR))
        #expect(k.count(CRISK_CHECK_COLLAR) == 1 && k.refusals == 1)
    }

    @Test func sellAtBidMinusCollarPassesOneTickLessRefuses() {
        let k = Risk()
        #expect(k.new(side: sell, price: 99_000).1 == 0)
        #expect(k.new(side: sell, price: 98_999).1 == refused(CRISK_CHECK_COLLAR))
        #expect(k.count(CRISK_CHECK_COLLAR) == 1 && k.refusals == 1)
    }

    @Test func noBBOOrAnEmptySideRefuses() {
        let k = Risk()
        k.instrument(2)
        #expect(k.new(locate: 2).1 == refused(CRISK_CHECK_REFERENCE))
        _ = crisk_on_bbo(&k.r, 2, 100_000, 0, t0) // no ask: buys have no reference, sells do
        #expect(k.new(price: 100_000, locate: 2).1 == refused(CRISK_CHECK_REFERENCE))
        #expect(k.new(side: sell, price: 100_100, locate: 2).1 == 0)
        #expect(k.count(CRISK_CHECK_REFERENCE) == 2 && k.refusals == 2)
    }

    @Test func aBBOOlderThanTheMaximumAgeRefuses() {
        let k = Risk(maxAge: 5_000)
        #expect(k.new(at: t0 + 5_000).1 == 0)
        #expect(k.new(at: t0 + 5_001).1 == refused(CRISK_CHECK_REFERENCE))
        _ = crisk_on_bbo(&k.r, 1, 100_000, 100_100, t0 + 5_001) // the reference refreshed
        #expect(k.new(price: 99_000, at: t0 + 5_002).1 == 0)
        #expect(k.count(CRISK_CHECK_REFERENCE) == 1 && k.refusals == 1)
    }

    @Test func aReplaceIsCollaredOnItsNewPrice() {
        let k = Risk()
        let (id, rc) = k.new()
        #expect(rc == 0)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: id, price: 101_102)) == refused(CRISK_CHECK_COLLAR))
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: id, price: 101_101)) == 0)
    }
}

@Suite("CRisk: order size and value")
struct SizeTests {
    @Test func maxOrderQuantityOnNewAndReplace() {
        let k = Risk()
        k.instrument(1, qty: 500, value: .max)
        #expect(k.new(qty: 500).1 == 0)
        let (id, rc) = k.new(price: 99_000, qty: 501)
        #expect(rc == refused(CRISK_CHECK_ORDER_QTY))
        let (id2, _) = k.new(price: 99_100, qty: 10)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: id2, price: 99_100, qty: 501)) == refused(CRISK_CHECK_ORDER_QTY))
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: id2, price: 99_100, qty: 500)) == 0)
        #expect(k.count(CRISK_CHECK_ORDER_QTY) == 2 && k.refusals == 2)
        _ = id
    }

    @Test func maxOrderValueIsPriceTimesQuantity() {
        let k = Risk()
        k.instrument(1, qty: 10_000, value: 100_000 * 300) // $3,000 of notional
        #expect(k.new(price: 100_000, qty: 300).1 == 0)
        #expect(k.new(price: 100_001, qty: 300).1 == refused(CRISK_CHECK_ORDER_VALUE)) // 300 units over
        #expect(k.new(price: 99_900, qty: 301).1 == refused(CRISK_CHECK_ORDER_VALUE))
        let (id, _) = k.new(price: 99_800, qty: 100)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: id, price: 100_000, qty: 301)) == refused(CRISK_CHECK_ORDER_VALUE))
        #expect(k.count(CRISK_CHECK_ORDER_VALUE) == 3 && k.refusals == 3)
    }
}

@Suite("CRisk: message rate")
struct RateTests {
    @Test func instrumentBucketBurstThenRefill() {
        let k = Risk()
        k.instrument(1, burst: 3, perSecond: 10) // one token every 100 ms
        for i in 0..<3 { #expect(k.new(price: 99_000 + UInt32(i)).1 == 0) }
        #expect(k.new(price: 99_010).1 == refused(CRISK_CHECK_RATE_INSTRUMENT))
        #expect(k.new(price: 99_011, at: t0 + 99_999_999).1 == refused(CRISK_CHECK_RATE_INSTRUMENT))
        #expect(k.new(price: 99_012, at: t0 + 100_000_000).1 == 0)
        #expect(k.count(CRISK_CHECK_RATE_INSTRUMENT) == 2 && k.refusals == 2)
    }

    @Test func strategyBucketCountsNewReplaceAndCancel() {
        let k = Risk()
        k.strategy(0, burst: 3, perSecond: 1)
        let (id, rc) = k.new()
        #expect(rc == 0)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: id, price: 99_999)) == 0)
        #expect(k.check(k.request(OMNI_EV_ORDER_CANCEL, id: id, qty: 0)) == 0) // the third token
        #expect(k.new(price: 99_000).1 == refused(CRISK_CHECK_RATE_STRATEGY))
        // Cancels are never refused by the rate: the bucket is empty and they still pass.
        for _ in 0..<5 { #expect(k.check(k.request(OMNI_EV_ORDER_CANCEL, id: id, qty: 0)) == 0) }
        #expect(k.new(price: 99_000, at: t0 + 1_000_000_000).1 == 0)
        #expect(k.count(CRISK_CHECK_RATE_STRATEGY) == 1 && k.refusals == 1)
    }

    @Test func aRefusedOrderSpendsNoToken() {
        let k = Risk()
        k.instrument(1, collar: 0, burst: 1, perSecond: 0)
        #expect(k.new(price: 200_000).1 == refused(CRISK_CHECK_COLLAR))
        #expect(k.new().1 == 0)
        #expect(k.new(price: 99_000).1 == refused(CRISK_CHECK_RATE_INSTRUMENT))
    }
}

@Suite("CRisk: exposure")
struct ExposureTests {
    @Test func workingOrdersCountAsIfFilledPerInstrument() {
        let k = Risk()
        k.instrument(1, long: 300, short: 200)
        #expect(k.new(price: 99_000, qty: 200).1 == 0)
        #expect(k.new(price: 99_100, qty: 100).1 == 0) // 300 working: at the limit
        #expect(k.new(price: 99_200, qty: 1).1 == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        #expect(k.new(side: sell, price: 100_200, qty: 200).1 == 0)
        #expect(k.new(side: sell, price: 100_300, qty: 1).1 == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        #expect(k.view.working_buy == 300 && k.view.working_sell == 200)
        #expect(k.count(CRISK_CHECK_EXPOSURE_INSTRUMENT) == 2 && k.refusals == 2)
    }

    @Test func aCancelReleasesAndAFillMovesToThePosition() {
        let k = Risk()
        k.instrument(1, long: 300, short: 300)
        let (a, _) = k.new(price: 99_000, qty: 200)
        let (b, _) = k.new(price: 99_100, qty: 100)
        #expect(k.answer(OMNI_EV_ORDER_ACCEPTED, id: a, price: 99_000, qty: 200) == 0)
        #expect(k.new(price: 99_200, qty: 1).1 == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        #expect(k.answer(OMNI_EV_ORDER_CANCELED, id: b, qty: 0) == 0) // b is gone: 100 released
        #expect(k.view.working_buy == 200)
        #expect(k.fill(id: a, px: 99_000, qty: 50, leaves: 150) == 0) // 50 move from working to the position
        #expect(k.view.position == 50 && k.view.working_buy == 150)
        #expect(k.new(price: 99_200, qty: 100).1 == 0) // 50 + 150 + 100 = 300
        #expect(k.new(price: 99_300, qty: 1).1 == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        // A long position leaves room to sell: 50 - 0 - 350 = -300.
        #expect(k.new(side: sell, price: 100_200, qty: 350).1 == 0)
        #expect(k.new(side: sell, price: 100_300, qty: 1).1 == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        #expect(k.count(CRISK_CHECK_EXPOSURE_INSTRUMENT) == 3 && k.refusals == 3)
    }

    @Test func aRejectAndAFullFillRelease() {
        let k = Risk()
        k.instrument(1, long: 100)
        let (a, _) = k.new(price: 99_000, qty: 100)
        #expect(k.answer(OMNI_EV_ORDER_REJECTED, id: a) == 0)
        #expect(k.view.working_buy == 0)
        let (b, _) = k.new(price: 99_000, qty: 100)
        #expect(k.fill(id: b, px: 99_000, qty: 100, leaves: 0) == 0)
        #expect(k.view.position == 100 && k.view.working_buy == 0)
        #expect(k.new(price: 99_000, qty: 1).1 == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        var ids = [UInt64](repeating: 0, count: 4)
        #expect(crisk_working_orders(&k.r, &ids, 4) == 0)
    }

    @Test func aReplaceCountsTheLargerSizeUntilAnswered() {
        let k = Risk()
        k.instrument(1, long: 300)
        let (a, _) = k.new(price: 99_000, qty: 100)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: a, price: 99_000, qty: 300)) == 0)
        #expect(k.view.working_buy == 300)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: a, price: 99_000, qty: 50)) == refused(CRISK_CHECK_MALFORMED)) // one pending at a time
        #expect(k.answer(OMNI_EV_CANCEL_REJECTED, id: a) == 0)
        #expect(k.view.working_buy == 100)
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: a, price: 99_000, qty: 301)) == refused(CRISK_CHECK_EXPOSURE_INSTRUMENT))
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: a, price: 99_000, qty: 40)) == 0)
        #expect(k.view.working_buy == 100) // the larger until the venue answers
        #expect(k.answer(OMNI_EV_ORDER_REPLACED, id: a, price: 99_000, qty: 40) == 0)
        #expect(k.view.working_buy == 40)
    }

    @Test func perStrategyNetShares() {
        let k = Risk()
        k.instrument(2)
        _ = crisk_on_bbo(&k.r, 2, 100_000, 100_100, t0)
        k.strategy(1, long: 150, short: 10_000)
        #expect(k.new(price: 99_000, qty: 100, strategy: 1).1 == 0)
        #expect(k.new(price: 99_000, qty: 50, locate: 2, strategy: 1).1 == 0) // 150 over two instruments
        #expect(k.new(price: 99_100, qty: 1, locate: 2, strategy: 1).1 == refused(CRISK_CHECK_EXPOSURE_STRATEGY))
        #expect(k.new(price: 99_100, qty: 1, locate: 2, strategy: 0).1 == 0) // another strategy's own limit
        #expect(k.count(CRISK_CHECK_EXPOSURE_STRATEGY) == 1 && k.refusals == 1)
    }
}

@Suite("CRisk: duplicates and self-cross")
struct DuplicateAndCrossTests {
    @Test func anIdenticalNewOrderWithinTheWindowIsRefused() {
        let k = Risk(dupWindow: 1_000)
        #expect(k.new(at: t0).1 == 0)
        #expect(k.new(at: t0 + 999).1 == refused(CRISK_CHECK_DUPLICATE))
        #expect(k.new(qty: 101, at: t0 + 999).1 == 0)          // another size
        #expect(k.new(price: 99_999, at: t0 + 999).1 == 0)     // another price
        #expect(k.new(strategy: 1, at: t0 + 999).1 == refused(CRISK_CHECK_NOT_CONFIGURED))
        #expect(k.new(at: t0 + 1_000).1 == 0)                  // the window has passed
        #expect(k.count(CRISK_CHECK_DUPLICATE) == 1)
    }

    /// The duplicate index against the rule as stated (an identical new order among the last
    /// `duplicate_memory` passed ones within the window), over random orders from a small key
    /// space so that repeats, evictions and probe collisions are frequent.
    @Test(arguments: [1 as UInt32, 3, 8, 32])
    func theIndexFindsExactlyTheDuplicatesTheRuleNames(memory: UInt32) {
        let window: UInt64 = 2_000
        let k = Risk(dupWindow: window, dupMemory: memory)
        k.instrument(1, burst: 1_000_000, perSecond: 1_000_000)
        k.strategy(0, burst: 1_000_000, perSecond: 1_000_000)
        var recent: [(side: UInt8, price: UInt32, qty: UInt32, t: UInt64)] = []
        var state: UInt64 = UInt64(memory) // an LCG: the same stream every run
        func next(_ n: UInt64) -> UInt64 { state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return (state >> 33) % n }
        var now = t0, refusedAsDuplicate = 0, generation: UInt64 = 1
        for step in 0..<20_000 {
            now += next(300)
            _ = crisk_on_bbo(&k.r, 1, 100_000, 100_100, now)
            let side = next(2) == 0 ? buy : sell
            let price = side == buy ? 99_900 + UInt32(next(3)) * 100 : 100_100 + UInt32(next(3)) * 100
            let qty = 100 * (1 + UInt32(next(3)))
            let expected = recent.contains { $0.side == side && $0.price == price && $0.qty == qty && now >= $0.t && now - $0.t < window }
            let id = generation << 24 | UInt64(step % 64)
            let rc = k.check(k.request(OMNI_EV_ORDER_NEW, id: id, side: side, price: price, qty: qty), now)
            #expect((rc == refused(CRISK_CHECK_DUPLICATE)) == expected, "step \(step): \(rc), the rule says \(expected ? "duplicate" : "not")")
            guard rc == 0 || rc == refused(CRISK_CHECK_DUPLICATE) else { Issue.record("step \(step): refused \(rc)"); return }
            if rc == 0 {
                recent.append((side, price, qty, now))
                if recent.count > Int(memory) { recent.removeFirst() }
                k.answer(OMNI_EV_ORDER_REJECTED, id: id, now: now) // off the working counts: no self-cross, no exposure
            } else {
                refusedAsDuplicate += 1
            }
            if step % 64 == 63 { generation += 1 }
        }
        #expect(refusedAsDuplicate > 1_000, "the stream should repeat often: \(refusedAsDuplicate)")
    }

    @Test func aBuyAtOrAboveOurOwnSellIsRefused() {
        let k = Risk()
        let (s, _) = k.new(side: sell, price: 100_200)
        #expect(k.new(price: 100_199).1 == 0)
        #expect(k.new(price: 100_200).1 == refused(CRISK_CHECK_SELF_CROSS))
        #expect(k.new(side: sell, price: 100_199).1 == refused(CRISK_CHECK_SELF_CROSS)) // at our best buy
        #expect(k.new(side: sell, price: 100_200).1 == 0)
        #expect(k.answer(OMNI_EV_ORDER_CANCELED, id: s) == 0)
        #expect(k.new(price: 100_200).1 == refused(CRISK_CHECK_SELF_CROSS)) // the second sell at 100_200 still rests
        #expect(k.count(CRISK_CHECK_SELF_CROSS) == 3 && k.refusals == 3)
    }

    @Test func theBestPriceFollowsRemovalsAndOtherInstrumentsDoNotCross() {
        let k = Risk()
        k.instrument(2)
        _ = crisk_on_bbo(&k.r, 2, 100_000, 100_100, t0)
        let (s1, _) = k.new(side: sell, price: 100_100)
        #expect(k.new(side: sell, price: 100_300).1 == 0)
        #expect(k.new(price: 100_100, locate: 2).1 == 0) // another instrument
        #expect(k.new(price: 100_100).1 == refused(CRISK_CHECK_SELF_CROSS))
        #expect(k.fill(id: s1, px: 100_100, qty: 100, leaves: 0, side: sell) == 0)
        #expect(k.new(price: 100_299).1 == 0)
        #expect(k.new(price: 100_300).1 == refused(CRISK_CHECK_SELF_CROSS))
    }
}

@Suite("CRisk: trading state, throttle, loss, kill switch")
struct StateAndKillTests {
    @Test func haltedPausedAndStaleRefuse() {
        let k = Risk()
        for s in [CRISK_STATE_HALTED, CRISK_STATE_PAUSED, CRISK_STATE_STALE] {
            #expect(crisk_set_trading_state(&k.r, 1, UInt8(s)) == 0)
            #expect(k.new().1 == refused(CRISK_CHECK_TRADING_STATE))
        }
        #expect(crisk_set_trading_state(&k.r, 1, UInt8(CRISK_STATE_TRADING)) == 0)
        #expect(k.new().1 == 0)
        #expect(k.count(CRISK_CHECK_TRADING_STATE) == 3 && k.refusals == 3)
    }

    @Test func moreThanNFillsInTDisablesTheStrategyUntilEnabled() {
        let k = Risk()
        k.strategy(0, fills: 3, window: 1_000)
        let (a, _) = k.new(price: 99_000, qty: 100)
        for i in 0..<3 { k.fill(id: a, px: 99_000, qty: 1, leaves: 99 - UInt32(i), now: t0 + UInt64(i)) }
        #expect(crisk_strategy_disabled(&k.r, 0) == 0) // 3 fills in T: at the limit
        k.fill(id: a, px: 99_000, qty: 1, leaves: 96, now: t0 + 999) // the 4th within 1,000 ns of the 1st
        #expect(crisk_strategy_disabled(&k.r, 0) == 1)
        #expect(k.new(price: 98_000).1 == refused(CRISK_CHECK_STRATEGY_DISABLED))
        #expect(k.check(k.request(OMNI_EV_ORDER_CANCEL, id: a)) == 0) // cancels still pass
        #expect(crisk_enable_strategy(&k.r, 0) == 0)
        #expect(k.new(price: 98_000).1 == 0)
        #expect(k.count(CRISK_CHECK_STRATEGY_DISABLED) == 1)
    }

    @Test func fillsSpreadBeyondTheWindowDoNotDisable() {
        let k = Risk()
        k.strategy(0, fills: 3, window: 1_000)
        let (a, _) = k.new(price: 99_000, qty: 100)
        for i in 0..<8 { k.fill(id: a, px: 99_000, qty: 1, leaves: 99 - UInt32(i), now: t0 + UInt64(i) * 334) }
        #expect(crisk_strategy_disabled(&k.r, 0) == 0) // the 4th is 1,002 ns after the 1st
    }

    @Test func dailyLossTriggersTheKillSwitchAtLimitPlusOne() {
        let k = Risk(maxLoss: 100 * 500) // $5.00 over 100 shares: 0.0500 a share
        let (a, _) = k.new(price: 100_100, qty: 100)
        k.fill(id: a, px: 100_100, qty: 100, leaves: 0) // long 100 at 10.0100; mid 10.0050: -5,000 units
        #expect(k.view.unrealised == -5_000 && crisk_kill_reason(&k.r) == 0)
        _ = crisk_on_bbo(&k.r, 1, 99_700, 99_800, t0) // mid 9.9750: -0.0350 × 100 = -35,000
        _ = crisk_on_bbo(&k.r, 1, 99_500, 99_700, t0) // mid 9.9600: -0.0500 × 100 = -50,000: at the limit
        #expect(crisk_pnl(&k.r) == -50_000 && crisk_kill_reason(&k.r) == 0)
        _ = crisk_on_bbo(&k.r, 1, 99_500, 99_698, t0) // mid 9.9599: -50,100
        #expect(crisk_pnl(&k.r) == -50_100 && crisk_kill_reason(&k.r) == UInt32(CRISK_KILL_DAILY_LOSS))
        #expect(k.new(side: sell, price: 99_500).1 == refused(CRISK_CHECK_KILL_SWITCH))
        crisk_reset(&k.r) // a reset with the loss still beyond the limit kills again at the next order
        #expect(k.new(side: sell, price: 99_500).1 == refused(CRISK_CHECK_DAILY_LOSS))
        #expect(crisk_kill_reason(&k.r) == UInt32(CRISK_KILL_DAILY_LOSS))
        #expect(crisk_set_max_daily_loss(&k.r, 100_000) == 0)
        crisk_reset(&k.r)
        #expect(k.new(side: sell, price: 99_500).1 == 0)
    }

    @Test func realisedLossCounts() {
        let k = Risk(maxLoss: 999)
        let (a, _) = k.new(price: 100_100, qty: 10)
        k.fill(id: a, px: 100_100, qty: 10, leaves: 0)
        _ = crisk_on_bbo(&k.r, 1, 0, 0, t0) // no mark: the last fill price
        #expect(k.view.unrealised == 0)
        _ = crisk_on_bbo(&k.r, 1, 100_000, 100_100, t0)
        let (b, rc) = k.new(side: sell, price: 100_000, qty: 10, at: t0)
        #expect(rc == 0 && crisk_kill_reason(&k.r) == 0)
        k.fill(id: b, px: 100_000, qty: 10, leaves: 0, side: sell) // realised -1,000
        #expect(k.view.realised == -1_000 && k.view.position == 0)
        #expect(crisk_kill_reason(&k.r) == UInt32(CRISK_KILL_DAILY_LOSS))
    }

    @Test func killSwitchRefusesNewAndReplacePassesCancelsHoldsUntilReset() {
        let k = Risk()
        let (a, _) = k.new()
        crisk_kill(&k.r, UInt32(CRISK_KILL_COMMAND))
        #expect(k.new(price: 99_000).1 == refused(CRISK_CHECK_KILL_SWITCH))
        #expect(k.check(k.request(OMNI_EV_ORDER_REPLACE, id: a, price: 99_000)) == refused(CRISK_CHECK_KILL_SWITCH))
        #expect(k.check(k.request(OMNI_EV_ORDER_CANCEL, id: a)) == 0)
        var ids = [UInt64](repeating: 0, count: 4)
        #expect(crisk_working_orders(&k.r, &ids, 4) == 1 && ids[0] == a) // what the caller cancels
        #expect(crisk_working_orders(&k.r, &ids, 0) == -ENOSPC)
        // Time passing, fresh BBOs and answers do not lift it.
        _ = crisk_on_bbo(&k.r, 1, 100_000, 100_100, t0 + 1_000)
        k.answer(OMNI_EV_ORDER_CANCELED, id: a)
        #expect(k.new(price: 99_000, at: t0 + 1_000).1 == refused(CRISK_CHECK_KILL_SWITCH))
        crisk_reset(&k.r)
        #expect(k.new(price: 99_000, at: t0 + 1_000).1 == 0)
        #expect(k.count(CRISK_CHECK_KILL_SWITCH) == 3 && k.count(CRISK_PASSED) == 3 && k.refusals == 3)
        #expect(k.r.kills == 1)
    }
}

@Suite("CRisk: answers")
struct AnswerTests {
    @Test func answersForOrdersNotOursAreCountedAndFillsStillMovePositions() {
        let k = Risk()
        #expect(k.answer(OMNI_EV_ORDER_ACCEPTED, id: 1 << 24 | 3) == -Int32(CRISK_UNKNOWN_ORDER))
        #expect(k.fill(id: 1 << 24 | 3, px: 100_000, qty: 10, leaves: 0) == -Int32(CRISK_UNKNOWN_ORDER))
        #expect(k.view.position == 10 && k.r.unknown_answers == 2)
        var e = omni_event()
        e.type = UInt8(OMNI_EV_ITCH.rawValue)
        #expect(withUnsafePointer(to: e) { crisk_on_event(&k.r, $0, t0) } == -EINVAL)
    }

    @Test func theBBOEventIsTheReference() {
        let k = Risk()
        k.instrument(3)
        var e = omni_event()
        e.type = UInt8(OMNI_EV_BBO.rawValue)
        e.locate = 3
        e.bbo.bid_px = 50_000
        e.bbo.ask_px = 50_100
        #expect(withUnsafePointer(to: e) { crisk_on_event(&k.r, $0, t0) } == 0)
        #expect(k.new(price: 50_602, locate: 3).1 == refused(CRISK_CHECK_COLLAR)) // ask 50,100 + 100 bp (501) = 50,601
        #expect(k.new(price: 50_601, locate: 3).1 == 0)
    }
}
