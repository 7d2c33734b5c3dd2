// Verilator harness of risk_gate: one seeded random stream of CEvent records (order requests,
// the venue's answers and fills arriving later, BBO moves, halts, kill and reset, limits
// rewritten, time advancing) goes through CRisk (crisk_check / crisk_on_event, compiled in)
// and through the kernel; every verdict the kernel writes must equal CRisk's for the same
// request, record for record, and at the end every counter must agree. Two passes:
//   unstalled  one record offered every clock, output always ready: the latency from the
//              edge that takes a request to the edge that takes its verdict must be one
//              number (min = max, asserted);
//   stalled    random idle input cycles and random output back-pressure.
// DAILY_LOSS is outside the kernel (risk_gate.sv): CRisk runs with a daily loss limit it
// cannot reach, and its DAILY_LOSS counter must stay 0. Every other check must refuse at
// least once in each pass. The first difference names the request and both verdicts, and stops.
#include "Vrisk_gate.h"
#include "verilated.h"

#include "sim_common.h"

extern "C" {
#include "crisk.h"
}

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

// The kernel's sizes (its parameters, set by the Makefile for both).
constexpr unsigned kInstruments = RG_INSTRUMENTS, kStrategies = RG_STRATEGIES, kOrders = RG_ORDERS;
constexpr unsigned kDupMemory = RG_DUP_MEMORY, kFills = RG_FILLS;
constexpr uint64_t kNs = 1000000000ull;
constexpr uint32_t kTick = 100;          // $0.01 in ITCH units
constexpr unsigned kConfigured = kInstruments - 2; // the last two instruments and strategy 3 never get limits

// SET_PARAM parameters of risk_gate.sv.
enum : uint16_t {
    P_RESET = 1, P_TRADING_STATE = 2, P_ENABLE_STRATEGY = 3, P_MAX_BBO_AGE = 4, P_DUP_WINDOW = 5,
    P_I_MAX_QTY = 16, P_I_MAX_VALUE, P_I_COLLAR, P_I_BURST, P_I_RATE, P_I_FULL_NS, P_I_MAX_LONG, P_I_MAX_SHORT, P_I_CONFIGURED,
    P_S_BURST = 32, P_S_RATE, P_S_FULL_NS, P_S_MAX_FILLS, P_S_FILL_WINDOW, P_S_MAX_LONG, P_S_MAX_SHORT, P_S_CONFIGURED,
};

const char *const kCheckNames[CRISK_CHECKS] = {
    "PASSED", "MALFORMED", "NOT_CONFIGURED", "KILL_SWITCH", "DAILY_LOSS", "STRATEGY_DISABLED", "TRADING_STATE",
    "ORDER_QTY", "ORDER_VALUE", "REFERENCE", "COLLAR", "SELF_CROSS", "DUPLICATE", "EXPOSURE_INSTRUMENT",
    "EXPOSURE_STRATEGY", "RATE_INSTRUMENT", "RATE_STRATEGY",
};
const char *type_name(uint8_t t) {
    return t == OMNI_EV_ORDER_NEW ? "NEW" : t == OMNI_EV_ORDER_CANCEL ? "CANCEL" : t == OMNI_EV_ORDER_REPLACE ? "REPLACE" : "?";
}

struct Options {
    uint64_t seed = 1;
    uint64_t records = 500000; // per pass
    double idle = 0.2;         // stalled pass: chance of no record offered in a cycle
    double stall = 0.3;        // stalled pass: chance that the output is not ready in a cycle
};

// One record for the kernel, as CRisk saw it.
struct Record {
    omni_event ev;
    uint64_t now;
    int verdict;      // CRisk's check id for a request; -1 for any other record
    uint64_t request; // the request's number in the pass
};

// An order as the venue (this harness) sees it.
struct VenueOrder {
    bool working = false, accepted = false;
    uint64_t id = 0;
    uint16_t locate = 0, strategy = 0;
    uint8_t side = 0;
    uint32_t price = 0, leaves = 0;
};

struct Due {
    uint64_t at; // record number it is sent at (or after)
    omni_event ev;
};

