import CEvent
import CRing
import CSys
import Glibc
import Synchronization

// MARK: - Rings

/// Why the engine could not set something up.
public enum EngineError: Error, Equatable, CustomStringConvertible, Sendable {
    case ring(capacity: Int, status: String)
    case threadStart(stage: String, errno: Int32)
    case unknownStage(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .ring(capacity, status): return "cannot make a ring of \(capacity) events: \(status)"
        case let .threadStart(stage, e): return "cannot start the thread of stage '\(stage)': \(String(cString: strerror(e)))"
        case let .unknownStage(name): return "no stage named '\(name)'"
        case let .unsupported(why): return why
        }
    }
}

/// An SPSC ring of `omni_event`s in memory aligned to CRING_ALIGN (128 bytes),
/// owned by this object. One producer stage, one consumer stage.
public final class EventRing: @unchecked Sendable {
    /// The C ring: producer calls from one thread, consumer calls from one other.
    public let raw: UnsafeMutablePointer<cring_spsc>
    public let capacity: Int

    public init(capacity: Int) throws(EngineError) {
        let slot = UInt32(MemoryLayout<omni_event>.stride)
        guard capacity >= 2, capacity <= Int(CRING_MAX_CAPACITY_VALUE) else {
            throw .ring(capacity: capacity, status: String(cString: cring_status_name(CRING_EBADCAPACITY.rawValue)))
        }
        let bytes = cring_spsc_bytes(UInt32(capacity), slot)
        guard bytes > 0 else {
            throw .ring(capacity: capacity, status: String(cString: cring_status_name(CRING_EBADCAPACITY.rawValue)))
        }
        var mem: UnsafeMutableRawPointer?
        let rc = posix_memalign(&mem, Int(CRING_ALIGN), bytes)
        guard rc == 0, let mem else { throw .ring(capacity: capacity, status: String(cString: strerror(rc))) }
        memset(mem, 0, bytes) // fault the pages in before the hot path starts
        raw = mem.bindMemory(to: cring_spsc.self, capacity: 1)
        let st = cring_spsc_init(raw, UInt32(capacity), slot, 0)
        guard st == CRING_OK.rawValue else {
            free(mem)
            throw .ring(capacity: capacity, status: String(cString: cring_status_name(st)))
        }
        self.capacity = capacity
    }

    deinit { free(raw) }

    /// Events published and not yet consumed: a snapshot, for monitors.
    public var count: Int { Int(cring_spsc_count(raw)) }
}

// MARK: - Handlers

/// What a stage does to each event. The stage loop is generic over the handler,
/// so its call specialises and inlines: no existential in the loop.
public protocol EventHandler: Sendable {
    /// Handles one event in place. Returns true to pass it on to the stage's
    /// output ring (ignored by a stage without one).
    mutating func handle(_ event: inout omni_event) -> Bool
}

/// What a source stage answers when asked for the next event.
public enum SourcePoll: Sendable {
    case produced   // the event was filled in: publish it
    case consumed   // an event was made and handled here (a fused source): nothing to publish
    case idle       // nothing now: wait and ask again
    case finished   // nothing more ever: the stage ends
}

/// The first stage of a chain: fills events rather than reading a ring.
public protocol EventSource: Sendable {
    mutating func next(_ event: inout omni_event) -> SourcePoll
}

/// A handler that changes nothing and passes every event on.
public struct PassThrough: EventHandler {
    public init() {}
    @inlinable @inline(__always) public func handle(_ event: inout omni_event) -> Bool { true }
}

// MARK: - Wait strategies

/// How a loop waits when there is nothing to do. `idle()` after an empty poll,
/// `reset()` after work. Generic parameter of the loop, so it specialises.
public protocol WaitStrategy: Sendable {
    mutating func idle()
    mutating func reset()
}

