// NASDAQ OUCH 4.2 order entry messages: fixed length per type, big-endian integers,
// prices u32 with 4 implied decimals, timestamps u64 nanoseconds since midnight,
// tokens 14 ASCII bytes (left-justified, space padded). Inbound (client -> venue) and
// outbound (venue -> client) share the letters U and M, so each direction has its own
// decoder. Decoders check the length for the type and the enumerated fields; they
// never read past m[len-1].
#ifndef CW_OUCH_H
#define CW_OUCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cw_endian.h"

#define CW_OUCH_TOKEN_LEN 14
#define CW_OUCH_MAX_LEN 80 // Order Replaced, the longest message

// Fixed lengths, type byte included (OUCH 4.2 section 2 and 3).
#define CW_OUCH_ENTER_LEN 49
#define CW_OUCH_REPLACE_LEN 47
#define CW_OUCH_CANCEL_LEN 19
#define CW_OUCH_MODIFY_LEN 20
#define CW_OUCH_SYSTEM_EVENT_LEN 10
#define CW_OUCH_ACCEPTED_LEN 66
#define CW_OUCH_REPLACED_LEN 80
#define CW_OUCH_CANCELED_LEN 28
#define CW_OUCH_AIQ_CANCELED_LEN 37
#define CW_OUCH_EXECUTED_LEN 40
#define CW_OUCH_BROKEN_TRADE_LEN 32
#define CW_OUCH_REJECTED_LEN 24
#define CW_OUCH_CANCEL_PENDING_LEN 23
#define CW_OUCH_CANCEL_REJECT_LEN 23
#define CW_OUCH_MODIFIED_LEN 28

// Time in force: seconds to live, or one of these.
#define CW_OUCH_TIF_IOC 0u
#define CW_OUCH_TIF_MARKET_HOURS 99998u
#define CW_OUCH_TIF_SYSTEM_HOURS 99999u
#define CW_OUCH_MAX_SHARES 1000000u   // spec: an order is for fewer than 1,000,000 shares
#define CW_OUCH_MARKET_PRICE 0x7FFFFFFFu

typedef struct { char b[CW_OUCH_TOKEN_LEN]; } cw_ouch_token;

// ---- inbound
typedef struct {                                        // O
    cw_ouch_token token; char side; uint32_t shares; char stock[8]; uint32_t price;
    uint32_t tif; char firm[4]; char display; char capacity; char ise; uint32_t min_qty;
    char cross_type; char customer_type;
} cw_ouch_enter;
typedef struct {                                        // U
    cw_ouch_token existing, replacement; uint32_t shares, price, tif; char display; char ise; uint32_t min_qty;
} cw_ouch_replace;
typedef struct { cw_ouch_token token; uint32_t shares; } cw_ouch_cancel;           // X (shares: new size, 0 = all)
typedef struct { cw_ouch_token token; char side; uint32_t shares; } cw_ouch_modify; // M

typedef struct {
    uint8_t type;
    union { cw_ouch_enter enter; cw_ouch_replace replace; cw_ouch_cancel cancel; cw_ouch_modify modify; } u;
} cw_ouch_in;

// ---- outbound (every one starts with a timestamp)
typedef struct { char event_code; } cw_ouch_system_event;                          // S ('S' start, 'E' end of day)
typedef struct {                                                                   // A
    cw_ouch_token token; char side; uint32_t shares; char stock[8]; uint32_t price; uint32_t tif; char firm[4];
    char display; uint64_t order_ref; char capacity; char ise; uint32_t min_qty; char cross_type;
    char order_state; char bbo_weight;
} cw_ouch_accepted;
typedef struct {                                                                   // U
    cw_ouch_token token; char side; uint32_t shares; char stock[8]; uint32_t price; uint32_t tif; char firm[4];
    char display; uint64_t order_ref; char capacity; char ise; uint32_t min_qty; char cross_type;
    char order_state; cw_ouch_token previous; char bbo_weight;
} cw_ouch_replaced;
typedef struct { cw_ouch_token token; uint32_t decrement; char reason; } cw_ouch_canceled; // C
typedef struct {                                                                   // D
    cw_ouch_token token; uint32_t decrement; char reason; uint32_t prevented; uint32_t price; char liquidity;
} cw_ouch_aiq_canceled;
typedef struct { cw_ouch_token token; uint32_t shares; uint32_t price; char liquidity; uint64_t match; } cw_ouch_executed; // E
typedef struct { cw_ouch_token token; uint64_t match; char reason; } cw_ouch_broken_trade; // B
typedef struct { cw_ouch_token token; char reason; } cw_ouch_rejected;            // J
typedef struct { cw_ouch_token token; } cw_ouch_token_only;                        // P, I
typedef struct { cw_ouch_token token; char side; uint32_t shares; } cw_ouch_modified; // M

