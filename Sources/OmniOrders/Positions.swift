import CEvent

/// Fees as the venue charges them, per share, in ITCH price units (1/10000 dollar): what taking
/// liquidity costs and what adding it earns (a rebate; negative would be a charge).
public struct FeeSchedule: Sendable, Equatable {
    public var takePerShare: Int64
    public var addRebatePerShare: Int64
    public init(takePerShare: Int64 = 30, addRebatePerShare: Int64 = 20) {
        self.takePerShare = takePerShare; self.addRebatePerShare = addRebatePerShare
    }
}

/// One position: shares held (negative: short) at an average cost, with its realised PnL and fees.
/// Money is in ITCH price units × shares (1/10000 dollar), in 128 bits so no day overflows it.
///
/// Average cost: buying adds shares at their price to the open cost; selling against a long
/// takes the average cost of the shares closed out of it (rounded down) and realises the
/// difference. When the position returns to flat the open cost is exactly zero, so realised PnL
/// over a round trip is exactly proceeds minus cost, to the 1/10000 dollar.
public struct Position: Sendable, Equatable {
    public var shares: Int64 = 0
    /// What the open shares cost (short: what they were sold for), ≥ 0.
    public var openCost: Int128 = 0
    public var realised: Int128 = 0
    /// Fees paid minus rebates earned (positive: a cost).
    public var fees: Int128 = 0
    public var boughtShares: UInt64 = 0, soldShares: UInt64 = 0
    public var fills: UInt64 = 0
    public init() {}

    /// Applies one execution of `qty` shares at `price` on `side`.
    public mutating func apply(side: UInt8, price: UInt32, qty: UInt32, liquidity: UInt8, fees schedule: FeeSchedule) {
        let q = Int64(qty), px = Int128(price)
        let signed = side == UInt8(OMNI_SIDE_BUY) ? q : -q
        fills += 1
        if side == UInt8(OMNI_SIDE_BUY) { boughtShares += UInt64(qty) } else { soldShares += UInt64(qty) }
        switch Int(liquidity) {
        case Int(OMNI_LIQ_REMOVED): fees += Int128(schedule.takePerShare) * Int128(q)
        case Int(OMNI_LIQ_ADDED): fees -= Int128(schedule.addRebatePerShare) * Int128(q)
        default: break
        }
        if shares == 0 || (shares > 0) == (signed > 0) {
            shares += signed
            openCost += px * Int128(q)
            return
        }
        // Closing (part of) the position: realise against the average cost of what closes.
        let held = Int128(shares.magnitude)
        let closing = min(Int128(q), held)
        let closedCost = openCost * closing / held
        openCost -= closedCost
        realised += shares > 0 ? px * closing - closedCost : closedCost - px * closing
        shares += shares > 0 ? -Int64(closing) : Int64(closing)
        let opening = Int128(q) - closing
        if opening > 0 { // the fill went through flat: the rest opens the other way at its price
            shares += signed > 0 ? Int64(opening) : -Int64(opening)
            openCost = px * opening
        }
    }

    /// PnL of the open shares marked at the mid of `bid` / `ask` (ITCH units), in units × shares;
    /// nil without both sides (no mid to mark at).
    public func unrealised(bid: UInt32, ask: UInt32) -> Int128? {
        guard shares != 0 else { return 0 }
        guard bid > 0, ask > 0 else { return nil }
        let twiceMid = Int128(bid) + Int128(ask)
        let twiceValue = twiceMid * Int128(shares.magnitude)
        let diff = shares > 0 ? twiceValue - 2 * openCost : 2 * openCost - twiceValue
        return diff / 2
    }

    /// What trading paid in and out (proceeds of sales minus cost of purchases, fees aside): a
    /// venue's record of the executions gives the same figure, to the 1/10000 dollar.
    public var cashFlow: Int128 { shares >= 0 ? realised - openCost : realised + openCost }

    /// The average price of the open shares, in ITCH units (0 when flat).
    public var averagePrice: Int128 { shares == 0 ? 0 : openCost / Int128(shares.magnitude) }
}

/// Positions per (strategy, instrument), preallocated: `strategies` × `locates` slots.
public final class PositionBook {
    let slots: UnsafeMutablePointer<Position>
    public let strategies: Int, locates: Int

    public init(strategies: Int, locates: Int) {
        precondition(strategies > 0 && locates > 0 && strategies * locates <= 1 << 24)
        self.strategies = strategies
        self.locates = locates
        slots = .allocate(capacity: strategies * locates)
        slots.initialize(repeating: Position(), count: strategies * locates)
    }

    deinit { slots.deallocate() }

    /// The position of `strategy` in `locate`, or nil outside the book's bounds.
    public func position(strategy: UInt16, locate: UInt16) -> UnsafeMutablePointer<Position>? {
        guard Int(strategy) < strategies, Int(locate) < locates else { return nil }
        return slots + Int(strategy) * locates + Int(locate)
    }

    /// Every strategy's position in `locate`, summed: shares, realised PnL, fees, volume and
    /// fills. The open cost stays per strategy (a long in one and a short in another do not
    /// share an average), so it is 0 here; `unrealised(locate:bid:ask:)` sums the strategies'.
    public func instrument(_ locate: UInt16) -> Position {
        var total = Position()
        guard Int(locate) < locates else { return total }
        for s in 0..<strategies {
            let p = slots[s * locates + Int(locate)]
            total.shares += p.shares
            total.realised += p.realised
            total.fees += p.fees
            total.boughtShares += p.boughtShares
            total.soldShares += p.soldShares
            total.fills += p.fills
        }
        return total
    }

    /// The unrealised PnL of every strategy's position in `locate` at the mid; nil when a
    /// position is open and the book has no two sides.
    public func unrealised(locate: UInt16, bid: UInt32, ask: UInt32) -> Int128? {
        guard Int(locate) < locates else { return 0 }
        var total: Int128 = 0
        for s in 0..<strategies {
            guard let u = slots[s * locates + Int(locate)].unrealised(bid: bid, ask: ask) else { return nil }
            total += u
        }
        return total
    }
}
