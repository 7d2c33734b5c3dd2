// libFuzzer harness for the CWire decoders and the CBook L3 kernel (Fuzz/run-fuzz.sh
// builds and runs it).
//
// Each input is read three ways:
//   (a) as a day file, by cw_scan_dayfile (from offset 0 and from an offset off the
//       record grid), its counts checked against a walk of our own;
//   (b) as a day file walked with cw_dayfile_next: every record is copied into a
//       heap block of exactly its length (so ASan flags a read past the message,
//       not only past the input), decoded with cw_itch_decode, checked field by
//       field against the ITCH 5.0 spec offsets, re-encoded where CWire has an
//       encoder, given to cbook_prefetch_far/near (on the copy, and from lookahead
//       cursors 16 and 6 records ahead over the input, as ITCHReplay.runDayFile
//       does), and applied to a cbook_set;
//   (c) as one MoldUDP64 packet: header, cursor, blocks, each block handled as in (b);
//       then the day-file records are packed with the MoldUDP64 builder into a
//       packet of a size the input picks, and read back.
//
// The cbook_set lives across inputs (the book state grows like a day's); it is
// rebuilt every FUZZ_RESET_EVERY inputs or when it holds too much memory. Next to
// it runs a shadow model: a hash of live orders and per-book, per-side totals,
// kept by a few lines of plain code. After every cbook_apply: the stats counters
// must match the model's exactly; the acted-on book is walked level by level
// (cbook_depth) and its levels must be strictly ordered, non-empty, and sum to the
// model's orders and shares; the reported BBO (cbook_get_bbo) must be the walked
// top of book, with a nonzero price and size on a non-empty side; cbook_apply's
// return value must say exactly whether that BBO changed; cbook_find_order must
// agree with the model on the message's refs (price, shares, side, locate, arrival
// stamp). A broken invariant prints the message in hex and aborts.
//
// A crash that needs book state built by earlier inputs may not replay from its
// saved input alone; FUZZ_FRESH=1 makes every input start from an empty set.
//
// Environment knobs (all optional):
//   FUZZ_NO_PREFETCH=1  skip cbook_prefetch_far/near (to fuzz past a known
//                       prefetch bug while it is open)
//   FUZZ_FRESH=1        rebuild the set before every input (reproducible runs)
//   OMNI_SIMD=...       pin CBook's level search; otherwise it is chosen per input
//                       from a hash of the input (scalar / avx2 / avx512, clamped
//                       to the CPU), so a crashing input replays on the same path.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CWire.h"
#include "CBook.h"

#define FUZZ_RESET_EVERY 10000u
#define FUZZ_MAX_PAGES 1024u       // 64 KiB each: rebuild the set past 64 MiB of order pages
#define FUZZ_MAX_ORDERS 200000u

static cbook_set *g_set;
static uint64_t g_inputs;       // inputs run in this process
static uint64_t g_set_age;      // inputs applied to the current set
static uint64_t g_msg_index;    // message within the current input (for reports)
static int g_no_prefetch, g_fresh, g_simd_pinned;
static const uint8_t *g_cur_msg; // the message being handled, for reports
static uint16_t g_cur_len = 0xFFFF;

static void fuzz_fail(const char *what, const char *file, int line) {
    fprintf(stderr,
            "\n==fuzz_itch== invariant broken: %s\n  at %s:%d (input #%llu of this process, "
            "set age %llu inputs, message #%llu of the input)\n",
            what, file, line, (unsigned long long)g_inputs, (unsigned long long)g_set_age,
            (unsigned long long)g_msg_index);
    if (g_cur_len != 0xFFFF) {
        fprintf(stderr, "  message (%u bytes):", g_cur_len);
        for (uint16_t i = 0; i < g_cur_len; i++) fprintf(stderr, " %02x", g_cur_msg[i]);
        fprintf(stderr, "\n");
    }
    abort();
}
#define CHECK(c) do { if (!(c)) fuzz_fail(#c, __FILE__, __LINE__); } while (0)

// ---------------------------------------------------------------- shadow model

typedef struct {
    uint64_t ref;
    uint32_t price, shares, arrival;
    uint16_t locate;
    uint8_t side, used;
} m_order;

typedef struct { uint64_t qty, cnt; } m_side;

static m_order *m_tab;
static size_t m_cap, m_count;
static m_side (*m_sides)[2]; // [CBOOK_MAX_LOCATES][2]
static uint32_t m_arrivals;  // arrival stamps handed out (CBook's wraps the same way)

static inline size_t m_hash(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27; x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x;
}

static m_order *m_find(uint64_t ref) {
    if (!m_cap) return NULL;
    for (size_t i = m_hash(ref) & (m_cap - 1);; i = (i + 1) & (m_cap - 1)) {
        if (!m_tab[i].used) return NULL;
        if (m_tab[i].ref == ref) return &m_tab[i];
    }
}

