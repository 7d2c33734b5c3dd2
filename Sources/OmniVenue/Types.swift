import OmniCore

/// A venue order id: the pool slot that holds the order plus a generation, so a stale id
/// (the slot freed and reused) is detected as unknown. Stable across replace; the ITCH
/// order reference, by contrast, changes on a replace that loses priority.
public struct OrderID: Hashable, Sendable, CustomStringConvertible {
    public var raw: UInt64
    @inlinable public init(raw: UInt64) { self.raw = raw }
    @inlinable init(slot: Int32, generation: UInt32) { raw = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: slot)) }
    @inlinable var slot: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: raw)) }
    @inlinable var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) }
    public static let none = OrderID(raw: UInt64.max)
    /// The order pool slot (0..<VenueConfig.maxOrders): a dense index callers may key side tables by.
    @inlinable public var poolIndex: Int { Int(slot) }
    public var description: String { "#\(slot)/\(generation)" }
}

/// A session (order-entry connection) number, 0..<VenueConfig.maxSessions.
public typealias SessionID = UInt16

public enum OrderKind: UInt8, Sendable {
    /// Rests until filled or canceled (GTC).
    case limit
    /// No price: takes whatever the other side offers; the remainder is canceled.
    case market
    /// Limit price, takes what it can, remainder canceled.
    case immediateOrCancel
    /// Limit price, fills completely at once or nothing happens (rejected with .fillOrKillUnfillable).
    case fillOrKill
    /// Limit that must rest: rejected (.postOnlyWouldCross) if it would take liquidity.
    case postOnly
}

/// Self-match prevention: what happens when an aggressor would trade with a resting order
/// of the same owner.
public enum SelfMatchMode: UInt8, Sendable {
    /// The aggressor's remainder is canceled (reason .selfMatch); the resting order stays.
    case cancelNewest
    /// The resting order is canceled (reason .selfMatch) and matching continues.
    case cancelOldest
}

/// Why a new order, cancel, replace or mass cancel did nothing. Counted per reason (`Venue.rejects`).
public enum RejectReason: UInt8, Sendable, CaseIterable {
    case unknownInstrument = 1
    /// Session number not below VenueConfig.maxSessions.
    case unknownSession
    /// Before `open()` or after `close()`.
    case marketClosed
    case zeroQuantity
    /// Price not a multiple of the instrument's tick.
    case badTick
    /// Quantity not a multiple of the instrument's lot.
    case badLot
    /// Price outside reference ± band.
    case outsidePriceBand
    /// The session's token bucket is empty (new orders and replaces; cancels are never limited).
    case rateLimited
    /// No free order slot: VenueConfig.maxOrders are live.
    case poolExhausted
    case postOnlyWouldCross
    case fillOrKillUnfillable
    /// Cancel / replace of an id that is not live (filled, canceled, never existed, stale generation).
    case unknownOrder
    /// Cancel / replace from a session other than the one that entered the order.
    case notYourOrder
    /// Quantity above the instrument's `maxOrderShares`.
    case orderTooLarge
    /// Price × quantity above the instrument's `maxOrderValue` (a market order is valued at the band's far end).
    case orderValueTooLarge
}

public enum CancelReason: UInt8, Sendable {
    /// The owner asked (cancel, or replace down to nothing).
    case requested = 1
    /// IOC / market remainder, or a market order that found an empty side.
    case unfilledRemainder
    /// Self-match prevention.
    case selfMatch
    /// Mass cancel for the session.
    case massCancel
}

/// An order as a session enters it.
public struct NewOrder: Sendable {
    public var locate: Locate
    public var side: Side
    public var kind: OrderKind
    /// ITCH price (4 implied decimals); ignored for market orders.
    public var price: UInt32
    public var quantity: UInt32
    /// Self-match group; 0 means "the session itself".
    public var owner: UInt32
    /// The caller's own token (e.g. OUCH order token), echoed in every event about this order.
    public var tag: UInt64
    /// Market participant id shown on the feed: 4 ASCII bytes, first byte lowest (see `mpid(_:)`);
    /// 0 = anonymous. A resting attributed order is published as F instead of A.
    public var attribution: UInt32
    public init(locate: Locate, side: Side, kind: OrderKind = .limit, price: UInt32, quantity: UInt32, owner: UInt32 = 0, tag: UInt64 = 0,
                attribution: UInt32 = 0) {
        self.locate = locate; self.side = side; self.kind = kind; self.price = price; self.quantity = quantity
        self.owner = owner; self.tag = tag; self.attribution = attribution
    }

