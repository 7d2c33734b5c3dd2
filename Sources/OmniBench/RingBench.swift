import ArgumentParser
import CRing
import CSys
import Histogram
import OmniCore
import OmniEngine

#if canImport(Glibc)
import Glibc
#endif

/// The ring kinds `omni bench ring` measures, each against ring_baseline.
enum BenchRingKind: String, CaseIterable, ExpressibleByArgument {
    case spsc, mpsc, shm

    var ops: RingOpsKind {
        switch self {
        case .spsc, .shm: return .spsc
        case .mpsc: return .mpsc
        }
    }

    var title: String {
        switch self {
        case .spsc: return "spsc (cring_spsc, try_push/try_pop)"
        case .mpsc: return "mpsc (cring_mpsc, one producer)"
        case .shm: return "shm (cring_spsc in a /dev/shm file, consumer through its own mapping)"
        }
    }
}

public struct BenchRing: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "Throughput and ping-pong round trip of the C rings against the bare baseline ring.",
        discussion: """
        For each ring kind (spsc: cring_spsc; mpsc: cring_mpsc with one producer; shm: cring_spsc \
        in a POSIX shared-memory file, created under a unique /dev/shm name, consumed through a \
        second mapping, unlinked at the end) the command measures, in this one process:

          throughput  the main thread, pinned to core A, pushes sequence-numbered slots of --size \
        bytes (the sequence in the first 8); a peer thread pinned to core B pops them and checks \
        the sequence (errors must be 0). Messages per second per round.
          round trip  one ring each way: A stamps the TSC, sends, B echoes, A stamps again. \
        p50/p99/p99.9/max in ns per round (ticks recorded into a preallocated array, converted \
        to ns and put in an HdrHistogram after the round).

        Every round measures the bare baseline ring (ring_baseline.h: Lamport's ring, no cached \
        indices) and the ring back to back, baseline first in even rounds and ring first in odd \
        ones (ABBA), so a drift within a round favours neither. Cross-core \
        latency on this kind of VM jumps between levels (about 80, 170 and 700 ns round trips) \
        as the host moves the vCPUs, so only back-to-back comparisons mean anything; the report \
        gives the median over rounds for each and their ratios, plus the median of the per-round \
        ratios. All rings use the same one-slot copy API (try_push / try_pop), capacity 4096.

        --seconds is the measuring time per kind, split evenly over the rounds' four phases \
        (throughput and round trip, baseline and ring). The default full run (3 kinds, 2 s each) \
        takes about 7 s per --size.

        --hdr-out FILE writes HdrHistogram percentile-distribution text (values in ns), one file \
        per kind and ring: FILE with its .hgrm extension (if any) replaced by \
        .<kind>.hgrm and .<kind>-baseline.hgrm, each the round trips of all that kind's rounds. \
        --plot FILE.svg draws those percentile curves (x: percentile on a log "nines" axis, \
        y: ns on a log axis).

        Example: omni bench ring --size 64 --cores 0,1 --seconds 4 --hdr-out rt.hgrm --plot rt.svg
        """
    )

    @Option(help: "Slot size in bytes: 8 or 64.")
    var size: Int = 8

    @Option(help: "Two different cores A,B: A produces and initiates round trips, B consumes and echoes.")
    var cores: String = "0,1"

    @Option(help: "Measuring time per ring kind, in seconds.")
    var seconds: Double = 2

    @Option(help: "A/B rounds per kind (baseline and ring back to back, in ABBA order).")
    var rounds: Int = 5

    @Option(help: "Ring kinds to measure, comma-separated: spsc, mpsc, shm.")
    var kinds: String = "spsc,mpsc,shm"

    @Option(name: .customLong("hdr-out"), help: "Write round-trip histograms (HdrHistogram text form, ns) to FILE.<kind>[-baseline].hgrm.")
    var hdrOut: String?

    @Option(help: "Draw the round-trip percentile curves into this SVG file.")
    var plot: String?

    func parsedCores() throws -> (Int32, Int32) {
        let parts = cores.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw ValidationError("--cores takes two cores A,B (got '\(cores)')") }
        let online = Int(csys_online_cores())
        var out: [Int32] = []
        for p in parts {
            guard let c = Int(p.trimmedBench(" ")) else {
                throw ValidationError("--cores: '\(p)' is not a core number")
            }
            guard c >= 0 && c < online else {
                throw ValidationError("--cores: core \(c) is out of range: this machine has \(online) online cores (0-\(online - 1))")
            }
            out.append(Int32(c))
        }
        guard out[0] != out[1] else { throw ValidationError("--cores: A and B must differ (both spin; got \(out[0]) twice)") }
        return (out[0], out[1])
    }

    func parsedKinds() throws -> [BenchRingKind] {
        var out: [BenchRingKind] = []
        for k in kinds.split(separator: ",") {
            guard let kind = BenchRingKind(rawValue: String(k)) else {
                throw ValidationError("--kinds: unknown ring kind '\(k)' (spsc, mpsc, shm)")
            }
            if !out.contains(kind) { out.append(kind) }
        }
        guard !out.isEmpty else { throw ValidationError("--kinds: name at least one of spsc, mpsc, shm") }
        return out
    }

    public func validate() throws {
        guard size == 8 || size == 64 else { throw ValidationError("--size must be 8 or 64 (got \(size))") }
        guard seconds > 0 && seconds.isFinite else { throw ValidationError("--seconds must be greater than 0 (got \(seconds))") }
        guard seconds <= 3600 else { throw ValidationError("--seconds must be at most 3600 (got \(seconds))") }
        guard rounds >= 1 && rounds <= 1000 else { throw ValidationError("--rounds must be in 1...1000 (got \(rounds))") }
        _ = try parsedCores()
        _ = try parsedKinds()
        if let plot, !plot.hasSuffix(".svg") { throw ValidationError("--plot writes SVG: give a file name ending in .svg (got '\(plot)')") }
    }

    public func run() throws {
        let (coreA, coreB) = try parsedCores()
        let kindList = try parsedKinds()
        var clock = csys_clock()
        csys_clock_init(&clock, CSYS_CLOCK_TSC, 100)
        let tsc = clock.source == CSYS_CLOCK_TSC
        let pin = csys_pin_to_core(coreA)
        guard pin == 0 else { throw ValidationError("--cores: cannot pin to core \(coreA): \(String(cString: strerror(-pin)))") }

        let phaseSeconds = seconds / Double(rounds * 4)
        let conditions = BenchConditions(
            size: size, coreA: coreA, coreB: coreB, rounds: rounds, seconds: seconds, phaseSeconds: phaseSeconds,
            clockSource: String(cString: csys_clock_source_name(clock.source)),
            invariantTSC: csys_tsc_invariant() != 0, hz: clock.hz, cpuModel: cpuModelName(),
            nproc: Int(csys_online_cores()), capacity: benchRingCapacity)
        print(conditions.text)
        let host = HostCheck(threads: 2, plannedSeconds: seconds * Double(kindList.count))
        if let why = host.busyBeforeStart() { print(hostTooBusy(why)); throw ExitCode(3) }

        let bench = try RingBench(size: UInt32(size), coreB: coreB, clock: clock, tsc: tsc, phaseSeconds: phaseSeconds)
        defer { bench.release() }
        var results: [BenchKindResult] = []
        var progress = Progress("bench ring")
        for kind in kindList {
            var result = BenchKindResult(kind: kind)
            let rings = try BenchRingSet(kind: kind, size: UInt32(size))
            defer { rings.release() }
            for round in 0..<rounds {
                progress.update("\(kind.rawValue) round \(round + 1)/\(rounds)")
                // ABBA: odd rounds measure the ring first, so a drift within a round favours neither.
                let ringFirst = round % 2 == 1
                if ringFirst { result.ringThroughput.append(try bench.throughput(rings.ring)) }
                result.baselineThroughput.append(try bench.throughput(rings.baseline))
                if !ringFirst { result.ringThroughput.append(try bench.throughput(rings.ring)) }
                if ringFirst { result.ringTrip.append(try bench.roundTrip(rings.ring, into: &result.ringHistogram)) }
                result.baselineTrip.append(try bench.roundTrip(rings.baseline, into: &result.baselineHistogram))
                if !ringFirst { result.ringTrip.append(try bench.roundTrip(rings.ring, into: &result.ringHistogram)) }
            }
            progress.finish()
            results.append(result)
        }
        let samples = results.flatMap { $0.ringTrip + $0.baselineTrip }
        let outOfRange = samples.reduce(0) { $0 + $1.outOfRange }, measured = samples.reduce(0) { $0 + $1.count }
        if let why = host.overran() ?? (outOfRange * 1000 > measured ? "\(outOfRange) of \(outOfRange + measured) round trips over 1 s" : nil) {
            print(hostTooBusy(why))
            throw ExitCode(3)
        }
        for r in results { print(r.text(phaseSeconds: phaseSeconds)) }
        let errors = results.reduce(UInt64(0)) { $0 + $1.errors }
        print(errors == 0 ? "sequence errors: 0 (every message arrived once, in order)" : "SEQUENCE ERRORS: \(errors)")
        let colors = ["spsc": "#1f77b4", "mpsc": "#d62728", "shm": "#2ca02c"]
        let curves = results.flatMap { r in
            [LatencyCurve(name: r.kind.rawValue, label: r.kind.rawValue + " ring", color: colors[r.kind.rawValue]!,
                          dashed: false, histogram: r.ringHistogram),
             LatencyCurve(name: r.kind.rawValue + "-baseline", label: r.kind.rawValue + " baseline",
                          color: colors[r.kind.rawValue]!, dashed: true, histogram: r.baselineHistogram)]
        }
        if let hdrOut {
            for path in try writeHistograms(curves, to: hdrOut) { print("wrote \(path)") }
        }
        if let plot {
            try writePlot(curves, title: "omni bench ring: round-trip latency by percentile", subtitle: conditions.short,
                          yLabel: "round trip", to: plot)
            print("wrote \(plot)")
        }
        if errors != 0 { throw ExitCode(1) }
    }
}

