// The one byte-order header: loads and stores for wire and file formats. Every exchange
// protocol we speak (ITCH, MoldUDP64, SoupBinTCP, OUCH) and every network header is
// big-endian; IEX-TP and the pcap files we write are little-endian; a pcap file being read
// is in its writer's order (a swap flag). Hosts are little-endian (asserted below).
#ifndef CW_ENDIAN_H
#define CW_ENDIAN_H

#include <stdint.h>
#include <string.h>

// The little-endian loads below are plain memcpy: a big-endian host would read them wrong.
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "cw_endian.h: little-endian hosts only"
#endif

// memcpy into a local is the portable unaligned load; at -O it compiles to one mov + bswap.
static inline uint16_t cw_be16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return __builtin_bswap16(v); }
static inline uint32_t cw_be32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v); }
static inline uint64_t cw_be64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v); }
// ITCH timestamps are 6 bytes: nanoseconds since midnight.
static inline uint64_t cw_be48(const uint8_t *p) { return ((uint64_t)cw_be16(p) << 32) | cw_be32(p + 2); }

static inline void cw_put16(uint8_t *p, uint16_t v) { v = __builtin_bswap16(v); memcpy(p, &v, 2); }
static inline void cw_put32(uint8_t *p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }
static inline void cw_put64(uint8_t *p, uint64_t v) { v = __builtin_bswap64(v); memcpy(p, &v, 8); }
static inline void cw_put48(uint8_t *p, uint64_t v) { cw_put16(p, (uint16_t)(v >> 32)); cw_put32(p + 2, (uint32_t)v); }

// Little-endian (IEX-TP, the pcap files we write): the host's own order, one mov.
static inline uint16_t cw_le16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t cw_le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t cw_le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void cw_put_le16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void cw_put_le32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void cw_put_le64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

// Either order, chosen at run time: `swap` != 0 when the data is in the other order than the
// host's (a pcap file from a big-endian writer, a pcapng section with a swapped byte-order magic).
static inline uint16_t cw_ld16(const uint8_t *p, int swap) { uint16_t v = cw_le16(p); return swap ? __builtin_bswap16(v) : v; }
static inline uint32_t cw_ld32(const uint8_t *p, int swap) { uint32_t v = cw_le32(p); return swap ? __builtin_bswap32(v) : v; }
static inline uint64_t cw_ld64(const uint8_t *p, int swap) { uint64_t v = cw_le64(p); return swap ? __builtin_bswap64(v) : v; }
// A 32-bit constant as it reads from the other order (to recognise a byte-swapped magic).
static inline uint32_t cw_swap32(uint32_t v) { return __builtin_bswap32(v); }

#endif
