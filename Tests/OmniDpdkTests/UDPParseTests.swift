import CDpdk
import Testing

/// cdpdk_udp.h on hand-written frames: no EAL needed.
@Suite("Ethernet/IPv4/UDP frame parser (cdpdk_udp.h)")
struct UDPParseTests {
    @Test func builtFrameParsesBack() {
        let payload: [UInt8] = Array("hello, feed".utf8)
        var frame = [UInt8](repeating: 0, count: 128)
        let mac: [UInt8] = [2, 0, 0, 0, 0, 9]
        let n = cdpdk_udp_build(&frame, 128, mac, mac, 0x0A00_0002, 0xE002_030A, 1234, 16648, payload, UInt32(payload.count))
        #expect(n == 60)  // 42 + 11 padded to the Ethernet minimum
        #expect(Array(frame[0..<6]) == [0x01, 0x00, 0x5e, 0x02, 0x03, 0x0a])
        var v = cdpdk_udp_view()
        #expect(cdpdk_udp_payload(frame, n, &v) == CDPDK_UDP_OK)
        #expect(v.dst_ip == 0xE002_030A && v.dst_port == 16648 && v.src_port == 1234 && v.vlan == UInt16(CDPDK_UDP_NO_VLAN))
        #expect(Array(UnsafeBufferPointer(start: v.payload, count: Int(v.payload_len))) == payload)
        // The IPv4 header checksum folds to 0xFFFF over a correct header.
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(frame[i]) << 8 | UInt32(frame[i + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        #expect(sum == 0xFFFF)
        #expect(cdpdk_udp_build(&frame, 50, mac, mac, 1, 2, 3, 4, payload, UInt32(payload.count)) == 0)
    }

    @Test func everyTruncationIsRefusedWithoutReadingPastTheEnd() {
        let frame = udpFrame(vlan: 7, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
        var v = cdpdk_udp_view()
        #expect(cdpdk_udp_payload(frame, UInt32(frame.count), &v) == CDPDK_UDP_OK)
        #expect(v.vlan == 7 && v.l3_offset == 18 && v.payload_len == 20)
        for cut in 0..<frame.count {
            // A copy exactly `cut` long: the address sanitizer-free way to catch an over-read is a status, not a crash.
            let short = Array(frame[0..<cut])
            let st = short.withUnsafeBufferPointer { cdpdk_udp_payload($0.baseAddress, UInt32(cut), &v) }
            #expect(st != CDPDK_UDP_OK, "a \(cut)-byte prefix parsed as whole")
        }
    }

    @Test func badHeadersAreNamed() {
        var v = cdpdk_udp_view()
        func status(_ f: [UInt8]) -> cdpdk_udp_status { cdpdk_udp_payload(f, UInt32(f.count), &v) }
        var arp = udpFrame(payload: [0]); arp[12] = 0x08; arp[13] = 0x06
        #expect(status(arp) == CDPDK_UDP_NOT_IPV4)
        var tcp = udpFrame(payload: [0]); tcp[23] = 6
        #expect(status(tcp) == CDPDK_UDP_NOT_UDP)
        var frag = udpFrame(payload: [0]); frag[20] = 0x20  // more fragments
        #expect(status(frag) == CDPDK_UDP_FRAGMENT)
        var df = udpFrame(payload: [0]); df[20] = 0x40      // don't fragment: fine
        #expect(status(df) == CDPDK_UDP_OK)
        var v6 = udpFrame(payload: [0]); v6[14] = 0x65
        #expect(status(v6) == CDPDK_UDP_BAD_IPV4)
        var longUDP = udpFrame(payload: [0, 0]); longUDP[38] = 0; longUDP[39] = 11  // UDP length past the IPv4 payload
        #expect(status(longUDP) == CDPDK_UDP_BAD_UDP)
        var longIP = udpFrame(payload: [0]); longIP[17] = 200  // IPv4 total length past the frame
        #expect(status(longIP) == CDPDK_UDP_BAD_IPV4)
        let qinq = udpFrame(vlan: 5, outerTag: 0x88A8, payload: [9, 9])
        #expect(status(qinq) == CDPDK_UDP_OK && v.vlan == 99 && v.payload_len == 2)  // the outer (S-)tag is the one named
    }

    @Test func destinationFilter() {
        var v = cdpdk_udp_view()
        v.dst_ip = 0xE002_030A
        v.dst_port = 16648
        let dests = [cdpdk_udp_dest(group: 0xE043_00C7, port: 16642), cdpdk_udp_dest(group: 0xE002_030A, port: 0)]
        #expect(cdpdk_udp_match(&v, dests, 2) == 1)
        #expect(cdpdk_udp_match(&v, dests, 1) == -1)
    }
}

/// Ethernet (+ optional VLAN tags) / IPv4 / UDP to 224.0.1.2:3000, written byte by byte (no padding).
func udpFrame(vlan: UInt16? = nil, outerTag: UInt16? = nil, dst: [UInt8] = [224, 0, 1, 2], port: UInt16 = 3000, payload: [UInt8]) -> [UInt8] {
    var f: [UInt8] = [0x01, 0x00, 0x5e, dst[1] & 0x7f, dst[2], dst[3], 0x02, 0, 0, 0, 0, 1]
    if let outerTag { f += [UInt8(outerTag >> 8), UInt8(outerTag & 0xFF), 0, 99] }
    if let vlan { f += [0x81, 0x00, UInt8(vlan >> 8), UInt8(vlan & 0xFF)] }
    f += [0x08, 0x00]
    let total = 20 + 8 + payload.count
    f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, 1, 17, 0, 0, 10, 0, 0, 1] + dst
    let ulen = 8 + payload.count
    f += [0x0F, 0xA0, UInt8(port >> 8), UInt8(port & 0xFF), UInt8(ulen >> 8), UInt8(ulen & 0xFF), 0, 0] + payload
    return f
}
