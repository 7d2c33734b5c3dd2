import CWire
import Testing

// Byte helpers `be` and `ascii` come from ITCHDecodeTests.swift.

func token(_ s: String) -> cw_ouch_token { s.withCString { cw_ouch_make_token($0, strlen($0)) } }
private func strlen(_ p: UnsafePointer<CChar>) -> Int { var n = 0; while p[n] != 0 { n += 1 }; return n }
func ch(_ c: Character) -> CChar { CChar(bitPattern: c.asciiValue!) }
func fill<T>(_ field: inout T, _ s: String) { withUnsafeMutableBytes(of: &field) { r in for (i, b) in ascii(s, r.count).enumerated() { r[i] = b } } }

/// Encodes with `body` into a fresh buffer and returns the bytes written.
func encoded(_ cap: Int = 256, _ body: (UnsafeMutablePointer<UInt8>) -> Int) -> [UInt8] {
    var b = [UInt8](repeating: 0xEE, count: cap)
    let n = b.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    return Array(b.prefix(n))
}

func decodeIn(_ m: [UInt8]) -> (cw_ouch_status, cw_ouch_in) {
    var out = cw_ouch_in()
    let st = m.withUnsafeBufferPointer { cw_ouch_decode_in($0.baseAddress, $0.count, &out) }
    return (st, out)
}

func decodeOut(_ m: [UInt8]) -> (cw_ouch_status, cw_ouch_out) {
    var out = cw_ouch_out()
    let st = m.withUnsafeBufferPointer { cw_ouch_decode_out($0.baseAddress, $0.count, &out) }
    return (st, out)
}

/// All packets of a SoupBinTCP byte stream fed in the given pieces: (type, payload) per packet, and the last status.
func soupPackets(_ pieces: [[UInt8]], maxLen: UInt16 = 1024) -> ([(UInt8, [UInt8])], cw_soup_status) {
    let cap = cw_soup_rx_storage(maxLen)
    let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
    defer { storage.deallocate() }
    var rx = cw_soup_rx()
    #expect(cw_soup_rx_init(&rx, storage, cap, maxLen) == 0)
    var out: [(UInt8, [UInt8])] = []
    var st = CW_SOUP_NEED_MORE
    for piece in pieces {
        let taken = piece.withUnsafeBufferPointer { cw_soup_rx_feed(&rx, $0.baseAddress, $0.count) }
        #expect(taken == piece.count)
        var pkt = cw_soup_packet()
        while true {
            st = cw_soup_rx_next(&rx, &pkt)
            guard st == CW_SOUP_OK else { break }
            out.append((pkt.type, Array(UnsafeBufferPointer(start: pkt.payload, count: Int(pkt.payload_len)))))
        }
        if st != CW_SOUP_NEED_MORE { break }
    }
    return (out, st)
}

