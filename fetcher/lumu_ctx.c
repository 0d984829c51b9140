/*
 * lumu_ctx.c: the context calls of the Lumu client (GET
 * /api/incidents/{id}/context), read for threat-triggers = yes.
 *
 * One call per incident the client has not read yet, and one more after
 * each IncidentUpdated, at most once a minute per incident.  Incident ids
 * wait in a queue and a set keyed by id remembers which were read; the
 * set follows the incidents within the lookback and forgets those that
 * age out.  The triggers are handed over only when the context says
 * currently_active is true; false or missing counts as not active (as
 * Lumu's own integrations do), and then no triggers (n = 0) are handed
 * over, so old ones are withdrawn.  rank is not used.  A 404 means no
 * triggers.
 *
 * Context calls spend the same budget but only what lies above a reserve
 * for the stream and a full read, and none while a read is under way or
 * wanted, so neither waits for a context call.  The reserve is an eighth
 * of the budget, at least two tokens: events arriving one after another
 * end a long poll each time, and each new poll takes a token at once.
 * With max-requests-per-minute below 3 no context is read.  After a full
 * read only incidents this client never read are queued: the owner keeps
 * the triggers it has (so after a restart every context is read once
 * more, spread over the spare budget).  When following is off (one read,
 * then exit), the contexts of the read go into its store before it is
 * handed over.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <cjson/cJSON.h>

#include "curlev.h"
#include "decode.h"
#include "hmap.h"
#include "log.h"
#include "lumu.h"
#include "lumu_int.h"
#include "store.h"
#include "util.h"

#define LUMU_CTX_THROTTLE_MS	60000		/* per incident */
#define LUMU_CTX_TRIES		3		/* bad answers, then give up */
#define LUMU_CTX_MAX		1000000		/* incidents remembered */
#define LUMU_CTX_PRUNE_MS	3600000		/* ageing out between reads */

static void	ctx_done(void *, const struct curlev_result *);

/* The incident a context belongs to, or NULL. */
static struct ctxent *
ctx_find(const struct lumu *lu, const char *id)
{
	return (hmap_get(&lu->ctx_by_id, id, strlen(id)));
}

/* Takes e out of the queue that holds it, if any. */
static void
ctx_unqueue(struct lumu *lu, struct ctxent *e)
{
	if (e->where == CTX_READY)
		TAILQ_REMOVE(&lu->ctx_ready, e, q);
	else if (e->where == CTX_LATER)
		TAILQ_REMOVE(&lu->ctx_later, e, q);
	e->where = CTX_IDLE;
}

/* Starts tracking an incident; NULL when memory or the cap says no. */
static struct ctxent *
ctx_add(struct lumu *lu, const char *id, int64_t last_contact)
{
	struct ctxent	*e, **na;
	size_t		 nc;

	if (lu->nctx >= LUMU_CTX_MAX) {
		if (!lu->ctx_full)
			log_warnx("lumu: more than %d incidents; the contexts "
			    "of further ones are not read", LUMU_CTX_MAX);
		lu->ctx_full = 1;
		return (NULL);
	}
	if (lu->nctx == lu->capctx) {
		nc = lu->capctx ? lu->capctx * 2 : 64;
		if ((na = reallocarray(lu->ctx_all, nc, sizeof(*na))) == NULL)
			return (NULL);
		lu->ctx_all = na;
		lu->capctx = nc;
	}
	/* The id lives right after the entry, where the map finds it. */
	if ((e = calloc(1, sizeof(*e) + strlen(id) + 1)) == NULL)
		return (NULL);
	e->id = (char *)(e + 1);
	memcpy(e->id, id, strlen(id) + 1);
	lu->ctx_by_id.koff = sizeof(*e);
	if (hmap_put(&lu->ctx_by_id, e->id, strlen(e->id), e) == -1) {
		free(e);
		return (NULL);
	}
	e->last_contact = last_contact;
	e->slot = lu->nctx;
	lu->ctx_all[lu->nctx++] = e;
	return (e);
}

