import ArgumentParser
import CSys
import Histogram
import OmniCore

/// What `omni bench decision-path` is given: the passes, the warm-up, the core, stage stamps.
public protocol DecisionPathOptions {
    var passes: Int { get }
    var warmUp: Int { get }
    /// A core number, "off", or nil for the last online core.
    var core: String? { get }
    var stageStamps: Bool { get }
}

extension DecisionPathOptions {
    /// `omni bench decision-path`: DecisionPath's passes on one pinned core, each timed with the TSC.
    public func measureDecisionPath() throws {
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
