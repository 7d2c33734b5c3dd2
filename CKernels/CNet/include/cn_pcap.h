// Packet captures in memory: a zero-copy reader cursor over classic pcap and
// pcapng, and a writer for classic pcap (nanosecond, Ethernet). The reader walks
// a buffer the caller owns (an mmap, an inflated .gz): every length is checked
// before it is used, a record that runs past the end is reported as truncated,
// a block that cannot be right is reported as malformed; nothing is read past
// `size`. Formats: https://www.tcpdump.org/manpages/pcap-savefile.5.html and
// draft-ietf-opsawg-pcapng.
#ifndef CN_PCAP_H
#define CN_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cw_endian.h" // byte order (CWire): cw_ld* with the file's swap flag, cw_put_le* for what we write

// ---- link types (LINKTYPE_* values as stored in files)
#define CN_LINK_NULL 0          // BSD loopback: 4-byte address family in the writer's byte order
#define CN_LINK_ETHERNET 1
#define CN_LINK_RAW 101         // raw IPv4 or IPv6, no link header
#define CN_LINK_LINUX_SLL 113   // Linux cooked capture v1: 16-byte header
#define CN_LINK_IPV4 228        // raw IPv4
#define CN_LINK_LINUX_SLL2 276  // Linux cooked capture v2: 20-byte header

// ---- magics
#define CN_PCAP_MAGIC_US 0xA1B2C3D4u
#define CN_PCAP_MAGIC_NS 0xA1B23C4Du
#define CN_PCAPNG_SHB 0x0A0D0D0Au
#define CN_PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define CN_PCAPNG_IDB 0x00000001u
#define CN_PCAPNG_PB 0x00000002u   // obsolete Packet Block
#define CN_PCAPNG_SPB 0x00000003u
#define CN_PCAPNG_EPB 0x00000006u

#define CN_PCAP_FILE_HEADER_LEN 24
#define CN_PCAP_RECORD_HEADER_LEN 16
// libpcap refuses records larger than this (its MAXIMUM_SNAPLEN); a bigger length is corruption, not a capture.
#define CN_PCAP_MAX_CAPLEN 262144u
// Largest pcapng block accepted (libpcap's limit): a bigger length is corruption.
#define CN_PCAPNG_MAX_BLOCK (16u * 1024u * 1024u)
// Interfaces one pcapng section may declare; more is treated as malformed.
#define CN_PCAPNG_MAX_IF 64

typedef enum {
    CN_CAPTURE_UNKNOWN = 0,
    CN_CAPTURE_PCAP = 1,     // classic pcap, either magic, either byte order
    CN_CAPTURE_PCAPNG = 2,
} cn_capture_format;

// Identifies a capture from its first bytes (the magic), whatever the file is called.
static inline cn_capture_format cn_capture_detect(const uint8_t *buf, size_t size) {
    if (size < 4) return CN_CAPTURE_UNKNOWN;
    uint32_t m = cw_ld32(buf, 0);
    if (m == CN_PCAP_MAGIC_US || m == CN_PCAP_MAGIC_NS || m == cw_swap32(CN_PCAP_MAGIC_US) ||
        m == cw_swap32(CN_PCAP_MAGIC_NS))
        return CN_CAPTURE_PCAP;
    if (m == CN_PCAPNG_SHB) return CN_CAPTURE_PCAPNG;
    return CN_CAPTURE_UNKNOWN;
}

typedef enum {
    CN_PCAP_END = 0,         // every record read, the buffer ends on a record boundary
    CN_PCAP_PACKET = 1,      // *pkt holds the next packet
    CN_PCAP_TRUNCATED = -1,  // the last record runs past the end of the buffer (a capture cut short): not read
    CN_PCAP_MALFORMED = -2,  // a length or field that cannot be right: the walk stops there
    CN_PCAP_NOT_CAPTURE = -3,// cn_pcap_open: no pcap / pcapng magic, or a file header too short
} cn_pcap_status;

typedef struct {
    uint64_t ts_ns;          // capture time, ns since the Unix epoch (0 for a pcapng Simple Packet Block)
    const uint8_t *data;     // captured bytes, inside the reader's buffer
    uint32_t caplen;         // bytes captured (what `data` holds)
    uint32_t origlen;        // length on the wire
    uint32_t linktype;       // CN_LINK_* of the packet's interface
    uint32_t interface_id;   // pcapng interface index within its section; 0 for classic pcap
} cn_pcap_packet;

typedef struct {
    uint32_t linktype;
    uint32_t snaplen;
    uint8_t tsresol;         // pcapng if_tsresol: bit 7 clear: 10^-v s per unit; set: 2^-v s per unit
    int64_t tsoffset_s;      // pcapng if_tsoffset, seconds added to every timestamp
} cn_pcap_interface;

