// OmniEngine's vocabulary: rings of omni_event (SPSC, or MPSC for fan-in) in memory
// from CSys; processors, after the LMAX Disruptor's BatchEventProcessor — a batch of
// events in, 0...n events out on named ports, `endOfBatch` once per batch; sources;
// wait strategies; the control a stage shares with its runner (heartbeat, counters,
// back-pressure counts, stop). The chain and its loops are in Chain.swift.

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

/// How a ring's memory was obtained from CSys (csys_mem.h): the kind of pages and the node.
public struct RingMemory: Sendable, Equatable, CustomStringConvertible {
    /// "hugetlb", "thp", "numa" or "pages" (csys_mem_kind_name).
    public let kind: String
    /// NUMA node the pages were bound to, -1 when not bound.
    public let node: Int
    /// Bytes mapped (the ring's bytes rounded up to the page size of `kind`).
    public let mapped: Int
    public var description: String { "\(kind)\(node >= 0 ? " node \(node)" : ""), \(mapped) B mapped" }
}

/// Which C ring an `EventRing` is.
public enum RingKind: String, Sendable, Equatable {
    /// cring_spsc: one producer stage, one consumer stage.
    case spsc
    /// cring_mpsc: several producer stages (fan-in), one consumer stage.
    case mpsc
}

/// A ring of `omni_event`s — SPSC (cring_spsc) or MPSC (cring_mpsc) — in memory
/// from CSys: 2 MiB pages (hugetlb, else THP) for a ring of 1 MiB or more, else
/// NUMA-local pages on `node` (-1: the calling thread's node), falling back to
/// plain pages as CSys does. `memory` says what it got. Zeroed and faulted in
/// before the hot path starts.
public final class EventRing: @unchecked Sendable {
    public let kind: RingKind
    public let capacity: Int
    public let memory: RingMemory
    @usableFromInline let base: UnsafeMutableRawPointer
    private var region: csys_region

    /// Rings of at least this many bytes ask CSys for 2 MiB pages.
    public static let hugepageThreshold = 1 << 20

    public init(capacity: Int, kind: RingKind = .spsc, node: Int = -1) throws(EngineError) {
        let slot = UInt32(MemoryLayout<omni_event>.stride)
        let bad = String(cString: cring_status_name(CRING_EBADCAPACITY.rawValue))
        guard capacity >= 2, capacity <= Int(CRING_MAX_CAPACITY_VALUE) else { throw .ring(capacity: capacity, status: bad) }
        let bytes = kind == .spsc ? cring_spsc_bytes(UInt32(capacity), slot) : cring_mpsc_bytes(UInt32(capacity), slot)
        guard bytes > 0 else { throw .ring(capacity: capacity, status: bad) }
        var r = csys_region()
        var rc = bytes >= EventRing.hugepageThreshold ? csys_alloc_hugepages(&r, bytes, Int32(node)) : csys_alloc_on_node(&r, bytes, Int32(node))
        if rc != 0 && node >= 0 { rc = csys_alloc_on_node(&r, bytes, -1) } // a node that does not exist here: the local one
        guard rc == 0, let mem = r.base else { throw .ring(capacity: capacity, status: String(cString: strerror(-rc))) }
        // Page-aligned, so CRING_ALIGN-aligned; CSys zeroed and faulted the pages in.
        let st = kind == .spsc
            ? cring_spsc_init(mem.assumingMemoryBound(to: cring_spsc.self), UInt32(capacity), slot, 0)
            : cring_mpsc_init(mem.assumingMemoryBound(to: cring_mpsc.self), UInt32(capacity), slot, 0)
        guard st == CRING_OK.rawValue else {
            csys_region_free(&r)
            throw .ring(capacity: capacity, status: String(cString: cring_status_name(st)))
        }
        base = mem
        region = r
        self.kind = kind
        self.capacity = capacity
        memory = RingMemory(kind: String(cString: csys_mem_kind_name(r.kind)), node: Int(r.node), mapped: r.size)
    }

    deinit { csys_region_free(&region) }

    /// The SPSC ring (kind .spsc only).
    public var raw: UnsafeMutablePointer<cring_spsc> {
        precondition(kind == .spsc, "an MPSC ring has no cring_spsc")
        return base.assumingMemoryBound(to: cring_spsc.self)
    }

    /// The MPSC ring (kind .mpsc only).
    public var rawMPSC: UnsafeMutablePointer<cring_mpsc> {
        precondition(kind == .mpsc, "an SPSC ring has no cring_mpsc")
        return base.assumingMemoryBound(to: cring_mpsc.self)
    }

    /// Events ever published (MPSC: claimed) and ever released: monotonic, for the quiescence check.
    public var totals: (published: UInt64, released: UInt64) {
        var p: UInt64 = 0, r: UInt64 = 0
        if kind == .spsc { cring_spsc_totals(base.assumingMemoryBound(to: cring_spsc.self), &p, &r) }
        else { cring_mpsc_totals(base.assumingMemoryBound(to: cring_mpsc.self), &p, &r) }
        return (p, r)
    }

