import CEvent
import CSys
import Logging
import OmniBook
import OmniCore
import OmniEngine
import OmniFeed
import OmniGateway
import OmniNet
import OmniOrders
import OmniRisk
import OmniStrategy
import OmniWire

#if canImport(Glibc)
import Glibc
#endif

/// The FIX Logon was not answered in time.
public struct FixLogonTimeout: Error, CustomStringConvertible {
    let endpoint: String, ms: Int32, state: FixSessionState
    public var description: String { "FIX \(endpoint): no Logon answer within \(ms) ms (session \(state))" }
}

/// What `omni run` is given: the configuration file and the command line's overrides of it,
/// the run's length, stage stamps and the latency files.
public protocol RunOptions {
    var config: String? { get }
    var venueProtocol: String? { get }
    var ouch: String? { get }
    var fix: String? { get }
    var user: String? { get }
    var password: String? { get }
    var group: String? { get }
    var lineB: String? { get }
    var retransmit: String? { get }
    var interface: String? { get }
    var via: String? { get }
    var orderTx: String? { get }
    var sqpollCore: Int? { get }
    var soBusyPoll: Int? { get }
    var batch: Int? { get }
    var core: String? { get }
    var topology: String? { get }
    var staleAfter: Double? { get }
    var symbols: String? { get }
    var size: UInt32? { get }
    var spreadTicks: UInt32? { get }
    var tick: String? { get }
    var maxPosition: Int64? { get }
    var skewShares: Int64? { get }
    var maxDailyLoss: String? { get }
    var statusEvery: Double? { get }
    var seconds: Double? { get }
    var strategy: String? { get }
    var control: String? { get }
    var controlTokens: String? { get }
    var controlStore: String? { get }
    var controlTlsCert: String? { get }
    var controlTlsKey: String? { get }
    var stageStamps: Bool { get }
    var hdrOut: String? { get }
    var plot: String? { get }
}

extension RunOptions {
    /// The control plane's TLS files: both or neither, each a readable file; a refusal names the
    /// option, the configuration key and the file.
    static func checkTLSFiles(_ c: RunConfig.Control) throws {
        switch (c.tlsCert, c.tlsKey) {
        case (nil, nil): return
        case (let cert?, nil):
            throw CommandError.refused("--control-tls-key / control.tls_key missing: the certificate \(cert) is given without its private key (both or neither)")
        case (nil, let key?):
            throw CommandError.refused("--control-tls-cert / control.tls_cert missing: the private key \(key) is given without its certificate (both or neither)")
        case (let cert?, let key?):
            for (option, path) in [("--control-tls-cert / control.tls_cert", cert), ("--control-tls-key / control.tls_key", key)] {
                var st = stat()
                guard stat(path, &st) == 0 else { throw CommandError.refused("\(option) \(path): \(String(cString: strerror(errno)))") }
                guard (st.st_mode & S_IFMT) == S_IFREG else { throw CommandError.refused("\(option) \(path): not a file") }
                guard access(path, R_OK) == 0 else { throw CommandError.refused("\(option) \(path): not readable: \(String(cString: strerror(errno)))") }
            }
        }
    }