typedef struct {
    uint8_t type;
    uint64_t timestamp;
    union {
        cw_ouch_system_event system_event; cw_ouch_accepted accepted; cw_ouch_replaced replaced;
        cw_ouch_canceled canceled; cw_ouch_aiq_canceled aiq_canceled; cw_ouch_executed executed;
        cw_ouch_broken_trade broken_trade; cw_ouch_rejected rejected; cw_ouch_token_only cancel_pending;
        cw_ouch_token_only cancel_reject; cw_ouch_modified modified;
    } u;
} cw_ouch_out;

typedef enum {
    CW_OUCH_OK = 0,
    CW_OUCH_EMPTY = -1,       // zero-length message
    CW_OUCH_UNKNOWN_TYPE = -2, // no such message in this direction
    CW_OUCH_BAD_LENGTH = -3,  // length differs from the type's fixed length
    CW_OUCH_BAD_SIDE = -4,    // buy/sell indicator not B, S, T or E
    CW_OUCH_BAD_TIF = -5,     // time in force not 0..86399, 99998 or 99999
    CW_OUCH_BAD_TOKEN = -6,   // a token byte outside printable ASCII
    CW_OUCH_BAD_VALUE = -7,   // another enumerated field out of range (ISE, order state, shares)
} cw_ouch_status;

static inline uint8_t cw_ouch_in_len(uint8_t t) {
    switch (t) {
    case 'O': return CW_OUCH_ENTER_LEN; case 'U': return CW_OUCH_REPLACE_LEN;
    case 'X': return CW_OUCH_CANCEL_LEN; case 'M': return CW_OUCH_MODIFY_LEN;
    default: return 0;
    }
}

static inline uint8_t cw_ouch_out_len(uint8_t t) {
    switch (t) {
    case 'S': return CW_OUCH_SYSTEM_EVENT_LEN; case 'A': return CW_OUCH_ACCEPTED_LEN;
    case 'U': return CW_OUCH_REPLACED_LEN;     case 'C': return CW_OUCH_CANCELED_LEN;
    case 'D': return CW_OUCH_AIQ_CANCELED_LEN; case 'E': return CW_OUCH_EXECUTED_LEN;
    case 'B': return CW_OUCH_BROKEN_TRADE_LEN; case 'J': return CW_OUCH_REJECTED_LEN;
    case 'P': return CW_OUCH_CANCEL_PENDING_LEN; case 'I': return CW_OUCH_CANCEL_REJECT_LEN;
    case 'M': return CW_OUCH_MODIFIED_LEN;
    default: return 0;
    }
}

static inline int cw_ouch_side_ok(uint8_t s) { return s == 'B' || s == 'S' || s == 'T' || s == 'E'; }
static inline int cw_ouch_tif_ok(uint32_t t) { return t < 86400u || t == CW_OUCH_TIF_MARKET_HOURS || t == CW_OUCH_TIF_SYSTEM_HOURS; }
static inline int cw_ouch_yn_ok(uint8_t c) { return c == 'Y' || c == 'N'; }
static inline int cw_ouch_token_ok(const uint8_t *p) {
    for (int i = 0; i < CW_OUCH_TOKEN_LEN; i++) if (p[i] < 0x20 || p[i] > 0x7E) return 0;
    return 1;
}

// Token from a string: left-justified, space padded, cut at 14.
static inline cw_ouch_token cw_ouch_make_token(const char *s, size_t n) {
    cw_ouch_token t;
    size_t k = n < CW_OUCH_TOKEN_LEN ? n : CW_OUCH_TOKEN_LEN;
    if (k) memcpy(t.b, s, k);
    memset(t.b + k, ' ', CW_OUCH_TOKEN_LEN - k);
    return t;
}
static inline int cw_ouch_token_eq(const cw_ouch_token *a, const cw_ouch_token *b) {
    return memcmp(a->b, b->b, CW_OUCH_TOKEN_LEN) == 0;
}

