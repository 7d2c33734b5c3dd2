import CEvent
import CRing
import CSys
import Glibc
import Synchronization

// One static chain type for every placement. A chain is `Link`s nested to the right
// (`SourceLink("feed", feed, then: Link("decode", decode, then: Link("book", book)))`),
// so its whole type is known at compile time and each stage loop specialises on it.
// Which links are fused (the event handed on by a call, same core) and which are cut
// by a ring (different cores) is decided when the chain is bound to a topology, at run
// time: each link's port 0 either calls the next link or writes its ring(s). One
// thread runs each group of fused links; a ring's consumer is the link that heads a group.

/// What a producer does when its ring is full: the topology's `full:` per ring.
public enum FullPolicy: String, Sendable, Equatable, CaseIterable {
    /// Wait (with the stage's wait kind, heartbeat kept alive) until the consumer frees a slot;
    /// each emit that waited is counted in `StageControl.fullWaits`.
    case block
    /// Drop the event and count it in `StageControl.dropped`: the producer never waits.
    case drop
}

/// Events a loop reads from one input before it calls endOfBatch and publishes.
@usableFromInline let stageBatch: UInt32 = 64
/// Most events a writer holds claimed and unpublished in an MPSC ring (its batch).
@usableFromInline let mpscPendingMax: UInt32 = 64

/// How an emit waits on a full `block` ring: the stage's wait kind, without its generic type.
@usableFromInline struct FullWait {
    @usableFromInline let kind: WaitKind
    @usableFromInline var misses: UInt32 = 0
    @usableFromInline var sleepNs = 1_000
    @inlinable init(_ kind: WaitKind) { self.kind = kind }
    @inlinable mutating func idle() {
        switch kind {
        case .spin: return
        case .spinYield: if misses < 1000 { misses &+= 1 } else { sched_yield() }
        case .backoff:
            if misses < 100 { misses &+= 1; return }
            var ts = timespec(tv_sec: 0, tv_nsec: sleepNs)
            nanosleep(&ts, nil)
            sleepNs = min(sleepNs * 2, 100_000)
        }
    }
}

/// One output ring of one link: slots claimed in place, written, published once per batch.
@usableFromInline struct RingWriter {
    @usableFromInline let spsc: UnsafeMutablePointer<cring_spsc>?
    @usableFromInline let mpsc: UnsafeMutablePointer<cring_mpsc>?
    @usableFromInline let drop: Bool
    @usableFromInline let wait: WaitKind
    @usableFromInline let control: StageControl
    /// SPSC: the claimed run and how much of it is written. MPSC: `used` sequences in `pending`.
    @usableFromInline var slots: UnsafeMutableRawPointer? = nil
    @usableFromInline var claimed: UInt32 = 0
    @usableFromInline var used: UInt32 = 0
    @usableFromInline let pending: UnsafeMutablePointer<UInt64>?

    init(ring: EventRing, full: FullPolicy, wait: WaitKind, control: StageControl, pending: UnsafeMutablePointer<UInt64>?) {
        spsc = ring.kind == .spsc ? ring.raw : nil
        mpsc = ring.kind == .mpsc ? ring.rawMPSC : nil
        drop = full == .drop
        self.wait = wait
        self.control = control
        self.pending = pending
    }

    /// Copies `event` into this ring's next claimed slot; publishes only when the claimed
    /// run is used up (the ring's wrap, or full) or at `flush`.
    @inlinable mutating func put(_ event: inout omni_event) {
        if let r = spsc {
            if used == claimed {
                if used > 0 { cring_spsc_publish(r, used) } // the run ended mid-batch: hand over what it holds
                used = 0
                var p: UnsafeMutableRawPointer?
                claimed = cring_spsc_claim(r, UInt32.max, &p)
                if claimed == 0 {
                    if drop { control.droppedCell.add(1, ordering: .relaxed); return }
                    control.fullWaitsCell.add(1, ordering: .relaxed)
                    var w = FullWait(wait)
                    repeat {
                        if control.abandonCell.load(ordering: .relaxed) { control.droppedCell.add(1, ordering: .relaxed); return }
                        w.idle()
                        control.beat()
                        claimed = cring_spsc_claim(r, UInt32.max, &p)
                    } while claimed == 0
                }
                slots = p
            }
            slots.unsafelyUnwrapped.storeBytes(of: event, toByteOffset: Int(used) &* MemoryLayout<omni_event>.stride, as: omni_event.self)
            used &+= 1
        } else {
            let r = mpsc.unsafelyUnwrapped
            var seq: UInt64 = 0
            var slot = cring_mpsc_claim(r, &seq)
            if slot == nil {
                flush() // ours first: the consumer reads in sequence order
                if drop { control.droppedCell.add(1, ordering: .relaxed); return }
                control.fullWaitsCell.add(1, ordering: .relaxed)
                var w = FullWait(wait)
                repeat {
                    if control.abandonCell.load(ordering: .relaxed) { control.droppedCell.add(1, ordering: .relaxed); return }
                    w.idle()
                    control.beat()
                    slot = cring_mpsc_claim(r, &seq)
                } while slot == nil
            }
            slot.unsafelyUnwrapped.storeBytes(of: event, as: omni_event.self)
            pending.unsafelyUnwrapped[Int(used)] = seq
            used &+= 1
            if used == mpscPendingMax { flush() }
        }
    }

