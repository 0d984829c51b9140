/*
 * publish.h: store to snapshots.  For every feed of the conf: select,
 * render, and publish a new snapshot only when the bytes changed, so an
 * unchanged feed keeps its ETag and Last-Modified.
 */
#ifndef PUBLISH_H
#define PUBLISH_H

#include <stdint.h>

struct conf;
struct store;
struct site;
struct allowlist;

/*
 * Renders every feed of conf from the store into site.  Returns the
 * number of feeds whose content changed, or -1 when a feed could not be
 * rendered (that feed keeps its previous snapshot).
 */
int	publish_all(const struct store *, const struct conf *,
	    const struct allowlist *, struct site *, int64_t now_ms);

/*
 * The shrink guard's measure: the largest share, in percent, of a feed's
 * published lines that rendering from st would remove; *which names that
 * feed.  Feeds without a published body count as 0.
 */
int	publish_shrink(const struct store *, const struct conf *,
	    const struct allowlist *, struct site *, int64_t now_ms,
	    const char **which);

#endif
