import OmniConfig
import OmniEngine
import OmniStrategy
import OmniTrading
import OmniVenue
import Testing

/// `omni run`'s configuration: the default trades the default `omni sim`; a file overrides any
/// part; every bad key is refused with its name and its line.
@Suite struct RunConfigTests {
    @Test func theDefaultTradesTheDefaultSim() throws {
        let c = RunConfig(), sim = SimConfig()
        #expect(c.instruments.map(\.symbol) == sim.instruments.map(\.symbol.description))
        #expect(c.venue.proto == .ouch && c.venue.ouch.port == sim.ouchPort && c.venue.ouch.host == sim.ouchHost)
        #expect(c.venue.fix.port == sim.fixPort && c.venue.targetCompID == sim.fixSenderCompID)
        #expect(c.feed.lineA == sim.lineA.description && c.feed.lineB == sim.lineB?.description)
        #expect(c.feed.retransmit == "127.0.0.1:\(sim.retransmitPort!)" && c.feed.interface == sim.interface)
        #expect(c.feed.staleAfterNs == 3_000_000_000 && c.statusEveryNs == 1_000_000_000)
        // Every quote fits risk's own limits, and the sim's (ticks on its grid, sizes under its maximum).
        for (i, s) in zip(c.instruments, sim.instruments) {
            #expect(i.tick == s.tick && i.size <= i.maxOrderQuantity && i.maxOrderQuantity <= s.maxOrderShares)
        }
        #expect(c.risk.maxDailyLoss == 100_000_000 && c.strategyMaxPosition == 8 * 500 + 100)
        #expect(try RunConfig(yaml: "") == c)
        #expect(try RunConfig(yaml: "# nothing but a comment\n") == c)
    }

    @Test func aFileOverridesEachPart() throws {
        let yaml = """
        venue:
          protocol: fix
          ouch: 10.0.0.5:9000
          fix: 10.0.0.5:9001
          user: MM01
          password: secret
          sender_comp_id: MMFIX
          target_comp_id: VENUE
          fix_store: /tmp/run-fix
          connect_timeout: 0.5
        feed:
          line_a: 239.10.0.1:4000
          line_b: off
          retransmit: off
          interface: eth1
          stale_after: 1.5
        instruments:
          - symbol: AAPL
            tick: 0.01
            size: 200
            spread_ticks: 3
            max_position: 1000
            skew_shares: 50
            max_order_qty: 500
            max_order_value: 250000
            collar_bp: 50
            messages_per_second: 100
          - symbol: QQQ
        risk:
          max_daily_loss: 2500.50
          max_position: 1500
          messages_per_second: 300
          max_fills_per_second: 20
        status_every: 0.25
        """
        let c = try RunConfig(yaml: yaml)
        #expect(c.venue.proto == .fix && c.venue.ouch == RunConfig.HostPort(host: "10.0.0.5", port: 9000))
        #expect(c.venue.fix.description == "10.0.0.5:9001" && c.venue.user == "MM01" && c.venue.password == "secret")
        #expect(c.venue.senderCompID == "MMFIX" && c.venue.targetCompID == "VENUE" && c.fixStoreDirectory == "/tmp/run-fix")
        #expect(c.venue.connectTimeoutMs == 500)
        #expect(c.feed.lineA == "239.10.0.1:4000" && c.feed.lineB == nil && c.feed.retransmit == nil && c.feed.interface == "eth1")
        #expect(c.feed.staleAfterNs == 1_500_000_000 && c.statusEveryNs == 250_000_000)
        #expect(c.instruments.count == 2)
        let a = c.instruments[0]
        #expect(a.symbol == "AAPL" && a.tick == 100 && a.size == 200 && a.spreadTicks == 3 && a.maxPosition == 1000 && a.skewShares == 50)
        #expect(a.maxOrderQuantity == 500 && a.maxOrderValue == 2_500_000_000 && a.collarBasisPoints == 50 && a.messagesPerSecond == 100)
        #expect(c.instruments[1] == RunConfig.Instrument(symbol: "QQQ")) // everything else at its default
        #expect(c.risk.maxDailyLoss == 25_005_000 && c.risk.maxPosition == 1500 && c.strategyMaxPosition == 1500)
        #expect(c.risk.messagesPerSecond == 300 && c.risk.maxFillsPerSecond == 20)
    }

