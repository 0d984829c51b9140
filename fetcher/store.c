/*
 * store.c: incidents by id and canonical indicators by value, linked both
 * ways.  Every incident and indicator has one owner (this store) and one
 * destructor (incident_free / indicator_free).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hmap.h"
#include "log.h"
#include "store.h"

struct store {
	struct hmap		  by_id;	/* id -> store_incident */
	struct hmap		  by_value;	/* kind+value -> indicator */
	struct store_incident	**incs;		/* dense, for iteration */
	size_t			  ninc, capinc;
	struct store_indicator	**inds;
	size_t			  nind, capind;
	char			 *types[STORE_MAX_TYPES];
	int			  ntypes;
	struct ioc		 *scratch;	/* ioc_parse output, reused */
	char			 *kbuf;		/* a by-value key to look up */
	size_t			  bytes;	/* counted, see store.h */
};

/* Every count of indicators an incident holds fits its ninds. */
_Static_assert(2 * LUMU_MAX_ADV <= UINT8_MAX, "store_incident.ninds");

/* The process's bounds; stores live on the main thread only. */
static struct store_limits limits = {
	STORE_MAX_INCIDENTS, STORE_MAX_INDICATORS, 0
};

static void	indicator_free(struct store *, struct store_indicator *);

struct store *
store_new(void)
{
	struct store	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return (NULL);
	if ((st->scratch = malloc(sizeof(*st->scratch))) == NULL ||
	    (st->kbuf = malloc(IOC_VALUE_MAX + 1)) == NULL) {
		free(st->scratch);
		free(st);
		return (NULL);
	}
	/* Both maps read their keys right after the record. */
	st->by_id.koff = sizeof(struct store_incident);
	st->by_value.koff = sizeof(struct store_indicator);
	return (st);
}

/* Appends p to a dense array, growing it; -1 on allocation failure. */
void
store_set_limits(const struct store_limits *lim)
{
	limits = *lim;
	if (limits.incidents > STORE_MAX_INCIDENTS)
		limits.incidents = STORE_MAX_INCIDENTS;
	if (limits.indicators > STORE_MAX_INDICATORS)
		limits.indicators = STORE_MAX_INDICATORS;
}

size_t
store_bytes(const struct store *st)
{
	return (st->bytes);
}

/*
 * 0 when incident id (new or not) with nvalues more values of vbytes in
 * all fits the bounds (vbytes SIZE_MAX: the counts only); else -1,
 * ENOSPC.  Every value counts as new, so a change near the bound is
 * refused whole rather than cut short half-way.
 */
static int
room_for(const struct store *st, const char *id, size_t nvalues,
    size_t vbytes)
{
	int	known = hmap_get(&st->by_id, id, strlen(id)) != NULL;
	size_t	add = vbytes + nvalues * STORE_COST_INDICATOR +
		    (known ? 0 : strlen(id) + STORE_COST_INCIDENT);

	if ((!known && st->ninc >= limits.incidents) ||
	    st->nind + nvalues > limits.indicators ||
	    (limits.bytes != 0 && vbytes != SIZE_MAX &&
	    st->bytes + add > limits.bytes)) {
		errno = ENOSPC;
		return (-1);
	}
	return (0);
}

/* The bytes of n values, each bounded as a value can be. */
static size_t
values_bytes(const char *const *vals, size_t n)
{
	size_t	i, b = 0;

	for (i = 0; i < n; i++)
		b += vals[i] != NULL ? strnlen(vals[i], UINT16_MAX) : 0;
	return (b);
}

static int
dense_add(void ***arr, size_t *n, size_t *cap, void *p)
{
	void	**na;
	size_t	  nc;

	if (*n == *cap) {
		nc = *cap ? *cap * 2 : 64;
		if ((na = reallocarray(*arr, nc, sizeof(*na))) == NULL)
			return (-1);
		*arr = na;
		*cap = nc;
	}
	(*arr)[(*n)++] = p;
	return (0);
}

/* The hash key of a store's indicator: its kind digit, then its value. */
static const char *
ind_key(const struct store_indicator *ind, size_t *lenp)
{
	*lenp = (size_t)ind->len + 1;
	return ((const char *)(ind + 1));
}

