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

/// Packs day-file messages into MoldUDP64 packets of up to `perPacket` messages.
func moldPackets(_ day: [UInt8], session: String = "OMNITEST01", perPacket: Int = 7) -> [[UInt8]] {
    let msgs = dayMessages(day)
    return stride(from: 0, to: msgs.count, by: perPacket).map {
        moldPacket(session, seq: UInt64($0 + 1), msgs[$0..<min($0 + perPacket, msgs.count)])
    }
}

func readPackets(_ packets: [[UInt8]], into r: ITCHReplay, reader: inout MoldPacketReader) -> [String] {
    var sink = RowSink()
    for p in packets { p.withUnsafeBytes { reader.read($0, into: r, sink: &sink) } }
    return sink.rows
}

@Suite("MoldUDP64 packets of the synthetic day")
struct MoldAndSyntheticTests {
    @Test func moldPacketsGiveTheSameBooksAsTheDayFile() throws {
        let day = try syntheticDay(messages: 20_000)
        let (_, expected) = try replayDay(day)
        let r = ITCHReplay(books: try Books())
        var reader = MoldPacketReader()
        #expect(readPackets(moldPackets(day), into: r, reader: &reader) == expected)
        #expect(reader.gaps == 0 && reader.duplicateMessages == 0 && reader.nextSequence == 20_001)
    }

    @Test func duplicatesDroppedGapsCountedWrongSessionRefused() throws {
        let day = try syntheticDay(messages: 2_000)
        let packets = moldPackets(day, perPacket: 10)
        var shuffled = packets
        shuffled.insert(packets[3], at: 5)              // a retransmitted packet arriving late
        shuffled.remove(at: 8)                          // a lost packet: 10 messages missing
        shuffled.insert(moldPackets(day, session: "OTHERSESS1")[0], at: 2)
        let r = ITCHReplay(books: try Books())
        var reader = MoldPacketReader()
        _ = readPackets(shuffled, into: r, reader: &reader)
        #expect(reader.duplicateMessages == 10 && reader.gaps == 1 && reader.missedMessages == 10 && reader.wrongSession == 1)
        #expect(r.counts.messages == 1_990)
    }

    @Test func malformedPacketsAreCounted() throws {
        let packets = moldPackets(try syntheticDay(messages: 100), perPacket: 10)
        var lying = packets[0]
        lying[19] = 11                                  // promises one block more than it carries
        let r = ITCHReplay(books: try Books())
        var reader = MoldPacketReader()
        _ = readPackets([Array(packets[0].prefix(12)), lying], into: r, reader: &reader)
        #expect(reader.malformedPackets == 2 && r.counts.messages == 10)
    }

    @Test func heartbeatAndEndOfSession() throws {
        var hb = [UInt8](repeating: 0, count: 20)
        hb.replaceSubrange(0..<10, with: Array("OMNITEST01".utf8))
        hb[17] = 1
        var eos = hb
        eos[18] = 0xFF; eos[19] = 0xFF
        let r = ITCHReplay(books: try Books())
        var reader = MoldPacketReader()
        _ = readPackets([hb, eos], into: r, reader: &reader)
        #expect(reader.heartbeats == 1 && reader.endOfSession && r.counts.messages == 0)
    }
}

/// D12: a capture whose MoldUDP64 sequence runs to 2^64 - 1 and then restarts at 10 trapped
/// `omni replay` in the gap count. A packet whose messages would pass 2^64 - 1 is malformed.
extension MoldAndSyntheticTests {
    @Test func aSequencePastTwoToTheSixtyFourIsMalformedNotATrap() throws {
        let msgs = dayMessages(try syntheticDay(messages: 100))
        let r = ITCHReplay(books: try Books())
        var reader = MoldPacketReader()
        let packets = [moldPacket("OMNITEST01", seq: 1, msgs[0..<2]),
                       moldPacket("OMNITEST01", seq: UInt64.max - 1, msgs[2..<3]),   // last message UInt64.max - 1: fine
                       moldPacket("OMNITEST01", seq: UInt64.max, msgs[3..<4]),       // would need a next number past 2^64 - 1
                       moldPacket("OMNITEST01", seq: 10, msgs[4..<5])]               // old: counted as a jump of ~2^64
        _ = readPackets(packets, into: r, reader: &reader)
        #expect(reader.malformedPackets == 1)
        #expect(reader.gaps == 1 && reader.missedMessages == UInt64.max - 4)
        #expect(reader.duplicateMessages == 1)   // 10 is behind UInt64.max
        #expect(reader.nextSequence == UInt64.max)
        #expect(r.counts.messages == 3)
    }
}
