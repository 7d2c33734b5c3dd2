// Framings that carry ITCH messages: the day file `[u16 BE length][message]...`
// and MoldUDP64 packets. Both are walked with bounds checks: a length that runs
// past the buffer ends the walk as truncated, it is never read.
#ifndef CW_FRAME_H
#define CW_FRAME_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include "cw_endian.h"

typedef enum {
    CW_FRAME_END = 0,        // walked the whole buffer
    CW_FRAME_MSG = 1,        // *msg / *len hold the next message
    CW_FRAME_TRUNCATED = -1, // a length prefix or message runs past the end of the buffer
} cw_frame_result;

// Day-file framing. `*off` is the cursor; on CW_FRAME_TRUNCATED it stays at the
// broken record so the caller can name its offset.
static inline cw_frame_result cw_dayfile_next(const uint8_t *buf, size_t size, size_t *off,
                                              const uint8_t **msg, uint16_t *len) {
    size_t o = *off;
    if (o == size) return CW_FRAME_END;
    if (size - o < 2) return CW_FRAME_TRUNCATED;
    uint16_t n = cw_be16(buf + o);
    if (size - o - 2 < n) return CW_FRAME_TRUNCATED;
    *msg = buf + o + 2;
    *len = n;
    *off = o + 2 + (size_t)n;
    return CW_FRAME_MSG;
}

// ---- MoldUDP64 (NASDAQ MoldUDP64 1.00): a 20-byte header, then `count` message blocks [u16 BE length][message].
#define CW_MOLD_HEADER_LEN 20
#define CW_MOLD_SESSION_LEN 10
#define CW_MOLD_HEARTBEAT 0x0000u      // count 0: heartbeat, seq is the next expected number
#define CW_MOLD_END_OF_SESSION 0xFFFFu // count 0xFFFF: the session is over, no blocks follow

typedef struct {
    uint8_t session[CW_MOLD_SESSION_LEN]; // ASCII, space padded
    uint64_t sequence;                    // sequence number of the first message in the packet
    uint16_t count;                       // message blocks that follow (or a marker above)
} cw_mold_header;

// 0 on success, -EMSGSIZE when the packet is shorter than the header.
static inline int cw_mold_parse_header(const uint8_t *pkt, size_t size, cw_mold_header *h) {
    if (size < CW_MOLD_HEADER_LEN) return -EMSGSIZE;
    memcpy(h->session, pkt, CW_MOLD_SESSION_LEN);
    h->sequence = cw_be64(pkt + 10);
    h->count = cw_be16(pkt + 18);
    return 0;
}

// Cursor over the message blocks of one packet.
typedef struct {
    const uint8_t *pkt;
    size_t size;
    size_t off;
    uint32_t remaining; // blocks the header promised and not yet returned
} cw_mold_cursor;

static inline void cw_mold_cursor_init(cw_mold_cursor *c, const uint8_t *pkt, size_t size, const cw_mold_header *h) {
    c->pkt = pkt; c->size = size; c->off = CW_MOLD_HEADER_LEN;
    c->remaining = (h->count == CW_MOLD_END_OF_SESSION) ? 0u : h->count;
    if (size < CW_MOLD_HEADER_LEN) { c->off = size; c->remaining = 0; } // header never parsed: no blocks
}

// Next block. CW_FRAME_TRUNCATED when the header's count runs past the packet
// (the blocks already returned stay valid; the rest of the packet is unusable).
static inline cw_frame_result cw_mold_next(cw_mold_cursor *c, const uint8_t **msg, uint16_t *len) {
    if (c->remaining == 0) return CW_FRAME_END;
    cw_frame_result r = cw_dayfile_next(c->pkt, c->size, &c->off, msg, len);
    if (r != CW_FRAME_MSG) return CW_FRAME_TRUNCATED; // END here means the count promised more blocks than exist
    c->remaining--;
    return CW_FRAME_MSG;
}

// Packet builder: header, then blocks appended while they fit in `cap` bytes (cap >= CW_MOLD_HEADER_LEN).
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint16_t count;
} cw_mold_builder;

