#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One instrument's Avellaneda–Stoikov parameters. Units: prices in ticks, time in seconds,
/// inventory q in `shape.inventoryUnit` shares.
public struct AvellanedaStoikovParameters: Sendable, Equatable {
    /// Risk aversion γ (per tick per unit of inventory), > 0.
    public var gamma: Double
    /// Order-book liquidity k in λ(δ) = A·e^(−kδ) (per tick), > 0: from `FillIntensity.fit()` or fixed.
    public var k: Double
    /// Volatility σ of the mid (ticks per √second) until `AvellanedaStoikovQuoter.sigma` is set
    /// from a `RealizedVolatility` (see `RealizedVolatility.sigmaTicks`).
    public var sigma: Double
    /// The horizon T (seconds from the session start to the terminal time).
    public var horizonSeconds: Double
    public var shape: QuoteShape

    public init(gamma: Double, k: Double, sigma: Double, horizonSeconds: Double, shape: QuoteShape = QuoteShape()) {
        precondition(gamma > 0 && k > 0 && sigma >= 0 && horizonSeconds >= 0,
                     "AvellanedaStoikovParameters: gamma > 0, k > 0, sigma >= 0, horizonSeconds >= 0")
        self.gamma = gamma; self.k = k; self.sigma = sigma; self.horizonSeconds = horizonSeconds; self.shape = shape
    }
}

/// Avellaneda & Stoikov, "High-frequency trading in a limit order book", Quantitative Finance 8(3),
/// 2008, eqs. (29)–(30) (the approximate solution, the one everybody quotes):
///
///     reservation price  r = s − q·γ·σ²·(T − t)
///     total spread       δᵃ + δᵇ = γ·σ²·(T − t) + (2/γ)·ln(1 + γ/k)
///     bid = r − (δᵃ + δᵇ)/2,  ask = r + (δᵃ + δᵇ)/2
///
/// with s the mid, q the inventory, γ the risk aversion, σ the mid's volatility, k the decay of
/// the fill intensity, T − t the time left. Computed in Double in ticks; the prices reach the
/// venue only through `QuoteShape.target` (outward onto the tick grid by default, minimum spread,
/// never through the touch, inventory limits). No quote on a one-sided or crossed book, or when a
/// parameter makes the formula not a number.
///
/// `ln(1 + γ/k)` is computed once per parameter change, so a quote is a handful of multiplies.
/// The quote depends only on the touch, the position, σ and the clock, so it stays put while they
/// do: the loop's refresh rule (replace when the target moves ≥ N ticks) sees a stable target.
public struct AvellanedaStoikovQuoter: Strategy {
    public private(set) var parameters: AvellanedaStoikovParameters
    /// σ in ticks per √second (starts at `parameters.sigma`; set it from a volatility signal).
    public var sigma: Double
    /// T − t in seconds (starts at T; `advance(elapsedSeconds:)` moves it).
    public private(set) var remainingSeconds: Double
    @usableFromInline var liquidityTerm: Double   // (2/γ)·ln(1 + γ/k)

    public init(_ parameters: AvellanedaStoikovParameters) {
        self.parameters = parameters
        sigma = parameters.sigma
        remainingSeconds = parameters.horizonSeconds
        liquidityTerm = 2 / parameters.gamma * log(1 + parameters.gamma / parameters.k)
    }

    /// New parameters (a control-plane command); keeps σ and the clock unless told otherwise.
    public mutating func apply(_ p: AvellanedaStoikovParameters) {
        parameters = p
        liquidityTerm = 2 / p.gamma * log(1 + p.gamma / p.k)
        remainingSeconds = min(remainingSeconds, p.horizonSeconds)
    }

    /// t: seconds since the session started; T − t floors at 0 (past the horizon only the
    /// liquidity term of the spread is left, and no inventory skew).
    public mutating func advance(elapsedSeconds: Double) {
        remainingSeconds = max(0, parameters.horizonSeconds - elapsedSeconds)
    }

    /// r and the total spread, in ticks, for mid s (ticks) and inventory q (units).
    @inlinable
    public func model(midTicks s: Double, q: Double) -> (reservation: Double, spread: Double) {
        let riskTerm = parameters.gamma * sigma * sigma * remainingSeconds
        return (s - q * riskTerm, riskTerm + liquidityTerm)
    }

    @inlinable
    public func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        guard QuoteTarget.quotable(bid: bid, ask: ask) else { return .none }
        let shape = parameters.shape
        let (r, spread) = model(midTicks: shape.midTicks(bid: bid, ask: ask), q: shape.q(position))
        return shape.target(bidTicks: r - spread / 2, askTicks: r + spread / 2, bestBid: bid, bestAsk: ask, position: position)
    }
}
