// The hot loops of `omni bench ring`: plain generic functions over a ring type and
// a slot size, specialised at -O for each (ring, size) pair, so each loop is a few
// inlined C calls (the header-inline ring code) with a constant copy length. No
// allocation, lock, Foundation or existential in any loop here; all memory is
// allocated and touched before a phase starts.
import CRing
import CSys
import OmniEngine

#if canImport(Glibc)
import Glibc
#endif

// MARK: Ring and slot types

/// One ring, seen through the one-slot copy API every ring kind has (try_push / try_pop).
protocol BenchRingOps {
    init(_ raw: UnsafeMutableRawPointer)
    func push(_ src: UnsafeRawPointer, _ len: UInt32) -> Bool
    func pop(_ dst: UnsafeMutableRawPointer, _ len: UInt32) -> Bool
}

struct BaselineOps: BenchRingOps {
    let r: UnsafeMutablePointer<ring_baseline>
    @inline(__always) init(_ raw: UnsafeMutableRawPointer) { r = raw.assumingMemoryBound(to: ring_baseline.self) }
    @inline(__always) func push(_ src: UnsafeRawPointer, _ len: UInt32) -> Bool { ring_baseline_push(r, src, len) != 0 }
    @inline(__always) func pop(_ dst: UnsafeMutableRawPointer, _ len: UInt32) -> Bool { ring_baseline_pop(r, dst, len) != 0 }
}

struct SPSCOps: BenchRingOps {
    let r: UnsafeMutablePointer<cring_spsc>
    @inline(__always) init(_ raw: UnsafeMutableRawPointer) { r = raw.assumingMemoryBound(to: cring_spsc.self) }
    @inline(__always) func push(_ src: UnsafeRawPointer, _ len: UInt32) -> Bool { cring_spsc_try_push(r, src, len) != 0 }
    @inline(__always) func pop(_ dst: UnsafeMutableRawPointer, _ len: UInt32) -> Bool { cring_spsc_try_pop(r, dst, len) != 0 }
}

struct MPSCOps: BenchRingOps {
    let r: UnsafeMutablePointer<cring_mpsc>
    @inline(__always) init(_ raw: UnsafeMutableRawPointer) { r = raw.assumingMemoryBound(to: cring_mpsc.self) }
    @inline(__always) func push(_ src: UnsafeRawPointer, _ len: UInt32) -> Bool { cring_mpsc_try_push(r, src, len) != 0 }
    @inline(__always) func pop(_ dst: UnsafeMutableRawPointer, _ len: UInt32) -> Bool { cring_mpsc_try_pop(r, dst, len) != 0 }
}

/// The slot size as a type, so the copy length is a compile-time constant in each specialisation.
protocol BenchSlot { static var bytes: UInt32 { get } }
enum Slot8: BenchSlot { static var bytes: UInt32 { 8 } }
enum Slot64: BenchSlot { static var bytes: UInt32 { 64 } }

/// Which ring code a loop runs: the shared-memory ring is cring_spsc in a mapped file.
enum RingOpsKind: UInt8 { case baseline, spsc, mpsc }

/// Picks the concrete (ring, slot) pair once, outside any loop; the visitor's generic
/// method is then specialised for it (a switch, not an existential).
protocol RingOpsVisitor {
    associatedtype Output
    func visit<R: BenchRingOps, S: BenchSlot>(_ ring: R.Type, _ slot: S.Type) -> Output
}

func visitRingOps<V: RingOpsVisitor>(_ kind: RingOpsKind, size: UInt32, _ v: V) -> V.Output {
    switch (kind, size == 8) {
    case (.baseline, true): return v.visit(BaselineOps.self, Slot8.self)
    case (.baseline, false): return v.visit(BaselineOps.self, Slot64.self)
    case (.spsc, true): return v.visit(SPSCOps.self, Slot8.self)
    case (.spsc, false): return v.visit(SPSCOps.self, Slot64.self)
    case (.mpsc, true): return v.visit(MPSCOps.self, Slot8.self)
    case (.mpsc, false): return v.visit(MPSCOps.self, Slot64.self)
    }
}

// MARK: Control channel (peer → main), itself a bare C ring

/// Blocks (spinning) until the peer has sent a word.
@inline(__always) func controlReceive(_ c: UnsafeMutablePointer<ring_baseline>) -> UInt64 {
    var v: UInt64 = 0
    while ring_baseline_pop(c, &v, 8) == 0 {}
    return v
}

