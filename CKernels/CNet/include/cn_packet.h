// Frames to UDP datagrams and back: Ethernet II (with up to two 802.1Q / 802.1ad
// tags), Linux cooked (SLL, SLL2) and raw IPv4 link types, IPv4 (options, fragments
// flagged) and UDP. Parsing is zero-copy and bounds-checked over the captured bytes;
// building writes an Ethernet/IPv4/UDP frame around a payload, e.g. to record a
// MoldUDP64 packet as the multicast frame it was.
#ifndef CN_PACKET_H
#define CN_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cn_pcap.h"
#include "cw_endian.h" // network byte order loads and stores (CWire)

#define CN_ETHERTYPE_IPV4 0x0800u
#define CN_ETHERTYPE_VLAN 0x8100u   // 802.1Q
#define CN_ETHERTYPE_QINQ 0x88A8u   // 802.1ad service tag
#define CN_ETHERTYPE_QINQ_OLD 0x9100u
#define CN_IPPROTO_UDP 17
#define CN_ETH_HEADER_LEN 14
#define CN_IPV4_HEADER_LEN 20
#define CN_UDP_HEADER_LEN 8
#define CN_UDP_FRAME_OVERHEAD (CN_ETH_HEADER_LEN + CN_IPV4_HEADER_LEN + CN_UDP_HEADER_LEN)
#define CN_ETH_MIN_FRAME 60          // Ethernet minimum less the FCS: shorter frames are padded on transmit

typedef enum {
    CN_FRAME_UDP = 0,         // a complete UDP datagram header: payload fields are set
    CN_FRAME_OTHER = 1,       // well-formed, but not IPv4 (ARP, IPv6, LLDP, a third VLAN tag ...)
    CN_FRAME_NOT_UDP = 2,     // IPv4 carrying another protocol (IGMP, TCP ...)
    CN_FRAME_FRAGMENT = 3,    // an IPv4 fragment: addresses set, no UDP payload (not reassembled)
    CN_FRAME_UNKNOWN_LINK = 4,// a link type this parser does not read
    CN_FRAME_SHORT = -1,      // the captured bytes end inside a link, IPv4 or UDP header
    CN_FRAME_BAD_IPV4 = -2,   // version not 4, IHL under 5, total length shorter than the header
    CN_FRAME_BAD_UDP = -3,    // UDP length under 8 or larger than the IPv4 payload
} cn_frame_status;

// Statuses span MIN...MAX: a counter array indexes status - MIN.
#define CN_FRAME_STATUS_MIN (-3)
#define CN_FRAME_STATUS_MAX 4
_Static_assert(CN_FRAME_STATUS_MIN == CN_FRAME_BAD_UDP && CN_FRAME_STATUS_MAX == CN_FRAME_UNKNOWN_LINK, "status span");

// A short name per status for key=value output; CN_FRAME_OTHER on an Ethernet link is "not_ipv4".
static inline const char *cn_frame_status_name(int s) {
    switch (s) {
    case CN_FRAME_UDP: return "udp";
    case CN_FRAME_OTHER: return "not_ipv4";
    case CN_FRAME_NOT_UDP: return "not_udp";
    case CN_FRAME_FRAGMENT: return "fragment";
    case CN_FRAME_UNKNOWN_LINK: return "unknown_link";
    case CN_FRAME_SHORT: return "short";
    case CN_FRAME_BAD_IPV4: return "bad_ipv4";
    case CN_FRAME_BAD_UDP: return "bad_udp";
    }
    return "unknown";
}

typedef struct {
    uint32_t src_ip, dst_ip;     // host order
    uint16_t src_port, dst_port; // host order
    const uint8_t *payload;      // UDP payload, inside the frame
    uint32_t payload_len;        // captured payload bytes (see `cut`)
    uint32_t udp_len;            // the UDP length field less the 8-byte header: the payload as sent
    uint16_t ip_id;
    uint8_t ttl;
    uint8_t protocol;
    uint8_t ip_header_len;       // bytes, options included
    uint8_t vlan_count;          // tags stripped (0..2)
    uint16_t vlan_id[2];         // outer first, 12-bit VLAN ids
    uint8_t more_fragments;      // IPv4 MF flag
    uint8_t cut;                 // the capture (snap length) ends inside the payload: payload_len < udp_len
    uint16_t frag_offset;        // IPv4 fragment offset in 8-byte units
} cn_udp_view;

