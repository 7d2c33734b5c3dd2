import FeedTestSupport
import OmniCore
import OmniLab
import OmniWire
import CWire
import OmniBook
import OmniFeed
import Testing

/// Small messages 1...n: each is its sequence number as 4 bytes, so order is visible in the bytes.
func numbered(_ n: Int) -> [[UInt8]] { (1...n).map { i in [0, 0, UInt8(i >> 8), UInt8(i & 0xFF)] } }

@Suite("MoldUDP64 session: packets one by one")
struct MoldPacketHandlingTests {
    let msgs = numbered(100)

    func session(_ config: MoldSessionConfig = MoldSessionConfig()) -> (MoldSession, MoldCollector) {
        (MoldSession(config), MoldCollector())
    }

    @Test func checkBlocksNamesEachDefect() {
        let good = moldPacket(seq: 1, msgs[0..<3])
        func check(_ p: [UInt8]) -> cw_mold_check {
            p.withUnsafeBufferPointer { b in
                var h = cw_mold_header()
                _ = cw_mold_parse_header(b.baseAddress, b.count, &h)
                return cw_mold_check_blocks(b.baseAddress, b.count, &h)
            }
        }
        var countPast = good; countPast[19] = 4
        var blockPast = good; blockPast[21] = 200
        #expect(check(good) == CW_MOLD_OK)
        #expect(check(Array(good.prefix(12))) == CW_MOLD_SHORT_HEADER)
        #expect(check(countPast) == CW_MOLD_COUNT_PAST_END)
        #expect(check(blockPast) == CW_MOLD_BLOCK_PAST_END)
        #expect(check(Array(good.dropLast())) == CW_MOLD_BLOCK_PAST_END)
        #expect(check(Array(good.prefix(21))) == CW_MOLD_BLOCK_PAST_END) // half a length prefix
        #expect(check(good + [0]) == CW_MOLD_TRAILING_BYTES)
        #expect(check(moldEndOfSession(next: 9)) == CW_MOLD_OK)
    }

