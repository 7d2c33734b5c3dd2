// IEX Transport Protocol v1 (IEX-TP) and the messages of IEX DEEP 1.0 and TOPS 1.6.
//
// One UDP datagram is one IEX-TP segment: a 40-byte header, then `message count`
// blocks of [u16 length][message]. Unlike ITCH, everything is LITTLE-endian.
// Prices are int64 with 4 implied decimals, timestamps int64 ns since the Unix
// epoch, symbols 8 ASCII bytes space padded. Layouts per the IEX TOPS 1.6 and
// DEEP 1.0 specifications.
//
// Segment header (offsets):
//   [0] version (1)  [1] reserved  [2..3] message protocol id (0x8003 TOPS, 0x8004 DEEP)
//   [4..7] channel id  [8..11] session id  [12..13] payload length  [14..15] message count
//   [16..23] stream offset  [24..31] first message sequence number  [32..39] send time
// Message count 0 is a heartbeat; its first sequence number is the next one expected.
#ifndef CW_IEX_H
#define CW_IEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cw_endian.h" // cw_le16/32/64, cw_put_le16/32/64
#include "cw_frame.h"

#define CW_IEXTP_HEADER_LEN 40
#define CW_IEXTP_VERSION 1
#define CW_IEX_PROTO_TOPS 0x8003u
#define CW_IEX_PROTO_DEEP 0x8004u

typedef struct {
    uint8_t version;
    uint8_t reserved;
    uint16_t protocol_id;   // message protocol: CW_IEX_PROTO_TOPS / CW_IEX_PROTO_DEEP
    uint32_t channel_id;
    uint32_t session_id;
    uint16_t payload_length; // bytes of message blocks after the header
    uint16_t message_count;  // 0: heartbeat
    uint64_t stream_offset;  // byte offset of this payload in the session's stream
    uint64_t first_seq;      // sequence number of the first message (next expected, in a heartbeat)
    int64_t send_time;       // ns since the Unix epoch
} cw_iextp_header;

typedef enum {
    CW_IEXTP_OK = 0,
    CW_IEXTP_SHORT = -1,       // under 40 bytes
    CW_IEXTP_BAD_VERSION = -2, // version byte is not 1
    CW_IEXTP_BAD_LENGTH = -3,  // payload length differs from the bytes after the header
} cw_iextp_status;

// Parses the header of a segment of `size` bytes (the whole UDP payload).
static inline int cw_iextp_parse_header(const uint8_t *seg, size_t size, cw_iextp_header *h) {
    if (size < CW_IEXTP_HEADER_LEN) return CW_IEXTP_SHORT;
    h->version = seg[0];
    h->reserved = seg[1];
    h->protocol_id = cw_le16(seg + 2);
    h->channel_id = cw_le32(seg + 4);
    h->session_id = cw_le32(seg + 8);
    h->payload_length = cw_le16(seg + 12);
    h->message_count = cw_le16(seg + 14);
    h->stream_offset = cw_le64(seg + 16);
    h->first_seq = cw_le64(seg + 24);
    h->send_time = (int64_t)cw_le64(seg + 32);
    if (h->version != CW_IEXTP_VERSION) return CW_IEXTP_BAD_VERSION;
    if ((size_t)h->payload_length != size - CW_IEXTP_HEADER_LEN) return CW_IEXTP_BAD_LENGTH;
    return CW_IEXTP_OK;
}

// Writes a segment header; the caller appends `payload_length` bytes of blocks after it.
// Returns CW_IEXTP_HEADER_LEN, or 0 (nothing written) when `cap` is smaller.
static inline size_t cw_iextp_put_header(uint8_t *seg, size_t cap, const cw_iextp_header *h) {
    if (cap < CW_IEXTP_HEADER_LEN) return 0;
    seg[0] = h->version; seg[1] = h->reserved;
    cw_put_le16(seg + 2, h->protocol_id);
    cw_put_le32(seg + 4, h->channel_id);
    cw_put_le32(seg + 8, h->session_id);
    cw_put_le16(seg + 12, h->payload_length);
    cw_put_le16(seg + 14, h->message_count);
    cw_put_le64(seg + 16, h->stream_offset);
    cw_put_le64(seg + 24, h->first_seq);
    cw_put_le64(seg + 32, (uint64_t)h->send_time);
    return CW_IEXTP_HEADER_LEN;
}

