// CNet UDP sockets and recvmmsg / sendmmsg batches. See cn_udp.h.
#define _GNU_SOURCE
#include "cn_udp.h"
#include "csys_clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/errqueue.h>
#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SCM_TIMESTAMPING
#define SCM_TIMESTAMPING SO_TIMESTAMPING
#endif

const char *cn_strerror(int code) {
    int e = code < 0 ? -code : code;
    switch (e) {
    case 0: return "success";
    case CN_ENOINTERFACE: return "multicast sender needs a named interface (IP_MULTICAST_IF)";
    case CN_ENOTMULTICAST: return "not an IPv4 multicast group (224.0.0.0/4)";
    case CN_EBADADDRESS: return "not a dotted IPv4 address or known interface";
    case CN_ETTL: return "multicast TTL must be 0 (host) or 1 (link)";
    case CN_EBADPORT: return "port must be nonzero";
    default: return strerror(e); // glibc's table is static; "Unknown error N" otherwise
    }
}

int cn_sockaddr(const char *address, uint16_t port, struct sockaddr_in *out) {
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    if (!address || inet_pton(AF_INET, address, &out->sin_addr) != 1) return -CN_EBADADDRESS;
    return 0;
}

int cn_interface_resolve(const char *spec, cn_interface *out) {
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) spec = "127.0.0.1";
    struct in_addr want;
    int by_address = inet_pton(AF_INET, spec, &want) == 1;
    if (!by_address && strlen(spec) >= sizeof out->name) return -CN_EBADADDRESS;
    struct ifaddrs *all = NULL;
    if (getifaddrs(&all) != 0) return -errno;
    int found = 0;
    for (struct ifaddrs *a = all; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        struct in_addr addr = ((struct sockaddr_in *)a->ifa_addr)->sin_addr;
        if (by_address ? addr.s_addr == want.s_addr : strcmp(a->ifa_name, spec) == 0) {
            strncpy(out->name, a->ifa_name, sizeof out->name - 1);
            out->address = addr;
            found = 1;
            break;
        }
    }
    freeifaddrs(all);
    if (!found) return by_address ? -EADDRNOTAVAIL : -ENODEV;
    out->index = (int)if_nametoindex(out->name);
    return out->index > 0 ? 0 : -ENODEV;
}

int cn_interface_timestamping(const char *ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ethtool_ts_info info = {.cmd = ETHTOOL_GET_TS_INFO};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    ifr.ifr_data = (char *)&info;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    int err = errno;
    close(fd);
    // Drivers without ethtool ops (EOPNOTSUPP) still get kernel software stamps.
    if (rc != 0) return err == EOPNOTSUPP ? (int)(SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE) : -err;
    return (int)info.so_timestamping;
}

static int set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

static int fail(int fd, int code) {
    if (fd >= 0) close(fd);
    return code;
}

// Socket options shared by receivers: buffer size, timestamps.
static int rx_common(int fd, const cn_interface *ifc, int rcvbuf, int timestamps, cn_socket_info *info) {
    int rc;
    if (rcvbuf > 0) {
        // SO_RCVBUFFORCE passes rmem_max when we hold CAP_NET_ADMIN; plain SO_RCVBUF otherwise.
        if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf) != 0 && (rc = set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf))) return rc;
    }
    socklen_t len = sizeof info->rcvbuf_granted;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &info->rcvbuf_granted, &len) != 0) return -errno;
    info->timestamping = CN_TS_NONE;
    info->ts_flags = 0;
    if (timestamps) {
        uint32_t flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
        int caps = ifc ? cn_interface_timestamping(ifc->name) : 0;
        uint32_t hw = SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_RAW_HARDWARE;
        if (caps > 0 && ((uint32_t)caps & hw) == hw) flags |= hw;
        if ((rc = set_int(fd, SOL_SOCKET, SO_TIMESTAMPING, (int)flags))) return rc;
        info->ts_flags = flags;
        info->timestamping = (flags & hw) ? CN_TS_HARDWARE : CN_TS_SOFTWARE;
    }
    return 0;
}