static void m_grow(void) {
    size_t old_cap = m_cap;
    m_order *old = m_tab;
    m_cap = old_cap ? old_cap * 2 : 1024;
    m_tab = calloc(m_cap, sizeof *m_tab);
    CHECK(m_tab != NULL);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].used) continue;
        size_t j = m_hash(old[i].ref) & (m_cap - 1);
        while (m_tab[j].used) j = (j + 1) & (m_cap - 1);
        m_tab[j] = old[i];
    }
    free(old);
}

static m_order *m_insert(uint64_t ref) {
    if ((m_count + 1) * 2 > m_cap) m_grow();
    size_t i = m_hash(ref) & (m_cap - 1);
    while (m_tab[i].used) i = (i + 1) & (m_cap - 1);
    m_tab[i] = (m_order){.ref = ref, .used = 1};
    m_count++;
    return &m_tab[i];
}

static void m_erase(m_order *o) { // linear probing: backward-shift deletion
    size_t i = (size_t)(o - m_tab);
    m_tab[i].used = 0;
    m_count--;
    for (size_t j = (i + 1) & (m_cap - 1); m_tab[j].used; j = (j + 1) & (m_cap - 1)) {
        size_t home = m_hash(m_tab[j].ref) & (m_cap - 1);
        // Move j back into the hole at i when its home is not in the cyclic range (i, j].
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            m_tab[i] = m_tab[j];
            m_tab[j].used = 0;
            i = j;
        }
    }
}

static void model_reset(void) {
    free(m_tab);
    m_tab = NULL; m_cap = 0; m_count = 0; m_arrivals = 0;
    memset(m_sides, 0, sizeof(m_side) * 2 * CBOOK_MAX_LOCATES);
}

// Mirrors of cbook_apply's documented semantics; `st` receives the expected stats.
static void model_add(cbook_stats *st, uint16_t locate, uint64_t ref, int side, uint32_t shares, uint32_t price) {
    if (price == 0 || price > CBOOK_MAX_PRICE) { st->bad_price++; return; }
    if (shares == 0) { st->bad_shares++; return; }
    if ((ref >> CBOOK_PAGE_BITS) >= (1ull << (CBOOK_MAX_REF_BITS - CBOOK_PAGE_BITS))) { st->ref_out_of_range++; return; }
    if (m_find(ref)) { st->duplicate_ref++; return; }
    m_order *o = m_insert(ref);
    o->price = price; o->shares = shares; o->locate = locate; o->side = (uint8_t)side;
    o->arrival = ++m_arrivals;
    m_side *sd = &m_sides[locate][side];
    sd->qty += shares; sd->cnt++;
}

static void model_remove(m_order *o) {
    m_side *sd = &m_sides[o->locate][o->side];
    sd->qty -= o->shares; sd->cnt--;
    m_erase(o);
}

// Applies a well-formed message to the model. Returns the locate of the book the
// message acts on (whose BBO may change), or -1 when it acts on none.
static int model_apply(cbook_stats *st, const uint8_t *m) {
    const uint8_t t = m[0];
    const uint16_t locate = cw_be16(m + 1);
    switch (t) {
    case 'A': case 'F': case 'E': case 'C': case 'X': case 'D': case 'U': break;
    case 'P': case 'Q': case 'B': st->trades++; return -1;
    default: st->ignored++; return -1;
    }
    const uint64_t ref = cw_be64(m + 11);
    switch (t) {
    case 'A': case 'F': {
        st->adds++;
        int side = m[19] == 'B' ? CBOOK_BID : m[19] == 'S' ? CBOOK_ASK : -1;
        if (side < 0) { st->bad_side++; return -1; }
        model_add(st, locate, ref, side, cw_be32(m + 20), cw_be32(m + 32));
        return locate;
    }
    case 'E': case 'C': case 'X': {
        if (t == 'X') st->cancels++; else st->executes++;
        m_order *o = m_find(ref);
        if (!o) { st->unknown_ref++; return -1; }
        int at = o->locate;
        uint32_t sh = cw_be32(m + 19);
        if (sh >= o->shares) {
            if (sh > o->shares) st->over_execution++;
            model_remove(o);
        } else {
            m_sides[o->locate][o->side].qty -= sh;
            o->shares -= sh;
        }
        return at;
    }
    case 'D': {
        st->deletes++;
        m_order *o = m_find(ref);
        if (!o) { st->unknown_ref++; return -1; }
        int at = o->locate;
        model_remove(o);
        return at;
    }
    default: { // U
        st->replaces++;
        m_order *o = m_find(ref);
        if (!o) { st->unknown_ref++; return -1; }
        uint16_t at = o->locate;
        int side = o->side;
        model_remove(o);
        model_add(st, at, cw_be64(m + 19), side, cw_be32(m + 27), cw_be32(m + 31));
        return at;
    }
    }
}

// ---------------------------------------------------------------- set lifetime

