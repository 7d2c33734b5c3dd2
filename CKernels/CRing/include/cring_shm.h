// An SPSC ring in a shared-memory file: the IPC path from a feed-handler process
// to a strategy process. The ring is the in-process cring_spsc, unchanged (it
// holds offsets, never pointers, and its atomics are lock-free, hence
// address-free); the file adds a header that the opener validates.
//
// File: [cring_shm_header, CRING_ALIGN bytes][cring_spsc][slots], sized up to the
// file system's block size (4 KiB on /dev/shm, 2 MiB on hugetlbfs).
//
// Names: "/feed-a" (one leading slash, no other) is a POSIX shared-memory name,
// i.e. /dev/shm/feed-a; anything else with a slash is a file path, e.g.
// "/dev/hugepages/feed-a" on a hugetlbfs mount for 2 MiB pages.
//
// Either side may create the file; the other opens it. The creator publishes the
// header's magic last, so an opener never sees a half-built ring (it gets
// CRING_ENOTREADY and retries).
#ifndef CRING_SHM_H
#define CRING_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "cring_spsc.h"

#define CRING_SHM_MAGIC 0x474E4952494E4D4Full // "OMNIRING" in a little-endian dump
#define CRING_SHM_VERSION 1u                  // layout of this header and of cring_spsc

typedef struct {
    _Atomic uint64_t magic; // CRING_SHM_MAGIC once the ring is set up; 0 before
    uint32_t version;       // CRING_SHM_VERSION
    uint32_t capacity;      // slots
    uint32_t slot_size;     // bytes per slot
    uint32_t ring_offset;   // where the cring_spsc starts in the file
    uint64_t file_bytes;    // the size the creator gave the file
} cring_shm_header;

typedef struct {
    cring_spsc *ring;       // the ring inside the mapping: produce or consume through it
    cring_shm_header *header;
    size_t map_bytes;
} cring_shm;

// Creates the file (it must not exist: CRING_ESYS with errno EEXIST; unlink a stale
// one first), sizes it, maps it, sets up an empty ring. CRING_OK, a geometry error,
// or CRING_ESYS (errno set).
int cring_shm_create(cring_shm *s, const char *name, uint32_t capacity, uint32_t slot_size);

// Maps an existing ring. `capacity` / `slot_size` are what the caller expects
// (0 accepts the file's): CRING_EGEOMETRY when they differ. Also CRING_ESYS (errno
// set; ENOENT when there is no such file), CRING_ENOTREADY, CRING_EMAGIC (also for
// a header whose geometry is impossible), CRING_EVERSION, CRING_ETRUNCATED.
// Nothing stays mapped on an error.
int cring_shm_open(cring_shm *s, const char *name, uint32_t capacity, uint32_t slot_size);

// Unmaps; the file stays for the other side.
void cring_shm_close(cring_shm *s);

// Removes the name; mappings already made stay valid. CRING_OK or CRING_ESYS.
int cring_shm_unlink(const char *name);

#endif
