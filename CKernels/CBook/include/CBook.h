// CBook: full-depth L3 order books for every instrument of an ITCH feed.
//
// Orders: a store keyed by order reference number. ITCH refs are unique for the
// day and mostly increasing, so the store is a page table over the ref space:
// page = ref >> 12, slot = ref & 4095. Pages are taken when a ref range first
// appears and handed back to a free list when their last live order leaves; a
// day file therefore touches a small, moving window of pages and reuses them,
// with no allocation once the window's size has been reached.
//
// Memory is taken at start from CSys (NUMA-local; hugepages where reserved, else
// transparent huge pages) as configured: the books of every locate, a pool of
// order-store pages and a pool for price-level arrays. A day that outgrows a pool
// goes on from the heap, counted (pages_from_heap, level_blocks_from_heap), so a
// run can say its pools were too small without ever dropping an order.
//
// Levels: per side, price levels sorted so that the best level is the last one
// (bids by price, asks by negated price: one ascending key order for both).
// Almost all activity lands near the touch, so levels are found by scanning down
// from the best, 8 or 16 keys at a time with AVX2 / AVX-512, and inserted with a
// short memmove. Each level keeps its aggregate shares and its order count.
#ifndef CBOOK_H
#define CBOOK_H

#include <stddef.h>
#include <stdint.h>
#include "csys_mem.h"
#include "cw_itch.h"
#include "omni_event.h" // omni_bbo: each book's BBO is kept in the event ABI's own layout

#define CBOOK_MAX_LOCATES 65536
#define CBOOK_PAGE_BITS 12
#define CBOOK_PAGE_ORDERS (1u << CBOOK_PAGE_BITS)
// Refs up to 2^36 (68.7 billion) are stored; a larger ref is counted and dropped.
#define CBOOK_MAX_REF_BITS 36
// Largest price accepted: ITCH's $199,999.9900 fits, and negated keys stay in int32.
#define CBOOK_MAX_PRICE 0x7FFFFFFFu

enum { CBOOK_BID = 0, CBOOK_ASK = 1 };

typedef enum { CBOOK_SIMD_SCALAR = 0, CBOOK_SIMD_AVX2 = 1, CBOOK_SIMD_AVX512 = 2 } cbook_simd;

// One resting order: 16 bytes, the whole state kept per live order.
typedef struct {
    uint32_t price;
    uint32_t shares;
    uint16_t locate;
    uint8_t side;   // CBOOK_BID / CBOOK_ASK
    uint8_t live;
    uint32_t arrival; // feed-wide arrival stamp: lower = earlier = ahead in its level's time priority
} cbook_order;

typedef struct {
    uint64_t qty;   // aggregate shares
    uint32_t cnt;   // orders at the level
    uint32_t reserved;
} cbook_level;

typedef struct {
    int32_t *key;        // bid: price, ask: -price; ascending, best level last (kept apart for SIMD scans)
    cbook_level *level;  // level[i] belongs to key[i]
    uint32_t n, cap;
} cbook_side;

typedef struct {
    cbook_side side[2];
    omni_bbo last;        // the BBO as last reported: always equal to the book's current BBO
    uint32_t live_orders;
    uint32_t present;     // 1 once the locate has seen an order
} cbook_book;

typedef struct cbook_page {
    cbook_order o[CBOOK_PAGE_ORDERS];
    uint32_t live;
    struct cbook_page *next_free;      // free list
    struct cbook_page *next_allocated; // every page ever allocated, for teardown
} cbook_page;

// Counters of everything applied and everything refused; nothing is dropped uncounted.
typedef struct {
    uint64_t adds, executes, cancels, deletes, replaces, trades;
    uint64_t unknown_ref;      // E/C/X/D/U naming no live order (e.g. added before a mid-day slice)
    uint64_t duplicate_ref;    // A/F/U adding a ref that is already live
    uint64_t ref_out_of_range; // ref >= 2^CBOOK_MAX_REF_BITS
    uint64_t bad_price;        // price 0 or above CBOOK_MAX_PRICE (A/F/U: the order is not booked)
    uint64_t bad_shares;       // A/F/U for 0 shares (not booked)
    uint64_t bad_side;         // side byte neither 'B' nor 'S'
    uint64_t over_execution;   // executed/cancelled more shares than the order had (order removed)
    uint64_t malformed;        // handed a message whose length does not match its type
    uint64_t out_of_memory;    // orders not booked because a page or level array could not be allocated
    uint64_t filtered;         // skipped because its locate is outside the symbol filter
    uint64_t ignored;          // other message types (no book effect)
} cbook_stats;

// Level arrays come in capacities 32 << class; freed blocks of the pool wait per class.
#define CBOOK_LEVEL_CLASSES 24

// What a set takes at start. Zero pools are allowed: everything then comes from the heap.
typedef struct {
    uint32_t order_pages;  // order-store pages in the pool (CBOOK_PAGE_ORDERS orders, ~64 KiB each)
    uint64_t level_bytes;  // bytes for price-level arrays (20 bytes a level: key and level)
    int node;              // NUMA node, -1 for the calling thread's
    int hugepages;         // 1: csys_alloc_hugepages, 0: csys_alloc_on_node
} cbook_memory;

