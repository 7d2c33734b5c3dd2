import CWire
import Testing

/// Builds a message from the common header and a body given field by field, so the
/// decoder is checked against the specification's offsets, not against our encoders.
func message(_ type: Character, locate: UInt16 = 7, tracking: UInt16 = 3, timestamp: UInt64 = 0x0102_0304_0506, _ body: [UInt8]) -> [UInt8] {
    var m: [UInt8] = [type.asciiValue!]
    m += be(UInt64(locate), 2) + be(UInt64(tracking), 2) + be(timestamp, 6)
    return m + body
}

func be(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64(n - 1 - $0))) } }
func ascii(_ s: String, _ n: Int) -> [UInt8] { Array((s + String(repeating: " ", count: max(0, n - s.count))).utf8.prefix(n)) }
func text<T>(_ t: T) -> String { withUnsafeBytes(of: t) { String(decoding: $0, as: UTF8.self) } }

func decode(_ m: [UInt8]) -> (cw_itch_status, cw_itch_msg) {
    var out = cw_itch_msg()
    let st = m.withUnsafeBufferPointer { cw_itch_decode($0.baseAddress, $0.count, &out) }
    return (st, out)
}

@Suite("ITCH 5.0 decoding, every message type")
struct ITCHDecodeTests {
    @Test func headerFields() {
        let (st, d) = decode(message("S", locate: 0xABCD, tracking: 0x1234, timestamp: 0xA11EA0E8C43, [UInt8(ascii: "O")]))
        #expect(st == CW_ITCH_OK)
        #expect(d.h.type == UInt8(ascii: "S") && d.h.locate == 0xABCD && d.h.tracking == 0x1234)
        #expect(d.h.timestamp == 0xA11EA0E8C43)
        #expect(d.u.system_event.event_code == CChar(UInt8(ascii: "O")))
    }

    @Test func stockDirectory() {
        let body = ascii("AAPL", 8) + [UInt8(ascii: "Q"), UInt8(ascii: "N")] + be(100, 4) + [UInt8(ascii: "N"), UInt8(ascii: "C")]
            + ascii("Z", 2) + [UInt8(ascii: "P"), UInt8(ascii: "N"), UInt8(ascii: " "), UInt8(ascii: "1"), UInt8(ascii: "N")] + be(3, 4) + [UInt8(ascii: "Y")]
        let (st, d) = decode(message("R", body))
        #expect(st == CW_ITCH_OK)
        let r = d.u.directory
        #expect(text(r.stock) == "AAPL    " && r.round_lot_size == 100 && r.etp_leverage_factor == 3)
        #expect(r.market_category == CChar(UInt8(ascii: "Q")) && r.luld_ref_price_tier == CChar(UInt8(ascii: "1")))
        #expect(r.inverse_indicator == CChar(UInt8(ascii: "Y")) && r.issue_classification == CChar(UInt8(ascii: "C")))
    }

    @Test func tradingActionRegSHOAndParticipant() {
        var (st, d) = decode(message("H", ascii("MSFT", 8) + [UInt8(ascii: "T"), UInt8(ascii: " ")] + ascii("LUDP", 4)))
        #expect(st == CW_ITCH_OK && text(d.u.trading_action.stock) == "MSFT    " && text(d.u.trading_action.reason) == "LUDP")
        #expect(d.u.trading_action.trading_state == CChar(UInt8(ascii: "T")))
        (st, d) = decode(message("Y", ascii("MSFT", 8) + [UInt8(ascii: "1")]))
        #expect(st == CW_ITCH_OK && d.u.reg_sho.reg_sho_action == CChar(UInt8(ascii: "1")))
        (st, d) = decode(message("L", ascii("GSCO", 4) + ascii("MSFT", 8) + [UInt8(ascii: "Y"), UInt8(ascii: "N"), UInt8(ascii: "A")]))
        #expect(st == CW_ITCH_OK && text(d.u.mp_position.mpid) == "GSCO" && text(d.u.mp_position.stock) == "MSFT    ")
        #expect(d.u.mp_position.participant_state == CChar(UInt8(ascii: "A")))
    }