static void set_rebuild(void) {
    if (g_set) cbook_set_destroy(g_set);
    g_set = cbook_set_create();
    CHECK(g_set != NULL);
    model_reset();
    g_set_age = 0;
}

static void teardown(void) {
    cbook_set_destroy(g_set);
    g_set = NULL;
    free(m_tab); m_tab = NULL;
    free(m_sides); m_sides = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    g_no_prefetch = getenv("FUZZ_NO_PREFETCH") && atoi(getenv("FUZZ_NO_PREFETCH"));
    g_fresh = getenv("FUZZ_FRESH") && atoi(getenv("FUZZ_FRESH"));
    g_simd_pinned = getenv("OMNI_SIMD") != NULL;
    m_sides = calloc(CBOOK_MAX_LOCATES, sizeof *m_sides);
    CHECK(m_sides != NULL);
    set_rebuild();
    atexit(teardown); // runs before LeakSanitizer's exit-time check
    return 0;
}

// ---------------------------------------------------------------- book checks

static uint32_t *d_px, *d_cnt;
static uint64_t *d_qty;
static uint32_t d_cap;

static void depth_reserve(uint32_t n) {
    if (n <= d_cap) return;
    uint32_t cap = d_cap ? d_cap : 64;
    while (cap < n) cap *= 2;
    d_px = realloc(d_px, cap * sizeof *d_px);
    d_cnt = realloc(d_cnt, cap * sizeof *d_cnt);
    d_qty = realloc(d_qty, cap * sizeof *d_qty);
    CHECK(d_px && d_cnt && d_qty);
    d_cap = cap;
}

// Walks both sides of one book and compares them with the model and the reported BBO.
static void check_book(uint16_t locate) {
    const omni_bbo bbo = cbook_get_bbo(g_set, locate);
    uint64_t orders = 0;
    for (int side = 0; side < 2; side++) {
        const m_side *ms = &m_sides[locate][side];
        uint32_t n = cbook_level_count(g_set, locate, side);
        depth_reserve(n);
        uint32_t k = cbook_depth(g_set, locate, side, n, d_px, d_qty, d_cnt);
        CHECK(k == n);
        uint64_t qty = 0, cnt = 0;
        for (uint32_t i = 0; i < k; i++) {
            CHECK(d_cnt[i] >= 1);                                  // no empty level stays in the book
            CHECK(d_qty[i] >= d_cnt[i]);                           // every order on it has >= 1 share
            CHECK(d_px[i] != 0);
            CHECK(d_px[i] <= CBOOK_MAX_PRICE);
            CHECK(d_qty[i] <= (uint64_t)d_cnt[i] * UINT32_MAX);    // no level holds more than its orders can
            if (i) CHECK(side == CBOOK_BID ? d_px[i] < d_px[i - 1] : d_px[i] > d_px[i - 1]); // best first, strictly
            qty += d_qty[i];
            cnt += d_cnt[i];
        }
        CHECK(cnt == ms->cnt);   // every live order sits on exactly one level of its side
        CHECK(qty == ms->qty);   // ... with its remaining shares
        CHECK(n <= ms->cnt);
        const uint32_t bpx = side == CBOOK_BID ? bbo.bid_px : bbo.ask_px;
        const uint64_t bsz = side == CBOOK_BID ? bbo.bid_sz : bbo.ask_sz;
        if (n) {
            CHECK(bpx == d_px[0] && bsz == d_qty[0]); // the reported BBO is the book's top
            CHECK(bpx != 0 && bsz != 0);              // ... and a non-empty side shows a price and a size
        } else {
            CHECK(bpx == 0 && bsz == 0);              // an empty side reads as empty
        }
        orders += cnt;
    }
    CHECK(cbook_book_orders(g_set, locate) == orders);
    if (orders) CHECK(cbook_has_book(g_set, locate));
}

static void check_order(uint64_t ref) {
    cbook_order o;
    const m_order *mo = m_find(ref);
    int found = cbook_find_order(g_set, ref, &o);
    CHECK(found == (mo != NULL));
    if (found) {
        CHECK(o.live == 1);
        CHECK(o.price == mo->price && o.shares == mo->shares && o.locate == mo->locate && o.side == mo->side);
        CHECK(o.arrival == mo->arrival); // time priority: stamped in arrival order, a replace re-stamped
        CHECK(o.shares != 0 && o.price != 0);
    }
}

// Field by field, so that a report names the counter that went wrong.
static void check_stats(const cbook_stats *w, const cbook_stats *g) {
#define ST(f) CHECK(g->f == w->f)
    ST(adds); ST(executes); ST(cancels); ST(deletes); ST(replaces); ST(trades); ST(unknown_ref);
    ST(duplicate_ref); ST(ref_out_of_range); ST(bad_price); ST(bad_shares); ST(bad_side); ST(over_execution);
    ST(malformed); ST(filtered); ST(ignored);
#undef ST
}