    /// Publishes what this batch wrote: once per batch.
    @inlinable mutating func flush() {
        if used == 0 { claimed = 0; return }
        if let r = spsc {
            cring_spsc_publish(r, used)
        } else {
            let r = mpsc.unsafelyUnwrapped, p = pending.unsafelyUnwrapped
            for i in 0..<Int(used) { cring_mpsc_publish(r, p[i]) }
        }
        used = 0
        claimed = 0
    }
}

/// A link's ports as raw tables: writers of port p are writers[first[p] ..< first[p + 1]].
@usableFromInline struct PortTable {
    @usableFromInline var writers: UnsafeMutablePointer<RingWriter>?
    @usableFromInline var first: UnsafeMutablePointer<Int32>?
    @usableFromInline var ports: Int
    @usableFromInline var count: Int
    @inlinable init() { writers = nil; first = nil; ports = 0; count = 0 }
}

/// Owns a `PortTable`'s memory, its rings and its writers' MPSC pending lists.
@usableFromInline final class PortMemory: @unchecked Sendable {
    let table: PortTable
    let rings: [EventRing]
    let pending: UnsafeMutablePointer<UInt64>

    /// `ports[p]`: the rings bound to port p.
    init(ports: [[(ring: EventRing, full: FullPolicy)]], wait: WaitKind, control: StageControl) {
        let all = ports.flatMap { $0 }
        rings = all.map(\.ring)
        pending = .allocate(capacity: max(1, all.count) * Int(mpscPendingMax))
        let writers = UnsafeMutablePointer<RingWriter>.allocate(capacity: max(1, all.count))
        let first = UnsafeMutablePointer<Int32>.allocate(capacity: ports.count + 1)
        var i = 0
        for (p, rings) in ports.enumerated() {
            first[p] = Int32(i)
            for r in rings {
                (writers + i).initialize(to: RingWriter(ring: r.ring, full: r.full, wait: wait, control: control,
                                                        pending: pending + i * Int(mpscPendingMax)))
                i += 1
            }
        }
        first[ports.count] = Int32(i)
        var t = PortTable()
        t.writers = writers
        t.first = first
        t.ports = ports.count
        t.count = all.count
        table = t
    }

    deinit {
        table.writers?.deinitialize(count: table.count)
        table.writers?.deallocate()
        table.first?.deallocate()
        pending.deallocate()
    }
}

/// A link's outputs: port 0 fused to `next` (a call) or bound to rings; other ports to rings.
/// The `Emitter` the link's processor is handed.
public struct Outputs<Next: ChainLink>: Emitter, @unchecked Sendable {
    public var next: Next
    @usableFromInline var fused = false
    @usableFromInline var table = PortTable()
    @usableFromInline var memory: PortMemory?
    @usableFromInline let stampHop: UInt32?
    @usableFromInline var control: StageControl?
    @usableFromInline var unrouted: UInt64 = 0

    @inlinable init(next: Next, hop: Int?) {
        self.next = next
        stampHop = hopIndex(hop)
    }

    /// Stamps the link's hop (when it has one) and hands the event to port `port`.
    @inlinable @inline(__always) public mutating func emit(_ port: Int, _ event: inout omni_event) {
        if let h = stampHop { omni_event_stamp(&event, h, csys_rdtsc()) }
        if port == 0 && fused { next.receive(&event); return }
        if port >= 0 && port < table.ports {
            let f = table.first.unsafelyUnwrapped, w = table.writers.unsafelyUnwrapped
            let lo = Int(f[port]), hi = Int(f[port &+ 1])
            if lo < hi {
                for i in lo..<hi { w[i].put(&event) }
                return
            }
        }
        if table.ports > 0 { unrouted &+= 1 } // a link with no ring at all is a sink: what it passes on ends here
    }

