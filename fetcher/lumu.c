/*
 * lumu.c: the Lumu Defender API client.
 *
 * Two lines of requests share one budget: the full read (POST
 * /api/incidents/all, page by page, window by window) and the updates
 * stream (GET .../open-incidents/updates, long-polled).  Each line has at
 * most one request in flight, its own backoff, and waits on one timer,
 * lumu_tick(), which decides what may be sent now and when to look again.
 *
 * The first cursor: with no saved offset, the stream is asked once with
 * no offset and time=0 ("the probe") before the first full read.  The
 * stand-in answers that with the current end of the stream (Lumu does not
 * document what it does); everything after it is then seen by the
 * stream, and everything before it by the full read that follows, so
 * nothing falls between the two.  Should an API answer the probe with old
 * events instead, they are dropped and the stream replays from there,
 * which costs requests but loses nothing.  If the probe fails, the full
 * read goes ahead anyway; once a cursor is learned a second read is made,
 * so the gap is closed.
 *
 * A read that starts while the stream runs notes the cursor of that
 * moment.  When the read is handed over, the stream goes back to that
 * cursor, so the events that came in while the read was under way are
 * given again, after the fresh store: applied in order they leave each
 * incident as the stream last described it.  (Such replays are counted
 * again in lumu_stats.events.)
 *
 * Threat triggers (threat-triggers = yes) come from a third line, the
 * context calls (GET /api/incidents/{id}/context): one per incident the
 * client has not read yet, and one more after each IncidentUpdated, at
 * most once a minute per incident.  Incident ids wait in a queue and a
 * set keyed by id remembers which were read; the set follows the
 * incidents within the lookback and forgets those that age out.  The
 * triggers are handed over only when the context says currently_active
 * is true; false or missing counts as not active (as Lumu's own
 * integrations do), and then no triggers (n = 0) are handed over, so old
 * ones are withdrawn.  rank is not used.  A 404 means no triggers.
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
 *
 * lumu_stats.budget_tokens is -1 when there is no request budget.
 * Failures are logged here and also passed to on_error.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "curlev.h"
#include "decode.h"
#include "hmap.h"
#include "log.h"
#include "lumu.h"
#include "store.h"
#include "util.h"

#define LUMU_PAGE_ITEMS		100
#define LUMU_MAX_PAGES		10000		/* per window */
#define LUMU_WINDOW_S		(30 * 86400)	/* longest range per request */
#define LUMU_MAX_BODY		(4u << 20)
#define LUMU_CONNECT_MS		10000
#define LUMU_TIMEOUT_MS		30000
#define LUMU_POLL_MARGIN_S	15		/* past updates_wait */
#define LUMU_BACKOFF_MIN_MS	1000
#define LUMU_BACKOFF_MAX_MS	300000
#define LUMU_AUTH_WAIT_MS	300000		/* after a 401 */
#define LUMU_RATE_WAIT_MS	60000		/* 429 without a hint */
#define LUMU_RATE_WAIT_MAX_MS	86400000
#define LUMU_POLL_GAP_MS	1000		/* after a quick empty answer */
#define LUMU_MSG_MAX		512
#define LUMU_CTX_RESERVE	2		/* tokens kept for the others */
#define LUMU_CTX_RESERVE_DIV	8		/* ... or this share of the budget */
#define LUMU_CTX_THROTTLE_MS	60000		/* per incident */
#define LUMU_CTX_TRIES		3		/* bad answers, then give up */
#define LUMU_CTX_MAX		1000000		/* incidents remembered */
#define LUMU_CTX_PRUNE_MS	3600000		/* ageing out between reads */

enum poll_state {
	POLL_OFF,	/* not following the stream */
	POLL_PROBE,	/* learning the first cursor */
	POLL_WAIT,	/* cursor known, waiting for the first read */
	POLL_RUN	/* following */
};

/* One line of requests. */
struct chan {
	uint64_t	 xfer;		/* in flight, 0 when none */
	int64_t		 not_before;	/* monotonic ms */
	int64_t		 backoff;	/* ms; 0 after a success */
};

/* Where an incident's context stands. */
enum ctx_where {
	CTX_IDLE,	/* read (or given up), nothing due */
	CTX_READY,	/* in the queue */
	CTX_LATER,	/* due at ->due, after an update */
	CTX_FLIGHT	/* being read */
};

/* One incident whose context the client tracks. */
struct ctxent {
	char			*id;
	int64_t			 last_contact;	/* ms; for ageing out */
	int64_t			 fetched;	/* monotonic ms, last read */
	int64_t			 due;		/* CTX_LATER: monotonic ms */
	enum ctx_where		 where;
	int			 again;		/* updated while being read */
	int			 tries;		/* bad answers in a row */
	size_t			 slot;		/* in lumu.ctx_all */
	TAILQ_ENTRY(ctxent)	 q;
};
TAILQ_HEAD(ctxq, ctxent);

/* A full read under way. */
struct sync {
	struct store		*store;
	int64_t			 now_ms;	/* wall clock at the start */
	int64_t			 started;	/* monotonic ms */
	int			 window;	/* 0: the newest */
	int			 nwindows;
	int64_t			 page;
	size_t			 npages;
	struct decode_counts	 counts;
	int			 ctx_phase;	/* pages done, contexts next */
};

struct lumu {
	struct event_base	*base;
	struct curlev		*cv;
	struct lumu_callbacks	 cb;

