// FIX 4.4 tag=value codec: an incremental, zero-copy parser over a byte stream and a
// builder that writes BodyLength and CheckSum. Header-inline; no allocation.
//
// Parser: cw_fix_parse() looks at the bytes at the front of a receive buffer. It returns
//   CW_FIX_NEED_MORE  the bytes so far are a valid prefix of a message: read more, call again;
//   CW_FIX_OK         one whole message verified; msg->fields views point into `buf`;
//                     *consumed = its length (several messages per read: call again on the rest);
//   < 0               a rule broken (enum below). *consumed bytes should be dropped: the whole
//                     message when it was framed (BodyLength/CheckSum verified, the fault is in a
//                     field: CW_FIX_ERR_FIELD_* — a session answers these with Reject 3), or up to
//                     the next "8=FIX.4.4<SOH>" when framing itself failed (drop silently,
//                     as FIX 4.4 vol 2 asks for bad BodyLength / CheckSum).
// Framing rules: 8=FIX.4.4 first, 9=<digits> second, BodyLength counts the bytes from after
// 9's SOH up to and including the SOH before 10=, 10=<3 digits><SOH> last with the byte sum
// mod 256 of everything before "10=". Field rules: 35 first in the body, tags numeric (1..9
// digits, no leading zero), '=' after every tag, non-empty values, no tag twice (no repeating
// groups are parsed: the order-entry messages carry none), 8/9/10/35 never again in the body.
#ifndef CW_FIX_H
#define CW_FIX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CW_FIX_SOH 0x01
#define CW_FIX_BEGIN "8=FIX.4.4\x01"
#define CW_FIX_BEGIN_LEN 10
#define CW_FIX_MAX_BODY 65536u   // larger BodyLength is refused (order entry messages are < 1 KiB)

enum {
    CW_FIX_OK = 0,
    CW_FIX_NEED_MORE = 1,
    // framing faults: drop up to the next BeginString
    CW_FIX_ERR_BEGINSTRING = -1,        // first field is not 8=FIX.4.4
    CW_FIX_ERR_BODYLENGTH_MISSING = -2, // second field is not 9=
    CW_FIX_ERR_BODYLENGTH_SYNTAX = -3,  // 9's value empty, not digits, or too large
    CW_FIX_ERR_BODYLENGTH = -4,         // 10= is not where BodyLength says
    CW_FIX_ERR_CHECKSUM_SYNTAX = -5,    // 10's value is not 3 digits then SOH
    CW_FIX_ERR_CHECKSUM = -6,           // sum mod 256 differs
    // field faults inside a verified frame: drop the message, answer with Reject
    CW_FIX_ERR_FIELD_MSGTYPE = -10,     // first body field is not 35 (or 35 is empty)
    CW_FIX_ERR_FIELD_TAG_SYNTAX = -11,  // tag empty, not digits, leading zero, too long, no '='
    CW_FIX_ERR_FIELD_EMPTY_VALUE = -12, // tag= with nothing before SOH
    CW_FIX_ERR_FIELD_DUPLICATE = -13,   // a tag seen twice
    CW_FIX_ERR_FIELD_HEADER_ORDER = -14,// 8, 9, 10 or 35 again inside the body
    CW_FIX_ERR_FIELD_TOO_MANY = -15,    // more fields than the caller's array holds
};

typedef struct {
    uint32_t tag;
    uint32_t len;
    const uint8_t *val;  // into the parsed buffer; not NUL-terminated
} cw_fix_field;

typedef struct {
    cw_fix_field *fields;  // caller's preallocated array
    uint32_t cap;          // its capacity
    uint32_t count;        // fields parsed (8, 9 and 10 included: body fields start at index 2)
    uint32_t body_length;
    uint32_t msg_len;      // whole message, 8= to the final SOH
    uint32_t err_tag;      // the offending tag for CW_FIX_ERR_FIELD_* (0 when unknown)
    uint64_t msg_seq_num;  // tag 34 when present and numeric, else 0 (for Reject's RefSeqNum)
    const uint8_t *msg_type;
    uint32_t msg_type_len;
} cw_fix_msg;

