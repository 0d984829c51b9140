/*
 * snapshot.h: one rendered feed, immutable from birth and shared by
 * reference count between the event loop that made it and the serving
 * threads that send it.  The last snap_unref() frees it.
 */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "ioc.h"

#define SNAP_ETAG_MAX	48

struct snapshot {
	atomic_int	 refs;
	char		*body;		/* the feed, every line LF-ended */
	size_t		 len;
	char		*gz;		/* gzip of body; NULL when none */
	size_t		 gzlen;
	char		*dropped;	/* "VALUE\tREASON\n" lines */
	size_t		 dropped_len;
	char		 etag[SNAP_ETAG_MAX];	/* quoted, strong */
	time_t		 last_modified;	/* when the content last changed */
	size_t		 entries;	/* indicators published */
	size_t		 lines;		/* lines of body, expansions included */
	size_t		 drops[IOC_NREASONS];	/* withheld, by reason */
};

/*
 * Makes a snapshot that owns body and dropped (malloc'd; either may be
 * NULL with length 0).  Computes the ETag and the gzip body.  Returns
 * NULL on allocation failure, freeing nothing the caller passed.
 */
struct snapshot	*snap_new(char *body, size_t len, char *dropped,
		    size_t dropped_len, size_t entries, size_t lines,
		    const size_t drops[IOC_NREASONS], time_t last_modified);
/* Takes another reference; returns s. */
struct snapshot	*snap_ref(struct snapshot *s);
/* Drops a reference; frees at zero.  NULL is allowed. */
void		 snap_unref(struct snapshot *s);
/* 1 when two snapshots carry the same feed bytes. */
int		 snap_same_body(const struct snapshot *,
		    const struct snapshot *);

#endif