@Suite("SoupBinTCP 3.0 codec")
struct SoupCodecTests {
    @Test func loginRequestLayout() {
        let b = encoded { cw_soup_put_login_request($0, 256, "trader", 6, "secret", 6, "", 0, 1234) }
        #expect(b.count == 49)
        #expect(Array(b[0..<3]) == [0, 47, UInt8(ascii: "L")])
        #expect(Array(b[3..<9]) == Array("trader".utf8))
        #expect(Array(b[9..<19]) == ascii("secret", 10))       // alpha: left-justified, space padded
        #expect(Array(b[19..<29]) == ascii("", 10))            // blank session: the current one
        #expect(Array(b[29..<49]) == Array((String(repeating: " ", count: 16) + "1234").utf8)) // numeric: right-justified
        let (pk, st) = soupPackets([b])
        #expect(st == CW_SOUP_NEED_MORE && pk.count == 1 && pk[0].0 == UInt8(ascii: "L") && pk[0].1.count == 46)
        var req = cw_soup_login_request()
        let rc = pk[0].1.withUnsafeBufferPointer { p in
            var pkt = cw_soup_packet(type: pk[0].0, payload_len: UInt16(p.count), payload: p.baseAddress)
            return cw_soup_parse_login_request(&pkt, &req)
        }
        #expect(rc == 0 && req.sequence == 1234 && text(req.username) == "trader" && text(req.password) == "secret    ")
        // a wrong payload length or a non-numeric sequence is refused
        var short = Array(pk[0].1.dropLast())
        #expect(short.withUnsafeMutableBufferPointer { p in
            var pkt = cw_soup_packet(type: pk[0].0, payload_len: UInt16(p.count), payload: p.baseAddress)
            return cw_soup_parse_login_request(&pkt, &req)
        } == -EMSGSIZE)
        short = pk[0].1
        short[45] = UInt8(ascii: "x")
        #expect(short.withUnsafeMutableBufferPointer { p in
            var pkt = cw_soup_packet(type: pk[0].0, payload_len: UInt16(p.count), payload: p.baseAddress)
            return cw_soup_parse_login_request(&pkt, &req)
        } == -EINVAL)
    }

    @Test func loginAcceptedRejectedAndEmptyPackets() {
        let a = encoded { cw_soup_put_login_accepted($0, 256, "SESS1", 5, 42) }
        #expect(a.count == 33 && Array(a[0..<3]) == [0, 31, UInt8(ascii: "A")])
        #expect(Array(a[3..<13]) == Array("     SESS1".utf8))
        #expect(Array(a[13..<33]) == Array((String(repeating: " ", count: 18) + "42").utf8))
        let (pk, st) = soupPackets([a])
        #expect(st == CW_SOUP_NEED_MORE && pk.count == 1)
        var acc = cw_soup_login_accepted()
        pk[0].1.withUnsafeBufferPointer { p in
            var pkt = cw_soup_packet(type: pk[0].0, payload_len: UInt16(p.count), payload: p.baseAddress)
            #expect(cw_soup_parse_login_accepted(&pkt, &acc) == 0)
        }
        #expect(acc.sequence == 42 && text(acc.session) == "     SESS1")

        let j = encoded { cw_soup_put_login_rejected($0, 256, UInt8(ascii: "S")) }
        #expect(j == [0, 2, UInt8(ascii: "J"), UInt8(ascii: "S")])
        for t in "HZROR" {
            #expect(encoded { cw_soup_put_empty($0, 256, t.asciiValue!) } == [0, 1, t.asciiValue!])
        }
        #expect(encoded(2) { cw_soup_put_empty($0, 2, UInt8(ascii: "H")) } == [])  // no room: nothing written
        let s = encoded { cw_soup_put_packet($0, 256, UInt8(ascii: "S"), [1, 2, 3], 3) }
        #expect(s == [0, 4, UInt8(ascii: "S"), 1, 2, 3])
    }

    @Test func numericFields() {
        func parse(_ s: String) -> UInt64? {
            var v: UInt64 = 0
            let b = Array(s.utf8)
            return b.withUnsafeBufferPointer { cw_soup_parse_numeric($0.baseAddress, $0.count, &v) } == 0 ? v : nil
        }
        #expect(parse("                   7") == 7)
        #expect(parse("00000000000000000012") == 12)
        #expect(parse("                    ") == 0)
        #expect(parse("18446744073709551615") == UInt64.max)
        #expect(parse("18446744073709551616") == nil)   // past u64
        #expect(parse("      12x           ") == nil)
        #expect(parse("   1 2              ") == nil)
        let b = encoded { p in cw_soup_put_numeric(p, 20, UInt64.max); return 20 }
        #expect(String(decoding: b, as: UTF8.self) == "18446744073709551615")
    }

    /// Four packets of different types and sizes, cut at every point into two reads, and fed byte by byte.
    @Test func streamDecoderAcrossEverySplitPoint() {
        let login = encoded { cw_soup_put_login_accepted($0, 256, "S", 1, 1) }
        let seq1 = encoded { cw_soup_put_packet($0, 256, UInt8(ascii: "S"), Array(repeating: 0xAB, count: 66), 66) }
        let hb = encoded { cw_soup_put_empty($0, 256, UInt8(ascii: "H")) }
        let seq2 = encoded { cw_soup_put_packet($0, 256, UInt8(ascii: "S"), [0, 1, 2, 0xFF], 4) }
        let stream = login + seq1 + hb + seq2
        let whole = soupPackets([stream])
        #expect(whole.1 == CW_SOUP_NEED_MORE)
        #expect(whole.0.map(\.0) == [UInt8(ascii: "A"), UInt8(ascii: "S"), UInt8(ascii: "H"), UInt8(ascii: "S")])
        #expect(whole.0[1].1 == Array(repeating: 0xAB, count: 66) && whole.0[2].1 == [] && whole.0[3].1 == [0, 1, 2, 0xFF])
        for cut in 0...stream.count {
            let r = soupPackets([Array(stream[..<cut]), Array(stream[cut...])])
            #expect(r.1 == CW_SOUP_NEED_MORE)
            #expect(r.0.map(\.0) == whole.0.map(\.0) && r.0.map(\.1) == whole.0.map(\.1), "split at \(cut)")
        }
        for a in stride(from: 1, to: stream.count, by: 7) {   // three reads
            for b in a..<stream.count {
                let r = soupPackets([Array(stream[..<a]), Array(stream[a..<b]), Array(stream[b...])])
                #expect(r.0.map(\.1) == whole.0.map(\.1), "split at \(a), \(b)")
            }
        }
        let bytewise = soupPackets(stream.map { [$0] })
        #expect(bytewise.0.map(\.1) == whole.0.map(\.1))
        // a partial packet at the end stays pending, never delivered
        let partial = soupPackets([Array(stream.dropLast())])
        #expect(partial.0.count == 3 && partial.1 == CW_SOUP_NEED_MORE)
    }

    @Test func oversizeAndZeroLengthAreProtocolErrors() {
        let ok = encoded { cw_soup_put_empty($0, 256, UInt8(ascii: "H")) }
        var r = soupPackets([ok + [0x04, 0x01, UInt8(ascii: "S")] + ok], maxLen: 1024)  // 1025 > 1024
        #expect(r.0.count == 1 && r.1 == CW_SOUP_ERR_LENGTH)
        r = soupPackets([ok + [0x00, 0x00] + ok])                                         // no type byte
        #expect(r.0.count == 1 && r.1 == CW_SOUP_ERR_LENGTH)
        r = soupPackets([[0x04], [0x01]], maxLen: 1024)                                  // detected once both bytes are in
        #expect(r.0.isEmpty && r.1 == CW_SOUP_ERR_LENGTH)
        // a length exactly at the limit is fine, and the error is sticky
        let big = encoded(2000) { cw_soup_put_packet($0, 2000, UInt8(ascii: "S"), Array(repeating: 7, count: 1023), 1023) }
        r = soupPackets([big], maxLen: 1024)
        #expect(r.0.count == 1 && r.0[0].1.count == 1023)
        // storage smaller than two largest packets is refused
        var rx = cw_soup_rx()
        var tiny = [UInt8](repeating: 0, count: 100)
        #expect(tiny.withUnsafeMutableBufferPointer { cw_soup_rx_init(&rx, $0.baseAddress, 100, 1024) } == -ENOSPC)
    }
}