typedef struct {
    const uint8_t *buf;
    size_t size;
    size_t off;              // next record / block; on TRUNCATED or MALFORMED, the offset of the bad one
    cn_capture_format format;
    int swap;                // file (pcap) or current section (pcapng) is in the other byte order
    int nanosecond;          // classic pcap: the a1b23c4d magic
    int status;              // sticky once the walk has stopped: END, TRUNCATED or MALFORMED
    uint32_t n_if;
    cn_pcap_interface ifs[CN_PCAPNG_MAX_IF]; // classic pcap uses ifs[0]
    uint64_t packets;        // packets returned
    uint64_t truncated;      // records cut short at the end (0 or 1)
    uint64_t malformed;      // walks stopped by a malformed record (0 or 1)
    uint64_t sections;       // pcapng section header blocks seen
    uint64_t skipped_blocks; // pcapng blocks of other types (statistics, name resolution, custom ...)
} cn_pcap_reader;

// Opens a reader on `size` bytes. CN_PCAP_PACKET is never returned here: 0 (CN_PCAP_END) on
// success, CN_PCAP_NOT_CAPTURE when the magic is unknown or the classic file header is short.
// A pcapng file's first SHB is read by cn_pcap_next like any block.
static inline int cn_pcap_open(cn_pcap_reader *r, const uint8_t *buf, size_t size) {
    memset(r, 0, sizeof *r);
    r->buf = buf; r->size = size;
    r->format = cn_capture_detect(buf, size);
    if (r->format == CN_CAPTURE_UNKNOWN) { r->status = CN_PCAP_NOT_CAPTURE; return CN_PCAP_NOT_CAPTURE; }
    if (r->format == CN_CAPTURE_PCAP) {
        if (size < CN_PCAP_FILE_HEADER_LEN) { r->status = CN_PCAP_NOT_CAPTURE; return CN_PCAP_NOT_CAPTURE; }
        uint32_t m = cw_ld32(buf, 0);
        r->swap = !(m == CN_PCAP_MAGIC_US || m == CN_PCAP_MAGIC_NS);
        r->nanosecond = cw_ld32(buf, r->swap) == CN_PCAP_MAGIC_NS;
        r->ifs[0].snaplen = cw_ld32(buf + 16, r->swap);
        r->ifs[0].linktype = cw_ld32(buf + 20, r->swap) & 0xFFFFu; // upper bits carry FCS information
        r->n_if = 1;
        r->off = CN_PCAP_FILE_HEADER_LEN;
        // Only version 2.x exists (2.4 today): another is no file this reader understands, so its
        // walk stops at once, counted as malformed, rather than reading records as if it were.
        if (cw_ld16(buf + 4, r->swap) != 2) { r->malformed = 1; r->status = CN_PCAP_MALFORMED; }
    }
    return CN_PCAP_END;
}

// Stops the walk with a status; counted once.
static inline int cn_pcap_stop(cn_pcap_reader *r, int status) {
    if (status == CN_PCAP_TRUNCATED) r->truncated++;
    if (status == CN_PCAP_MALFORMED) r->malformed++;
    r->status = status;
    return status;
}

// Units of 10^-v or 2^-v seconds (pcapng if_tsresol) to nanoseconds; 128-bit so no resolution overflows.
static inline uint64_t cn_pcapng_ts_ns(uint64_t units, uint8_t tsresol) {
    uint8_t v = tsresol & 0x7F;
    if (tsresol & 0x80) {
        if (v > 63) return 0;
        return (uint64_t)(((unsigned __int128)units * 1000000000u) >> v);
    }
    if (v == 9) return units;
    uint64_t p = 1;
    if (v < 9) { for (uint8_t i = v; i < 9; i++) p *= 10; return units * p; }
    if (v - 9 > 19) return 0; // 10^20 does not fit: every count is under one ns
    for (uint8_t i = 9; i < v; i++) p *= 10;
    return units / p;
}

// Reads the options of an Interface Description Block that matter for timestamps.
static inline void cn_pcapng_idb_options(cn_pcap_interface *ifc, const uint8_t *p, size_t n, int swap) {
    size_t o = 0;
    while (n - o >= 4) {
        uint16_t code = cw_ld16(p + o, swap), len = cw_ld16(p + o + 2, swap);
        o += 4;
        if (code == 0 || len > n - o) return; // opt_endofopt, or an option running past the block
        if (code == 9 && len >= 1) ifc->tsresol = p[o];                           // if_tsresol
        if (code == 14 && len >= 8) ifc->tsoffset_s = (int64_t)cw_ld64(p + o, swap); // if_tsoffset
        size_t padded = ((size_t)len + 3u) & ~(size_t)3u;
        if (padded > n - o) return;
        o += padded;
    }
}