/* Finds or creates the indicator for a parsed value. */
static struct store_indicator *
indicator_get(struct store *st, const struct ioc *io)
{
	struct store_indicator	*ind;
	char			*kv;
	size_t			 klen = io->len + 1;

	st->kbuf[0] = (char)('0' + io->kind);
	memcpy(st->kbuf + 1, io->value, io->len);
	if ((ind = hmap_get(&st->by_value, st->kbuf, klen)) != NULL)
		return (ind);
	/* One allocation: the record, then its key with a NUL. */
	if ((ind = calloc(1, sizeof(*ind) + klen + 1)) == NULL)
		return (NULL);
	kv = (char *)(ind + 1);
	memcpy(kv, st->kbuf, klen);
	ind->value = kv + 1;
	ind->len = (uint16_t)io->len;
	ind->kind = (uint8_t)io->kind;
	ind->reason = (uint8_t)io->reason;
	ind->host_family = (uint8_t)io->host_family;
	ind->host_only = (uint8_t)io->host_only;
	ind->hostlen = (uint16_t)io->hostlen;
	memcpy(ind->addr, io->addr, sizeof(ind->addr));
	ind->slot = (uint32_t)st->nind;
	if (hmap_put(&st->by_value, kv, klen, ind) == -1 ||
	    dense_add((void ***)&st->inds, &st->nind, &st->capind, ind) == -1) {
		hmap_del(&st->by_value, kv, klen);
		free(ind);
		return (NULL);
	}
	st->bytes += ind->len + STORE_COST_INDICATOR;
	return (ind);
}

/* Unlinks and frees an indicator that no incident names any more. */
static void
indicator_free(struct store *st, struct store_indicator *ind)
{
	size_t	klen;
	const char *k = ind_key(ind, &klen);

	hmap_del(&st->by_value, k, klen);
	st->bytes -= ind->len + STORE_COST_INDICATOR;
	st->inds[ind->slot] = st->inds[--st->nind];
	st->inds[ind->slot]->slot = ind->slot;
	if (ind->cap > 1)
		free(ind->u.incs);
	free(ind);
}

/* The writable arrays behind store_incident_inds() and the like. */
static struct store_indicator **
inds_of(struct store_incident *inc)
{
	return (inc->ind_array ? inc->u.inds : &inc->u.ind1);
}

static struct store_incident **
incs_of(struct store_indicator *ind)
{
	return (ind->cap > 1 ? ind->u.incs : &ind->u.inc1);
}

/* Room for one more incident of ind; -1 on allocation failure. */
static int
incs_grow(struct store_indicator *ind)
{
	struct store_incident	**ni;
	uint32_t		  nc = ind->cap * 2;

	if (ind->cap == 0) {
		ind->cap = 1;	/* u.inc1 */
		return (0);
	}
	if (ind->ninc < ind->cap)
		return (0);
	if (ind->cap == 1) {
		if ((ni = malloc(nc * sizeof(*ni))) == NULL)
			return (-1);
		ni[0] = ind->u.inc1;
	} else if ((ni = reallocarray(ind->u.incs, nc, sizeof(*ni))) == NULL)
		return (-1);
	ind->u.incs = ni;
	ind->cap = nc;
	return (0);
}

/* Room for one more indicator of inc; -1 on allocation failure. */
static int
inds_grow(struct store_incident *inc)
{
	struct store_indicator	**nd;

	if (inc->ninds == 0)
		return (0);	/* u.ind1, or an array of two or more */
	if (!inc->ind_array) {
		if ((nd = malloc(2 * sizeof(*nd))) == NULL)
			return (-1);
		nd[0] = inc->u.ind1;
		inc->ind_array = 1;
	} else if ((nd = reallocarray(inc->u.inds, inc->ninds + 1,
	    sizeof(*nd))) == NULL)
		return (-1);
	inc->u.inds = nd;
	return (0);
}

