/*
 * http_feed.c: GET and HEAD of /feeds/NAME and /feeds/NAME/dropped.  The
 * bytes go out by reference to the snapshot, never copied.
 *
 * Caching.  Feed replies carry "Cache-Control: max-age=60": firewalls
 * poll every few minutes and revalidate with If-None-Match, so a minute
 * of freshness for intermediaries costs nothing and spares repeated
 * transfers.  The gzip body is its own representation: its ETag is the
 * strong ETag with "-gz" inside the quotes (RFC 9110 8.8.3), and every
 * feed reply says "Vary: Accept-Encoding".
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_int.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

#define HTTP_MAX_AGE		"max-age=60"

static void	snap_cleanup(const void *, size_t, void *);
static void	reply_ref(struct http_rq *, int, const char *,
		    struct snapshot *, const char *, size_t);
static void	feed_headers(struct http_rq *, const char *, time_t);
static int	not_modified(struct evkeyvalq *, const char *, time_t);
static int	etag_list_match(const char *, const char *);
static int	qvalue(const char *, size_t);
static const char *ae_params(const char *, int *);
static int	accepts_gzip(struct evkeyvalq *);

/* Releases the snapshot reference a sent body was holding. */
static void
snap_cleanup(const void *data, size_t len, void *arg)
{
	snap_unref(arg);
}

/*
 * Sends len bytes of s (body, gzip body or dropped list) without copying
 * them: the reply holds its own snapshot reference until libevent is done
 * with the bytes.
 */
static void
reply_ref(struct http_rq *rq, int code, const char *ctype, struct snapshot *s,
    const char *data, size_t len)
{
	struct evbuffer	*ob = evhttp_request_get_output_buffer(rq->req);

	if (!rq->head && len > 0) {
		snap_ref(s);
		if (evbuffer_add_reference(ob, data, len, snap_cleanup,
		    s) == -1) {
			/* libevent calls no cleanup when adding failed. */
			snap_unref(s);
			evhttp_clear_headers(
			    evhttp_request_get_output_headers(rq->req));
			http_reply_error(rq, 500, "out of memory");
			return;
		}
	}
	http_send(rq, code, ctype, len);
}

/* Headers of a feed reply and of its 304. */
static void
feed_headers(struct http_rq *rq, const char *etag, time_t lm)
{
	struct evkeyvalq	*oh;
	struct http_worker	*w = rq->w;

	oh = evhttp_request_get_output_headers(rq->req);
	evhttp_add_header(oh, "ETag", etag);
	if (lm > 0) {
		/* Feeds change rarely: format each date once per thread. */
		if (w->lm != lm) {
			time_format_http(lm, w->lm_text, sizeof(w->lm_text));
			w->lm = lm;
		}
		evhttp_add_header(oh, "Last-Modified", w->lm_text);
	}
	evhttp_add_header(oh, "Cache-Control", HTTP_MAX_AGE);
	evhttp_add_header(oh, "Vary", "Accept-Encoding");
}

/* GET or HEAD /feeds/NAME: the body or its gzip form, or 304. */
void
http_serve_feed(struct http_rq *rq, struct site_feed *f)
{
	struct evkeyvalq	*ih = evhttp_request_get_input_headers(rq->req);
	struct snapshot		*s;
	char			 etag[SNAP_ETAG_MAX + 8];
	size_t			 n;
	int			 gz;

	atomic_fetch_add_explicit(&f->requests, 1, memory_order_relaxed);
	if ((s = site_feed_current(f)) == NULL) {
		http_reply_not_ready(rq);
		return;
	}
	n = strlen(s->etag);
	gz = s->gz != NULL && n >= 2 && n + 3 < sizeof(etag) &&
	    accepts_gzip(ih);
	if (gz) {
		/* "abc" becomes "abc-gz": same quotes, other representation. */
		memcpy(etag, s->etag, n - 1);
		memcpy(etag + n - 1, "-gz\"", 5);
	} else
		snprintf(etag, sizeof(etag), "%s", s->etag);
	feed_headers(rq, etag, s->last_modified);
	if (not_modified(ih, etag, s->last_modified)) {
		atomic_fetch_add_explicit(&f->not_modified, 1,
		    memory_order_relaxed);
		http_common_headers(rq);
		rq->code = 304;
		/* No body and no Content-Length: libevent adds none for 304. */
		evhttp_send_reply(rq->req, 304, NULL, NULL);
	} else if (gz) {
		evhttp_add_header(evhttp_request_get_output_headers(rq->req),
		    "Content-Encoding", "gzip");
		reply_ref(rq, 200, HTTP_CT_TEXT, s, s->gz, s->gzlen);
	} else
		reply_ref(rq, 200, HTTP_CT_TEXT, s, s->body, s->len);
	atomic_fetch_add_explicit(&f->bytes, rq->bytes, memory_order_relaxed);
	snap_unref(s);
}