// Parses the IPv4 packet at `ip` (`n` captured bytes) down to the UDP payload.
// Payload bounds: the UDP length field, accepted only when 8 <= length <= the IPv4
// payload (IPv4 total length less the header), so Ethernet padding and bytes past the
// IP datagram are never taken as payload. The payload is further cut to the captured bytes.
static inline int cn_parse_ipv4_udp(const uint8_t *ip, size_t n, cn_udp_view *v) {
    if (n < CN_IPV4_HEADER_LEN) return CN_FRAME_SHORT;
    if ((ip[0] >> 4) != 4) return CN_FRAME_BAD_IPV4;
    size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
    size_t total = cw_be16(ip + 2);
    if (ihl < CN_IPV4_HEADER_LEN || total < ihl) return CN_FRAME_BAD_IPV4;
    if (n < ihl) return CN_FRAME_SHORT;
    v->ip_header_len = (uint8_t)ihl;
    v->ip_id = cw_be16(ip + 4);
    uint16_t frag = cw_be16(ip + 6);
    v->more_fragments = (frag & 0x2000u) != 0;
    v->frag_offset = frag & 0x1FFFu;
    v->ttl = ip[8];
    v->protocol = ip[9];
    v->src_ip = cw_be32(ip + 12);
    v->dst_ip = cw_be32(ip + 16);
    if (v->protocol != CN_IPPROTO_UDP) return CN_FRAME_NOT_UDP;
    if (v->more_fragments || v->frag_offset) return CN_FRAME_FRAGMENT;
    size_t ip_payload = total - ihl;
    size_t captured = n - ihl;     // may be more than ip_payload (link padding) or less (snap length)
    if (captured < CN_UDP_HEADER_LEN) return CN_FRAME_SHORT;
    const uint8_t *u = ip + ihl;
    size_t ulen = cw_be16(u + 4);
    if (ulen < CN_UDP_HEADER_LEN || ulen > ip_payload) return CN_FRAME_BAD_UDP;
    v->src_port = cw_be16(u);
    v->dst_port = cw_be16(u + 2);
    v->payload = u + CN_UDP_HEADER_LEN;
    v->udp_len = (uint32_t)(ulen - CN_UDP_HEADER_LEN);
    size_t have = captured - CN_UDP_HEADER_LEN;
    v->cut = have < v->udp_len;
    v->payload_len = v->cut ? (uint32_t)have : v->udp_len;
    return CN_FRAME_UDP;
}

// Parses a captured frame of link type `linktype` down to the UDP payload.
static inline int cn_parse_udp(const uint8_t *f, size_t n, uint32_t linktype, cn_udp_view *v) {
    memset(v, 0, sizeof *v);
    size_t off;
    uint16_t ethertype;
    switch (linktype) {
    case CN_LINK_ETHERNET:
        if (n < CN_ETH_HEADER_LEN) return CN_FRAME_SHORT;
        off = 12;
        ethertype = cw_be16(f + off);
        off += 2;
        while (ethertype == CN_ETHERTYPE_VLAN || ethertype == CN_ETHERTYPE_QINQ || ethertype == CN_ETHERTYPE_QINQ_OLD) {
            if (v->vlan_count == 2) return CN_FRAME_OTHER; // a third tag: not something we read
            if (n - off < 4) return CN_FRAME_SHORT;
            v->vlan_id[v->vlan_count++] = cw_be16(f + off) & 0x0FFFu;
            ethertype = cw_be16(f + off + 2);
            off += 4;
        }
        if (ethertype != CN_ETHERTYPE_IPV4) return CN_FRAME_OTHER;
        break;
    case CN_LINK_LINUX_SLL:
        if (n < 16) return CN_FRAME_SHORT;
        off = 16;
        if (cw_be16(f + 14) != CN_ETHERTYPE_IPV4) return CN_FRAME_OTHER;
        break;
    case CN_LINK_LINUX_SLL2:
        if (n < 20) return CN_FRAME_SHORT;
        off = 20;
        if (cw_be16(f) != CN_ETHERTYPE_IPV4) return CN_FRAME_OTHER;
        break;
    case CN_LINK_RAW:
    case CN_LINK_IPV4:
        if (n < 1) return CN_FRAME_SHORT;
        if ((f[0] >> 4) != 4) return linktype == CN_LINK_RAW ? CN_FRAME_OTHER : CN_FRAME_BAD_IPV4; // RAW may be IPv6
        off = 0;
        break;
    default:
        return CN_FRAME_UNKNOWN_LINK;
    }
    return cn_parse_ipv4_udp(f + off, n - off, v);
}

