import CWire
import Testing

// Named ITCH field accessors (what CBook reads on its hot path), the byte-order header's
// loads, and every encoder's capacity check: one byte short is refused with nothing
// written, the exact size succeeds.

/// A real-looking order flow for one instrument (locate 0x1A2B, 09:30:00.000123456), built field
/// by field at the specification's offsets with `message` / `be`, never with our encoders.
private let ts: UInt64 = 34_200_000_123_456
private let addA = message("A", locate: 0x1A2B, tracking: 0, timestamp: ts,
                           be(0x0000_0001_2345_6789, 8) + [UInt8(ascii: "B")] + be(300, 4) + ascii("MSFT", 8) + be(4_123_500, 4))
private let addF = message("F", locate: 0x1A2B, tracking: 0, timestamp: ts,
                           be(0x0000_0001_2345_678A, 8) + [UInt8(ascii: "S")] + be(1_000, 4) + ascii("MSFT", 8) + be(4_124_000, 4) + ascii("GSCO", 4))
private let execE = message("E", locate: 0x1A2B, tracking: 0, timestamp: ts + 1,
                            be(0x0000_0001_2345_6789, 8) + be(100, 4) + be(0x0000_00AB_CDEF_0123, 8))
private let execC = message("C", locate: 0x1A2B, tracking: 0, timestamp: ts + 2,
                            be(0x0000_0001_2345_6789, 8) + be(50, 4) + be(0x0000_00AB_CDEF_0124, 8) + [UInt8(ascii: "Y")] + be(4_123_400, 4))
private let cancelX = message("X", locate: 0x1A2B, tracking: 0, timestamp: ts + 3, be(0x0000_0001_2345_678A, 8) + be(400, 4))
private let deleteD = message("D", locate: 0x1A2B, tracking: 0, timestamp: ts + 4, be(0x0000_0001_2345_678A, 8))
private let replaceU = message("U", locate: 0x1A2B, tracking: 0, timestamp: ts + 5,
                               be(0x0000_0001_2345_6789, 8) + be(0x0000_0001_2345_6790, 8) + be(250, 4) + be(4_123_600, 4))

private func on<T>(_ m: [UInt8], _ f: (UnsafePointer<UInt8>) -> T) -> T { m.withUnsafeBufferPointer { f($0.baseAddress!) } }

@Suite("ITCH named field accessors, at the specification's offsets")
struct ITCHAccessorTests {
    @Test func everyOrderMessageIsValidAndShared() {
        for m in [addA, addF, execE, execC, cancelX, deleteD, replaceU] {
            #expect(on(m) { cw_itch_valid($0, m.count) } == 1)
            #expect(on(m) { cw_itch_locate($0) } == 0x1A2B && on(m) { cw_itch_timestamp($0) } >= ts)
        }
    }

    @Test func addOrder() {
        #expect(on(addA) { cw_itch_order_ref($0) } == 0x0000_0001_2345_6789)
        #expect(on(addA) { cw_itch_add_side($0) } == UInt8(ascii: "B"))
        #expect(on(addA) { cw_itch_add_shares($0) } == 300)
        #expect(on(addA) { cw_itch_add_price($0) } == 4_123_500)
        #expect(on(addA) { String(decoding: UnsafeBufferPointer(start: cw_itch_add_stock($0), count: 8), as: UTF8.self) } == "MSFT    ")
        // F shares A's layout up to the price; the attribution follows.
        #expect(on(addF) { cw_itch_order_ref($0) } == 0x0000_0001_2345_678A)
        #expect(on(addF) { cw_itch_add_side($0) } == UInt8(ascii: "S"))
        #expect(on(addF) { cw_itch_add_shares($0) } == 1_000 && on(addF) { cw_itch_add_price($0) } == 4_124_000)
    }

