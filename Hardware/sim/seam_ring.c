#include "seam_ring.h"

#include <sched.h>
#include "CRing.h"

static cring_shm ring;

int seam_ring_create(const char *name, uint32_t capacity) {
    return cring_shm_create(&ring, name, capacity, sizeof(omni_event));
}

int seam_ring_push(const void *record) {
    return cring_spsc_try_push(ring.ring, record, sizeof(omni_event));
}

void seam_ring_finish(void) {
    omni_event stop;
    memset(&stop, 0, sizeof stop);
    stop.type = OMNI_EV_COMMAND;
    stop.command.code = OMNI_CMD_STOP;
    while (!cring_spsc_try_push(ring.ring, &stop, sizeof stop)) sched_yield(); // the consumer drains, then stops
    cring_shm_close(&ring);
}

const char *seam_ring_status(int status) { return cring_status_name(status); }
