import CWire
import Foundation
import Testing

/// "|" stands for SOH in the literals below.
private func soh(_ s: String) -> [UInt8] { Array(s.utf8).map { $0 == UInt8(ascii: "|") ? 1 : $0 } }

/// Builds a message with the CWire builder from (tag, value) body fields.
private func build(_ fields: [(UInt32, String)]) -> [UInt8] {
    var buf = [UInt8](repeating: 0, count: 4096)
    return buf.withUnsafeMutableBufferPointer { p in
        var b = cw_fix_builder()
        cw_fix_begin(&b, p.baseAddress, p.count)
        for (t, v) in fields { let u = Array(v.utf8); cw_fix_add(&b, t, u, u.count) }
        var start = 0
        let n = cw_fix_finish(&b, &start)
        return Array(p[start..<start + n])
    }
}

/// Wraps a raw body ("35=...|...|") with a correct header and trailer, whatever the body holds.
private func frame(_ body: String) -> [UInt8] {
    let b = soh(body)
    var m = soh("8=FIX.4.4|9=\(b.count)|") + b
    let sum = m.reduce(0) { ($0 + Int($1)) & 0xFF }
    m += soh("10=" + String(format3(sum)) + "|")
    return m
}
private func format3(_ v: Int) -> String { let s = String(v); return String(repeating: "0", count: 3 - s.count) + s }

private struct Parsed { var rc: Int; var consumed: Int; var fields: [(UInt32, String)]; var errTag: UInt32; var seq: UInt64 }

private func parse(_ bytes: [UInt8]) -> Parsed {
    let f = UnsafeMutablePointer<cw_fix_field>.allocate(capacity: 64)
    defer { f.deallocate() }
    var m = cw_fix_msg()
    m.fields = f
    m.cap = 64
    var consumed = 0
    let rc = bytes.withUnsafeBufferPointer { cw_fix_parse($0.baseAddress, $0.count, &m, &consumed) }
    var out: [(UInt32, String)] = []
    if Int(rc) == CW_FIX_OK || rc < 0 {
        for i in 0..<Int(m.count) {
            let x = f[i]
            out.append((x.tag, String(decoding: UnsafeBufferPointer(start: x.val, count: Int(x.len)), as: UTF8.self)))
        }
    }
    return Parsed(rc: Int(rc), consumed: consumed, fields: out, errTag: m.err_tag, seq: m.msg_seq_num)
}

private let nos: [(UInt32, String)] = [(35, "D"), (49, "CLI"), (56, "OMNI"), (34, "12"), (52, "20261123-13:55:00.123"),
                                       (11, "ord-1"), (55, "AAPL"), (54, "1"), (38, "100"), (40, "2"), (44, "187.25"), (59, "0")]

@Suite struct FixCodecTests {
    @Test func roundTripKeepsEveryField() {
        let m = build(nos)
        let p = parse(m)
        #expect(p.rc == CW_FIX_OK)
        #expect(p.consumed == m.count)
        #expect(p.seq == 12)
        #expect(p.fields.first!.0 == 8 && p.fields.first!.1 == "FIX.4.4")
        #expect(p.fields.last!.0 == 10)
        let body = p.fields.dropFirst(2).dropLast()
        #expect(body.map(\.0) == nos.map(\.0))
        #expect(body.map(\.1) == nos.map(\.1))
    }

    @Test func builderWritesStandardBodyLengthAndChecksum() {
        // Reference message checked by hand: body "35=0|49=A|56=B|34=1|" is 20 bytes.
        let m = build([(35, "0"), (49, "A"), (56, "B"), (34, "1")])
        let text = String(decoding: m.map { $0 == 1 ? UInt8(ascii: "|") : $0 }, as: UTF8.self)
        #expect(text.hasPrefix("8=FIX.4.4|9=20|35=0|49=A|56=B|34=1|10="))
        let sum = m[..<(m.count - 7)].reduce(0) { ($0 + Int($1)) & 0xFF }
        #expect(text.hasSuffix("10=\(format3(sum))|"))
        #expect(m == frame("35=0|49=A|56=B|34=1|"))
    }

    @Test func pricesConvertToFourImpliedDecimals() {
        func px(_ s: String) -> Int64? { var v: Int64 = 0; let u = Array(s.utf8); return cw_fix_price4(u, UInt32(u.count), &v) == 1 ? v : nil }
        #expect(px("187.25") == 1_872_500)
        #expect(px("0.0001") == 1)
        #expect(px("5") == 50_000)
        #expect(px("-1.5") == -15_000)
        #expect(px("1.00001") == nil)  // more decimals than ITCH carries
        #expect(px("1.2.3") == nil)
        #expect(px("") == nil)
        #expect(px(".") == nil)
        #expect(px("1e3") == nil)
        var buf = [UInt8](repeating: 0, count: 256)
        let text: String = buf.withUnsafeMutableBufferPointer { p in
            var b = cw_fix_builder()
            cw_fix_begin(&b, p.baseAddress, p.count)
            cw_fix_add_cstr(&b, 35, "D")
            cw_fix_add_price4(&b, 44, 1_872_500)
            cw_fix_add_price4(&b, 31, 70_000)
            cw_fix_add_price4(&b, 6, 1)
            var s = 0
            let n = cw_fix_finish(&b, &s)
            return String(decoding: p[s..<s + n], as: UTF8.self)
        }
        #expect(text.contains("\u{1}44=187.25\u{1}31=7\u{1}6=0.0001\u{1}"))
    }

