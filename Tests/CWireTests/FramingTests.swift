import CEvent
import CWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

func dayFile(_ messages: [[UInt8]]) -> [UInt8] { messages.flatMap { be(UInt64($0.count), 2) + $0 } }

/// Walks a day file; returns the messages and the final result.
func walk(_ buf: [UInt8]) -> (messages: [[UInt8]], result: cw_frame_result, offset: Int) {
    var out: [[UInt8]] = []
    var off = 0
    var r = CW_FRAME_END
    buf.withUnsafeBufferPointer { b in
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        while true {
            r = cw_dayfile_next(b.baseAddress, b.count, &off, &msg, &len)
            guard r == CW_FRAME_MSG, let m = msg else { break }
            out.append(Array(UnsafeBufferPointer(start: m, count: Int(len))))
        }
    }
    return (out, r, off)
}

@Suite("Day-file and MoldUDP64 framing")
struct FramingTests {
    let d1 = message("D", be(1, 8)), d2 = message("D", be(2, 8))

    @Test func dayFileWalksEveryRecord() {
        let w = walk(dayFile([d1, d2]))
        #expect(w.messages == [d1, d2] && w.result == CW_FRAME_END)
        #expect(walk([]).result == CW_FRAME_END)
    }

    @Test func truncatedLengthPrefixAndBody() {
        var buf = dayFile([d1, d2])
        buf.removeLast()  // body of the second record one byte short
        var w = walk(buf)
        #expect(w.messages == [d1] && w.result == CW_FRAME_TRUNCATED && w.offset == d1.count + 2)
        w = walk(dayFile([d1]) + [0x00])  // half a length prefix
        #expect(w.messages == [d1] && w.result == CW_FRAME_TRUNCATED)
        w = walk([0xFF, 0xFF, 1, 2, 3])  // a length far past the end
        #expect(w.messages.isEmpty && w.result == CW_FRAME_TRUNCATED && w.offset == 0)
    }

    @Test func scanCountsTypesAndMalformed() {
        let bad = message("D", be(1, 7))
        let buf = dayFile([d1, bad, d2, message("Z", [])]) + [0x00, 0x10]
        var stats = cw_scan_stats()
        cw_scan_stats_reset(&stats)
        let end = buf.withUnsafeBufferPointer { cw_scan_dayfile($0.baseAddress, $0.count, 0, &stats) }
        #expect(stats.messages == 2 && withUnsafeBytes(of: stats.by_type) { $0.load(fromByteOffset: 8 * Int(UInt8(ascii: "D")), as: UInt64.self) } == 2)
        #expect(stats.malformed == 2)
        #expect(stats.truncated_at == UInt64(end) && end == buf.count - 2)
    }