    /// End of the batch: publishes every ring written, then ends the fused next link's batch.
    @inlinable mutating func flush() {
        if let w = table.writers { for i in 0..<table.count { w[i].flush() } }
        if unrouted > 0 {
            control?.unroutedCell.add(unrouted, ordering: .relaxed)
            unrouted = 0
        }
        if fused { next.endOfBatch() }
    }

    mutating func bind(fused: Bool, memory: PortMemory?, control: StageControl) {
        self.fused = fused
        self.memory = memory
        table = memory?.table ?? PortTable()
        self.control = control
    }
}

/// A link of a chain, as the loops and the binder see it. `Link` and `ChainEnd` are the only kinds.
public protocol ChainLink: Sendable {
    /// Stage names from this link to the end of the chain.
    var stageNames: [String] { get }
    /// Processes one event handed over by the previous (fused) link.
    mutating func receive(_ event: inout omni_event)
    /// Ends this link's batch: its processor's endOfBatch, then its rings published.
    mutating func endOfBatch()
    /// Processes `count` events in place at `slots` as one batch at the link `depth` links down.
    mutating func deliver(depth: Int, _ slots: UnsafeRawPointer, _ count: Int)
    /// Binds ports to rings and fusion to the topology (see `ChainBinder`).
    mutating func bind(_ binder: ChainBinder, index: Int) throws(EngineError)
    /// Adds one stage to the pipeline per group this link heads (after `bind`).
    func register(_ binder: ChainBinder, index: Int)
}

/// The end of a chain.
public struct ChainEnd: ChainLink {
    public init() {}
    public var stageNames: [String] { [] }
    @inlinable public mutating func receive(_ event: inout omni_event) {}
    @inlinable public mutating func endOfBatch() {}
    @inlinable public mutating func deliver(depth: Int, _ slots: UnsafeRawPointer, _ count: Int) {}
    public mutating func bind(_ binder: ChainBinder, index: Int) throws(EngineError) {}
    public func register(_ binder: ChainBinder, index: Int) {}
}

/// A stage of a chain: its name in the topology, its processor, and its outputs (whose
/// `next` is the rest of the chain). `hop`: the omni_event.hop index stamped on each emit.
public struct Link<P: Processor, Next: ChainLink>: ChainLink {
    public let name: String
    public var processor: P
    public var out: Outputs<Next>

    public init(_ name: String, _ processor: P, hop: Int? = nil, then next: Next) {
        self.name = name
        self.processor = processor
        out = Outputs(next: next, hop: hop)
    }

    public var stageNames: [String] { [name] + out.next.stageNames }

    @inlinable @inline(__always) public mutating func receive(_ event: inout omni_event) {
        processor.process(&event, to: &out)
    }

    @inlinable public mutating func endOfBatch() {
        processor.endOfBatch(to: &out)
        out.flush()
    }

    @inlinable public mutating func deliver(depth: Int, _ slots: UnsafeRawPointer, _ count: Int) {
        if depth > 0 { out.next.deliver(depth: depth &- 1, slots, count); return }
        for k in 0..<count {
            var event = slots.load(fromByteOffset: k &* MemoryLayout<omni_event>.stride, as: omni_event.self)
            processor.process(&event, to: &out)
        }
        endOfBatch()
    }

    public mutating func bind(_ binder: ChainBinder, index: Int) throws(EngineError) {
        let (fused, memory, control) = try binder.outputs(of: index, ports: P.ports)
        out.bind(fused: fused, memory: memory, control: control)
        try out.next.bind(binder, index: index + 1)
    }

    public func register(_ binder: ChainBinder, index: Int) {
        if binder.isGroupHead(index) {
            let head = self
            binder.addStage(at: index) { inputs, control, wait in
                switch wait {
                case .spin: return Stage(head: head, inputs: inputs, wait: SpinWait()).body(control)
                case .spinYield: return Stage(head: head, inputs: inputs, wait: SpinYieldWait()).body(control)
                case .backoff: return Stage(head: head, inputs: inputs, wait: BackoffWait()).body(control)
                }
            }
        }
        out.next.register(binder, index: index + 1)
    }
}

extension Link where Next == ChainEnd {
    public init(_ name: String, _ processor: P, hop: Int? = nil) {
        self.init(name, processor, hop: hop, then: ChainEnd())
    }
}

