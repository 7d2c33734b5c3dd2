import CBook
import CWire
import OmniBook
import OmniCore
import Testing

/// Encodes ITCH order messages and applies them, returning what the book reported.
final class Feed {
    let books: Books
    var buf = [UInt8](repeating: 0, count: 64)
    let stock = Array("TEST    ".utf8).map { CChar($0) }
    init(simd: cbook_simd? = nil, memory: BookMemory = BookMemory()) throws {
        books = try Books(memory: memory)
        if let simd { cbook_set_simd(books.kernel, simd) }
    }

    @discardableResult func apply(_ n: Int) -> Locate? {
        buf.withUnsafeBufferPointer { books.apply($0.baseAddress!, length: UInt16(n)) }
    }
    @discardableResult func add(_ ref: UInt64, _ side: Character, _ shares: UInt32, _ price: UInt32, locate: UInt16 = 1) -> Locate? {
        apply(buf.withUnsafeMutableBufferPointer { cw_itch_put_add($0.baseAddress, $0.count, locate, 0, ref, CChar(side.asciiValue!), shares, stock, price) })
    }
    @discardableResult func execute(_ ref: UInt64, _ shares: UInt32, locate: UInt16 = 1) -> Locate? {
        apply(buf.withUnsafeMutableBufferPointer { cw_itch_put_executed($0.baseAddress, $0.count, locate, 0, ref, shares, 1) })
    }
    @discardableResult func executeAtPrice(_ ref: UInt64, _ shares: UInt32, _ price: UInt32, locate: UInt16 = 1) -> Locate? {
        apply(buf.withUnsafeMutableBufferPointer { cw_itch_put_executed_price($0.baseAddress, $0.count, locate, 0, ref, shares, 1, CChar(UInt8(ascii: "Y")), price) })
    }
    @discardableResult func cancel(_ ref: UInt64, _ shares: UInt32, locate: UInt16 = 1) -> Locate? {
        apply(buf.withUnsafeMutableBufferPointer { cw_itch_put_cancel($0.baseAddress, $0.count, locate, 0, ref, shares) })
    }
    @discardableResult func delete(_ ref: UInt64, locate: UInt16 = 1) -> Locate? {
        apply(buf.withUnsafeMutableBufferPointer { cw_itch_put_delete($0.baseAddress, $0.count, locate, 0, ref) })
    }
    @discardableResult func replace(_ ref: UInt64, _ newRef: UInt64, _ shares: UInt32, _ price: UInt32, locate: UInt16 = 1) -> Locate? {
        apply(buf.withUnsafeMutableBufferPointer { cw_itch_put_replace($0.baseAddress, $0.count, locate, 0, ref, newRef, shares, price) })
    }
    var bbo: BBO { books.book(1).bbo }
    func q(_ bp: Int64, _ bs: UInt64, _ ap: Int64, _ asz: UInt64) -> BBO {
        BBO(bidPrice: Price(raw: bp), bidSize: bs, askPrice: Price(raw: ap), askSize: asz)
    }
}

@Suite("L3 order book operations")
struct OrderBookTests {
    @Test func addsBuildLevelsAndTheBBO() throws {
        let f = try Feed()
        #expect(f.add(1, "B", 100, 100_000) == 1)
        #expect(f.add(2, "B", 200, 100_000) == 1)          // same level: size changes
        #expect(f.add(3, "B", 50, 99_900) == nil)          // below the best bid: BBO unchanged
        #expect(f.add(4, "S", 300, 100_100) == 1)
        #expect(f.bbo == f.q(100_000, 300, 100_100, 300))
        let d = f.books.book(1).depth(5)
        #expect(d.bids == [DepthLevel(price: Price(raw: 100_000), shares: 300, orders: 2), DepthLevel(price: Price(raw: 99_900), shares: 50, orders: 1)])
        #expect(d.asks == [DepthLevel(price: Price(raw: 100_100), shares: 300, orders: 1)])
        #expect(f.books.liveOrders == 4 && f.books.book(1).orders == 4)
    }

    @Test func partialExecutesAndCancelsDownToZero() throws {
        let f = try Feed()
        f.add(1, "S", 500, 200_000)
        #expect(f.execute(1, 200) == 1)
        #expect(f.bbo == f.q(0, 0, 200_000, 300))
        #expect(f.cancel(1, 100) == 1)
        #expect(f.books.order(1)?.shares == 200)
        // C reduces the resting order at its own price; its price field is the print.
        #expect(f.executeAtPrice(1, 150, 199_000) == 1)
        #expect(f.bbo == f.q(0, 0, 200_000, 50))
        #expect(f.execute(1, 50) == 1)                     // to zero: the order and its level leave
        #expect(f.books.order(1) == nil && f.bbo == .empty && f.books.liveOrders == 0)
        f.add(2, "S", 10, 200_000)
        #expect(f.cancel(2, 10) == 1 && f.books.order(2) == nil && f.books.book(1).levels(.ask) == 0)
    }

    @Test func overExecutionRemovesTheOrderAndIsCounted() throws {
        let f = try Feed()
        f.add(1, "B", 100, 100_000)
        f.execute(1, 150)
        #expect(f.books.order(1) == nil && f.books.stats.over_execution == 1 && f.bbo == .empty)
    }

    @Test func deleteAtAndBelowTheTouch() throws {
        let f = try Feed()
        f.add(1, "B", 100, 100_000)
        f.add(2, "B", 100, 99_000)
        #expect(f.delete(2) == nil)                        // not the best level
        #expect(f.delete(1) == 1 && f.bbo == .empty)
        #expect(f.books.stats.deletes == 2)
    }

