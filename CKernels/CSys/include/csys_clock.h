// The hot path's clock: TSC ticks, read inline, converted to nanoseconds only
// when a report or histogram needs them. The TSC is usable only when it is
// invariant (constant rate, runs through C/P-states: CPUID 0x80000007 EDX bit 8);
// otherwise the clock honestly reads CLOCK_MONOTONIC instead, and its "ticks"
// are nanoseconds. `csys_clock.source` says which one a clock reads.
//
// Reads are tens of cycles (rdtsc ~ 8-40, clock_gettime through the vDSO ~ 20 ns).
// Under a hypervisor the TSC may advance in coarser steps (10 ns on some cloud
// VMs): a single short interval is then only good to one step.
#ifndef CSYS_CLOCK_H
#define CSYS_CLOCK_H

#include <stdint.h>

typedef enum {
    CSYS_CLOCK_TSC = 1,       // rdtsc ticks at the calibrated rate
    CSYS_CLOCK_MONOTONIC = 2, // clock_gettime(CLOCK_MONOTONIC) nanoseconds
} csys_clock_source;

// ns = ticks * mult >> CSYS_CLOCK_SHIFT: the division is done once, at calibration.
// 32 fraction bits: rounding the rate costs under 1 ns per second at TSC rates up to 4 GHz.
#define CSYS_CLOCK_SHIFT 32

typedef struct {
    csys_clock_source source;
    uint64_t mult;         // nanoseconds per tick << CSYS_CLOCK_SHIFT (1 << 32 for CSYS_CLOCK_MONOTONIC)
    uint64_t hz;           // ticks per second (1e9 for CSYS_CLOCK_MONOTONIC)
    uint64_t anchor_ticks; // a reading of the source and the CLOCK_MONOTONIC time taken with it,
    uint64_t anchor_ns;    // so readings can also be placed on the system's monotonic time line
} csys_clock;

// clock_gettime(CLOCK_MONOTONIC) in nanoseconds. Out of line: <time.h> declares
// clock_gettime only under POSIX feature macros, which a header cannot set for its includer.
uint64_t csys_monotonic_ns(void);

// The wall clock (CLOCK_REALTIME) in nanoseconds since 1970 UTC: for venue times and FIX
// SendingTime, never for intervals (it can step).
uint64_t csys_realtime_ns(void);

// Nanoseconds since midnight UTC, as ITCH and OUCH timestamps count.
static inline uint64_t csys_ns_since_midnight_utc(void) { return csys_realtime_ns() % 86400000000000ull; }

// Time from `then` to `now`, 0 when `then` is later. Timers read `now` once per pass and
// compare it with stamps taken later in that pass; a wrapping `now - then` would read as
// ~584 years elapsed and fire every timeout and heartbeat at once.
static inline uint64_t csys_elapsed_ns(uint64_t now, uint64_t then) { return now > then ? now - then : 0; }

#if defined(__x86_64__)
// Plain rdtsc: the CPU may execute it before earlier instructions finish or after
// later ones start. Cheapest; right for stamping events, where tens of cycles of
// skew do not matter.
static inline uint64_t csys_rdtsc(void) { return __builtin_ia32_rdtsc(); }

// Start of a measured region: the first lfence waits until every earlier
// instruction has completed, the second keeps the region's instructions from
// starting before the read (lfence is dispatch-serialising on Intel, and on AMD
// since the Spectre-era kernels set DE_CFG[1]).
static inline uint64_t csys_tsc_begin(void) {
    __builtin_ia32_lfence();
    uint64_t t = __builtin_ia32_rdtsc();
    __builtin_ia32_lfence();
    return t;
}

// End of a measured region: rdtscp itself waits for earlier instructions to
// complete; the lfence keeps later instructions from starting before the read.
static inline uint64_t csys_tsc_end(void) {
    unsigned int aux; // TSC_AUX: Linux stores the cpu number there; unused
    uint64_t t = __builtin_ia32_rdtscp(&aux);
    __builtin_ia32_lfence();
    return t;
}
#else
// No TSC: the reads fall back to CLOCK_MONOTONIC nanoseconds, and csys_clock_init
// never picks CSYS_CLOCK_TSC.
static inline uint64_t csys_rdtsc(void) { return csys_monotonic_ns(); }
static inline uint64_t csys_tsc_begin(void) { return csys_monotonic_ns(); }
static inline uint64_t csys_tsc_end(void) { return csys_monotonic_ns(); }
#endif

// 1 when CPUID reports an invariant TSC (0x80000007 EDX bit 8), else 0.
int csys_tsc_invariant(void);

// Sets up `c`. With CSYS_CLOCK_TSC and an invariant TSC, calibrates the TSC
// against CLOCK_MONOTONIC over `calibration_ms` (the thread sleeps; 50-100 ms
// gives a rate good to well under 1 ppm of the interval); otherwise, or when
// CSYS_CLOCK_MONOTONIC is asked for, sets up the CLOCK_MONOTONIC fallback.
// Returns the source chosen (also in c->source).
csys_clock_source csys_clock_init(csys_clock *c, csys_clock_source want, unsigned calibration_ms);

const char *csys_clock_source_name(csys_clock_source s); // "tsc" / "monotonic"

// A reading in the clock's own ticks: what the hot path stores.
static inline uint64_t csys_clock_now(const csys_clock *c) {
    return c->source == CSYS_CLOCK_TSC ? csys_rdtsc() : csys_monotonic_ns();
}

// A tick count (an interval) in nanoseconds: one 64x64->128 multiply and a shift.
static inline uint64_t csys_clock_ns(const csys_clock *c, uint64_t ticks) {
    return (uint64_t)(((unsigned __int128)ticks * c->mult) >> CSYS_CLOCK_SHIFT);
}

// A reading placed on the CLOCK_MONOTONIC time line (for journals and logs). Off by
// the calibrated rate's error times the distance from the anchor: about 1 us per
// second with 50 ms of calibration; calibrate again for long-lived absolute stamps.
static inline uint64_t csys_clock_monotonic_ns(const csys_clock *c, uint64_t reading) {
    return reading >= c->anchor_ticks ? c->anchor_ns + csys_clock_ns(c, reading - c->anchor_ticks)
                                      : c->anchor_ns - csys_clock_ns(c, c->anchor_ticks - reading);
}

#endif
