// NASDAQ TotalView-ITCH 5.0: message lengths, field offsets, a bounds-checked
// decoder for every message type of the specification, and encoders for the
// messages a feed publisher or a synthetic day file needs.
//
// Every message starts with the same 11-byte header:
//   [0] type  [1..2] stock locate  [3..4] tracking number  [5..10] timestamp (ns since midnight)
// Prices are u32 with 4 implied decimals; shares are u32 (u64 in cross/NOII messages).
#ifndef CW_ITCH_H
#define CW_ITCH_H

#include <stddef.h>
#include <stdint.h>
#include "cw_endian.h"

#define CW_ITCH_HEADER_LEN 11
#define CW_ITCH_MAX_LEN 50

// Length of each message type as fixed by the specification; 0 = not an ITCH 5.0 type.
// A message whose length differs is malformed: ITCH 5.0 has no variable-length messages.
static const uint8_t cw_itch_len_table[256] = {
    ['S'] = 12, ['R'] = 39, ['H'] = 25, ['Y'] = 20, ['L'] = 26, ['V'] = 35, ['W'] = 12,
    ['K'] = 28, ['J'] = 35, ['h'] = 21, ['A'] = 36, ['F'] = 40, ['E'] = 31, ['C'] = 36,
    ['X'] = 23, ['D'] = 19, ['U'] = 35, ['P'] = 44, ['Q'] = 40, ['B'] = 19, ['I'] = 50,
    ['N'] = 20, ['O'] = 48,
};

static inline uint8_t cw_itch_expected_len(uint8_t type) { return cw_itch_len_table[type]; }

// 1 when `len` bytes at `m` form a well-formed ITCH 5.0 message (known type, exact length).
static inline int cw_itch_valid(const uint8_t *m, size_t len) {
    return len >= 1 && len == cw_itch_len_table[m[0]];
}

static inline uint16_t cw_itch_locate(const uint8_t *m) { return cw_be16(m + 1); }
static inline uint16_t cw_itch_tracking(const uint8_t *m) { return cw_be16(m + 3); }
static inline uint64_t cw_itch_timestamp(const uint8_t *m) { return cw_be48(m + 5); }

// ---- Named fields of the order messages, at the specification's offsets (whole-message
// offsets, header included). Each is one unaligned load: the book reads these on its hot
// path instead of decoding whole messages. The caller has checked the type and the length
// (cw_itch_valid); an accessor reads only bytes inside a message of the type it names.

// Order Reference Number at 11: A, F, E, C, X, D; for U, the Original Order Reference Number.
static inline uint64_t cw_itch_order_ref(const uint8_t *m) { return cw_be64(m + 11); }
// Add Order (A) and Add Order with MPID (F): side 'B' / 'S' at 19, shares at 20, stock at 24, price at 32.
static inline uint8_t cw_itch_add_side(const uint8_t *m) { return m[19]; }
static inline uint32_t cw_itch_add_shares(const uint8_t *m) { return cw_be32(m + 20); }
static inline const uint8_t *cw_itch_add_stock(const uint8_t *m) { return m + 24; }
static inline uint32_t cw_itch_add_price(const uint8_t *m) { return cw_be32(m + 32); }
// Order Executed (E) and Executed with Price (C): executed shares at 19, match number at 23.
static inline uint32_t cw_itch_executed_shares(const uint8_t *m) { return cw_be32(m + 19); }
static inline uint64_t cw_itch_executed_match(const uint8_t *m) { return cw_be64(m + 23); }
// Executed with Price (C) only: printable at 31, execution price at 32 (the print, not the order's price).
static inline uint8_t cw_itch_executed_printable(const uint8_t *m) { return m[31]; }
static inline uint32_t cw_itch_execution_price(const uint8_t *m) { return cw_be32(m + 32); }
// Order Cancel (X): canceled shares at 19.
static inline uint32_t cw_itch_cancel_shares(const uint8_t *m) { return cw_be32(m + 19); }
// Order Replace (U): new reference at 19, shares at 27, price at 31 (the original ref: cw_itch_order_ref).
static inline uint64_t cw_itch_replace_new_ref(const uint8_t *m) { return cw_be64(m + 19); }
static inline uint32_t cw_itch_replace_shares(const uint8_t *m) { return cw_be32(m + 27); }
static inline uint32_t cw_itch_replace_price(const uint8_t *m) { return cw_be32(m + 31); }