@Suite("OUCH 4.2 codec")
struct OuchCodecTests {
    let tok = ascii("ORD00000000001", 14), tok2 = ascii("ORD00000000002", 14)

    @Test func enterOrderAtSpecOffsets() {
        // O token[1] side[15] shares[16] stock[20] price[28] tif[32] firm[36] display[40] capacity[41]
        // ise[42] minqty[43] cross[47] customer[48] = 49 bytes
        let m: [UInt8] = [UInt8(ascii: "O")] + tok + [UInt8(ascii: "B")] + be(300, 4) + ascii("AAPL", 8) + be(1_234_500, 4)
            + be(99_999, 4) + ascii("FIRM", 4) + Array("YAN".utf8) + be(100, 4) + Array("NR".utf8)
        #expect(m.count == 49)
        let (st, d) = decodeIn(m)
        #expect(st == CW_OUCH_OK && d.type == UInt8(ascii: "O"))
        let e = d.u.enter
        #expect(text(e.token) == "ORD00000000001" && e.side == ch("B") && e.shares == 300 && text(e.stock) == "AAPL    ")
        #expect(e.price == 1_234_500 && e.tif == 99_999 && text(e.firm) == "FIRM" && e.display == ch("Y"))
        #expect(e.capacity == ch("A") && e.ise == ch("N") && e.min_qty == 100 && e.cross_type == ch("N") && e.customer_type == ch("R"))
        var copy = e
        #expect(encoded { cw_ouch_put_enter($0, 256, &copy) } == m)
    }