// Cursor over the message blocks of one segment whose header parsed CW_IEXTP_OK.
typedef struct {
    const uint8_t *payload;
    size_t size;            // payload length from the header (checked against the segment)
    size_t off;
    uint32_t remaining;     // blocks the header promised and not yet returned
} cw_iextp_cursor;

static inline void cw_iextp_cursor_init(cw_iextp_cursor *c, const uint8_t *seg, size_t seg_size, const cw_iextp_header *h) {
    c->payload = seg + CW_IEXTP_HEADER_LEN;
    c->off = 0;
    c->remaining = h->message_count;
    c->size = h->payload_length;
    // A header that did not parse OK promises nothing: no blocks.
    if (seg_size < CW_IEXTP_HEADER_LEN || seg_size - CW_IEXTP_HEADER_LEN < c->size) { c->size = 0; c->remaining = 0; }
}

// Next block. CW_FRAME_TRUNCATED when a length runs past the payload or the count promises
// more blocks than the payload holds. After CW_FRAME_END, cw_iextp_leftover says how many
// payload bytes the promised blocks did not cover (0 in a well-formed segment).
static inline cw_frame_result cw_iextp_next(cw_iextp_cursor *c, const uint8_t **msg, uint16_t *len) {
    if (c->remaining == 0) return CW_FRAME_END;
    size_t left = c->size - c->off;
    if (left < 2) return CW_FRAME_TRUNCATED;
    uint16_t n = cw_le16(c->payload + c->off);
    if (left - 2 < n) return CW_FRAME_TRUNCATED;
    *msg = c->payload + c->off + 2;
    *len = n;
    c->off += 2 + (size_t)n;
    c->remaining--;
    return CW_FRAME_MSG;
}

static inline size_t cw_iextp_leftover(const cw_iextp_cursor *c) { return c->size - c->off; }

// ---- messages

#define CW_IEX_SYSTEM_EVENT 'S'
#define CW_IEX_SECURITY_DIRECTORY 'D'
#define CW_IEX_TRADING_STATUS 'H'
#define CW_IEX_RETAIL_LIQUIDITY 'I'  // TOPS only
#define CW_IEX_OPERATIONAL_HALT 'O'
#define CW_IEX_SHORT_SALE 'P'
#define CW_IEX_SECURITY_EVENT 'E'
#define CW_IEX_PRICE_LEVEL_BUY '8'   // DEEP only
#define CW_IEX_PRICE_LEVEL_SELL '5'  // DEEP only
#define CW_IEX_QUOTE_UPDATE 'Q'      // TOPS only
#define CW_IEX_TRADE_REPORT 'T'
#define CW_IEX_OFFICIAL_PRICE 'X'
#define CW_IEX_TRADE_BREAK 'B'
#define CW_IEX_AUCTION 'A'

// Fixed lengths per type for each protocol; 0 = not a type of that protocol.
static const uint8_t cw_iex_deep_len[256] = {
    ['S'] = 10, ['D'] = 31, ['H'] = 22, ['O'] = 18, ['P'] = 19, ['E'] = 18, ['8'] = 30, ['5'] = 30,
    ['T'] = 38, ['X'] = 26, ['B'] = 38, ['A'] = 80,
};
static const uint8_t cw_iex_tops_len[256] = {
    ['S'] = 10, ['D'] = 31, ['H'] = 22, ['I'] = 18, ['O'] = 18, ['P'] = 19, ['E'] = 18, ['Q'] = 42,
    ['T'] = 38, ['X'] = 26, ['B'] = 38, ['A'] = 80,
};

