/*
 * http_route.c: the request callback of every serving thread.  Checks the
 * method, decodes and routes the path, counts the answer per feed and
 * code, and writes the access log line; the replies whose body is copied
 * (pages, errors) are made here too.
 */
#include <sys/types.h>

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http_int.h"
#include "log.h"
#include "site.h"
#include "util.h"

#define HTTP_PATH_MAX		1024

/* Status codes counted per feed; the last slot counts any other. */
const int http_codes[HTTP_NCODES] = {
	200, 304, 400, 401, 404, 405, 414, 500, 503, 0
};

static struct site *site_take(struct http *);
static const char *method_name(enum evhttp_cmd_type);
static size_t	code_index(int);
static void	log_prepare(struct http_rq *, char *, size_t, char *, size_t);
static void	route(struct http_rq *);
static void	route_feed(struct http_rq *, const char *);
static int	path_decode(const char *, char *, size_t);

/* Takes a reference to the site being served. */
static struct site *
site_take(struct http *h)
{
	struct site	*site;

	pthread_mutex_lock(&h->lock);
	site = site_ref(h->site);
	pthread_mutex_unlock(&h->lock);
	return (site);
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:		return ("GET");
	case EVHTTP_REQ_POST:		return ("POST");
	case EVHTTP_REQ_HEAD:		return ("HEAD");
	case EVHTTP_REQ_PUT:		return ("PUT");
	case EVHTTP_REQ_DELETE:		return ("DELETE");
	case EVHTTP_REQ_OPTIONS:	return ("OPTIONS");
	case EVHTTP_REQ_TRACE:		return ("TRACE");
	case EVHTTP_REQ_CONNECT:	return ("CONNECT");
	case EVHTTP_REQ_PATCH:		return ("PATCH");
	default:			return ("OTHER");
	}
}

static size_t
code_index(int code)
{
	size_t	i;

	for (i = 0; i < HTTP_NCODES - 1; i++)
		if (http_codes[i] == code)
			return (i);
	return (HTTP_NCODES - 1);
}

/*
 * The request callback: every request libevent parsed ends here, whatever
 * its method (all 16 method bits are allowed, so libevent never answers
 * 501 itself), and leaves with exactly one reply.
 */
void
http_on_request(struct evhttp_request *req, void *arg)
{
	struct http_server	*srv = arg;
	struct http_rq		 rq;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	char			 peer[64], uri[512], user[HTTP_USER_MAX * 4];

	memset(&rq, 0, sizeof(rq));
	rq.req = req;
	rq.w = srv->w;
	rq.h = srv->w->h;
	rq.head = m == EVHTTP_REQ_HEAD;
	/* Read from req now: it may be gone once the reply is queued. */
	if (rq.h->access_log)
		log_prepare(&rq, peer, sizeof(peer), uri, sizeof(uri));
	rq.site = site_take(rq.h);
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_reply_error(&rq, 405, "method not allowed");
	} else
		route(&rq);
	site_unref(rq.site);
	atomic_fetch_add_explicit(&rq.h->stats[rq.stat].codes[
	    code_index(rq.code)], 1, memory_order_relaxed);
	if (!rq.h->access_log)
		return;
	if (rq.user[0] != '\0')
		log_escape(user, sizeof(user), rq.user, strlen(rq.user));
	else
		strcpy(user, "-");
	log_info("http: %s %s %s %d %zu %s", peer, method_name(m), uri,
	    rq.code, rq.bytes, user);
}

/* Copies the peer address and the escaped URI for the access log. */
static void
log_prepare(struct http_rq *rq, char *peer, size_t peersz, char *uri,
    size_t urisz)
{
	struct evhttp_connection	*evcon;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;
	const char			*u;

	snprintf(peer, peersz, "-");
	if ((evcon = evhttp_request_get_connection(rq->req)) != NULL) {
		evhttp_connection_get_peer(evcon, &addr, &port);
		if (addr != NULL)
			snprintf(peer, peersz, "%s", addr);
	}
	if ((u = evhttp_request_get_uri(rq->req)) == NULL)
		u = "";
	log_escape(uri, urisz, u, strlen(u));
}

/* Dispatches on the decoded path. */
static void
route(struct http_rq *rq)
{
	const struct evhttp_uri	*u;
	const char		*raw = NULL;
	char			 path[HTTP_PATH_MAX];
	int			 r;

	if ((u = evhttp_request_get_evhttp_uri(rq->req)) != NULL)
		raw = evhttp_uri_get_path(u);
	if (raw == NULL) {
		http_reply_error(rq, 400, "bad request");
		return;
	}
	/* An absolute-form target may carry an empty path: that is "/". */
	if ((r = path_decode(*raw == '\0' ? "/" : raw, path,
	    sizeof(path))) != 0) {
		if (r == -2)
			http_reply_error(rq, 414, "path too long");
		else
			http_reply_error(rq, 400, "bad path");
		return;
	}
	if (strcmp(path, "/") == 0)
		http_page_index(rq);
	else if (strcmp(path, "/healthz") == 0)
		http_reply(rq, 200, HTTP_CT_TEXT, "ok\n", 3);
	else if (strcmp(path, "/readyz") == 0)
		http_page_readyz(rq);
	else if (strcmp(path, "/status") == 0)
		http_page_status(rq);
	else if (strcmp(path, "/metrics") == 0)
		http_page_metrics(rq);
	else if (strncmp(path, "/feeds/", 7) == 0)
		route_feed(rq, path + 7);
	else
		http_reply_error(rq, 404, "not found");
}

