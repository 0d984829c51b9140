/*
 * http_metrics.c: /metrics in the Prometheus text exposition format
 * 0.0.4: per-feed gauges and counters, requests by feed and code, open
 * connections, connections closed by the request deadline, and the state
 * of the Lumu sync.
 */
#include <sys/types.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "http_int.h"
#include "ioc.h"
#include "lumu.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

enum feed_what {
	FM_READY, FM_ENTRIES, FM_LINES, FM_BYTES, FM_GZBYTES, FM_MODIFIED,
	FM_REQUESTS, FM_NOT_MODIFIED, FM_SENT
};

struct feed_metric {
	const char	*name;
	enum feed_what	 what;
	const char	*help;
};

/* Of the current snapshot: a feed without one shows zeros. */
static const struct feed_metric feed_gauges[] = {
	{ "lumu_edl_feed_ready", FM_READY,
	    "1 when the feed has a published body." },
	{ "lumu_edl_feed_entries", FM_ENTRIES, "Indicators published." },
	{ "lumu_edl_feed_lines", FM_LINES,
	    "Lines of the feed body, wildcard expansions included." },
	{ "lumu_edl_feed_bytes", FM_BYTES, "Size of the feed body." },
	{ "lumu_edl_feed_gzip_bytes", FM_GZBYTES,
	    "Size of the gzip body (0: served uncompressed)." },
	{ "lumu_edl_feed_last_modified_timestamp_seconds", FM_MODIFIED,
	    "When the feed content last changed." },
};

/* Kept in the site's feed, whatever its snapshot. */
static const struct feed_metric feed_counters[] = {
	{ "lumu_edl_feed_requests_total", FM_REQUESTS,
	    "Authorized requests for the feed." },
	{ "lumu_edl_feed_not_modified_total", FM_NOT_MODIFIED,
	    "Requests for the feed answered 304 Not Modified." },
	{ "lumu_edl_feed_sent_bytes_total", FM_SENT,
	    "Body bytes sent for the feed." },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int	prom_head(struct buf *, const char *, const char *,
		    const char *);
static int	prom_label(struct buf *, const char *);
static int	prom_feed(struct buf *, const char *, const char *,
		    const char *, unsigned long long);
static int	prom_one(struct buf *, const char *, const char *,
		    const char *, int, double);
static unsigned long long feed_value(struct site_feed *,
		    const struct snapshot *, enum feed_what);
static int	metrics_feed(struct buf *, struct site *,
		    struct snapshot **, const struct feed_metric *,
		    const char *);
static int	metrics_feeds(struct buf *, struct site *);
static void	code_label(char *, size_t, size_t);
static int	metrics_http(struct buf *, struct http *);
static int	metrics_sync(struct buf *, struct site *);

/* Writes the HELP and TYPE lines of one metric. */
static int
prom_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	return (buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type));
}

/* Writes a label value with the escapes of the text format 0.0.4. */
static int
prom_label(struct buf *b, const char *v)
{
	int	rv = 0;

	for (; *v != '\0'; v++) {
		if (*v == '\\')
			rv |= buf_addstr(b, "\\\\");
		else if (*v == '"')
			rv |= buf_addstr(b, "\\\"");
		else if (*v == '\n')
			rv |= buf_addstr(b, "\\n");
		else
			rv |= buf_addch(b, *v);
	}
	return (rv);
}

/* Writes name{feed="F"[,extra]} value. */
static int
prom_feed(struct buf *b, const char *name, const char *feed,
    const char *extra, unsigned long long v)
{
	int	rv;

	rv = buf_printf(b, "%s{feed=\"", name);
	rv |= prom_label(b, feed);
	rv |= buf_printf(b, "\"%s} %llu\n", extra != NULL ? extra : "", v);
	return (rv);
}

