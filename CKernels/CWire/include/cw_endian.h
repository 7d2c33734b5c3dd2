// Big-endian loads and stores for wire formats. Every exchange protocol we speak
// (ITCH, MoldUDP64, SoupBinTCP, OUCH) is big-endian on the wire; hosts are little-endian.
#ifndef CW_ENDIAN_H
#define CW_ENDIAN_H

#include <stdint.h>
#include <string.h>

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

#endif
