// CDpdk implementation: the only file that sees DPDK's headers.
#define _GNU_SOURCE
#include "cdpdk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// DPDK's headers declare SSE4.2 inline functions (CRC32 hashes, rte_memcpy);
// Debian builds them with -march=corei7. Giving every function here that target
// keeps the rest of the package at the baseline x86-64 ISA.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("sse4.2"))), apply_to = function)
#endif
#include <rte_config.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>

typedef struct {
    struct rte_mempool *pool;
    uint32_t max_frame;
    uint8_t open;
} port_state;

static port_state ports[CDPDK_MAX_PORTS];
static int eal_up;
static int ts_offset = -1;   // byte offset of the rx timestamp dynfield, -1 when no driver registered it
static uint64_t ts_flag;     // ol_flags bit that says the driver set it
// Writes "what" into err (when given) and returns rc: the init failures' one exit.
static int init_fail(char *err, size_t cap, int rc, const char *what) {
    if (err && cap) snprintf(err, cap, "%s", what);
    return rc;
}

int cdpdk_init(int argc, const char *const *argv, char *err, size_t errcap) {
    if (eal_up) return init_fail(err, errcap, -EALREADY, "EAL is already initialised in this process (it initialises once per process)");
    if (argc < 1 || argc > 64) return init_fail(err, errcap, -EINVAL, "cdpdk_init: argc must be 1...64 (argv[0] is the program name)");
    // rte_eal_init permutes and keeps pointers into argv: give it a copy that lives for the process.
    static char *copy[65];
    for (int i = 0; i < argc; i++) {
        copy[i] = strdup(argv[i]);
        if (copy[i] == NULL) return init_fail(err, errcap, -ENOMEM, "cdpdk_init: out of memory");
    }
    copy[argc] = NULL;
    if (rte_eal_init(argc, copy) < 0) {
        int e = rte_errno;
        if (err && errcap) snprintf(err, errcap, "rte_eal_init failed: %s (rte_errno %d)", rte_strerror(e), e);
        return e > 0 ? -e : -EINVAL; // rte_errno is positive; a 0 would read as success
    }
    eal_up = 1;
    return 0;
}

int cdpdk_initialized(void) { return eal_up; }
uint64_t cdpdk_tsc_hz(void) { return eal_up ? rte_get_tsc_hz() : 0; }
unsigned cdpdk_lcore(void) { return rte_lcore_id(); }

uint64_t cdpdk_free_hugepage_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[128];
    unsigned long long pages = 0, kb = 0, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "HugePages_Free: %llu", &v) == 1) pages = v;
        else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1) kb = v;
    }
    fclose(f);
    return pages * kb * 1024;
}

void cdpdk_cleanup(void) {
    if (!eal_up) return;
    for (uint16_t p = 0; p < CDPDK_MAX_PORTS; p++) cdpdk_port_close(p);
    rte_eal_cleanup();
    eal_up = 0;
}

void cdpdk_port_conf_default(cdpdk_port_conf *c) {
    c->rx_queues = 1;
    c->tx_queues = 1;
    c->rx_ring = 1024;
    c->tx_ring = 1024;
    c->pool_mbufs = 8191; // 2^n - 1: the ring under the mempool is a power of two
    c->pool_cache = 256;
    c->data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
    c->promiscuous = 1;
}

uint16_t cdpdk_port_count(void) { return eal_up ? rte_eth_dev_count_avail() : 0; }

int cdpdk_port_by_name(const char *name, uint16_t *port) {
    if (!eal_up) return -ENODEV;
    return rte_eth_dev_get_port_by_name(name, port) == 0 ? 0 : -ENODEV;
}

int cdpdk_port_name(uint16_t port, char *buf, size_t cap) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (!eal_up || rte_eth_dev_get_name_by_port(port, name) != 0) return -ENODEV;
    snprintf(buf, cap, "%s", name);
    return 0;
}

int cdpdk_port_is_open(uint16_t port) { return port < CDPDK_MAX_PORTS && ports[port].open; }

static int fail(char *err, size_t cap, int rc, const char *step, uint16_t port) {
    if (err && cap) snprintf(err, cap, "port %u: %s: %s", port, step, rte_strerror(rc < 0 ? -rc : rc));
    return rc < 0 ? rc : -rc;
}

