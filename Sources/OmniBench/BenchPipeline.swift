import OmniCore
import OmniLab
import OmniBench
import ArgumentParser
import CRing
import CWire
import CSys
import Histogram
import OmniBook
import OmniEngine
import OmniFeed

#if canImport(Glibc)
import Glibc
#endif

/// The stages `omni bench pipeline` runs, in chain order, and the hop each stamps.
let pipelineChain = ["feed", "decode", "book", "sink"]
let pipelineHops = ["decode", "book", "sink"]

/// The chain's topology with stage i on `cores[i]`, rings of 4096 events, every stage spinning.
func chainTopologyYAML(cores: [Int]) -> String {
    var y = "stages:\n"
    for (name, core) in zip(pipelineChain, cores) { y += "  - {name: \(name), core: \(core)}\n" }
    y += "rings:\n"
    for i in pipelineChain.indices.dropLast() { y += "  - {from: \(pipelineChain[i]), to: \(pipelineChain[i + 1]), capacity: 4096}\n" }
    return y
}

/// Topologies built in, by name; any other --topology value is a YAML file.
let builtinTopologies: [(name: String, yaml: String, about: String)] = [
    ("fused", chainTopologyYAML(cores: [1, 1, 1, 1]), "run to completion: every stage on core 1, no ring crossed"),
    ("split", chainTopologyYAML(cores: [0, 0, 1, 1]), "feed+decode on core 0, a ring, book+sink on core 1"),
    ("split-all", chainTopologyYAML(cores: [0, 1, 2, 3]), "one stage per core, cores 0-3 (needs 4 cores)"),
]