@inline(__always) func controlSend(_ c: UnsafeMutablePointer<ring_baseline>, _ value: UInt64) {
    var v = value
    while ring_baseline_push(c, &v, 8) == 0 {}
}

// MARK: The peer thread (core B)

enum PeerMode: UInt8 { case consume, echo }

/// Everything the pinned peer thread needs, handed over by pointer at the thread's start
/// (thread start orders the writes before it). Results come back over `control`.
struct PeerContext {
    var mode: PeerMode
    var ops: RingOpsKind
    var size: UInt32
    var core: Int32
    var input: UnsafeMutableRawPointer       // the ring the peer pops
    var output: UnsafeMutableRawPointer?     // echo: the ring the peer pushes back on
    var control: UnsafeMutablePointer<ring_baseline>
    var scratch: UnsafeMutableRawPointer     // 64 bytes, the peer's copy of a slot
}

struct PeerVisitor: RingOpsVisitor {
    let ctx: UnsafeMutablePointer<PeerContext>
    func visit<R: BenchRingOps, S: BenchSlot>(_ ring: R.Type, _ slot: S.Type) {
        let c = ctx.pointee
        if c.mode == .consume {
            consumeLoop(R(c.input), S.self, scratch: c.scratch, control: c.control)
        } else {
            echoLoop(R(c.input), R(c.output!), S.self, scratch: c.scratch, control: c.control)
        }
    }
}

/// The context's address, for the peer thread (the bench keeps it alive until the join).
struct PeerHandle: @unchecked Sendable { let ctx: UnsafeMutablePointer<PeerContext> }

/// Starts the peer thread pinned to the context's core; it says whether the pin took (0 or
/// the errno) over `control`, then runs its loop.
func startPeer(_ ctx: UnsafeMutablePointer<PeerContext>) throws(EngineError) -> PinnedThread {
    let handle = PeerHandle(ctx: ctx)
    return try PinnedThread(name: "omni-bench-peer", core: Int(ctx.pointee.core)) { pinError in
        controlSend(handle.ctx.pointee.control, UInt64(UInt32(bitPattern: pinError)))
        if pinError != 0 { return }
        visitRingOps(handle.ctx.pointee.ops, size: handle.ctx.pointee.size, PeerVisitor(ctx: handle.ctx))
    }
}

/// Throughput consumer: pops until the sentinel (UInt64.max), checking that sequence
/// numbers arrive in order with none missing or repeated. Sends back: end tick,
/// errors, messages received (the sentinel excluded).
func consumeLoop<R: BenchRingOps, S: BenchSlot>(_ ring: R, _: S.Type, scratch: UnsafeMutableRawPointer,
                                                control: UnsafeMutablePointer<ring_baseline>) {
    var expected: UInt64 = 0
    var errors: UInt64 = 0
    var received: UInt64 = 0
    while true {
        if ring.pop(scratch, S.bytes) {
            let v = scratch.load(as: UInt64.self)
            if v == expected {
                expected &+= 1
                received &+= 1
            } else if v == UInt64.max {
                break
            } else {
                errors &+= 1
                received &+= 1
                expected = v &+ 1
            }
        }
    }
    let end = csys_rdtsc()
    controlSend(control, end)
    controlSend(control, errors)
    controlSend(control, received)
}

/// Ping-pong echo: pops each message and pushes it straight back, checking the
/// sequence; echoes the sentinel too, then sends back its error count.
func echoLoop<R: BenchRingOps, S: BenchSlot>(_ input: R, _ output: R, _: S.Type, scratch: UnsafeMutableRawPointer,
                                             control: UnsafeMutablePointer<ring_baseline>) {
    var expected: UInt64 = 0
    var errors: UInt64 = 0
    while true {
        if input.pop(scratch, S.bytes) {
            let v = scratch.load(as: UInt64.self)
            while !output.push(scratch, S.bytes) {}
            if v == UInt64.max { break }
            if v != expected { errors &+= 1 }
            expected = v &+ 1
        }
    }
    controlSend(control, errors)
}

// MARK: The main thread's side (core A)

struct ThroughputSample {
    var messages: UInt64
    var ticks: UInt64   // producer's first push to the consumer's sentinel
    var errors: UInt64
}