// ---- Decoded forms. Text fields stay space-padded ASCII as on the wire. ----

typedef struct { uint8_t type; uint16_t locate; uint16_t tracking; uint64_t timestamp; } cw_itch_header;

typedef struct { char event_code; } cw_itch_system_event;                          // S
typedef struct {                                                                    // R
    char stock[8]; char market_category; char financial_status; uint32_t round_lot_size;
    char round_lots_only; char issue_classification; char issue_subtype[2]; char authenticity;
    char short_sale_threshold; char ipo_flag; char luld_ref_price_tier; char etp_flag;
    uint32_t etp_leverage_factor; char inverse_indicator;
} cw_itch_stock_directory;
typedef struct { char stock[8]; char trading_state; char reserved; char reason[4]; } cw_itch_trading_action; // H
typedef struct { char stock[8]; char reg_sho_action; } cw_itch_reg_sho;             // Y
typedef struct { char mpid[4]; char stock[8]; char primary_market_maker; char market_maker_mode; char participant_state; } cw_itch_mp_position; // L
typedef struct { uint64_t level1, level2, level3; } cw_itch_mwcb_decline;           // V (8 implied decimals)
typedef struct { char breached_level; } cw_itch_mwcb_status;                        // W
typedef struct { char stock[8]; uint32_t release_time; char release_qualifier; uint32_t ipo_price; } cw_itch_ipo_quoting; // K
typedef struct { char stock[8]; uint32_t ref_price, upper_price, lower_price, extension; } cw_itch_luld_collar; // J
typedef struct { char stock[8]; char market_code; char action; } cw_itch_operational_halt; // h
typedef struct { uint64_t ref; char side; uint32_t shares; char stock[8]; uint32_t price; char attribution[4]; } cw_itch_add; // A, F (attribution blank for A)
typedef struct { uint64_t ref; uint32_t shares; uint64_t match; } cw_itch_executed; // E
typedef struct { uint64_t ref; uint32_t shares; uint64_t match; char printable; uint32_t price; } cw_itch_executed_price; // C
typedef struct { uint64_t ref; uint32_t shares; } cw_itch_cancel;                   // X
typedef struct { uint64_t ref; } cw_itch_delete;                                    // D
typedef struct { uint64_t orig_ref; uint64_t new_ref; uint32_t shares; uint32_t price; } cw_itch_replace; // U
typedef struct { uint64_t ref; char side; uint32_t shares; char stock[8]; uint32_t price; uint64_t match; } cw_itch_trade; // P
typedef struct { uint64_t shares; char stock[8]; uint32_t price; uint64_t match; char cross_type; } cw_itch_cross_trade; // Q
typedef struct { uint64_t match; } cw_itch_broken_trade;                            // B
typedef struct {                                                                    // I
    uint64_t paired_shares; uint64_t imbalance_shares; char direction; char stock[8];
    uint32_t far_price, near_price, current_ref_price; char cross_type; char price_variation;
} cw_itch_noii;
typedef struct { char stock[8]; char interest_flag; } cw_itch_rpii;                 // N
typedef struct {                                                                    // O
    char stock[8]; char open_eligibility; uint32_t min_price, max_price, near_price;
    uint64_t near_time; uint32_t lower_collar, upper_collar;
} cw_itch_dlcr;

typedef struct {
    cw_itch_header h;
    union {
        cw_itch_system_event system_event; cw_itch_stock_directory directory;
        cw_itch_trading_action trading_action; cw_itch_reg_sho reg_sho;
        cw_itch_mp_position mp_position; cw_itch_mwcb_decline mwcb_decline;
        cw_itch_mwcb_status mwcb_status; cw_itch_ipo_quoting ipo_quoting;
        cw_itch_luld_collar luld_collar; cw_itch_operational_halt operational_halt;
        cw_itch_add add; cw_itch_executed executed; cw_itch_executed_price executed_price;
        cw_itch_cancel cancel; cw_itch_delete del; cw_itch_replace replace;
        cw_itch_trade trade; cw_itch_cross_trade cross_trade; cw_itch_broken_trade broken_trade;
        cw_itch_noii noii; cw_itch_rpii rpii; cw_itch_dlcr dlcr;
    } u;
} cw_itch_msg;

