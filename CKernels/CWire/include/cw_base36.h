// Base 36 (0-9, A-Z): how our client order id travels in OUCH tokens and FIX ClOrdIDs, 12 digits,
// most significant first. Each half of 6 digits fits 32 bits (36^6 < 2^32), so the work is
// 32-bit multiplications and divisions by constants.
#ifndef CW_BASE36_H
#define CW_BASE36_H
#include <stdint.h>

#define CW_BASE36_DIGITS 12
#define CW_BASE36_MAX 4738381338321616895ull // 36^12 - 1
#define CW_BASE36_HALF 2176782336u           // 36^6

static inline uint8_t cw_base36_digit(uint32_t v) { return (uint8_t)(v < 10 ? '0' + v : 'A' - 10 + v); }

// Writes the 12 digits of v (at most CW_BASE36_MAX) to out[0..11].
static inline void cw_base36_put12(uint8_t *out, uint64_t v) {
    uint32_t hi = (uint32_t)(v / CW_BASE36_HALF), lo = (uint32_t)(v % CW_BASE36_HALF);
    for (int i = 5; i >= 0; i--) {
        out[i] = cw_base36_digit(hi % 36); hi /= 36;
        out[6 + i] = cw_base36_digit(lo % 36); lo /= 36;
    }
}

// Reads 12 digits at in[0..11] into *v: 0, or -1 when a character is no base-36 digit.
static inline int cw_base36_get12(const uint8_t *in, uint64_t *v) {
    uint32_t hi = 0, lo = 0, bad = 0;
    for (int i = 0; i < 6; i++) {
        uint32_t h = (uint32_t)in[i] - '0', l = (uint32_t)in[6 + i] - '0';
        uint32_t ha = (uint32_t)in[i] - 'A', la = (uint32_t)in[6 + i] - 'A';
        bad |= (h >= 10) & (ha >= 26);
        bad |= (l >= 10) & (la >= 26);
        hi = hi * 36 + (h < 10 ? h : ha + 10);
        lo = lo * 36 + (l < 10 ? l : la + 10);
    }
    *v = (uint64_t)hi * CW_BASE36_HALF + lo;
    return bad ? -1 : 0;
}

#endif
