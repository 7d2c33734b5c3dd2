// libFuzzer harness for the SoupBinTCP stream decoder and the OUCH 4.2 codecs
// (Fuzz/run-fuzz.sh SECONDS soup builds and runs it).
//
// Each input is read as:
//   (a) a SoupBinTCP byte stream, fed to a cw_soup_rx whole and again in pieces whose
//       sizes the input picks (down to one byte): both walks must yield the same packets,
//       the same final status and stop at the same byte; every packet lies inside the
//       bytes fed and its length field obeys the receiver's maximum (itself picked by
//       the input, so oversize lengths are exercised);
//   (b) every packet's payload, copied into a heap block of exactly its length (so ASan
//       flags a read past the message, not only past the input), is decoded as an inbound
//       and as an outbound OUCH message; a message that decodes is re-encoded and must
//       come out byte for byte the same, and must decode again to the same fields;
//       a decode that fails must fail for the reason the length table gives;
//       Login Request / Accepted / Rejected payloads are parsed, re-encoded, parsed again;
//   (c) the whole input as one OUCH message in both directions, as in (b).
// A broken invariant prints the message in hex and aborts.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CWire.h"

static const uint8_t *g_cur;
static size_t g_cur_len;

static void fuzz_fail(const char *what, const char *file, int line) {
    fprintf(stderr, "\n==fuzz_soup_ouch== invariant broken: %s\n  at %s:%d\n", what, file, line);
    if (g_cur) {
        fprintf(stderr, "  message (%zu bytes):", g_cur_len);
        for (size_t i = 0; i < g_cur_len; i++) fprintf(stderr, " %02x", g_cur[i]);
        fprintf(stderr, "\n");
    }
    abort();
}
#define CHECK(c) do { if (!(c)) fuzz_fail(#c, __FILE__, __LINE__); } while (0)

// ---------------------------------------------------------------- OUCH

static void check_in(const uint8_t *m, size_t len) {
    cw_ouch_in d;
    memset(&d, 0xA5, sizeof d);
    const cw_ouch_status st = cw_ouch_decode_in(m, len, &d);
    if (len == 0) { CHECK(st == CW_OUCH_EMPTY); return; }
    const uint8_t want = cw_ouch_in_len(m[0]);
    if (!want) { CHECK(st == CW_OUCH_UNKNOWN_TYPE); return; }
    if (len != want) { CHECK(st == CW_OUCH_BAD_LENGTH); return; }
    CHECK(st != CW_OUCH_EMPTY && st != CW_OUCH_UNKNOWN_TYPE && st != CW_OUCH_BAD_LENGTH);
    if (st != CW_OUCH_OK) return;
    CHECK(d.type == m[0]);
    uint8_t out[CW_OUCH_MAX_LEN];
    size_t n = 0;
    switch (d.type) {
    case 'O': n = cw_ouch_put_enter(out, sizeof out, &d.u.enter);
              CHECK(cw_ouch_side_ok((uint8_t)d.u.enter.side) && cw_ouch_tif_ok(d.u.enter.tif)); break;
    case 'U': n = cw_ouch_put_replace(out, sizeof out, &d.u.replace); CHECK(cw_ouch_tif_ok(d.u.replace.tif)); break;
    case 'X': n = cw_ouch_put_cancel(out, sizeof out, &d.u.cancel.token, d.u.cancel.shares); break;
    case 'M': n = cw_ouch_put_modify(out, sizeof out, &d.u.modify.token, d.u.modify.side, d.u.modify.shares); break;
    default: CHECK(!"inbound decoder accepted a type OUCH 4.2 does not have");
    }
    CHECK(n == len && memcmp(out, m, n) == 0);
    cw_ouch_in again;
    CHECK(cw_ouch_decode_in(out, n, &again) == CW_OUCH_OK && again.type == d.type);
}

