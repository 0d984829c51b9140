/*
 * lumu.h: the Lumu Defender API client.  It runs on the owner's event
 * base through curlev, spends at most the configured request budget, and
 * reports what it learns through callbacks; it never touches feeds.
 *
 * Flow: lumu_start() reads the whole window (POST /api/incidents/all,
 * paged) into a fresh store and hands it over through on_sync; then it
 * follows the updates stream and hands each event over through on_event;
 * every resync seconds it reads the window again.  Errors are reported
 * through on_error and retried with backoff; nothing is handed over from
 * a failed read, so the owner keeps its last good data.
 */
#ifndef LUMU_H
#define LUMU_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct event_base;
struct curlev;
struct lumu;

struct lumu_params {
	const char		 *api_url;	/* base, no trailing slash needed */
	const char		 *key;		/* company key (secret) */
	const char *const	 *types;	/* adversary types to ask for */
	size_t			  ntypes;
	int64_t			  lookback;	/* seconds */
	int64_t			  updates_wait;	/* seconds */
	int64_t			  resync;	/* seconds */
	int			  max_rpm;	/* 0: no limit */
	int			  threat_triggers;
	int			  follow_updates;	/* 0: full reads only */
};

/* Event types of the updates stream, as counted in /status. */
enum lumu_event {
	LUMU_EV_NEW,		/* NewIncidentCreated */
	LUMU_EV_UPDATED,	/* IncidentUpdated */
	LUMU_EV_CLOSED,		/* IncidentClosed */
	LUMU_EV_MUTED,		/* IncidentMuted */
	LUMU_EV_UNMUTED,	/* IncidentUnmuted */
	LUMU_EV_IGNORED,	/* read, comment, integrations, status */
	LUMU_EV_UNKNOWN,	/* any other type */
	LUMU_NEVENTS
};

struct lumu_callbacks {
	void	*arg;
	/* A full read succeeded; the owner takes the store (frees it). */
	void	(*on_sync)(void *arg, struct store *fresh);
	/* One event of the stream; inc is NULL for events without one. */
	void	(*on_event)(void *arg, enum lumu_event,
		    const struct lumu_incident *inc);
	/* A batch of events was handed over; offset is the new cursor. */
	void	(*on_batch)(void *arg, const char *offset);
	/* Something failed; msg is safe to log (no key). */
	void	(*on_error)(void *arg, const char *msg);
	/*
	 * threat-triggers = yes: an incident's context was read; values are
	 * its threat triggers when the context is currently active (n = 0
	 * otherwise).  Returns -1 when the owner does not know the incident
	 * (its read was held back, say): the client then forgets that it
	 * read it, and reads it again after the next full read.  May be NULL
	 * when threat triggers are off.
	 */
	int	(*on_triggers)(void *arg, const char *incident_id,
		    const char *const *values, size_t n);
};

struct lumu_stats {
	uint64_t	requests;
	uint64_t	errors;
	uint64_t	events[LUMU_NEVENTS];
	uint64_t	pages;
	double		last_sync_seconds;
	int		budget_tokens;	/* requests left in the bucket */
	char		offset[64];	/* updates cursor, "" before the first */
};

/* Copies params (and the strings in it). */
struct lumu	*lumu_new(struct event_base *, struct curlev *,
		    const struct lumu_params *, const struct lumu_callbacks *);
void		 lumu_free(struct lumu *);
/* Starts the first full read; offset resumes a saved cursor ("" none). */
int		 lumu_start(struct lumu *, const char *offset);
/*
 * Tells the client that the owner already holds the triggers of an
 * incident (from saved state), so its context is not read again until
 * the incident is updated.
 */
void		 lumu_context_known(struct lumu *, const char *id,
		    int64_t last_contact);
/* Asks for a full read now (resync). */
void		 lumu_resync(struct lumu *);
const struct lumu_stats *lumu_stats(const struct lumu *);
const char	*lumu_event_name(enum lumu_event);

#endif