/// The head of a chain that makes its events: a source, emitting on port 0.
public struct SourceLink<S: EventSource, Next: ChainLink>: Sendable {
    public let name: String
    public var source: S
    public var out: Outputs<Next>

    public init(_ name: String, _ source: S, hop: Int? = nil, then next: Next) {
        self.name = name
        self.source = source
        out = Outputs(next: next, hop: hop)
    }

    public var stageNames: [String] { [name] + out.next.stageNames }

    mutating func bind(_ binder: ChainBinder) throws(EngineError) {
        let (fused, memory, control) = try binder.outputs(of: 0, ports: ["out"])
        out.bind(fused: fused, memory: memory, control: control)
        try out.next.bind(binder, index: 1)
    }

    func register(_ binder: ChainBinder) {
        let head = self
        binder.addStage(at: 0) { _, control, wait in
            switch wait {
            case .spin: return SourceStage(head: head, wait: SpinWait()).body(control)
            case .spinYield: return SourceStage(head: head, wait: SpinYieldWait()).body(control)
            case .backoff: return SourceStage(head: head, wait: BackoffWait()).body(control)
            }
        }
        out.next.register(binder, index: 1)
    }
}

extension SourceLink where Next == ChainEnd {
    public init(_ name: String, _ source: S, hop: Int? = nil) {
        self.init(name, source, hop: hop, then: ChainEnd())
    }
}

// MARK: - Loops

/// An input ring of a stage and the link (depth below the stage's head) its events go to.
@usableFromInline struct InputReader {
    @usableFromInline let spsc: UnsafeMutablePointer<cring_spsc>?
    @usableFromInline let mpsc: UnsafeMutablePointer<cring_mpsc>?
    @usableFromInline let depth: Int
    init(_ ring: EventRing, depth: Int) {
        spsc = ring.kind == .spsc ? ring.raw : nil
        mpsc = ring.kind == .mpsc ? ring.rawMPSC : nil
        self.depth = depth
    }
}

/// A stage: busy-polls its input rings in turn; per input it peeks a batch (up to 64
/// events), hands each event to its link's processor (and on through fused links),
/// calls endOfBatch, publishes the batch's outputs, then releases the input slots.
/// Several inputs are fan-in (SPSC rings from one stage each, or an MPSC ring shared
/// by several); each is read a batch at a time, so none starves another.
/// (@unchecked: the raw ring pointers stay valid while `inputs` and the links' outputs
/// hold their owners, and one thread runs a stage.)
public struct Stage<Head: ChainLink, Wait: WaitStrategy>: @unchecked Sendable {
    public var head: Head
    public var wait: Wait
    public let inputs: [EventRing]
    @usableFromInline let readers: [InputReader]

    /// `inputs[i].depth`: how many fused links below `head` the ring's events enter.
    public init(head: Head, inputs: [(ring: EventRing, depth: Int)], wait: Wait) {
        precondition(!inputs.isEmpty, "a stage reads at least one ring: a stage without input is a SourceStage")
        self.head = head
        self.wait = wait
        self.inputs = inputs.map(\.ring)
        readers = inputs.map { InputReader($0.ring, depth: $0.depth) }
    }

    /// One pass over the inputs: a batch from each that holds events. Returns how many it
    /// handled. The loop of `run`; callable on its own by a caller that drives the stage.
    @inlinable public mutating func poll(control: StageControl, beat: inout UInt64) -> Int {
        var handled = 0
        for r in readers {
            var slots: UnsafeRawPointer?
            let n = r.spsc != nil ? cring_spsc_peek(r.spsc.unsafelyUnwrapped, stageBatch, &slots)
                                  : cring_mpsc_peek(r.mpsc.unsafelyUnwrapped, stageBatch, &slots)
            if n == 0 { continue }
            head.deliver(depth: r.depth, slots.unsafelyUnwrapped, Int(n))
            // Released after the batch's outputs are published: an event is always in some ring.
            if let s = r.spsc { cring_spsc_release(s, n) } else { cring_mpsc_release(r.mpsc.unsafelyUnwrapped, n) }
            handled &+= Int(n)
        }
        return handled
    }

