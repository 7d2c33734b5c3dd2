// libFuzzer harness for the CNet capture reader and frame parser and the CWire IEX-TP
// decoder (Fuzz/run-fuzz.sh builds and runs it next to fuzz_itch).
//
// Each input is read four ways:
//   (a) as a capture: cn_pcap_open / cn_pcap_next to the end; every packet must lie
//       inside the input and the cursor must never pass its end; the final status is
//       sticky; each packet is copied into a heap block of exactly its captured length
//       (so ASan flags a read past the packet, not only past the input) and parsed with
//       cn_parse_udp (and cn_parse_udp_whole, which must agree) under its own link
//       type; a UDP payload goes to (c);
//   (b) as one frame: the first byte picks the link type (Ethernet, SLL, SLL2, raw,
//       IPv4, unknown), the rest is the frame, parsed as in (a);
//   (c) as an IEX-TP segment: header, block cursor and cw_iex_decode of every block,
//       each block copied to an exact-size heap block; decoded fields are checked
//       against the spec offsets; the same bytes are also walked as MoldUDP64;
//   (d) through the writer: up to 1,472 bytes of the input become the payload of a
//       UDP record built by cn_pcap_put_udp_record after a file header; reading it back
//       must give the same payload, endpoints and timestamp, and a valid IPv4 checksum.
// A broken invariant prints what broke and aborts.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CNet.h"
#include "CWire.h"

static void fuzz_fail(const char *what, const char *file, int line) {
    fprintf(stderr, "\n==fuzz_pcap== invariant broken: %s\n  at %s:%d\n", what, file, line);
    abort();
}
#define CHECK(c) do { if (!(c)) fuzz_fail(#c, __FILE__, __LINE__); } while (0)

static volatile uint64_t g_sink; // keeps decoded fields alive

static const uint8_t *dup_exact(const uint8_t *p, size_t n) {
    uint8_t *c = malloc(n ? n : 1);
    if (!c) abort();
    if (n) memcpy(c, p, n);
    return c;
}

static void check_iex_msg(uint16_t proto, const uint8_t *m, uint16_t len) {
    const uint8_t *c = dup_exact(m, len);
    cw_iex_msg d;
    cw_iex_status s = cw_iex_decode(proto, c, len, &d);
    CHECK((s == CW_IEX_OK) == (cw_iex_valid(proto, c, len) != 0));
    if (s == CW_IEX_OK) {
        CHECK(d.type == c[0] && d.flags == c[1] && d.timestamp == (int64_t)cw_le64(c + 2));
        if (d.type != 'S') CHECK(memcmp(d.symbol, c + 10, 8) == 0);
        switch (d.type) {
        case '8': case '5': CHECK(d.u.price_level.size == cw_le32(c + 18) && d.u.price_level.price == (int64_t)cw_le64(c + 22)); break;
        case 'Q': CHECK(d.u.quote.ask_size == cw_le32(c + 38) && d.u.quote.ask_price == (int64_t)cw_le64(c + 30)); break;
        case 'T': case 'B': CHECK(d.u.trade.trade_id == cw_le64(c + 30)); break;
        case 'A': CHECK(d.u.auction.upper_auction_collar == (int64_t)cw_le64(c + 72)); break;
        case 'D': CHECK(d.u.directory.luld_tier == c[30]); break;
        default: break;
        }
        g_sink += (uint64_t)d.timestamp;
    }
    free((void *)c);
}

static void check_segment(const uint8_t *seg, size_t n) {
    cw_iextp_header h;
    int s = cw_iextp_parse_header(seg, n, &h);
    cw_iextp_cursor c;
    cw_iextp_cursor_init(&c, seg, n, &h);
    if (s != CW_IEXTP_OK) {
        if (s == CW_IEXTP_SHORT) CHECK(n < CW_IEXTP_HEADER_LEN);
        // Decoding as if the protocol were each of the two still has to stay in bounds.
        if (n >= CW_IEXTP_HEADER_LEN) { h.protocol_id = CW_IEX_PROTO_DEEP; h.payload_length = (uint16_t)(n - CW_IEXTP_HEADER_LEN); }
        else return;
        cw_iextp_cursor_init(&c, seg, n, &h);
    }
    CHECK(c.size <= n - CW_IEXTP_HEADER_LEN);
    const uint8_t *m;
    uint16_t len;
    uint32_t got = 0;
    cw_frame_result r;
    while ((r = cw_iextp_next(&c, &m, &len)) == CW_FRAME_MSG) {
        CHECK(m >= seg + CW_IEXTP_HEADER_LEN && m + len <= seg + n);
        got++;
        check_iex_msg(h.protocol_id, m, len);
        check_iex_msg(h.protocol_id == CW_IEX_PROTO_DEEP ? CW_IEX_PROTO_TOPS : CW_IEX_PROTO_DEEP, m, len);
    }
    CHECK(got <= h.message_count);
    if (r == CW_FRAME_END) CHECK(got == h.message_count && cw_iextp_leftover(&c) <= c.size);
    // The same bytes as a MoldUDP64 packet.
    cw_mold_header mh;
    if (cw_mold_parse_header(seg, n, &mh) == 0) {
        cw_mold_cursor mc;
        cw_mold_cursor_init(&mc, seg, n, &mh);
        while (cw_mold_next(&mc, &m, &len) == CW_FRAME_MSG) CHECK(m + len <= seg + n);
    }
}

