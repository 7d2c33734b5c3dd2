// CNet io_uring receive: one ring per socket, a multishot recvmsg that keeps
// delivering datagrams into a provided buffer ring until it ends, when it is
// re-armed. Consumers take batches of views (pointer, length, buffer id) with
// cn_uring_rx_burst and hand the buffers back with cn_uring_rx_release; the
// kernel reuses a buffer only after its release.
//
// Each buffer holds an io_uring_recvmsg_out header, the source address, the
// control (cmsg) area and then the payload: the kernel's per-datagram receive
// timestamp is parsed from that cmsg when the socket has SO_TIMESTAMPING on. A TSC
// stamp is taken once per burst (per completion batch), not per datagram.
//
// Built against liburing 2.3: io_uring_setup_buf_ring is not there, so the ring
// of provided buffers is page-aligned memory registered with io_uring_register_buf_ring.
// Allocation happens in cn_uring_rx_open only.
#ifndef CN_URING_H
#define CN_URING_H

#include <stdint.h>
#include <netinet/in.h>

typedef struct cn_uring_rx cn_uring_rx; // opaque: liburing's types stay out of Swift's view

enum {
    CN_URING_SQPOLL = 1, // a kernel thread polls the submission queue (IORING_SETUP_SQPOLL)
    // The kernel copies datagrams only when the consumer asks (IORING_SETUP_DEFER_TASKRUN |
    // SINGLE_ISSUER): a burst that finds no completions enters the kernel once to run that work.
    // Without it (and without SQPOLL) the ring is cooperative (COOP_TASKRUN | TASKRUN_FLAG): the
    // kernel flags pending work instead of interrupting the thread, and every burst that sees
    // the flag enters the kernel to run it. With it, the ring must be used by the thread that
    // opened it; not with SQPOLL.
    CN_URING_DEFER_TASKRUN = 2,
    // Submit the multishot receive at the first burst or wait, not in cn_uring_rx_open: until
    // then datagrams queue in the socket, as they would for recvmmsg.
    CN_URING_ARM_LATER = 4,
};

typedef struct {
    uint32_t buffers;     // provided buffers, a power of two (≤ 32768)
    uint32_t buffer_size; // bytes per buffer, header + address + control + payload
    uint32_t sq_entries;  // submission queue size (the re-arm needs one)
    uint32_t flags;       // CN_URING_*
    uint32_t sqpoll_idle_ms; // SQPOLL thread idles to sleep after this long without work
    int sqpoll_cpu;       // pin the SQPOLL thread to this CPU, or -1
} cn_uring_config;

cn_uring_config cn_uring_config_default(void); // 1024 × 2048 bytes, 64 entries, no SQPOLL

typedef struct {
    const uint8_t *data;    // payload, inside the provided buffer
    uint32_t len;           // payload bytes
    uint16_t buffer_id;     // give back with cn_uring_rx_release
    uint16_t flags;         // CN_RX_* (cn_udp.h): truncated, hardware stamp
    uint64_t ts_ns;         // kernel receive timestamp from the cmsg; 0 when the socket has none
    struct sockaddr_in src; // sender
} cn_uring_view;

typedef struct {
    uint64_t datagrams;  // views handed out
    uint64_t rearms;     // multishot submissions after the first (it ended: no IORING_CQE_F_MORE)
    uint64_t no_buffers; // completions with -ENOBUFS: all buffers were held by the consumer
    uint64_t truncated;  // datagrams cut to fit a buffer
    uint64_t malformed;  // completions whose buffer failed io_uring_recvmsg_validate (dropped)
    uint64_t overflow_flushes; // bursts that found completions overflowed from a full CQ
    uint64_t tsc;        // csys_rdtsc() at the last burst that returned datagrams
} cn_uring_stats;

// Opens a ring on fd (which stays the caller's) and arms the multishot receive (unless CN_URING_ARM_LATER).
// Returns 0 and *out, or a negative code (cn_strerror).
int cn_uring_rx_open(int fd, const cn_uring_config *cfg, cn_uring_rx **out);
void cn_uring_rx_close(cn_uring_rx *r);

// Takes up to max completed datagrams without blocking; re-arms the multishot when it
// has ended. Returns the count (0: nothing yet) or a negative code (a receive error).
int cn_uring_rx_burst(cn_uring_rx *r, cn_uring_view *out, uint32_t max);

// Blocks until at least one completion is ready or timeout_ns passes (0: wait forever).
// 0, -ETIME on timeout, or a negative code.
int cn_uring_rx_wait(cn_uring_rx *r, uint64_t timeout_ns);

// Returns the buffers of views[0..<n] to the kernel (any order, any subset).
void cn_uring_rx_release(cn_uring_rx *r, const cn_uring_view *views, uint32_t n);

// Counters, and whether the socket's datagrams carry kernel timestamps is up to the socket.
cn_uring_stats cn_uring_rx_stats(const cn_uring_rx *r);

#endif
