// crisk: the pre-trade checks (crisk.h). Each check is one small function returning 0 or its
// negative id; crisk_check runs them in id order and commits only when every one passed.
#include "crisk.h"

#include <errno.h>
#include <string.h>

#define CRISK_NS 1000000000ull      // a token is CRISK_NS credit units; per_second tokens/s = per_second units/ns
#define CRISK_NIL (-1)

typedef struct {
    uint64_t credit;  // tokens x CRISK_NS
    uint64_t last_ns;
    uint64_t full_ns; // cap / per_second + 1: an empty bucket is full again after this long (set with the limits)
} crisk_bucket;

struct crisk_instrument {
    crisk_instrument_limits lim;
    crisk_bucket bucket;
    uint64_t bbo_ns;         // when the BBO was last set; 0 = never
    uint32_t bid, ask;       // 0 = side empty
    uint32_t last_px;        // last fill price: the mark when there is no two-sided BBO
    uint8_t state;           // CRISK_STATE_*
    uint8_t has_bbo;
    uint8_t pad[2];
    int64_t position;
    int64_t open_cost;       // what the open shares cost (short: what they were sold for), >= 0
    int64_t realised;
    int64_t unrealised;
    int64_t working[2];      // [side]: shares of working orders, counted as if filled
    uint32_t best[2];        // [buy] highest working buy (0: none), [sell] lowest working sell (UINT32_MAX: none)
    int32_t head[2];         // [side]: list of working orders, for self-cross
};

struct crisk_strategy {
    crisk_strategy_limits lim;
    crisk_bucket bucket;
    int64_t position;
    int64_t working[2];
    uint32_t recent_next;    // next slot of its duplicate ring (the oldest entry, replaced next)
    uint32_t fills_next;     // next slot of its fill-time ring
    uint32_t fills_seen;     // fills in the ring (<= max_fills)
    uint8_t disabled;
    uint8_t pad[3];
};

struct crisk_order {
    uint64_t id;             // the full client order id in this slot
    uint32_t price;          // as the venue last confirmed (or as sent)
    uint32_t cross_px;       // the price self-cross compares with: the more aggressive while a replace is pending
    uint32_t leaves;         // shares open
    uint32_t pend_qty;       // a pending replace's size; 0 = none
    uint32_t pend_px;
    uint32_t counted;        // shares this order adds to working[side] of its instrument and strategy
    uint16_t locate, strategy;
    uint8_t side, live;
    uint8_t pad[2];
    int32_t next, prev;      // its (locate, side) list
};

struct crisk_recent {
    uint64_t t_ns;
    uint32_t price, qty;     // qty 0: empty
    uint16_t locate;
    uint8_t side, pad;
    uint16_t slot;           // the index slot naming this entry, while it is its key's newest copy
    uint16_t pad2;
};

// The duplicate check's index: per strategy, an open-addressing table (linear probing) from an
// order's (locate, side, price, qty) to the ring slot of its newest copy, so a check is one
// probe sequence, not a scan of the ring. DUP_EMPTY marks a free slot.
#define DUP_EMPTY UINT16_MAX

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

// Table slots per strategy: a power of two at least twice the ring (load factor <= 1/2).
static uint32_t dup_slots(uint32_t memory) {
    uint32_t n = 2;
    while (n < 2 * memory) n <<= 1;
    return n;
}

static int config_ok(const crisk_config *c) {
    return c && c->instruments >= 1 && c->instruments <= 65536 && c->strategies >= 1 && c->strategies <= 65536
        && c->orders >= 1 && c->orders <= (1u << 24) && c->duplicate_memory >= 1 && c->duplicate_memory <= 4096
        && c->max_fills_limit <= 65536 && c->max_daily_loss >= 0;
}

