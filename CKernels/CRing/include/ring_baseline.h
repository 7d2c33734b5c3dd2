// THE COMPARISON BASELINE, not a ring to build on: the plainest correct SPSC
// ring (Lamport's), against which `omni bench ring` measures cring_spsc and
// cring_mpsc in the same process. Head and tail on separate cache lines and
// acquire/release orderings, and nothing else: no cached copy of the other index
// (every push and pop reads the other side's line), no batching, one slot per call.
// Same memory contract as the other rings: ring_baseline_bytes, then init over
// caller memory aligned to 64.
#ifndef RING_BASELINE_H
#define RING_BASELINE_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    _Atomic uint64_t head; // written by the producer
    uint8_t pad0[56];      // head and tail on separate 64-byte lines
    _Atomic uint64_t tail; // written by the consumer
    uint8_t pad1[56];
    uint64_t mask;         // capacity - 1
    uint32_t slot_size;
    uint8_t pad2[52];      // the slots start on a line of their own
} ring_baseline; // the slots follow the struct

// 0 unless capacity and slot_size are powers of two (slot_size >= 8).
static inline size_t ring_baseline_bytes(uint32_t capacity, uint32_t slot_size) {
    if (capacity < 2 || (capacity & (capacity - 1)) || slot_size < 8 || (slot_size & (slot_size - 1))) return 0;
    return sizeof(ring_baseline) + (size_t)capacity * slot_size;
}

// 0, or -EINVAL for a geometry ring_baseline_bytes rejects.
static inline int ring_baseline_init(ring_baseline *r, uint32_t capacity, uint32_t slot_size) {
    if (!ring_baseline_bytes(capacity, slot_size)) return -EINVAL;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = capacity - 1;
    r->slot_size = slot_size;
    return 0;
}

static inline uint8_t *ring_baseline_slot(ring_baseline *r, uint64_t seq) {
    return (uint8_t *)(r + 1) + (seq & r->mask) * r->slot_size;
}

// Copies `len` bytes (at most the slot size) in; 1, or 0 when full.
static inline int ring_baseline_push(ring_baseline *r, const void *src, uint32_t len) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); // relaxed: only the producer writes head
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire); // acquire: the consumer's read of the slot is done
    if (head - tail > r->mask) return 0;
    memcpy(ring_baseline_slot(r, head), src, len);
    atomic_store_explicit(&r->head, head + 1, memory_order_release); // release: the slot's bytes before the new head
    return 1;
}

// Copies `len` bytes (at most the slot size) out; 1, or 0 when empty.
static inline int ring_baseline_pop(ring_baseline *r, void *dst, uint32_t len) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); // relaxed: only the consumer writes tail
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire); // acquire: the slot's bytes are visible
    if (head == tail) return 0;
    memcpy(dst, ring_baseline_slot(r, tail), len);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release); // release: our read before the producer reuses the slot
    return 1;
}

#endif