static inline int cn_pcap_next_classic(cn_pcap_reader *r, cn_pcap_packet *pkt) {
    size_t left = r->size - r->off;
    if (left == 0) { r->status = CN_PCAP_END; return CN_PCAP_END; }
    if (left < CN_PCAP_RECORD_HEADER_LEN) return cn_pcap_stop(r, CN_PCAP_TRUNCATED);
    const uint8_t *h = r->buf + r->off;
    uint32_t sec = cw_ld32(h, r->swap), frac = cw_ld32(h + 4, r->swap);
    uint32_t incl = cw_ld32(h + 8, r->swap), orig = cw_ld32(h + 12, r->swap);
    uint32_t limit = r->ifs[0].snaplen > CN_PCAP_MAX_CAPLEN ? r->ifs[0].snaplen : CN_PCAP_MAX_CAPLEN;
    if (incl > limit || incl > orig) return cn_pcap_stop(r, CN_PCAP_MALFORMED); // more captured than was on the wire
    if (left - CN_PCAP_RECORD_HEADER_LEN < incl) return cn_pcap_stop(r, CN_PCAP_TRUNCATED);
    pkt->ts_ns = (uint64_t)sec * 1000000000u + (r->nanosecond ? frac : (uint64_t)frac * 1000u);
    pkt->data = h + CN_PCAP_RECORD_HEADER_LEN;
    pkt->caplen = incl;
    pkt->origlen = orig;
    pkt->linktype = r->ifs[0].linktype;
    pkt->interface_id = 0;
    r->off += CN_PCAP_RECORD_HEADER_LEN + (size_t)incl;
    r->packets++;
    return CN_PCAP_PACKET;
}

static inline int cn_pcap_next_ng(cn_pcap_reader *r, cn_pcap_packet *pkt) {
    for (;;) {
        size_t left = r->size - r->off;
        if (left == 0) { r->status = CN_PCAP_END; return CN_PCAP_END; }
        if (left < 12) return cn_pcap_stop(r, CN_PCAP_TRUNCATED);
        const uint8_t *b = r->buf + r->off;
        uint32_t type = cw_ld32(b, r->swap);
        if (type == CN_PCAPNG_SHB) {
            // A new section: its byte-order magic says how to read everything up to the next SHB.
            uint32_t bom = cw_ld32(b + 8, 0);
            if (bom == CN_PCAPNG_BYTE_ORDER_MAGIC) r->swap = 0;
            else if (bom == cw_swap32(CN_PCAPNG_BYTE_ORDER_MAGIC)) r->swap = 1;
            else return cn_pcap_stop(r, CN_PCAP_MALFORMED);
        } else if (r->sections == 0) {
            return cn_pcap_stop(r, CN_PCAP_MALFORMED); // a block before any section header
        }
        uint32_t len = cw_ld32(b + 4, r->swap);
        if (len < 12 || (len & 3u) || len > CN_PCAPNG_MAX_BLOCK) return cn_pcap_stop(r, CN_PCAP_MALFORMED);
        if (len > left) return cn_pcap_stop(r, CN_PCAP_TRUNCATED);
        if (cw_ld32(b + len - 4, r->swap) != len) return cn_pcap_stop(r, CN_PCAP_MALFORMED);
        const uint8_t *body = b + 8;
        size_t blen = (size_t)len - 12; // between the leading length and the trailing one
        switch (type) {
        case CN_PCAPNG_SHB:
            if (blen < 16) return cn_pcap_stop(r, CN_PCAP_MALFORMED); // magic, version, section length
            if (cw_ld16(body + 4, r->swap) != 1) return cn_pcap_stop(r, CN_PCAP_MALFORMED); // only major version 1 exists
            r->sections++;
            r->n_if = 0;
            break;
        case CN_PCAPNG_IDB: {
            if (blen < 8 || r->n_if == CN_PCAPNG_MAX_IF) return cn_pcap_stop(r, CN_PCAP_MALFORMED);
            cn_pcap_interface *ifc = &r->ifs[r->n_if];
            ifc->linktype = cw_ld16(body, r->swap);
            ifc->snaplen = cw_ld32(body + 4, r->swap);
            ifc->tsresol = 6; // default: microseconds
            ifc->tsoffset_s = 0;
            cn_pcapng_idb_options(ifc, body + 8, blen - 8, r->swap);
            r->n_if++;
            break;
        }
        case CN_PCAPNG_EPB:
        case CN_PCAPNG_PB: {
            if (blen < 20) return cn_pcap_stop(r, CN_PCAP_MALFORMED);
            uint32_t ifid = type == CN_PCAPNG_EPB ? cw_ld32(body, r->swap) : cw_ld16(body, r->swap);
            uint32_t cap = cw_ld32(body + 12, r->swap), orig = cw_ld32(body + 16, r->swap);
            if (ifid >= r->n_if || cap > blen - 20 || cap > orig) return cn_pcap_stop(r, CN_PCAP_MALFORMED);
            const cn_pcap_interface *ifc = &r->ifs[ifid];
            uint64_t units = ((uint64_t)cw_ld32(body + 4, r->swap) << 32) | cw_ld32(body + 8, r->swap);
            pkt->ts_ns = cn_pcapng_ts_ns(units, ifc->tsresol) + (uint64_t)ifc->tsoffset_s * 1000000000u;
            pkt->data = body + 20;
            pkt->caplen = cap;
            pkt->origlen = orig;
            pkt->linktype = ifc->linktype;
            pkt->interface_id = ifid;
            r->off += len;
            r->packets++;
            return CN_PCAP_PACKET;
        }
        case CN_PCAPNG_SPB: {
            if (blen < 4 || r->n_if == 0) return cn_pcap_stop(r, CN_PCAP_MALFORMED);
            uint32_t orig = cw_ld32(body, r->swap);
            size_t room = blen - 4;
            uint32_t snap = r->ifs[0].snaplen;
            // Captured length is implied: the original length cut to the snap length and to the block.
            size_t cap = orig;
            if (snap != 0 && cap > snap) cap = snap;
            if (cap > room) cap = room;
            pkt->ts_ns = 0;
            pkt->data = body + 4;
            pkt->caplen = (uint32_t)cap;
            pkt->origlen = orig;
            pkt->linktype = r->ifs[0].linktype;
            pkt->interface_id = 0;
            r->off += len;
            r->packets++;
            return CN_PCAP_PACKET;
        }
        default:
            r->skipped_blocks++;
            break;
        }
        r->off += len;
    }
}

