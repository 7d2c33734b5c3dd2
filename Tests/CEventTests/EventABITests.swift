import CEvent
import Testing

// The offset table at the top of CKernels/CEvent/include/omni_event.h, checked from
// Swift: what a Swift stage reads is what a C kernel, the journal or an FPGA model reads.

/// Byte offset of a payload field: the union is imported as computed properties, which
/// MemoryLayout.offset(of:) cannot see, so the field is written and its bytes found.
private func payloadOffset(_ write: (inout omni_event) -> Void) -> Int? {
    var e = omni_event()
    write(&e)
    return withUnsafeBytes(of: e) { raw in raw.firstIndex(where: { $0 != 0 }) }
}

@Suite("omni_event ABI v2")
struct EventABITests {
    @Test func version() {
        #expect(OMNI_EVENT_ABI_VERSION == 3)
        #expect(omni_event_abi_version() == 3) // the linked kernels were built from the same header
    }

    @Test("64 bytes, 8-byte aligned")
    func sizeAndAlignment() {
        #expect(MemoryLayout<omni_event>.size == 64 && MemoryLayout<omni_event>.stride == 64)
        #expect(MemoryLayout<omni_event>.alignment == 8)
        for size in [MemoryLayout<omni_book_level>.size, MemoryLayout<omni_order>.size, MemoryLayout<omni_fill>.size,
                     MemoryLayout<omni_command>.size, MemoryLayout<omni_itch_ref>.size] {
            #expect(size == 32)
        }
        #expect(MemoryLayout<omni_bbo>.size == 24)
    }

    @Test("header at the documented offsets")
    func header() {
        typealias E = MemoryLayout<omni_event>
        #expect(E.offset(of: \.type) == 0 && E.offset(of: \.flags) == 1)
        #expect(E.offset(of: \.locate) == 2 && E.offset(of: \.source) == 4)
        #expect(E.offset(of: \.hop) == 6 && MemoryLayout.size(ofValue: omni_event().hop) == 10)
        #expect(E.offset(of: \.hop.0) == 6 && E.offset(of: \.hop.1) == 8 && E.offset(of: \.hop.2) == 10)
        #expect(E.offset(of: \.hop.3) == 12 && E.offset(of: \.hop.4) == 14)
        #expect(E.offset(of: \.seq) == 16 && E.offset(of: \.rx_tsc) == 24)
        #expect(OMNI_EVENT_HOPS == 5)
        #expect(OMNI_HOP_DECODE == 0 && OMNI_HOP_BOOK == 1 && OMNI_HOP_STRATEGY == 2 && OMNI_HOP_RISK == 3 && OMNI_HOP_TX == 4)
        // Little-endian on the wire and in memory: the type byte is byte 0, locate's low byte byte 2.
        var e = omni_event()
        e.type = 0xAB; e.locate = 0x0102; e.rx_tsc = 0x1122_3344_5566_7788
        withUnsafeBytes(of: e) { raw in
            #expect(raw[0] == 0xAB && raw[2] == 0x02 && raw[3] == 0x01 && raw[24] == 0x88 && raw[31] == 0x11)
        }
    }

    @Test("every payload at the documented offsets")
    func payloads() {
        // Each payload starts at 32, whatever the type.
        #expect(payloadOffset { $0.level.price = 1 } == 32)
        #expect(payloadOffset { $0.bbo.bid_px = 1 } == 32)
        #expect(payloadOffset { $0.order.client_order_id = 1 } == 32)
        #expect(payloadOffset { $0.fill.client_order_id = 1 } == 32)
        #expect(payloadOffset { $0.command.code = 1 } == 32)
        #expect(payloadOffset { $0.itch.offset = 1 } == 32)

        typealias L = MemoryLayout<omni_book_level>
        #expect(L.offset(of: \.price) == 0 && L.offset(of: \.orders) == 4 && L.offset(of: \.size) == 8)
        #expect(L.offset(of: \.side) == 16 && L.offset(of: \.depth) == 17)

        typealias B = MemoryLayout<omni_bbo>
        #expect(B.offset(of: \.bid_px) == 0 && B.offset(of: \.ask_px) == 4 && B.offset(of: \.bid_sz) == 8 && B.offset(of: \.ask_sz) == 16)

        typealias I = MemoryLayout<omni_itch_ref>
        #expect(I.offset(of: \.offset) == 0 && I.offset(of: \.length) == 8 && I.offset(of: \.msg_type) == 10)

        typealias O = MemoryLayout<omni_order>
        #expect(O.offset(of: \.client_order_id) == 0 && O.offset(of: \.price) == 8 && O.offset(of: \.qty) == 12)
        #expect(O.offset(of: \.strategy) == 16 && O.offset(of: \.side) == 18 && O.offset(of: \.order_flags) == 19)
        #expect(O.offset(of: \.reason) == 20 && O.offset(of: \.venue_ns) == 24)

        typealias F = MemoryLayout<omni_fill>
        #expect(F.offset(of: \.client_order_id) == 0 && F.offset(of: \.venue_ns) == 8 && F.offset(of: \.last_px) == 16)
        #expect(F.offset(of: \.last_qty) == 20 && F.offset(of: \.leaves_qty) == 24 && F.offset(of: \.strategy) == 28)
        #expect(F.offset(of: \.side) == 30 && F.offset(of: \.liquidity) == 31)

        typealias C = MemoryLayout<omni_command>
        #expect(C.offset(of: \.code) == 0 && C.offset(of: \.target) == 4 && C.offset(of: \.arg) == 8)

        // Absolute offsets of a few fields, as the table gives them.
        #expect(payloadOffset { $0.fill.leaves_qty = 1 } == 56)
        #expect(payloadOffset { $0.fill.liquidity = 1 } == 63)
        #expect(payloadOffset { $0.order.reason = 1 } == 52)
        #expect(payloadOffset { $0.order.venue_ns = 1 } == 56)
        #expect(payloadOffset { $0.bbo.ask_sz = 1 } == 48)
        #expect(payloadOffset { $0.itch.msg_type = 1 } == 42)
    }

