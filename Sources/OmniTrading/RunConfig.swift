import Glibc
import OmniConfig
import OmniCore
import OmniStrategy

/// What `omni run` trades: the venue's order entry, the feed, the instruments with their quoting
/// parameters and risk limits, the strategy-wide limits. `RunConfig()` is the documented default:
/// it trades the default `omni sim` on this machine. A YAML file (read with OmniConfig's one
/// reader: unknown and duplicate keys refused with the key and the line) overrides any part:
///
/// ```yaml
/// venue:
///   protocol: ouch              # ouch | fix
///   ouch: 127.0.0.1:9879        # OUCH 4.2 over SoupBinTCP, HOST:PORT
///   fix: 127.0.0.1:9878         # FIX 4.4, HOST:PORT
///   user: OMNIMM                # OUCH login name; FIX SenderCompID when sender_comp_id is not given
///   password: x                 # OUCH password
///   sender_comp_id: OMNIMM      # FIX SenderCompID (default: user)
///   target_comp_id: OMNI        # FIX TargetCompID (the sim's fix.sender_comp_id)
///   fix_store: /var/lib/omni/fix-run   # FIX sequence-number store (default $TMPDIR/omni-run-fix)
///   connect_timeout: 2          # seconds for the TCP connect and, for FIX, the Logon answer
///   order_tx: send              # OUCH: send (send(2) per pass) | io_uring (SQPOLL: a kernel thread sends, no syscall per order)
///   sqpoll_core: 0              # order_tx io_uring: the core its kernel thread is pinned to (default: not pinned)
///   so_busy_poll: 50            # SO_BUSY_POLL on the order connection, µs (default 0: off)
/// feed:
///   line_a: 239.192.0.1:30001   # MoldUDP64 multicast, ADDRESS:PORT
///   line_b: 239.192.0.2:30001   # or off
///   retransmit: 127.0.0.1:30002 # the re-request server, HOST:PORT, or off
///   interface: 127.0.0.1        # name or IPv4 address the feed arrives on
///   stale_after: 3              # seconds with no packet nor heartbeat that trip the kill switch
///   via: socket                 # socket (recvmmsg) | io_uring | dpdk
///   dpdk_vdev: net_af_packet0,iface=lo   # via dpdk: the EAL vdev (default net_pcap0 on the interface)
///   dpdk_core: 0                # via dpdk: the core EAL pins the loop to
///   batch: 8                    # datagrams per line per receive step: the loop quotes after each step
///   so_busy_poll: 50            # SO_BUSY_POLL on the feed's sockets, µs (default 0: off; loopback has no queue to poll)
/// instruments:                  # replaces the default list (the sim's 8 default symbols) when present
///   - symbol: AAPL
///     tick: 0.01                # decimal price, at most 4 decimals
///     size: 100                 # shares per quote
///     spread_ticks: 2           # ticks from the mid to each quote
///     max_position: 500         # shares long or short at most
///     skew_shares: 100          # shares of position that move both quotes one tick
///     max_order_qty: 1000       # risk: shares in one order
///     max_order_value: 1000000  # risk: dollars (price × shares) in one order
///     collar_bp: 100            # risk: basis points beyond the touch a price may go
///     messages_per_second: 200  # risk: new, replace and cancel messages (burst the same)
/// risk:
///   max_daily_loss: 10000       # dollars of realised + unrealised loss that trip the kill switch
///   max_position: 4100          # shares net over every instrument (default: sum of max_position + largest size)
///   messages_per_second: 2000   # the strategy's whole session (burst the same)
///   max_fills_per_second: 1000  # more fills within a second disable the strategy
/// quoting:                      # how each quote becomes orders (every instrument)
///   levels: 1                   # orders per side: level k rests k × level_spacing ticks behind the quote
///   level_spacing: 1            # ticks between levels
///   refresh_ticks: 1            # replace an order when its target moves this many ticks (or its size changes)
///   min_rest: 0                 # seconds an order rests before a requote may move it (a cancel goes at once)
/// core: auto                    # the core the loop is pinned to: a number, auto (the last online core) or off
/// topology: run-split.yaml      # stages feed and trading on cores of their own (OmniEngine topology; see README)
/// control:                     # the control plane's HTTP API (or `control: off`)
///   listen: 127.0.0.1:8470      # HOST:PORT (port 0: any free one, printed at start), or off
///   tokens: /etc/omni/tokens.yaml   # API tokens (name, role, bcrypt); without it one admin token is made at start
///   store: /var/lib/omni/control.sqlite   # config versions, audit, fills, daily PnL (default $TMPDIR/omni-run/control.sqlite),
///                                         # postgres://USER[:PASSWORD]@HOST[:PORT]/DB (a server several hosts share), or off
///   rate: 50                    # requests a second per token, on average (more: 429 with Retry-After)
///   burst: 100                  # requests per token at once
///   tls_cert: /etc/omni/control.pem   # HTTPS and WSS with this certificate chain (PEM) and tls_key; both or neither
///   tls_key: /etc/omni/control.key    # its private key (PEM)
/// status_every: 1               # seconds between status lines
/// strategy: inventory_skew      # inventory_skew | avellaneda_stoikov | glft | trigger (every instrument)
/// model:                        # the two market makers' parameters (ignored by inventory_skew)
///   gamma: 0.1                  # risk aversion γ (> 0)
///   k: 1.5                      # fill-intensity decay k, per tick (> 0); GLFT's initial calibration
///   a: 1                        # GLFT: fill intensity A, fills per second at the mid (> 0), until FillIntensity fits
///   horizon: 10                 # Avellaneda–Stoikov: T − t in seconds, held constant (a rolling horizon)
///   sigma_interval: 0.1         # seconds between mid samples of RealizedVolatility
///   sigma_window: 30            # returns in σ's window: no quote until that many are in
/// ```
public struct RunConfig: Sendable, Equatable {
    public enum VenueProtocol: String, Sendable, Equatable, CaseIterable { case ouch, fix }

