import CBook
import OmniBook
import Testing

@Suite("Books' memory, as a run reports it")
struct BookMemoryReportTests {
    @Test("the report names each region's size and kind, and nothing from the heap while the pools hold")
    func reportNamesRegionsAndKinds() throws {
        let books = try Books(memory: BookMemory(orderPages: 4, levelBytes: 1 << 20, hugepages: false))
        let r = books.memoryReport
        #expect(r.hasPrefix("books ") && r.contains("order pages 0.3 MiB") && r.contains("levels 1.0 MiB"), "\(r)")
        #expect(["numa", "pages"].contains { r.contains("levels 1.0 MiB \($0)") }, "4 KiB pages asked for: \(r)")
        #expect(!r.contains("heap"))
        #expect(books.memoryBytes == UInt64(books.kernel.pointee.books_mem.size + books.kernel.pointee.page_pool.size + books.kernel.pointee.level_pool.size))
    }

    @Test("hugepages: hugetlb where the pool has pages, else transparent huge pages")
    func hugepagesReportTheirKind() throws {
        let books = try Books(memory: BookMemory(orderPages: 1, levelBytes: 1 << 20))
        let kind = String(cString: csys_mem_kind_name(books.kernel.pointee.level_pool.kind))
        #expect(kind == "hugetlb" || kind == "thp")
        #expect(books.memoryReport.contains("levels 2.0 MiB \(kind)"), "a 2 MiB page: \(books.memoryReport)")
    }

    @Test("sized for a run: level room from the instrument count, never under 1 MiB")
    func sizedFromInstruments() {
        #expect(BookMemory.sized(instruments: 1_000).levelBytes == 1_000 * 2 * 256 * 20 * 2)
        #expect(BookMemory.sized(instruments: 1).levelBytes == 1 << 20)
    }
}
