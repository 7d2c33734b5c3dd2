import CSys
import Histogram

/// Where tick-to-trade goes, stage by stage (`omni run --stage-stamps`). For each request a
/// requote sends, TSC stamps at: the packet batch's receive (rx, the board's stamp), the pass's
/// start (the receive step done: MoldUDP64, ITCH decode, books), the strategy's decision for its
/// instrument, risk passed, the request encoded (the order entry's submit returned) and the
/// pass's send (its flush, the same TSC the loop's tick-to-trade histogram takes). The five
/// deltas of one request add up to its tick-to-trade, so the stages' means (`sums` are exact, in
/// ticks) add up to that histogram's mean, which the report shows beside them.
///
/// Off by default: it costs four TSC reads per request and one per pass, and five histogram
/// records per request (`omni bench decision-path --stage-stamps` measures it). Preallocated:
/// stamping allocates nothing.
public final class StageStamps {
    public static let names = ["rx -> books", "books -> strategy", "strategy -> risk", "risk -> encoded", "encoded -> sent"]
    /// Per stage, its ticks per request.
    public private(set) var histograms: [Histogram<UInt64>]
    /// Per stage, the exact sum of its ticks, and the requests stamped.
    public private(set) var sums = [UInt64](repeating: 0, count: 5)
    public private(set) var requests: UInt64 = 0
    /// Requests beyond `capacity` in one pass: not stamped.
    public private(set) var unstamped: UInt64 = 0

    @exclusivity(unchecked) var passStart: UInt64 = 0
    @exclusivity(unchecked) var decided: UInt64 = 0
    /// The pass's requests so far: (strategy, risk, encoded) stamps.
    let pending: UnsafeMutablePointer<(UInt64, UInt64, UInt64)>
    let capacity: Int
    @exclusivity(unchecked) var count = 0

    public init(capacity: Int = 4096) {
        self.capacity = capacity
        pending = .allocate(capacity: capacity)
        pending.initialize(repeating: (0, 0, 0), count: capacity)
        histograms = (0..<5).map { _ in Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three) }
    }

    deinit { pending.deallocate() }

    @inline(__always) func startPass() { passStart = csys_rdtsc(); count = 0 }
    @inline(__always) func strategyDecided() { decided = csys_rdtsc() }

    /// A request passed risk at `risk` and was encoded just now.
    @inline(__always) func sent(riskPassed risk: UInt64) {
        guard count < capacity else { unstamped &+= 1; return }
        pending[count] = (decided, risk, csys_rdtsc())
        count += 1
    }

    /// The pass's flush at `tx`, its batch received at `rx` (0: not measured, dropped).
    func finishPass(rx: UInt64, tx: UInt64) {
        defer { count = 0 }
        guard rx != 0 else { return }
        for i in 0..<count {
            let (strategy, risk, encoded) = pending[i]
            record(0, passStart &- rx)
            record(1, strategy &- passStart)
            record(2, risk &- strategy)
            record(3, encoded &- risk)
            record(4, tx &- encoded)
        }
        requests &+= UInt64(count)
    }

    @inline(__always) func record(_ stage: Int, _ ticks: UInt64) {
        let v = min(ticks, 1 << 40) // a stamp out of order (another core's TSC) clamps, never traps
        _ = histograms[stage].record(v)
        sums[stage] &+= v
    }
}
