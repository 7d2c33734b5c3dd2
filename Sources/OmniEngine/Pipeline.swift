import CRing
import CSys
import Glibc
import Synchronization

/// Stages on their threads: each pinned to its core, started together,
/// stopped in order so that every ring drains.
///
/// Add stages upstream first (sources, then the stages they feed): `stop()`
/// stops them in that order, joining each thread before asking the next stage
/// to stop, so when a stage sees the stop its producer has already ended and an
/// empty input means a drained input.
public final class Pipeline: @unchecked Sendable {
    @usableFromInline struct Entry {
        @usableFromInline let control: StageControl
        @usableFromInline let core: Int?
        @usableFromInline let inputs: [EventRing]
        @usableFromInline let body: @Sendable () -> Void
        @usableFromInline var thread: PinnedThread?
        @inlinable init(control: StageControl, core: Int?, inputs: [EventRing], body: @escaping @Sendable () -> Void) {
            self.control = control
            self.core = core
            self.inputs = inputs
            self.body = body
            thread = nil
        }
    }

    @usableFromInline var entries: [Entry] = []

    @usableFromInline func append(_ control: StageControl, core: Int?, inputs: [EventRing], body: @escaping @Sendable () -> Void) -> StageControl {
        precondition(!started, "stages are added before start()")
        entries.append(Entry(control: control, core: core, inputs: inputs, body: body))
        return control
    }
    @usableFromInline var started = false

    public init() {}

    /// The stages' controls, in the order they were added.
    public var controls: [StageControl] { entries.map(\.control) }

    public func control(named name: String) -> StageControl? { entries.first { $0.control.name == name }?.control }

    /// Adds a stage reading `inputs` (fan-in when several) and writing every
    /// event it passes on to each of `outputs` (fan-out when several; none: a sink).
    /// `core` nil: not pinned.
    @discardableResult @inlinable
    public func addStage<H: EventHandler, W: WaitStrategy>(
        name: String, core: Int?, inputs: [EventRing], outputs: [EventRing], hop: Int? = nil, handler: H, wait: W
    ) -> StageControl {
        let control = StageControl(name: name)
        let stage = Stage(inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: wait)
        return append(control, core: core, inputs: inputs) {
            var s = stage
            s.run(control: control)
        }
    }

    /// As above, with the wait strategy chosen from a topology's `WaitKind`.
    @discardableResult @inlinable
    public func addStage<H: EventHandler>(
        name: String, core: Int?, inputs: [EventRing], outputs: [EventRing], hop: Int? = nil, handler: H, wait: WaitKind
    ) -> StageControl {
        switch wait {
        case .spin: return addStage(name: name, core: core, inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: SpinWait())
        case .spinYield: return addStage(name: name, core: core, inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: SpinYieldWait())
        case .backoff: return addStage(name: name, core: core, inputs: inputs, outputs: outputs, hop: hop, handler: handler, wait: BackoffWait())
        }
    }

    /// A stage with one input and at most one output.
    @discardableResult @inlinable
    public func addStage<H: EventHandler, W: WaitStrategy>(
        name: String, core: Int?, input: EventRing, output: EventRing?, hop: Int? = nil, handler: H, wait: W
    ) -> StageControl {
        addStage(name: name, core: core, inputs: [input], outputs: output.map { [$0] } ?? [], hop: hop, handler: handler, wait: wait)
    }

    @discardableResult @inlinable
    public func addStage<H: EventHandler>(
        name: String, core: Int?, input: EventRing, output: EventRing?, hop: Int? = nil, handler: H, wait: WaitKind
    ) -> StageControl {
        addStage(name: name, core: core, inputs: [input], outputs: output.map { [$0] } ?? [], hop: hop, handler: handler, wait: wait)
    }

    /// Adds a source stage publishing to each of `outputs` (none: a source fused
    /// with its downstream handlers, which consumes its own events).
    @discardableResult @inlinable
    public func addSource<S: EventSource, W: WaitStrategy>(
        name: String, core: Int?, outputs: [EventRing], hop: Int? = nil, source: S, wait: W
    ) -> StageControl {
        let control = StageControl(name: name)
        let stage = SourceStage(outputs: outputs, hop: hop, source: source, wait: wait)
        return append(control, core: core, inputs: []) {
            var s = stage
            s.run(control: control)
        }
    }

    @discardableResult @inlinable
    public func addSource<S: EventSource>(
        name: String, core: Int?, outputs: [EventRing], hop: Int? = nil, source: S, wait: WaitKind
    ) -> StageControl {
        switch wait {
        case .spin: return addSource(name: name, core: core, outputs: outputs, hop: hop, source: source, wait: SpinWait())
        case .spinYield: return addSource(name: name, core: core, outputs: outputs, hop: hop, source: source, wait: SpinYieldWait())
        case .backoff: return addSource(name: name, core: core, outputs: outputs, hop: hop, source: source, wait: BackoffWait())
        }
    }

    @discardableResult @inlinable
    public func addSource<S: EventSource, W: WaitStrategy>(
        name: String, core: Int?, output: EventRing, hop: Int? = nil, source: S, wait: W
    ) -> StageControl {
        addSource(name: name, core: core, outputs: [output], hop: hop, source: source, wait: wait)
    }

    @discardableResult @inlinable
    public func addSource<S: EventSource>(
        name: String, core: Int?, output: EventRing, hop: Int? = nil, source: S, wait: WaitKind
    ) -> StageControl {
        addSource(name: name, core: core, outputs: [output], hop: hop, source: source, wait: wait)
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

    /// Graceful stop: in the order the stages were added, asks each to stop and
    /// waits for its thread; each stage drains its input ring before it ends.
    public func stop() {
        for i in entries.indices {
            entries[i].control.requestStop()
            entries[i].thread?.join()
            entries[i].thread = nil
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

    deinit { stop() }
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