	char			*api_url;	/* without trailing '/' */
	char			*key;
	char			*key_esc;	/* URL-encoded */
	char			**types;
	size_t			 ntypes;
	int64_t			 lookback;
	int64_t			 wait;
	int64_t			 resync;
	int			 max_rpm;
	int			 follow;

	struct lumu_stats	 st;
	struct event		*timer;
	uint64_t		 rng;
	double			 tokens;
	int64_t			 tokens_at;	/* monotonic ms of the refill */
	int64_t			 hold_until;	/* 429: nothing sent before */

	struct chan		 sc;		/* the full read */
	struct sync		*sync;
	int			 sync_wanted;
	int			 sync_again;	/* asked for while one runs */
	int			 synced;	/* a read was handed over */
	int			 nreads;	/* reads begun */
	int64_t			 next_resync;	/* monotonic ms */

	struct chan		 pc;		/* the stream */
	enum poll_state		 poll;
	int			 probe_failed;
	int64_t			 poll_sent_at;
	char			 sent[DECODE_OFFSET_MAX];
	char			 sync_cursor[DECODE_OFFSET_MAX];

	int			 triggers;	/* threat-triggers = yes */
	struct chan		 cc;		/* context calls */
	struct hmap		 ctx_by_id;	/* id -> ctxent */
	struct ctxent		**ctx_all;	/* dense, for ageing out */
	size_t			 nctx, capctx;
	struct ctxq		 ctx_ready;
	struct ctxq		 ctx_later;	/* by due time */
	char			 ctx_id[DECODE_ID_MAX + 1];	/* in flight */
	int64_t			 ctx_sent;	/* monotonic ms */
	int64_t			 ctx_prune_at;
	int			 ctx_full;	/* the cap was hit (logged) */

	int			 started;
	int			 busy;		/* inside our own handlers */
	int			 kick;		/* lumu_tick before leaving */
	int			 dying;		/* lumu_free while busy */
};

static void	lumu_tick(struct lumu *);
static void	lumu_destroy(struct lumu *);
static void	sync_done(void *, const struct curlev_result *);
static void	poll_done(void *, const struct curlev_result *);
static void	ctx_done(void *, const struct curlev_result *);
static void	sync_finish(struct lumu *);
static double	ctx_reserve(const struct lumu *);
static void	report(struct lumu *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));

static const char *const event_names[LUMU_NEVENTS] = {
	"new", "updated", "closed", "muted", "unmuted", "ignored", "unknown"
};

const char *
lumu_event_name(enum lumu_event ev)
{
	if ((int)ev < 0 || ev >= LUMU_NEVENTS)
		return ("unknown");
	return (event_names[ev]);
}

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* xorshift64*: jitter only, no secrets. */
static uint64_t
lumu_random(struct lumu *lu)
{
	lu->rng ^= lu->rng >> 12;
	lu->rng ^= lu->rng << 25;
	lu->rng ^= lu->rng >> 27;
	return (lu->rng * UINT64_C(2685821657736338717));
}

/* Marks entry into our code; user callbacks may run from here on. */
static void
enter(struct lumu *lu)
{
	lu->busy++;
}

/* The outermost exit runs the scheduler, or the deferred free. */
static void
leave(struct lumu *lu)
{
	if (lu->busy == 1)
		while (!lu->dying && lu->kick) {
			lu->kick = 0;
			lumu_tick(lu);
		}
	if (--lu->busy == 0 && lu->dying)
		lumu_destroy(lu);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lumu	*lu = arg;

	enter(lu);
	lu->kick = 1;
	leave(lu);
}