let benchRingCapacity: UInt32 = 4096

// MARK: Rings, set up off the hot path

/// The rings of one phase: what the main thread pushes to / pops from, what the peer
/// pops from / pushes to (the same memory in-process, a second mapping for shm).
struct BenchRingPair {
    var ops: RingOpsKind
    var mainOut: UnsafeMutableRawPointer
    var peerIn: UnsafeMutableRawPointer
    var peerOut: UnsafeMutableRawPointer
    var mainBack: UnsafeMutableRawPointer
    var reset: (UnsafeMutableRawPointer) -> Void  // re-initialises a ring (through mainOut / peerOut)
}

/// A kind's rings and its baseline's: two of each (one per direction).
final class BenchRingSet {
    var baseline: BenchRingPair
    var ring: BenchRingPair
    private var owned: [UnsafeMutableRawPointer] = []
    private var shm: [cring_shm] = []
    private var shmNames: [String] = []

    init(kind: BenchRingKind, size: UInt32) throws {
        let cap = benchRingCapacity
        func alloc(_ bytes: Int) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Int(CRING_ALIGN))
            memset(p, 0, bytes) // fault the pages in before any phase
            return p
        }
        let bb = ring_baseline_bytes(cap, size)
        let b1 = alloc(bb), b2 = alloc(bb)
        owned += [b1, b2]
        baseline = BenchRingPair(ops: .baseline, mainOut: b1, peerIn: b1, peerOut: b2, mainBack: b2, reset: { p in
            _ = ring_baseline_init(p.assumingMemoryBound(to: ring_baseline.self), cap, size)
        })
        let spscReset: (UnsafeMutableRawPointer) -> Void = { p in
            _ = cring_spsc_init(p.assumingMemoryBound(to: cring_spsc.self), cap, size, 0)
        }
        switch kind {
        case .spsc:
            let n = cring_spsc_bytes(cap, size)
            let r1 = alloc(n), r2 = alloc(n)
            ring = BenchRingPair(ops: .spsc, mainOut: r1, peerIn: r1, peerOut: r2, mainBack: r2, reset: spscReset)
            owned += [r1, r2]
        case .mpsc:
            let n = cring_mpsc_bytes(cap, size)
            let r1 = alloc(n), r2 = alloc(n)
            ring = BenchRingPair(ops: .mpsc, mainOut: r1, peerIn: r1, peerOut: r2, mainBack: r2, reset: { p in
                _ = cring_mpsc_init(p.assumingMemoryBound(to: cring_mpsc.self), cap, size, 0)
            })
            owned += [r1, r2]
        case .shm:
            // Placeholder until the files exist (Swift needs every stored property set first).
            ring = baseline
            let stem = "/omni-bench-\(getpid())-\(csys_monotonic_ns() % 1_000_000)"
            var rings: [UnsafeMutableRawPointer] = []
            for dir in ["ab", "ba"] {
                let name = "\(stem)-\(dir)"
                var created = cring_shm()
                let st = cring_shm_create(&created, name, cap, size)
                guard st == CRING_OK.rawValue else {
                    release()
                    throw ValidationError("shm ring \(name): \(String(cString: cring_status_name(st)))\(st == CRING_ESYS.rawValue ? ": " + String(cString: strerror(errno)) : "")")
                }
                shm.append(created)
                shmNames.append(name)
                var opened = cring_shm()
                let so = cring_shm_open(&opened, name, cap, size)
                guard so == CRING_OK.rawValue else {
                    release()
                    throw ValidationError("shm ring \(name): open: \(String(cString: cring_status_name(so)))")
                }
                shm.append(opened)
                rings += [UnsafeMutableRawPointer(created.ring), UnsafeMutableRawPointer(opened.ring)]
            }
            // ab: main pushes through the creator's mapping, the peer pops through its own;
            // ba: the peer pushes through its mapping, main pops through the creator's.
            ring = BenchRingPair(ops: .spsc, mainOut: rings[0], peerIn: rings[1], peerOut: rings[3], mainBack: rings[2], reset: spscReset)
        }
    }

    func release() {
        for p in owned { p.deallocate() }
        owned = []
        for i in shm.indices { cring_shm_close(&shm[i]) }
        shm = []
        for n in shmNames { _ = cring_shm_unlink(n) }
        shmNames = []
    }
}