// The seeded stream and CRisk beside it: each record is applied to CRisk as it is made.
class Stream {
public:
    explicit Stream(uint64_t seed) : rng_(seed) {
        crisk_config c{};
        c.instruments = kInstruments; c.strategies = kStrategies; c.orders = kOrders;
        c.duplicate_memory = kDupMemory; c.max_fills_limit = kFills;
        c.max_bbo_age_ns = 3000000;                   // 3 ms
        c.duplicate_window_ns = 2000000;              // 2 ms
        c.max_daily_loss = INT64_MAX;                 // DAILY_LOSS: outside the kernel, never reached
        size_t size = crisk_footprint(&c);
        memory_ = aligned_alloc(64, (size + 63) & ~size_t(63));
        if (!size || !memory_ || crisk_init(&r_, &c, memory_, size) != 0) { fprintf(stderr, "risk-harness: crisk_init\n"); exit(2); }
        param(P_MAX_BBO_AGE, 0, c.max_bbo_age_ns);
        param(P_DUP_WINDOW, 0, c.duplicate_window_ns);
        for (unsigned l = 0; l < kConfigured; l++) set_instrument((uint16_t)l);
        for (unsigned s = 0; s + 1 < kStrategies; s++) set_strategy((uint16_t)s);
        for (unsigned l = 0; l < kInstruments; l++) mid_.push_back(1000000 + 10000 * l);
    }
    ~Stream() { free(memory_); }
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;

    const crisk &reference() const { return r_; }
    std::deque<Record> &out() { return out_; }

    // Appends the records of one step of the session to out().
    void step() {
        made_++;
        advance_time();
        while (!due_.empty() && due_.front().at <= made_) { answer(due_.front().ev); due_.pop_front(); }
        unsigned a = (unsigned)(rng_() % 1000);
        if (a < 180) bbo();
        else if (a < 500) new_order();
        else if (a < 560) replace();
        else if (a < 620) cancel();
        else if (a < 700) fills(-1, chance(150) ? 2 + (unsigned)pick(5) : 1);
        else if (a < 710) stray_answer();
        else if (a < 714) halt();
        else if (a < 715) kill();
        else if (a < 717) reconfigure();
        else if (a < 750) enable();
        if (kill_until_ && made_ >= kill_until_) { param(P_RESET, 0, 0); crisk_reset(&r_); kill_until_ = 0; }
    }

private:
    uint64_t pick(uint64_t n) { return rng_() % n; }
    bool chance(unsigned per_mille) { return pick(1000) < per_mille; }

    // Mostly steps of whole 10 us, so that ages and windows (multiples of 10 us) end exactly on
    // a record now and then; bursts at the same ns; odd steps; now and then 100 ms of silence.
    void advance_time() {
        unsigned a = (unsigned)pick(1000);
        uint64_t next = now_ + (a < 250 ? 0 : a < 900 ? 10000 * pick(7) : a < 999 ? pick(60000) : 100000000);
        if (!probes_.empty() && probes_.begin()->first <= next) { // a probe's ns comes first
            now_ = std::max(now_, probes_.begin()->first);
            omni_event e = probes_.begin()->second;
            probes_.erase(probes_.begin());
            int free;
            if (e.type == OMNI_EV_FILL) fills(e.fill.strategy, kFills + 1);
            else if ((free = free_slot()) >= 0) {
                e.order.client_order_id = ++generation_ << 24 | (uint64_t)free;
                place(e);
            }
            return;
        }
        now_ = next;
    }

    // At t, or 1 ns before: a copy of new order e (another id), or for a FILL, a burst of fills
    // of e.fill.strategy.
    void probe(uint64_t t, const omni_event &e) {
        if (probes_.size() < 64) probes_.emplace(t - pick(2), e);
    }

    void push(const omni_event &ev, int verdict = -1) {
        out_.push_back(Record{ev, now_, verdict, verdict >= 0 ? requests_++ : 0});
    }

    static omni_event blank(uint8_t type, uint16_t locate) {
        omni_event e;
        memset(&e, 0, sizeof e);
        e.type = type;
        e.locate = locate;
        return e;
    }

