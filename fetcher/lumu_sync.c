/*
 * lumu_sync.c: the full read of the Lumu client (POST
 * /api/incidents/all): the lookback in windows of at most 30 days,
 * newest first, each read page by page into a fresh store.  Only a
 * complete read is handed to the owner; a failed one is dropped and the
 * next try starts from the beginning.
 *
 * A read that starts while the stream runs notes the cursor of that
 * moment.  When the read is handed over, the stream goes back to that
 * cursor, so the events that came in while the read was under way are
 * given again, after the fresh store: applied in order they leave each
 * incident as the stream last described it.  (Such replays are counted
 * again in lumu_stats.events.)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "curlev.h"
#include "decode.h"
#include "log.h"
#include "lumu.h"
#include "lumu_int.h"
#include "store.h"
#include "util.h"

#define LUMU_MAX_PAGES		10000		/* per window */

static void	sync_done(void *, const struct curlev_result *);

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

void
lumu_sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	store_free(s->store);
	free(s);
}

/* Sends the request for the current page of the read. */
int
lumu_sync_send(struct lumu *lu)
{
	struct sync	*s = lu->sync;
	struct buf	 url = { 0 };
	char		*body;
	int		 rv = -1;

	if ((body = sync_body(lu, s)) == NULL)
		return (-1);
	if (lumu_url_begin(lu, &url, "/api/incidents/all") == 0 &&
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
int
lumu_sync_begin(struct lumu *lu)
{
	struct sync	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (-1);
	if ((s->store = store_new()) == NULL) {
		free(s);
		return (-1);
	}
	s->now_ms = time_now_ms();
	s->started = lumu_mono_ms();
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
void
lumu_sync_abort(struct lumu *lu)
{
	lumu_sync_free(lu->sync);
	lu->sync = NULL;
	lu->sync_wanted = 1;
}

/* Hands a complete read over to the owner. */
void
lumu_sync_finish(struct lumu *lu)
{
	struct sync		*s = lu->sync;
	struct decode_counts	*c = &s->counts;
	struct store		*fresh = s->store;

	if (lumu_ctx_before_handover(lu))
		return;
	lu->sync = NULL;
	s->store = NULL;
	lu->st.last_sync_seconds = (double)(lumu_mono_ms() - s->started) / 1000.0;
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
	lu->next_resync = lumu_mono_ms() + lu->resync * 1000;
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
	lumu_ctx_after_read(lu, fresh);
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
			/* Past the store's bound: the last good feeds stay. */
			snprintf(err, errsz, "page %" PRId64 ": %s", s->page,
			    errno == ENOSPC ? "more incidents than the store "
			    "holds" : "out of memory");
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

	lumu_enter(lu);
	lu->sc.xfer = 0;
	lu->kick = 1;
	snprintf(what, sizeof(what), "full read: page %" PRId64, s->page);
	if (r->ok && r->status == 400 && s->window > 0 && s->page == 1) {
		/* Older than the newest window: Lumu's history ends here. */
		log_info("lumu: window %d of %d refused (HTTP 400); taking it "
		    "as the end of Lumu's history", s->window + 1,
		    s->nwindows);
		lumu_sync_finish(lu);
		goto out;
	}
	if (!r->ok || r->status != 200) {
		lumu_answer_error(lu, &lu->sc, what, r, NULL);
		lumu_sync_abort(lu);
		goto out;
	}
	if ((rv = sync_page(lu, r, err, sizeof(err))) == -1) {
		lumu_answer_error(lu, &lu->sc, "full read", r, err);
		lumu_sync_abort(lu);
		goto out;
	}
	lu->sc.backoff = 0;
	if (rv == 1)
		s->page++;
	else if (++s->window < s->nwindows)
		s->page = 1;
	else
		lumu_sync_finish(lu);
 out:
	lumu_leave(lu);
}
