import CNet
import Testing

// ---- byte builders
func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
func be(_ v: UInt64, _ n: Int) -> [UInt8] { le(v, n).reversed() }
func ord(_ v: UInt64, _ n: Int, big: Bool) -> [UInt8] { big ? be(v, n) : le(v, n) }
func pad4(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }

/// Classic pcap file header.
func pcapHeader(big: Bool, ns: Bool, link: UInt32 = 1, snap: UInt32 = 65535) -> [UInt8] {
    ord(ns ? 0xA1B2_3C4D : 0xA1B2_C3D4, 4, big: big) + ord(2, 2, big: big) + ord(4, 2, big: big)
        + [UInt8](repeating: 0, count: 8) + ord(UInt64(snap), 4, big: big) + ord(UInt64(link), 4, big: big)
}

func pcapRecord(big: Bool, sec: UInt32, frac: UInt32, data: [UInt8], orig: Int? = nil) -> [UInt8] {
    ord(UInt64(sec), 4, big: big) + ord(UInt64(frac), 4, big: big) + ord(UInt64(data.count), 4, big: big)
        + ord(UInt64(orig ?? data.count), 4, big: big) + data
}

/// pcapng block: type, total length, body (padded), total length.
func block(_ type: UInt32, _ body: [UInt8], big: Bool) -> [UInt8] {
    let b = pad4(body)
    let len = UInt64(12 + b.count)
    return ord(UInt64(type), 4, big: big) + ord(len, 4, big: big) + b + ord(len, 4, big: big)
}

func shb(big: Bool) -> [UInt8] {
    block(0x0A0D_0D0A, ord(0x1A2B_3C4D, 4, big: big) + ord(1, 2, big: big) + ord(0, 2, big: big) + [UInt8](repeating: 0xFF, count: 8), big: big)
}

func option(_ code: UInt16, _ value: [UInt8], big: Bool) -> [UInt8] {
    ord(UInt64(code), 2, big: big) + ord(UInt64(value.count), 2, big: big) + pad4(value)
}

func idb(link: UInt16, tsresol: UInt8? = nil, tsoffset: Int64? = nil, big: Bool) -> [UInt8] {
    var body = ord(UInt64(link), 2, big: big) + [0, 0] + ord(0, 4, big: big)
    if let r = tsresol { body += option(9, [r], big: big) }
    if let o = tsoffset { body += option(14, ord(UInt64(bitPattern: o), 8, big: big), big: big) }
    if tsresol != nil || tsoffset != nil { body += option(0, [], big: big) }
    return block(1, body, big: big)
}

func epb(iface: UInt32, units: UInt64, data: [UInt8], orig: Int? = nil, big: Bool) -> [UInt8] {
    block(6, ord(UInt64(iface), 4, big: big) + ord(units >> 32, 4, big: big) + ord(units & 0xFFFF_FFFF, 4, big: big)
        + ord(UInt64(data.count), 4, big: big) + ord(UInt64(orig ?? data.count), 4, big: big) + pad4(data), big: big)
}

struct Read {
    var packets: [(ts: UInt64, data: [UInt8], orig: UInt32, link: UInt32, iface: UInt32)] = []
    var status: Int32 = 0
    var reader = cn_pcap_reader()
}

func readCapture(_ bytes: [UInt8]) -> Read {
    var out = Read()
    bytes.withUnsafeBufferPointer { b in
        guard cn_pcap_open(&out.reader, b.baseAddress, b.count) == 0 else { out.status = out.reader.status; return }
        var p = cn_pcap_packet()
        while true {
            let s = cn_pcap_next(&out.reader, &p)
            guard s == CN_PCAP_PACKET.rawValue else { out.status = s; break }
            out.packets.append((p.ts_ns, Array(UnsafeBufferPointer(start: p.data, count: Int(p.caplen))), p.origlen, p.linktype, p.interface_id))
        }
        // Sticky: asking again gives the same answer and counts nothing twice.
        #expect(cn_pcap_next(&out.reader, &p) == out.status)
    }
    return out
}