    /// HOST:PORT of a TCP peer.
    public struct HostPort: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: UInt16
        public init(host: String, port: UInt16) { self.host = host; self.port = port }
        /// "HOST:PORT", port 1...65535 (0 too with `anyPort`: a listener's any free port), host
        /// non-empty; nil otherwise.
        public init?(_ text: String, anyPort: Bool = false) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let p = UInt16(parts[1]), p != 0 || anyPort else { return nil }
            host = String(parts[0]); port = p
        }
        public var description: String { "\(host):\(port)" }
    }

    public struct Venue: Sendable, Equatable {
        public var proto: VenueProtocol = .ouch
        public var ouch = HostPort(host: "127.0.0.1", port: 9879)
        public var fix = HostPort(host: "127.0.0.1", port: 9878)
        public var user = "OMNIMM"
        public var password = "x"
        /// nil: `user`.
        public var senderCompID: String?
        public var targetCompID = "OMNI"
        /// nil: `$TMPDIR/omni-run-fix` (or /tmp).
        public var fixStore: String?
        public var connectTimeoutMs: Int32 = 2_000
        /// OUCH: how orders leave (send(2), or io_uring with SQPOLL) and where its kernel thread runs.
        public var orderTransmit: OrderTransmitPath = .send
        public var sqpollCore: Int?
        /// SO_BUSY_POLL on the order connection, µs (0: off).
        public var busyPollMicroseconds = 0
        public init() {}
    }

    /// How the OUCH client's bytes leave.
    public enum OrderTransmitPath: String, Sendable, Equatable, CaseIterable { case send, ioUring = "io_uring" }

    /// How the feed's packets are received.
    public enum FeedPath: String, Sendable, Equatable, CaseIterable { case socket, ioUring = "io_uring", dpdk }

    public struct Feed: Sendable, Equatable {
        public var via: FeedPath = .socket
        /// --via dpdk: the EAL vdev (nil: net_pcap0 on the feed's interface) and the core EAL pins the loop to.
        public var dpdkVdev: String?
        public var dpdkCore = 0
        /// Datagrams taken per line per receive step (socket and io_uring paths). The loop quotes
        /// after each step, so a smaller batch answers the first change of a burst sooner: on a
        /// 1 M msgs/s feed over 1,000 symbols, 8 gave tick-to-trade p50 56 µs against 300 µs at 64.
        public var batch = 8
        public var lineA = "239.192.0.1:30001"
        public var lineB: String? = "239.192.0.2:30001"
        public var retransmit: String? = "127.0.0.1:30002"
        public var interface = "127.0.0.1"
        /// No packet nor heartbeat for this long trips the kill switch (stale feed).
        public var staleAfterNs: UInt64 = 3_000_000_000
        /// SO_BUSY_POLL on the feed's sockets, µs (0: off).
        public var busyPollMicroseconds = 0
        public init() {}
    }

    /// One instrument: how it is quoted and its pre-trade limits. Prices in ITCH units (1/10000 $).
    public struct Instrument: Sendable, Equatable {
        public var symbol: String
        public var tick: UInt32 = 100
        public var size: UInt32 = 100
        public var spreadTicks: UInt32 = 2
        public var maxPosition: Int64 = 500
        public var skewShares: Int64 = 100
        public var maxOrderQuantity: UInt32 = 1_000
        /// ITCH units × shares ($1,000,000 = 10_000_000_000).
        public var maxOrderValue: UInt64 = 10_000_000_000
        public var collarBasisPoints: UInt32 = 100
        public var messagesPerSecond: UInt32 = 200
        public init(symbol: String) { self.symbol = symbol }
    }

    public struct Risk: Sendable, Equatable {
        /// ITCH units × shares ($10,000 = 100_000_000).
        public var maxDailyLoss: Int64 = 100_000_000
        /// Shares net over every instrument; nil: the sum of the instruments' max_position plus the largest size.
        public var maxPosition: Int64?
        public var messagesPerSecond: UInt32 = 2_000
        public var maxFillsPerSecond: UInt32 = 1_000
        public init() {}
    }

    /// Which market maker quotes every instrument.
    public enum StrategyKind: String, Sendable, Equatable, CaseIterable {
        case inventorySkew = "inventory_skew", avellanedaStoikov = "avellaneda_stoikov", glft
        /// Not a market maker: the answer to `omni sim --triggers` (a bid 80 ticks under the offer).
        case trigger
    }

    /// The Avellaneda–Stoikov and GLFT parameters, shared by every instrument (each instrument's
    /// tick, size and max_position shape its quotes; q is the position in quote sizes).
    public struct Model: Sendable, Equatable {
        public var gamma = 0.1
        public var k = 1.5
        /// GLFT's A (fills per second) until the fill-intensity fit is valid.
        public var a = 1.0
        /// Avellaneda–Stoikov's T − t, held constant (a rolling horizon).
        public var horizonSeconds = 10.0
        public var sigmaIntervalNs: UInt64 = 100_000_000
        public var sigmaWindow = 30
        public init() {}
    }

    public static let defaultSymbols = ["AAPL", "MSFT", "SPY", "NVDA", "TSLA", "QQQ", "AMZN", "META"]

    public var venue = Venue()
    public var feed = Feed()
    public var instruments: [Instrument] = RunConfig.defaultSymbols.map { Instrument(symbol: $0) }
    public var risk = Risk()
    public var statusEveryNs: UInt64 = 1_000_000_000
    public var strategy: StrategyKind = .inventorySkew
    public var model = Model()
    public var quoting = QuotingRule()
    /// Where the loop runs: pinned to a core, by default the last online one.
    public var core: CorePlacement = .automatic
    /// A topology file placing the stages `feed` and `trading` (`RunPlacement`); nil: both on
    /// `core`, run to completion.
    public var topology: String?

    /// The control plane: where its HTTP API listens (nil: off) and the tokens file (nil: one
    /// admin token generated at start).
    public struct Control: Sendable, Equatable {
        public var listen: HostPort? = HostPort(host: "127.0.0.1", port: 8470)
        public var tokens: String?
        /// The store: a SQLite file or a postgres:// URL (`ControlStoreAddress`; nil: none, `off`); by
        /// default a SQLite file in the run's data folder.
        public var store: String? = RunConfig.dataFolder + "/control.sqlite"
        /// Each token's rate limit (`rate`, `burst`).
        public var requestRate = RequestRate(perSecond: 50, burst: 100)
        /// HTTPS and WSS: the certificate chain and its private key, PEM files (`tls_cert`, `tls_key`; both or neither).
        public var tlsCert: String?
        public var tlsKey: String?
        public init() {}
    }

    /// How many requests one API token may make: `perSecond` on average, `burst` at once.
    public struct RequestRate: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Double
        public init(perSecond: Double, burst: Double) { self.perSecond = perSecond; self.burst = burst }
    }

    /// The run's data folder, `$TMPDIR/omni-run` (or /tmp/omni-run): the control plane's generated
    /// token and its store, found again by the next run and by `omni ctl`.
    public static var dataFolder: String {
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(tmp)/omni-run"
    }

    public var control = Control()

    public enum CorePlacement: Sendable, Equatable {
        /// The last online core (csys_online_cores() - 1).
        case automatic
        case core(Int)
        /// Not pinned: the scheduler places it.
        case off
        /// "auto", "off" or a core number 0...1023; nil otherwise.
        public init?(_ text: String) {
            switch text {
            case "auto": self = .automatic
            case "off": self = .off
            default:
                guard let n = Int(text), (0...1023).contains(n) else { return nil }
                self = .core(n)
            }
        }
    }

    public init() {}

    /// The strategy's net limit: `risk.maxPosition`, or the instruments' sum plus the largest quote.
    public var strategyMaxPosition: Int64 {
        risk.maxPosition ?? instruments.reduce(0) { $0 + $1.maxPosition } + Int64(instruments.map(\.size).max() ?? 0)
    }

    /// The FIX store directory in use.
    public var fixStoreDirectory: String {
        if let s = venue.fixStore { return s }
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(tmp)/omni-run-fix"
    }

    /// Parses YAML text; every key not given keeps its default. An empty file is the default.
    public init(yaml: String) throws(ConfigError) {
        self.init()
        guard let root = try ConfigReader.document(yaml) else { return }
        try ConfigReader().readRun(root, into: &self)
    }

    /// Reads and parses a YAML file.
    public init(contentsOf path: String) throws(ConfigError) {
        switch readTextFile(path) {
        case .success(let text): try self.init(yaml: text)
        case .failure(let e): throw ConfigError(key: "(file)", problem: "cannot read \(path): \(e.reason)")
        }
    }
}