typedef struct {
    cbook_page **pages;        // page table, reserved virtual memory, committed on touch
    uint64_t page_slots;       // entries in the table
    cbook_page *free_pages;
    cbook_page *all_pages;
    uint64_t pages_allocated;  // ever allocated (memory held)
    uint64_t pages_in_use;
    uint64_t live_orders;
    uint32_t arrivals;         // last arrival stamp handed out (wraps after 2^32 adds)
    cbook_book *books;         // CBOOK_MAX_LOCATES books, indexed by locate: no pointer to chase
    uint8_t *filter;           // NULL: every locate; else 1 = keep
    cbook_simd simd;
    cbook_stats stats;
    csys_region books_mem;     // the books array
    csys_region page_pool;     // order pages handed out before any from the heap
    csys_region level_pool;    // level arrays, bump-allocated, recycled per class
    uint64_t level_pool_used;
    void *level_free[CBOOK_LEVEL_CLASSES];
    uint64_t pages_from_heap;        // order pages the pool could not give (still booked: counted)
    uint64_t level_blocks_from_heap; // level arrays the pool could not give
} cbook_set;

// NULL when memory cannot be reserved. The SIMD level is the best the CPU has,
// unless OMNI_SIMD=scalar|avx2|avx512 in the environment asks for another.
// `mem` NULL: cbook_memory_default().
cbook_set *cbook_set_create(const cbook_memory *mem);
// 64 order pages (4 MiB), 4 MiB of levels, local node, hugepages.
cbook_memory cbook_memory_default(void);
void cbook_set_destroy(cbook_set *s);
void cbook_set_simd(cbook_set *s, cbook_simd level); // clamps to what the CPU supports
cbook_simd cbook_cpu_simd(void);
const char *cbook_simd_name(cbook_simd level);

// Restricts books to the locates added with cbook_filter_add (none at first);
// order messages for other locates are counted as filtered. 0, or -ENOMEM.
int cbook_filter_enable(cbook_set *s);
int cbook_filter_add(cbook_set *s, uint16_t locate);

// Applies one ITCH message. Returns the locate whose best bid or offer changed
// (price or size) because of it, or -1 when no BBO changed.
int cbook_apply(cbook_set *s, const uint8_t *msg, uint16_t len);
// cbook_apply for a message the caller has already checked with cw_itch_valid
// (len >= 1 and len == its type's length): skips that check, does everything else.
int cbook_apply_valid(cbook_set *s, const uint8_t *msg, uint16_t len);

// Prefetch hints for a message that will be applied soon. A replay walks two
// cursors ahead of the one it applies: the far one pulls in the order slot of
// E/C/X/D/U refs (the one cache miss a ref-keyed store cannot avoid: the order
// was added at some earlier, random time), the near one pulls in the book and
// the top levels of the order's side. Both only read memory that is valid.
static inline void cbook_prefetch_far(const cbook_set *s, const uint8_t *m, uint16_t len) {
    if (!cw_itch_valid(m, len)) return; // lookahead sees unvalidated records
    uint8_t t = m[0];
    if (t == 'E' || t == 'C' || t == 'X' || t == 'D' || t == 'U') {
        uint64_t ref = cw_itch_order_ref(m);
        uint64_t pi = ref >> CBOOK_PAGE_BITS;
        if (pi < s->page_slots) {
            const cbook_page *p = s->pages[pi];
            if (p) __builtin_prefetch(&p->o[ref & (CBOOK_PAGE_ORDERS - 1)], 1, 3);
        }
    }
    __builtin_prefetch(&s->books[cw_itch_locate(m)], 0, 3);
}

static inline void cbook_prefetch_near(const cbook_set *s, const uint8_t *m, uint16_t len) {
    if (!cw_itch_valid(m, len)) return;
    const cbook_book *b = &s->books[cw_itch_locate(m)];
    if (!b->present) return;
    uint8_t t = m[0];
    int side = -1;
    if (t == 'A' || t == 'F') {
        side = cw_itch_add_side(m) == 'S' ? CBOOK_ASK : CBOOK_BID;
    } else if (t == 'E' || t == 'C' || t == 'X' || t == 'D' || t == 'U') {
        uint64_t ref = cw_itch_order_ref(m);
        uint64_t pi = ref >> CBOOK_PAGE_BITS;
        const cbook_page *p = pi < s->page_slots ? s->pages[pi] : NULL;
        if (p) side = p->o[ref & (CBOOK_PAGE_ORDERS - 1)].side;
    }
    if (side < 0) { __builtin_prefetch(b, 0, 3); return; }
    const cbook_side *sd = &b->side[side];
    if (sd->n) {
        __builtin_prefetch(sd->key + sd->n - 1, 1, 3);
        __builtin_prefetch(sd->level + sd->n - 1, 1, 3);
    }
}

// Book queries (off the hot path). A locate with no book reads as empty.
omni_bbo cbook_get_bbo(const cbook_set *s, uint16_t locate);
// The same, inline: a hot caller that may discard it pays nothing for the call.
static inline omni_bbo cbook_bbo_of(const cbook_set *s, uint16_t locate) { return s->books[locate].last; }
// Copies up to `n` levels of one side, best first; returns the number copied.
uint32_t cbook_depth(const cbook_set *s, uint16_t locate, int side, uint32_t n,
                     uint32_t *px, uint64_t *qty, uint32_t *cnt);
uint32_t cbook_level_count(const cbook_set *s, uint16_t locate, int side);
uint64_t cbook_book_orders(const cbook_set *s, uint16_t locate);
int cbook_has_book(const cbook_set *s, uint16_t locate);
// Order lookup: 1 and *out filled when `ref` is live.
int cbook_find_order(const cbook_set *s, uint64_t ref, cbook_order *out);

// Memory held for order state and levels, in bytes (for bytes-per-live-order reports).
uint64_t cbook_memory_bytes(const cbook_set *s);

#endif
