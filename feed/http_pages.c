/*
 * http_pages.c: the pages about the server itself: / for people (HTML,
 * every outside string escaped), /status as JSON and /readyz.  Each is
 * built per request from the site's sync state and current snapshots.
 */
#include <sys/types.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include <cJSON.h>

#include "conf.h"
#include "http_int.h"
#include "ioc.h"
#include "log.h"
#include "lumu.h"
#include "push.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

_Static_assert(LUMU_NEVENTS <= sizeof(((struct site_sync *)0)->events) /
    sizeof(uint64_t), "site_sync.events holds every Lumu event type");

static int	site_unready(struct site *, char *, size_t);
static void	json_time(cJSON *, const char *, int64_t);
static cJSON	*status_lumu(const struct site_sync *);
static cJSON	*status_feed(struct site_feed *);
static int	html_escape(struct buf *, const char *);
static int	url_escape(struct buf *, const char *);
static int	html_time(struct buf *, int64_t);
static int	index_feeds(struct buf *, struct site *);
static int	index_sync(struct buf *, struct site *);

/*
 * Why the site is not ready, or 0 when it is: every feed has a body, and
 * the last successful sync is recent (twice resync plus ten minutes), or
 * the feeds came from saved state less than resync ago.
 */
static int
site_unready(struct site *site, char *why, size_t whysz)
{
	struct site_sync	 sync;
	struct snapshot		*s;
	char			 esc[256];
	int64_t			 now = time_now_ms(), window;
	size_t			 i;

	for (i = 0; i < site->nfeeds; i++) {
		if ((s = site_feed_current(&site->feeds[i])) != NULL) {
			snap_unref(s);
			continue;
		}
		log_escape(esc, sizeof(esc), site->feeds[i].name,
		    strlen(site->feeds[i].name));
		snprintf(why, whysz, "feed %s has no data yet", esc);
		return (1);
	}
	site_sync_get(site, &sync);
	window = (sync.resync_s * 2 + 600) * 1000;
	if (sync.last_success_ms > 0 && now - sync.last_success_ms <= window)
		return (0);
	if (sync.loaded_state && now - sync.started_ms < sync.resync_s * 1000)
		return (0);
	snprintf(why, whysz, "%s", sync.last_success_ms > 0 ?
	    "the last successful sync is too old" :
	    "no successful sync yet");
	return (1);
}

void
http_page_readyz(struct http_rq *rq)
{
	char	why[384], msg[400];

	if (!site_unready(rq->site, why, sizeof(why))) {
		http_reply(rq, 200, HTTP_CT_TEXT, "ok\n", 3);
		return;
	}
	snprintf(msg, sizeof(msg), "not ready: %s", why);
	http_reply_error(rq, 503, msg);
}

/* Adds an ISO-8601 time, or null for 0 (never); cJSON owns the item. */
static void
json_time(cJSON *obj, const char *name, int64_t ms)
{
	char	iso[40];

	if (ms <= 0) {
		cJSON_AddNullToObject(obj, name);
		return;
	}
	time_format_iso(ms, iso, sizeof(iso));
	cJSON_AddStringToObject(obj, name, iso);
}

