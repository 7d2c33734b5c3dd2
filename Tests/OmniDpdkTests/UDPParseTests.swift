import CDpdk
import Testing

/// The frame parser and builder the probe uses (CNet's cn_packet.h, re-exported by CDpdk) on
/// hand-written Ethernet frames taken whole, as a port delivers them: no EAL needed.
@Suite("Ethernet/IPv4/UDP frames as the DPDK path parses them (cn_packet.h)")
struct UDPParseTests {
    func parse(_ f: [UInt8], _ v: inout cn_udp_view) -> Int32 {
        f.withUnsafeBufferPointer { cn_parse_udp_whole($0.baseAddress, $0.count, UInt32(CN_LINK_ETHERNET), &v) }
    }

    @Test func builtFrameParsesBack() {
        let payload: [UInt8] = Array("hello, feed".utf8)
        var frame = [UInt8](repeating: 0xAA, count: 128)
        let mac: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (2, 0, 0, 0, 0, 9)
        // dst_mac all zero: the builder writes the group's 01:00:5e multicast MAC.
        var e = cn_udp_endpoints(dst_mac: (0, 0, 0, 0, 0, 0), src_mac: mac, src_ip: 0x0A00_0002, dst_ip: 0xE002_030A, src_port: 1234, dst_port: 16648, ip_id: 0, ttl: 1)
        func build(cap: Int) -> Int {
            frame.withUnsafeMutableBufferPointer { f in
                let n = cn_put_udp_frame(f.baseAddress, cap, &e, payload, payload.count)
                return n == 0 ? 0 : cn_eth_pad(f.baseAddress, cap, n)
            }
        }
        let n = build(cap: 128)
        #expect(n == 60)  // 42 + 11 padded to the Ethernet minimum
        #expect(frame[53..<60].allSatisfy { $0 == 0 })  // the padding is zeros, not what the buffer held
        #expect(Array(frame[0..<6]) == [0x01, 0x00, 0x5e, 0x02, 0x03, 0x0a])
        var v = cn_udp_view()
        #expect(parse(Array(frame[0..<n]), &v) == CN_FRAME_UDP.rawValue)
        #expect(v.dst_ip == 0xE002_030A && v.dst_port == 16648 && v.src_port == 1234 && v.vlan_count == 0 && v.ttl == 1)
        #expect(Array(UnsafeBufferPointer(start: v.payload, count: Int(v.payload_len))) == payload)  // padding not taken as payload
        // The IPv4 header checksum folds to 0xFFFF over a correct header.
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(frame[i]) << 8 | UInt32(frame[i + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        #expect(sum == 0xFFFF)
        #expect(build(cap: 50) == 0)
        #expect(build(cap: 55) == 0)  // the frame fits, its padding does not
    }

    @Test func everyTruncationIsRefusedWithoutReadingPastTheEnd() {
        let frame = udpFrame(vlan: 7, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
        var v = cn_udp_view()
        let whole = frame.withUnsafeBufferPointer { f in
            (cn_parse_udp_whole(f.baseAddress, f.count, UInt32(CN_LINK_ETHERNET), &v), v.payload.map { $0 - f.baseAddress! } ?? -1)
        }
        #expect(whole.0 == CN_FRAME_UDP.rawValue && whole.1 == 18 + 20 + 8)  // IPv4 header at 18, after one tag
        #expect(v.vlan_count == 1 && v.vlan_id.0 == 7 && v.payload_len == 20)
        for cut in 0..<frame.count {
            // A copy exactly `cut` long: the address sanitizer-free way to catch an over-read is a status, not a crash.
            let st = parse(Array(frame[0..<cut]), &v)
            #expect(st != CN_FRAME_UDP.rawValue, "a \(cut)-byte prefix parsed as whole")
        }
    }

    @Test func badHeadersAreNamed() {
        var v = cn_udp_view()
        func status(_ f: [UInt8]) -> Int32 { parse(f, &v) }
        func name(_ s: Int32) -> String { String(cString: cn_frame_status_name(s)) }
        var arp = udpFrame(payload: [0]); arp[12] = 0x08; arp[13] = 0x06
        #expect(status(arp) == CN_FRAME_OTHER.rawValue && name(status(arp)) == "not_ipv4")
        var tcp = udpFrame(payload: [0]); tcp[23] = 6
        #expect(status(tcp) == CN_FRAME_NOT_UDP.rawValue && name(status(tcp)) == "not_udp")
        var frag = udpFrame(payload: [0]); frag[20] = 0x20  // more fragments
        #expect(status(frag) == CN_FRAME_FRAGMENT.rawValue && name(status(frag)) == "fragment")
        var df = udpFrame(payload: [0]); df[20] = 0x40      // don't fragment: fine
        #expect(status(df) == CN_FRAME_UDP.rawValue)
        var v6 = udpFrame(payload: [0]); v6[14] = 0x65
        #expect(status(v6) == CN_FRAME_BAD_IPV4.rawValue && name(status(v6)) == "bad_ipv4")
        var longUDP = udpFrame(payload: [0, 0]); longUDP[38] = 0; longUDP[39] = 11  // UDP length past the IPv4 payload
        #expect(status(longUDP) == CN_FRAME_BAD_UDP.rawValue && name(status(longUDP)) == "bad_udp")
        var longIP = udpFrame(payload: [0]); longIP[17] = 200  // IPv4 total length past the frame
        #expect(status(longIP) == CN_FRAME_BAD_IPV4.rawValue && v.payload == nil && v.payload_len == 0)
        #expect(name(status(Array(arp[0..<13]))) == "short")
        let qinq = udpFrame(vlan: 5, outerTag: 0x88A8, payload: [9, 9])
        #expect(status(qinq) == CN_FRAME_UDP.rawValue && v.vlan_count == 2 && v.vlan_id.0 == 99 && v.vlan_id.1 == 5 && v.payload_len == 2)  // outer (S-)tag first
        let third = udpFrame(vlan: 5, outerTag: 0x88A8, payload: [9, 9])
        let threeTags = Array(third[0..<12]) + [0x81, 0x00, 0, 1] + Array(third[12...])
        #expect(status(threeTags) == CN_FRAME_OTHER.rawValue)  // a third tag is not read
    }

    @Test func destinationFilter() {
        var v = cn_udp_view()
        v.dst_ip = 0xE002_030A
        v.dst_port = 16648
        let dests = [cn_udp_dest(group: 0xE043_00C7, port: 16642), cn_udp_dest(group: 0xE002_030A, port: 0)]
        #expect(cn_udp_match(&v, dests, 2) == 1)
        #expect(cn_udp_match(&v, dests, 1) == -1)
        #expect(cn_udp_match(&v, [cn_udp_dest(group: 0, port: 16648)], 1) == 0)
        #expect(cn_udp_match(&v, [cn_udp_dest(group: 0, port: 16649)], 1) == -1)
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
