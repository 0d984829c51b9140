/*
 * select.c: contract section 4 over the store.  For each indicator the
 * feed could carry: find its qualifying incidents (last contact within
 * lookback, adversary types overlapping the feed's); the newest of them
 * decides by its status; then the exclusions (parse reasons, allowlist,
 * protected addresses) and the max-entries cap, each drop with its reason.
 */
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "select.h"

/* Shrinks the items to those selected. */
static void
items_fit(struct selection *sel)
{
	struct sel_item	*n;

	if (sel->nitems == 0) {
		free(sel->items);
		sel->items = NULL;
		sel->capitems = 0;
		return;
	}
	if (sel->nitems == sel->capitems)
		return;
	/* A failure to shrink keeps the larger array, which still works. */
	if ((n = reallocarray(sel->items, sel->nitems,
	    sizeof(*n))) != NULL) {
		sel->items = n;
		sel->capitems = sel->nitems;
	}
}

/* Growable arrays of the selection. */
static int
add_item(struct selection *sel, const struct sel_item *it)
{
	struct sel_item	*n;
	size_t		 cap;

	if (sel->nitems == sel->capitems) {
		cap = sel->capitems ? sel->capitems * 2 : 256;
		if ((n = reallocarray(sel->items, cap, sizeof(*n))) == NULL)
			return (-1);
		sel->items = n;
		sel->capitems = cap;
	}
	sel->items[sel->nitems++] = *it;
	sel->nv4 += it->ind->kind == IOC_IPV4;
	return (0);
}

int
select_add_drop(struct selection *sel, const char *value,
    enum ioc_reason reason)
{
	struct sel_drop	*n;
	size_t		 cap;

	if (sel->ndrops == sel->capdrops) {
		cap = sel->capdrops ? sel->capdrops * 2 : 64;
		if ((n = reallocarray(sel->drops, cap, sizeof(*n))) == NULL)
			return (-1);
		sel->drops = n;
		sel->capdrops = cap;
	}
	sel->drops[sel->ndrops].value = value;
	sel->drops[sel->ndrops].reason = reason;
	sel->ndrops++;
	sel->counts[reason]++;
	return (0);
}

/* 1 when a feed of this type carries (or reports) this kind. */
static int
kind_fits(enum feed_type type, int kind)
{
	switch (type) {
	case FEED_IP:
		return (kind == IOC_IPV4 || kind == IOC_IPV6 ||
		    kind == IOC_NONE);
	case FEED_DOMAIN:
		return (kind == IOC_DOMAIN || kind == IOC_NONE);
	case FEED_URL:
		return (kind == IOC_DOMAIN || kind == IOC_URL ||
		    kind == IOC_NONE);
	}
	return (0);
}

/* 1 when incident a is newer than b: timestamp, statusTimestamp, id. */
static int
newer(const struct store_incident *a, const struct store_incident *b)
{
	if (a->timestamp != b->timestamp)
		return (a->timestamp > b->timestamp);
	if (a->status_ts != b->status_ts)
		return (a->status_ts > b->status_ts);
	return (strcmp(a->id, b->id) > 0);
}

static unsigned
status_bit(enum inc_status st)
{
	switch (st) {
	case INC_OPEN:
		return (CONF_ST_OPEN);
	case INC_MUTED:
		return (CONF_ST_MUTED);
	case INC_CLOSED:
		return (CONF_ST_CLOSED);
	default:
		return (0);
	}
}

/*
 * Decides one indicator by its qualifying incidents: 1 when the newest
 * one's status publishes (with *lastp the latest last contact), else 0.
 */
static int
decide(const struct store_indicator *ind, uint64_t mask, int64_t cutoff,
    unsigned statuses, int64_t *lastp)
{
	struct store_incident *const	*incs = store_indicator_incs(ind);
	const struct store_incident	*inc, *best = NULL;
	int64_t				 last = INT64_MIN;
	size_t				 i;

	for (i = 0; i < ind->ninc; i++) {
		inc = incs[i];
		if (inc->last_contact < cutoff || (inc->types & mask) == 0)
			continue;
		if (best == NULL || newer(inc, best))
			best = inc;
		if (inc->last_contact > last)
			last = inc->last_contact;
	}
	*lastp = last;
	return (best != NULL && (status_bit(best->status) & statuses) != 0);
}

