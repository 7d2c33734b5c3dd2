// A topology's rings, made (fused rings are not), and the binding of a chain to them:
// which links are fused, which rings each port writes, which rings each fused group's
// thread reads. No grouping is written by hand: the topology decides at bind.

/// The rings of a topology, made, and the binding of chains to them.
///
/// A ring is made unless it is fused away: a single-producer, non-feedback ring whose
/// two ends share a core. Fused stages must be neighbours in one chain; the chain's
/// link then hands each event to the next by a call on that core. Feedback rings are
/// always made; MPSC rings (several producers) serve fan-in. Rings take their memory
/// from CSys (`EventRing.memory` says which kind each got).
public final class Wiring: Sendable {
    public let topology: Topology
    /// One entry per `topology.rings` entry, same order: the ring, or nil where it is fused away.
    public let rings: [EventRing?]

    public init(_ topology: Topology) throws(EngineError) {
        self.topology = topology
        var made: [EventRing?] = []
        for r in topology.rings {
            made.append(topology.crossesCores(r) ? try EventRing(capacity: r.capacity, kind: r.kind) : nil)
        }
        rings = made
    }

    public func spec(of stage: String) -> StageSpec? { topology.stages.first { $0.name == stage } }

    /// The made rings into `stage`, in topology order.
    public func inputs(of stage: String) throws(EngineError) -> [EventRing] {
        guard spec(of: stage) != nil else { throw .unknownStage(stage) }
        return topology.rings.indices.compactMap { topology.rings[$0].to == stage ? rings[$0] : nil }
    }

    /// The made rings out of `stage` (any port), in topology order.
    public func outputs(of stage: String) throws(EngineError) -> [EventRing] {
        guard spec(of: stage) != nil else { throw .unknownStage(stage) }
        return topology.rings.indices.compactMap { topology.rings[$0].producers.contains(stage) ? rings[$0] : nil }
    }

    /// One line per topology ring: its ends, its kind, its memory (or "fused"): for a run to print.
    public var ringReport: [String] {
        topology.rings.indices.map { i in
            let r = topology.rings[i]
            let ends = "\(r.producers.joined(separator: "+"))\(r.port == "out" ? "" : ".\(r.port)") -> \(r.to)"
            guard let ring = rings[i] else { return "\(ends): fused (no ring)" }
            return "\(ends): \(ring.kind.rawValue) \(ring.capacity) x 64 B\(r.feedback ? ", feedback" : ""), full: \(r.full.rawValue), memory \(ring.memory)"
        }
    }
}

/// Binds one chain (its stage names, in order) to a wiring: which links are fused, which
/// rings each port writes, which rings each group's thread reads, and the group's control.
/// Made by `Pipeline.add`; the links consult it while they bind and register.
public final class ChainBinder {
    let wiring: Wiring
    let pipeline: Pipeline
    let names: [String]
    let isSourceChain: Bool
    /// fusedNext[i]: link i hands its port 0 to link i + 1 by a call.
    let fusedNext: [Bool]
    /// groupOf[i]: index of link i's group head.
    let groupOf: [Int]
    let controls: [Int: StageControl]
    let groupInputs: [Int: [(ring: EventRing, depth: Int)]]
    let groupFeedback: [Int: Bool]

    init(names: [String], wiring w: Wiring, pipeline: Pipeline, source: Bool) throws(EngineError) {
        let t = w.topology
        self.names = names
        self.wiring = w
        self.pipeline = pipeline
        isSourceChain = source
        guard !names.isEmpty else { throw .unsupported("a chain has at least one link") }
        for n in names where w.spec(of: n) == nil { throw .unknownStage(n) }
        if Set(names).count != names.count { throw .unsupported("chain \(names.joined(separator: " -> ")) names a stage twice") }
        var fused: [Bool] = []
        for i in names.indices.dropLast() {
            let joining = t.rings.filter { $0.producers.contains(names[i]) && $0.to == names[i + 1] }
            if joining.isEmpty {
                throw .unsupported("chain \(names.joined(separator: " -> ")): no ring from '\(names[i])' to '\(names[i + 1])' in the topology")
            }
            fused.append(joining.contains { t.isFused($0) })
        }
        fused.append(false)
        fusedNext = fused
        var heads: [Int] = []
        var controls: [Int: StageControl] = [:]
        var group = 0
        for i in names.indices {
            if i == 0 || !fused[i - 1] { group = i }
            heads.append(group)
        }
        groupOf = heads
        for g in Set(heads) {
            let last = heads.lastIndex(of: g)!
            controls[g] = StageControl(name: last > g ? "\(names[g])..\(names[last])" : names[g])
        }
        self.controls = controls
        var inputs: [Int: [(ring: EventRing, depth: Int)]] = [:]
        var feedback: [Int: Bool] = [:]
        for g in Set(heads) {
            var list: [(ring: EventRing, depth: Int)] = []
            for j in names.indices where heads[j] == g {
                for (k, r) in t.rings.enumerated() where r.to == names[j] {
                    if let ring = w.rings[k] {
                        list.append((ring, j - g))
                        if r.feedback { feedback[g] = true }
                    } else if !(j > g && r.from == names[j - 1]) {
                        let core = w.spec(of: names[j])!.core
                        throw .unsupported("stage '\(names[j])' shares core \(core) with '\(r.from)', which feeds it: they are fused; add them as neighbours of one chain, '\(r.from)' then '\(names[j])' (or place them on different cores)")
                    }
                }
            }
            if g == 0 && source {
                if !list.isEmpty { throw .unsupported("stage '\(names[0])' has an input ring: a source has none") }
            } else if list.isEmpty {
                throw .unsupported("stage '\(names[g])' has no input ring: add it as a source")
            }
            inputs[g] = list
        }
        groupInputs = inputs
        groupFeedback = feedback
    }

