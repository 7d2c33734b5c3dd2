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
import OmniWire
import SharedTestData
import Testing

let buy = UInt8(OMNI_SIDE_BUY), sell = UInt8(OMNI_SIDE_SELL)

/// The tests' trading loop over `entry`: 16 locates, 1,024 orders, an inventory-skew quoter
/// (tick 0.01, two ticks from the mid, 100 shares, a tick of skew per `skewShares`, 500 at most).
func testLoop<E: OrderEntry>(_ entry: E, risk: RiskConfig, skewShares: Int64 = 100, rule: QuotingRule = QuotingRule(),
                             firstGeneration: UInt32 = 1) throws -> TradingLoop<E, InventorySkewQuoter> {
    TradingLoop(entry: entry, ledger: OrderLedger(OrderLedgerConfig(orders: 1 << 10, strategies: 2, locates: 16, firstGeneration: firstGeneration)),
                risk: try PreTradeCheck(risk), board: QuoteBoard(locates: 16),
                strategy: InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: skewShares, maxPosition: 500), rule: rule)
}

/// A running `omni sim` (in this process, loopback, no generator), our session to it over OUCH
/// or FIX, and a trading loop over that session that quotes nothing by itself: the end-to-end
/// tests send orders through it by hand (risk, then the order entry, as the loop sends its own),
/// and another firm's OUCH session (`taker`) trades against them.
final class LoopHarness<E: GatewaySession> {
    static var a: InstrumentSpec { InstrumentSpec.defaults[0] }
    static var b: InstrumentSpec { InstrumentSpec.defaults[1] }
    static var c: InstrumentSpec { InstrumentSpec.defaults[2] }
    var a: InstrumentSpec { Self.a }
    var b: InstrumentSpec { Self.b }
    var c: InstrumentSpec { Self.c }
    static var symbols: [UInt16: String] {
        var s: [UInt16: String] = [:]
        for x in [a, b, c] { s[x.locate] = x.symbol.description }
        return s
    }

    let sim: SimVenue
    let entry: E
    let loop: TradingLoop<E, InventorySkewQuoter>
    let user: String
    var sink: BoardSink
    var taker: OuchClient?
    var takerTokens = 0

    /// The venue: OUCH and FIX on ephemeral ports, stores under `dir`.
    static func venue(_ dir: String, cancelOnDisconnect: Bool = true) throws -> SimVenue {
        var sc = SimConfig()
        sc.ouchPort = 0; sc.fixPort = 0; sc.retransmitPort = 0; sc.generator = nil
        sc.cancelOnDisconnect = cancelOnDisconnect
        sc.fixStore = dir + "/venue"
        sc.lineA = SimGroup(address: "239.192.94.1", port: 31_096); sc.lineB = nil
        let sim = try SimVenue(sc)
        sim.start()
        return sim
    }

    /// Limits no test order comes near, for `instruments` (a, b and c unless named) and strategy 1.
    static func risk(maxDailyLoss: Int64 = 100_000_000, instruments: [InstrumentSpec] = [a, b, c]) -> RiskConfig {
        var rc = RiskConfig(instruments: 16, strategies: 2, orders: 1 << 10, maxDailyLoss: maxDailyLoss)
        for s in instruments {
            rc.instrumentLimits[s.locate] = InstrumentLimits(maxOrderQuantity: 1_000, maxOrderValue: 10_000_000_000, maxLong: 1_000, maxShort: 1_000)
        }
        rc.strategyLimits[1] = StrategyLimits(maxLong: 10_000, maxShort: 10_000)
        return rc
    }

    init(sim: SimVenue, entry: E, user: String, risk: RiskConfig, firstGeneration: UInt32 = 1) throws {
        self.sim = sim; self.entry = entry; self.user = user
        loop = try testLoop(entry, risk: risk, firstGeneration: firstGeneration)
        sink = BoardSink(board: loop.board)
        touch(Self.a)
    }

