import CBook
import CEvent
import CSys
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

    /// Takes the books, the order-page pool and the level pool from CSys at once; fails only
    /// when that memory (or the order store's address space) cannot be had.
    public init(memory: BookMemory = BookMemory()) throws {
        var m = memory.kernel
        guard let s = cbook_set_create(&m) else { throw BookError.outOfMemory }
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

    /// Where the memory came from, for a run's start line: each region's size and kind
    /// (hugetlb, thp, numa, pages), and what the pools could not give (heap, counted).
    public var memoryReport: String {
        let k = kernel.pointee
        func region(_ r: csys_region) -> String { "\(mib(r.size)) \(String(cString: csys_mem_kind_name(r.kind)))" }
        var s = "books \(region(k.books_mem)), order pages \(region(k.page_pool)), levels \(region(k.level_pool))"
        if k.pages_from_heap > 0 || k.level_blocks_from_heap > 0 {
            s += "; beyond the pools, from the heap: \(k.pages_from_heap) order pages, \(k.level_blocks_from_heap) level arrays"
        }
        return s
    }

    public func order(_ ref: UInt64) -> RestingOrder? {
        var o = cbook_order()
        guard cbook_find_order(kernel, ref, &o) != 0 else { return nil }
        return RestingOrder(locate: o.locate, side: o.side == 0 ? .bid : .ask, price: Price(itch: o.price), shares: Quantity(o.shares), arrival: o.arrival)
    }
}

/// What `Books` takes at start (CBook's cbook_memory): sized from the configuration, so that a
/// day's orders and levels fit without the hot path asking the heap.
public struct BookMemory: Sendable, Equatable {
    /// Order-store pages in the pool, each 4,096 order slots (64 KiB).
    public var orderPages: Int
    /// Bytes for price-level arrays (20 bytes a level).
    public var levelBytes: Int
    /// NUMA node, -1 for the calling thread's.
    public var node: Int
    /// Hugepages (hugetlb where reserved, else THP) rather than NUMA-local 4 KiB pages.
    public var hugepages: Bool

    public init(orderPages: Int = 64, levelBytes: Int = 4 << 20, node: Int = -1, hugepages: Bool = true) {
        self.orderPages = orderPages; self.levelBytes = levelBytes; self.node = node; self.hugepages = hugepages
    }

    /// Level room for `instruments` books of `levelsPerSide` levels a side (arrays come in powers
    /// of two and a grown array leaves its old block for reuse: twice the bytes), and `orderPages`.
    public static func sized(instruments: Int, levelsPerSide: Int = 256, orderPages: Int = 64) -> BookMemory {
        BookMemory(orderPages: orderPages, levelBytes: max(1 << 20, instruments * 2 * levelsPerSide * 20 * 2))
    }

    var kernel: cbook_memory {
        cbook_memory(order_pages: UInt32(clamping: orderPages), level_bytes: UInt64(max(0, levelBytes)), node: Int32(clamping: node), hugepages: hugepages ? 1 : 0)
    }
}

func mib(_ bytes: Int) -> String {
    let tenths = (bytes * 10 + (1 << 19)) >> 20
    return "\(tenths / 10).\(tenths % 10) MiB"
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