/* Links an incident and an indicator both ways (once). */
static int
link_pair(struct store_incident *inc, struct store_indicator *ind)
{
	size_t	i;

	for (i = 0; i < inc->ninds; i++)
		if (inds_of(inc)[i] == ind)
			return (0);	/* "EVIL.com" and "evil.com." */
	/* Callers stay within 2 * LUMU_MAX_ADV; ninds must not wrap. */
	if (inc->ninds == UINT8_MAX) {
		errno = ENOSPC;
		return (-1);
	}
	/*
	 * Most indicators have one incident and most incidents one
	 * indicator: the first pointer lives inside the struct, which saves
	 * an allocation for each.
	 */
	if (incs_grow(ind) == -1 || inds_grow(inc) == -1)
		return (-1);
	inds_of(inc)[inc->ninds++] = ind;
	incs_of(ind)[ind->ninc++] = inc;
	return (0);
}

/* Unlinks the indicators inds[from..to) of an incident, closing the gap. */
static void
unlink_range(struct store *st, struct store_incident *inc, size_t from,
    size_t to)
{
	struct store_indicator	*ind, **inds = inds_of(inc);
	struct store_incident	**incs;
	size_t			 i, j;

	for (i = from; i < to; i++) {
		ind = inds[i];
		incs = incs_of(ind);
		for (j = 0; j < ind->ninc; j++)
			if (incs[j] == inc) {
				incs[j] = incs[--ind->ninc];
				break;
			}
		if (ind->ninc == 0)
			indicator_free(st, ind);
	}
	if (to < inc->ninds)
		memmove(inds + from, inds + to,
		    (inc->ninds - to) * sizeof(*inds));
	inc->ninds -= to - from;
}

/* Interns an adversary type name; its bit, or 0 when the table is full. */
static uint64_t
type_intern(struct store *st, const char *name)
{
	uint64_t	bit;
	char		*copy;

	if ((bit = store_type_bit(st, name)) != 0)
		return (bit);
	if (st->ntypes == STORE_MAX_TYPES || (copy = strdup(name)) == NULL)
		return (0);
	st->types[st->ntypes] = copy;
	return ((uint64_t)1 << st->ntypes++);
}

uint64_t
store_type_bit(const struct store *st, const char *name)
{
	int	i;

	for (i = 0; i < st->ntypes; i++)
		if (strcasecmp(st->types[i], name) == 0)
			return ((uint64_t)1 << i);
	return (0);
}

const char *const *
store_type_names(const struct store *st)
{
	return ((const char *const *)st->types);
}

const char *
store_type_name(const struct store *st, int bit)
{
	return (bit >= 0 && bit < st->ntypes ? st->types[bit] : NULL);
}

/* Finds or creates the record of an incident id. */
static struct store_incident *
incident_get(struct store *st, const char *id, int *created)
{
	struct store_incident	*inc;

	*created = 0;
	if ((inc = hmap_get(&st->by_id, id, strlen(id))) != NULL)
		return (inc);
	/* The id lives in the same allocation, right after the struct. */
	if ((inc = calloc(1, sizeof(*inc) + strlen(id) + 1)) == NULL)
		return (NULL);
	inc->id = (char *)(inc + 1);
	memcpy(inc->id, id, strlen(id) + 1);
	inc->slot = (uint32_t)st->ninc;
	if (hmap_put(&st->by_id, inc->id, strlen(inc->id), inc) == -1 ||
	    dense_add((void ***)&st->incs, &st->ninc, &st->capinc,
	    inc) == -1) {
		hmap_del(&st->by_id, inc->id, strlen(inc->id));
		free(inc);
		return (NULL);
	}
	*created = 1;
	st->bytes += strlen(inc->id) + STORE_COST_INCIDENT;
	return (inc);
}

/* Unlinks and frees an incident. */
static void
incident_free(struct store *st, struct store_incident *inc)
{
	unlink_range(st, inc, 0, inc->ninds);
	hmap_del(&st->by_id, inc->id, strlen(inc->id));
	st->bytes -= strlen(inc->id) + STORE_COST_INCIDENT;
	st->incs[inc->slot] = st->incs[--st->ninc];
	st->incs[inc->slot]->slot = inc->slot;
	if (inc->ind_array)
		free(inc->u.inds);
	free(inc);
}

/* Parses raw values and links them to inc. */
static int
link_values(struct store *st, struct store_incident *inc,
    const char *const *vals, size_t n)
{
	struct store_indicator	*ind;
	size_t			 i;

	for (i = 0; i < n; i++) {
		ioc_parse(vals[i], strlen(vals[i]), st->scratch);
		if ((ind = indicator_get(st, st->scratch)) == NULL ||
		    link_pair(inc, ind) == -1) {
			if (ind != NULL && ind->ninc == 0)
				indicator_free(st, ind);
			return (-1);
		}
	}
	return (0);
}

