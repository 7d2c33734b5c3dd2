import FeedTestSupport
import OmniVenue
import OmniNet
import OmniLab
import OmniWire
import CWire
import Foundation
import OmniBook
import OmniCore
import OmniFeed
import SharedTestData
import Testing

func iexCounts(_ c: CaptureCounts) -> [Character: UInt64] {
    var out: [Character: UInt64] = [:]
    for t in 0..<256 where c.iexByType[t] > 0 { out[Character(Unicode.Scalar(UInt8(t)))] = c.iexByType[t] }
    return out
}

func replayCapture(_ path: String) throws -> (CaptureReplay, CaptureFormat?) {
    let input = try MappedInput(path: path)
    let r = CaptureReplay()
    let format = withExtendedLifetime(input) { CaptureFormat.of(input.bytes) }
    try withExtendedLifetime(input) { try r.run(input.bytes, path: path) }
    return (r, format)
}

/// Every IEX message of a capture, decoded, for field checks.
func decodeAll(_ path: String, _ body: (cw_iex_msg) -> Void) throws {
    let input = try MappedInput(path: path)
    try withExtendedLifetime(input) {
        guard var cap = PacketCapture(input.bytes) else { throw FeedError.corrupt(path: path, offset: 0, reason: "not a capture") }
        while let p = cap.next() {
            guard case .udp(let d) = FrameContent.parse(p), let seg = d.payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else { continue }
            var h = cw_iextp_header()
            guard cw_iextp_parse_header(seg, d.payload.count, &h) == 0 else { continue }
            var c = cw_iextp_cursor()
            cw_iextp_cursor_init(&c, seg, d.payload.count, &h)
            var m: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            var msg = cw_iex_msg()
            while cw_iextp_next(&c, &m, &len) == CW_FRAME_MSG, let m {
                if cw_iex_decode(h.protocol_id, m, Int(len), &msg) == CW_IEX_OK { body(msg) }
            }
        }
    }
}

func symbolText(_ s: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)) -> String {
    withUnsafeBytes(of: s) { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespaces)
}

@Suite("IEX sample captures (DEEP 1.0, TOPS 1.6)", .enabled(if: IEXData.present, IEXData.skipReason))
struct IEXCaptureTests {
    // Counts as stated in iex-sample-pcaps/PROVENANCE.md.
    @Test func deepMatchesProvenance() throws {
        let (r, format) = try replayCapture(IEXData.deep)
        let c = r.counts
        #expect(format == .pcap)
        #expect(c.packets == 121_314 && c.truncatedRecords == 1 && c.malformedRecords == 0)
        #expect(c.udpDatagrams == 121_314 && c.otherFrames == 0 && c.malformedFrames == 0 && c.cutPayloads == 0)
        #expect(c.iexSegments == 121_314 && c.iexHeartbeats == 7_937 && c.malformedSegments == 0 && c.malformedMessages == 0)
        #expect(c.protocols == [0x8004] && c.sessions == 1)
        #expect(c.iexMessages == 391_999)
        #expect(iexCounts(c) == ["H": 93_638, "O": 93_638, "P": 93_636, "T": 83_343, "5": 14_627, "8": 12_941, "B": 73, "E": 59, "S": 44])
        #expect(c.symbols == 7_802)
        // No forward gap; the stream restarts at sequence 1 (stream offset 0) eleven times in its one
        // session (the "spins" PROVENANCE mentions). Checked independently with a Python struct walk.
        #expect(c.gaps == 0 && c.missedMessages == 0 && c.sequenceResets == 11)
        #expect(c.moldPackets == 0 && c.unknownPayloads == 0)
        // Capture span 2017-04-25 15:03:18 to 19:51:49 UTC.
        #expect(c.firstTimestampNs.map { $0 / 1_000_000_000 } == 1_493_132_598)
        #expect(c.lastTimestampNs / 1_000_000_000 == 1_493_149_909)
    }