size_t crisk_footprint(const crisk_config *c) {
    if (!config_ok(c)) return 0;
    return align64(sizeof(crisk_instrument) * c->instruments) + align64(sizeof(crisk_strategy) * c->strategies)
         + align64(sizeof(crisk_order) * c->orders) + align64(sizeof(crisk_recent) * c->duplicate_memory * c->strategies)
         + align64(sizeof(uint16_t) * dup_slots(c->duplicate_memory) * c->strategies)
         + align64(sizeof(uint64_t) * (size_t)(c->max_fills_limit ? c->max_fills_limit : 1) * c->strategies);
}

int crisk_init(crisk *r, const crisk_config *c, void *memory, size_t capacity) {
    size_t need = crisk_footprint(c);
    if (!r || !need || !memory || ((uintptr_t)memory & 63)) return -EINVAL;
    if (capacity < need) return -ENOSPC;
    memset(r, 0, sizeof *r);
    memset(memory, 0, need);
    r->config = *c;
    uint8_t *p = memory;
    r->instruments = (crisk_instrument *)p; p += align64(sizeof(crisk_instrument) * c->instruments);
    r->strategies = (crisk_strategy *)p;    p += align64(sizeof(crisk_strategy) * c->strategies);
    r->orders = (crisk_order *)p;           p += align64(sizeof(crisk_order) * c->orders);
    r->recent = (crisk_recent *)p;          p += align64(sizeof(crisk_recent) * c->duplicate_memory * c->strategies);
    r->recent_slots = dup_slots(c->duplicate_memory);
    r->recent_index = (uint16_t *)p;
    memset(p, 0xFF, sizeof(uint16_t) * dup_slots(c->duplicate_memory) * c->strategies); // every slot DUP_EMPTY
    p += align64(sizeof(uint16_t) * dup_slots(c->duplicate_memory) * c->strategies);
    r->fill_times = (uint64_t *)p;
    for (uint32_t i = 0; i < c->instruments; i++) {
        crisk_instrument *in = &r->instruments[i];
        in->best[OMNI_SIDE_BUY] = 0;
        in->best[OMNI_SIDE_SELL] = UINT32_MAX;
        in->head[0] = in->head[1] = CRISK_NIL;
    }
    return 0;
}

// ---- token buckets

// A full bucket for these limits; full_ns is the refill time of an empty one, computed here so
// that the checks divide nothing.
static void bucket_reset(crisk_bucket *b, uint32_t burst, uint32_t per_second) {
    b->credit = (uint64_t)burst * CRISK_NS;
    b->last_ns = 0;
    b->full_ns = per_second ? b->credit / per_second + 1 : UINT64_MAX;
}

// Credit after refilling to now (not stored). Capacity burst x NS < 2^62 (burst < 2^32), and
// below full_ns dt x per_second < cap + per_second, so the sum cannot overflow 64 bits.
static uint64_t bucket_level(const crisk_bucket *b, uint32_t burst, uint32_t per_second, uint64_t now) {
    uint64_t cap = (uint64_t)burst * CRISK_NS;
    if (now <= b->last_ns || per_second == 0) return b->credit;
    uint64_t dt = now - b->last_ns;
    if (dt >= b->full_ns) return cap;
    uint64_t c = b->credit + dt * per_second;
    return c < cap ? c : cap;
}

// Stores a level taken at `now` less one token (a cancel with no token left takes nothing).
static void bucket_spend(crisk_bucket *b, uint64_t level, uint64_t now) {
    b->credit = level >= CRISK_NS ? level - CRISK_NS : 0;
    if (now > b->last_ns) b->last_ns = now;
}

static void bucket_take(crisk_bucket *b, uint32_t burst, uint32_t per_second, uint64_t now) {
    bucket_spend(b, bucket_level(b, burst, per_second, now), now);
}

int crisk_set_instrument_limits(crisk *r, uint16_t locate, const crisk_instrument_limits *l) {
    if (locate >= r->config.instruments || !l || l->max_long < 0 || l->max_short < 0) return -EINVAL;
    crisk_instrument *in = &r->instruments[locate];
    in->lim = *l;
    bucket_reset(&in->bucket, l->rate_burst, l->rate_per_second);
    return 0;
}

