// CRing: lock-free rings between pinned threads and between processes. Header-inline
// hot paths; set-up in cring.c. Rings move fixed-size slots and know nothing of what
// they hold; the 64-byte event they usually carry is CEvent's omni_event.h (the offload
// ABI), included here so that users of the rings have it at hand.
//   cring_spsc.h     single producer / single consumer, batch claim/publish, peek/release
//   cring_mpsc.h     several producers / one consumer (fan-in)
//   cring_shm.h      the SPSC ring in a shared-memory file, across processes
//   ring_baseline.h  the bare Lamport ring the benchmarks compare against
#ifndef CRING_H
#define CRING_H
#include "omni_event.h"
#include "cring_common.h"
#include "cring_spsc.h"
#include "cring_mpsc.h"
#include "cring_shm.h"
#include "ring_baseline.h"
#endif
