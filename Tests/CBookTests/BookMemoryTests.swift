import CBook
import OmniBook
import OmniCore
import Testing

/// CBook's memory comes from CSys at start: the books, a pool of order pages, a pool of level
/// arrays. What a pool cannot give comes from the heap, counted, and nothing is dropped.
@Suite("CBook memory pools")
struct BookMemoryTests {
    @Test("order pages beyond the pool come from the heap, counted; no order is lost; freed pages are reused")
    func orderPagesBeyondThePool() throws {
        let f = try Feed(memory: BookMemory(orderPages: 2, levelBytes: 1 << 20))
        let k = f.books.kernel
        #expect(k.pointee.pages_allocated == 2 && k.pointee.pages_from_heap == 0)
        let refs: [UInt64] = [1, 4_096 + 1, 8_192 + 1] // three pages of the ref space
        for (i, r) in refs.enumerated() { f.add(r, "B", 100, 1_000_000 + UInt32(i) * 100) }
        #expect(k.pointee.pages_from_heap == 1 && k.pointee.pages_allocated == 3 && k.pointee.pages_in_use == 3)
        #expect(refs.allSatisfy { f.books.order($0) != nil } && f.books.stats.out_of_memory == 0)
        #expect(f.bbo == f.q(1_000_200, 100, 0, 0))
        for r in refs { f.delete(r) }
        #expect(k.pointee.pages_in_use == 0)
        for (i, r) in refs.enumerated() { f.add(r + 3 * 4_096, "S", 10, 2_000_000 + UInt32(i)) }
        #expect(k.pointee.pages_from_heap == 1 && k.pointee.pages_allocated == 3, "the freed pages serve again")
        #expect(f.bbo == f.q(0, 0, 2_000_000, 10))
    }

    @Test("level arrays grow inside the level pool, and a grown side's old array serves the next book")
    func levelArraysRecycleInThePool() throws {
        let f = try Feed(memory: BookMemory(orderPages: 1, levelBytes: 64 << 10))
        let k = f.books.kernel
        for i in 0..<33 { f.add(UInt64(i + 1), "B", 100, 1_000_000 + UInt32(i) * 100) } // 32 levels, then a 33rd: the array doubles
        #expect(k.pointee.level_pool_used == 32 * 20 + 64 * 20)
        f.add(100, "B", 5, 500_000, locate: 2) // a new book takes the 32-level array the first one left
        #expect(k.pointee.level_pool_used == 32 * 20 + 64 * 20 && k.pointee.level_blocks_from_heap == 0)
        #expect(f.books.book(1).levels(.bid) == 33 && f.books.book(2).levels(.bid) == 1)
        #expect(f.bbo == f.q(1_003_200, 100, 0, 0) && f.books.book(2).bbo.bidPrice == Price(itch: 500_000))
    }

    @Test("a level pool too small for a deep book: the book goes on from the heap with every level kept")
    func deepBookBeyondTheLevelPool() throws {
        let f = try Feed(memory: BookMemory(orderPages: 1, levelBytes: 1_000, hugepages: false)) // one 4 KiB page: the 32- and 64-level arrays
        let k = f.books.kernel
        for i in 0..<1_000 { f.add(UInt64(i + 1), "S", UInt32(i + 1), 1_000_000 + UInt32(i) * 100) }
        #expect(k.pointee.level_pool.size == 4_096 && k.pointee.level_blocks_from_heap == 4, "128, 256, 512 and 1,024 levels from the heap")
        #expect(f.books.book(1).levels(.ask) == 1_000 && f.books.stats.out_of_memory == 0)
        let top = f.books.book(1).depth(3).asks
        #expect(top.map(\.price) == [1_000_000, 1_000_100, 1_000_200].map { Price(itch: $0) } && top.map(\.shares) == [1, 2, 3])
        #expect(f.books.memoryReport.contains("from the heap: 0 order pages, 4 level arrays"))
    }

    @Test("empty pools: every page and array from the heap, the book exact")
    func noPools() throws {
        let f = try Feed(memory: BookMemory(orderPages: 0, levelBytes: 0, hugepages: false))
        f.add(7, "B", 300, 1_234_500)
        f.execute(7, 100)
        #expect(f.bbo == f.q(1_234_500, 200, 0, 0))
        #expect(f.books.kernel.pointee.pages_from_heap == 1 && f.books.kernel.pointee.level_blocks_from_heap == 1)
    }
}
