// CNet UDP: multicast receivers and senders, a plain unicast socket, and
// batch receive / send (recvmmsg / sendmmsg) into buffers set up once at start.
//
// Open and close run at start-up (they allocate, resolve interfaces, call
// setsockopt). The per-batch calls (cn_udp_recv_batch, cn_udp_send_batch) do
// one syscall per batch and never allocate. Errors are negative errno values
// or the CN_E* codes below; cn_strerror names either.
#ifndef CN_UDP_H
#define CN_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct mmsghdr; // <sys/socket.h> declares it only under _GNU_SOURCE; callers use the accessors

// Codes beyond errno's range, for mistakes errno has no word for.
enum {
    CN_ENOINTERFACE = 10001, // a multicast sender was asked for without naming an interface
    CN_ENOTMULTICAST = 10002, // the group is not an IPv4 multicast address (224.0.0.0/4)
    CN_EBADADDRESS = 10003,  // a group, source or interface string is not a dotted IPv4 address / known name
    CN_ETTL = 10004,         // multicast TTL outside 0...CN_MCAST_TTL_MAX
    CN_EBADPORT = 10005,     // port 0 where a port is required
};

// Text for a negative return (-errno or -CN_E*); never NULL.
const char *cn_strerror(int negative_code);

// Multicast TTL ceiling. 1 keeps datagrams on the link (routers drop TTL-1 packets
// after decrementing); 0 keeps them on the host (loopback copy only). Nothing in
// this project may leave the machine, so anything above 1 is refused.
#define CN_MCAST_TTL_MAX 1

// An interface resolved from a name ("lo", "eth0") or an IPv4 address ("127.0.0.1").
typedef struct {
    char name[16];          // IFNAMSIZ
    int index;              // if_nametoindex
    struct in_addr address; // its first IPv4 address
} cn_interface;

// 0, or negative code. NULL or "" resolves to the loopback default 127.0.0.1.
int cn_interface_resolve(const char *name_or_address, cn_interface *out);

// SOF_TIMESTAMPING_* capability flags the interface's driver reports (ETHTOOL_GET_TS_INFO),
// or a negative code. Loopback reports software stamps only.
int cn_interface_timestamping(const char *ifname);

// Kinds of receive timestamp a socket was given.
enum {
    CN_TS_NONE = 0,
    CN_TS_SOFTWARE = 1, // SOF_TIMESTAMPING_RX_SOFTWARE | SOFTWARE: stamped by the kernel on receive (CLOCK_REALTIME)
    CN_TS_HARDWARE = 2, // RX_HARDWARE | RAW_HARDWARE requested too: the NIC's clock, when its rx filter is on
};
// Hardware stamps also need the NIC's receive filter switched on (SIOCSHWTSTAMP, e.g.
// `hwstamp_ctl -i IF -r 1`), a device-wide setting this library leaves to the operator.
// The kernel switches software receive stamping on host-wide lazily (a static key flipped from
// a work queue) when the first socket asks: datagrams in the first milliseconds after that may
// arrive unstamped (ts_ns 0, counted in cn_batch.ts_missing).

typedef struct {
    const char *group;     // dotted IPv4 multicast group, e.g. "239.1.1.1"
    uint16_t port;         // UDP port, host order, nonzero
    const char *interface; // name or address; NULL / "" → 127.0.0.1 (loopback)
    const char *source;    // source-specific join (IP_ADD_SOURCE_MEMBERSHIP) when non-NULL
    int rcvbuf;            // SO_RCVBUF request in bytes; 0 leaves the default
    int nonblocking;       // O_NONBLOCK: a batch with nothing waiting returns -EAGAIN
    int timestamps;        // request SO_TIMESTAMPING (software, plus hardware where supported)
} cn_mcast_rx_config;

typedef struct {
    int fd;
    int rcvbuf_granted;  // SO_RCVBUF as read back (the kernel doubles requests, capped at rmem_max)
    int timestamping;    // CN_TS_* actually set
    uint32_t ts_flags;   // SOF_TIMESTAMPING_* flags passed to SO_TIMESTAMPING
    cn_interface interface;
    struct sockaddr_in group; // group:port bound
} cn_socket_info;

// Opens (SO_REUSEADDR + SO_REUSEPORT: every receiver of group:port gets each datagram;
// IP_MULTICAST_ALL 0), binds group:port and joins on the interface, source-specific when
// cfg->source is set. fd (>= 0) in info->fd and returned, or a negative code.
int cn_mcast_rx_open(const cn_mcast_rx_config *cfg, cn_socket_info *info);

typedef struct {
    const char *group;     // destination group
    uint16_t port;         // destination port
    const char *interface; // IP_MULTICAST_IF: required (NULL / "" is refused with -CN_ENOINTERFACE)
    int ttl;               // 0 (host only) or 1 (link only); see CN_MCAST_TTL_MAX
    int nonblocking;
    int sndbuf;            // SO_SNDBUF request; 0 leaves the default
} cn_mcast_tx_config;

