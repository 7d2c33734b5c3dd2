// MoldUDP64 packet -> omni_event records: one OMNI_EV_ITCH event per well-formed ITCH
// message of the packet. The software reference of the offload kernel in Hardware/
// (mold_itch_decoder.sv), which must produce the same records byte for byte, the timing
// fields (hop[], rx_tsc) aside.
//
// Rules (the blocks are walked by cw_mold_cursor, so they are its rules):
//   - count 0 (heartbeat) and count 0xFFFF (end of session): no events, counted;
//   - a packet shorter than the 20-byte header, or one that ends before `count` blocks
//     (a block or its length prefix running past the end): the blocks before the break
//     are delivered, the packet is counted truncated;
//   - bytes after the last promised block: ignored, the packet counted trailing;
//   - a block that is no ITCH 5.0 message (empty, unknown type, length not the type's:
//     cw_itch_valid): dropped and counted malformed; it still takes its sequence number.
// Each event: type OMNI_EV_ITCH, locate = the message's stock locate, source as given,
// seq = the packet's sequence + the block's index (modulo 2^64: sequence checks are the
// session's), rx_tsc as given, hop[] zero; itch.offset = stream_offset + the offset of the
// message's type byte in the packet (stream_offset: where the packet starts in the byte
// stream of every packet received, as a card's DMA buffer holds them), itch.length, and
// itch.msg_type. OMNI_EVF_LAST_IN_PACKET is set on the event of the packet's last promised
// block (index count - 1); when that block is malformed or missing, no event of the packet
// carries it.
#ifndef CW_MOLD_EVENTS_H
#define CW_MOLD_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "omni_event.h"

#ifdef __cplusplus
extern "C" {
#endif

// Counters, added to across calls (zero the struct to start).
typedef struct {
    uint64_t packets;        // packets walked
    uint64_t heartbeats;     // count 0
    uint64_t end_of_session; // count 0xFFFF
    uint64_t messages;       // events written
    uint64_t malformed;      // blocks dropped: empty, unknown type, or length not the type's
    uint64_t truncated;      // packets ending inside the header or before `count` blocks
    uint64_t trailing;       // packets with bytes after the last promised block
} cw_mold_event_counts;

// The most events a packet of `size` bytes can yield: a well-formed block takes at least
// 14 bytes (a 2-byte length and the 12-byte System Event).
#define CW_MOLD_MAX_EVENTS(size) ((size) > 20 ? ((size) - 20) / 14 : 0)

// Writes the events of the `size`-byte packet at `pkt` to `out` and counts into `c`.
// Returns the number written, or -ENOSPC (nothing written or counted) when `cap` is below
// CW_MOLD_MAX_EVENTS(size).
int cw_mold_events(const uint8_t *pkt, size_t size, uint64_t stream_offset, uint16_t source, uint64_t rx_tsc,
                   omni_event *out, size_t cap, cw_mold_event_counts *c);

#ifdef __cplusplus
}
#endif

#endif