int crisk_set_strategy_limits(crisk *r, uint16_t strategy, const crisk_strategy_limits *l) {
    if (strategy >= r->config.strategies || !l || l->max_long < 0 || l->max_short < 0
        || l->max_fills > r->config.max_fills_limit) return -EINVAL;
    crisk_strategy *s = &r->strategies[strategy];
    s->lim = *l;
    bucket_reset(&s->bucket, l->rate_burst, l->rate_per_second);
    s->fills_next = s->fills_seen = 0;
    return 0;
}

int crisk_set_max_daily_loss(crisk *r, int64_t max_daily_loss) {
    if (max_daily_loss < 0) return -EINVAL;
    r->config.max_daily_loss = max_daily_loss;
    return 0;
}

// ---- working orders

static void list_insert(crisk *r, crisk_instrument *in, int32_t slot) {
    crisk_order *o = &r->orders[slot];
    o->prev = CRISK_NIL;
    o->next = in->head[o->side];
    if (o->next != CRISK_NIL) r->orders[o->next].prev = slot;
    in->head[o->side] = slot;
}

static void list_remove(crisk *r, crisk_instrument *in, int32_t slot) {
    crisk_order *o = &r->orders[slot];
    if (o->prev != CRISK_NIL) r->orders[o->prev].next = o->next; else in->head[o->side] = o->next;
    if (o->next != CRISK_NIL) r->orders[o->next].prev = o->prev;
    o->next = o->prev = CRISK_NIL;
}

// Recomputes the best working price of one side of an instrument: off the check path, only
// when the best order leaves or moves away.
static void rescan_best(crisk *r, crisk_instrument *in, uint8_t side) {
    uint32_t best = side == OMNI_SIDE_BUY ? 0 : UINT32_MAX;
    for (int32_t i = in->head[side]; i != CRISK_NIL; i = r->orders[i].next) {
        uint32_t px = r->orders[i].cross_px;
        if (side == OMNI_SIDE_BUY ? px > best : px < best) best = px;
    }
    in->best[side] = best;
}

// Sets what the order counts as working (max of leaves and a pending replace's size) and its
// self-cross price, keeping the instrument's and strategy's sums and the best price right.
static void order_update(crisk *r, int32_t slot) {
    crisk_order *o = &r->orders[slot];
    crisk_instrument *in = &r->instruments[o->locate];
    crisk_strategy *s = &r->strategies[o->strategy];
    uint32_t counted = o->live ? (o->leaves > o->pend_qty ? o->leaves : o->pend_qty) : 0;
    int64_t d = (int64_t)counted - (int64_t)o->counted;
    in->working[o->side] += d;
    s->working[o->side] += d;
    o->counted = counted;
    uint32_t old_px = o->cross_px;
    uint32_t px = o->price;
    if (o->pend_qty) px = o->side == OMNI_SIDE_BUY ? (o->pend_px > px ? o->pend_px : px) : (o->pend_px < px ? o->pend_px : px);
    o->cross_px = px;
    if (!o->live || counted == 0) {
        o->live = 0;
        list_remove(r, in, slot);
        if (old_px == in->best[o->side]) rescan_best(r, in, o->side);
        return;
    }
    if (o->side == OMNI_SIDE_BUY ? px > in->best[0] : px < in->best[1]) in->best[o->side] = px;
    else if (old_px == in->best[o->side] && px != old_px) rescan_best(r, in, o->side);
}

// ---- the checks: each 0 or its negative id

static int check_trading_state(const crisk_instrument *in) {
    return in->state == CRISK_STATE_TRADING ? 0 : -CRISK_CHECK_TRADING_STATE;
}

static int check_order_qty(const crisk_instrument *in, uint32_t qty) {
    return qty <= in->lim.max_order_qty ? 0 : -CRISK_CHECK_ORDER_QTY;
}

static int check_order_value(const crisk_instrument *in, uint32_t px, uint32_t qty) {
    return (uint64_t)px * qty <= in->lim.max_order_value ? 0 : -CRISK_CHECK_ORDER_VALUE;
}