    @Test func malformedAndWrongSessionPacketsAreCountedAndDropped() {
        var (s, got) = session()
        let good = moldPacket(seq: 1, msgs[0..<5])
        var countPast = good; countPast[19] = 6
        var blockPast = good; blockPast[21] = 0xFF
        let wrap = moldPacket(seq: UInt64.max - 1, msgs[0..<5])
        let bad: [[UInt8]] = [Array(good.prefix(12)), countPast, blockPast, Array(good.dropLast()), good + [7], wrap]
        for p in bad { p.withUnsafeBytes { s.receive($0, line: .b, at: 0, into: &got) } }
        s.receive(UnsafeRawBufferPointer(start: nil, count: 0), line: .b, at: 0, into: &got)
        #expect(s.counters.malformed == 7 && s.line(.b).malformed == 7 && s.line(.b).packets == 0)
        #expect(s.session == nil) // nothing malformed locks the session
        good.withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) }
        #expect(s.session == Array("OMNIMOLD01".utf8))
        let other = moldPacket("OTHERSESS1", seq: 6, msgs[5..<9])
        other.withUnsafeBytes { s.receive($0, line: .b, at: 0, into: &got) }
        #expect(s.counters.wrongSession == 1 && s.line(.b).wrongSession == 1 && s.counters.wrongSessionMessages == 4)
        // Locked on the first packet seen, the other session's messages may be the genuine ones:
        // dropped, and the session is stale rather than quietly live (issue 16 D13).
        #expect(got.messages == 5 && s.expected == 6 && s.state == .stale && s.counters.gapsOpened == 0)
        #expect(got.stream == moldExchangeStream(msgs[0..<5]))
    }

    @Test func configuredSessionRejectsOthersFromTheStart() {
        var (s, got) = session(MoldSessionConfig(session: "EXPECTED"))
        moldPacket(seq: 1, msgs[0..<3]).withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) }
        moldPacket("EXPECTED", seq: 1, msgs[0..<3]).withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) }
        #expect(s.counters.wrongSession == 1 && got.messages == 3)
        #expect(s.session == Array("EXPECTED  ".utf8))
    }

    @Test func staleAndPartlyDuplicatePackets() {
        var (s, got) = session()
        func feed(_ p: [UInt8], _ l: MoldLine) { p.withUnsafeBytes { s.receive($0, line: l, at: 0, into: &got) } }
        feed(moldPacket(seq: 1, msgs[0..<5]), .a)
        feed(moldPacket(seq: 3, msgs[2..<8]), .b)  // 3...5 seen: only 6...8 are new
        feed(moldPacket(seq: 1, msgs[0..<5]), .b)  // all seen
        #expect(got.messages == 8 && got.outOfOrder == 0 && got.stream == moldExchangeStream(msgs[0..<8]))
        #expect(s.counters.duplicates == 8 && s.counters.partialDuplicatePackets == 1 && s.counters.duplicatePackets == 1)
        #expect(s.line(.b).duplicates == 8 && s.line(.b).won == 3 && s.line(.a).won == 5)
        #expect(s.state == .live && s.counters.gapsOpened == 0)
    }

    @Test func aheadPacketsAreHeldThenReleasedInOrder() {
        var (s, got) = session()
        func feed(_ p: [UInt8], _ l: MoldLine) { p.withUnsafeBytes { s.receive($0, line: l, at: 0, into: &got) } }
        feed(moldPacket(seq: 1, msgs[0..<2]), .a)
        feed(moldPacket(seq: 8, msgs[7..<10]), .a)   // gap 3..<8
        feed(moldPacket(seq: 5, msgs[4..<6]), .a)    // fills 5, 6 inside it: held
        #expect(s.state == .gapOpen && got.messages == 2 && s.buffered == 5)
        #expect(s.gaps.count == 1 && s.gaps[0].missing == 3 && s.gaps[0].range == 3..<8)
        feed(moldPacket(seq: 3, msgs[2..<4]), .b)    // 3, 4 from the other line
        #expect(got.messages == 6 && s.state == .gapOpen)
        feed(moldPacket(seq: 7, msgs[6..<9]), .b)    // 7, and 8, 9 again
        #expect(got.messages == 10 && got.outOfOrder == 0 && s.state == .live && s.buffered == 0 && s.bufferedBytes == 0)
        #expect(got.stream == moldExchangeStream(msgs[0..<10]))
        #expect(s.counters.gapsOpened == 1 && s.counters.gapsFilledByOtherLine == 1 && s.counters.duplicates == 2)
        #expect(got.states == [.gapOpen, .live])
    }

    @Test func heartbeatAheadOpensAGapAndRequestsAreSplit() {
        var config = MoldSessionConfig()
        config.maxMessagesPerRequest = 1_000
        var (s, got) = session(config)
        moldPacket(seq: 1, msgs[0..<5]).withUnsafeBytes { s.receive($0, line: .a, at: 100, into: &got) }
        moldPacket(seq: 2_506, []).withUnsafeBytes { s.receive($0, line: .a, at: 200, into: &got) } // heartbeat: next is 2506
        #expect(s.state == .gapOpen && s.counters.heartbeats == 1 && s.line(.a).heartbeats == 1 && s.highWater == 2_506)
        var buf = [UInt8](repeating: 0, count: 10 * 20)
        let n = buf.withUnsafeMutableBytes { s.poll(now: 200, requests: $0, into: &got) }
        var asked: [(UInt64, UInt16)] = []
        for r in 0..<n {
            var h = cw_mold_header()
            buf.withUnsafeBufferPointer { _ = cw_mold_parse_request($0.baseAddress! + r * 20, 20, &h) }
            asked.append((h.sequence, h.count))
        }
        #expect(asked.map(\.0) == [6, 1_006, 2_006] && asked.map(\.1) == [1_000, 1_000, 500])
        // A buffer with room for one request: the round waits.
        var small = [UInt8](repeating: 0, count: 20)
        #expect(small.withUnsafeMutableBytes { s.poll(now: 300, requests: $0, into: &got) } == 0)
        #expect(s.counters.requestsSent == 3)
    }

    /// Packets with random sequence numbers, counts, cuts and bit flips, on random lines, with a
    /// small buffer and few gap entries: nothing traps, delivery stays in sequence, and the
    /// bookkeeping (held messages, gap counts) stays consistent.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func hostilePacketsNeverBreakTheSession(seed: UInt64) {
        // Named: a first packet with a flipped session byte would otherwise lock the session to it.
        var config = MoldSessionConfig(session: "OMNIMOLD01")
        config.reorderMessages = 32
        config.reorderBytes = 512
        config.maxGaps = 4
        config.maxSequenceJump = 1_000 // a flipped high bit of a sequence number is not believed
        var (s, got) = session(config)
        var rng = SeededRandom(seed: seed)
        var req = [UInt8](repeating: 0, count: 8 * 20)
        for step in 0..<20_000 {
            let first = 1 + UInt64(step / 4) + rng.next() % 40 // a stream that moves on, with jitter
            let n = Int(rng.next() % 6)
            var p = moldPacket(seq: first, msgs[0..<n])
            switch rng.next() % 8 {
            case 0: p = Array(p.prefix(Int(rng.next() % UInt64(p.count + 1))))
            case 1: p[Int(rng.next() % UInt64(p.count))] ^= UInt8(1 << (rng.next() % 8))
            case 2: p[18] = step > 19_000 ? 0xFF : 0; p[19] = UInt8(rng.next() & 0xFF) // end of session only late on
            case 3: p.replaceSubrange(10..<18, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, UInt8(rng.next() & 0xFF)])
            default: break
            }
            let line = MoldLine(rawValue: Int(rng.next() % 3))!
            p.withUnsafeBytes { s.receive($0, line: line, at: UInt64(step), into: &got) }
            if step % 50 == 0 { _ = req.withUnsafeMutableBytes { s.poll(now: UInt64(step), requests: $0, into: &got) } }
            if step % 3_000 == 0 { s.skipGap(into: &got) }
            if step % 500 == 0 {
                // Every number between expected and the high water is held or missing in a gap.
                #expect(s.expected <= s.highWater && s.buffered <= 32 && s.bufferedBytes <= 512)
                #expect(s.openGaps == s.gaps.count && s.lostGaps == s.gaps.filter(\.lost).count)
                #expect(s.gaps.reduce(0) { $0 + $1.missing } + UInt64(s.buffered) == s.behind)
            }
        }
        #expect(got.outOfOrder == 0)
        // Seeded, so exact: malformed, implausible, reorder overflows, delivered, gaps opened, gaps
        // skipped, wrong session (every path reached; a change to the session or to SeededRandom moves these).
        let c = s.counters
        let expected: [UInt64: [UInt64]] = [1: [5429, 3010, 9073, 21, 125, 6, 749], 2: [5423, 3051, 8731, 142, 353, 7, 812],
                                            3: [5431, 3002, 8933, 31, 165, 7, 830]]
        #expect([c.malformed, c.implausibleSequence, c.reorderOverflows, c.delivered, c.gapsOpened, c.gapsSkipped, c.wrongSession]
                == expected[seed], "\(c)")
    }

    @Test func lateJoinStartsAtTheFirstPacket() {
        var config = MoldSessionConfig()
        config.firstSequence = nil
        var (s, got) = session(config)
        moldPacket(seq: 50, msgs[49..<53]).withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) }
        #expect(s.expected == 54 && got.messages == 4 && s.state == .live && s.counters.gapsOpened == 0)
    }

    @Test func wrapOfTheByteRingKeepsMessagesIntact() {
        // A small ring, refilled many times: the records wrap and are freed out of arrival order.
        var config = MoldSessionConfig()
        config.reorderBytes = 256
        config.reorderMessages = 64
        var (s, got) = session(config)
        func feed(_ p: [UInt8]) { p.withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) } }
        var next = 1
        for round in 0..<30 {
            let k = 1 + round % 4
            let a = next, b = next + k, c = b + k // three packets of k messages: send the last two first
            feed(moldPacket(seq: UInt64(c), msgs[(c - 1)..<(c - 1 + k)]))
            feed(moldPacket(seq: UInt64(b), msgs[(b - 1)..<(b - 1 + k)]))
            feed(moldPacket(seq: UInt64(a), msgs[(a - 1)..<(a - 1 + k)]))
            next = c + k
            if next + 12 > msgs.count { break }
        }
        #expect(got.stream == moldExchangeStream(msgs[0..<(next - 1)]) && got.outOfOrder == 0)
        #expect(s.buffered == 0 && s.bufferedBytes == 0 && s.counters.reorderOverflows == 0)
    }
}