/* Logs a failure and tells the owner; the key never gets this far. */
static void
report(struct lumu *lu, const char *fmt, ...)
{
	char	raw[LUMU_MSG_MAX], msg[LUMU_MSG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* An error body might quote the request; hide the key in any form. */
	curlev_redact(raw, lu->key, msg, sizeof(msg));
	lu->st.errors++;
	log_warnx("lumu: %s", msg);
	if (!lu->dying && lu->cb.on_error != NULL)
		lu->cb.on_error(lu->cb.arg, msg);
}

/* Copies untrusted text for a message: printable ASCII, else \xHH. */
static void
clean_text(char *dst, size_t dstsz, const char *src)
{
	size_t	o = 0;

	for (; *src != '\0' && o + 5 < dstsz; src++) {
		if (*src >= 0x20 && *src < 0x7f && *src != '\\')
			dst[o++] = *src;
		else
			o += (size_t)snprintf(dst + o, dstsz - o, "\\x%02x",
			    (unsigned char)*src);
	}
	dst[o] = '\0';
}

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
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	/* The map borrows its key from the entry. */
	if ((e->id = strdup(id)) == NULL ||
	    hmap_put(&lu->ctx_by_id, e->id, strlen(e->id), e) == -1) {
		free(e->id);
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
		e->fetched = mono_ms();
}

/* Stops tracking an incident. */
static void
ctx_remove(struct lumu *lu, struct ctxent *e)
{
	ctx_unqueue(lu, e);
	hmap_del(&lu->ctx_by_id, e->id, strlen(e->id));
	lu->ctx_all[e->slot] = lu->ctx_all[--lu->nctx];
	lu->ctx_all[e->slot]->slot = e->slot;
	free(e->id);
	free(e);
}

/* Forgets every incident; an answer in flight then finds none. */
static void
ctx_clear(struct lumu *lu)
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
	if (due <= mono_ms()) {
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
static void
ctx_promote(struct lumu *lu, int64_t now, int64_t *wake)
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
static void
ctx_prune(struct lumu *lu)
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
	lu->ctx_prune_at = mono_ms() + LUMU_CTX_PRUNE_MS;
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
static void
ctx_event(struct lumu *lu, enum lumu_event ev, const struct lumu_incident *inc)
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
static void
ctx_after_read(struct lumu *lu, const struct store *fresh)
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
	ctx_prune(lu);
	if (n > 0)
		log_info("lumu: %zu incidents wait for their context", n);
}

/*
 * Following off (one read, then exit): the contexts of the read go into
 * its own store before it is handed over.  1 while they are still due.
 */
static int
ctx_before_handover(struct lumu *lu)
{
	struct sync			*s = lu->sync;
	const struct store_incident	*inc;
	struct ctxent			*e;
	int64_t				 cutoff;
	size_t				 i;

	if (!lu->triggers || lu->follow || s->ctx_phase)
		return (0);
	s->ctx_phase = 1;
	ctx_clear(lu);
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

/* Copies the strings of params; NULL when a required one is missing. */
static int
copy_params(struct lumu *lu, const struct lumu_params *p)
{
	size_t	i, n;

	if (p->api_url == NULL || p->key == NULL || p->key[0] == '\0')
		return (-1);
	lu->api_url = xstrdup(p->api_url);
	n = strlen(lu->api_url);
	while (n > 0 && lu->api_url[n - 1] == '/')
		lu->api_url[--n] = '\0';
	lu->key = xstrdup(p->key);
	/* curl_easy_escape ignores its handle since 7.82; result: curl_free. */
	if ((lu->key_esc = curl_easy_escape(NULL, p->key, 0)) == NULL)
		return (-1);
	if (p->ntypes > 0) {
		lu->types = xcalloc(p->ntypes, sizeof(*lu->types));
		for (i = 0; i < p->ntypes; i++)
			lu->types[i] = xstrdup(p->types[i]);
		lu->ntypes = p->ntypes;
	}
	lu->lookback = p->lookback > 0 ? p->lookback : LUMU_WINDOW_S;
	lu->wait = p->updates_wait > 0 ? p->updates_wait : 0;
	lu->resync = p->resync;
	lu->max_rpm = p->max_rpm > 0 ? p->max_rpm : 0;
	lu->follow = p->follow_updates;
	/* Without somewhere to hand them, triggers are not read at all. */
	lu->triggers = p->threat_triggers && lu->cb.on_triggers != NULL;
	return (0);
}

struct lumu *
lumu_new(struct event_base *base, struct curlev *cv,
    const struct lumu_params *p, const struct lumu_callbacks *cb)
{
	struct lumu	*lu;

	lu = xcalloc(1, sizeof(*lu));
	lu->base = base;
	lu->cv = cv;
	lu->cb = *cb;
	TAILQ_INIT(&lu->ctx_ready);
	TAILQ_INIT(&lu->ctx_later);
	if (copy_params(lu, p) == -1) {
		log_warnx("%s: no api-url or company key", __func__);
		lumu_destroy(lu);
		return (NULL);
	}
	if ((lu->timer = evtimer_new(base, timer_cb, lu)) == NULL) {
		lumu_destroy(lu);
		return (NULL);
	}
	lu->rng = (uint64_t)time_now_ms() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)(uintptr_t)lu;
	if (lu->rng == 0)
		lu->rng = 1;
	lu->tokens = lu->max_rpm;
	lu->tokens_at = mono_ms();
	lu->st.budget_tokens = lu->max_rpm > 0 ? lu->max_rpm : -1;
	if (lu->triggers && lu->max_rpm > 0 &&
	    lu->max_rpm <= ctx_reserve(lu))
		log_warnx("lumu: max-requests-per-minute %d leaves nothing for "
		    "context calls; threat triggers will not be read",
		    lu->max_rpm);
	return (lu);
}

/* Stops everything that could call back: transfers and the timer. */
static void
lumu_stop(struct lumu *lu)
{
	if (lu->sc.xfer != 0)
		curlev_cancel(lu->cv, lu->sc.xfer);
	if (lu->pc.xfer != 0)
		curlev_cancel(lu->cv, lu->pc.xfer);
	if (lu->cc.xfer != 0)
		curlev_cancel(lu->cv, lu->cc.xfer);
	lu->sc.xfer = lu->pc.xfer = lu->cc.xfer = 0;
	if (lu->timer != NULL)
		evtimer_del(lu->timer);
}

static void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	store_free(s->store);
	free(s);
}

static void
lumu_destroy(struct lumu *lu)
{
	size_t	i;

	lumu_stop(lu);
	if (lu->timer != NULL)
		event_free(lu->timer);
	sync_free(lu->sync);
	ctx_clear(lu);
	hmap_free(&lu->ctx_by_id);
	free(lu->ctx_all);
	free(lu->api_url);
	if (lu->key != NULL)
		explicit_bzero(lu->key, strlen(lu->key));
	free(lu->key);
	if (lu->key_esc != NULL) {
		explicit_bzero(lu->key_esc, strlen(lu->key_esc));
		curl_free(lu->key_esc);
	}
	for (i = 0; i < lu->ntypes; i++)
		free(lu->types[i]);
	free(lu->types);
	free(lu);
}