    @Test func severalMessagesInOneRead() {
        let a = build(nos), b = build([(35, "0"), (49, "CLI"), (56, "OMNI"), (34, "13")])
        let stream = a + b
        let p1 = parse(stream)
        #expect(p1.rc == CW_FIX_OK && p1.consumed == a.count)
        let p2 = parse(Array(stream[p1.consumed...]))
        #expect(p2.rc == CW_FIX_OK && p2.consumed == b.count && p2.seq == 13)
    }

    @Test func streamSplitAtEveryBytePosition() {
        let a = build(nos), b = build([(35, "1"), (49, "CLI"), (56, "OMNI"), (34, "13"), (112, "T1")])
        let stream = a + b
        for cut in 0...stream.count {
            // first piece alone: NEED_MORE until a whole message is there
            let head = Array(stream[..<cut])
            let p = parse(head)
            if cut < a.count { #expect(p.rc == CW_FIX_NEED_MORE, "cut \(cut)") } else { #expect(p.rc == CW_FIX_OK && p.consumed == a.count) }
            // then a receive buffer that gets the rest: both messages come out
            var rx = head
            var got: [UInt64] = []
            var fed = false
            while true {
                let q = parse(rx)
                if q.rc == CW_FIX_OK { got.append(q.seq); rx.removeFirst(q.consumed); continue }
                #expect(q.rc == CW_FIX_NEED_MORE)
                if fed { break }
                rx += stream[cut...]
                fed = true
            }
            #expect(got == [12, 13], "cut \(cut)")
            #expect(rx.isEmpty)
        }
    }

    @Test func badChecksum() {
        var m = build(nos)
        m[m.count - 2] = m[m.count - 2] == UInt8(ascii: "9") ? UInt8(ascii: "0") : m[m.count - 2] + 1
        #expect(parse(m).rc == CW_FIX_ERR_CHECKSUM)
        var n = build(nos)
        n[n.count - 3] = UInt8(ascii: "x")
        #expect(parse(n).rc == CW_FIX_ERR_CHECKSUM_SYNTAX)
        // a flipped body byte is caught by the sum too
        var o = build(nos)
        o[30] ^= 0x02
        #expect(parse(o).rc == CW_FIX_ERR_CHECKSUM)
    }

    @Test func wrongBodyLength() {
        let good = build(nos)
        let text = String(decoding: good, as: UTF8.self)
        for delta in [-3, -1, 1, 2] {
            let bl = Int(text.split(separator: "\u{1}")[1].dropFirst(2))!
            let bad = Array(text.replacingOccurrences(of: "\u{1}9=\(bl)\u{1}", with: "\u{1}9=\(bl + delta)\u{1}").utf8)
            let p = parse(bad + build(nos))  // enough bytes behind it that the verdict is reached
            #expect(p.rc == CW_FIX_ERR_BODYLENGTH, "delta \(delta)")
            #expect(p.consumed == bad.count, "resyncs at the next BeginString")
        }
        #expect(parse(soh("8=FIX.4.4|9=12a|35=0|10=000|")).rc == CW_FIX_ERR_BODYLENGTH_SYNTAX)
        #expect(parse(soh("8=FIX.4.4|9=|35=0|10=000|")).rc == CW_FIX_ERR_BODYLENGTH_SYNTAX)
        #expect(parse(soh("8=FIX.4.4|9=0|10=000|")).rc == CW_FIX_ERR_BODYLENGTH_SYNTAX)
        #expect(parse(soh("8=FIX.4.4|9=99999999|")).rc == CW_FIX_ERR_BODYLENGTH_SYNTAX)
    }

    @Test func headerOrderAndPresence() {
        #expect(parse(soh("9=5|8=FIX.4.4|35=0|10=000|")).rc == CW_FIX_ERR_BEGINSTRING)
        #expect(parse(soh("8=FIX.4.2|9=5|35=0|10=000|")).rc == CW_FIX_ERR_BEGINSTRING)
        #expect(parse(soh("35=0|9=5|")).rc == CW_FIX_ERR_BEGINSTRING)
        #expect(parse(soh("8=FIX.4.4|35=0|9=5|10=000|")).rc == CW_FIX_ERR_BODYLENGTH_MISSING)
        // missing 35: 49 first
        let no35 = parse(frame("49=A|56=B|34=1|"))
        #expect(no35.rc == CW_FIX_ERR_FIELD_MSGTYPE && no35.errTag == 35)
        // 35 present but not first
        #expect(parse(frame("49=A|35=0|56=B|34=1|")).rc == CW_FIX_ERR_FIELD_MSGTYPE)
        // 8 / 9 / 35 / 10 again in the body
        for t in ["8=FIX.4.4", "9=3", "35=D", "10=000"] {
            let p = parse(frame("35=0|49=A|\(t)|56=B|"))
            #expect(p.rc == CW_FIX_ERR_FIELD_HEADER_ORDER, "\(t)")
        }
    }

    @Test func fieldFaultsConsumeTheWholeFramedMessage() {
        let cases: [(String, Int, UInt32)] = [
            ("35=0|49=A|4x9=B|34=1|", CW_FIX_ERR_FIELD_TAG_SYNTAX, 0),
            ("35=0|49=A|=B|34=1|", CW_FIX_ERR_FIELD_TAG_SYNTAX, 0),
            ("35=0|49=A|056=B|34=1|", CW_FIX_ERR_FIELD_TAG_SYNTAX, 0),
            ("35=0|49=A|56B|34=1|", CW_FIX_ERR_FIELD_TAG_SYNTAX, 0),
            ("35=0|49=A|1234567890=B|34=1|", CW_FIX_ERR_FIELD_TAG_SYNTAX, 0),
            ("35=0|34=7|49=|56=B|", CW_FIX_ERR_FIELD_EMPTY_VALUE, 49),
            ("35=|49=A|", CW_FIX_ERR_FIELD_MSGTYPE, 35),
            ("35=0|34=7|49=A|49=A|", CW_FIX_ERR_FIELD_DUPLICATE, 49),
            ("35=0|34=7|5000=A|5000=B|", CW_FIX_ERR_FIELD_DUPLICATE, 5000),
        ]
        let next = build(nos)
        for (body, rc, tag) in cases {
            let m = frame(body)
            let p = parse(m + next)
            #expect(p.rc == rc, "\(body)")
            #expect(p.errTag == tag, "\(body)")
            #expect(p.consumed == m.count, "\(body): whole frame dropped, next message intact")
            #expect(parse(Array((m + next)[p.consumed...])).rc == CW_FIX_OK)
        }
        #expect(parse(frame("35=0|34=7|49=|56=B|")).seq == 7, "RefSeqNum known for the Reject")
    }

    @Test func sohMissingAtEndAndTruncation() {
        var m = build(nos)
        m.removeLast()
        #expect(parse(m).rc == CW_FIX_NEED_MORE)  // truncated: wait
        #expect(parse(m + soh("8")).rc == CW_FIX_ERR_CHECKSUM_SYNTAX)  // anything but SOH there
        for n in 0..<m.count { #expect(parse(Array(m[..<n])).rc == CW_FIX_NEED_MORE) }
        // body whose last byte before 10= is not SOH
        let b = soh("8=FIX.4.4|9=8|35=0|49=A10=000|")
        #expect(parse(b).rc == CW_FIX_ERR_BODYLENGTH)
    }

    @Test func tooManyFieldsIsAnErrorNotAnOverflow() {
        let many = (0..<80).map { (UInt32(100 + $0), "v") }
        let m = build([(35, "D")] + many)
        #expect(parse(m).rc == CW_FIX_ERR_FIELD_TOO_MANY)
    }

    @Test func garbageNeverCrashesAndAlwaysProgresses() {
        var rng = SystemRandomNumberGenerator()
        let good = build(nos)
        for _ in 0..<2000 {
            var m = good + good
            for _ in 0..<Int.random(in: 1...4, using: &rng) { m[Int.random(in: 0..<m.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            var rx = m
            var steps = 0
            while !rx.isEmpty, steps < 1000 {
                let p = parse(rx)
                if p.rc == CW_FIX_NEED_MORE { break }
                #expect(p.consumed >= 1 && p.consumed <= rx.count)
                rx.removeFirst(p.consumed)
                steps += 1
            }
        }
    }
}

@Suite struct FixTimestampTests {
    /// Foundation's formatter as the reference; the sequence crosses seconds, days, a leap day
    /// and goes back in time, so a stale per-second cache would show.
    @Test func utcTimestampMatchesFoundationAcrossSecondsDaysAndBackwards() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HH:mm:ss.SSS"
        let base: UInt64 = 1_733_356_799_000_000_000 // 2024-12-04 23:59:59 UTC
        let leap: UInt64 = 1_709_251_199_999_999_999 // 2024-02-29 23:59:59.999999999
        let times: [UInt64] = [0, 999_999, 1_000_000, 59_999_000_000, 60_000_000_000,
                               base, base + 1, base + 999_999_999, base + 1_000_000_000, base + 1_000_999_999,
                               base, leap, leap + 1, 4_102_444_800_000_000_000 /* 2100-01-01 */, base + 500_000_000]
        for ns in times {
            var out = [UInt8](repeating: 0, count: 21)
            #expect(cw_fix_utc_timestamp(&out, ns) == 21)
            // Foundation rounds to the millisecond; FIX truncates: give it the truncated instant.
            let ms = Double(ns / 1_000_000) / 1000
            #expect(String(decoding: out, as: UTF8.self) == f.string(from: Date(timeIntervalSince1970: ms)), "at \(ns) ns")
        }
    }
}
