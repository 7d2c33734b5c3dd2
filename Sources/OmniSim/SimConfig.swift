import Glibc
import OmniCore
import OmniVenue
import Yams

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
///   store: /tmp/omni-sim-fix    # sequence-number store
/// record: sim.pcap              # every MoldUDP64 multicast packet sent, optional
/// cancel_on_disconnect: true    # cancel a session's orders when its OUCH connection / FIX session ends
/// ```
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
    public var fixStore = "/tmp/omni-sim-fix"
    /// pcap file for every MoldUDP64 multicast packet sent (both lines); nil: none.
    public var record: String?
    /// Keep polling without sleeping this long after the last inbound message (0: always sleep
    /// in 1 ms poll slices when idle; UInt64.max: busy-poll for ever).
    public var spinNs: UInt64 = 20_000_000
    public var venue = VenueConfig(maxOrders: 1 << 20, maxSessions: 256)

    public init() {}

    /// Parses YAML text; every key not given keeps its default.
    public init(yaml: String) throws(SimConfigError) {
        self.init()
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw SimConfigError(key: "(file)", problem: "not valid YAML: \(error)") }
        guard let root else { return } // an empty file: the default venue
        var p = ConfigReader()
        try p.read(root, into: &self)
    }

    /// Reads and parses a YAML file.
    public init(contentsOf path: String) throws(SimConfigError) {
        switch readTextFile(path) {
        case .success(let text): try self.init(yaml: text)
        case .failure(let e): throw SimConfigError(key: "(file)", problem: "cannot read \(path): \(e.reason)")
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

/// A rejected config: the key (a path like `instruments[2].price`), what is wrong, and the line.
public struct SimConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public var key: String
    public var problem: String
    public var line: Int?
    public init(key: String, problem: String, line: Int? = nil) { self.key = key; self.problem = problem; self.line = line }
    public var description: String { "config \(key): \(problem)" + (line.map { " (line \($0))" } ?? "") }
}

/// Walks the YAML node tree; prices and sizes are read from the scalar text, never through a Double.
struct ConfigReader {
    func fail(_ key: String, _ problem: String, _ node: Node?) -> SimConfigError {
        SimConfigError(key: key, problem: problem, line: node?.mark?.line)
    }

    func describe(_ n: Node) -> String {
        switch n {
        case .scalar(let s): return "\"\(s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// The entries of a mapping, refusing keys not in `known`.
    func mapping(_ n: Node, _ key: String, known: [String]) throws(SimConfigError) -> [String: Node] {
        guard case .mapping(let m) = n else { throw fail(key, "expected a mapping, found \(describe(n))", n) }
        var out: [String: Node] = [:]
        for (k, v) in m {
            guard let name = k.scalar?.string else { throw fail(key, "keys must be plain names", k) }
            let path = key.isEmpty ? name : "\(key).\(name)"
            guard known.contains(name) else {
                throw fail(path, "unknown key (known here: \(known.joined(separator: ", ")))", k)
            }
            out[name] = v
        }
        return out
    }

    func scalar(_ n: Node, _ key: String, _ expected: String) throws(SimConfigError) -> String {
        guard case .scalar(let s) = n else { throw fail(key, "expected \(expected), found \(describe(n))", n) }
        return s.string
    }

    func integer<T: FixedWidthInteger>(_ n: Node, _ key: String, _ range: ClosedRange<T>) throws(SimConfigError) -> T {
        let s = try scalar(n, key, "an integer in \(range.lowerBound)...\(range.upperBound)")
        guard let v = T(s), range.contains(v) else {
            throw fail(key, "expected an integer in \(range.lowerBound)...\(range.upperBound), found \"\(s)\"", n)
        }
        return v
    }

    /// "200", "200.5", "0.0001" -> value × 10^decimals; nil if not a plain decimal with at most `decimals` places.
    static func fixedPoint(_ s: String, decimals: Int) -> UInt64? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let frac = parts.count == 2 ? parts[1] : ""
        guard frac.count <= decimals, frac.allSatisfy({ $0.isASCII && $0.isNumber }), parts.count == 1 || !frac.isEmpty else { return nil }
        guard whole.count <= 12, let w = UInt64(whole) else { return nil }
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        var f: UInt64 = 0
        for c in frac { f = f * 10 + UInt64(c.asciiValue! - 48) }
        for _ in frac.count..<decimals { f *= 10 }
        return w * scale + f
    }

    func price(_ n: Node, _ key: String) throws(SimConfigError) -> UInt32 {
        let s = try scalar(n, key, "a price")
        guard let v = Self.fixedPoint(s, decimals: 4), v > 0, v <= UInt64(UInt32.max) else {
            throw fail(key, "expected a positive price with at most 4 decimals below 429496.7295, found \"\(s)\"", n)
        }
        return UInt32(v)
    }

    func group(_ n: Node, _ key: String) throws(SimConfigError) -> SimGroup {
        let s = try scalar(n, key, "ADDRESS:PORT")
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        var a = in_addr()
        guard parts.count == 2, let port = UInt16(parts[1]), port != 0, inet_pton(AF_INET, String(parts[0]), &a) == 1 else {
            throw fail(key, "expected a multicast ADDRESS:PORT (dotted IPv4, port 1...65535), found \"\(s)\"", n)
        }
        guard UInt32(bigEndian: a.s_addr) >> 28 == 0xE else { throw fail(key, "\(parts[0]) is not a multicast group (224.0.0.0/4)", n) }
        return SimGroup(address: String(parts[0]), port: port)
    }

    func host(_ n: Node, _ key: String) throws(SimConfigError) -> String {
        let s = try scalar(n, key, "an IPv4 address")
        var a = in_addr()
        guard inet_pton(AF_INET, s, &a) == 1 else { throw fail(key, "expected a dotted IPv4 address to listen on, found \"\(s)\"", n) }
        return s
    }

    func isOff(_ n: Node) -> Bool {
        guard case .scalar(let s) = n else { return false }
        return ["off", "none", "false", "no", "~", "null", ""].contains(s.string.lowercased())
    }

    mutating func read(_ root: Node, into c: inout SimConfig) throws(SimConfigError) {
        let top = try mapping(root, "", known: ["instruments", "generator", "mold", "ouch", "fix", "record", "cancel_on_disconnect"])
        if let n = top["instruments"] { c.instruments = try instruments(n) }
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
        if let b = top["cancel_on_disconnect"] {
            let v = try scalar(b, "cancel_on_disconnect", "true or false")
            switch v.lowercased() {
            case "true", "yes", "on": c.cancelOnDisconnect = true
            case "false", "no", "off": c.cancelOnDisconnect = false
            default: throw fail("cancel_on_disconnect", "expected true or false, found \"\(v)\"", b)
            }
        }
        if let r = top["record"] {
            if !isOff(r) {
                let v = try scalar(r, "record", "a pcap file path")
                c.record = v
            }
        }
    }

    func instruments(_ n: Node) throws(SimConfigError) -> [InstrumentSpec] {
        guard case .sequence(let list) = n else { throw fail("instruments", "expected a list, found \(describe(n))", n) }
        guard !list.isEmpty else { throw fail("instruments", "the list is empty: at least one instrument is needed", n) }
        guard list.count < Int(UInt16.max) else { throw fail("instruments", "too many instruments (\(list.count))", n) }
        var out: [InstrumentSpec] = []
        var seen: [String: Int] = [:]
        for (i, item) in list.enumerated() {
            let at = "instruments[\(i)]"
            let m = try mapping(item, at, known: ["symbol", "price", "tick", "lot", "band"])
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
            let tick = try m["tick"].map { (t: Node) throws(SimConfigError) in try price(t, "\(at).tick") } ?? 100
            let lot: UInt32 = try m["lot"].map { (l: Node) throws(SimConfigError) in try integer(l, "\(at).lot", 1...1_000_000) } ?? 1
            guard ref % tick == 0 else {
                throw fail("\(at).price", "reference price \(decimal(ref)) is not a multiple of the tick \(decimal(tick))", priceNode)
            }
            var band: UInt32 = 1000
            if let b = m["band"] {
                var s = try scalar(b, "\(at).band", "a percentage")
                if s.hasSuffix("%") { s.removeLast() }
                guard let v = Self.fixedPoint(s.trimmingSpaces, decimals: 2), v > 0, v <= 10_000 else {
                    throw fail("\(at).band", "expected a percentage above 0 and at most 100 (e.g. 10 or 10%), found \"\(b.scalar?.string ?? "")\"", b)
                }
                band = UInt32(v) // percent with 2 decimals = basis points
            }
            out.append(InstrumentSpec(locate: Locate(i + 1), symbol: symbol, referencePrice: ref, tick: tick, lot: lot, bandBasisPoints: band))
        }
        return out
    }
}

/// ITCH units as a decimal price ("200.0000" style trimmed to 2+ decimals).
func decimal(_ v: UInt32) -> String {
    let whole = v / 10_000, frac = v % 10_000
    var f = String(frac)
    f = String(repeating: "0", count: 4 - f.count) + f
    while f.count > 2 && f.hasSuffix("0") { f.removeLast() }
    return "\(whole).\(f)"
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