static inline int cw_fix_is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Unsigned decimal; 0 on empty, non-digit or overflow past 18 digits, else 1.
static inline int cw_fix_u64(const uint8_t *v, uint32_t len, uint64_t *out) {
    if (len == 0 || len > 18) return 0;
    uint64_t x = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (!cw_fix_is_digit(v[i])) return 0;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 1;
}

// Decimal price "[-]123.4567" to integer units of 1e-4 (ITCH price units). 0 on bad syntax,
// more than 4 decimals, or overflow.
static inline int cw_fix_price4(const uint8_t *v, uint32_t len, int64_t *out) {
    uint32_t i = 0;
    int neg = 0;
    if (len > 0 && v[0] == '-') { neg = 1; i = 1; }
    if (i >= len) return 0;
    int64_t ip = 0;
    uint32_t idigits = 0, fdigits = 0;
    int64_t fp = 0;
    for (; i < len && v[i] != '.'; i++) {
        if (!cw_fix_is_digit(v[i]) || ++idigits > 14) return 0;
        ip = ip * 10 + (v[i] - '0');
    }
    if (i < len) {  // at '.'
        i++;
        for (; i < len; i++) {
            if (!cw_fix_is_digit(v[i]) || ++fdigits > 4) return 0;
            fp = fp * 10 + (v[i] - '0');
        }
        if (idigits == 0 && fdigits == 0) return 0;
    } else if (idigits == 0) {
        return 0;
    }
    for (uint32_t k = fdigits; k < 4; k++) fp *= 10;
    int64_t x = ip * 10000 + fp;
    *out = neg ? -x : x;
    return 1;
}

// Index of the first field with `tag`, or -1.
static inline int cw_fix_find(const cw_fix_msg *m, uint32_t tag) {
    for (uint32_t i = 0; i < m->count; i++)
        if (m->fields[i].tag == tag) return (int)i;
    return -1;
}

// Where to resume after a framing fault: at the next "8=FIX.4.4<SOH>" after offset 0, whatever
// byte precedes it (garbage without a trailing SOH, or CR/LF, must not swallow the message
// after it), or (none in sight) all but a tail that could start one. A match inside a value
// only costs one more fault and resync.
static inline size_t cw_fix__resync(const uint8_t *buf, size_t len) {
    for (size_t i = 1; i + CW_FIX_BEGIN_LEN <= len; i++)
        if (memcmp(buf + i, CW_FIX_BEGIN, CW_FIX_BEGIN_LEN) == 0) return i;
    return len > CW_FIX_BEGIN_LEN ? len - CW_FIX_BEGIN_LEN + 1 : 1;
}

// Reads "<digits>=" at buf[*pos..end); 1 with the tag, 0 on a syntax fault.
static inline int cw_fix__tag(const uint8_t *buf, size_t end, size_t *pos, uint32_t *tag) {
    size_t p = *pos;
    uint32_t t = 0, n = 0;
    while (p < end && cw_fix_is_digit(buf[p])) {
        if (n == 0 && buf[p] == '0') return 0;
        if (++n > 9) return 0;
        t = t * 10 + (uint32_t)(buf[p] - '0');
        p++;
    }
    if (n == 0 || p >= end || buf[p] != '=') return 0;
    *tag = t;
    *pos = p + 1;
    return 1;
}