typedef enum {
    CW_ITCH_OK = 0,
    CW_ITCH_EMPTY = -1,       // zero-length message
    CW_ITCH_UNKNOWN_TYPE = -2, // first byte is no ITCH 5.0 type
    CW_ITCH_BAD_LENGTH = -3,  // length differs from the type's fixed length
} cw_itch_status;

static inline void cw_copy8(char *dst, const uint8_t *src) { memcpy(dst, src, 8); }

// Decodes `len` bytes at `m` into `out`. Reads nothing past m[len-1].
static inline cw_itch_status cw_itch_decode(const uint8_t *m, size_t len, cw_itch_msg *out) {
    if (len == 0) return CW_ITCH_EMPTY;
    uint8_t t = m[0];
    if (cw_itch_len_table[t] == 0) return CW_ITCH_UNKNOWN_TYPE;
    if (len != cw_itch_len_table[t]) return CW_ITCH_BAD_LENGTH;
    out->h.type = t;
    out->h.locate = cw_be16(m + 1);
    out->h.tracking = cw_be16(m + 3);
    out->h.timestamp = cw_be48(m + 5);
    const uint8_t *b = m + CW_ITCH_HEADER_LEN; // body: offsets below are spec offsets minus 11
    switch (t) {
    case 'S': out->u.system_event.event_code = (char)b[0]; break;
    case 'R': {
        cw_itch_stock_directory *r = &out->u.directory;
        cw_copy8(r->stock, b); r->market_category = (char)b[8]; r->financial_status = (char)b[9];
        r->round_lot_size = cw_be32(b + 10); r->round_lots_only = (char)b[14];
        r->issue_classification = (char)b[15]; memcpy(r->issue_subtype, b + 16, 2);
        r->authenticity = (char)b[18]; r->short_sale_threshold = (char)b[19]; r->ipo_flag = (char)b[20];
        r->luld_ref_price_tier = (char)b[21]; r->etp_flag = (char)b[22];
        r->etp_leverage_factor = cw_be32(b + 23); r->inverse_indicator = (char)b[27];
        break;
    }
    case 'H': {
        cw_itch_trading_action *r = &out->u.trading_action;
        cw_copy8(r->stock, b); r->trading_state = (char)b[8]; r->reserved = (char)b[9]; memcpy(r->reason, b + 10, 4);
        break;
    }
    case 'Y': cw_copy8(out->u.reg_sho.stock, b); out->u.reg_sho.reg_sho_action = (char)b[8]; break;
    case 'L': {
        cw_itch_mp_position *r = &out->u.mp_position;
        memcpy(r->mpid, b, 4); cw_copy8(r->stock, b + 4); r->primary_market_maker = (char)b[12];
        r->market_maker_mode = (char)b[13]; r->participant_state = (char)b[14];
        break;
    }
    case 'V':
        out->u.mwcb_decline.level1 = cw_be64(b); out->u.mwcb_decline.level2 = cw_be64(b + 8);
        out->u.mwcb_decline.level3 = cw_be64(b + 16);
        break;
    case 'W': out->u.mwcb_status.breached_level = (char)b[0]; break;
    case 'K': {
        cw_itch_ipo_quoting *r = &out->u.ipo_quoting;
        cw_copy8(r->stock, b); r->release_time = cw_be32(b + 8); r->release_qualifier = (char)b[12];
        r->ipo_price = cw_be32(b + 13);
        break;
    }
    case 'J': {
        cw_itch_luld_collar *r = &out->u.luld_collar;
        cw_copy8(r->stock, b); r->ref_price = cw_be32(b + 8); r->upper_price = cw_be32(b + 12);
        r->lower_price = cw_be32(b + 16); r->extension = cw_be32(b + 20);
        break;
    }
    case 'h':
        cw_copy8(out->u.operational_halt.stock, b); out->u.operational_halt.market_code = (char)b[8];
        out->u.operational_halt.action = (char)b[9];
        break;
    case 'A': case 'F': {
        cw_itch_add *r = &out->u.add;
        r->ref = cw_itch_order_ref(m); r->side = (char)cw_itch_add_side(m); r->shares = cw_itch_add_shares(m);
        cw_copy8(r->stock, cw_itch_add_stock(m)); r->price = cw_itch_add_price(m);
        if (t == 'F') memcpy(r->attribution, b + 25, 4); else memset(r->attribution, ' ', 4);
        break;
    }
    case 'E':
        out->u.executed.ref = cw_itch_order_ref(m); out->u.executed.shares = cw_itch_executed_shares(m);
        out->u.executed.match = cw_itch_executed_match(m);
        break;
    case 'C': {
        cw_itch_executed_price *r = &out->u.executed_price;
        r->ref = cw_itch_order_ref(m); r->shares = cw_itch_executed_shares(m); r->match = cw_itch_executed_match(m);
        r->printable = (char)cw_itch_executed_printable(m); r->price = cw_itch_execution_price(m);
        break;
    }
    case 'X': out->u.cancel.ref = cw_itch_order_ref(m); out->u.cancel.shares = cw_itch_cancel_shares(m); break;
    case 'D': out->u.del.ref = cw_itch_order_ref(m); break;
    case 'U':
        out->u.replace.orig_ref = cw_itch_order_ref(m); out->u.replace.new_ref = cw_itch_replace_new_ref(m);
        out->u.replace.shares = cw_itch_replace_shares(m); out->u.replace.price = cw_itch_replace_price(m);
        break;
    case 'P': {
        cw_itch_trade *r = &out->u.trade;
        r->ref = cw_be64(b); r->side = (char)b[8]; r->shares = cw_be32(b + 9); cw_copy8(r->stock, b + 13);
        r->price = cw_be32(b + 21); r->match = cw_be64(b + 25);
        break;
    }
    case 'Q': {
        cw_itch_cross_trade *r = &out->u.cross_trade;
        r->shares = cw_be64(b); cw_copy8(r->stock, b + 8); r->price = cw_be32(b + 16);
        r->match = cw_be64(b + 20); r->cross_type = (char)b[28];
        break;
    }
    case 'B': out->u.broken_trade.match = cw_be64(b); break;
    case 'I': {
        cw_itch_noii *r = &out->u.noii;
        r->paired_shares = cw_be64(b); r->imbalance_shares = cw_be64(b + 8); r->direction = (char)b[16];
        cw_copy8(r->stock, b + 17); r->far_price = cw_be32(b + 25); r->near_price = cw_be32(b + 29);
        r->current_ref_price = cw_be32(b + 33); r->cross_type = (char)b[37]; r->price_variation = (char)b[38];
        break;
    }
    case 'N': cw_copy8(out->u.rpii.stock, b); out->u.rpii.interest_flag = (char)b[8]; break;
    case 'O': {
        cw_itch_dlcr *r = &out->u.dlcr;
        cw_copy8(r->stock, b); r->open_eligibility = (char)b[8]; r->min_price = cw_be32(b + 9);
        r->max_price = cw_be32(b + 13); r->near_price = cw_be32(b + 17); r->near_time = cw_be64(b + 21);
        r->lower_collar = cw_be32(b + 29); r->upper_collar = cw_be32(b + 33);
        break;
    }
    }
    return CW_ITCH_OK;
}

