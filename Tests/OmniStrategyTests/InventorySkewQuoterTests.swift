import OmniStrategy
import Testing

@Suite struct InventorySkewQuoterTests {
    let q = InventorySkewQuoter(tick: 100, halfSpreadTicks: 2, size: 100, sharesPerSkewTick: 100, maxPosition: 300)

    /// A table of touches and positions, each quote worked out by hand on the 0.01 grid.
    @Test(arguments: [
        // bid, ask, position -> bid, ask
        (1_990_000, 1_990_200, 0, 1_989_900, 1_990_300),     // mid 199.01: 2 ticks either side
        (1_990_000, 1_990_100, 0, 1_989_800, 1_990_300),     // mid 199.005: floored / ceiled, never narrower
        (1_990_000, 1_990_200, 100, 1_989_800, 1_990_200),   // long 100: both a tick lower; the ask joins the touch
        (1_990_000, 1_990_200, -200, 1_990_000, 1_990_500),  // short 200: two ticks higher; the bid joins the touch
        (1_990_000, 1_990_200, 250, 0, 1_990_200),           // a bid would pass 300: no bid
        (1_990_000, 1_990_200, -250, 1_990_000, 0),          // an ask would pass -300: no ask
    ] as [(UInt32, UInt32, Int64, UInt32, UInt32)])
    func quotes(bid: UInt32, ask: UInt32, position: Int64, wantBid: UInt32, wantAsk: UInt32) {
        #expect(q.quote(locate: 1, bid: bid, ask: ask, position: position) == QuoteTarget(bidPrice: wantBid, askPrice: wantAsk, size: 100))
    }

    @Test func noQuoteWithoutATwoSidedBook() {
        #expect(q.quote(locate: 1, bid: 0, ask: 1_990_200, position: 0) == .none)
        #expect(q.quote(locate: 1, bid: 1_990_200, ask: 1_990_200, position: 0) == .none)
    }
}
