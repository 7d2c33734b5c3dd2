// What every CRing ring shares: the layout rules and the status codes.
//
// Rings hold fixed-size slots: a power of two from 8 bytes (a u64 or a pointer-free
// handle) to 4096, usually 64 (an omni_event). Capacity is a power of two, so a
// sequence number maps to its slot with a mask. Sequence numbers are free-running
// u64 counters that never reset; their differences stay right across 2^64.
//
// A ring lives in memory its caller supplies (NUMA-local, hugepage-backed or a
// shared-memory file): ask *_bytes for the size, hand *_init memory aligned to
// CRING_ALIGN. The ring's own fields sit at the start; the slots follow.
#ifndef CRING_COMMON_H
#define CRING_COMMON_H

#include <stdint.h>

// Distance between data written by different cores. 128, not 64: the L2 spatial
// prefetcher fetches 64-byte lines in aligned pairs, so neighbours within 128
// bytes still drag each other's line between cores.
#define CRING_ALIGN 128
#define CRING_MIN_SLOT 8u
#define CRING_MAX_SLOT 4096u
#define CRING_MAX_CAPACITY (1u << 31)

typedef enum {
    CRING_OK = 0,
    CRING_EBADCAPACITY = -1, // capacity not a power of two in 2 .. CRING_MAX_CAPACITY
    CRING_EBADSLOT = -2,     // slot size not a power of two in CRING_MIN_SLOT .. CRING_MAX_SLOT
    CRING_EMISALIGNED = -3,  // memory not aligned to CRING_ALIGN
    CRING_ESYS = -4,         // a system call failed: errno says why
    CRING_EMAGIC = -5,       // shared memory: the file is not a ring
    CRING_EVERSION = -6,     // shared memory: a ring of another layout version
    CRING_EGEOMETRY = -7,    // shared memory: capacity or slot size differ from what the opener expects
    CRING_ETRUNCATED = -8,   // shared memory: the file is shorter than its header says
    CRING_ENOTREADY = -9,    // shared memory: the creator has not finished setting the ring up; retry
} cring_status;

// "ok", "bad capacity", ... for messages.
const char *cring_status_name(int status);

// CRING_OK, or why `capacity` / `slot_size` cannot make a ring.
static inline int cring_check_geometry(uint32_t capacity, uint32_t slot_size) {
    if (capacity < 2 || capacity > CRING_MAX_CAPACITY || (capacity & (capacity - 1))) return CRING_EBADCAPACITY;
    if (slot_size < CRING_MIN_SLOT || slot_size > CRING_MAX_SLOT || (slot_size & (slot_size - 1))) return CRING_EBADSLOT;
    return CRING_OK;
}

#endif