    /// Each bad key is refused with its path and its line (1-based), and why.
    @Test(arguments: [
        ("venue:\n  protocl: fix\n", "venue.protocl", 2, "unknown key"),
        ("venue:\n  protocol: fix\n  protocol: ouch\n", "venue.protocol", 3, "given twice"),
        ("venue:\n  protocol: itch\n", "venue.protocol", 2, "ouch or fix"),
        ("venue:\n  ouch: localhost\n", "venue.ouch", 2, "HOST:PORT"),
        ("venue:\n  fix: 127.0.0.1:0\n", "venue.fix", 2, "HOST:PORT"),
        ("venue:\n  user: MUCHTOOLONG\n", "venue.user", 2, "1 to 6"),
        ("feed:\n  line_a: 10.0.0.1:30001\n", "feed.line_a", 2, "not a multicast group"),
        ("feed:\n  line_b: 239.1.1.1\n", "feed.line_b", 2, "ADDRESS:PORT"),
        ("feed:\n  line_a: 239.1.1.1:5000\n  line_b: 239.1.1.1:5000\n", "feed.line_b", 3, "same group"),
        ("feed:\n  retransmit: nowhere\n", "feed.retransmit", 2, "HOST:PORT"),
        ("feed:\n  stale_after: 0\n", "feed.stale_after", 2, "seconds above 0"),
        ("feed:\n  stale_afte: 3\n", "feed.stale_afte", 2, "unknown key"),
        ("instruments: []\n", "instruments", 1, "empty"),
        ("instruments:\n  - tick: 0.01\n", "instruments[0]", 2, "missing key 'symbol'"),
        ("instruments:\n  - symbol: AAPL\n  - symbol: AAPL\n", "instruments[1].symbol", 3, "already listed"),
        ("instruments:\n  - symbol: AAPL\n    tick: 0.00001\n", "instruments[0].tick", 3, "at most 4 decimals"),
        ("instruments:\n  - symbol: AAPL\n    size: 0\n", "instruments[0].size", 3, "integer in 1...999999"),
        ("instruments:\n  - symbol: AAPL\n    sise: 100\n", "instruments[0].sise", 3, "unknown key"),
        ("instruments:\n  - symbol: AAPL\n    size: 2000\n", "instruments[0].size", 3, "above max_order_qty"),
        ("instruments:\n  - symbol: AAPL\n    max_order_value: -5\n", "instruments[0].max_order_value", 3, "dollar amount"),
        ("instruments:\n  - symbol: AAPL\n    collar_bp: 0\n", "instruments[0].collar_bp", 3, "integer in 1...10000"),
        ("risk:\n  max_daily_loss: lots\n", "risk.max_daily_loss", 2, "dollar amount"),
        ("risk:\n  max_daily_los: 10\n", "risk.max_daily_los", 2, "unknown key"),
        ("risk:\n  max_fills_per_second: 5000\n", "risk.max_fills_per_second", 2, "integer in 1...1024"),
        ("status_every: never\n", "status_every", 1, "seconds"),
        ("venue: {protocol: fix}\nstatus: 1\n", "status", 2, "unknown key"),
        ("venue: ouch\n", "venue", 1, "expected a mapping"),
        ("status_every: 1\nstrategy: glf\n", "strategy", 2, "expected one of inventory_skew, avellaneda_stoikov, glft"),
        ("strategy: [glft]\n", "strategy", 1, "expected inventory_skew"),
        ("strategy: glft\nmodel:\n  gamma: 0\n", "model.gamma", 3, "positive number"),
        ("model:\n  k: -1.5\n", "model.k", 2, "positive number"),
        ("model:\n  a: lots\n", "model.a", 2, "positive number"),
        ("model:\n  gamma: 0.0000001\n", "model.gamma", 2, "at most 6 decimals"),
        ("model:\n  horizon: 0\n", "model.horizon", 2, "seconds above 0"),
        ("model:\n  sigma_interval: 61\n", "model.sigma_interval", 2, "at most 60"),
        ("model:\n  sigma_window: 1\n", "model.sigma_window", 2, "integer in 2...100000"),
        ("model:\n  sigma: 2\n", "model.sigma", 2, "unknown key"),
        ("feed:\n  via: rdma\n", "feed.via", 2, "expected one of socket, io_uring, dpdk"),
        ("venue:\n  order_tx: udp\n", "venue.order_tx", 2, "expected one of send, io_uring"),
        ("venue:\n  sqpoll_core: 4096\n", "venue.sqpoll_core", 2, "integer in 0...1023"),
        ("venue:\n  so_busy_poll: -1\n", "venue.so_busy_poll", 2, "integer in 0...1000000"),
        ("feed:\n  so_busy_poll: lots\n", "feed.so_busy_poll", 2, "integer"),
        ("core: 2000\n", "core", 1, "core number 0...1023, auto or off"),
        ("core: -1\n", "core", 1, "core number"),
        ("feed:\n  dpdk_core: 5000\n", "feed.dpdk_core", 2, "integer in 0...1023"),
        ("feed:\n  batch: 0\n", "feed.batch", 2, "integer in 1...1024"),
        ("quoting:\n  levels: 17\n", "quoting.levels", 2, "integer in 1...16"),
        ("quoting:\n  level_spacing: 0\n", "quoting.level_spacing", 2, "integer in 1...10000"),
        ("quoting:\n  refresh_ticks: -1\n", "quoting.refresh_ticks", 2, "integer"),
        ("quoting:\n  min_rest: 61\n", "quoting.min_rest", 2, "at most 60"),
        ("quoting:\n  level: 2\n", "quoting.level", 2, "unknown key"),
    ])
    func badKeysAreNamedWithTheirLine(yaml: String, key: String, line: Int, problem: String) {
        do {
            _ = try RunConfig(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(problem), "\(error)")
            #expect(error.description.hasSuffix("(line \(line))"), "\(error)")
        }
    }

