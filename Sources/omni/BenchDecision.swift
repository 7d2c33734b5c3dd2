import ArgumentParser
import CSys
import Histogram
import OmniCore
import OmniBench

/// `omni bench decision-path`: the trading loop's decision path on one pinned core, book update
/// to order encoded (OmniBench.DecisionPath), one pass per ITCH message, each pass timed with the
/// TSC. Under callgrind (Benchmarks/decision-path-instructions.sh) the same passes give the
/// instruction count per pass that make test holds to its budget.
struct BenchDecision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decision-path",
        abstract: "Book update -> strategy -> pre-trade risk -> OUCH encoded, per ITCH message, on one core.",
        discussion: """
        Each pass: one ITCH message (an Add Order or a Delete that moves AAPL's touch a tick) through \
        CWire's checks and CBook, the BBO sink marking the board, then TradingLoop.pass: the \
        inventory-skew quoter, PreTradeCheck on each request, OUCH 4.2 Replace Orders encoded with \
        their SoupBinTCP headers into a buffer (no socket), the venue's answers applied at once to \
        the ledger and risk. --warm-up passes first, unmeasured; then --passes, each timed alone \
        (rdtscp-fenced TSC, 10 ns steps on this VM kind, the fences' own cost included). Two \
        figures per pass: the decision, from the message's arrival to the pass's orders encoded \
        (the order entry's flush: what the issue's 300 ns goal counts), and the whole pass, the \
        venue's answers decoded and applied to the ledger and risk after it.
        """
    )

    @Option(help: "Passes measured.") var passes = 1_000_000
    @Option(name: .customLong("warm-up"), help: "Passes before measuring.") var warmUp = 10_000
    @Option(help: "The core to pin to (default: the last online core; 'off': not pinned).") var core: String?
    @Flag(name: .customLong("stage-stamps"), help: "The loop stamps each request's stages, as omni run --stage-stamps does (their cost is in the figures).") var stageStamps = false

    func run() throws {
        let n = core == "off" ? nil : Int(core ?? "") ?? Int(csys_online_cores()) - 1
        if let n, csys_pin_to_core(Int32(n)) != 0 { throw ValidationError("--core \(n): cannot pin there") }
        var clock = csys_clock()
        _ = csys_clock_init(&clock, CSYS_CLOCK_TSC, 20)
        let d = try DecisionPath(stageStamps: stageStamps)
        for _ in 0..<warmUp { d.pass() }
        var ticks = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        var decision = ticks
        let requests0 = d.loop.counters.requests, bytes0 = d.entry.encoded
        for _ in 0..<passes {
            let t0 = csys_tsc_begin()
            d.pass()
            let t1 = csys_tsc_end()
            _ = ticks.record(min(t1 &- t0, 1 << 40))
            _ = decision.record(min(d.entry.lastFlushTSC &- t0, 1 << 40))
        }
        let requests = d.loop.counters.requests - requests0, bytes = d.entry.encoded - bytes0
        let ns = withUnsafePointer(to: clock) { c in [50.0, 90, 99, 99.9].map { csys_clock_ns(c, ticks.valueAtPercentile($0)) } }
        let dns = withUnsafePointer(to: clock) { c in [50.0, 90, 99, 99.9].map { csys_clock_ns(c, decision.valueAtPercentile($0)) } }
        print("decision path\(stageStamps ? " (stage stamps on)" : ""): \(passes) passes on \(n.map { "core \($0)" } ?? "no pinned core"), \(fixed(Double(requests) / Double(passes), 2)) requests and \(fixed(Double(bytes) / Double(passes), 1)) OUCH bytes per pass, \(d.loop.counters.refusedByRisk) refused by risk")
        print("  book change -> orders encoded, ns (tsc): p50 \(dns[0]), p90 \(dns[1]), p99 \(dns[2]), p99.9 \(dns[3]), max \(withUnsafePointer(to: clock) { csys_clock_ns($0, decision.max) })")
        print("  whole pass, answers applied, ns (tsc): p50 \(ns[0]), p90 \(ns[1]), p99 \(ns[2]), p99.9 \(ns[3]), max \(withUnsafePointer(to: clock) { csys_clock_ns($0, ticks.max) })")
    }
}