// MARK: Phases

struct RoundTripStats {
    var p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64
    var count: Int
    var errors: UInt64
    /// Samples over a second, left out of the histogram.
    var outOfRange: Int
}

struct ThroughputStats {
    var perSecond: Double
    var messages: UInt64
    var errors: UInt64
}

/// Runs one phase at a time: starts the pinned peer, runs the main side's loop, joins.
final class RingBench {
    let size: UInt32
    let coreB: Int32
    let clock: csys_clock
    let tsc: Bool
    let phaseTicks: UInt64
    let ctx = UnsafeMutablePointer<PeerContext>.allocate(capacity: 1)
    let control: UnsafeMutablePointer<ring_baseline>
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    let reply = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    let peerScratch = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
    let samples: UnsafeMutableBufferPointer<UInt64>

    init(size: UInt32, coreB: Int32, clock: csys_clock, tsc: Bool, phaseSeconds: Double) throws {
        self.size = size
        self.coreB = coreB
        self.clock = clock
        self.tsc = tsc
        phaseTicks = UInt64(phaseSeconds * Double(clock.hz))
        let controlBytes = ring_baseline_bytes(16, 8)
        control = UnsafeMutableRawPointer.allocate(byteCount: controlBytes, alignment: 128).bindMemory(to: ring_baseline.self, capacity: 1)
        memset(scratch, 0, 64)
        memset(reply, 0, 64)
        memset(peerScratch, 0, 128)
        // Room for a round trip every 40 ns of the phase: more than any VM manages.
        let n = Swift.min(Swift.max(Int(phaseSeconds * 1e9 / 40), 1024), 64 << 20)
        samples = .allocate(capacity: n)
        samples.initialize(repeating: 0)
    }

