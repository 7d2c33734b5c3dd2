import ArgumentParser
import CEvent
import CSys
import OmniBench
import OmniBook
import OmniControl
import OmniCore
import OmniEngine
import OmniDpdk
import OmniFeed
import OmniFeedDpdk
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

/// The FIX Logon was not answered in time.
struct FixLogonTimeout: Error, CustomStringConvertible {
    let endpoint: String, ms: Int32, state: FixSessionState
    var description: String { "FIX \(endpoint): no Logon answer within \(ms) ms (session \(state))" }
}

/// `omni run --via dpdk`: the feed's frames from a DPDK port (busy-polled, no idle wait); the
/// retransmission server still on the kernel's socket.
struct MoldFeedDpdk: TradingFeed, ~Copyable {
    var listener: MoldListener<BoardSink>
    let port: DpdkPort
    var burst: UDPBurst
    let board: QuoteBoard

    var lastPacketNs: UInt64 { listener.counters.lastBatchNs }
    var isStale: Bool { listener.session.state == .stale }
    var health: FeedHealth { listener.health }

    mutating func step() throws -> Int {
        listener.stampBoard(after: listener.stepDpdk(port: port, burst: &burst)) + (try listener.finishTradingStep())
    }

    mutating func idle(ns: UInt64) {}
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trade: a market maker quoting through pre-trade risk over OUCH or FIX, fed by a MoldUDP64 feed.",
        discussion: """
        One thread pinned to one core (--core; by default the last online core), run to \
        completion: each receive step applies the feed's packets to the books, \
        then every instrument whose touch changed is quoted by the strategy (--strategy or strategy:), \
        each request passes the \
        pre-trade checks (CRisk: quantity, value, collar, reference age, self-cross, duplicates, \
        exposure, rates, loss kill) before it goes out over OUCH or FIX (venue.protocol), and the \
        venue's answers and fills update the order ledger and risk.

        Strategies: trigger answers `omni sim --triggers` (a bid 80 ticks under the best offer, moved \
        with it: the venue stamps tick-to-trade); inventory_skew (the default: spread_ticks either side of the mid, a tick of skew \
        per skew_shares held), avellaneda_stoikov and glft (the models' parameters under model: gamma, \
        k, a, horizon, sigma_interval, sigma_window). The two models take σ from the realised \
        volatility of each instrument's mid (sampled every sigma_interval seconds) and quote nothing \
        until sigma_window returns are in (sigma_window × sigma_interval seconds of warm-up); GLFT \
        refits A and k every 5 s from our own fills by depth once its 10-minute window is full.

        Configuration: --config FILE (YAML: venue, feed, instruments, risk, status_every, strategy, model, quoting; see README, \
        "The trading loop"); without it the documented default, which trades the default `omni sim` \
        on this machine. Options given on the command line override the file.

        Kill switch (RTS 6 Art. 12): SIGUSR1, the daily loss limit, a gateway disconnect, or a stale \
        feed (no packet or heartbeat for feed.stale_after seconds, or the MoldUDP64 session stale) \
        turns risk's kill switch on and cancels every open order; one line names the trigger, and the \
        run goes on quoting nothing and refusing everything until SIGINT, --seconds, or a risk \
        officer's reset through the control plane.

        Control plane (--control, default 127.0.0.1:8470; README, "Control plane"): an HTTP API \
        (GET /openapi.json) and `omni ctl` change quoting parameters, quoting per instrument, risk \
        limits and the kill switch while the loop runs; each change is a command the loop applies \
        between passes and answers with the configuration version. Tokens by role from \
        --control-tokens; without it one admin token is written (mode 0600) where `omni ctl` finds it. \
        GET /metrics: the loop's counters, positions, PnL and latency for Prometheus (any token). \
        --control-store (default $TMPDIR/omni-run/control.sqlite, or off) keeps the configuration \
        versions the loop applied, a hash-chained audit of every change asked for, the fills and \
        the day's PnL as the snapshot shows them; a run started on the same store re-applies its \
        last configuration (limits, quoting parameters, quoting on / off) through the command ring.

        Reconnect: after a gateway disconnect the session logs in again every second (OUCH: from \
        the next sequence number, so the venue replays every answer and fill we missed; FIX: \
        sequence numbers kept, the venue's reports resent, ours gap-filled so no order goes out \
        late). Nothing is sent until the venue has answered everything it received (OUCH: its first \
        heartbeat after the replay; FIX: a TestRequest answered after the resend); a request still \
        unanswered then was lost with the connection and is answered here. The kill switch stays \
        on: what is still open is canceled, positions are the venue's.

        Tick-to-trade (status line and summary, p50/p99): in process, from the receive TSC of the \
        packet batch that changed a book to the TSC right after the pass's requests were handed to the \
        order entry's socket (OUCH: the pass's one send; FIX: each message's write), one value per \
        request a requote sent. It is not the wire: neither the NIC nor the kernel's path is in it. \
        --stage-stamps splits it per request: rx -> books (the receive step: MoldUDP64, ITCH, \
        books), books -> strategy, strategy -> risk, risk -> encoded, encoded -> sent; the summary \
        shows each stage's mean, p50 and p99, and the means adding up to the tick-to-trade histogram's mean.

        A status line every status_every seconds; SIGINT or --seconds cancels every open order, waits \
        (at most 2 s) for the venue to confirm, logs out and prints the summary per instrument. The \
        exit code is 1 when an order was left open.
        """
    )

    @Option(help: "The run configuration (YAML); without it the documented default.") var config: String?
    @Option(name: .customLong("protocol"), help: "Order entry: ouch or fix (venue.protocol).") var venueProtocol: String?
    @Option(help: "The venue's OUCH port, HOST:PORT (venue.ouch).") var ouch: String?
    @Option(help: "The venue's FIX port, HOST:PORT (venue.fix).") var fix: String?
    @Option(help: "OUCH login name / FIX SenderCompID (venue.user).") var user: String?
    @Option(help: "OUCH password (venue.password).") var password: String?
    @Option(help: "The feed's line A, ADDRESS:PORT (feed.line_a).") var group: String?
    @Option(name: .customLong("line-b"), help: "The feed's line B, ADDRESS:PORT ('off' for none) (feed.line_b).") var lineB: String?
    @Option(help: "The feed's retransmission server, HOST:PORT ('off' for none) (feed.retransmit).") var retransmit: String?
    @Option(help: "Interface name or IPv4 address the feed arrives on (feed.interface).") var interface: String?
    @Option(help: "Receive path of the feed: socket (recvmmsg), io_uring or dpdk (feed.via).") var via: String?
    @Option(help: "Datagrams per line per receive step, 1 to 1024 (feed.batch; default 8).") var batch: Int?
    @Option(help: "The core the loop is pinned to: a number, auto (the last online core) or off (core).") var core: String?
    @Option(help: "A topology file placing the stages feed and trading (topology; see README, \"Placements\").") var topology: String?
    @Option(name: .customLong("stale-after"), help: "Seconds without a feed packet or heartbeat that trip the kill switch (feed.stale_after).") var staleAfter: Double?
    @Option(help: "Symbols to quote, comma separated (replaces instruments; each takes the first instrument's parameters).") var symbols: String?
    @Option(help: "Shares per quote, every instrument.") var size: UInt32?
    @Option(name: .customLong("spread-ticks"), help: "Ticks from the mid to each quote, every instrument.") var spreadTicks: UInt32?
    @Option(help: "The instruments' tick, a decimal price, every instrument.") var tick: String?
    @Option(name: .customLong("max-position"), help: "Shares long or short at most, per instrument.") var maxPosition: Int64?
    @Option(name: .customLong("skew-shares"), help: "Shares of position that move both quotes one tick.") var skewShares: Int64?
    @Option(name: .customLong("max-daily-loss"), help: "Dollars of realised + unrealised loss that trip the kill switch (risk.max_daily_loss).") var maxDailyLoss: String?
    @Option(name: .customLong("status-every"), help: "Seconds between status lines (status_every).") var statusEvery: Double?
    @Option(help: "Stop after this many seconds (default: until SIGINT).") var seconds: Double?
    @Option(help: "The strategy: inventory_skew, avellaneda_stoikov, glft, or trigger (the answer to omni sim --triggers) (strategy).") var strategy: String?
    @Option(help: "The control plane's HTTP API, HOST:PORT, or off (control.listen; default 127.0.0.1:8470).") var control: String?
    @Option(name: .customLong("control-tokens"), help: "The control plane's tokens file (YAML: name, role, bcrypt); without it one admin token is generated at start (control.tokens).") var controlTokens: String?
    @Option(name: .customLong("control-store"), help: "The control plane's store (SQLite): config versions, the audit, fills, daily PnL; a restart resumes its last config. PATH or off (control.store; default $TMPDIR/omni-run/control.sqlite).") var controlStore: String?
    @Flag(name: .customLong("stage-stamps"), help: "Stamp each quote's stages (rx, books, strategy, risk, encoded, sent) and print where tick-to-trade goes (costs four TSC reads per request).") var stageStamps = false
    @Option(name: .customLong("hdr-out"), help: "At the end, write the tick-to-trade histogram (HdrHistogram percentile text, ns) to FILE.tick-to-trade.hgrm.") var hdrOut: String?
    @Option(help: "At the end, write an SVG plot of the tick-to-trade percentiles to FILE.") var plot: String?

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        _ = try resolved()
    }

    /// The file (or the default), then the command line's overrides.
    func resolved() throws -> RunConfig {
        var c: RunConfig
        if let path = config {
            do { c = try RunConfig(contentsOf: path) } catch { throw ValidationError("\(path): \(error)") }
        } else {
            c = RunConfig()
        }
        if let v = strategy {
            guard let k = RunConfig.StrategyKind(rawValue: v) else {
                throw ValidationError("--strategy: '\(v)' is not one of \(RunConfig.StrategyKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.strategy = k
        }
        if let v = venueProtocol {
            guard let p = RunConfig.VenueProtocol(rawValue: v.lowercased()) else { throw ValidationError("--protocol: '\(v)' is not ouch or fix") }
            c.venue.proto = p
        }
        if let v = ouch { guard let e = RunConfig.HostPort(v) else { throw ValidationError("--ouch: '\(v)' is not HOST:PORT") }; c.venue.ouch = e }
        if let v = fix { guard let e = RunConfig.HostPort(v) else { throw ValidationError("--fix: '\(v)' is not HOST:PORT") }; c.venue.fix = e }
        if let v = user { c.venue.user = v }
        if let v = password { c.venue.password = v }
        if let v = group { c.feed.lineA = v }
        if let v = lineB { c.feed.lineB = v == "off" ? nil : v }
        if let v = retransmit { c.feed.retransmit = v == "off" ? nil : v }
        if let v = interface { c.feed.interface = v }
        if let v = core {
            guard let p = RunConfig.CorePlacement(v) else { throw ValidationError("--core: '\(v)' is not a core number, auto or off") }
            c.core = p
        }
        if let v = batch {
            guard (1...1024).contains(v) else { throw ValidationError("--batch: \(v) is not 1 to 1024") }
            c.feed.batch = v
        }
        if let v = topology { c.topology = v }
        if let v = via {
            guard let p = RunConfig.FeedPath(rawValue: v) else {
                throw ValidationError("--via: '\(v)' is not one of \(RunConfig.FeedPath.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.feed.via = p
        }
        if let v = staleAfter {
            guard v > 0, v <= 3_600 else { throw ValidationError("--stale-after must be above 0 and at most 3600") }
            c.feed.staleAfterNs = UInt64(v * 1e9)
        }
        if let v = statusEvery {
            guard v > 0, v <= 3_600 else { throw ValidationError("--status-every must be above 0 and at most 3600") }
            c.statusEveryNs = UInt64(v * 1e9)
        }
        if let v = symbols {
            var list: [RunConfig.Instrument] = []
            for s in v.split(separator: ",") {
                guard Symbol(s) != nil, s.utf8.count <= 8 else { throw ValidationError("--symbols: '\(s)' is not a symbol (1 to 8 printable ASCII characters)") }
                var x = c.instruments.first ?? RunConfig.Instrument(symbol: String(s))
                x.symbol = String(s)
                list.append(x)
            }
            guard !list.isEmpty else { throw ValidationError("--symbols: no symbol given") }
            c.instruments = list
        }
        if let v = tick {
            guard let p = Price(Substring(v)), p.raw > 0, p.raw <= 10_000_000 else { throw ValidationError("--tick: '\(v)' is not a positive decimal price") }
            for i in c.instruments.indices { c.instruments[i].tick = UInt32(p.raw) }
        }
        guard size ?? 1 > 0, spreadTicks ?? 1 > 0, maxPosition ?? 1 > 0, skewShares ?? 1 > 0 else {
            throw ValidationError("--size, --spread-ticks, --max-position and --skew-shares must be positive")
        }
        for i in c.instruments.indices {
            if let v = size { c.instruments[i].size = v; c.instruments[i].maxOrderQuantity = max(c.instruments[i].maxOrderQuantity, v) }
            if let v = spreadTicks { c.instruments[i].spreadTicks = v }
            if let v = maxPosition { c.instruments[i].maxPosition = v }
            if let v = skewShares { c.instruments[i].skewShares = v }
        }
        if let v = control {
            if v == "off" { c.control.listen = nil } else {
                guard let e = RunConfig.HostPort(v, anyPort: true) else { throw ValidationError("--control: '\(v)' is not HOST:PORT (port 0: any free one) or off") }
                c.control.listen = e
            }
        }
        if let v = controlTokens { c.control.tokens = v }
        if let v = controlStore {
            guard !v.isEmpty else { throw ValidationError("--control-store: a file, or off") }
            c.control.store = v == "off" ? nil : v
        }
        if let v = maxDailyLoss {
            guard let p = Price(Substring(v)), p.raw >= 0 else { throw ValidationError("--max-daily-loss: '\(v)' is not a dollar amount") }
            c.risk.maxDailyLoss = p.raw
        }
        // The feed's endpoints, checked as the run will use them.
        _ = try parseGroup(c.feed.lineA, interface: c.feed.interface, option: "feed.line_a / --group")
        if let b = c.feed.lineB { _ = try parseGroup(b, interface: c.feed.interface, option: "feed.line_b / --line-b") }
        if let r = c.feed.retransmit { _ = try parseEndpoint(r, option: "feed.retransmit / --retransmit") }
        return c
    }

    func run() throws {
        let cfg = try resolved()
        _ = StopSignals.install()
        _ = KillSignals.install()
        KillSignals.reset()
        let start = csys_monotonic_ns()
        let deadline = seconds.map { start + UInt64($0 * 1e9) }
        var wanted: [Symbol: RunConfig.Instrument] = [:]
        for i in cfg.instruments { wanted[Symbol(Substring(i.symbol))!] = i }

        // One pinned core, run to completion (DPDK: EAL pins the thread to feed.dpdk_core); or the
        // topology's: the feed on a core of its own, the trading loop here on the other.
        var topology: RunPlacement?
        if let path = cfg.topology {
            do { topology = try RunPlacement(Topology(contentsOf: path)) } catch { throw ValidationError("topology \(path): \(error)") }
            guard topology?.split != true || cfg.feed.via != .dpdk else {
                throw ValidationError("topology \(path): the feed on a core of its own takes socket or io_uring; via dpdk, EAL pins the loop (feed.dpdk_core)")
            }
        }
        let split = topology?.split == true ? topology : nil
        // The control plane before the loop pins itself, its threads kept off the hot path's cores
        // (they inherit this thread's affinity, which leaves those cores before they start).
        var tradingCore: Int?
        switch (cfg.feed.via, cfg.core, split) {
        case (.dpdk, _, _): tradingCore = cfg.feed.dpdkCore
        case (_, _, let p?): tradingCore = p.tradingCore
        case (_, .off, nil): tradingCore = nil
        case (_, .automatic, nil), (_, .core, nil):
            var n = Int(csys_online_cores()) - 1
            if case .core(let c) = cfg.core { n = c }
            tradingCore = topology?.tradingCore ?? n // a topology with both stages on one core picks it
        }
        let control: ControlPlane?
        do { control = try ControlPlane.start(cfg, hotCores: [tradingCore, split?.feedCore].compactMap { $0 }) { print($0) } } catch {
            throw ValidationError("\(error)")
        }
        defer { control?.stop() }

        let placement: String
        switch (cfg.feed.via, tradingCore) {
        case (.dpdk, _): placement = "core \(cfg.feed.dpdkCore) (EAL)"
        case (_, nil): placement = "not pinned"
        case (_, let n?):
            try pin(n)
            placement = "core \(n)" + (split.map { ", feed on core \($0.feedCore) (ring of \($0.ringCapacity))" } ?? "")
        }

        // The feed first, on the path asked for; then everything else, specialised over it.
        let board = QuoteBoard(locates: 1 << 16)
        var mold = MoldListenerConfig()
        mold.localAddress = try interfaceAddress(cfg.feed.interface)
        mold.retransmit = try cfg.feed.retransmit.map { try parseEndpoint($0, option: "feed.retransmit") }
        mold.session.requestDelay = cfg.feed.lineB == nil ? 0 : 1_000_000
        mold.batch = cfg.feed.batch
        let replay = ITCHReplay(books: try Books())
        let listener = try MoldListener(mold, replay: replay, sink: BoardSink(board: board))
        let groupA = try parseGroup(cfg.feed.lineA, interface: cfg.feed.interface, option: "feed.line_a")
        let groupB = try cfg.feed.lineB.map { try parseGroup($0, interface: cfg.feed.interface, option: "feed.line_b") }
        switch cfg.feed.via {
        case .socket:
            let feed = try MoldFeed(listener: listener, board: board, lineA: groupA, lineB: groupB) { g throws(NetError) in
                try MulticastReceiver<SocketBackend>(g)
            }
            try trade(feed, replay: replay, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, split: split, control: control?.port)
        case .ioUring:
            let feed = try MoldFeed(listener: listener, board: board, lineA: groupA, lineB: groupB) { g throws(NetError) in
                try MulticastReceiver<IoUringBackend>(g)
            }
            try trade(feed, replay: replay, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, split: split, control: control?.port)
        case .dpdk:
            let vdev = try cfg.feed.dpdkVdev ?? "net_pcap0,iface=\(interfaceName(cfg.feed.interface))"
            var eal = EALOptions(cores: String(cfg.feed.dpdkCore), memoryMB: 256, vdevs: [vdev])
            let memory = try HugePageChoice.apply(.auto, to: &eal)
            try EAL.start(eal)
            print("omni run: feed via DPDK \(vdev) on core \(cfg.feed.dpdkCore), \(memory)")
            let feed = MoldFeedDpdk(listener: listener, port: try DpdkPort(id: 0),
                                    burst: MoldListener<BoardSink>.dpdkBurst(lineA: try parseEndpoint(cfg.feed.lineA, option: "feed.line_a"),
                                                                             lineB: try cfg.feed.lineB.map { try parseEndpoint($0, option: "feed.line_b") }),
                                    board: board)
            try trade(feed, replay: replay, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, split: split, control: control?.port)
        }
    }

    func pin(_ core: Int) throws {
        let rc = csys_pin_to_core(Int32(core))
        guard rc == 0 else { throw ValidationError("core \(core): cannot pin the loop there: \(String(cString: strerror(rc)))") }
    }

    /// The stock directory from the feed (retransmitted from the start of the day if we joined
    /// late) says which locate each symbol trades under; then, with `split`, the feed moves to a
    /// thread of its own and the loop reads its touches from the ring.
    func trade<F: TradingFeed & ~Copyable>(_ feed: consuming F, replay: ITCHReplay, cfg: RunConfig, wanted: [Symbol: RunConfig.Instrument],
                                           start: UInt64, deadline: UInt64?, placement: String, split: RunPlacement?,
                                           control: ControlPort?) throws {
        var feed = feed
        var locates: [UInt16: Symbol] = [:]
        let directoryDeadline = csys_monotonic_ns() + 10_000_000_000
        while locates.count < wanted.count {
            if try feed.step() == 0 { usleep(1_000) }
            for s in wanted.keys { if let l = replay.directory.locate(of: s) { locates[l] = s } }
            if csys_monotonic_ns() > directoryDeadline || StopSignals.received != 0 {
                let missing = wanted.keys.filter { !locates.values.contains($0) }.map(\.description)
                throw ValidationError("no stock directory entry for \(missing.joined(separator: ", ")) on \(cfg.feed.lineA) within 10 s: is the venue publishing?")
            }
        }
        guard let p = split else {
            return try trade(&feed, locates: locates, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, control: control)
        }
        let ring: EventRing
        do { ring = try EventRing(capacity: p.ringCapacity) } catch { throw ValidationError("the feed -> trading ring: \(error)") }
        let watch = FeedWatch()
        feed.board.forgetStamp() // the directory wait's changes go over unmeasured
        let board = QuoteBoard(locates: feed.board.locates)
        let thread = FeedThread(feed, ring: ring, watch: watch)
        defer { thread.stop() }
        var touches = RingFeed(board: board, ring: ring, watch: watch) {
            do { try thread.start(core: p.feedCore) } catch { throw ValidationError("the feed thread: \(error)") }
        }
        try trade(&touches, locates: locates, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, control: control)
        if watch.ringFullSteps > 0 { print("  feed ring   \(watch.ringFullSteps) receive steps found it full (their changes went with the next step's)") }
    }

    /// Risk, the ledger and the order entry, then the run.
    func trade<F: TradingFeed & ~Copyable>(_ feed: inout F, locates: [UInt16: Symbol], cfg: RunConfig, wanted: [Symbol: RunConfig.Instrument],
                                           start: UInt64, deadline: UInt64?, placement: String, control: ControlPort?) throws {
        // Risk and the ledger, from the configuration.
        var riskConfig = RiskConfig(instruments: 1 << 16, strategies: 2, orders: 1 << 16, maxDailyLoss: cfg.risk.maxDailyLoss)
        for (l, s) in locates {
            let i = wanted[s]!
            riskConfig.instrumentLimits[l] = InstrumentLimits(maxOrderQuantity: i.maxOrderQuantity, maxOrderValue: i.maxOrderValue,
                                                              maxLong: i.maxPosition + Int64(i.size), maxShort: i.maxPosition + Int64(i.size),
                                                              collarBasisPoints: i.collarBasisPoints, messageBurst: i.messagesPerSecond,
                                                              messagesPerSecond: i.messagesPerSecond)
        }
        riskConfig.strategyLimits[1] = StrategyLimits(maxLong: cfg.strategyMaxPosition, maxShort: cfg.strategyMaxPosition,
                                                      messageBurst: cfg.risk.messagesPerSecond, messagesPerSecond: cfg.risk.messagesPerSecond,
                                                      maxFills: cfg.risk.maxFillsPerSecond)
        let risk: PreTradeCheck
        do { risk = try PreTradeCheck(riskConfig) } catch { throw ValidationError("risk limits: \(error)") }
        // Client order ids new to the venue for the day, whatever runs logged in under this name before.
        let ledger = OrderLedger(OrderLedgerConfig(orders: 1 << 16, strategies: 2, locates: 1 << 16,
                                                   firstGeneration: OrderLedgerConfig.dayUniqueGeneration(secondsSinceMidnight: UInt32(csys_ns_since_midnight_utc() / 1_000_000_000))))
        let symbolsByLocate = locates.mapValues(\.description)

        // The order entry: one instantiation of the loop per protocol (no existential on the hot path).
        switch cfg.venue.proto {
        case .ouch:
            var soup = SoupClientConfig(host: cfg.venue.ouch.host, port: cfg.venue.ouch.port, username: cfg.venue.user, password: cfg.venue.password)
            soup.connectTimeoutMs = cfg.venue.connectTimeoutMs
            soup.loginTimeoutMs = cfg.venue.connectTimeoutMs
            let entry = OuchOrderEntry(soup, symbols: symbolsByLocate)
            do { try entry.connect() } catch { throw ValidationError("OUCH \(cfg.venue.ouch): \(error)") }
            try trade(entry, label: "OUCH \(cfg.venue.ouch) as \(cfg.venue.user), on \(placement)", cfg: cfg, feed: &feed, risk: risk, ledger: ledger,
                      locates: locates, wanted: wanted, start: start, deadline: deadline, control: control)
        case .fix:
            let fixConfig = FixSessionConfig(senderCompID: cfg.venue.senderCompID ?? cfg.venue.user, targetCompID: cfg.venue.targetCompID,
                                             heartBtInt: 30, storeDirectory: cfg.fixStoreDirectory, resetOnLogon: true,
                                             resendApplicationMessages: false)
            if let problem = FixFileStore.prepareDirectory(cfg.fixStoreDirectory) {
                throw ValidationError("venue.fix_store \(cfg.fixStoreDirectory): \(problem)")
            }
            let entry: FixOrderEntry
            do {
                entry = try FixOrderEntry(host: cfg.venue.fix.host, port: cfg.venue.fix.port, timeoutMs: cfg.venue.connectTimeoutMs,
                                          config: fixConfig, symbols: symbolsByLocate)
            } catch { throw ValidationError("\(error)") }
            let logonDeadline = csys_monotonic_ns() + UInt64(cfg.venue.connectTimeoutMs) * 1_000_000
            while !entry.isLoggedOn && entry.session.isOpen && csys_monotonic_ns() < logonDeadline { _ = entry.session.pollOnce(timeoutMs: 10) }
            guard entry.isLoggedOn else {
                let e = FixLogonTimeout(endpoint: cfg.venue.fix.description, ms: cfg.venue.connectTimeoutMs, state: entry.session.state)
                entry.session.disconnect("no logon")
                throw ValidationError("\(e)")
            }
            try trade(entry, label: "FIX \(cfg.venue.fix) as \(fixConfig.senderCompID) -> \(cfg.venue.targetCompID), on \(placement)", cfg: cfg, feed: &feed,
                      risk: risk, ledger: ledger, locates: locates, wanted: wanted, start: start, deadline: deadline, control: control)
        }
    }

    /// The run itself, specialised per order entry and per strategy (no existential on the hot path).
    func trade<Entry: GatewaySession, F: TradingFeed & ~Copyable>(_ entry: Entry, label: String, cfg: RunConfig, feed: inout F, risk: PreTradeCheck, ledger: OrderLedger,
                                      locates: [UInt16: Symbol], wanted: [Symbol: RunConfig.Instrument], start: UInt64, deadline: UInt64?,
                                      control: ControlPort?) throws {
        let byLocate = locates.mapValues { wanted[$0]! }
        let first = cfg.instruments[0]
        let same = cfg.instruments.allSatisfy { $0.tick == first.tick && $0.size == first.size && $0.spreadTicks == first.spreadTicks && $0.skewShares == first.skewShares && $0.maxPosition == first.maxPosition }
        let m = cfg.model
        let warmUp = "no quote for the first \(fixed(Double(m.sigmaIntervalNs) * Double(m.sigmaWindow) / 1e9, 1)) s (σ: \(m.sigmaWindow) returns of \(Double(m.sigmaIntervalNs) / 1e9) s)"
        switch cfg.strategy {
        case .inventorySkew:
            try trade(entry, strategy: InstrumentQuoters(byLocate), label: label, cfg: cfg, feed: &feed, risk: risk, ledger: ledger, locates: locates,
                      start: start, deadline: deadline, control: control,
                      quoting: "inventory_skew, \(same ? "" : "(first instrument) ")\(first.size) shares \(first.spreadTicks) ticks of \(Price(raw: Int64(first.tick))) from the mid, skew a tick per \(first.skewShares) shares")
        case .avellanedaStoikov:
            try trade(entry, strategy: ModelQuoters(avellanedaStoikov: byLocate, model: m), label: label, cfg: cfg, feed: &feed, risk: risk, ledger: ledger,
                      locates: locates, start: start, deadline: deadline, control: control,
                      quoting: "avellaneda_stoikov γ \(m.gamma) k \(m.k)/tick horizon \(m.horizonSeconds) s, \(same ? "" : "(first instrument) ")\(first.size) shares, q in quotes; \(warmUp)")
        case .glft:
            try trade(entry, strategy: ModelQuoters(glft: byLocate, model: m), label: label, cfg: cfg, feed: &feed, risk: risk, ledger: ledger,
                      locates: locates, start: start, deadline: deadline, control: control,
                      quoting: "glft γ \(m.gamma) k \(m.k)/tick A \(m.a)/s (refitted from our fills), \(same ? "" : "(first instrument) ")\(first.size) shares, q in quotes; \(warmUp)")
        case .trigger:
            try trade(entry, strategy: TriggerQuoter(tick: first.tick, size: first.size), label: label, cfg: cfg, feed: &feed, risk: risk, ledger: ledger,
                      locates: locates, start: start, deadline: deadline, control: control,
                      quoting: "trigger: one bid of \(first.size) shares 80 ticks under the best offer, moved with it (the answer to omni sim --triggers)")
        }
    }

    func trade<Entry: GatewaySession, S: Strategy, F: TradingFeed & ~Copyable>(_ entry: Entry, strategy: S, label: String, cfg: RunConfig, feed: inout F, risk: PreTradeCheck,
                                                   ledger: OrderLedger, locates: [UInt16: Symbol], start: UInt64, deadline: UInt64?, control: ControlPort?,
                                                   quoting: String) throws {
        let board = feed.board
        let first = cfg.instruments[0]
        // The refresh rule (replace when a target moves a tick or more) counts in the finest tick.
        let loop = TradingLoop(entry: entry, ledger: ledger, risk: risk, board: board, strategy: strategy, tick: cfg.instruments.map(\.tick).min()!,
                               rule: cfg.quoting)
        if stageStamps { loop.stages = StageStamps() }
        for (l, s) in locates {
            loop.quote(l)
            if let i = cfg.instruments.first(where: { $0.symbol == s.description }) { loop.setMaxPosition(i.maxPosition, locate: l) }
        }
        print("omni run: \(locates.count) instruments (\(locates.sorted { $0.key < $1.key }.map { "\($0.value)@\($0.key)" }.joined(separator: " "))), \(label), feed \(cfg.feed.lineA)\(cfg.feed.lineB.map { " + \($0)" } ?? "") via \(cfg.feed.via.rawValue)")
        let q = cfg.quoting
        print("  quoting \(quoting), \(q.levels) level\(q.levels == 1 ? "" : "s") per side\(q.levels > 1 ? " \(q.spacingTicks) ticks apart" : ""), replaced on a \(q.refreshTicks)-tick move\(q.minRestNs > 0 ? " after \(Double(q.minRestNs) / 1e9) s at rest" : ""), at most \(first.maxPosition) long or short; kill at a \(dollars(Int128(cfg.risk.maxDailyLoss))) loss, on SIGUSR1, a disconnect, or \(Double(cfg.feed.staleAfterNs) / 1e9) s of feed silence")
        fflush(nil)

        // The control plane's commands address instruments in the configuration's order.
        control?.bind(locates: cfg.instruments.map { i in locates.first { $0.value.description == i.symbol }!.key })

        // The loop: receive step, then quote what changed, send, apply the answers; the kill
        // switch's triggers once per pass; the control plane's commands before
        // the pass (its next decision uses them), its snapshot after.
        board.forgetStamp() // the directory wait's changes are quoted on the first pass, not measured
        var watch = KillSwitchWatch(staleAfterNs: cfg.feed.staleAfterNs)
        var recovery = GatewayRecovery()
        func recover(_ now: UInt64) {
            guard let news = recovery.step(loop, now: now) else { return }
            switch news {
            case .attemptFailed(let n, let e): print("gateway     reconnect attempt \(n) failed: \(e); again in \(recovery.intervalNs / 1_000_000) ms")
            case .reconnected(let what): print("gateway     \(what); recovering (nothing sent until the venue's replay has ended)")
            case .recovered(let lost, let asked): print("gateway     recovered: the venue's answers applied, \(lost) request\(lost == 1 ? "" : "s") lost with the connection answered here\(asked > 0 ? ", the status of \(asked) open order\(asked == 1 ? "" : "s") asked" : ""); kill switch stays on until a person resets it")
            }
            fflush(nil)
        }
        var nextStatus = csys_monotonic_ns() + cfg.statusEveryNs
        var idle = 0
        while StopSignals.received == 0 && !(deadline.map { csys_monotonic_ns() >= $0 } ?? false) {
            let n = try feed.step()
            let now = csys_monotonic_ns()
            loop.retryCancels = entry.isUp
            if let control {
                if control.drain(loop, now: now) > 0 && watch.trigger != nil && !loop.risk.isKilled {
                    KillSignals.reset()
                    watch.rearm()
                    print("kill switch reset by the control plane: risk passes orders again, quoting resumes")
                    fflush(nil)
                }
            }
            loop.pass(now: now)
            control?.publish(loop, now: now, feed: feed.health, stale: feed.isStale, gatewayUp: entry.isUp)
            if let t = watch.check(loop, signal: KillSignals.received != 0, connected: entry.isUp, disconnectReason: entry.problem,
                                   lastPacketNs: feed.lastPacketNs, sessionStale: feed.isStale, now: now) {
                print("KILL SWITCH ON: \(t) -> risk refuses everything, \(loop.ledger.table.open) open orders being canceled; quoting nothing until SIGINT or a reset (POST /v1/kill/reset)")
                fflush(nil)
            }
            recover(now)
            if now >= nextStatus {
                nextStatus = now + cfg.statusEveryNs
                print(statusLine(loop, locates: locates, feed: feed.health))
                fflush(nil)
            }
            if n == 0 { idle += 1; if idle & 63 == 0 { feed.idle(ns: 200_000) } } else { idle = 0 }
        }

        // Stop: cancel everything, wait for the confirmations (bounded), log out, summarise.
        let stopNs = csys_monotonic_ns()
        loop.cancelAll(now: stopNs)
        // A session that is down is logged in again (within the same deadline) so the cancels can
        // go; the loop, stopping, quotes nothing and sends a refused cancel again every 100 ms.
        let cancelDeadline = stopNs + 3_000_000_000
        while ledger.table.open > 0 && csys_monotonic_ns() < cancelDeadline {
            _ = try? feed.step()
            let now = csys_monotonic_ns()
            loop.retryCancels = entry.isUp
            loop.pass(now: now)
            recover(now)
            usleep(500)
        }
        let leftOpen = ledger.table.open
        entry.close()
        print(summary(loop, locates: locates, feed: feed.health, elapsed: csys_monotonic_ns() - start, leftOpen: leftOpen, trigger: watch.trigger))
        try writeLatency(loop)
        if leftOpen > 0 { throw ExitCode(1) }
    }

    /// --hdr-out and --plot: the run's tick-to-trade distribution, for a file and a picture.
    func writeLatency<E: OrderEntry, S: Strategy>(_ loop: TradingLoop<E, S>) throws {
        guard hdrOut != nil || plot != nil else { return }
        let ns = loop.tickToTradeHistogramNs()
        guard ns.totalCount > 0 else { print("  no tick-to-trade values recorded: no histogram or plot written"); return }
        let curve = LatencyCurve(name: "tick-to-trade", label: "tick-to-trade (\(ns.totalCount))", color: "#1f77b4", dashed: false, histogram: ns)
        if let f = hdrOut { for path in try writeHistograms([curve], to: f) { print("  histogram   \(path)") } }
        if let f = plot {
            try writePlot([curve], title: "omni run: tick-to-trade, in process",
                          subtitle: "packet batch received -> requests handed to the order entry's socket; \(ns.totalCount) requests",
                          yLabel: "tick-to-trade", to: f)
            print("  plot        \(f)")
        }
    }

    /// A venue's reason code as a person reads it: OUCH 4.2's reject / cancel-reject characters,
    /// FIX's OrdRejReason (103) / CxlRejReason (102) codes.
    func reasonName(_ r: UInt16) -> String {
        let detail = r & 0xFF
        switch r & 0xF00 {
        case UInt16(OMNI_REASON_OUCH):
            let c = Character(Unicode.Scalar(UInt8(detail)))
            let known: [Character: String] = ["X": "invalid price", "Z": "invalid shares", "S": "invalid stock", "C": "exchange closed",
                                              "H": "halted", "O": "other", "I": "cancel rejected", "D": "invalid display", "T": "test mode"]
            return "OUCH '\(c)'\(known[c].map { " (\($0))" } ?? "")"
        case UInt16(OMNI_REASON_FIX):
            return "FIX \(detail)"
        default:
            return "reason 0x\(String(r, radix: 16))"
        }
    }

    func dollars(_ v: Int128) -> String {
        let cents = v / 100 // ITCH units × shares / 100 = cents
        let sign = cents < 0 ? "-" : ""
        let m = cents.magnitude
        let c = String(m % 100)
        return "\(sign)$\(m / 100).\(c.count == 1 ? "0" + c : c)"
    }

    func tickToTrade<E: OrderEntry, S: Strategy>(_ loop: TradingLoop<E, S>) -> String {
        let (v, n) = loop.tickToTradeNs(percentiles: [50, 99])
        return n == 0 ? "tick-to-trade none yet" : "tick-to-trade p50 \(v[0]) ns p99 \(v[1]) ns (\(n))"
    }

    func statusLine<E: OrderEntry, S: Strategy>(_ loop: TradingLoop<E, S>, locates: [UInt16: Symbol], feed h: FeedHealth) -> String {
        var realised: Int128 = 0, unrealised: Int128 = 0, fees: Int128 = 0, fills: UInt64 = 0, position: Int64 = 0
        for l in locates.keys {
            let p = loop.ledger.position(strategy: loop.strategyID, locate: l)
            let (bid, ask) = loop.board.touch(l)
            realised += p.realised; fees += p.fees; fills += p.fills; position += p.shares.magnitude > 0 ? p.shares : 0
            unrealised += p.unrealised(bid: bid, ask: ask) ?? 0
        }
        let c = loop.ledger.counters
        return "status      open \(loop.ledger.table.open), fills \(fills), realised \(dollars(realised)), unrealised \(dollars(unrealised)), fees \(dollars(fees)); requests \(loop.counters.requests), risk refused \(loop.counters.refusedByRisk), venue rejected \(c.rejected); feed \(grouped(h.delivered)) msgs, \(h.gapsOpened) gaps\(h.gapsLost > 0 ? " (\(h.gapsLost) lost)" : ""), \(h.fullBatches) full batches; \(tickToTrade(loop))\(loop.risk.isKilled ? "; KILLED" : "")"
    }

    func summary<E: OrderEntry, S: Strategy>(_ loop: TradingLoop<E, S>, locates: [UInt16: Symbol], feed h: FeedHealth, elapsed: UInt64, leftOpen: Int,
                                trigger: KillTrigger?) -> String {
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
        let venueRefusals = loop.venueRefusalsByReason().map { "\(reasonName($0.reason)) \($0.count)" }
        lines.append("  venue       refused: \(venueRefusals.isEmpty ? "none" : venueRefusals.joined(separator: ", "))")
        let refusals = loop.risk.refusalsByReason.filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        lines.append("  risk        \(loop.risk.passed) passed, refused: \(refusals.isEmpty ? "none" : refusals.joined(separator: ", "))\(loop.risk.isKilled ? "; kill switch on (\(trigger.map { "\($0)" } ?? "\(loop.risk.killReason.map { "\($0)" } ?? "?")"))" : "")")
        lines.append("  latency     \(tickToTrade(loop)): packet batch received -> requests handed to the order entry's socket, in process")
        if let f = loop.stageFiguresNs() {
            lines.append("  stages      per request (\(f.requests)), mean / p50 / p99 ns: " + f.stages.map { "\($0.name) \(fixed($0.mean, 0)) / \($0.p50) / \($0.p99)" }.joined(separator: "; "))
            lines.append("              the stages' means add up to \(fixed(f.stages.reduce(0) { $0 + $1.mean }, 0)) ns, the tick-to-trade histogram's mean \(fixed(f.totalMean, 0)) ns")
        }
        lines.append("  feed        \(grouped(h.delivered)) messages in \(grouped(h.packets)) packets (\(grouped(UInt64(h.messagesPerSecond))) msgs/s first to last packet); gaps \(h.gapsOpened) seen, \(h.gapsFilled) filled, \(h.gapsLost) lost; \(grouped(h.fullBatches)) of \(grouped(h.batches)) receive batches full (the loop behind the feed)")
        lines.append("  open orders \(leftOpen) left at the end\(leftOpen > 0 ? " (NOT CONFIRMED CANCELED)" : "")")
        return lines.joined(separator: "\n")
    }
}