int cn_mcast_rx_open(const cn_mcast_rx_config *cfg, cn_socket_info *info) {
    memset(info, 0, sizeof *info);
    info->fd = -1;
    int rc;
    if (cfg->port == 0) return -CN_EBADPORT;
    if ((rc = cn_sockaddr(cfg->group, cfg->port, &info->group))) return rc;
    if (!IN_MULTICAST(ntohl(info->group.sin_addr.s_addr))) return -CN_ENOTMULTICAST;
    struct in_addr source = {0};
    if (cfg->source && inet_pton(AF_INET, cfg->source, &source) != 1) return -CN_EBADADDRESS;
    if ((rc = cn_interface_resolve(cfg->interface, &info->interface))) return rc;

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (cfg->nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -errno;
    // Several receivers may join the same group:port (each gets every datagram: A/B, tools, tests).
    if ((rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1))) return fail(fd, rc);
    if ((rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1))) return fail(fd, rc);
    if ((rc = rx_common(fd, &info->interface, cfg->rcvbuf, cfg->timestamps, info))) return fail(fd, rc);
    // Deliver only groups this socket joined, not every group any socket on the host joined.
    if ((rc = set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0))) return fail(fd, rc);
    // Bound to the group address, the socket drops unicast and other groups on the same port.
    if (bind(fd, (struct sockaddr *)&info->group, sizeof info->group) != 0) return fail(fd, -errno);
    if (cfg->source) {
        struct ip_mreq_source m = {.imr_multiaddr = info->group.sin_addr, .imr_interface = info->interface.address, .imr_sourceaddr = source};
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof m) != 0) return fail(fd, -errno);
    } else {
        struct ip_mreqn m = {.imr_multiaddr = info->group.sin_addr, .imr_address = info->interface.address, .imr_ifindex = info->interface.index};
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) return fail(fd, -errno);
    }
    info->fd = fd;
    return fd;
}

cn_mcast_tx_config cn_mcast_tx_config_default(const char *group, uint16_t port) {
    cn_mcast_tx_config c = {.group = group, .port = port, .interface = "127.0.0.1", .ttl = 1, .nonblocking = 0, .sndbuf = 0};
    return c;
}

int cn_mcast_tx_open(const cn_mcast_tx_config *cfg, cn_socket_info *info) {
    memset(info, 0, sizeof *info);
    info->fd = -1;
    int rc;
    if (!cfg->interface || !*cfg->interface) return -CN_ENOINTERFACE;
    if (cfg->ttl < 0 || cfg->ttl > CN_MCAST_TTL_MAX) return -CN_ETTL;
    if (cfg->port == 0) return -CN_EBADPORT;
    if ((rc = cn_sockaddr(cfg->group, cfg->port, &info->group))) return rc;
    if (!IN_MULTICAST(ntohl(info->group.sin_addr.s_addr))) return -CN_ENOTMULTICAST;
    if ((rc = cn_interface_resolve(cfg->interface, &info->interface))) return rc;

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (cfg->nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -errno;
    struct ip_mreqn m = {.imr_address = info->interface.address, .imr_ifindex = info->interface.index};
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0) return fail(fd, -errno);
    if ((rc = set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1))) return fail(fd, rc);
    if ((rc = set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, cfg->ttl))) return fail(fd, rc);
    if (cfg->sndbuf > 0 && set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, cfg->sndbuf) != 0 &&
        (rc = set_int(fd, SOL_SOCKET, SO_SNDBUF, cfg->sndbuf)))
        return fail(fd, rc);
    // Source address = the interface's, so receivers see who sent it and replies come back the same way.
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = info->interface.address};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) return fail(fd, -errno);
    if (connect(fd, (struct sockaddr *)&info->group, sizeof info->group) != 0) return fail(fd, -errno);
    info->fd = fd;
    return fd;
}

int cn_udp_open(const char *address, uint16_t port, int nonblocking, int rcvbuf, cn_socket_info *info) {
    memset(info, 0, sizeof *info);
    info->fd = -1;
    int rc;
    if ((rc = cn_sockaddr(address ? address : "127.0.0.1", port, &info->group))) return rc;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -errno;
    if ((rc = rx_common(fd, NULL, rcvbuf, 0, info))) return fail(fd, rc);
    if (bind(fd, (struct sockaddr *)&info->group, sizeof info->group) != 0) return fail(fd, -errno);
    socklen_t len = sizeof info->group;
    if (getsockname(fd, (struct sockaddr *)&info->group, &len) != 0) return fail(fd, -errno);
    info->fd = fd;
    return fd;
}

void cn_udp_close(int fd) {
    if (fd >= 0) close(fd);
}

int cn_batch_init(cn_batch *b, uint32_t capacity, uint32_t slot_size) {
    memset(b, 0, sizeof *b);
    if (capacity == 0 || slot_size == 0 || capacity > 65536) return -EINVAL;
    b->capacity = capacity;
    b->slot_size = slot_size;
    size_t data_bytes = ((size_t)capacity * slot_size + 63) & ~(size_t)63;
    if (posix_memalign((void **)&b->data, 64, data_bytes) != 0) goto oom;
    b->datagrams = calloc(capacity, sizeof *b->datagrams);
    b->msgs = calloc(capacity, sizeof *b->msgs);
    b->iov = calloc(capacity, sizeof *b->iov);
    b->control = calloc(capacity, CN_CONTROL_SIZE);
    if (!b->datagrams || !b->msgs || !b->iov || !b->control) goto oom;
    memset(b->data, 0, data_bytes); // touch every page now, not on the first receive
    for (uint32_t i = 0; i < capacity; i++) {
        b->iov[i].iov_base = cn_batch_slot(b, i);
        b->iov[i].iov_len = slot_size;
        struct msghdr *h = &b->msgs[i].msg_hdr;
        h->msg_iov = &b->iov[i];
        h->msg_iovlen = 1;
    }
    return 0;
oom:
    cn_batch_free(b);
    return -ENOMEM;
}