    // Records CRisk has no event for: the kernel's rule table and switches (CRisk is set through its API beside them).
    void param(uint16_t id, uint16_t index, uint64_t value) {
        omni_event e = blank(OMNI_EV_COMMAND, 0);
        e.command.code = OMNI_CMD_SET_PARAM;
        e.command.arg[0] = (uint64_t)index << 16 | id;
        e.command.arg[1] = value;
        push(e);
    }

    // The refill time of an empty bucket, written with its limits: crisk_set_*_limits' full_ns.
    static uint64_t full_ns(uint32_t burst, uint32_t per_second) {
        return per_second ? (uint64_t)burst * kNs / per_second + 1 : UINT64_MAX;
    }

    void set_instrument(uint16_t l) {
        crisk_instrument_limits x{};
        x.configured = 1;
        x.max_order_qty = 300 + (uint32_t)pick(700);
        x.max_order_value = (200 + pick(800)) * 1000000ull;
        x.collar_bps = 5 + (uint32_t)pick(50);
        x.rate_burst = 3 + (uint32_t)pick(20);
        x.rate_per_second = 100 + (uint32_t)pick(2000);
        x.max_long = 500 + (int64_t)pick(3000);
        x.max_short = 500 + (int64_t)pick(3000);
        ilim_[l] = x;
        param(P_I_MAX_QTY, l, x.max_order_qty);
        param(P_I_MAX_VALUE, l, x.max_order_value);
        param(P_I_COLLAR, l, x.collar_bps);
        param(P_I_BURST, l, x.rate_burst);
        param(P_I_RATE, l, x.rate_per_second);
        param(P_I_FULL_NS, l, full_ns(x.rate_burst, x.rate_per_second));
        param(P_I_MAX_LONG, l, (uint64_t)x.max_long);
        param(P_I_MAX_SHORT, l, (uint64_t)x.max_short);
        param(P_I_CONFIGURED, l, 1);
        if (crisk_set_instrument_limits(&r_, l, &x) != 0) { fprintf(stderr, "risk-harness: instrument limits\n"); exit(2); }
    }

    void set_strategy(uint16_t s) {
        crisk_strategy_limits x{};
        x.configured = 1;
        x.rate_burst = 10 + (uint32_t)pick(60);
        x.rate_per_second = 500 + (uint32_t)pick(5000);
        x.max_fills = chance(20) ? 0 : 1 + (uint32_t)pick(kFills);
        x.fill_window_ns = 10000 * (20 + pick(300));
        x.max_long = 2000 + (int64_t)pick(8000);
        x.max_short = 2000 + (int64_t)pick(8000);
        slim_[s] = x;
        param(P_S_BURST, s, x.rate_burst);
        param(P_S_RATE, s, x.rate_per_second);
        param(P_S_FULL_NS, s, full_ns(x.rate_burst, x.rate_per_second));
        param(P_S_MAX_FILLS, s, x.max_fills);
        param(P_S_FILL_WINDOW, s, x.fill_window_ns);
        param(P_S_MAX_LONG, s, (uint64_t)x.max_long);
        param(P_S_MAX_SHORT, s, (uint64_t)x.max_short);
        param(P_S_CONFIGURED, s, 1);
        if (crisk_set_strategy_limits(&r_, s, &x) != 0) { fprintf(stderr, "risk-harness: strategy limits\n"); exit(2); }
    }

    void on_event(const omni_event &e) {
        push(e);
        crisk_on_event(&r_, &e, now_); // -ENOENT / -EINVAL are counted (or not) alike by the kernel
    }

    // A locate, now and then one without limits or beyond the table.
    uint16_t some_locate() { return (uint16_t)(chance(15) ? kConfigured + pick(4) : pick(kConfigured)); }
    uint16_t some_strategy() { return (uint16_t)(chance(15) ? kStrategies - 1 + pick(2) : pick(kStrategies - 1)); }

