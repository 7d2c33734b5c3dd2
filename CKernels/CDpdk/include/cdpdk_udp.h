// Ethernet (+ up to two VLAN tags) / IPv4 / UDP: from a raw frame to a view of
// the UDP payload, and a destination (group, port) filter. Header-inline and
// standalone (only cw_endian.h), so any rx path (DPDK, pcap, AF_PACKET) can use it.
//
// Every length is checked against the bytes actually present: a bad or short
// frame returns a status naming why, never reads past `len`. Checksums are not
// verified (a NIC offloads them, or the capture is trusted); IPv4 fragments are
// refused because their UDP payload is not whole. Ethernet padding past the IPv4
// total length is ignored.
#ifndef CDPDK_UDP_H
#define CDPDK_UDP_H

#include <stdint.h>
#include <string.h>
#include "cw_endian.h"

typedef enum {
    CDPDK_UDP_OK = 0,
    CDPDK_UDP_SHORT = 1,      // frame ends inside the Ethernet, VLAN or IPv4 header
    CDPDK_UDP_NOT_IPV4 = 2,   // EtherType (after VLAN tags) is not IPv4: ARP, IPv6, LLDP, a third tag ...
    CDPDK_UDP_BAD_IPV4 = 3,   // version != 4, IHL < 5, or total length shorter than the header / past the frame
    CDPDK_UDP_FRAGMENT = 4,   // more-fragments set or a non-zero fragment offset
    CDPDK_UDP_NOT_UDP = 5,    // IPv4 protocol is not 17
    CDPDK_UDP_BAD_UDP = 6,    // UDP header does not fit, or its length is < 8 or past the IPv4 payload
} cdpdk_udp_status;

#define CDPDK_UDP_STATUS_COUNT 7

// What the parser found; meaningful when the status is CDPDK_UDP_OK (addresses
// and ports also for CDPDK_UDP_BAD_UDP / _FRAGMENT where the IPv4 header was whole).
typedef struct {
    const uint8_t *payload; // first byte of the UDP payload, inside the frame
    uint32_t payload_len;   // UDP length - 8
    uint32_t src_ip;        // host order: 224.2.3.10 is 0xE002030A
    uint32_t dst_ip;        // host order
    uint16_t src_port;      // host order
    uint16_t dst_port;      // host order
    uint16_t vlan;          // VLAN id (12 bits) of the outer tag, or CDPDK_UDP_NO_VLAN
    uint16_t l3_offset;     // bytes from the frame start to the IPv4 header
} cdpdk_udp_view;

#define CDPDK_UDP_NO_VLAN 0xFFFFu

static inline cdpdk_udp_status cdpdk_udp_payload(const uint8_t *frame, uint32_t len, cdpdk_udp_view *v) {
    v->vlan = CDPDK_UDP_NO_VLAN;
    if (len < 14) return CDPDK_UDP_SHORT;
    uint32_t off = 12;
    uint16_t type = cw_be16(frame + off);
    // 802.1Q (0x8100) and 802.1ad / QinQ outer (0x88A8): at most two tags.
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88A8); tags++) {
        if (len < off + 6) return CDPDK_UDP_SHORT;
        if (tags == 0) v->vlan = cw_be16(frame + off + 2) & 0x0FFF;
        off += 4;
        type = cw_be16(frame + off);
    }
    if (type != 0x0800) return CDPDK_UDP_NOT_IPV4;
    off += 2;
    v->l3_offset = (uint16_t)off;
    if (len < off + 20) return CDPDK_UDP_SHORT;
    const uint8_t *ip = frame + off;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0F) * 4;
    uint32_t total = cw_be16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || total > len - off) return CDPDK_UDP_BAD_IPV4;
    v->src_ip = cw_be32(ip + 12);
    v->dst_ip = cw_be32(ip + 16);
    if (ip[9] != 17) return CDPDK_UDP_NOT_UDP;
    if (cw_be16(ip + 6) & 0x3FFF) return CDPDK_UDP_FRAGMENT; // MF bit or offset; DF (0x4000) is fine
    if (total - ihl < 8) return CDPDK_UDP_BAD_UDP;
    const uint8_t *udp = ip + ihl;
    v->src_port = cw_be16(udp);
    v->dst_port = cw_be16(udp + 2);
    uint32_t ulen = cw_be16(udp + 4);
    if (ulen < 8 || ulen > total - ihl) return CDPDK_UDP_BAD_UDP;
    v->payload = udp + 8;
    v->payload_len = ulen - 8;
    return CDPDK_UDP_OK;
}

// A destination to accept: group (host order) and port; 0 in either matches any.
typedef struct {
    uint32_t group;
    uint16_t port;
} cdpdk_udp_dest;

// Index of the first entry of `dests` that `v` matches, or -1. A handful of
// entries (one feed's A and B groups): a linear scan beats any table.
static inline int cdpdk_udp_match(const cdpdk_udp_view *v, const cdpdk_udp_dest *dests, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if ((dests[i].group == 0 || dests[i].group == v->dst_ip) && (dests[i].port == 0 || dests[i].port == v->dst_port))
            return (int)i;
    }
    return -1;
}

// Writes an Ethernet/IPv4/UDP frame around `payload` into `out`: the destination
// MAC is the IPv4 multicast one (01:00:5e + low 23 bits) for a 224/4 group, else
// `dst_mac`; TTL 1, DF clear, IPv4 header checksum filled, UDP checksum 0 (none).
// Returns the frame length (padded to the 60-byte Ethernet minimum), or 0 when it does not fit `cap`.
static inline uint32_t cdpdk_udp_build(uint8_t *out, uint32_t cap, const uint8_t src_mac[6], const uint8_t dst_mac[6],
                                       uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
                                       const uint8_t *payload, uint32_t len) {
    if (len > 65507u || cap < 60 || cap - 42 < len) return 0;
    uint32_t flen = 42 + len < 60 ? 60 : 42 + len;
    memset(out, 0, flen);
    if ((dst_ip >> 28) == 0xE) {
        out[0] = 0x01; out[1] = 0x00; out[2] = 0x5e;
        out[3] = (uint8_t)((dst_ip >> 16) & 0x7F); out[4] = (uint8_t)(dst_ip >> 8); out[5] = (uint8_t)dst_ip;
    } else {
        memcpy(out, dst_mac, 6);
    }
    memcpy(out + 6, src_mac, 6);
    cw_put16(out + 12, 0x0800);
    uint8_t *ip = out + 14;
    ip[0] = 0x45;
    cw_put16(ip + 2, (uint16_t)(20 + 8 + len));
    ip[8] = 1;  // TTL 1: a multicast frame must not leave the segment
    ip[9] = 17;
    cw_put32(ip + 12, src_ip);
    cw_put32(ip + 16, dst_ip);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += cw_be16(ip + i);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    cw_put16(ip + 10, (uint16_t)~sum);
    uint8_t *udp = ip + 20;
    cw_put16(udp, src_port);
    cw_put16(udp + 2, dst_port);
    cw_put16(udp + 4, (uint16_t)(8 + len));
    if (len) memcpy(udp + 8, payload, len);
    return flen;
}

const char *cdpdk_udp_status_name(cdpdk_udp_status s); // "ok", "short", "not_ipv4", ...

#endif
