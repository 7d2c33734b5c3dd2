/// Where a strategy wants its quotes in one instrument: a price per side (0: no quote on that
/// side) and the size of each. Prices in ITCH units on the instrument's tick grid.
public struct QuoteTarget: Sendable, Equatable {
    public var bidPrice: UInt32
    public var askPrice: UInt32
    public var size: UInt32
    public init(bidPrice: UInt32, askPrice: UInt32, size: UInt32) { self.bidPrice = bidPrice; self.askPrice = askPrice; self.size = size }
    public static let none = QuoteTarget(bidPrice: 0, askPrice: 0, size: 0)
}

/// A strategy as the trading loop calls it: once per instrument whose book changed, after the
/// whole packet is applied, with the touch and our position; it answers where to quote.
/// Generic and called directly (no existential), so each strategy specialises the loop.
public protocol Strategy {
    mutating func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget
    /// The loop's clock (monotonic ns), once per pass before any quote: signals on a timer step here.
    mutating func onClock(nowNs: UInt64)
    /// One of our orders filled: `side` is our side (OMNI_SIDE_BUY / _SELL), `price` in ITCH units.
    mutating func onFill(locate: UInt16, side: UInt8, price: UInt32, quantity: UInt32)
    /// A person's change of one of `locate`'s parameters (the control plane), between passes;
    /// false when the strategy has no such parameter there. `value` is within `parameter.range`.
    mutating func set(_ parameter: QuoteParameter, to value: Int64, locate: UInt16) -> Bool
    /// `locate`'s quoting parameters, nil when the strategy has none of these there.
    func parameters(locate: UInt16) -> QuoteParameters?
}

extension Strategy {
    /// A strategy without a timer ignores the clock.
    @inlinable public mutating func onClock(nowNs: UInt64) {}
    /// A strategy that learns nothing from its fills ignores them.
    @inlinable public mutating func onFill(locate: UInt16, side: UInt8, price: UInt32, quantity: UInt32) {}
    /// A strategy without these parameters refuses every change.
    public mutating func set(_ parameter: QuoteParameter, to value: Int64, locate: UInt16) -> Bool { false }
    public func parameters(locate: UInt16) -> QuoteParameters? { nil }
}

/// The plainest market maker: quotes `halfSpreadTicks` either side of the mid, both sides
/// moved against the inventory by one tick per `sharesPerSkewTick` held (long: lower, to sell
/// more and buy less), never crossing the touch (a bid at most the best bid, an ask at least the
/// best ask), and stops quoting the side that would take the position past `maxPosition`.
/// No volatility or fill-intensity model (`omni run --strategy avellaneda_stoikov / glft` has them).
public struct InventorySkewQuoter: Strategy {
    public var tick: UInt32
    public var halfSpreadTicks: UInt32
    public var size: UInt32
    public var sharesPerSkewTick: Int64
    public var maxPosition: Int64

    public init(tick: UInt32 = 100, halfSpreadTicks: UInt32 = 2, size: UInt32 = 100, sharesPerSkewTick: Int64 = 100,
                maxPosition: Int64 = 1_000) {
        precondition(tick > 0 && size > 0 && sharesPerSkewTick > 0)
        self.tick = tick; self.halfSpreadTicks = halfSpreadTicks; self.size = size
        self.sharesPerSkewTick = sharesPerSkewTick; self.maxPosition = maxPosition
    }

    public func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        guard bid > 0, ask > bid else { return .none } // one-sided or crossed: no fair mid to quote around
        let t = Int64(tick)
        let twiceMid = Int64(bid) + Int64(ask)
        let skew = position / sharesPerSkewTick * t
        let half = Int64(halfSpreadTicks) * t
        // Floor the bid and ceil the ask onto the grid: the spread never comes out narrower than asked.
        let rawBid = (twiceMid - 2 * half) / 2 - skew
        let rawAsk = (twiceMid + 2 * half + 1) / 2 - skew
        var b = rawBid > 0 ? rawBid / t * t : 0
        var a = (rawAsk + t - 1) / t * t
        b = min(b, Int64(bid))
        a = max(a, Int64(ask))
        if position + Int64(size) > maxPosition { b = 0 }
        if position - Int64(size) < -maxPosition { a = 0 }
        return QuoteTarget(bidPrice: UInt32(clamping: max(b, 0)), askPrice: UInt32(clamping: a), size: size)
    }

    /// One quoter is one instrument's: `locate` is not looked at.
    public mutating func set(_ parameter: QuoteParameter, to value: Int64, locate: UInt16) -> Bool {
        guard parameter.range.contains(value) else { return false }
        switch parameter {
        case .spreadTicks: halfSpreadTicks = UInt32(value)
        case .size: size = UInt32(value)
        case .skewShares: sharesPerSkewTick = value
        case .maxPosition: maxPosition = value
        }
        return true
    }

    public func parameters(locate: UInt16) -> QuoteParameters? {
        QuoteParameters(spreadTicks: halfSpreadTicks, size: size, skewShares: sharesPerSkewTick, maxPosition: maxPosition)
    }
}
