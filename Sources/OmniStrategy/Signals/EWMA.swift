/// An exponentially weighted moving average, `vₙ = α·xₙ + (1 − α)·vₙ₋₁`, O(1) per update.
///
/// Seeding decides the first values, and peers differ on it:
/// - `init(period:)` is TA-Lib's `EMA(period)` (default compatibility): `α = 2 / (period + 1)`,
///   no value for the first `period − 1` inputs, then the simple average of the first `period`
///   inputs as the seed. The TA-Lib peer test checks this on a real mid series.
/// - `init(alpha:)` seeds with the first input (pandas' `ewm(alpha:, adjust=False)`).
public struct EWMA: Sendable, Equatable {
    public let alpha: Double
    /// How many inputs are averaged into the seed (1: the first input itself).
    public let seedCount: Int
    @usableFromInline var _count: Int = 0
    public var count: Int { _count }
    @usableFromInline var seedSum: Double = 0
    /// NaN until `seedCount` inputs have been seen.
    @usableFromInline var _value: Double = .nan
    public var value: Double { _value }

    public init(alpha: Double) {
        precondition(alpha > 0 && alpha <= 1, "EWMA: 0 < alpha <= 1")
        self.alpha = alpha; self.seedCount = 1
    }

    public init(period: Int) {
        precondition(period >= 1, "EWMA: period >= 1")
        self.alpha = 2 / Double(period + 1); self.seedCount = period
    }

    public var isReady: Bool { _count >= seedCount }

    @inlinable @discardableResult
    public mutating func update(_ x: Double) -> Double {
        _count &+= 1
        if _count < seedCount {
            seedSum += x
        } else if _count == seedCount {
            _value = (seedSum + x) / Double(seedCount)
        } else {
            _value += alpha * (x - _value)
        }
        return _value
    }

    /// The mid of a two-sided touch, in price units; a one-sided or crossed touch is skipped
    /// (the average keeps its value).
    @inlinable @discardableResult
    public mutating func update(bid: UInt32, ask: UInt32) -> Double {
        guard bid > 0, ask > bid else { return _value }
        return update((Double(bid) + Double(ask)) / 2)
    }
}
