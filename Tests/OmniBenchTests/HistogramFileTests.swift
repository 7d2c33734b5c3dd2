import Histogram
import OmniEngine
import SharedTestData
import Testing

/// A histogram written as HdrHistogram percentile text and read back (what `omni bench
/// tick-to-trade` does with the venue's files) keeps its count, and its percentiles agree with
/// the original's to the text's resolution (three significant digits).
@Suite struct HistogramFileTests {
    @Test func percentileTextReadsBackToTheSamePercentiles() throws {
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        var x: UInt64 = 12_345
        for _ in 0..<50_000 { x = (x &* 6_364_136_223_846_793_005 &+ 1) >> 1; _ = h.record(1_000 + x % 90_000) }
        _ = h.record(5_000_000, count: 7) // a tail
        let dir = TestScratch.directory("hgrm")
        let paths = try writeHistograms([LatencyCurve(name: "t", label: "t", color: "#000", dashed: false, histogram: h)], to: dir + "/x")
        let path = try #require(paths.first)
        let back = try #require(readHistogram(hgrm: path))
        #expect(back.totalCount == h.totalCount)
        for p in [50.0, 90, 99, 99.9, 100] {
            let a = Double(h.valueAtPercentile(p)), b = Double(back.valueAtPercentile(p))
            #expect(abs(a - b) <= a * 0.002, "p\(p): \(a) written, \(b) read back")
        }
        #expect(readHistogram(hgrm: dir + "/none.hgrm") == nil)
    }
}
