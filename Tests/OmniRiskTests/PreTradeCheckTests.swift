import CEvent
import OmniRisk
import Testing

// The Swift face: configuration in, verdicts and counters by named reason out. The limits of
// each check are proved at the C level (CRiskTests); these prove the face passes them through.

let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)
let t0: UInt64 = 5_000_000_000

func order(_ type: omni_event_type = OMNI_EV_ORDER_NEW, slot: UInt64, side: UInt8 = buy, price: UInt32 = 100_000,
           qty: UInt32 = 100, locate: UInt16 = 1, strategy: UInt16 = 0) -> omni_event {
    var e = omni_event()
    e.type = UInt8(type.rawValue)
    e.locate = locate
    e.order.client_order_id = 7 << 24 | slot
    e.order.price = price
    e.order.qty = qty
    e.order.side = side
    e.order.strategy = strategy
    return e
}

func config() -> RiskConfig {
    var c = RiskConfig(instruments: 16, strategies: 2, orders: 128, maxDailyLoss: 1_000_000)
    c.instrumentLimits[1] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 1_000 * 200_000, maxLong: 2_000, maxShort: 2_000)
    c.strategyLimits[0] = StrategyLimits(maxLong: 5_000, maxShort: 5_000)
    return c
}

@Suite("OmniRisk: PreTradeCheck")
struct PreTradeCheckTests {
    @Test func defaultsAreTheDocumentedOnes() {
        let l = InstrumentLimits(maxOrderQuantity: 1, maxOrderValue: 1, maxLong: 0, maxShort: 0)
        #expect(l.collarBasisPoints == 100 && l.messageBurst == 100 && l.messagesPerSecond == 100)
        let s = StrategyLimits(maxLong: 0, maxShort: 0)
        #expect(s.messageBurst == 500 && s.messagesPerSecond == 500 && s.maxFills == 100 && s.fillWindowNanoseconds == 1_000_000_000)
        let c = RiskConfig(instruments: 1, strategies: 1, orders: 1, maxDailyLoss: 0)
        #expect(c.maxReferenceAgeNanoseconds == 1_000_000_000 && c.duplicateWindowNanoseconds == 1_000_000)
        #expect(c.duplicateMemory == 32 && c.maxFillsLimit == 1024 && c.instrumentLimits.isEmpty && c.strategyLimits.isEmpty)
    }

    @Test func badConfigurationsAreRefusedByName() {
        #expect(throws: RiskConfigError.self) { try PreTradeCheck(RiskConfig(instruments: 0, strategies: 1, orders: 1, maxDailyLoss: 0)) }
        #expect(throws: RiskConfigError.self) { try PreTradeCheck(RiskConfig(instruments: 1, strategies: 1, orders: 1 << 25, maxDailyLoss: 0)) }
        var c = config()
        c.instrumentLimits[16] = InstrumentLimits(maxOrderQuantity: 1, maxOrderValue: 1, maxLong: 0, maxShort: 0)
        #expect(throws: RiskConfigError.instrumentLimits(locate: 16, "locate beyond 15 or a negative max long / short")) { try PreTradeCheck(c) }
        c = config()
        c.strategyLimits[1] = StrategyLimits(maxLong: 0, maxShort: 0, maxFills: 1025)
        #expect(throws: RiskConfigError.self) { try PreTradeCheck(c) }
    }

    @Test func failClosedWithoutLimitsOrReference() throws {
        let risk = try PreTradeCheck(config())
        #expect(risk.check(order(slot: 0), now: t0) == .refused(.reference)) // configured, but no BBO yet
        risk.onBBO(locate: 1, bid: 100_000, ask: 100_100, now: t0)
        #expect(risk.check(order(slot: 0, locate: 2), now: t0) == .refused(.notConfigured))
        #expect(risk.check(order(slot: 0, strategy: 1), now: t0) == .refused(.notConfigured))
        #expect(risk.check(order(slot: 0), now: t0) == .pass)
        risk.removeLimits(instrument: 1)
        #expect(risk.check(order(slot: 1, price: 99_000), now: t0) == .refused(.notConfigured))
        #expect(risk.refusals(.notConfigured) == 3 && risk.refusals(.reference) == 1 && risk.passed == 1)
    }

    @Test func verdictsCarryTheReasonCode() {
        #expect(RiskCheck.collar.reason == UInt16(OMNI_REASON_RISK) | 10)
        #expect(RiskCheck.allCases.count == 16 && RiskCheck.allCases.map { Int($0.rawValue) } == (1...16).map { $0 })
        #expect(RiskCheck.killSwitch.description == "kill switch")
    }