    /// Each strategy by name, and the models' parameters; without the keys, inventory_skew and the defaults.
    @Test func eachStrategyIsNamedAndItsParametersRead() throws {
        #expect(RunConfig().strategy == .inventorySkew && RunConfig().model == RunConfig.Model())
        for k in RunConfig.StrategyKind.allCases {
            #expect(try RunConfig(yaml: "strategy: \(k.rawValue)\n").strategy == k)
        }
        let c = try RunConfig(yaml: """
        strategy: avellaneda_stoikov
        model:
          gamma: 0.25
          k: 2
          a: 12.5
          horizon: 30
          sigma_interval: 0.05
          sigma_window: 40
        """)
        #expect(c.strategy == .avellanedaStoikov && c.model.gamma == 0.25 && c.model.k == 2 && c.model.a == 12.5)
        #expect(c.model.horizonSeconds == 30 && c.model.sigmaIntervalNs == 50_000_000 && c.model.sigmaWindow == 40)
        #expect(try RunConfig(yaml: "strategy: glft\nmodel:\n  gamma: 1\n").model.k == RunConfig.Model().k) // the rest at their defaults
    }

    @Test func theCorePlacementIsRead() throws {
        #expect(RunConfig().core == .automatic)
        #expect(try RunConfig(yaml: "core: 1\n").core == .core(1))
        #expect(try RunConfig(yaml: "core: off\n").core == .off)
        #expect(try RunConfig(yaml: "core: auto\n").core == .automatic)
    }

    @Test func theFeedPathIsRead() throws {
        #expect(RunConfig().feed.via == .socket)
        let c = try RunConfig(yaml: "feed:\n  via: dpdk\n  dpdk_vdev: net_af_packet0,iface=lo\n  dpdk_core: 1\n")
        #expect(c.feed.via == .dpdk && c.feed.dpdkVdev == "net_af_packet0,iface=lo" && c.feed.dpdkCore == 1)
        #expect(try RunConfig(yaml: "feed:\n  via: io_uring\n").feed.via == .ioUring)
        #expect(RunConfig().feed.batch == 8)
        #expect(try RunConfig(yaml: "feed:\n  batch: 64\n").feed.batch == 64)
        #expect(try RunConfig(yaml: "feed:\n  so_busy_poll: 50\n").feed.busyPollMicroseconds == 50)
    }

    @Test func theOrderPathIsRead() throws {
        #expect(RunConfig().venue.orderTransmit == .send && RunConfig().venue.busyPollMicroseconds == 0)
        let c = try RunConfig(yaml: "venue:\n  order_tx: io_uring\n  sqpoll_core: 1\n  so_busy_poll: 50\n")
        #expect(c.venue.orderTransmit == .ioUring && c.venue.sqpollCore == 1 && c.venue.busyPollMicroseconds == 50)
    }

    /// The quoting rule: levels, their spacing, the refresh move and the minimum resting time.
    @Test func theQuotingRuleIsRead() throws {
        #expect(RunConfig().quoting == QuotingRule())
        let c = try RunConfig(yaml: "quoting:\n  levels: 3\n  level_spacing: 2\n  refresh_ticks: 4\n  min_rest: 0.25\n")
        #expect(c.quoting == QuotingRule(levels: 3, spacingTicks: 2, refreshTicks: 4, minRestNs: 250_000_000))
        #expect(try RunConfig(yaml: "quoting:\n  min_rest: 0\n").quoting.minRestNs == 0)
    }

