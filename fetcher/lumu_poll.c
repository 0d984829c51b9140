/*
 * lumu_poll.c: the updates stream of the Lumu client (GET
 * /api/incidents/open-incidents/updates, long-polled): the probe for the
 * first cursor, the long poll, and handing its events to the owner.
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
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "curlev.h"
#include "decode.h"
#include "log.h"
#include "lumu.h"
#include "lumu_int.h"
#include "util.h"

#define LUMU_POLL_MARGIN_S	15		/* past updates_wait */
#define LUMU_POLL_GAP_MS	1000		/* after a quick empty answer */

static void	poll_done(void *, const struct curlev_result *);

/* Sends the probe or the long poll. */
int
lumu_poll_send(struct lumu *lu)
{
	struct buf	url = { 0 };
	long		timeout;
	int		rv = -1;

	if (lumu_url_begin(lu, &url, "/api/incidents/open-incidents/updates") ==
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
	lu->poll_sent_at = lumu_mono_ms();
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
			lumu_ctx_event(lu, ev.type, &ev.inc);
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
	if (u->count == 0 && lumu_mono_ms() - lu->poll_sent_at < LUMU_POLL_GAP_MS)
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

	lumu_enter(lu);
	lu->pc.xfer = 0;
	lu->kick = 1;
	what = lu->poll == POLL_PROBE ? "updates (first cursor)" : "updates";
	if (!r->ok || r->status != 200) {
		lumu_answer_error(lu, &lu->pc, what, r, NULL);
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
		lumu_answer_error(lu, &lu->pc, what, r, err);
		if (lu->poll == POLL_PROBE)
			lu->probe_failed = 1;
		goto out;
	}
	poll_answer(lu, &u);
 out:
	cJSON_Delete(root);
	lumu_leave(lu);
}