    func packet(session: String = "TESTSESS01", seq: UInt64, _ msgs: [[UInt8]]) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 1500)
        let name = Array(session.utf8)
        var b = cw_mold_builder()
        buf.withUnsafeMutableBufferPointer { p in
            cw_mold_begin(&b, p.baseAddress, p.count, name, seq)
            for m in msgs { _ = m.withUnsafeBufferPointer { cw_mold_append(&b, $0.baseAddress, UInt16($0.count)) } }
        }
        return Array(buf[0..<b.len])
    }

    func blocks(_ pkt: [UInt8]) -> (header: cw_mold_header?, messages: [[UInt8]], result: cw_frame_result) {
        var h = cw_mold_header()
        var out: [[UInt8]] = []
        var r = CW_FRAME_END
        let ok = pkt.withUnsafeBufferPointer { p -> Bool in
            guard cw_mold_parse_header(p.baseAddress, p.count, &h) == 0 else { return false }
            var c = cw_mold_cursor()
            cw_mold_cursor_init(&c, p.baseAddress, p.count, &h)
            var msg: UnsafePointer<UInt8>?
            var len: UInt16 = 0
            while true {
                r = cw_mold_next(&c, &msg, &len)
                guard r == CW_FRAME_MSG, let m = msg else { break }
                out.append(Array(UnsafeBufferPointer(start: m, count: Int(len))))
            }
            return true
        }
        return (ok ? h : nil, out, r)
    }

    @Test func moldPacketRoundTrip() {
        let pkt = packet(seq: 41, [d1, d2])
        #expect(pkt.count == 20 + 2 * (2 + 19))
        let b = blocks(pkt)
        #expect(b.header?.sequence == 41 && b.header?.count == 2 && b.messages == [d1, d2] && b.result == CW_FRAME_END)
        #expect(withUnsafeBytes(of: b.header!.session) { Array($0) } == Array("TESTSESS01".utf8))
    }

    @Test func moldHeartbeatAndEndOfSession() {
        let hb = blocks(packet(seq: 9, []))
        #expect(hb.header?.count == UInt16(CW_MOLD_HEARTBEAT) && hb.messages.isEmpty)
        var eos = packet(seq: 9, [])
        eos[18] = 0xFF; eos[19] = 0xFF
        let e = blocks(eos)
        #expect(e.header?.count == UInt16(CW_MOLD_END_OF_SESSION) && e.messages.isEmpty && e.result == CW_FRAME_END)
    }

    @Test func moldMalformedPackets() {
        #expect(blocks(Array(packet(seq: 1, [d1]).prefix(19))).header == nil)  // shorter than the header
        var lying = packet(seq: 1, [d1])
        lying[19] = 3  // promises three blocks, carries one
        let l = blocks(lying)
        #expect(l.messages == [d1] && l.result == CW_FRAME_TRUNCATED)
        let cut = blocks(Array(packet(seq: 1, [d1, d2]).dropLast(5)))  // second block cut short
        #expect(cut.messages == [d1] && cut.result == CW_FRAME_TRUNCATED)
    }

    /// cw_mold_events of `pkt` at stream offset 1000 (source 5, rx_tsc 77), counted into `c`.
    func events(_ pkt: [UInt8], into c: inout cw_mold_event_counts) -> [omni_event] {
        var out = [omni_event](repeating: omni_event(), count: max(pkt.count - 20, 0) / 14) // CW_MOLD_MAX_EVENTS
        let n = pkt.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { cw_mold_events(p.baseAddress, p.count, 1000, 5, 77, $0.baseAddress, $0.count, &c) }
        }
        return Array(out.prefix(Int(max(n, 0))))
    }

    @Test func moldEventsOnePerWellFormedMessage() {
        var c = cw_mold_event_counts()
        let bad = message("D", be(1, 7)) // a Delete one byte short
        let ev = events(packet(seq: 41, [d1, bad, d2]), into: &c)
        #expect(ev.count == 2 && c.packets == 1 && c.messages == 2 && c.malformed == 1 && c.truncated == 0 && c.trailing == 0)
        #expect(ev.map(\.seq) == [41, 43]) // the malformed block keeps its number
        #expect(ev.map { $0.itch.offset } == [1000 + 22, 1000 + 22 + 21 + 20]) // type bytes, blocks of 21 and 20 bytes between
        #expect(ev.allSatisfy {
            $0.type == UInt8(OMNI_EV_ITCH.rawValue) && $0.locate == 7 && $0.source == 5 && $0.rx_tsc == 77
                && $0.itch.length == 19 && $0.itch.msg_type == UInt8(ascii: "D")
        })
        #expect(ev.map(\.flags) == [0, UInt8(OMNI_EVF_LAST_IN_PACKET)])
    }

    @Test func moldEventsHeartbeatEndTruncatedTrailing() {
        var c = cw_mold_event_counts()
        #expect(events(packet(seq: 9, []), into: &c).isEmpty && c.heartbeats == 1)
        var eos = packet(seq: 9, [])
        eos[18] = 0xFF; eos[19] = 0xFF
        #expect(events(eos, into: &c).isEmpty && c.end_of_session == 1)
        let cut = events(Array(packet(seq: 1, [d1, d2]).dropLast(5)), into: &c) // second block cut short
        #expect(cut.count == 1 && cut[0].flags == 0 && c.truncated == 1)
        #expect(events(Array(packet(seq: 1, [d1]).prefix(19)), into: &c).isEmpty && c.truncated == 2) // no whole header
        let long = events(packet(seq: 1, [d1]) + [0, 0, 0], into: &c)
        #expect(long.count == 1 && long[0].flags == UInt8(OMNI_EVF_LAST_IN_PACKET) && c.trailing == 1)
        #expect(c.packets == 5 && c.messages == 2 && c.malformed == 0)
        var one = [omni_event](repeating: omni_event(), count: 1)
        let pkt = packet(seq: 1, [d1, d2]) // room for up to 3 events needed
        let r = pkt.withUnsafeBufferPointer { p in
            one.withUnsafeMutableBufferPointer { cw_mold_events(p.baseAddress, p.count, 0, 0, 0, $0.baseAddress, $0.count, &c) }
        }
        #expect(r == -ENOSPC && c.packets == 5)
    }

    @Test func moldBuilderRefusesWhatDoesNotFit() {
        var buf = [UInt8](repeating: 0, count: 20 + 21 + 10)
        var b = cw_mold_builder()
        let name = Array("S".utf8) + [UInt8](repeating: 32, count: 9)
        let (first, second) = buf.withUnsafeMutableBufferPointer { p -> (Int32, Int32) in
            cw_mold_begin(&b, p.baseAddress, p.count, name, 1)
            let a = d1.withUnsafeBufferPointer { cw_mold_append(&b, $0.baseAddress, 19) }
            let c = d2.withUnsafeBufferPointer { cw_mold_append(&b, $0.baseAddress, 19) }
            return (a, c)
        }
        #expect(first == 0 && second == -ENOSPC && b.count == 1 && b.len == 41)
        var tiny = [UInt8](repeating: 0, count: 10)
        let begun = tiny.withUnsafeMutableBufferPointer { cw_mold_begin(&b, $0.baseAddress, $0.count, name, 1) }
        let appended = d1.withUnsafeBufferPointer { cw_mold_append(&b, $0.baseAddress, 19) }
        #expect(begun == -ENOSPC && appended == -ENOSPC && tiny.allSatisfy { $0 == 0 })
    }

    @Test func moldCursorOnAPacketShorterThanTheHeaderYieldsNothing() {
        var h = cw_mold_header()
        h.count = 5
        let short: [UInt8] = [0, 19, 1, 2, 3]
        var c = cw_mold_cursor()
        var msg: UnsafePointer<UInt8>?
        var len: UInt16 = 0
        let r = short.withUnsafeBufferPointer { p -> cw_frame_result in
            cw_mold_cursor_init(&c, p.baseAddress, p.count, &h)
            return cw_mold_next(&c, &msg, &len)
        }
        #expect(r == CW_FRAME_END && msg == nil)
    }
}