    @Test func topsMatchesProvenance() throws {
        let (r, format) = try replayCapture(IEXData.tops)
        let c = r.counts
        // Named .pcapng and described as pcapng, but the file inside is classic pcap (magic d4c3b2a1):
        // the replay goes by the magic, not the name.
        #expect(format == .pcap)
        #expect(c.packets == 13_022 && c.truncatedRecords == 0 && c.malformedRecords == 0 && c.udpDatagrams == 13_022)
        #expect(c.iexSegments == 13_022 && c.iexHeartbeats == 237 && c.malformedSegments == 0 && c.malformedMessages == 0)
        #expect(c.protocols == [0x8003] && c.sessions == 1)
        #expect(c.iexMessages == 57_674)
        #expect(iexCounts(c) == ["Q": 27_217, "H": 7_803, "P": 7_802, "O": 7_801, "T": 6_390, "A": 642, "D": 10, "S": 6, "B": 3])
        #expect(c.symbols == 7_799)
        #expect(c.gaps == 0 && c.sequenceResets == 0)
    }

    @Test func deepFramesAreTheMulticastGroup() throws {
        let input = try MappedInput(path: IEXData.deep)
        var other = 0, n = 0
        withExtendedLifetime(input) {
            var cap = PacketCapture(input.bytes)!
            while let p = cap.next() {
                n += 1
                guard case .udp(let d) = FrameContent.parse(p), d.destinationIP == IPv4.parse("224.2.3.10"), d.destinationPort == 16648 else {
                    other += 1
                    continue
                }
            }
            // The 1,490-byte record that ends the file has 460 bytes.
            #expect(cap.ending == .truncated(offset: input.bytes.count - 460 - 16))
        }
        #expect(n == 121_314 && other == 0)
    }

    @Test func decodedFieldsArePlausible() throws {
        // PROVENANCE: MSFT trades at about $36.7 in DEEP10 (its trades run from $29.94 to $36.78), AMZN at
        // about $364.9 in TOPS16: test-environment prices, far from the real tape, but a wrong offset
        // or byte order would land nowhere near them.
        var msft: [Int64] = [], levels = 0, badLevel = 0
        try decodeAll(IEXData.deep) { m in
            if m.type == UInt8(ascii: "T"), symbolText(m.symbol) == "MSFT" { msft.append(m.u.trade.price) }
            if m.type == UInt8(ascii: "8") || m.type == UInt8(ascii: "5") {
                levels += 1
                if m.u.price_level.price <= 0 { badLevel += 1 }
            }
        }
        #expect(!msft.isEmpty && msft.allSatisfy { (299_000...368_000).contains($0) })
        #expect(levels == 27_568 && badLevel == 0)

        var amzn: [Int64] = [], quotes = 0, crossed = 0, auctions = 0, badAuction = 0
        try decodeAll(IEXData.tops) { m in
            switch m.type {
            case UInt8(ascii: "T") where symbolText(m.symbol) == "AMZN": amzn.append(m.u.trade.price)
            case UInt8(ascii: "Q"):
                quotes += 1
                let q = m.u.quote
                if q.bid_size > 0 && q.ask_size > 0 && q.bid_price > q.ask_price { crossed += 1 }
            case UInt8(ascii: "A"):
                auctions += 1
                let a = m.u.auction
                if !"OCIHV".utf8.contains(m.flags) || !"BSN".utf8.contains(UInt8(bitPattern: a.imbalance_side)) { badAuction += 1 }
            default: break
            }
        }
        #expect(!amzn.isEmpty && amzn.allSatisfy { (3_600_000...3_700_000).contains($0) })
        #expect(quotes == 27_217 && crossed == 0)
        #expect(auctions == 642 && badAuction == 0)
    }
}

