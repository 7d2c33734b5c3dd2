#define _GNU_SOURCE // MAP_ANONYMOUS, MAP_NORESERVE under -std=c11
#include "CBook.h"
#include "CWire.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_TABLE_SLOTS (1ull << (CBOOK_MAX_REF_BITS - CBOOK_PAGE_BITS))
#define LEVELS_INITIAL 32u

// ---- Level search: index of the highest level whose key <= k, or -1 (keys ascending, best last).

static int32_t find_scalar(const int32_t *key, int32_t n, int32_t k) {
    int32_t j = n - 1;
    while (j >= 0 && key[j] > k) j--;
    return j;
}

__attribute__((target("avx2"))) static int32_t find_avx2(const int32_t *key, int32_t n, int32_t k) {
    const __m256i kv = _mm256_set1_epi32(k);
    int32_t j = n;
    while (j >= 8) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(key + j - 8));
        // Keys above k form a suffix of the block (keys ascend): their count says where k sits.
        uint32_t above = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(v, kv)));
        if (above != 0xFFu) return j - 1 - __builtin_popcount(above);
        j -= 8;
    }
    while (j > 0 && key[j - 1] > k) j--;
    return j - 1;
}

__attribute__((target("avx512f"))) static int32_t find_avx512(const int32_t *key, int32_t n, int32_t k) {
    const __m512i kv = _mm512_set1_epi32(k);
    int32_t j = n;
    while (j >= 16) {
        __m512i v = _mm512_loadu_si512((const void *)(key + j - 16));
        uint32_t above = (uint32_t)_mm512_cmpgt_epi32_mask(v, kv);
        if (above != 0xFFFFu) return j - 1 - __builtin_popcount(above);
        j -= 16;
    }
    if (j > 0) { // the last partial block: masked load reads only the j remaining keys
        __mmask16 live = (__mmask16)((1u << j) - 1u);
        __m512i v = _mm512_maskz_loadu_epi32(live, key);
        uint32_t above = (uint32_t)_mm512_mask_cmpgt_epi32_mask(live, v, kv);
        return j - 1 - __builtin_popcount(above);
    }
    return -1;
}

static inline int32_t side_find(const cbook_set *s, const cbook_side *sd, int32_t k) {
    // The best level answers most lookups; test it before paying for a vector setup.
    int32_t n = (int32_t)sd->n;
    if (n == 0 || sd->key[n - 1] <= k) return n - 1;
    switch (s->simd) {
    case CBOOK_SIMD_AVX512: return find_avx512(sd->key, n - 1, k);
    case CBOOK_SIMD_AVX2: return find_avx2(sd->key, n - 1, k);
    default: return find_scalar(sd->key, n - 1, k);
    }
}

cbook_simd cbook_cpu_simd(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return CBOOK_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2")) return CBOOK_SIMD_AVX2;
    return CBOOK_SIMD_SCALAR;
}

const char *cbook_simd_name(cbook_simd level) {
    switch (level) {
    case CBOOK_SIMD_AVX512: return "avx512";
    case CBOOK_SIMD_AVX2: return "avx2";
    default: return "scalar";
    }
}

void cbook_set_simd(cbook_set *s, cbook_simd level) {
    cbook_simd cpu = cbook_cpu_simd();
    s->simd = level > cpu ? cpu : level;
}

// ---- Set lifetime.