// For a receive path that gets frames whole (a NIC, a ring, AF_PACKET; no snap length): an
// IPv4 total length past the end of the frame is a header that lies, not a capture cut short,
// so such a datagram (`cut` or not) is refused as CN_FRAME_BAD_IPV4, payload cleared.
static inline int cn_parse_udp_whole(const uint8_t *f, size_t n, uint32_t linktype, cn_udp_view *v) {
    int s = cn_parse_udp(f, n, linktype, v);
    if (s != CN_FRAME_UDP) return s;
    const uint8_t *ip = v->payload - CN_UDP_HEADER_LEN - v->ip_header_len; // parsed above: inside the frame
    if (v->cut || cw_be16(ip + 2) > n - (size_t)(ip - f)) {
        v->payload = NULL;
        v->payload_len = 0;
        return CN_FRAME_BAD_IPV4;
    }
    return s;
}

// A destination to accept: group (host order) and port; 0 in either matches any.
typedef struct {
    uint32_t group;
    uint16_t port;
} cn_udp_dest;

// Index of the first entry of `dests` that `v`'s destination matches, or -1. A handful of
// entries (one feed's A and B groups): a linear scan beats any table.
static inline int cn_udp_match(const cn_udp_view *v, const cn_udp_dest *dests, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if ((dests[i].group == 0 || dests[i].group == v->dst_ip) && (dests[i].port == 0 || dests[i].port == v->dst_port))
            return (int)i;
    }
    return -1;
}

// Internet checksum (RFC 1071) over `n` bytes, folded, not yet complemented; `sum` carries a partial sum in.
static inline uint32_t cn_csum_add(uint32_t sum, const uint8_t *p, size_t n) {
    uint64_t s = sum;
    size_t i = 0;
    for (; i + 1 < n; i += 2) s += cw_be16(p + i);
    if (i < n) s += (uint32_t)p[i] << 8;
    while (s >> 16) s = (s & 0xFFFFu) + (s >> 16);
    return (uint32_t)s;
}

// Header checksum of an IPv4 header as it stands (0 when the stored checksum is valid).
static inline uint16_t cn_ipv4_checksum(const uint8_t *ip, size_t ihl) {
    return (uint16_t)~cn_csum_add(0, ip, ihl);
}

typedef struct {
    uint8_t dst_mac[6];      // all zero: derived from a multicast destination (01:00:5e + low 23 bits)
    uint8_t src_mac[6];
    uint32_t src_ip, dst_ip; // host order
    uint16_t src_port, dst_port;
    uint16_t ip_id;
    uint8_t ttl;             // 0 is written as 1
} cn_udp_endpoints;