extension ConfigReader {
    func hostPort(_ n: ConfigNode, _ key: String) throws(ConfigError) -> RunConfig.HostPort {
        let s = try scalar(n, key, "HOST:PORT")
        guard let v = RunConfig.HostPort(s) else { throw fail(key, "expected HOST:PORT (port 1...65535), found \"\(s)\"", n) }
        return v
    }

    func multicast(_ n: ConfigNode, _ key: String) throws(ConfigError) -> String {
        let g = try multicastGroup(n, key)
        return "\(g.address):\(g.port)"
    }

    func name(_ n: ConfigNode, _ key: String, max: Int) throws(ConfigError) -> String {
        let v = try scalar(n, key, "a name")
        guard (1...max).contains(v.utf8.count), v.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "|") }) else {
            throw fail(key, "expected 1 to \(max) printable ASCII characters, found \"\(v)\"", n)
        }
        return v
    }

    /// Seconds as a decimal (at most 3 places) → ns, within `range` seconds.
    func seconds(_ n: ConfigNode, _ key: String, _ range: ClosedRange<UInt64>) throws(ConfigError) -> UInt64 {
        let s = try scalar(n, key, "seconds")
        guard let ms = FixedPoint.parse(s, decimals: 3), ms > 0, ms <= range.upperBound * 1_000 else {
            throw fail(key, "expected seconds above 0 and at most \(range.upperBound) (at most 3 decimals), found \"\(s)\"", n)
        }
        return ms * 1_000_000
    }

    /// Dollars (at most 4 decimals) → ITCH units × shares.
    func dollars(_ n: ConfigNode, _ key: String, allowZero: Bool) throws(ConfigError) -> UInt64 {
        let s = try scalar(n, key, "a dollar amount")
        guard let v = FixedPoint.parse(s, decimals: 4), allowZero || v > 0, v <= UInt64(Int64.max) else {
            throw fail(key, "expected a\(allowZero ? "" : " positive") dollar amount with at most 4 decimals, found \"\(s)\"", n)
        }
        return v
    }

    func tickPrice(_ n: ConfigNode, _ key: String) throws(ConfigError) -> UInt32 {
        let s = try scalar(n, key, "a price")
        guard let v = FixedPoint.parse(s, decimals: 4), v > 0, v <= 10_000_000 else {
            throw fail(key, "expected a positive price with at most 4 decimals, at most 1000, found \"\(s)\"", n)
        }
        return UInt32(v)
    }

    func readRun(_ root: ConfigNode, into c: inout RunConfig) throws(ConfigError) {
        let top = try mapping(root, "", known: ["venue", "feed", "instruments", "risk", "status_every", "strategy", "model", "quoting", "core",
                                                "topology", "control"])
        if let n = top["topology"] { c.topology = try name(n, "topology", max: 4096) }
        if let n = top["control"] {
            if isOff(n) {
                c.control.listen = nil
            } else {
                let m = try mapping(n, "control", known: ["listen", "tokens", "store", "rate", "burst", "tls_cert", "tls_key"])
                if let x = m["listen"] {
                    if isOff(x) { c.control.listen = nil } else {
                        let v = try scalar(x, "control.listen", "HOST:PORT or off")
                        guard let e = RunConfig.HostPort(v, anyPort: true) else {
                            throw fail("control.listen", "expected HOST:PORT (port 0...65535, 0: any free port) or off, found \"\(v)\"", x)
                        }
                        c.control.listen = e
                    }
                }
                if let x = m["tokens"] { c.control.tokens = try name(x, "control.tokens", max: 4096) }
                if let x = m["store"] {
                    if isOff(x) { c.control.store = nil } else {
                        let v = try name(x, "control.store", max: 4096)
                        do { _ = try ControlStoreAddress.parse(v) } catch { throw fail("control.store", error.problem, x) }
                        c.control.store = v
                    }
                }
                if let x = m["tls_cert"] { c.control.tlsCert = try name(x, "control.tls_cert", max: 4096) }
                if let x = m["tls_key"] { c.control.tlsKey = try name(x, "control.tls_key", max: 4096) }
                if let x = m["rate"] { c.control.requestRate.perSecond = try positive(x, "control.rate") }
                if let x = m["burst"] {
                    let b = try positive(x, "control.burst")
                    guard b >= 1 else { throw fail("control.burst", "expected at least 1 request, found \(b)", x) }
                    c.control.requestRate.burst = b
                }
            }
        }
        if let n = top["core"] {
            let v = try scalar(n, "core", "a core number, auto or off")
            guard let p = RunConfig.CorePlacement(v) else { throw fail("core", "expected a core number 0...1023, auto or off, found \"\(v)\"", n) }
            c.core = p
        }
        if let n = top["venue"] {
            let v = try mapping(n, "venue", known: ["protocol", "ouch", "fix", "user", "password", "sender_comp_id", "target_comp_id",
                                                   "fix_store", "connect_timeout", "order_tx", "sqpoll_core", "so_busy_poll"])
            if let p = v["protocol"] {
                let s = try scalar(p, "venue.protocol", "ouch or fix")
                guard let proto = RunConfig.VenueProtocol(rawValue: s.lowercased()) else {
                    throw fail("venue.protocol", "expected ouch or fix, found \"\(s)\"", p)
                }
                c.venue.proto = proto
            }
            if let x = v["ouch"] { c.venue.ouch = try hostPort(x, "venue.ouch") }
            if let x = v["fix"] { c.venue.fix = try hostPort(x, "venue.fix") }
            if let x = v["user"] { c.venue.user = try name(x, "venue.user", max: 6) } // OUCH 4.2's username is 6 characters
            if let x = v["password"] { c.venue.password = try name(x, "venue.password", max: 10) }
            if let x = v["sender_comp_id"] { c.venue.senderCompID = try name(x, "venue.sender_comp_id", max: 32) }
            if let x = v["target_comp_id"] { c.venue.targetCompID = try name(x, "venue.target_comp_id", max: 32) }
            if let x = v["fix_store"] {
                let s = try scalar(x, "venue.fix_store", "a directory")
                guard !s.isEmpty else { throw fail("venue.fix_store", "expected a directory, found an empty string", x) }
                c.venue.fixStore = s
            }
            if let x = v["connect_timeout"] { c.venue.connectTimeoutMs = Int32(try seconds(x, "venue.connect_timeout", 0...60) / 1_000_000) }
            if let x = v["order_tx"] {
                let names = RunConfig.OrderTransmitPath.allCases.map(\.rawValue).joined(separator: ", ")
                let t = try scalar(x, "venue.order_tx", names)
                guard let p = RunConfig.OrderTransmitPath(rawValue: t) else { throw fail("venue.order_tx", "expected one of \(names), found \"\(t)\"", x) }
                c.venue.orderTransmit = p
            }
            if let x = v["sqpoll_core"] { c.venue.sqpollCore = try integer(x, "venue.sqpoll_core", 0...1023) }
            if let x = v["so_busy_poll"] { c.venue.busyPollMicroseconds = try integer(x, "venue.so_busy_poll", 0...1_000_000) }
        }
        if let n = top["feed"] {
            let f = try mapping(n, "feed", known: ["line_a", "line_b", "retransmit", "interface", "stale_after", "via", "dpdk_vdev", "dpdk_core", "batch", "so_busy_poll"])
            if let x = f["via"] {
                let names = RunConfig.FeedPath.allCases.map(\.rawValue).joined(separator: ", ")
                let v = try scalar(x, "feed.via", names)
                guard let p = RunConfig.FeedPath(rawValue: v) else { throw fail("feed.via", "expected one of \(names), found \"\(v)\"", x) }
                c.feed.via = p
            }
            if let x = f["dpdk_vdev"] { c.feed.dpdkVdev = try name(x, "feed.dpdk_vdev", max: 200) }
            if let x = f["dpdk_core"] { c.feed.dpdkCore = try integer(x, "feed.dpdk_core", 0...1023) }
            if let x = f["batch"] { c.feed.batch = try integer(x, "feed.batch", 1...1024) }
            if let x = f["so_busy_poll"] { c.feed.busyPollMicroseconds = try integer(x, "feed.so_busy_poll", 0...1_000_000) }
            if let x = f["line_a"] { c.feed.lineA = try multicast(x, "feed.line_a") }
            if let x = f["line_b"] { c.feed.lineB = isOff(x) ? nil : try multicast(x, "feed.line_b") }
            if let x = f["retransmit"] {
                c.feed.retransmit = isOff(x) ? nil : try hostPort(x, "feed.retransmit").description
            }
            if let x = f["interface"] { c.feed.interface = try name(x, "feed.interface", max: 64) }
            if let x = f["stale_after"] { c.feed.staleAfterNs = try seconds(x, "feed.stale_after", 0...3_600) }
            if let b = c.feed.lineB, b == c.feed.lineA { throw fail("feed.line_b", "same group as line_a (\(b))", f["line_b"]) }
        }
        if let n = top["instruments"] { c.instruments = try runInstruments(n) }
        if let n = top["risk"] {
            let r = try mapping(n, "risk", known: ["max_daily_loss", "max_position", "messages_per_second", "max_fills_per_second"])
            if let x = r["max_daily_loss"] { c.risk.maxDailyLoss = Int64(try dollars(x, "risk.max_daily_loss", allowZero: true)) }
            if let x = r["max_position"] { c.risk.maxPosition = try integer(x, "risk.max_position", 1...1_000_000_000) }
            if let x = r["messages_per_second"] { c.risk.messagesPerSecond = try integer(x, "risk.messages_per_second", 1...1_000_000) }
            if let x = r["max_fills_per_second"] { c.risk.maxFillsPerSecond = try integer(x, "risk.max_fills_per_second", 1...1_024) }
        }
        if let n = top["quoting"] {
            let q = try mapping(n, "quoting", known: ["levels", "level_spacing", "refresh_ticks", "min_rest"])
            if let x = q["levels"] { c.quoting.levels = try integer(x, "quoting.levels", 1...QuotingRule.maxLevels) }
            if let x = q["level_spacing"] { c.quoting.spacingTicks = try integer(x, "quoting.level_spacing", 1...10_000) }
            if let x = q["refresh_ticks"] { c.quoting.refreshTicks = try integer(x, "quoting.refresh_ticks", 1...10_000) }
            if let x = q["min_rest"] { c.quoting.minRestNs = try scalar(x, "quoting.min_rest", "seconds") == "0" ? 0 : try seconds(x, "quoting.min_rest", 0...60) }
        }
        if let n = top["status_every"] { c.statusEveryNs = try seconds(n, "status_every", 0...3_600) }
        if let n = top["strategy"] {
            let names = RunConfig.StrategyKind.allCases.map(\.rawValue).joined(separator: ", ")
            let s = try scalar(n, "strategy", names)
            guard let k = RunConfig.StrategyKind(rawValue: s) else { throw fail("strategy", "expected one of \(names), found \"\(s)\"", n) }
            c.strategy = k
        }
        if let n = top["model"] {
            let m = try mapping(n, "model", known: ["gamma", "k", "a", "horizon", "sigma_interval", "sigma_window"])
            if let x = m["gamma"] { c.model.gamma = try positive(x, "model.gamma") }
            if let x = m["k"] { c.model.k = try positive(x, "model.k") }
            if let x = m["a"] { c.model.a = try positive(x, "model.a") }
            if let x = m["horizon"] { c.model.horizonSeconds = Double(try seconds(x, "model.horizon", 0...86_400)) / 1e9 }
            if let x = m["sigma_interval"] { c.model.sigmaIntervalNs = try seconds(x, "model.sigma_interval", 0...60) }
            if let x = m["sigma_window"] { c.model.sigmaWindow = try integer(x, "model.sigma_window", 2...100_000) }
        }
    }

    /// A positive decimal (at most 6 places, at most 1,000,000), read from the text, not through a Double.
    func positive(_ n: ConfigNode, _ key: String) throws(ConfigError) -> Double {
        let s = try scalar(n, key, "a positive number")
        guard let v = FixedPoint.parse(s, decimals: 6), v > 0, v <= 1_000_000_000_000 else {
            throw fail(key, "expected a positive number with at most 6 decimals, at most 1000000, found \"\(s)\"", n)
        }
        return Double(v) / 1e6
    }

    func runInstruments(_ n: ConfigNode) throws(ConfigError) -> [RunConfig.Instrument] {
        let items = try list(n, "instruments")
        guard !items.isEmpty else { throw fail("instruments", "the list is empty: at least one instrument is needed", n) }
        var out: [RunConfig.Instrument] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let at = "instruments[\(i)]"
            let m = try mapping(item, at, known: ["symbol", "tick", "size", "spread_ticks", "max_position", "skew_shares",
                                                  "max_order_qty", "max_order_value", "collar_bp", "messages_per_second"])
            let symNode = try required(m, "symbol", in: at, item)
            let sym = try name(symNode, "\(at).symbol", max: 8)
            guard Symbol(Substring(sym)) != nil else { throw fail("\(at).symbol", "\"\(sym)\" is not a symbol", symNode) }
            if let j = seen[sym] { throw fail("\(at).symbol", "\(sym) is already listed as instruments[\(j)]", symNode) }
            seen[sym] = i
            var x = RunConfig.Instrument(symbol: sym)
            if let v = m["tick"] { x.tick = try tickPrice(v, "\(at).tick") }
            if let v = m["size"] { x.size = try integer(v, "\(at).size", 1...999_999) }
            if let v = m["spread_ticks"] { x.spreadTicks = try integer(v, "\(at).spread_ticks", 1...10_000) }
            if let v = m["max_position"] { x.maxPosition = try integer(v, "\(at).max_position", 1...100_000_000) }
            if let v = m["skew_shares"] { x.skewShares = try integer(v, "\(at).skew_shares", 1...100_000_000) }
            if let v = m["max_order_qty"] { x.maxOrderQuantity = try integer(v, "\(at).max_order_qty", 1...999_999) }
            if let v = m["max_order_value"] { x.maxOrderValue = try dollars(v, "\(at).max_order_value", allowZero: false) }
            if let v = m["collar_bp"] { x.collarBasisPoints = try integer(v, "\(at).collar_bp", 1...10_000) }
            if let v = m["messages_per_second"] { x.messagesPerSecond = try integer(v, "\(at).messages_per_second", 1...1_000_000) }
            if x.size > x.maxOrderQuantity {
                throw fail("\(at).size", "\(x.size) shares per quote is above max_order_qty (\(x.maxOrderQuantity)): risk would refuse every quote", m["size"] ?? item)
            }
            out.append(x)
        }
        return out
    }
}