    @Test func replaceCancelModifyAtSpecOffsets() {
        // U existing[1] replacement[15] shares[29] price[33] tif[37] display[41] ise[42] minqty[43] = 47
        let u: [UInt8] = [UInt8(ascii: "U")] + tok + tok2 + be(500, 4) + be(99_000, 4) + be(0, 4) + Array("YN".utf8) + be(0, 4)
        var (st, d) = decodeIn(u)
        #expect(st == CW_OUCH_OK && u.count == 47)
        var r = d.u.replace
        #expect(text(r.existing) == "ORD00000000001" && text(r.replacement) == "ORD00000000002")
        #expect(r.shares == 500 && r.price == 99_000 && r.tif == 0 && r.display == ch("Y") && r.ise == ch("N") && r.min_qty == 0)
        #expect(encoded { cw_ouch_put_replace($0, 256, &r) } == u)

        let x: [UInt8] = [UInt8(ascii: "X")] + tok + be(0, 4)
        (st, d) = decodeIn(x)
        #expect(st == CW_OUCH_OK && x.count == 19 && d.u.cancel.shares == 0 && text(d.u.cancel.token) == "ORD00000000001")
        var t = d.u.cancel.token
        #expect(encoded { cw_ouch_put_cancel($0, 256, &t, 0) } == x)

        let mm: [UInt8] = [UInt8(ascii: "M")] + tok + [UInt8(ascii: "T")] + be(70, 4)
        (st, d) = decodeIn(mm)
        #expect(st == CW_OUCH_OK && mm.count == 20 && d.u.modify.side == ch("T") && d.u.modify.shares == 70)
        #expect(encoded { cw_ouch_put_modify($0, 256, &t, ch("T"), 70) } == mm)
    }

    /// Accepted and Replaced share bytes 9..64.
    func orderBody(side: Character = "S", state: Character = "L") -> [UInt8] {
        [side.asciiValue!] + be(200, 4) + ascii("MSFT", 8) + be(3_000_000, 4) + be(86_399, 4) + ascii("OMNI", 4)
            + [UInt8(ascii: "Y")] + be(0x0102_0304_0506_0708, 8) + Array("AN".utf8) + be(0, 4) + [UInt8(ascii: "N"), state.asciiValue!]
    }
    let ts: UInt64 = 34_200_000_000_123

    @Test func acceptedAndReplacedAtSpecOffsets() {
        let a: [UInt8] = [UInt8(ascii: "A")] + be(ts, 8) + tok + orderBody() + [UInt8(ascii: " ")]
        #expect(a.count == 66)
        var (st, d) = decodeOut(a)
        #expect(st == CW_OUCH_OK && d.type == UInt8(ascii: "A") && d.timestamp == ts)
        var acc = d.u.accepted
        #expect(text(acc.token) == "ORD00000000001" && acc.side == ch("S") && acc.shares == 200 && text(acc.stock) == "MSFT    ")
        #expect(acc.price == 3_000_000 && acc.tif == 86_399 && text(acc.firm) == "OMNI" && acc.display == ch("Y"))
        #expect(acc.order_ref == 0x0102_0304_0506_0708 && acc.capacity == ch("A") && acc.ise == ch("N"))
        #expect(acc.min_qty == 0 && acc.cross_type == ch("N") && acc.order_state == ch("L") && acc.bbo_weight == ch(" "))
        #expect(encoded { cw_ouch_put_accepted($0, 256, ts, &acc) } == a)

        let u: [UInt8] = [UInt8(ascii: "U")] + be(ts, 8) + tok2 + orderBody(state: "D") + tok + [UInt8(ascii: "2")]
        #expect(u.count == 80)
        (st, d) = decodeOut(u)
        #expect(st == CW_OUCH_OK && d.type == UInt8(ascii: "U"))
        var rep = d.u.replaced
        #expect(text(rep.token) == "ORD00000000002" && text(rep.previous) == "ORD00000000001")
        #expect(rep.order_state == ch("D") && rep.bbo_weight == ch("2") && rep.order_ref == 0x0102_0304_0506_0708 && rep.shares == 200)
        #expect(encoded { cw_ouch_put_replaced($0, 256, ts, &rep) } == u)
    }