static void check_frame(const uint8_t *f, size_t n, uint32_t link) {
    const uint8_t *c = dup_exact(f, n);
    cn_udp_view v;
    int s = cn_parse_udp(c, n, link, &v);
    if (s == CN_FRAME_UDP) {
        CHECK(v.payload >= c && v.payload + v.payload_len <= c + n);
        CHECK(v.payload_len <= v.udp_len && (v.cut != 0) == (v.payload_len < v.udp_len));
        CHECK(v.ip_header_len >= 20 && v.vlan_count <= 2);
        if (!v.cut) check_segment(v.payload, v.payload_len);
    }
    // The whole-frame variant (DPDK rx) agrees, except that it refuses as bad_ipv4 a datagram
    // whose IPv4 total length runs past the frame (every cut one among them).
    cn_udp_view w;
    int sw = cn_parse_udp_whole(c, n, link, &w);
    if (s != CN_FRAME_UDP) CHECK(sw == s);
    else if (v.cut) CHECK(sw == CN_FRAME_BAD_IPV4 && w.payload == NULL && w.payload_len == 0);
    else CHECK((sw == CN_FRAME_UDP && w.payload == v.payload && w.payload_len == v.payload_len) || sw == CN_FRAME_BAD_IPV4);
    CHECK(sw >= CN_FRAME_STATUS_MIN && sw <= CN_FRAME_STATUS_MAX && strcmp(cn_frame_status_name(sw), "unknown") != 0);
    free((void *)c);
}

static void check_capture(const uint8_t *data, size_t size) {
    cn_pcap_reader r;
    if (cn_pcap_open(&r, data, size) != CN_PCAP_END) { CHECK(r.status == CN_PCAP_NOT_CAPTURE); return; }
    cn_pcap_packet p;
    int s;
    uint64_t n = 0;
    while ((s = cn_pcap_next(&r, &p)) == CN_PCAP_PACKET) {
        n++;
        CHECK(p.data >= data && p.caplen <= size && p.data + p.caplen <= data + size);
        CHECK(r.off <= size);
        CHECK(n < 1000000);
        check_frame(p.data, p.caplen, p.linktype);
    }
    CHECK(s == CN_PCAP_END || s == CN_PCAP_TRUNCATED || s == CN_PCAP_MALFORMED);
    CHECK(cn_pcap_next(&r, &p) == s && r.packets == n && r.truncated + r.malformed <= 1);
    if (s == CN_PCAP_END) CHECK(r.off == size);
}

static void check_writer(const uint8_t *data, size_t size) {
    static uint8_t file[24 + 16 + CN_UDP_FRAME_OVERHEAD + 1472];
    size_t len = size > 1472 ? 1472 : size;
    CHECK(cn_pcap_put_file_header(file, sizeof file, 65535, CN_LINK_ETHERNET) == 24);
    cn_udp_endpoints e = {0};
    uint64_t ts = 0;
    if (size >= 8) memcpy(&ts, data, 8);
    ts %= 4000000000ull * 1000000000ull; // pcap seconds are 32-bit
    e.src_ip = 0x0A000001; e.dst_ip = 0xE0000000u | (uint32_t)(ts & 0x0FFFFFFF);
    e.src_port = (uint16_t)ts; e.dst_port = 26477; e.ttl = 1; e.ip_id = (uint16_t)(ts >> 16);
    size_t rec = cn_pcap_put_udp_record(file + 24, sizeof file - 24, ts, &e, data, len);
    CHECK(rec == 16 + CN_UDP_FRAME_OVERHEAD + len);
    cn_pcap_reader r;
    cn_pcap_packet p;
    CHECK(cn_pcap_open(&r, file, 24 + rec) == CN_PCAP_END);
    CHECK(cn_pcap_next(&r, &p) == CN_PCAP_PACKET && p.ts_ns == ts && p.linktype == CN_LINK_ETHERNET);
    cn_pcap_packet after;
    CHECK(cn_pcap_next(&r, &after) == CN_PCAP_END);
    cn_udp_view v;
    CHECK(cn_parse_udp(p.data, p.caplen, p.linktype, &v) == CN_FRAME_UDP);
    CHECK(v.payload_len == len && memcmp(v.payload, data, len) == 0 && !v.cut);
    CHECK(v.src_ip == e.src_ip && v.dst_ip == e.dst_ip && v.src_port == e.src_port && v.dst_port == e.dst_port);
    CHECK(cn_ipv4_checksum(p.data + CN_ETH_HEADER_LEN, 20) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_capture(data, size);
    if (size >= 1) {
        static const uint32_t links[8] = {CN_LINK_ETHERNET, CN_LINK_ETHERNET, CN_LINK_ETHERNET, CN_LINK_LINUX_SLL,
                                          CN_LINK_LINUX_SLL2, CN_LINK_RAW, CN_LINK_IPV4, 147};
        check_frame(data + 1, size - 1, links[data[0] & 7]);
    }
    check_segment(data, size);
    check_writer(data, size);
    return 0;
}
