import CBook
import CEvent
import OmniCore

/// Best bid and offer of one instrument. An empty side reads price 0, size 0.
public struct BBO: Equatable, Sendable {
    public var bidPrice: Price
    public var bidSize: Quantity
    public var askPrice: Price
    public var askSize: Quantity

    public static let empty = BBO(bidPrice: Price(raw: 0), bidSize: 0, askPrice: Price(raw: 0), askSize: 0)

    public init(bidPrice: Price, bidSize: Quantity, askPrice: Price, askSize: Quantity) {
        self.bidPrice = bidPrice; self.bidSize = bidSize; self.askPrice = askPrice; self.askSize = askSize
    }

    /// From CBook's record, which is the event ABI's omni_bbo (what an OMNI_EV_BBO event carries).
    @inlinable public init(_ q: omni_bbo) {
        bidPrice = Price(itch: q.bid_px); bidSize = q.bid_sz
        askPrice = Price(itch: q.ask_px); askSize = q.ask_sz
    }

    /// Both sides quoted and the bid at or above the offer.
    public var isCrossed: Bool { bidSize > 0 && askSize > 0 && bidPrice >= askPrice }
}

/// One price level: aggregate shares and order count.
public struct DepthLevel: Equatable, Sendable {
    public var price: Price
    public var shares: Quantity
    public var orders: UInt32
    public init(price: Price, shares: Quantity, orders: UInt32) { self.price = price; self.shares = shares; self.orders = orders }
}

/// Depth snapshot: levels best first on each side.
public struct DepthSnapshot: Equatable, Sendable {
    public var bids: [DepthLevel]
    public var asks: [DepthLevel]
}

/// Full-depth L3 books for every instrument of one feed, keyed by stock locate.
/// Owns the C kernel's state; `apply` is the hot path and allocates nothing once warm.
public final class Books {
    public let kernel: UnsafeMutablePointer<cbook_set>
    /// The feed behind these books lost messages it could not recover (or skipped them):
    /// the books may be wrong and must not be quoted on until it clears.
    public var stale = false

    /// Fails only when the order store's address space cannot be reserved.
    public init() throws {
        guard let s = cbook_set_create() else { throw BookError.outOfMemory }
        kernel = s
    }

    deinit { cbook_set_destroy(kernel) }

    /// Applies one ITCH message (any type; only order messages change books).
    /// Returns the locate whose BBO changed, or nil.
    @inlinable @inline(__always)
    public func apply(_ message: UnsafePointer<UInt8>, length: UInt16) -> Locate? {
        let r = cbook_apply(kernel, message, length)
        return r < 0 ? nil : Locate(truncatingIfNeeded: r)
    }

    /// From now on keeps books only for locates passed to `include`; order messages for others are counted as filtered.
    public func enableFilter() { _ = cbook_filter_enable(kernel) }
    public func include(_ locate: Locate) { _ = cbook_filter_add(kernel, locate) }

    public func book(_ locate: Locate) -> OrderBook { OrderBook(books: self, locate: locate) }

    /// Locates that have seen at least one order.
    public var locates: [Locate] { (0...Int(UInt16.max)).compactMap { cbook_has_book(kernel, UInt16($0)) != 0 ? UInt16($0) : nil } }

    public var stats: cbook_stats { kernel.pointee.stats }
    public var liveOrders: UInt64 { kernel.pointee.live_orders }
    /// Bytes held for order state and price levels.
    public var memoryBytes: UInt64 { cbook_memory_bytes(kernel) }
    public var simd: String { String(cString: cbook_simd_name(kernel.pointee.simd)) }

    public func order(_ ref: UInt64) -> RestingOrder? {
        var o = cbook_order()
        guard cbook_find_order(kernel, ref, &o) != 0 else { return nil }
        return RestingOrder(locate: o.locate, side: o.side == 0 ? .bid : .ask, price: Price(itch: o.price), shares: Quantity(o.shares), arrival: o.arrival)
    }
}

public enum BookError: Error, CustomStringConvertible {
    case outOfMemory
    public var description: String { "could not reserve memory for the order store" }
}

/// A live order as the store holds it.
public struct RestingOrder: Equatable, Sendable {
    public var locate: Locate
    public var side: Side
    public var price: Price
    public var shares: Quantity
    /// Feed-wide arrival stamp: among orders at one price level, lower is ahead in time priority.
    public var arrival: UInt32
}

/// One instrument's book: a view into `Books`.
public struct OrderBook {
    public let books: Books
    public let locate: Locate

    public var bbo: BBO { BBO(cbook_get_bbo(books.kernel, locate)) }
    public var orders: UInt64 { cbook_book_orders(books.kernel, locate) }
    public func levels(_ side: Side) -> Int { Int(cbook_level_count(books.kernel, locate, Int32(side.rawValue))) }

    /// Up to `n` levels per side, best first.
    public func depth(_ n: Int) -> DepthSnapshot {
        DepthSnapshot(bids: side(.bid, n), asks: side(.ask, n))
    }

    private func side(_ side: Side, _ n: Int) -> [DepthLevel] {
        let want = min(n, levels(side))
        guard want > 0 else { return [] }
        var px = [UInt32](repeating: 0, count: want), qty = [UInt64](repeating: 0, count: want), cnt = [UInt32](repeating: 0, count: want)
        let got = Int(cbook_depth(books.kernel, locate, Int32(side.rawValue), UInt32(want), &px, &qty, &cnt))
        return (0..<got).map { DepthLevel(price: Price(itch: px[$0]), shares: qty[$0], orders: cnt[$0]) }
    }
}
