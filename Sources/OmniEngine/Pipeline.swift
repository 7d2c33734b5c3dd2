// The runner: stages on pinned threads, started together, stopped so that every ring
// drains (sources first, then — once the pipeline is quiescent — the rest, feedback
// readers last); a supervisor that reports stalled stages. Chains are added from a
// topology in Wiring.swift.

import CRing
import CSys
import Glibc
import Synchronization

/// Stages on their threads: each pinned to its core, started together,
/// stopped so that every ring drains, feedback rings included.
///
/// Stop: the sources are asked to stop first and joined (in the order they were
/// added); then the runner waits until the pipeline is quiescent — every ring the
/// stages read is empty and no stage is inside a batch (an input is released only
/// after the batch's outputs are published, so an event is always in some ring) —
/// and only then asks the other stages to stop, stages with feedback inputs last.
/// So events moving around a cycle through a feedback ring finish their trip.
public final class Pipeline: @unchecked Sendable {
    @usableFromInline struct Entry {
        @usableFromInline let control: StageControl
        @usableFromInline let core: Int?
        @usableFromInline let inputs: [EventRing]
        @usableFromInline let feedback: Bool
        @usableFromInline let body: @Sendable () -> Void
        @usableFromInline var thread: PinnedThread?
        @inlinable init(control: StageControl, core: Int?, inputs: [EventRing], feedback: Bool, body: @escaping @Sendable () -> Void) {
            self.control = control
            self.core = core
            self.inputs = inputs
            self.feedback = feedback
            self.body = body
            thread = nil
        }
    }

    @usableFromInline var entries: [Entry] = []
    /// Wirings whose rings the stages use: kept alive while the pipeline is.
    var wirings: [Wiring] = []

    @usableFromInline @discardableResult
    func append(_ control: StageControl, core: Int?, inputs: [EventRing], feedback: Bool = false,
                body: @escaping @Sendable () -> Void) -> StageControl {
        precondition(!started, "stages are added before start()")
        entries.append(Entry(control: control, core: core, inputs: inputs, feedback: feedback, body: body))
        return control
    }

    func keep(_ wiring: Wiring) {
        if !wirings.contains(where: { $0 === wiring }) { wirings.append(wiring) }
    }

    @usableFromInline var started = false

    /// How long `stop()` waits for the pipeline to go quiescent before it abandons
    /// what is still moving (a blocked emit then drops, counted; a cycle stops circulating).
    public var quiesceTimeoutNs: UInt64 = 30_000_000_000

    public init() {}

    /// The stages' controls, in the order they were added.
    public var controls: [StageControl] { entries.map(\.control) }

    public func control(named name: String) -> StageControl? { entries.first { $0.control.name == name }?.control }

    /// Adds a stage reading `inputs` (fan-in when several) and writing every event it
    /// emits on port 0 to each of `outputs` (fan-out when several; none: a sink), under `full`.
    /// `core` nil: not pinned.
    @discardableResult @inlinable
    public func addStage<H: Processor, W: WaitStrategy>(
        name: String, core: Int?, inputs: [EventRing], outputs: [EventRing], hop: Int? = nil, handler: H, wait: W,
        full: FullPolicy = .block
    ) -> StageControl {
        let control = StageControl(name: name)
        let stage = Stage(inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: wait, control: control, full: full)
        return append(control, core: core, inputs: inputs) {
            var s = stage
            s.run(control: control)
        }
    }

    /// As above, with the wait strategy chosen from a topology's `WaitKind`.
    @discardableResult @inlinable
    public func addStage<H: Processor>(
        name: String, core: Int?, inputs: [EventRing], outputs: [EventRing], hop: Int? = nil, handler: H, wait: WaitKind,
        full: FullPolicy = .block
    ) -> StageControl {
        switch wait {
        case .spin: return addStage(name: name, core: core, inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: SpinWait(), full: full)
        case .spinYield: return addStage(name: name, core: core, inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: SpinYieldWait(), full: full)
        case .backoff: return addStage(name: name, core: core, inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: BackoffWait(), full: full)
        }
    }

