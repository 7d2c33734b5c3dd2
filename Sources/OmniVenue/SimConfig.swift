import OmniNet
import OmniWire
import Glibc
import OmniConfig
import OmniCore

/// What `omni sim` runs: instruments, order flow, the MoldUDP64 feed and the order-entry ports.
/// `SimConfig()` is the documented default venue; a YAML file overrides any part of it:
///
/// ```yaml
/// instruments:              # replaces the default list when present
///   - symbol: AAPL
///     price: 200.00         # reference price (decimal, at most 4 decimals)
///     tick: 0.01            # default 0.01
///     lot: 1                # default 1
///     band: 10%             # price band around the reference, percent (default 10)
/// generator:                # order-flow generator on session 0 (default: on, intensity 1, seed 1), or "off"
///   intensity: 1.0          # scales the model's rates (Cont-Stoikov-Talreja 2010; ~40 ITCH msgs/s per instrument at 1)
///   seed: 42
/// mold:
///   session: OMNI000001
///   line_a: 239.192.0.1:30001
///   line_b: 239.192.0.2:30001   # or "off"
///   retransmit_port: 30002      # or "off"; 0 = any free port
///   interface: 127.0.0.1        # multicast interface, name or address
///   max_packet: 1400
/// ouch:
///   port: 9879                  # 0 = any free port
///   host: 127.0.0.1             # address to listen on (0.0.0.0: every interface)
/// fix:
///   port: 9878
///   host: 127.0.0.1
///   sender_comp_id: OMNI
///   store: /var/lib/omni/fix    # sequence-number store (default $TMPDIR/omni-sim-fix-<port>)
/// record: sim.pcap              # every MoldUDP64 multicast packet sent, optional
/// cancel_on_disconnect: true    # cancel a session's orders when its OUCH connection / FIX session ends
/// limits:                       # what clients can make the sim hold (defaults shown)
///   connections: 64             # open connections per order-entry port
///   sessions: 256               # venue sessions: clients with live orders or a connection
///   ouch_users: 64              # OUCH login names with a message log
///   output_queue: 4194304       # bytes queued for a client that does not read, then it is cut off
///   orders_per_second: 0        # per session, new orders and replaces (0: no limit)
///   burst: 100                  # token bucket depth for orders_per_second
///   ladder_levels: 1000000      # price levels per instrument (one per tick across the band)
/// ```
/// Each instrument may also set `max_shares` (default 999999, OUCH 4.2's limit) and
/// `max_value` (price × shares, default 10000000) for one order.
public struct SimConfig: Sendable {
    public var instruments: [InstrumentSpec] = InstrumentSpec.defaults
    /// Market activity of its own; `generator: off` in a config file turns it off.
    public var generator: SimGeneratorConfig? = SimGeneratorConfig()
    public var session = "OMNI000001"
    public var lineA = SimGroup(address: "239.192.0.1", port: 30001)
    public var lineB: SimGroup? = SimGroup(address: "239.192.0.2", port: 30001)
    /// nil: no retransmission server; 0: any free port.
    public var retransmitPort: UInt16? = 30002
    /// Interface (name or IPv4 address) the multicast goes out of; loopback by default.
    public var interface = "127.0.0.1"
    public var maxPacketBytes = 1400
    public var ouchPort: UInt16 = 9879
    public var fixPort: UInt16 = 9878
    /// IPv4 addresses the order-entry ports listen on.
    public var ouchHost = "127.0.0.1"
    public var fixHost = "127.0.0.1"
    /// Cancel a session's resting orders when its OUCH connection or FIX session ends (as
    /// NASDAQ's OUCH ports do by default).
    public var cancelOnDisconnect = true
    public var fixSenderCompID = "OMNI"
    /// Directory of the FIX sequence-number stores; nil: `$TMPDIR/omni-sim-fix-<port>` (the
    /// process id for an ephemeral port), so two sims never share one.
    public var fixStore: String?
    /// pcap file for every MoldUDP64 multicast packet sent (both lines); nil: none.
    public var record: String?
    /// Keep polling without sleeping this long after the last inbound message (0: always sleep
    /// in 1 ms poll slices when idle; UInt64.max: busy-poll for ever).
    public var spinNs: UInt64 = 20_000_000
    /// SO_BUSY_POLL (µs) on the order-entry connections it accepts (0: off; `omni sim --so-busy-poll`).
    public var busyPollMicroseconds = 0
    /// Tick-to-trade triggers (`omni sim --triggers`); nil: none. With them the loop busy-polls.
    public var triggers: SimTriggerConfig?
    /// Real order flow replayed into the feed (`omni sim --background`); nil: none. With it the loop busy-polls.
    public var background: SimBackgroundConfig?
    public var venue = VenueConfig(maxOrders: 1 << 20, maxSessions: 256)
    /// Open connections per order-entry port (`limits.connections`).
    public var maxConnections = 64
    /// OUCH login names with a message log (`limits.ouch_users`); each log holds 64 K messages.
    public var maxOuchUsers = 64
    /// Bytes queued for one order-entry client that does not read (FIX output queue, SoupBinTCP
    /// send buffer); past it the client is disconnected (`limits.output_queue`).
    public var maxOutputQueueBytes = 4 << 20
    /// Price levels per instrument's ladder (`limits.ladder_levels`): a level per tick across the band.
    public var maxLadderLevels: UInt64 = 1_000_000