/// Each instrument's own quoter (index = locate), so the configuration's per-instrument tick, size,
/// spread, skew and position limit hold; a locate without one is not quoted. Sized at start:
/// quoting reads the array, never grows it.
public struct InstrumentQuoters: Strategy {
    var quoters: [InventorySkewQuoter?]

    /// `byLocate[locate]` is the instrument's configuration.
    public init(_ byLocate: [UInt16: RunConfig.Instrument]) {
        quoters = Array(repeating: nil, count: Int(byLocate.keys.max() ?? 0) + 1)
        for (l, i) in byLocate {
            quoters[Int(l)] = InventorySkewQuoter(tick: i.tick, halfSpreadTicks: i.spreadTicks, size: i.size,
                                                  sharesPerSkewTick: i.skewShares, maxPosition: i.maxPosition)
        }
    }

    public func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        guard Int(locate) < quoters.count, let q = quoters[Int(locate)] else { return .none }
        return q.quote(locate: locate, bid: bid, ask: ask, position: position)
    }
    public mutating func set(_ parameter: QuoteParameter, to value: Int64, locate: UInt16) -> Bool {
        guard Int(locate) < quoters.count, quoters[Int(locate)] != nil else { return false }
        return quoters[Int(locate)]!.set(parameter, to: value, locate: locate)
    }

    public func parameters(locate: UInt16) -> QuoteParameters? {
        Int(locate) < quoters.count ? quoters[Int(locate)]?.parameters(locate: locate) : nil
    }
}
