// SoupBinTCP 3.00 framing: every logical packet is [u16 BE length][type][payload],
// the length counting the type byte and the payload. Encoders write whole packets;
// the decoder walks a TCP byte stream that arrives in arbitrary pieces (a packet
// split across reads, several packets in one read) and never reads past what it holds.
#ifndef CW_SOUP_H
#define CW_SOUP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cw_endian.h"

// Packet types. Server -> client:
#define CW_SOUP_DEBUG '+'            // free text, either direction
#define CW_SOUP_LOGIN_ACCEPTED 'A'   // session[10] sequence[20]
#define CW_SOUP_LOGIN_REJECTED 'J'   // reason[1]
#define CW_SOUP_SEQUENCED 'S'        // one higher-level message, implicitly numbered
#define CW_SOUP_SERVER_HEARTBEAT 'H'
#define CW_SOUP_END_OF_SESSION 'Z'
// Client -> server:
#define CW_SOUP_LOGIN_REQUEST 'L'    // username[6] password[10] session[10] sequence[20]
#define CW_SOUP_UNSEQUENCED 'U'
#define CW_SOUP_CLIENT_HEARTBEAT 'R'
#define CW_SOUP_LOGOUT_REQUEST 'O'

#define CW_SOUP_REJECT_NOT_AUTHORIZED 'A'   // bad username / password
#define CW_SOUP_REJECT_SESSION_UNAVAILABLE 'S' // requested session unknown or sequence out of range

#define CW_SOUP_USERNAME_LEN 6
#define CW_SOUP_PASSWORD_LEN 10
#define CW_SOUP_SESSION_LEN 10
#define CW_SOUP_SEQNUM_LEN 20
#define CW_SOUP_HEADER_LEN 3                 // length + type
#define CW_SOUP_LOGIN_REQUEST_PAYLOAD 46     // 6 + 10 + 10 + 20
#define CW_SOUP_LOGIN_ACCEPTED_PAYLOAD 30    // 10 + 20
#define CW_SOUP_MAX_PAYLOAD 65534u           // the u16 length also counts the type byte

// ---------------------------------------------------------------- fields

// Alpha: left-justified, space padded on the right; longer input is cut at n.
static inline void cw_soup_put_alpha(uint8_t *p, size_t n, const char *s, size_t slen) {
    size_t k = slen < n ? slen : n;
    if (k) memcpy(p, s, k);
    memset(p + k, ' ', n - k);
}

// Numeric: ASCII digits, right-justified, space padded on the left (20 digits hold any u64).
static inline void cw_soup_put_numeric(uint8_t *p, size_t n, uint64_t v) {
    size_t i = n;
    do { p[--i] = (uint8_t)('0' + v % 10); v /= 10; } while (v && i);
    memset(p, ' ', i);
}

// Parses a numeric field: optional spaces, digits, optional spaces (an all-blank
// field reads as 0). Returns 0, or -EINVAL on any other byte, -ERANGE for a value past u64.
static inline int cw_soup_parse_numeric(const uint8_t *p, size_t n, uint64_t *out) {
    size_t i = 0;
    uint64_t v = 0;
    while (i < n && p[i] == ' ') i++;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -ERANGE;
        v = v * 10 + d;
    }
    while (i < n && p[i] == ' ') i++;
    if (i != n) return -EINVAL;
    *out = v;
    return 0;
}

// Trims the spaces on both sides of an alpha field (senders differ on which side they pad).
// Returns the offset of the first non-space byte; *len gets the trimmed length.
static inline size_t cw_soup_trim(const uint8_t *p, size_t n, size_t *len) {
    size_t b = 0, e = n;
    while (b < e && p[b] == ' ') b++;
    while (e > b && p[e - 1] == ' ') e--;
    *len = e - b;
    return b;
}

// ---------------------------------------------------------------- encoders
// Each returns the bytes written (header included), or 0 when `cap` is too small
// or the payload does not fit a packet.

static inline size_t cw_soup_put_packet(uint8_t *out, size_t cap, uint8_t type, const uint8_t *payload, size_t n) {
    if (n > CW_SOUP_MAX_PAYLOAD || cap < CW_SOUP_HEADER_LEN + n) return 0;
    cw_put16(out, (uint16_t)(n + 1));
    out[2] = type;
    if (n) memcpy(out + 3, payload, n);
    return CW_SOUP_HEADER_LEN + n;
}

// Writes only the 3-byte header of a packet whose payload the caller writes at out + 3.
static inline size_t cw_soup_put_header(uint8_t *out, size_t cap, uint8_t type, size_t payload_len) {
    if (payload_len > CW_SOUP_MAX_PAYLOAD || cap < CW_SOUP_HEADER_LEN) return 0;
    cw_put16(out, (uint16_t)(payload_len + 1));
    out[2] = type;
    return CW_SOUP_HEADER_LEN;
}

