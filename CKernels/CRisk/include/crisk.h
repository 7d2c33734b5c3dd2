// crisk: fail-closed pre-trade checks over CEvent order requests (omni_event.h, ABI v2).
//
// One crisk holds every limit and the state the checks read: the live BBO per instrument,
// its trading state, our working orders (indexed by the slot in the low 24 bits of our
// client order ids), positions and PnL, token buckets, recent new orders, recent fills.
// All of it lives in one block the caller gives crisk_init, sized by crisk_footprint from
// the configuration; nothing allocates after that. Integer only: prices in ITCH units
// (1/10000 $), money in ITCH units x shares, time in nanoseconds.
//
// Fail closed:
//   - an instrument or strategy whose limits were never set refuses every order for it;
//   - a missing or stale BBO refuses (a buy needs an ask, a sell a bid);
//   - a zero limit is a limit: max_order_qty 0 refuses every order, max_daily_loss 0 kills on
//     the first loss;
//   - the kill switch refuses everything but cancels until crisk_reset.
//
// crisk_check runs the checks in the order of the CRISK_CHECK_* ids below and stops at the
// first refusal, which it counts under its id and returns negated. A request that passes is
// taken as sent: its tokens are spent, a new order is counted as working (exposure, self-cross)
// and remembered (duplicates). A refusal changes nothing but its counter.
//
// Cancels pass every check but MALFORMED: SEC 15c3-5 and RTS 6 want a firm always able to
// withdraw orders, and a cancel only ever lowers risk. A cancel still spends a token when its
// buckets have one (the venue counts it as a message, and it delays later new orders), but an
// empty bucket never holds it back.
//
// Replaces are checked like new orders on their new price and size (quantity, value, collar,
// self-cross, exposure, rate), not for duplicates. Until the venue answers, a replaced order
// counts at the larger of its old and new size, and at the more aggressive of its two prices
// for self-cross.
//
// Single-threaded: one crisk belongs to the one core that runs the trading loop.
#ifndef CRISK_H
#define CRISK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "omni_event.h"

// crisk_on_event's answer for an answer or fill about no working order of ours (-ENOENT).
enum { CRISK_UNKNOWN_ORDER = ENOENT };

// Check ids: what refused a request. OMNI_REASON_RISK | id is the reason an order event carries.
// Counter 0 (CRISK_PASSED) counts the requests that passed.
enum {
    CRISK_PASSED = 0,
    CRISK_CHECK_MALFORMED = 1,          // not a request, bad side, zero price or qty, slot beyond capacity,
                                        // a new order on a slot still working, a replace of an order not working
    CRISK_CHECK_NOT_CONFIGURED = 2,     // instrument or strategy without limits (or beyond the configured counts)
    CRISK_CHECK_KILL_SWITCH = 3,        // the kill switch is on
    CRISK_CHECK_DAILY_LOSS = 4,         // realised + unrealised below -max_daily_loss (also sets the kill switch)
    CRISK_CHECK_STRATEGY_DISABLED = 5,  // repeated-execution throttle tripped: until crisk_enable_strategy
    CRISK_CHECK_TRADING_STATE = 6,      // instrument halted, paused or its book stale
    CRISK_CHECK_ORDER_QTY = 7,          // qty > max_order_qty
    CRISK_CHECK_ORDER_VALUE = 8,        // price x qty > max_order_value
    CRISK_CHECK_REFERENCE = 9,          // no BBO, the needed side empty, or older than max_bbo_age_ns
    CRISK_CHECK_COLLAR = 10,            // buy above ask + collar, sell below bid - collar
    CRISK_CHECK_SELF_CROSS = 11,        // would cross one of our own working orders in the instrument
    CRISK_CHECK_DUPLICATE = 12,         // same strategy, locate, side, price, qty within duplicate_window_ns
    CRISK_CHECK_EXPOSURE_INSTRUMENT = 13, // position + working (as if filled) beyond the instrument's max long / short
    CRISK_CHECK_EXPOSURE_STRATEGY = 14, // the same for the strategy (its net shares over its instruments)
    CRISK_CHECK_RATE_INSTRUMENT = 15,   // the instrument's message bucket is empty
    CRISK_CHECK_RATE_STRATEGY = 16,     // the strategy's (session's) message bucket is empty
    CRISK_CHECKS = 17,                  // number of counters
};

