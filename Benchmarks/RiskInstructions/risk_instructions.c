// Drives crisk_check through its paths under callgrind, for instruction counts that do not
// depend on the host's load (Benchmarks/risk-instructions.sh runs it and reads the counts).
// Each path runs N times in its own function, so callgrind's per-function inclusive counts
// divided by N are the instructions of one crisk_check on that path:
//   path_new_order   a new order that passes all 16 checks (then answered rejected, BBO moved: not counted)
//   path_replace     a replace of a working order that passes (answered replaced: not counted)
//   path_cancel      a cancel (only its tokens)
//   path_refused_qty a new order refused at ORDER_QTY (the 7th check)
// Built without inlining and run with "new" (the new-order path alone), each check_* is a
// function of its own: its inclusive count / N is that check's cost in one new order.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crisk.h"
#include "omni_event.h"

#define N 10000

static crisk risk;
static uint64_t now = 1000000000ull;
static volatile int sink;

static omni_event order(uint8_t type, uint64_t id, uint32_t px, uint32_t qty) {
    omni_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.locate = 1;
    e.order.client_order_id = id;
    e.order.price = px;
    e.order.qty = qty;
    e.order.strategy = 1;
    e.order.side = OMNI_SIDE_BUY;
    return e;
}

static void answer(uint8_t type, uint64_t id, uint32_t px, uint32_t qty) {
    omni_event a = order(type, id, px, qty);
    crisk_on_event(&risk, &a, now);
}

static void bbo(uint32_t i) {
    now += 1000; // 1 µs between orders: the rate buckets refill, the duplicate window (1 ms) holds 1000
    crisk_on_bbo(&risk, 1, 1990000 + (i & 7) * 100, 1990200 + (i & 7) * 100, now);
}

__attribute__((noinline)) static void path_new_order(void) {
    for (uint32_t i = 0; i < N; i++) {
        bbo(i);
        omni_event e = order(OMNI_EV_ORDER_NEW, 1 + (i & 1023), 1989000 + (i % 97) * 100, 100);
        sink = crisk_check(&risk, &e, now);
        if (sink) { fprintf(stderr, "new order refused: %d\n", sink); exit(1); }
        answer(OMNI_EV_ORDER_REJECTED, e.order.client_order_id, 0, 0);
    }
}

__attribute__((noinline)) static void path_replace(void) {
    omni_event e = order(OMNI_EV_ORDER_NEW, 2000, 1980000, 100); // a price the new-order path did not use
    int rc = crisk_check(&risk, &e, now);
    if (rc) { fprintf(stderr, "replace: the order refused: %d\n", rc); exit(1); }
    answer(OMNI_EV_ORDER_ACCEPTED, 2000, 1980000, 100);
    for (uint32_t i = 0; i < N; i++) {
        bbo(i);
        uint32_t px = 1989000 + (i % 5 + 1) * 100;
        omni_event r = order(OMNI_EV_ORDER_REPLACE, 2000, px, 100);
        sink = crisk_check(&risk, &r, now);
        if (sink) { fprintf(stderr, "replace refused: %d\n", sink); exit(1); }
        answer(OMNI_EV_ORDER_REPLACED, 2000, px, 100);
    }
}

__attribute__((noinline)) static void path_cancel(void) {
    for (uint32_t i = 0; i < N; i++) {
        bbo(i);
        omni_event c = order(OMNI_EV_ORDER_CANCEL, 2000, 0, 0);
        sink = crisk_check(&risk, &c, now);
    }
}

__attribute__((noinline)) static void path_refused_qty(void) {
    for (uint32_t i = 0; i < N; i++) {
        bbo(i);
        omni_event e = order(OMNI_EV_ORDER_NEW, 3000, 1989000, 5000);
        sink = crisk_check(&risk, &e, now);
        if (sink != -CRISK_CHECK_ORDER_QTY) { fprintf(stderr, "refused at %d, not ORDER_QTY\n", sink); exit(1); }
    }
}

int main(int argc, char **argv) {
    int only_new = argc > 1 && strcmp(argv[1], "new") == 0; // the per-check breakdown runs the new-order path alone
    crisk_config c = { .instruments = 16, .strategies = 2, .orders = 1 << 12, .duplicate_memory = 32, .max_fills_limit = 1024,
                       .max_bbo_age_ns = 1000000000ull, .duplicate_window_ns = 1000000ull, .max_daily_loss = 100000000 };
    size_t bytes = crisk_footprint(&c);
    void *mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!mem || crisk_init(&risk, &c, mem, bytes)) { fprintf(stderr, "crisk_init failed\n"); return 1; }
    crisk_instrument_limits il = { .configured = 1, .max_order_qty = 1000, .max_order_value = 10000000000ull, .collar_bps = 100,
                                   .rate_burst = 1000000, .rate_per_second = 1000000, .max_long = 1000000, .max_short = 1000000 };
    crisk_strategy_limits sl = { .configured = 1, .rate_burst = 1000000, .rate_per_second = 1000000, .max_fills = 100,
                                 .fill_window_ns = 1000000000ull, .max_long = 1000000, .max_short = 1000000 };
    if (crisk_set_instrument_limits(&risk, 1, &il) || crisk_set_strategy_limits(&risk, 1, &sl)) { fprintf(stderr, "limits refused\n"); return 1; }
    path_new_order();
    if (!only_new) {
        path_replace();
        path_cancel();
        path_refused_qty();
    }
    printf("N %d\n", N);
    return 0;
}