    @Test func executions() {
        #expect(on(execE) { cw_itch_order_ref($0) } == 0x0000_0001_2345_6789)
        #expect(on(execE) { cw_itch_executed_shares($0) } == 100)
        #expect(on(execE) { cw_itch_executed_match($0) } == 0x0000_00AB_CDEF_0123)
        #expect(on(execC) { cw_itch_executed_shares($0) } == 50)
        #expect(on(execC) { cw_itch_executed_match($0) } == 0x0000_00AB_CDEF_0124)
        #expect(on(execC) { cw_itch_executed_printable($0) } == UInt8(ascii: "Y"))
        #expect(on(execC) { cw_itch_execution_price($0) } == 4_123_400)
    }

    @Test func cancelDeleteReplace() {
        #expect(on(cancelX) { cw_itch_order_ref($0) } == 0x0000_0001_2345_678A && on(cancelX) { cw_itch_cancel_shares($0) } == 400)
        #expect(on(deleteD) { cw_itch_order_ref($0) } == 0x0000_0001_2345_678A)
        #expect(on(replaceU) { cw_itch_order_ref($0) } == 0x0000_0001_2345_6789)
        #expect(on(replaceU) { cw_itch_replace_new_ref($0) } == 0x0000_0001_2345_6790)
        #expect(on(replaceU) { cw_itch_replace_shares($0) } == 250 && on(replaceU) { cw_itch_replace_price($0) } == 4_123_600)
    }

    @Test func accessorsAgreeWithTheDecoder() {
        var d = cw_itch_msg()
        #expect(on(addF) { cw_itch_decode($0, addF.count, &d) } == CW_ITCH_OK)
        #expect(d.u.add.ref == on(addF) { cw_itch_order_ref($0) } && d.u.add.price == on(addF) { cw_itch_add_price($0) })
        #expect(on(replaceU) { cw_itch_decode($0, replaceU.count, &d) } == CW_ITCH_OK)
        #expect(d.u.replace.new_ref == 0x0000_0001_2345_6790 && d.u.replace.shares == 250 && d.u.replace.price == 4_123_600)
        #expect(on(execC) { cw_itch_decode($0, execC.count, &d) } == CW_ITCH_OK)
        #expect(d.u.executed_price.price == 4_123_400 && d.u.executed_price.printable == CChar(UInt8(ascii: "Y")))
    }
}

@Suite("cw_endian.h: the one byte-order header")
struct EndianTests {
    @Test func loadsInEveryOrder() {
        let b: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]
        b.withUnsafeBufferPointer { p in
            let q = p.baseAddress!
            #expect(cw_be16(q) == 0x0102 && cw_be32(q) == 0x0102_0304 && cw_be64(q) == 0x0102_0304_0506_0708)
            #expect(cw_be48(q) == 0x0102_0304_0506)
            #expect(cw_le16(q) == 0x0201 && cw_le32(q) == 0x0403_0201 && cw_le64(q) == 0x0807_0605_0403_0201)
            // Run-time order (pcap): swap 0 is the host's (little-endian) order, swap 1 the other.
            #expect(cw_ld16(q, 0) == 0x0201 && cw_ld16(q, 1) == 0x0102)
            #expect(cw_ld32(q, 0) == 0x0403_0201 && cw_ld32(q, 1) == 0x0102_0304)
            #expect(cw_ld64(q, 0) == 0x0807_0605_0403_0201 && cw_ld64(q, 1) == 0x0102_0304_0506_0708)
            #expect(cw_swap32(0xA1B2_C3D4) == 0xD4C3_B2A1)
        }
    }

    @Test func storesRoundTrip() {
        var b = [UInt8](repeating: 0, count: 8)
        b.withUnsafeMutableBufferPointer { cw_put_le32($0.baseAddress!, 0x0A0B_0C0D) }
        #expect(Array(b.prefix(4)) == [0x0D, 0x0C, 0x0B, 0x0A])
        b.withUnsafeMutableBufferPointer { cw_put_le64($0.baseAddress!, 0x0102_0304_0506_0708) }
        #expect(b == [8, 7, 6, 5, 4, 3, 2, 1])
        b.withUnsafeMutableBufferPointer { cw_put_le16($0.baseAddress!, 0xBEEF) }
        #expect(Array(b.prefix(2)) == [0xEF, 0xBE])
        b.withUnsafeMutableBufferPointer { cw_put48($0.baseAddress!, 0x0A0B_0C0D_0E0F) }
        #expect(Array(b.prefix(6)) == [0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F])
    }
}