    /// The file (or the default), then the command line's overrides.
    public func resolved() throws -> RunConfig {
        var c: RunConfig
        if let path = config {
            do { c = try RunConfig(contentsOf: path) } catch { throw CommandError.refused("\(path): \(error)") }
        } else {
            c = RunConfig()
        }
        if let v = strategy {
            guard let k = RunConfig.StrategyKind(rawValue: v) else {
                throw CommandError.refused("--strategy: '\(v)' is not one of \(RunConfig.StrategyKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.strategy = k
        }
        if let v = venueProtocol {
            guard let p = RunConfig.VenueProtocol(rawValue: v.lowercased()) else { throw CommandError.refused("--protocol: '\(v)' is not ouch or fix") }
            c.venue.proto = p
        }
        if let v = ouch { guard let e = RunConfig.HostPort(v) else { throw CommandError.refused("--ouch: '\(v)' is not HOST:PORT") }; c.venue.ouch = e }
        if let v = fix { guard let e = RunConfig.HostPort(v) else { throw CommandError.refused("--fix: '\(v)' is not HOST:PORT") }; c.venue.fix = e }
        if let v = user { c.venue.user = v }
        if let v = password { c.venue.password = v }
        if let v = group { c.feed.lineA = v }
        if let v = lineB { c.feed.lineB = v == "off" ? nil : v }
        if let v = retransmit { c.feed.retransmit = v == "off" ? nil : v }
        if let v = interface { c.feed.interface = v }
        if let v = core {
            guard let p = RunConfig.CorePlacement(v) else { throw CommandError.refused("--core: '\(v)' is not a core number, auto or off") }
            c.core = p
        }
        if let v = batch {
            guard (1...1024).contains(v) else { throw CommandError.refused("--batch: \(v) is not 1 to 1024") }
            c.feed.batch = v
        }
        if let v = topology { c.topology = v }
        if let v = via {
            guard let p = RunConfig.FeedPath(rawValue: v) else {
                throw CommandError.refused("--via: '\(v)' is not one of \(RunConfig.FeedPath.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.feed.via = p
        }
        if let v = orderTx {
            guard let p = RunConfig.OrderTransmitPath(rawValue: v) else {
                throw CommandError.refused("--order-tx: '\(v)' is not one of \(RunConfig.OrderTransmitPath.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.venue.orderTransmit = p
        }
        if let v = sqpollCore {
            guard (0...1023).contains(v) else { throw CommandError.refused("--sqpoll-core: \(v) is not a core number 0 to 1023") }
            c.venue.sqpollCore = v
        }
        if let v = soBusyPoll {
            guard (0...1_000_000).contains(v) else { throw CommandError.refused("--so-busy-poll: \(v) is not 0 to 1000000 µs") }
            c.venue.busyPollMicroseconds = v; c.feed.busyPollMicroseconds = v
        }
        if let v = staleAfter {
            guard v > 0, v <= 3_600 else { throw CommandError.refused("--stale-after must be above 0 and at most 3600") }
            c.feed.staleAfterNs = UInt64(v * 1e9)
        }
        if let v = statusEvery {
            guard v > 0, v <= 3_600 else { throw CommandError.refused("--status-every must be above 0 and at most 3600") }
            c.statusEveryNs = UInt64(v * 1e9)
        }
        if let v = symbols {
            var list: [RunConfig.Instrument] = []
            for s in v.split(separator: ",") {
                guard Symbol(s) != nil, s.utf8.count <= 8 else { throw CommandError.refused("--symbols: '\(s)' is not a symbol (1 to 8 printable ASCII characters)") }
                var x = c.instruments.first ?? RunConfig.Instrument(symbol: String(s))
                x.symbol = String(s)
                list.append(x)
            }
            guard !list.isEmpty else { throw CommandError.refused("--symbols: no symbol given") }
            c.instruments = list
        }
        if let v = tick {
            guard let p = Price(Substring(v)), p.raw > 0, p.raw <= 10_000_000 else { throw CommandError.refused("--tick: '\(v)' is not a positive decimal price") }
            for i in c.instruments.indices { c.instruments[i].tick = UInt32(p.raw) }
        }
        guard size ?? 1 > 0, spreadTicks ?? 1 > 0, maxPosition ?? 1 > 0, skewShares ?? 1 > 0 else {
            throw CommandError.refused("--size, --spread-ticks, --max-position and --skew-shares must be positive")
        }
        for i in c.instruments.indices {
            if let v = size { c.instruments[i].size = v; c.instruments[i].maxOrderQuantity = max(c.instruments[i].maxOrderQuantity, v) }
            if let v = spreadTicks { c.instruments[i].spreadTicks = v }
            if let v = maxPosition { c.instruments[i].maxPosition = v }
            if let v = skewShares { c.instruments[i].skewShares = v }
        }
        if let v = control {
            if v == "off" { c.control.listen = nil } else {
                guard let e = RunConfig.HostPort(v, anyPort: true) else { throw CommandError.refused("--control: '\(v)' is not HOST:PORT (port 0: any free one) or off") }
                c.control.listen = e
            }
        }
        if let v = controlTokens { c.control.tokens = v }
        if let v = controlStore {
            do { _ = try ControlStoreAddress.parse(v) } catch { throw CommandError.refused("--control-store: \(error.problem)") }
            c.control.store = v == "off" ? nil : v
        }
        if let v = controlTlsCert { c.control.tlsCert = v }
        if let v = controlTlsKey { c.control.tlsKey = v }
        if c.control.listen != nil { try Self.checkTLSFiles(c.control) }
        if let v = maxDailyLoss {
            guard let p = Price(Substring(v)), p.raw >= 0 else { throw CommandError.refused("--max-daily-loss: '\(v)' is not a dollar amount") }
            c.risk.maxDailyLoss = p.raw
        }
        // The feed's endpoints, checked as the run will use them.
        _ = try parseGroup(c.feed.lineA, interface: c.feed.interface, option: "feed.line_a / --group")
        if let b = c.feed.lineB { _ = try parseGroup(b, interface: c.feed.interface, option: "feed.line_b / --line-b") }
        if let r = c.feed.retransmit { _ = try parseEndpoint(r, option: "feed.retransmit / --retransmit") }
        return c
    }

    /// `omni run`: the configuration resolved, the control plane started (`startControl`, off
    /// `hotCores`), the loop pinned, the feed opened on its path (`openDpdk` opens DPDK's),
    /// the stock directory awaited, risk, ledger and order entry set up, then the loop until
    /// SIGINT or `seconds`; the summary printed. An order left open ends it with exit status 1.
    public func trade<D: TradingFeed & ~Copyable>(startControl: (RunConfig, _ hotCores: [Int]) throws -> (port: ControlPort, stop: () -> Void)?,
                                                  openDpdk: (consuming MoldListener<BoardSink>, QuoteBoard, RunConfig) throws -> D) throws {
        let cfg = try resolved()
        // SIGINT / SIGTERM stay ours, not ServiceLifecycle's: the pinned loop polls them between passes; its end stops the control plane's ServiceGroup gracefully (control?.stop()).
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
            do { topology = try RunPlacement(Topology(contentsOf: path)) } catch { throw CommandError.refused("topology \(path): \(error)") }
            guard topology?.split != true || cfg.feed.via != .dpdk else {
                throw CommandError.refused("topology \(path): the feed on a core of its own takes socket or io_uring; via dpdk, EAL pins the loop (feed.dpdk_core)")
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
        let control: (port: ControlPort, stop: () -> Void)?
        do { control = try startControl(cfg, [tradingCore, split?.feedCore].compactMap { $0 }) } catch {
            throw CommandError.refused("\(error)")
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
        // Books sized for the run's instruments, their memory taken now; a feed with more outgrows the pools, counted.
        let replay = ITCHReplay(books: try Books(memory: .sized(instruments: cfg.instruments.count)))
        print("books       \(replay.books.memoryReport)")
        let listener = try MoldListener(mold, replay: replay, sink: BoardSink(board: board))
        let groupA = try parseGroup(cfg.feed.lineA, interface: cfg.feed.interface, option: "feed.line_a")
        let groupB = try cfg.feed.lineB.map { try parseGroup($0, interface: cfg.feed.interface, option: "feed.line_b") }
        var receive = ReceiveOptions()
        receive.busyPollMicroseconds = cfg.feed.busyPollMicroseconds
        switch cfg.feed.via {
        case .socket:
            let feed = try MoldFeed(listener: listener, board: board, lineA: groupA, lineB: groupB) { g throws(NetError) in
                try MulticastReceiver<SocketBackend>(g, options: receive)
            }
            try trade(feed, replay: replay, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, split: split, control: control?.port)
        case .ioUring:
            let feed = try MoldFeed(listener: listener, board: board, lineA: groupA, lineB: groupB) { g throws(NetError) in
                try MulticastReceiver<IoUringBackend>(g, options: receive)
            }
            try trade(feed, replay: replay, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, split: split, control: control?.port)
        case .dpdk:
            let feed = try openDpdk(listener, board, cfg)
            try trade(feed, replay: replay, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, split: split, control: control?.port)
        }
    }

    func pin(_ core: Int) throws {
        let rc = csys_pin_to_core(Int32(core))
        guard rc == 0 else { throw CommandError.refused("core \(core): cannot pin the loop there: \(String(cString: strerror(-rc)))") }
    }

    /// The stock directory from the feed (retransmitted from the start of the day if we joined
    /// late) says which locate each symbol trades under; then, with `split`, the feed moves to an
    /// engine source stage on a core of its own and the loop reads its touches from the ring.
    private func trade<F: TradingFeed & ~Copyable>(_ feed: consuming F, replay: ITCHReplay, cfg: RunConfig, wanted: [Symbol: RunConfig.Instrument],
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
                throw CommandError.refused("no stock directory entry for \(missing.joined(separator: ", ")) on \(cfg.feed.lineA) within 10 s: is the venue publishing?")
            }
        }
        defer { // a day that outgrew the books' pools says so at the end
            let k = replay.books.kernel.pointee
            if k.pages_from_heap > 0 || k.level_blocks_from_heap > 0 { print("  books       \(replay.books.memoryReport)") }
        }
        guard let p = split else {
            return try trade(&feed, locates: locates, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, control: control)
        }
        let ring: EventRing
        do { ring = try EventRing(capacity: p.ringCapacity) } catch { throw CommandError.refused("the feed -> trading ring: \(error)") }
        let watch = FeedWatch()
        feed.board.forgetStamp() // the directory wait's changes go over unmeasured
        let board = QuoteBoard(locates: feed.board.locates)
        let stage = FeedStage(feed, ring: ring, watch: watch, core: p.feedCore, wait: p.feedWait)
        defer { stage.stop() }
        var touches = RingFeed(board: board, ring: ring, watch: watch) {
            do { try stage.start() } catch { throw CommandError.refused("the feed stage: \(error)") }
        }
        try trade(&touches, locates: locates, cfg: cfg, wanted: wanted, start: start, deadline: deadline, placement: placement, control: control)
        if stage.control.fullWaits > 0 { print("  feed ring   \(stage.control.fullWaits) touches found it full and waited for room (full: block, none lost)") }
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
        do { risk = try PreTradeCheck(riskConfig) } catch { throw CommandError.refused("risk limits: \(error)") }
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
            soup.transmit = cfg.venue.orderTransmit == .ioUring ? .ioUring(sqpoll: true, sqpollCore: cfg.venue.sqpollCore) : .send
            soup.busyPollMicroseconds = cfg.venue.busyPollMicroseconds
            let entry = OuchOrderEntry(soup, symbols: symbolsByLocate)
            do { try entry.connect() } catch { throw CommandError.refused("OUCH \(cfg.venue.ouch): \(error)") }
            let tx = cfg.venue.orderTransmit == .ioUring ? ", orders through io_uring SQPOLL (\(cfg.venue.sqpollCore.map { "its thread on core \($0)" } ?? "its thread not pinned"))" : ""
            let busy = cfg.venue.busyPollMicroseconds > 0 ? ", SO_BUSY_POLL \(cfg.venue.busyPollMicroseconds) µs" : ""
            try trade(entry, label: "OUCH \(cfg.venue.ouch) as \(cfg.venue.user)\(tx)\(busy), on \(placement)", cfg: cfg, feed: &feed, risk: risk, ledger: ledger,
                      locates: locates, wanted: wanted, start: start, deadline: deadline, control: control)
            if let t = entry.client.soup.transmitStats {
                print("  order tx    io_uring SQPOLL: \(t.sends) sends, \(t.bytes) bytes; \(t.wakeups) found its thread asleep (one io_uring_enter each), the rest no syscall")
            }
        case .fix:
            let fixConfig = FixSessionConfig(senderCompID: cfg.venue.senderCompID ?? cfg.venue.user, targetCompID: cfg.venue.targetCompID,
                                             heartBtInt: 30, storeDirectory: cfg.fixStoreDirectory, resetOnLogon: true,
                                             resendApplicationMessages: false)
            if let problem = FixFileStore.prepareDirectory(cfg.fixStoreDirectory) {
                throw CommandError.refused("venue.fix_store \(cfg.fixStoreDirectory): \(problem)")
            }
            let entry: FixOrderEntry
            do {
                entry = try FixOrderEntry(host: cfg.venue.fix.host, port: cfg.venue.fix.port, timeoutMs: cfg.venue.connectTimeoutMs,
                                          config: fixConfig, symbols: symbolsByLocate)
            } catch { throw CommandError.refused("\(error)") }
            let logonDeadline = csys_monotonic_ns() + UInt64(cfg.venue.connectTimeoutMs) * 1_000_000
            while !entry.isLoggedOn && entry.session.isOpen && csys_monotonic_ns() < logonDeadline { _ = entry.session.pollOnce(timeoutMs: 10) }
            guard entry.isLoggedOn else {
                let e = FixLogonTimeout(endpoint: cfg.venue.fix.description, ms: cfg.venue.connectTimeoutMs, state: entry.session.state)
                entry.session.disconnect("no logon")
                throw CommandError.refused("\(e)")
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
        loop.journal = control?.journalTap()

        // The loop: receive step, then quote what changed, send, apply the answers; the kill
        // switch's triggers once per pass; the control plane's commands before
        // the pass (its next decision uses them), its snapshot after.
        board.forgetStamp() // the directory wait's changes are quoted on the first pass, not measured
        var watch = KillSwitchWatch(staleAfterNs: cfg.feed.staleAfterNs)
        var recovery = GatewayRecovery()
        // Log lines (swift-log) of the run's events, made once here: a line is formatted only on a
        // rare event (a disconnect, a reconnect, the kill switch, a lost gap), between passes.
        var gatewayLog = Logger(label: "omni.gateway")
        gatewayLog[metadataKey: "endpoint"] = "\(cfg.venue.proto == .ouch ? cfg.venue.ouch : cfg.venue.fix)"
        let riskLog = Logger(label: "omni.risk"), feedLog = Logger(label: "omni.feed")
        var gatewayUp = entry.isUp, feedStale = false, gapsLost: UInt64 = 0
        func recover(_ now: UInt64) {
            let up = entry.isUp
            if up != gatewayUp {
                gatewayUp = up
                if !up { gatewayLog.error("disconnected: \(entry.problem)") }
            }
            guard let news = recovery.step(loop, now: now) else { return }
            switch news {
            case .attemptFailed(let n, let e):
                gatewayLog.warning("reconnect attempt \(n) failed: \(e); again in \(recovery.intervalNs / 1_000_000) ms", metadata: ["attempt": "\(n)"])
            case .reconnected(let what): gatewayLog.notice("\(what); recovering (nothing sent until the venue's replay has ended)")
            case .recovered(let lost, let asked):
                gatewayLog.notice("recovered: the venue's answers applied, \(lost) request\(lost == 1 ? "" : "s") lost with the connection answered here\(asked > 0 ? ", the status of \(asked) open order\(asked == 1 ? "" : "s") asked" : ""); kill switch stays on until a person resets it",
                                  metadata: ["lost_requests": "\(lost)", "status_requests": "\(asked)"])
            }
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
                    riskLog.notice("kill switch reset by the control plane: risk passes orders again, quoting resumes")
                }
            }
            loop.pass(now: now)
            control?.publish(loop, now: now, feed: feed.health, stale: feed.isStale, gatewayUp: entry.isUp)
            if let t = watch.check(loop, signal: KillSignals.received != 0, connected: entry.isUp, disconnectReason: entry.problem,
                                   lastPacketNs: feed.lastPacketNs, sessionStale: feed.isStale, now: now) {
                riskLog.critical("KILL SWITCH ON: \(t) -> risk refuses everything, \(loop.ledger.table.open) open orders being canceled; quoting nothing until SIGINT or a reset (POST /v1/kill/reset)",
                                 metadata: ["trigger": "\(t)", "open_orders": "\(loop.ledger.table.open)"])
            }
            recover(now)
            if now >= nextStatus {
                nextStatus = now + cfg.statusEveryNs
                let health = feed.health
                // The feed's notes, looked at with the status line: a gap declared lost, stale or live again.
                if health.gapsLost > gapsLost {
                    feedLog.warning("\(health.gapsLost - gapsLost) gap\(health.gapsLost - gapsLost == 1 ? "" : "s") declared lost (messages never recovered)",
                                    metadata: ["gaps_lost": "\(health.gapsLost)", "gaps_opened": "\(health.gapsOpened)"])
                    gapsLost = health.gapsLost
                }
                if feed.isStale != feedStale {
                    feedStale.toggle()
                    if feedStale { feedLog.error("the MoldUDP64 session is stale", metadata: ["gaps_lost": "\(health.gapsLost)"]) } else { feedLog.notice("the MoldUDP64 session is live again") }
                }
                print(statusLine(loop, locates: locates, feed: health))
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
        if leftOpen > 0 { throw CommandError.exit(1) }
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