/// Polls again at once.
public struct SpinWait: WaitStrategy {
    public init() {}
    @inlinable @inline(__always) public mutating func idle() {}
    @inlinable @inline(__always) public mutating func reset() {}
}

/// Polls `spins` times, then yields the core once per empty poll.
public struct SpinYieldWait: WaitStrategy {
    public var spins: UInt32
    @usableFromInline var misses: UInt32 = 0
    public init(spins: UInt32 = 1000) { self.spins = spins }
    @inlinable @inline(__always) public mutating func idle() {
        if misses < spins { misses &+= 1 } else { sched_yield() }
    }
    @inlinable @inline(__always) public mutating func reset() { misses = 0 }
}

/// Polls `spins` times, then sleeps, doubling from `minSleepNs` up to `maxSleepNs`.
public struct BackoffWait: WaitStrategy {
    public var spins: UInt32
    public var minSleepNs: Int
    public var maxSleepNs: Int
    @usableFromInline var misses: UInt32 = 0
    @usableFromInline var sleepNs: Int
    public init(spins: UInt32 = 100, minSleepNs: Int = 1_000, maxSleepNs: Int = 100_000) {
        self.spins = spins
        self.minSleepNs = minSleepNs
        self.maxSleepNs = max(minSleepNs, maxSleepNs)
        sleepNs = minSleepNs
    }
    @inlinable @inline(__always) public mutating func idle() {
        if misses < spins { misses &+= 1; return }
        var ts = timespec(tv_sec: sleepNs / 1_000_000_000, tv_nsec: sleepNs % 1_000_000_000)
        nanosleep(&ts, nil)
        sleepNs = min(sleepNs * 2, maxSleepNs)
    }
    @inlinable @inline(__always) public mutating func reset() {
        misses = 0
        sleepNs = minSleepNs
    }
}

// MARK: - Control

/// The shared face of a running stage: heartbeat, counters and the stop flag.
/// Written by the stage's thread, read by the runner and supervisor.
public final class StageControl: Sendable {
    public let name: String
    /// Advances once per loop pass that did work or waited; stuck when the handler blocks.
    @usableFromInline let heartbeatCell = Atomic<UInt64>(0)
    /// Events the stage has handled (consumed from its input, or produced by a source).
    @usableFromInline let eventsCell = Atomic<UInt64>(0)
    @usableFromInline let stopCell = Atomic<Bool>(false)
    @usableFromInline let finishedCell = Atomic<Bool>(false)
    /// errno of csys_pin_to_core, 0 when pinned (or not asked to pin).
    let pinErrorCell = Atomic<Int32>(0)

    public init(name: String) { self.name = name }

    public var heartbeat: UInt64 { heartbeatCell.load(ordering: .relaxed) }
    public var events: UInt64 { eventsCell.load(ordering: .relaxed) }
    public var isFinished: Bool { finishedCell.load(ordering: .acquiring) }
    public var pinError: Int32 { pinErrorCell.load(ordering: .relaxed) }
    public var isStopRequested: Bool { stopCell.load(ordering: .relaxed) }
    /// Asks the stage to drain its input and end.
    public func requestStop() { stopCell.store(true, ordering: .releasing) }
}

// MARK: - Loops

/// Events read from a ring per pass: bounds the time between heartbeats and stop checks.
@usableFromInline let stageBatch: UInt32 = 64

/// Publishes one event to `ring`, waiting (and keeping the heartbeat alive) while it is full.
@inlinable @inline(__always)
func publish<W: WaitStrategy>(_ event: UnsafePointer<omni_event>, to ring: UnsafeMutablePointer<cring_spsc>,
                              wait: inout W, beat: inout UInt64, control: StageControl) {
    let size = UInt32(MemoryLayout<omni_event>.stride)
    while cring_spsc_try_push(ring, event, size) == 0 {
        wait.idle()
        beat &+= 1
        control.heartbeatCell.store(beat, ordering: .relaxed) // only this thread writes it: a plain store
    }
    wait.reset()
}