static int bbo_eq(omni_bbo a, omni_bbo b) {
    return a.bid_px == b.bid_px && a.ask_px == b.ask_px && a.bid_sz == b.bid_sz && a.ask_sz == b.ask_sz;
}

// One cbook_apply, checked against the model.
static void book_step(const uint8_t *m, uint16_t len) {
    const int valid = cw_itch_valid(m, len);
    cbook_stats want = g_set->stats;
    const uint64_t live_before = g_set->live_orders;
    if (!valid) {
        want.malformed++;
        int r = cbook_apply(g_set, m, len);
        CHECK(r == -1);
        check_stats(&want, &g_set->stats);
        CHECK(g_set->live_orders == live_before);
        return;
    }
    // The book the message acts on, as the model sees it before the message.
    int acts_on = -1;
    const uint8_t t = m[0];
    if (t == 'A' || t == 'F') {
        if (m[19] == 'B' || m[19] == 'S') acts_on = cw_be16(m + 1);
    } else if (t == 'E' || t == 'C' || t == 'X' || t == 'D' || t == 'U') {
        const m_order *o = m_find(cw_be64(m + 11));
        if (o) acts_on = o->locate;
    }
    const omni_bbo before = acts_on >= 0 ? cbook_get_bbo(g_set, (uint16_t)acts_on) : (omni_bbo){0, 0, 0, 0};

    const int r = cbook_apply(g_set, m, len);
    const int model_at = model_apply(&want, m);
    CHECK(model_at == acts_on);

    check_stats(&want, &g_set->stats); // every message counted, exactly as the model says
    CHECK(g_set->live_orders == m_count);
    CHECK(g_set->arrivals == m_arrivals);
    CHECK(g_set->pages_in_use <= g_set->pages_allocated);
    if (m_count == 0) CHECK(g_set->pages_in_use == 0);
    CHECK(r >= -1 && r < CBOOK_MAX_LOCATES);
    if (acts_on >= 0) {
        check_book((uint16_t)acts_on);
        const omni_bbo after = cbook_get_bbo(g_set, (uint16_t)acts_on);
        // The return value says exactly whether this book's BBO changed.
        CHECK(bbo_eq(before, after) ? r == -1 : r == acts_on);
    } else {
        CHECK(r == -1);
    }
    if (t == 'A' || t == 'F' || t == 'E' || t == 'C' || t == 'X' || t == 'D' || t == 'U') {
        check_order(cw_be64(m + 11));
        if (t == 'U') check_order(cw_be64(m + 19));
        const uint16_t msg_locate = cw_be16(m + 1);
        if (msg_locate != acts_on) check_book(msg_locate); // an order message for another book leaves it intact
    }
}

// ---------------------------------------------------------------- decoder checks

#define CK_U(field, off, w) CHECK((uint64_t)(field) == cw_be##w(m + (off)))
#define CK_C(field, off) CHECK((uint8_t)(field) == m[off])
#define CK_S(field, off, n) CHECK(memcmp((field), m + (off), (n)) == 0)