    func release() {
        ctx.deallocate()
        UnsafeMutableRawPointer(control).deallocate()
        scratch.deallocate()
        reply.deallocate()
        peerScratch.deallocate()
        samples.deallocate()
    }

    private func start(_ mode: PeerMode, _ pair: BenchRingPair) throws -> PinnedThread {
        _ = ring_baseline_init(control, 16, 8)
        ctx.initialize(to: PeerContext(mode: mode, ops: pair.ops, size: size, core: coreB, input: pair.peerIn,
                                       output: mode == .echo ? pair.peerOut : nil, control: control, scratch: peerScratch))
        let peer = try startPeer(ctx)
        let pin = Int32(truncatingIfNeeded: controlReceive(control))
        if pin != 0 {
            peer.join()
            throw ValidationError("--cores: cannot pin to core \(coreB): \(String(cString: strerror(pin)))")
        }
        return peer
    }

    func throughput(_ pair: BenchRingPair) throws -> ThroughputStats {
        pair.reset(pair.mainOut)
        let peer = try start(.consume, pair)
        let s = visitRingOps(pair.ops, size: size, ProduceVisitor(ring: pair.mainOut, ticks: phaseTicks, scratch: scratch, control: control))
        peer.join()
        var c = clock
        let ns = Double(csys_clock_ns(&c, s.ticks))
        return ThroughputStats(perSecond: ns > 0 ? Double(s.messages) / ns * 1e9 : 0, messages: s.messages, errors: s.errors)
    }

