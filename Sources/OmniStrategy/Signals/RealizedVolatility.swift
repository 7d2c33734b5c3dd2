#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Realised volatility of the mid on a fixed time grid.
///
/// The mid is sampled at every multiple of `intervalNs` (absolute time, e.g. every 100 ms): the
/// sample at grid time g is the mid of the last update at or before g (previous-tick sampling).
/// Each sample after the first gives a log return `rₙ = ln(midₙ / midₙ₋₁)`, and two estimates of
/// its variance per interval are kept, both O(1) per sample:
/// - `rollingVariance`: the population variance (divisor n) of the last `window` returns, kept by
///   a sliding Welford update over a ring allocated at init (TA-Lib's `VAR(window, nbdev=1)`;
///   the peer test compares on a real mid series). NaN until `window` returns exist.
/// - `ewmaVariance`: `vₙ = λ·vₙ₋₁ + (1 − λ)·rₙ²` (RiskMetrics, mean taken as zero), seeded with
///   the first r². NaN before the first return.
/// Annualisation, or any other unit, is left to the caller: multiply the variance by the number
/// of intervals per unit of time (`sigmaTicks(...)` does the conversion the market makers need).
///
/// Updates are fed with the caller's clock (ns; any epoch, monotonic); a jump over many grid
/// points emits one sample per point (the first carries the move, the rest are zero returns),
/// at most `window + 1` of them: further zero returns change neither estimate's window and
/// are folded into the EWMA in one `pow`.
public struct RealizedVolatility: Sendable {
    public let intervalNs: UInt64
    public let window: Int
    /// The EWMA's weight on the previous variance (λ; RiskMetrics uses 0.94 on daily returns).
    public let lambda: Double

    @usableFromInline var ring: [Double]
    @usableFromInline var head = 0           // next slot to write
    @usableFromInline var filled = 0
    @usableFromInline var mean = 0.0
    @usableFromInline var m2 = 0.0
    @usableFromInline var _ewmaVariance: Double = .nan
    public var ewmaVariance: Double { _ewmaVariance }
    /// Samples taken so far (returns: `samples − 1`).
    @usableFromInline var _samples: Int = 0
    public var samples: Int { _samples }

    @usableFromInline var twiceMid: UInt64 = 0       // the current mid ×2 (exact), 0: none yet
    @usableFromInline var lastSampleTwiceMid: UInt64 = 0
    @usableFromInline var nextGridNs: UInt64 = 0

    public init(intervalNs: UInt64, window: Int, lambda: Double = 0.94) {
        precondition(intervalNs > 0 && window >= 2 && lambda > 0 && lambda < 1,
                     "RealizedVolatility: intervalNs > 0, window >= 2, 0 < lambda < 1")
        self.intervalNs = intervalNs; self.window = window; self.lambda = lambda
        ring = [Double](repeating: 0, count: window)
    }

    /// Population variance of the last `window` log returns; NaN until there are `window` of them.
    public var rollingVariance: Double { filled == window ? max(m2, 0) / Double(window) : .nan }
    public var rollingStdDev: Double { rollingVariance.squareRoot() }
    public var ewmaStdDev: Double { _ewmaVariance.squareRoot() }

    /// Feed the touch at time `nowNs`; a one-sided or crossed touch keeps the previous mid.
    @inlinable
    public mutating func update(nowNs: UInt64, bid: UInt32, ask: UInt32) {
        sampleGrid(before: nowNs)
        guard bid > 0, ask > bid else { return }
        if twiceMid == 0 {
            // The first grid point at or after the first mid.
            nextGridNs = (nowNs + intervalNs - 1) / intervalNs * intervalNs
        }
        twiceMid = UInt64(bid) + UInt64(ask)
    }

    /// Emit the samples of every grid point strictly before `nowNs` (call on a timer to keep the
    /// estimate current when the book is quiet; `update` calls it itself).
    @inlinable
    public mutating func sampleGrid(before nowNs: UInt64) {
        guard twiceMid != 0, nextGridNs < nowNs else { return }
        let points = (nowNs - 1 - nextGridNs) / intervalNs + 1   // grid points g with g < nowNs
        nextGridNs += points * intervalNs
        if lastSampleTwiceMid == 0 {
            lastSampleTwiceMid = twiceMid; _samples = 1
            if points > 1 { addZeroReturns(points - 1) }
            return
        }
        let r = log(Double(twiceMid) / Double(lastSampleTwiceMid))
        lastSampleTwiceMid = twiceMid
        addReturn(r)
        if points > 1 { addZeroReturns(points - 1) }
    }

    @inlinable
    mutating func addZeroReturns(_ n: UInt64) {
        let inRing = Int(min(n, UInt64(window)))
        for _ in 0..<inRing { addReturn(0) }   // n >= 1, so the EWMA is a number after this
        if n > UInt64(inRing) {
            _samples += Int(n) - inRing
            _ewmaVariance *= pow(lambda, Double(n - UInt64(inRing)))
        }
    }

    @inlinable
    mutating func addReturn(_ r: Double) {
        _samples += 1
        _ewmaVariance = _ewmaVariance.isNaN ? r * r : lambda * _ewmaVariance + (1 - lambda) * r * r
        if filled < window {
            filled += 1
            let d = r - mean
            mean += d / Double(filled)
            m2 += d * (r - mean)
        } else {
            let old = ring[head]
            let oldMean = mean
            mean += (r - old) / Double(window)
            m2 += (r - old) * (r - mean + old - oldMean)
        }
        ring[head] = r
        head += 1
        if head == window { head = 0 }
    }

    /// σ in ticks per √second, the unit the market makers take: √(variance per interval ÷ interval
    /// in seconds) × mid ÷ tick (a log return times the price is a price move, to first order).
    @inlinable
    public static func sigmaTicks(variance: Double, intervalNs: UInt64, mid: Double, tick: UInt32) -> Double {
        (variance / (Double(intervalNs) / 1e9)).squareRoot() * mid / Double(tick)
    }
}