#define CW_OUCH_TOK(dst, p) memcpy((dst).b, (p), CW_OUCH_TOKEN_LEN)

// ---------------------------------------------------------------- inbound decode

static inline cw_ouch_status cw_ouch_decode_in(const uint8_t *m, size_t len, cw_ouch_in *out) {
    if (len == 0) return CW_OUCH_EMPTY;
    const uint8_t t = m[0];
    const uint8_t want = cw_ouch_in_len(t);
    if (!want) return CW_OUCH_UNKNOWN_TYPE;
    if (len != want) return CW_OUCH_BAD_LENGTH;
    if (!cw_ouch_token_ok(m + 1)) return CW_OUCH_BAD_TOKEN;
    out->type = t;
    switch (t) {
    case 'O': {
        cw_ouch_enter *e = &out->u.enter;
        if (!cw_ouch_side_ok(m[15])) return CW_OUCH_BAD_SIDE;
        if (!cw_ouch_tif_ok(cw_be32(m + 32))) return CW_OUCH_BAD_TIF;
        if (!cw_ouch_yn_ok(m[42])) return CW_OUCH_BAD_VALUE;
        CW_OUCH_TOK(e->token, m + 1);
        e->side = (char)m[15];
        e->shares = cw_be32(m + 16);
        memcpy(e->stock, m + 20, 8);
        e->price = cw_be32(m + 28);
        e->tif = cw_be32(m + 32);
        memcpy(e->firm, m + 36, 4);
        e->display = (char)m[40];
        e->capacity = (char)m[41];
        e->ise = (char)m[42];
        e->min_qty = cw_be32(m + 43);
        e->cross_type = (char)m[47];
        e->customer_type = (char)m[48];
        return CW_OUCH_OK;
    }
    case 'U': {
        cw_ouch_replace *r = &out->u.replace;
        if (!cw_ouch_token_ok(m + 15)) return CW_OUCH_BAD_TOKEN;
        if (!cw_ouch_tif_ok(cw_be32(m + 37))) return CW_OUCH_BAD_TIF;
        if (!cw_ouch_yn_ok(m[42])) return CW_OUCH_BAD_VALUE;
        CW_OUCH_TOK(r->existing, m + 1);
        CW_OUCH_TOK(r->replacement, m + 15);
        r->shares = cw_be32(m + 29);
        r->price = cw_be32(m + 33);
        r->tif = cw_be32(m + 37);
        r->display = (char)m[41];
        r->ise = (char)m[42];
        r->min_qty = cw_be32(m + 43);
        return CW_OUCH_OK;
    }
    case 'X':
        CW_OUCH_TOK(out->u.cancel.token, m + 1);
        out->u.cancel.shares = cw_be32(m + 15);
        return CW_OUCH_OK;
    default: // 'M': only a buy <-> sell-short family change is allowed, never to B
        if (m[15] != 'S' && m[15] != 'T' && m[15] != 'E') return CW_OUCH_BAD_SIDE;
        CW_OUCH_TOK(out->u.modify.token, m + 1);
        out->u.modify.side = (char)m[15];
        out->u.modify.shares = cw_be32(m + 16);
        return CW_OUCH_OK;
    }
}

// ---------------------------------------------------------------- outbound decode