void
lumu_context_known(struct lumu *lu, const char *id, int64_t last_contact)
{
	struct ctxent	*e;

	if (!lu->triggers || ctx_find(lu, id) != NULL)
		return;
	/* Known and not queued: read again only after an update. */
	if ((e = ctx_add(lu, id, last_contact)) != NULL)
		e->fetched = lumu_mono_ms();
}

/* Stops tracking an incident. */
static void
ctx_remove(struct lumu *lu, struct ctxent *e)
{
	ctx_unqueue(lu, e);
	hmap_del(&lu->ctx_by_id, e->id, strlen(e->id));
	lu->ctx_all[e->slot] = lu->ctx_all[--lu->nctx];
	lu->ctx_all[e->slot]->slot = e->slot;
	free(e);
}

/* Forgets every incident; an answer in flight then finds none. */
void
lumu_ctx_clear(struct lumu *lu)
{
	while (lu->nctx > 0)
		ctx_remove(lu, lu->ctx_all[lu->nctx - 1]);
}

/* Queues e at the back, or keeps it aside until due when that is later. */
static void
ctx_queue(struct lumu *lu, struct ctxent *e, int64_t due)
{
	struct ctxent	*p;

	ctx_unqueue(lu, e);
	if (due <= lumu_mono_ms()) {
		TAILQ_INSERT_TAIL(&lu->ctx_ready, e, q);
		e->where = CTX_READY;
		return;
	}
	e->due = due;
	e->where = CTX_LATER;
	/* Sorted by due time; new ones are mostly the latest. */
	TAILQ_FOREACH_REVERSE(p, &lu->ctx_later, ctxq, q)
		if (p->due <= due)
			break;
	if (p == NULL)
		TAILQ_INSERT_HEAD(&lu->ctx_later, e, q);
	else
		TAILQ_INSERT_AFTER(&lu->ctx_later, p, e, q);
}

/* Moves what has come due to the queue; notes in *wake the next one. */
void
lumu_ctx_promote(struct lumu *lu, int64_t now, int64_t *wake)
{
	struct ctxent	*e;

	while ((e = TAILQ_FIRST(&lu->ctx_later)) != NULL) {
		if (e->due > now) {
			if (e->due < *wake)
				*wake = e->due;
			return;
		}
		TAILQ_REMOVE(&lu->ctx_later, e, q);
		TAILQ_INSERT_TAIL(&lu->ctx_ready, e, q);
		e->where = CTX_READY;
	}
}

/* Forgets the incidents whose last contact left the lookback window. */
void
lumu_ctx_prune(struct lumu *lu)
{
	struct ctxent	*e;
	int64_t		 cutoff = time_now_ms() - lu->lookback * 1000;
	size_t		 i = 0;

	while (i < lu->nctx) {
		e = lu->ctx_all[i];
		/* One being read is forgotten next time. */
		if (e->last_contact < cutoff && e->where != CTX_FLIGHT)
			ctx_remove(lu, e);	/* refills slot i */
		else
			i++;
	}
	if (lu->nctx < LUMU_CTX_MAX)
		lu->ctx_full = 0;
	lu->ctx_prune_at = lumu_mono_ms() + LUMU_CTX_PRUNE_MS;
}

/* Whether an incident's context is worth a call: a type asked for, recent. */
static int
ctx_wanted(const struct lumu *lu, const struct lumu_incident *inc)
{
	size_t	i, j;

	if (inc->last_contact < time_now_ms() - lu->lookback * 1000)
		return (0);
	if (lu->ntypes == 0)
		return (1);
	for (i = 0; i < inc->ntypes; i++)
		for (j = 0; j < lu->ntypes; j++)
			if (strcasecmp(inc->types[i], lu->types[j]) == 0)
				return (1);
	return (0);
}

/* The stream described an incident: read its context when due. */
void
lumu_ctx_event(struct lumu *lu, enum lumu_event ev, const struct lumu_incident *inc)
{
	struct ctxent	*e;

	if (!lu->triggers || !ctx_wanted(lu, inc))
		return;
	if ((e = ctx_find(lu, inc->id)) == NULL) {
		if ((e = ctx_add(lu, inc->id, inc->last_contact)) != NULL)
			ctx_queue(lu, e, 0);
		return;
	}
	if (inc->last_contact > e->last_contact)
		e->last_contact = inc->last_contact;
	if (ev != LUMU_EV_UPDATED)
		return;
	/* Once a minute at most, however often it is updated. */
	if (e->where == CTX_FLIGHT)
		e->again = 1;
	else if (e->where == CTX_IDLE)
		ctx_queue(lu, e, e->fetched + LUMU_CTX_THROTTLE_MS);
}