/// A stage: busy-polls its input rings in turn, hands each event to `handler`,
/// stamps hop `hop` with the TSC and passes the event on to every output ring
/// (fan-out; none for a sink). Several inputs are fan-in: each is an SPSC ring
/// from one upstream stage, read up to `stageBatch` events at a time, so no
/// input starves another. On stop it drains its inputs before it returns.
/// (@unchecked: the raw ring pointers stay valid while `inputs` / `outputs`
/// hold their owners, and one thread runs a stage.)
public struct Stage<Handler: EventHandler, Wait: WaitStrategy>: @unchecked Sendable {
    public let inputs: [EventRing]
    public let outputs: [EventRing]
    public var handler: Handler
    public var wait: Wait
    /// Index into omni_event.hop stamped after the handler; nil or >= OMNI_EVENT_HOPS: no stamp.
    public let hop: Int?
    @usableFromInline let inRaw: [UnsafeMutablePointer<cring_spsc>]
    @usableFromInline let outRaw: [UnsafeMutablePointer<cring_spsc>]
    @usableFromInline let stampHop: UInt32?

    public init(inputs: [EventRing], outputs: [EventRing], hop: Int?, handler: Handler, wait: Wait) {
        precondition(!inputs.isEmpty, "a stage reads at least one ring: a stage without input is a SourceStage")
        self.inputs = inputs
        self.outputs = outputs
        self.hop = hop
        self.handler = handler
        self.wait = wait
        inRaw = inputs.map(\.raw)
        outRaw = outputs.map(\.raw)
        stampHop = hopIndex(hop)
    }

    public init(input: EventRing, output: EventRing?, hop: Int?, handler: Handler, wait: Wait) {
        self.init(inputs: [input], outputs: output.map { [$0] } ?? [], hop: hop, handler: handler, wait: wait)
    }

    /// One pass over the inputs: handles what each holds, up to `stageBatch`
    /// events per input, and returns how many it handled. The loop of `run`;
    /// callable on its own by a caller that drives the stage (a benchmark).
    @inlinable public mutating func poll(control: StageControl, beat: inout UInt64) -> Int {
        var handled = 0
        for ring in inRaw {
            var slots: UnsafeRawPointer?
            let n = cring_spsc_peek(ring, stageBatch, &slots)
            if n == 0 { continue }
            let base = slots!
            for k in 0..<Int(n) {
                var event = base.load(fromByteOffset: k * MemoryLayout<omni_event>.stride, as: omni_event.self)
                let forward = handler.handle(&event)
                if let h = stampHop { omni_event_stamp(&event, h, csys_rdtsc()) }
                if forward {
                    for out in outRaw { publish(&event, to: out, wait: &wait, beat: &beat, control: control) }
                }
            }
            cring_spsc_release(ring, n)
            handled &+= Int(n)
        }
        return handled
    }

    /// The loop. Returns after a stop request once every input is empty.
    @inlinable public mutating func run(control: StageControl) {
        var beat: UInt64 = 0
        var events: UInt64 = 0
        while true {
            beat &+= 1
            control.heartbeatCell.store(beat, ordering: .relaxed) // only this thread writes it: a plain store
            let n = poll(control: control, beat: &beat)
            if n == 0 {
                // acquiring: pairs with requestStop; the producers stopped before ours was set (runner order),
                // so one more pass that finds every input empty after seeing the flag means they are drained.
                if control.stopCell.load(ordering: .acquiring) {
                    let last = poll(control: control, beat: &beat)
                    if last == 0 { break }
                    events &+= UInt64(last)
                    control.eventsCell.store(events, ordering: .relaxed)
                    continue
                }
                wait.idle()
                continue
            }
            wait.reset()
            events &+= UInt64(n)
            control.eventsCell.store(events, ordering: .relaxed)
        }
        control.finishedCell.store(true, ordering: .releasing)
    }
}