    /// Events published (MPSC: claimed) and not yet consumed: a snapshot, for monitors.
    public var count: Int {
        let t = totals
        return Int(t.published &- t.released)
    }
}

// MARK: - Processors

/// Where a processor sends what it makes: `emit(port, event)` hands the event to
/// output port `port` (an index into the processor's `ports`). Behind a port is the
/// next processor of the chain (fused: a call on this core), rings to other stages
/// (the event is copied into a slot claimed in place, published at the end of the
/// batch), or nothing: counted as unrouted, unless the link has no ring on any port
/// (a sink, where what is passed on ends). Generic parameter of the
/// processor's methods, so the call specialises: no existential in the loop.
public protocol Emitter {
    mutating func emit(_ port: Int, _ event: inout omni_event)
}

/// A stage's work, after LMAX Disruptor's BatchEventProcessor: the loop waits once,
/// hands the processor each event of a batch read from its input(s), then calls
/// `endOfBatch` once, then publishes what the batch emitted to rings, once.
/// A processor may emit 0...n events per input, to any of its named `ports`.
public protocol Processor: Sendable {
    /// Names of the output ports, in index order; rings bind to them by name
    /// (topology key `port`, default "out"). Port 0 is the one a chain's next link is fused to.
    static var ports: [String] { get }
    /// Handles one event of a batch; may emit to any port, any number of times.
    mutating func process<Out: Emitter>(_ event: inout omni_event, to out: inout Out)
    /// Called once after each batch, before the batch's outputs are published; may emit too.
    mutating func endOfBatch<Out: Emitter>(to out: inout Out)
}

extension Processor {
    public static var ports: [String] { ["out"] }
    @inlinable @inline(__always) public mutating func endOfBatch<Out: Emitter>(to out: inout Out) {}
}

/// A one-in, at-most-one-out processor on port 0 ("out"): the simple case.
public protocol EventHandler: Processor {
    /// Handles one event in place. Returns true to emit it on port 0.
    mutating func handle(_ event: inout omni_event) -> Bool
}

extension EventHandler {
    @inlinable @inline(__always) public mutating func process<Out: Emitter>(_ event: inout omni_event, to out: inout Out) {
        if handle(&event) { out.emit(0, &event) }
    }
}

/// What a source stage answers when asked for the next event.
public enum SourcePoll: Sendable {
    case produced   // the event was filled in: emit it on port 0
    case consumed   // an event was made and handled here (a fused source): nothing to emit
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
    /// Back-pressure under `full: block`: emits that found their ring full and waited.
    @usableFromInline let fullWaitsCell = Atomic<UInt64>(0)
    /// Back-pressure under `full: drop`: events not written because their ring was full.
    @usableFromInline let droppedCell = Atomic<UInt64>(0)
    /// Emits to a port with no ring and no fused next, by a link that has rings on other ports: counted, not delivered.
    @usableFromInline let unroutedCell = Atomic<UInt64>(0)
    @usableFromInline let stopCell = Atomic<Bool>(false)
    @usableFromInline let finishedCell = Atomic<Bool>(false)
    /// Set by `Pipeline.stop` when the pipeline did not go quiescent in time: stop waiting on full rings.
    @usableFromInline let abandonCell = Atomic<Bool>(false)
    /// The errno of the pin (PinnedThread's), 0 when pinned (or not asked to pin).
    let pinErrorCell = Atomic<Int32>(0)

    public init(name: String) { self.name = name }

    public var heartbeat: UInt64 { heartbeatCell.load(ordering: .relaxed) }
    public var events: UInt64 { eventsCell.load(ordering: .relaxed) }
    /// Emits that found a `full: block` ring full and waited (each counted once, however long it waited).
    public var fullWaits: UInt64 { fullWaitsCell.load(ordering: .relaxed) }
    /// Events dropped because a `full: drop` ring was full.
    public var dropped: UInt64 { droppedCell.load(ordering: .relaxed) }
    /// Emits to a port nothing is bound to.
    public var unrouted: UInt64 { unroutedCell.load(ordering: .relaxed) }
    public var isFinished: Bool { finishedCell.load(ordering: .acquiring) }
    public var pinError: Int32 { pinErrorCell.load(ordering: .relaxed) }
    public var isStopRequested: Bool { stopCell.load(ordering: .relaxed) }
    /// Asks the stage to drain its input and end.
    public func requestStop() { stopCell.store(true, ordering: .releasing) }

    /// One more beat from a loop that is waiting inside an emit (a full ring): only the stage's thread calls it.
    @inlinable func beat() { heartbeatCell.store(heartbeatCell.load(ordering: .relaxed) &+ 1, ordering: .relaxed) }
}

// MARK: - Run to completion

/// Two handlers run back to back on one core, one event at a time, with no ring
/// between them, composed by hand into one handler (a chain's links are fused or
/// cut by the topology instead; this is for handlers that always belong together). Generic, so the
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