    @Test func shortOutboundMessagesAtSpecOffsets() {
        var t = token("ORD00000000001")
        let head: (Character) -> [UInt8] = { [$0.asciiValue!] + be(self.ts, 8) + self.tok }

        let s: [UInt8] = [UInt8(ascii: "S")] + be(ts, 8) + [UInt8(ascii: "E")]
        var (st, d) = decodeOut(s)
        #expect(st == CW_OUCH_OK && d.u.system_event.event_code == ch("E") && d.timestamp == ts)
        #expect(encoded { cw_ouch_put_system_event($0, 256, ts, ch("E")) } == s)

        let c = head("C") + be(100, 4) + [UInt8(ascii: "U")]
        (st, d) = decodeOut(c)
        #expect(st == CW_OUCH_OK && c.count == 28 && d.u.canceled.decrement == 100 && d.u.canceled.reason == ch("U"))
        #expect(encoded { cw_ouch_put_canceled($0, 256, ts, &t, 100, ch("U")) } == c)

        let aiq = head("D") + be(100, 4) + [UInt8(ascii: "Q")] + be(40, 4) + be(1_000_000, 4) + [UInt8(ascii: "A")]
        (st, d) = decodeOut(aiq)
        var q = d.u.aiq_canceled
        #expect(st == CW_OUCH_OK && aiq.count == 37 && q.decrement == 100 && q.reason == ch("Q"))
        #expect(q.prevented == 40 && q.price == 1_000_000 && q.liquidity == ch("A"))
        #expect(encoded { cw_ouch_put_aiq_canceled($0, 256, ts, &q) } == aiq)

        let e = head("E") + be(50, 4) + be(1_500_000, 4) + [UInt8(ascii: "R")] + be(987_654_321, 8)
        (st, d) = decodeOut(e)
        let ex = d.u.executed
        #expect(st == CW_OUCH_OK && e.count == 40 && ex.shares == 50 && ex.price == 1_500_000 && ex.liquidity == ch("R") && ex.match == 987_654_321)
        #expect(encoded { cw_ouch_put_executed($0, 256, ts, &t, 50, 1_500_000, ch("R"), 987_654_321) } == e)

        let b = head("B") + be(987_654_321, 8) + [UInt8(ascii: "E")]
        (st, d) = decodeOut(b)
        #expect(st == CW_OUCH_OK && b.count == 32 && d.u.broken_trade.match == 987_654_321 && d.u.broken_trade.reason == ch("E"))
        #expect(encoded { cw_ouch_put_broken_trade($0, 256, ts, &t, 987_654_321, ch("E")) } == b)

        let j = head("J") + [UInt8(ascii: "X")]
        (st, d) = decodeOut(j)
        #expect(st == CW_OUCH_OK && j.count == 24 && d.u.rejected.reason == ch("X") && text(d.u.rejected.token) == "ORD00000000001")
        #expect(encoded { cw_ouch_put_rejected($0, 256, ts, &t, ch("X")) } == j)

        let p = head("P")
        (st, d) = decodeOut(p)
        #expect(st == CW_OUCH_OK && p.count == 23 && text(d.u.cancel_pending.token) == "ORD00000000001")
        #expect(encoded { cw_ouch_put_cancel_pending($0, 256, ts, &t) } == p)

        let i = head("I")
        (st, d) = decodeOut(i)
        #expect(st == CW_OUCH_OK && i.count == 23 && text(d.u.cancel_reject.token) == "ORD00000000001")
        #expect(encoded { cw_ouch_put_cancel_reject($0, 256, ts, &t) } == i)

        let m = head("M") + [UInt8(ascii: "B")] + be(25, 4)
        (st, d) = decodeOut(m)
        #expect(st == CW_OUCH_OK && m.count == 28 && d.u.modified.side == ch("B") && d.u.modified.shares == 25)
        #expect(encoded { cw_ouch_put_modified($0, 256, ts, &t, ch("B"), 25) } == m)
    }

