/*
 * memcap.c: the memory limits a process can run under, read at start and
 * now and then: the address-space rlimit (ulimit -v) and the cgroup v2
 * memory.max that systemd's MemoryMax= sets.  The store is then bounded to a share of
 * what is left, so a flood of incidents fills the store, is refused and
 * logged, and the daemon keeps serving; without the bound it would grow
 * until allocations fail, and libevent does not survive that everywhere.
 */
#include <sys/resource.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "memcap.h"
#include "store.h"
#include "util.h"

#define MEMCAP_STACK	(8UL << 20)	/* a thread's stack, mapped later */
/*
 * The store's share of the room: a full read builds a second store next
 * to the first, and feed bodies, their gzip copies, the snapshots being
 * replaced and the state file being written come on top.
 */
#define MEMCAP_STORE_SHARE	6

/* A whole file of at most 4 KB as a string, or NULL. */
static char *
read_small(const char *path)
{
	char	*data = NULL;
	size_t	 len;

	if (file_read_all(path, 4096, &data, &len) == -1)
		return (NULL);
	return (data);		/* file_read_all ends it with a NUL */
}

/* The first number in a file, or -1 (also for "max"). */
static long long
read_number(const char *path)
{
	char		*s, *end;
	long long	 n;

	if ((s = read_small(path)) == NULL)
		return (-1);
	n = strtoll(s, &end, 10);
	if (end == s || n < 0)
		n = -1;
	free(s);
	return (n);
}

/* Bytes mapped now (VmSize), or 0 when unknown. */
static size_t
mapped_now(void)
{
	long long	pages = read_number("/proc/self/statm");

	return (pages > 0 ? (size_t)pages * (size_t)sysconf(_SC_PAGESIZE) :
	    0);
}

/* RLIMIT_AS in bytes, or SIZE_MAX without one. */
static size_t
limit_rlimit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_AS, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return (SIZE_MAX);
	return ((size_t)rl.rlim_cur);
}

/*
 * This cgroup's memory.max (v2) in bytes, or SIZE_MAX without one; with
 * cur, its memory.current (0 when unknown).
 */
static size_t
limit_cgroup(size_t *cur)
{
	char		*cg, *line, *next, path[512];
	long long	 max, now;

	*cur = 0;
	if ((cg = read_small("/proc/self/cgroup")) == NULL)
		return (SIZE_MAX);
	/* The v2 line is "0::/the/path"; v1 lines do not count. */
	for (line = cg; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "0::", 3) == 0)
			break;
	}
	if (line == NULL || snprintf(path, sizeof(path),
	    "/sys/fs/cgroup%s/memory.max", line + 3) >= (int)sizeof(path)) {
		free(cg);
		return (SIZE_MAX);
	}
	max = read_number(path);
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current",
	    line + 3);
	now = read_number(path);
	free(cg);
	*cur = now > 0 ? (size_t)now : 0;
	return (max < 0 ? SIZE_MAX : (size_t)max);
}

/* limit less used, or 0; SIZE_MAX stays "no limit". */
static size_t
room_under(size_t limit, size_t used)
{
	if (limit == SIZE_MAX)
		return (SIZE_MAX);
	return (limit > used ? limit - used : 0);
}

void
memcap_fit_store(int threads)
{
	static size_t		 base_as, base_cg, said = SIZE_MAX - 1;
	static int		 measured;
	struct store_limits	 lim = { STORE_MAX_INCIDENTS,
				    STORE_MAX_INDICATORS, 0 };
	size_t			 las = limit_rlimit(), lcg, cur, as, cg, room;

	lcg = limit_cgroup(&cur);
	/* What the process used before any data: measured once, at start. */
	if (!measured) {
		base_as = mapped_now() + (size_t)(threads + 1) * MEMCAP_STACK;
		base_cg = cur;
		measured = 1;
	}
	as = room_under(las, base_as);
	cg = room_under(lcg, base_cg);
	room = as < cg ? as : cg;
	if (room != SIZE_MAX) {
		lim.bytes = room / MEMCAP_STORE_SHARE;
		/* Room for a few incidents, so the refusals show in the log. */
		if (lim.bytes < 64 * 1024)
			lim.bytes = 64 * 1024;
	}
	store_set_limits(&lim);
	if (lim.bytes == said)
		return;
	said = lim.bytes;
	if (room == SIZE_MAX)
		log_debug("no memory limit: the store is bounded by its counts "
		    "alone");
	else
		log_info("%zu MB under %s: the store keeps at most %zu MB",
		    room >> 20, as < cg ? "the address-space limit" :
		    "the cgroup's memory.max", lim.bytes >> 20);
}
