// Private to CNet (not under include/, so not in Swift's view): the SQPOLL part of a ring's setup,
// shared by the receive (cn_uring.c) and send (cn_uring_tx.c) rings.
#ifndef CN_URING_SQPOLL_H
#define CN_URING_SQPOLL_H

#include "cn_uring.h"
#include <liburing.h>

// With CN_URING_SQPOLL: a kernel thread polls the submission queue, sleeping after
// sqpoll_idle_ms without work, pinned to sqpoll_cpu when that is not -1. Returns 1 when set.
static inline int cn_uring_set_sqpoll(struct io_uring_params *p, const cn_uring_config *cfg) {
    if (!(cfg->flags & CN_URING_SQPOLL)) return 0;
    p->flags |= IORING_SETUP_SQPOLL;
    p->sq_thread_idle = cfg->sqpoll_idle_ms;
    if (cfg->sqpoll_cpu >= 0) {
        p->flags |= IORING_SETUP_SQ_AFF;
        p->sq_thread_cpu = (uint32_t)cfg->sqpoll_cpu;
    }
    return 1;
}

#endif