    /// A BBO one tick either side of the reference (+ `shift`), and a pass to apply it.
    func touch(_ s: InstrumentSpec, shift: Int64 = 0) {
        let r = Int64(s.referencePrice) + shift
        sink.bboChanged(s.locate, BBO(bidPrice: Price(raw: r - 100), bidSize: 100, askPrice: Price(raw: r + 100), askSize: 100))
        loop.pass(now: csys_monotonic_ns())
    }

    /// A new order through risk and the order entry.
    @discardableResult
    func order(_ s: InstrumentSpec, _ side: UInt8, _ price: UInt32, _ qty: UInt32, flags: UInt8 = 0, now: UInt64? = nil) -> ClientOrderID? {
        var req = omni_event()
        guard case .success(let id) = loop.ledger.enter(locate: s.locate, strategy: 1, side: side, price: price, qty: qty, flags: flags,
                                                        request: &req) else {
            Issue.record("the ledger refused the order")
            return nil
        }
        loop.send(req, now: now ?? csys_monotonic_ns())
        entry.flush()
        return id
    }

    /// A cancel (to `leaving` shares) through risk and the order entry.
    func cancel(_ id: ClientOrderID, leaving: UInt32 = 0) {
        var req = omni_event()
        guard loop.ledger.cancel(id, leaving: leaving, request: &req) == nil else { Issue.record("the ledger refused the cancel"); return }
        loop.send(req, now: csys_monotonic_ns())
        entry.flush()
    }

    /// A replace through risk and the order entry.
    func replace(_ id: ClientOrderID, price: UInt32, qty: UInt32) {
        var req = omni_event()
        guard loop.ledger.replace(id, price: price, qty: qty, request: &req) == nil else { Issue.record("the ledger refused the replace"); return }
        loop.send(req, now: csys_monotonic_ns())
        entry.flush()
    }

    /// Passes until no order of ours waits for the venue's answer (and `also` holds).
    func settle(_ what: String = "the venue's answers", also: () -> Bool = { true }) {
        let end = csys_monotonic_ns() + 5_000_000_000
        while true {
            var waiting = false
            loop.ledger.table.forEachOpen { if $0.state == .pendingNew || $0.pendingCancel || $0.pendingReplace { waiting = true } }
            if !waiting && also() { return }
            if csys_monotonic_ns() > end { Issue.record("timed out waiting for \(what)"); return }
            loop.pass(now: csys_monotonic_ns())
            usleep(200)
        }
    }

    /// The other firm's session, logged in once; a fresh token for its next order.
    func connectTaker() throws {
        if taker == nil {
            taker = OuchClient(SoupClientConfig(port: sim.ouchPort, username: "TAKER", password: "x"))
            try taker!.connect()
        }
        takerTokens += 1
    }

    /// Another firm's IOC order (OUCH user TAKER). With `read`, returns once the loop has applied
    /// our fill; without, once the taker has its execution (ours then waits, unread, in our socket).
    func taker(_ s: InstrumentSpec, side: Character, price: UInt32, shares: UInt32, read: Bool = true) {
        do {
            try connectTaker()
            let before = loop.ledger.counters.fills
            try taker!.enter(.limit(token: "T\(takerTokens)", stock: s.symbol.description, side: side, shares: shares, price: price, tif: CW_OUCH_TIF_IOC))
            var executed = false
            let end = csys_monotonic_ns() + 5_000_000_000
            while csys_monotonic_ns() < end && (read ? loop.ledger.counters.fills == before : !executed) {
                taker!.poll(timeoutMs: read ? 0 : 5) { if case .message(_, let m) = $0, m.type == UInt8(ascii: "E") { executed = true } }
                if read { loop.pass(now: csys_monotonic_ns()); usleep(200) }
            }
            #expect(read ? loop.ledger.counters.fills > before : executed, "the taker's order traded with ours")
        } catch {
            Issue.record("taker: \(error)")
        }
    }

