/*
 * store.h: what the fetcher knows.  Incidents by id, and for each
 * canonical indicator the incidents that name it.  The store is owned by
 * the event loop; feed/ reads it to select and render, never writes it.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ioc.h"

enum inc_status {
	INC_UNKNOWN = 0,
	INC_OPEN,
	INC_MUTED,
	INC_CLOSED
};

#define LUMU_MAX_TYPES	16	/* adversary types kept per incident */
#define LUMU_MAX_ADV	64	/* indicators kept per incident */
#define STORE_MAX_TYPES	64	/* distinct type names (bits of a mask) */
/*
 * Bounds of a store, far above what a firewall can load (PAN-OS takes
 * 150,000 addresses or 250,000 names per list) and about 1 GB at most: a
 * flood of updates must not grow the daemon until allocations fail.
 */
#define STORE_MAX_INCIDENTS	1000000
#define STORE_MAX_INDICATORS	2000000
/*
 * What the store counts against a byte bound: a value's or an id's
 * length plus these, a little above what the store spends on each (its
 * 56-byte struct and key in one allocation, a 16-byte hash slot at up to
 * 3/4 load, an array entry, allocator overhead).
 */
#define STORE_COST_INDICATOR	130
#define STORE_COST_INCIDENT	120

/* Bounds of a store; 0 bytes means no byte bound. */
struct store_limits {
	size_t	incidents;
	size_t	indicators;
	size_t	bytes;
};

/*
 * A decoded incident.  The strings are borrowed (from a cJSON tree, say)
 * and only need to live for the call that receives it.
 */
struct lumu_incident {
	const char	*id;
	int64_t		 timestamp;	/* ms since the epoch; -1 if absent */
	int64_t		 status_ts;
	int64_t		 last_contact;
	enum inc_status	 status;
	const char	*types[LUMU_MAX_TYPES];
	size_t		 ntypes;
	const char	*adversaries[LUMU_MAX_ADV];
	size_t		 nadv;
};

struct store_indicator;

/*
 * One incident, 56 bytes.  In the store's own records the id follows the
 * struct in the same allocation (the by-id map reads it there).  Its
 * indicators, adversaries then triggers: store_incident_inds().
 */
struct store_incident {
	char			 *id;
	int64_t			  timestamp;
	int64_t			  status_ts;
	int64_t			  last_contact;
	uint64_t		  types;	/* bits from store_type_bit() */
	union {
		struct store_indicator	**inds;	/* when ind_array */
		struct store_indicator	 *ind1;	/* until a second one */
	}			  u;
	uint32_t		  slot;		/* index in the store's array */
	uint8_t			  ninds;	/* at most 2 * LUMU_MAX_ADV */
	uint8_t			  ntriggers;	/* the last ntriggers of inds */
	uint8_t			  status;	/* enum inc_status */
	uint8_t			  ind_array;	/* u.inds is allocated */
};

/*
 * One canonical indicator: the compact part of a struct ioc.  In the
 * store's own records the key follows the struct in the same allocation:
 * the kind as a digit, the value, a NUL; value points into it.
 */
struct store_indicator {
	char			 *value;	/* canonical, or escaped raw */
	union {
		struct store_incident	**incs;	/* when cap > 1 */
		struct store_incident	 *inc1;	/* while cap is 1 */
	}			  u;		/* store_indicator_incs() */
	uint32_t		  ninc;
	uint32_t		  cap;
	uint32_t		  slot;		/* index in the store's array */
	uint16_t		  len;
	uint16_t		  hostlen;	/* URL: host part of value */
	uint8_t			  kind;		/* enum ioc_kind */
	uint8_t			  reason;	/* enum ioc_reason at parse */
	uint8_t			  host_family;	/* URL with an IPv4 host: 4 */
	uint8_t			  host_only;	/* URL "host/" */
	uint8_t			  addr[16];
};

/*
 * The indicators of an incident (ninds of them) and the incidents of an
 * indicator (ninc): the first lives inside the struct until there are
 * two, which saves an allocation for most of them.
 */
static inline struct store_indicator *const *
store_incident_inds(const struct store_incident *inc)
{
	return (inc->ind_array ? inc->u.inds : &inc->u.ind1);
}

static inline struct store_incident *const *
store_indicator_incs(const struct store_indicator *ind)
{
	return (ind->cap > 1 ? ind->u.incs : &ind->u.inc1);
}

struct store;

struct store	*store_new(void);
void		 store_free(struct store *);
/*
 * Sets the bounds of every store of the process (the daemon fits them to
 * its memory limit; tests lower them).  Counts above the STORE_MAX_* are
 * lowered to them.  The bytes bound only what Lumu brings: store_restore
 * (a state file, another store) is held to the counts alone.
 */
void		 store_set_limits(const struct store_limits *);
/* The bytes a store counts against the bound. */
size_t		 store_bytes(const struct store *);

/*
 * Inserts an incident or replaces the one with the same id (its old
 * indicators are released).  Values are classified through ioc_parse().
 * Returns 0, or -1 with errno ENOMEM (allocation failure) or ENOSPC: a
 * new incident beyond the bound, or values that could take the
 * indicators beyond theirs; then the store is unchanged.
 */
int		 store_upsert(struct store *, const struct lumu_incident *);
/*
 * Replaces the threat-trigger indicators of an incident; -1 if unknown,
 * and with errno ENOSPC (nothing changed) or ENOMEM as store_upsert.
 */
int		 store_set_triggers(struct store *, const char *id,
		    const char *const *values, size_t n);
/* Removes incidents whose last contact is before cutoff; returns count. */
size_t		 store_expire(struct store *, int64_t cutoff_ms);
/*
 * Gives the incidents of dst that have no threat triggers those of the
 * same incident in src (a resync keeps the contexts already read).
 */
int		 store_carry_triggers(struct store *dst, const struct store *src);
/* Copies into dst the incidents of src that dst lacks (resync repair). */
int		 store_merge_missing(struct store *dst, const struct store *src,
		    int64_t cutoff_ms);
/*
 * Inserts (or replaces) an incident whose indicators are classified
 * already: from a state file or another store.  proto gives the id,
 * times, status, type mask (bits index typenames, STORE_MAX_TYPES
 * entries, NULL where unused) and ntriggers; inds need only their
 * compact fields.  -1 on allocation failure, or ENOSPC as store_upsert.
 */
int		 store_restore(struct store *, const struct store_incident *proto,
		    const char *const *typenames,
		    const struct store_indicator *const *inds, size_t ninds);
/* Type names by bit, STORE_MAX_TYPES entries, NULL where unused. */
const char *const *store_type_names(const struct store *);
struct store_incident *store_incident_find(const struct store *,
		    const char *id);

size_t		 store_nincidents(const struct store *);
size_t		 store_nindicators(const struct store *);
/* Indicators by index, 0 .. store_nindicators()-1, in no set order. */
const struct store_indicator *store_indicator_at(const struct store *,
		    size_t);
/* Incidents by index, 0 .. store_nincidents()-1, in no set order. */
const struct store_incident *store_incident_at(const struct store *, size_t);

/* The mask bit of an adversary type name (case-insensitive); 0: unseen. */
uint64_t	 store_type_bit(const struct store *, const char *name);
/* The name of a mask bit (0..STORE_MAX_TYPES-1), or NULL. */
const char	*store_type_name(const struct store *, int bit);

#endif
