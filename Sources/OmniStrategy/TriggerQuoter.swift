/// The tick-to-trade trigger's answer (`omni sim --triggers`, `omni bench tick-to-trade`): one
/// bid `ticksBelowOffer` ticks under the best offer, moved with every change of it, no offer.
/// Not a market maker: it makes the loop answer each move of the offer with one order request
/// through the same feed, book, risk and order-entry code the market makers use, and the
/// answer's price tells the venue which trigger it answers.
public struct TriggerQuoter: Strategy {
    public var tick: UInt32
    public var ticksBelowOffer: UInt32
    public var size: UInt32

    public init(tick: UInt32 = 100, ticksBelowOffer: UInt32 = 80, size: UInt32 = 100) {
        precondition(tick > 0 && size > 0)
        self.tick = tick; self.ticksBelowOffer = ticksBelowOffer; self.size = size
    }

    public func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        let below = ticksBelowOffer * tick
        guard ask > below else { return .none }
        return QuoteTarget(bidPrice: ask - below, askPrice: 0, size: size)
    }
}