    void bbo() {
        uint16_t l = (uint16_t)(chance(10) ? kInstruments + pick(2) : pick(kInstruments));
        omni_event e = blank(OMNI_EV_BBO, l);
        if (l < kInstruments) {
            mid_[l] += (int64_t)kTick * ((int64_t)pick(5) - 2);
            uint32_t half = kTick * (1 + (uint32_t)pick(2));
            e.bbo.bid_px = chance(20) ? 0 : (uint32_t)(mid_[l] - half);
            e.bbo.ask_px = chance(20) ? 0 : (uint32_t)(mid_[l] + half);
            bid_[l] = e.bbo.bid_px;
            ask_[l] = e.bbo.ask_px;
            if (chance(50)) // a buy when this BBO is max_bbo_age old, or 1 ns before
                probe(now_ + r_.config.max_bbo_age_ns, omni_order_event(OMNI_EV_ORDER_NEW, l, 0, OMNI_SIDE_BUY, e.bbo.ask_px, 1, 0, 0));
            e.bbo.bid_sz = e.bbo.bid_px ? 100 : 0;
            e.bbo.ask_sz = e.bbo.ask_px ? 100 : 0;
        }
        on_event(e);
    }

    int request(const omni_event &e) {
        int v = -crisk_check(&r_, &e, now_);
        push(e, v);
        return v;
    }

    // A price near the touch of locate l, now and then far from it.
    uint32_t price_near(uint16_t l, uint8_t side) {
        int64_t mid = l < kInstruments ? mid_[l] : 1000000;
        int64_t ticks = chance(30) ? (int64_t)pick(121) - 60 : (int64_t)pick(7) - 4;
        return (uint32_t)(side == OMNI_SIDE_BUY ? mid - kTick + ticks * kTick : mid + kTick - ticks * kTick);
    }

    // A slot no order of ours works in, or -1.
    int free_slot() {
        for (unsigned k = 0, s = (unsigned)pick(kOrders); k < kOrders; k++)
            if (!venue_[(s + k) % kOrders].working) return (int)((s + k) % kOrders);
        return -1;
    }

    void new_order() {
        int free = free_slot();
        if (free < 0) { cancel(); return; }
        uint64_t slot = (uint64_t)free;
        if (chance(8)) slot = pick(kOrders);              // a slot that may be working
        if (chance(5)) slot = kOrders + pick(1000);      // beyond the table
        uint64_t id = ++generation_ << 24 | slot;
        uint16_t s = some_strategy(), l = some_locate();
        uint8_t side = chance(5) ? 2 : (uint8_t)pick(2);
        uint32_t qty = chance(50) ? 500 + (uint32_t)pick(1000) : 1 + (uint32_t)pick(300);
        uint32_t px = price_near(l, side);
        if (chance(5)) px = 0;
        if (chance(5)) qty = 0;
        if (s < last_new_.size() && chance(60) && last_new_[s].type) { // the strategy's last new order again
            const omni_event &p = last_new_[s];
            l = p.locate; side = p.order.side; px = p.order.price; qty = p.order.qty;
        } else if (l < kConfigured && s + 1 < kStrategies && side <= 1 && px && qty && chance(250)) at_a_limit(l, s, side, px, qty);
        omni_event e = omni_order_event(OMNI_EV_ORDER_NEW, l, id, side, px, qty, s, 0);
        if (s < last_new_.size()) last_new_[s] = e;
        place(e);
    }

    // New order e; when it passes, the venue answers it later, and it may come again as its
    // duplicate window closes.
    void place(const omni_event &e) {
        if (request(e) != 0) return;
        if (chance(50)) probe(now_ + r_.config.duplicate_window_ns, e);
        const omni_order &q = e.order;
        venue_[omni_order_slot(q.client_order_id)] = VenueOrder{true, false, q.client_order_id, e.locate, q.strategy, q.side, q.price, q.qty};
        bool rejected = chance(80);
        omni_event a = omni_order_event(rejected ? OMNI_EV_ORDER_REJECTED : OMNI_EV_ORDER_ACCEPTED, e.locate, q.client_order_id,
                                        q.side, q.price, q.qty, q.strategy, 0);
        if (rejected) a.order.reason = OMNI_REASON_OUCH | 'X';
        else if (chance(200)) { // the venue's price is not ours: none given (0), or repriced a tick passive
            a.order.price = chance(500) ? 0 : q.side == OMNI_SIDE_BUY ? q.price - kTick : q.price + kTick;
            if (a.order.price) venue_[omni_order_slot(q.client_order_id)].price = a.order.price;
        }
        later(a);
    }