func moldExchangeStream(_ m: ArraySlice<[UInt8]>) -> [UInt8] {
    m.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
}

@Suite("MoldUDP64 session into ITCH books")
struct MoldITCHConsumerTests {
    @Test func booksFollowTheSessionAndKnowWhenNotToQuote() throws {
        let day = MoldDays.synthetic
        let x = MoldExchange(dayMessages(day), seed: 4)
        let expected = try MoldDays.rows(day)
        let k = x.packets.count - 50 // lost: 49 packets after it are held (the default buffer holds them)
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var c = MoldITCHConsumer(replay: ITCHReplay(books: try Books()), sink: RowSink())
        for (i, p) in x.packets.enumerated() where i != k {
            p.withUnsafeBytes { s.receive($0, line: .a, at: UInt64(i), into: &c) }
            if i == k - 1 { #expect(c.quotable && c.state == .live) }
        }
        #expect(!c.quotable && c.state == .gapOpen && !s.isQuotable)
        x.packets[k].withUnsafeBytes { s.receive($0, line: .retransmission, at: 1_000_000, into: &c) }
        #expect(c.quotable && c.state == .live && s.isQuotable)
        #expect(c.sink.rows == expected && c.replay.counts.messages == UInt64(x.messages.count))

        // The operator skips a gap instead: the books are marked for a rebuild.
        var s2 = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var c2 = MoldITCHConsumer(replay: ITCHReplay(books: try Books()), sink: NoBBOSink())
        for (i, p) in x.packets.enumerated() where i != k { p.withUnsafeBytes { s2.receive($0, line: .a, at: 0, into: &c2) } }
        #expect(s2.skipGap(into: &c2) == UInt64(x.counts[k]))
        #expect(c2.rebuildNeeded && !c2.quotable && c2.state == .live && c2.skippedMessages == UInt64(x.counts[k]))
    }
}

/// Issue 16 D13: what a hostile sender on the group could do to `omni listen`.
@Suite("MoldUDP64 session against forged packets")
struct MoldForgedPacketTests {
    let msgs = Array(dayMessages(MoldDays.synthetic).prefix(20))