// Trading states the caller sets per instrument (crisk_set_trading_state). Anything but
// CRISK_STATE_TRADING refuses new orders and replaces for it.
enum {
    CRISK_STATE_TRADING = 0, // the initial state: the reference-age check already refuses an instrument with no live feed
    CRISK_STATE_HALTED = 1,
    CRISK_STATE_PAUSED = 2,
    CRISK_STATE_STALE = 3,   // our book is not trustworthy: a gap, recovery in progress
};

// Why the kill switch went on (crisk_kill's reason; the caller may use its own codes above these).
enum {
    CRISK_KILL_NONE = 0,
    CRISK_KILL_COMMAND = 1,
    CRISK_KILL_DAILY_LOSS = 2,
    CRISK_KILL_SIGNAL = 3,
    CRISK_KILL_DISCONNECT = 4,
    CRISK_KILL_STALE_FEED = 5,
};

// Sizes and session-wide limits, fixed at crisk_init.
typedef struct {
    uint32_t instruments;       // locates 0 ..< instruments can be configured (ITCH locates are small and dense)
    uint32_t strategies;        // strategy ids 0 ..< strategies
    uint32_t orders;            // order slots: an id whose low 24 bits are >= orders is refused (MALFORMED)
    uint32_t duplicate_memory;  // recent new orders remembered per strategy for the duplicate check (>= 1)
    uint32_t max_fills_limit;   // the largest repeated-execution N a strategy may be given
    uint32_t reserved;
    uint64_t max_bbo_age_ns;    // a BBO older than this refuses (REFERENCE)
    uint64_t duplicate_window_ns; // an identical new order within this of another is refused
    int64_t max_daily_loss;     // ITCH units x shares (1/10000 $), >= 0: realised + unrealised below -this kills
} crisk_config;

// One instrument's limits. configured == 0: every order for it is refused.
typedef struct {
    uint8_t configured;
    uint8_t reserved[3];
    uint32_t max_order_qty;     // shares per order
    uint64_t max_order_value;   // price x qty, ITCH units x shares
    uint32_t collar_bps;        // basis points of the reference (the ask for buys, the bid for sells)
    uint32_t rate_burst;        // token bucket: messages it holds (new, replace, cancel)
    uint32_t rate_per_second;   // tokens added per second
    uint32_t reserved2;
    int64_t max_long;           // shares, >= 0: position + working buys may reach this
    int64_t max_short;          // shares, >= 0: position - working sells may reach -this
} crisk_instrument_limits;

// One strategy's limits. configured == 0: every order of it is refused.
typedef struct {
    uint8_t configured;
    uint8_t reserved[3];
    uint32_t rate_burst;        // token bucket of the strategy's session
    uint32_t rate_per_second;
    uint32_t max_fills;         // repeated executions: more than max_fills fills within fill_window_ns
    uint64_t fill_window_ns;    //   disable the strategy (max_fills <= the config's max_fills_limit)
    int64_t max_long;           // the strategy's net shares over all its instruments, working as if filled
    int64_t max_short;
} crisk_strategy_limits;

typedef struct crisk_instrument crisk_instrument;
typedef struct crisk_strategy crisk_strategy;
typedef struct crisk_order crisk_order;
typedef struct crisk_recent crisk_recent;

typedef struct {
    crisk_config config;
    crisk_instrument *instruments;
    crisk_strategy *strategies;
    crisk_order *orders;
    crisk_recent *recent;       // duplicate_memory per strategy: a ring of its last new orders
    uint16_t *recent_index;     // per strategy: (locate, side, price, qty) -> ring slot of the newest copy
    uint64_t *fill_times;       // max_fills_limit per strategy
    int64_t realised;           // sum over instruments, ITCH units x shares
    int64_t unrealised;         // sum over instruments, at the mid
    uint32_t killed;            // kill reason; 0 = off
    uint32_t recent_slots;      // slots of each strategy's recent_index: a power of two >= 2 x duplicate_memory
    uint64_t counters[CRISK_CHECKS];
    uint64_t unknown_answers;   // answers and fills for no working order of ours (a fill still moves positions)
    uint64_t kills;             // times the kill switch went on
} crisk;

