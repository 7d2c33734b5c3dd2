import CEvent
import CSys
import CWire
import Glibc
import OmniBook
import OmniCore
import OmniGateway
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniVenue
import Testing

/// Every pre-trade control end to end: the trading loop sends over OUCH to `omni sim` (in this
/// process, on loopback); for each check an order beyond it is refused with that reason counted,
/// the ledger answers it as rejected, and the venue's own count of the orders it received from
/// us proves the refused ones never reached it. Each control runs on a fresh venue and user.
@Suite(.serialized) struct RiskEndToEndTests {
    @Test(arguments: RiskCheck.allCases)
    func anOrderBeyondTheControlNeverReachesTheVenue(_ check: RiskCheck) throws {
        let h = try LoopHarness.ouch(user: "RISK\(check.rawValue)", risk: Self.risk(for: check))
        defer { h.sim.stop() }
        let (a, b) = (h.a, h.b)
        let bid = a.referencePrice - 100
        // Each case: what it does, and how many of its orders should reach the venue.
        let reached: Int
        switch check {
        case .malformed: // a quantity of 0 (made by hand: the ledger itself takes none)
            h.loop.send(omni_order_event(UInt8(OMNI_EV_ORDER_NEW.rawValue), a.locate, 900, buy, bid, 0, 1, 0), now: csys_monotonic_ns())
            h.order(a, buy, bid, 100)
            reached = 1
        case .notConfigured: // the third instrument has no limits
            h.order(h.c, buy, h.c.referencePrice - 100, 100)
            reached = 0
        case .killSwitch:
            h.order(a, buy, bid, 100)
            h.settle()
            h.loop.kill(.command, now: csys_monotonic_ns())
            h.order(a, buy, bid - 100, 100)
            reached = 1
        case .dailyLoss: // a loss of more than $1: the fill kills, a reset with the loss still there refuses
            h.order(a, buy, bid, 100)
            h.settle()
            h.taker(a, side: "S", price: bid, shares: 100)
            h.touch(a, shift: -500) // the mid falls $0.05 a share: $5 down on 100 shares
            #expect(h.loop.risk.killReason == .dailyLoss)
            h.loop.risk.reset()
            h.order(a, buy, bid - 600, 100)
            reached = 1
        case .strategyDisabled: // more than 1 fill within 10 s
            h.order(a, buy, bid, 100)
            h.settle()
            h.taker(a, side: "S", price: bid, shares: 30)
            h.taker(a, side: "S", price: bid, shares: 30)
            #expect(h.loop.risk.isDisabled(strategy: 1))
            h.order(a, buy, bid - 100, 100)
            reached = 1
        case .tradingState:
            h.loop.risk.setTradingState(.halted, locate: a.locate)
            h.order(a, buy, bid, 100)
            reached = 0
        case .orderQuantity: // at most 100
            h.order(a, buy, bid, 100)
            h.order(a, buy, bid - 100, 101)
            reached = 1
        case .orderValue: // at most bid × 100
            h.order(a, buy, bid, 100)
            h.order(a, buy, bid + 100, 100)
            reached = 1
        case .reference: // b has no BBO yet; then a's is older than the 200 ms allowed
            h.order(b, buy, b.referencePrice - 100, 100)
            h.order(a, buy, bid, 100)
            h.order(a, sell, a.referencePrice + 300, 100, now: csys_monotonic_ns() + 300_000_000)
            reached = 1
        case .collar: // 50 bp beyond the touch
            let ask = a.referencePrice + 100
            h.order(a, buy, ask + ask * 50 / 10_000, 100)
            h.order(a, buy, ask + ask * 50 / 10_000 + 100, 100)
            reached = 1
        case .selfCross:
            h.order(a, buy, bid, 100)
            h.settle()
            h.order(a, sell, bid, 100)
            reached = 1
        case .duplicate: // the same order twice within 1 ms (the same instant here)
            let now = csys_monotonic_ns()
            h.order(a, buy, bid, 100, now: now)
            h.order(a, buy, bid, 100, now: now)
            reached = 1
        case .instrumentExposure: // 150 long at most, working orders counted as filled
            h.order(a, buy, bid, 100)
            h.order(a, buy, bid - 100, 100)
            reached = 1
        case .strategyExposure: // 150 long at most across instruments
            h.touch(b)
            h.order(a, buy, bid, 100)
            h.order(b, buy, b.referencePrice - 100, 100)
            reached = 1
        case .instrumentRate, .strategyRate: // 2 messages at once (instrument a, or the strategy across a and b)
            h.touch(b)
            h.order(a, buy, bid, 100)
            h.order(check == .instrumentRate ? a : b, buy, (check == .instrumentRate ? bid : b.referencePrice - 100) - 100, 100)
            h.order(check == .instrumentRate ? a : b, buy, (check == .instrumentRate ? bid : b.referencePrice - 100) - 200, 100)
            reached = 2
        }
        h.settle()
        let counted = h.loop.risk.refusals(check)
        h.sim.stop()
        #expect(h.sim.ordersReceived(from: h.user) == reached, "the venue received \(h.sim.ordersReceived(from: h.user)) of our orders")
        #expect(counted == (check == .reference ? 2 : 1), "\(check): refusals counted \(h.loop.risk.refusalsByReason.filter { $0.1 > 0 })")
        let others = h.loop.risk.refusalsByReason.filter { $0.0 != check && $0.1 > 0 && !(check == .dailyLoss && $0.0 == .killSwitch) }
        #expect(others.isEmpty, "\(check): other refusals \(others)")
        #expect(h.loop.lastRefusal == check.reason)
        // The ledger heard each refusal as a reject (the hand-made malformed order is none of its own).
        #expect(h.loop.ledger.counters.rejected >= (check == .malformed ? 0 : 1) && h.entry.refused == 0)
    }

    /// Limits that the case's control trips and no other does: instruments a and b configured, c not.
    static func risk(for check: RiskCheck) -> RiskConfig {
        var rc = LoopHarness<OuchOrderEntry>.risk(maxDailyLoss: check == .dailyLoss ? 10_000 : 100_000_000)
        rc.maxReferenceAgeNanoseconds = 200_000_000
        rc.instrumentLimits[LoopHarness<OuchOrderEntry>.c.locate] = nil
        for s in [LoopHarness<OuchOrderEntry>.a, LoopHarness<OuchOrderEntry>.b] {
            switch check {
            case .orderQuantity: rc.instrumentLimits[s.locate]!.maxOrderQuantity = 100
            case .orderValue: rc.instrumentLimits[s.locate]!.maxOrderValue = UInt64(s.referencePrice - 100) * 100
            case .collar: rc.instrumentLimits[s.locate]!.collarBasisPoints = 50
            case .instrumentExposure: rc.instrumentLimits[s.locate]!.maxLong = 150
            case .instrumentRate: rc.instrumentLimits[s.locate]!.messageBurst = 2; rc.instrumentLimits[s.locate]!.messagesPerSecond = 1
            default: break
            }
        }
        if check == .strategyExposure { rc.strategyLimits[1]!.maxLong = 150 }
        if check == .strategyRate { rc.strategyLimits[1]!.messageBurst = 2; rc.strategyLimits[1]!.messagesPerSecond = 1 }
        if check == .strategyDisabled { rc.strategyLimits[1]!.maxFills = 1; rc.strategyLimits[1]!.fillWindowNanoseconds = 10_000_000_000 }
        return rc
    }
}