// The defaults: loopback 127.0.0.1, TTL 1, blocking.
cn_mcast_tx_config cn_mcast_tx_config_default(const char *group, uint16_t port);

// Opens a sender with IP_MULTICAST_IF, IP_MULTICAST_LOOP 1 and the TTL, connected to group:port.
int cn_mcast_tx_open(const cn_mcast_tx_config *cfg, cn_socket_info *info);

// A plain unicast UDP socket bound to address:port (port 0 → ephemeral; the bound port
// is in info->group). For retransmission requests and their answers.
int cn_udp_open(const char *address, uint16_t port, int nonblocking, int rcvbuf, cn_socket_info *info);

void cn_udp_close(int fd);

// ---- batches ----------------------------------------------------------------

enum {
    CN_RX_TRUNCATED = 1, // datagram larger than the slot: the tail was cut (MSG_TRUNC)
    CN_RX_HW_TS = 2,     // ts_ns is the NIC's raw hardware stamp
};

// Per-datagram results of a receive batch.
typedef struct {
    uint64_t ts_ns;          // kernel receive timestamp in ns (CLOCK_REALTIME or NIC clock); 0 when none
    uint32_t len;            // bytes stored in the slot (or to send, for cn_udp_send_batch)
    uint32_t flags;          // CN_RX_*
    struct sockaddr_in src;  // sender address (receive); ignored on send
} cn_datagram;

#define CN_CONTROL_SIZE 128 // room for one SCM_TIMESTAMPING (3 timespecs) plus headers

// N slots of slot_size bytes and everything recvmmsg / sendmmsg needs, allocated once.
typedef struct {
    uint32_t capacity;      // slots
    uint32_t slot_size;     // bytes per slot
    uint32_t count;         // datagrams from the last receive
    uint32_t ts_missing;    // datagrams of the last receive without a timestamp
    uint64_t tsc;           // csys_rdtsc() taken as the last receive returned
    uint8_t *data;          // capacity × slot_size, 64-byte aligned
    cn_datagram *datagrams; // capacity
    struct mmsghdr *msgs;   // capacity
    struct iovec *iov;      // capacity
    uint8_t *control;       // capacity × CN_CONTROL_SIZE
} cn_batch;

// 0 or negative code. Allocates; do it at start.
int cn_batch_init(cn_batch *b, uint32_t capacity, uint32_t slot_size);
void cn_batch_free(cn_batch *b);

static inline uint8_t *cn_batch_slot(const cn_batch *b, uint32_t i) {
    return b->data + (size_t)i * b->slot_size;
}

// Receives up to capacity datagrams with one recvmmsg. Returns the count (> 0), or a
// negative code (-EAGAIN on a non-blocking socket with nothing waiting). A blocking
// socket waits for the first datagram only (MSG_WAITFORONE), then takes what is queued.
// Fills b->datagrams[0..<count], b->count, b->tsc.
int cn_udp_recv_batch(int fd, cn_batch *b);

// Same, with the TSC stamp supplied by the caller (taken however it likes) instead of csys_rdtsc.
int cn_udp_recv_batch_stamped(int fd, cn_batch *b, uint64_t (*stamp)(void));

// Sends slots 0..<n (lengths in b->datagrams[i].len) with sendmmsg, to dst, or to the
// connected peer when dst is NULL. Retries short sends; returns datagrams sent (n unless a
// non-blocking socket filled: then fewer, possibly 0), or a negative code on the first error.
int cn_udp_send_batch(int fd, cn_batch *b, uint32_t n, const struct sockaddr_in *dst);

// One datagram, for the request / response path. Bytes sent or a negative code.
int cn_udp_send_to(int fd, const void *data, size_t len, const struct sockaddr_in *dst);

struct cmsghdr;
// If c is an SCM_TIMESTAMPING message, stores its stamp in *ts_ns (the raw hardware stamp when
// the NIC gave one, else the software one) and returns CN_RX_HW_TS or 0; -ENOMSG for any other
// cmsg, -EMSGSIZE for one too short to hold the stamps.
// Shared by the recvmmsg and io_uring paths.
int cn_cmsg_timestamp(const struct cmsghdr *c, uint64_t *ts_ns);

// A sockaddr_in from dotted IPv4 and a port. 0 or -CN_EBADADDRESS.
int cn_sockaddr(const char *address, uint16_t port, struct sockaddr_in *out);

// Moves the calling thread into the network namespace at path (/run/netns/NAME): sockets it
// opens afterwards live there. 0 or a negative code. For tests and namespaced feed handlers.
int cn_netns_enter(const char *path);

// Moves the calling thread into a new, empty network namespace (unshare CLONE_NEWNET) and
// brings its loopback up with multicast on. Nothing else can reach it, and it vanishes when
// the thread and the last socket opened in it are gone. 0 or a negative code.
int cn_netns_private_loopback(void);

#endif