/* The "lumu" object of /status. */
static cJSON *
status_lumu(const struct site_sync *sync)
{
	cJSON	*o, *ev;
	int	 i;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	json_time(o, "last_success", sync->last_success_ms);
	json_time(o, "last_attempt", sync->last_attempt_ms);
	if (sync->last_error[0] != '\0')
		cJSON_AddStringToObject(o, "last_error", sync->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	cJSON_AddStringToObject(o, "offset", sync->offset);
	cJSON_AddBoolToObject(o, "loaded_state", sync->loaded_state != 0);
	cJSON_AddNumberToObject(o, "incidents", (double)sync->incidents);
	cJSON_AddNumberToObject(o, "indicators", (double)sync->indicators);
	cJSON_AddNumberToObject(o, "requests", (double)sync->requests);
	cJSON_AddNumberToObject(o, "errors", (double)sync->errors);
	cJSON_AddNumberToObject(o, "last_sync_seconds",
	    sync->last_sync_seconds);
	/* The object added to o is owned by o from here on. */
	if ((ev = cJSON_AddObjectToObject(o, "events")) != NULL)
		for (i = 0; i < LUMU_NEVENTS; i++)
			cJSON_AddNumberToObject(ev, lumu_event_name(
			    (enum lumu_event)i),
			    (double)sync->events[i]);
	return (o);
}

/* One feed of /status; a feed without a body shows nulls. */
static cJSON *
status_feed(struct site_feed *f)
{
	struct snapshot	*s;
	cJSON		*o, *d;
	int		 i;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	s = site_feed_current(f);
	cJSON_AddStringToObject(o, "type", conf_feed_type_name(f->type));
	cJSON_AddBoolToObject(o, "ready", s != NULL);
	cJSON_AddBoolToObject(o, "auth", f->nusers > 0);
	cJSON_AddNumberToObject(o, "entries", s ? (double)s->entries : 0);
	cJSON_AddNumberToObject(o, "lines", s ? (double)s->lines : 0);
	cJSON_AddNumberToObject(o, "bytes", s ? (double)s->len : 0);
	cJSON_AddNumberToObject(o, "gzip_bytes", s ? (double)s->gzlen : 0);
	if (s != NULL)
		cJSON_AddStringToObject(o, "etag", s->etag);
	else
		cJSON_AddNullToObject(o, "etag");
	json_time(o, "last_modified", s ? (int64_t)s->last_modified * 1000 :
	    0);
	if ((d = cJSON_AddObjectToObject(o, "dropped")) != NULL)
		for (i = IOC_OK + 1; i < IOC_NREASONS; i++)
			cJSON_AddNumberToObject(d, ioc_reason_name(i),
			    s ? (double)s->drops[i] : 0);
	cJSON_AddNumberToObject(o, "requests", (double)atomic_load_explicit(
	    &f->requests, memory_order_relaxed));
	cJSON_AddNumberToObject(o, "not_modified", (double)
	    atomic_load_explicit(&f->not_modified, memory_order_relaxed));
	cJSON_AddNumberToObject(o, "sent_bytes", (double)atomic_load_explicit(
	    &f->bytes, memory_order_relaxed));
	snap_unref(s);
	return (o);
}

/*
 * GET /status: the sync state and every feed as JSON.  Built per request
 * (it is small and rarely asked for); cJSON only allocates and prints
 * here, which is safe from several threads.
 */
void
http_page_status(struct http_rq *rq)
{
	struct site_sync	 sync;
	cJSON			*root, *feeds, *srv, *item;
	char			*out = NULL;
	size_t			 i;

	site_sync_get(rq->site, &sync);
	if ((root = cJSON_CreateObject()) == NULL)
		goto fail;
	/* Each item added below belongs to root; one cJSON_Delete frees all. */
	if ((item = status_lumu(&sync)) != NULL &&
	    !cJSON_AddItemToObject(root, "lumu", item))
		cJSON_Delete(item);	/* not added: still ours */
	if ((feeds = cJSON_AddObjectToObject(root, "feeds")) != NULL) {
		for (i = 0; i < rq->site->nfeeds; i++)
			if ((item = status_feed(&rq->site->feeds[i])) != NULL &&
			    !cJSON_AddItemToObject(feeds,
			    rq->site->feeds[i].name, item))
				cJSON_Delete(item);
	}
	/* The targets may be swapped by a reload: read them under the lock. */
	if ((item = cJSON_AddObjectToObject(root, "panos")) != NULL) {
		pthread_mutex_lock(&rq->h->lock);
		push_status_json(rq->h->push, item);
		pthread_mutex_unlock(&rq->h->lock);
	}
	if ((srv = cJSON_AddObjectToObject(root, "server")) != NULL) {
		json_time(srv, "started", sync.started_ms);
		cJSON_AddNumberToObject(srv, "threads",
		    (double)rq->h->nworkers);
		cJSON_AddNumberToObject(srv, "connections",
		    (double)http_connections(rq->h));
	}
	/* The printed string is ours, to free with cJSON_free. */
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (out == NULL)
		goto fail;
	http_reply(rq, 200, HTTP_CT_JSON, out, strlen(out));
	cJSON_free(out);
	return;
 fail:
	http_reply_error(rq, 500, "out of memory");
}

/* Adds s with &, <, >, " and ' escaped; control bytes become U+FFFD. */
static int
html_escape(struct buf *b, const char *s)
{
	int	rv = 0;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':	rv |= buf_addstr(b, "&amp;"); break;
		case '<':	rv |= buf_addstr(b, "&lt;"); break;
		case '>':	rv |= buf_addstr(b, "&gt;"); break;
		case '"':	rv |= buf_addstr(b, "&quot;"); break;
		case '\'':	rv |= buf_addstr(b, "&#39;"); break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				rv |= buf_addstr(b, "&#xfffd;");
			else
				rv |= buf_addch(b, *s);
		}
	}
	return (rv);
}

/* Adds s percent-encoded but for unreserved characters (a URL path). */
static int
url_escape(struct buf *b, const char *s)
{
	int	rv = 0;

	for (; *s != '\0'; s++) {
		unsigned char	c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			rv |= buf_addch(b, (char)c);
		else
			rv |= buf_printf(b, "%%%02X", c);
	}
	return (rv);
}

/* Adds "<td>" + escaped ISO time (or "never") + "</td>". */
static int
html_time(struct buf *b, int64_t ms)
{
	char	iso[40];

	if (ms <= 0)
		return (buf_addstr(b, "<td>never</td>"));
	time_format_iso(ms, iso, sizeof(iso));
	return (buf_printf(b, "<td>%s</td>", iso));
}