// Each decoded field against the byte offsets of the ITCH 5.0 specification.
static void check_fields(const uint8_t *m, size_t len, const cw_itch_msg *d) {
    CHECK(d->h.type == m[0]);
    CK_U(d->h.locate, 1, 16); CK_U(d->h.tracking, 3, 16); CK_U(d->h.timestamp, 5, 48);
    CHECK(d->h.locate == cw_itch_locate(m) && d->h.tracking == cw_itch_tracking(m) &&
          d->h.timestamp == cw_itch_timestamp(m));
    CHECK(d->h.timestamp < (1ull << 48));
    switch (m[0]) {
    case 'S': CK_C(d->u.system_event.event_code, 11); break;
    case 'R': {
        const cw_itch_stock_directory *r = &d->u.directory;
        CK_S(r->stock, 11, 8); CK_C(r->market_category, 19); CK_C(r->financial_status, 20);
        CK_U(r->round_lot_size, 21, 32); CK_C(r->round_lots_only, 25); CK_C(r->issue_classification, 26);
        CK_S(r->issue_subtype, 27, 2); CK_C(r->authenticity, 29); CK_C(r->short_sale_threshold, 30);
        CK_C(r->ipo_flag, 31); CK_C(r->luld_ref_price_tier, 32); CK_C(r->etp_flag, 33);
        CK_U(r->etp_leverage_factor, 34, 32); CK_C(r->inverse_indicator, 38);
        break;
    }
    case 'H': {
        const cw_itch_trading_action *r = &d->u.trading_action;
        CK_S(r->stock, 11, 8); CK_C(r->trading_state, 19); CK_C(r->reserved, 20); CK_S(r->reason, 21, 4);
        break;
    }
    case 'Y': CK_S(d->u.reg_sho.stock, 11, 8); CK_C(d->u.reg_sho.reg_sho_action, 19); break;
    case 'L': {
        const cw_itch_mp_position *r = &d->u.mp_position;
        CK_S(r->mpid, 11, 4); CK_S(r->stock, 15, 8); CK_C(r->primary_market_maker, 23);
        CK_C(r->market_maker_mode, 24); CK_C(r->participant_state, 25);
        break;
    }
    case 'V': CK_U(d->u.mwcb_decline.level1, 11, 64); CK_U(d->u.mwcb_decline.level2, 19, 64);
              CK_U(d->u.mwcb_decline.level3, 27, 64); break;
    case 'W': CK_C(d->u.mwcb_status.breached_level, 11); break;
    case 'K': {
        const cw_itch_ipo_quoting *r = &d->u.ipo_quoting;
        CK_S(r->stock, 11, 8); CK_U(r->release_time, 19, 32); CK_C(r->release_qualifier, 23); CK_U(r->ipo_price, 24, 32);
        break;
    }
    case 'J': {
        const cw_itch_luld_collar *r = &d->u.luld_collar;
        CK_S(r->stock, 11, 8); CK_U(r->ref_price, 19, 32); CK_U(r->upper_price, 23, 32);
        CK_U(r->lower_price, 27, 32); CK_U(r->extension, 31, 32);
        break;
    }
    case 'h': CK_S(d->u.operational_halt.stock, 11, 8); CK_C(d->u.operational_halt.market_code, 19);
              CK_C(d->u.operational_halt.action, 20); break;
    case 'A': case 'F': {
        const cw_itch_add *r = &d->u.add;
        CK_U(r->ref, 11, 64); CK_C(r->side, 19); CK_U(r->shares, 20, 32); CK_S(r->stock, 24, 8); CK_U(r->price, 32, 32);
        if (m[0] == 'F') CK_S(r->attribution, 36, 4);
        else CHECK(memcmp(r->attribution, "    ", 4) == 0);
        break;
    }
    case 'E': CK_U(d->u.executed.ref, 11, 64); CK_U(d->u.executed.shares, 19, 32); CK_U(d->u.executed.match, 23, 64); break;
    case 'C': {
        const cw_itch_executed_price *r = &d->u.executed_price;
        CK_U(r->ref, 11, 64); CK_U(r->shares, 19, 32); CK_U(r->match, 23, 64); CK_C(r->printable, 31); CK_U(r->price, 32, 32);
        break;
    }
    case 'X': CK_U(d->u.cancel.ref, 11, 64); CK_U(d->u.cancel.shares, 19, 32); break;
    case 'D': CK_U(d->u.del.ref, 11, 64); break;
    case 'U': CK_U(d->u.replace.orig_ref, 11, 64); CK_U(d->u.replace.new_ref, 19, 64);
              CK_U(d->u.replace.shares, 27, 32); CK_U(d->u.replace.price, 31, 32); break;
    case 'P': {
        const cw_itch_trade *r = &d->u.trade;
        CK_U(r->ref, 11, 64); CK_C(r->side, 19); CK_U(r->shares, 20, 32); CK_S(r->stock, 24, 8);
        CK_U(r->price, 32, 32); CK_U(r->match, 36, 64);
        break;
    }
    case 'Q': {
        const cw_itch_cross_trade *r = &d->u.cross_trade;
        CK_U(r->shares, 11, 64); CK_S(r->stock, 19, 8); CK_U(r->price, 27, 32); CK_U(r->match, 31, 64); CK_C(r->cross_type, 39);
        break;
    }
    case 'B': CK_U(d->u.broken_trade.match, 11, 64); break;
    case 'I': {
        const cw_itch_noii *r = &d->u.noii;
        CK_U(r->paired_shares, 11, 64); CK_U(r->imbalance_shares, 19, 64); CK_C(r->direction, 27);
        CK_S(r->stock, 28, 8); CK_U(r->far_price, 36, 32); CK_U(r->near_price, 40, 32);
        CK_U(r->current_ref_price, 44, 32); CK_C(r->cross_type, 48); CK_C(r->price_variation, 49);
        break;
    }
    case 'N': CK_S(d->u.rpii.stock, 11, 8); CK_C(d->u.rpii.interest_flag, 19); break;
    case 'O': {
        const cw_itch_dlcr *r = &d->u.dlcr;
        CK_S(r->stock, 11, 8); CK_C(r->open_eligibility, 19); CK_U(r->min_price, 20, 32); CK_U(r->max_price, 24, 32);
        CK_U(r->near_price, 28, 32); CK_U(r->near_time, 32, 64); CK_U(r->lower_collar, 40, 32); CK_U(r->upper_collar, 44, 32);
        break;
    }
    default: CHECK(!"decoder accepted a type the spec does not have");
    }
    (void)len;
}