    // A price or size at one of the limits the request meets, or one unit beyond: max order qty,
    // max order value, the collar's edge, or the exposure left (as CRisk now counts it).
    void at_a_limit(uint16_t l, uint16_t s, uint8_t side, uint32_t &px, uint32_t &qty) {
        const crisk_instrument_limits &x = ilim_[l];
        bool buy = side == OMNI_SIDE_BUY;
        int64_t left = -1;
        switch (pick(5)) {
        case 0: qty = x.max_order_qty + (uint32_t)pick(2); break;
        case 1: qty = (uint32_t)std::min<uint64_t>(x.max_order_value / px + pick(2), x.max_order_qty); break;
        case 2: {
            uint64_t ref = buy ? ask_[l] : bid_[l], band = ref * x.collar_bps / 10000 + pick(2);
            if (ref && (buy || band < ref)) px = (uint32_t)(buy ? ref + band : ref - band);
            break;
        }
        case 3: {
            crisk_instrument_view v;
            crisk_instrument_state(&r_, l, &v);
            left = buy ? x.max_long - v.position - v.working_buy : v.position - v.working_sell + x.max_short;
            break;
        }
        default: {
            int64_t pos, wb, ws;
            crisk_strategy_state(&r_, s, &pos, &wb, &ws);
            left = buy ? slim_[s].max_long - pos - wb : pos - ws + slim_[s].max_short;
        }
        }
        if (left >= 0) qty = (uint32_t)std::max<int64_t>(1, left + (int64_t)pick(2));
    }

    // A working order of ours (of `strategy` and accepted, when asked), or none.
    VenueOrder *some_working(int strategy = -1, bool accepted = false) {
        for (unsigned k = 0, s = (unsigned)pick(kOrders); k < kOrders; k++) {
            VenueOrder &o = venue_[(s + k) % kOrders];
            if (o.working && (strategy < 0 || o.strategy == strategy) && (!accepted || o.accepted)) return &o;
        }
        return nullptr;
    }

    void replace() {
        VenueOrder *o = some_working();
        uint64_t id = o && !chance(50) ? o->id : (++generation_ << 24 | pick(kOrders + 8));
        uint8_t side = o ? o->side : 0;
        uint16_t l = o ? o->locate : 0;
        uint32_t px = o && chance(700) ? price_near(l, side) : (o ? o->price : 1000000);
        uint32_t qty = 1 + (uint32_t)pick(chance(300) ? 1200 : 300);
        omni_event e = omni_order_event(OMNI_EV_ORDER_REPLACE, l, id, side, px, qty, o ? o->strategy : 0, 0);
        if (request(e) == 0 && o) {
            omni_event a = omni_order_event(chance(850) ? OMNI_EV_ORDER_REPLACED : OMNI_EV_CANCEL_REJECTED, l, id, side, px, qty,
                                            o->strategy, 0);
            if (a.type == OMNI_EV_ORDER_REPLACED) { o->price = px; o->leaves = qty; }
            later(a);
        }
    }

    void cancel() {
        VenueOrder *o = some_working();
        uint64_t id = o && !chance(100) ? o->id : (++generation_ << 24 | pick(kOrders + 8));
        omni_event e = omni_order_event(OMNI_EV_ORDER_CANCEL, o ? o->locate : some_locate(), id, 0, 0, 0,
                                        o ? o->strategy : some_strategy(), 0);
        if (request(e) == 0 && o && o->id == id) {
            omni_event a = omni_order_event(OMNI_EV_ORDER_CANCELED, o->locate, id, o->side, o->price, 0, o->strategy, 0);
            o->working = false;
            later(a);
        }
    }

    // The venue answers 1-40 records later.
    void later(const omni_event &a) {
        uint64_t at = made_ + 1 + pick(40);
        auto it = due_.end();
        while (it != due_.begin() && std::prev(it)->at > at) --it;
        due_.insert(it, Due{at, a});
    }

