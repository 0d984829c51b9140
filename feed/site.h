/*
 * site.h: what the HTTP side publishes: the feeds with their current
 * snapshots, and the sync state shown on /, /status, /metrics, /readyz.
 *
 * The event loop (the only writer) publishes a snapshot with one pointer
 * swap under a per-feed mutex; serving threads take a reference under the
 * same mutex and send without holding any lock.  A site is itself
 * reference counted, so a reload can swap in a new one while old replies
 * finish.
 */
#ifndef SITE_H
#define SITE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "snapshot.h"

struct site_feed {
	char			*name;
	enum feed_type		 type;
	char			**users;	/* NULL: no auth */
	size_t			 nusers;
	pthread_mutex_t		 lock;
	struct snapshot		*snap;		/* NULL until the first */
	atomic_ullong		 requests;
	atomic_ullong		 not_modified;
	atomic_ullong		 bytes;
};

struct site_sync {
	int64_t		started_ms;	/* process start */
	int64_t		last_success_ms;	/* 0: never */
	int64_t		last_attempt_ms;
	char		last_error[256];	/* "" when the last try worked */
	int		loaded_state;	/* feeds came from saved state */
	int64_t		resync_s;
	uint64_t	incidents;
	uint64_t	indicators;
	uint64_t	requests;
	uint64_t	errors;
	uint64_t	events[8];
	char		offset[64];
	double		last_sync_seconds;
};

struct site {
	atomic_int		 refs;
	struct site_feed	*feeds;
	size_t			 nfeeds;
	pthread_mutex_t		 sync_lock;
	struct site_sync	 sync;
};

/* A site with one empty feed per [feed] of conf. */
struct site	*site_new(const struct conf *);
struct site	*site_ref(struct site *);
void		 site_unref(struct site *);
struct site_feed *site_feed_find(struct site *, const char *name);
/* Returns a new reference to the feed's snapshot, or NULL. */
struct snapshot	*site_feed_current(struct site_feed *);
/* Publishes s (the site takes the caller's reference). */
void		 site_feed_publish(struct site_feed *, struct snapshot *s);
/* Copies the sync state out, or replaces it, under the lock. */
void		 site_sync_get(struct site *, struct site_sync *);
void		 site_sync_set(struct site *, const struct site_sync *);

#endif