static int check_reference(const crisk *r, const crisk_instrument *in, uint8_t side, uint64_t now) {
    uint32_t ref = side == OMNI_SIDE_BUY ? in->ask : in->bid;
    uint64_t age = now > in->bbo_ns ? now - in->bbo_ns : 0;
    return in->has_bbo && ref && age <= r->config.max_bbo_age_ns ? 0 : -CRISK_CHECK_REFERENCE;
}

// Buy at most ask + ask x bps / 10000; sell at least bid - bid x bps / 10000 (the band rounded
// down: never wider than asked).
static int check_collar(const crisk_instrument *in, uint8_t side, uint32_t px) {
    if (side == OMNI_SIDE_BUY) {
        uint64_t hi = (uint64_t)in->ask + (uint64_t)in->ask * in->lim.collar_bps / 10000;
        return px <= hi ? 0 : -CRISK_CHECK_COLLAR;
    }
    uint64_t band = (uint64_t)in->bid * in->lim.collar_bps / 10000;
    int64_t lo = (int64_t)in->bid - (int64_t)band;
    return (int64_t)px >= lo ? 0 : -CRISK_CHECK_COLLAR;
}

// Our own working orders on the other side (any strategy): a buy at or above our lowest sell,
// a sell at or below our highest buy. A replaced order is on its own side, never its own counterpart.
static int check_self_cross(const crisk_instrument *in, uint8_t side, uint32_t px) {
    return side == OMNI_SIDE_BUY ? (px < in->best[OMNI_SIDE_SELL] ? 0 : -CRISK_CHECK_SELF_CROSS)
                                 : (px > in->best[OMNI_SIDE_BUY] ? 0 : -CRISK_CHECK_SELF_CROSS);
}

static uint32_t dup_hash(uint16_t locate, uint8_t side, uint32_t px, uint32_t qty, uint32_t slots) {
    uint64_t k = ((uint64_t)px << 32 | qty) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)locate << 1 | side) * 0xC2B2AE3D27D4EB4Full;
    return (uint32_t)(k >> 32) & (slots - 1); // slots is a power of two
}

static int recent_is(const crisk_recent *e, uint16_t locate, uint8_t side, uint32_t px, uint32_t qty) {
    return e->qty == qty && e->price == px && e->locate == locate && e->side == side;
}

// The index slot holding (locate, side, px, qty) in the strategy's table, or the free slot where
// its probe sequence ends (`*found` says which).
static uint32_t dup_find(const crisk *r, uint16_t strategy, uint16_t locate, uint8_t side, uint32_t px, uint32_t qty, int *found) {
    uint32_t slots = r->recent_slots;
    const uint16_t *t = &r->recent_index[(size_t)strategy * slots];
    const crisk_recent *ring = &r->recent[(size_t)strategy * r->config.duplicate_memory];
    uint32_t i = dup_hash(locate, side, px, qty, slots);
    while (t[i] != DUP_EMPTY) {
        if (recent_is(&ring[t[i]], locate, side, px, qty)) { *found = 1; return i; }
        i = (i + 1) & (slots - 1);
    }
    *found = 0;
    return i;
}

// An identical order among the strategy's last duplicate_memory new orders within the window:
// the index names the newest copy, the latest time (now never goes back).
static int check_duplicate(const crisk *r, uint16_t strategy, uint16_t locate, uint8_t side, uint32_t px, uint32_t qty,
                           uint64_t now) {
    int found;
    uint32_t i = dup_find(r, strategy, locate, side, px, qty, &found);
    if (!found) return 0;
    const crisk_recent *e = &r->recent[(size_t)strategy * r->config.duplicate_memory
                                       + r->recent_index[(size_t)strategy * r->recent_slots + i]];
    return now >= e->t_ns && now - e->t_ns < r->config.duplicate_window_ns ? -CRISK_CHECK_DUPLICATE : 0;
}

