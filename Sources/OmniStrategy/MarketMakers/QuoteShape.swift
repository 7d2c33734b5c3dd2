/// How a market maker's model prices become orders, the same for every model: size, the tick
/// grid, inventory limits, minimum spread and the touch. One per instrument.
public struct QuoteShape: Sendable, Equatable {
    /// How a model price is put on the tick grid.
    public enum Rounding: Sendable, Equatable {
        /// Bid down, ask up: the quoted spread is never narrower than the model's.
        case outward
        /// Each to the nearest tick, ties to even (numpy's `np.round`, as hftbacktest's GLFT
        /// example does).
        case nearest
    }

    /// The tick, in price units (ITCH: 100 = one cent).
    public var tick: UInt32
    /// Shares per order.
    public var size: UInt32
    /// Shares per unit of inventory q in the model (q = position / inventoryUnit).
    public var inventoryUnit: Int64
    /// No bid when a fill would take the position above this; no ask below its negative.
    public var maxPosition: Int64
    /// The quoted spread is widened to at least this many ticks (≥ 1).
    public var minSpreadTicks: UInt32
    /// false: a bid at most the best bid and an ask at least the best ask (join or stand behind
    /// the touch, as hftbacktest's example does); true: inside the spread allowed, but never at or
    /// through the opposite touch (a bid below the best ask, an ask above the best bid).
    public var mayImproveTouch: Bool
    public var rounding: Rounding

    public init(tick: UInt32 = 100, size: UInt32 = 100, inventoryUnit: Int64 = 100, maxPosition: Int64 = 1_000,
                minSpreadTicks: UInt32 = 1, mayImproveTouch: Bool = false, rounding: Rounding = .outward) {
        precondition(tick > 0 && size > 0 && inventoryUnit > 0 && maxPosition >= 0 && minSpreadTicks >= 1,
                     "QuoteShape: tick, size, inventoryUnit > 0, maxPosition >= 0, minSpreadTicks >= 1")
        self.tick = tick; self.size = size; self.inventoryUnit = inventoryUnit; self.maxPosition = maxPosition
        self.minSpreadTicks = minSpreadTicks; self.mayImproveTouch = mayImproveTouch; self.rounding = rounding
    }

    /// The inventory in model units.
    @inlinable public func q(_ position: Int64) -> Double { Double(position) / Double(inventoryUnit) }

    /// The mid in ticks (exact: a sum of two u32 halved).
    @inlinable public func midTicks(bid: UInt32, ask: UInt32) -> Double {
        (Double(bid) + Double(ask)) / 2 / Double(tick)
    }

    /// The one place a model's floating-point prices (in ticks) become venue prices: rounded onto
    /// the grid by `rounding`, the spread widened to `minSpreadTicks` (the extra tick of an odd
    /// shortfall goes to the ask), kept off the touch by `mayImproveTouch`, each side dropped when
    /// its fill would pass `maxPosition`. A price that is not a finite number, or that falls outside
    /// (0, UInt32.max], quotes nothing on that side.
    @inlinable
    public func target(bidTicks: Double, askTicks: Double, bestBid: UInt32, bestAsk: UInt32, position: Int64) -> QuoteTarget {
        guard bidTicks.isFinite, askTicks.isFinite,
              abs(bidTicks) < 1e15, abs(askTicks) < 1e15 else { return .none }
        var b: Int64, a: Int64
        switch rounding {
        case .outward:
            b = Int64(bidTicks.rounded(.down)); a = Int64(askTicks.rounded(.up))
        case .nearest:
            b = Int64(bidTicks.rounded(.toNearestOrEven)); a = Int64(askTicks.rounded(.toNearestOrEven))
        }
        let shortfall = Int64(minSpreadTicks) - (a - b)
        if shortfall > 0 { b -= shortfall / 2; a += shortfall - shortfall / 2 }
        let t = Int64(tick)
        let bidTouch = Int64(bestBid) / t                  // the best bid, floored onto the grid
        let askTouch = (Int64(bestAsk) + t - 1) / t        // the best ask, ceiled onto the grid
        if mayImproveTouch {
            b = min(b, askTouch - 1); a = max(a, bidTouch + 1)
        } else {
            b = min(b, bidTouch); a = max(a, askTouch)
        }
        var bidPrice = b > 0 ? b * t : 0
        var askPrice = a > 0 ? a * t : 0
        if bidPrice > Int64(UInt32.max) { bidPrice = 0 }
        if askPrice > Int64(UInt32.max) { askPrice = 0 }
        if position + Int64(size) > maxPosition { bidPrice = 0 }
        if position - Int64(size) < -maxPosition { askPrice = 0 }
        if bidPrice == 0 && askPrice == 0 { return .none }
        return QuoteTarget(bidPrice: UInt32(bidPrice), askPrice: UInt32(askPrice), size: size)
    }
}

extension QuoteTarget {
    /// A two-sided, uncrossed touch: the only book a market maker quotes around.
    @inlinable
    static func quotable(bid: UInt32, ask: UInt32) -> Bool { bid > 0 && ask > bid }
}