    @Test func marketWideCircuitBreakers() {
        var (st, d) = decode(message("V", be(1, 8) + be(2, 8) + be(0xFFFF_FFFF_FF, 8)))
        #expect(st == CW_ITCH_OK && d.u.mwcb_decline.level1 == 1 && d.u.mwcb_decline.level2 == 2 && d.u.mwcb_decline.level3 == 0xFFFF_FFFF_FF)
        (st, d) = decode(message("W", [UInt8(ascii: "2")]))
        #expect(st == CW_ITCH_OK && d.u.mwcb_status.breached_level == CChar(UInt8(ascii: "2")))
    }

    @Test func ipoLuldAndOperationalHalt() {
        var (st, d) = decode(message("K", ascii("NEWCO", 8) + be(34_200, 4) + [UInt8(ascii: "A")] + be(150_000, 4)))
        #expect(st == CW_ITCH_OK && d.u.ipo_quoting.release_time == 34_200 && d.u.ipo_quoting.ipo_price == 150_000)
        (st, d) = decode(message("J", ascii("SPY", 8) + be(10, 4) + be(11, 4) + be(9, 4) + be(1, 4)))
        #expect(st == CW_ITCH_OK && d.u.luld_collar.ref_price == 10 && d.u.luld_collar.upper_price == 11)
        #expect(d.u.luld_collar.lower_price == 9 && d.u.luld_collar.extension == 1)
        (st, d) = decode(message("h", ascii("SPY", 8) + [UInt8(ascii: "Q"), UInt8(ascii: "H")]))
        #expect(st == CW_ITCH_OK && d.u.operational_halt.market_code == CChar(UInt8(ascii: "Q")) && d.u.operational_halt.action == CChar(UInt8(ascii: "H")))
    }

    @Test func addOrders() {
        var (st, d) = decode(message("A", be(0x1122_3344_5566_7788, 8) + [UInt8(ascii: "B")] + be(300, 4) + ascii("AAPL", 8) + be(2_931_200, 4)))
        #expect(st == CW_ITCH_OK && d.u.add.ref == 0x1122_3344_5566_7788 && d.u.add.shares == 300 && d.u.add.price == 2_931_200)
        #expect(d.u.add.side == CChar(UInt8(ascii: "B")) && text(d.u.add.stock) == "AAPL    " && text(d.u.add.attribution) == "    ")
        (st, d) = decode(message("F", be(9, 8) + [UInt8(ascii: "S")] + be(1, 4) + ascii("AAPL", 8) + be(5, 4) + ascii("VIRT", 4)))
        #expect(st == CW_ITCH_OK && d.u.add.ref == 9 && text(d.u.add.attribution) == "VIRT" && d.u.add.side == CChar(UInt8(ascii: "S")))
    }

    @Test func executionsCancelsDeletesReplaces() {
        var (st, d) = decode(message("E", be(5, 8) + be(100, 4) + be(77, 8)))
        #expect(st == CW_ITCH_OK && d.u.executed.ref == 5 && d.u.executed.shares == 100 && d.u.executed.match == 77)
        (st, d) = decode(message("C", be(5, 8) + be(50, 4) + be(78, 8) + [UInt8(ascii: "Y")] + be(123_400, 4)))
        #expect(st == CW_ITCH_OK && d.u.executed_price.match == 78 && d.u.executed_price.price == 123_400)
        #expect(d.u.executed_price.printable == CChar(UInt8(ascii: "Y")))
        (st, d) = decode(message("X", be(5, 8) + be(25, 4)))
        #expect(st == CW_ITCH_OK && d.u.cancel.ref == 5 && d.u.cancel.shares == 25)
        (st, d) = decode(message("D", be(5, 8)))
        #expect(st == CW_ITCH_OK && d.u.del.ref == 5)
        (st, d) = decode(message("U", be(5, 8) + be(6, 8) + be(200, 4) + be(99_900, 4)))
        #expect(st == CW_ITCH_OK && d.u.replace.orig_ref == 5 && d.u.replace.new_ref == 6 && d.u.replace.shares == 200 && d.u.replace.price == 99_900)
    }

    @Test func tradesCrossesBreaks() {
        var (st, d) = decode(message("P", be(0, 8) + [UInt8(ascii: "B")] + be(400, 4) + ascii("SPY", 8) + be(3_210_000, 4) + be(1000, 8)))
        #expect(st == CW_ITCH_OK && d.u.trade.shares == 400 && d.u.trade.price == 3_210_000 && d.u.trade.match == 1000)
        (st, d) = decode(message("Q", be(1_000_000, 8) + ascii("SPY", 8) + be(3_210_000, 4) + be(1001, 8) + [UInt8(ascii: "O")]))
        #expect(st == CW_ITCH_OK && d.u.cross_trade.shares == 1_000_000 && d.u.cross_trade.match == 1001)
        #expect(d.u.cross_trade.cross_type == CChar(UInt8(ascii: "O")))
        (st, d) = decode(message("B", be(1001, 8)))
        #expect(st == CW_ITCH_OK && d.u.broken_trade.match == 1001)
    }