void cn_batch_free(cn_batch *b) {
    free(b->data);
    free(b->datagrams);
    free(b->msgs);
    free(b->iov);
    free(b->control);
    memset(b, 0, sizeof *b);
}

static inline uint64_t ts_ns(const struct timespec *t) {
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

int cn_cmsg_timestamp(const struct cmsghdr *c, uint64_t *out) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPING) return -ENOMSG;
    if (c->cmsg_len < CMSG_LEN(sizeof(struct scm_timestamping))) return -EMSGSIZE;
    // ts[0] software, ts[2] raw hardware (ts[1] is unused). CMSG_DATA may be unaligned for timespec.
    struct scm_timestamping t;
    memcpy(&t, CMSG_DATA(c), sizeof t);
    uint64_t hw = ts_ns(&t.ts[2]);
    *out = hw ? hw : ts_ns(&t.ts[0]);
    return hw ? CN_RX_HW_TS : 0;
}

static inline void read_timestamp(struct msghdr *h, cn_datagram *d) {
    d->ts_ns = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        int kind = cn_cmsg_timestamp(c, &d->ts_ns);
        if (kind > 0) d->flags |= (uint32_t)kind;
    }
}

static uint64_t rdtsc_stamp(void) { return csys_rdtsc(); }

int cn_udp_recv_batch_stamped(int fd, cn_batch *b, uint64_t (*stamp)(void)) {
    // The kernel overwrites msg_namelen / msg_controllen / msg_len per message: reset them.
    for (uint32_t i = 0; i < b->capacity; i++) {
        struct msghdr *h = &b->msgs[i].msg_hdr;
        h->msg_name = &b->datagrams[i].src;
        h->msg_namelen = sizeof(struct sockaddr_in);
        h->msg_control = b->control + (size_t)i * CN_CONTROL_SIZE;
        h->msg_controllen = CN_CONTROL_SIZE;
        h->msg_flags = 0;
    }
    int n = recvmmsg(fd, b->msgs, b->capacity, MSG_WAITFORONE, NULL);
    b->tsc = stamp();
    if (n < 0) {
        b->count = 0;
        return -errno;
    }
    uint32_t missing = 0;
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &b->msgs[i].msg_hdr;
        cn_datagram *d = &b->datagrams[i];
        d->flags = (h->msg_flags & MSG_TRUNC) ? CN_RX_TRUNCATED : 0;
        d->len = b->msgs[i].msg_len < b->slot_size ? b->msgs[i].msg_len : b->slot_size;
        read_timestamp(h, d);
        missing += d->ts_ns == 0;
    }
    b->count = (uint32_t)n;
    b->ts_missing = missing;
    return n;
}

int cn_udp_recv_batch(int fd, cn_batch *b) { return cn_udp_recv_batch_stamped(fd, b, rdtsc_stamp); }

int cn_udp_send_batch(int fd, cn_batch *b, uint32_t n, const struct sockaddr_in *dst) {
    if (n > b->capacity) n = b->capacity;
    for (uint32_t i = 0; i < n; i++) {
        struct msghdr *h = &b->msgs[i].msg_hdr;
        b->iov[i].iov_len = b->datagrams[i].len <= b->slot_size ? b->datagrams[i].len : b->slot_size;
        h->msg_name = (void *)dst;
        h->msg_namelen = dst ? sizeof *dst : 0;
        h->msg_control = NULL;
        h->msg_controllen = 0;
    }
    uint32_t sent = 0;
    while (sent < n) {
        int r = sendmmsg(fd, b->msgs + sent, n - sent, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (sent == 0) sent = (uint32_t)-errno; // report the error only when nothing went
            break;
        }
        sent += (uint32_t)r;
    }
    // Give the slots back their full length for the next receive.
    for (uint32_t i = 0; i < n; i++) b->iov[i].iov_len = b->slot_size;
    return (int)sent;
}

int cn_udp_send_to(int fd, const void *data, size_t len, const struct sockaddr_in *dst) {
    ssize_t r = sendto(fd, data, len, 0, (const struct sockaddr *)dst, dst ? sizeof *dst : 0);
    return r < 0 ? -errno : (int)r;
}

int cn_netns_enter(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int cn_netns_private_loopback(void) {
    if (unshare(CLONE_NEWNET) != 0) return -errno;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) rc = -errno;
    ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
    if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) rc = -errno;
    close(fd);
    return rc;
}
