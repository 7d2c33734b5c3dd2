#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Trade-flow imbalance: buyer- and seller-initiated traded volume, each an exponentially
/// time-decayed sum with half-life `halfLifeNs`, and `value = (buy − sell) / (buy + sell)` in
/// [−1, 1] (positive: aggressive buying). The decay is by elapsed time, not by trade count, so a
/// burst and a trickle of the same volume weigh alike; between trades both sums decay by the
/// same factor, so `value` only changes on a trade. O(1): one `exp` per trade.
public struct TradeFlowImbalance: Sendable, Equatable {
    public let halfLifeNs: UInt64
    @usableFromInline let decayPerNs: Double  // ln 2 / half-life
    @usableFromInline var _buyVolume: Double = 0
    public var buyVolume: Double { _buyVolume }
    @usableFromInline var _sellVolume: Double = 0
    public var sellVolume: Double { _sellVolume }
    @usableFromInline var lastNs: UInt64 = 0
    /// 0 before the first trade.
    @usableFromInline var _value: Double = 0
    public var value: Double { _value }

    public init(halfLifeNs: UInt64) {
        precondition(halfLifeNs > 0, "TradeFlowImbalance: halfLifeNs > 0")
        self.halfLifeNs = halfLifeNs
        decayPerNs = M_LN2 / Double(halfLifeNs)
    }

    /// One trade of `size` at time `nowNs` (the caller's clock, non-decreasing; an earlier time
    /// is taken as no time elapsed). `buyerInitiated`: the aggressor bought (it lifted an ask).
    @inlinable @discardableResult
    public mutating func update(nowNs: UInt64, size: UInt32, buyerInitiated: Bool) -> Double {
        if nowNs > lastNs, _buyVolume + _sellVolume > 0 {
            let f = exp(-decayPerNs * Double(nowNs - lastNs))
            _buyVolume *= f; _sellVolume *= f
        }
        if nowNs > lastNs { lastNs = nowNs }
        if buyerInitiated { _buyVolume += Double(size) } else { _sellVolume += Double(size) }
        let total = _buyVolume + _sellVolume
        _value = total > 0 ? (_buyVolume - _sellVolume) / total : 0
        return _value
    }
}
