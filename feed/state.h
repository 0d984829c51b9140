/*
 * state.h: what a restart needs, in one file in state-dir: the store
 * (incidents with their classified indicators), the updates cursor, the
 * time of the last successful sync, and every feed's last published
 * bytes with their Last-Modified, so a restarted daemon serves the same
 * bytes and ETags at once, before Lumu answers.  Written atomically;
 * a damaged file is detected by its checksum and set aside.
 */
#ifndef STATE_H
#define STATE_H

#include <stdint.h>

struct site;
struct store;

#define STATE_FILE	"state"
#define STATE_MAX_BYTES	(1024UL * 1024 * 1024)

struct state_meta {
	char	offset[64];		/* updates cursor, "" none */
	int64_t	last_success_ms;	/* 0: never */
	int64_t	saved_ms;
};

/* Writes the state file; -1 (logged) on failure, the old file kept. */
int	state_save(const char *dir, const struct store *, const struct site *,
	    const struct state_meta *);
/*
 * Loads the state file into a new store (returned in *stp) and publishes
 * the saved snapshots into site's feeds of the same name and type.
 * Returns 0, 1 when there is no state file, or -1 when it is damaged:
 * then it is renamed aside ("state.bad-MS", MS the time in milliseconds),
 * the reason is logged, and nothing is loaded.
 */
int	state_load(const char *dir, struct store **stp, struct site *,
	    struct state_meta *);

#endif
