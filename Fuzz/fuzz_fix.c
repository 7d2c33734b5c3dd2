// libFuzzer harness for the FIX 4.4 codec (CWire cw_fix.h). Run: FUZZ_HARNESS=fix Fuzz/run-fuzz.sh [SECONDS].
//
// Each input is a byte stream read two ways:
//   (a) one shot: cw_fix_parse from the front, dropping *consumed each time, until NEED_MORE;
//       every call must consume at least one byte on an error and at most what it was given;
//       every OK message is rebuilt field by field with cw_fix_builder and must come back
//       byte-identical (same BodyLength digits, same CheckSum), and its field views must lie
//       inside the message;
//   (b) incrementally: the same stream copied into a receive buffer in pieces whose sizes
//       come from the input's first byte, parsing after every piece; the sequence of
//       (status, consumed) results must equal (a)'s, since a split may never change a verdict.
// Any difference aborts with the input in hex.
#include "cw_fix.h"
#include <stdio.h>
#include <stdlib.h>

#define MAXF 64
#define MAXR 4096

typedef struct { int rc; size_t consumed; } step;

static size_t run_oneshot(const uint8_t *d, size_t n, step *out, size_t maxout) {
    cw_fix_field f[MAXF];
    cw_fix_msg m = {.fields = f, .cap = MAXF};
    size_t off = 0, k = 0;
    static uint8_t rebuilt[70000];
    while (off < n && k < maxout) {
        size_t c;
        int rc = cw_fix_parse(d + off, n - off, &m, &c);
        if (rc == CW_FIX_NEED_MORE) break;
        if (c == 0 || c > n - off) { fprintf(stderr, "bad consumed %zu of %zu rc=%d\n", c, n - off, rc); abort(); }
        if (rc == CW_FIX_OK) {
            if (m.msg_len != c || m.count < 4) abort();
            cw_fix_builder b;
            cw_fix_begin(&b, rebuilt, sizeof rebuilt);
            for (uint32_t i = 0; i < m.count; i++) {
                const cw_fix_field *x = &f[i];
                if (x->val < d + off || x->val + x->len > d + off + c) abort();
                if (x->tag == 8 || x->tag == 9 || x->tag == 10) continue;
                cw_fix_add(&b, x->tag, x->val, x->len);
            }
            size_t st, len = cw_fix_finish(&b, &st);
            if (len != c || memcmp(rebuilt + st, d + off, c) != 0) { fprintf(stderr, "round trip differs\n"); abort(); }
        }
        out[k++] = (step){rc, c};
        off += c;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > MAXR) return 0;
    static step a[MAXR], b[MAXR];
    size_t na = run_oneshot(data, size, a, MAXR);

    // (b): pieces of 1 + (data[0] % 17) bytes, a heap buffer sized exactly to what arrived
    size_t piece = 1 + data[0] % 17, have = 0, start = 0, nb = 0;
    uint8_t *rx = malloc(size);
    cw_fix_field f[MAXF];
    cw_fix_msg m = {.fields = f, .cap = MAXF};
    while (have < size) {
        size_t add = size - have < piece ? size - have : piece;
        memcpy(rx + have, data + have, add);
        have += add;
        for (;;) {
            if (start >= have) break;
            // copy the unparsed tail into an exact-size block so ASan sees reads past it
            size_t len = have - start;
            uint8_t *w = malloc(len);
            memcpy(w, rx + start, len);
            size_t c;
            int rc = cw_fix_parse(w, len, &m, &c);
            free(w);
            if (rc == CW_FIX_NEED_MORE) break;
            if (nb >= MAXR) break;
            b[nb++] = (step){rc, c};
            start += c;
        }
    }
    free(rx);
    // Resync after a framing error looks ahead for the next BeginString, which depends on how
    // much has arrived, so the two reads are compared only up to the first framing error.
    // Up to the first framing error both ways must see the same messages.
    for (size_t i = 0; i < na && i < nb; i++) {
        if (a[i].rc != b[i].rc) { fprintf(stderr, "split changed verdict %zu: %d vs %d\n", i, a[i].rc, b[i].rc); abort(); }
        if (a[i].rc < 0 && a[i].rc > CW_FIX_ERR_FIELD_MSGTYPE) break;
        if (a[i].consumed != b[i].consumed) abort();
    }
    return 0;
}
