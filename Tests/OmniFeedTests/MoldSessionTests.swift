import FeedTestSupport
import OmniLab
import OmniWire
import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import SharedTestData
import Testing

/// Days the MoldUDP64 tests cut into packets.
enum MoldDays {
    /// 20,000 synthetic messages (OmniFeed.SyntheticDay, 20 instruments).
    static let synthetic: [UInt8] = {
        let path = TestScratch.path("mold.itch")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let w = try FileWriter(path: path)
            try SyntheticDay(symbols: 20, messages: 20_000, seed: 7).write(to: w)
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            Issue.record("cannot write the synthetic day: \(error)")
            return []
        }
    }()

    /// The real NASDAQ fixtures joined as the day has them: directory, then the 04:00 order flow.
    static var real: [UInt8] {
        get throws {
            try [UInt8](Data(contentsOf: URL(fileURLWithPath: RealData.path("12302019_first1000.NASDAQ_ITCH50"))))
                + [UInt8](Data(contentsOf: URL(fileURLWithPath: RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50"))))
        }
    }

    /// BBO rows of a lossless replay of the day.
    static func rows(_ day: [UInt8]) throws -> [String] {
        let r = ITCHReplay(books: try Books())
        var sink = RowSink()
        day.withUnsafeBytes { r.runDayFile($0, into: &sink) }
        return sink.rows
    }
}

/// A/B lines with a line-to-line skew of 2 µs, an arbitration window of 10 µs, a server 20 µs away.
func abConfig() -> MoldSessionConfig {
    var c = MoldSessionConfig(session: "OMNIMOLD01")
    c.requestDelay = 10_000
    c.requestTimeout = 100_000
    return c
}

@Suite("MoldUDP64 session: loss, arbitration, recovery")
struct MoldSessionTests {
    /// Runs `day` over lines A (5 µs) and B (7 µs) with the given losses; checks that every
    /// message came out exactly once, in order, and the books' BBO stream equals a lossless replay's.
    func runAB(_ day: [UInt8], lostA: [Bool], lostB: [Bool]?, config: MoldSessionConfig = abConfig(),
               seed: UInt64 = 1) throws -> MoldSimulation {
        let x = MoldExchange(dayMessages(day), seed: seed)
        var sim = MoldSimulation(config, server: x.server(), collector: MoldCollector(replay: ITCHReplay(books: try Books())))
        sim.send(x, on: .a, latency: 5_000, lost: lostA)
        if let lostB { sim.send(x, on: .b, latency: 7_000, lost: lostB) }
        sim.run()
        #expect(sim.collector.messages == x.messages.count)
        #expect(sim.collector.outOfOrder == 0)
        #expect(sim.collector.stream == day)
        #expect(sim.collector.rows.rows == (try MoldDays.rows(day)))
        #expect(sim.session.counters.delivered == UInt64(x.messages.count))
        #expect(sim.session.counters.gapsLost == 0 && sim.session.counters.skippedMessages == 0)
        #expect(sim.session.state == .finished && sim.session.buffered == 0 && sim.session.bufferedBytes == 0)
        #expect(sim.collector.states.last == .finished)
        return sim
    }

    @Test func lossOnLineAOnlyIsFilledByLineBWithoutRequests() throws {
        let day = MoldDays.synthetic
        let n = MoldExchange(dayMessages(day)).packets.count
        let sim = try runAB(day, lostA: lossPattern(n, rate: 0.01, seed: 11), lostB: [])
        let c = sim.session.counters
        #expect(c.gapsOpened > 20)
        #expect(c.gapsFilledByOtherLine == c.gapsOpened)
        #expect(c.requestsSent == 0 && sim.requests.isEmpty)
        #expect(sim.session.line(.a).lineGaps > 20 && sim.session.line(.a).gapsFirstSeen == c.gapsOpened)
        #expect(sim.session.line(.b).won > 0 && sim.session.line(.b).lineGaps == 0)
        // Every message carried twice or more beyond the one delivered is a duplicate.
        #expect(c.duplicates == sim.session.line(.a).messages + sim.session.line(.b).messages - c.delivered)
    }

    @Test func lossOnLineBOnlyOpensNoSessionGap() throws {
        let day = MoldDays.synthetic
        let n = MoldExchange(dayMessages(day)).packets.count
        let sim = try runAB(day, lostA: [], lostB: lossPattern(n, rate: 0.01, seed: 12))
        let c = sim.session.counters
        #expect(c.gapsOpened == 0 && c.requestsSent == 0)
        #expect(sim.session.line(.b).lineGaps > 20)
        // A is ahead: it wins every message, B only brings duplicates.
        #expect(sim.session.line(.a).duplicates == 0 && sim.session.line(.b).won == 0)
        #expect(sim.session.line(.b).duplicates == sim.session.line(.b).messages)
    }

    @Test func independentLossOnBothLinesIsRecoveredByRetransmission() throws {
        let day = MoldDays.synthetic
        let n = MoldExchange(dayMessages(day)).packets.count
        var lostA = lossPattern(n, rate: 0.01, seed: 11)
        var lostB = lossPattern(n, rate: 0.01, seed: 12)
        for i in [100, 101, 2000] { lostA[i] = true; lostB[i] = true } // lost on both: only the server has them
        let sim = try runAB(day, lostA: lostA, lostB: lostB)
        let c = sim.session.counters
        let both = (0..<n).filter { lostA[$0] && lostB[$0] }.count
        #expect(both >= 3)
        #expect(c.gapsFilledByRetransmission >= 2)
        #expect(c.gapsFilledByOtherLine > 20)
        #expect(c.requestsSent >= c.gapsFilledByRetransmission && c.retries == 0)
        #expect(sim.session.line(.retransmission).won > 0)
        // Every request waited out the arbitration window after its gap opened (a packet's worth of spacing or more).
        #expect(sim.requests.allSatisfy { $0.count >= 1 && $0.count <= 1_000 })
    }

    @Test func singleLineLossIsRecoveredByRetransmission() throws {
        let day = MoldDays.synthetic
        let n = MoldExchange(dayMessages(day)).packets.count
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.requestTimeout = 100_000
        let sim = try runAB(day, lostA: lossPattern(n, rate: 0.01, seed: 13), lostB: nil, config: config)
        let c = sim.session.counters
        #expect(c.gapsOpened > 20)
        #expect(c.gapsFilledByRetransmission == c.gapsOpened && c.gapsFilledByOtherLine == 0)
        #expect(c.requestsSent == c.gapsOpened && c.retries == 0)
    }

    @Test(.enabled(if: RealData.present, RealData.skipReason))
    func realITCHOverTwoLossyLines() throws {
        let day = try MoldDays.real
        let n = MoldExchange(dayMessages(day), maxPerPacket: 6, seed: 5).packets.count
        var lostA = lossPattern(n, rate: 0.01, seed: 21)
        var lostB = lossPattern(n, rate: 0.01, seed: 22)
        lostA[40] = true; lostB[40] = true
        let sim = try runAB(day, lostA: lostA, lostB: lostB, seed: 5)
        #expect(sim.session.counters.gapsFilledByRetransmission >= 1)
        #expect(sim.collector.rows.rows.count == 307) // the 04:00 flow's BBO changes (RealDataTests)
    }

    @Test func gapTableFullMergesGapsAndStillRecovers() throws {
        let msgs = Array(dayMessages(MoldDays.synthetic).prefix(3_000))
        let x = MoldExchange(msgs, seed: 3)
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.maxGaps = 2
        config.requestDelay = 200_000 // gaps pile up before the first request
        config.requestTimeout = 100_000
        var sim = MoldSimulation(config, server: x.server())
        sim.send(x, on: .a, latency: 5_000, lost: lossPattern(x.packets.count, rate: 0.05, seed: 4))
        sim.run()
        #expect(sim.session.counters.gapsMerged > 0)
        #expect(sim.collector.stream == x.stream(1..<x.end) && sim.collector.outOfOrder == 0)
        #expect(sim.session.state == .finished && sim.session.counters.gapsLost == 0)
    }

    /// Random loss on both lines, reordering, duplication by the server, a small reorder buffer:
    /// whatever happens, each message comes out once and in order.
    @Test(arguments: [31, 32, 33] as [UInt64])
    func chaosStillDeliversExactlyOnceInOrder(seed: UInt64) throws {
        let msgs = Array(dayMessages(MoldDays.synthetic).prefix(3_000))
        let x = MoldExchange(msgs, seed: seed)
        var config = abConfig()
        config.reorderMessages = 16
        config.reorderBytes = 1_024
        config.maxMessagesPerRequest = 7
        var sim = MoldSimulation(config, server: x.server())
        var rng = SeededRandom(seed: seed)
        let swapped = Set((0..<x.packets.count).filter { _ in rng.next() % 50 == 0 })
        sim.send(x, on: .a, latency: 5_000, lost: lossPattern(x.packets.count, rate: 0.05, seed: seed), swapped: swapped)
        sim.send(x, on: .b, latency: 9_000, lost: lossPattern(x.packets.count, rate: 0.05, seed: seed + 100))
        sim.run()
        #expect(sim.collector.stream == x.stream(1..<x.end))
        #expect(sim.collector.outOfOrder == 0 && sim.session.state == .finished)
        #expect(sim.session.counters.delivered == UInt64(msgs.count))
        #expect(sim.session.counters.reorderOverflows > 0 && sim.session.counters.gapsLost == 0)
    }
}

@Suite("MoldUDP64 session: reordering, stale, skip, end of session")
struct MoldSessionRecoveryTests {
    @Test func reorderWithinTheWindowNeedsNoRequest() throws {
        let msgs = Array(dayMessages(MoldDays.synthetic).prefix(5_000))
        let x = MoldExchange(msgs, seed: 9)
        let swapped = Set(stride(from: 5, to: x.packets.count - 2, by: 37))
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.requestDelay = 5_000 // longer than the 1.5 µs a swapped packet is late
        var sim = MoldSimulation(config, server: x.server())
        sim.send(x, on: .a, latency: 5_000, swapped: swapped)
        sim.run()
        let c = sim.session.counters
        #expect(sim.collector.stream == x.stream(1..<x.end) && sim.collector.outOfOrder == 0)
        #expect(c.gapsOpened == UInt64(swapped.count) && c.gapsFilledLate == UInt64(swapped.count))
        #expect(c.requestsSent == 0 && c.duplicates == 0)
        #expect(sim.collector.states.filter { $0 == .gapOpen }.count == swapped.count)

        // With no window the same reordering costs requests, and the answers come in as duplicates.
        config.requestDelay = 0
        var eager = MoldSimulation(config, server: x.server())
        eager.send(x, on: .a, latency: 5_000, swapped: swapped)
        eager.run()
        #expect(eager.collector.stream == x.stream(1..<x.end))
        #expect(eager.session.counters.requestsSent > 0 && eager.session.counters.duplicates > 0)
    }

    /// A server that never answers: the gap is asked for 1 + maxRetries times, then declared lost.
    func deadServer() -> (MoldSimulation, MoldExchange, Range<UInt64>) {
        let x = MoldExchange(Array(dayMessages(MoldDays.synthetic).prefix(2_000)), seed: 2)
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.requestTimeout = 100_000
        config.maxRetries = 3
        var sim = MoldSimulation(config, server: x.server())
        sim.serverAnswers = { _ in false }
        var lost = [Bool](repeating: false, count: x.packets.count)
        lost[10] = true
        sim.send(x, on: .a, latency: 5_000, lost: lost)
        sim.run(idle: 2_000_000)
        let missing = x.firstSequence[10]..<x.firstSequence[11]
        return (sim, x, missing)
    }

    @Test func deadServerMakesTheSessionStaleNeverSkipsSilently() throws {
        let (sim, x, missing) = deadServer()
        let c = sim.session.counters
        #expect(sim.requests.count == 4 && c.requestsSent == 4 && c.retries == 3)
        #expect(sim.requests.allSatisfy { $0.sequence == missing.lowerBound && UInt64($0.count) == UInt64(missing.count) })
        #expect(zip(sim.requests.dropFirst(), sim.requests).allSatisfy { $0.time - $1.time >= 100_000 })
        #expect(c.gapsLost == 1 && sim.session.lostGaps == 1)
        #expect(sim.session.state == .stale && !sim.session.isQuotable)
        #expect(sim.collector.states == [.gapOpen, .stale])
        // Nothing past the gap was delivered; everything after it is held, the end of session is known.
        #expect(sim.collector.stream == x.stream(1..<missing.lowerBound))
        #expect(sim.session.buffered == Int(x.end - missing.upperBound))
        #expect(sim.session.endSequence == x.end && sim.session.expected == missing.lowerBound)
        #expect(sim.session.gaps.count == 1 && sim.session.gaps[0].range == missing && sim.session.gaps[0].lost)
        #expect(c.skippedMessages == 0 && sim.collector.skipped.isEmpty)
    }

    @Test func operatorSkipsTheLostGapAndItIsCounted() throws {
        var (sim, x, missing) = deadServer()
        #expect(sim.session.skipLostGaps(into: &sim.collector) == UInt64(missing.count))
        #expect(sim.collector.skipped == [missing])
        #expect(sim.session.counters.skippedMessages == UInt64(missing.count) && sim.session.counters.gapsSkipped == 1)
        #expect(sim.collector.stream == x.stream(1..<missing.lowerBound) + x.stream(missing.upperBound..<x.end))
        #expect(sim.collector.outOfOrder == 0)
        #expect(sim.session.state == .finished && sim.collector.states == [.gapOpen, .stale, .finished])
        #expect(sim.session.buffered == 0 && sim.session.lostGaps == 0)
        #expect(sim.session.skipLostGaps(into: &sim.collector) == 0) // nothing left to skip
    }

    @Test func lateRetransmissionRecoversALostGap() throws {
        var (sim, x, missing) = deadServer()
        let late = x.packets[10]
        late.withUnsafeBytes { sim.session.receive($0, line: .retransmission, at: sim.now + 1, into: &sim.collector) }
        let c = sim.session.counters
        #expect(c.gapsRecovered == 1 && c.gapsFilledByRetransmission == 1 && c.skippedMessages == 0)
        #expect(sim.collector.stream == x.stream(1..<x.end) && sim.collector.outOfOrder == 0)
        #expect(sim.session.state == .finished && sim.collector.states == [.gapOpen, .stale, .finished])
        #expect(missing.count > 0)
    }

    @Test func partialAnswersCountAsProgressNotAsRetries() throws {
        // The server answers 10 messages a request; the gap is ~90: each round brings some, none is lost.
        let x = MoldExchange(Array(dayMessages(MoldDays.synthetic).prefix(2_000)), seed: 8)
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.requestTimeout = 100_000
        config.maxRetries = 1
        var sim = MoldSimulation(config, server: x.server(maxPerRequest: 10))
        var lost = [Bool](repeating: false, count: x.packets.count)
        for i in 50..<70 { lost[i] = true }
        sim.send(x, on: .a, latency: 5_000, lost: lost)
        sim.run()
        let c = sim.session.counters
        let missing = Int(x.firstSequence[70] - x.firstSequence[50])
        #expect(missing > 40)
        #expect(sim.server.counters.clamped >= 1 && c.requestsSent >= UInt64(missing / 10))
        #expect(c.gapsLost == 0 && c.retries == 0 && c.gapsFilledByRetransmission == 1)
        #expect(sim.collector.stream == x.stream(1..<x.end) && sim.session.state == .finished)
    }

    @Test func reorderBufferOverflowRequestsAtOnceAndRecovers() throws {
        let x = MoldExchange(Array(dayMessages(MoldDays.synthetic).prefix(2_000)), seed: 6)
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.reorderMessages = 16
        config.reorderBytes = 512
        config.requestDelay = 1_000_000 // without the overflow nothing would be asked for during 1 ms
        config.requestTimeout = 100_000
        var sim = MoldSimulation(config, server: x.server())
        var lost = [Bool](repeating: false, count: x.packets.count)
        lost[3] = true
        sim.send(x, on: .a, latency: 5_000, lost: lost)
        sim.run()
        let c = sim.session.counters
        #expect(c.reorderOverflows > 0 && c.overflowMessages > 0)
        #expect(sim.requests.first.map { $0.time < 100_000 } == true)
        #expect(sim.requests.first?.sequence == x.firstSequence[3])
        #expect(sim.collector.stream == x.stream(1..<x.end) && sim.collector.outOfOrder == 0)
        #expect(sim.session.state == .finished && c.gapsLost == 0)
        // Answers start at `expected` and flow through unheld; gaps out of reach wait their turn: no round goes unanswered.
        #expect(c.retries == 0)
    }

    @Test func endOfSession() throws {
        let msgs = Array(dayMessages(MoldDays.synthetic).prefix(30))
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        func feed(_ p: [UInt8], _ line: MoldLine = .a) { p.withUnsafeBytes { s.receive($0, line: line, at: 0, into: &got) } }
        feed(moldPacket(seq: 1, msgs[0..<10]))
        // End of session announcing 31 as next: messages 11..30 were never seen, a gap.
        feed(moldEndOfSession(next: 31))
        #expect(s.state == .gapOpen && s.endSequence == 31 && s.gaps.map(\.range) == [11..<31])
        var req = [UInt8](repeating: 0, count: 40)
        #expect(req.withUnsafeMutableBytes { s.poll(now: 0, requests: $0, into: &got) } == 1)
        #expect(Array(req[0..<10]) == Array("OMNIMOLD01".utf8) && req[17] == 11 && req[19] == 20)
        feed(moldPacket(seq: 11, msgs[10..<30]), .retransmission)
        #expect(s.state == .finished && got.messages == 30 && got.states == [.gapOpen, .finished])
        // Past the end nothing is delivered, and the session turns stale: an end announced too
        // early (a forged one) must not hide the loss of what comes after it (issue 16 D13).
        feed(moldPacket(seq: 31, msgs[0..<2]))
        #expect(s.counters.beyondEnd == 2 && got.messages == 30 && s.state == .stale && got.states == [.gapOpen, .finished, .stale])
        feed(moldEndOfSession(next: 31), .b)
        #expect(s.state == .stale && s.line(.b).packets == 1)
    }
}