/* The reason the safety rails withhold a decided indicator, or IOC_OK. */
static enum ioc_reason
rails(const struct store_indicator *ind, const struct conf *conf,
    const struct allowlist *al)
{
	if (ind->kind == IOC_NONE)
		return (IOC_INVALID);
	if (ind->reason != IOC_OK)
		return ((enum ioc_reason)ind->reason);
	switch (ind->kind) {
	case IOC_IPV4:
	case IOC_IPV6:
		if (allowlist_addr(al, ind->kind == IOC_IPV4 ? 4 : 6,
		    ind->addr))
			return (IOC_ALLOWLISTED);
		if (conf->protect_private && ioc_addr_protected(
		    ind->kind == IOC_IPV4 ? 4 : 6, ind->addr))
			return (IOC_PROTECTED);
		break;
	case IOC_DOMAIN:
		if (allowlist_name(al, ind->value, ind->len))
			return (IOC_ALLOWLISTED);
		break;
	case IOC_URL:
		if (ind->host_family == 4) {
			if (allowlist_addr(al, 4, ind->addr))
				return (IOC_ALLOWLISTED);
			if (conf->protect_private &&
			    ioc_addr_protected(4, ind->addr))
				return (IOC_PROTECTED);
		} else if (allowlist_name(al, ind->value, ind->hostlen))
			return (IOC_ALLOWLISTED);
		break;
	}
	return (IOC_OK);
}

/* The feed's type mask, from its adversary-types names. */
static uint64_t
feed_mask(const struct store *st, const struct conf_feed *f)
{
	uint64_t	mask = 0;
	size_t		i;

	for (i = 0; i < f->adversary_types.n; i++)
		mask |= store_type_bit(st, f->adversary_types.v[i]);
	return (mask);
}

/* Newest last contact first; ties to the value that sorts first. */
static int
by_recency(const void *a, const void *b)
{
	const struct sel_item	*x = a, *y = b;

	if (x->last_contact != y->last_contact)
		return (x->last_contact > y->last_contact ? -1 : 1);
	return (strcmp(x->ind->value, y->ind->value));
}

/* Applies max-entries: keeps the most recent, drops the rest. */
static int
cap_entries(struct selection *sel, size_t max)
{
	size_t	i;

	if (max == 0 || sel->nitems <= max)
		return (0);
	qsort(sel->items, sel->nitems, sizeof(*sel->items), by_recency);
	for (i = max; i < sel->nitems; i++) {
		if (select_add_drop(sel, sel->items[i].ind->value,
		    IOC_TRUNCATED) == -1)
			return (-1);
		sel->nv4 -= sel->items[i].ind->kind == IOC_IPV4;
	}
	sel->nitems = max;
	return (0);
}

int
select_feed(const struct store *st, const struct conf *conf,
    const struct conf_feed *f, const struct allowlist *al, int64_t now_ms,
    struct selection *sel)
{
	const struct store_indicator	*ind;
	struct sel_item			 it;
	enum ioc_reason			 why;
	uint64_t			 mask = feed_mask(st, f);
	int64_t				 cutoff = now_ms - conf->lookback * 1000;
	size_t				 i, n = store_nindicators(st);

	memset(sel, 0, sizeof(*sel));
	/*
	 * Room for every indicator at once: doubling would copy the array
	 * and leave half of it spare, and pages never written cost no
	 * memory.  items_fit() gives the rest back.
	 */
	if (n > 0 && (sel->items = reallocarray(NULL, n,
	    sizeof(*sel->items))) == NULL)
		return (-1);
	sel->capitems = n;
	for (i = 0; i < n; i++) {
		ind = store_indicator_at(st, i);
		if (!kind_fits(f->type, ind->kind) ||
		    !decide(ind, mask, cutoff, f->statuses, &it.last_contact))
			continue;
		if ((why = rails(ind, conf, al)) != IOC_OK) {
			if (select_add_drop(sel, ind->value, why) == -1)
				goto fail;
			continue;
		}
		it.ind = ind;
		/* A published domain above an allowlisted name: no "*.". */
		it.no_wildcard = ind->kind == IOC_DOMAIN &&
		    allowlist_under(al, ind->value, ind->len);
		if (it.no_wildcard && (f->include_subdomains) &&
		    select_add_drop(sel, ind->value,
		    IOC_ALLOWLIST_OVERLAP) == -1)
			goto fail;
		if (add_item(sel, &it) == -1)
			goto fail;
	}
	items_fit(sel);
	if (cap_entries(sel, f->max_entries) == -1)
		goto fail;
	return (0);
 fail:
	select_free(sel);
	return (-1);
}

void
select_free(struct selection *sel)
{
	free(sel->items);
	free(sel->drops);
	memset(sel, 0, sizeof(*sel));
}
