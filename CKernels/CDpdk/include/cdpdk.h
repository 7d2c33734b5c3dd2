// CDpdk: a DPDK 22.11 receive and transmit path behind a plain C API, so Swift
// never parses an rte header. Works without a NIC through virtual devices:
//   --vdev=net_pcap0,rx_pcap=FILE[,infinite_rx=1]   replay a pcap / pcapng file
//   --vdev=net_null0[,size=N]                       endless frames, no data written
//   --vdev=net_ring0                                tx loops back into rx
//   --vdev=net_af_packet0,iface=IF                  a kernel interface (a veth)
//
// EAL initialises once per process (rte_eal_init cannot be undone and redone),
// and pins the calling thread to the first core of `-l`. The rx/tx calls are for
// one polling thread per (port, queue); set-up and stats are not for the hot path.
#ifndef CDPDK_H
#define CDPDK_H

#include <stddef.h>
#include <stdint.h>
// Frames to UDP payloads and back: CNet's parser and builder (cn_parse_udp_whole with
// CN_LINK_ETHERNET, cn_udp_match, cn_put_udp_frame), re-exported to `import CDpdk` callers.
#include "cn_packet.h"

#define CDPDK_MAX_BURST 256
#define CDPDK_MAX_PORTS 32 // RTE_MAX_ETHPORTS in Debian's build

// ---- EAL -------------------------------------------------------------------

// rte_eal_init on a private copy of argv (argv[0] is the program name).
// Returns 0, or a negative errno with `err` (when not NULL) saying why, like
// cdpdk_port_open: -EALREADY on a second call in one process, -EINVAL for an argc
// outside 1...64, -ENOMEM, or -rte_errno when EAL refuses its arguments or the machine.
int cdpdk_init(int argc, const char *const *argv, char *err, size_t errcap);
int cdpdk_initialized(void); // 1 after a successful cdpdk_init
void cdpdk_cleanup(void);    // closes open ports and calls rte_eal_cleanup; EAL cannot be started again
uint64_t cdpdk_tsc_hz(void); // rte_get_tsc_hz(): EAL's own calibration of the rx timestamps' clock
unsigned cdpdk_lcore(void);  // rte_lcore_id() of the calling thread
// Bytes of free hugepages of the default size (/proc/meminfo: HugePages_Free x Hugepagesize):
// what EAL can take with --in-memory. 0 when none are reserved (vm.nr_hugepages) or unreadable.
uint64_t cdpdk_free_hugepage_bytes(void);

// ---- ports -----------------------------------------------------------------

typedef struct {
    uint16_t rx_queues;   // default 1
    uint16_t tx_queues;   // default 1
    uint16_t rx_ring;     // descriptors per rx queue, default 1024 (adjusted to the driver's limits)
    uint16_t tx_ring;     // descriptors per tx queue, default 1024
    uint32_t pool_mbufs;  // mbufs in the port's pool, default 8191; net_pcap infinite_rx keeps the whole file in it
    uint32_t pool_cache;  // per-lcore cache, default 256
    uint16_t data_room;   // bytes per mbuf including 128 of headroom, default 2176 (a 2048-byte frame)
    uint8_t promiscuous;  // default 1
} cdpdk_port_conf;

void cdpdk_port_conf_default(cdpdk_port_conf *c);

uint16_t cdpdk_port_count(void);                          // ports EAL probed (vdevs included)
int cdpdk_port_by_name(const char *name, uint16_t *port); // 0, or -ENODEV
int cdpdk_port_name(uint16_t port, char *buf, size_t cap); // 0, or -ENODEV

// Configures the port, creates its mbuf pool on the port's NUMA socket, sets up
// the queues and starts it. Returns 0, or a negative errno with `err` saying
// which step failed and why.
int cdpdk_port_open(uint16_t port, const cdpdk_port_conf *conf, char *err, size_t errcap);
void cdpdk_port_close(uint16_t port); // stop, close, free the pool; frees nothing still held in views
int cdpdk_port_is_open(uint16_t port);

// Writes `len` bytes at the data start of every mbuf in the port's pool.
// net_null never writes frame data, so a pool stamped with one valid frame turns
// it into an endless source of that frame (for throughput runs). Returns 0 or -EINVAL.
int cdpdk_pool_stamp(uint16_t port, const uint8_t *frame, uint32_t len);

// ---- rx --------------------------------------------------------------------

