import CNet
import CWire
import Testing

// The pcap reader and writer take their byte order from cw_endian.h: a file in the
// writer's order is read through cw_ld* with the reader's swap flag, and what we write
// is little-endian (cw_put_le*).
@Suite("pcap byte order through cw_endian.h")
struct PcapByteOrderTests {
    @Test func writtenHeaderIsLittleEndianAndReadsBack() {
        var f = [UInt8](repeating: 0, count: Int(CN_PCAP_FILE_HEADER_LEN))
        #expect(f.withUnsafeMutableBufferPointer { cn_pcap_put_file_header($0.baseAddress!, $0.count, 65535, UInt32(CN_LINK_ETHERNET)) } == f.count)
        f.withUnsafeBufferPointer { p in
            #expect(cw_le32(p.baseAddress!) == CN_PCAP_MAGIC_NS && cw_le16(p.baseAddress! + 4) == 2)
            #expect(cw_le32(p.baseAddress! + 16) == 65535 && cw_le32(p.baseAddress! + 20) == UInt32(CN_LINK_ETHERNET))
        }
        var r = cn_pcap_reader()
        #expect(f.withUnsafeBufferPointer { cn_pcap_open(&r, $0.baseAddress!, $0.count) } == 0)
        #expect(r.swap == 0 && r.nanosecond == 1 && r.ifs.0.snaplen == 65535)
    }

    @Test func otherOrderFileSetsTheSwapFlag() {
        // The same header as a big-endian writer stores it: every field byte-swapped.
        var f = [UInt8](repeating: 0, count: Int(CN_PCAP_FILE_HEADER_LEN))
        f.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            cw_put32(b, CN_PCAP_MAGIC_US); cw_put16(b + 4, 2); cw_put16(b + 6, 4)
            cw_put32(b + 16, 1500); cw_put32(b + 20, UInt32(CN_LINK_RAW))
        }
        #expect(f.withUnsafeBufferPointer { cn_capture_detect($0.baseAddress!, $0.count) } == CN_CAPTURE_PCAP)
        var r = cn_pcap_reader()
        #expect(f.withUnsafeBufferPointer { cn_pcap_open(&r, $0.baseAddress!, $0.count) } == 0)
        #expect(r.swap == 1 && r.nanosecond == 0 && r.ifs.0.snaplen == 1500 && r.ifs.0.linktype == UInt32(CN_LINK_RAW))
    }

    @Test func recordHeaderRefusesOneByteShort() {
        var h = [UInt8](repeating: 0xEE, count: Int(CN_PCAP_RECORD_HEADER_LEN) - 1)
        #expect(h.withUnsafeMutableBufferPointer { cn_pcap_put_record_header($0.baseAddress!, $0.count, 1, 2, 2) } == 0)
        #expect(h.allSatisfy { $0 == 0xEE })
        h.append(0xEE)
        #expect(h.withUnsafeMutableBufferPointer { cn_pcap_put_record_header($0.baseAddress!, $0.count, 1_000_000_007, 2, 3) } == h.count)
        #expect(h.withUnsafeBufferPointer { cw_le32($0.baseAddress!) } == 1 && h.withUnsafeBufferPointer { cw_le32($0.baseAddress! + 4) } == 7)
    }
}