// Expected length of `type` in protocol `protocol_id`; 0 for an unknown type or protocol.
static inline uint8_t cw_iex_expected_len(uint16_t protocol_id, uint8_t type) {
    if (protocol_id == CW_IEX_PROTO_DEEP) return cw_iex_deep_len[type];
    if (protocol_id == CW_IEX_PROTO_TOPS) return cw_iex_tops_len[type];
    return 0;
}

// 1 when `len` bytes at `m` are a well-formed message of the protocol (known type, exact length).
static inline int cw_iex_valid(uint16_t protocol_id, const uint8_t *m, size_t len) {
    return len >= 1 && len == cw_iex_expected_len(protocol_id, m[0]);
}

// Every type but the system event carries a symbol at offset 10. Call on a valid message only.
static inline int cw_iex_has_symbol(uint8_t type) { return type != CW_IEX_SYSTEM_EVENT; }
static inline int64_t cw_iex_timestamp(const uint8_t *m) { return (int64_t)cw_le64(m + 2); }

static inline const char *cw_iex_type_name(uint8_t t) {
    switch (t) {
    case 'S': return "System Event";        case 'D': return "Security Directory";
    case 'H': return "Trading Status";      case 'I': return "Retail Liquidity Indicator";
    case 'O': return "Operational Halt";    case 'P': return "Short Sale Price Test";
    case 'E': return "Security Event";      case '8': return "Price Level Update Buy";
    case '5': return "Price Level Update Sell"; case 'Q': return "Quote Update";
    case 'T': return "Trade Report";        case 'X': return "Official Price";
    case 'B': return "Trade Break";         case 'A': return "Auction Information";
    default: return "?";
    }
}

// Flag bits (IEX numbers bits from the most significant).
#define CW_IEX_SALE_INTERMARKET_SWEEP 0x80 // T, B: sale condition flags
#define CW_IEX_SALE_EXTENDED_HOURS 0x40
#define CW_IEX_SALE_ODD_LOT 0x20
#define CW_IEX_SALE_TRADE_THROUGH_EXEMPT 0x10
#define CW_IEX_SALE_SINGLE_PRICE_CROSS 0x08
#define CW_IEX_QUOTE_SYMBOL_UNAVAILABLE 0x80 // Q: symbol halted, paused or not available
#define CW_IEX_QUOTE_PRE_POST_MARKET 0x40    // Q: outside regular market session
#define CW_IEX_DIR_TEST_SECURITY 0x80        // D
#define CW_IEX_DIR_WHEN_ISSUED 0x40
#define CW_IEX_DIR_ETP 0x20
#define CW_IEX_EVENT_PROCESSING_COMPLETE 0x01 // 8/5: the book is consistent after this update

// ---- Decoded forms. `flags` is byte 1 of every message: the event code, status or flag bits.

typedef struct { uint32_t round_lot_size; int64_t adjusted_poc_price; uint8_t luld_tier; } cw_iex_directory;   // D (flags = directory flags)
typedef struct { char reason[4]; } cw_iex_trading_status;                                                    // H (flags = status H/P/T ...)
typedef struct { char detail; } cw_iex_short_sale;                                                           // P (flags = 0 / 1)
typedef struct { uint32_t size; int64_t price; } cw_iex_price_level;                                         // 8, 5 (flags = event flags)
typedef struct { uint32_t bid_size; int64_t bid_price; int64_t ask_price; uint32_t ask_size; } cw_iex_quote; // Q (flags = quote flags)
typedef struct { uint32_t size; int64_t price; uint64_t trade_id; } cw_iex_trade;                           // T, B (flags = sale conditions)
typedef struct { int64_t price; } cw_iex_official_price;                                                     // X (flags = price type Q/M)
typedef struct {                                                                                             // A (flags = auction type)
    uint32_t paired_shares; int64_t reference_price; int64_t indicative_clearing_price;
    uint32_t imbalance_shares; char imbalance_side; uint8_t extension_number; uint32_t scheduled_auction_time;
    int64_t auction_book_clearing_price; int64_t collar_reference_price;
    int64_t lower_auction_collar; int64_t upper_auction_collar;
} cw_iex_auction;