    /// The control plane's rate limit per token: 50 requests a second, burst 100, unless the file says.
    @Test func theControlPlanesRateLimitIsRead() throws {
        #expect(RunConfig().control.requestRate == RunConfig.RequestRate(perSecond: 50, burst: 100))
        let c = try RunConfig(yaml: "control:\n  rate: 12.5\n  burst: 40\n")
        #expect(c.control.requestRate == RunConfig.RequestRate(perSecond: 12.5, burst: 40))
        do {
            _ = try RunConfig(yaml: "control:\n  burst: 0.5\n")
            Issue.record("accepted")
        } catch {
            #expect(error.key == "control.burst", "\(error)")
        }
    }

    /// control.store: a SQLite file, a postgres:// URL, or off; a malformed URL is refused by key, its password not shown.
    @Test func theControlStoreIsAFileAPostgresURLOrOff() throws {
        #expect(try RunConfig(yaml: "control:\n  store: /var/lib/omni/c.sqlite\n").control.store == "/var/lib/omni/c.sqlite")
        #expect(try RunConfig(yaml: "control:\n  store: off\n").control.store == nil)
        let url = "postgresql://omni:pw@db.example:5433/fleet"
        #expect(try RunConfig(yaml: "control:\n  store: \"\(url)\"\n").control.store == url)
        do {
            _ = try RunConfig(yaml: "control:\n  store: \"postgres://omni:pw@db.example\"\n")
            Issue.record("accepted")
        } catch {
            #expect(error.key == "control.store" && "\(error)".contains("no database") && !"\(error)".contains(":pw"), "\(error)")
        }
    }

    @Test func aMissingFileIsNamed() {
        do {
            _ = try RunConfig(contentsOf: "/nonexistent/run.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.key == "(file)" && error.description.contains("/nonexistent/run.yaml"))
        }
    }

    /// Each instrument is quoted with its own parameters.
    @Test func instrumentQuotersUseEachInstrumentsOwnParameters() {
        var a = RunConfig.Instrument(symbol: "AAPL"); a.spreadTicks = 1
        var b = RunConfig.Instrument(symbol: "MSFT"); b.spreadTicks = 3; b.size = 50
        let q = InstrumentQuoters([1: a, 2: b])
        #expect(q.quote(locate: 1, bid: 1_990_000, ask: 1_990_200, position: 0).bidPrice == 1_990_000)
        let t = q.quote(locate: 2, bid: 1_990_000, ask: 1_990_200, position: 0)
        #expect(t.bidPrice == 1_989_800 && t.askPrice == 1_990_400 && t.size == 50)
        #expect(q.quote(locate: 3, bid: 1_990_000, ask: 1_990_200, position: 0).size == 0)
    }

    /// A topology for omni run: the stages feed and trading and one ring between them; anything
    /// else is refused with what was expected.
    @Test func aPlacementComesFromATopologyOfFeedAndTrading() throws {
        let ring = "rings:\n  - {from: feed, to: trading, capacity: 2048}\n"
        let split = try RunPlacement(Topology(yaml: "stages:\n  - {name: feed, core: 0}\n  - {name: trading, core: 1}\n" + ring, onlineCores: 2))
        #expect(split == RunPlacement(feedCore: 0, tradingCore: 1, ringCapacity: 2048) && split.split)
        let one = try RunPlacement(Topology(yaml: "stages:\n  - {name: feed, core: 1}\n  - {name: trading, core: 1}\n" + ring, onlineCores: 2))
        #expect(!one.split)
        #expect(throws: TopologyError.self) {
            try RunPlacement(Topology(yaml: "stages:\n  - {name: feed, core: 0}\n  - {name: book, core: 1}\nrings:\n  - {from: feed, to: book, capacity: 2048}\n", onlineCores: 2))
        }
        #expect(throws: TopologyError.self) {
            try RunPlacement(Topology(yaml: "stages:\n  - {name: feed, core: 0}\n  - {name: trading, core: 1}\nrings:\n  - {from: trading, to: feed, capacity: 2048}\n", onlineCores: 2))
        }
        // The feed stage's wait is the topology's; a ring that may drop would lose touches: refused.
        let backoff = try RunPlacement(Topology(yaml: "stages:\n  - {name: feed, core: 0, wait: backoff}\n  - {name: trading, core: 1}\n" + ring, onlineCores: 2))
        #expect(backoff == RunPlacement(feedCore: 0, tradingCore: 1, ringCapacity: 2048, feedWait: .backoff))
        let drop = #expect(throws: TopologyError.self) {
            try RunPlacement(Topology(yaml: "stages:\n  - {name: feed, core: 0}\n  - {name: trading, core: 1}\nrings:\n  - {from: feed, to: trading, capacity: 2048, full: drop}\n", onlineCores: 2))
        }
        #expect(drop?.description.contains("rings[0].full: drop would lose touches") == true, "\(String(describing: drop))")
        #expect(try RunConfig(yaml: "topology: split.yaml\n").topology == "split.yaml")
    }
}
