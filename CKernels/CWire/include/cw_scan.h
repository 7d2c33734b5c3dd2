// Decode-only pass over a day file: framing walk, type and length validation,
// per-type counts. The first stage of every replay and the decode-only benchmark.
#ifndef CW_SCAN_H
#define CW_SCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t by_type[256];  // well-formed messages by type byte
    uint64_t malformed;     // unknown type or length not matching the type
    uint64_t messages;      // well-formed messages in all
    uint64_t truncated_at;  // offset of a record running past the end; UINT64_MAX when none
} cw_scan_stats;

void cw_scan_stats_reset(cw_scan_stats *s);

// Walks `size` bytes of day-file framing from `off`; counts every record; returns the offset reached.
size_t cw_scan_dayfile(const uint8_t *buf, size_t size, size_t off, cw_scan_stats *s);

#endif