// Next packet. After END, TRUNCATED or MALFORMED every later call returns the same status.
static inline int cn_pcap_next(cn_pcap_reader *r, cn_pcap_packet *pkt) {
    if (r->status != 0) return r->status;
    if (r->off > r->size) return cn_pcap_stop(r, CN_PCAP_MALFORMED); // never: kept as a guard for a corrupted cursor
    return r->format == CN_CAPTURE_PCAP ? cn_pcap_next_classic(r, pkt) : cn_pcap_next_ng(r, pkt);
}

// ---- writer: classic pcap, nanosecond magic, little-endian, one link type per file.

// File header into `buf` (24 bytes); returns 24, or 0 when `cap` is too small.
static inline size_t cn_pcap_put_file_header(uint8_t *buf, size_t cap, uint32_t snaplen, uint32_t linktype) {
    if (cap < CN_PCAP_FILE_HEADER_LEN) return 0;
    cw_put_le32(buf, CN_PCAP_MAGIC_NS);
    cw_put_le16(buf + 4, 2);
    cw_put_le16(buf + 6, 4);
    cw_put_le32(buf + 8, 0);   // thiszone
    cw_put_le32(buf + 12, 0);  // sigfigs
    cw_put_le32(buf + 16, snaplen);
    cw_put_le32(buf + 20, linktype);
    return CN_PCAP_FILE_HEADER_LEN;
}

// Record header for a frame of `caplen` captured bytes (`origlen` on the wire) at `ts_ns`.
static inline size_t cn_pcap_put_record_header(uint8_t *buf, size_t cap, uint64_t ts_ns, uint32_t caplen, uint32_t origlen) {
    if (cap < CN_PCAP_RECORD_HEADER_LEN) return 0;
    cw_put_le32(buf, (uint32_t)(ts_ns / 1000000000u));
    cw_put_le32(buf + 4, (uint32_t)(ts_ns % 1000000000u));
    cw_put_le32(buf + 8, caplen);
    cw_put_le32(buf + 12, origlen);
    return CN_PCAP_RECORD_HEADER_LEN;
}

// Whole record (header + frame); returns its length, or 0 (nothing written) when it does not fit.
static inline size_t cn_pcap_put_record(uint8_t *buf, size_t cap, uint64_t ts_ns, const uint8_t *frame, uint32_t len) {
    if (cap < CN_PCAP_RECORD_HEADER_LEN || cap - CN_PCAP_RECORD_HEADER_LEN < len) return 0;
    cn_pcap_put_record_header(buf, cap, ts_ns, len, len);
    if (len) memcpy(buf + CN_PCAP_RECORD_HEADER_LEN, frame, len);
    return CN_PCAP_RECORD_HEADER_LEN + (size_t)len;
}

#endif