static inline cw_ouch_status cw_ouch_decode_out(const uint8_t *m, size_t len, cw_ouch_out *out) {
    if (len == 0) return CW_OUCH_EMPTY;
    const uint8_t t = m[0];
    const uint8_t want = cw_ouch_out_len(t);
    if (!want) return CW_OUCH_UNKNOWN_TYPE;
    if (len != want) return CW_OUCH_BAD_LENGTH;
    out->type = t;
    out->timestamp = cw_be64(m + 1);
    if (t == 'S') {
        if (m[9] != 'S' && m[9] != 'E') return CW_OUCH_BAD_VALUE;
        out->u.system_event.event_code = (char)m[9];
        return CW_OUCH_OK;
    }
    if (!cw_ouch_token_ok(m + 9)) return CW_OUCH_BAD_TOKEN;
    switch (t) {
    case 'A': case 'U': {
        // A and U share bytes 9..64; U adds the previous token at 65 and moves the BBO weight to 79.
        if (!cw_ouch_side_ok(m[23])) return CW_OUCH_BAD_SIDE;
        if (!cw_ouch_tif_ok(cw_be32(m + 40))) return CW_OUCH_BAD_TIF;
        if (m[64] != 'L' && m[64] != 'D') return CW_OUCH_BAD_VALUE;
        cw_ouch_accepted *a = t == 'A' ? &out->u.accepted : (cw_ouch_accepted *)NULL;
        cw_ouch_replaced *r = t == 'U' ? &out->u.replaced : (cw_ouch_replaced *)NULL;
        if (r && !cw_ouch_token_ok(m + 65)) return CW_OUCH_BAD_TOKEN;
#define CW_OUCH_AU(f) (a ? &a->f : &r->f)
        CW_OUCH_TOK(*CW_OUCH_AU(token), m + 9);
        *CW_OUCH_AU(side) = (char)m[23];
        *CW_OUCH_AU(shares) = cw_be32(m + 24);
        memcpy(CW_OUCH_AU(stock), m + 28, 8);
        *CW_OUCH_AU(price) = cw_be32(m + 36);
        *CW_OUCH_AU(tif) = cw_be32(m + 40);
        memcpy(CW_OUCH_AU(firm), m + 44, 4);
        *CW_OUCH_AU(display) = (char)m[48];
        *CW_OUCH_AU(order_ref) = cw_be64(m + 49);
        *CW_OUCH_AU(capacity) = (char)m[57];
        *CW_OUCH_AU(ise) = (char)m[58];
        *CW_OUCH_AU(min_qty) = cw_be32(m + 59);
        *CW_OUCH_AU(cross_type) = (char)m[63];
        *CW_OUCH_AU(order_state) = (char)m[64];
#undef CW_OUCH_AU
        if (a) a->bbo_weight = (char)m[65];
        else { CW_OUCH_TOK(r->previous, m + 65); r->bbo_weight = (char)m[79]; }
        return CW_OUCH_OK;
    }
    case 'C':
        CW_OUCH_TOK(out->u.canceled.token, m + 9);
        out->u.canceled.decrement = cw_be32(m + 23);
        out->u.canceled.reason = (char)m[27];
        return CW_OUCH_OK;
    case 'D': {
        cw_ouch_aiq_canceled *d = &out->u.aiq_canceled;
        CW_OUCH_TOK(d->token, m + 9);
        d->decrement = cw_be32(m + 23);
        d->reason = (char)m[27];
        d->prevented = cw_be32(m + 28);
        d->price = cw_be32(m + 32);
        d->liquidity = (char)m[36];
        return CW_OUCH_OK;
    }
    case 'E': {
        cw_ouch_executed *e = &out->u.executed;
        CW_OUCH_TOK(e->token, m + 9);
        e->shares = cw_be32(m + 23);
        e->price = cw_be32(m + 27);
        e->liquidity = (char)m[31];
        e->match = cw_be64(m + 32);
        return CW_OUCH_OK;
    }
    case 'B':
        CW_OUCH_TOK(out->u.broken_trade.token, m + 9);
        out->u.broken_trade.match = cw_be64(m + 23);
        out->u.broken_trade.reason = (char)m[31];
        return CW_OUCH_OK;
    case 'J':
        CW_OUCH_TOK(out->u.rejected.token, m + 9);
        out->u.rejected.reason = (char)m[23];
        return CW_OUCH_OK;
    case 'P':
        CW_OUCH_TOK(out->u.cancel_pending.token, m + 9);
        return CW_OUCH_OK;
    case 'I':
        CW_OUCH_TOK(out->u.cancel_reject.token, m + 9);
        return CW_OUCH_OK;
    default: // 'M'
        if (!cw_ouch_side_ok(m[23])) return CW_OUCH_BAD_SIDE;
        CW_OUCH_TOK(out->u.modified.token, m + 9);
        out->u.modified.side = (char)m[23];
        out->u.modified.shares = cw_be32(m + 24);
        return CW_OUCH_OK;
    }
}