// Removes index slot i by backward shift (linear probing keeps every other key reachable); each
// entry moved keeps its ring entry's back-pointer.
static void dup_remove(crisk *r, uint16_t strategy, uint32_t i) {
    uint32_t slots = r->recent_slots;
    uint16_t *t = &r->recent_index[(size_t)strategy * slots];
    crisk_recent *ring = &r->recent[(size_t)strategy * r->config.duplicate_memory];
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & (slots - 1);
        if (t[j] == DUP_EMPTY) break;
        crisk_recent *e = &ring[t[j]];
        uint32_t home = dup_hash(e->locate, e->side, e->price, e->qty, slots);
        // t[j] may move to i when i lies cyclically in [home, j)
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t[i] = t[j];
            e->slot = (uint16_t)i;
            i = j;
        }
    }
    t[i] = DUP_EMPTY;
}

// A passed new order enters the strategy's ring in place of its oldest entry, and the index.
static void dup_remember(crisk *r, crisk_strategy *s, uint16_t strategy, uint16_t locate, uint8_t side, uint32_t px,
                         uint32_t qty, uint64_t now) {
    uint16_t *t = &r->recent_index[(size_t)strategy * r->recent_slots];
    crisk_recent *ring = &r->recent[(size_t)strategy * r->config.duplicate_memory];
    uint16_t p = (uint16_t)s->recent_next;
    crisk_recent *old = &ring[p];
    // The index forgets the evicted order when this entry is its key's newest copy.
    if (old->qty && t[old->slot] == p) dup_remove(r, strategy, old->slot);
    *old = (crisk_recent){ .t_ns = now, .price = px, .qty = qty, .locate = locate, .side = side };
    int found;
    uint32_t i = dup_find(r, strategy, locate, side, px, qty, &found);
    t[i] = p; // the newest copy now, found or new
    old->slot = (uint16_t)i;
    s->recent_next = s->recent_next + 1 == r->config.duplicate_memory ? 0 : s->recent_next + 1;
}

// Working orders count as if filled: a buy may take position + working buys to max_long, a sell
// position - working sells to -max_short. `add` is the shares the request adds to its side.
static int exposure_ok(int64_t position, const int64_t working[2], uint8_t side, int64_t add, int64_t max_long,
                       int64_t max_short) {
    if (add <= 0) return 1; // a request that adds nothing (a replace down) never raises exposure
    return side == OMNI_SIDE_BUY ? position + working[0] + add <= max_long
                                 : position - working[1] - add >= -max_short;
}


static int refuse(crisk *r, int code) {
    r->counters[-code]++;
    return code;
}

#define CHECK(expr) do { int rc_ = (expr); if (rc_) return refuse(r, rc_); } while (0)

static int check_cancel(crisk *r, const omni_event *e, uint64_t slot, uint64_t now) {
    // Passes: only its tokens are spent, from the buckets of the order it cancels.
    const crisk_order *o = &r->orders[slot];
    uint16_t locate = o->live && o->id == e->order.client_order_id ? o->locate : e->locate;
    uint16_t strategy = o->live && o->id == e->order.client_order_id ? o->strategy : e->order.strategy;
    if (locate < r->config.instruments) {
        crisk_instrument *in = &r->instruments[locate];
        bucket_take(&in->bucket, in->lim.rate_burst, in->lim.rate_per_second, now);
    }
    if (strategy < r->config.strategies) {
        crisk_strategy *s = &r->strategies[strategy];
        bucket_take(&s->bucket, s->lim.rate_burst, s->lim.rate_per_second, now);
    }
    r->counters[CRISK_PASSED]++;
    return 0;
}