    /// Another firm's resting day order (OUCH user TAKER); returns once the venue accepted it.
    func rest(_ s: InstrumentSpec, side: Character, price: UInt32, shares: UInt32) {
        do {
            try connectTaker()
            try taker!.enter(.limit(token: "T\(takerTokens)", stock: s.symbol.description, side: side, shares: shares, price: price))
            var accepted = false
            let end = csys_monotonic_ns() + 5_000_000_000
            while !accepted && csys_monotonic_ns() < end {
                taker!.poll(timeoutMs: 5) { if case .message(_, let m) = $0, m.type == UInt8(ascii: "A") { accepted = true } }
            }
            #expect(accepted, "the taker's resting order accepted")
        } catch {
            Issue.record("taker: \(error)")
        }
    }

    /// Stops the venue, then checks the ledger's and risk's positions and cash against the
    /// venue's record of `user`'s executions, and that no order of ours is open on either side.
    func reconcile(_ sourceLocation: SourceLocation = #_sourceLocation) {
        settle()
        sim.stop()
        let record = sim.executions(of: user)
        for s in [a, b, c] {
            let v = record[s.locate] ?? ClientExecutions()
            let p = loop.ledger.position(strategy: 1, locate: s.locate)
            #expect(p.shares == v.position && p.cashFlow == v.cashFlow,
                    "\(s.symbol): ours \(p.shares) shares, cash \(p.cashFlow); the venue's \(v.position), \(v.cashFlow)", sourceLocation: sourceLocation)
            #expect(loop.risk.instrument(s.locate)?.position ?? 0 == v.position, "\(s.symbol): risk's position", sourceLocation: sourceLocation)
        }
        #expect(loop.ledger.counters.fills == UInt64(record.values.map(\.executions).reduce(0, +)), sourceLocation: sourceLocation)
        #expect(loop.ledger.table.open == sim.liveOrders, "open here \(loop.ledger.table.open), at the venue \(sim.liveOrders)",
                sourceLocation: sourceLocation)
    }
}

extension LoopHarness where E == OuchOrderEntry {
    /// `on`: a venue already running (an earlier run's), else a fresh one.
    static func ouch(user: String, risk: RiskConfig = risk(), on venue: SimVenue? = nil, firstGeneration: UInt32 = 1) throws -> LoopHarness {
        let sim = try venue ?? Self.venue(TestScratch.directory("loop-ouch"))
        let entry = OuchOrderEntry(SoupClientConfig(port: sim.ouchPort, username: user, password: "x"), symbols: symbols, orderSlots: 1 << 10)
        do { try entry.connect() } catch { sim.stop(); throw error }
        return try LoopHarness(sim: sim, entry: entry, user: user, risk: risk, firstGeneration: firstGeneration)
    }
}

extension LoopHarness where E == FixOrderEntry {
    static func fix(user: String, risk: RiskConfig = risk(), cancelOnDisconnect: Bool = true) throws -> LoopHarness {
        let dir = TestScratch.directory("loop-fix")
        let sim = try venue(dir, cancelOnDisconnect: cancelOnDisconnect)
        let cfg = FixSessionConfig(senderCompID: user, targetCompID: sim.config.fixSenderCompID, heartBtInt: 30, storeDirectory: dir,
                                   resetOnLogon: true, resendApplicationMessages: false)
        let entry: FixOrderEntry
        do { entry = try FixOrderEntry(port: sim.fixPort, timeoutMs: 2_000, config: cfg, symbols: symbols, orderSlots: 1 << 10) } catch { sim.stop(); throw error }
        let end = csys_monotonic_ns() + 5_000_000_000
        while !entry.isLoggedOn && csys_monotonic_ns() < end { _ = entry.session.pollOnce(timeoutMs: 10) }
        #expect(entry.isLoggedOn, "FIX logon")
        return try LoopHarness(sim: sim, entry: entry, user: user, risk: risk)
    }
}