    /// The loop. Returns after a stop request once a pass finds every input empty (the
    /// pipeline asks only when the stages feeding it are done, or the whole pipeline is quiescent).
    @inlinable public mutating func run(control: StageControl) {
        var beat: UInt64 = 0
        var events: UInt64 = 0
        while true {
            beat &+= 1
            control.heartbeatCell.store(beat, ordering: .relaxed) // only this thread writes it: a plain store
            let n = poll(control: control, beat: &beat)
            if n == 0 {
                // acquiring: pairs with requestStop, so one more empty pass after it means drained.
                if control.stopCell.load(ordering: .acquiring) {
                    let last = poll(control: control, beat: &beat)
                    if last == 0 || control.abandonCell.load(ordering: .relaxed) { break }
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
            // Abandoned (the pipeline never went quiescent: a cycle still circulating): end now.
            if control.stopCell.load(ordering: .relaxed) && control.abandonCell.load(ordering: .relaxed) { break }
        }
        control.finishedCell.store(true, ordering: .releasing)
    }

    func body(_ control: StageControl) -> @Sendable () -> Void {
        let s = self
        return {
            var stage = s
            stage.run(control: control)
        }
    }
}

extension Stage {
    /// A stage of one processor between explicit rings: every event it emits on port 0 goes
    /// to each of `outputs` (fan-out; none: a sink), under `full`.
    public init<P: Processor>(inputs: [EventRing], outputs: [EventRing], hop: Int?, handler: P, wait: Wait,
                              control: StageControl = StageControl(name: "stage"), full: FullPolicy = .block,
                              waitKind: WaitKind = .spin) where Head == Link<P, ChainEnd> {
        var link = Link("stage", handler, hop: hop)
        let memory = outputs.isEmpty ? nil : PortMemory(ports: [outputs.map { ($0, full) }], wait: waitKind, control: control)
        link.out.bind(fused: false, memory: memory, control: control)
        self.init(head: link, inputs: inputs.map { ($0, 0) }, wait: wait)
    }

    public init<P: Processor>(input: EventRing, output: EventRing?, hop: Int?, handler: P, wait: Wait,
                              control: StageControl = StageControl(name: "stage")) where Head == Link<P, ChainEnd> {
        self.init(inputs: [input], outputs: output.map { [$0] } ?? [], hop: hop, handler: handler, wait: wait, control: control)
    }
}

/// The omni_event.hop index to stamp, or nil when `hop` is absent or outside the event's hops.
@usableFromInline func hopIndex(_ hop: Int?) -> UInt32? {
    hop.flatMap { $0 >= 0 && $0 < Int(OMNI_EVENT_HOPS) ? UInt32($0) : nil }
}

/// A source stage: asks its source for up to 64 events per pass, hands each on (fused
/// links, or claimed ring slots), then publishes the pass's outputs once; until the source
/// is finished or a stop is requested.
public struct SourceStage<S: EventSource, Next: ChainLink, Wait: WaitStrategy>: @unchecked Sendable {
    public var head: SourceLink<S, Next>
    public var wait: Wait

    public init(head: SourceLink<S, Next>, wait: Wait) {
        self.head = head
        self.wait = wait
    }

    @inlinable public mutating func run(control: StageControl) {
        var beat: UInt64 = 0
        var events: UInt64 = 0
        var event = omni_event()
        var finished = false
        while !finished && !control.stopCell.load(ordering: .relaxed) {
            beat &+= 1
            control.heartbeatCell.store(beat, ordering: .relaxed)
            var made: UInt32 = 0
            batch: while made < stageBatch {
                switch head.source.next(&event) {
                case .produced:
                    head.out.emit(0, &event)
                    made &+= 1
                case .consumed:
                    made &+= 1
                case .idle:
                    break batch
                case .finished:
                    finished = true
                    break batch
                }
            }
            if made == 0 {
                if !finished { wait.idle() }
                continue
            }
            head.out.flush() // publish once per batch (and end the fused links' batch)
            wait.reset()
            events &+= UInt64(made)
            control.eventsCell.store(events, ordering: .relaxed)
        }
        control.finishedCell.store(true, ordering: .releasing)
    }

    func body(_ control: StageControl) -> @Sendable () -> Void {
        let s = self
        return {
            var stage = s
            stage.run(control: control)
        }
    }
}

extension SourceStage where Next == ChainEnd {
    /// A source publishing to each of `outputs` under `full` (none: a source fused with its handlers).
    public init(outputs: [EventRing], hop: Int?, source: S, wait: Wait, control: StageControl = StageControl(name: "source"),
                full: FullPolicy = .block, waitKind: WaitKind = .spin) {
        var link = SourceLink("source", source, hop: hop)
        let memory = outputs.isEmpty ? nil : PortMemory(ports: [outputs.map { ($0, full) }], wait: waitKind, control: control)
        link.out.bind(fused: false, memory: memory, control: control)
        self.init(head: link, wait: wait)
    }
}
