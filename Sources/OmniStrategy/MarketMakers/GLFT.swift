#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One instrument's GLFT parameters. Units: prices in ticks, time in seconds, inventory q in
/// `shape.inventoryUnit` shares.
public struct GLFTParameters: Sendable, Equatable {
    /// Risk aversion γ, > 0.
    public var gamma: Double
    /// ξ: γ in the paper's risk-averse case (the example's `compute_coeff(gamma, gamma, ...)`); 0 is
    /// not allowed (the risk-neutral limit needs a separate formula).
    public var xi: Double
    /// Δ: the quote size in inventory units (the example: 1).
    public var delta: Double
    /// λ(δ) = A·e^(−kδ): A in fills per second, k per tick, from `FillIntensity.fit()` or fixed.
    public var A: Double
    public var k: Double
    /// σ of the mid, ticks per √second, until `GLFTQuoter.sigma` is set from a volatility signal.
    public var sigma: Double
    public var shape: QuoteShape

    public init(gamma: Double, xi: Double? = nil, delta: Double = 1, A: Double, k: Double, sigma: Double,
                shape: QuoteShape = QuoteShape()) {
        let xi = xi ?? gamma
        precondition(gamma > 0 && xi > 0 && delta > 0 && A > 0 && k > 0 && sigma >= 0,
                     "GLFTParameters: gamma, xi, delta, A, k > 0, sigma >= 0")
        self.gamma = gamma; self.xi = xi; self.delta = delta; self.A = A; self.k = k; self.sigma = sigma; self.shape = shape
    }
}

/// Guéant, Lehalle & Fernandez-Tapia, "Dealing with the inventory risk: a solution to the market
/// making problem" (Math. Financ. Econ. 7, 2013), the closed-form asymptotic approximation
/// (their eqs. 4.6–4.7 as written out in hftbacktest's example), implemented as
/// nkaz001/hftbacktest `examples/GLFT Market Making Model and Grid Trading.ipynb` (commit
/// 5f3ec40b2afb764e0fea112f941ed85523ef4e88) does in `compute_coeff` and `glft_market_maker`:
///
///     c1 = 1/(ξΔ) · ln(1 + ξΔ/k)
///     c2 = sqrt( γ/(2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1) )
///     half_spread = c1 + Δ/2 · c2 · σ
///     skew        = c2 · σ
///     bid = mid − (half_spread + skew·q)
///     ask = mid + (half_spread − skew·q)
///
/// (the example writes it as reservation = mid − skew·q, bid = reservation − half_spread,
/// ask = reservation + half_spread: the same). The example then takes
/// `min(np.round(bid), best_bid)` and `max(np.round(ask), best_ask)`; here `QuoteShape.target`
/// does that step (`.nearest` rounding reproduces np.round; the default `.outward` never quotes
/// narrower than the model), plus a minimum spread and the inventory limits (the example's
/// `max_position`). No quote on a one-sided or crossed book, or when the coefficients are not
/// numbers.
///
/// c1 and c2 are computed once per calibration (`calibrate(A:k:)`), so a quote is a few multiplies.
public struct GLFTQuoter: Strategy {
    public private(set) var parameters: GLFTParameters
    /// σ in ticks per √second (starts at `parameters.sigma`).
    public var sigma: Double
    public private(set) var c1: Double
    public private(set) var c2: Double

    public init(_ parameters: GLFTParameters) {
        self.parameters = parameters
        sigma = parameters.sigma
        (c1, c2) = GLFTQuoter.coefficients(parameters)
    }

    public static func coefficients(_ p: GLFTParameters) -> (c1: Double, c2: Double) {
        let xd = p.xi * p.delta
        let c1 = 1 / xd * log(1 + xd / p.k)
        let c2 = (p.gamma / (2 * p.A * p.delta * p.k) * pow(1 + xd / p.k, p.k / xd + 1)).squareRoot()
        return (c1, c2)
    }

    public mutating func apply(_ p: GLFTParameters) {
        parameters = p
        (c1, c2) = GLFTQuoter.coefficients(p)
    }

    /// A new fill-intensity fit (from `FillIntensity.fit()`); a fit that is not positive and finite
    /// is ignored, and the previous coefficients stay.
    public mutating func calibrate(A: Double, k: Double) {
        guard A.isFinite, k.isFinite, A > 0, k > 0 else { return }
        parameters.A = A; parameters.k = k
        (c1, c2) = GLFTQuoter.coefficients(parameters)
    }

    @inlinable
    public func model(q: Double) -> (halfSpread: Double, skew: Double, bidDepth: Double, askDepth: Double) {
        let halfSpread = c1 + parameters.delta / 2 * c2 * sigma
        let skew = c2 * sigma
        return (halfSpread, skew, halfSpread + skew * q, halfSpread - skew * q)
    }

    @inlinable
    public func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        guard QuoteTarget.quotable(bid: bid, ask: ask) else { return .none }
        let shape = parameters.shape
        let mid = shape.midTicks(bid: bid, ask: ask)
        let m = model(q: shape.q(position))
        return shape.target(bidTicks: mid - m.bidDepth, askTicks: mid + m.askDepth, bestBid: bid, bestAsk: ask, position: position)
    }
}
