// Threads of the hot path: each stage pins itself to a core, may ask for
// SCHED_FIFO, and is named so that top/perf show what runs where. Every call
// acts on the calling thread and returns 0 or -errno (the kernels' one
// convention; pthread's positive codes are negated).
#ifndef CSYS_THREAD_H
#define CSYS_THREAD_H

// Pins the calling thread to one core. -EINVAL when `core` is negative, beyond
// CPU_SETSIZE, or not a core this process may run on (offline, outside its cpuset).
int csys_pin_to_core(int core);

// Keeps the calling thread off one core: its allowed cores less `core`, so that the threads it
// starts afterwards (which inherit the mask) leave that core to a pinned hot-path thread.
// -EINVAL when `core` is out of range or is the only core the thread may use.
int csys_avoid_core(int core);

// The core the calling thread runs on now (sched_getcpu), or -1.
int csys_current_core(void);

// Puts the calling thread in SCHED_FIFO at `priority` (1..99), or back in
// SCHED_OTHER when `priority` is 0. -EINVAL for a priority out of range, -EPERM
// without CAP_SYS_NICE / an RLIMIT_RTPRIO allowance. A FIFO thread that spins
// never yields its core: pin it to a core nothing else needs.
int csys_set_fifo(int priority);

// mlockall(MCL_CURRENT | MCL_FUTURE): every page mapped now or later stays
// resident, so the hot path never takes a major fault. -ENOMEM / -EPERM when
// RLIMIT_MEMLOCK forbids it.
int csys_lock_memory(void);

// Names the calling thread (shown by top -H, perf, gdb). Longer names are cut to
// the kernel's 15 characters.
int csys_name_thread(const char *name);

// Cores online now (sysconf(_SC_NPROCESSORS_ONLN)).
int csys_online_cores(void);

#endif
