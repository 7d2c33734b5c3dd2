/// Order-book imbalance over the best `levels` price levels per side:
/// `(Σ wᵢ·bidᵢ − Σ wᵢ·askᵢ) / (Σ wᵢ·bidᵢ + Σ wᵢ·askᵢ)`, in [−1, 1], positive when the bids hold more
/// size. `wᵢ = decay^i` (level 0 is the touch); `decay = 1` weighs every level alike. Takes the sizes
/// as any collection of `UInt32` (an array, an `UnsafeBufferPointer` filled from a `BookView`),
/// best level first, so it depends on no book type. Cost: `levels` multiply-adds per side; the
/// weights are computed once, at init.
public struct BookImbalance: Sendable {
    public let levels: Int
    @usableFromInline let weights: [Double]
    /// The last value; 0 when both sides are empty (no evidence either way).
    @usableFromInline var _value: Double = 0
    public var value: Double { _value }

    public init(levels: Int, decay: Double = 1) {
        precondition(levels > 0 && decay > 0 && decay <= 1, "BookImbalance: levels > 0, 0 < decay <= 1")
        self.levels = levels
        var w = [Double](repeating: 1, count: levels)
        if levels > 1 { for i in 1..<levels { w[i] = w[i - 1] * decay } }
        weights = w
    }

    /// Sizes beyond `levels` are ignored; a side with fewer levels counts the missing ones as 0.
    @inlinable @discardableResult
    public mutating func update<B: Collection, A: Collection>(bidSizes: B, askSizes: A) -> Double
    where B.Element == UInt32, A.Element == UInt32 {
        var b = 0.0, a = 0.0
        var i = 0
        for s in bidSizes { if i == levels { break }; b += weights[i] * Double(s); i += 1 }
        i = 0
        for s in askSizes { if i == levels { break }; a += weights[i] * Double(s); i += 1 }
        _value = b + a > 0 ? (b - a) / (b + a) : 0
        return _value
    }
}