    @Test func killSwitchHoldsUntilResetAndCancelsPass() throws {
        let risk = try PreTradeCheck(config())
        risk.onBBO(locate: 1, bid: 100_000, ask: 100_100, now: t0)
        #expect(risk.check(order(slot: 0), now: t0) == .pass)
        risk.kill(.signal)
        #expect(risk.isKilled && risk.killReason == .signal)
        #expect(risk.check(order(slot: 1, price: 99_000), now: t0) == .refused(.killSwitch))
        #expect(risk.check(order(OMNI_EV_ORDER_REPLACE, slot: 0, price: 99_500), now: t0) == .refused(.killSwitch))
        #expect(risk.check(order(OMNI_EV_ORDER_CANCEL, slot: 0, qty: 0), now: t0) == .pass)
        let ids = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: 8)
        defer { ids.deallocate() }
        #expect(risk.workingOrders(into: ids) == 1 && ids[0] == 7 << 24 | 0)
        risk.onBBO(locate: 1, bid: 100_000, ask: 100_100, now: t0 + 10)
        #expect(risk.check(order(slot: 1, price: 99_000), now: t0 + 10) == .refused(.killSwitch))
        risk.reset()
        #expect(!risk.isKilled && risk.killReason == nil)
        #expect(risk.check(order(slot: 1, price: 99_000), now: t0 + 10) == .pass)
        #expect(risk.refusals(.killSwitch) == 3 && risk.passed == 3)
    }

    @Test func exposureFollowsAnswersAndFills() throws {
        var c = config()
        c.instrumentLimits[1]!.maxLong = 300
        let risk = try PreTradeCheck(c)
        risk.onBBO(locate: 1, bid: 100_000, ask: 100_100, now: t0)
        #expect(risk.check(order(slot: 0, qty: 300), now: t0) == .pass)
        #expect(risk.check(order(slot: 1, price: 99_000, qty: 1), now: t0) == .refused(.instrumentExposure))
        var fill = omni_event()
        fill.type = UInt8(OMNI_EV_FILL.rawValue)
        fill.locate = 1
        fill.fill.client_order_id = 7 << 24 | 0
        fill.fill.last_px = 100_000
        fill.fill.last_qty = 100
        fill.fill.leaves_qty = 200
        #expect(risk.onEvent(fill, now: t0) == .applied)
        #expect(risk.instrument(1) == InstrumentRisk(position: 100, workingBuy: 200, workingSell: 0, realised: 0, unrealised: 5_000))
        var canceled = order(OMNI_EV_ORDER_CANCELED, slot: 0, qty: 0)
        canceled.order.qty = 0
        #expect(risk.onEvent(canceled, now: t0) == .applied)
        #expect(risk.instrument(1)?.workingBuy == 0)
        #expect(risk.check(order(slot: 1, price: 99_000, qty: 200), now: t0) == .pass)
        #expect(risk.check(order(slot: 2, price: 98_000, qty: 1), now: t0) == .refused(.instrumentExposure))
        #expect(risk.onEvent(order(OMNI_EV_ORDER_ACCEPTED, slot: 99), now: t0) == .unknownOrder)
        #expect(risk.unknownAnswers == 1 && risk.pnl == 5_000)
    }

    @Test func repeatedExecutionsDisableUntilEnabledAndLossKills() throws {
        var c = config()
        c.maxDailyLoss = 10_000
        c.strategyLimits[0]!.maxFills = 2
        let risk = try PreTradeCheck(c)
        risk.onBBO(locate: 1, bid: 100_000, ask: 100_100, now: t0)
        #expect(risk.check(order(slot: 0, price: 100_100, qty: 300), now: t0) == .pass)
        var fill = omni_event()
        fill.type = UInt8(OMNI_EV_FILL.rawValue)
        fill.fill.client_order_id = 7 << 24 | 0
        fill.fill.last_px = 100_100
        fill.fill.last_qty = 100
        for (i, leaves) in [200, 100, 0].enumerated() {
            fill.fill.leaves_qty = UInt32(leaves)
            risk.onEvent(fill, now: t0 + UInt64(i))
        }
        #expect(risk.isDisabled(strategy: 0)) // 3 fills in 1 s, more than 2
        // Long 300 at 10.0100, mid 10.0050: -15,000 < -10,000: the loss limit killed.
        #expect(risk.isKilled && risk.killReason == .dailyLoss && risk.pnl == -15_000)
        #expect(risk.check(order(slot: 1, side: sell, price: 100_000), now: t0) == .refused(.killSwitch))
        try risk.setMaxDailyLoss(20_000)
        risk.reset()
        #expect(risk.check(order(slot: 1, side: sell, price: 100_000), now: t0) == .refused(.strategyDisabled))
        risk.enableStrategy(0)
        #expect(!risk.isDisabled(strategy: 0))
        #expect(risk.check(order(slot: 1, side: sell, price: 100_000), now: t0) == .pass)
        let reasons = risk.refusalsByReason
        #expect(reasons.map(\.0) == [.killSwitch, .strategyDisabled] && reasons.map(\.1) == [1, 1])
    }

    @Test func tradingStatePassesThrough() throws {
        let risk = try PreTradeCheck(config())
        risk.onBBO(locate: 1, bid: 100_000, ask: 100_100, now: t0)
        risk.setTradingState(.halted, locate: 1)
        #expect(risk.check(order(slot: 0), now: t0) == .refused(.tradingState))
        risk.setTradingState(.trading, locate: 1)
        #expect(risk.check(order(slot: 0), now: t0) == .pass)
    }
}