// ---- Encoders. Each writes exactly cw_itch_expected_len(type) bytes at `m` and returns that
// count, or returns 0 and writes nothing when `cap` is smaller (0, not a negative code: a size
// return, like every CWire encoder; the caller counts or refuses it).

// Unchecked header store, for the encoders below only: they check `cap` first.
static inline void cw_itch__header(uint8_t *m, uint8_t type, uint16_t locate, uint16_t tracking, uint64_t ts) {
    m[0] = type; cw_put16(m + 1, locate); cw_put16(m + 3, tracking); cw_put48(m + 5, ts);
}

// The 11-byte header alone, for a caller that writes the body itself.
static inline size_t cw_itch_put_header(uint8_t *m, size_t cap, uint8_t type, uint16_t locate, uint16_t tracking, uint64_t ts) {
    if (cap < CW_ITCH_HEADER_LEN) return 0;
    cw_itch__header(m, type, locate, tracking, ts);
    return CW_ITCH_HEADER_LEN;
}

static inline size_t cw_itch_put_system_event(uint8_t *m, size_t cap, uint64_t ts, char event_code) {
    if (cap < 12) return 0;
    cw_itch__header(m, 'S', 0, 0, ts); m[11] = (uint8_t)event_code; return 12;
}

// Stock directory for a plain common stock: round lot 100, not ETP, tier 1 LULD.
static inline size_t cw_itch_put_directory(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, const char stock[8], char market_category) {
    if (cap < 39) return 0;
    cw_itch__header(m, 'R', locate, 0, ts);
    memcpy(m + 11, stock, 8); m[19] = (uint8_t)market_category; m[20] = 'N'; cw_put32(m + 21, 100);
    m[25] = 'N'; m[26] = 'C'; m[27] = 'Z'; m[28] = ' '; m[29] = 'P'; m[30] = 'N'; m[31] = ' ';
    m[32] = '1'; m[33] = 'N'; cw_put32(m + 34, 0); m[38] = 'N';
    return 39;
}

