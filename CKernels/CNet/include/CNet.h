// CNet: the network edge of the hot path. UDP sockets with recvmmsg / sendmmsg
// batches (cn_udp.h) and io_uring multishot receive into provided buffers (cn_uring.h).
#ifndef CNET_H
#define CNET_H
#include "cn_udp.h"
#include "cn_uring.h"
#endif
