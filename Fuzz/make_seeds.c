// Builds the seed corpus for fuzz_itch from real ITCH 5.0 day files (the
// nasdaq-itch50-12302019 fixtures): usage `make_seeds OUTDIR FILE...`.
//
//   day-*     runs of whole records, a few hundred bytes to ~4 KB (one in four
//             also cut mid-record, for the truncation paths);
//   mold-*    MoldUDP64 packets packed from the same records with CWire's builder
//             (1,400-byte MTU-sized ones and 4,096-byte ones), plus a heartbeat
//             and an end-of-session packet;
//   ladder-*  deep books: real Add Order messages re-priced onto one locate so
//             that a book holds dozens of levels per side (the SIMD level search
//             only runs past 8 / 16 levels), then executed, cancelled, deleted
//             and replaced at levels inside the book.
//
// Every seed is at most 4,096 bytes (the run's -max_len).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CWire.h"

#define MAX_SEED 4096

static const char *g_out;
static unsigned g_written;

static void write_seed(const char *name, const uint8_t *p, size_t n) {
    if (n > MAX_SEED) n = MAX_SEED;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_out, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    g_written++;
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "make_seeds: cannot open %s: %s\n", path, strerror(errno)); exit(1); }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    fclose(f);
    *size = n;
    return buf;
}

// Runs of whole records, cut at record boundaries to sizes cycling through `targets`.
static void day_chunks(int file_no, const uint8_t *buf, size_t size) {
    static const size_t targets[] = {300, 700, 1500, 2600, 4000, 450, 1100, 3300};
    size_t start = 0, off = 0, chunk = 0;
    const uint8_t *m;
    uint16_t len;
    char name[64];
    while (start < size) {
        size_t target = targets[chunk % (sizeof targets / sizeof targets[0])], end = start;
        off = start;
        while (cw_dayfile_next(buf, size, &off, &m, &len) == CW_FRAME_MSG && off - start <= target) end = off;
        if (end == start) break; // a broken record or one longer than a seed
        snprintf(name, sizeof name, "day-f%d-%03zu", file_no, chunk);
        write_seed(name, buf + start, end - start);
        if (chunk % 4 == 3 && end - start > 40) { // the same run, its last record cut short
            snprintf(name, sizeof name, "day-f%d-%03zu-cut", file_no, chunk);
            write_seed(name, buf + start, end - start - 17);
        }
        start = end;
        chunk++;
    }
}

static uint64_t g_seq = 1;

// MoldUDP64 packets of `cap` bytes packed from the file's records; at most `max_packets`.
static void mold_packets(int file_no, const uint8_t *buf, size_t size, size_t cap, int max_packets) {
    static const uint8_t session[CW_MOLD_SESSION_LEN] = {'O', 'M', 'N', 'I', 'F', 'U', 'Z', 'Z', '0', '1'};
    uint8_t pkt[MAX_SEED];
    size_t off = 0;
    const uint8_t *m;
    uint16_t len;
    char name[64];
    cw_mold_builder b;
    int packets = 0;
    cw_mold_begin(&b, pkt, cap, session, g_seq);
    while (packets < max_packets && cw_dayfile_next(buf, size, &off, &m, &len) == CW_FRAME_MSG) {
        if (cw_mold_append(&b, m, len) == 0) continue;
        snprintf(name, sizeof name, "mold-f%d-%zu-%02d", file_no, cap, packets++);
        write_seed(name, pkt, b.len);
        g_seq += b.count;
        cw_mold_begin(&b, pkt, cap, session, g_seq);
        if (cw_mold_append(&b, m, len) != 0) return;
    }
    if (packets < max_packets && b.count) {
        snprintf(name, sizeof name, "mold-f%d-%zu-%02d", file_no, cap, packets);
        write_seed(name, pkt, b.len);
        g_seq += b.count;
    }
}

static void mold_markers(void) {
    static const uint8_t session[CW_MOLD_SESSION_LEN] = {'O', 'M', 'N', 'I', 'F', 'U', 'Z', 'Z', '0', '1'};
    uint8_t pkt[CW_MOLD_HEADER_LEN];
    cw_mold_builder b;
    cw_mold_begin(&b, pkt, sizeof pkt, session, g_seq); // count 0: heartbeat
    write_seed("mold-heartbeat", pkt, b.len);
    cw_mold_mark_end_of_session(&b);
    write_seed("mold-end-of-session", pkt, b.len);
}

// ---- Deep books from a real Add Order: same stock, timestamp and ref base, new prices.

typedef struct { uint8_t buf[MAX_SEED]; size_t len; } seed_buf;