/// Runs `put` with a buffer of exactly `want` bytes and with one byte less: the short one must
/// return 0 and leave every byte as it was, the exact one must return `want`.
private func checkCapacity(_ want: Int, _ what: String, _ put: (UnsafeMutablePointer<UInt8>, Int) -> Int,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    var short = [UInt8](repeating: 0xEE, count: want - 1)
    let refused = short.withUnsafeMutableBufferPointer { put($0.baseAddress!, $0.count) }
    #expect(refused == 0, "\(what): \(want - 1)-byte buffer not refused", sourceLocation: sourceLocation)
    #expect(short.allSatisfy { $0 == 0xEE }, "\(what): wrote into a buffer it refused", sourceLocation: sourceLocation)
    var exact = [UInt8](repeating: 0xEE, count: want)
    let n = exact.withUnsafeMutableBufferPointer { put($0.baseAddress!, $0.count) }
    #expect(n == want, "\(what): \(n) bytes into an exact \(want)-byte buffer", sourceLocation: sourceLocation)
}

@Suite("Every encoder takes its buffer's capacity")
struct EncoderCapacityTests {
    let stock = Array("MSFT    ".utf8).map { CChar(bitPattern: $0) }
    let mpid = Array("GSCO".utf8).map { CChar(bitPattern: $0) }

    @Test func itchEncoders() {
        let b = CChar(UInt8(ascii: "B"))
        checkCapacity(11, "header") { cw_itch_put_header($0, $1, UInt8(ascii: "A"), 1, 0, ts) }
        checkCapacity(12, "S") { cw_itch_put_system_event($0, $1, ts, CChar(UInt8(ascii: "O"))) }
        checkCapacity(39, "R") { cw_itch_put_directory($0, $1, 1, ts, stock, CChar(UInt8(ascii: "Q"))) }
        checkCapacity(25, "H") { cw_itch_put_trading_action($0, $1, 1, ts, stock, CChar(UInt8(ascii: "T"))) }
        checkCapacity(36, "A") { cw_itch_put_add($0, $1, 1, ts, 7, b, 100, stock, 1_000_000) }
        checkCapacity(40, "F") { cw_itch_put_add_mpid($0, $1, 1, ts, 7, b, 100, stock, 1_000_000, mpid) }
        checkCapacity(31, "E") { cw_itch_put_executed($0, $1, 1, ts, 7, 10, 99) }
        checkCapacity(36, "C") { cw_itch_put_executed_price($0, $1, 1, ts, 7, 10, 99, CChar(UInt8(ascii: "Y")), 1_000_100) }
        checkCapacity(23, "X") { cw_itch_put_cancel($0, $1, 1, ts, 7, 10) }
        checkCapacity(19, "D") { cw_itch_put_delete($0, $1, 1, ts, 7) }
        checkCapacity(35, "U") { cw_itch_put_replace($0, $1, 1, ts, 7, 8, 10, 1_000_100) }
        checkCapacity(44, "P") { cw_itch_put_trade($0, $1, 1, ts, b, 10, stock, 1_000_000, 99) }
    }

    @Test func itchEncodersWriteWhatTheAccessorsRead() {
        var m = [UInt8](repeating: 0, count: Int(CW_ITCH_MAX_LEN))
        let n = m.withUnsafeMutableBufferPointer {
            cw_itch_put_add($0.baseAddress!, $0.count, 0x1A2B, ts, 0x0000_0001_2345_6789, CChar(UInt8(ascii: "B")), 300, stock, 4_123_500)
        }
        #expect(Array(m.prefix(n)) == addA)
    }

