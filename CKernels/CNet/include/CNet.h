// CNet: the network edge of the hot path. Capture files (cn_pcap.h: pcap / pcapng
// read and write; cn_packet.h: Ethernet / IPv4 / UDP frames), UDP sockets with
// recvmmsg / sendmmsg batches (cn_udp.h), io_uring multishot receive into
// provided buffers (cn_uring.h) and io_uring sends, SQPOLL or not (cn_uring_tx.h). The parsers are header-inline so Swift and C
// callers inline them at -O.
#ifndef CNET_H
#define CNET_H
#include "cn_pcap.h"
#include "cn_packet.h"
#include "cn_udp.h"
#include "cn_uring.h"
#include "cn_uring_tx.h"
#endif