void
lumu_free(struct lumu *lu)
{
	if (lu == NULL)
		return;
	/* Now, while the owner's curlev surely still exists. */
	lumu_stop(lu);
	if (lu->busy) {
		/* Called from one of our callbacks: free on the way out. */
		lu->dying = 1;
		return;
	}
	lumu_destroy(lu);
}

int
lumu_start(struct lumu *lu, const char *offset)
{
	if (lu->started)
		return (-1);
	lu->started = 1;
	lu->poll = lu->follow ? POLL_PROBE : POLL_OFF;
	if (lu->follow && offset != NULL && offset[0] != '\0') {
		/* Checked as an offset from the API would be. */
		if (decode_offset_ok(offset)) {
			snprintf(lu->st.offset, sizeof(lu->st.offset), "%s",
			    offset);
			lu->poll = POLL_WAIT;
		} else
			log_warnx("%s: saved offset is not usable; asking the "
			    "stream for a new one", __func__);
	}
	lu->sync_wanted = 1;
	enter(lu);
	lu->kick = 1;
	leave(lu);
	return (0);
}

void
lumu_resync(struct lumu *lu)
{
	if (lu->dying)
		return;
	if (lu->sync != NULL)
		lu->sync_again = 1;
	else {
		lu->sync_wanted = 1;
		/* Asked for by the operator: no need to sit out a backoff. */
		if (lu->sc.not_before > lu->hold_until)
			lu->sc.not_before = 0;
	}
	if (!lu->started)
		return;
	enter(lu);
	lu->kick = 1;
	leave(lu);
}

const struct lumu_stats *
lumu_stats(const struct lumu *lu)
{
	return (&lu->st);
}

/*
 * Tokens a context call leaves in the bucket for the stream and a full
 * read: a burst of events ends one long poll after another, each new poll
 * taking a token at once, so a bigger budget keeps a bigger reserve.
 */
static double
ctx_reserve(const struct lumu *lu)
{
	int	r = lu->max_rpm / LUMU_CTX_RESERVE_DIV;

	return (r > LUMU_CTX_RESERVE ? r : LUMU_CTX_RESERVE);
}

/*
 * Takes a request token when the bucket holds at least need (1, or more
 * to keep a reserve); otherwise 0, and *wake set for when it will.
 */
static int
take_token(struct lumu *lu, int64_t now, int64_t *wake, double need)
{
	double	rate;
	int64_t	t;

	if (lu->max_rpm == 0)
		return (1);
	rate = lu->max_rpm / 60000.0;		/* tokens per ms */
	lu->tokens += (double)(now - lu->tokens_at) * rate;
	if (lu->tokens > lu->max_rpm)
		lu->tokens = lu->max_rpm;
	lu->tokens_at = now;
	if (lu->tokens < need) {
		lu->st.budget_tokens = (int)lu->tokens;
		/* A bucket this small never holds need: no wake-up. */
		if (need > lu->max_rpm)
			return (0);
		t = now + (int64_t)ceil((need - lu->tokens) / rate);
		if (t < *wake)
			*wake = t;
		return (0);
	}
	lu->tokens -= 1.0;
	lu->st.budget_tokens = (int)lu->tokens;
	return (1);
}

/*
 * May line c send now, with need tokens in the bucket?  Otherwise notes
 * in *wake when to look again.
 */
static int
chan_ready(struct lumu *lu, struct chan *c, int64_t now, int64_t *wake,
    double need)
{
	int64_t	t = c->not_before > lu->hold_until ? c->not_before :
		    lu->hold_until;

	if (c->xfer != 0)
		return (0);
	if (now < t) {
		if (t < *wake)
			*wake = t;
		return (0);
	}
	return (take_token(lu, now, wake, need));
}

/* Schedules the next try after an error: 1 s doubling to 5 min. */
static void
chan_backoff(struct lumu *lu, struct chan *c)
{
	int64_t	b;

	b = c->backoff == 0 ? LUMU_BACKOFF_MIN_MS : c->backoff * 2;
	if (b > LUMU_BACKOFF_MAX_MS)
		b = LUMU_BACKOFF_MAX_MS;
	c->backoff = b;
	/* Equal jitter: half fixed, half random, so clients spread out. */
	c->not_before = mono_ms() + b / 2 +
	    (int64_t)(lumu_random(lu) % (uint64_t)(b / 2 + 1));
}

/* How long a 429 asks us to wait: RateLimit-Reset, Retry-After, 60 s. */
static int64_t
rate_wait(const struct curlev_result *r)
{
	int64_t	s;

	if (r->ratelimit_reset >= 0)
		s = r->ratelimit_reset;
	else if (r->retry_after >= 0)
		s = r->retry_after;
	else
		return (LUMU_RATE_WAIT_MS);
	if (s < 1)
		s = 1;
	if (s > LUMU_RATE_WAIT_MAX_MS / 1000)
		s = LUMU_RATE_WAIT_MAX_MS / 1000;
	return (s * 1000);
}

/* Starts a request on line c; the caller took a token. */
static int
lumu_send(struct lumu *lu, struct chan *c, const char *method,
    const char *url, const char *body, long timeout_ms, curlev_done_cb cb)
{
	struct curlev_request	req;

	if (lu->dying)
		return (-1);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.method = method;
	if (body != NULL) {
		req.body = body;
		req.bodylen = strlen(body);
		req.content_type = "application/json";
	}
	req.connect_timeout_ms = LUMU_CONNECT_MS;
	req.timeout_ms = timeout_ms;
	req.max_bytes = LUMU_MAX_BODY;
	req.redact = lu->key;
	lu->st.requests++;
	if ((c->xfer = curlev_start(lu->cv, &req, cb, lu)) == 0)
		return (-1);
	return (0);
}

