#define _GNU_SOURCE // gmtime_r
#include "CWire.h"

#include <errno.h>
#include <time.h>

const char *cw_itch_type_name(uint8_t t) {
    switch (t) {
    case 'S': return "System Event";       case 'R': return "Stock Directory";
    case 'H': return "Trading Action";     case 'Y': return "Reg SHO";
    case 'L': return "MP Position";        case 'V': return "MWCB Decline Level";
    case 'W': return "MWCB Status";        case 'K': return "IPO Quoting Period";
    case 'J': return "LULD Auction Collar"; case 'h': return "Operational Halt";
    case 'A': return "Add Order";          case 'F': return "Add Order MPID";
    case 'E': return "Order Executed";     case 'C': return "Order Executed w/ Price";
    case 'X': return "Order Cancel";       case 'D': return "Order Delete";
    case 'U': return "Order Replace";      case 'P': return "Trade";
    case 'Q': return "Cross Trade";        case 'B': return "Broken Trade";
    case 'I': return "NOII";               case 'N': return "RPII";
    case 'O': return "DLCR Price Discovery";
    default: return "?";
    }
}

void cw_scan_stats_reset(cw_scan_stats *s) {
    memset(s, 0, sizeof *s);
    s->truncated_at = UINT64_MAX;
}

size_t cw_scan_dayfile(const uint8_t *buf, size_t size, size_t off, cw_scan_stats *s) {
    const uint8_t *m;
    uint16_t len;
    cw_frame_result r;
    while ((r = cw_dayfile_next(buf, size, &off, &m, &len)) == CW_FRAME_MSG) {
        if (cw_itch_valid(m, len)) {
            s->by_type[m[0]]++;
            s->messages++;
        } else {
            s->malformed++;
        }
    }
    if (r == CW_FRAME_TRUNCATED) s->truncated_at = off;
    return off;
}

int cw_mold_events(const uint8_t *pkt, size_t size, uint64_t stream_offset, uint16_t source, uint64_t rx_tsc,
                   omni_event *out, size_t cap, cw_mold_event_counts *c) {
    if (cap < CW_MOLD_MAX_EVENTS(size)) return -ENOSPC;
    c->packets++;
    cw_mold_header h;
    if (cw_mold_parse_header(pkt, size, &h) != 0) { c->truncated++; return 0; }
    if (h.count == CW_MOLD_HEARTBEAT) c->heartbeats++;
    if (h.count == CW_MOLD_END_OF_SESSION) c->end_of_session++;
    cw_mold_cursor cur;
    cw_mold_cursor_init(&cur, pkt, size, &h);
    uint32_t promised = cur.remaining;
    const uint8_t *m;
    uint16_t len;
    cw_frame_result r;
    int n = 0;
    for (uint32_t i = 0; (r = cw_mold_next(&cur, &m, &len)) == CW_FRAME_MSG; i++) {
        if (!cw_itch_valid(m, len)) { c->malformed++; continue; }
        omni_event *e = &out[n++];
        memset(e, 0, sizeof *e);
        e->type = OMNI_EV_ITCH;
        e->flags = i == promised - 1 ? OMNI_EVF_LAST_IN_PACKET : 0;
        e->locate = cw_itch_locate(m);
        e->source = source;
        e->seq = h.sequence + i;
        e->rx_tsc = rx_tsc;
        e->itch.offset = stream_offset + (uint64_t)(m - pkt);
        e->itch.length = len;
        e->itch.msg_type = m[0];
    }
    if (r == CW_FRAME_TRUNCATED) c->truncated++;
    else if (cur.off != size) c->trailing++;
    c->messages += (uint64_t)n;
    return n;
}

static uint8_t *cw_fix__digits(uint8_t *p, unsigned v, int width) {
    for (int k = width - 1; k >= 0; k--) { p[k] = (uint8_t)('0' + v % 10); v /= 10; }
    return p + width;
}

size_t cw_fix_utc_timestamp(uint8_t out[21], uint64_t realtime_ns) {
    // Per thread: sessions on several threads each keep their own second.
    static __thread uint64_t cached_sec = UINT64_MAX;
    static __thread uint8_t prefix[18]; // "YYYYMMDD-HH:MM:SS."
    uint64_t sec = realtime_ns / 1000000000u;
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tmv;
        if (!gmtime_r(&t, &tmv)) memset(&tmv, 0, sizeof tmv);
        uint8_t *p = cw_fix__digits(prefix, (unsigned)(tmv.tm_year + 1900), 4);
        p = cw_fix__digits(p, (unsigned)tmv.tm_mon + 1, 2);
        p = cw_fix__digits(p, (unsigned)tmv.tm_mday, 2);
        *p++ = '-';
        p = cw_fix__digits(p, (unsigned)tmv.tm_hour, 2);
        *p++ = ':';
        p = cw_fix__digits(p, (unsigned)tmv.tm_min, 2);
        *p++ = ':';
        p = cw_fix__digits(p, (unsigned)tmv.tm_sec, 2);
        *p = '.';
        cached_sec = sec;
    }
    memcpy(out, prefix, 18);
    cw_fix__digits(out + 18, (unsigned)(realtime_ns / 1000000u % 1000u), 3);
    return 21;
}