    /// Packs a 1-4 character MPID ("GSCO") for `attribution`, space padded; 0 if not printable ASCII.
    public static func mpid(_ text: String) -> UInt32 {
        let b = Array(text.utf8)
        guard (1...4).contains(b.count), b.allSatisfy({ $0 > 32 && $0 < 127 }) else { return 0 }
        var w: UInt32 = 0
        for i in 0..<4 { w |= UInt32(i < b.count ? b[i] : 32) << (8 * UInt32(i)) }
        return w
    }
}

/// Events of the matching engine, one call per state change, in the order they happen.
/// Every call carries the venue's order ids; `tag` is the caller's token given at entry.
/// Implement as a struct and pass it as the Venue's generic parameter: calls are specialised.
/// A sink must not call back into the venue (it runs in the middle of a match); queue follow-ups instead.
public protocol VenueEventSink {
    /// The order passed every check and entered the book's matching. `ref` is its day-unique
    /// order reference: the one its ITCH Add Order carries if it comes to rest (as NASDAQ, every
    /// accepted order takes one, so an order filled on entry leaves a hole in the ITCH refs).
    mutating func accepted(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, _ o: NewOrder)
    /// Nothing happened; `order` is .none for a new order, the order's id for a cancel/replace.
    mutating func rejected(session: SessionID, tag: UInt64, order: OrderID, reason: RejectReason)
    /// One trade: `passive` was resting, `aggressor` arrived (or was replaced into a cross).
    mutating func executed(_ e: Execution)
    /// `quantity` shares of the order were canceled (its whole remainder: the order is gone).
    mutating func canceled(_ order: OrderID, session: SessionID, tag: UInt64, quantity: UInt32, reason: CancelReason)
    /// A replace took effect; `priorityKept` is true when it stayed in place (same price, size not
    /// increased: same `ref`), otherwise the order took the new `ref` its ITCH Replace carries.
    mutating func replaced(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, price: UInt32, quantity: UInt32, priorityKept: Bool)
}

public struct Execution: Sendable {
    public var locate: Locate
    public var price: UInt32
    public var quantity: UInt32
    public var matchNumber: UInt64
    /// Side of the aggressor.
    public var aggressorSide: Side
    public var passive: OrderID
    public var passiveSession: SessionID
    public var passiveTag: UInt64
    /// Shares the passive order still has open after this trade (0: gone).
    public var passiveLeaves: UInt32
    public var aggressor: OrderID
    public var aggressorSession: SessionID
    public var aggressorTag: UInt64
    public var aggressorLeaves: UInt32
    @inlinable public init(locate: Locate, price: UInt32, quantity: UInt32, matchNumber: UInt64, aggressorSide: Side,
                           passive: OrderID, passiveSession: SessionID, passiveTag: UInt64, passiveLeaves: UInt32,
                           aggressor: OrderID, aggressorSession: SessionID, aggressorTag: UInt64, aggressorLeaves: UInt32) {
        self.locate = locate; self.price = price; self.quantity = quantity; self.matchNumber = matchNumber
        self.aggressorSide = aggressorSide; self.passive = passive; self.passiveSession = passiveSession
        self.passiveTag = passiveTag; self.passiveLeaves = passiveLeaves; self.aggressor = aggressor
        self.aggressorSession = aggressorSession; self.aggressorTag = aggressorTag; self.aggressorLeaves = aggressorLeaves
    }
}

/// Takes every emitted ITCH 5.0 message (unframed, `length` bytes at `m`).
public protocol ITCHSink {
    mutating func itch(_ m: UnsafePointer<UInt8>, _ length: Int)
}

/// An event sink that ignores everything.
public struct NoVenueEvents: VenueEventSink {
    public init() {}
    @inlinable public mutating func accepted(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, _ o: NewOrder) {}
    @inlinable public mutating func rejected(session: SessionID, tag: UInt64, order: OrderID, reason: RejectReason) {}
    @inlinable public mutating func executed(_ e: Execution) {}
    @inlinable public mutating func canceled(_ order: OrderID, session: SessionID, tag: UInt64, quantity: UInt32, reason: CancelReason) {}
    @inlinable public mutating func replaced(_ order: OrderID, session: SessionID, tag: UInt64, ref: UInt64, price: UInt32, quantity: UInt32, priorityKept: Bool) {}
}

