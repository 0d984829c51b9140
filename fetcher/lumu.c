/*
 * lumu.c: the Lumu Defender API client: its public API (lumu.h), its
 * life cycle, and the one timer that decides what is sent when.
 *
 * Two lines of requests share one budget: the full read (POST
 * /api/incidents/all, page by page, window by window; lumu_sync.c) and
 * the updates stream (GET .../open-incidents/updates, long-polled;
 * lumu_poll.c).  Threat triggers come from a third line, the context
 * calls (lumu_ctx.c).  Each line has at most one request in flight, its
 * own backoff (lumu_budget.c), and waits on one timer, lumu_tick(),
 * which decides what may be sent now and when to look again.
 *
 * Every way into the client passes lumu_enter() and lumu_leave(): the
 * owner's callbacks may call lumu_resync() or lumu_free(), so the
 * scheduler runs, and the client is freed, only on the way out of the
 * outermost one.
 *
 * lumu_stats.budget_tokens is -1 when there is no request budget.
 * Failures are logged here and also passed to on_error.
 */
#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curlev.h"
#include "decode.h"
#include "hmap.h"
#include "log.h"
#include "lumu.h"
#include "lumu_int.h"
#include "util.h"

#define LUMU_MSG_MAX		512

static void	lumu_tick(struct lumu *);
static void	lumu_destroy(struct lumu *);

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

int64_t
lumu_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Marks entry into our code; user callbacks may run from here on. */
void
lumu_enter(struct lumu *lu)
{
	lu->busy++;
}

/* The outermost exit runs the scheduler, or the deferred free. */
void
lumu_leave(struct lumu *lu)
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

	lumu_enter(lu);
	lu->kick = 1;
	lumu_leave(lu);
}

/* Logs a failure and tells the owner; the key never gets this far. */
void
lumu_report(struct lumu *lu, const char *fmt, ...)
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
void
lumu_clean_text(char *dst, size_t dstsz, const char *src)
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
	lu->tokens_at = lumu_mono_ms();
	lu->st.budget_tokens = lu->max_rpm > 0 ? lu->max_rpm : -1;
	if (lu->triggers && lu->max_rpm > 0 &&
	    lu->max_rpm <= lumu_ctx_reserve(lu))
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
lumu_destroy(struct lumu *lu)
{
	size_t	i;

	lumu_stop(lu);
	if (lu->timer != NULL)
		event_free(lu->timer);
	lumu_sync_free(lu->sync);
	lumu_ctx_clear(lu);
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
	lumu_enter(lu);
	lu->kick = 1;
	lumu_leave(lu);
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
	lumu_enter(lu);
	lu->kick = 1;
	lumu_leave(lu);
}

const struct lumu_stats *
lumu_stats(const struct lumu *lu)
{
	return (&lu->st);
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
		lumu_ctx_prune(lu);
	lumu_ctx_promote(lu, now, wake);
	if (TAILQ_EMPTY(&lu->ctx_ready) || lu->cc.xfer != 0)
		return;
	if (!phase && lu->max_rpm > 0) {
		/* sync_done and the read's start kick us again. */
		if (lu->sync != NULL || lu->sync_wanted)
			return;
		need += lumu_ctx_reserve(lu);
	}
	if (!lumu_chan_ready(lu, &lu->cc, now, wake, need))
		return;
	if (lumu_ctx_send(lu, TAILQ_FIRST(&lu->ctx_ready)) == -1) {
		lumu_report(lu, "context: cannot start a request");
		lumu_chan_backoff(lu, &lu->cc);
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
	if (!lumu_chan_ready(lu, &lu->sc, now, wake, 1.0))
		return;
	if (lu->sync == NULL && lumu_sync_begin(lu) == -1) {
		lumu_report(lu, "full read: out of memory");
		lumu_chan_backoff(lu, &lu->sc);
		return;
	}
	if (lumu_sync_send(lu) == -1) {
		lumu_report(lu, "full read: cannot start a request");
		lumu_sync_abort(lu);
		lumu_chan_backoff(lu, &lu->sc);
	}
}

/* Starts the probe or the next long poll, when allowed. */
static void
tick_poll(struct lumu *lu, int64_t now, int64_t *wake)
{
	if (lu->dying || (lu->poll != POLL_PROBE && lu->poll != POLL_RUN))
		return;
	if (!lumu_chan_ready(lu, &lu->pc, now, wake, 1.0))
		return;
	if (lumu_poll_send(lu) == -1) {
		lumu_report(lu, "updates: cannot start a request");
		lumu_chan_backoff(lu, &lu->pc);
	}
}

/* The one place that decides what is sent when; runs while busy. */
static void
lumu_tick(struct lumu *lu)
{
	int64_t		now = lumu_mono_ms(), wake = INT64_MAX;
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
