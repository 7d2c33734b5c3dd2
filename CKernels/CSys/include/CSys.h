// CSys: what a pinned hot-path thread asks of the operating system and the CPU.
// Threads (core pinning, SCHED_FIFO, mlockall, names), memory (NUMA-local and
// hugepage-backed regions) and the TSC clock. Everything here runs at start-up,
// off the hot path, except the clock reads in csys_clock.h. Linux, x86-64.
#ifndef CSYS_H
#define CSYS_H
#include "csys_thread.h"
#include "csys_mem.h"
#include "csys_clock.h"
#endif