    /// The group controls, in chain order.
    var groupControls: [StageControl] { names.indices.filter(isGroupHead).map { controls[$0]! } }

    func isGroupHead(_ i: Int) -> Bool { groupOf[i] == i }

    /// What link `index` (with output ports `ports`) writes: fused to the next link or not,
    /// its rings per port, and its group's control.
    func outputs(of index: Int, ports: [String]) throws(EngineError) -> (fused: Bool, memory: PortMemory?, control: StageControl) {
        let name = names[index]
        let t = wiring.topology
        let control = controls[groupOf[index]]!
        var perPort: [[(ring: EventRing, full: FullPolicy)]] = ports.map { _ in [] }
        for (k, r) in t.rings.enumerated() where r.producers.contains(name) {
            guard let p = ports.firstIndex(of: r.port) else {
                throw .unsupported("stage '\(name)' has no port '\(r.port)' (its ports: \(ports.joined(separator: ", ")))")
            }
            if let ring = wiring.rings[k] {
                perPort[p].append((ring, r.full))
            } else if !(index + 1 < names.count && r.to == names[index + 1] && p == 0) {
                throw .unsupported("stage '\(name)' shares core \(wiring.spec(of: name)!.core) with '\(r.to)', which it feeds: they are fused; add them as neighbours of one chain, '\(name)' then '\(r.to)' on port \(ports[0]) (or place them on different cores)")
            }
        }
        let wait = wiring.spec(of: names[groupOf[index]])!.wait
        let memory = perPort.allSatisfy(\.isEmpty) ? nil : PortMemory(ports: perPort, wait: wait, control: control)
        return (fusedNext[index], memory, control)
    }

    /// Adds the stage of the group headed by link `index`; `make` builds its loop's body.
    func addStage(at index: Int, _ make: (_ inputs: [(ring: EventRing, depth: Int)], _ control: StageControl, _ wait: WaitKind) -> @Sendable () -> Void) {
        let spec = wiring.spec(of: names[index])!
        let inputs = groupInputs[index] ?? []
        let control = controls[index]!
        pipeline.append(control, core: spec.core, inputs: inputs.map(\.ring), feedback: groupFeedback[index] ?? false,
                        body: make(inputs, control, spec.wait))
    }
}

extension Pipeline {
    /// Adds a chain whose head reads rings: one stage (thread) per group of fused links,
    /// each on its topology core with its wait strategy. Returns the groups' controls in chain order.
    @discardableResult
    public func add<Head: ChainLink>(_ chain: Head, of wiring: Wiring) throws(EngineError) -> [StageControl] {
        precondition(!started, "stages are added before start()")
        let binder = try ChainBinder(names: chain.stageNames, wiring: wiring, pipeline: self, source: false)
        var c = chain
        try c.bind(binder, index: 0)
        keep(wiring)
        c.register(binder, index: 0)
        return binder.groupControls
    }

    /// Adds a chain headed by a source (as above).
    @discardableResult
    public func add<S: EventSource, Next: ChainLink>(_ chain: SourceLink<S, Next>, of wiring: Wiring) throws(EngineError) -> [StageControl] {
        precondition(!started, "stages are added before start()")
        let binder = try ChainBinder(names: chain.stageNames, wiring: wiring, pipeline: self, source: true)
        var c = chain
        try c.bind(binder)
        keep(wiring)
        c.register(binder)
        return binder.groupControls
    }

    /// Adds topology stage `name` alone (a chain of one link) running `handler`.
    @discardableResult
    public func addStage<P: Processor>(_ name: String, of wiring: Wiring, hop: Int? = nil, handler: P) throws(EngineError) -> StageControl {
        try add(Link(name, handler, hop: hop), of: wiring)[0]
    }

    /// Adds topology stage `name`, which has no input ring, alone as a source.
    @discardableResult
    public func addSource<S: EventSource>(_ name: String, of wiring: Wiring, hop: Int? = nil, source: S) throws(EngineError) -> StageControl {
        try add(SourceLink(name, source, hop: hop), of: wiring)[0]
    }
}