// Writes an Ethernet II / IPv4 (no options, DF clear) / UDP frame carrying `payload` into
// `buf`; IPv4 header checksum and UDP checksum are filled in. Returns the frame length, or
// 0 (nothing written) when it does not fit in `cap` or in one IPv4 datagram.
static inline size_t cn_put_udp_frame(uint8_t *buf, size_t cap, const cn_udp_endpoints *e, const uint8_t *payload, size_t len) {
    if (len > 65535u - CN_IPV4_HEADER_LEN - CN_UDP_HEADER_LEN || cap < CN_UDP_FRAME_OVERHEAD || cap - CN_UDP_FRAME_OVERHEAD < len) return 0;
    static const uint8_t zero_mac[6];
    if (memcmp(e->dst_mac, zero_mac, 6) == 0 && (e->dst_ip >> 28) == 0xE) {
        buf[0] = 0x01; buf[1] = 0x00; buf[2] = 0x5E;
        buf[3] = (uint8_t)((e->dst_ip >> 16) & 0x7F); buf[4] = (uint8_t)(e->dst_ip >> 8); buf[5] = (uint8_t)e->dst_ip;
    } else {
        memcpy(buf, e->dst_mac, 6);
    }
    memcpy(buf + 6, e->src_mac, 6);
    cw_put16(buf + 12, CN_ETHERTYPE_IPV4);
    uint8_t *ip = buf + CN_ETH_HEADER_LEN;
    uint16_t total = (uint16_t)(CN_IPV4_HEADER_LEN + CN_UDP_HEADER_LEN + len);
    ip[0] = 0x45; ip[1] = 0;
    cw_put16(ip + 2, total);
    cw_put16(ip + 4, e->ip_id);
    cw_put16(ip + 6, 0);
    ip[8] = e->ttl ? e->ttl : 1;
    ip[9] = CN_IPPROTO_UDP;
    cw_put16(ip + 10, 0);
    cw_put32(ip + 12, e->src_ip);
    cw_put32(ip + 16, e->dst_ip);
    cw_put16(ip + 10, cn_ipv4_checksum(ip, CN_IPV4_HEADER_LEN));
    uint8_t *u = ip + CN_IPV4_HEADER_LEN;
    uint16_t ulen = (uint16_t)(CN_UDP_HEADER_LEN + len);
    cw_put16(u, e->src_port);
    cw_put16(u + 2, e->dst_port);
    cw_put16(u + 4, ulen);
    cw_put16(u + 6, 0);
    if (len) memcpy(u + CN_UDP_HEADER_LEN, payload, len);
    // UDP checksum over the pseudo-header (addresses, protocol, length), header and payload.
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0; pseudo[9] = CN_IPPROTO_UDP;
    cw_put16(pseudo + 10, ulen);
    uint16_t c = (uint16_t)~cn_csum_add(cn_csum_add(0, pseudo, 12), u, ulen);
    cw_put16(u + 6, c ? c : 0xFFFFu); // 0 means "no checksum": a computed 0 is sent as all ones
    return CN_UDP_FRAME_OVERHEAD + len;
}

// Zero-pads the frame of `len` bytes in `buf` to the Ethernet minimum (CN_ETH_MIN_FRAME), for
// transmit paths that do not pad (net_ring, a raw socket). Returns the padded length, or 0 when
// the padding does not fit in `cap`.
static inline size_t cn_eth_pad(uint8_t *buf, size_t cap, size_t len) {
    if (len >= CN_ETH_MIN_FRAME) return len;
    if (cap < CN_ETH_MIN_FRAME) return 0;
    memset(buf + len, 0, CN_ETH_MIN_FRAME - len);
    return CN_ETH_MIN_FRAME;
}

// A whole pcap record (record header + Ethernet/IPv4/UDP frame) for `payload` at `ts_ns`;
// returns its length, or 0 (nothing written) when it does not fit.
static inline size_t cn_pcap_put_udp_record(uint8_t *buf, size_t cap, uint64_t ts_ns, const cn_udp_endpoints *e,
                                            const uint8_t *payload, size_t len) {
    if (cap < CN_PCAP_RECORD_HEADER_LEN) return 0;
    size_t f = cn_put_udp_frame(buf + CN_PCAP_RECORD_HEADER_LEN, cap - CN_PCAP_RECORD_HEADER_LEN, e, payload, len);
    if (f == 0) return 0;
    cn_pcap_put_record_header(buf, cap, ts_ns, (uint32_t)f, (uint32_t)f);
    return CN_PCAP_RECORD_HEADER_LEN + f;
}

#endif