/*
 * A full read is about to be handed over: queue the incidents never read
 * (the owner keeps the triggers of the others) and forget old ones.
 */
void
lumu_ctx_after_read(struct lumu *lu, const struct store *fresh)
{
	const struct store_incident	*inc;
	struct ctxent			*e;
	int64_t				 cutoff;
	size_t				 i, n = 0;

	if (!lu->triggers || !lu->follow)
		return;
	cutoff = time_now_ms() - lu->lookback * 1000;
	for (i = 0; (inc = store_incident_at(fresh, i)) != NULL; i++) {
		if (inc->last_contact < cutoff)
			continue;	/* the owner ages it out */
		if ((e = ctx_find(lu, inc->id)) != NULL) {
			if (inc->last_contact > e->last_contact)
				e->last_contact = inc->last_contact;
			continue;
		}
		if ((e = ctx_add(lu, inc->id, inc->last_contact)) == NULL)
			break;
		ctx_queue(lu, e, 0);
		n++;
	}
	lumu_ctx_prune(lu);
	if (n > 0)
		log_info("lumu: %zu incidents wait for their context", n);
}

/*
 * Following off (one read, then exit): the contexts of the read go into
 * its own store before it is handed over.  1 while they are still due.
 */
int
lumu_ctx_before_handover(struct lumu *lu)
{
	struct sync			*s = lu->sync;
	const struct store_incident	*inc;
	struct ctxent			*e;
	int64_t				 cutoff;
	size_t				 i;

	if (!lu->triggers || lu->follow || s->ctx_phase)
		return (0);
	s->ctx_phase = 1;
	lumu_ctx_clear(lu);
	cutoff = time_now_ms() - lu->lookback * 1000;
	for (i = 0; (inc = store_incident_at(s->store, i)) != NULL; i++)
		if (inc->last_contact >= cutoff &&
		    (e = ctx_add(lu, inc->id, inc->last_contact)) != NULL)
			ctx_queue(lu, e, 0);
	if (lu->nctx == 0)
		return (0);
	log_info("lumu: reading the context of %zu incidents", lu->nctx);
	return (1);
}

/* Sends the context call of the first incident in the queue. */
int
lumu_ctx_send(struct lumu *lu, struct ctxent *e)
{
	struct buf	 path = { 0 }, url = { 0 };
	char		*esc;
	int		 rv = -1;

	/* Ids come from Lumu: escaped into the path. */
	if ((esc = curl_easy_escape(NULL, e->id, 0)) == NULL)
		return (-1);
	if (buf_printf(&path, "/api/incidents/%s/context", esc) == 0 &&
	    lumu_url_begin(lu, &url, path.data) == 0 &&
	    buf_addstr(&url, "&hash=sha256") == 0)
		rv = lumu_send(lu, &lu->cc, "GET", url.data, NULL,
		    LUMU_TIMEOUT_MS, ctx_done);
	curl_free(esc);
	buf_free(&path);
	buf_free(&url);
	if (rv == -1)
		return (-1);
	ctx_unqueue(lu, e);
	e->where = CTX_FLIGHT;
	snprintf(lu->ctx_id, sizeof(lu->ctx_id), "%s", e->id);
	lu->ctx_sent = lumu_mono_ms();
	return (0);
}

/*
 * Hands triggers to the owner, or into the read while it is still ours.
 * An owner that does not know the incident makes the client forget it.
 */
static void
ctx_hand(struct lumu *lu, const char *const *values, size_t n)
{
	struct ctxent	*e;

	if (lu->sync != NULL && lu->sync->ctx_phase) {
		/* The id came from this store, so only memory can fail. */
		if (store_set_triggers(lu->sync->store, lu->ctx_id, values,
		    n) == -1)
			log_warnx("lumu: context: out of memory for triggers");
		return;
	}
	if (!lu->dying && lu->cb.on_triggers(lu->cb.arg, lu->ctx_id, values,
	    n) == -1 && (e = ctx_find(lu, lu->ctx_id)) != NULL)
		ctx_remove(lu, e);
}

