import ArgumentParser
import CEvent
import CSys
import OmniBench
import OmniBook
import OmniCore
import OmniEngine
import OmniFeed
import OmniGateway
import OmniNet
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniTrading
import OmniWire

#if canImport(Glibc)
import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trade: a market maker quoting through pre-trade risk over OUCH, fed by a MoldUDP64 feed.",
        discussion: """
        One thread, run to completion: each receive step applies the feed's packets to the books, \
        then every instrument whose touch changed is quoted (InventorySkewQuoter: a fixed number of \
        ticks either side of the mid, skewed against the position), each request passes the \
        pre-trade checks (CRisk: quantity, value, collar, reference age, self-cross, duplicates, \
        exposure, rates, loss kill) before it goes out over OUCH, and the venue's answers and fills \
        update the order ledger and risk. The defaults trade the default `omni sim` on this machine. \
        A status line every second; SIGINT or --seconds cancels every open order, waits (at most 2 s) \
        for the venue to confirm, logs out and prints the summary per instrument. The exit code is 1 \
        when an order was left open.
        """
    )

    @Option(help: "The venue's OUCH port, HOST:PORT.") var ouch = "127.0.0.1:9879"
    @Option(help: "OUCH login name.") var user = "OMNIMM"
    @Option(help: "OUCH password.") var password = "x"
    @Option(help: "The feed's line A, ADDRESS:PORT.") var group = "239.192.0.1:30001"
    @Option(name: .customLong("line-b"), help: "The feed's line B, ADDRESS:PORT ('off' for none).") var lineB = "239.192.0.2:30001"
    @Option(help: "The feed's retransmission server, HOST:PORT ('off' for none).") var retransmit = "127.0.0.1:30002"
    @Option(help: "Interface name or IPv4 address the feed arrives on.") var interface = "127.0.0.1"
    @Option(help: "Symbols to quote, comma separated.") var symbols = "AAPL,MSFT,SPY,NVDA,TSLA,QQQ,AMZN,META"
    @Option(help: "Shares per quote.") var size: UInt32 = 100
    @Option(name: .customLong("spread-ticks"), help: "Ticks from the mid to each quote.") var spreadTicks: UInt32 = 2
    @Option(help: "The instruments' tick, a decimal price.") var tick = "0.01"
    @Option(name: .customLong("max-position"), help: "Shares long or short at most, per instrument.") var maxPosition: Int64 = 500
    @Option(name: .customLong("skew-shares"), help: "Shares of position that move both quotes one tick.") var skewShares: Int64 = 100
    @Option(name: .customLong("max-daily-loss"), help: "Dollars of realised + unrealised loss that trip the kill switch.") var maxDailyLoss = "10000"
    @Option(help: "Stop after this many seconds (default: until SIGINT).") var seconds: Double?

    func validate() throws {
        _ = try parseEndpoint(ouch, option: "--ouch")
        guard Price(Substring(tick)).map({ $0.raw > 0 }) == true else { throw ValidationError("--tick: '\(tick)' is not a positive decimal price") }
        guard Price(Substring(maxDailyLoss)) != nil else { throw ValidationError("--max-daily-loss: '\(maxDailyLoss)' is not a dollar amount") }
        guard size > 0, spreadTicks > 0, maxPosition > 0, skewShares > 0 else {
            throw ValidationError("--size, --spread-ticks, --max-position and --skew-shares must be positive")
        }
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        for s in symbols.split(separator: ",") where Symbol(s) == nil {
            throw ValidationError("--symbols: '\(s)' is not a symbol (1 to 8 printable ASCII characters)")
        }
    }

    func run() throws {
        _ = StopSignals.install()
        let start = csys_monotonic_ns()
        let deadline = seconds.map { start + UInt64($0 * 1e9) }
        let tickUnits = UInt32(Price(Substring(tick))!.raw)
        let wanted = symbols.split(separator: ",").map { Symbol($0)! }

        // The feed first: the stock directory (retransmitted from the start of the day if we
        // joined late) says which locate each symbol trades under.
        let books = try Books()
        let replay = ITCHReplay(books: books)
        let board = QuoteBoard(locates: 1 << 16)
        var config = MoldListenerConfig()
        config.localAddress = try interfaceAddress(interface)
        config.retransmit = retransmit == "off" ? nil : try parseEndpoint(retransmit, option: "--retransmit")
        config.session.requestDelay = lineB == "off" ? 0 : 1_000_000
        var listener = try MoldListener(config, replay: replay, sink: BoardSink(board: board))
        var ra = try MulticastReceiver<SocketBackend>(try parseGroup(group, interface: interface, option: "--group"))
        var rb = try lineB == "off" ? nil : MulticastReceiver<SocketBackend>(try parseGroup(lineB, interface: interface, option: "--line-b"))
        var none = NoReceive(label: try parseGroup(group, interface: interface, option: "--group"))
        func step() throws -> Int {
            if rb != nil { return try listener.step(&ra.backend, &rb!.backend) }
            return try listener.step(&ra.backend, &none)
        }
        var locates: [UInt16: Symbol] = [:]
        let directoryDeadline = csys_monotonic_ns() + 10_000_000_000
        while locates.count < wanted.count {
            if try step() == 0 { usleep(1_000) }
            for s in wanted { if let l = replay.directory.locate(of: s) { locates[l] = s } }
            if csys_monotonic_ns() > directoryDeadline || StopSignals.received != 0 {
                let missing = wanted.filter { !locates.values.contains($0) }.map(\.description)
                throw ValidationError("no stock directory entry for \(missing.joined(separator: ", ")) on \(group) within 10 s: is the venue publishing?")
            }
        }

        // Order entry, risk, the ledger, the strategy.
        let ep = try parseEndpoint(ouch, option: "--ouch")
        let entry = OuchOrderEntry(SoupClientConfig(host: String(ouch.split(separator: ":")[0]), port: ep.port, username: user, password: password),
                                   symbols: locates.mapValues(\.description))
        do { try entry.connect() } catch { throw ValidationError("\(error)") }
        var riskConfig = RiskConfig(instruments: 1 << 16, strategies: 2, orders: 1 << 16,
                                    maxDailyLoss: Price(Substring(maxDailyLoss))!.raw * 10_000) // dollars in ITCH units × shares
        for l in locates.keys {
            riskConfig.instrumentLimits[l] = InstrumentLimits(maxOrderQuantity: size * 10, maxOrderValue: 10_000_000_000,
                                                              maxLong: maxPosition + Int64(size), maxShort: maxPosition + Int64(size),
                                                              collarBasisPoints: 100, messageBurst: 200, messagesPerSecond: 200)
        }
        riskConfig.strategyLimits[1] = StrategyLimits(maxLong: maxPosition * Int64(locates.count) + Int64(size),
                                                      maxShort: maxPosition * Int64(locates.count) + Int64(size),
                                                      messageBurst: 2_000, messagesPerSecond: 2_000, maxFills: 1_000)
        let risk: PreTradeCheck
        do { risk = try PreTradeCheck(riskConfig) } catch { throw ValidationError("risk limits: \(error)") }
        let ledger = OrderLedger(OrderLedgerConfig(orders: 1 << 16, strategies: 2, locates: 1 << 16))
        let loop = TradingLoop(entry: entry, ledger: ledger, risk: risk, board: board,
                               strategy: InventorySkewQuoter(tick: tickUnits, halfSpreadTicks: spreadTicks, size: size,
                                                             sharesPerSkewTick: skewShares, maxPosition: maxPosition), tick: tickUnits)
        for l in locates.keys { loop.quote(l) }
        print("omni run: \(locates.count) instruments (\(locates.sorted { $0.key < $1.key }.map { "\($0.value)@\($0.key)" }.joined(separator: " "))), OUCH \(ouch) as \(user), feed \(group)\(lineB == "off" ? "" : " + \(lineB)")")
        print("  quoting \(size) shares \(spreadTicks) ticks of \(tick) from the mid, skew a tick per \(skewShares) shares, at most \(maxPosition) long or short; kill at a $\(maxDailyLoss) loss")
        fflush(nil)

        // The loop: receive step, then quote what changed, send, apply the answers.
        var nextStatus = csys_monotonic_ns() + 1_000_000_000
        var idle = 0
        while StopSignals.received == 0 && !(deadline.map { csys_monotonic_ns() >= $0 } ?? false) {
            let n = try step()
            let now = csys_monotonic_ns()
            loop.pass(now: now)
            if !entry.isConnected { stderrLine("omni run: the OUCH session ended (\(entry.lastError.map { "\($0)" } ?? "closed")): stopping"); break }
            if now >= nextStatus {
                nextStatus = now + 1_000_000_000
                print(statusLine(loop, locates: locates))
                fflush(nil)
            }
            if n == 0 { idle += 1; if idle & 63 == 0 { _ = try? ra.backend.wait(timeoutNanoseconds: 200_000) } } else { idle = 0 }
        }

        // Stop: cancel everything, wait for the confirmations (bounded), log out, summarise.
        loop.cancelAll(now: csys_monotonic_ns())
        let cancelDeadline = csys_monotonic_ns() + 2_000_000_000
        while ledger.table.open > 0 && entry.isConnected && csys_monotonic_ns() < cancelDeadline {
            _ = try? step()
            loop.poll(now: csys_monotonic_ns())
            usleep(500)
        }
        let leftOpen = ledger.table.open
        entry.client.logout()
        print(summary(loop, locates: locates, elapsed: csys_monotonic_ns() - start, leftOpen: leftOpen))
        if leftOpen > 0 { throw ExitCode(1) }
    }

    func dollars(_ v: Int128) -> String {
        let cents = v / 100 // ITCH units × shares / 100 = cents
        let sign = cents < 0 ? "-" : ""
        let m = cents.magnitude
        let c = String(m % 100)
        return "\(sign)$\(m / 100).\(c.count == 1 ? "0" + c : c)"
    }

    func statusLine(_ loop: TradingLoop<OuchOrderEntry, InventorySkewQuoter>, locates: [UInt16: Symbol]) -> String {
        var realised: Int128 = 0, unrealised: Int128 = 0, fees: Int128 = 0, fills: UInt64 = 0, position: Int64 = 0
        for l in locates.keys {
            let p = loop.ledger.position(strategy: loop.strategyID, locate: l)
            let (bid, ask) = loop.board.touch(l)
            realised += p.realised; fees += p.fees; fills += p.fills; position += p.shares.magnitude > 0 ? p.shares : 0
            unrealised += p.unrealised(bid: bid, ask: ask) ?? 0
        }
        let c = loop.ledger.counters
        return "status      open \(loop.ledger.table.open), fills \(fills), realised \(dollars(realised)), unrealised \(dollars(unrealised)), fees \(dollars(fees)); requests \(loop.counters.requests), risk refused \(loop.counters.refusedByRisk), venue rejected \(c.rejected)\(loop.risk.isKilled ? ", KILLED" : "")"
    }

    func summary(_ loop: TradingLoop<OuchOrderEntry, InventorySkewQuoter>, locates: [UInt16: Symbol], elapsed: UInt64, leftOpen: Int) -> String {
        var lines = ["run ended after \(fixed(Double(elapsed) / 1e9, 1)) s"]
        lines.append("  instrument  position  realised      unrealised    fees        fills  bought  sold")
        var total: (Int128, Int128, Int128) = (0, 0, 0)
        for (l, s) in locates.sorted(by: { $0.key < $1.key }) {
            let p = loop.ledger.position(strategy: loop.strategyID, locate: l)
            let (bid, ask) = loop.board.touch(l)
            let u = p.unrealised(bid: bid, ask: ask) ?? 0
            total.0 += p.realised; total.1 += u; total.2 += p.fees
            lines.append("  \(s.description.padding(toLength: 10, withPad: " ", startingAt: 0))\(pad(String(p.shares), 10))  \(pad(dollars(p.realised), 12))  \(pad(dollars(u), 12))  \(pad(dollars(p.fees), 10))  \(pad(String(p.fills), 5))  \(pad(String(p.boughtShares), 6))  \(pad(String(p.soldShares), 6))")
        }
        lines.append("  total PnL   realised \(dollars(total.0)), unrealised \(dollars(total.1)), fees \(dollars(total.2)), net \(dollars(total.0 + total.1 - total.2))")
        let c = loop.ledger.counters
        lines.append("  orders      \(c.entered) entered, \(c.accepted) accepted, \(c.rejected) rejected, \(c.replaced) replaced, \(c.canceled) canceled (\(c.unsolicitedCancels) by the venue), \(c.fills) fills (\(c.duplicateFills) duplicates)")
        let refusals = loop.risk.refusalsByReason.filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        lines.append("  risk        \(loop.risk.passed) passed, refused: \(refusals.isEmpty ? "none" : refusals.joined(separator: ", "))\(loop.risk.isKilled ? "; kill switch on" : "")")
        lines.append("  open orders \(leftOpen) left at the end\(leftOpen > 0 ? " (NOT CONFIRMED CANCELED)" : "")")
        return lines.joined(separator: "\n")
    }
}