    @Test func imbalanceRetailAndDirectListing() {
        var (st, d) = decode(message("I", be(10, 8) + be(20, 8) + [UInt8(ascii: "B")] + ascii("SPY", 8) + be(1, 4) + be(2, 4) + be(3, 4) + [UInt8(ascii: "O"), UInt8(ascii: "L")]))
        #expect(st == CW_ITCH_OK && d.u.noii.paired_shares == 10 && d.u.noii.imbalance_shares == 20)
        #expect(d.u.noii.far_price == 1 && d.u.noii.near_price == 2 && d.u.noii.current_ref_price == 3)
        #expect(d.u.noii.price_variation == CChar(UInt8(ascii: "L")) && text(d.u.noii.stock) == "SPY     ")
        (st, d) = decode(message("N", ascii("SPY", 8) + [UInt8(ascii: "A")]))
        #expect(st == CW_ITCH_OK && d.u.rpii.interest_flag == CChar(UInt8(ascii: "A")))
        (st, d) = decode(message("O", ascii("DLCR", 8) + [UInt8(ascii: "Y")] + be(1, 4) + be(2, 4) + be(3, 4) + be(4, 8) + be(5, 4) + be(6, 4)))
        #expect(st == CW_ITCH_OK && d.u.dlcr.min_price == 1 && d.u.dlcr.max_price == 2 && d.u.dlcr.near_price == 3)
        #expect(d.u.dlcr.near_time == 4 && d.u.dlcr.lower_collar == 5 && d.u.dlcr.upper_collar == 6)
    }

    @Test func everyTypeHasItsSpecifiedLength() {
        let lengths: [Character: Int] = ["S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21,
                                         "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19,
                                         "I": 50, "N": 20, "O": 48]
        for t in 0...255 {
            let expected = Character(Unicode.Scalar(UInt8(t))).asciiValue.flatMap { lengths[Character(Unicode.Scalar($0))] } ?? 0
            #expect(Int(cw_itch_expected_len(UInt8(t))) == expected, "type \(t)")
        }
    }

    @Test func malformedMessagesAreRefused() {
        #expect(decode([]).0 == CW_ITCH_EMPTY)
        #expect(decode(message("Z", [1, 2, 3])).0 == CW_ITCH_UNKNOWN_TYPE)
        #expect(decode(message("D", be(5, 7))).0 == CW_ITCH_BAD_LENGTH)  // one byte short
        #expect(decode(message("D", be(5, 9))).0 == CW_ITCH_BAD_LENGTH)  // one byte long
        #expect(decode([UInt8(ascii: "A")]).0 == CW_ITCH_BAD_LENGTH)      // type byte alone
    }

    @Test func encodersWriteWhatTheDecoderReads() {
        var m = [UInt8](repeating: 0, count: 50)
        let stock = Array("AAPL    ".utf8).map { CChar($0) }
        var n = m.withUnsafeMutableBufferPointer { cw_itch_put_add_mpid($0.baseAddress, $0.count, 13, 99, 42, CChar(UInt8(ascii: "S")), 500, stock, 1_234_500, "GSCO") }
        var (st, d) = decode(Array(m[0..<n]))
        #expect(st == CW_ITCH_OK && d.h.type == UInt8(ascii: "F") && d.h.locate == 13 && d.h.timestamp == 99)
        #expect(d.u.add.ref == 42 && d.u.add.shares == 500 && d.u.add.price == 1_234_500 && text(d.u.add.attribution) == "GSCO")
        n = m.withUnsafeMutableBufferPointer { cw_itch_put_replace($0.baseAddress, $0.count, 13, 100, 42, 43, 600, 1_234_600) }
        (st, d) = decode(Array(m[0..<n]))
        #expect(st == CW_ITCH_OK && d.u.replace.orig_ref == 42 && d.u.replace.new_ref == 43 && d.u.replace.shares == 600)
    }
}