// One received frame. The bytes stay valid until the view goes back through
// cdpdk_rx_free; the mbuf is the driver's until then, so free promptly or the pool runs dry.
typedef struct {
    const uint8_t *data; // the frame, from its Ethernet header
    uint32_t len;        // bytes at `data` (the first segment)
    uint32_t pkt_len;    // whole frame; > len only for a chained (multi-segment) mbuf
    uint64_t rx_tsc;     // TSC read once per burst, right after the driver returned it
    uint64_t hw_ts;      // the driver's rx timestamp when it set one, else 0. Units are the driver's:
                         // net_pcap (22.11) gives the capture time in microseconds since the epoch
    void *mbuf;          // opaque, for cdpdk_rx_free
} cdpdk_pkt;

// Polls (port, queue) once; fills up to `max` (<= CDPDK_MAX_BURST) views and
// prefetches each frame's first cache line. Returns how many; 0 when nothing arrived.
uint16_t cdpdk_rx_burst(uint16_t port, uint16_t queue, cdpdk_pkt *pkts, uint16_t max);

// Gives `n` views' mbufs back to their pool.
void cdpdk_rx_free(cdpdk_pkt *pkts, uint16_t n);

// ---- rx of UDP datagrams ----------------------------------------------------

// One UDP datagram addressed to one of the caller's destinations, inside its frame.
typedef struct {
    const uint8_t *payload; // the UDP payload
    uint32_t len;           // payload bytes
    uint16_t dest;          // index of the destination it matched (cn_udp_match)
    uint64_t hw_ts;         // as cdpdk_pkt.hw_ts
    void *mbuf;             // opaque, for cdpdk_rx_udp_free
} cdpdk_udp;

// What cdpdk_rx_udp dropped, by cause; added to, never reset.
typedef struct {
    uint64_t frames;    // frames polled
    uint64_t other_udp; // whole UDP datagrams to none of the destinations
    uint64_t not_udp;   // frames that were no whole UDP datagram ...
    uint64_t by_status[CN_FRAME_STATUS_MAX - CN_FRAME_STATUS_MIN + 1]; // ... by cn_frame_status (index status - MIN)
} cdpdk_udp_counts;

// The feed handler's receive: polls (port, queue) once for up to `max` (<= CDPDK_MAX_BURST)
// frames, parses each down to UDP (cn_parse_udp_whole, Ethernet) and keeps those addressed to
// one of `dests` (cn_udp_match); every other frame is counted in `counts` and its mbuf freed
// at once. Returns the datagrams kept, in arrival order, and sets `*rx_tsc` (TSC read once,
// right after the driver returned) when any frame arrived. Parsing here, in one C loop
// beside the driver's, keeps the parser's view in registers instead of a struct per frame.
uint16_t cdpdk_rx_udp(uint16_t port, uint16_t queue, const cn_udp_dest *dests, unsigned ndests,
                      cdpdk_udp *out, uint16_t max, uint64_t *rx_tsc, cdpdk_udp_counts *counts);

// Gives `n` datagrams' mbufs back to their pool.
void cdpdk_rx_udp_free(cdpdk_udp *v, uint16_t n);

// ---- tx --------------------------------------------------------------------

typedef struct {
    const uint8_t *data;
    uint32_t len;
} cdpdk_frame;

// Copies frames into mbufs from the port's pool and hands them to the driver.
// Stops at the first frame it cannot send (no mbuf, ring full, longer than
// cdpdk_port_max_frame): returns how many of the first `n` went, and frees the rest's mbufs.
uint16_t cdpdk_tx_copy(uint16_t port, uint16_t queue, const cdpdk_frame *frames, uint16_t n);
uint32_t cdpdk_port_max_frame(uint16_t port); // the mbufs' data room less headroom; 0 when not open

// ---- stats -----------------------------------------------------------------

typedef struct {
    uint64_t ipackets, ibytes; // received
    uint64_t imissed;          // dropped by the device: rx ring full
    uint64_t ierrors;          // bad frames the device dropped
    uint64_t rx_nombuf;        // dropped for want of an mbuf: the pool ran dry
    uint64_t opackets, obytes, oerrors;
} cdpdk_stats;

int cdpdk_port_stats(uint16_t port, cdpdk_stats *out); // 0, or a negative errno
int cdpdk_port_stats_reset(uint16_t port);

#endif