// Re-encodes the types CWire can write and compares with the original bytes
// (encoders write tracking number 0, and P's order ref 0).
static void check_roundtrip(const uint8_t *m, size_t len, const cw_itch_msg *d) {
    uint8_t want[CW_ITCH_MAX_LEN], got[CW_ITCH_MAX_LEN];
    memcpy(want, m, len);
    want[3] = want[4] = 0;
    size_t n;
    switch (m[0]) {
    case 'S': want[1] = want[2] = 0; n = cw_itch_put_system_event(got, sizeof got, d->h.timestamp, d->u.system_event.event_code); break;
    case 'A': n = cw_itch_put_add(got, sizeof got, d->h.locate, d->h.timestamp, d->u.add.ref, d->u.add.side, d->u.add.shares,
                                  d->u.add.stock, d->u.add.price); break;
    case 'F': n = cw_itch_put_add_mpid(got, sizeof got, d->h.locate, d->h.timestamp, d->u.add.ref, d->u.add.side, d->u.add.shares,
                                       d->u.add.stock, d->u.add.price, d->u.add.attribution); break;
    case 'E': n = cw_itch_put_executed(got, sizeof got, d->h.locate, d->h.timestamp, d->u.executed.ref, d->u.executed.shares,
                                       d->u.executed.match); break;
    case 'C': n = cw_itch_put_executed_price(got, sizeof got, d->h.locate, d->h.timestamp, d->u.executed_price.ref,
                                             d->u.executed_price.shares, d->u.executed_price.match,
                                             d->u.executed_price.printable, d->u.executed_price.price); break;
    case 'X': n = cw_itch_put_cancel(got, sizeof got, d->h.locate, d->h.timestamp, d->u.cancel.ref, d->u.cancel.shares); break;
    case 'D': n = cw_itch_put_delete(got, sizeof got, d->h.locate, d->h.timestamp, d->u.del.ref); break;
    case 'U': n = cw_itch_put_replace(got, sizeof got, d->h.locate, d->h.timestamp, d->u.replace.orig_ref, d->u.replace.new_ref,
                                      d->u.replace.shares, d->u.replace.price); break;
    case 'P': memset(want + 11, 0, 8);
              n = cw_itch_put_trade(got, sizeof got, d->h.locate, d->h.timestamp, d->u.trade.side, d->u.trade.shares,
                                    d->u.trade.stock, d->u.trade.price, d->u.trade.match); break;
    default: return;
    }
    CHECK(n == len);
    CHECK(cw_itch_valid(got, n));
    CHECK(memcmp(want, got, n) == 0);
}

static void check_decode(const uint8_t *m, uint16_t len) {
    cw_itch_msg d;
    memset(&d, 0xA5, sizeof d);
    const cw_itch_status st = cw_itch_decode(m, len, &d);
    const int valid = cw_itch_valid(m, len);
    CHECK((st == CW_ITCH_OK) == (valid != 0)); // decode succeeds iff the validator accepts
    if (len == 0) { CHECK(st == CW_ITCH_EMPTY); return; }
    const uint8_t expect = cw_itch_expected_len(m[0]);
    const char *name = cw_itch_type_name(m[0]);
    CHECK(name != NULL);
    CHECK((strcmp(name, "?") == 0) == (expect == 0)); // a name for exactly the known types
    if (expect == 0) { CHECK(st == CW_ITCH_UNKNOWN_TYPE); return; }
    CHECK(expect >= CW_ITCH_HEADER_LEN && expect <= CW_ITCH_MAX_LEN);
    if (len != expect) { CHECK(st == CW_ITCH_BAD_LENGTH); return; }
    CHECK(st == CW_ITCH_OK);
    check_fields(m, len, &d);
    check_roundtrip(m, len, &d);
}

// Everything done with one framed message. The message is first copied into a
// heap block of exactly `len` bytes, so ASan flags any read past its end.
static void handle_message(const uint8_t *msg, uint16_t len) {
    uint8_t *m = malloc(len); // len 0: a zero-size block, touching m[0] is an overflow
    CHECK(m != NULL || len == 0);
    if (len) memcpy(m, msg, len);
    g_cur_msg = m;
    g_cur_len = len;
    check_decode(m, len);
    if (!g_no_prefetch) {
        cbook_prefetch_far(g_set, m, len);
        cbook_prefetch_near(g_set, m, len);
    }
    book_step(m, len);
    g_cur_msg = NULL;
    g_cur_len = 0xFFFF;
    free(m);
    g_msg_index++;
}

// ---------------------------------------------------------------- framings

// The framing walk, record by record, with the replay's lookahead prefetch cursors
// (16 and 6 records ahead) run over the original buffer as ITCHReplay.runDayFile does.
typedef struct { uint64_t recs, valid, malformed, by_type[256]; size_t end; int truncated; } walk_stats;