    func roundTrip(_ pair: BenchRingPair, into merged: inout Histogram<UInt64>) throws -> RoundTripStats {
        pair.reset(pair.mainOut)
        pair.reset(pair.peerOut)
        let peer = try start(.echo, pair)
        let r = visitRingOps(pair.ops, size: size, PingVisitor(
            out: pair.mainOut, back: pair.mainBack, ticks: phaseTicks, warmup: 1000, samples: samples, tsc: tsc,
            scratch: scratch, reply: reply, control: control))
        peer.join()
        var h = newRoundTripHistogram()
        var c = clock
        var outOfRange = 0
        for i in 0..<r.count {
            // Over a second (or a TSC read that went backwards and wrapped): the thread was
            // descheduled or moved, which says nothing about the ring.
            let ns = samples[i] > clock.hz ? UInt64.max : csys_clock_ns(&c, samples[i])
            if ns > 1_000_000_000 { outOfRange += 1; continue }
            h.record(ns)
        }
        merged.add(h)
        return RoundTripStats(p50: h.valueAtPercentile(50), p99: h.valueAtPercentile(99), p999: h.valueAtPercentile(99.9),
                              max: h.max, count: r.count - outOfRange, errors: r.errors, outOfRange: outOfRange)
    }
}

func newRoundTripHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

// MARK: Results

struct BenchKindResult {
    let kind: BenchRingKind
    var ringThroughput: [ThroughputStats] = []
    var baselineThroughput: [ThroughputStats] = []
    var ringTrip: [RoundTripStats] = []
    var baselineTrip: [RoundTripStats] = []
    var ringHistogram = newRoundTripHistogram()
    var baselineHistogram = newRoundTripHistogram()

    init(kind: BenchRingKind) { self.kind = kind }

    var errors: UInt64 {
        (ringThroughput + baselineThroughput).reduce(0) { $0 + $1.errors } + (ringTrip + baselineTrip).reduce(0) { $0 + $1.errors }
    }