/* One value of a feed; gauges of a feed without a snapshot are 0. */
static unsigned long long
feed_value(struct site_feed *f, const struct snapshot *s,
    enum feed_what what)
{
	switch (what) {
	case FM_REQUESTS:	return (atomic_load(&f->requests));
	case FM_NOT_MODIFIED:	return (atomic_load(&f->not_modified));
	case FM_SENT:		return (atomic_load(&f->bytes));
	default:		break;
	}
	if (s == NULL)
		return (0);
	switch (what) {
	case FM_READY:		return (1);
	case FM_ENTRIES:	return (s->entries);
	case FM_LINES:		return (s->lines);
	case FM_BYTES:		return (s->len);
	case FM_GZBYTES:	return (s->gzlen);
	case FM_MODIFIED:
		return (s->last_modified > 0 ?
		    (unsigned long long)s->last_modified : 0);
	default:		return (0);
	}
}

/* One metric with a sample per feed; snaps[i] is feed i's snapshot. */
static int
metrics_feed(struct buf *b, struct site *site, struct snapshot **snaps,
    const struct feed_metric *m, const char *type)
{
	size_t	i;
	int	rv;

	rv = prom_head(b, m->name, type, m->help);
	for (i = 0; i < site->nfeeds; i++)
		rv |= prom_feed(b, m->name, site->feeds[i].name, NULL,
		    feed_value(&site->feeds[i], snaps[i], m->what));
	return (rv);
}

/* Every per-feed metric: gauges, dropped by reason, then counters. */
static int
metrics_feeds(struct buf *b, struct site *site)
{
	struct snapshot	**snaps;
	char		  extra[64];
	size_t		  i, m;
	int		  r, rv = 0;

	/* One slot at least: calloc(0) may answer NULL. */
	if ((snaps = calloc(site->nfeeds + 1, sizeof(*snaps))) == NULL)
		return (-1);
	for (i = 0; i < site->nfeeds; i++)
		snaps[i] = site_feed_current(&site->feeds[i]);
	for (m = 0; m < NITEMS(feed_gauges); m++)
		rv |= metrics_feed(b, site, snaps, &feed_gauges[m], "gauge");
	rv |= prom_head(b, "lumu_edl_feed_dropped", "gauge",
	    "Indicators withheld from the feed, by reason.");
	for (i = 0; i < site->nfeeds; i++) {
		for (r = IOC_OK + 1; snaps[i] != NULL && r < IOC_NREASONS;
		    r++) {
			snprintf(extra, sizeof(extra), ",reason=\"%s\"",
			    ioc_reason_name((enum ioc_reason)r));
			rv |= prom_feed(b, "lumu_edl_feed_dropped",
			    site->feeds[i].name, extra, snaps[i]->drops[r]);
		}
	}
	for (m = 0; m < NITEMS(feed_counters); m++)
		rv |= metrics_feed(b, site, snaps, &feed_counters[m],
		    "counter");
	for (i = 0; i < site->nfeeds; i++)
		snap_unref(snaps[i]);
	free(snaps);
	return (rv);
}

/* The code label of counter slot c: the status code, or "other". */
static void
code_label(char *dst, size_t dstsz, size_t c)
{
	if (http_codes[c] != 0)
		snprintf(dst, dstsz, "%d", http_codes[c]);
	else
		snprintf(dst, dstsz, "other");
}

/* Requests by feed and code, open connections, request timeouts. */
static int
metrics_http(struct buf *b, struct http *h)
{
	size_t			 i, c, n = atomic_load(&h->nstats);
	unsigned long long	 v;
	char			 code[16], extra[32];
	int			 rv;

	rv = prom_head(b, "lumu_edl_http_requests_total", "counter",
	    "Requests for /feeds/NAME and /feeds/NAME/dropped by code.");
	for (i = 1; i < n; i++)
		for (c = 0; c < HTTP_NCODES; c++) {
			if ((v = atomic_load(&h->stats[i].codes[c])) == 0)
				continue;
			code_label(code, sizeof(code), c);
			snprintf(extra, sizeof(extra), ",code=\"%s\"", code);
			rv |= prom_feed(b, "lumu_edl_http_requests_total",
			    h->stats[i].name, extra, v);
		}
	rv |= prom_head(b, "lumu_edl_http_other_requests_total", "counter",
	    "Requests outside /feeds (and for unknown feeds) by code.");
	for (c = 0; c < HTTP_NCODES; c++) {
		if ((v = atomic_load(&h->stats[0].codes[c])) == 0)
			continue;
		code_label(code, sizeof(code), c);
		rv |= buf_printf(b, "lumu_edl_http_other_requests_total"
		    "{code=\"%s\"} %llu\n", code, v);
	}
	rv |= prom_head(b, "lumu_edl_http_connections", "gauge",
	    "Open client connections.");
	rv |= buf_printf(b, "lumu_edl_http_connections %zu\n",
	    http_connections(h));
	rv |= prom_head(b, "lumu_edl_http_request_timeouts_total", "counter",
	    "Connections closed because a whole request did not arrive in "
	    "time.");
	rv |= buf_printf(b, "lumu_edl_http_request_timeouts_total %llu\n",
	    (unsigned long long)atomic_load(&h->request_timeouts));
	return (rv);
}