/* The start of every URL: base, path and the key. */
static int
url_begin(struct lumu *lu, struct buf *b, const char *path)
{
	return (buf_printf(b, "%s%s?key=%s", lu->api_url, path, lu->key_esc));
}

/*
 * Describes a failed answer and picks the wait before the next try on
 * line c: 401 slowly, 429 as told, everything else with backoff.
 */
static void
answer_error(struct lumu *lu, struct chan *c, const char *what,
    const struct curlev_result *r, const char *why)
{
	char	detail[256], esc[256];
	int64_t	wait;

	if (r->ok && r->status == 429) {
		wait = rate_wait(r);
		/* A limit hit with much left is the daily quota. */
		report(lu, "%s: rate limited by Lumu (HTTP 429%s), waiting "
		    "%" PRId64 " s", what, r->ratelimit_remaining > 60 ?
		    ", daily quota" : "", wait / 1000);
		/* The budget is the key's: both lines wait. */
		lu->hold_until = mono_ms() + wait;
		lu->tokens = 0;
		c->backoff = 0;
		return;
	}
	if (r->ok && r->status == 401) {
		report(lu, "%s: Lumu rejected the company key (HTTP 401)",
		    what);
		c->not_before = mono_ms() + LUMU_AUTH_WAIT_MS;
		return;
	}
	if (!r->ok)
		report(lu, "%s: %s", what, r->error);
	else if (why != NULL)
		report(lu, "%s: %s", what, why);
	else if (decode_api_error(r->body, r->len, detail,
	    sizeof(detail)) == 0) {
		clean_text(esc, sizeof(esc), detail);
		report(lu, "%s: HTTP %ld: %s", what, r->status, esc);
	} else
		report(lu, "%s: HTTP %ld", what, r->status);
	chan_backoff(lu, c);
}

/* Formats the JSON body of a page request of the current window. */
static char *
sync_body(struct lumu *lu, const struct sync *s)
{
	static const char *const statuses[] = { "open", "muted", "closed" };
	char		 from[32], to[32];
	int64_t		 t_to, t_from, oldest;
	cJSON		*o, *a;
	char		*body = NULL;

	t_to = s->now_ms - (int64_t)s->window * LUMU_WINDOW_S * 1000;
	t_from = t_to - (int64_t)LUMU_WINDOW_S * 1000;
	oldest = s->now_ms - lu->lookback * 1000;
	if (t_from < oldest)
		t_from = oldest;
	/* Whole seconds: the API is sent ".000Z" as its examples do. */
	time_format_iso(t_from - t_from % 1000, from, sizeof(from));
	time_format_iso(t_to - t_to % 1000, to, sizeof(to));
	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	/* Items added to o belong to o; one cJSON_Delete frees them all. */
	if (cJSON_AddStringToObject(o, "fromDate", from) == NULL ||
	    cJSON_AddStringToObject(o, "toDate", to) == NULL ||
	    (a = cJSON_CreateStringArray(statuses, 3)) == NULL)
		goto out;
	cJSON_AddItemToObject(o, "status", a);
	if ((a = lu->ntypes > 0 ? cJSON_CreateStringArray(
	    (const char *const *)lu->types, (int)lu->ntypes) :
	    cJSON_CreateArray()) == NULL)
		goto out;
	cJSON_AddItemToObject(o, "adversary-types", a);
	/* The string is the caller's, freed with cJSON_free. */
	body = cJSON_PrintUnformatted(o);
 out:
	cJSON_Delete(o);
	return (body);
}

/* Sends the request for the current page of the read. */
static int
sync_send(struct lumu *lu)
{
	struct sync	*s = lu->sync;
	struct buf	 url = { 0 };
	char		*body;
	int		 rv = -1;

	if ((body = sync_body(lu, s)) == NULL)
		return (-1);
	if (url_begin(lu, &url, "/api/incidents/all") == 0 &&
	    buf_printf(&url, "&page=%" PRId64 "&items=%d", s->page,
	    LUMU_PAGE_ITEMS) == 0)
		rv = lumu_send(lu, &lu->sc, "POST", url.data, body,
		    LUMU_TIMEOUT_MS, sync_done);
	/* curlev copied the body and the URL. */
	cJSON_free(body);
	buf_free(&url);
	return (rv);
}

/* Begins a full read: a fresh store, the newest window, page 1. */
static int
sync_begin(struct lumu *lu)
{
	struct sync	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (-1);
	if ((s->store = store_new()) == NULL) {
		free(s);
		return (-1);
	}
	s->now_ms = time_now_ms();
	s->started = mono_ms();
	s->nwindows = (int)((lu->lookback + LUMU_WINDOW_S - 1) /
	    LUMU_WINDOW_S);
	s->page = 1;
	lu->sync = s;
	lu->sync_wanted = 0;
	lu->nreads++;
	/* The stream will replay from here once this read is handed over. */
	snprintf(lu->sync_cursor, sizeof(lu->sync_cursor), "%s",
	    lu->st.offset);
	log_debug("%s: full read, %d window(s)", __func__, s->nwindows);
	return (0);
}