@Suite("MoldUDP64 ITCH inside a pcap", .enabled(if: RealData.present, RealData.skipReason))
struct MoldCaptureTests {
    /// Packs a day file's messages into MoldUDP64 packets, records them with PcapWriter as multicast
    /// frames, and replays the capture: the books must see exactly what the day-file replay saw.
    @Test func recordedMoldCaptureReplaysLikeTheDayFile() throws {
        let day = RealData.path("12302019_0400_first500_orderflow.NASDAQ_ITCH50")
        let (direct, directRows) = try replay(day)
        let path = TestScratch.path("mold.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }

        let input = try MappedInput(path: day)
        let writer = try PcapWriter(path: path)
        let endpoints = UDPEndpoints(sourceIP: IPv4.parse("10.0.0.1")!, destinationIP: IPv4.parse("233.54.12.111")!,
                                     sourcePort: 40000, destinationPort: 26477)
        let session = Array("0000012345".utf8)
        let cap = 1400
        let packet = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
        defer { packet.deallocate() }
        var seq: UInt64 = 1, packets = 0
        var b = cw_mold_builder()
        func flush() throws {
            guard b.count > 0 else { return }
            try writer.writeUDP(payload: UnsafeRawBufferPointer(start: packet, count: b.len), timestampNs: UInt64(packets), endpoints: endpoints)
            seq += UInt64(b.count); packets += 1
        }
        try withExtendedLifetime(input) {
            let base = input.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var off = 0
            var msg: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            _ = cw_mold_begin(&b, packet, cap, session, seq)
            while cw_dayfile_next(base, input.bytes.count, &off, &msg, &len) == CW_FRAME_MSG, let m = msg {
                if cw_mold_append(&b, m, len) != 0 {
                    try flush()
                    _ = cw_mold_begin(&b, packet, cap, session, seq)
                    #expect(cw_mold_append(&b, m, len) == 0)
                }
            }
            try flush()
            // A heartbeat at the end, as a live feed sends them.
            _ = cw_mold_begin(&b, packet, cap, session, seq)
            try writer.writeUDP(payload: UnsafeRawBufferPointer(start: packet, count: 20), timestampNs: 1 << 40, endpoints: endpoints)
        }
        try writer.flush()
        #expect(writer.records == UInt64(packets + 1) && packets > 10)

        // tshark would read this file: classic pcap, ns magic, Ethernet; checked here through our own reader.
        let recorded = try MappedInput(path: path)
        let r = CaptureReplay(itch: ITCHReplay(books: try Books()))
        var sink = RowSink()
        try withExtendedLifetime(recorded) { try r.run(recorded.bytes, path: path, into: &sink) }
        #expect(r.counts.packets == UInt64(packets + 1) && r.counts.moldPackets == UInt64(packets + 1))
        #expect(r.counts.iexSegments == 0 && r.counts.unknownPayloads == 0 && r.counts.truncatedRecords == 0)
        #expect(r.mold.heartbeats == 1 && r.mold.gaps == 0 && r.mold.malformedPackets == 0)
        #expect(r.itch!.counts.byType == direct.counts.byType)
        #expect(sink.rows == directRows && sink.rows.count == 307)
    }

    @Test func moldRecognition() {
        func mold(_ count: UInt16, _ blocks: [[UInt8]]) -> [UInt8] {
            Array("SESSIONAB1".utf8) + [0, 0, 0, 0, 0, 0, 0, 1] + [UInt8(count >> 8), UInt8(count & 0xFF)]
                + blocks.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
        }
        func check(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { CaptureReplay.looksLikeMold($0) } }
        #expect(check(mold(2, [[1, 2], [3]])))
        #expect(check(mold(0, [])) && check(mold(0xFFFF, [])))
        #expect(!check(mold(2, [[1, 2], [3]]) + [0]))   // bytes past the blocks
        #expect(!check(mold(3, [[1, 2], [3]])))         // count past the blocks
        #expect(!check([1] + mold(1, [[1]]).dropFirst()))   // IEX-TP version byte, not a session name
        #expect(!check(Array(mold(0, []).prefix(19))))
    }
}

@Suite("IEX-TP sequence and malformed-segment accounting")
struct IEXSequenceTests {
    /// An IEX-TP segment of DEEP messages; `count` overrides the header's message count.
    func segment(session: UInt32 = 7, seq: UInt64, _ messages: [[UInt8]], count: Int? = nil) -> [UInt8] {
        let blocks = messages.flatMap { [UInt8($0.count & 0xFF), UInt8($0.count >> 8)] + $0 }
        var h = cw_iextp_header()
        h.version = 1; h.protocol_id = UInt16(CW_IEX_PROTO_DEEP); h.channel_id = 1; h.session_id = session
        h.payload_length = UInt16(blocks.count); h.message_count = UInt16(count ?? messages.count)
        h.first_seq = seq
        var seg = [UInt8](repeating: 0, count: 40)
        let put = seg.withUnsafeMutableBufferPointer { cw_iextp_put_header($0.baseAddress, $0.count, &h) }
        precondition(put == 40, "IEX-TP header refused")
        return seg + blocks
    }

