// Memory for rings, books and journals: placed on the NUMA node of the core
// that uses it, backed by 2 MiB pages where the system has them, and faulted in
// before the hot path starts. Each allocator falls back rather than fails, and
// says in the region which kind of memory it got.
#ifndef CSYS_MEM_H
#define CSYS_MEM_H

#include <stddef.h>

#define CSYS_HUGEPAGE_SIZE (2u << 20)

typedef enum {
    CSYS_MEM_NONE = 0,    // no memory (allocation failed, or the region was freed)
    CSYS_MEM_HUGETLB = 1, // explicit 2 MiB pages from the reserved pool (mmap MAP_HUGETLB)
    CSYS_MEM_THP = 2,     // 4 KiB pages advised MADV_HUGEPAGE: transparent 2 MiB pages if the kernel grants them
    CSYS_MEM_NUMA = 3,    // libnuma: normal pages bound to the requested node
    CSYS_MEM_PAGES = 4,   // plain mmap: libnuma unavailable (numa_available() < 0), placed by first touch
} csys_mem_kind;

typedef struct {
    void *base;
    size_t size;        // bytes mapped: the request rounded up to the page size of `kind`
    csys_mem_kind kind;
    int node;           // NUMA node the pages were bound to, -1 when not bound
} csys_region;

// `size` bytes backed by 2 MiB pages, at a 2 MiB-aligned address: MAP_HUGETLB
// when the hugepage pool (vm.nr_hugepages) has room, else a normal mapping with
// MADV_HUGEPAGE (CSYS_MEM_THP). `node` >= 0 binds the pages to that NUMA node
// (ignored where libnuma does not work); -1 leaves them to first touch. The
// memory is zeroed and already faulted in. 0, -ENOMEM, or -EINVAL (size 0, node
// beyond numa_max_node()); on an error the region's kind is CSYS_MEM_NONE.
int csys_alloc_hugepages(csys_region *r, size_t size, int node);

// `size` bytes on NUMA node `node`, or on the calling thread's node when `node`
// is -1 (numa_alloc_onnode / numa_alloc_local). Where libnuma does not work
// (numa_available() < 0) a plain mmap, kind CSYS_MEM_PAGES, and `node` is ignored.
// Zeroed and faulted in. 0, -ENOMEM, or -EINVAL (size 0, node beyond numa_max_node()).
int csys_alloc_on_node(csys_region *r, size_t size, int node);

// Returns a region from either allocator; leaves it empty (kind CSYS_MEM_NONE).
void csys_region_free(csys_region *r);

// "hugetlb", "thp", "numa", "pages", "none".
const char *csys_mem_kind_name(csys_mem_kind kind);

#endif