static inline size_t cw_itch_put_trading_action(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, const char stock[8], char state) {
    if (cap < 25) return 0;
    cw_itch__header(m, 'H', locate, 0, ts);
    memcpy(m + 11, stock, 8); m[19] = (uint8_t)state; m[20] = ' '; memcpy(m + 21, "    ", 4);
    return 25;
}

// Unchecked body of A and F (bytes 11..35), for the two encoders below.
static inline void cw_itch__add(uint8_t *m, uint8_t type, uint16_t locate, uint64_t ts, uint64_t ref, char side,
                                uint32_t shares, const char stock[8], uint32_t price) {
    cw_itch__header(m, type, locate, 0, ts);
    cw_put64(m + 11, ref); m[19] = (uint8_t)side; cw_put32(m + 20, shares); memcpy(m + 24, stock, 8);
    cw_put32(m + 32, price);
}

static inline size_t cw_itch_put_add(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t ref, char side,
                                     uint32_t shares, const char stock[8], uint32_t price) {
    if (cap < 36) return 0;
    cw_itch__add(m, 'A', locate, ts, ref, side, shares, stock, price);
    return 36;
}

static inline size_t cw_itch_put_add_mpid(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t ref, char side,
                                          uint32_t shares, const char stock[8], uint32_t price, const char mpid[4]) {
    if (cap < 40) return 0;
    cw_itch__add(m, 'F', locate, ts, ref, side, shares, stock, price);
    memcpy(m + 36, mpid, 4);
    return 40;
}

static inline size_t cw_itch_put_executed(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t ref, uint32_t shares, uint64_t match) {
    if (cap < 31) return 0;
    cw_itch__header(m, 'E', locate, 0, ts);
    cw_put64(m + 11, ref); cw_put32(m + 19, shares); cw_put64(m + 23, match);
    return 31;
}

static inline size_t cw_itch_put_executed_price(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t ref, uint32_t shares,
                                                uint64_t match, char printable, uint32_t price) {
    if (cap < 36) return 0;
    cw_itch__header(m, 'C', locate, 0, ts);
    cw_put64(m + 11, ref); cw_put32(m + 19, shares); cw_put64(m + 23, match); m[31] = (uint8_t)printable;
    cw_put32(m + 32, price);
    return 36;
}

static inline size_t cw_itch_put_cancel(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t ref, uint32_t shares) {
    if (cap < 23) return 0;
    cw_itch__header(m, 'X', locate, 0, ts);
    cw_put64(m + 11, ref); cw_put32(m + 19, shares);
    return 23;
}

static inline size_t cw_itch_put_delete(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t ref) {
    if (cap < 19) return 0;
    cw_itch__header(m, 'D', locate, 0, ts);
    cw_put64(m + 11, ref);
    return 19;
}

static inline size_t cw_itch_put_replace(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, uint64_t orig_ref, uint64_t new_ref,
                                         uint32_t shares, uint32_t price) {
    if (cap < 35) return 0;
    cw_itch__header(m, 'U', locate, 0, ts);
    cw_put64(m + 11, orig_ref); cw_put64(m + 19, new_ref); cw_put32(m + 27, shares); cw_put32(m + 31, price);
    return 35;
}

// Non-cross trade against a hidden order: the order ref on the wire is 0 since 2015.
static inline size_t cw_itch_put_trade(uint8_t *m, size_t cap, uint16_t locate, uint64_t ts, char side, uint32_t shares,
                                       const char stock[8], uint32_t price, uint64_t match) {
    if (cap < 44) return 0;
    cw_itch__header(m, 'P', locate, 0, ts);
    cw_put64(m + 11, 0); m[19] = (uint8_t)side; cw_put32(m + 20, shares); memcpy(m + 24, stock, 8);
    cw_put32(m + 32, price); cw_put64(m + 36, match);
    return 44;
}

// Human-readable name of a message type, for reports ("Add Order", ...); "?" when unknown.
const char *cw_itch_type_name(uint8_t type);

#endif