/* One table row per feed: link, type, counts, last change, withheld. */
static int
index_feeds(struct buf *b, struct site *site)
{
	struct site_feed	*f;
	struct snapshot		*s;
	size_t			 i, r, withheld;
	int			 rv;

	rv = buf_addstr(b, "<h2>Feeds</h2>\n<table>\n<tr><th>Feed</th>"
	    "<th>Type</th><th>Entries</th><th>Lines</th><th>Bytes</th>"
	    "<th>Last change</th><th>Withheld</th><th>Auth</th></tr>\n");
	for (i = 0; i < site->nfeeds; i++) {
		f = &site->feeds[i];
		s = site_feed_current(f);
		rv |= buf_addstr(b, "<tr><td><a href=\"feeds/");
		rv |= url_escape(b, f->name);
		rv |= buf_addstr(b, "\">feeds/");
		rv |= html_escape(b, f->name);
		rv |= buf_printf(b, "</a></td><td>%s</td>",
		    conf_feed_type_name(f->type));
		if (s == NULL) {
			rv |= buf_addstr(b, "<td colspan=\"5\">not ready: no "
			    "successful sync yet</td>");
		} else {
			for (withheld = 0, r = IOC_OK + 1; r < IOC_NREASONS;
			    r++)
				withheld += s->drops[r];
			rv |= buf_printf(b, "<td class=\"n\">%zu</td>"
			    "<td class=\"n\">%zu</td><td class=\"n\">%zu</td>",
			    s->entries, s->lines, s->len);
			rv |= html_time(b, (int64_t)s->last_modified * 1000);
			rv |= buf_addstr(b, "<td class=\"n\"><a href=\"feeds/");
			rv |= url_escape(b, f->name);
			rv |= buf_printf(b, "/dropped\">%zu</a></td>",
			    withheld);
		}
		rv |= buf_printf(b, "<td>%s</td></tr>\n",
		    f->nusers > 0 ? "yes" : "no");
		snap_unref(s);
	}
	return (rv | buf_addstr(b, "</table>\n"));
}

/* The Lumu sync state as a two-column table. */
static int
index_sync(struct buf *b, struct site *site)
{
	struct site_sync	sync;
	int			rv;

	site_sync_get(site, &sync);
	rv = buf_addstr(b, "<h2>Lumu sync</h2>\n<table>\n"
	    "<tr><th>Last success</th>");
	rv |= html_time(b, sync.last_success_ms);
	rv |= buf_addstr(b, "</tr>\n<tr><th>Last attempt</th>");
	rv |= html_time(b, sync.last_attempt_ms);
	rv |= buf_addstr(b, "</tr>\n<tr><th>Last error</th><td>");
	rv |= html_escape(b, sync.last_error[0] ? sync.last_error : "none");
	rv |= buf_printf(b, "</td></tr>\n<tr><th>Incidents</th>"
	    "<td>%llu</td></tr>\n<tr><th>Indicators</th><td>%llu</td></tr>\n"
	    "<tr><th>Requests</th><td>%llu</td></tr>\n<tr><th>Errors</th>"
	    "<td>%llu</td></tr>\n<tr><th>Restored from state</th>"
	    "<td>%s</td></tr>\n<tr><th>Started</th>",
	    (unsigned long long)sync.incidents,
	    (unsigned long long)sync.indicators,
	    (unsigned long long)sync.requests,
	    (unsigned long long)sync.errors,
	    sync.loaded_state ? "yes" : "no");
	rv |= html_time(b, sync.started_ms);
	return (rv | buf_addstr(b, "</tr>\n</table>\n"));
}

/* GET /: a page for people; every string from outside is escaped. */
void
http_page_index(struct http_rq *rq)
{
	struct buf	b = { 0 };
	int		rv;

	rv = buf_addstr(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>lumu-edl</title>\n<style>"
	    "body{font-family:sans-serif;margin:2em}"
	    "table{border-collapse:collapse;margin-bottom:1.5em}"
	    "th,td{border:1px solid #ccc;padding:.3em .7em;text-align:left}"
	    "td.n{text-align:right}</style></head>\n<body>\n"
	    "<h1>lumu-edl</h1>\n");
	rv |= index_feeds(&b, rq->site);
	rv |= index_sync(&b, rq->site);
	rv |= buf_addstr(&b, "<p><a href=\"status\">status</a> | "
	    "<a href=\"metrics\">metrics</a> | <a href=\"healthz\">healthz</a>"
	    " | <a href=\"readyz\">readyz</a></p>\n</body></html>\n");
	if (rv != 0) {
		buf_free(&b);
		http_reply_error(rq, 500, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(rq->req),
	    "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'");
	http_reply(rq, 200, HTTP_CT_HTML, b.data, b.len);
	buf_free(&b);
}