// Bytes crisk_init needs for `config` (0 if the config is invalid). Align the block to 64.
size_t crisk_footprint(const crisk_config *config);

// Lays the state out in `memory` (capacity bytes, 64-byte aligned, at least crisk_footprint),
// every instrument and strategy unconfigured. 0, or -EINVAL (bad config), -ENOSPC (too small).
int crisk_init(crisk *r, const crisk_config *config, void *memory, size_t capacity);

// Sets the limits of instrument `locate` / strategy `strategy` (configured = 1 enables them;
// 0 disables). Refills the bucket. 0, or -EINVAL (out of range, negative limit, max_fills too large).
int crisk_set_instrument_limits(crisk *r, uint16_t locate, const crisk_instrument_limits *limits);
int crisk_set_strategy_limits(crisk *r, uint16_t strategy, const crisk_strategy_limits *limits);
int crisk_set_max_daily_loss(crisk *r, int64_t max_daily_loss);

// The check: 0 (pass: the caller sends it) or -CRISK_CHECK_* (refused; the caller sends nothing).
int crisk_check(crisk *r, const omni_event *request, uint64_t now_ns);

// The live BBO of `locate` (0 = that side empty). Re-marks the position and may trip the loss kill.
int crisk_on_bbo(crisk *r, uint16_t locate, uint32_t bid_px, uint32_t ask_px, uint64_t now_ns);

// The venue's answers (ACCEPTED, REJECTED, CANCELED, REPLACED, CANCEL_REJECTED), fills and BBO
// events: working orders, positions, PnL, the fill throttle and the loss kill follow them.
// 0; -ENOENT for an answer or fill about no working order of ours (counted; a fill still counts
// in the position); -EINVAL for another event type or a locate / strategy out of range.
int crisk_on_event(crisk *r, const omni_event *event, uint64_t now_ns);

int crisk_set_trading_state(crisk *r, uint16_t locate, uint8_t state);

// Kill switch: on with `reason` (!= 0); only cancels pass until crisk_reset, which a person calls.
// crisk_kill cancels nothing: the caller cancels every open order (crisk_working_orders lists ours).
void crisk_kill(crisk *r, uint32_t reason);
void crisk_reset(crisk *r);
static inline uint32_t crisk_kill_reason(const crisk *r) { return r->killed; }

// Re-enables a strategy the repeated-execution throttle disabled; forgets its recent fills.
int crisk_enable_strategy(crisk *r, uint16_t strategy);
int crisk_strategy_disabled(const crisk *r, uint16_t strategy);

// The client order ids of our working orders, at most `capacity` of them written to `ids`:
// the count written, or -ENOSPC when there were more (the first `capacity` are written).
int crisk_working_orders(const crisk *r, uint64_t *ids, size_t capacity);

// Counter of check id `id` (CRISK_PASSED: requests passed); 0 for an id out of range.
static inline uint64_t crisk_counter(const crisk *r, unsigned id) { return id < CRISK_CHECKS ? r->counters[id] : 0; }

// Read-outs for tests and the status line.
typedef struct {
    int64_t position;        // shares, all strategies
    int64_t working_buy;     // shares counted as if filled
    int64_t working_sell;
    int64_t realised;        // ITCH units x shares
    int64_t unrealised;
} crisk_instrument_view;
int crisk_instrument_state(const crisk *r, uint16_t locate, crisk_instrument_view *out);
int crisk_strategy_state(const crisk *r, uint16_t strategy, int64_t *position, int64_t *working_buy, int64_t *working_sell);
static inline int64_t crisk_pnl(const crisk *r) { return r->realised + r->unrealised; }

static inline uint16_t crisk_reason(int check) {
    return (uint16_t)(OMNI_REASON_RISK | (uint16_t)(check < 0 ? -check : check));
}

#endif
