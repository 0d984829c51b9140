/*
 * render.h: contract section 5, one function per list type behind one
 * entry point.  The daemon, --once, --export and the push side all render
 * through here, so identical input gives identical bytes everywhere.
 */
#ifndef RENDER_H
#define RENDER_H

#include <stddef.h>

#include "conf.h"
#include "select.h"

/* The one line of a feed that is empty after a successful sync. */
#define RENDER_EMPTY_LINE \
	"# lumu-edl: no indicators are selected for this feed\n"

struct rendered {
	char	*body;		/* malloc'd; every line LF-ended */
	size_t	 len;
	size_t	 entries;	/* indicators published */
	size_t	 lines;		/* entry lines, expansions included */
	char	*dropped;	/* malloc'd "VALUE\tREASON\n" lines */
	size_t	 dropped_len;
	size_t	 drops[IOC_NREASONS];	/* lines of dropped, by reason */
};

/*
 * Renders the feed body and the drop report.  Frees sel's items once the
 * lines are built (its drops stay; select_free() still frees the rest).
 * Lines that would be too long are added to sel as too-long drops.  -1
 * on allocation failure.
 */
int	render_feed(const struct conf_feed *, struct selection *,
	    struct rendered *);
void	render_free(struct rendered *);

#endif
