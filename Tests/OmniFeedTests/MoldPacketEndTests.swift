import FeedTestSupport
import CEvent
import CWire
import OmniBook
import OmniCore
import OmniFeed
import Testing

// End of packet: the session says which delivered message is the last of its packet
// (or of a release from the reorder buffer), and the feed stage marks that message's
// event OMNI_EVF_LAST_IN_PACKET: the one point per packet where the books are consistent.

@Suite("MoldUDP64 end of packet")
struct MoldPacketEndTests {
    let msgs = numbered(40)

    func receive<C: MoldConsumer>(_ s: inout MoldSession, _ p: [UInt8], _ c: inout C, line: MoldLine = .a) {
        p.withUnsafeBytes { s.receive($0, line: line, at: 0, into: &c) }
    }

    @Test func eachPacketEndsOnce() {
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        receive(&s, moldPacket(seq: 1, msgs[0..<5]), &got)
        receive(&s, moldPacket(seq: 6, msgs[5..<6]), &got)
        receive(&s, moldPacket(seq: 7, []), &got) // heartbeat: no message, no end
        receive(&s, moldPacket(seq: 7, msgs[6..<9]), &got)
        #expect(got.messages == 9 && got.packetEnds == [5, 6, 9])
        // Partly duplicate: only its new tail is delivered, and its last message ends it.
        receive(&s, moldPacket(seq: 8, msgs[7..<12]), &got, line: .b)
        // Wholly duplicate: nothing delivered, nothing ends.
        receive(&s, moldPacket(seq: 10, msgs[9..<12]), &got, line: .b)
        #expect(got.messages == 12 && got.packetEnds == [5, 6, 9, 12])
    }

    @Test func aReleaseFromTheReorderBufferEndsAtItsLastMessage() {
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        receive(&s, moldPacket(seq: 1, msgs[0..<3]), &got)
        receive(&s, moldPacket(seq: 10, msgs[9..<12]), &got) // held behind a gap
        receive(&s, moldPacket(seq: 7, msgs[6..<9]), &got)   // held too
        #expect(got.messages == 3 && got.packetEnds == [3] && s.buffered == 6)
        // 4...6 arrive: they and the six held after them come out as one release, ending at 12.
        receive(&s, moldPacket(seq: 4, msgs[3..<6]), &got)
        #expect(got.messages == 12 && got.outOfOrder == 0 && got.packetEnds == [3, 12])
        // A late copy of a held range changes nothing.
        receive(&s, moldPacket(seq: 7, msgs[6..<9]), &got, line: .b)
        #expect(got.packetEnds == [3, 12])
    }

    @Test func aPacketThatFillsOnlyPartOfTheGapEndsAtItsOwnLastMessage() {
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        receive(&s, moldPacket(seq: 1, msgs[0..<2]), &got)
        receive(&s, moldPacket(seq: 8, msgs[7..<9]), &got)
        receive(&s, moldPacket(seq: 3, msgs[2..<4]), &got) // 5...7 still missing: nothing released
        #expect(got.packetEnds == [2, 4])
        receive(&s, moldPacket(seq: 5, msgs[4..<7]), &got)
        #expect(got.packetEnds == [2, 4, 9] && got.messages == 9)
    }

    @Test func anOperatorSkipEndsAtTheLastMessageItReleases() {
        var s = MoldSession(MoldSessionConfig(session: "OMNIMOLD01"))
        var got = MoldCollector()
        receive(&s, moldPacket(seq: 1, msgs[0..<2]), &got)
        receive(&s, moldPacket(seq: 7, msgs[6..<9]), &got) // gap 3...6
        receive(&s, moldPacket(seq: 5, msgs[4..<5]), &got) // 5 held inside the gap
        #expect(got.packetEnds == [2])
        #expect(s.skipGap(into: &got) == 3) // 3, 4 and 6 skipped; 5, then 7...9 delivered
        #expect(got.skipped == [3..<5, 6..<7] && got.messages == 6)
        #expect(got.packetEnds == [2, 9])
    }
}