static void lookahead(const uint8_t *buf, size_t size, size_t *off, int far) {
    const uint8_t *m;
    uint16_t len;
    if (cw_dayfile_next(buf, size, off, &m, &len) == CW_FRAME_MSG && !g_no_prefetch) {
        if (far) cbook_prefetch_far(g_set, m, len); else cbook_prefetch_near(g_set, m, len);
    }
}

static void walk_dayfile(const uint8_t *buf, size_t size, size_t start, walk_stats *w, int apply) {
    memset(w, 0, sizeof *w);
    size_t off = start, far = start, near = start;
    if (apply) {
        for (int i = 0; i < 16; i++) lookahead(buf, size, &far, 1);
        for (int i = 0; i < 6; i++) lookahead(buf, size, &near, 0);
    }
    for (;;) {
        const uint8_t *m = NULL;
        uint16_t len = 0xFFFF;
        const size_t prev = off;
        const cw_frame_result r = cw_dayfile_next(buf, size, &off, &m, &len);
        if (r == CW_FRAME_END) {
            CHECK(prev == size && off == size);
            w->end = off;
            return;
        }
        if (r == CW_FRAME_TRUNCATED) {
            CHECK(off == prev && prev < size); // the cursor stays on the broken record
            CHECK(size - prev < 2 || cw_be16(buf + prev) > size - prev - 2);
            w->end = off;
            w->truncated = 1;
            return;
        }
        CHECK(r == CW_FRAME_MSG);
        CHECK(prev + 2 <= size);
        CHECK(len == cw_be16(buf + prev));
        CHECK(m == buf + prev + 2);
        CHECK((size_t)(m - buf) + len <= size); // the message lies inside the input
        CHECK(off == prev + 2 + (size_t)len);
        w->recs++;
        if (cw_itch_valid(m, len)) { w->valid++; w->by_type[m[0]]++; } else w->malformed++;
        if (apply) {
            lookahead(buf, size, &far, 1);
            lookahead(buf, size, &near, 0);
            handle_message(m, len);
        }
    }
}

static void check_scan(const uint8_t *buf, size_t size, size_t start, const walk_stats *w) {
    cw_scan_stats s;
    cw_scan_stats_reset(&s);
    CHECK(s.truncated_at == UINT64_MAX && s.messages == 0 && s.malformed == 0);
    const size_t end = cw_scan_dayfile(buf, size, start, &s);
    CHECK(end == w->end && end <= size);
    CHECK(s.messages == w->valid && s.malformed == w->malformed);
    CHECK(s.truncated_at == (w->truncated ? (uint64_t)w->end : UINT64_MAX));
    uint64_t total = 0;
    for (int t = 0; t < 256; t++) { CHECK(s.by_type[t] == w->by_type[t]); total += s.by_type[t]; }
    CHECK(total == s.messages);
}

static void mold_packet(const uint8_t *pkt, size_t size, int apply, uint64_t *blocks_out) {
    cw_mold_header h;
    memset(&h, 0x5A, sizeof h);
    const int pr = cw_mold_parse_header(pkt, size, &h);
    CHECK((pr == 0) == (size >= CW_MOLD_HEADER_LEN));
    *blocks_out = 0;
    if (pr != 0) return;
    CHECK(memcmp(h.session, pkt, CW_MOLD_SESSION_LEN) == 0);
    CHECK(h.sequence == cw_be64(pkt + 10) && h.count == cw_be16(pkt + 18));
    cw_mold_cursor c;
    cw_mold_cursor_init(&c, pkt, size, &h);
    const uint32_t promised = h.count == CW_MOLD_END_OF_SESSION ? 0u : h.count;
    CHECK(c.off == CW_MOLD_HEADER_LEN && c.remaining == promised && c.pkt == pkt && c.size == size);
    uint64_t blocks = 0;
    for (;;) {
        const uint8_t *m = NULL;
        uint16_t len = 0xFFFF;
        const size_t prev = c.off;
        const cw_frame_result r = cw_mold_next(&c, &m, &len);
        if (r == CW_FRAME_END) {
            CHECK(blocks == promised && c.remaining == 0);
            break;
        }
        if (r == CW_FRAME_TRUNCATED) {
            CHECK(blocks < promised && c.off == prev && prev <= size);
            CHECK(prev == size || size - prev < 2 || cw_be16(pkt + prev) > size - prev - 2);
            break;
        }
        CHECK(r == CW_FRAME_MSG);
        CHECK(prev + 2 <= size && m == pkt + prev + 2 && len == cw_be16(pkt + prev));
        CHECK(m >= pkt + CW_MOLD_HEADER_LEN + 2 && (size_t)(m - pkt) + len <= size); // inside the packet
        CHECK(c.off == prev + 2 + (size_t)len);
        blocks++;
        CHECK(c.remaining == promised - blocks);
        if (apply) handle_message(m, len);
    }
    *blocks_out = blocks;
}

