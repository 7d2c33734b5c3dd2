// CNet io_uring send: one ring per connected socket, at most one send in flight. With
// CN_URING_SQPOLL a kernel thread polls the submission queue, so queueing a send is a store to
// shared memory and no syscall (unless that thread idled to sleep: then one io_uring_enter wakes
// it, counted in wakeups). The bytes of a send must stay unchanged until cn_uring_tx_reap has
// returned its completion; the caller keeps them (SoupLink's send buffer).
#ifndef CN_URING_TX_H
#define CN_URING_TX_H

#include "cn_uring.h"
#include <stdint.h>

typedef struct cn_uring_tx cn_uring_tx; // opaque: liburing's types stay out of Swift's view

typedef struct {
    uint64_t sends;     // sends submitted
    uint64_t bytes;     // bytes the completions reported sent
    uint64_t wakeups;   // submissions that found the SQPOLL thread asleep (one io_uring_enter each)
    uint64_t enters;    // submissions that entered the kernel (every one without SQPOLL)
} cn_uring_tx_stats;

// Opens a ring for sends on fd (which stays the caller's); cfg's sq_entries, flags (CN_URING_SQPOLL
// only), sqpoll_idle_ms and sqpoll_cpu apply, its buffers do not. 0 and *out, or a negative code.
int cn_uring_tx_open(int fd, const cn_uring_config *cfg, cn_uring_tx **out);
// Waits up to 100 ms for a send in flight (its bytes are the caller's), then closes the ring.
void cn_uring_tx_close(cn_uring_tx *t);

// Queues a send of len bytes at buf (MSG_NOSIGNAL). 0, -EBUSY while one is in flight, or a negative code.
int cn_uring_tx_send(cn_uring_tx *t, const void *buf, uint32_t len);

// The send in flight's completion, without blocking: 1 with *result (bytes sent, or a negative
// errno such as -EAGAIN: nothing sent, send again), 0 while it is in flight or none is.
int cn_uring_tx_reap(cn_uring_tx *t, int32_t *result);

cn_uring_tx_stats cn_uring_tx_stats_get(const cn_uring_tx *t);

#endif