int cdpdk_port_open(uint16_t port, const cdpdk_port_conf *conf, char *err, size_t errcap) {
    if (!eal_up) {
        if (err && errcap) snprintf(err, errcap, "EAL is not initialised");
        return -EPERM;
    }
    if (port >= CDPDK_MAX_PORTS || !rte_eth_dev_is_valid_port(port)) return fail(err, errcap, -ENODEV, "no such port", port);
    if (ports[port].open) return fail(err, errcap, -EBUSY, "already open", port);
    if (conf->rx_queues == 0 || conf->tx_queues == 0) return fail(err, errcap, -EINVAL, "queue counts must be >= 1", port);

    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) return fail(err, errcap, rc, "rte_eth_dev_info_get", port);
    if (conf->rx_queues > info.max_rx_queues || conf->tx_queues > info.max_tx_queues) {
        if (err && errcap)
            snprintf(err, errcap, "port %u: %u rx / %u tx queues asked, the driver (%s) has at most %u / %u", port,
                     conf->rx_queues, conf->tx_queues, info.driver_name, info.max_rx_queues, info.max_tx_queues);
        return -EINVAL;
    }

    // The pool lives on the port's NUMA socket; vdevs report none (-1): use the caller's.
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0) socket = (int)rte_socket_id();
    if (socket < 0) socket = 0;
    char pool_name[RTE_MEMPOOL_NAMESIZE];
    snprintf(pool_name, sizeof pool_name, "cdpdk_p%u", port);
    unsigned cache = conf->pool_cache > RTE_MEMPOOL_CACHE_MAX_SIZE ? RTE_MEMPOOL_CACHE_MAX_SIZE : conf->pool_cache;
    if (cache > conf->pool_mbufs / 2) cache = conf->pool_mbufs / 2; // mempool refuses a cache above n / 1.5
    struct rte_mempool *pool = rte_pktmbuf_pool_create(pool_name, conf->pool_mbufs, cache, 0, conf->data_room, socket);
    if (pool == NULL) return fail(err, errcap, rte_errno, "rte_pktmbuf_pool_create", port);

    struct rte_eth_conf ec;
    memset(&ec, 0, sizeof ec);
    rc = rte_eth_dev_configure(port, conf->rx_queues, conf->tx_queues, &ec);
    if (rc != 0) { rte_mempool_free(pool); return fail(err, errcap, rc, "rte_eth_dev_configure", port); }
    uint16_t nrx = conf->rx_ring, ntx = conf->tx_ring;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
    if (rc != 0) { rte_mempool_free(pool); return fail(err, errcap, rc, "rte_eth_dev_adjust_nb_rx_tx_desc", port); }
    for (uint16_t q = 0; q < conf->rx_queues; q++) {
        rc = rte_eth_rx_queue_setup(port, q, nrx, (unsigned)socket, NULL, pool);
        if (rc != 0) { rte_eth_dev_close(port); rte_mempool_free(pool); return fail(err, errcap, rc, "rte_eth_rx_queue_setup", port); }
    }
    for (uint16_t q = 0; q < conf->tx_queues; q++) {
        rc = rte_eth_tx_queue_setup(port, q, ntx, (unsigned)socket, NULL);
        if (rc != 0) { rte_eth_dev_close(port); rte_mempool_free(pool); return fail(err, errcap, rc, "rte_eth_tx_queue_setup", port); }
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) { rte_eth_dev_close(port); rte_mempool_free(pool); return fail(err, errcap, rc, "rte_eth_dev_start", port); }
    if (conf->promiscuous) rte_eth_promiscuous_enable(port); // vdevs without the op return -ENOTSUP: harmless

    // Drivers that stamp frames (net_pcap: capture time, us) register the dynfield by now.
    ts_offset = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
    int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
    ts_flag = bit >= 0 ? (1ULL << bit) : 0;
    if (ts_flag == 0) ts_offset = -1;

    ports[port].pool = pool;
    ports[port].max_frame = (uint32_t)(conf->data_room - RTE_PKTMBUF_HEADROOM);
    ports[port].open = 1;
    return 0;
}

void cdpdk_port_close(uint16_t port) {
    if (port >= CDPDK_MAX_PORTS || !ports[port].open) return;
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_mempool_free(ports[port].pool);
    ports[port].pool = NULL;
    ports[port].open = 0;
}

uint32_t cdpdk_port_max_frame(uint16_t port) { return cdpdk_port_is_open(port) ? ports[port].max_frame : 0; }

typedef struct {
    const uint8_t *frame;
    uint32_t len;
} stamp_arg;

static void stamp_one(struct rte_mempool *mp, void *arg, void *obj, unsigned idx) {
    (void)mp; (void)idx;
    const stamp_arg *a = arg;
    struct rte_mbuf *m = obj;
    memcpy((uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM, a->frame, a->len);
}

int cdpdk_pool_stamp(uint16_t port, const uint8_t *frame, uint32_t len) {
    if (!cdpdk_port_is_open(port) || len > ports[port].max_frame) return -EINVAL;
    stamp_arg a = {frame, len};
    rte_mempool_obj_iter(ports[port].pool, stamp_one, &a);
    return 0;
}

// The driver's rx timestamp of `m` when it set one, else 0.
static inline uint64_t hw_ts_of(const struct rte_mbuf *m) {
    return (ts_offset >= 0 && (m->ol_flags & ts_flag)) ? *RTE_MBUF_DYNFIELD(m, ts_offset, const uint64_t *) : 0;
}

uint16_t cdpdk_rx_burst(uint16_t port, uint16_t queue, cdpdk_pkt *pkts, uint16_t max) {
    struct rte_mbuf *mb[CDPDK_MAX_BURST];
    if (max > CDPDK_MAX_BURST) max = CDPDK_MAX_BURST;
    uint16_t n = rte_eth_rx_burst(port, queue, mb, max);
    if (n == 0) return 0;
    uint64_t tsc = rte_rdtsc();
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = mb[i];
        const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
        rte_prefetch0(d);
        pkts[i].data = d;
        pkts[i].len = m->data_len;
        pkts[i].pkt_len = m->pkt_len;
        pkts[i].rx_tsc = tsc;
        pkts[i].hw_ts = hw_ts_of(m);
        pkts[i].mbuf = m;
    }
    return n;
}

