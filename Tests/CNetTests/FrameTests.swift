import CNet
import Testing

func ipv4(src: UInt32 = 0x0A00_0001, dst: UInt32 = 0xE002_030A, proto: UInt8 = 17, options: [UInt8] = [],
          frag: UInt16 = 0, body: [UInt8], totalDelta: Int = 0) -> [UInt8] {
    let ihl = 20 + options.count
    var h: [UInt8] = [UInt8(0x40 | ihl / 4), 0] + be(UInt64(ihl + body.count + totalDelta), 2) + be(0x1234, 2) + be(UInt64(frag), 2)
        + [64, proto, 0, 0] + be(UInt64(src), 4) + be(UInt64(dst), 4) + options
    let c = h.withUnsafeBufferPointer { cn_ipv4_checksum($0.baseAddress, ihl) }
    h[10] = UInt8(c >> 8); h[11] = UInt8(c & 0xFF)
    return h + body
}

func udp(_ payload: [UInt8], src: UInt16 = 1000, dst: UInt16 = 16648, lenDelta: Int = 0) -> [UInt8] {
    be(UInt64(src), 2) + be(UInt64(dst), 2) + be(UInt64(8 + payload.count + lenDelta), 2) + [0, 0] + payload
}

func ether(_ type: UInt16, tags: [UInt16] = [], _ rest: [UInt8]) -> [UInt8] {
    var f: [UInt8] = [0x01, 0x00, 0x5E, 0x02, 0x03, 0x0A, 0x02, 0, 0, 0, 0, 1]
    for (i, t) in tags.enumerated() { f += be(i == 0 && tags.count == 2 ? 0x88A8 : 0x8100, 2) + be(UInt64(t), 2) }
    return f + be(UInt64(type), 2) + rest
}

func parse(_ frame: [UInt8], link: UInt32 = 1) -> (Int32, cn_udp_view, [UInt8]) {
    var v = cn_udp_view()
    let s = frame.withUnsafeBufferPointer { cn_parse_udp($0.baseAddress, $0.count, link, &v) }
    let payload = s == CN_FRAME_UDP.rawValue ? Array(UnsafeBufferPointer(start: v.payload, count: Int(v.payload_len))) : []
    return (s, v, payload)
}

@Suite("Frames down to UDP")
struct FrameTests {
    let payload: [UInt8] = Array(1...23)

    @Test func ethernetIPv4UDP() {
        let (s, v, p) = parse(ether(0x0800, ipv4(body: udp(payload))))
        #expect(s == CN_FRAME_UDP.rawValue && p == payload)
        #expect(v.src_ip == 0x0A00_0001 && v.dst_ip == 0xE002_030A && v.src_port == 1000 && v.dst_port == 16648)
        #expect(v.vlan_count == 0 && v.cut == 0 && v.udp_len == 23 && v.ttl == 64 && v.ip_header_len == 20)
    }

