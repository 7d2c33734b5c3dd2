/// The rings of a topology, made, and the lookups that place stages between them.
///
/// This version of the stage loop reads one input ring and writes at most one
/// output ring, so a stage with several inputs (fan-in) or several outputs
/// (fan-out) in the topology is refused when it is added.
public final class Wiring: Sendable {
    public let topology: Topology
    /// One ring per `topology.rings` entry, same order.
    public let rings: [EventRing]

    public init(_ topology: Topology) throws(EngineError) {
        self.topology = topology
        var made: [EventRing] = []
        for r in topology.rings { made.append(try EventRing(capacity: r.capacity)) }
        rings = made
    }

    public func spec(of stage: String) -> StageSpec? { topology.stages.first { $0.name == stage } }

    /// The single ring into `stage`, nil when none; throws for fan-in.
    public func input(of stage: String) throws(EngineError) -> EventRing? {
        try single(topology.rings.indices.filter { topology.rings[$0].to == stage }, stage: stage, what: "input")
    }

    /// The single ring out of `stage`, nil when none; throws for fan-out.
    public func output(of stage: String) throws(EngineError) -> EventRing? {
        try single(topology.rings.indices.filter { topology.rings[$0].from == stage }, stage: stage, what: "output")
    }

    private func single(_ idx: [Int], stage: String, what: String) throws(EngineError) -> EventRing? {
        guard spec(of: stage) != nil else { throw .unknownStage(stage) }
        if idx.count > 1 { throw .unsupported("stage '\(stage)' has \(idx.count) \(what) rings; a stage has at most one") }
        return idx.first.map { rings[$0] }
    }
}

extension Pipeline {
    /// Adds topology stage `name` (core, wait strategy and rings from the topology) running `handler`.
    @discardableResult @inlinable
    public func addStage<H: EventHandler>(_ name: String, of wiring: Wiring, hop: Int? = nil, handler: H) throws(EngineError) -> StageControl {
        guard let spec = wiring.spec(of: name) else { throw .unknownStage(name) }
        guard let input = try wiring.input(of: name) else {
            throw .unsupported("stage '\(name)' has no input ring: add it as a source")
        }
        return addStage(name: name, core: spec.core, input: input, output: try wiring.output(of: name),
                        hop: hop, handler: handler, wait: spec.wait)
    }

    /// Adds topology stage `name`, which has no input ring, as a source.
    @discardableResult @inlinable
    public func addSource<S: EventSource>(_ name: String, of wiring: Wiring, hop: Int? = nil, source: S) throws(EngineError) -> StageControl {
        guard let spec = wiring.spec(of: name) else { throw .unknownStage(name) }
        if try wiring.input(of: name) != nil { throw .unsupported("stage '\(name)' has an input ring: a source has none") }
        guard let output = try wiring.output(of: name) else { throw .unsupported("source '\(name)' has no output ring") }
        return addSource(name: name, core: spec.core, output: output, hop: hop, source: source, wait: spec.wait)
    }
}