    @Test func malformedMessagesAreRejectedWithTheirCause() {
        #expect(decodeIn([]).0 == CW_OUCH_EMPTY && decodeOut([]).0 == CW_OUCH_EMPTY)
        #expect(decodeIn([UInt8(ascii: "A")] + Array(repeating: 0x20, count: 65)).0 == CW_OUCH_UNKNOWN_TYPE) // outbound-only type
        #expect(decodeOut([UInt8(ascii: "O")] + Array(repeating: 0x20, count: 48)).0 == CW_OUCH_UNKNOWN_TYPE) // inbound-only type
        // every type one byte short and one byte long
        for (t, n) in [("O", 49), ("U", 47), ("X", 19), ("M", 20)] {
            let m = [Character(t).asciiValue!] + Array(repeating: UInt8(ascii: "B"), count: n)
            #expect(decodeIn(Array(m.prefix(n - 1))).0 == CW_OUCH_BAD_LENGTH, "\(t) short")
            #expect(decodeIn(m).0 == CW_OUCH_BAD_LENGTH, "\(t) long")
        }
        for (t, n) in [("S", 10), ("A", 66), ("U", 80), ("C", 28), ("D", 37), ("E", 40), ("B", 32), ("J", 24), ("P", 23), ("I", 23), ("M", 28)] {
            let m = [Character(t).asciiValue!] + Array(repeating: UInt8(ascii: "S"), count: n)
            #expect(decodeOut(Array(m.prefix(n - 1))).0 == CW_OUCH_BAD_LENGTH, "\(t) short")
            #expect(decodeOut(m).0 == CW_OUCH_BAD_LENGTH, "\(t) long")
            #expect(decodeOut([m[0]]).0 == CW_OUCH_BAD_LENGTH)
        }
        let good: [UInt8] = [UInt8(ascii: "O")] + tok + [UInt8(ascii: "B")] + be(300, 4) + ascii("AAPL", 8) + be(1_234_500, 4)
            + be(0, 4) + ascii("FIRM", 4) + Array("YAN".utf8) + be(0, 4) + Array("NN".utf8)
        #expect(decodeIn(good).0 == CW_OUCH_OK)
        var bad = good; bad[15] = UInt8(ascii: "X")
        #expect(decodeIn(bad).0 == CW_OUCH_BAD_SIDE)
        bad = good; bad.replaceSubrange(32..<36, with: be(86_400, 4))
        #expect(decodeIn(bad).0 == CW_OUCH_BAD_TIF)
        bad = good; bad.replaceSubrange(32..<36, with: be(99_998, 4))
        #expect(decodeIn(bad).0 == CW_OUCH_OK)
        bad = good; bad[5] = 0x01
        #expect(decodeIn(bad).0 == CW_OUCH_BAD_TOKEN)
        bad = good; bad[42] = UInt8(ascii: "Q")
        #expect(decodeIn(bad).0 == CW_OUCH_BAD_VALUE)
        let modifyToBuy: [UInt8] = [UInt8(ascii: "M")] + tok + [UInt8(ascii: "B")] + be(1, 4)
        #expect(decodeIn(modifyToBuy).0 == CW_OUCH_BAD_SIDE)
        var acc: [UInt8] = [UInt8(ascii: "A")] + be(ts, 8) + tok + orderBody(state: "Z") + [0x20]
        #expect(decodeOut(acc).0 == CW_OUCH_BAD_VALUE)
        acc = [UInt8(ascii: "A")] + be(ts, 8) + tok + orderBody(side: "Q") + [0x20]
        #expect(decodeOut(acc).0 == CW_OUCH_BAD_SIDE)
        #expect(decodeOut([UInt8(ascii: "S")] + be(ts, 8) + [UInt8(ascii: "X")]).0 == CW_OUCH_BAD_VALUE)
    }
}