// Returns 0, or -ENOSPC (nothing written) when `cap` cannot hold the header.
static inline int cw_mold_begin(cw_mold_builder *b, uint8_t *buf, size_t cap, const uint8_t session[CW_MOLD_SESSION_LEN], uint64_t seq) {
    b->buf = buf; b->cap = cap; b->len = CW_MOLD_HEADER_LEN; b->count = 0;
    if (cap < CW_MOLD_HEADER_LEN) { b->cap = b->len = 0; return -ENOSPC; }
    memcpy(buf, session, CW_MOLD_SESSION_LEN);
    cw_put64(buf + 10, seq);
    cw_put16(buf + 18, 0);
    return 0;
}

// Appends one message; 0 on success, -ENOSPC when it does not fit (the packet is unchanged).
static inline int cw_mold_append(cw_mold_builder *b, const uint8_t *msg, uint16_t len) {
    if (b->cap < CW_MOLD_HEADER_LEN || b->cap - b->len < (size_t)len + 2 || b->count == CW_MOLD_END_OF_SESSION - 1) return -ENOSPC;
    cw_put16(b->buf + b->len, len);
    memcpy(b->buf + b->len + 2, msg, len);
    b->len += (size_t)len + 2;
    b->count++;
    cw_put16(b->buf + 18, b->count);
    return 0;
}

// Marks the packet as end of session (no blocks).
static inline void cw_mold_mark_end_of_session(cw_mold_builder *b) {
    if (b->cap < CW_MOLD_HEADER_LEN) return;
    b->len = CW_MOLD_HEADER_LEN; b->count = 0;
    cw_put16(b->buf + 18, CW_MOLD_END_OF_SESSION);
}

// Checks that exactly `h->count` blocks fill the packet. The session layer
// drops a packet whole on any of these rather than deliver half of it.
typedef enum {
    CW_MOLD_OK = 0,
    CW_MOLD_SHORT_HEADER = -1,  // fewer than 20 bytes
    CW_MOLD_BLOCK_PAST_END = -2, // a block's length (or its 2-byte prefix) runs past the packet
    CW_MOLD_COUNT_PAST_END = -3, // the packet ends on a block boundary before `count` blocks
    CW_MOLD_TRAILING_BYTES = -4, // bytes left after the last promised block
} cw_mold_check;

static inline cw_mold_check cw_mold_check_blocks(const uint8_t *pkt, size_t size, const cw_mold_header *h) {
    if (size < CW_MOLD_HEADER_LEN) return CW_MOLD_SHORT_HEADER;
    uint32_t n = (h->count == CW_MOLD_END_OF_SESSION) ? 0u : h->count;
    size_t off = CW_MOLD_HEADER_LEN;
    for (uint32_t i = 0; i < n; i++) {
        if (off == size) return CW_MOLD_COUNT_PAST_END;
        if (size - off < 2) return CW_MOLD_BLOCK_PAST_END;
        size_t len = cw_be16(pkt + off);
        if (size - off - 2 < len) return CW_MOLD_BLOCK_PAST_END;
        off += 2 + len;
    }
    return off == size ? CW_MOLD_OK : CW_MOLD_TRAILING_BYTES;
}

// ---- MoldUDP64 request packet (client -> re-request server, unicast): the same
// 20 bytes as a downstream header, `count` being the number of messages asked for.
#define CW_MOLD_REQUEST_LEN 20

// Writes a request; returns CW_MOLD_REQUEST_LEN, or 0 (nothing written) when `cap` is too small.
static inline size_t cw_mold_put_request(uint8_t *buf, size_t cap, const uint8_t session[CW_MOLD_SESSION_LEN], uint64_t seq, uint16_t count) {
    if (cap < CW_MOLD_REQUEST_LEN) return 0;
    memcpy(buf, session, CW_MOLD_SESSION_LEN);
    cw_put64(buf + 10, seq);
    cw_put16(buf + 18, count);
    return CW_MOLD_REQUEST_LEN;
}

// 0 on success; -EMSGSIZE unless the datagram is exactly one request long.
static inline int cw_mold_parse_request(const uint8_t *buf, size_t size, cw_mold_header *r) {
    if (size != CW_MOLD_REQUEST_LEN) return -EMSGSIZE;
    return cw_mold_parse_header(buf, size, r);
}

#endif