    func text(phaseSeconds: Double) -> String {
        let rt = median(ringThroughput.map(\.perSecond)), bt = median(baselineThroughput.map(\.perSecond))
        let tputPaired = median(zip(ringThroughput, baselineThroughput).map { $0.perSecond / $1.perSecond })
        func m(_ a: [RoundTripStats], _ f: (RoundTripStats) -> UInt64) -> Double { median(a.map { Double(f($0)) }) }
        let rp50 = m(ringTrip, \.p50), bp50 = m(baselineTrip, \.p50)
        let p50Paired = median(zip(ringTrip, baselineTrip).map { Double($0.p50) / Double($1.p50) })
        let ringErr = ringThroughput.reduce(0) { $0 + $1.errors } + ringTrip.reduce(0) { $0 + $1.errors }
        let baseErr = baselineThroughput.reduce(0) { $0 + $1.errors } + baselineTrip.reduce(0) { $0 + $1.errors }
        var s = "\n== \(kind.title)\n"
        s += "  throughput (M msgs/s, median of \(ringThroughput.count) rounds)\n"
        s += "    ring      \(pad(fixed(rt / 1e6, 2), 8))   rounds: \(ringThroughput.map { fixed($0.perSecond / 1e6, 1) }.joined(separator: " "))\n"
        s += "    baseline  \(pad(fixed(bt / 1e6, 2), 8))   rounds: \(baselineThroughput.map { fixed($0.perSecond / 1e6, 1) }.joined(separator: " "))\n"
        s += "    ratio ring/baseline \(fixed(rt / bt, 3))   (median of per-round ratios \(fixed(tputPaired, 3)))\n"
        s += "  round trip (ns, median over rounds of each round's percentile; max: largest of any round)\n"
        s += "               p50     p99   p99.9       max   round trips\n"
        func row(_ name: String, _ a: [RoundTripStats]) -> String {
            let total = a.reduce(0) { $0 + $1.count }
            return "    \(name)" + pad(fixed(m(a, \.p50), 0), 7) + pad(fixed(m(a, \.p99), 0), 8) + pad(fixed(m(a, \.p999), 0), 8)
                + pad(String(a.map(\.max).max() ?? 0), 10) + pad(grouped(UInt64(total)), 14) + "\n"
        }
        s += row("ring    ", ringTrip)
        s += row("baseline", baselineTrip)
        s += "    p50 per round  ring: \(ringTrip.map { String($0.p50) }.joined(separator: " "))   baseline: \(baselineTrip.map { String($0.p50) }.joined(separator: " "))\n"
        s += "    ratio ring/baseline p50 \(fixed(rp50 / bp50, 3))   (median of per-round ratios \(fixed(p50Paired, 3)))\n"
        s += "  sequence errors: ring \(ringErr), baseline \(baseErr)"
        return s
    }
}

struct BenchConditions {
    let size: Int, coreA: Int32, coreB: Int32, rounds: Int, seconds: Double, phaseSeconds: Double
    let clockSource: String, invariantTSC: Bool, hz: UInt64, cpuModel: String, nproc: Int, capacity: UInt32

    var text: String {
        """
        omni bench ring: \(size)-byte slots, cores \(coreA) (producer / initiator) -> \(coreB) (consumer / echo), \
        ring capacity \(capacity)
          \(rounds) A/B rounds per kind, baseline and ring back to back in ABBA order; \(fixed(seconds, 3)) s per kind, \
        \(fixed(phaseSeconds * 1000, 1)) ms per phase
          clock \(clockSource)\(clockSource == "tsc" ? " \(fixed(Double(hz) / 1e6, 3)) MHz" : "") \
        (invariant TSC: \(invariantTSC ? "yes" : "no")), CPU \(cpuModel), nproc \(nproc)
        """
    }

    var short: String {
        "\(size) B slots, cores \(coreA)->\(coreB), \(rounds) rounds, \(fixed(seconds, 2)) s/kind, \(clockSource) \(fixed(Double(hz) / 1e6, 0)) MHz, \(cpuModel), nproc \(nproc)"
    }
}

/// "model name" from /proc/cpuinfo, or "unknown".
func cpuModelName() -> String {
    guard let f = fopen("/proc/cpuinfo", "r") else { return "unknown" }
    defer { fclose(f) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    defer { free(line) }
    while getline(&line, &cap, f) > 0 {
        let s = String(cString: line!)
        if s.hasPrefix("model name"), let colon = s.firstIndex(of: ":") {
            return String(s[s.index(after: colon)...]).trimmedBench(" \t\n")
        }
    }
    return "unknown"
}

extension StringProtocol {
    func trimmedBench(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