    /// One datagram 2^31 ahead opened a gap no server could fill: the books were stale for
    /// the day. A far jump is believed only when a second packet lands near it.
    @Test func aFarJumpIsBelievedOnlyWhenASecondPacketConfirmsIt() {
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        func feed(_ p: [UInt8], _ line: MoldLine = .a) { p.withUnsafeBytes { s.receive($0, line: line, at: 0, into: &got) } }
        feed(moldPacket(seq: 1, msgs[0..<5]))
        feed(moldPacket(seq: 1 << 31, msgs[5..<6]))            // forged: alone, not believed
        feed(moldPacket(seq: 6, msgs[5..<10]))                  // the genuine stream goes on
        #expect(s.state == .live && s.expected == 11 && s.highWater == 11 && got.messages == 10)
        #expect(s.counters.unconfirmedJumps == 1 && s.counters.gapsOpened == 0)
        // A real jump (a late joiner's first packets, a long outage) is confirmed by the next packet.
        feed(moldPacket(seq: 200_000, msgs[10..<12]))
        feed(moldPacket(seq: 200_002, msgs[12..<14]), .b)
        #expect(s.counters.unconfirmedJumps == 2 && s.state == .gapOpen && s.highWater == 200_004)
        #expect(s.gaps.map(\.range) == [11..<200_004]) // its messages lie past the reorder window: asked for too
    }

    /// A forged End of Session early in the day: the genuine messages after it were dropped and
    /// the summary said the books were fine. They are counted, and the session is stale.
    @Test func messagesPastAForgedEndOfSessionMakeTheSessionStale() {
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        func feed(_ p: [UInt8]) { p.withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) } }
        feed(moldPacket(seq: 1, msgs[0..<5]))
        feed(moldEndOfSession(next: 6))
        #expect(s.state == .finished)
        feed(moldPacket(seq: 6, msgs[5..<10]))
        #expect(s.counters.beyondEnd == 5 && got.messages == 5 && s.state == .stale && got.states.last == .stale)
    }

    /// Locked on a foreign session's packet (the first one seen), the genuine session's messages
    /// were dropped as "wrong session" while the books read healthy. Now the session is stale;
    /// with the session named in the config, the foreign packet is refused from the start.
    @Test func aForeignSessionSeenFirstMakesTheSessionStale() {
        var s = MoldSession()
        var got = MoldCollector()
        moldPacket("FORGED0001", seq: 1, msgs[0..<1]).withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) }
        moldPacket(seq: 1, msgs[0..<5]).withUnsafeBytes { s.receive($0, line: .a, at: 0, into: &got) }
        #expect(s.counters.wrongSessionMessages == 5 && s.state == .stale)
        var named = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got2 = MoldCollector()
        moldPacket("FORGED0001", seq: 1, msgs[0..<1]).withUnsafeBytes { named.receive($0, line: .a, at: 0, into: &got2) }
        moldPacket(seq: 1, msgs[0..<5]).withUnsafeBytes { named.receive($0, line: .a, at: 0, into: &got2) }
        #expect(named.counters.wrongSessionMessages == 1 && named.state == .live && got2.messages == 5)
    }
}