    void answer(const omni_event &a) {
        VenueOrder &o = venue_[omni_order_slot(a.order.client_order_id) % kOrders];
        if (o.id == a.order.client_order_id) {
            if (a.type == OMNI_EV_ORDER_ACCEPTED) o.accepted = true;
            if (a.type == OMNI_EV_ORDER_REJECTED || (a.type == OMNI_EV_ORDER_REPLACED && a.order.qty == 0)) o.working = false;
        }
        on_event(a);
    }

    // n fills of accepted orders (of `strategy`, or any), at the same ns; now and then a burst of
    // the same strategy's fills follows as its fill window closes.
    void fills(int strategy, unsigned n) {
        for (; n; n--) {
            VenueOrder *o = some_working(strategy, true);
            if (!o) return;
            if (chance(100)) {
                omni_event p = blank(OMNI_EV_FILL, 0);
                p.fill.strategy = o->strategy;
                probe(now_ + slim_[o->strategy].fill_window_ns, p);
            }
            omni_event e = blank(OMNI_EV_FILL, o->locate);
            e.fill.client_order_id = o->id;
            e.fill.last_px = o->price;
            e.fill.last_qty = 1 + (uint32_t)pick(o->leaves);
            e.fill.leaves_qty = o->leaves - e.fill.last_qty;
            e.fill.strategy = o->strategy;
            e.fill.side = o->side;
            e.fill.liquidity = OMNI_LIQ_ADDED;
            o->leaves = e.fill.leaves_qty;
            if (o->leaves == 0) o->working = false;
            on_event(e);
        }
    }

    // An answer or fill for no order of ours, or with a locate, strategy or side out of range.
    void stray_answer() {
        uint64_t id = ++generation_ << 24 | pick(kOrders + 8);
        if (chance(500)) {
            omni_event e = blank(OMNI_EV_FILL, (uint16_t)pick(kInstruments + 2));
            e.fill.client_order_id = id;
            e.fill.last_px = 1000000;
            e.fill.last_qty = 1 + (uint32_t)pick(100);
            e.fill.strategy = (uint16_t)pick(kStrategies + 1);
            e.fill.side = (uint8_t)pick(3);
            on_event(e);
        } else {
            on_event(omni_order_event((uint8_t)(OMNI_EV_ORDER_ACCEPTED + pick(5)), 0, id, 0, 1000000, 10, 0, 0));
        }
    }

    void halt() {
        uint16_t l = (uint16_t)pick(kInstruments);
        uint8_t state = chance(750) ? CRISK_STATE_TRADING : (uint8_t)(1 + pick(3));
        param(P_TRADING_STATE, l, state);
        crisk_set_trading_state(&r_, l, state);
    }

    // Kill switch on (a reason 0-5; 0 reads as a command; again while on), reset 20-320 records later.
    void kill() {
        uint32_t reason = (uint32_t)pick(6);
        omni_event e = blank(OMNI_EV_COMMAND, 0);
        e.command.code = OMNI_CMD_KILL;
        e.command.arg[0] = reason;
        push(e);
        crisk_kill(&r_, reason);
        if (!kill_until_) kill_until_ = made_ + 20 + pick(300);
    }

    void reconfigure() {
        if (chance(500)) set_instrument((uint16_t)pick(kConfigured));
        else set_strategy((uint16_t)pick(kStrategies - 1));
    }

    void enable() {
        uint16_t s = (uint16_t)pick(kStrategies);
        if (!crisk_strategy_disabled(&r_, s)) return;
        param(P_ENABLE_STRATEGY, s, 0);
        crisk_enable_strategy(&r_, s);
    }

    std::mt19937_64 rng_;
    crisk r_{};
    void *memory_ = nullptr;
    std::deque<Record> out_;
    std::deque<Due> due_;
    std::multimap<uint64_t, omni_event> probes_; // requests made for an exact ns: ages and windows ending on them
    VenueOrder venue_[kOrders];
    std::vector<int64_t> mid_;
    crisk_instrument_limits ilim_[kInstruments] = {};
    crisk_strategy_limits slim_[kStrategies] = {};
    uint32_t bid_[kInstruments] = {}, ask_[kInstruments] = {};
    std::vector<omni_event> last_new_ = std::vector<omni_event>(kStrategies, omni_event{});
    uint64_t now_ = 1000000000000ull, made_ = 0, requests_ = 0, generation_ = 0, kill_until_ = 0;
};