// ---------------------------------------------------------------- encoders
// Each writes one whole message at `p` and returns its length, or returns 0 and writes nothing
// when `cap` is smaller than the message (0, not a negative code: a size return, like every
// CWire encoder; the caller counts or refuses it).

static inline size_t cw_ouch_put_enter(uint8_t *p, size_t cap, const cw_ouch_enter *e) {
    if (cap < CW_OUCH_ENTER_LEN) return 0;
    p[0] = 'O';
    memcpy(p + 1, e->token.b, 14);
    p[15] = (uint8_t)e->side;
    cw_put32(p + 16, e->shares);
    memcpy(p + 20, e->stock, 8);
    cw_put32(p + 28, e->price);
    cw_put32(p + 32, e->tif);
    memcpy(p + 36, e->firm, 4);
    p[40] = (uint8_t)e->display;
    p[41] = (uint8_t)e->capacity;
    p[42] = (uint8_t)e->ise;
    cw_put32(p + 43, e->min_qty);
    p[47] = (uint8_t)e->cross_type;
    p[48] = (uint8_t)e->customer_type;
    return CW_OUCH_ENTER_LEN;
}

static inline size_t cw_ouch_put_replace(uint8_t *p, size_t cap, const cw_ouch_replace *r) {
    if (cap < CW_OUCH_REPLACE_LEN) return 0;
    p[0] = 'U';
    memcpy(p + 1, r->existing.b, 14);
    memcpy(p + 15, r->replacement.b, 14);
    cw_put32(p + 29, r->shares);
    cw_put32(p + 33, r->price);
    cw_put32(p + 37, r->tif);
    p[41] = (uint8_t)r->display;
    p[42] = (uint8_t)r->ise;
    cw_put32(p + 43, r->min_qty);
    return CW_OUCH_REPLACE_LEN;
}

static inline size_t cw_ouch_put_cancel(uint8_t *p, size_t cap, const cw_ouch_token *token, uint32_t shares) {
    if (cap < CW_OUCH_CANCEL_LEN) return 0;
    p[0] = 'X';
    memcpy(p + 1, token->b, 14);
    cw_put32(p + 15, shares);
    return CW_OUCH_CANCEL_LEN;
}

static inline size_t cw_ouch_put_modify(uint8_t *p, size_t cap, const cw_ouch_token *token, char side, uint32_t shares) {
    if (cap < CW_OUCH_MODIFY_LEN) return 0;
    p[0] = 'M';
    memcpy(p + 1, token->b, 14);
    p[15] = (uint8_t)side;
    cw_put32(p + 16, shares);
    return CW_OUCH_MODIFY_LEN;
}

// Unchecked: for the encoders below only, which check `cap` first.
static inline void cw_ouch__head(uint8_t *p, uint8_t type, uint64_t ts, const cw_ouch_token *token) {
    p[0] = type;
    cw_put64(p + 1, ts);
    memcpy(p + 9, token->b, 14);
}

static inline size_t cw_ouch_put_system_event(uint8_t *p, size_t cap, uint64_t ts, char event_code) {
    if (cap < CW_OUCH_SYSTEM_EVENT_LEN) return 0;
    p[0] = 'S';
    cw_put64(p + 1, ts);
    p[9] = (uint8_t)event_code;
    return CW_OUCH_SYSTEM_EVENT_LEN;
}

// Bytes 23..64 of Accepted and Replaced (the same fields at the same offsets). Unchecked, as above.
static inline void cw_ouch__order_body(uint8_t *p, char side, uint32_t shares, const char stock[8], uint32_t price,
                                       uint32_t tif, const char firm[4], char display, uint64_t order_ref,
                                       char capacity, char ise, uint32_t min_qty, char cross_type, char state) {
    p[23] = (uint8_t)side;
    cw_put32(p + 24, shares);
    memcpy(p + 28, stock, 8);
    cw_put32(p + 36, price);
    cw_put32(p + 40, tif);
    memcpy(p + 44, firm, 4);
    p[48] = (uint8_t)display;
    cw_put64(p + 49, order_ref);
    p[57] = (uint8_t)capacity;
    p[58] = (uint8_t)ise;
    cw_put32(p + 59, min_qty);
    p[63] = (uint8_t)cross_type;
    p[64] = (uint8_t)state;
}

