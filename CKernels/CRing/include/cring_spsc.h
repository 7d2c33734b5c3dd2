// SPSC ring: one producer thread, one consumer thread, fixed-size slots.
//
// Lamport's ring with the two refinements of rigtorp's SPSCQueue: head and tail
// live on their own cache lines, and each side keeps a private copy of the other
// side's index, re-reading the shared one only when its copy says full (producer)
// or empty (consumer). In steady state each side then touches the other's line
// once per lap of the ring, or once per batch, instead of once per slot.
//
// Producer: claim up to n slots, write events in place, publish them.
// Consumer: peek up to n ready slots, read them in place, release them.
// A claim or peek returns a contiguous run, and only what the side's cached view
// of the other index allows (it re-reads the shared index only when that view
// shows nothing): it may return fewer slots than asked for, at the end of the
// slot array or when the view is stale. Ask again for the rest.
// try_push / try_pop copy one slot's worth. Producer calls from one thread only,
// consumer calls from one thread only; the two may be different processes
// (cring_shm.h) since the ring holds no pointers.
#ifndef CRING_SPSC_H
#define CRING_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cring_common.h"

typedef struct {
    // Geometry: written by init, then only read, so both cores keep the line shared; it never bounces.
    uint64_t mask;       // capacity - 1
    uint32_t capacity;
    uint32_t slot_shift; // log2(slot size)
    uint8_t pad0[CRING_ALIGN - 16];
    // Producer side: written only by the producer.
    _Atomic uint64_t head; // sequence of the next slot to publish
    uint64_t tail_cache;   // the producer's last view of tail
    uint8_t pad1[CRING_ALIGN - 16];
    // Consumer side: written only by the consumer.
    _Atomic uint64_t tail; // sequence of the next slot to release
    uint64_t head_cache;   // the consumer's last view of head
    uint8_t pad2[CRING_ALIGN - 16];
} cring_spsc; // the slots follow the struct

// Sides are kept apart by explicit padding, not _Alignas: Swift imports no C type
// aligned beyond 16 bytes. The CRING_ALIGN alignment is checked by init instead.
_Static_assert(offsetof(cring_spsc, head) == CRING_ALIGN && offsetof(cring_spsc, tail) == 2 * CRING_ALIGN
               && sizeof(cring_spsc) == 3 * CRING_ALIGN, "one CRING_ALIGN block per side");

// Bytes of memory a ring of this geometry needs; 0 when the geometry is invalid.
size_t cring_spsc_bytes(uint32_t capacity, uint32_t slot_size);

// Sets up a ring in `r`, memory of cring_spsc_bytes() bytes aligned to CRING_ALIGN.
// `first_seq` is the sequence number of the first slot (0 unless the ring continues
// a numbering; a value near 2^64 exercises the counters' wrap). Slots are not cleared.
// CRING_OK, CRING_EBADCAPACITY, CRING_EBADSLOT or CRING_EMISALIGNED. Not thread-safe:
// hand the ring to its threads afterwards (thread start orders the writes).
int cring_spsc_init(cring_spsc *r, uint32_t capacity, uint32_t slot_size, uint64_t first_seq);

static inline uint8_t *cring_spsc_slot(cring_spsc *r, uint64_t seq) {
    return (uint8_t *)(r + 1) + ((seq & r->mask) << r->slot_shift);
}

// ---- Producer

// Up to `max` free slots, contiguous, the first at *slots; returns how many (0: full).
// Write them, then publish. Claiming again before publishing returns the same slots.
static inline uint32_t cring_spsc_claim(cring_spsc *r, uint32_t max, void **slots) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); // relaxed: only this thread writes head
    uint64_t free = r->capacity - (head - r->tail_cache);
    if (free == 0) {
        // acquire: the consumer's reads of the slots it released happen before we overwrite them
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        free = r->capacity - (head - tail);
        if (free == 0) { *slots = cring_spsc_slot(r, head); return 0; } // no store while polling a full ring
        r->tail_cache = tail;
    }
    uint64_t run = r->capacity - (head & r->mask); // slots to the end of the array
    uint64_t n = max < free ? max : free;
    *slots = cring_spsc_slot(r, head);
    return (uint32_t)(n < run ? n : run);
}

// Hands the first `n` claimed slots to the consumer.
static inline void cring_spsc_publish(cring_spsc *r, uint32_t n) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); // relaxed: only this thread writes head
    atomic_store_explicit(&r->head, head + n, memory_order_release); // release: the slots' bytes are visible before the head that hands them over
}

// Copies `len` bytes (at most the slot size) into the next slot; 1, or 0 when full.
// With a constant `len` the copy inlines to a few moves.
static inline int cring_spsc_try_push(cring_spsc *r, const void *src, uint32_t len) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); // relaxed: only this thread writes head
    if (head - r->tail_cache == r->capacity) {
        // acquire: the consumer's read of the slot happens before we overwrite it
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - tail == r->capacity) return 0; // no store while polling a full ring
        r->tail_cache = tail;
    }
    memcpy(cring_spsc_slot(r, head), src, len);
    atomic_store_explicit(&r->head, head + 1, memory_order_release); // release: the slot's bytes before the new head
    return 1;
}

// ---- Consumer

// Up to `max` published slots, contiguous, the first at *slots; returns how many (0: empty).
// Read them in place, then release them.
static inline uint32_t cring_spsc_peek(cring_spsc *r, uint32_t max, const void **slots) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); // relaxed: only this thread writes tail
    uint64_t ready = r->head_cache - tail;
    if (ready == 0) {
        // acquire: pairs with the producer's release; the published slots' bytes are visible
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        ready = head - tail;
        if (ready == 0) { *slots = cring_spsc_slot(r, tail); return 0; } // no store while polling an empty ring
        r->head_cache = head;
    }
    uint64_t run = r->capacity - (tail & r->mask);
    uint64_t n = max < ready ? max : ready;
    *slots = cring_spsc_slot(r, tail);
    return (uint32_t)(n < run ? n : run);
}

// Gives the first `n` peeked slots back to the producer.
static inline void cring_spsc_release(cring_spsc *r, uint32_t n) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); // relaxed: only this thread writes tail
    atomic_store_explicit(&r->tail, tail + n, memory_order_release); // release: our reads of the slots finish before the producer may reuse them
}

// Copies `len` bytes (at most the slot size) out of the next slot; 1, or 0 when empty.
static inline int cring_spsc_try_pop(cring_spsc *r, void *dst, uint32_t len) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); // relaxed: only this thread writes tail
    if (tail == r->head_cache) {
        // acquire: pairs with the producer's release; the slot's bytes are visible
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == head) return 0; // no store while polling an empty ring
        r->head_cache = head;
    }
    memcpy(dst, cring_spsc_slot(r, tail), len);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release); // release: our read of the slot before the producer may reuse it
    return 1;
}

// ---- Either side, or a monitor

// Slots published and not yet released: a snapshot, exact only when both sides are idle.
static inline uint64_t cring_spsc_count(cring_spsc *r) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire); // acquire: keeps the head load below after this one,
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); // so head >= tail (both only grow) and the count never underflows
    return head - tail;
}

// Slots ever published (head) and ever released (tail): monotonic, for a monitor that
// checks a pipeline is quiescent. acquire on both: a later load sees at least these values.
static inline void cring_spsc_totals(cring_spsc *r, uint64_t *published, uint64_t *released) {
    *released = atomic_load_explicit(&r->tail, memory_order_acquire);
    *published = atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
