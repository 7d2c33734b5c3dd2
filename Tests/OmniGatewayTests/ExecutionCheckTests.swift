import CEvent
import CWire
import ExecutionCheck
import OmniCore
import OmniGateway
import OmniWire
import Testing

/// Issue 12 item 7 without libFuzzer: the fuzz-executions check (Tests/ExecutionCheck) over a
/// fixed, seeded set of mutated OUCH 4.2 and FIX 4.4 execution messages. Every input must keep
/// the invariants (no trap, cumQty and leaves within each order's size, positions equal to the
/// distinct fills, duplicates inert, every message applied or counted), and the bad ones must
/// show up in the counters.
@Suite("Mutated execution messages into OmniOrders")
struct ExecutionCheckTests {
    static let ids = ExecutionCheck.orderIDs()
    static let ouchList = ouchSeeds(), fixList = fixSeeds()

    /// Well-formed OUCH payloads: for each of our orders an Accepted, two Executed (one sent
    /// again), a Canceled, a Replaced, a Rejected, a Cancel Reject, AIQ Canceled; one Executed
    /// for a token not ours, a system event.
    static func ouchSeeds() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var buf = [UInt8](repeating: 0, count: Int(CW_OUCH_MAX_LEN))
        func put(_ f: (UnsafeMutablePointer<UInt8>, Int) -> Int) { let n = buf.withUnsafeMutableBufferPointer { f($0.baseAddress!, $0.count) }; out.append(Array(buf[0..<n])) }
        for (i, id) in ids.enumerated() {
            var t = OuchOrderEntry.token(id, replaces: 0)
            let t1 = OuchOrderEntry.token(id, replaces: 1)
            var a = cw_ouch_accepted()
            a.token = t; a.shares = 100; a.price = 100_000; a.side = CChar(UInt8(ascii: "B")); a.order_state = CChar(UInt8(ascii: "L"))
            put { cw_ouch_put_accepted($0, $1, 1, &a) }
            put { cw_ouch_put_executed($0, $1, 2, &t, 30, 100_000, CChar(UInt8(ascii: "A")), UInt64(10 + i)) }
            put { cw_ouch_put_executed($0, $1, 3, &t, 80, 100_000, CChar(UInt8(ascii: "R")), UInt64(20 + i)) }
            put { cw_ouch_put_canceled($0, $1, 4, &t, 10, CChar(UInt8(ascii: "U"))) }
            var r = cw_ouch_replaced()
            r.token = t1; r.previous = t; r.shares = 150; r.price = 100_100; r.side = CChar(UInt8(ascii: "B")); r.order_state = CChar(UInt8(ascii: "L"))
            put { cw_ouch_put_replaced($0, $1, 5, &r) }
            put { cw_ouch_put_rejected($0, $1, 6, &t, CChar(UInt8(ascii: "X"))) }
            put { cw_ouch_put_cancel_reject($0, $1, 7, &t) }
            var d = cw_ouch_aiq_canceled()
            d.token = t; d.decrement = 5; d.reason = CChar(UInt8(ascii: "Q"))
            put { cw_ouch_put_aiq_canceled($0, $1, 8, &d) }
        }
        var stranger = cw_ouch_token("NOTOURS")
        put { cw_ouch_put_executed($0, $1, 9, &stranger, 10, 100_000, CChar(UInt8(ascii: "A")), 99) }
        put { cw_ouch_put_system_event($0, $1, 10, CChar(UInt8(ascii: "S"))) }
        return out
    }

    /// FIX bodies (35 first, no header, no checksum) for each order: New, a partial and a full
    /// fill, Canceled, Replaced, Rejected, an OrderCancelReject; one fill for a ClOrdID not ours.
    static func fixSeeds() -> [[UInt8]] {
        var out: [[UInt8]] = []
        for (i, id) in ids.enumerated() {
            let cl = FixReports.clOrdID(id, 0).withBytes { String(decoding: $0, as: UTF8.self) }
            func m(_ s: String) { out.append(Array(s.replacingOccurrences(of: "|", with: "\u{1}").utf8)) }
            m("35=8|37=O\(i)|11=\(cl)|17=N\(i)|150=0|39=0|55=AAPL|54=1|38=100|44=10|151=100|14=0|6=0|")
            m("35=8|37=O\(i)|11=\(cl)|17=E\(i)|150=F|39=1|55=AAPL|54=1|38=100|32=30|31=10|151=70|14=30|6=10|851=1|")
            m("35=8|37=O\(i)|11=\(cl)|17=F\(i)|150=F|39=2|55=AAPL|54=2|38=100|32=70|31=10.01|151=0|14=100|6=10|851=2|")
            m("35=8|37=O\(i)|11=\(cl)|17=C\(i)|150=4|39=4|55=AAPL|54=1|38=100|151=0|14=30|6=10|")
            m("35=8|37=O\(i)|11=\(cl)|17=R\(i)|150=5|39=5|55=AAPL|54=1|38=200|44=10.02|151=170|14=30|6=10|")
            m("35=8|37=O\(i)|11=\(cl)|17=J\(i)|150=8|39=8|55=AAPL|54=1|38=100|103=3|151=0|14=0|6=0|")
            m("35=9|37=O\(i)|11=\(cl)|41=\(cl)|39=0|434=1|102=1|")
        }
        out.append(Array("35=8\u{1}11=SOMEONEELSE.1\u{1}17=X\u{1}150=F\u{1}32=5\u{1}31=1\u{1}54=1\u{1}151=0\u{1}".utf8))
        return out
    }

    /// One input: a flags byte, then 1...12 seed messages, some sent twice, some mutated.
    static func input(_ rng: inout SeededRandom, fix: Bool) -> [UInt8] {
        let seeds = fix ? fixList : ouchList
        let framed = !fix || rng.next() % 4 != 0
        var flags = UInt8(rng.next() % 16) & 0b1100
        if fix { flags |= 1; if framed { flags |= 2 } }
        var out: [UInt8] = [flags]
        var raw: [UInt8] = []
        var last: [UInt8] = []
        for _ in 0..<(1 + rng.next() % 12) {
            var m = rng.next() % 5 == 0 && !last.isEmpty ? last : seeds[Int(rng.next() % UInt64(seeds.count))]
            last = m
            switch rng.next() % 6 {
            case 0: if !m.isEmpty { m[Int(rng.next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1: if !m.isEmpty { m[Int(rng.next() % UInt64(m.count))] ^= 1 << (rng.next() % 8) }
            case 2: if !m.isEmpty { m.removeLast(Int(rng.next() % UInt64(m.count))) }
            case 3: for _ in 0..<(1 + rng.next() % 4) where !m.isEmpty { m[Int(rng.next() % UInt64(m.count))] = UInt8(ascii: "9") }
            default: break // intact
            }
            m = Array(m.prefix(255))
            if framed { out.append(UInt8(m.count)); out += m } else {
                var f = [UInt8](repeating: 0, count: 512)
                let n = m.withUnsafeBytes { b in f.withUnsafeMutableBufferPointer { ExecutionCheck.frameFIX(b, into: $0.baseAddress!) } }
                var framedBytes = Array(f[0..<n])
                if rng.next() % 3 == 0 && !framedBytes.isEmpty { framedBytes[Int(rng.next() % UInt64(framedBytes.count))] ^= 0x20 }
                raw += framedBytes
            }
        }
        return out + raw
    }

    @Test func twentyThousandMutatedInputsKeepTheInvariantsAndCountTheBadOnes() {
        var rng = SeededRandom(seed: 12_7)
        let check = ExecutionCheck()
        var failures: [String] = []
        for i in 0..<20_000 {
            let bytes = Self.input(&rng, fix: i % 2 == 1)
            if let broken = bytes.withUnsafeBytes({ check.run($0) }) {
                failures.append("input \(i) (\(bytes.map { String($0, radix: 16) }.joined(separator: " "))): \(broken)")
                if failures.count == 5 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        let t = check.totals
        #expect(t.inputs == 20_000)
        // Good ones went through, bad ones were counted where they belong.
        #expect(t.fills > 0 && t.answers > 0 && t.events > 0)
        #expect(t.ouchMalformed > 0, "no OUCH payload counted malformed")
        #expect(t.fixFraming > 0, "no FIX message counted as a framing / field fault")
        #expect(t.unmatched > 0, "no message counted unmatched")
        #expect(t.duplicateFills > 0, "no duplicate fill counted")
        #expect(t.answersForUnknownOrders > 0, "no answer for a done order counted")
        #expect(t.overfills > 0, "no overfill counted")
        #expect(t.queueDropped == 0)
    }

    /// The accounting on a fixed input: an Executed sent twice moves the position once.
    @Test func aDuplicateExecutionIsCountedOnceAndTheRestAddsUp() {
        let s = Self.ouchSeeds()
        var input: [UInt8] = [0]
        for m in [s[0], s[1], s[1], s[2]] { input.append(UInt8(m.count)); input += m }
        let check = ExecutionCheck()
        #expect(input.withUnsafeBytes { check.run($0) } == nil)
        #expect(check.totals.messages == 4 && check.totals.events == 4 && check.totals.duplicateFills == 1, "\(check.totals)")
        #expect(check.totals.fills == 2 && check.totals.overfills == 1) // 30 + 80 on an order of 100
    }

    /// Regression: FixReports summed LastQty (32) as the venue sent it (up to 18 digits, ~10^18)
    /// into a UInt64 per order, so 19 such fills trapped on overflow (and 10 made the next
    /// replace's OrderQty trap converting to Int64). It now sums what the fill event carries
    /// (clamped to UInt32).
    @Test func hugeLastQtysDoNotTrap() {
        let cl = FixReports.clOrdID(Self.ids[0], 0).withBytes { String(decoding: $0, as: UTF8.self) }
        var input: [UInt8] = [3]
        for i in 0..<20 {
            let body = Array("35=8\u{1}11=\(cl)\u{1}17=H\(i)\u{1}150=1\u{1}32=999999999999999999\u{1}31=1\u{1}54=1\u{1}151=5\u{1}".utf8)
            input.append(UInt8(body.count)); input += body
        }
        let check = ExecutionCheck()
        #expect(input.withUnsafeBytes { check.run($0) } == nil)
        #expect(check.totals.fills == 20 && check.totals.overfills == 1 && check.totals.fillsForUnknownOrders == 19, "\(check.totals)")
    }
}