/* Drops a read that failed; the next try starts from the beginning. */
static void
sync_abort(struct lumu *lu)
{
	sync_free(lu->sync);
	lu->sync = NULL;
	lu->sync_wanted = 1;
}

/* Hands a complete read over to the owner. */
static void
sync_finish(struct lumu *lu)
{
	struct sync		*s = lu->sync;
	struct decode_counts	*c = &s->counts;
	struct store		*fresh = s->store;

	if (ctx_before_handover(lu))
		return;
	lu->sync = NULL;
	s->store = NULL;
	lu->st.last_sync_seconds = (double)(mono_ms() - s->started) / 1000.0;
	log_info("lumu: full read: %zu incidents in %zu pages, %.1f s",
	    store_nincidents(fresh), s->npages, lu->st.last_sync_seconds);
	if (c->no_id || c->not_object || c->adv_cut || c->adv_skipped ||
	    c->types_cut || c->types_skipped || c->bad_times)
		log_info("lumu: full read left out %zu incidents without id, "
		    "%zu non-objects, %zu+%zu adversaries (cut, not strings), "
		    "%zu+%zu types, %zu unreadable times", c->no_id,
		    c->not_object, c->adv_cut, c->adv_skipped, c->types_cut,
		    c->types_skipped, c->bad_times);
	free(s);
	lu->synced = 1;
	lu->next_resync = mono_ms() + lu->resync * 1000;
	if (lu->sync_again) {
		lu->sync_again = 0;
		lu->sync_wanted = 1;
	}
	if (lu->poll == POLL_WAIT || lu->poll == POLL_RUN) {
		/* Replay what came in during the read onto the fresh store. */
		if (lu->sync_cursor[0] != '\0' &&
		    strcmp(lu->sync_cursor, lu->st.offset) != 0) {
			curlev_cancel(lu->cv, lu->pc.xfer);
			lu->pc.xfer = 0;
			snprintf(lu->st.offset, sizeof(lu->st.offset), "%s",
			    lu->sync_cursor);
		}
		lu->poll = POLL_RUN;
	}
	ctx_after_read(lu, fresh);
	/* Ownership of fresh passes to the owner here. */
	if (!lu->dying && lu->cb.on_sync != NULL)
		lu->cb.on_sync(lu->cb.arg, fresh);
	else
		store_free(fresh);
	if (!lu->dying && lu->poll == POLL_RUN && lu->cb.on_batch != NULL)
		lu->cb.on_batch(lu->cb.arg, lu->st.offset);
}

/*
 * Adds one page to the read.  Returns 1 when the window has more pages,
 * 0 when it is done, -1 with err on failure.
 */
static int
sync_page(struct lumu *lu, const struct curlev_result *r, char *err,
    size_t errsz)
{
	struct sync		*s = lu->sync;
	struct decode_page	 pg;
	struct lumu_incident	 inc;
	const cJSON		*el;
	cJSON			*root;
	char			 tmp[128];
	size_t			 fresh = 0, want;
	int			 rv = -1;

	if ((root = decode_parse(r->body, r->len, tmp, sizeof(tmp))) == NULL) {
		snprintf(err, errsz, "page %" PRId64 ": %s", s->page, tmp);
		return (-1);
	}
	/* root is ours until cJSON_Delete; inc borrows its strings. */
	if (decode_page(root, s->page, &pg, err, errsz) == -1)
		goto out;
	cJSON_ArrayForEach(el, pg.list) {
		if (decode_incident(el, &inc, &s->counts) == -1)
			continue;
		if (store_incident_find(s->store, inc.id) == NULL)
			fresh++;
		/* The store copies what it keeps; replacing de-duplicates. */
		if (store_upsert(s->store, &inc) == -1) {
			snprintf(err, errsz, "page %" PRId64 ": out of memory",
			    s->page);
			goto out;
		}
	}
	s->npages++;
	lu->st.pages++;
	want = pg.items > 0 && pg.items < LUMU_PAGE_ITEMS ? (size_t)pg.items :
	    LUMU_PAGE_ITEMS;
	/* Lumu's own stop rule, an empty or short page, or only repeats. */
	if (pg.next == 0 || pg.count == 0 || pg.count < want || fresh == 0)
		rv = 0;
	else if (s->page >= LUMU_MAX_PAGES) {
		snprintf(err, errsz, "more than %d pages in one window",
		    LUMU_MAX_PAGES);
		rv = -1;
	} else
		rv = 1;
 out:
	cJSON_Delete(root);
	return (rv);
}

/* A page request ended. */
static void
sync_done(void *arg, const struct curlev_result *r)
{
	struct lumu	*lu = arg;
	struct sync	*s = lu->sync;
	char		 what[64], err[256];
	int		 rv;

	enter(lu);
	lu->sc.xfer = 0;
	lu->kick = 1;
	snprintf(what, sizeof(what), "full read: page %" PRId64, s->page);
	if (r->ok && r->status == 400 && s->window > 0 && s->page == 1) {
		/* Older than the newest window: Lumu's history ends here. */
		log_info("lumu: window %d of %d refused (HTTP 400); taking it "
		    "as the end of Lumu's history", s->window + 1,
		    s->nwindows);
		sync_finish(lu);
		goto out;
	}
	if (!r->ok || r->status != 200) {
		answer_error(lu, &lu->sc, what, r, NULL);
		sync_abort(lu);
		goto out;
	}
	if ((rv = sync_page(lu, r, err, sizeof(err))) == -1) {
		answer_error(lu, &lu->sc, "full read", r, err);
		sync_abort(lu);
		goto out;
	}
	lu->sc.backoff = 0;
	if (rv == 1)
		s->page++;
	else if (++s->window < s->nwindows)
		s->page = 1;
	else
		sync_finish(lu);
 out:
	leave(lu);
}