/* Routes "NAME" and "NAME/dropped" under /feeds/. */
static void
route_feed(struct http_rq *rq, const char *rest)
{
	struct site_feed	*f;
	char			 name[HTTP_PATH_MAX];
	const char		*slash;
	size_t			 len;

	slash = strchr(rest, '/');
	len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	memcpy(name, rest, len);
	name[len] = '\0';
	if (len == 0 || (f = site_feed_find(rq->site, name)) == NULL ||
	    (slash != NULL && strcmp(slash, "/dropped") != 0)) {
		http_reply_error(rq, 404, "not found");
		return;
	}
	rq->stat = http_stats_find(rq->h, name);
	if (!http_auth_check(rq, f))
		return;
	if (slash != NULL)
		http_serve_dropped(rq, f);
	else
		http_serve_feed(rq, f);
}

/*
 * Percent-decodes a request path into dst.  Returns 0; -1 when it is
 * malformed or odd: no leading "/", a bad escape, a control byte or NUL,
 * a backslash, a "." or ".." segment; -2 when it does not fit.
 */
static int
path_decode(const char *src, char *dst, size_t dstsz)
{
	size_t		 o = 0;
	unsigned char	 c;
	char		 hex[3] = { 0 };
	const char	*seg;

	if (*src != '/')
		return (-1);
	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c == '%') {
			/* The C locale's isxdigit(): 0-9, a-f and A-F. */
			if (!isxdigit((unsigned char)src[1]) ||
			    !isxdigit((unsigned char)src[2]))
				return (-1);
			memcpy(hex, src + 1, 2);
			c = (unsigned char)strtoul(hex, NULL, 16);
			src += 2;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return (-1);
		if (o + 1 >= dstsz)
			return (-2);
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	for (seg = dst; seg != NULL; seg = strchr(seg + 1, '/'))
		if (strncmp(seg, "/.", 2) == 0 && (seg[2] == '/' ||
		    seg[2] == '\0' || (seg[2] == '.' &&
		    (seg[3] == '/' || seg[3] == '\0'))))
			return (-1);
	return (0);
}

/* The stats slot of a feed name; 0 (requests outside /feeds) if none. */
size_t
http_stats_find(struct http *h, const char *name)
{
	size_t	i, n;

	/* Acquire: the names below n were written before n was stored. */
	n = atomic_load_explicit(&h->nstats, memory_order_acquire);
	for (i = 1; i < n; i++)
		if (strcmp(h->stats[i].name, name) == 0)
			return (i);
	return (0);
}

/* Headers every reply carries. */
void
http_common_headers(struct http_rq *rq)
{
	struct evkeyvalq	*oh;
	struct http_worker	*w = rq->w;
	time_t			 now = time(NULL);

	oh = evhttp_request_get_output_headers(rq->req);
	/* libevent would format a Date per reply; once a second is enough. */
	if (w->date != now) {
		time_format_http(now, w->date_text, sizeof(w->date_text));
		w->date = now;
	}
	evhttp_add_header(oh, "Date", w->date_text);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	/* While draining, every reply ends its connection. */
	if (rq->w->stopping)
		evhttp_add_header(oh, "Connection", "close");
}

/*
 * Sends a reply whose body, len bytes (none for HEAD), is already in the
 * output buffer.  Content-Length is always set here: libevent adds it
 * only for HTTP/1.1 or keep-alive, and never for HEAD.
 */
void
http_send(struct http_rq *rq, int code, const char *ctype, size_t len)
{
	struct evkeyvalq	*oh;
	char			 num[32];

	oh = evhttp_request_get_output_headers(rq->req);
	http_common_headers(rq);
	evhttp_add_header(oh, "Content-Type", ctype);
	snprintf(num, sizeof(num), "%zu", len);
	evhttp_add_header(oh, "Content-Length", num);
	rq->code = code;
	rq->bytes = rq->head ? 0 : len;
	evhttp_send_reply(rq->req, code, NULL, NULL);
}

/* Sends a body copied from data; HEAD gets the same headers, no body. */
void
http_reply(struct http_rq *rq, int code, const char *ctype, const char *data,
    size_t len)
{
	struct evkeyvalq	*oh;
	struct evbuffer		*ob = evhttp_request_get_output_buffer(rq->req);

	oh = evhttp_request_get_output_headers(rq->req);
	if (evhttp_find_header(oh, "Cache-Control") == NULL)
		evhttp_add_header(oh, "Cache-Control", "no-store");
	if (!rq->head && len > 0 && evbuffer_add(ob, data, len) == -1) {
		log_warnx("%s: out of memory", __func__);
		code = 500;
		len = 0;
	}
	http_send(rq, code, ctype, len);
}

/*
 * An error reply.  The body is one comment line, so nothing reading it
 * as a feed can take it for an entry; evhttp_send_error() is not used
 * because it drops the headers set before it (Allow, Retry-After, ...).
 */
void
http_reply_error(struct http_rq *rq, int code, const char *msg)
{
	char	body[256];
	int	n;

	n = snprintf(body, sizeof(body), "# %d %s\n", code, msg);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = snprintf(body, sizeof(body), "# %d\n", code);
	http_reply(rq, code, HTTP_CT_TEXT, body, (size_t)n);
}

/* 503 for a feed with nothing published yet: firewalls keep their copy. */
void
http_reply_not_ready(struct http_rq *rq)
{
	evhttp_add_header(evhttp_request_get_output_headers(rq->req),
	    "Retry-After", HTTP_RETRY_AFTER);
	http_reply_error(rq, 503, "feed not ready: no successful sync yet");
}