struct PassResult {
    uint64_t records = 0, requests = 0, cycles = 0;
    Range latency;
    double seconds = 0;
    uint64_t counters[CRISK_CHECKS] = {};
};

[[noreturn]] void differ(const char *pass, const Record &x, int got) {
    fprintf(stderr, "risk-harness: FAIL %s pass: request %" PRIu64 " (%s, client order id %#" PRIx64 ", locate %u, strategy %u, "
            "side %u, price %u, qty %u, now %" PRIu64 "): CRisk %s (%d), kernel %s (%d)\n", pass, x.request,
            type_name(x.ev.type), x.ev.order.client_order_id, x.ev.locate, x.ev.order.strategy, x.ev.order.side,
            x.ev.order.price, x.ev.order.qty, x.now, kCheckNames[x.verdict], x.verdict,
            got >= 0 && got < CRISK_CHECKS ? kCheckNames[got] : "not a check id", got);
    exit(1);
}

PassResult run_pass(bool stalled, const Options &o, uint64_t seed) {
    const char *pass = stalled ? "stalled" : "unstalled";
    std::mt19937_64 rng(seed ^ 0x5eed);
    std::bernoulli_distribution idle(stalled ? o.idle : 0), stall(stalled ? o.stall : 0);
    Stream stream(seed);
    std::deque<Record> &feed = stream.out();
    std::deque<std::pair<Record, uint64_t>> want; // requests taken, with their take cycle

    auto *top = new Vrisk_gate;
    top->s_tvalid = 0;
    top->m_tready = 1;
    sim_reset(top);

    PassResult res;
    uint64_t cycle = 0, quiet = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (res.records < o.records || !feed.empty() || !want.empty()) {
        while (feed.empty() && res.records < o.records) stream.step();
        bool offer = !feed.empty() && !idle(rng);
        if (offer) {
            memcpy(top->s_tdata.data(), &feed.front().ev, 64);
            top->s_now = feed.front().now;
        }
        top->s_tvalid = offer;
        top->m_tready = !stall(rng);
        top->eval();
        bool in = offer && top->s_tready;
        bool out = top->m_tvalid && top->m_tready;
        omni_event got;
        if (out) memcpy(&got, top->m_tdata.data(), 64);
        sim_clock(top);
        cycle++;
        if (in) {
            if (feed.front().verdict >= 0) want.emplace_back(feed.front(), cycle);
            feed.pop_front();
            res.records++;
        }
        if (out) {
            if (want.empty()) { fprintf(stderr, "risk-harness: FAIL %s pass: a verdict for no request\n", pass); exit(1); }
            const Record &x = want.front().first;
            omni_event expect = x.ev;
            expect.order.reason = x.verdict ? crisk_reason(x.verdict) : 0;
            if (memcmp(&expect, &got, 64) != 0) {
                int v = (got.order.reason >> 8) == (OMNI_REASON_RISK >> 8) ? (got.order.reason & 0xFF) : got.order.reason ? -1 : 0;
                if (v == x.verdict) fprintf(stderr, "risk-harness: the verdict record differs from its request beyond order.reason\n");
                differ(pass, x, v);
            }
            res.latency.add(cycle - want.front().second);
            res.requests++;
            want.pop_front();
            quiet = 0;
        } else if (feed.empty() && !want.empty() && ++quiet > 1000) {
            fprintf(stderr, "risk-harness: FAIL %s pass: no verdict for request %" PRIu64 "\n", pass, want.front().first.request);
            exit(1);
        }
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.cycles = cycle;

    // Counters: the kernel's against CRisk's.
    const crisk &r = stream.reference();
    for (unsigned k = 0; k < CRISK_CHECKS; k++) {
        uint64_t kern;
        memcpy(&kern, top->cnt_checks.data() + 2 * k, 8);
        res.counters[k] = crisk_counter(&r, k);
        if (kern != res.counters[k]) {
            fprintf(stderr, "risk-harness: FAIL %s pass: counter %s: CRisk %" PRIu64 ", kernel %" PRIu64 "\n", pass, kCheckNames[k],
                    res.counters[k], kern);
            exit(1);
        }
    }
    const struct { const char *name; uint64_t want, got; } cs[] = {
        {"unknown answers", r.unknown_answers, top->cnt_unknown},
        {"kills", r.kills, top->cnt_kills},
    };
    for (const auto &c : cs)
        if (c.want != c.got) {
            fprintf(stderr, "risk-harness: FAIL %s pass: counter %s: CRisk %" PRIu64 ", kernel %" PRIu64 "\n", pass, c.name, c.want, c.got);
            exit(1);
        }
    if (res.counters[CRISK_CHECK_DAILY_LOSS] != 0) {
        fprintf(stderr, "risk-harness: FAIL %s pass: CRisk refused for DAILY_LOSS, which the kernel leaves out\n", pass);
        exit(1);
    }
    for (unsigned k = 1; k < CRISK_CHECKS; k++)
        if (k != CRISK_CHECK_DAILY_LOSS && res.counters[k] == 0) {
            fprintf(stderr, "risk-harness: FAIL %s pass: no request was refused by %s: the stream does not test it\n", pass,
                    kCheckNames[k]);
            exit(1);
        }
    printf("%s: %" PRIu64 " records, %" PRIu64 " requests compared, 0 differences; unknown answers %" PRIu64 ", kills %" PRIu64
           "; latency %" PRIu64 "..%" PRIu64 " cycles; %" PRIu64 " cycles; %.0f requests/s simulated\n  verdicts:", pass,
           res.records, res.requests, r.unknown_answers, r.kills, res.latency.min, res.latency.max, res.cycles,
           res.seconds > 0 ? res.requests / res.seconds : 0.0);
    for (unsigned k = 0; k < CRISK_CHECKS; k++) printf(" %s %" PRIu64, kCheckNames[k], res.counters[k]);
    printf("\n");
    fflush(stdout);
    top->final();
    delete top;
    return res;
}

} // namespace