public struct BenchPipeline: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Per-hop and end-to-end latency of ITCH decode -> book -> sink across pinned stages, topology against topology.",
        discussion: """
        The chain is feed -> decode -> book -> sink:
          feed    frames the messages of an ITCH day file held in memory, one 64-byte event per \
        message (the message by reference: omni_itch_ref), paced at --rate; its rx stamp is the \
        message's scheduled time, so time spent waiting on a full ring counts as latency;
          decode  checks each message's length against its type, reads type and stock locate;
          book    applies it to the full-depth L3 books (CBook) and, when the instrument's best \
        bid or offer changed, turns the event into a BBO event;
          sink    does nothing with it: it stamps the last hop and copies the event, without \
        ever waiting, into a telemetry ring (full ring: the copy is dropped and counted). A \
        recorder turns the copies into HdrHistograms off the hot path: after the round, from a \
        ring that holds the whole round, for rounds up to \(grouped(maxAfterRoundEvents)) messages; \
        live, on an unpinned thread, for longer rounds.
        Each of decode, book and sink stamps the TSC at its end: per-hop latency is the \
        difference to the stamp before, end to end is rx to sink.

        A topology (YAML: `stages` with name, core and wait; `rings` with from, to, capacity and \
        optionally port, feedback and full; README shows one) places these four stages on cores; \
        the chain is one static type whose links are fused (run to completion, a call, no ring) where \
        neighbours share a core and cut by a ring where they do not; each ring's memory (CSys: hugetlb, \
        thp, numa or pages) is printed under its topology. Built-in topologies: \
        \(builtinTopologies.map { "\($0.name) (\($0.about))" }.joined(separator: "; ")).

        Rounds alternate the topologies (A, B, A, B, ...), each round a fresh set of books fed \
        the same first --messages messages, after --warmup unreported rounds of each. The report gives per topology the median over \
        rounds of throughput and of each percentile, and the ratio of their end-to-end p50.

        Input: --input FILE (ITCH day file, plain or .gz), else a synthetic day of \
        --messages messages over 500 symbols (seed 1) written to a temporary file first.

        --hdr-out FILE writes FILE.<topology>.<hop>.hgrm and FILE.<topology>.end-to-end.hgrm \
        (HdrHistogram percentile text, ns, all rounds); --plot FILE.svg draws each topology's \
        end-to-end curve, and with a single topology its per-hop curves too (dashed).

        Example: omni bench pipeline --topology fused --topology split --rate 1000000 --rounds 5
        """
    )

    @Option(name: .customLong("topology"), help: "A built-in topology (fused, split, split-all) or a YAML file; repeat to compare.")
    var topologies: [String] = ["fused", "split"]

    @Option(help: "ITCH day file to feed (plain or .gz); default: a synthetic day.")
    var input: String?

    @Option(help: "Messages fed per round.")
    var messages: Int = 1_000_000

    @Option(help: "Feed rate in messages per second; 0: as fast as the stages take them (latency then includes queueing).")
    var rate: Double = 1_000_000

    @Option(help: "Rounds per topology, alternating.")
    var rounds: Int = 3

    @Option(help: "Unreported warm-up rounds per topology before the measured ones.")
    var warmup: Int = 1

    @Option(name: .customLong("hdr-out"), help: "Write the histograms (HdrHistogram text form, ns) to FILE.<topology>.<hop>.hgrm.")
    var hdrOut: String?

    @Option(help: "Draw the latency percentile curves into this SVG file.")
    var plot: String?

    public func validate() throws {
        guard messages > 0 else { throw ValidationError("--messages must be positive (got \(messages))") }
        guard rate >= 0 && rate.isFinite && rate <= 1e9 else { throw ValidationError("--rate must be in 0...1e9 messages/s (got \(rate))") }
        guard rounds >= 1 && rounds <= 1000 else { throw ValidationError("--rounds must be in 1...1000 (got \(rounds))") }
        guard warmup >= 0 && warmup <= 100 else { throw ValidationError("--warmup must be in 0...100 (got \(warmup))") }
        guard !topologies.isEmpty else { throw ValidationError("--topology: name at least one") }
        if let plot, !plot.hasSuffix(".svg") { throw ValidationError("--plot writes SVG: give a file name ending in .svg (got '\(plot)')") }
    }

    public func run() throws {
        var clock = csys_clock()
        csys_clock_init(&clock, CSYS_CLOCK_TSC, 100)
        var runs: [PipelineRun] = []
        for t in topologies {
            let topology: Topology
            do {
                if let b = builtinTopologies.first(where: { $0.name == t }) {
                    topology = try Topology(yaml: b.yaml)
                } else {
                    topology = try Topology(contentsOf: t)
                }
                runs.append(PipelineRun(name: runName(t, taken: runs.map(\.name)), topology: topology,
                                        groups: try topology.chainGroups(pipelineChain), clock: clock))
            } catch {
                throw ValidationError("--topology \(t): \(error)")
            }
        }

        let mapped = try benchInput()
        let available = withExtendedLifetime(mapped) { countMessages(mapped.input.bytes) }
        let perRound = UInt64(min(messages, available))
        let ticksPerMessage = rate > 0 ? UInt64((Double(clock.hz) / rate).rounded()) : 0
        print("""
        omni bench pipeline: \(grouped(perRound)) messages per round from \(mapped.label)
          rate \(rate > 0 ? grouped(UInt64(rate)) + " msgs/s" : "unpaced (as fast as the stages go)"), \
        \(warmup) warm-up + \(rounds) measured rounds per topology, alternating; clock \(String(cString: csys_clock_source_name(clock.source))) \
        \(fixed(Double(clock.hz) / 1e6, 2)) MHz; CPU \(cpuModelName()), nproc \(csys_online_cores())
        """)
        for r in runs {
            let placed = r.groups.map { g in "[\(g.joined(separator: "+")) @ core \(r.topology.stages.first { $0.name == g[0] }!.core)]" }
            print("  \(r.name): \(placed.joined(separator: " -> "))")
            for line in try Wiring(r.topology).ringReport where !line.hasSuffix("fused (no ring)") { print("    ring \(line)") }
        }
        fflush(nil)
        let threads = runs.map { Set($0.topology.stages.map(\.core)).count }.max() ?? 1
        let perSecond = rate > 0 ? rate : 1e6 // unpaced: planned at a slow 1 M msgs/s
        let host = HostCheck(threads: threads, plannedSeconds: Double((warmup + rounds) * runs.count) * Double(perRound) / perSecond)
        if let why = host.busyBeforeStart() { print(hostTooBusy(why)); throw ExitCode(3) }

        var progress = Progress("bench pipeline")
        for round in -warmup..<rounds {
            for i in runs.indices {
                progress.update(round < 0 ? "warm-up, \(runs[i].name)" : "round \(round + 1)/\(rounds), \(runs[i].name)")
                let r = try withExtendedLifetime(mapped) {
                    try runRound(runs[i], input: mapped.input.bytes, messages: perRound, ticksPerMessage: ticksPerMessage, clock: clock)
                }
                if round < 0 { continue } // the first pass over the input faults its pages in and warms the caches
                runs[i].rounds.append(r)
                runs[i].latencies.add(r.latencies)
            }
        }
        progress.finish()
        // A round whose end-to-end histogram holds under half its events, or whose p99.9 is over
        // a second, measured the host's scheduling, not the stages.
        let unmeasured = runs.flatMap(\.rounds).first {
            $0.latencies.endToEnd.totalCount * 2 < $0.delivered || $0.latencies.endToEnd.valueAtPercentile(99.9) > 1_000_000_000
        }
        if let why = host.overran() ?? unmeasured.map({
            "a round recorded \(grouped($0.latencies.endToEnd.totalCount)) latencies for \(grouped($0.delivered)) events, p99.9 \(grouped($0.latencies.endToEnd.valueAtPercentile(99.9))) ns"
        }) {
            print(hostTooBusy(why))
            throw ExitCode(3)
        }
        for r in runs { print(r.report()) }
        if runs.count > 1 {
            func p50(_ r: PipelineRound) -> Double { Double(max(r.latencies.endToEnd.valueAtPercentile(50), 1)) }
            let a = runs[0], b = runs[1]
            let ratios = zip(b.rounds, a.rounds).map { p50($0) / p50($1) }
            print("end-to-end p50: \(a.name) \(fixed(median(a.rounds.map(p50)), 0)) ns, \(b.name) \(fixed(median(b.rounds.map(p50)), 0)) ns; "
                  + "\(b.name)/\(a.name) = \(fixed(median(ratios), 2))x (per round: \(ratios.map { fixed($0, 2) }.joined(separator: " ")))")
        }
        let lost = runs.flatMap(\.rounds).reduce(UInt64(0)) { $0 + $1.tapDropped + $1.unstamped }
        let short = runs.flatMap(\.rounds).contains { $0.delivered != perRound }
        print(short ? "EVENTS LOST: a round delivered fewer events than it fed" : "every round delivered all \(grouped(perRound)) events to the sink")
        if lost > 0 { print("note: \(grouped(lost)) events not in the histograms (telemetry ring full or a hop unstamped)") }

        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
        var curves: [LatencyCurve] = []
        for (i, r) in runs.enumerated() {
            let color = palette[i % palette.count]
            curves.append(LatencyCurve(name: "\(r.name).end-to-end", label: "\(r.name) end to end", color: color, dashed: false,
                                       histogram: r.latencies.endToEnd))
            for (h, name) in pipelineHops.enumerated() {
                curves.append(LatencyCurve(name: "\(r.name).\(name)", label: "\(r.name) \(name)", color: color, dashed: true,
                                           histogram: r.latencies.hops[h]))
            }
        }
        if let hdrOut { for path in try writeHistograms(curves, to: hdrOut) { print("wrote \(path)") } }
        if let plot {
            try writePlot(curves.filter { !$0.dashed || runs.count == 1 },
                          title: "omni bench pipeline: latency by percentile (rx -> decode -> book -> sink)",
                          subtitle: "\(grouped(perRound)) msgs/round, \(rounds) rounds, rate \(rate > 0 ? grouped(UInt64(rate)) + "/s" : "unpaced"), \(mapped.label)",
                          yLabel: "latency", to: plot)
            print("wrote \(plot)")
        }
        if short { throw ExitCode(1) }
    }

    /// "fused", or a file's base name without extension, made unique.
    private func runName(_ t: String, taken: [String]) -> String {
        var base = String(t.split(separator: "/").last ?? Substring(t))
        if base.hasSuffix(".yaml") { base = String(base.dropLast(5)) } else if base.hasSuffix(".yml") { base = String(base.dropLast(4)) }
        var name = base, n = 2
        while taken.contains(name) { name = "\(base)-\(n)"; n += 1 }
        return name
    }

    private func benchInput() throws -> (input: MappedInput, label: String) {
        if let input {
            do { return (try MappedInput(path: input), input) } catch { throw ValidationError("--input \(input): \(error)") }
        }
        let path = "/tmp/omni-bench-pipeline-\(getpid()).itch"
        defer { unlink(path) }
        let writer = try FileWriter(path: path)
        try SyntheticDay(symbols: 500, messages: messages, seed: 1).write(to: writer)
        try writer.flush()
        return (try MappedInput(path: path), "a synthetic day (500 symbols, seed 1)")
    }
}