/* Sends the probe or the long poll. */
static int
poll_send(struct lumu *lu)
{
	struct buf	url = { 0 };
	long		timeout;
	int		rv = -1;

	if (url_begin(lu, &url, "/api/incidents/open-incidents/updates") ==
	    -1)
		goto out;
	if (lu->poll == POLL_PROBE) {
		/* No offset: the current end of the stream, at once. */
		if (buf_printf(&url, "&items=1&time=0") == -1)
			goto out;
		timeout = LUMU_TIMEOUT_MS;
		lu->sent[0] = '\0';
	} else {
		/* Offsets are digits or URL-safe (decode_offset). */
		if (buf_printf(&url, "&offset=%s&items=%d&time=%" PRId64,
		    lu->st.offset, LUMU_PAGE_ITEMS, lu->wait) == -1)
			goto out;
		timeout = (long)(lu->wait + LUMU_POLL_MARGIN_S) * 1000;
		snprintf(lu->sent, sizeof(lu->sent), "%s", lu->st.offset);
	}
	lu->poll_sent_at = mono_ms();
	rv = lumu_send(lu, &lu->pc, "GET", url.data, NULL, timeout, poll_done);
 out:
	buf_free(&url);
	return (rv);
}

/* The probe answered: the stream's cursor is known. */
static void
probe_learned(struct lumu *lu, const struct decode_updates *u)
{
	snprintf(lu->st.offset, sizeof(lu->st.offset), "%s", u->offset);
	log_debug("%s: stream cursor %s (%zu old events dropped)", __func__,
	    u->offset, u->count);
	lu->poll = lu->synced ? POLL_RUN : POLL_WAIT;
	/* A read begun before the cursor may have missed changes. */
	if (lu->nreads > 0) {
		log_info("lumu: stream cursor learned late; reading again");
		if (lu->sync != NULL)
			lu->sync_again = 1;
		else
			lu->sync_wanted = 1;
	}
	lu->probe_failed = 0;
}

/* Hands the events of one answer to the owner, then the new cursor. */
static void
poll_deliver(struct lumu *lu, const struct decode_updates *u)
{
	struct decode_event	 ev;
	struct decode_counts	 c;
	const cJSON		*el;
	int			 changed;

	memset(&c, 0, sizeof(c));
	if (decode_offset_cmp(u->offset, lu->sent) < 0) {
		log_warnx("lumu: stream offset went back from %s to %s; "
		    "reading everything again", lu->sent, u->offset);
		if (lu->sync != NULL)
			lu->sync_again = 1;
		else
			lu->sync_wanted = 1;
	}
	cJSON_ArrayForEach(el, u->list) {
		decode_event(el, &ev, &c);
		lu->st.events[ev.type]++;
		if (!lu->dying && lu->cb.on_event != NULL)
			lu->cb.on_event(lu->cb.arg, ev.type,
			    ev.has_incident ? &ev.inc : NULL);
		if (ev.has_incident)
			ctx_event(lu, ev.type, &ev.inc);
	}
	changed = strcmp(lu->st.offset, u->offset) != 0;
	snprintf(lu->st.offset, sizeof(lu->st.offset), "%s", u->offset);
	if ((u->count > 0 || changed) && !lu->dying &&
	    lu->cb.on_batch != NULL)
		lu->cb.on_batch(lu->cb.arg, lu->st.offset);
	if (c.no_id || c.not_object)
		log_debug("%s: %zu events without a usable incident",
		    __func__, c.no_id + c.not_object);
}

/* A probe or poll answer in good shape. */
static void
poll_answer(struct lumu *lu, const struct decode_updates *u)
{
	lu->pc.backoff = 0;
	if (lu->poll == POLL_PROBE) {
		probe_learned(lu, u);
		return;
	}
	/* A read was handed over meanwhile and rewound the cursor. */
	if (strcmp(lu->sent, lu->st.offset) != 0)
		return;
	poll_deliver(lu, u);
	/* A server that does not hold the request must not be spun on. */
	if (u->count == 0 && mono_ms() - lu->poll_sent_at < LUMU_POLL_GAP_MS)
		lu->pc.not_before = lu->poll_sent_at + LUMU_POLL_GAP_MS;
}