/* Moves inds[k..] in front of inds[0..k), keeping both orders. */
static void
rotate_front(struct store_incident *inc, size_t k)
{
	struct store_indicator	*t, **inds = inds_of(inc);
	size_t			 i, j;

	/* Three reversals; incidents hold a handful of indicators. */
	for (i = 0, j = k; i + 1 < j; i++, j--) {
		t = inds[i]; inds[i] = inds[j - 1];
		inds[j - 1] = t;
	}
	for (i = k, j = inc->ninds; i + 1 < j; i++, j--) {
		t = inds[i]; inds[i] = inds[j - 1];
		inds[j - 1] = t;
	}
	for (i = 0, j = inc->ninds; i + 1 < j; i++, j--) {
		t = inds[i]; inds[i] = inds[j - 1];
		inds[j - 1] = t;
	}
}

int
store_upsert(struct store *st, const struct lumu_incident *li)
{
	struct store_incident	*inc;
	size_t			 i, nadv;
	int			 created;
	uint64_t		 types = 0;

	if (li->id == NULL || *li->id == '\0') {
		errno = EINVAL;
		return (-1);
	}
	if (room_for(st, li->id, li->nadv, values_bytes(li->adversaries,
	    li->nadv)) == -1)
		return (-1);
	if ((inc = incident_get(st, li->id, &created)) == NULL)
		return (-1);
	for (i = 0; i < li->ntypes; i++)
		types |= type_intern(st, li->types[i]);
	/* Adversaries come first in inds, then the threat triggers. */
	unlink_range(st, inc, 0, inc->ninds - inc->ntriggers);
	inc->timestamp = li->timestamp;
	inc->status_ts = li->status_ts;
	inc->last_contact = li->last_contact;
	inc->status = (uint8_t)li->status;
	inc->types = types;
	nadv = inc->ninds;	/* the triggers kept */
	if (link_values(st, inc, li->adversaries, li->nadv) == -1) {
		incident_free(st, inc);
		return (-1);
	}
	/* link_values appended; rotate the new adversaries to the front. */
	rotate_front(inc, nadv);
	return (0);
}

