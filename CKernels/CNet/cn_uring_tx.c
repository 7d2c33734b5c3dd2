// CNet io_uring send, at most one in flight. See cn_uring_tx.h.
#define _GNU_SOURCE
#include "cn_uring_tx.h"
#include "cn_uring_sqpoll.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct cn_uring_tx {
    struct io_uring ring;
    int fd;
    int sqpoll;
    int in_flight;
    cn_uring_tx_stats st;
};

int cn_uring_tx_open(int fd, const cn_uring_config *cfg, cn_uring_tx **out) {
    *out = NULL;
    if (cfg->sq_entries == 0 || (cfg->flags & ~(uint32_t)CN_URING_SQPOLL) != 0) return -EINVAL;
    cn_uring_tx *t = calloc(1, sizeof *t);
    if (!t) return -ENOMEM;
    t->fd = fd;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    t->sqpoll = cn_uring_set_sqpoll(&p, cfg);
    int rc = io_uring_queue_init_params(cfg->sq_entries, &t->ring, &p);
    if (rc < 0) { free(t); return rc; }
    *out = t;
    return 0;
}

int cn_uring_tx_reap(cn_uring_tx *t, int32_t *result) {
    if (!t->in_flight) return 0;
    struct io_uring_cqe *cqe;
    if (io_uring_peek_cqe(&t->ring, &cqe) != 0) return 0; // a load of the CQ tail: no syscall
    *result = cqe->res;
    if (cqe->res > 0) t->st.bytes += (uint64_t)cqe->res;
    io_uring_cqe_seen(&t->ring, cqe);
    t->in_flight = 0;
    return 1;
}

int cn_uring_tx_send(cn_uring_tx *t, const void *buf, uint32_t len) {
    if (t->in_flight) return -EBUSY;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_send(sqe, t->fd, buf, len, MSG_NOSIGNAL);
    // io_uring_submit enters the kernel only to wake a sleeping SQPOLL thread (or always without SQPOLL).
    if (t->sqpoll) {
        if (IO_URING_READ_ONCE(*t->ring.sq.kflags) & IORING_SQ_NEED_WAKEUP) t->st.wakeups++;
    } else {
        t->st.enters++;
    }
    int rc = io_uring_submit(&t->ring);
    if (rc < 0) return rc;
    t->in_flight = 1;
    t->st.sends++;
    return 0;
}

void cn_uring_tx_close(cn_uring_tx *t) {
    if (!t) return;
    if (t->in_flight) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 100000000};
        if (io_uring_wait_cqe_timeout(&t->ring, &cqe, &ts) == 0) io_uring_cqe_seen(&t->ring, cqe);
    }
    io_uring_queue_exit(&t->ring);
    free(t);
}

cn_uring_tx_stats cn_uring_tx_stats_get(const cn_uring_tx *t) { return t->st; }