/* Reads a context answer (200 or 404) and hands it over; -1 with err. */
static int
ctx_answer(struct lumu *lu, const struct curlev_result *r, char *err,
    size_t errsz)
{
	struct decode_context	 dc;
	cJSON			*root;
	char			 tmp[128];

	if (r->status == 404) {
		/* Lumu has no context for it: no triggers. */
		ctx_hand(lu, NULL, 0);
		return (0);
	}
	if ((root = decode_parse(r->body, r->len, tmp, sizeof(tmp))) == NULL) {
		snprintf(err, errsz, "%s", tmp);
		return (-1);
	}
	/* root is ours until cJSON_Delete; dc borrows its strings. */
	if (decode_context(root, &dc, err, errsz) == -1) {
		cJSON_Delete(root);
		return (-1);
	}
	/* Missing counts as not active, as Lumu's own integrations read it. */
	if (dc.currently_active == 1)
		ctx_hand(lu, dc.triggers, dc.ntriggers);
	else
		ctx_hand(lu, NULL, 0);
	log_debug("%s: %zu triggers (%s)", __func__, dc.ntriggers,
	    dc.currently_active == 1 ? "active" : "not active");
	cJSON_Delete(root);
	return (0);
}

/* A context was read: nothing is due until the next update. */
static void
ctx_settle(struct lumu *lu, struct ctxent *e)
{
	e->fetched = lu->ctx_sent;
	e->tries = 0;
	if (e->again) {
		e->again = 0;
		ctx_queue(lu, e, e->fetched + LUMU_CTX_THROTTLE_MS);
	}
}

/*
 * A context call failed.  The incident goes to the back of the queue, so
 * one bad incident holds up no other; answers that make no sense count
 * against it, and after a few it keeps the triggers it has until its next
 * update.
 */
static void
ctx_failed(struct lumu *lu, struct ctxent *e, const struct curlev_result *r,
    const char *why)
{
	char	id[DECODE_ID_MAX * 4 + 1], what[sizeof(id) + 32];

	lumu_clean_text(id, sizeof(id), lu->ctx_id);
	snprintf(what, sizeof(what), "context of incident %s", id);
	lumu_answer_error(lu, &lu->cc, what, r, why);
	if (e == NULL)
		return;		/* aged out meanwhile */
	/* Down, busy or limited is not the incident's fault. */
	if (!r->ok || r->status >= 500 || r->status == 401 ||
	    r->status == 429 || ++e->tries < LUMU_CTX_TRIES) {
		ctx_queue(lu, e, 0);
		return;
	}
	log_warnx("lumu: %s: giving up after %d bad answers; its triggers "
	    "stay as they are until it is updated", what, LUMU_CTX_TRIES);
	ctx_settle(lu, e);
}

/* A context call ended. */
static void
ctx_done(void *arg, const struct curlev_result *r)
{
	struct lumu	*lu = arg;
	struct ctxent	*e;
	char		 err[256] = "";
	int		 rv = -1;

	lumu_enter(lu);
	lu->cc.xfer = 0;
	lu->kick = 1;
	if ((e = ctx_find(lu, lu->ctx_id)) != NULL)
		e->where = CTX_IDLE;
	if (r->ok && (r->status == 200 || r->status == 404))
		rv = ctx_answer(lu, r, err, sizeof(err));
	if (rv == 0) {
		lu->cc.backoff = 0;
		/* ctx_answer may have made the client forget the incident. */
		if ((e = ctx_find(lu, lu->ctx_id)) != NULL)
			ctx_settle(lu, e);
	} else
		ctx_failed(lu, e, r, err[0] != '\0' ? err : NULL);
	/* Following off: the read goes over once its contexts are read. */
	if (!lu->dying && lu->sync != NULL && lu->sync->ctx_phase &&
	    TAILQ_EMPTY(&lu->ctx_ready) && TAILQ_EMPTY(&lu->ctx_later))
		lumu_sync_finish(lu);
	lumu_leave(lu);
}