static inline int cw_fix_parse(const uint8_t *buf, size_t len, cw_fix_msg *m, size_t *consumed) {
    m->count = 0;
    m->err_tag = 0;
    m->msg_seq_num = 0;
    m->msg_len = 0;
    m->msg_type = NULL;
    m->msg_type_len = 0;
    *consumed = 0;
    if (m->cap < 4) return CW_FIX_ERR_FIELD_TOO_MANY;

    // 8=FIX.4.4<SOH>
    size_t n = len < CW_FIX_BEGIN_LEN ? len : CW_FIX_BEGIN_LEN;
    if (memcmp(buf, CW_FIX_BEGIN, n) != 0) { *consumed = cw_fix__resync(buf, len); return CW_FIX_ERR_BEGINSTRING; }
    if (len < CW_FIX_BEGIN_LEN + 2) return CW_FIX_NEED_MORE;
    // 9=<digits><SOH>
    if (buf[10] != '9' || buf[11] != '=') { *consumed = cw_fix__resync(buf, len); return CW_FIX_ERR_BODYLENGTH_MISSING; }
    size_t p = 12;
    uint32_t body = 0, nd = 0;
    for (;;) {
        if (p >= len) return CW_FIX_NEED_MORE;
        uint8_t c = buf[p];
        if (c == CW_FIX_SOH) break;
        if (!cw_fix_is_digit(c) || ++nd > 6) { *consumed = cw_fix__resync(buf, len); return CW_FIX_ERR_BODYLENGTH_SYNTAX; }
        body = body * 10 + (uint32_t)(c - '0');
        p++;
    }
    if (nd == 0 || body == 0 || body > CW_FIX_MAX_BODY) { *consumed = cw_fix__resync(buf, len); return CW_FIX_ERR_BODYLENGTH_SYNTAX; }
    size_t body_start = p + 1;
    size_t body_end = body_start + body;  // offset of "10="
    size_t total = body_end + 7;          // "10=ddd<SOH>"
    if (len < total) {
        // A trailer that is already visible and misplaced is a fault now, not later.
        return CW_FIX_NEED_MORE;
    }
    if (buf[body_end - 1] != CW_FIX_SOH || buf[body_end] != '1' || buf[body_end + 1] != '0' || buf[body_end + 2] != '=') {
        *consumed = cw_fix__resync(buf, len);
        return CW_FIX_ERR_BODYLENGTH;
    }
    const uint8_t *cs = buf + body_end + 3;
    if (!cw_fix_is_digit(cs[0]) || !cw_fix_is_digit(cs[1]) || !cw_fix_is_digit(cs[2]) || cs[3] != CW_FIX_SOH) {
        *consumed = cw_fix__resync(buf, len);
        return CW_FIX_ERR_CHECKSUM_SYNTAX;
    }
    uint32_t want = (uint32_t)(cs[0] - '0') * 100 + (uint32_t)(cs[1] - '0') * 10 + (uint32_t)(cs[2] - '0');
    uint32_t sum = 0;
    for (size_t i = 0; i < body_end; i++) sum += buf[i];
    if ((sum & 0xFF) != want) { *consumed = cw_fix__resync(buf, len); return CW_FIX_ERR_CHECKSUM; }

    // Framed and verified: from here on the whole message is dropped on a fault.
    *consumed = total;
    m->msg_len = (uint32_t)total;
    m->body_length = body;
    m->fields[0] = (cw_fix_field){8, 7, buf + 2};
    m->fields[1] = (cw_fix_field){9, (uint32_t)nd, buf + 12};
    m->count = 2;
    uint64_t seen[16] = {0};  // tags < 1024; larger ones are checked by a scan
    p = body_start;
    while (p < body_end) {
        uint32_t tag;
        size_t q = p;
        if (!cw_fix__tag(buf, body_end, &q, &tag)) { m->err_tag = 0; return CW_FIX_ERR_FIELD_TAG_SYNTAX; }
        size_t v = q;
        while (buf[q] != CW_FIX_SOH) q++;  // bounded: buf[body_end - 1] is SOH
        uint32_t vlen = (uint32_t)(q - v);
        if (m->count == 2 && tag != 35) { m->err_tag = 35; return CW_FIX_ERR_FIELD_MSGTYPE; }
        if (vlen == 0) { m->err_tag = tag; return tag == 35 ? CW_FIX_ERR_FIELD_MSGTYPE : CW_FIX_ERR_FIELD_EMPTY_VALUE; }
        if (m->count > 2 && (tag == 8 || tag == 9 || tag == 10 || tag == 35)) { m->err_tag = tag; return CW_FIX_ERR_FIELD_HEADER_ORDER; }
        if (tag < 1024) {
            uint64_t bit = 1ull << (tag & 63);
            if (seen[tag >> 6] & bit) { m->err_tag = tag; return CW_FIX_ERR_FIELD_DUPLICATE; }
            seen[tag >> 6] |= bit;
        } else {
            for (uint32_t i = 2; i < m->count; i++)
                if (m->fields[i].tag == tag) { m->err_tag = tag; return CW_FIX_ERR_FIELD_DUPLICATE; }
        }
        if (m->count + 1 >= m->cap) { m->err_tag = tag; return CW_FIX_ERR_FIELD_TOO_MANY; }  // one slot kept for 10
        m->fields[m->count++] = (cw_fix_field){tag, vlen, buf + v};
        if (tag == 35) { m->msg_type = buf + v; m->msg_type_len = vlen; }
        if (tag == 34) { uint64_t s; if (cw_fix_u64(buf + v, vlen, &s)) m->msg_seq_num = s; }
        p = q + 1;
    }
    m->fields[m->count++] = (cw_fix_field){10, 3, cs};
    return CW_FIX_OK;
}