    @Test("event types, flags and codes keep their numbers")
    func numbering() {
        let types: [(omni_event_type, UInt32)] = [
            (OMNI_EV_NONE, 0), (OMNI_EV_BOOK_LEVEL, 1), (OMNI_EV_BBO, 2), (OMNI_EV_ORDER_NEW, 3),
            (OMNI_EV_ORDER_CANCEL, 4), (OMNI_EV_ORDER_REPLACE, 5), (OMNI_EV_FILL, 6), (OMNI_EV_COMMAND, 7),
            (OMNI_EV_ITCH, 8), (OMNI_EV_ORDER_ACCEPTED, 9), (OMNI_EV_ORDER_REJECTED, 10), (OMNI_EV_ORDER_CANCELED, 11),
            (OMNI_EV_ORDER_REPLACED, 12), (OMNI_EV_CANCEL_REJECTED, 13),
        ]
        for (t, n) in types { #expect(t.rawValue == n) }
        #expect(OMNI_EVF_LAST_IN_PACKET == 1 && OMNI_EVF_RECOVERED == 2)
        #expect(OMNI_ORDF_IOC == 1 && OMNI_ORDF_POST_ONLY == 2)
        #expect(OMNI_LIQ_UNKNOWN == 0 && OMNI_LIQ_ADDED == 1 && OMNI_LIQ_REMOVED == 2)
        #expect(OMNI_CMD_STOP == 1 && OMNI_CMD_KILL == 2 && OMNI_CMD_SET_PARAM == 3)
        #expect(OMNI_CMD_KILL_RESET == 4 && OMNI_CMD_QUOTING == 5 && OMNI_CMD_SET_LIMITS == 6 && OMNI_CMD_ACK == 7)
        #expect(OMNI_PARAM_SPREAD_TICKS == 1 && OMNI_PARAM_SIZE == 2 && OMNI_PARAM_SKEW_SHARES == 3 && OMNI_PARAM_MAX_POSITION == 4)
        #expect(OMNI_CMDR_APPLIED == 0 && OMNI_CMDR_UNKNOWN_COMMAND == 1 && OMNI_CMDR_UNKNOWN_INSTRUMENT == 2
                && OMNI_CMDR_UNKNOWN_PARAMETER == 3 && OMNI_CMDR_BAD_VALUE == 4 && OMNI_CMDR_NOT_KILLED == 5)
    }

    @Test("hop codes: exact below 4096 ticks, 12 significant bits above, monotonic, saturating")
    func hopCode() {
        for t: UInt64 in [0, 1, 2, 100, 4095] {
            #expect(omni_hop_decode(omni_hop_encode(t)) == t)
        }
        #expect(omni_hop_encode(4096) == 0x1000 && omni_hop_decode(0x1000) == 4096)
        #expect(omni_hop_encode(OMNI_HOP_MAX_TICKS) == 0xFFFF)
        #expect(omni_hop_decode(0xFFFF) == OMNI_HOP_MAX_TICKS && OMNI_HOP_MAX_TICKS == 134_201_344)
        #expect(omni_hop_encode(1 << 27) == 0xFFFF && omni_hop_encode(UInt64.max) == 0xFFFF)
        // Above the exact range: never rounds up, off by less than 1 part in 4096.
        var previous: UInt16 = 0
        var t: UInt64 = 1
        while t < 1 << 28 {
            let code = omni_hop_encode(t)
            #expect(code >= previous) // monotonic
            previous = code
            let back = omni_hop_decode(code)
            if t <= OMNI_HOP_MAX_TICKS {
                #expect(back <= t && (t - back) * 4096 < t + 1)
            } else {
                #expect(code == 0xFFFF)
            }
            t = t * 3 / 2 + 1
        }
    }

    @Test("stamps: ticks since rx, at least 1, saturated")
    func stamps() {
        var e = omni_event()
        e.rx_tsc = 1_000
        omni_event_stamp(&e, UInt32(OMNI_HOP_DECODE), 1_250)
        omni_event_stamp(&e, UInt32(OMNI_HOP_BOOK), 1_000)              // same tick: reads 1, not unstamped
        omni_event_stamp(&e, UInt32(OMNI_HOP_STRATEGY), 1_000 + (1 << 40)) // far past the range: saturates
        omni_event_stamp(&e, UInt32(OMNI_HOP_RISK), 999)                // before rx (another core's TSC): saturates
        omni_event_stamp(&e, UInt32(OMNI_HOP_TX), 1_000 + 1_000_000)
        #expect(e.hop.0 == 250 && e.hop.1 == 1 && e.hop.2 == 0xFFFF && e.hop.3 == 0xFFFF)
        #expect(omni_event_hop_ticks(&e, UInt32(OMNI_HOP_DECODE)) == 250)
        #expect(omni_event_hop_ticks(&e, UInt32(OMNI_HOP_BOOK)) == 1)
        #expect(omni_event_hop_ticks(&e, UInt32(OMNI_HOP_STRATEGY)) == OMNI_HOP_MAX_TICKS)
        let tx = omni_event_hop_ticks(&e, UInt32(OMNI_HOP_TX))
        #expect(tx <= 1_000_000 && tx > 1_000_000 - 1_000_000 / 4096)
        var unstamped = omni_event()
        #expect(omni_event_hop_ticks(&unstamped, 0) == 0)
    }
}