/// One instrument the venue lists.
public struct InstrumentSpec: Sendable {
    public var locate: Locate
    public var symbol: Symbol
    /// Reference price (ITCH units): the price band is centred on it.
    public var referencePrice: UInt32
    public var tick: UInt32
    public var lot: UInt32
    /// Band half-width in basis points of the reference price (1000 = ±10 %).
    public var bandBasisPoints: UInt32
    /// Largest quantity one order (new or replaced) may have; OUCH 4.2 allows fewer than 1,000,000 shares.
    public var maxOrderShares: UInt32
    /// Largest price × quantity of one order, in ITCH price units × shares (10^11 = $10,000,000).
    public var maxOrderValue: UInt64
    public init(locate: Locate, symbol: Symbol, referencePrice: UInt32, tick: UInt32 = 100, lot: UInt32 = 1, bandBasisPoints: UInt32 = 1000,
                maxOrderShares: UInt32 = 999_999, maxOrderValue: UInt64 = 100_000_000_000) {
        self.locate = locate; self.symbol = symbol; self.referencePrice = referencePrice
        self.tick = tick; self.lot = lot; self.bandBasisPoints = bandBasisPoints
        self.maxOrderShares = maxOrderShares; self.maxOrderValue = maxOrderValue
    }

    /// Lowest and highest accepted prices (tick aligned, inside the band and UInt32) and the
    /// number of ladder levels between them, which is the book's memory (`PriceLevel` each).
    public var ladder: (low: UInt32, high: UInt32, levels: UInt64) {
        let tick = UInt64(max(self.tick, 1))
        let ref = UInt64(referencePrice), band = ref * UInt64(bandBasisPoints) / 10_000
        let lowRaw = ref > band ? ref - band : tick
        let lo = max((lowRaw + tick - 1) / tick * tick, tick)
        let hi = max(min((ref + band) / tick * tick, UInt64(UInt32.max) / tick * tick), lo)
        return (UInt32(lo), UInt32(hi), (hi - lo) / tick + 1)
    }

    /// AAPL 200.00, MSFT 400.00, SPY 500.00, NVDA 120.00, TSLA 250.00, QQQ 450.00, AMZN 180.00, META 500.00:
    /// tick 0.01, lot 1, band ±10 %, locates 1... in that order.
    public static let defaults: [InstrumentSpec] = {
        let list: [(String, UInt32)] = [("AAPL", 200), ("MSFT", 400), ("SPY", 500), ("NVDA", 120), ("TSLA", 250),
                                        ("QQQ", 450), ("AMZN", 180), ("META", 500)]
        return list.enumerated().map { i, e in
            InstrumentSpec(locate: Locate(i + 1), symbol: Symbol(e.0)!, referencePrice: e.1 * 10_000)
        }
    }()
}

public struct VenueConfig: Sendable {
    /// Order pool size, all instruments together (resting orders plus the one being matched).
    public var maxOrders: Int
    public var maxSessions: Int
    public var selfMatch: SelfMatchMode
    /// Token bucket per session on new orders and replaces: refill rate (0 disables) and burst.
    public var ordersPerSecond: UInt64
    public var burst: UInt64
    /// One session exempt from the token bucket (the venue's own `OrderFlowGenerator`); -1: none.
    public var unlimitedSession: Int
    public init(maxOrders: Int = 1 << 20, maxSessions: Int = 64, selfMatch: SelfMatchMode = .cancelNewest,
                ordersPerSecond: UInt64 = 0, burst: UInt64 = 100, unlimitedSession: Int = -1) {
        self.maxOrders = maxOrders; self.maxSessions = maxSessions; self.selfMatch = selfMatch
        self.ordersPerSecond = ordersPerSecond; self.burst = burst; self.unlimitedSession = unlimitedSession
    }
}

/// One price level as the venue holds it.
public struct VenueLevel: Equatable, Sendable {
    public var price: UInt32
    public var shares: UInt64
    public var orders: UInt32
    public init(price: UInt32, shares: UInt64, orders: UInt32) { self.price = price; self.shares = shares; self.orders = orders }
}
