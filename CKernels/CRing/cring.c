#define _GNU_SOURCE // shm_open, ftruncate, MAP_POPULATE under -std=c11
#include "CRing.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

const char *cring_status_name(int status) {
    switch (status) {
    case CRING_OK: return "ok";
    case CRING_EBADCAPACITY: return "capacity is not a power of two in 2...2^31";
    case CRING_EBADSLOT: return "slot size is not a power of two in 8...4096";
    case CRING_EMISALIGNED: return "ring memory is not aligned to 128 bytes";
    case CRING_ESYS: return "system call failed (see errno)";
    case CRING_EMAGIC: return "not a ring file (bad magic)";
    case CRING_EVERSION: return "ring file of another layout version";
    case CRING_EGEOMETRY: return "ring capacity or slot size differ from the expected";
    case CRING_ETRUNCATED: return "ring file shorter than its header says";
    case CRING_ENOTREADY: return "ring file not yet set up by its creator";
    default: return "unknown ring status";
    }
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

static int check_memory(const void *mem, uint32_t capacity, uint32_t slot_size) {
    int st = cring_check_geometry(capacity, slot_size);
    if (st != CRING_OK) return st;
    return ((uintptr_t)mem % CRING_ALIGN) ? CRING_EMISALIGNED : CRING_OK;
}

// ---- SPSC

size_t cring_spsc_bytes(uint32_t capacity, uint32_t slot_size) {
    if (cring_check_geometry(capacity, slot_size) != CRING_OK) return 0;
    return sizeof(cring_spsc) + (size_t)capacity * slot_size;
}

int cring_spsc_init(cring_spsc *r, uint32_t capacity, uint32_t slot_size, uint64_t first_seq) {
    int st = check_memory(r, capacity, slot_size);
    if (st != CRING_OK) return st;
    memset(r, 0, sizeof *r);
    r->mask = capacity - 1;
    r->capacity = capacity;
    r->slot_shift = (uint32_t)__builtin_ctz(slot_size);
    atomic_init(&r->head, first_seq);
    atomic_init(&r->tail, first_seq);
    r->tail_cache = r->head_cache = first_seq;
    return CRING_OK;
}

// ---- MPSC

static size_t mpsc_turns_bytes(uint32_t capacity) { return round_up((size_t)capacity * sizeof(uint64_t), CRING_ALIGN); }

size_t cring_mpsc_bytes(uint32_t capacity, uint32_t slot_size) {
    if (cring_check_geometry(capacity, slot_size) != CRING_OK) return 0;
    return sizeof(cring_mpsc) + mpsc_turns_bytes(capacity) + (size_t)capacity * slot_size;
}

int cring_mpsc_init(cring_mpsc *r, uint32_t capacity, uint32_t slot_size, uint64_t first_seq) {
    int st = check_memory(r, capacity, slot_size);
    if (st != CRING_OK) return st;
    memset(r, 0, sizeof *r);
    r->mask = capacity - 1;
    r->capacity = capacity;
    r->slot_shift = (uint32_t)__builtin_ctz(slot_size);
    r->slots_offset = mpsc_turns_bytes(capacity);
    atomic_init(&r->head, first_seq);
    r->tail = first_seq;
    for (uint64_t s = first_seq; s != first_seq + capacity; s++) atomic_init(cring_mpsc_turn(r, s), s); // every slot free for its first lap
    return CRING_OK;
}

// ---- Shared memory

// "/name" with no other slash is a POSIX shared-memory object; anything else is a file path.
static int shm_name(const char *name) { return name[0] == '/' && strchr(name + 1, '/') == NULL; }

static int open_name(const char *name, int flags) {
    return shm_name(name) ? shm_open(name, flags, 0600) : open(name, flags | O_CLOEXEC, 0600);
}

int cring_shm_unlink(const char *name) {
    int rc = shm_name(name) ? shm_unlink(name) : unlink(name);
    return rc == 0 ? CRING_OK : CRING_ESYS;
}

// Fails with CRING_ESYS, keeping the errno of the call that failed across the
// clean-up; a creator (`created` set) also removes the file it made.
static int sys_fail(int fd, const char *created) {
    int e = errno;
    if (fd >= 0) close(fd);
    if (created) cring_shm_unlink(created);
    errno = e;
    return CRING_ESYS;
}

int cring_shm_create(cring_shm *s, const char *name, uint32_t capacity, uint32_t slot_size) {
    *s = (cring_shm){0};
    int st = cring_check_geometry(capacity, slot_size);
    if (st != CRING_OK) return st;
    int fd = open_name(name, O_RDWR | O_CREAT | O_EXCL);
    if (fd < 0) return CRING_ESYS;
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return sys_fail(fd, name);
    size_t bytes = round_up(CRING_ALIGN + cring_spsc_bytes(capacity, slot_size), (size_t)fs.f_bsize); // hugetlbfs: f_bsize = 2 MiB
    if (ftruncate(fd, (off_t)bytes) != 0) return sys_fail(fd, name);
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) return sys_fail(fd, name);
    close(fd); // the mapping keeps the file open
    _Static_assert(sizeof(cring_shm_header) <= CRING_ALIGN, "the header fits before the ring");
    cring_shm_header *h = map;
    h->version = CRING_SHM_VERSION;
    h->capacity = capacity;
    h->slot_size = slot_size;
    h->ring_offset = CRING_ALIGN;
    h->file_bytes = bytes;
    cring_spsc *ring = (cring_spsc *)((uint8_t *)map + CRING_ALIGN);
    cring_spsc_init(ring, capacity, slot_size, 0);
    atomic_store_explicit(&h->magic, CRING_SHM_MAGIC, memory_order_release); // release: the header and the ring are set up before an opener sees the magic
    *s = (cring_shm){ .ring = ring, .header = h, .map_bytes = bytes };
    return CRING_OK;
}