typedef struct {
    uint8_t type;
    uint8_t flags;
    int64_t timestamp;       // ns since the Unix epoch
    char symbol[8];          // space padded; all spaces for S
    union {
        cw_iex_directory directory; cw_iex_trading_status trading_status; cw_iex_short_sale short_sale;
        cw_iex_price_level price_level; cw_iex_quote quote; cw_iex_trade trade;
        cw_iex_official_price official_price; cw_iex_auction auction;
    } u;
} cw_iex_msg;

typedef enum {
    CW_IEX_OK = 0,
    CW_IEX_EMPTY = 1,
    CW_IEX_UNKNOWN_TYPE = 2, // not a type of this protocol
    CW_IEX_BAD_LENGTH = 3,   // length differs from the type's fixed length
} cw_iex_status;

// Decodes `len` bytes at `m` of protocol `protocol_id` into `out`. Reads nothing past m[len-1].
static inline cw_iex_status cw_iex_decode(uint16_t protocol_id, const uint8_t *m, size_t len, cw_iex_msg *out) {
    if (len == 0) return CW_IEX_EMPTY;
    uint8_t want = cw_iex_expected_len(protocol_id, m[0]);
    if (want == 0) return CW_IEX_UNKNOWN_TYPE;
    if (len != want) return CW_IEX_BAD_LENGTH;
    memset(out, 0, sizeof *out);
    out->type = m[0];
    out->flags = m[1];
    out->timestamp = cw_iex_timestamp(m);
    if (m[0] == CW_IEX_SYSTEM_EVENT) { memset(out->symbol, ' ', 8); return CW_IEX_OK; }
    memcpy(out->symbol, m + 10, 8);
    const uint8_t *b = m + 18; // first field after the symbol
    switch (m[0]) {
    case 'D':
        out->u.directory.round_lot_size = cw_le32(b);
        out->u.directory.adjusted_poc_price = (int64_t)cw_le64(b + 4);
        out->u.directory.luld_tier = b[12];
        break;
    case 'H': memcpy(out->u.trading_status.reason, b, 4); break;
    case 'P': out->u.short_sale.detail = (char)b[0]; break;
    case '8': case '5':
        out->u.price_level.size = cw_le32(b);
        out->u.price_level.price = (int64_t)cw_le64(b + 4);
        break;
    case 'Q':
        out->u.quote.bid_size = cw_le32(b);
        out->u.quote.bid_price = (int64_t)cw_le64(b + 4);
        out->u.quote.ask_price = (int64_t)cw_le64(b + 12);
        out->u.quote.ask_size = cw_le32(b + 20);
        break;
    case 'T': case 'B':
        out->u.trade.size = cw_le32(b);
        out->u.trade.price = (int64_t)cw_le64(b + 4);
        out->u.trade.trade_id = cw_le64(b + 12);
        break;
    case 'X': out->u.official_price.price = (int64_t)cw_le64(b); break;
    case 'A': {
        cw_iex_auction *a = &out->u.auction;
        a->paired_shares = cw_le32(b);
        a->reference_price = (int64_t)cw_le64(b + 4);
        a->indicative_clearing_price = (int64_t)cw_le64(b + 12);
        a->imbalance_shares = cw_le32(b + 20);
        a->imbalance_side = (char)b[24];
        a->extension_number = b[25];
        a->scheduled_auction_time = cw_le32(b + 26);
        a->auction_book_clearing_price = (int64_t)cw_le64(b + 30);
        a->collar_reference_price = (int64_t)cw_le64(b + 38);
        a->lower_auction_collar = (int64_t)cw_le64(b + 46);
        a->upper_auction_collar = (int64_t)cw_le64(b + 54);
        break;
    }
    default: break; // O, E, I: nothing past the symbol
    }
    return CW_IEX_OK;
}

#endif