static inline const char *cw_fix_strerror(int rc) {
    switch (rc) {
    case CW_FIX_OK: return "ok";
    case CW_FIX_NEED_MORE: return "need more bytes";
    case CW_FIX_ERR_BEGINSTRING: return "BeginString (8=FIX.4.4) not first";
    case CW_FIX_ERR_BODYLENGTH_MISSING: return "BodyLength (9) not second";
    case CW_FIX_ERR_BODYLENGTH_SYNTAX: return "BodyLength value not a number in range";
    case CW_FIX_ERR_BODYLENGTH: return "BodyLength does not match the bytes";
    case CW_FIX_ERR_CHECKSUM_SYNTAX: return "CheckSum (10) not 3 digits then SOH";
    case CW_FIX_ERR_CHECKSUM: return "CheckSum mismatch";
    case CW_FIX_ERR_FIELD_MSGTYPE: return "MsgType (35) not third or empty";
    case CW_FIX_ERR_FIELD_TAG_SYNTAX: return "tag not numeric";
    case CW_FIX_ERR_FIELD_EMPTY_VALUE: return "tag specified without a value";
    case CW_FIX_ERR_FIELD_DUPLICATE: return "tag appears more than once";
    case CW_FIX_ERR_FIELD_HEADER_ORDER: return "header tag out of order";
    case CW_FIX_ERR_FIELD_TOO_MANY: return "more fields than the field array holds";
    default: return "unknown";
    }
}

// ---- builder ----------------------------------------------------------------------------
// The body is written from offset CW_FIX_HDR_RESERVE of the caller's buffer; cw_fix_finish
// puts "8=FIX.4.4<SOH>9=<len><SOH>" just before it (no move of the body) and appends the
// trailer. The message starts at buf + *start and is the returned number of bytes long.
#define CW_FIX_HDR_RESERVE 24

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;     // end of the body so far
    int overflow;   // set when a field did not fit; finish then returns 0
} cw_fix_builder;

static inline void cw_fix_begin(cw_fix_builder *b, uint8_t *buf, size_t cap) {
    b->buf = buf;
    b->cap = cap;
    b->len = CW_FIX_HDR_RESERVE;
    b->overflow = cap < CW_FIX_HDR_RESERVE + 8;
}

static inline size_t cw_fix__utoa(uint8_t *tmp, uint64_t v) {  // into tmp[20], returns digits
    size_t n = 0;
    do { tmp[19 - n] = (uint8_t)('0' + v % 10); v /= 10; n++; } while (v);
    return n;
}

static inline void cw_fix_add(cw_fix_builder *b, uint32_t tag, const uint8_t *val, size_t vlen) {
    uint8_t t[20];
    size_t tn = cw_fix__utoa(t, tag);
    if (b->overflow || b->len + tn + 2 + vlen + 7 > b->cap) { b->overflow = 1; return; }  // 7: trailer
    memcpy(b->buf + b->len, t + 20 - tn, tn);
    b->len += tn;
    b->buf[b->len++] = '=';
    if (vlen) memcpy(b->buf + b->len, val, vlen);
    b->len += vlen;
    b->buf[b->len++] = CW_FIX_SOH;
}