int crisk_check(crisk *r, const omni_event *e, uint64_t now) {
    const omni_order *q = &e->order;
    uint64_t slot = omni_order_slot(q->client_order_id);
    int is_new = e->type == OMNI_EV_ORDER_NEW, is_replace = e->type == OMNI_EV_ORDER_REPLACE;
    if (slot >= r->config.orders || !(is_new || is_replace || e->type == OMNI_EV_ORDER_CANCEL))
        return refuse(r, -CRISK_CHECK_MALFORMED);
    if (e->type == OMNI_EV_ORDER_CANCEL) return check_cancel(r, e, slot, now);

    crisk_order *o = &r->orders[slot];
    uint16_t locate = e->locate, strategy = q->strategy;
    uint8_t side = q->side;
    if (is_replace) { // the order's own instrument, strategy and side; the request's price and size
        if (!o->live || o->id != q->client_order_id || o->pend_qty) return refuse(r, -CRISK_CHECK_MALFORMED);
        locate = o->locate; strategy = o->strategy; side = o->side;
    } else if (o->live || side > OMNI_SIDE_SELL) {
        return refuse(r, -CRISK_CHECK_MALFORMED);
    }
    if (q->price == 0 || q->qty == 0) return refuse(r, -CRISK_CHECK_MALFORMED);
    if (locate >= r->config.instruments || strategy >= r->config.strategies) return refuse(r, -CRISK_CHECK_NOT_CONFIGURED);
    crisk_instrument *in = &r->instruments[locate];
    crisk_strategy *s = &r->strategies[strategy];
    if (!in->lim.configured || !s->lim.configured) return refuse(r, -CRISK_CHECK_NOT_CONFIGURED);
    if (r->killed) return refuse(r, -CRISK_CHECK_KILL_SWITCH);
    if (r->realised + r->unrealised < -r->config.max_daily_loss) {
        crisk_kill(r, CRISK_KILL_DAILY_LOSS);
        return refuse(r, -CRISK_CHECK_DAILY_LOSS);
    }
    if (s->disabled) return refuse(r, -CRISK_CHECK_STRATEGY_DISABLED);
    CHECK(check_trading_state(in));
    CHECK(check_order_qty(in, q->qty));
    CHECK(check_order_value(in, q->price, q->qty));
    CHECK(check_reference(r, in, side, now));
    CHECK(check_collar(in, side, q->price));
    CHECK(check_self_cross(in, side, q->price));
    if (is_new) CHECK(check_duplicate(r, strategy, locate, side, q->price, q->qty, now));
    // What the request adds to its side's working shares: a new order its qty; a replace the
    // growth of max(leaves, new qty) over what the order counts now.
    int64_t add = is_new ? (int64_t)q->qty : (int64_t)(q->qty > o->leaves ? q->qty : o->leaves) - (int64_t)o->counted;
    if (!exposure_ok(in->position, in->working, side, add, in->lim.max_long, in->lim.max_short))
        return refuse(r, -CRISK_CHECK_EXPOSURE_INSTRUMENT);
    if (!exposure_ok(s->position, s->working, side, add, s->lim.max_long, s->lim.max_short))
        return refuse(r, -CRISK_CHECK_EXPOSURE_STRATEGY);
    // The rate checks: each bucket's level is taken once, checked, and spent if everything passed.
    uint64_t in_level = bucket_level(&in->bucket, in->lim.rate_burst, in->lim.rate_per_second, now);
    if (in_level < CRISK_NS) return refuse(r, -CRISK_CHECK_RATE_INSTRUMENT);
    uint64_t s_level = bucket_level(&s->bucket, s->lim.rate_burst, s->lim.rate_per_second, now);
    if (s_level < CRISK_NS) return refuse(r, -CRISK_CHECK_RATE_STRATEGY);

    // Passed: the request is taken as sent.
    bucket_spend(&in->bucket, in_level, now);
    bucket_spend(&s->bucket, s_level, now);
    if (is_new) {
        dup_remember(r, s, strategy, locate, side, q->price, q->qty, now);
        *o = (crisk_order){ .id = q->client_order_id, .price = q->price, .cross_px = q->price, .leaves = q->qty,
                            .locate = locate, .strategy = strategy, .side = side, .live = 1 };
        list_insert(r, in, (int32_t)slot);
    } else {
        o->pend_qty = q->qty;
        o->pend_px = q->price;
    }
    order_update(r, (int32_t)slot);
    r->counters[CRISK_PASSED]++;
    return 0;
}