cbook_set *cbook_set_create(void) {
    cbook_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    // Reserved, not committed: the kernel backs only the table pages that refs touch.
    void *table = mmap(NULL, PAGE_TABLE_SLOTS * sizeof(cbook_page *), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (table == MAP_FAILED) { free(s); return NULL; }
    s->pages = table;
    s->page_slots = PAGE_TABLE_SLOTS;
    s->simd = cbook_cpu_simd();
    const char *want = getenv("OMNI_SIMD");
    if (want) {
        if (!strcmp(want, "scalar")) cbook_set_simd(s, CBOOK_SIMD_SCALAR);
        else if (!strcmp(want, "avx2")) cbook_set_simd(s, CBOOK_SIMD_AVX2);
        else if (!strcmp(want, "avx512")) cbook_set_simd(s, CBOOK_SIMD_AVX512);
    }
    return s;
}

static void side_free(cbook_side *sd) { free(sd->key); free(sd->qty); free(sd->cnt); }

void cbook_set_destroy(cbook_set *s) {
    if (!s) return;
    for (cbook_page *p = s->all_pages; p;) { cbook_page *next = p->next_allocated; free(p); p = next; }
    munmap(s->pages, s->page_slots * sizeof(cbook_page *));
    for (uint32_t i = 0; i < CBOOK_MAX_LOCATES; i++) {
        if (s->books[i]) { side_free(&s->books[i]->side[0]); side_free(&s->books[i]->side[1]); free(s->books[i]); }
    }
    free(s->filter);
    free(s);
}

int cbook_filter_enable(cbook_set *s) {
    if (!s->filter && !(s->filter = calloc(CBOOK_MAX_LOCATES, 1))) return -1;
    return 0;
}

int cbook_filter_add(cbook_set *s, uint16_t locate) {
    if (cbook_filter_enable(s) != 0) return -1;
    s->filter[locate] = 1;
    return 0;
}

// ---- Order store.

static inline cbook_order *order_live(const cbook_set *s, uint64_t ref) {
    uint64_t pi = ref >> CBOOK_PAGE_BITS;
    if (pi >= s->page_slots) return NULL;
    cbook_page *p = s->pages[pi];
    if (!p) return NULL;
    cbook_order *o = &p->o[ref & (CBOOK_PAGE_ORDERS - 1)];
    return o->live ? o : NULL;
}

// A free slot for `ref`, or NULL (counted) when the ref is out of range, already live, or memory ran out.
static inline cbook_order *order_claim(cbook_set *s, uint64_t ref) {
    uint64_t pi = ref >> CBOOK_PAGE_BITS;
    if (pi >= s->page_slots) { s->stats.ref_out_of_range++; return NULL; }
    cbook_page *p = s->pages[pi];
    if (!p) {
        if (s->free_pages) {
            // A page goes back to the free list only once every slot is dead, so it needs no clearing.
            p = s->free_pages;
            s->free_pages = p->next_free;
        } else {
            if (!(p = calloc(1, sizeof *p))) return NULL;
            p->next_allocated = s->all_pages;
            s->all_pages = p;
            s->pages_allocated++;
        }
        p->live = 0;
        s->pages[pi] = p;
        s->pages_in_use++;
    }
    cbook_order *o = &p->o[ref & (CBOOK_PAGE_ORDERS - 1)];
    if (o->live) { s->stats.duplicate_ref++; return NULL; }
    p->live++;
    s->live_orders++;
    return o;
}

static inline void order_release(cbook_set *s, uint64_t ref, cbook_order *o) {
    uint64_t pi = ref >> CBOOK_PAGE_BITS;
    cbook_page *p = s->pages[pi];
    o->live = 0;
    s->live_orders--;
    if (--p->live == 0) {
        s->pages[pi] = NULL;
        p->next_free = s->free_pages;
        s->free_pages = p;
        s->pages_in_use--;
    }
}

// ---- Levels.

static int side_grow(cbook_side *sd) {
    uint32_t cap = sd->cap ? sd->cap * 2 : LEVELS_INITIAL;
    int32_t *key = realloc(sd->key, cap * sizeof *key);
    if (!key) return -1;
    sd->key = key;
    uint64_t *qty = realloc(sd->qty, cap * sizeof *qty);
    if (!qty) return -1;
    sd->qty = qty;
    uint32_t *cnt = realloc(sd->cnt, cap * sizeof *cnt);
    if (!cnt) return -1;
    sd->cnt = cnt;
    sd->cap = cap;
    return 0;
}

static inline int level_add(const cbook_set *s, cbook_side *sd, int32_t key, uint32_t shares) {
    int32_t j = side_find(s, sd, key);
    if (j >= 0 && sd->key[j] == key) {
        sd->qty[j] += shares;
        sd->cnt[j]++;
        return 0;
    }
    if (sd->n == sd->cap && side_grow(sd) != 0) return -1;
    uint32_t at = (uint32_t)(j + 1), tail = sd->n - at;
    if (tail) {
        memmove(sd->key + at + 1, sd->key + at, tail * sizeof *sd->key);
        memmove(sd->qty + at + 1, sd->qty + at, tail * sizeof *sd->qty);
        memmove(sd->cnt + at + 1, sd->cnt + at, tail * sizeof *sd->cnt);
    }
    sd->key[at] = key;
    sd->qty[at] = shares;
    sd->cnt[at] = 1;
    sd->n++;
    return 0;
}

// Takes `shares` off the level at `key`; `leaves` = 1 when the order leaves the level.
static inline void level_reduce(const cbook_set *s, cbook_side *sd, int32_t key, uint32_t shares, int leaves) {
    int32_t j = side_find(s, sd, key);
    // Every live order's level exists: the store and the levels change together.
    if (j < 0 || sd->key[j] != key) return;
    sd->qty[j] -= shares;
    sd->cnt[j] -= (uint32_t)leaves;
    if (sd->cnt[j] == 0) {
        uint32_t tail = sd->n - (uint32_t)j - 1;
        if (tail) {
            memmove(sd->key + j, sd->key + j + 1, tail * sizeof *sd->key);
            memmove(sd->qty + j, sd->qty + j + 1, tail * sizeof *sd->qty);
            memmove(sd->cnt + j, sd->cnt + j + 1, tail * sizeof *sd->cnt);
        }
        sd->n--;
    }
}

static inline int32_t level_key(int side, uint32_t price) { return side == CBOOK_BID ? (int32_t)price : -(int32_t)price; }

static inline cbook_bbo book_bbo(const cbook_book *b) {
    cbook_bbo q = {0, 0, 0, 0};
    const cbook_side *bid = &b->side[CBOOK_BID], *ask = &b->side[CBOOK_ASK];
    if (bid->n) { q.bid_px = (uint32_t)bid->key[bid->n - 1]; q.bid_sz = bid->qty[bid->n - 1]; }
    if (ask->n) { q.ask_px = (uint32_t)(-ask->key[ask->n - 1]); q.ask_sz = ask->qty[ask->n - 1]; }
    return q;
}

// Returns `locate` when the book's BBO differs from the one after its previous change, else -1.
static inline int bbo_changed(cbook_book *b, uint16_t locate) {
    cbook_bbo q = book_bbo(b);
    if (q.bid_px == b->last.bid_px && q.bid_sz == b->last.bid_sz && q.ask_px == b->last.ask_px &&
        q.ask_sz == b->last.ask_sz)
        return -1;
    b->last = q;
    return locate;
}

static inline cbook_book *book_for(cbook_set *s, uint16_t locate) {
    cbook_book *b = s->books[locate];
    if (!b) b = s->books[locate] = calloc(1, sizeof *b);
    return b;
}

// ---- Message application.

// Adds an order; 0 when added, -1 when refused (already counted).
static inline int order_add(cbook_set *s, cbook_book *b, uint16_t locate, uint64_t ref, int side, uint32_t shares, uint32_t price) {
    if (price > CBOOK_MAX_PRICE) { s->stats.bad_price++; return -1; }
    cbook_order *o = order_claim(s, ref);
    if (!o) return -1;
    if (level_add(s, &b->side[side], level_key(side, price), shares) != 0) { order_release(s, ref, o); return -1; }
    o->price = price;
    o->shares = shares;
    o->locate = locate;
    o->side = (uint8_t)side;
    o->live = 1;
    b->live_orders++;
    return 0;
}

static inline void order_remove(cbook_set *s, cbook_book *b, uint64_t ref, cbook_order *o) {
    level_reduce(s, &b->side[o->side], level_key(o->side, o->price), o->shares, 1);
    b->live_orders--;
    order_release(s, ref, o);
}

// E, C and X: take shares off an order; an order left with none leaves the book.
static inline int order_reduce(cbook_set *s, uint64_t ref, uint32_t shares) {
    cbook_order *o = order_live(s, ref);
    if (!o) { s->stats.unknown_ref++; return -1; }
    const uint16_t locate = o->locate;
    cbook_book *b = s->books[locate];
    if (shares >= o->shares) {
        if (shares > o->shares) s->stats.over_execution++;
        order_remove(s, b, ref, o);
    } else {
        level_reduce(s, &b->side[o->side], level_key(o->side, o->price), shares, 0);
        o->shares -= shares;
    }
    return bbo_changed(b, locate);
}

int cbook_apply(cbook_set *s, const uint8_t *m, uint16_t len) {
    if (len == 0 || len != cw_itch_len_table[m[0]]) { s->stats.malformed++; return -1; }
    const uint8_t t = m[0];
    const uint16_t locate = cw_be16(m + 1);
    switch (t) {
    case 'A': case 'F': case 'E': case 'C': case 'X': case 'D': case 'U': break;
    case 'P': case 'Q': case 'B': s->stats.trades++; return -1;
    default: s->stats.ignored++; return -1;
    }
    if (s->filter && !s->filter[locate]) { s->stats.filtered++; return -1; }
    const uint64_t ref = cw_be64(m + 11);
    switch (t) {
    case 'A': case 'F': {
        s->stats.adds++;
        int side = m[19] == 'B' ? CBOOK_BID : m[19] == 'S' ? CBOOK_ASK : -1;
        if (side < 0) { s->stats.bad_side++; return -1; }
        cbook_book *b = book_for(s, locate);
        if (!b || order_add(s, b, locate, ref, side, cw_be32(m + 20), cw_be32(m + 32)) != 0) return -1;
        return bbo_changed(b, locate);
    }
    case 'E': s->stats.executes++; return order_reduce(s, ref, cw_be32(m + 19));
    case 'C': s->stats.executes++; return order_reduce(s, ref, cw_be32(m + 19)); // C's price is the print, not the order's
    case 'X': s->stats.cancels++; return order_reduce(s, ref, cw_be32(m + 19));
    case 'D': {
        s->stats.deletes++;
        cbook_order *o = order_live(s, ref);
        if (!o) { s->stats.unknown_ref++; return -1; }
        uint16_t at = o->locate;
        order_remove(s, s->books[at], ref, o);
        return bbo_changed(s->books[at], at);
    }
    default: { // 'U': the new order keeps side and instrument, takes a new ref and loses time priority
        s->stats.replaces++;
        cbook_order *o = order_live(s, ref);
        if (!o) { s->stats.unknown_ref++; return -1; }
        uint16_t at = o->locate;
        int side = o->side;
        cbook_book *b = s->books[at];
        order_remove(s, b, ref, o);
        order_add(s, b, at, cw_be64(m + 19), side, cw_be32(m + 27), cw_be32(m + 31));
        return bbo_changed(b, at);
    }
    }
}

// ---- Queries.

cbook_bbo cbook_get_bbo(const cbook_set *s, uint16_t locate) {
    cbook_bbo empty = {0, 0, 0, 0};
    return s->books[locate] ? book_bbo(s->books[locate]) : empty;
}

uint32_t cbook_depth(const cbook_set *s, uint16_t locate, int side, uint32_t n, uint32_t *px, uint64_t *qty, uint32_t *cnt) {
    const cbook_book *b = s->books[locate];
    if (!b || side < 0 || side > 1) return 0;
    const cbook_side *sd = &b->side[side];
    uint32_t k = n < sd->n ? n : sd->n;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t j = sd->n - 1 - i;
        px[i] = side == CBOOK_BID ? (uint32_t)sd->key[j] : (uint32_t)(-sd->key[j]);
        qty[i] = sd->qty[j];
        cnt[i] = sd->cnt[j];
    }
    return k;
}

uint32_t cbook_level_count(const cbook_set *s, uint16_t locate, int side) {
    const cbook_book *b = s->books[locate];
    return (b && side >= 0 && side <= 1) ? b->side[side].n : 0;
}

uint64_t cbook_book_orders(const cbook_set *s, uint16_t locate) {
    return s->books[locate] ? s->books[locate]->live_orders : 0;
}

int cbook_has_book(const cbook_set *s, uint16_t locate) { return s->books[locate] != NULL; }

int cbook_find_order(const cbook_set *s, uint64_t ref, cbook_order *out) {
    const cbook_order *o = order_live(s, ref);
    if (!o) return 0;
    *out = *o;
    return 1;
}

uint64_t cbook_memory_bytes(const cbook_set *s) {
    uint64_t bytes = s->pages_allocated * sizeof(cbook_page);
    for (uint32_t i = 0; i < CBOOK_MAX_LOCATES; i++) {
        const cbook_book *b = s->books[i];
        if (b) bytes += sizeof *b + (uint64_t)(b->side[0].cap + b->side[1].cap) * (4 + 8 + 4);
    }
    return bytes;
}
