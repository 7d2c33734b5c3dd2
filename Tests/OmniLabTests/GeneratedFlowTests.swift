import FeedTestSupport
import OmniBook
import OmniCore
import OmniFeed
import OmniLab
import SharedTestData
import Testing

/// OmniLab's generated flows: the synthetic day, and real flow replicated over many symbols.
@Suite("Generated flows")
struct GeneratedFlowTests {
    @Test func syntheticDayIsValidUncrossedAndRepeatable() throws {
        let day = try syntheticDay()
        #expect(day == (try syntheticDay()))
        #expect(day != (try syntheticDay(seed: 4)))
        let (r, rows) = try replayDay(day)
        #expect(r.counts.messages == 50_000 && r.counts.malformed == 0 && r.counts.truncatedAt == nil)
        let s = r.books.stats
        #expect(s.unknown_ref == 0 && s.duplicate_ref == 0 && s.over_execution == 0 && s.bad_price == 0)
        for t in "SRHAFECXDUP" { #expect(r.counts.byType[Int(t.asciiValue!)] > 0, "no \(t) messages") }
        #expect(r.books.locates.allSatisfy { !r.books.book($0).bbo.isCrossed })
        #expect(r.directory.count == 20 && r.directory[1]?.description == "SYN00001")
        #expect(r.systemEvents.map { Character(Unicode.Scalar($0.1)) } == ["O", "S", "Q", "M", "E", "C"])
        #expect(rows.count > 1000)
    }
}

@Suite("Replicated real flow", .enabled(if: RealData.present, RealData.skipReason))
struct ReplicatedFlowTests {
    /// `omni gen replicate --symbols 1000`: the file opens with a stock directory of exactly 1,000
    /// locates, one unique symbol each (copy 0 keeps the real name, copies add their number), and a
    /// replay of it knows every one and finds every order message's order.
    @Test func replicatedFlowOpensWithAStockDirectoryOfTheAskedSymbols() throws {
        let inputs = try ["12302019_first1000.NASDAQ_ITCH50", "12302019_0400_first500_orderflow.NASDAQ_ITCH50",
                          "12302019_open0930_1000msgs.NASDAQ_ITCH50"].map { try MappedInput(path: RealData.path($0)) }
        let path = TestScratch.directory("replicated") + "/flow.itch"
        let writer = try FileWriter(path: path)
        let summary = try withExtendedLifetime(inputs) {
            try FixtureFlow(sources: inputs.map(\.bytes), messages: 200_000, symbols: 1_000).write(to: writer)
        }
        #expect(summary.instruments.count == 1_000 && summary.instruments.map(\.locate) == Array(1...1_000))
        #expect(Set(summary.instruments.map(\.symbol)).count == 1_000, "one symbol per locate")
        let aapl = try #require(summary.instruments.first { $0.symbol == Symbol("AAPL")! })
        #expect(summary.instruments.contains { $0.symbol == Symbol("AAPL1")! && $0.firstPrice == aapl.firstPrice }, "copy 1 of AAPL")
        let (r, _) = try replay(path)
        #expect(r.counts.messages == 200_000 && r.counts.malformed == 0 && r.books.stats.unknown_ref == 0)
        for i in summary.instruments { #expect(r.directory.locate(of: i.symbol) == i.locate) }
    }
}