    public init() {}

    /// Parses YAML text; every key not given keeps its default.
    public init(yaml: String) throws(ConfigError) {
        self.init()
        guard let root = try ConfigReader.document(yaml) else { return } // an empty file: the default venue
        try ConfigReader().read(root, into: &self)
    }

    /// Reads and parses a YAML file.
    public init(contentsOf path: String) throws(ConfigError) {
        switch readTextFile(path) {
        case .success(let text): try self.init(yaml: text)
        case .failure(let e): throw ConfigError(key: "(file)", problem: "cannot read \(path): \(e.reason)")
        }
    }
}

public struct SimGeneratorConfig: Sendable, Equatable {
    /// Scales the model's arrival rates (1 = the model's default activity).
    public var intensity: Double
    public var seed: UInt64
    public init(intensity: Double = 1, seed: UInt64 = 1) { self.intensity = intensity; self.seed = seed }
}

public struct SimGroup: Sendable, Equatable, CustomStringConvertible {
    public var address: String
    public var port: UInt16
    public init(address: String, port: UInt16) { self.address = address; self.port = port }
    public var description: String { "\(address):\(port)" }
}

/// The sim's own value types, read with the one configuration reader.
extension ConfigReader {
    func price(_ n: ConfigNode, _ key: String) throws(ConfigError) -> UInt32 {
        let s = try scalar(n, key, "a price")
        guard let v = FixedPoint.parse(s, decimals: 4), v > 0, v <= UInt64(UInt32.max) else {
            throw fail(key, "expected a positive price with at most 4 decimals below 429496.7295, found \"\(s)\"", n)
        }
        return UInt32(v)
    }

    func group(_ n: ConfigNode, _ key: String) throws(ConfigError) -> SimGroup {
        let g = try multicastGroup(n, key)
        return SimGroup(address: g.address, port: g.port)
    }

    func host(_ n: ConfigNode, _ key: String) throws(ConfigError) -> String {
        let s = try scalar(n, key, "an IPv4 address")
        var a = in_addr()
        guard inet_pton(AF_INET, s, &a) == 1 else { throw fail(key, "expected a dotted IPv4 address to listen on, found \"\(s)\"", n) }
        return s
    }