// ---- positions and PnL (firm-wide per instrument; average cost, as OmniOrders' Position)

static int64_t unrealised_of(const crisk_instrument *in) {
    if (in->position == 0) return 0;
    uint32_t mark = in->bid && in->ask ? (uint32_t)(((uint64_t)in->bid + in->ask) / 2) : in->last_px;
    __int128 v = (__int128)(in->position < 0 ? -in->position : in->position) * mark;
    return (int64_t)(in->position > 0 ? v - in->open_cost : in->open_cost - v);
}

static void check_loss(crisk *r) {
    if (!r->killed && r->realised + r->unrealised < -r->config.max_daily_loss) crisk_kill(r, CRISK_KILL_DAILY_LOSS);
}

static void remark(crisk *r, crisk_instrument *in) {
    int64_t u = unrealised_of(in);
    r->unrealised += u - in->unrealised;
    in->unrealised = u;
    check_loss(r);
}

static void apply_fill(crisk *r, crisk_instrument *in, uint8_t side, uint32_t px, uint32_t qty) {
    int64_t q = qty, signed_q = side == OMNI_SIDE_BUY ? q : -q;
    in->last_px = px;
    if (in->position == 0 || (in->position > 0) == (signed_q > 0)) {
        in->position += signed_q;
        in->open_cost += (int64_t)px * q;
    } else {
        int64_t held = in->position < 0 ? -in->position : in->position;
        int64_t closing = q < held ? q : held;
        int64_t closed_cost = (int64_t)((__int128)in->open_cost * closing / held);
        in->open_cost -= closed_cost;
        int64_t pnl = in->position > 0 ? (int64_t)px * closing - closed_cost : closed_cost - (int64_t)px * closing;
        in->realised += pnl;
        r->realised += pnl;
        in->position += in->position > 0 ? -closing : closing;
        int64_t opening = q - closing;
        if (opening > 0) {
            in->position += signed_q > 0 ? opening : -opening;
            in->open_cost = (int64_t)px * opening;
        }
    }
    remark(r, in);
}

// Repeated executions: more than max_fills fills within fill_window_ns disables the strategy.
static void note_fill(crisk *r, uint16_t strategy, uint64_t now) {
    crisk_strategy *s = &r->strategies[strategy];
    uint32_t n = s->lim.max_fills;
    if (n == 0) { s->disabled = 1; return; }
    uint64_t *ring = &r->fill_times[(size_t)strategy * (r->config.max_fills_limit ? r->config.max_fills_limit : 1)];
    if (s->fills_seen == n && now - ring[s->fills_next] < s->lim.fill_window_ns) s->disabled = 1;
    ring[s->fills_next] = now;
    s->fills_next = s->fills_next + 1 == n ? 0 : s->fills_next + 1;
    if (s->fills_seen < n) s->fills_seen++;
}

int crisk_on_bbo(crisk *r, uint16_t locate, uint32_t bid, uint32_t ask, uint64_t now) {
    if (locate >= r->config.instruments) return -EINVAL;
    crisk_instrument *in = &r->instruments[locate];
    in->bid = bid; in->ask = ask; in->bbo_ns = now; in->has_bbo = 1;
    remark(r, in);
    return 0;
}