    @Test func ouchEncoders() {
        var t = cw_ouch_make_token("ORD0000001", 10)
        var e = cw_ouch_enter(); e.token = t
        var r = cw_ouch_replace(); r.existing = t; r.replacement = cw_ouch_make_token("ORD0000002", 10)
        var a = cw_ouch_accepted(); a.token = t
        var u = cw_ouch_replaced(); u.token = t
        var d = cw_ouch_aiq_canceled(); d.token = t
        let c = CChar(UInt8(ascii: "B"))
        checkCapacity(Int(CW_OUCH_ENTER_LEN), "O") { cw_ouch_put_enter($0, $1, &e) }
        checkCapacity(Int(CW_OUCH_REPLACE_LEN), "U in") { cw_ouch_put_replace($0, $1, &r) }
        checkCapacity(Int(CW_OUCH_CANCEL_LEN), "X") { cw_ouch_put_cancel($0, $1, &t, 0) }
        checkCapacity(Int(CW_OUCH_MODIFY_LEN), "M in") { cw_ouch_put_modify($0, $1, &t, CChar(UInt8(ascii: "S")), 10) }
        checkCapacity(Int(CW_OUCH_SYSTEM_EVENT_LEN), "S") { cw_ouch_put_system_event($0, $1, ts, CChar(UInt8(ascii: "S"))) }
        checkCapacity(Int(CW_OUCH_ACCEPTED_LEN), "A") { cw_ouch_put_accepted($0, $1, ts, &a) }
        checkCapacity(Int(CW_OUCH_REPLACED_LEN), "U out") { cw_ouch_put_replaced($0, $1, ts, &u) }
        checkCapacity(Int(CW_OUCH_CANCELED_LEN), "C") { cw_ouch_put_canceled($0, $1, ts, &t, 10, CChar(UInt8(ascii: "U"))) }
        checkCapacity(Int(CW_OUCH_AIQ_CANCELED_LEN), "D") { cw_ouch_put_aiq_canceled($0, $1, ts, &d) }
        checkCapacity(Int(CW_OUCH_EXECUTED_LEN), "E") { cw_ouch_put_executed($0, $1, ts, &t, 10, 1_000_000, CChar(UInt8(ascii: "A")), 5) }
        checkCapacity(Int(CW_OUCH_BROKEN_TRADE_LEN), "B") { cw_ouch_put_broken_trade($0, $1, ts, &t, 5, CChar(UInt8(ascii: "E"))) }
        checkCapacity(Int(CW_OUCH_REJECTED_LEN), "J") { cw_ouch_put_rejected($0, $1, ts, &t, CChar(UInt8(ascii: "X"))) }
        checkCapacity(Int(CW_OUCH_CANCEL_PENDING_LEN), "P") { cw_ouch_put_cancel_pending($0, $1, ts, &t) }
        checkCapacity(Int(CW_OUCH_CANCEL_REJECT_LEN), "I") { cw_ouch_put_cancel_reject($0, $1, ts, &t) }
        checkCapacity(Int(CW_OUCH_MODIFIED_LEN), "M out") { cw_ouch_put_modified($0, $1, ts, &t, c, 10) }
    }

    @Test func iexTransportHeader() {
        var h = cw_iextp_header()
        h.version = 1; h.protocol_id = UInt16(CW_IEX_PROTO_DEEP); h.first_seq = 42
        checkCapacity(Int(CW_IEXTP_HEADER_LEN), "IEX-TP header") { cw_iextp_put_header($0, $1, &h) }
        var seg = [UInt8](repeating: 0, count: Int(CW_IEXTP_HEADER_LEN))
        _ = seg.withUnsafeMutableBufferPointer { cw_iextp_put_header($0.baseAddress!, $0.count, &h) }
        var back = cw_iextp_header()
        #expect(seg.withUnsafeBufferPointer { cw_iextp_parse_header($0.baseAddress!, $0.count, &back) } == CW_IEXTP_OK.rawValue)
        #expect(back.first_seq == 42 && back.protocol_id == UInt16(CW_IEX_PROTO_DEEP))
    }
}