    func read(_ root: ConfigNode, into c: inout SimConfig) throws(ConfigError) {
        let top = try mapping(root, "", known: ["instruments", "generator", "mold", "ouch", "fix", "record", "cancel_on_disconnect", "limits"])
        if let n = top["limits"] {
            let l = try mapping(n, "limits", known: ["connections", "sessions", "ouch_users", "output_queue", "orders_per_second", "burst", "ladder_levels"])
            if let v = l["connections"] { c.maxConnections = try integer(v, "limits.connections", 1...65_536) }
            if let v = l["sessions"] { c.venue.maxSessions = try integer(v, "limits.sessions", 2...65_536) }
            if let v = l["ouch_users"] { c.maxOuchUsers = try integer(v, "limits.ouch_users", 1...65_536) }
            if let v = l["output_queue"] { c.maxOutputQueueBytes = try integer(v, "limits.output_queue", 4_096...(1 << 30)) }
            if let v = l["orders_per_second"] { c.venue.ordersPerSecond = try integer(v, "limits.orders_per_second", 0...1_000_000_000) }
            if let v = l["burst"] { c.venue.burst = try integer(v, "limits.burst", 1...1_000_000_000) }
            if let v = l["ladder_levels"] { c.maxLadderLevels = try integer(v, "limits.ladder_levels", 1...100_000_000) }
        }
        if let n = top["instruments"] { c.instruments = try instruments(n, maxLadderLevels: c.maxLadderLevels) }
        if let n = top["generator"], isOff(n) {
            c.generator = nil
        } else if let n = top["generator"] {
            let g = try mapping(n, "generator", known: ["intensity", "seed"])
            var out = SimGeneratorConfig()
            if let i = g["intensity"] {
                let s = try scalar(i, "generator.intensity", "a number")
                guard let v = Double(s), v.isFinite, v > 0, v <= 1_000 else {
                    throw fail("generator.intensity", "expected a number above 0 and at most 1000, found \"\(s)\"", i)
                }
                out.intensity = v
            }
            if let s = g["seed"] { out.seed = try integer(s, "generator.seed", 0...UInt64.max) }
            c.generator = out
        }
        if let n = top["mold"] {
            let m = try mapping(n, "mold", known: ["session", "line_a", "line_b", "retransmit_port", "interface", "max_packet"])
            if let s = m["session"] {
                let v = try scalar(s, "mold.session", "a session name")
                guard (1...10).contains(v.utf8.count), v.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                    throw fail("mold.session", "expected 1 to 10 printable ASCII characters, found \"\(v)\"", s)
                }
                c.session = v
            }
            if let a = m["line_a"] { c.lineA = try group(a, "mold.line_a") }
            if let b = m["line_b"] { c.lineB = isOff(b) ? nil : try group(b, "mold.line_b") }
            if let r = m["retransmit_port"] { c.retransmitPort = isOff(r) ? nil : try integer(r, "mold.retransmit_port", 0...UInt16.max) }
            if let i = m["interface"] { c.interface = try scalar(i, "mold.interface", "an interface name or IPv4 address") }
            if let x = m["max_packet"] { c.maxPacketBytes = try integer(x, "mold.max_packet", 64...65_000) }
            if let b = c.lineB, b == c.lineA { throw fail("mold.line_b", "same group as line_a (\(b))", m["line_b"]) }
        }
        if let n = top["ouch"] {
            let o = try mapping(n, "ouch", known: ["port", "host"])
            if let p = o["port"] { c.ouchPort = try integer(p, "ouch.port", 0...UInt16.max) }
            if let h = o["host"] { c.ouchHost = try host(h, "ouch.host") }
        }
        if let n = top["fix"] {
            let f = try mapping(n, "fix", known: ["port", "host", "sender_comp_id", "store"])
            if let p = f["port"] { c.fixPort = try integer(p, "fix.port", 0...UInt16.max) }
            if let h = f["host"] { c.fixHost = try host(h, "fix.host") }
            if let s = f["sender_comp_id"] {
                let v = try scalar(s, "fix.sender_comp_id", "a CompID")
                guard !v.isEmpty, v.utf8.count <= 32, v.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "|") }) else {
                    throw fail("fix.sender_comp_id", "expected 1 to 32 printable ASCII characters, found \"\(v)\"", s)
                }
                c.fixSenderCompID = v
            }
            if let s = f["store"] {
                let v = try scalar(s, "fix.store", "a directory")
                guard !v.isEmpty else { throw fail("fix.store", "expected a directory, found an empty string", s) }
                c.fixStore = v
            }
        }
        if c.ouchPort != 0 && c.ouchPort == c.fixPort {
            throw fail("fix.port", "the same port as ouch.port (\(c.fixPort))", top["fix"] ?? top["ouch"])
        }
        if let b = top["cancel_on_disconnect"] { c.cancelOnDisconnect = try flag(b, "cancel_on_disconnect") }
        if let r = top["record"] {
            if !isOff(r) {
                let v = try scalar(r, "record", "a pcap file path")
                c.record = v
            }
        }
    }

    func instruments(_ n: ConfigNode, maxLadderLevels: UInt64) throws(ConfigError) -> [InstrumentSpec] {
        guard case .sequence(let list) = n else { throw fail("instruments", "expected a list, found \(describe(n))", n) }
        guard !list.isEmpty else { throw fail("instruments", "the list is empty: at least one instrument is needed", n) }
        guard list.count < Int(UInt16.max) else { throw fail("instruments", "too many instruments (\(list.count))", n) }
        var out: [InstrumentSpec] = []
        var seen: [String: Int] = [:]
        for (i, item) in list.enumerated() {
            let at = "instruments[\(i)]"
            let m = try mapping(item, at, known: ["symbol", "price", "tick", "lot", "band", "max_shares", "max_value"])
            guard let symNode = m["symbol"] else { throw fail(at, "missing key 'symbol'", item) }
            let sym = try scalar(symNode, "\(at).symbol", "a symbol")
            guard let symbol = Symbol(sym), (1...8).contains(sym.utf8.count),
                  sym.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw fail("\(at).symbol", "expected 1 to 8 printable ASCII characters, found \"\(sym)\"", symNode)
            }
            if let j = seen[sym] { throw fail("\(at).symbol", "\(sym) is already listed as instruments[\(j)]", symNode) }
            seen[sym] = i
            guard let priceNode = m["price"] else { throw fail(at, "missing key 'price' (the reference price)", item) }
            let ref = try price(priceNode, "\(at).price")
            let tick = try m["tick"].map { (t: ConfigNode) throws(ConfigError) in try price(t, "\(at).tick") } ?? 100
            let lot: UInt32 = try m["lot"].map { (l: ConfigNode) throws(ConfigError) in try integer(l, "\(at).lot", 1...1_000_000) } ?? 1
            guard ref % tick == 0 else {
                throw fail("\(at).price", "reference price \(decimal(ref)) is not a multiple of the tick \(decimal(tick))", priceNode)
            }
            var band: UInt32 = 1000
            if let b = m["band"] {
                var s = try scalar(b, "\(at).band", "a percentage")
                if s.hasSuffix("%") { s.removeLast() }
                guard let v = FixedPoint.parse(s.trimmingSpaces, decimals: 2), v > 0, v <= 10_000 else {
                    throw fail("\(at).band", "expected a percentage above 0 and at most 100 (e.g. 10 or 10%), found \"\(b.scalar?.string ?? "")\"", b)
                }
                band = UInt32(v) // percent with 2 decimals = basis points
            }
            var spec = InstrumentSpec(locate: Locate(i + 1), symbol: symbol, referencePrice: ref, tick: tick, lot: lot, bandBasisPoints: band)
            if let v = m["max_shares"] { spec.maxOrderShares = try integer(v, "\(at).max_shares", 1...UInt32.max) }
            if let v = m["max_value"] {
                let s = try scalar(v, "\(at).max_value", "an amount")
                guard let value = FixedPoint.parse(s, decimals: 4), value > 0 else {
                    throw fail("\(at).max_value", "expected a positive amount with at most 4 decimals (e.g. 10000000), found \"\(s)\"", v)
                }
                spec.maxOrderValue = value
            }
            // The ladder holds one level per tick across the band: bound it before it is allocated.
            let levels = spec.ladder.levels
            guard levels <= maxLadderLevels else {
                throw fail("\(at).tick", "\(levels) price levels across the band at tick \(decimal(tick)): more than limits.ladder_levels (\(maxLadderLevels)); widen the tick or narrow the band", m["tick"] ?? priceNode)
            }
            out.append(spec)
        }
        return out
    }
}

/// ITCH units as a decimal price trimmed to 2+ decimals ("200.00", "200.005").
func decimal(_ v: UInt32) -> String { Price(itch: v).text(minimumDecimals: 2) }

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
