#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fill-intensity model λ(δ) = A·e^(−kδ) (fills per second for a quote δ ticks from the mid),
/// fitted online the way hftbacktest's GLFT example calibrates it
/// (nkaz001/hftbacktest, `examples/GLFT Market Making Model and Grid Trading.ipynb`, commit
/// 5f3ec40b2afb764e0fea112f941ed85523ef4e88: `measure_trading_intensity_and_volatility`,
/// `measure_trading_intensity`, `linear_regression`, and the calibration inside `glft_market_maker`):
///
/// 1. Time is cut into steps (the example: 100 ms, the market maker's reaction time). In each step
///    the deepest trade is recorded as its distance from the mid of the previous step: a buy at p
///    is `p − mid` deep, a sell `mid − p` (`trade(...)`, then `endStep(...)`).
/// 2. That trade would have filled every quote strictly inside it: the buckets are the quote
///    depths δᵢ = (i + ½)·`bucketWidth` (with a one-tick width: ½, 1½, 2½ ticks, where quotes sit
///    when the spread is one tick), and a step whose deepest trade is d deep credits each i with
///    δᵢ < d. A step without a trade (or without a previous mid) credits none.
/// 3. Over a sliding window of `windowSteps` steps (the example: 6,000 = 10 minutes),
///    λᵢ = creditsᵢ / (window in seconds), for the buckets up to the deepest one credited, at
///    most `fitBuckets` (the example refits on the 70 shallowest for a better fit near the mid).
/// 4. ln λᵢ = ln A − k·δᵢ by ordinary least squares (the example's `linear_regression`:
///    slope = (n·Σxy − Σx·Σy) / (n·Σx² − (Σx)²), intercept = (Σy − slope·Σx) / n), so k = −slope,
///    A = e^intercept; at least 3 buckets are needed (the example's `len(lambda_) > 2`), and the
///    window must be full (the example's `t >= 6_000 - 1`).
///
/// Units: δ in `bucketWidth` units (one tick by default), so k is per tick and A per second.
/// One difference, on purpose: the example's notebook notes that its bucket index is in half
/// ticks (`round(depth / .5) - 1`) while its regression treats it as ticks; here bucket and
/// regression share one unit. A trade deeper than `fitBuckets` credits all of them (the example
/// drops trades beyond its 500-bucket array).
///
/// Allocation-free after init: the window is a ring of per-step bucket counts and a histogram of
/// them, so a step is O(1); `fit()` is O(`fitBuckets`) (one `log` per bucket), meant for a timer
/// (the example refits every 5 s).
public struct FillIntensity: Sendable {
    public let bucketWidth: UInt32
    public let windowSteps: Int
    public let stepSeconds: Double
    public let fitBuckets: Int

    @usableFromInline var ring: [UInt16]          // buckets credited by each step in the window
    @usableFromInline var histogram: [Int32]      // steps in the window crediting exactly j buckets
    @usableFromInline var head = 0
    @usableFromInline var _steps = 0              // steps in the window (≤ windowSteps)
    public var steps: Int { _steps }
    @usableFromInline var referenceTwiceMid: Int64 = 0   // the previous step's mid ×2; 0: none
    @usableFromInline var stepDeepest: Int64 = 0          // buckets the deepest trade of this step credits

    public init(bucketWidth: UInt32, windowSteps: Int, stepSeconds: Double, fitBuckets: Int = 70) {
        precondition(bucketWidth > 0 && windowSteps > 0 && stepSeconds > 0 && fitBuckets >= 3 && fitBuckets < Int(UInt16.max),
                     "FillIntensity: bucketWidth > 0, windowSteps > 0, stepSeconds > 0, 3 <= fitBuckets < 65535")
        self.bucketWidth = bucketWidth; self.windowSteps = windowSteps
        self.stepSeconds = stepSeconds; self.fitBuckets = fitBuckets
        ring = [UInt16](repeating: 0, count: windowSteps)
        histogram = [Int32](repeating: 0, count: fitBuckets + 1)
        histogram[0] = Int32(clamping: windowSteps)   // an empty window counts as steps crediting nothing
    }

    /// A trade in the current step. `buyerInitiated`: the aggressor bought.
    @inlinable
    public mutating func trade(price: UInt32, buyerInitiated: Bool) {
        guard referenceTwiceMid > 0 else { return }
        let twiceDepth = buyerInitiated ? 2 * Int64(price) - referenceTwiceMid : referenceTwiceMid - 2 * Int64(price)
        let w = Int64(bucketWidth)
        guard twiceDepth > w else { return }     // δ₀ = w/2 is not strictly inside
        // #{i ≥ 0 : (2i + 1)·w < 2d} = ceil((2d − w) / 2w)
        let credited = min((twiceDepth + w - 1) / (2 * w), Int64(fitBuckets))
        if credited > stepDeepest { stepDeepest = credited }
    }

    /// Close the step: record its deepest trade, and take this touch's mid as the reference for the
    /// next step (a one-sided or crossed touch leaves the next step without one).
    @inlinable
    public mutating func endStep(bid: UInt32, ask: UInt32) {
        let n = Int(stepDeepest)
        histogram[Int(ring[head])] -= 1
        histogram[n] += 1
        ring[head] = UInt16(n)
        head += 1
        if head == windowSteps { head = 0 }
        if _steps < windowSteps { _steps += 1 }
        stepDeepest = 0
        referenceTwiceMid = bid > 0 && ask > bid ? Int64(bid) + Int64(ask) : 0
    }

    /// λᵢ in fills per second for bucket i over the current window (the fit's data points).
    public func intensity(bucket i: Int) -> Double {
        guard i >= 0, i < fitBuckets else { return 0 }
        var credits: Int64 = 0
        for j in (i + 1)...fitBuckets { credits += Int64(histogram[j]) }
        return Double(credits) / (Double(windowSteps) * stepSeconds)
    }

    /// (A, k) with δ in bucket widths, or nil while the window is not full or fewer than 3 buckets
    /// were credited.
    public func fit() -> (A: Double, k: Double)? {
        guard steps == windowSteps else { return nil }
        var deepest = 0
        for j in stride(from: fitBuckets, through: 1, by: -1) where histogram[j] > 0 { deepest = j; break }
        guard deepest > 2 else { return nil }
        let seconds = Double(windowSteps) * stepSeconds
        var credits: Int64 = 0   // no step credits more than `deepest` buckets
        var sx = 0.0, sy = 0.0, sx2 = 0.0, sxy = 0.0
        // Buckets deepest−1 down to 0: credits(i) = Σ_{j > i} histogram[j], all ≥ 1 here.
        for i in stride(from: deepest - 1, through: 0, by: -1) {
            credits += Int64(histogram[i + 1])
            let x = Double(i) + 0.5
            let y = log(Double(credits) / seconds)
            sx += x; sy += y; sx2 += x * x; sxy += x * y
        }
        let n = Double(deepest)
        let slope = (n * sxy - sx * sy) / (n * sx2 - sx * sx)
        let intercept = (sy - slope * sx) / n
        return (A: exp(intercept), k: -slope)
    }
}
