import OmniLab
import OmniBench
import CEvent
import CRing
import CSys
import Foundation
import OmniBook
import OmniCore
import OmniEngine
import OmniFeed
import FeedTestSupport
import SharedTestData
import Synchronization
import Testing

/// BBO events reaching the end of the chain, as rows like RowSink's; read after the pipeline stops.
final class BBOEventLog: @unchecked Sendable {
    var rows: [String] = []
    var events = 0
    var unstamped = 0
}

struct BBOEventSink: EventHandler, @unchecked Sendable {
    let log: BBOEventLog
    func handle(_ e: inout omni_event) -> Bool {
        log.events += 1
        if e.hop.0 == 0 || e.hop.1 == 0 { log.unstamped += 1 }
        if e.type == UInt8(OMNI_EV_BBO.rawValue) {
            log.rows.append("\(e.locate),\(e.bbo.bid_px),\(e.bbo.bid_sz),\(e.bbo.ask_px),\(e.bbo.ask_sz)")
        }
        return false
    }
}

/// Runs feed -> decode -> book -> sink over `path` with the stages placed by `cores`, one chain
/// fused and cut by the topology, and returns the sink's log and the feed counts.
func runFeedChain(_ path: String, cores: [Int]) throws -> (BBOEventLog, FeedStageCounts) {
    let names = ["feed", "decode", "book", "sink"]
    let t = try Topology(stages: zip(names, cores).map { StageSpec(name: $0, core: $1, wait: .backoff) },
                         rings: (0..<3).map { RingSpec(from: names[$0], to: names[$0 + 1], capacity: 256) },
                         onlineCores: max(Topology.onlineCores(), (cores.max() ?? 0) + 1))
    let w = try Wiring(t)
    let input = try MappedInput(path: path)
    let counts = FeedStageCounts()
    let log = BBOEventLog()
    let bytes = input.bytes
    let p = Pipeline()
    // One chain type for every placement: the topology fuses or cuts each link at bind.
    let groups = try p.add(itchChain(DayFileFeed(input: bytes, counts: counts), input: bytes,
                                     replay: ITCHReplay(books: try Books()), counts: counts, sink: BBOEventSink(log: log)), of: w)
    let expectedGroups = try t.chainGroups(names).map { $0.count > 1 ? "\($0.first!)..\($0.last!)" : $0[0] }
    #expect(groups.map(\.name) == expectedGroups)
    try p.start()
    #expect(p.waitForSources(timeoutNs: 120_000_000_000))
    p.stop()
    withExtendedLifetime(input) {}
    return (log, counts)
}

/// Placements to try: all on one core, split in two, one stage per core (unpinned cores beyond the machine's run unpinned).
let placements: [[Int]] = [[0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 2, 3]]

/// Threads on a machine that may have two cores: one test at a time, stages backing off when idle.
@Suite("ITCH through pinned stages: feed -> decode -> book -> sink", .serialized)
struct FeedStagesTests {
    @Test(.enabled(if: RealData.present, RealData.skipReason), arguments: placements)
    func realFlowGivesTheReplaysBBOStream(cores: [Int]) throws {
        let path = RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50")
        let (_, expected) = try replay(path)
        let (log, counts) = try runFeedChain(path, cores: cores)
        #expect(log.rows == expected)
        #expect(expected.count == 307)
        #expect(log.events == 500 && log.unstamped == 0)
        #expect(counts.malformed == 0 && !counts.truncated && counts.bboChanges == 307)
    }

    @Test(arguments: placements)
    func syntheticDayGivesTheReplaysBBOStream(cores: [Int]) throws {
        let path = TestScratch.path("feed-stages-\(cores.map(String.init).joined()).itch")
        defer { unlink(path) }
        let w = try FileWriter(path: path)
        try SyntheticDay(symbols: 50, messages: 100_000, seed: 7).write(to: w)
        try w.flush()
        let (_, expected) = try replay(path)
        let (log, counts) = try runFeedChain(path, cores: cores)
        #expect(log.rows.count == expected.count && log.rows == expected)
        #expect(log.events == 100_000 && log.unstamped == 0 && counts.malformed == 0)
    }

    @Test func malformedMessagesAreDroppedAndCounted() throws {
        // Two well-formed deletes around a record whose length does not fit its type.
        var bytes: [UInt8] = []
        func record(_ m: [UInt8]) { bytes += [UInt8(m.count >> 8), UInt8(m.count & 0xff)] + m }
        var d = [UInt8](repeating: 0, count: 19)
        d[0] = UInt8(ascii: "D")
        record(d)
        record([UInt8(ascii: "D"), 0, 1])
        record(d)
        let path = TestScratch.path("feed-stages-bad.itch")
        defer { unlink(path) }
        #expect((try? Data(bytes).write(to: URL(fileURLWithPath: path))) != nil)
        let (log, counts) = try runFeedChain(path, cores: [0, 0, 1, 1])
        #expect(counts.malformed == 1 && log.events == 2)
    }
}