/// Producer: pushes sequence-numbered slots for `ticks` TSC ticks (checked every
/// 1024 messages), then the sentinel; the peer is already running and pinned.
func produceLoop<R: BenchRingOps, S: BenchSlot>(_ ring: R, _: S.Type, ticks: UInt64, scratch: UnsafeMutableRawPointer,
                                                control: UnsafeMutablePointer<ring_baseline>) -> ThroughputSample {
    var seq: UInt64 = 0
    let start = csys_rdtsc()
    let deadline = start &+ ticks
    while true {
        scratch.storeBytes(of: seq, as: UInt64.self)
        while !ring.push(scratch, S.bytes) {}
        seq &+= 1
        if seq & 1023 == 0 && csys_rdtsc() >= deadline { break }
    }
    scratch.storeBytes(of: UInt64.max, as: UInt64.self)
    while !ring.push(scratch, S.bytes) {}
    let end = controlReceive(control)
    let errors = controlReceive(control)
    let received = controlReceive(control)
    let lost = received > seq ? received - seq : seq - received
    return ThroughputSample(messages: seq, ticks: end &- start, errors: errors &+ lost)
}

/// Ping-pong initiator: stamps, sends, waits for the echo, stamps; each round trip's
/// ticks go into `samples` (preallocated and touched). Stops at the deadline or when
/// `samples` is full. Returns (samples recorded, errors).
func pingLoop<R: BenchRingOps, S: BenchSlot>(_ out: R, _ back: R, _: S.Type, ticks: UInt64, warmup: Int,
                                             samples: UnsafeMutableBufferPointer<UInt64>, tsc: Bool,
                                             scratch: UnsafeMutableRawPointer, reply: UnsafeMutableRawPointer,
                                             control: UnsafeMutablePointer<ring_baseline>) -> (count: Int, errors: UInt64) {
    var seq: UInt64 = 0
    var errors: UInt64 = 0
    for _ in 0..<warmup {
        scratch.storeBytes(of: seq, as: UInt64.self)
        while !out.push(scratch, S.bytes) {}
        while !back.pop(reply, S.bytes) {}
        if reply.load(as: UInt64.self) != seq { errors &+= 1 }
        seq &+= 1
    }
    let base = samples.baseAddress!
    let cap = samples.count
    var n = 0
    if tsc {
        let deadline = csys_rdtsc() &+ ticks
        while n < cap {
            scratch.storeBytes(of: seq, as: UInt64.self)
            let t0 = csys_tsc_begin()
            while !out.push(scratch, S.bytes) {}
            while !back.pop(reply, S.bytes) {}
            let t1 = csys_tsc_end()
            base[n] = t1 &- t0
            n &+= 1
            if reply.load(as: UInt64.self) != seq { errors &+= 1 }
            seq &+= 1
            if t1 >= deadline { break }
        }
    } else {
        let deadline = csys_monotonic_ns() &+ ticks
        while n < cap {
            scratch.storeBytes(of: seq, as: UInt64.self)
            let t0 = csys_monotonic_ns()
            while !out.push(scratch, S.bytes) {}
            while !back.pop(reply, S.bytes) {}
            let t1 = csys_monotonic_ns()
            base[n] = t1 &- t0
            n &+= 1
            if reply.load(as: UInt64.self) != seq { errors &+= 1 }
            seq &+= 1
            if t1 >= deadline { break }
        }
    }
    scratch.storeBytes(of: UInt64.max, as: UInt64.self)
    while !out.push(scratch, S.bytes) {}
    while !back.pop(reply, S.bytes) {}
    errors &+= controlReceive(control)
    return (n, errors)
}

struct ProduceVisitor: RingOpsVisitor {
    let ring: UnsafeMutableRawPointer
    let ticks: UInt64
    let scratch: UnsafeMutableRawPointer
    let control: UnsafeMutablePointer<ring_baseline>
    func visit<R: BenchRingOps, S: BenchSlot>(_ r: R.Type, _ s: S.Type) -> ThroughputSample {
        produceLoop(R(ring), S.self, ticks: ticks, scratch: scratch, control: control)
    }
}

struct PingVisitor: RingOpsVisitor {
    let out: UnsafeMutableRawPointer
    let back: UnsafeMutableRawPointer
    let ticks: UInt64
    let warmup: Int
    let samples: UnsafeMutableBufferPointer<UInt64>
    let tsc: Bool
    let scratch: UnsafeMutableRawPointer
    let reply: UnsafeMutableRawPointer
    let control: UnsafeMutablePointer<ring_baseline>
    func visit<R: BenchRingOps, S: BenchSlot>(_ r: R.Type, _ s: S.Type) -> (count: Int, errors: UInt64) {
        pingLoop(R(out), R(back), S.self, ticks: ticks, warmup: warmup, samples: samples, tsc: tsc,
                 scratch: scratch, reply: reply, control: control)
    }
}
