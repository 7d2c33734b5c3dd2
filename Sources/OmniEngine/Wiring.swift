/// The rings of a topology, made, and the lookups that place stages between them.
///
/// A ring whose two ends share a core is not made: those stages are fused, run
/// to completion on that core (`Fused`, `FusedSource`), and the event passes
/// from one handler to the next without a ring. A stage may read several rings
/// (fan-in) and write several (fan-out: each event it passes on goes to all).
public final class Wiring: Sendable {
    public let topology: Topology
    /// One entry per `topology.rings` entry, same order: the ring, or nil where both ends share a core.
    public let rings: [EventRing?]

    public init(_ topology: Topology) throws(EngineError) {
        self.topology = topology
        var made: [EventRing?] = []
        for r in topology.rings {
            made.append(topology.crossesCores(r) ? try EventRing(capacity: r.capacity) : nil)
        }
        rings = made
    }

    public func spec(of stage: String) -> StageSpec? { topology.stages.first { $0.name == stage } }

    /// The cross-core rings into `stage`, in topology order.
    public func inputs(of stage: String) throws(EngineError) -> [EventRing] {
        guard spec(of: stage) != nil else { throw .unknownStage(stage) }
        return topology.rings.indices.compactMap { topology.rings[$0].to == stage ? rings[$0] : nil }
    }

    /// The cross-core rings out of `stage`, in topology order.
    public func outputs(of stage: String) throws(EngineError) -> [EventRing] {
        guard spec(of: stage) != nil else { throw .unknownStage(stage) }
        return topology.rings.indices.compactMap { topology.rings[$0].from == stage ? rings[$0] : nil }
    }
}

extension Pipeline {
    /// Adds topology stage `name` (core, wait strategy and rings from the topology) running `handler`.
    /// For a fused group, name its first stage in `name` and its last in `through`: the group
    /// reads the first stage's rings and writes the last one's.
    @discardableResult @inlinable
    public func addStage<H: EventHandler>(_ name: String, through last: String? = nil, of wiring: Wiring, hop: Int? = nil,
                                          handler: H) throws(EngineError) -> StageControl {
        guard let spec = wiring.spec(of: name) else { throw .unknownStage(name) }
        let inputs = try wiring.inputs(of: name)
        if inputs.isEmpty {
            if let feeder = wiring.topology.rings.first(where: { $0.to == name })?.from {
                throw .unsupported("stage '\(name)' shares core \(spec.core) with '\(feeder)', which feeds it: they are fused; add them as one group (through:)")
            }
            throw .unsupported("stage '\(name)' has no input ring: add it as a source")
        }
        let outputs = try wiring.outputs(of: last ?? name)
        return addStage(name: last.map { "\(name)..\($0)" } ?? name, core: spec.core, inputs: inputs, outputs: outputs,
                        hop: hop, handler: handler, wait: spec.wait)
    }

    /// Adds topology stage `name`, which has no input ring, as a source (through `last`, as above).
    @discardableResult @inlinable
    public func addSource<S: EventSource>(_ name: String, through last: String? = nil, of wiring: Wiring, hop: Int? = nil,
                                          source: S) throws(EngineError) -> StageControl {
        guard let spec = wiring.spec(of: name) else { throw .unknownStage(name) }
        if wiring.topology.rings.contains(where: { $0.to == name }) {
            throw .unsupported("stage '\(name)' has an input ring: a source has none")
        }
        let outputs = try wiring.outputs(of: last ?? name)
        return addSource(name: last.map { "\(name)..\($0)" } ?? name, core: spec.core, outputs: outputs, hop: hop,
                         source: source, wait: spec.wait)
    }
}