    func trade(_ symbol: String) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: 38)
        m[0] = UInt8(ascii: "T")
        for (i, c) in (symbol + "        ").utf8.prefix(8).enumerated() { m[10 + i] = c }
        return m
    }

    @Test func gapsResetsAndMalformedSegments() throws {
        let path = TestScratch.path("iex.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try PcapWriter(path: path)
        let ep = UDPEndpoints(sourceIP: 1, destinationIP: IPv4.parse("224.2.3.10")!, sourcePort: 1, destinationPort: 16648)
        let system: [UInt8] = [UInt8(ascii: "S"), UInt8(ascii: "O")] + [UInt8](repeating: 0, count: 8)
        let segments: [[UInt8]] = [
            segment(seq: 1, [system, trade("AAPL")]),          // 1, 2
            segment(seq: 3, []),                                // heartbeat: 3 next
            segment(seq: 6, [trade("MSFT")]),                   // gap: 3, 4, 5 missed
            segment(seq: 7, [trade("AAPL"), [UInt8(ascii: "Q")] + [UInt8](repeating: 0, count: 41)]), // Q is TOPS only: malformed message
            segment(seq: 1, [trade("IBM")]),                    // back to 1: a reset
            segment(seq: 2, [trade("IBM")], count: 2),          // count promises a block that is not there
            segment(session: 8, seq: 100, [trade("ZZZ")]),      // a second session starts where it starts
            Array(segment(seq: 3, [trade("X")]).prefix(39)),    // version 1 but shorter than a header
            [0xFF, 0xFF, 0xFF],                                 // neither IEX-TP nor MoldUDP64
        ]
        for (i, s) in segments.enumerated() {
            try s.withUnsafeBytes { try w.writeUDP(payload: $0, timestampNs: UInt64(i), endpoints: ep) }
        }
        // An ARP frame, which is not UDP.
        let arp: [UInt8] = [UInt8](repeating: 0xFF, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        try arp.withUnsafeBytes { try w.write(frame: $0, timestampNs: 99) }
        try w.flush()

        let input = try MappedInput(path: path)
        let r = CaptureReplay()
        try withExtendedLifetime(input) { try r.run(input.bytes, path: path) }
        let c = r.counts
        #expect(c.packets == 10 && c.udpDatagrams == 9 && c.otherFrames == 1 && c.truncatedRecords == 0)
        #expect(c.iexSegments == 7 && c.iexHeartbeats == 1)
        #expect(c.malformedSegments == 2 && c.malformedMessages == 1 && c.unknownPayloads == 1)
        #expect(c.gaps == 1 && c.missedMessages == 3 && c.sequenceResets == 1 && c.sessions == 2)
        #expect(iexCounts(c) == ["S": 1, "T": 6])
        #expect(c.symbols == 4) // AAPL, MSFT, IBM, ZZZ
        #expect(c.firstTimestampNs == 0 && c.lastTimestampNs == 99)
    }
}