int
store_set_triggers(struct store *st, const char *id,
    const char *const *values, size_t n)
{
	struct store_incident	*inc;
	size_t			 before;

	if ((inc = hmap_get(&st->by_id, id, strlen(id))) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if (n > LUMU_MAX_ADV)
		n = LUMU_MAX_ADV;	/* the same bound as adversaries */
	if (room_for(st, id, n, values_bytes(values, n)) == -1)
		return (-1);
	unlink_range(st, inc, inc->ninds - inc->ntriggers, inc->ninds);
	before = inc->ninds;
	if (link_values(st, inc, values, n) == -1) {
		inc->ntriggers = inc->ninds - before;
		return (-1);
	}
	inc->ntriggers = inc->ninds - before;
	return (0);
}

size_t
store_expire(struct store *st, int64_t cutoff_ms)
{
	size_t	i = 0, n = 0;

	while (i < st->ninc) {
		if (st->incs[i]->last_contact < cutoff_ms) {
			incident_free(st, st->incs[i]);	/* refills slot i */
			n++;
		} else
			i++;
	}
	return (n);
}

/* Rebuilds a parse result from an indicator's compact copy. */
static void
ioc_from_compact(struct ioc *io, const struct store_indicator *si)
{
	memset(io, 0, offsetof(struct ioc, value));
	io->kind = si->kind;
	io->reason = si->reason;
	io->host_family = si->host_family;
	io->host_only = si->host_only;
	io->hostlen = si->hostlen;
	io->len = si->len;
	memcpy(io->addr, si->addr, sizeof(io->addr));
	memcpy(io->value, si->value, (size_t)si->len + 1);
}

int
store_restore(struct store *st, const struct store_incident *proto,
    const char *const *typenames, const struct store_indicator *const *inds,
    size_t ninds)
{
	struct store_incident	*inc;
	struct store_indicator	*ind;
	struct ioc		*io = st->scratch;
	size_t			 i;
	int			 created, b;

	/* Saved by this process or copied from its store: counts only. */
	if (room_for(st, proto->id, ninds, SIZE_MAX) == -1)
		return (-1);
	if ((inc = incident_get(st, proto->id, &created)) == NULL)
		return (-1);
	unlink_range(st, inc, 0, inc->ninds);
	inc->timestamp = proto->timestamp;
	inc->status_ts = proto->status_ts;
	inc->last_contact = proto->last_contact;
	inc->status = proto->status;
	inc->types = 0;
	for (b = 0; b < STORE_MAX_TYPES; b++)
		if ((proto->types & ((uint64_t)1 << b)) && typenames[b] != NULL)
			inc->types |= type_intern(st, typenames[b]);
	for (i = 0; i < ninds; i++) {
		ioc_from_compact(io, inds[i]);
		if ((ind = indicator_get(st, io)) == NULL ||
		    link_pair(inc, ind) == -1) {
			if (ind != NULL && ind->ninc == 0)
				indicator_free(st, ind);
			incident_free(st, inc);
			return (-1);
		}
	}
	/* Linking drops repeats, so never claim more than were linked. */
	inc->ntriggers = proto->ntriggers < inc->ninds ? proto->ntriggers :
	    inc->ninds;
	return (0);
}

int
store_merge_missing(struct store *dst, const struct store *src,
    int64_t cutoff_ms)
{
	size_t	i;

	for (i = 0; i < src->ninc; i++) {
		const struct store_incident *s = src->incs[i];

		if (s->last_contact < cutoff_ms ||
		    hmap_get(&dst->by_id, s->id, strlen(s->id)) != NULL)
			continue;
		if (store_restore(dst, s, (const char *const *)src->types,
		    (const struct store_indicator *const *)
		    store_incident_inds(s), s->ninds) == -1)
			return (-1);
	}
	return (0);
}

/* Copies the trigger indicators of s onto inc (compact form). */
static int
copy_triggers(struct store *st, struct store_incident *inc,
    const struct store_incident *s)
{
	struct store_indicator	*ind;
	struct ioc		*io = st->scratch;
	size_t			 i, before = inc->ninds;

	for (i = s->ninds - s->ntriggers; i < s->ninds; i++) {
		const struct store_indicator *si = store_incident_inds(s)[i];

		ioc_from_compact(io, si);
		if ((ind = indicator_get(st, io)) == NULL ||
		    link_pair(inc, ind) == -1) {
			if (ind != NULL && ind->ninc == 0)
				indicator_free(st, ind);
			break;
		}
	}
	inc->ntriggers = inc->ninds - before;
	return (i == s->ninds ? 0 : -1);
}

int
store_carry_triggers(struct store *dst, const struct store *src)
{
	struct store_incident	*inc;
	size_t			 i;

	for (i = 0; i < src->ninc; i++) {
		const struct store_incident *s = src->incs[i];

		if (s->ntriggers == 0 || (inc = hmap_get(&dst->by_id, s->id,
		    strlen(s->id))) == NULL || inc->ntriggers > 0)
			continue;
		if (copy_triggers(dst, inc, s) == -1)
			return (-1);
	}
	return (0);
}

struct store_incident *
store_incident_find(const struct store *st, const char *id)
{
	return (hmap_get(&st->by_id, id, strlen(id)));
}

size_t
store_nincidents(const struct store *st)
{
	return (st->ninc);
}

size_t
store_nindicators(const struct store *st)
{
	return (st->nind);
}

const struct store_indicator *
store_indicator_at(const struct store *st, size_t i)
{
	return (i < st->nind ? st->inds[i] : NULL);
}

const struct store_incident *
store_incident_at(const struct store *st, size_t i)
{
	return (i < st->ninc ? st->incs[i] : NULL);
}

void
store_free(struct store *st)
{
	int	i;

	if (st == NULL)
		return;
	while (st->ninc > 0)
		incident_free(st, st->incs[st->ninc - 1]);
	for (i = 0; i < st->ntypes; i++)
		free(st->types[i]);
	hmap_free(&st->by_id);
	hmap_free(&st->by_value);
	free(st->incs);
	free(st->inds);
	free(st->scratch);
	free(st->kbuf);
	free(st);
}
