#include "CWire.h"

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