/* A probe or poll request ended. */
static void
poll_done(void *arg, const struct curlev_result *r)
{
	struct lumu		*lu = arg;
	struct decode_updates	 u;
	cJSON			*root = NULL;
	const char		*what;
	char			 err[256];

	enter(lu);
	lu->pc.xfer = 0;
	lu->kick = 1;
	what = lu->poll == POLL_PROBE ? "updates (first cursor)" : "updates";
	if (!r->ok || r->status != 200) {
		answer_error(lu, &lu->pc, what, r, NULL);
		/* An offset Lumu no longer knows: start over from a new one. */
		if (r->ok && r->status >= 400 && r->status < 500 &&
		    r->status != 401 && r->status != 429 &&
		    lu->poll != POLL_PROBE) {
			lu->poll = POLL_PROBE;
			lu->st.offset[0] = '\0';
		}
		if (lu->poll == POLL_PROBE)
			lu->probe_failed = 1;
		goto out;
	}
	/* root is ours until cJSON_Delete; events borrow its strings. */
	if ((root = decode_parse(r->body, r->len, err, sizeof(err))) == NULL ||
	    decode_updates(root, &u, err, sizeof(err)) == -1) {
		answer_error(lu, &lu->pc, what, r, err);
		if (lu->poll == POLL_PROBE)
			lu->probe_failed = 1;
		goto out;
	}
	poll_answer(lu, &u);
 out:
	cJSON_Delete(root);
	leave(lu);
}

/* Sends the context call of the first incident in the queue. */
static int
ctx_send(struct lumu *lu, struct ctxent *e)
{
	struct buf	 path = { 0 }, url = { 0 };
	char		*esc;
	int		 rv = -1;

	/* Ids come from Lumu: escaped into the path. */
	if ((esc = curl_easy_escape(NULL, e->id, 0)) == NULL)
		return (-1);
	if (buf_printf(&path, "/api/incidents/%s/context", esc) == 0 &&
	    url_begin(lu, &url, path.data) == 0 &&
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
	lu->ctx_sent = mono_ms();
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

	clean_text(id, sizeof(id), lu->ctx_id);
	snprintf(what, sizeof(what), "context of incident %s", id);
	answer_error(lu, &lu->cc, what, r, why);
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

	enter(lu);
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
		sync_finish(lu);
	leave(lu);
}

/*
 * Starts the next context call when one is due.  It spends only tokens
 * beyond a reserve for the stream and a full read, and waits while a
 * read is under way or wanted, so it never holds either of them up.
 */
static void
tick_ctx(struct lumu *lu, int64_t now, int64_t *wake)
{
	double	need = 1.0;
	int	phase = lu->sync != NULL && lu->sync->ctx_phase;

	if (lu->dying || !lu->triggers)
		return;
	if (lu->follow && lu->ctx_prune_at != 0 && now >= lu->ctx_prune_at)
		ctx_prune(lu);
	ctx_promote(lu, now, wake);
	if (TAILQ_EMPTY(&lu->ctx_ready) || lu->cc.xfer != 0)
		return;
	if (!phase && lu->max_rpm > 0) {
		/* sync_done and the read's start kick us again. */
		if (lu->sync != NULL || lu->sync_wanted)
			return;
		need += ctx_reserve(lu);
	}
	if (!chan_ready(lu, &lu->cc, now, wake, need))
		return;
	if (ctx_send(lu, TAILQ_FIRST(&lu->ctx_ready)) == -1) {
		report(lu, "context: cannot start a request");
		chan_backoff(lu, &lu->cc);
	}
}

/* Starts the full read's next request, or a new read, when allowed. */
static void
tick_sync(struct lumu *lu, int64_t now, int64_t *wake)
{
	/* Pages done, contexts under way: ctx_done finishes the read. */
	if (lu->dying || (lu->sync != NULL && lu->sync->ctx_phase))
		return;
	if (lu->sync == NULL) {
		if (!lu->sync_wanted)
			return;
		/* The first read waits for the cursor, unless that failed. */
		if (lu->poll == POLL_PROBE && !lu->probe_failed)
			return;
	}
	if (!chan_ready(lu, &lu->sc, now, wake, 1.0))
		return;
	if (lu->sync == NULL && sync_begin(lu) == -1) {
		report(lu, "full read: out of memory");
		chan_backoff(lu, &lu->sc);
		return;
	}
	if (sync_send(lu) == -1) {
		report(lu, "full read: cannot start a request");
		sync_abort(lu);
		chan_backoff(lu, &lu->sc);
	}
}

/* Starts the probe or the next long poll, when allowed. */
static void
tick_poll(struct lumu *lu, int64_t now, int64_t *wake)
{
	if (lu->dying || (lu->poll != POLL_PROBE && lu->poll != POLL_RUN))
		return;
	if (!chan_ready(lu, &lu->pc, now, wake, 1.0))
		return;
	if (poll_send(lu) == -1) {
		report(lu, "updates: cannot start a request");
		chan_backoff(lu, &lu->pc);
	}
}

/* The one place that decides what is sent when; runs while busy. */
static void
lumu_tick(struct lumu *lu)
{
	int64_t		now = mono_ms(), wake = INT64_MAX;
	struct timeval	tv;

	if (lu->resync > 0 && lu->synced && lu->sync == NULL &&
	    !lu->sync_wanted) {
		if (now >= lu->next_resync) {
			log_info("lumu: periodic full read");
			lu->sync_wanted = 1;
		} else
			wake = lu->next_resync;
	}
	/* The stream first: its probe comes before the first read. */
	tick_poll(lu, now, &wake);
	tick_sync(lu, now, &wake);
	/* Contexts last: they spend what the other two leave. */
	tick_ctx(lu, now, &wake);
	if (lu->dying)
		return;
	evtimer_del(lu->timer);
	if (wake == INT64_MAX)
		return;
	wake -= now;
	if (wake < 1)
		wake = 1;
	tv.tv_sec = (time_t)(wake / 1000);
	tv.tv_usec = (suseconds_t)(wake % 1000) * 1000;
	evtimer_add(lu->timer, &tv);
}
