// MPSC ring: several producer threads, one consumer thread, fixed-size slots. The
// fan-in of the topology: many strategy cores into one journal or one gateway.
//
// Dmitry Vyukov's bounded queue, with the consumer side simplified for a single
// consumer. Each slot has a turn word next to it (kept in a separate array so that
// slots stay cache-line aligned). For the slot of sequence s:
//   turn == s      the slot is free for the producer that claims s
//   turn == s + 1  the producer has written it: the consumer may read it
//   turn == s + capacity   the consumer has read it: free for sequence s + capacity
// Producers claim a sequence by CAS on the shared head; the turn words, not the
// head, carry the ordering of the slot's bytes. Producers never wait for one
// another, but the consumer reads in sequence order: a producer stalled between
// claim and publish holds back the slots after its own, so keep that window
// short (no syscalls, no locks between them).
#ifndef CRING_MPSC_H
#define CRING_MPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cring_common.h"

typedef struct {
    // Geometry: written by init, then only read.
    uint64_t mask;         // capacity - 1
    uint32_t capacity;
    uint32_t slot_shift;   // log2(slot size)
    uint64_t slots_offset; // from the end of the struct: the turn array, rounded to CRING_ALIGN
    uint8_t pad0[CRING_ALIGN - 24];
    // Producers' shared line: the one point of contention.
    _Atomic uint64_t head; // the next sequence to claim
    uint8_t pad1[CRING_ALIGN - 8];
    // Consumer only.
    uint64_t tail;         // the next sequence to read
    uint8_t pad2[CRING_ALIGN - 8];
} cring_mpsc; // then _Atomic uint64_t turn[capacity], then the slots

// Explicit padding rather than _Alignas, as in cring_spsc (Swift imports no over-aligned C type).
_Static_assert(offsetof(cring_mpsc, head) == CRING_ALIGN && offsetof(cring_mpsc, tail) == 2 * CRING_ALIGN
               && sizeof(cring_mpsc) == 3 * CRING_ALIGN, "one CRING_ALIGN block per side");

size_t cring_mpsc_bytes(uint32_t capacity, uint32_t slot_size); // 0 when the geometry is invalid

// As cring_spsc_init: memory of cring_mpsc_bytes() bytes aligned to CRING_ALIGN.
int cring_mpsc_init(cring_mpsc *r, uint32_t capacity, uint32_t slot_size, uint64_t first_seq);

static inline _Atomic uint64_t *cring_mpsc_turn(cring_mpsc *r, uint64_t seq) {
    return (_Atomic uint64_t *)(r + 1) + (seq & r->mask);
}

static inline uint8_t *cring_mpsc_slot(cring_mpsc *r, uint64_t seq) {
    return (uint8_t *)(r + 1) + r->slots_offset + ((seq & r->mask) << r->slot_shift);
}

// ---- Producers (any number of threads)

// Claims the next slot: returns it and stores its sequence in *seq, or NULL when
// the ring is full. Write the slot, then cring_mpsc_publish(r, *seq).
static inline void *cring_mpsc_claim(cring_mpsc *r, uint64_t *seq) {
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed); // relaxed: a guess; the CAS below decides
    for (;;) {
        // acquire: pairs with the consumer's release of this slot; its read is done before we overwrite
        uint64_t turn = atomic_load_explicit(cring_mpsc_turn(r, pos), memory_order_acquire);
        int64_t d = (int64_t)(turn - pos);
        if (d == 0) {
            // relaxed: the CAS only hands out `pos`; the slot's turn word orders its bytes. On failure pos is reloaded.
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1, memory_order_relaxed, memory_order_relaxed)) break;
        } else if (d < 0) {
            return NULL; // the slot still holds the event of one lap ago: full
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed); // another producer took pos: relaxed, as above
        }
    }
    *seq = pos;
    return cring_mpsc_slot(r, pos);
}

// Hands the slot of sequence `seq` (from cring_mpsc_claim) to the consumer.
static inline void cring_mpsc_publish(cring_mpsc *r, uint64_t seq) {
    atomic_store_explicit(cring_mpsc_turn(r, seq), seq + 1, memory_order_release); // release: the slot's bytes before its turn says full
}

// Copies `len` bytes (at most the slot size) into the next slot; 1, or 0 when full.
static inline int cring_mpsc_try_push(cring_mpsc *r, const void *src, uint32_t len) {
    uint64_t seq;
    void *slot = cring_mpsc_claim(r, &seq);
    if (!slot) return 0;
    memcpy(slot, src, len);
    cring_mpsc_publish(r, seq);
    return 1;
}

// ---- Consumer (one thread)

// Up to `max` published slots in sequence order, contiguous, the first at *slots;
// returns how many (0: empty, or the next slot is claimed but not yet published).
static inline uint32_t cring_mpsc_peek(cring_mpsc *r, uint32_t max, const void **slots) {
    uint64_t tail = r->tail;
    uint64_t run = r->capacity - (tail & r->mask);
    uint32_t lim = (uint32_t)(max < run ? max : run), n = 0;
    // acquire: pairs with cring_mpsc_publish's release; the slot's bytes are visible
    while (n < lim && atomic_load_explicit(cring_mpsc_turn(r, tail + n), memory_order_acquire) == tail + n + 1) n++;
    *slots = cring_mpsc_slot(r, tail);
    return n;
}

// Gives the first `n` peeked slots back to the producers.
static inline void cring_mpsc_release(cring_mpsc *r, uint32_t n) {
    uint64_t tail = r->tail;
    for (uint32_t i = 0; i < n; i++) // release: our reads of the slot finish before a producer sees it free
        atomic_store_explicit(cring_mpsc_turn(r, tail + i), tail + i + r->capacity, memory_order_release);
    __atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE); // release: read by cring_mpsc_totals on a monitor thread
}

// Copies `len` bytes (at most the slot size) out of the next slot; 1, or 0 when none is ready.
static inline int cring_mpsc_try_pop(cring_mpsc *r, void *dst, uint32_t len) {
    uint64_t tail = r->tail;
    // acquire: pairs with cring_mpsc_publish's release; the slot's bytes are visible
    if (atomic_load_explicit(cring_mpsc_turn(r, tail), memory_order_acquire) != tail + 1) return 0;
    memcpy(dst, cring_mpsc_slot(r, tail), len);
    // release: our read of the slot finishes before a producer sees it free
    atomic_store_explicit(cring_mpsc_turn(r, tail), tail + r->capacity, memory_order_release);
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE); // release: read by cring_mpsc_totals on a monitor thread
    return 1;
}

// ---- A monitor (any thread)

// Sequences ever claimed (head: published or about to be) and ever released (tail):
// monotonic, for a monitor that checks a pipeline is quiescent. acquire: pairs with the stores.
static inline void cring_mpsc_totals(cring_mpsc *r, uint64_t *claimed, uint64_t *released) {
    *released = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    *claimed = atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
