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
        let h = try RiskHarness(check)
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
}

let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)

/// A venue, our OUCH session and a trading loop with limits that the case's control trips and no
/// other does: instruments a and b configured, c not; a has a BBO from the start.
final class RiskHarness {
    let sim: SimVenue
    let entry: OuchOrderEntry
    let loop: TradingLoop<OuchOrderEntry, InventorySkewQuoter>
    let user: String
    let a = InstrumentSpec.defaults[0], b = InstrumentSpec.defaults[1], c = InstrumentSpec.defaults[2]
    var sink: BoardSink
    var taker: OuchClient?
    var takerTokens = 0

    init(_ check: RiskCheck) throws {
        var sc = SimConfig()
        sc.ouchPort = 0; sc.fixPort = 0; sc.retransmitPort = 0; sc.generator = nil
        sc.fixStore = "/tmp/omni-trading-tests-\(getpid())/fix"
        sc.lineA = SimGroup(address: "239.192.94.1", port: 31_096); sc.lineB = nil
        sim = try SimVenue(sc)
        sim.start()
        user = "RISK\(check.rawValue)"
        var symbols: [UInt16: String] = [:]
        for s in [a, b, c] { symbols[s.locate] = s.symbol.description }
        entry = OuchOrderEntry(SoupClientConfig(port: sim.ouchPort, username: user, password: "x"), symbols: symbols, orderSlots: 1 << 10)
        try entry.connect()

        func limits(_ s: InstrumentSpec) -> InstrumentLimits {
            var l = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
            switch check {
            case .orderQuantity: l.maxOrderQuantity = 100
            case .orderValue: l.maxOrderValue = UInt64(s.referencePrice - 100) * 100
            case .collar: l.collarBasisPoints = 50
            case .instrumentExposure: l.maxLong = 150
            case .instrumentRate: l.messageBurst = 2; l.messagesPerSecond = 1
            default: break
            }
            return l
        }
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: check == .dailyLoss ? 10_000 : 100_000_000)
        rc.maxReferenceAgeNanoseconds = 200_000_000
        rc.instrumentLimits[a.locate] = limits(a)
        rc.instrumentLimits[b.locate] = limits(b)
        var sl = StrategyLimits(maxLong: 10_000, maxShort: 10_000)
        if check == .strategyExposure { sl.maxLong = 150 }
        if check == .strategyRate { sl.messageBurst = 2; sl.messagesPerSecond = 1 }
        if check == .strategyDisabled { sl.maxFills = 1; sl.fillWindowNanoseconds = 10_000_000_000 }
        rc.strategyLimits[1] = sl
        let board = QuoteBoard(locates: 16)
        sink = BoardSink(board: board)
        loop = TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 10, strategies: 2, locates: 16)),
                           risk: try PreTradeCheck(rc), board: board,
                           strategy: InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: 100, maxPosition: 500))
        touch(a)
    }

    /// A BBO one tick either side of the reference (+ `shift`), and a pass to apply it.
    func touch(_ s: InstrumentSpec, shift: Int64 = 0) {
        let r = Int64(s.referencePrice) + shift
        sink.bboChanged(s.locate, BBO(bidPrice: Price(raw: r - 100), bidSize: 100, askPrice: Price(raw: r + 100), askSize: 100))
        loop.pass(now: csys_monotonic_ns())
    }

    /// A new order through risk and the order entry, as the loop sends its own.
    @discardableResult
    func order(_ s: InstrumentSpec, _ side: UInt8, _ price: UInt32, _ qty: UInt32, now: UInt64? = nil) -> ClientOrderID? {
        var req = omni_event()
        guard case .success(let id) = loop.ledger.enter(locate: s.locate, strategy: 1, side: side, price: price, qty: qty, request: &req) else {
            Issue.record("the ledger refused the order")
            return nil
        }
        loop.send(req, now: now ?? csys_monotonic_ns())
        entry.flush()
        return id
    }

    /// Passes until no order of ours waits for the venue's answer.
    func settle() {
        let end = csys_monotonic_ns() + 5_000_000_000
        while true {
            var waiting = false
            loop.ledger.table.forEachOpen { if $0.state == .pendingNew || $0.pendingCancel || $0.pendingReplace { waiting = true } }
            if !waiting { return }
            if csys_monotonic_ns() > end { Issue.record("timed out waiting for the venue's answers"); return }
            loop.pass(now: csys_monotonic_ns())
            usleep(200)
        }
    }

    /// Another firm hits our order with an IOC; returns once our fill is applied.
    func taker(_ s: InstrumentSpec, side: Character, price: UInt32, shares: UInt32) {
        do {
            if taker == nil {
                taker = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "TAKER", password: "x"))
                try taker!.connect()
            }
            takerTokens += 1
            let before = loop.ledger.counters.fills
            try taker!.enter(.limit(token: "T\(takerTokens)", stock: s.symbol.description, side: side, shares: shares, price: price, tif: CW_OUCH_TIF_IOC))
            let end = csys_monotonic_ns() + 5_000_000_000
            while loop.ledger.counters.fills == before && csys_monotonic_ns() < end {
                taker!.poll(timeoutMs: 0) { _ in }
                loop.pass(now: csys_monotonic_ns())
                usleep(200)
            }
            #expect(loop.ledger.counters.fills > before, "the taker's order filled ours")
        } catch {
            Issue.record("taker: \(error)")
        }
    }
}
