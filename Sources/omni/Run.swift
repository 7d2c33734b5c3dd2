import ArgumentParser
import OmniControl
import OmniDpdk
import OmniFeed
import OmniFeedDpdk
import OmniNet
import OmniTrading

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
        last configuration (limits, quoting parameters, quoting on / off) through the command ring. \
        A SQLite file serves one host; postgres://USER[:PASSWORD]@HOST[:PORT]/DB (or \
        postgresql://, plain TCP, no TLS) is a PostgreSQL database several hosts share: the run \
        migrates it at start, and their audit rows join one chain.

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
    @Option(name: .customLong("order-tx"), help: "How OUCH orders leave: send (send(2) per pass) or io_uring (SQPOLL: a kernel thread sends them, no syscall per order; venue.order_tx).") var orderTx: String?
    @Option(name: .customLong("sqpoll-core"), help: "--order-tx io_uring: the core its kernel thread is pinned to (venue.sqpoll_core; default: not pinned).") var sqpollCore: Int?
    @Option(name: .customLong("so-busy-poll"), help: "SO_BUSY_POLL in µs on the feed's sockets and the order connection (feed.so_busy_poll, venue.so_busy_poll; default 0: off).") var soBusyPoll: Int?
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
    @Option(name: .customLong("control-store"), help: "The control plane's store: config versions, the audit, orders and fills, daily PnL, the kill switch, limit raises; a restart resumes its last config, the kill switch and unexpired raises. A SQLite PATH, postgres://USER[:PASSWORD]@HOST[:PORT]/DB, or off (control.store; default $TMPDIR/omni-run/control.sqlite).") var controlStore: String?
    @Option(name: .customLong("control-tls-cert"), help: "Serve the control plane over HTTPS and WSS with this certificate chain, a PEM file; with --control-tls-key (control.tls_cert).") var controlTlsCert: String?
    @Option(name: .customLong("control-tls-key"), help: "The private key of --control-tls-cert, a PEM file (control.tls_key).") var controlTlsKey: String?
    @Flag(name: .customLong("stage-stamps"), help: "Stamp each quote's stages (rx, books, strategy, risk, encoded, sent) and print where tick-to-trade goes (costs four TSC reads per request).") var stageStamps = false
    @Option(name: .customLong("hdr-out"), help: "At the end, write the tick-to-trade histogram (HdrHistogram percentile text, ns) to FILE.tick-to-trade.hgrm.") var hdrOut: String?
    @Option(help: "At the end, write an SVG plot of the tick-to-trade percentiles to FILE.") var plot: String?
    @OptionGroup var log: LogOptions

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        _ = try running { try resolved() }
    }

    func run() throws {
        try log.apply()
        try running {
            try trade(startControl: { cfg, hotCores in
                try ControlPlane.start(cfg, hotCores: hotCores).map { ($0.port, $0.stop) }
            }, openDpdk: { listener, board, cfg in
                let vdev = try cfg.feed.dpdkVdev ?? "net_pcap0,iface=\(interfaceName(cfg.feed.interface))"
                var eal = EALOptions(cores: String(cfg.feed.dpdkCore), memoryMB: 256, vdevs: [vdev])
                let memory = try HugePageChoice.apply(.auto, to: &eal)
                try EAL.start(eal)
                print("omni run: feed via DPDK \(vdev) on core \(cfg.feed.dpdkCore), \(memory)")
                return MoldFeedDpdk(listener: listener, port: try DpdkPort(id: 0),
                                    burst: MoldListener<BoardSink>.dpdkBurst(lineA: try parseEndpoint(cfg.feed.lineA, option: "feed.line_a"),
                                                                             lineB: try cfg.feed.lineB.map { try parseEndpoint($0, option: "feed.line_b") }),
                                    board: board)
            })
        }
    }
}

extension Run: RunOptions {}