/* GET or HEAD /feeds/NAME/dropped: "VALUE<TAB>REASON" lines. */
void
http_serve_dropped(struct http_rq *rq, struct site_feed *f)
{
	struct snapshot	*s;

	if ((s = site_feed_current(f)) == NULL) {
		http_reply_not_ready(rq);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(rq->req),
	    "Cache-Control", "no-cache");
	reply_ref(rq, 200, HTTP_CT_TEXT, s, s->dropped, s->dropped_len);
	snap_unref(s);
}

/*
 * RFC 9110 13.2.2: If-None-Match decides when present (every field line
 * of it counts); otherwise If-Modified-Since, when it is a valid date.
 */
static int
not_modified(struct evkeyvalq *ih, const char *etag, time_t lm)
{
	struct evkeyval	*kv;
	const char	*ims;
	time_t		 t;
	int		 seen = 0;

	TAILQ_FOREACH(kv, ih, next) {
		if (strcasecmp(kv->key, "If-None-Match") != 0)
			continue;
		seen = 1;
		if (etag_list_match(kv->value, etag))
			return (1);
	}
	if (seen)
		return (0);
	if ((ims = evhttp_find_header(ih, "If-Modified-Since")) == NULL ||
	    lm <= 0 || time_parse_http(ims, &t) == -1)
		return (0);
	return (lm <= t);
}

/*
 * Whether a list of entity tags matches etag by weak comparison: "*"
 * matches anything, W/ prefixes are ignored.  Malformed members are
 * skipped up to the next comma.
 */
static int
etag_list_match(const char *list, const char *etag)
{
	const char	*p = list, *q;
	size_t		 elen = strlen(etag);

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return (0);
		if (*p == '*')
			return (1);
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p == '"') {
			if ((q = strchr(p + 1, '"')) == NULL)
				return (0);
			if ((size_t)(q + 1 - p) == elen &&
			    memcmp(p, etag, elen) == 0)
				return (1);
			p = q + 1;
		}
		p += strcspn(p, ",");
	}
}

/*
 * Parses an RFC 9110 qvalue: 1 when above zero, 0 when zero, -1 when
 * malformed.
 */
static int
qvalue(const char *p, size_t len)
{
	size_t	i;
	int	nonzero = 0;

	if (len == 0 || (p[0] != '0' && p[0] != '1'))
		return (-1);
	if (len == 1)
		return (p[0] == '1');
	if (p[1] != '.' || len > 5)
		return (-1);
	for (i = 2; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || (p[0] == '1' && p[i] != '0'))
			return (-1);
		if (p[i] != '0')
			nonzero = 1;
	}
	return (p[0] == '1' || nonzero);
}

/* Reads the q parameter of one Accept-Encoding member; p at ";" or end. */
static const char *
ae_params(const char *p, int *q)
{
	size_t	len;

	*q = 1;
	for (;;) {
		p += strspn(p, " \t");
		if (*p != ';')
			return (p);
		p++;
		p += strspn(p, " \t");
		len = strcspn(p, " \t,;");
		if (len >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
			*q = qvalue(p + 2, len - 2);
		p += len;
	}
}

/*
 * Whether the client takes gzip: a "gzip" (or "x-gzip") member with a
 * non-zero q, or "*" with a non-zero q and no explicit gzip member.
 */
static int
accepts_gzip(struct evkeyvalq *ih)
{
	struct evkeyval	*kv;
	const char	*p, *tok;
	size_t		 len;
	int		 q, gzip = -1, star = -1;

	TAILQ_FOREACH(kv, ih, next) {
		if (strcasecmp(kv->key, "Accept-Encoding") != 0)
			continue;
		for (p = kv->value; *p != '\0';) {
			p += strspn(p, " \t,");
			tok = p;
			len = strcspn(p, " \t,;");
			p = ae_params(p + len, &q);
			p += strcspn(p, ",");
			if (len == 0 || q == -1)
				continue;
			if ((len == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
			    (len == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
				gzip = q;
			else if (len == 1 && *tok == '*')
				star = q;
		}
	}
	return (gzip == 1 || (gzip == -1 && star == 1));
}