/// Messages in a day file (up to the first broken record).
private func countMessages(_ bytes: UnsafeRawBufferPointer) -> Int {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
    var off = 0, n = 0
    var msg: UnsafePointer<UInt8>?
    var len: UInt16 = 0
    while cw_dayfile_next(base, bytes.count, &off, &msg, &len) == CW_FRAME_MSG { n += 1 }
    return n
}

struct PipelineRound {
    let seconds: Double
    let delivered: UInt64
    let tapDropped: UInt64
    let unstamped: UInt64
    let malformed: UInt64
    let bboChanges: UInt64
    let latencies: HopLatencies
    var perSecond: Double { seconds > 0 ? Double(delivered) / seconds : 0 }
}

struct PipelineRun {
    let name: String
    let topology: Topology
    let groups: [[String]]
    var rounds: [PipelineRound] = []
    var latencies: HopLatencies

    init(name: String, topology: Topology, groups: [[String]], clock: csys_clock) {
        self.name = name
        self.topology = topology
        self.groups = groups
        latencies = HopLatencies(hopNames: pipelineHops, clock: clock)
    }

    func report() -> String {
        var s = "\n== \(name)\n"
        s += "  throughput \(fixed(median(rounds.map(\.perSecond)) / 1e6, 2)) M msgs/s (median; rounds: \(rounds.map { fixed($0.perSecond / 1e6, 2) }.joined(separator: " ")))"
        s += ", BBO changes \(grouped(rounds.last?.bboChanges ?? 0)), malformed \(rounds.last?.malformed ?? 0)\n"
        s += "  latency ns (median over rounds of each round's percentile; max: largest of any round)\n"
        s += "                      p50        p99      p99.9        max      events\n"
        func row(_ label: String, _ h: (PipelineRound) -> Histogram<UInt64>) -> String {
            func m(_ p: Double) -> String { fixed(median(rounds.map { Double(h($0).valueAtPercentile(p)) }), 0) }
            let total = rounds.reduce(UInt64(0)) { $0 + h($1).totalCount }
            return "    " + label + String(repeating: " ", count: max(0, 12 - label.count)) + pad(m(50), 10) + pad(m(99), 11)
                + pad(m(99.9), 11) + pad(String(rounds.map { h($0).max }.max() ?? 0), 11) + pad(grouped(total), 12) + "\n"
        }
        for (i, hop) in pipelineHops.enumerated() { s += row(hop, { $0.latencies.hops[i] }) }
        s += row("end to end", { $0.latencies.endToEnd })
        let dropped = rounds.reduce(UInt64(0)) { $0 + $1.tapDropped }
        s += "  telemetry copies dropped: \(dropped); events with an unstamped hop: \(rounds.reduce(UInt64(0)) { $0 + $1.unstamped })"
        return s
    }
}