int cring_shm_open(cring_shm *s, const char *name, uint32_t capacity, uint32_t slot_size) {
    *s = (cring_shm){0};
    int fd = open_name(name, O_RDWR);
    if (fd < 0) return CRING_ESYS;
    struct stat sb;
    if (fstat(fd, &sb) != 0) return sys_fail(fd, NULL);
    if (sb.st_size == 0) { close(fd); return CRING_ENOTREADY; } // created, not yet sized
    if ((size_t)sb.st_size < CRING_ALIGN) { close(fd); return CRING_EMAGIC; }
    size_t bytes = (size_t)sb.st_size;
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) return sys_fail(fd, NULL);
    close(fd);
    cring_shm_header *h = map;
    uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire); // acquire: pairs with the creator's release; the header and ring are visible
    int st = CRING_OK;
    if (magic == 0) st = CRING_ENOTREADY;
    else if (magic != CRING_SHM_MAGIC) st = CRING_EMAGIC;
    else if (h->version != CRING_SHM_VERSION) st = CRING_EVERSION;
    else if (cring_check_geometry(h->capacity, h->slot_size) != CRING_OK || h->ring_offset != CRING_ALIGN) st = CRING_EMAGIC; // a corrupt header
    else if ((capacity && capacity != h->capacity) || (slot_size && slot_size != h->slot_size)) st = CRING_EGEOMETRY;
    else if (h->file_bytes > bytes || h->ring_offset + cring_spsc_bytes(h->capacity, h->slot_size) > bytes) st = CRING_ETRUNCATED;
    if (st != CRING_OK) { munmap(map, bytes); return st; }
    *s = (cring_shm){ .ring = (cring_spsc *)((uint8_t *)map + h->ring_offset), .header = h, .map_bytes = bytes };
    return CRING_OK;
}

void cring_shm_close(cring_shm *s) {
    if (s->header) munmap(s->header, s->map_bytes);
    *s = (cring_shm){0};
}
