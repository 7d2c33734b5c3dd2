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

// The value of digit c (0-35), or 36 when c is no base-36 digit.
static inline uint32_t cw_base36_value(uint8_t c) {
    uint32_t d = (uint32_t)c - '0', a = (uint32_t)c - 'A';
    return d < 10 ? d : a < 26 ? a + 10 : 36;
}

// Writes v (< 36^4) with no leading zeros (one digit for 0) at out; returns the digits written.
static inline int cw_base36_put_short(uint8_t *out, uint32_t v) {
    uint8_t tmp[4];
    int n = 0;
    do { tmp[n++] = cw_base36_digit(v % 36); v /= 36; } while (v && n < 4);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

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
        uint32_t h = cw_base36_value(in[i]), l = cw_base36_value(in[6 + i]);
        bad |= (h == 36) | (l == 36);
        hi = hi * 36 + h;
        lo = lo * 36 + l;
    }
    *v = (uint64_t)hi * CW_BASE36_HALF + lo;
    return bad ? -1 : 0;
}

#endif