/// Rounds up to this many messages are recorded after the round, from a tap ring that holds them all (64 B each).
let maxAfterRoundEvents: UInt64 = 1 << 22

extension Int {
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}

/// Runs one round of `run`'s topology over fresh books and returns what it measured.
private func runRound(_ run: PipelineRun, input: UnsafeRawBufferPointer, messages: UInt64, ticksPerMessage: UInt64,
                      clock: csys_clock) throws -> PipelineRound {
    let counts = FeedStageCounts()
    let tapCounts = TapCounts()
    let books = try Books()
    let replay = ITCHReplay(books: books)
    // A tap ring that holds the whole round lets the recorder run after it, off both cores;
    // a longer round records live on an unpinned thread (which then competes with the stages).
    let liveRecorder = messages > maxAfterRoundEvents
    let tapRing = try EventRing(capacity: liveRecorder ? 1 << 16 : Int(max(messages, 2)).nextPowerOfTwo)
    // The chain as one static type; the topology decides at bind which links are fused
    // (a call on one core) and which are cut by a ring: one stage per group of fused links.
    let chain = itchChain(DayFileFeed(input: input, limit: messages, ticksPerMessage: ticksPerMessage, counts: counts),
                          input: input, replay: replay, counts: counts,
                          sink: Fused(Stamped(PassThrough(), hop: 2), EventTap(ring: tapRing, counts: tapCounts)))
    let wiring = try Wiring(run.topology)
    let pipeline = Pipeline()
    let last = try pipeline.add(chain, of: wiring).last
    let latencies = HopLatencies(hopNames: pipelineHops, clock: clock)
    if liveRecorder {
        pipeline.addStage(name: "recorder", core: nil, input: tapRing, output: nil, handler: HopRecorder(latencies),
                          wait: BackoffWait(spins: 100, minSleepNs: 20_000, maxSleepNs: 1_000_000))
    }
    let start = csys_monotonic_ns()
    try pipeline.start()
    for c in pipeline.controls where c.pinError != 0 {
        stderrLine("note: stage \(c.name) could not be pinned: \(String(cString: strerror(c.pinError))); it runs unpinned")
    }
    // The round ends when the last group has seen every message the feed made (less those decode
    // dropped, unless the feed's own group counts them), or when nothing moved for 5 s after the feed ended.
    let feed = pipeline.controls[0], sink = last!
    let dropsCounted = sink === feed
    var seen: UInt64 = 0, quietSince = start
    while sink.events + (dropsCounted ? 0 : counts.malformed) < messages {
        usleep(1000)
        let now = csys_monotonic_ns()
        if sink.events != seen { seen = sink.events; quietSince = now } else if feed.isFinished && now - quietSince > 5_000_000_000 { break }
    }
    let seconds = Double(csys_monotonic_ns() - start) / 1e9
    pipeline.stop()
    if !liveRecorder {
        var recorder = Stage(input: tapRing, output: nil, hop: nil, handler: HopRecorder(latencies), wait: SpinWait())
        var beat: UInt64 = 0
        let control = StageControl(name: "recorder")
        while recorder.poll(control: control, beat: &beat) > 0 {}
    }
    return PipelineRound(seconds: seconds, delivered: last?.events ?? 0, tapDropped: tapCounts.dropped,
                         unstamped: latencies.unstamped, malformed: counts.malformed, bboChanges: counts.bboChanges,
                         latencies: latencies)
}