static inline size_t cw_ouch_put_accepted(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_accepted *a) {
    if (cap < CW_OUCH_ACCEPTED_LEN) return 0;
    cw_ouch__head(p, 'A', ts, &a->token);
    cw_ouch__order_body(p, a->side, a->shares, a->stock, a->price, a->tif, a->firm, a->display, a->order_ref,
                       a->capacity, a->ise, a->min_qty, a->cross_type, a->order_state);
    p[65] = (uint8_t)a->bbo_weight;
    return CW_OUCH_ACCEPTED_LEN;
}

static inline size_t cw_ouch_put_replaced(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_replaced *r) {
    if (cap < CW_OUCH_REPLACED_LEN) return 0;
    cw_ouch__head(p, 'U', ts, &r->token);
    cw_ouch__order_body(p, r->side, r->shares, r->stock, r->price, r->tif, r->firm, r->display, r->order_ref,
                       r->capacity, r->ise, r->min_qty, r->cross_type, r->order_state);
    memcpy(p + 65, r->previous.b, 14);
    p[79] = (uint8_t)r->bbo_weight;
    return CW_OUCH_REPLACED_LEN;
}

static inline size_t cw_ouch_put_canceled(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token, uint32_t decrement,
                                          char reason) {
    if (cap < CW_OUCH_CANCELED_LEN) return 0;
    cw_ouch__head(p, 'C', ts, token);
    cw_put32(p + 23, decrement);
    p[27] = (uint8_t)reason;
    return CW_OUCH_CANCELED_LEN;
}

static inline size_t cw_ouch_put_aiq_canceled(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_aiq_canceled *d) {
    if (cap < CW_OUCH_AIQ_CANCELED_LEN) return 0;
    cw_ouch__head(p, 'D', ts, &d->token);
    cw_put32(p + 23, d->decrement);
    p[27] = (uint8_t)d->reason;
    cw_put32(p + 28, d->prevented);
    cw_put32(p + 32, d->price);
    p[36] = (uint8_t)d->liquidity;
    return CW_OUCH_AIQ_CANCELED_LEN;
}

static inline size_t cw_ouch_put_executed(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token, uint32_t shares,
                                          uint32_t price, char liquidity, uint64_t match) {
    if (cap < CW_OUCH_EXECUTED_LEN) return 0;
    cw_ouch__head(p, 'E', ts, token);
    cw_put32(p + 23, shares);
    cw_put32(p + 27, price);
    p[31] = (uint8_t)liquidity;
    cw_put64(p + 32, match);
    return CW_OUCH_EXECUTED_LEN;
}

static inline size_t cw_ouch_put_broken_trade(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token, uint64_t match,
                                              char reason) {
    if (cap < CW_OUCH_BROKEN_TRADE_LEN) return 0;
    cw_ouch__head(p, 'B', ts, token);
    cw_put64(p + 23, match);
    p[31] = (uint8_t)reason;
    return CW_OUCH_BROKEN_TRADE_LEN;
}

static inline size_t cw_ouch_put_rejected(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token, char reason) {
    if (cap < CW_OUCH_REJECTED_LEN) return 0;
    cw_ouch__head(p, 'J', ts, token);
    p[23] = (uint8_t)reason;
    return CW_OUCH_REJECTED_LEN;
}

static inline size_t cw_ouch_put_cancel_pending(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token) {
    if (cap < CW_OUCH_CANCEL_PENDING_LEN) return 0;
    cw_ouch__head(p, 'P', ts, token);
    return CW_OUCH_CANCEL_PENDING_LEN;
}

static inline size_t cw_ouch_put_cancel_reject(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token) {
    if (cap < CW_OUCH_CANCEL_REJECT_LEN) return 0;
    cw_ouch__head(p, 'I', ts, token);
    return CW_OUCH_CANCEL_REJECT_LEN;
}

static inline size_t cw_ouch_put_modified(uint8_t *p, size_t cap, uint64_t ts, const cw_ouch_token *token, char side,
                                          uint32_t shares) {
    if (cap < CW_OUCH_MODIFIED_LEN) return 0;
    cw_ouch__head(p, 'M', ts, token);
    p[23] = (uint8_t)side;
    cw_put32(p + 24, shares);
    return CW_OUCH_MODIFIED_LEN;
}

#endif