// -1 when the seed is full, or when n is 0 (an encoder that refused its buffer).
static int put_record(seed_buf *s, const uint8_t *m, size_t n) {
    if (n == 0 || s->len + 2 + n > MAX_SEED) return -1;
    cw_put16(s->buf + s->len, (uint16_t)n);
    memcpy(s->buf + s->len + 2, m, n);
    s->len += 2 + n;
    return 0;
}

static void ladders(const uint8_t *add) { // add: a real 36-byte 'A' message
    cw_itch_msg a;
    if (cw_itch_decode(add, 36, &a) != CW_ITCH_OK || a.h.type != 'A') return;
    const uint16_t locate = a.h.locate;
    const uint64_t ts = a.h.timestamp, ref0 = a.u.add.ref;
    const uint32_t mid = a.u.add.price > 100000 ? a.u.add.price : 500000; // room for the ladder below it
    uint8_t m[CW_ITCH_MAX_LEN];
    seed_buf s;

    // 1: 45 bids stepping down and 45 asks stepping up from the real price, then
    //    cancels, executions and deletes at levels deep inside both sides.
    s.len = 0;
    for (uint32_t i = 0; i < 45; i++) {
        put_record(&s, m, cw_itch_put_add(m, sizeof m, locate, ts + i, ref0 + 2 * i, 'B', 100 + i, a.u.add.stock, mid - 100 * (i + 1)));
        put_record(&s, m, cw_itch_put_add(m, sizeof m, locate, ts + i, ref0 + 2 * i + 1, 'S', 200 + i, a.u.add.stock, mid + 100 * (i + 1)));
    }
    for (uint32_t i = 3; s.len < MAX_SEED - 40; i += 7) {
        const uint64_t ref = ref0 + (i % 90);
        size_t n = i % 3 == 0 ? cw_itch_put_delete(m, sizeof m, locate, ts + 100 + i, ref)
                 : i % 3 == 1 ? cw_itch_put_cancel(m, sizeof m, locate, ts + 100 + i, ref, 50)
                              : cw_itch_put_executed(m, sizeof m, locate, ts + 100 + i, ref, 60, 900000 + i);
        if (put_record(&s, m, n) != 0) break;
    }
    write_seed("ladder-deep-both-sides", s.buf, s.len);

    // 2: 100 adds on one side at scattered prices, so that inserts land inside the book.
    s.len = 0;
    uint32_t x = 12345;
    for (uint32_t i = 0; i < 100; i++) {
        x = x * 1103515245u + 12345u;
        const uint32_t px = mid - 2000 + (x >> 16) % 4000;
        if (put_record(&s, m, cw_itch_put_add(m, sizeof m, locate, ts + i, ref0 + i, (i & 1) && i > 60 ? 'S' : 'B', 100, a.u.add.stock, px)) != 0) break;
    }
    write_seed("ladder-scattered", s.buf, s.len);

    // 3: 40 asks, then replaces that walk each order to a new price and a new ref.
    s.len = 0;
    for (uint32_t i = 0; i < 40; i++) {
        put_record(&s, m, cw_itch_put_add(m, sizeof m, locate, ts + i, ref0 + i, 'S', 300, a.u.add.stock, mid + 50 * i));
    }
    for (uint32_t i = 0; i < 40; i++) {
        if (put_record(&s, m, cw_itch_put_replace(m, sizeof m, locate, ts + 50 + i, ref0 + i, ref0 + 1000 + i, 250, mid + 25 * (79 - i))) != 0) break;
    }
    write_seed("ladder-replaces", s.buf, s.len);
}

static const uint8_t *first_add(const uint8_t *buf, size_t size) {
    size_t off = 0;
    const uint8_t *m;
    uint16_t len;
    while (cw_dayfile_next(buf, size, &off, &m, &len) == CW_FRAME_MSG)
        if (len == 36 && m[0] == 'A' && cw_itch_valid(m, len)) return m;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: make_seeds OUTDIR FILE...\n"); return 2; }
    g_out = argv[1];
    int have_ladders = 0;
    for (int i = 2; i < argc; i++) {
        size_t size;
        uint8_t *buf = read_file(argv[i], &size);
        day_chunks(i - 1, buf, size);
        mold_packets(i - 1, buf, size, 1400, 3);
        mold_packets(i - 1, buf, size, MAX_SEED, 1);
        const uint8_t *add = first_add(buf, size);
        if (add && !have_ladders) { ladders(add); have_ladders = 1; }
        free(buf);
    }
    mold_markers();
    printf("%u\n", g_written);
    return 0;
}