@Suite("Classic pcap reader")
struct ClassicPcapTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func bothByteOrdersAndResolutions(big: Bool, ns: Bool) {
        let file = pcapHeader(big: big, ns: ns, link: 1)
            + pcapRecord(big: big, sec: 1_500_000_000, frac: ns ? 123_456_789 : 123_456, data: [1, 2, 3], orig: 60)
            + pcapRecord(big: big, sec: 1_500_000_001, frac: 7, data: [])
        let fmt = file.withUnsafeBufferPointer { cn_capture_detect($0.baseAddress, $0.count) }
        #expect(fmt == CN_CAPTURE_PCAP)
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_END.rawValue)
        #expect(r.packets.count == 2)
        #expect(r.packets[0].ts == 1_500_000_000_000_000_000 + (ns ? 123_456_789 : 123_456_000))
        #expect(r.packets[0].data == [1, 2, 3] && r.packets[0].orig == 60 && r.packets[0].link == 1)
        #expect(r.packets[1].ts == 1_500_000_001_000_000_000 + (ns ? 7 : 7000) && r.packets[1].data.isEmpty)
        #expect(r.reader.truncated == 0 && r.reader.malformed == 0)
    }

    @Test func truncatedTailIsReportedNotRead() {
        let full = pcapHeader(big: false, ns: false) + pcapRecord(big: false, sec: 1, frac: 0, data: [9, 9])
            + pcapRecord(big: false, sec: 2, frac: 0, data: [UInt8](repeating: 7, count: 100))
        for cut in [1, 10, 16, 17, 99] { // inside the record header, and inside the data
            let r = readCapture(Array(full.dropLast(cut)))
            #expect(r.status == CN_PCAP_TRUNCATED.rawValue, "cut \(cut)")
            #expect(r.packets.count == 1 && r.reader.truncated == 1 && r.reader.packets == 1)
            #expect(r.reader.off == 24 + 18) // the offset of the cut record
        }
    }

    @Test func impossibleRecordLengthIsMalformed() {
        var file = pcapHeader(big: false, ns: false) + pcapRecord(big: false, sec: 1, frac: 0, data: [1])
        file += le(3, 4) + le(0, 4) + le(0x7FFF_FFFF, 4) + le(10, 4) + [1, 2, 3]
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_MALFORMED.rawValue && r.packets.count == 1 && r.reader.malformed == 1)
    }

    @Test func shortOrUnknownFilesAreNotCaptures() {
        #expect(readCapture([]).status == CN_PCAP_NOT_CAPTURE.rawValue)
        #expect(readCapture(Array(pcapHeader(big: false, ns: true).prefix(20))).status == CN_PCAP_NOT_CAPTURE.rawValue)
        #expect(readCapture([0x00, 0x05, 0x53, 0x00, 0x00]).status == CN_PCAP_NOT_CAPTURE.rawValue)
        // A header alone is an empty capture.
        let r = readCapture(pcapHeader(big: true, ns: false))
        #expect(r.status == CN_PCAP_END.rawValue && r.packets.isEmpty)
    }
}