int main(int argc, char **argv) {
    Verilated::commandArgs(argc, argv);
    Options o;
    for (OptionReader r{argc, argv, 1, "risk-harness"}; r.i < argc; r.i++) {
        std::string a = argv[r.i];
        if (a == "--seed") o.seed = r.count();
        else if (a == "--records") o.records = r.count();
        else if (a == "--idle") o.idle = r.share();
        else if (a == "--stall") o.stall = r.share();
        else {
            fprintf(stderr, "usage: %s [--seed N] [--records N] [--idle P] [--stall P]\n", argv[0]);
            return 2;
        }
    }
    printf("risk-harness: seed %" PRIu64 ", %" PRIu64 " records per pass; %u instruments, %u strategies, %u order slots, "
           "duplicate memory %u, fill memory %u; stalled pass: idle %.2f, back-pressure %.2f; DAILY_LOSS left out\n",
           o.seed, o.records, kInstruments, kStrategies, kOrders, kDupMemory, kFills, o.idle, o.stall);
    PassResult u = run_pass(false, o, o.seed);
    if (u.latency.min != u.latency.max) {
        fprintf(stderr, "risk-harness: FAIL: unstalled latency is not one number: %" PRIu64 "..%" PRIu64 " cycles\n",
                u.latency.min, u.latency.max);
        return 1;
    }
    if (u.cycles > u.records + 16) {
        fprintf(stderr, "risk-harness: FAIL: unstalled, %" PRIu64 " cycles for %" PRIu64 " records: not one per clock\n", u.cycles, u.records);
        return 1;
    }
    PassResult s = run_pass(true, o, o.seed + 1);
    printf("risk-harness: PASS: %" PRIu64 " requests compared, 0 differences; unstalled latency %" PRIu64 " cycles (min = max), "
           "stalled %" PRIu64 "..%" PRIu64 "; %.0f requests/s simulated overall\n", u.requests + s.requests, u.latency.min,
           s.latency.min, s.latency.max, (u.requests + s.requests) / (u.seconds + s.seconds));
    return 0;
}
