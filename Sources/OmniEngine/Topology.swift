// Topology files: stages on cores with their wait strategy, rings between them with
// capacity, port, feedback and full-ring policy, MPSC rings for fan-in. Read with
// OmniConfig's reader (unknown keys refused), validated: cycles only through feedback rings.

import CSys
import Glibc
import OmniCore
import OmniConfig

/// How a stage waits when its input ring is empty (or its output ring is full).
/// Chosen once, outside the loop: each kind is a `WaitStrategy` type the loop specialises on.
public enum WaitKind: String, Sendable, Equatable, CaseIterable {
    /// Busy-poll without pause: the lowest latency, a whole core burnt.
    case spin
    /// Busy-poll, then `sched_yield` after a number of empty polls.
    case spinYield = "spin-yield"
    /// Busy-poll, then sleeps growing exponentially up to a cap.
    case backoff
}

/// One stage of a topology: a loop pinned to `core`.
public struct StageSpec: Sendable, Equatable {
    public var name: String
    public var core: Int
    public var wait: WaitKind

    public init(name: String, core: Int, wait: WaitKind = .spin) {
        self.name = name
        self.core = core
        self.wait = wait
    }
}

/// A ring into stage `to`: SPSC from one stage (`from`), or MPSC from several
/// (`producers`, the topology's `from: [a, b]`: fan-in into one input).
public struct RingSpec: Sendable, Equatable {
    /// The stages writing the ring: one for SPSC, several for MPSC.
    public var producers: [String]
    public var to: String
    public var capacity: Int
    /// The producers' output port the ring is bound to (default "out", port 0).
    public var port: String
    /// A feedback ring (fills coming back): never fused, may close a cycle, drained last on stop.
    public var feedback: Bool
    /// What a producer does when the ring is full (default block).
    public var full: FullPolicy

    public init(from: String, to: String, capacity: Int, port: String = "out", feedback: Bool = false, full: FullPolicy = .block) {
        self.init(producers: [from], to: to, capacity: capacity, port: port, feedback: feedback, full: full)
    }

    public init(producers: [String], to: String, capacity: Int, port: String = "out", feedback: Bool = false, full: FullPolicy = .block) {
        precondition(!producers.isEmpty, "a ring has at least one producer")
        self.producers = producers
        self.to = to
        self.capacity = capacity
        self.port = port
        self.feedback = feedback
        self.full = full
    }

    /// The first (for SPSC, the only) producer.
    public var from: String { producers[0] }
    /// Whether it is an MPSC ring (several producers).
    public var isFanIn: Bool { producers.count > 1 }
    public var kind: RingKind { isFanIn ? .mpsc : .spsc }
}

/// Why a topology file was rejected. Every case names what is wrong and where.
public enum TopologyError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    /// The file is no valid topology: bad YAML, an unknown, duplicate or missing key, a wrong type.
    case config(ConfigError)
    case duplicateStage(name: String)
    case unknownStage(name: String, ringIndex: Int, end: String)
    case coreOutOfRange(stage: String, core: Int, onlineCores: Int)
    case badCapacity(ringIndex: Int, capacity: Int)
    case cycle(stages: [String])
    case duplicateProducer(ringIndex: Int, name: String)
    case noStages
    case notAChain(expected: [String], reason: String)
    case sharedCoreApart(core: Int, stages: [String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read topology file \(path): \(reason)"
        case let .config(e): return "topology \(e)"
        case let .duplicateStage(name): return "stage '\(name)' is declared more than once"
        case let .unknownStage(name, ringIndex, end): return "rings[\(ringIndex)].\(end): unknown stage '\(name)'"
        case let .coreOutOfRange(stage, core, online):
            return "stage '\(stage)': core \(core) is out of range (\(online) cores online: 0...\(online - 1))"
        case let .badCapacity(ringIndex, capacity):
            return capacity & (capacity &- 1) == 0 && capacity > 1
                ? "rings[\(ringIndex)].capacity: \(capacity) is above the largest ring, \(Int(CRING_MAX_CAPACITY_VALUE))"
                : "rings[\(ringIndex)].capacity: \(capacity) is not a power of two in 2...\(Int(CRING_MAX_CAPACITY_VALUE))"
        case let .cycle(stages):
            return "rings form a cycle without a feedback ring: \(stages.joined(separator: " -> ")) (mark a ring of it `feedback: true`)"
        case let .duplicateProducer(ringIndex, name): return "rings[\(ringIndex)].from: stage '\(name)' is named twice"
        case .noStages: return "stages: at least one stage is needed"
        case let .notAChain(expected, reason):
            return "topology is not the chain \(expected.joined(separator: " -> ")): \(reason)"
        case let .sharedCoreApart(core, stages):
            return "stages \(stages.map { "'\($0)'" }.joined(separator: " and ")) share core \(core) but are not adjacent in the chain: only neighbours can be fused"
        }
    }
}