// Frees the mbufs of `n` views whose `mbuf` fields lie `stride` bytes apart from `first`.
static void free_view_mbufs(const char *first, size_t stride, uint16_t n) {
    struct rte_mbuf *mb[CDPDK_MAX_BURST];
    while (n > 0) {
        uint16_t k = n > CDPDK_MAX_BURST ? CDPDK_MAX_BURST : n;
        for (uint16_t i = 0; i < k; i++) mb[i] = *(struct rte_mbuf *const *)(first + (size_t)i * stride);
        rte_pktmbuf_free_bulk(mb, k);
        first += (size_t)k * stride;
        n -= k;
    }
}

void cdpdk_rx_free(cdpdk_pkt *pkts, uint16_t n) { free_view_mbufs((const char *)&pkts->mbuf, sizeof *pkts, n); }

uint16_t cdpdk_rx_udp(uint16_t port, uint16_t queue, const cn_udp_dest *dests, unsigned ndests,
                      cdpdk_udp *out, uint16_t max, uint64_t *rx_tsc, cdpdk_udp_counts *counts) {
    struct rte_mbuf *mb[CDPDK_MAX_BURST], *drop[CDPDK_MAX_BURST];
    if (max > CDPDK_MAX_BURST) max = CDPDK_MAX_BURST;
    uint16_t n = rte_eth_rx_burst(port, queue, mb, max);
    if (n == 0) return 0;
    *rx_tsc = rte_rdtsc();
    for (uint16_t i = 0; i < n; i++) rte_prefetch0(rte_pktmbuf_mtod(mb[i], const void *));
    uint16_t kept = 0, dropped = 0;
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = mb[i];
        cn_udp_view v;
        int s = cn_parse_udp_whole(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, CN_LINK_ETHERNET, &v);
        int d = s == CN_FRAME_UDP ? cn_udp_match(&v, dests, ndests) : -1;
        if (d < 0) {
            if (s == CN_FRAME_UDP) counts->other_udp++;
            else { counts->not_udp++; counts->by_status[s - CN_FRAME_STATUS_MIN]++; }
            drop[dropped++] = m;
            continue;
        }
        cdpdk_udp *u = &out[kept++];
        u->payload = v.payload;
        u->len = v.payload_len;
        u->dest = (uint16_t)d;
        u->hw_ts = hw_ts_of(m);
        u->mbuf = m;
    }
    counts->frames += n;
    if (dropped) rte_pktmbuf_free_bulk(drop, dropped);
    return kept;
}

void cdpdk_rx_udp_free(cdpdk_udp *v, uint16_t n) { free_view_mbufs((const char *)&v->mbuf, sizeof *v, n); }

uint16_t cdpdk_tx_copy(uint16_t port, uint16_t queue, const cdpdk_frame *frames, uint16_t n) {
    if (!cdpdk_port_is_open(port)) return 0;
    struct rte_mbuf *mb[CDPDK_MAX_BURST];
    if (n > CDPDK_MAX_BURST) n = CDPDK_MAX_BURST;
    uint16_t k = 0; // frames that fit
    while (k < n && frames[k].len <= ports[port].max_frame) k++;
    if (k == 0 || rte_pktmbuf_alloc_bulk(ports[port].pool, mb, k) != 0) return 0;
    for (uint16_t i = 0; i < k; i++) {
        char *d = rte_pktmbuf_append(mb[i], (uint16_t)frames[i].len);
        memcpy(d, frames[i].data, frames[i].len);
    }
    uint16_t sent = rte_eth_tx_burst(port, queue, mb, k);
    if (sent < k) rte_pktmbuf_free_bulk(mb + sent, k - sent);
    return sent;
}

int cdpdk_port_stats(uint16_t port, cdpdk_stats *out) {
    struct rte_eth_stats s;
    int rc = rte_eth_stats_get(port, &s);
    if (rc != 0) return rc;
    out->ipackets = s.ipackets;
    out->ibytes = s.ibytes;
    out->imissed = s.imissed;
    out->ierrors = s.ierrors;
    out->rx_nombuf = s.rx_nombuf;
    out->opackets = s.opackets;
    out->obytes = s.obytes;
    out->oerrors = s.oerrors;
    return 0;
}

int cdpdk_port_stats_reset(uint16_t port) { return rte_eth_stats_reset(port); }

#if defined(__x86_64__)
#pragma clang attribute pop
#endif
