/*
 * select.h: the selection rule of the contract (section 4), in one place:
 * which indicators of the store a feed publishes, and which it withholds
 * and why.  Pure: reads the store and the conf, allocates the result.
 */
#ifndef SELECT_H
#define SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ioc.h"
#include "store.h"

struct allowlist;

struct sel_item {
	const struct store_indicator	*ind;
	int64_t				 last_contact;	/* newest qualifying */
	int				 no_wildcard;	/* allowlist overlap */
};

struct sel_drop {
	const char		*value;		/* borrowed from the store */
	enum ioc_reason		 reason;
};

struct selection {
	struct sel_item	*items;		/* published, in no set order */
	size_t		 nitems;
	size_t		 capitems;
	size_t		 nv4;		/* items that are IPv4 addresses */
	struct sel_drop	*drops;
	size_t		 ndrops;
	size_t		 capdrops;
	size_t		 counts[IOC_NREASONS];
};

/*
 * Selects for one feed at time now_ms.  Fills sel (the caller frees it
 * with select_free()); returns -1 on allocation failure.
 */
int		 select_feed(const struct store *, const struct conf *,
		    const struct conf_feed *, const struct allowlist *,
		    int64_t now_ms, struct selection *sel);
void		 select_free(struct selection *);
/* Appends a drop (render uses it for too-long lines); -1 on failure. */
int		 select_add_drop(struct selection *, const char *value,
		    enum ioc_reason);

#endif