static inline void cw_fix_add_cstr(cw_fix_builder *b, uint32_t tag, const char *s) {
    cw_fix_add(b, tag, (const uint8_t *)s, strlen(s));
}

static inline void cw_fix_add_u64(cw_fix_builder *b, uint32_t tag, uint64_t v) {
    uint8_t t[20];
    size_t n = cw_fix__utoa(t, v);
    cw_fix_add(b, tag, t + 20 - n, n);
}

// Signed decimal ("-42").
static inline void cw_fix_add_i64(cw_fix_builder *b, uint32_t tag, int64_t v) {
    uint8_t out[21];
    uint8_t t[20];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0;
    if (v < 0) out[n++] = '-';
    size_t k = cw_fix__utoa(t, u);
    memcpy(out + n, t + 20 - k, k);
    cw_fix_add(b, tag, out, n + k);
}

// Appends already encoded fields ("tag=value<SOH>"...), e.g. a body built apart from the header.
static inline void cw_fix_add_encoded(cw_fix_builder *b, const uint8_t *fields, size_t n) {
    if (b->overflow || b->len + n + 7 > b->cap) { b->overflow = 1; return; }
    if (n) memcpy(b->buf + b->len, fields, n);
    b->len += n;
}

// Integer 1e-4 units as a decimal with trailing zeros trimmed ("101.25", "7").
static inline void cw_fix_add_price4(cw_fix_builder *b, uint32_t tag, int64_t units) {
    uint8_t out[32];
    size_t n = 0;
    uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
    if (units < 0) out[n++] = '-';
    uint8_t t[20];
    size_t k = cw_fix__utoa(t, u / 10000);
    memcpy(out + n, t + 20 - k, k);
    n += k;
    uint32_t f = (uint32_t)(u % 10000);
    if (f) {
        out[n++] = '.';
        uint8_t d[4] = {(uint8_t)('0' + f / 1000), (uint8_t)('0' + f / 100 % 10), (uint8_t)('0' + f / 10 % 10), (uint8_t)('0' + f % 10)};
        size_t dn = 4;
        while (d[dn - 1] == '0') dn--;
        memcpy(out + n, d, dn);
        n += dn;
    }
    cw_fix_add(b, tag, out, n);
}

// Returns the message length (0 on overflow) and its offset in the buffer in *start.
static inline size_t cw_fix_finish(cw_fix_builder *b, size_t *start) {
    if (b->overflow) return 0;
    size_t body = b->len - CW_FIX_HDR_RESERVE;
    uint8_t t[20];
    size_t dn = cw_fix__utoa(t, body);
    size_t h = CW_FIX_BEGIN_LEN + 2 + dn + 1;
    if (h > CW_FIX_HDR_RESERVE) return 0;
    uint8_t *m = b->buf + CW_FIX_HDR_RESERVE - h;
    memcpy(m, CW_FIX_BEGIN, CW_FIX_BEGIN_LEN);
    m[10] = '9';
    m[11] = '=';
    memcpy(m + 12, t + 20 - dn, dn);
    m[12 + dn] = CW_FIX_SOH;
    uint32_t sum = 0;
    for (uint8_t *q = m; q < b->buf + b->len; q++) sum += *q;
    sum &= 0xFF;
    uint8_t *e = b->buf + b->len;
    e[0] = '1'; e[1] = '0'; e[2] = '=';
    e[3] = (uint8_t)('0' + sum / 100);
    e[4] = (uint8_t)('0' + sum / 10 % 10);
    e[5] = (uint8_t)('0' + sum % 10);
    e[6] = CW_FIX_SOH;
    *start = CW_FIX_HDR_RESERVE - h;
    return h + body + 7;
}

// UTC "YYYYMMDD-HH:MM:SS.sss" (SendingTime 52, TransactTime 60) of `realtime_ns` into `out`;
// returns 21. The date and time of day are formatted once per second per thread (gmtime_r is the
// cost), each call writes the milliseconds.
size_t cw_fix_utc_timestamp(uint8_t out[21], uint64_t realtime_ns);

#endif