// Header-only packets: heartbeats, end of session, logout request.
static inline size_t cw_soup_put_empty(uint8_t *out, size_t cap, uint8_t type) {
    return cw_soup_put_packet(out, cap, type, NULL, 0);
}

static inline size_t cw_soup_put_login_request(uint8_t *out, size_t cap, const char *user, size_t ulen,
                                               const char *pass, size_t plen, const char *session, size_t slen,
                                               uint64_t sequence) {
    if (cap < CW_SOUP_HEADER_LEN + CW_SOUP_LOGIN_REQUEST_PAYLOAD) return 0;
    cw_soup_put_header(out, cap, CW_SOUP_LOGIN_REQUEST, CW_SOUP_LOGIN_REQUEST_PAYLOAD);
    uint8_t *p = out + 3;
    cw_soup_put_alpha(p, 6, user, ulen);
    cw_soup_put_alpha(p + 6, 10, pass, plen);
    cw_soup_put_alpha(p + 16, 10, session, slen); // all blanks: the current session
    cw_soup_put_numeric(p + 26, 20, sequence);    // 0: start from the next message generated
    return CW_SOUP_HEADER_LEN + CW_SOUP_LOGIN_REQUEST_PAYLOAD;
}

// Session: right-justified (left padded with spaces), our reading of the spec's Login Accepted;
// readers here trim both sides (cw_soup_trim, fieldText), so either padding interoperates.
static inline size_t cw_soup_put_login_accepted(uint8_t *out, size_t cap, const char *session, size_t slen,
                                                uint64_t next_sequence) {
    if (cap < CW_SOUP_HEADER_LEN + CW_SOUP_LOGIN_ACCEPTED_PAYLOAD) return 0;
    cw_soup_put_header(out, cap, CW_SOUP_LOGIN_ACCEPTED, CW_SOUP_LOGIN_ACCEPTED_PAYLOAD);
    uint8_t *p = out + 3;
    size_t k = slen < 10 ? slen : 10;
    memset(p, ' ', 10 - k);
    if (k) memcpy(p + 10 - k, session, k);
    cw_soup_put_numeric(p + 10, 20, next_sequence);
    return CW_SOUP_HEADER_LEN + CW_SOUP_LOGIN_ACCEPTED_PAYLOAD;
}

static inline size_t cw_soup_put_login_rejected(uint8_t *out, size_t cap, uint8_t reason) {
    return cw_soup_put_packet(out, cap, CW_SOUP_LOGIN_REJECTED, &reason, 1);
}

// ---------------------------------------------------------------- packet decoding

typedef struct {
    uint8_t type;
    uint16_t payload_len;
    const uint8_t *payload; // points into the buffer the packet was found in
} cw_soup_packet;

typedef enum {
    CW_SOUP_OK = 0,             // a whole packet was produced
    CW_SOUP_NEED_MORE = 1,      // the bytes held end inside a packet (or hold none)
    CW_SOUP_ERR_LENGTH = -1,    // length 0 (no type byte) or past the session's maximum
    CW_SOUP_ERR_OVERFLOW = -2,  // more bytes fed than the receive buffer holds
} cw_soup_status;

// One packet from buf[*off..size). `max_len` bounds the length field (type + payload);
// a larger one is a protocol error: the peer is broken or not speaking SoupBinTCP.
static inline cw_soup_status cw_soup_next(const uint8_t *buf, size_t size, size_t *off, uint16_t max_len,
                                          cw_soup_packet *pkt) {
    size_t o = *off;
    if (o > size || size - o < 2) return CW_SOUP_NEED_MORE;
    uint16_t n = cw_be16(buf + o);
    if (n == 0 || n > max_len) return CW_SOUP_ERR_LENGTH;
    if (size - o - 2 < n) return CW_SOUP_NEED_MORE;
    pkt->type = buf[o + 2];
    pkt->payload_len = (uint16_t)(n - 1);
    pkt->payload = buf + o + 3;
    *off = o + 2 + (size_t)n;
    return CW_SOUP_OK;
}

// Typed views of the login packets. Return 0, -EMSGSIZE for another type or payload length, or
// the numeric field's error.
typedef struct {
    char username[CW_SOUP_USERNAME_LEN], password[CW_SOUP_PASSWORD_LEN], session[CW_SOUP_SESSION_LEN];
    uint64_t sequence;
} cw_soup_login_request;

static inline int cw_soup_parse_login_request(const cw_soup_packet *pkt, cw_soup_login_request *out) {
    if (pkt->type != CW_SOUP_LOGIN_REQUEST || pkt->payload_len != CW_SOUP_LOGIN_REQUEST_PAYLOAD) return -EMSGSIZE;
    const uint8_t *p = pkt->payload;
    int rc = cw_soup_parse_numeric(p + 26, 20, &out->sequence);
    if (rc != 0) return rc;
    memcpy(out->username, p, 6);
    memcpy(out->password, p + 6, 10);
    memcpy(out->session, p + 16, 10);
    return 0;
}