static void check_out(const uint8_t *m, size_t len) {
    cw_ouch_out d;
    memset(&d, 0xA5, sizeof d);
    const cw_ouch_status st = cw_ouch_decode_out(m, len, &d);
    if (len == 0) { CHECK(st == CW_OUCH_EMPTY); return; }
    const uint8_t want = cw_ouch_out_len(m[0]);
    if (!want) { CHECK(st == CW_OUCH_UNKNOWN_TYPE); return; }
    if (len != want) { CHECK(st == CW_OUCH_BAD_LENGTH); return; }
    CHECK(st != CW_OUCH_EMPTY && st != CW_OUCH_UNKNOWN_TYPE && st != CW_OUCH_BAD_LENGTH);
    if (st != CW_OUCH_OK) return;
    CHECK(d.type == m[0] && d.timestamp == cw_be64(m + 1));
    uint8_t out[CW_OUCH_MAX_LEN];
    size_t n = 0;
    const uint64_t ts = d.timestamp;
    switch (d.type) {
    case 'S': n = cw_ouch_put_system_event(out, sizeof out, ts, d.u.system_event.event_code); break;
    case 'A': n = cw_ouch_put_accepted(out, sizeof out, ts, &d.u.accepted); break;
    case 'U': n = cw_ouch_put_replaced(out, sizeof out, ts, &d.u.replaced); break;
    case 'C': n = cw_ouch_put_canceled(out, sizeof out, ts, &d.u.canceled.token, d.u.canceled.decrement, d.u.canceled.reason); break;
    case 'D': n = cw_ouch_put_aiq_canceled(out, sizeof out, ts, &d.u.aiq_canceled); break;
    case 'E': n = cw_ouch_put_executed(out, sizeof out, ts, &d.u.executed.token, d.u.executed.shares, d.u.executed.price,
                                       d.u.executed.liquidity, d.u.executed.match); break;
    case 'B': n = cw_ouch_put_broken_trade(out, sizeof out, ts, &d.u.broken_trade.token, d.u.broken_trade.match,
                                           d.u.broken_trade.reason); break;
    case 'J': n = cw_ouch_put_rejected(out, sizeof out, ts, &d.u.rejected.token, d.u.rejected.reason); break;
    case 'P': n = cw_ouch_put_cancel_pending(out, sizeof out, ts, &d.u.cancel_pending.token); break;
    case 'I': n = cw_ouch_put_cancel_reject(out, sizeof out, ts, &d.u.cancel_reject.token); break;
    case 'M': n = cw_ouch_put_modified(out, sizeof out, ts, &d.u.modified.token, d.u.modified.side, d.u.modified.shares); break;
    default: CHECK(!"outbound decoder accepted a type OUCH 4.2 does not have");
    }
    CHECK(n == len && memcmp(out, m, n) == 0);
    cw_ouch_out again;
    CHECK(cw_ouch_decode_out(out, n, &again) == CW_OUCH_OK && again.type == d.type && again.timestamp == ts);
}

static void check_exact(const uint8_t *msg, size_t len);

// Both directions on an exact-size heap copy; then, so that random bytes reach the field
// checks of every type, the message cut or stretched (repeating its own bytes) to the
// fixed length its type byte calls for in each direction.
static void check_message(const uint8_t *msg, size_t len) {
    check_exact(msg, len);
    if (len == 0) return;
    uint8_t shaped[CW_OUCH_MAX_LEN];
    const uint8_t wants[2] = {cw_ouch_in_len(msg[0]), cw_ouch_out_len(msg[0])};
    for (int k = 0; k < 2; k++) {
        if (!wants[k] || wants[k] == len) continue;
        for (size_t i = 0; i < wants[k]; i++) shaped[i] = msg[i % len];
        check_exact(shaped, wants[k]);
    }
}

static void check_exact(const uint8_t *msg, size_t len) {
    uint8_t *m = malloc(len ? len : 1);
    CHECK(m != NULL);
    if (len) memcpy(m, msg, len);
    g_cur = m;
    g_cur_len = len;
    check_in(m, len);
    check_out(m, len);
    g_cur = NULL;
    free(m);
}

// ---------------------------------------------------------------- SoupBinTCP

static void check_login_packets(const cw_soup_packet *p) {
    uint8_t buf[64];
    if (p->type == CW_SOUP_LOGIN_REQUEST) {
        cw_soup_login_request r, r2;
        if (cw_soup_parse_login_request(p, &r) != 0) return;
        size_t n = cw_soup_put_login_request(buf, sizeof buf, r.username, 6, r.password, 10, r.session, 10, r.sequence);
        CHECK(n == 49);
        cw_soup_packet q = {buf[2], (uint16_t)(cw_be16(buf) - 1), buf + 3};
        CHECK(cw_soup_parse_login_request(&q, &r2) == 0);
        CHECK(r2.sequence == r.sequence && memcmp(r2.username, r.username, 6) == 0 &&
              memcmp(r2.password, r.password, 10) == 0 && memcmp(r2.session, r.session, 10) == 0);
    } else if (p->type == CW_SOUP_LOGIN_ACCEPTED) {
        cw_soup_login_accepted a, a2;
        if (cw_soup_parse_login_accepted(p, &a) != 0) return;
        size_t n = cw_soup_put_login_accepted(buf, sizeof buf, a.session, 10, a.sequence);
        CHECK(n == 33);
        cw_soup_packet q = {buf[2], (uint16_t)(cw_be16(buf) - 1), buf + 3};
        CHECK(cw_soup_parse_login_accepted(&q, &a2) == 0 && a2.sequence == a.sequence &&
              memcmp(a2.session, a.session, 10) == 0);
    } else if (p->type == CW_SOUP_LOGIN_REJECTED) {
        uint8_t r = cw_soup_parse_login_rejected(p);
        CHECK(r == 0 || p->payload_len == 1);
    }
}

