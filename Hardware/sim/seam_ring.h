// The producer's end of the seam: omni_event records into a CRing SPSC ring in shared memory,
// as a card's DMA engine would fill it. C, because CRing's headers are C11 (_Atomic); the
// Verilator harness (C++) calls it through extern "C".
#ifndef SEAM_RING_H
#define SEAM_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Creates the ring `name` (cring_shm naming: "/x" is /dev/shm/x) of `capacity` 64-byte slots.
// 0, or a negative CRING_* status (CRING_ESYS: errno says why).
int seam_ring_create(const char *name, uint32_t capacity);
// Copies one 64-byte record into the ring: 1, or 0 when it is full.
int seam_ring_push(const void *record);
// Pushes an OMNI_EV_COMMAND OMNI_CMD_STOP (waiting while the ring is full) and unmaps the ring.
void seam_ring_finish(void);
// cring_status_name of a status.
const char *seam_ring_status(int status);

#ifdef __cplusplus
}
#endif

#endif
