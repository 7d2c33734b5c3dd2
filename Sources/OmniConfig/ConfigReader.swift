import Yams
#if canImport(Glibc)
import Glibc
#endif

// The one YAML reader of every configuration file (the sim's venue, topologies, runs): it
// walks Yams' node tree so each value keeps its line, refuses unknown and duplicate keys
// (a misspelt `wiat:` must not run as the default; a second `fix:` must not silently win),
// and reads numbers from the scalar text, never through a Double.

/// A rejected configuration: the key (a path like `instruments[2].price`), what is wrong, and the line.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public var key: String
    public var problem: String
    public var line: Int?
    public init(key: String, problem: String, line: Int? = nil) { self.key = key; self.problem = problem; self.line = line }
    public var description: String { "config \(key): \(problem)" + (line.map { " (line \($0))" } ?? "") }
}

/// A node of a configuration document (Yams' node, with its line): what readers of one file's own
/// values (prices, addresses) take.
public typealias ConfigNode = Node

public struct ConfigReader: Sendable {
    public init() {}

    /// The document's root node (nil for an empty file).
    public static func document(_ yaml: String) throws(ConfigError) -> Node? {
        do { return try Yams.compose(yaml: yaml) } catch { throw ConfigError(key: "(file)", problem: "not valid YAML: \(error)") }
    }

    public func fail(_ key: String, _ problem: String, _ node: Node?) -> ConfigError {
        ConfigError(key: key, problem: problem, line: node?.mark?.line)
    }

    public func describe(_ n: Node) -> String {
        switch n {
        case .scalar(let s): return "\"\(s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// `parent.name`, or `name` at the top.
    public func path(_ parent: String, _ name: String) -> String { parent.isEmpty ? name : "\(parent).\(name)" }

    /// The entries of a mapping, refusing keys not in `known` and keys given twice.
    public func mapping(_ n: Node, _ key: String, known: [String]) throws(ConfigError) -> [String: Node] {
        guard case .mapping(let m) = n else { throw fail(key.isEmpty ? "(file)" : key, "expected a mapping, found \(describe(n))", n) }
        var out: [String: Node] = [:]
        for (k, v) in m {
            guard let name = k.scalar?.string else { throw fail(key, "keys must be plain names", k) }
            guard known.contains(name) else {
                throw fail(path(key, name), "unknown key (known here: \(known.joined(separator: ", ")))", k)
            }
            guard out[name] == nil else { throw fail(path(key, name), "given twice (a second value would silently replace the first)", k) }
            out[name] = v
        }
        return out
    }

    /// The value of a required key of a mapping read with `mapping`.
    public func required(_ m: [String: Node], _ name: String, in key: String, _ node: Node) throws(ConfigError) -> Node {
        guard let v = m[name] else { throw fail(key, "missing key '\(name)'", node) }
        return v
    }

    public func list(_ n: Node, _ key: String) throws(ConfigError) -> [Node] {
        guard case .sequence(let s) = n else { throw fail(key, "expected a list, found \(describe(n))", n) }
        return Array(s)
    }

    public func scalar(_ n: Node, _ key: String, _ expected: String) throws(ConfigError) -> String {
        guard case .scalar(let s) = n else { throw fail(key, "expected \(expected), found \(describe(n))", n) }
        return s.string
    }

    public func integer<T: FixedWidthInteger>(_ n: Node, _ key: String, _ range: ClosedRange<T>) throws(ConfigError) -> T {
        let s = try scalar(n, key, "an integer in \(range.lowerBound)...\(range.upperBound)")
        guard let v = T(s), range.contains(v) else {
            throw fail(key, "expected an integer in \(range.lowerBound)...\(range.upperBound), found \"\(s)\"", n)
        }
        return v
    }

    public func flag(_ n: Node, _ key: String) throws(ConfigError) -> Bool {
        let v = try scalar(n, key, "true or false")
        switch v.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(key, "expected true or false, found \"\(v)\"", n)
        }
    }

    /// A scalar that turns a feature off ("off", "none", "false", "no", "~", "null", "").
    public func isOff(_ n: Node) -> Bool {
        guard case .scalar(let s) = n else { return false }
        return ["off", "none", "false", "no", "~", "null", ""].contains(s.string.lowercased())
    }

    /// A multicast group "ADDRESS:PORT" (dotted IPv4 in 224.0.0.0/4, port 1...65535).
    public func multicastGroup(_ n: Node, _ key: String) throws(ConfigError) -> (address: String, port: UInt16) {
        let s = try scalar(n, key, "ADDRESS:PORT")
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        var a = in_addr()
        guard parts.count == 2, let port = UInt16(parts[1]), port != 0, inet_pton(AF_INET, String(parts[0]), &a) == 1 else {
            throw fail(key, "expected a multicast ADDRESS:PORT (dotted IPv4, port 1...65535), found \"\(s)\"", n)
        }
        guard UInt32(bigEndian: a.s_addr) >> 28 == 0xE else { throw fail(key, "\(parts[0]) is not a multicast group (224.0.0.0/4)", n) }
        return (String(parts[0]), port)
    }
}
