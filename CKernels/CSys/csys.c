#define _GNU_SOURCE // pthread_setaffinity_np, pthread_setname_np, sched_getcpu, MAP_HUGETLB
#include "CSys.h"

#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

// ---- Threads

int csys_pin_to_core(int core) {
    if (core < 0 || core >= CPU_SETSIZE) return -EINVAL; // CPU_SET beyond the set is undefined behaviour
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set); // EINVAL for an offline or forbidden core
}

int csys_avoid_core(int core) {
    if (core < 0 || core >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    int rc = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) return -rc;
    CPU_CLR(core, &set);
    if (CPU_COUNT(&set) == 0) return -EINVAL; // nowhere else to run
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int csys_current_core(void) { return sched_getcpu(); }

int csys_set_fifo(int priority) {
    struct sched_param p = { .sched_priority = priority };
    if (priority == 0) return -pthread_setschedparam(pthread_self(), SCHED_OTHER, &p);
    if (priority < sched_get_priority_min(SCHED_FIFO) || priority > sched_get_priority_max(SCHED_FIFO)) return -EINVAL;
    return -pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
}

int csys_lock_memory(void) { return mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? 0 : -errno; }

int csys_name_thread(const char *name) {
    char cut[16]; // the kernel's TASK_COMM_LEN, terminator included; longer names are ERANGE otherwise
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    return -pthread_setname_np(pthread_self(), cut);
}

int csys_online_cores(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }

// ---- Memory

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Writes one byte per 4 KiB page, so every page is faulted in (and, under a NUMA
// binding, placed) now rather than on the hot path. The memory is already zero.
static void prefault(void *base, size_t size) {
    volatile char *p = base;
    for (size_t o = 0; o < size; o += 4096) p[o] = 0;
}

// Normal pages at a 2 MiB-aligned address (map 2 MiB more, trim both ends), so that
// transparent huge pages can back the whole region, not just its aligned interior.
static void *map_thp(size_t len) {
    uint8_t *raw = mmap(NULL, len + CSYS_HUGEPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uint8_t *p = (uint8_t *)round_up((uintptr_t)raw, CSYS_HUGEPAGE_SIZE);
    if (p > raw) munmap(raw, (size_t)(p - raw));
    if (raw + CSYS_HUGEPAGE_SIZE > p) munmap(p + len, (size_t)(raw + CSYS_HUGEPAGE_SIZE - p));
    madvise(p, len, MADV_HUGEPAGE); // advice: where THP is disabled the pages stay 4 KiB, still correct
    return p;
}

int csys_alloc_hugepages(csys_region *r, size_t size, int node) {
    *r = (csys_region){ .node = -1 };
    int numa = numa_available() >= 0;
    if (size == 0 || (numa && node > numa_max_node())) return -EINVAL;
    size_t len = round_up(size, CSYS_HUGEPAGE_SIZE);
    csys_mem_kind kind = CSYS_MEM_HUGETLB;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) { // the pool is empty or absent
        kind = CSYS_MEM_THP;
        if (!(p = map_thp(len))) return -ENOMEM;
    }
    if (node >= 0 && numa) {
        numa_tonode_memory(p, len, node); // binds before the first touch below, so the pages land there
        r->node = node;
    }
    prefault(p, len);
    r->base = p; r->size = len; r->kind = kind;
    return 0;
}

int csys_alloc_on_node(csys_region *r, size_t size, int node) {
    *r = (csys_region){ .node = -1 };
    if (size == 0) return -EINVAL;
    size_t len = round_up(size, (size_t)sysconf(_SC_PAGESIZE));
    void *p;
    if (numa_available() >= 0) {
        if (node > numa_max_node()) return -EINVAL;
        int at = node >= 0 ? node : numa_node_of_cpu(sched_getcpu());
        p = node >= 0 ? numa_alloc_onnode(len, node) : numa_alloc_local(len);
        if (!p) return -ENOMEM;
        r->kind = CSYS_MEM_NUMA;
        r->node = at;
    } else {
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return -ENOMEM;
        r->kind = CSYS_MEM_PAGES;
    }
    prefault(p, len);
    r->base = p; r->size = len;
    return 0;
}

void csys_region_free(csys_region *r) {
    if (r->kind == CSYS_MEM_NUMA) numa_free(r->base, r->size);
    else if (r->kind != CSYS_MEM_NONE) munmap(r->base, r->size);
    *r = (csys_region){ .node = -1 };
}

const char *csys_mem_kind_name(csys_mem_kind kind) {
    switch (kind) {
    case CSYS_MEM_HUGETLB: return "hugetlb";
    case CSYS_MEM_THP: return "thp";
    case CSYS_MEM_NUMA: return "numa";
    case CSYS_MEM_PAGES: return "pages";
    default: return "none";
    }
}

// ---- Clock

uint64_t csys_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t csys_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int csys_tsc_invariant(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return 0; // leaf absent
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    return (d >> 8) & 1u;
#else
    return 0;
#endif
}

// One (tsc, CLOCK_MONOTONIC) pair: the best of a few tries, where the two TSC reads
// bracketing clock_gettime lie closest (no interrupt or vCPU preemption between);
// the TSC value is their midpoint.
static void tsc_pair(uint64_t *tsc, uint64_t *ns) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 16; i++) {
        uint64_t a = csys_tsc_begin();
        uint64_t n = csys_monotonic_ns();
        uint64_t b = csys_tsc_end();
        if (b - a < best) { best = b - a; *tsc = a + (b - a) / 2; *ns = n; }
    }
}

csys_clock_source csys_clock_init(csys_clock *c, csys_clock_source want, unsigned calibration_ms) {
    if (want == CSYS_CLOCK_TSC && csys_tsc_invariant()) {
        uint64_t t0, n0, t1, n1;
        tsc_pair(&t0, &n0);
        struct timespec d = { .tv_sec = calibration_ms / 1000, .tv_nsec = (long)(calibration_ms % 1000) * 1000000 };
        while (nanosleep(&d, &d) != 0 && errno == EINTR) {}
        tsc_pair(&t1, &n1);
        if (t1 > t0 && n1 > n0) {
            c->source = CSYS_CLOCK_TSC;
            c->mult = (uint64_t)(((unsigned __int128)(n1 - n0) << CSYS_CLOCK_SHIFT) / (t1 - t0));
            c->hz = (uint64_t)((unsigned __int128)(t1 - t0) * 1000000000u / (n1 - n0));
            c->anchor_ticks = t1;
            c->anchor_ns = n1;
            return c->source;
        }
    }
    c->source = CSYS_CLOCK_MONOTONIC;
    c->mult = 1ull << CSYS_CLOCK_SHIFT;
    c->hz = 1000000000u;
    c->anchor_ticks = c->anchor_ns = csys_monotonic_ns();
    return c->source;
}

const char *csys_clock_source_name(csys_clock_source s) { return s == CSYS_CLOCK_TSC ? "tsc" : "monotonic"; }