/// Mirrors CRING_MAX_CAPACITY (a macro with a shift, which Swift does not import).
let CRING_MAX_CAPACITY_VALUE: UInt32 = 1 << 31

/// Which stages run where and which rings join them: parsed from YAML, validated.
///
/// ```yaml
/// stages:
///   - name: decode
///     core: 0
///     wait: spin            # spin | spin-yield | backoff (default spin)
///   - name: book
///     core: 1
/// rings:
///   - from: decode        # a stage, or a list of stages: [a, b] is one MPSC ring (fan-in)
///     to: book
///     capacity: 4096      # a power of two
///     port: out           # the producer's output port (default out)
///     feedback: false     # true: never fused, may close a cycle, drained last on stop
///     full: block         # block (wait, counted) | drop (drop, counted); default block
/// ```
/// A non-feedback SPSC ring whose two ends share a core is fused: those stages run
/// to completion on that core rather than handing events across cores. Cycles are
/// allowed only through feedback rings.
public struct Topology: Sendable, Equatable {
    public var stages: [StageSpec]
    public var rings: [RingSpec]

    /// Builds and validates a topology; `onlineCores` defaults to the machine's.
    public init(stages: [StageSpec], rings: [RingSpec], onlineCores: Int = Topology.onlineCores()) throws(TopologyError) {
        self.stages = stages
        self.rings = rings
        try validate(onlineCores: onlineCores)
    }

    public static func onlineCores() -> Int { Int(csys_online_cores()) }

    /// Parses and validates YAML text.
    public init(yaml: String, onlineCores: Int = Topology.onlineCores()) throws(TopologyError) {
        let (stages, rings): ([StageSpec], [RingSpec])
        do throws(ConfigError) { (stages, rings) = try Self.parse(yaml) } catch { throw .config(error) }
        try self.init(stages: stages, rings: rings, onlineCores: onlineCores)
    }

