import OmniCore

/// One pool slot: an order resting in a book, or the aggressor being matched, or free.
/// Intrusive links: `prev`/`next` chain the FIFO queue of the order's price level (or the free
/// list, through `next`), `sprev`/`snext` the live orders of its session (for mass cancel).
@usableFromInline struct OrderSlot {
    @usableFromInline var prev: Int32 = -1
    @usableFromInline var next: Int32 = -1
    @usableFromInline var sprev: Int32 = -1
    @usableFromInline var snext: Int32 = -1
    /// Ladder index while resting; -1 otherwise.
    @usableFromInline var level: Int32 = -1
    @usableFromInline var qty: UInt32 = 0
    @usableFromInline var generation: UInt32 = 0
    @usableFromInline var owner: UInt32 = 0
    @usableFromInline var session: UInt16 = 0
    @usableFromInline var book: UInt16 = 0
    @usableFromInline var side: Side = .bid
    /// MPID for an attributed (F) add; 0 = anonymous (A).
    @usableFromInline var mpid: UInt32 = 0
    @usableFromInline var ref: UInt64 = 0
    @usableFromInline var tag: UInt64 = 0
    @usableFromInline init() {}
}

/// A price level: FIFO of pool slots, oldest at `head`.
@usableFromInline struct PriceLevel {
    @usableFromInline var head: Int32 = -1
    @usableFromInline var tail: Int32 = -1
    @usableFromInline var count: UInt32 = 0
    @usableFromInline var qty: UInt64 = 0
    @usableFromInline init() {}
}

/// The price-time priority book of one instrument.
///
/// Levels live in a ladder indexed by price, one slot per tick across the instrument's price
/// band (±10 % of 200.00 at 0.01 tick: 4,001 levels, 96 KB). Why a ladder and not a sorted array
/// of active levels: the band bounds the ladder, so insert and lookup at any price are one index
/// computation with no shifting, and a book that moves (the replace-heavy mix) never memmoves
/// level arrays. The best bid/ask are indices kept current; when the best level empties the next
/// one is found by scanning outward, which is short because real books are dense near the touch.
public struct MatchingBook {
    public let spec: InstrumentSpec
    /// Lowest and highest accepted prices (tick aligned, inside the band).
    public let low: UInt32
    public let high: UInt32
    @usableFromInline let tick: UInt32
    @usableFromInline let levelCount: Int32
    @usableFromInline let levels: UnsafeMutablePointer<PriceLevel>
    /// Index of the best bid level, -1 when no bids.
    @usableFromInline var bestBid: Int32
    /// Index of the best ask level, levelCount when no asks.
    @usableFromInline var bestAsk: Int32
    @usableFromInline var resting: Int = 0

    init(_ spec: InstrumentSpec) {
        self.spec = spec
        let ladder = spec.ladder
        precondition(ladder.levels <= UInt64(Int32.max), "\(spec.symbol): \(ladder.levels) price levels (configurations bound the ladder)")
        tick = max(spec.tick, 1)
        low = ladder.low
        high = ladder.high
        levelCount = Int32(ladder.levels)
        levels = .allocate(capacity: Int(levelCount))
        levels.initialize(repeating: PriceLevel(), count: Int(levelCount))
        bestBid = -1
        bestAsk = levelCount
    }

    func deallocate() { levels.deallocate() }

    @inlinable @inline(__always) func index(_ price: UInt32) -> Int32 { Int32((price &- low) / tick) }
    @inlinable @inline(__always) func price(_ index: Int32) -> UInt32 { low &+ UInt32(index) &* tick }

    /// Resting orders in this book.
    public var restingOrders: Int { resting }

    /// Up to `n` levels of one side, best first.
    public func depth(_ side: Side, _ n: Int = Int.max) -> [VenueLevel] {
        var out: [VenueLevel] = []
        var i = side == .bid ? bestBid : bestAsk
        let step: Int32 = side == .bid ? -1 : 1
        while i >= 0 && i < levelCount && out.count < n {
            let l = levels[Int(i)]
            if l.count > 0 { out.append(VenueLevel(price: price(i), shares: l.qty, orders: l.count)) }
            i += step
        }
        return out
    }

    /// Best bid and ask: (price, shares), price 0 / shares 0 when the side is empty.
    public var bbo: (bidPrice: UInt32, bidSize: UInt64, askPrice: UInt32, askSize: UInt64) {
        let b = bestBid >= 0 ? (price(bestBid), levels[Int(bestBid)].qty) : (0, 0)
        let a = bestAsk < levelCount ? (price(bestAsk), levels[Int(bestAsk)].qty) : (0, 0)
        return (b.0, b.1, a.0, a.1)
    }
}
