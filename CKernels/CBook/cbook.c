#define _GNU_SOURCE // MAP_ANONYMOUS, MAP_NORESERVE under -std=c11
#include "CBook.h"
#include "CWire.h"

#include <errno.h>
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

cbook_memory cbook_memory_default(void) {
    return (cbook_memory){.order_pages = 64, .level_bytes = 4u << 20, .node = -1, .hugepages = 1};
}

static int region_take(csys_region *r, size_t bytes, const cbook_memory *m) {
    int rc = m->hugepages ? csys_alloc_hugepages(r, bytes, m->node) : csys_alloc_on_node(r, bytes, m->node);
    if (rc != 0 && m->node >= 0) rc = m->hugepages ? csys_alloc_hugepages(r, bytes, -1) : csys_alloc_on_node(r, bytes, -1);
    return rc;
}

cbook_set *cbook_set_create(const cbook_memory *mem) {
    cbook_memory m = mem ? *mem : cbook_memory_default();
    cbook_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    // Reserved, not committed: the kernel backs only the table pages that refs touch.
    void *table = mmap(NULL, PAGE_TABLE_SLOTS * sizeof(cbook_page *), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (table == MAP_FAILED) { free(s); return NULL; }
    s->pages = table;
    s->page_slots = PAGE_TABLE_SLOTS;
    if (region_take(&s->books_mem, CBOOK_MAX_LOCATES * sizeof *s->books, &m) != 0) { cbook_set_destroy(s); return NULL; }
    s->books = s->books_mem.base; // zeroed by CSys
    if (m.order_pages) {
        if (region_take(&s->page_pool, (size_t)m.order_pages * sizeof(cbook_page), &m) != 0) { cbook_set_destroy(s); return NULL; }
        cbook_page *pool = s->page_pool.base; // zeroed: every slot dead, as a free page must be
        for (uint32_t i = m.order_pages; i-- > 0;) { pool[i].next_free = s->free_pages; s->free_pages = &pool[i]; }
        s->pages_allocated = m.order_pages;
    }
    if (m.level_bytes && region_take(&s->level_pool, m.level_bytes, &m) != 0) { cbook_set_destroy(s); return NULL; }
    s->simd = cbook_cpu_simd();
    const char *want = getenv("OMNI_SIMD");
    if (want) {
        if (!strcmp(want, "scalar")) cbook_set_simd(s, CBOOK_SIMD_SCALAR);
        else if (!strcmp(want, "avx2")) cbook_set_simd(s, CBOOK_SIMD_AVX2);
        else if (!strcmp(want, "avx512")) cbook_set_simd(s, CBOOK_SIMD_AVX512);
    }
    return s;
}

static int in_region(const csys_region *r, const void *p) {
    return r->base && (const uint8_t *)p >= (const uint8_t *)r->base && (const uint8_t *)p < (const uint8_t *)r->base + r->size;
}

void cbook_set_destroy(cbook_set *s) {
    if (!s) return;
    for (cbook_page *p = s->all_pages; p;) { cbook_page *next = p->next_allocated; free(p); p = next; } // heap pages only
    munmap(s->pages, s->page_slots * sizeof(cbook_page *));
    if (s->books)
        for (uint32_t i = 0; i < CBOOK_MAX_LOCATES; i++)
            for (int side = 0; side < 2; side++)
                if (!in_region(&s->level_pool, s->books[i].side[side].key)) free(s->books[i].side[side].key);
    csys_region_free(&s->books_mem);
    csys_region_free(&s->page_pool);
    csys_region_free(&s->level_pool);
    free(s->filter);
    free(s);
}

int cbook_filter_enable(cbook_set *s) {
    if (!s->filter && !(s->filter = calloc(CBOOK_MAX_LOCATES, 1))) return -ENOMEM;
    return 0;
}

int cbook_filter_add(cbook_set *s, uint16_t locate) {
    int rc = cbook_filter_enable(s);
    if (rc != 0) return rc;
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
            if (!(p = calloc(1, sizeof *p))) { s->stats.out_of_memory++; return NULL; }
            p->next_allocated = s->all_pages;
            s->all_pages = p;
            s->pages_allocated++;
            s->pages_from_heap++;
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

// One block per side holds both arrays: `cap` keys, then `cap` levels (cap >= 32, so the
// levels start 16-byte aligned). Capacity class c holds 32 << c levels.
static size_t level_block_bytes(uint32_t cap) { return (size_t)cap * (sizeof(int32_t) + sizeof(cbook_level)); }

static void *level_block_take(cbook_set *s, uint32_t cls) {
    size_t bytes = level_block_bytes(LEVELS_INITIAL << cls);
    void *b = s->level_free[cls];
    if (b) { s->level_free[cls] = *(void **)b; return b; }
    if (s->level_pool.base && s->level_pool.size - s->level_pool_used >= bytes) {
        b = (uint8_t *)s->level_pool.base + s->level_pool_used;
        s->level_pool_used += bytes;
        return b;
    }
    if ((b = malloc(bytes))) s->level_blocks_from_heap++;
    return b;
}

static void level_block_give(cbook_set *s, void *b, uint32_t cls) {
    if (!in_region(&s->level_pool, b)) { free(b); return; }
    *(void **)b = s->level_free[cls];
    s->level_free[cls] = b;
}

static int side_grow(cbook_set *s, cbook_side *sd) {
    uint32_t cls = sd->cap ? (uint32_t)__builtin_ctz(sd->cap / LEVELS_INITIAL) + 1 : 0;
    if (cls >= CBOOK_LEVEL_CLASSES) return -ENOMEM;
    uint32_t cap = LEVELS_INITIAL << cls;
    uint8_t *b = level_block_take(s, cls);
    if (!b) return -ENOMEM;
    int32_t *key = (int32_t *)b;
    cbook_level *level = (cbook_level *)(b + (size_t)cap * sizeof(int32_t));
    if (sd->cap) {
        memcpy(key, sd->key, sd->n * sizeof *key);
        memcpy(level, sd->level, sd->n * sizeof *level);
        level_block_give(s, sd->key, cls - 1);
    }
    sd->key = key;
    sd->level = level;
    sd->cap = cap;
    return 0;
}

// Adds shares to the level at `key`, creating it if needed. Returns 1 when the
// best level changed, 0 when not, -1 when out of memory.
static inline int level_add(cbook_set *s, cbook_side *sd, int32_t key, uint32_t shares) {
    int32_t j = side_find(s, sd, key);
    if (j >= 0 && sd->key[j] == key) {
        sd->level[j].qty += shares;
        sd->level[j].cnt++;
        return (uint32_t)j == sd->n - 1;
    }
    if (sd->n == sd->cap && side_grow(s, sd) != 0) return -1;
    uint32_t at = (uint32_t)(j + 1), tail = sd->n - at;
    if (tail) {
        memmove(sd->key + at + 1, sd->key + at, tail * sizeof *sd->key);
        memmove(sd->level + at + 1, sd->level + at, tail * sizeof *sd->level);
    }
    sd->key[at] = key;
    sd->level[at] = (cbook_level){.qty = shares, .cnt = 1};
    sd->n++;
    return at == sd->n - 1;
}

// Takes `shares` off the level at `key`; `leaves` = 1 when the order leaves the level.
// Returns 1 when the best level changed.
static inline int level_reduce(const cbook_set *s, cbook_side *sd, int32_t key, uint32_t shares, int leaves) {
    int32_t j = side_find(s, sd, key);
    // Every live order's level exists: the store and the levels change together.
    if (j < 0 || sd->key[j] != key) return 0;
    int top = (uint32_t)j == sd->n - 1;
    sd->level[j].qty -= shares;
    sd->level[j].cnt -= (uint32_t)leaves;
    if (sd->level[j].cnt == 0) {
        uint32_t tail = sd->n - (uint32_t)j - 1;
        if (tail) {
            memmove(sd->key + j, sd->key + j + 1, tail * sizeof *sd->key);
            memmove(sd->level + j, sd->level + j + 1, tail * sizeof *sd->level);
        }
        sd->n--;
    }
    return top;
}

static inline int32_t level_key(int side, uint32_t price) { return side == CBOOK_BID ? (int32_t)price : -(int32_t)price; }

// After the best level of `side` changed: returns `locate` when its price or size
// differs from the BBO last reported for the book, else -1. Only that side is read.
static inline int bbo_side_changed(cbook_book *b, int side, uint16_t locate) {
    const cbook_side *sd = &b->side[side];
    uint32_t px = 0;
    uint64_t sz = 0;
    if (sd->n) {
        px = side == CBOOK_BID ? (uint32_t)sd->key[sd->n - 1] : (uint32_t)(-sd->key[sd->n - 1]);
        sz = sd->level[sd->n - 1].qty;
    }
    uint32_t *last_px = side == CBOOK_BID ? &b->last.bid_px : &b->last.ask_px;
    uint64_t *last_sz = side == CBOOK_BID ? &b->last.bid_sz : &b->last.ask_sz;
    if (px == *last_px && sz == *last_sz) return -1;
    *last_px = px;
    *last_sz = sz;
    return locate;
}

static inline cbook_book *book_for(cbook_set *s, uint16_t locate) {
    cbook_book *b = &s->books[locate];
    b->present = 1;
    return b;
}

// ---- Message application.

// Adds an order. Returns 1 when the best level of its side changed, 0 when not,
// -1 when refused (already counted).
static inline int order_add(cbook_set *s, cbook_book *b, uint16_t locate, uint64_t ref, int side, uint32_t shares, uint32_t price) {
    if (price == 0 || price > CBOOK_MAX_PRICE) { s->stats.bad_price++; return -1; }
    if (shares == 0) { s->stats.bad_shares++; return -1; }
    cbook_order *o = order_claim(s, ref);
    if (!o) return -1;
    int top = level_add(s, &b->side[side], level_key(side, price), shares);
    if (top < 0) { s->stats.out_of_memory++; order_release(s, ref, o); return -1; }
    o->price = price;
    o->shares = shares;
    o->locate = locate;
    o->side = (uint8_t)side;
    o->live = 1;
    o->arrival = ++s->arrivals; // a replace comes through here too: it goes to the back of its level
    b->live_orders++;
    return top;
}

// Removes an order; returns 1 when the best level of its side changed.
static inline int order_remove(cbook_set *s, cbook_book *b, uint64_t ref, cbook_order *o) {
    int top = level_reduce(s, &b->side[o->side], level_key(o->side, o->price), o->shares, 1);
    b->live_orders--;
    order_release(s, ref, o);
    return top;
}

// E, C and X: take shares off an order; an order left with none leaves the book.
static inline int order_reduce(cbook_set *s, uint64_t ref, uint32_t shares) {
    cbook_order *o = order_live(s, ref);
    if (!o) { s->stats.unknown_ref++; return -1; }
    const uint16_t locate = o->locate;
    const int side = o->side;
    cbook_book *b = &s->books[locate];
    int top;
    if (shares >= o->shares) {
        if (shares > o->shares) s->stats.over_execution++;
        top = order_remove(s, b, ref, o);
    } else {
        top = level_reduce(s, &b->side[side], level_key(side, o->price), shares, 0);
        o->shares -= shares;
    }
    return top ? bbo_side_changed(b, side, locate) : -1;
}

int cbook_apply(cbook_set *s, const uint8_t *m, uint16_t len) {
    if (!cw_itch_valid(m, len)) { s->stats.malformed++; return -1; }
    return cbook_apply_valid(s, m, len);
}

int cbook_apply_valid(cbook_set *s, const uint8_t *m, uint16_t len) {
    (void)len; // the field offsets below are in bounds for a message of its type's length
    const uint8_t t = m[0];
    const uint16_t locate = cw_itch_locate(m);
    switch (t) {
    case 'A': case 'F': case 'E': case 'C': case 'X': case 'D': case 'U': break;
    case 'P': case 'Q': case 'B': s->stats.trades++; return -1;
    default: s->stats.ignored++; return -1;
    }
    if (s->filter && !s->filter[locate]) { s->stats.filtered++; return -1; }
    const uint64_t ref = cw_itch_order_ref(m); // the original ref for U
    switch (t) {
    case 'A': case 'F': {
        s->stats.adds++;
        const uint8_t sb = cw_itch_add_side(m);
        int side = sb == 'B' ? CBOOK_BID : sb == 'S' ? CBOOK_ASK : -1;
        if (side < 0) { s->stats.bad_side++; return -1; }
        cbook_book *b = book_for(s, locate);
        return order_add(s, b, locate, ref, side, cw_itch_add_shares(m), cw_itch_add_price(m)) == 1 ? bbo_side_changed(b, side, locate) : -1;
    }
    case 'E': s->stats.executes++; return order_reduce(s, ref, cw_itch_executed_shares(m));
    case 'C': s->stats.executes++; return order_reduce(s, ref, cw_itch_executed_shares(m)); // C's price is the print, not the order's
    case 'X': s->stats.cancels++; return order_reduce(s, ref, cw_itch_cancel_shares(m));
    case 'D': {
        s->stats.deletes++;
        cbook_order *o = order_live(s, ref);
        if (!o) { s->stats.unknown_ref++; return -1; }
        const uint16_t at = o->locate;
        const int side = o->side;
        cbook_book *b = &s->books[at];
        return order_remove(s, b, ref, o) ? bbo_side_changed(b, side, at) : -1;
    }
    default: { // 'U': the new order keeps side and instrument, takes a new ref and loses time priority
        s->stats.replaces++;
        cbook_order *o = order_live(s, ref);
        if (!o) { s->stats.unknown_ref++; return -1; }
        const uint16_t at = o->locate;
        const int side = o->side;
        cbook_book *b = &s->books[at];
        int top = order_remove(s, b, ref, o);
        top |= order_add(s, b, at, cw_itch_replace_new_ref(m), side, cw_itch_replace_shares(m), cw_itch_replace_price(m)) == 1;
        // The old and the new order may both sit at the best level: compare once, after both.
        return top ? bbo_side_changed(b, side, at) : -1;
    }
    }
}

// ---- Queries.

omni_bbo cbook_get_bbo(const cbook_set *s, uint16_t locate) { return s->books[locate].last; }

uint32_t cbook_depth(const cbook_set *s, uint16_t locate, int side, uint32_t n, uint32_t *px, uint64_t *qty, uint32_t *cnt) {
    if (side < 0 || side > 1) return 0;
    const cbook_side *sd = &s->books[locate].side[side];
    uint32_t k = n < sd->n ? n : sd->n;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t j = sd->n - 1 - i;
        px[i] = side == CBOOK_BID ? (uint32_t)sd->key[j] : (uint32_t)(-sd->key[j]);
        qty[i] = sd->level[j].qty;
        cnt[i] = sd->level[j].cnt;
    }
    return k;
}

uint32_t cbook_level_count(const cbook_set *s, uint16_t locate, int side) {
    return (side >= 0 && side <= 1) ? s->books[locate].side[side].n : 0;
}

uint64_t cbook_book_orders(const cbook_set *s, uint16_t locate) { return s->books[locate].live_orders; }

int cbook_has_book(const cbook_set *s, uint16_t locate) { return (int)s->books[locate].present; }

int cbook_find_order(const cbook_set *s, uint64_t ref, cbook_order *out) {
    const cbook_order *o = order_live(s, ref);
    if (!o) return 0;
    *out = *o;
    return 1;
}

uint64_t cbook_memory_bytes(const cbook_set *s) {
    uint64_t bytes = s->books_mem.size + s->page_pool.size + s->level_pool.size + s->pages_from_heap * sizeof(cbook_page);
    for (uint32_t i = 0; i < CBOOK_MAX_LOCATES; i++)
        for (int side = 0; side < 2; side++) {
            const cbook_side *sd = &s->books[i].side[side];
            if (sd->cap && !in_region(&s->level_pool, sd->key)) bytes += level_block_bytes(sd->cap);
        }
    return bytes;
}