    /// A stage with one input and at most one output.
    @discardableResult @inlinable
    public func addStage<H: Processor, W: WaitStrategy>(
        name: String, core: Int?, input: EventRing, output: EventRing?, hop: Int? = nil, handler: H, wait: W, full: FullPolicy = .block
    ) -> StageControl {
        addStage(name: name, core: core, inputs: [input], outputs: output.map { [$0] } ?? [], hop: hop, handler: handler, wait: wait, full: full)
    }

    @discardableResult @inlinable
    public func addStage<H: Processor>(
        name: String, core: Int?, input: EventRing, output: EventRing?, hop: Int? = nil, handler: H, wait: WaitKind, full: FullPolicy = .block
    ) -> StageControl {
        addStage(name: name, core: core, inputs: [input], outputs: output.map { [$0] } ?? [], hop: hop, handler: handler, wait: wait, full: full)
    }

    /// Adds a source stage publishing to each of `outputs` (none: a source fused
    /// with its downstream handlers, which consumes its own events).
    @discardableResult @inlinable
    public func addSource<S: EventSource, W: WaitStrategy>(
        name: String, core: Int?, outputs: [EventRing], hop: Int? = nil, source: S, wait: W, full: FullPolicy = .block
    ) -> StageControl {
        let control = StageControl(name: name)
        let stage = SourceStage(outputs: outputs, hop: hop, source: source, wait: wait, control: control, full: full)
        return append(control, core: core, inputs: []) {
            var s = stage
            s.run(control: control)
        }
    }

    @discardableResult @inlinable
    public func addSource<S: EventSource>(
        name: String, core: Int?, outputs: [EventRing], hop: Int? = nil, source: S, wait: WaitKind, full: FullPolicy = .block
    ) -> StageControl {
        switch wait {
        case .spin: return addSource(name: name, core: core, outputs: outputs, hop: hop, source: source, wait: SpinWait(), full: full)
        case .spinYield: return addSource(name: name, core: core, outputs: outputs, hop: hop, source: source, wait: SpinYieldWait(), full: full)
        case .backoff: return addSource(name: name, core: core, outputs: outputs, hop: hop, source: source, wait: BackoffWait(), full: full)
        }
    }

    @discardableResult @inlinable
    public func addSource<S: EventSource, W: WaitStrategy>(
        name: String, core: Int?, output: EventRing, hop: Int? = nil, source: S, wait: W, full: FullPolicy = .block
    ) -> StageControl {
        addSource(name: name, core: core, outputs: [output], hop: hop, source: source, wait: wait, full: full)
    }

    @discardableResult @inlinable
    public func addSource<S: EventSource>(
        name: String, core: Int?, output: EventRing, hop: Int? = nil, source: S, wait: WaitKind, full: FullPolicy = .block
    ) -> StageControl {
        addSource(name: name, core: core, outputs: [output], hop: hop, source: source, wait: wait, full: full)
    }

    /// Starts every stage on a thread of its own, pinned to its core and named
    /// after the stage. A failed pin is recorded in the stage's `pinError`; the
    /// stage runs unpinned.
    public func start() throws(EngineError) {
        precondition(!started, "a pipeline starts once")
        started = true
        for i in entries.indices {
            let e = entries[i]
            let core = e.core
            let control = e.control
            let body = e.body
            do {
                entries[i].thread = try PinnedThread(name: control.name, core: core) { pinError in
                    control.pinErrorCell.store(pinError, ordering: .relaxed)
                    body()
                }
            } catch {
                stop()
                throw error
            }
        }
    }

    /// Graceful stop (see the type's comment): sources first, then, once the pipeline is
    /// quiescent, the other stages, those with feedback inputs last. Returns true when it
    /// went quiescent; false when `quiesceTimeoutNs` passed first (what was still moving
    /// is abandoned: blocked emits drop and count, cycles stop).
    @discardableResult
    public func stop() -> Bool {
        for i in entries.indices where entries[i].inputs.isEmpty { end(i) }
        let quiet = entries.contains { $0.thread != nil } ? waitQuiescent() : true
        if !quiet { for e in entries { e.control.abandonCell.store(true, ordering: .releasing) } }
        for i in entries.indices where !entries[i].feedback { end(i) }
        for i in entries.indices { end(i) } // feedback inputs drain last
        return quiet
    }