    private static func parse(_ yaml: String) throws(ConfigError) -> ([StageSpec], [RingSpec]) {
        let r = ConfigReader()
        guard let root = try ConfigReader.document(yaml) else { throw ConfigError(key: "stages", problem: "missing key 'stages' (the file is empty)") }
        let top = try r.mapping(root, "", known: ["stages", "rings"])
        var stages: [StageSpec] = []
        for (i, item) in try r.list(r.required(top, "stages", in: "(file)", root), "stages").enumerated() {
            let at = "stages[\(i)]"
            let m = try r.mapping(item, at, known: ["name", "core", "wait"])
            let name = try r.scalar(r.required(m, "name", in: at, item), "\(at).name", "a stage name")
            let core = try r.integer(r.required(m, "core", in: at, item), "\(at).core", Int.min...Int.max)
            var wait = WaitKind.spin
            if let w = m["wait"] {
                let v = try r.scalar(w, "\(at).wait", "a wait strategy")
                guard let kind = WaitKind(rawValue: v) else {
                    throw r.fail("\(at).wait", "unknown wait '\(v)' (one of \(WaitKind.allCases.map(\.rawValue).joined(separator: ", ")))", w)
                }
                wait = kind
            }
            stages.append(StageSpec(name: name, core: core, wait: wait))
        }
        var rings: [RingSpec] = []
        if let list = top["rings"] {
            for (i, item) in try r.list(list, "rings").enumerated() {
                let at = "rings[\(i)]"
                let m = try r.mapping(item, at, known: ["from", "to", "capacity", "port", "feedback", "full"])
                let fromNode = try r.required(m, "from", in: at, item)
                let producers: [String]
                if case .sequence = fromNode {
                    producers = try r.list(fromNode, "\(at).from").enumerated().map { (k, n) throws(ConfigError) in
                        try r.scalar(n, "\(at).from[\(k)]", "a stage name")
                    }
                    if producers.isEmpty { throw r.fail("\(at).from", "expected at least one stage", fromNode) }
                } else {
                    producers = [try r.scalar(fromNode, "\(at).from", "a stage name or a list of them")]
                }
                let to = try r.scalar(r.required(m, "to", in: at, item), "\(at).to", "a stage name")
                let capacity = try r.integer(r.required(m, "capacity", in: at, item), "\(at).capacity", 0...Int.max)
                let port = try m["port"].map { n throws(ConfigError) in try r.scalar(n, "\(at).port", "a port name") } ?? "out"
                let feedback = try m["feedback"].map { n throws(ConfigError) in try r.flag(n, "\(at).feedback") } ?? false
                var full = FullPolicy.block
                if let f = m["full"] {
                    let v = try r.scalar(f, "\(at).full", "a full-ring policy")
                    guard let policy = FullPolicy(rawValue: v) else {
                        throw r.fail("\(at).full", "unknown full '\(v)' (one of \(FullPolicy.allCases.map(\.rawValue).joined(separator: ", ")))", f)
                    }
                    full = policy
                }
                rings.append(RingSpec(producers: producers, to: to, capacity: capacity, port: port, feedback: feedback, full: full))
            }
        }
        return (stages, rings)
    }

    /// Reads, parses and validates a YAML file.
    public init(contentsOf path: String, onlineCores: Int = Topology.onlineCores()) throws(TopologyError) {
        switch readTextFile(path) {
        case .success(let text): try self.init(yaml: text, onlineCores: onlineCores)
        case .failure(let e): throw .unreadable(path: path, reason: e.reason)
        }
    }

    /// Checks names, cores, capacities and that the rings form no cycle but through a feedback ring.
    public func validate(onlineCores: Int) throws(TopologyError) {
        if stages.isEmpty { throw .noStages }
        var seen = Set<String>()
        for s in stages {
            if !seen.insert(s.name).inserted { throw .duplicateStage(name: s.name) }
            if s.core < 0 || s.core >= onlineCores {
                throw .coreOutOfRange(stage: s.name, core: s.core, onlineCores: onlineCores)
            }
        }
        for (i, r) in rings.enumerated() {
            for p in r.producers where !seen.contains(p) { throw .unknownStage(name: p, ringIndex: i, end: "from") }
            if let d = r.producers.enumerated().first(where: { r.producers[..<$0.offset].contains($0.element) }) {
                throw .duplicateProducer(ringIndex: i, name: d.element)
            }
            if !seen.contains(r.to) { throw .unknownStage(name: r.to, ringIndex: i, end: "to") }
            if r.capacity < 2 || r.capacity > Int(CRING_MAX_CAPACITY_VALUE) || r.capacity & (r.capacity - 1) != 0 {
                throw .badCapacity(ringIndex: i, capacity: r.capacity)
            }
        }
        if let c = findCycle() { throw .cycle(stages: c) }
    }