// Packs the input's day-file messages into a MoldUDP64 packet of a capacity the
// input picks, then reads it back: same messages, same order, nothing past `cap`.
static void mold_roundtrip(const uint8_t *buf, size_t size) {
    const size_t cap = CW_MOLD_HEADER_LEN + (size ? (size_t)(buf[size - 1] * 7 + size) % 1481 : 0);
    uint8_t *pkt = malloc(cap);
    CHECK(pkt != NULL);
    uint8_t session[CW_MOLD_SESSION_LEN] = {'F', 'U', 'Z', 'Z', 'S', 'E', 'S', 'S', '0', '1'};
    if (size >= CW_MOLD_SESSION_LEN) memcpy(session, buf, CW_MOLD_SESSION_LEN);
    const uint64_t seq = size >= 8 ? cw_be64(buf) : 1;
    cw_mold_builder b;
    cw_mold_begin(&b, pkt, cap, session, seq);
    CHECK(b.len == CW_MOLD_HEADER_LEN && b.count == 0);
    size_t off = 0, appended_end = 0;
    uint16_t appended = 0;
    const uint8_t *m;
    uint16_t len;
    while (cw_dayfile_next(buf, size, &off, &m, &len) == CW_FRAME_MSG) {
        const size_t before = b.len;
        const int fits = cap - b.len >= (size_t)len + 2 && b.count < CW_MOLD_END_OF_SESSION - 1;
        const int rc = cw_mold_append(&b, m, len);
        CHECK(rc == (fits ? 0 : -1));
        if (rc != 0) { CHECK(b.len == before && b.count == appended); break; }
        appended++;
        appended_end = off;
        CHECK(b.len == before + 2 + len && b.count == appended && b.len <= cap);
    }
    cw_mold_header h;
    CHECK(cw_mold_parse_header(pkt, b.len, &h) == 0);
    CHECK(memcmp(h.session, session, CW_MOLD_SESSION_LEN) == 0 && h.sequence == seq && h.count == appended);
    cw_mold_cursor c;
    cw_mold_cursor_init(&c, pkt, b.len, &h);
    size_t roff = 0;
    for (uint16_t i = 0; i < appended; i++) {
        const uint8_t *pm, *dm;
        uint16_t plen, dlen;
        CHECK(cw_mold_next(&c, &pm, &plen) == CW_FRAME_MSG);
        CHECK(cw_dayfile_next(buf, size, &roff, &dm, &dlen) == CW_FRAME_MSG);
        CHECK(plen == dlen && memcmp(pm, dm, plen) == 0);
    }
    CHECK(roff == appended_end);
    CHECK(cw_mold_next(&c, &m, &len) == CW_FRAME_END);
    CHECK(c.off == b.len); // the blocks fill the packet exactly

    cw_mold_mark_end_of_session(&b);
    CHECK(b.len == CW_MOLD_HEADER_LEN && b.count == 0);
    CHECK(cw_mold_parse_header(pkt, b.len, &h) == 0 && h.count == CW_MOLD_END_OF_SESSION);
    cw_mold_cursor_init(&c, pkt, b.len, &h);
    CHECK(c.remaining == 0 && cw_mold_next(&c, &m, &len) == CW_FRAME_END);
    free(pkt);
}

// ---------------------------------------------------------------- entry point

static void maybe_rebuild(void) {
    if (g_fresh || (g_set_age && g_set_age % FUZZ_RESET_EVERY == 0) || g_set->pages_allocated > FUZZ_MAX_PAGES ||
        m_count > FUZZ_MAX_ORDERS) {
        set_rebuild();
        return;
    }
    // Page accounting: every page ever allocated is either in use or on the free list.
    uint64_t free_pages = 0;
    for (const cbook_page *p = g_set->free_pages; p; p = p->next_free) {
        CHECK(p->live == 0);
        if (++free_pages > g_set->pages_allocated) break;
    }
    CHECK(free_pages + g_set->pages_in_use == g_set->pages_allocated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    maybe_rebuild();
    g_inputs++;
    g_set_age++;
    g_msg_index = 0;
    if (!g_simd_pinned) {
        uint32_t hsh = 2166136261u; // FNV-1a: the same input always takes the same search path
        for (size_t i = 0; i < size; i++) hsh = (hsh ^ data[i]) * 16777619u;
        cbook_set_simd(g_set, (cbook_simd)(hsh % 3));
    }

    // (a) + (b): the input as a day file.
    walk_stats w;
    walk_dayfile(data, size, 0, &w, 1);
    check_scan(data, size, 0, &w);
    const size_t mid = size ? (size_t)data[0] * 131 % (size + 1) : 0; // a walk that starts off the record grid
    walk_dayfile(data, size, mid, &w, 0);
    check_scan(data, size, mid, &w);

    // (c): the input as one MoldUDP64 packet, then the MoldUDP64 builder.
    uint64_t blocks;
    mold_packet(data, size, 1, &blocks);
    mold_roundtrip(data, size);
    return 0;
}