typedef struct { char session[CW_SOUP_SESSION_LEN]; uint64_t sequence; } cw_soup_login_accepted;

static inline int cw_soup_parse_login_accepted(const cw_soup_packet *pkt, cw_soup_login_accepted *out) {
    if (pkt->type != CW_SOUP_LOGIN_ACCEPTED || pkt->payload_len != CW_SOUP_LOGIN_ACCEPTED_PAYLOAD) return -EMSGSIZE;
    int rc = cw_soup_parse_numeric(pkt->payload + 10, 20, &out->sequence);
    if (rc != 0) return rc;
    memcpy(out->session, pkt->payload, 10);
    return 0;
}

// Returns the reject reason ('A' or 'S'), or 0 when the packet is not a well-formed Login Rejected.
static inline uint8_t cw_soup_parse_login_rejected(const cw_soup_packet *pkt) {
    if (pkt->type != CW_SOUP_LOGIN_REJECTED || pkt->payload_len != 1) return 0;
    uint8_t r = pkt->payload[0];
    return (r == CW_SOUP_REJECT_NOT_AUTHORIZED || r == CW_SOUP_REJECT_SESSION_UNAVAILABLE) ? r : 0;
}

// ---------------------------------------------------------------- stream receiver

// Receive buffer for one connection, over storage the caller owns. Read from the
// socket into cw_soup_rx_space(), cw_soup_rx_commit() the count, then cw_soup_rx_next()
// until it stops returning OK. A returned packet points into the storage and stays
// valid until the next space()/feed().
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t head, tail;      // unread bytes are buf[head..tail)
    uint16_t max_len;       // largest length field accepted (type + payload)
    int8_t error;           // sticky: once the stream is broken it stays broken
    uint64_t packets, bytes;
} cw_soup_rx;

// Storage for a receiver that accepts length fields up to max_len: room for one whole
// largest packet after compaction, plus as much again so one read can bring several.
static inline size_t cw_soup_rx_storage(uint16_t max_len) { return 2 * ((size_t)max_len + 2); }

// Returns 0, or -ENOSPC when `cap` is below cw_soup_rx_storage(max_len) (max_len 0 means 65535).
static inline int cw_soup_rx_init(cw_soup_rx *rx, uint8_t *storage, size_t cap, uint16_t max_len) {
    rx->max_len = max_len ? max_len : 0xFFFF;
    if (cap < cw_soup_rx_storage(rx->max_len)) return -ENOSPC;
    rx->buf = storage;
    rx->cap = cap;
    rx->head = rx->tail = 0;
    rx->error = 0;
    rx->packets = rx->bytes = 0;
    return 0;
}

// Writable room after the unread bytes; compacts first, so there is always room for
// the rest of any packet the length check lets through.
static inline size_t cw_soup_rx_space(cw_soup_rx *rx, uint8_t **dst) {
    if (rx->head) {
        size_t n = rx->tail - rx->head;
        if (n) memmove(rx->buf, rx->buf + rx->head, n);
        rx->head = 0;
        rx->tail = n;
    }
    *dst = rx->buf + rx->tail;
    return rx->cap - rx->tail;
}

static inline cw_soup_status cw_soup_rx_commit(cw_soup_rx *rx, size_t n) {
    if (n > rx->cap - rx->tail) { rx->error = CW_SOUP_ERR_OVERFLOW; return CW_SOUP_ERR_OVERFLOW; }
    rx->tail += n;
    rx->bytes += n;
    return CW_SOUP_OK;
}

// Copies bytes in (tests, fuzzing, callers that do not read in place). Returns the
// bytes taken: fewer than n only when the storage is full of unread packets.
static inline size_t cw_soup_rx_feed(cw_soup_rx *rx, const uint8_t *src, size_t n) {
    uint8_t *dst;
    size_t room = cw_soup_rx_space(rx, &dst);
    size_t k = n < room ? n : room;
    if (k) memcpy(dst, src, k);
    rx->tail += k;
    rx->bytes += k;
    return k;
}

static inline cw_soup_status cw_soup_rx_next(cw_soup_rx *rx, cw_soup_packet *pkt) {
    if (rx->error) return (cw_soup_status)rx->error;
    cw_soup_status st = cw_soup_next(rx->buf, rx->tail, &rx->head, rx->max_len, pkt);
    if (st == CW_SOUP_OK) rx->packets++;
    else if (st < 0) rx->error = (int8_t)st;
    return st;
}

static inline size_t cw_soup_rx_pending(const cw_soup_rx *rx) { return rx->tail - rx->head; }

#endif