    @Test func replaceKeepsSideTakesNewRefAndLosesPriority() throws {
        let f = try Feed()
        f.add(1, "S", 100, 50_000)
        f.add(2, "S", 100, 50_000)
        let before = try #require(f.books.order(1)).arrival
        #expect(f.replace(1, 10, 100, 50_000) == nil)      // same price and size: BBO unchanged
        #expect(f.books.order(1) == nil)
        let replaced = try #require(f.books.order(10))
        #expect(replaced.side == .ask && replaced.locate == 1 && replaced.price == Price(raw: 50_000))
        #expect(replaced.arrival > before && replaced.arrival > f.books.order(2)!.arrival)  // now behind order 2
        #expect(f.replace(10, 11, 300, 49_900) == 1)       // better price: new best offer
        #expect(f.bbo == f.q(0, 0, 49_900, 300))
        #expect(f.books.order(11)?.side == .ask)
    }

    @Test func unknownRefsAreCountedAndIgnored() throws {
        let f = try Feed()
        f.add(1, "B", 100, 100_000)
        #expect(f.execute(99, 10) == nil && f.cancel(99, 10) == nil && f.delete(99) == nil && f.replace(99, 100, 5, 1) == nil)
        #expect(f.books.stats.unknown_ref == 4 && f.books.order(100) == nil && f.bbo == f.q(100_000, 100, 0, 0))
        f.delete(1)
        #expect(f.delete(1) == nil && f.books.stats.unknown_ref == 5)  // a second delete of the same ref
    }

    @Test func refusedAddsAreCounted() throws {
        let f = try Feed()
        f.add(1, "B", 100, 100_000)
        f.add(1, "B", 100, 100_100)                        // ref already live
        f.add(2, "X", 100, 100_000)                        // side neither B nor S
        f.add(3, "B", 0, 100_000)                          // no shares
        f.add(4, "B", 100, 0)                              // no price
        f.add(5, "B", 100, 0x8000_0000)                    // beyond any ITCH price
        f.add(1 << 40, "B", 100, 100_000)                  // ref beyond the store's range
        let s = f.books.stats
        #expect(s.duplicate_ref == 1 && s.bad_side == 1 && s.bad_shares == 1 && s.bad_price == 2 && s.ref_out_of_range == 1)
        #expect(f.books.liveOrders == 1 && f.bbo == f.q(100_000, 100, 0, 0))
    }

    @Test func malformedLengthsAreCountedNotRead() throws {
        let f = try Feed()
        let n = f.buf.withUnsafeMutableBufferPointer { cw_itch_put_add($0.baseAddress, $0.count, 1, 0, 1, CChar(UInt8(ascii: "B")), 1, f.stock, 1) }
        #expect(f.apply(n - 1) == nil && f.apply(0) == nil)
        #expect(f.books.stats.malformed == 2 && f.books.liveOrders == 0)
    }

    @Test func crossedBookIsVisible() throws {
        let f = try Feed()
        f.add(1, "B", 100, 100_100)
        f.add(2, "S", 100, 100_000)
        #expect(f.bbo.isCrossed)
    }

    @Test func booksAreKeptPerLocate() throws {
        let f = try Feed()
        f.add(1, "B", 100, 100_000, locate: 1)
        f.add(2, "B", 100, 200_000, locate: 2)
        // E/X/D/U find the order's own book through its ref.
        #expect(f.delete(2, locate: 2) == 2)
        #expect(f.books.book(1).bbo.bidSize == 100 && f.books.book(2).bbo == .empty && f.books.locates == [1, 2])
    }

    @Test func filterKeepsOnlyIncludedLocates() throws {
        let f = try Feed()
        f.books.enableFilter()
        f.books.include(2)
        f.add(1, "B", 100, 100_000, locate: 1)
        f.add(2, "B", 100, 100_000, locate: 2)
        #expect(f.books.stats.filtered == 1 && f.books.liveOrders == 1 && f.books.order(2) != nil)
    }

    /// Random flow over deep books (well past 16 levels a side), applied with each SIMD
    /// level the CPU offers: every level search must find the same levels.
    @Test(arguments: [CBOOK_SIMD_SCALAR, CBOOK_SIMD_AVX2, CBOOK_SIMD_AVX512])
    func deepBooksAgreeAcrossSIMDLevels(_ simd: cbook_simd) throws {
        let ref = try Feed(simd: CBOOK_SIMD_SCALAR), f = try Feed(simd: simd)
        var rng: UInt64 = 0x9E37_79B9
        func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        var live: [UInt64] = []
        var nextRef: UInt64 = 1
        for _ in 0..<20_000 {
            let r = next() % 10
            if r < 6 || live.isEmpty {
                let bid = next() & 1 == 0
                let price = UInt32(bid ? 100_000 - 100 * (next() % 80) : 100_100 + 100 * (next() % 80))
                let shares = UInt32(1 + next() % 500)
                #expect(ref.add(nextRef, bid ? "B" : "S", shares, price) == f.add(nextRef, bid ? "B" : "S", shares, price))
                live.append(nextRef); nextRef += 1
            } else {
                let i = Int(next() % UInt64(live.count))
                #expect(ref.delete(live[i]) == f.delete(live[i]))
                live.swapAt(i, live.count - 1); live.removeLast()
            }
        }
        #expect(ref.books.book(1).levels(.bid) > 40)
        #expect(ref.books.book(1).depth(200) == f.books.book(1).depth(200))
        #expect(ref.bbo == f.bbo)
    }
}
