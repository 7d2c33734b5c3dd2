/// The size-weighted mid of the touch, `(bid·askSize + ask·bidSize) / (bidSize + askSize)`: it
/// leans toward the side with less size, where the next trade is more likely to move the price.
/// (This is the weighted mid that trading desks call the microprice, not Stoikov's 2018
/// martingale "micro-price", which needs an estimated transition matrix.) Price units in, price
/// units out, as a Double: it informs a model, it is never sent to a venue. O(1), no state.
public struct Microprice: Sendable, Equatable {
    /// The last value; NaN until a two-sided touch with some size has been seen, or after one
    /// that is one-sided, crossed or empty.
    @usableFromInline var _value: Double = .nan
    public var value: Double { _value }

    public init() {}

    @inlinable @discardableResult
    public mutating func update(bid: UInt32, bidSize: UInt32, ask: UInt32, askSize: UInt32) -> Double {
        _value = Microprice.of(bid: bid, bidSize: bidSize, ask: ask, askSize: askSize)
        return _value
    }

    @inlinable
    public static func of(bid: UInt32, bidSize: UInt32, ask: UInt32, askSize: UInt32) -> Double {
        guard bid > 0, ask > bid else { return .nan }
        let total = UInt64(bidSize) + UInt64(askSize)
        guard total > 0 else { return .nan }
        // Exact in integers first (a u32 price times a u32 size fits in 64 bits; the sum of two in 65,
        // so widen through Double only at the end, with one rounding).
        let num = Double(UInt64(bid) * UInt64(askSize)) + Double(UInt64(ask) * UInt64(bidSize))
        return num / Double(total)
    }
}
