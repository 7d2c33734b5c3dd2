import FeedTestSupport
import OmniVenue
import OmniNet
import OmniCore
import OmniWire
import CWire
import OmniFeed
import Testing

@Suite("MoldUDP64 re-request server")
struct MoldRequestServerTests {
    func request(_ seq: UInt64, _ count: UInt16, session: String = "OMNIMOLD01") -> [UInt8] {
        var r = [UInt8](repeating: 0, count: 20)
        _ = r.withUnsafeMutableBufferPointer { cw_mold_put_request($0.baseAddress, 20, moldSessionName(session), seq, count) }
        return r
    }

    /// Every packet of the answer to `req`: (first sequence, messages).
    func answer(_ s: inout MoldRequestServer, _ req: [UInt8], buffer: Int = 2_048) -> [(UInt64, [[UInt8]])] {
        var r = req.withUnsafeBytes { s.answer($0) }
        var out: [(UInt64, [[UInt8]])] = []
        var buf = [UInt8](repeating: 0, count: buffer)
        while true {
            let n = buf.withUnsafeMutableBytes { s.nextPacket(&r, into: $0) }
            if n == 0 { break }
            #expect(n <= s.config.maxPacketBytes)
            let p = Array(buf[0..<n])
            var h = cw_mold_header()
            var msgs: [[UInt8]] = []
            p.withUnsafeBufferPointer { b in
                _ = cw_mold_parse_header(b.baseAddress, b.count, &h)
                #expect(cw_mold_check_blocks(b.baseAddress, b.count, &h) == CW_MOLD_OK)
                var c = cw_mold_cursor()
                cw_mold_cursor_init(&c, b.baseAddress, b.count, &h)
                var m: UnsafePointer<UInt8>?
                var len: UInt16 = 0
                while cw_mold_next(&c, &m, &len) == CW_FRAME_MSG { msgs.append(Array(UnsafeBufferPointer(start: m, count: Int(len)))) }
            }
            out.append((h.sequence, msgs))
        }
        return out
    }

    func server(_ messages: [[UInt8]], historyMessages: Int = 1 << 20, historyBytes: Int = 1 << 20) -> MoldRequestServer {
        var c = MoldRequestServerConfig(session: "OMNIMOLD01")
        c.historyMessages = historyMessages
        c.historyBytes = historyBytes
        var s = MoldRequestServer(c)
        for m in messages { m.withUnsafeBytes { _ = s.publish($0) } }
        return s
    }

    @Test func answersSplitIntoPacketsWithinTheMTU() throws {
        let msgs = Array(dayMessages(MoldDays.synthetic).prefix(500))
        var s = server(msgs)
        let got = answer(&s, request(1, 500))
        #expect(got.count > 1)
        #expect(got.flatMap(\.1) == msgs)
        var seq: UInt64 = 1
        for (first, m) in got { #expect(first == seq); seq += UInt64(m.count) }
        #expect(s.counters.requests == 1 && s.counters.packets == UInt64(got.count) && s.counters.messages == 500)
        // A smaller buffer than the MTU: packets just get smaller.
        #expect(answer(&s, request(10, 20), buffer: 200).flatMap(\.1) == Array(msgs[9..<29]))
    }

    @Test func clampsCountsAndAnswersWhatExists() {
        let msgs = numbered(100)
        var s = server(msgs)
        #expect(answer(&s, request(90, 50)).flatMap(\.1) == Array(msgs[89..<100]))
        #expect(s.counters.beyondHighWater == 1)
        #expect(answer(&s, request(101, 5)).isEmpty && s.counters.beyondHighWater == 2)
        #expect(answer(&s, request(1, 0xFFFF)).flatMap(\.1).count == 100 && s.counters.clamped == 1)
        var c = MoldRequestServerConfig(session: "OMNIMOLD01")
        c.maxMessagesPerRequest = 10
        var small = MoldRequestServer(c)
        for m in msgs { m.withUnsafeBytes { _ = small.publish($0) } }
        #expect(answer(&small, request(5, 50)).flatMap(\.1) == Array(msgs[4..<14]) && small.counters.clamped == 1)
    }

    @Test func malformedAndForeignRequestsAreCountedAndIgnored() {
        var s = server(numbered(10))
        let good = request(1, 3)
        #expect(answer(&s, Array(good.prefix(19))).isEmpty)
        #expect(answer(&s, good + [0]).isEmpty)
        #expect(answer(&s, request(1, 0)).isEmpty)
        #expect(answer(&s, request(UInt64.max, 2)).isEmpty)
        #expect(answer(&s, request(1, 3, session: "ELSEWHERE")).isEmpty)
        #expect(answer(&s, request(0, 3)).isEmpty) // numbers start at 1: 0 was answered from 1 (issue 16)
        #expect(s.counters.malformed == 5 && s.counters.wrongSession == 1 && s.counters.requests == 0)
        #expect(answer(&s, good).flatMap(\.1).count == 3 && s.counters.requests == 1)
    }

    @Test func boundedHistoryForgetsTheOldest() {
        let msgs = numbered(100)
        var s = server(msgs, historyMessages: 30)
        #expect(s.firstRetained == 71 && s.next == 101 && s.retained == 30)
        #expect(answer(&s, request(60, 20)).flatMap(\.1) == Array(msgs[70..<79]) && s.counters.tooOld == 1)
        #expect(answer(&s, request(1, 10)).isEmpty && s.counters.tooOld == 2)
        // By bytes: 6-byte blocks... 4-byte messages in a 64-byte ring keep 16 of them.
        var b = server(msgs, historyBytes: 64)
        #expect(b.retained == 16 && answer(&b, request(85, 16)).flatMap(\.1) == Array(msgs[84..<100]))
    }

    @Test func recordsPublishedPacketsAndRestartsAfterAHole() {
        let msgs = numbered(40)
        var s = MoldRequestServer(MoldRequestServerConfig(session: "OMNIMOLD01"))
        #expect(moldPacket(seq: 1, msgs[0..<10]).withUnsafeBytes { s.record(packet: $0) })
        #expect(moldPacket(seq: 6, msgs[5..<15]).withUnsafeBytes { s.record(packet: $0) }) // overlap: 11...15 new
        #expect(s.next == 16 && s.firstRetained == 1)
        #expect(!moldPacket("ELSEWHERE", seq: 16, msgs[15..<20]).withUnsafeBytes { s.record(packet: $0) })
        #expect(moldPacket(seq: 30, msgs[29..<35]).withUnsafeBytes { s.record(packet: $0) })
        #expect(s.counters.historyResets == 1 && s.firstRetained == 30 && s.next == 36)
        #expect(answer(&s, request(28, 4)).flatMap(\.1) == Array(msgs[29..<31]))
    }

    @Test func aMessageLargerThanAPacketEndsTheAnswer() {
        var c = MoldRequestServerConfig(session: "OMNIMOLD01")
        c.maxPacketBytes = 100
        var s = MoldRequestServer(c)
        for m in [[UInt8](repeating: 1, count: 10), [UInt8](repeating: 2, count: 200), [UInt8](repeating: 3, count: 10)] {
            m.withUnsafeBytes { _ = s.publish($0) }
        }
        let got = answer(&s, request(1, 3))
        #expect(got.count == 1 && got[0].1.count == 1 && s.counters.oversize == 1)
    }
}
