/*
 * memcap.h: how much memory this process may still take before a limit
 * stops it, so the store can be bounded to fit under that limit.
 */
#ifndef MEMCAP_H
#define MEMCAP_H

#include <stddef.h>

/*
 * Bounds the stores to a share of what the address-space limit
 * (RLIMIT_AS) and the cgroup's memory.max (systemd's MemoryMax=) leave
 * above what the process used at its first call, less the stacks of its
 * threads; logs the bound when it changes.  Called at start and again
 * now and then, so a limit raised or lifted takes effect.
 */
void	memcap_fit_store(int threads);

#endif