@Suite("pcapng reader")
struct PcapngTests {
    @Test(arguments: [false, true])
    func interfacesResolutionsAndBlocks(big: Bool) {
        let file = shb(big: big)
            + idb(link: 1, big: big)                                   // default: microseconds
            + idb(link: 113, tsresol: 9, big: big)                     // nanoseconds, Linux cooked
            + idb(link: 101, tsresol: 0x80 | 20, tsoffset: 10, big: big) // 2^-20 s, +10 s
            + block(5, [1, 2, 3, 4, 5, 6, 7, 8], big: big)              // interface statistics: skipped
            + epb(iface: 0, units: 1_500_000_000_123_456, data: [0xAA, 0xBB, 0xCC], orig: 64, big: big)
            + epb(iface: 1, units: 1_500_000_000_123_456_789, data: [1, 2, 3, 4, 5], big: big)
            + epb(iface: 2, units: (3 << 20) | (1 << 19), data: [7], big: big) // 3.5 s
            + block(0x0BAD_1DEA, [0, 1, 2], big: big)                   // unknown: skipped
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_END.rawValue)
        #expect(r.packets.count == 3)
        #expect(r.packets[0].ts == 1_500_000_000_123_456_000 && r.packets[0].data == [0xAA, 0xBB, 0xCC] && r.packets[0].orig == 64)
        #expect(r.packets[0].link == 1 && r.packets[0].iface == 0)
        #expect(r.packets[1].ts == 1_500_000_000_123_456_789 && r.packets[1].link == 113 && r.packets[1].iface == 1)
        #expect(r.packets[1].data == [1, 2, 3, 4, 5]) // padding not included
        #expect(r.packets[2].ts == 13_500_000_000 && r.packets[2].link == 101)
        #expect(r.reader.skipped_blocks == 2 && r.reader.sections == 1)
    }

    @Test func simplePacketBlockAndNewSectionInOtherByteOrder() {
        let spb = block(3, le(6, 4) + pad4([1, 2, 3, 4, 5, 6]), big: false)
        let file = shb(big: false) + idb(link: 1, big: false) + spb
            + shb(big: true) + idb(link: 228, tsresol: 3, big: true) + epb(iface: 0, units: 1500, data: [4, 5], big: true)
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_END.rawValue && r.packets.count == 2)
        #expect(r.packets[0].data == [1, 2, 3, 4, 5, 6] && r.packets[0].ts == 0 && r.packets[0].link == 1)
        #expect(r.packets[1].ts == 1_500_000_000 && r.packets[1].link == 228 && r.reader.sections == 2)
    }

    @Test func badBlockLengthsAreMalformed() {
        let good = shb(big: false) + idb(link: 1, big: false) + epb(iface: 0, units: 1, data: [1], big: false)
        // Total length not a multiple of 4.
        var odd = good + le(6, 4) + le(33, 4) + [UInt8](repeating: 0, count: 40)
        #expect(readCapture(odd).status == CN_PCAP_MALFORMED.rawValue)
        // Under the 12-byte minimum.
        odd = good + le(6, 4) + le(8, 4) + le(8, 4)
        #expect(readCapture(odd).status == CN_PCAP_MALFORMED.rawValue)
        // Trailing length differs from the leading one.
        var bad = good + epb(iface: 0, units: 2, data: [2], big: false)
        bad[bad.count - 4] ^= 0x10
        let r = readCapture(bad)
        #expect(r.status == CN_PCAP_MALFORMED.rawValue && r.packets.count == 1 && r.reader.malformed == 1)
        // Captured length past the block, and an interface that was never described.
        let capPast = block(6, le(0, 4) + le(0, 4) + le(0, 4) + le(200, 4) + le(200, 4) + [1, 2, 3, 4], big: false)
        #expect(readCapture(shb(big: false) + idb(link: 1, big: false) + capPast).status == CN_PCAP_MALFORMED.rawValue)
        #expect(readCapture(shb(big: false) + epb(iface: 0, units: 1, data: [1], big: false)).status == CN_PCAP_MALFORMED.rawValue)
        // Byte-order magic that is neither.
        var shbBad = shb(big: false)
        shbBad[8] = 0x99
        #expect(readCapture(shbBad).status == CN_PCAP_MALFORMED.rawValue)
    }

    @Test func truncatedLastBlock() {
        let file = shb(big: true) + idb(link: 1, big: true) + epb(iface: 0, units: 1, data: [1, 2], big: true)
            + epb(iface: 0, units: 2, data: [UInt8](repeating: 3, count: 50), big: true)
        for cut in [1, 4, 40, 70] {
            let r = readCapture(Array(file.dropLast(cut)))
            #expect(r.status == CN_PCAP_TRUNCATED.rawValue && r.packets.count == 1 && r.reader.truncated == 1, "cut \(cut)")
        }
    }

    @Test func timestampResolutions() {
        #expect(cn_pcapng_ts_ns(5, 0) == 5_000_000_000)
        #expect(cn_pcapng_ts_ns(5, 6) == 5000)
        #expect(cn_pcapng_ts_ns(5_000, 12) == 5)
        #expect(cn_pcapng_ts_ns(1 << 30, 0x80 | 30) == 1_000_000_000)
        #expect(cn_pcapng_ts_ns(UInt64.max, 0x80 | 63) == 1_999_999_999) // 128-bit product: no overflow
        #expect(cn_pcapng_ts_ns(UInt64.max, 40) == 0)
    }
}

/// Issue 16: files that were read as if they were whole and sound.
@Suite("Capture headers a reader must refuse")
struct PcapHeaderRefusalTests {
    /// Version 9.9 of classic pcap does not exist: its records were read as 2.4's.
    @Test func anUnknownClassicVersionIsMalformed() {
        var file = pcapHeader(big: false, ns: false) + pcapRecord(big: false, sec: 1, frac: 0, data: [1, 2])
        file.replaceSubrange(4..<8, with: le(9, 2) + le(9, 2))
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_MALFORMED.rawValue && r.packets.isEmpty && r.reader.malformed == 1)
    }

    /// A record that says more bytes were captured than were on the wire cannot be right.
    @Test(arguments: [false, true])
    func capturedLongerThanTheWireIsMalformed(ng: Bool) {
        let data: [UInt8] = [1, 2, 3, 4]
        let file = ng ? shb(big: false) + idb(link: 1, big: false) + epb(iface: 0, units: 1, data: data, big: false)
                        + epb(iface: 0, units: 2, data: data, orig: 2, big: false)
                      : pcapHeader(big: false, ns: false) + pcapRecord(big: false, sec: 1, frac: 0, data: data)
                        + pcapRecord(big: false, sec: 2, frac: 0, data: data, orig: 2)
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_MALFORMED.rawValue && r.packets.count == 1 && r.reader.malformed == 1)
    }

    @Test func anUnknownPcapngMajorVersionIsMalformed() {
        var file = shb(big: false) + idb(link: 1, big: false) + epb(iface: 0, units: 1, data: [1], big: false)
        file.replaceSubrange(12..<14, with: le(2, 2)) // the SHB's major version
        let r = readCapture(file)
        #expect(r.status == CN_PCAP_MALFORMED.rawValue && r.packets.isEmpty)
    }
}
