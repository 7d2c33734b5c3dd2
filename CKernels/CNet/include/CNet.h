// CNet: packet I/O. Header-inline so Swift and C callers inline them at -O.
#ifndef CNET_H
#define CNET_H
#include "cn_pcap.h"
#include "cn_packet.h"
#endif