    @Test(arguments: [[UInt16(100)], [UInt16(7), UInt16(300)]])
    func vlanTags(tags: [UInt16]) {
        let (s, v, p) = parse(ether(0x0800, tags: tags.map { $0 | 0x2000 }, ipv4(body: udp(payload))))
        #expect(s == CN_FRAME_UDP.rawValue && p == payload && Int(v.vlan_count) == tags.count)
        #expect(v.vlan_id.0 == tags[0])
        if tags.count == 2 { #expect(v.vlan_id.1 == tags[1]) }
        // A third tag is not read.
        #expect(parse(ether(0x0800, tags: [1, 2, 3], ipv4(body: udp(payload)))).0 == CN_FRAME_OTHER.rawValue)
    }

    @Test func ipv4OptionsAreSkipped() {
        let opts: [UInt8] = [0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00] // router alert, NOPs, end
        let (s, v, p) = parse(ether(0x0800, ipv4(options: opts, body: udp(payload))))
        #expect(s == CN_FRAME_UDP.rawValue && p == payload && v.ip_header_len == 28)
    }

    @Test func ethernetPaddingIsNotPayload() {
        // A short datagram padded to the 60-byte Ethernet minimum: the UDP length bounds the payload.
        let frame = ether(0x0800, ipv4(body: udp([5, 6]))) + [UInt8](repeating: 0xEE, count: 18)
        let (s, _, p) = parse(frame)
        #expect(s == CN_FRAME_UDP.rawValue && p == [5, 6])
    }

    @Test func inconsistentLengths() {
        // UDP length beyond the IPv4 payload, and under its own header.
        #expect(parse(ether(0x0800, ipv4(body: udp(payload, lenDelta: 1)))).0 == CN_FRAME_BAD_UDP.rawValue)
        #expect(parse(ether(0x0800, ipv4(body: udp(payload, lenDelta: -24)))).0 == CN_FRAME_BAD_UDP.rawValue)
        // IPv4 total length under the header, IHL under 5, version 6 in an IPv4 ethertype.
        #expect(parse(ether(0x0800, ipv4(body: udp(payload), totalDelta: -40))).0 == CN_FRAME_BAD_IPV4.rawValue)
        var ihl4 = ether(0x0800, ipv4(body: udp(payload)))
        ihl4[14] = 0x44
        #expect(parse(ihl4).0 == CN_FRAME_BAD_IPV4.rawValue)
        var v6 = ihl4
        v6[14] = 0x65
        #expect(parse(v6).0 == CN_FRAME_BAD_IPV4.rawValue)
    }

    @Test func snapLengthCutIsFlagged() {
        let frame = Array(ether(0x0800, ipv4(body: udp(payload))).prefix(14 + 20 + 8 + 10))
        let (s, v, p) = parse(frame)
        #expect(s == CN_FRAME_UDP.rawValue && v.cut == 1 && p == Array(payload.prefix(10)) && v.udp_len == 23)
        // Cut inside the headers.
        for n in [0, 5, 13, 20, 14 + 19, 14 + 20 + 7] {
            #expect(parse(Array(frame.prefix(n))).0 == CN_FRAME_SHORT.rawValue, "prefix \(n)")
        }
    }

    @Test func wholeFramesRefuseWhatACaptureWouldFlagAsCut() {
        func whole(_ f: [UInt8]) -> (Int32, cn_udp_view) {
            var v = cn_udp_view()
            let s = f.withUnsafeBufferPointer { cn_parse_udp_whole($0.baseAddress, $0.count, UInt32(CN_LINK_ETHERNET), &v) }
            return (s, v)
        }
        let frame = ether(0x0800, tags: [7], ipv4(body: udp(payload)))
        let ok = whole(frame + [0, 0, 0])  // link padding past the IPv4 total length is fine
        #expect(ok.0 == CN_FRAME_UDP.rawValue && ok.1.payload_len == 23 && ok.1.vlan_id.0 == 7)
        // The capture parser calls a snap-length cut UDP with `cut`; a whole frame that ends early is refused.
        let short = Array(frame.prefix(frame.count - 5))
        #expect(parse(short).0 == CN_FRAME_UDP.rawValue && parse(short).1.cut == 1)
        let refused = whole(short)
        #expect(refused.0 == CN_FRAME_BAD_IPV4.rawValue && refused.1.payload == nil && refused.1.payload_len == 0)
        // An IPv4 total length past the frame, the UDP datagram itself whole: a header that lies.
        let lying = ether(0x0800, ipv4(body: udp(payload), totalDelta: 4))
        #expect(parse(lying).0 == CN_FRAME_UDP.rawValue && parse(lying).1.cut == 0)
        #expect(whole(lying).0 == CN_FRAME_BAD_IPV4.rawValue)
        // Everything else is cn_parse_udp's answer.
        #expect(whole(ether(0x0806, [UInt8](repeating: 0, count: 28))).0 == CN_FRAME_OTHER.rawValue)
        #expect(whole(ether(0x0800, ipv4(frag: 0x2000, body: udp(payload)))).0 == CN_FRAME_FRAGMENT.rawValue)
    }

    @Test func statusNamesCoverTheSpan() {
        var names = Set<String>()
        for s in CN_FRAME_STATUS_MIN...CN_FRAME_STATUS_MAX { names.insert(String(cString: cn_frame_status_name(s))) }
        #expect(names.count == Int(CN_FRAME_STATUS_MAX - CN_FRAME_STATUS_MIN + 1) && !names.contains("unknown"))
        #expect(String(cString: cn_frame_status_name(CN_FRAME_OTHER.rawValue)) == "not_ipv4")
        #expect(String(cString: cn_frame_status_name(CN_FRAME_STATUS_MAX + 1)) == "unknown")
    }

    @Test func destinationFilterAndPadding() {
        var v = parse(ether(0x0800, ipv4(body: udp(payload)))).1
        let dests = [cn_udp_dest(group: 0xE002_030B, port: 0), cn_udp_dest(group: 0, port: 16648)]
        #expect(cn_udp_match(&v, dests, 2) == 1 && cn_udp_match(&v, dests, 1) == -1 && cn_udp_match(&v, dests, 0) == -1)
        var buf = [UInt8](repeating: 0xEE, count: 64)
        #expect(buf.withUnsafeMutableBufferPointer { cn_eth_pad($0.baseAddress, 64, 42) } == 60)
        #expect(buf[42..<60].allSatisfy { $0 == 0 } && buf[60] == 0xEE && buf[41] == 0xEE)
        #expect(buf.withUnsafeMutableBufferPointer { cn_eth_pad($0.baseAddress, 64, 61) } == 61)
        #expect(buf.withUnsafeMutableBufferPointer { cn_eth_pad($0.baseAddress, 59, 42) } == 0)
    }

    @Test func fragmentsAndOtherTraffic() {
        let mf = parse(ether(0x0800, ipv4(frag: 0x2000, body: udp(payload))))
        #expect(mf.0 == CN_FRAME_FRAGMENT.rawValue && mf.1.more_fragments == 1 && mf.1.dst_ip == 0xE002_030A)
        let later = parse(ether(0x0800, ipv4(frag: 185, body: payload)))
        #expect(later.0 == CN_FRAME_FRAGMENT.rawValue && later.1.frag_offset == 185)
        #expect(parse(ether(0x0800, ipv4(proto: 2, body: payload))).0 == CN_FRAME_NOT_UDP.rawValue) // IGMP
        #expect(parse(ether(0x0806, [UInt8](repeating: 0, count: 28))).0 == CN_FRAME_OTHER.rawValue) // ARP
        #expect(parse(ether(0x86DD, [UInt8](repeating: 0, count: 48))).0 == CN_FRAME_OTHER.rawValue) // IPv6
        #expect(parse([1, 2, 3], link: 147).0 == CN_FRAME_UNKNOWN_LINK.rawValue)
    }

    @Test func cookedAndRawLinkTypes() {
        let ip = ipv4(body: udp(payload))
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + be(0x0800, 2)
        #expect(parse(sll + ip, link: 113).2 == payload)
        let sll2: [UInt8] = be(0x0800, 2) + [UInt8](repeating: 0, count: 18)
        #expect(parse(sll2 + ip, link: 276).2 == payload)
        #expect(parse(ip, link: 101).2 == payload)
        #expect(parse(ip, link: 228).2 == payload)
        #expect(parse([0x60] + [UInt8](repeating: 0, count: 39), link: 101).0 == CN_FRAME_OTHER.rawValue)
    }
}

@Suite("pcap writer")
struct PcapWriterTests {
    @Test func writtenRecordsReadBack() {
        var file = [UInt8](repeating: 0, count: 24)
        #expect(file.withUnsafeMutableBufferPointer { cn_pcap_put_file_header($0.baseAddress, $0.count, 65535, 1) } == 24)
        var ep = cn_udp_endpoints()
        ep.src_ip = 0x0A01_0203; ep.dst_ip = 0xE9C8_0101 // 233.200.1.1
        ep.src_port = 4000; ep.dst_port = 26477; ep.ttl = 1; ep.ip_id = 77
        let payloads: [[UInt8]] = [Array("SESSION001".utf8) + be(1, 8) + be(0, 2), [], Array(0...255)]
        for (i, pl) in payloads.enumerated() {
            var rec = [UInt8](repeating: 0, count: 16 + 42 + pl.count)
            let n = rec.withUnsafeMutableBufferPointer { r in
                pl.withUnsafeBufferPointer { cn_pcap_put_udp_record(r.baseAddress, r.count, 1_600_000_000_000_000_000 + UInt64(i), &ep, $0.baseAddress, $0.count) }
            }
            #expect(n == rec.count)
            file += rec
        }
        // A record that does not fit writes nothing.
        var small = [UInt8](repeating: 0, count: 16 + 41)
        #expect(small.withUnsafeMutableBufferPointer { cn_pcap_put_udp_record($0.baseAddress, $0.count, 0, &ep, nil, 0) } == 0)

        let r = readCapture(file)
        #expect(r.status == CN_PCAP_END.rawValue && r.packets.count == 3)
        #expect(Array(file.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1]) // nanosecond magic, little-endian
        for (i, p) in r.packets.enumerated() {
            #expect(p.ts == 1_600_000_000_000_000_000 + UInt64(i) && p.link == 1)
            let (s, v, got) = parse(p.data)
            #expect(s == CN_FRAME_UDP.rawValue && got == payloads[i])
            #expect(v.src_ip == 0x0A01_0203 && v.dst_ip == 0xE9C8_0101 && v.src_port == 4000 && v.dst_port == 26477 && v.ttl == 1)
            #expect(Array(p.data.prefix(6)) == [0x01, 0x00, 0x5E, 0x48, 0x01, 0x01]) // multicast MAC from the group
            let ipHeader = Array(p.data[14..<34])
            #expect(ipHeader.withUnsafeBufferPointer { cn_ipv4_checksum($0.baseAddress, 20) } == 0) // valid header checksum
            // UDP checksum over pseudo-header + datagram sums to all ones.
            let udpPart = Array(p.data[34...])
            let pseudo = Array(p.data[26..<34]) + [0, 17] + be(UInt64(udpPart.count), 2)
            let sum = udpPart.withUnsafeBufferPointer { u in pseudo.withUnsafeBufferPointer { cn_csum_add(cn_csum_add(0, $0.baseAddress, 12), u.baseAddress, u.count) } }
            #expect(sum == 0xFFFF)
        }
    }

    @Test func knownIPv4HeaderChecksum() {
        // The classic worked example: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
        var h: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7]
        #expect(h.withUnsafeBufferPointer { cn_ipv4_checksum($0.baseAddress, 20) } == 0xB861)
        h[10] = 0xB8; h[11] = 0x61
        #expect(h.withUnsafeBufferPointer { cn_ipv4_checksum($0.baseAddress, 20) } == 0)
    }
}