    /// Stage names in an order where every ring but the feedback rings goes from an
    /// earlier to a later stage (declaration order breaks ties).
    public var stageOrder: [String] {
        var indegree = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, 0) })
        for r in rings where !r.feedback { indegree[r.to, default: 0] += r.producers.count }
        var order: [String] = []
        var done = Set<String>()
        while order.count < stages.count {
            guard let next = stages.first(where: { !done.contains($0.name) && indegree[$0.name] == 0 }) else { break }
            order.append(next.name)
            done.insert(next.name)
            for r in rings where !r.feedback { for p in r.producers where p == next.name { indegree[r.to, default: 0] -= 1 } }
        }
        return order
    }

    /// Groups of two or more stages sharing a core: fused, run to completion on it.
    /// In declaration order; stages alone on their core are not listed.
    public var fusedGroups: [[String]] {
        var byCore: [Int: [String]] = [:]
        var coreOrder: [Int] = []
        for s in stages {
            if byCore[s.core] == nil { coreOrder.append(s.core) }
            byCore[s.core, default: []].append(s.name)
        }
        return coreOrder.compactMap { byCore[$0]!.count > 1 ? byCore[$0]! : nil }
    }

    /// Checks that the topology is exactly the chain `chain[0] -> chain[1] -> ...`
    /// (those stages, one ring between each neighbour pair, no other ring) and
    /// cuts it where a ring crosses cores: each group of neighbours sharing a core
    /// runs fused on it. Stages sharing a core that are not neighbours are refused.
    public func chainGroups(_ chain: [String]) throws(TopologyError) -> [[String]] {
        let names = Set(stages.map(\.name))
        for n in chain where !names.contains(n) { throw .notAChain(expected: chain, reason: "no stage named '\(n)'") }
        for s in stages where !chain.contains(s.name) {
            throw .notAChain(expected: chain, reason: "stage '\(s.name)' is not part of it")
        }
        for i in chain.indices.dropLast() {
            let n = rings.filter { $0.from == chain[i] && $0.to == chain[i + 1] }.count
            if n != 1 { throw .notAChain(expected: chain, reason: "\(n) rings from '\(chain[i])' to '\(chain[i + 1])' (need one)") }
        }
        if rings.count != max(chain.count - 1, 0) {
            throw .notAChain(expected: chain, reason: "\(rings.count) rings where the chain has \(chain.count - 1)")
        }
        let core = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, $0.core) })
        var groups: [[String]] = []
        for n in chain {
            if let last = groups.last?.last, core[last] == core[n] { groups[groups.count - 1].append(n) } else { groups.append([n]) }
        }
        for (i, g) in groups.enumerated() {
            for h in groups[(i + 1)...] where core[h[0]] == core[g[0]] {
                throw .sharedCoreApart(core: core[g[0]]!, stages: [g.last!, h[0]])
            }
        }
        return groups
    }

    /// Whether two stages are fused (on the same core).
    public func areFused(_ a: String, _ b: String) -> Bool {
        guard let ca = stages.first(where: { $0.name == a })?.core,
              let cb = stages.first(where: { $0.name == b })?.core else { return false }
        return a != b && ca == cb
    }

    /// Whether the ring is made (false: a single-producer, non-feedback ring whose two ends
    /// share a core: those stages are fused and the event is handed on by a call).
    public func crossesCores(_ ring: RingSpec) -> Bool { ring.feedback || ring.isFanIn || !areFused(ring.from, ring.to) }

    /// Whether the ring is fused away (no ring made): the opposite of `crossesCores`.
    public func isFused(_ ring: RingSpec) -> Bool { !crossesCores(ring) }

    /// A cycle in the graph of the rings other than feedback rings, as its stage names,
    /// the first repeated at the end ("a -> b -> a"), or nil.
    func findCycle() -> [String]? {
        var next: [String: [String]] = [:]
        for r in rings where !r.feedback { for p in r.producers { next[p, default: []].append(r.to) } }
        var state: [String: Int] = [:] // 1 on the path, 2 done
        var path: [String] = []
        func visit(_ n: String) -> [String]? {
            state[n] = 1
            path.append(n)
            for m in next[n] ?? [] {
                if state[m] == 1 {
                    let start = path.lastIndex(of: m)!
                    return Array(path[start...]) + [m]
                }
                if state[m] == nil, let c = visit(m) { return c }
            }
            path.removeLast()
            state[n] = 2
            return nil
        }
        for s in stages where state[s.name] == nil {
            if let c = visit(s.name) { return c }
        }
        return nil
    }
}
