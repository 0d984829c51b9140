/*
 * decode.h: Lumu Defender API answers read from JSON (cJSON), checked
 * field by field.  Pure: no I/O, no logging, no globals.
 *
 * decode_parse() turns a body into a cJSON tree the caller owns and frees
 * with cJSON_Delete().  The other functions read that tree; the strings
 * they hand back (incident ids, adversaries, offsets' sources) are
 * borrowed from it and live as long as the tree.
 */
#ifndef DECODE_H
#define DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lumu.h"
#include "store.h"

#define DECODE_MAX_ITEMS	1000	/* elements of one page or batch */
#define DECODE_ID_MAX		128	/* longer incident ids are skipped */
#define DECODE_OFFSET_MAX	64	/* == sizeof(lumu_stats.offset) */
#define DECODE_MAX_TRIGGERS	LUMU_MAX_ADV

/* What decoding left out, added up over any number of calls. */
struct decode_counts {
	size_t	incidents;	/* decoded */
	size_t	no_id;		/* incidents skipped: no usable string id */
	size_t	not_object;	/* elements that were not objects */
	size_t	adv_cut;	/* adversaries beyond LUMU_MAX_ADV */
	size_t	adv_skipped;	/* adversaries that were not strings */
	size_t	types_cut;	/* types beyond LUMU_MAX_TYPES */
	size_t	types_skipped;	/* types that were not strings */
	size_t	bad_times;	/* times present but unreadable (-1 kept) */
};

/* One page of POST /api/incidents/all. */
struct decode_page {
	int64_t		 page;		/* paginationInfo.page */
	int64_t		 items;		/* the page size asked for */
	int64_t		 next;		/* 0: absent, no further page */
	int64_t		 prev;		/* 0: absent */
	const cJSON	*list;		/* the items array, in the tree */
	size_t		 count;		/* its elements */
};

/* One answer of the updates stream. */
struct decode_updates {
	char		 offset[DECODE_OFFSET_MAX];	/* verbatim cursor */
	const cJSON	*list;		/* the updates array, in the tree */
	size_t		 count;
};

/* One element of updates[]. */
struct decode_event {
	enum lumu_event		 type;
	const char		*name;		/* the type as sent */
	int			 has_incident;	/* inc is filled */
	struct lumu_incident	 inc;
	const char		*incident_id;	/* inc.id or incidentId */
};

/* GET /api/incidents/{id}/context. */
struct decode_context {
	int		 currently_active;	/* 1, 0, or -1 when absent */
	int64_t		 rank;			/* -1 when absent */
	const char	*triggers[DECODE_MAX_TRIGGERS];
	size_t		 ntriggers;
	size_t		 triggers_cut;		/* beyond the cap */
	size_t		 triggers_skipped;	/* not strings, or empty */
};

/*
 * Parses exactly len bytes as one JSON value (trailing whitespace only).
 * Returns the tree, or NULL with a reason in err ("empty body", "invalid
 * JSON at byte 12 of 40", "truncated JSON").
 */
cJSON		*decode_parse(const char *body, size_t len, char *err,
		    size_t errsz);

/*
 * Fills *out from one incident object.  Returns 0, or -1 when it is
 * skipped (not an object, no string id); counts go to c (may be NULL).
 */
int		 decode_incident(const cJSON *, struct lumu_incident *out,
		    struct decode_counts *c);

/*
 * Checks the envelope of page reqpage (items array, paginationInfo) and
 * fills *out.  -1 with err ("page 3: no items array") on a wrong shape.
 */
int		 decode_page(const cJSON *root, int64_t reqpage,
		    struct decode_page *out, char *err, size_t errsz);

/* Checks an updates answer and copies its offset; -1 with err. */
int		 decode_updates(const cJSON *root, struct decode_updates *out,
		    char *err, size_t errsz);

/*
 * Reads one element of updates[].  Returns 0, or -1 for an element that is
 * not an object with exactly one key (out->type is then LUMU_EV_UNKNOWN).
 */
int		 decode_event(const cJSON *, struct decode_event *out,
		    struct decode_counts *c);

/* Maps an event type name to its enum (case-insensitive). */
enum lumu_event	 decode_event_type(const char *name);

/*
 * Writes an offset verbatim: an integral JSON number 0..2^53-1 in its
 * exact digits, or a string of 1..63 URL-safe characters.  -1 otherwise.
 */
int		 decode_offset(const cJSON *, char *dst, size_t dstsz);

/* 1 when s is an offset string decode_offset() would pass on. */
int		 decode_offset_ok(const char *s);

/*
 * Compares two offsets: <0, 0, >0 when a is before, equal to, after b.
 * Only offsets of digits are ordered; anything else compares as 0.
 */
int		 decode_offset_cmp(const char *a, const char *b);

/* Reads a context answer; -1 with err when it is not an object. */
int		 decode_context(const cJSON *root, struct decode_context *out,
		    char *err, size_t errsz);

/*
 * Reads an error answer {"name": ..., "detail": ...} into dst as
 * "name - detail" (raw, unescaped).  -1 when the body has neither.
 */
int		 decode_api_error(const char *body, size_t len, char *dst,
		    size_t dstsz);

#endif