/* Writes one unlabelled sample. */
static int
prom_one(struct buf *b, const char *name, const char *type,
    const char *help, int decimals, double v)
{
	int	rv;

	rv = prom_head(b, name, type, help);
	rv |= buf_printf(b, "%s %.*f\n", name, decimals, v);
	return (rv);
}

/* The Lumu side: sync times, errors, counts and events by type. */
static int
metrics_sync(struct buf *b, struct site *site)
{
	struct site_sync	sync;
	int			i, rv;

	site_sync_get(site, &sync);
	rv = prom_one(b, "lumu_edl_start_time_seconds", "gauge",
	    "When the process started.", 3, sync.started_ms / 1000.0);
	rv |= prom_one(b, "lumu_edl_sync_last_success_timestamp_seconds",
	    "gauge", "When the last sync succeeded (0: never).", 3,
	    sync.last_success_ms / 1000.0);
	rv |= prom_one(b, "lumu_edl_sync_last_attempt_timestamp_seconds",
	    "gauge", "When the last sync was tried (0: never).", 3,
	    sync.last_attempt_ms / 1000.0);
	rv |= prom_one(b, "lumu_edl_sync_duration_seconds", "gauge",
	    "How long the last full read took.", 3,
	    sync.last_sync_seconds);
	rv |= prom_one(b, "lumu_edl_sync_errors_total", "counter",
	    "Failed requests and syncs towards Lumu.", 0,
	    (double)sync.errors);
	rv |= prom_one(b, "lumu_edl_lumu_requests_total", "counter",
	    "Requests made to the Lumu API.", 0, (double)sync.requests);
	rv |= prom_one(b, "lumu_edl_incidents", "gauge",
	    "Incidents held.", 0, (double)sync.incidents);
	rv |= prom_one(b, "lumu_edl_indicators", "gauge",
	    "Distinct indicators held.", 0, (double)sync.indicators);
	rv |= prom_one(b, "lumu_edl_state_loaded", "gauge",
	    "1 when the feeds were restored from saved state.", 0,
	    sync.loaded_state ? 1.0 : 0.0);
	rv |= prom_head(b, "lumu_edl_lumu_events_total", "counter",
	    "Events read from the Lumu updates stream, by type.");
	for (i = 0; i < LUMU_NEVENTS; i++) {
		rv |= buf_printf(b, "lumu_edl_lumu_events_total{type=\"");
		rv |= prom_label(b, lumu_event_name((enum lumu_event)i));
		rv |= buf_printf(b, "\"} %llu\n",
		    (unsigned long long)sync.events[i]);
	}
	return (rv);
}

/* GET /metrics: Prometheus text exposition 0.0.4. */
void
http_page_metrics(struct http_rq *rq)
{
	struct buf	b = { 0 };
	int		rv;

	rv = metrics_feeds(&b, rq->site);
	rv |= metrics_http(&b, rq->h);
	rv |= metrics_sync(&b, rq->site);
	if (rv != 0 || b.data == NULL)
		http_reply_error(rq, 500, "out of memory");
	else
		http_reply(rq, 200, HTTP_CT_PROM, b.data, b.len);
	buf_free(&b);
}