/// The omni_event.hop index to stamp, or nil when `hop` is absent or outside the event's hops.
@usableFromInline func hopIndex(_ hop: Int?) -> UInt32? {
    hop.flatMap { $0 >= 0 && $0 < Int(OMNI_EVENT_HOPS) ? UInt32($0) : nil }
}

/// A source stage: asks `source` for events and publishes them to every output
/// ring until the source is finished or a stop is requested. With no output the
/// source handles its events itself (a source fused with its downstream handlers).
public struct SourceStage<Source: EventSource, Wait: WaitStrategy>: Sendable {
    public let outputs: [EventRing]
    public var source: Source
    public var wait: Wait
    public let hop: Int?

    public init(outputs: [EventRing], hop: Int?, source: Source, wait: Wait) {
        self.outputs = outputs
        self.hop = hop
        self.source = source
        self.wait = wait
    }

    @inlinable public mutating func run(control: StageControl) {
        let outRaw = outputs.map(\.raw)
        let stampHop = hopIndex(hop)
        var beat: UInt64 = 0
        var events: UInt64 = 0
        var event = omni_event()
        loop: while !control.stopCell.load(ordering: .relaxed) {
            beat &+= 1
            control.heartbeatCell.store(beat, ordering: .relaxed)
            switch source.next(&event) {
            case .produced:
                if let h = stampHop { omni_event_stamp(&event, h, csys_rdtsc()) }
                for out in outRaw { publish(&event, to: out, wait: &wait, beat: &beat, control: control) }
                events &+= 1
                control.eventsCell.store(events, ordering: .relaxed)
            case .consumed:
                events &+= 1
                control.eventsCell.store(events, ordering: .relaxed)
            case .idle:
                wait.idle()
            case .finished:
                break loop
            }
        }
        control.finishedCell.store(true, ordering: .releasing)
    }
}

// MARK: - Run to completion

/// Two handlers run back to back on one core, one event at a time, with no ring
/// between them: the run-to-completion form of `first` → `then`. Generic, so the
/// pair specialises into one loop body. The event goes on only when both say so;
/// `then` sees it only when `first` passes it on.
public struct Fused<First: EventHandler, Then: EventHandler>: EventHandler {
    public var first: First
    public var then: Then
    public init(_ first: First, _ then: Then) {
        self.first = first
        self.then = then
    }
    @inlinable @inline(__always) public mutating func handle(_ event: inout omni_event) -> Bool {
        first.handle(&event) && then.handle(&event)
    }
}

/// A source and the handlers fused after it on its core: each event the source
/// makes goes through `then` at once, with no ring between them. Produced when
/// `then` passes it on (to the group's output ring), consumed when it does not.
public struct FusedSource<Source: EventSource, Then: EventHandler>: EventSource {
    public var source: Source
    public var then: Then
    public init(_ source: Source, _ then: Then) {
        self.source = source
        self.then = then
    }
    @inlinable @inline(__always) public mutating func next(_ event: inout omni_event) -> SourcePoll {
        let r = source.next(&event)
        guard case .produced = r else { return r }
        return then.handle(&event) ? .produced : .consumed
    }
}

/// `handler`, then the end of hop `hop` stamped: how a member of a fused group
/// records its hop, where no ring boundary does.
public struct Stamped<Handler: EventHandler>: EventHandler {
    public var handler: Handler
    @usableFromInline let hop: UInt32
    public init(_ handler: Handler, hop: Int) {
        precondition(hop >= 0 && hop < Int(OMNI_EVENT_HOPS), "hop \(hop) is outside omni_event.hop")
        self.handler = handler
        self.hop = UInt32(hop)
    }
    @inlinable @inline(__always) public mutating func handle(_ event: inout omni_event) -> Bool {
        let forward = handler.handle(&event)
        omni_event_stamp(&event, hop, csys_rdtsc())
        return forward
    }
}