    private func end(_ i: Int) {
        entries[i].control.requestStop()
        entries[i].thread?.join()
        entries[i].thread = nil
    }

    /// Waits until every ring a stage reads is empty with no stage inside a batch.
    /// Ring totals only grow: when no ring released an event between a first and a
    /// last scan of the released totals, and the published totals read between them
    /// equal those, no stage was inside a batch (its input would show unreleased) and
    /// no event was in any ring.
    private func waitQuiescent() -> Bool {
        var rings: [EventRing] = []
        for e in entries { for r in e.inputs where !rings.contains(where: { $0 === r }) { rings.append(r) } }
        let end = csys_monotonic_ns() &+ quiesceTimeoutNs
        while true {
            let t1 = rings.map(\.totals.released)
            let h = rings.map(\.totals.published)
            let t2 = rings.map(\.totals.released)
            if t1 == t2 && h == t2 { return true }
            if csys_monotonic_ns() >= end { return false }
            usleep(100)
        }
    }

    /// Waits until every source stage has finished (or `timeoutNs` passes);
    /// true when they all did.
    public func waitForSources(timeoutNs: UInt64) -> Bool {
        let end = csys_monotonic_ns() &+ timeoutNs
        while csys_monotonic_ns() < end {
            if entries.allSatisfy({ !$0.inputs.isEmpty || $0.control.isFinished }) { return true }
            usleep(1000)
        }
        return false
    }

    /// A supervisor over this pipeline's stages.
    public func supervisor(stallAfterNs: UInt64) -> Supervisor {
        Supervisor(watched: entries.map { .init(control: $0.control, inputs: $0.inputs) }, stallAfterNs: stallAfterNs)
    }

    deinit { if entries.contains(where: { $0.thread != nil }) { stop() } }
}

/// A stage reported stalled: its heartbeat has not moved for `stalledNs` while
/// its input rings held `backlog` events.
public struct StallReport: Sendable, Equatable, CustomStringConvertible {
    public let stage: String
    public let stalledNs: UInt64
    public let backlog: Int
    public var description: String {
        "stage '\(stage)' stalled: no heartbeat for \(stalledNs / 1_000_000) ms with \(backlog) events waiting"
    }
}

/// Watches stages' heartbeats off the hot path. Call `check()` periodically
/// (every few ms); it reports each stage whose heartbeat has not advanced for
/// `stallAfterNs` while its input ring is non-empty. An idle stage with an
/// empty input is never stalled, whatever its wait strategy.
public struct Supervisor: Sendable {
    public struct Watched: Sendable {
        let control: StageControl
        let inputs: [EventRing]
    }

    private let watched: [Watched]
    public let stallAfterNs: UInt64
    private var lastBeat: [UInt64]
    private var lastChangeNs: [UInt64]

    public init(watched: [Watched], stallAfterNs: UInt64) {
        self.watched = watched
        self.stallAfterNs = stallAfterNs
        let now = csys_monotonic_ns()
        lastBeat = watched.map { $0.control.heartbeat }
        lastChangeNs = Array(repeating: now, count: watched.count)
    }

    /// Stalled stages now; `now` is CLOCK_MONOTONIC nanoseconds.
    public mutating func check(now: UInt64 = csys_monotonic_ns()) -> [StallReport] {
        var reports: [StallReport] = []
        for (i, w) in watched.enumerated() {
            let beat = w.control.heartbeat
            if beat != lastBeat[i] || w.control.isFinished {
                lastBeat[i] = beat
                lastChangeNs[i] = now
                continue
            }
            let backlog = w.inputs.reduce(0) { $0 + $1.count }
            let quiet = csys_elapsed_ns(now, lastChangeNs[i])
            if backlog > 0 && quiet >= stallAfterNs {
                reports.append(StallReport(stage: w.control.name, stalledNs: quiet, backlog: backlog))
            }
        }
        return reports
    }
}