int crisk_on_event(crisk *r, const omni_event *e, uint64_t now) {
    if (e->type == OMNI_EV_BBO) return crisk_on_bbo(r, e->locate, e->bbo.bid_px, e->bbo.ask_px, now);
    if (e->type == OMNI_EV_FILL) {
        const omni_fill *f = &e->fill;
        uint64_t slot = omni_order_slot(f->client_order_id);
        crisk_order *o = slot < r->config.orders ? &r->orders[slot] : NULL;
        int known = o && o->live && o->id == f->client_order_id;
        uint16_t locate = known ? o->locate : e->locate, strategy = known ? o->strategy : f->strategy;
        uint8_t side = known ? o->side : f->side;
        if (locate >= r->config.instruments || strategy >= r->config.strategies || side > OMNI_SIDE_SELL) {
            r->unknown_answers++;
            return -EINVAL;
        }
        int64_t signed_q = side == OMNI_SIDE_BUY ? (int64_t)f->last_qty : -(int64_t)f->last_qty;
        r->strategies[strategy].position += signed_q;
        if (known) { // shares move from working to the position: the sums follow before the mark
            o->leaves = f->leaves_qty;
            if (o->leaves == 0) o->live = 0;
            order_update(r, (int32_t)slot);
        }
        apply_fill(r, &r->instruments[locate], side, f->last_px, f->last_qty);
        note_fill(r, strategy, now);
        if (!known) { r->unknown_answers++; return -ENOENT; }
        return 0;
    }
    if (e->type < OMNI_EV_ORDER_ACCEPTED || e->type > OMNI_EV_CANCEL_REJECTED) return -EINVAL;
    const omni_order *a = &e->order;
    uint64_t slot = omni_order_slot(a->client_order_id);
    crisk_order *o = slot < r->config.orders ? &r->orders[slot] : NULL;
    if (!o || !o->live || o->id != a->client_order_id) { r->unknown_answers++; return -ENOENT; }
    switch (e->type) {
    case OMNI_EV_ORDER_ACCEPTED: o->price = a->price ? a->price : o->price; o->leaves = a->qty; break;
    case OMNI_EV_ORDER_REJECTED: o->live = 0; break;
    case OMNI_EV_ORDER_CANCELED: o->leaves = a->qty; o->live = a->qty != 0; break;
    case OMNI_EV_ORDER_REPLACED: o->price = a->price; o->leaves = a->qty; o->pend_qty = 0; o->live = a->qty != 0; break;
    case OMNI_EV_CANCEL_REJECTED: o->pend_qty = 0; break;
    }
    order_update(r, (int32_t)slot);
    return 0;
}

int crisk_set_trading_state(crisk *r, uint16_t locate, uint8_t state) {
    if (locate >= r->config.instruments || state > CRISK_STATE_STALE) return -EINVAL;
    r->instruments[locate].state = state;
    return 0;
}

void crisk_kill(crisk *r, uint32_t reason) {
    if (!r->killed) r->kills++;
    r->killed = reason ? reason : CRISK_KILL_COMMAND;
}

void crisk_reset(crisk *r) { r->killed = CRISK_KILL_NONE; }

int crisk_enable_strategy(crisk *r, uint16_t strategy) {
    if (strategy >= r->config.strategies) return -EINVAL;
    crisk_strategy *s = &r->strategies[strategy];
    s->disabled = 0;
    s->fills_next = s->fills_seen = 0;
    return 0;
}

int crisk_strategy_disabled(const crisk *r, uint16_t strategy) {
    return strategy < r->config.strategies ? r->strategies[strategy].disabled : 1;
}

int crisk_working_orders(const crisk *r, uint64_t *ids, size_t capacity) {
    size_t n = 0;
    for (uint32_t i = 0; i < r->config.orders; i++) {
        if (!r->orders[i].live) continue;
        if (n == capacity) return -ENOSPC;
        ids[n++] = r->orders[i].id;
    }
    return (int)n;
}

int crisk_instrument_state(const crisk *r, uint16_t locate, crisk_instrument_view *out) {
    if (locate >= r->config.instruments || !out) return -EINVAL;
    const crisk_instrument *in = &r->instruments[locate];
    *out = (crisk_instrument_view){ .position = in->position, .working_buy = in->working[0], .working_sell = in->working[1],
                                    .realised = in->realised, .unrealised = in->unrealised };
    return 0;
}

int crisk_strategy_state(const crisk *r, uint16_t strategy, int64_t *position, int64_t *working_buy, int64_t *working_sell) {
    if (strategy >= r->config.strategies) return -EINVAL;
    const crisk_strategy *s = &r->strategies[strategy];
    if (position) *position = s->position;
    if (working_buy) *working_buy = s->working[0];
    if (working_sell) *working_sell = s->working[1];
    return 0;
}