#define MAX_PKTS 4096
typedef struct { size_t off; uint16_t len; uint8_t type; } pkt_rec; // offset of the payload in the input

static uint8_t *g_storage;

// Feeds `data` in pieces (sizes from `split`, or all at once when split is NULL); records the packets.
static cw_soup_status walk(const uint8_t *data, size_t size, uint16_t max_len, const uint8_t *split, size_t nsplit,
                           pkt_rec *recs, size_t *nrecs, int check) {
    cw_soup_rx rx;
    const size_t cap = cw_soup_rx_storage(max_len);
    CHECK(cw_soup_rx_init(&rx, g_storage, cap, max_len) == 0);
    size_t fed = 0, consumed = 0, k = 0;
    cw_soup_status st = CW_SOUP_NEED_MORE;
    *nrecs = 0;
    while (fed < size) {
        size_t piece = split ? (size_t)split[k++ % nsplit] % 97 + 1 : size;
        if (piece > size - fed) piece = size - fed;
        const size_t took = cw_soup_rx_feed(&rx, data + fed, piece);
        CHECK(took > 0); // drained after every feed, so compaction always leaves room
        CHECK(took == piece || cw_soup_rx_pending(&rx) == cap);
        fed += took;
        cw_soup_packet p;
        while ((st = cw_soup_rx_next(&rx, &p)) == CW_SOUP_OK) {
            CHECK(p.payload >= rx.buf && p.payload + p.payload_len <= rx.buf + rx.tail); // inside what was fed
            CHECK((size_t)p.payload_len + 1 <= max_len);
            const size_t at = consumed + 3;
            CHECK(at + p.payload_len <= fed);
            CHECK(cw_be16(data + consumed) == p.payload_len + 1 && data[consumed + 2] == p.type);
            CHECK(memcmp(data + at, p.payload, p.payload_len) == 0);
            if (*nrecs < MAX_PKTS) recs[(*nrecs)++] = (pkt_rec){at, p.payload_len, p.type};
            consumed = at + p.payload_len;
            if (check) {
                check_login_packets(&p);
                check_message(p.payload, p.payload_len);
            }
        }
        CHECK(cw_soup_rx_pending(&rx) == fed - consumed);
        if (st != CW_SOUP_NEED_MORE) {
            CHECK(st == CW_SOUP_ERR_LENGTH);
            const uint16_t n = cw_be16(data + consumed);
            CHECK(n == 0 || n > max_len);
            cw_soup_packet p2;
            CHECK(cw_soup_rx_next(&rx, &p2) == st); // sticky
            break;
        }
    }
    if (st == CW_SOUP_NEED_MORE) CHECK(size - consumed < 2 || (size_t)cw_be16(data + consumed) + 2 > size - consumed);
    return st;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    g_storage = malloc(cw_soup_rx_storage(0xFFFF));
    CHECK(g_storage != NULL);
    return 0;
}

static pkt_rec g_a[MAX_PKTS], g_b[MAX_PKTS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // The receiver's maximum: usually generous, sometimes tight enough to trip on real packets.
    const uint16_t max_len = size ? (data[size - 1] & 1 ? 0xFFFF : (uint16_t)(data[size - 1] % 90 + 1)) : 1024;
    size_t na = 0, nb = 0;
    const cw_soup_status sa = walk(data, size, max_len, NULL, 0, g_a, &na, 1);
    const cw_soup_status sb = walk(data, size, max_len, data, size ? size : 1, g_b, &nb, 0);
    CHECK(sa == sb && na == nb);
    for (size_t i = 0; i < na; i++) CHECK(g_a[i].off == g_b[i].off && g_a[i].len == g_b[i].len && g_a[i].type == g_b[i].type);
    check_message(data, size);
    return 0;
}
