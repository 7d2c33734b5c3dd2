import OmniLab
import OmniWire
import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import FeedTestSupport
import SharedTestData
import Testing

func counts(_ r: ITCHReplay) -> [Character: UInt64] {
    var out: [Character: UInt64] = [:]
    for t in 0..<256 where r.counts.byType[t] > 0 { out[Character(Unicode.Scalar(UInt8(t)))] = r.counts.byType[t] }
    return out
}

@Suite("Real NASDAQ ITCH 5.0 fixtures (2019-12-30)", .enabled(if: RealData.present, RealData.skipReason))
struct RealDataTests {
    // Counts as stated in the fixtures' PROVENANCE.md.
    @Test func first1000MatchesProvenance() throws {
        let (r, rows) = try replay(RealData.path("12302019_first1000.NASDAQ_ITCH50"))
        #expect(counts(r) == ["S": 1, "R": 993, "H": 3, "Y": 3])
        #expect(r.counts.malformed == 0 && r.counts.truncatedAt == nil && rows.isEmpty)
        #expect(r.directory.count == 993)
        #expect(r.directory.locate(of: Symbol("AAPL")!) == 13 && r.directory[13] == Symbol("AAPL"))
        #expect(r.systemEvents.first?.1 == UInt8(ascii: "O"))
        #expect(r.systemEvents.first?.0.description == "03:04:32.057543747")
    }

    @Test func openingCrossMatchesProvenance() throws {
        let (r, _) = try replay(RealData.path("12302019_open0930_1000msgs.NASDAQ_ITCH50"))
        #expect(counts(r) == ["A": 367, "U": 225, "F": 193, "D": 167, "E": 28, "X": 6, "I": 4, "P": 4, "Q": 4, "S": 1, "C": 1])
        #expect(r.counts.malformed == 0)
        // 394 E/C/X/D/U name orders added before the slice; 5 more name the new refs of those orders' replaces.
        #expect(r.books.stats.unknown_ref == 399)
        #expect(r.systemEvents.map(\.1) == [UInt8(ascii: "Q")])
    }

    @Test func preMarketOrderFlowMatchesProvenance() throws {
        let (r, rows) = try replay(RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50"))
        #expect(counts(r) == ["A": 495, "D": 4, "U": 1])
        #expect(r.books.stats.unknown_ref == 0)    // self-contained: every D/U names an add in the file
        #expect(r.books.liveOrders == 491)         // 495 adds - 4 deletes (the U swaps one order for another)
        #expect(rows.count == 307)                  // the count meatpy and itch-book agree on (Tests/Peers)
        #expect(r.books.locates.allSatisfy { !r.books.book($0).bbo.isCrossed })
    }

    @Test func gzipInputReplaysLikeThePlainFile() throws {
        let plain = RealData.path("12302019_open0930_1000msgs.NASDAQ_ITCH50")
        let gz = TestScratch.path("test.itch.gz")
        defer { try? FileManager.default.removeItem(atPath: gz) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(plain)' > '\(gz)'"]
        try p.run(); p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(try replay(gz).1 == replay(plain).1)
    }

    @Test func truncatedFileStopsAtTheBrokenRecordAndSaysWhere() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50")))
        let cut = data.prefix(data.count - 10)
        let r = ITCHReplay(books: try Books())
        var sink = NoBBOSink()
        cut.withUnsafeBytes { r.runDayFile($0, into: &sink) }
        #expect(r.counts.messages == 499 && r.counts.truncatedAt == data.count - 38)  // the last record is a 36-byte A
    }

    @Test func malformedRecordMidFileIsCountedAndSkipped() throws {
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50"))))
        data[2] = UInt8(ascii: "Z")  // the first record's type: no such ITCH type
        let r = ITCHReplay(books: try Books())
        var sink = NoBBOSink()
        data.withUnsafeBytes { r.runDayFile($0, into: &sink) }
        #expect(r.counts.malformed == 1 && r.counts.messages == 499)
    }

    @Test func symbolFilterBuildsOnlyTheNamedBooks() throws {
        // The directory comes first in the day, then order flow: join them as the day has them.
        let joined = try Data(contentsOf: URL(fileURLWithPath: RealData.path("12302019_first1000.NASDAQ_ITCH50")))
            + Data(contentsOf: URL(fileURLWithPath: RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50")))
        let r = ITCHReplay(books: try Books())
        let asml = Symbol("ASML")!  // locate 547: 6 adds in the 04:00 flow
        r.restrict(to: [asml, Symbol("NOSUCH")!])
        var sink = RowSink()
        joined.withUnsafeBytes { r.runDayFile($0, into: &sink) }
        let locate = try #require(r.directory.locate(of: asml))
        #expect(locate == 547 && r.books.locates == [locate] && r.books.book(locate).orders == 6)
        #expect(sink.rows.allSatisfy { $0.hasPrefix("\(locate),") })
        #expect(r.missingSymbols == [Symbol("NOSUCH")!])
    }
}
