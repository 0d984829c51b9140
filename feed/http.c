/*
 * http.c: the feed server.
 *
 * Threads.  With conf->threads >= 1 the server runs that many serving
 * threads, each with a private event_base (EVENT_BASE_FLAG_NOLOCK: no
 * other thread touches it), its own evhttp objects and, per listen, its
 * own listening socket (SO_REUSEPORT when there is more than one thread;
 * the kernel then spreads connections over the threads).
 * The base passed to http_new() is then not used for serving at all: the
 * caller's loop stays free for the fetcher.  With threads = 0 the server
 * runs inline on the caller's base (tests, fuzzing).  The owner thread
 * talks to serving threads only through a pipe per thread ('c': close the
 * listeners and drain, 'q': drain and leave the loop).
 *
 * Shared state.  The site, the htpasswd users and the TLS context are
 * swapped by the owner under h->lock; each request takes its own
 * references, so an old site lives on until its last request is done.
 * Snapshots go out with evbuffer_add_reference(), never copied; the
 * cleanup callback drops the reply's snapshot reference.
 *
 * Caching.  Feed replies carry "Cache-Control: max-age=60": firewalls
 * poll every few minutes and revalidate with If-None-Match, so a minute
 * of freshness for intermediaries costs nothing and spares repeated
 * transfers.  The gzip body is its own representation: its ETag is the
 * strong ETag with "-gz" inside the quotes (RFC 9110 8.8.3), and every
 * feed reply says "Vary: Accept-Encoding".
 *
 * Bounds.  30 s per read or write, 8 KiB of request headers, 4 KiB of
 * request body (other methods get 405; a bigger body gets 413 from
 * libevent), HTTP_MAX_CONNS connections split across the threads (a
 * thread at its share stops accepting until one closes), accept paused
 * for a second on EMFILE, ENFILE or any other non-transient error.
 *
 * libevent 2.1.12 offers no hook when a server connection starts, so the
 * connection count works like this: the bufferevent callback (called
 * for every accepted socket) counts the connection, takes a reference on
 * the bufferevent and schedules conn_pending(), which finds the
 * evhttp_connection through the bufferevent's callback argument and sets
 * a close callback that uncounts it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cJSON.h>

#include "conf.h"
#include "http.h"
#include "ioc.h"
#include "log.h"
#include "lumu.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

#define HTTP_TIMEOUT_S		30
#define HTTP_MAX_HEADERS	8192
#define HTTP_MAX_BODY		4096
#define HTTP_MAX_CONNS		4096	/* all threads together */
#define HTTP_MIN_CONNS		64	/* per thread, whatever the split */
#define HTTP_BACKLOG		1024
#define HTTP_MAX_WRITE		(256 * 1024)
#define HTTP_THREADS_MAX	64
#define HTTP_DRAIN_S		5	/* grace for replies at stop */
#define HTTP_DRAIN_TICK_MS	100
#define HTTP_PATH_MAX		1024
#define HTTP_USER_MAX		256
#define HTTP_PASS_MAX		1024
#define HTTP_AUTH_MAX		2048	/* base64 credentials */
#define HTTP_RETRY_AFTER	"30"
#define HTTP_MAX_AGE		"max-age=60"
#define HTTP_CT_TEXT		"text/plain; charset=utf-8"
#define HTTP_CT_HTML		"text/html; charset=utf-8"
#define HTTP_CT_JSON		"application/json"
#define HTTP_CT_PROM		"text/plain; version=0.0.4; charset=utf-8"
#define HTTP_REALM		"Basic realm=\"lumu-edl\", charset=\"UTF-8\""

#define PW_MAX_BYTES		(1024 * 1024)
#define PW_MAX_USERS		10000
#define AUTH_CACHE_N		64
#define AUTH_CACHE_TTL		300	/* seconds a verdict is reused */

#define HTTP_MAX_STATS		256	/* feed names counted, ever */
#define HTTP_NCODES		10

_Static_assert(LUMU_NEVENTS <= sizeof(((struct site_sync *)0)->events) /
    sizeof(uint64_t), "site_sync.events holds every Lumu event type");

/* Status codes counted per feed; the last slot counts any other. */
static const int http_codes[HTTP_NCODES] = {
	200, 304, 400, 401, 404, 405, 414, 500, 503, 0
};

struct http;
struct http_worker;

/* The users of the auth file, shared by reference between requests. */
struct htpasswd {
	atomic_int	 refs;
	size_t		 n;
	char		**user;
	char		**hash;
};

/* One verdict of a password check, keyed by a digest of its inputs. */
struct auth_verdict {
	unsigned char	 key[32];
	time_t		 expires;
	int		 ok;
};

/* One evhttp of a worker: plain or TLS (the bufferevent differs). */
struct http_server {
	struct http_worker	*w;
	struct evhttp		*evh;
	int			 tls;
};

struct http_listener {
	LIST_ENTRY(http_listener) reg;
	struct http_worker	*w;
	struct evconnlistener	*lev;
	struct evhttp_bound_socket *bound;
	int			 tls;
};

/* A counted connection, known once conn_pending() has seen it. */
struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_worker	*w;
	struct evhttp_connection *evcon;
};

/* An accepted socket's bufferevent, waiting for conn_pending(). */
struct http_pending {
	struct bufferevent	*bev;
	int			 kill;	/* TLS setup failed: drop it */
};

struct http_worker {
	struct http		*h;
	size_t			 idx;
	struct event_base	*base;
	int			 own_base;
	pthread_t		 thread;
	int			 started;
	struct http_server	 srv[2];	/* [0] plain, [1] TLS */
	struct http_listener	**ls;
	size_t			 nls;
	int			 ctl[2];	/* owner -> thread commands */
	struct event		*ctl_ev;
	struct event		*pending_ev;
	struct event		*resume_ev;
	struct event		*drain_ev;
	struct http_pending	*pending;
	size_t			 npending;
	TAILQ_HEAD(, http_conn)	 conns;
	atomic_size_t		 nconns;
	size_t			 maxconns;
	int			 pause_cap;	/* at the connection cap */
	int			 pause_err;	/* accept failed; timer runs */
	int			 closed;	/* listeners gone */
	int			 stopping;	/* draining */
	int			 quitting;	/* leave the loop, drained */
	time_t			 deadline;
	struct crypt_data	*cd;
	struct auth_verdict	 verdicts[AUTH_CACHE_N];
};

struct http_stat {
	char		*name;		/* NULL: requests outside /feeds */
	atomic_ullong	 codes[HTTP_NCODES];
};

struct http {
	struct event_base	*base;
	pthread_mutex_t		 lock;		/* site, pw and tls */
	struct site		*site;
	struct htpasswd		*pw;
	SSL_CTX			*tls;
	char			*auth_file;
	char			*tls_cert;
	char			*tls_key;
	int			 access_log;
	int			 inline_mode;
	int			 port;
	struct conf_listen	*listens;	/* hosts copied */
	size_t			 nlistens;
	struct http_worker	*workers;
	size_t			 nworkers;
	int64_t			 started_ms;
	pthread_mutex_t		 ack_lock;
	pthread_cond_t		 ack_cond;
	size_t			 acks;
	struct http_stat	 stats[HTTP_MAX_STATS];
	atomic_size_t		 nstats;
};

/* One request, from the callback to the access log line. */
struct rq {
	struct evhttp_request	*req;
	struct http_worker	*w;
	struct http		*h;
	struct site		*site;
	int			 head;
	size_t			 stat;
	int			 code;
	size_t			 bytes;
	char			 user[HTTP_USER_MAX];
};

/* Listeners by evconnlistener, for the accept error callback. */
static LIST_HEAD(, http_listener) http_registry =
    LIST_HEAD_INITIALIZER(http_registry);
static pthread_mutex_t http_registry_lock = PTHREAD_MUTEX_INITIALIZER;

static void	on_request(struct evhttp_request *, void *);
static void	route(struct rq *);
static void	route_feed(struct rq *, const char *);
static int	path_decode(const char *, char *, size_t);
static void	serve_feed(struct rq *, struct site_feed *);
static void	serve_dropped(struct rq *, struct site_feed *);
static int	not_modified(struct evkeyvalq *, const char *, time_t);
static int	etag_list_match(const char *, const char *);
static int	accepts_gzip(struct evkeyvalq *);
static int	qvalue(const char *, size_t);
static void	reply(struct rq *, int, const char *, const char *, size_t);
static void	reply_ref(struct rq *, int, const char *,
		    struct snapshot *, const char *, size_t);
static void	reply_error(struct rq *, int, const char *);
static void	reply_not_ready(struct rq *);
static void	common_headers(struct rq *);
static void	log_prepare(struct rq *, char *, size_t, char *, size_t);
static size_t	code_index(int);
static void	snap_cleanup(const void *, size_t, void *);
static int	auth_check(struct rq *, struct site_feed *);
static int	auth_verify(struct http_worker *, const char *,
		    const char *, const char *);
static int	basic_parse(const char *, char *, size_t, char *, size_t);
static int	b64_decode(const char *, size_t, unsigned char *, size_t,
		    size_t *);
static struct htpasswd *pw_load(const char *);
static void	pw_unref(struct htpasswd *);
static const char *pw_find(const struct htpasswd *, const char *);
static void	page_readyz(struct rq *);
static int	site_unready(struct site *, char *, size_t);
static void	page_status(struct rq *);
static cJSON	*status_lumu(const struct site_sync *);
static cJSON	*status_feed(struct site_feed *);
static void	page_metrics(struct rq *);
static int	metrics_feeds(struct buf *, struct site *);
static int	metrics_http(struct buf *, struct http *);
static int	metrics_sync(struct buf *, struct site *);
static void	page_index(struct rq *);
static int	index_feeds(struct buf *, struct site *);
static int	index_sync(struct buf *, struct site *);
static int	html_escape(struct buf *, const char *);
static int	prom_label(struct buf *, const char *);
static size_t	stats_find(struct http *, const char *);
static void	stats_register(struct http *, struct site *);
static struct bufferevent *conn_bev(struct event_base *, void *);
static void	conn_pending(evutil_socket_t, short, void *);
static void	conn_closed(struct evhttp_connection *, void *);
static void	conn_gone(struct http_worker *);
static void	listeners_update(struct http_worker *);
static void	listeners_close(struct http_worker *);
static int	listener_bind(struct http_worker *, size_t);
static void	accept_error(struct evconnlistener *, void *);
static void	accept_resume(evutil_socket_t, short, void *);
static void	worker_drain(struct http_worker *);
static void	drain_tick(evutil_socket_t, short, void *);
static void	worker_ctl(evutil_socket_t, short, void *);
static int	worker_init(struct http *, struct http_worker *, size_t);
static int	worker_server(struct http_worker *, int);
static void	*worker_main(void *);
static void	worker_free(struct http_worker *);
static int	workers_start(struct http *);
static void	workers_send(struct http *, char);
static SSL_CTX	*tls_ctx_new(const char *, const char *);
static SSL	*tls_ssl_new(struct http *);
static void	tls_log_errors(const char *);
static void	check_users(struct http *, struct site *);

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
static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http_server	*srv = arg;
	struct rq		 rq;
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
		reply_error(&rq, 405, "method not allowed");
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
log_prepare(struct rq *rq, char *peer, size_t peersz, char *uri,
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
route(struct rq *rq)
{
	const struct evhttp_uri	*u;
	const char		*raw = NULL;
	char			 path[HTTP_PATH_MAX];
	int			 r;

	if ((u = evhttp_request_get_evhttp_uri(rq->req)) != NULL)
		raw = evhttp_uri_get_path(u);
	if (raw == NULL) {
		reply_error(rq, 400, "bad request");
		return;
	}
	/* An absolute-form target may carry an empty path: that is "/". */
	if ((r = path_decode(*raw == '\0' ? "/" : raw, path,
	    sizeof(path))) != 0) {
		if (r == -2)
			reply_error(rq, 414, "path too long");
		else
			reply_error(rq, 400, "bad path");
		return;
	}
	if (strcmp(path, "/") == 0)
		page_index(rq);
	else if (strcmp(path, "/healthz") == 0)
		reply(rq, 200, HTTP_CT_TEXT, "ok\n", 3);
	else if (strcmp(path, "/readyz") == 0)
		page_readyz(rq);
	else if (strcmp(path, "/status") == 0)
		page_status(rq);
	else if (strcmp(path, "/metrics") == 0)
		page_metrics(rq);
	else if (strncmp(path, "/feeds/", 7) == 0)
		route_feed(rq, path + 7);
	else
		reply_error(rq, 404, "not found");
}

/* Routes "NAME" and "NAME/dropped" under /feeds/. */
static void
route_feed(struct rq *rq, const char *rest)
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
		reply_error(rq, 404, "not found");
		return;
	}
	rq->stat = stats_find(rq->h, name);
	if (!auth_check(rq, f))
		return;
	if (slash != NULL)
		serve_dropped(rq, f);
	else
		serve_feed(rq, f);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
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
	int		 hi, lo;
	unsigned char	 c;
	const char	*seg;

	if (*src != '/')
		return (-1);
	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c == '%') {
			if ((hi = hexval(src[1])) == -1 ||
			    (lo = hexval(src[2])) == -1)
				return (-1);
			c = (unsigned char)(hi << 4 | lo);
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

/* Headers every reply carries. */
static void
common_headers(struct rq *rq)
{
	struct evkeyvalq	*oh;

	oh = evhttp_request_get_output_headers(rq->req);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	/* While draining, every reply ends its connection. */
	if (rq->w->stopping)
		evhttp_add_header(oh, "Connection", "close");
}

/*
 * Sends a reply with a body copied from data, or, for HEAD, the same
 * headers and no body.  Content-Length is always set here: libevent adds
 * it only for HTTP/1.1 or keep-alive, and never for HEAD.
 */
static void
reply(struct rq *rq, int code, const char *ctype, const char *data,
    size_t len)
{
	struct evkeyvalq	*oh;
	struct evbuffer		*ob = evhttp_request_get_output_buffer(rq->req);
	char			 num[32];

	oh = evhttp_request_get_output_headers(rq->req);
	common_headers(rq);
	if (evhttp_find_header(oh, "Cache-Control") == NULL)
		evhttp_add_header(oh, "Cache-Control", "no-store");
	if (!rq->head && len > 0 && evbuffer_add(ob, data, len) == -1) {
		log_warnx("%s: out of memory", __func__);
		code = 500;
		len = 0;
	}
	evhttp_add_header(oh, "Content-Type", ctype);
	snprintf(num, sizeof(num), "%zu", len);
	evhttp_add_header(oh, "Content-Length", num);
	rq->code = code;
	rq->bytes = rq->head ? 0 : len;
	evhttp_send_reply(rq->req, code, NULL, NULL);
}

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
reply_ref(struct rq *rq, int code, const char *ctype, struct snapshot *s,
    const char *data, size_t len)
{
	struct evkeyvalq	*oh;
	struct evbuffer		*ob = evhttp_request_get_output_buffer(rq->req);
	char			 num[32];

	oh = evhttp_request_get_output_headers(rq->req);
	if (!rq->head && len > 0) {
		snap_ref(s);
		if (evbuffer_add_reference(ob, data, len, snap_cleanup,
		    s) == -1) {
			/* libevent calls no cleanup when adding failed. */
			snap_unref(s);
			evhttp_clear_headers(oh);
			reply_error(rq, 500, "out of memory");
			return;
		}
	}
	common_headers(rq);
	evhttp_add_header(oh, "Content-Type", ctype);
	snprintf(num, sizeof(num), "%zu", len);
	evhttp_add_header(oh, "Content-Length", num);
	rq->code = code;
	rq->bytes = rq->head ? 0 : len;
	evhttp_send_reply(rq->req, code, NULL, NULL);
}

/*
 * An error reply.  The body is one comment line, so nothing reading it
 * as a feed can take it for an entry; evhttp_send_error() is not used
 * because it drops the headers set before it (Allow, Retry-After, ...).
 */
static void
reply_error(struct rq *rq, int code, const char *msg)
{
	char	body[256];
	int	n;

	n = snprintf(body, sizeof(body), "# %d %s\n", code, msg);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = snprintf(body, sizeof(body), "# %d\n", code);
	reply(rq, code, HTTP_CT_TEXT, body, (size_t)n);
}

/* 503 for a feed with nothing published yet: firewalls keep their copy. */
static void
reply_not_ready(struct rq *rq)
{
	evhttp_add_header(evhttp_request_get_output_headers(rq->req),
	    "Retry-After", HTTP_RETRY_AFTER);
	reply_error(rq, 503, "feed not ready: no successful sync yet");
}

/* Headers of a feed reply and of its 304. */
static void
feed_headers(struct rq *rq, const char *etag, time_t lm)
{
	struct evkeyvalq	*oh;
	char			 date[64];

	oh = evhttp_request_get_output_headers(rq->req);
	evhttp_add_header(oh, "ETag", etag);
	if (lm > 0) {
		time_format_http(lm, date, sizeof(date));
		evhttp_add_header(oh, "Last-Modified", date);
	}
	evhttp_add_header(oh, "Cache-Control", HTTP_MAX_AGE);
	evhttp_add_header(oh, "Vary", "Accept-Encoding");
}

/* GET or HEAD /feeds/NAME: the body or its gzip form, or 304. */
static void
serve_feed(struct rq *rq, struct site_feed *f)
{
	struct evkeyvalq	*ih = evhttp_request_get_input_headers(rq->req);
	struct snapshot		*s;
	char			 etag[SNAP_ETAG_MAX + 8];
	size_t			 n;
	int			 gz;

	atomic_fetch_add_explicit(&f->requests, 1, memory_order_relaxed);
	if ((s = site_feed_current(f)) == NULL) {
		reply_not_ready(rq);
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
		common_headers(rq);
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
static void
serve_dropped(struct rq *rq, struct site_feed *f)
{
	struct snapshot	*s;

	if ((s = site_feed_current(f)) == NULL) {
		reply_not_ready(rq);
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

/*
 * HTTP Basic for feeds with users.  Returns 1 when the request may go
 * on; otherwise the reply is sent: 401 for missing or wrong credentials,
 * 503 when the users cannot be read now, 500 for a stored hash that
 * crypt(3) cannot check.  Nothing transient ever answers 401.
 */
static int
auth_check(struct rq *rq, struct site_feed *f)
{
	struct evkeyvalq	*oh;
	struct htpasswd		*pw;
	const char		*hdr, *hash;
	char			 pass[HTTP_PASS_MAX];
	size_t			 i;
	int			 r = 0;

	oh = evhttp_request_get_output_headers(rq->req);
	if (f->nusers == 0)
		return (1);
	pass[0] = '\0';
	hdr = evhttp_find_header(evhttp_request_get_input_headers(rq->req),
	    "Authorization");
	if (hdr == NULL || basic_parse(hdr, rq->user, sizeof(rq->user), pass,
	    sizeof(pass)) == -1)
		goto deny;
	for (i = 0; i < f->nusers; i++)
		if (strcmp(f->users[i], rq->user) == 0)
			break;
	if (i == f->nusers)
		goto deny;
	pthread_mutex_lock(&rq->h->lock);
	if ((pw = rq->h->pw) != NULL)
		atomic_fetch_add_explicit(&pw->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&rq->h->lock);
	if (pw == NULL) {
		explicit_bzero(pass, sizeof(pass));
		evhttp_add_header(oh, "Retry-After", HTTP_RETRY_AFTER);
		reply_error(rq, 503, "authentication is not available");
		return (0);
	}
	if ((hash = pw_find(pw, rq->user)) != NULL)
		r = auth_verify(rq->w, rq->user, pass, hash);
	pw_unref(pw);
	explicit_bzero(pass, sizeof(pass));
	if (r == 1)
		return (1);
	if (r == -1) {
		reply_error(rq, 500, "cannot check the password");
		return (0);
	}
 deny:
	explicit_bzero(pass, sizeof(pass));
	evhttp_add_header(oh, "WWW-Authenticate", HTTP_REALM);
	reply_error(rq, 401, "authentication required");
	return (0);
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/* Decodes base64 (padding optional); -1 when malformed or too long. */
static int
b64_decode(const char *src, size_t len, unsigned char *dst, size_t dstsz,
    size_t *outlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0, pad = 0;
	int		v, bits = 0;

	for (i = 0; i < len; i++) {
		if (src[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value((unsigned char)src[i])) == -1)
			return (-1);
		acc = ((acc << 6) | (uint32_t)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o >= dstsz)
				return (-1);
			dst[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* One character alone in the last group carries no whole byte. */
	if (pad > 2 || bits >= 6 || (pad > 0 && len % 4 != 0))
		return (-1);
	*outlen = o;
	return (0);
}

/*
 * Parses "Basic <base64>" into user and password, split at the first
 * colon (RFC 7617: the user-id cannot hold one, the password can).
 * Returns -1 when malformed, too long, or holding a NUL.
 */
static int
basic_parse(const char *hdr, char *user, size_t usersz, char *pass,
    size_t passsz)
{
	unsigned char	 dec[HTTP_AUTH_MAX];
	const char	*p = hdr;
	unsigned char	*colon;
	size_t		 toklen, n = 0, ulen, plen;
	int		 rv = -1;

	p += strspn(p, " \t");
	if (strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
		return (-1);
	p += 5 + strspn(p + 5, " \t");
	toklen = strcspn(p, " \t");
	if (toklen == 0 || toklen > HTTP_AUTH_MAX ||
	    p[toklen + strspn(p + toklen, " \t")] != '\0' ||
	    b64_decode(p, toklen, dec, sizeof(dec), &n) == -1)
		goto out;
	if (memchr(dec, '\0', n) != NULL ||
	    (colon = memchr(dec, ':', n)) == NULL)
		goto out;
	ulen = (size_t)(colon - dec);
	plen = n - ulen - 1;
	if (ulen == 0 || ulen >= usersz || plen >= passsz)
		goto out;
	memcpy(user, dec, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	rv = 0;
 out:
	explicit_bzero(dec, sizeof(dec));
	return (rv);
}

/* The cache key of a verdict: SHA-256 over user, password and hash. */
static int
auth_key(const char *user, const char *pass, const char *hash,
    unsigned char key[32])
{
	EVP_MD_CTX	*ctx;
	unsigned int	 len = 0;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	/* Each part with its NUL, so no two splits digest alike. */
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, user, strlen(user) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, pass, strlen(pass) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, hash, strlen(hash) + 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &len) == 1 && len == 32;
	EVP_MD_CTX_free(ctx);
	return (ok ? 0 : -1);
}

static time_t
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

/*
 * Checks pass against a crypt(3) hash (bcrypt, sha-crypt).  A verdict is
 * reused for AUTH_CACHE_TTL seconds, so a slow hash costs once per
 * client and thread rather than once per request.  The key covers the
 * stored hash too: a changed auth file invalidates it.  Returns 1, 0, or
 * -1 when the hash cannot be checked.
 */
static int
auth_verify(struct http_worker *w, const char *user, const char *pass,
    const char *hash)
{
	struct auth_verdict	*v, *slot = &w->verdicts[0];
	unsigned char		 key[32];
	const char		*out;
	char			 esc[HTTP_USER_MAX * 4];
	time_t			 now = mono_now();
	size_t			 i, hlen = strlen(hash);
	int			 ok;

	if (auth_key(user, pass, hash, key) == -1)
		return (-1);
	for (i = 0; i < AUTH_CACHE_N; i++) {
		v = &w->verdicts[i];
		if (v->expires > now && memcmp(v->key, key, sizeof(key)) == 0)
			return (v->ok);
		if (v->expires < slot->expires)
			slot = v;
	}
	/* crypt_r marks failure with NULL or a string starting with '*'. */
	if ((out = crypt_r(pass, hash, w->cd)) == NULL || out[0] == '*') {
		log_escape(esc, sizeof(esc), user, strlen(user));
		log_warnx("auth: cannot check the password hash of user %s",
		    esc);
		explicit_bzero(w->cd, sizeof(*w->cd));
		return (-1);
	}
	ok = strlen(out) == hlen && CRYPTO_memcmp(out, hash, hlen) == 0;
	explicit_bzero(w->cd, sizeof(*w->cd));
	memcpy(slot->key, key, sizeof(key));
	slot->expires = now + AUTH_CACHE_TTL;
	slot->ok = ok;
	return (ok);
}

/* Adds one user:hash line to pw (startup and reload: dies on ENOMEM). */
static void
pw_add(struct htpasswd *pw, size_t *cap, const char *user, const char *hash)
{
	if (pw->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		pw->user = xreallocarray(pw->user, *cap, sizeof(*pw->user));
		pw->hash = xreallocarray(pw->hash, *cap, sizeof(*pw->hash));
	}
	pw->user[pw->n] = xstrdup(user);
	pw->hash[pw->n] = xstrdup(hash);
	pw->n++;
}

/*
 * Reads an htpasswd file: "user:hash" lines; blank lines and lines
 * starting with "#" are skipped, malformed ones logged and skipped.
 * Returns NULL (logged) when the file cannot be read.
 */
static struct htpasswd *
pw_load(const char *path)
{
	struct htpasswd	*pw;
	char		*data, *line, *end, *nl, *colon;
	size_t		 len, cap = 0;
	int		 lineno = 0;

	if (file_read_all(path, PW_MAX_BYTES, &data, &len) == -1) {
		log_warn("auth-file %s", path);
		return (NULL);
	}
	pw = xcalloc(1, sizeof(*pw));
	atomic_init(&pw->refs, 1);
	for (line = data, end = data + len; line < end; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL || colon == line ||
		    colon[1] == '\0') {
			log_warnx("%s:%d: not a user:hash line", path, lineno);
			continue;
		}
		if (pw->n == PW_MAX_USERS) {
			log_warnx("%s: only the first %d users are read", path,
			    PW_MAX_USERS);
			break;
		}
		*colon = '\0';
		colon[1 + strcspn(colon + 1, " \t")] = '\0';
		pw_add(pw, &cap, line, colon + 1);
	}
	explicit_bzero(data, len);
	free(data);
	return (pw);
}

static void
pw_unref(struct htpasswd *pw)
{
	size_t	i;

	if (pw == NULL || atomic_fetch_sub_explicit(&pw->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < pw->n; i++) {
		free(pw->user[i]);
		free(pw->hash[i]);
	}
	free(pw->user);
	free(pw->hash);
	free(pw);
}

static const char *
pw_find(const struct htpasswd *pw, const char *user)
{
	size_t	i;

	for (i = 0; i < pw->n; i++)
		if (strcmp(pw->user[i], user) == 0)
			return (pw->hash[i]);
	return (NULL);
}

/* Warns about feeds that want users when there is no auth file. */
static void
check_users(struct http *h, struct site *site)
{
	size_t	i;

	if (h->auth_file != NULL)
		return;
	for (i = 0; i < site->nfeeds; i++)
		if (site->feeds[i].nusers > 0)
			log_warnx("feed %s has users but there is no "
			    "auth-file: it answers 503", site->feeds[i].name);
}

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

static void
page_readyz(struct rq *rq)
{
	char	why[384], msg[400];

	if (!site_unready(rq->site, why, sizeof(why))) {
		reply(rq, 200, HTTP_CT_TEXT, "ok\n", 3);
		return;
	}
	snprintf(msg, sizeof(msg), "not ready: %s", why);
	reply_error(rq, 503, msg);
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

/* Open connections over every serving thread. */
static size_t
http_connections(struct http *h)
{
	size_t	i, n = 0;

	for (i = 0; i < h->nworkers; i++)
		n += atomic_load_explicit(&h->workers[i].nconns,
		    memory_order_relaxed);
	return (n);
}

/*
 * GET /status: the sync state and every feed as JSON.  Built per request
 * (it is small and rarely asked for); cJSON only allocates and prints
 * here, which is safe from several threads.
 */
static void
page_status(struct rq *rq)
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
	reply(rq, 200, HTTP_CT_JSON, out, strlen(out));
	cJSON_free(out);
	return;
 fail:
	reply_error(rq, 500, "out of memory");
}

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

enum feed_gauge {
	FG_READY, FG_ENTRIES, FG_LINES, FG_BYTES, FG_GZBYTES, FG_MODIFIED
};

static const struct {
	const char	*name;
	enum feed_gauge	 what;
	const char	*help;
} feed_gauges[] = {
	{ "lumu_edl_feed_ready", FG_READY,
	    "1 when the feed has a published body." },
	{ "lumu_edl_feed_entries", FG_ENTRIES, "Indicators published." },
	{ "lumu_edl_feed_lines", FG_LINES,
	    "Lines of the feed body, wildcard expansions included." },
	{ "lumu_edl_feed_bytes", FG_BYTES, "Size of the feed body." },
	{ "lumu_edl_feed_gzip_bytes", FG_GZBYTES,
	    "Size of the gzip body (0: served uncompressed)." },
	{ "lumu_edl_feed_last_modified_timestamp_seconds", FG_MODIFIED,
	    "When the feed content last changed." },
};

static unsigned long long
feed_gauge(const struct snapshot *s, enum feed_gauge what)
{
	if (s == NULL)
		return (0);
	switch (what) {
	case FG_READY:		return (1);
	case FG_ENTRIES:	return (s->entries);
	case FG_LINES:		return (s->lines);
	case FG_BYTES:		return (s->len);
	case FG_GZBYTES:	return (s->gzlen);
	case FG_MODIFIED:
		return (s->last_modified > 0 ?
		    (unsigned long long)s->last_modified : 0);
	}
	return (0);
}

/* The per-feed counters kept in the site. */
static int
metrics_feed_counters(struct buf *b, struct site *site)
{
	struct site_feed	*f;
	size_t			 i;
	int			 rv;

	rv = prom_head(b, "lumu_edl_feed_requests_total", "counter",
	    "Authorized requests for the feed.");
	for (i = 0; i < site->nfeeds; i++) {
		f = &site->feeds[i];
		rv |= prom_feed(b, "lumu_edl_feed_requests_total", f->name,
		    NULL, atomic_load(&f->requests));
	}
	rv |= prom_head(b, "lumu_edl_feed_not_modified_total", "counter",
	    "Requests for the feed answered 304 Not Modified.");
	for (i = 0; i < site->nfeeds; i++) {
		f = &site->feeds[i];
		rv |= prom_feed(b, "lumu_edl_feed_not_modified_total",
		    f->name, NULL, atomic_load(&f->not_modified));
	}
	rv |= prom_head(b, "lumu_edl_feed_sent_bytes_total", "counter",
	    "Body bytes sent for the feed.");
	for (i = 0; i < site->nfeeds; i++) {
		f = &site->feeds[i];
		rv |= prom_feed(b, "lumu_edl_feed_sent_bytes_total", f->name,
		    NULL, atomic_load(&f->bytes));
	}
	return (rv);
}

/* The gauges of every feed's current snapshot, dropped by reason. */
static int
metrics_feeds(struct buf *b, struct site *site)
{
	struct snapshot	**snaps;
	char		  extra[64];
	size_t		  i, g;
	int		  r, rv = 0;

	if (site->nfeeds == 0)
		return (metrics_feed_counters(b, site));
	if ((snaps = calloc(site->nfeeds, sizeof(*snaps))) == NULL)
		return (-1);
	for (i = 0; i < site->nfeeds; i++)
		snaps[i] = site_feed_current(&site->feeds[i]);
	for (g = 0; g < sizeof(feed_gauges) / sizeof(feed_gauges[0]); g++) {
		rv |= prom_head(b, feed_gauges[g].name, "gauge",
		    feed_gauges[g].help);
		for (i = 0; i < site->nfeeds; i++)
			rv |= prom_feed(b, feed_gauges[g].name,
			    site->feeds[i].name, NULL,
			    feed_gauge(snaps[i], feed_gauges[g].what));
	}
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
		snap_unref(snaps[i]);
	}
	free(snaps);
	return (rv | metrics_feed_counters(b, site));
}

/* Requests by feed and status code, and the open connections. */
static int
metrics_http(struct buf *b, struct http *h)
{
	size_t			 i, c, n = atomic_load(&h->nstats);
	unsigned long long	 v;
	char			 extra[32];
	int			 rv;

	rv = prom_head(b, "lumu_edl_http_requests_total", "counter",
	    "Requests for /feeds/NAME and /feeds/NAME/dropped by code.");
	for (i = 1; i < n; i++)
		for (c = 0; c < HTTP_NCODES; c++) {
			if ((v = atomic_load(&h->stats[i].codes[c])) == 0)
				continue;
			if (http_codes[c] != 0)
				snprintf(extra, sizeof(extra), ",code=\"%d\"",
				    http_codes[c]);
			else
				snprintf(extra, sizeof(extra),
				    ",code=\"other\"");
			rv |= prom_feed(b, "lumu_edl_http_requests_total",
			    h->stats[i].name, extra, v);
		}
	rv |= prom_head(b, "lumu_edl_http_other_requests_total", "counter",
	    "Requests outside /feeds (and for unknown feeds) by code.");
	for (c = 0; c < HTTP_NCODES; c++) {
		if ((v = atomic_load(&h->stats[0].codes[c])) == 0)
			continue;
		if (http_codes[c] != 0)
			rv |= buf_printf(b, "lumu_edl_http_other_requests_total"
			    "{code=\"%d\"} %llu\n", http_codes[c], v);
		else
			rv |= buf_printf(b, "lumu_edl_http_other_requests_total"
			    "{code=\"other\"} %llu\n", v);
	}
	rv |= prom_head(b, "lumu_edl_http_connections", "gauge",
	    "Open client connections.");
	rv |= buf_printf(b, "lumu_edl_http_connections %zu\n",
	    http_connections(h));
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
static void
page_metrics(struct rq *rq)
{
	struct buf	b = { 0 };
	int		rv;

	rv = metrics_feeds(&b, rq->site);
	rv |= metrics_http(&b, rq->h);
	rv |= metrics_sync(&b, rq->site);
	if (rv != 0 || b.data == NULL)
		reply_error(rq, 500, "out of memory");
	else
		reply(rq, 200, HTTP_CT_PROM, b.data, b.len);
	buf_free(&b);
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
static void
page_index(struct rq *rq)
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
		reply_error(rq, 500, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(rq->req),
	    "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'");
	reply(rq, 200, HTTP_CT_HTML, b.data, b.len);
	buf_free(&b);
}

/* The stats slot of a feed name; 0 (requests outside /feeds) if none. */
static size_t
stats_find(struct http *h, const char *name)
{
	size_t	i, n;

	/* Acquire: the names below n were written before n was stored. */
	n = atomic_load_explicit(&h->nstats, memory_order_acquire);
	for (i = 1; i < n; i++)
		if (strcmp(h->stats[i].name, name) == 0)
			return (i);
	return (0);
}

/* Adds a stats slot for each new feed name (owner thread only). */
static void
stats_register(struct http *h, struct site *site)
{
	size_t	i, n;

	for (i = 0; i < site->nfeeds; i++) {
		n = atomic_load_explicit(&h->nstats, memory_order_relaxed);
		if (stats_find(h, site->feeds[i].name) != 0)
			continue;
		if (n == HTTP_MAX_STATS) {
			log_warnx("http: too many feed names to count; "
			    "feed %s is counted with the rest",
			    site->feeds[i].name);
			continue;
		}
		h->stats[n].name = xstrdup(site->feeds[i].name);
		atomic_store_explicit(&h->nstats, n + 1, memory_order_release);
	}
}

/*
 * evhttp's bufferevent callback, run once per accepted socket: makes a
 * plain or TLS bufferevent and counts the connection.  The bufferevent
 * keeps an extra reference until conn_pending() has run, so that it can
 * still be looked at if evhttp freed it meanwhile.
 */
static struct bufferevent *
conn_bev(struct event_base *base, void *arg)
{
	struct http_server	*srv = arg;
	struct http_worker	*w = srv->w;
	struct bufferevent	*bev = NULL;
	SSL			*ssl;
	int			 kill = 0;

	/* Cannot happen: listeners pause at the cap, and npending <= it. */
	if (w->npending >= w->maxconns)
		return (NULL);
	if (srv->tls && (ssl = tls_ssl_new(w->h)) != NULL) {
		/* BEV_OPT_CLOSE_ON_FREE: the bufferevent frees ssl too. */
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			SSL_free(ssl);
	}
	if (bev == NULL) {
		/* A TLS socket without TLS is dropped in conn_pending(). */
		kill = srv->tls;
		if ((bev = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL)
			return (NULL);
	}
	bufferevent_set_max_single_write(bev, HTTP_MAX_WRITE);
	bufferevent_incref(bev);
	w->pending[w->npending].bev = bev;
	w->pending[w->npending++].kill = kill;
	/* Runs in this same loop pass, before the socket is read. */
	event_active(w->pending_ev, EV_TIMEOUT, 1);
	if (atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed) +
	    1 >= w->maxconns && !w->pause_cap) {
		log_warnx("http: %zu connections on thread %zu; not "
		    "accepting more until some close", w->maxconns, w->idx);
		w->pause_cap = 1;
		listeners_update(w);
	}
	return (bev);
}

/* Gives each new connection the close callback that uncounts it. */
static void
conn_pending(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;
	struct http_pending	 p;
	struct http_conn	*c;
	void			*cbarg;

	while (w->npending > 0) {
		p = w->pending[--w->npending];
		cbarg = NULL;
		/* evhttp's callback argument is its connection; NULL once
		 * evhttp has freed the bufferevent. */
		bufferevent_getcb(p.bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL)
			conn_gone(w);
		else if (p.kill || (c = calloc(1, sizeof(*c))) == NULL) {
			/* No close callback is set yet: uncount by hand. */
			evhttp_connection_free(cbarg);
			conn_gone(w);
		} else {
			c->w = w;
			c->evcon = cbarg;
			TAILQ_INSERT_TAIL(&w->conns, c, entry);
			evhttp_connection_set_closecb(cbarg, conn_closed, c);
		}
		bufferevent_decref(p.bev);
	}
}

/* evhttp's close callback: called once, when the connection goes. */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;
	struct http_worker	*w = c->w;

	TAILQ_REMOVE(&w->conns, c, entry);
	free(c);
	conn_gone(w);
}

/* Uncounts a connection; resumes accepting below 90% of the cap. */
static void
conn_gone(struct http_worker *w)
{
	size_t	n;

	n = atomic_fetch_sub_explicit(&w->nconns, 1, memory_order_relaxed) - 1;
	if (w->pause_cap && n < w->maxconns - w->maxconns / 10) {
		w->pause_cap = 0;
		listeners_update(w);
	}
	if (w->quitting && n == 0)
		event_base_loopbreak(w->base);
}

/* Accepts when nothing holds the listeners back. */
static void
listeners_update(struct http_worker *w)
{
	size_t	i;
	int	on = !w->closed && !w->pause_cap && !w->pause_err;

	for (i = 0; i < w->nls; i++) {
		if (w->ls[i] == NULL)
			continue;
		if (on)
			evconnlistener_enable(w->ls[i]->lev);
		else
			evconnlistener_disable(w->ls[i]->lev);
	}
}

/* Closes this thread's listening sockets for good. */
static void
listeners_close(struct http_worker *w)
{
	struct http_listener	*l;
	size_t			 i;

	w->closed = 1;
	for (i = 0; i < w->nls; i++) {
		if ((l = w->ls[i]) == NULL)
			continue;
		pthread_mutex_lock(&http_registry_lock);
		LIST_REMOVE(l, reg);
		pthread_mutex_unlock(&http_registry_lock);
		/* Frees the evconnlistener, which closes the socket. */
		evhttp_del_accept_socket(w->srv[l->tls].evh, l->bound);
		free(l);
		w->ls[i] = NULL;
	}
}

/* Resolves a numeric listen address; "" means every IPv4 address. */
static int
addr_parse(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *slp)
{
	struct addrinfo	 hints, *res;
	char		 h[128], p[16];
	size_t		 len;
	int		 e;

	if (host == NULL || *host == '\0')
		host = "0.0.0.0";
	len = strlen(host);
	/* "[::]" as well as "::". */
	if (host[0] == '[' && len >= 2 && host[len - 1] == ']')
		snprintf(h, sizeof(h), "%.*s", (int)(len - 2), host + 1);
	else
		snprintf(h, sizeof(h), "%s", host);
	snprintf(p, sizeof(p), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(h, p, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", host, gai_strerror(e));
		return (-1);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*slp = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/* The port a listening socket is bound to. */
static int
bound_port(evutil_socket_t fd)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return (0);
	if (ss.ss_family == AF_INET6)
		return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

/*
 * Opens this thread's socket for listen i.  The first thread resolves
 * port 0 to a real port, which the others then bind too.
 */
static int
listener_bind(struct http_worker *w, size_t i)
{
	struct conf_listen	*cl = &w->h->listens[i];
	struct http_listener	*l;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	unsigned		 flags;

	if (addr_parse(cl->host, cl->port, &ss, &sl) == -1)
		return (-1);
	flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE;
	if (w->h->nworkers > 1)
		flags |= LEV_OPT_REUSEABLE_PORT;
	/* So that [::]:P and 0.0.0.0:P can both be listened on. */
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	l = xcalloc(1, sizeof(*l));
	l->w = w;
	l->tls = cl->tls ? 1 : 0;
	if ((l->lev = evconnlistener_new_bind(w->base, NULL, NULL, flags,
	    HTTP_BACKLOG, (struct sockaddr *)&ss, (int)sl)) == NULL) {
		log_warn("cannot listen on %s port %d", cl->host, cl->port);
		free(l);
		return (-1);
	}
	if ((l->bound = evhttp_bind_listener(w->srv[l->tls].evh,
	    l->lev)) == NULL) {
		log_warnx("cannot listen on %s port %d", cl->host, cl->port);
		evconnlistener_free(l->lev);
		free(l);
		return (-1);
	}
	evconnlistener_set_error_cb(l->lev, accept_error);
	if (cl->port == 0)
		cl->port = bound_port(evconnlistener_get_fd(l->lev));
	pthread_mutex_lock(&http_registry_lock);
	LIST_INSERT_HEAD(&http_registry, l, reg);
	pthread_mutex_unlock(&http_registry_lock);
	w->ls[i] = l;
	return (0);
}

/*
 * accept() failed with something other than a transient error (EMFILE,
 * ENFILE, ENOBUFS...): stop accepting on this thread for a second, or
 * the listener would fire again at once and spin.
 */
static void
accept_error(struct evconnlistener *lev, void *arg)
{
	struct http_listener	*l;
	struct http_worker	*w = NULL;
	struct timeval		 tv = { 1, 0 };
	int			 err = EVUTIL_SOCKET_ERROR();

	/* arg is evhttp's; find our listener through the registry. */
	pthread_mutex_lock(&http_registry_lock);
	LIST_FOREACH(l, &http_registry, reg)
		if (l->lev == lev) {
			w = l->w;
			break;
		}
	pthread_mutex_unlock(&http_registry_lock);
	if (w == NULL)
		return;
	if (!w->pause_err) {
		errno = err;
		log_warn("http: accept failed; pausing for a second");
	}
	w->pause_err = 1;
	listeners_update(w);
	evtimer_add(w->resume_ev, &tv);
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;

	w->pause_err = 0;
	listeners_update(w);
}

/*
 * Stops accepting and ends every connection that is not sending a reply;
 * the others end after their reply ("Connection: close" while draining).
 * Ticks until all are gone or HTTP_DRAIN_S has passed; a quitting thread
 * then leaves its loop.
 */
static void
worker_drain(struct http_worker *w)
{
	struct http_conn	*c, *next;
	struct bufferevent	*bev;
	struct timeval		 tick = { 0, HTTP_DRAIN_TICK_MS * 1000 };

	listeners_close(w);
	if (!w->stopping) {
		w->stopping = 1;
		w->deadline = mono_now() + HTTP_DRAIN_S;
	}
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		bev = evhttp_connection_get_bufferevent(c->evcon);
		/* Nothing queued: idle keep-alive, or a request arriving. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			evhttp_connection_free(c->evcon);	/* frees c */
	}
	if (atomic_load(&w->nconns) == 0 || mono_now() >= w->deadline) {
		if (w->quitting)
			event_base_loopbreak(w->base);
		return;
	}
	evtimer_add(w->drain_ev, &tick);
}

static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
	worker_drain(arg);
}

/* Commands from the owner: 'c' close and drain (acked), 'q' quit. */
static void
worker_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;
	struct http		*h = w->h;
	char			 cmd[16];
	ssize_t			 n, i;

	while ((n = read(fd, cmd, sizeof(cmd))) > 0) {
		for (i = 0; i < n; i++) {
			if (cmd[i] == 'q')
				w->quitting = 1;
			worker_drain(w);
			if (cmd[i] != 'c')
				continue;
			pthread_mutex_lock(&h->ack_lock);
			h->acks++;
			pthread_cond_broadcast(&h->ack_cond);
			pthread_mutex_unlock(&h->ack_lock);
		}
	}
}

/* One evhttp of a worker, with every bound this server keeps. */
static int
worker_server(struct http_worker *w, int tls)
{
	struct http_server	*srv = &w->srv[tls];

	srv->w = w;
	srv->tls = tls;
	if ((srv->evh = evhttp_new(w->base)) == NULL) {
		log_warnx("%s: evhttp_new failed", __func__);
		return (-1);
	}
	evhttp_set_gencb(srv->evh, on_request, srv);
	evhttp_set_bevcb(srv->evh, conn_bev, srv);
	/* Every bit: unknown methods reach on_request and get 405. */
	evhttp_set_allowed_methods(srv->evh, 0xffff);
	evhttp_set_timeout(srv->evh, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(srv->evh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(srv->evh, HTTP_MAX_BODY);
	evhttp_set_default_content_type(srv->evh, HTTP_CT_TEXT);
	return (0);
}

/* Sets up one serving thread's base, events and servers (not started). */
static int
worker_init(struct http *h, struct http_worker *w, size_t idx)
{
	struct event_config	*cfg;
	size_t			 i;
	int			 need[2] = { 0, 0 };

	w->h = h;
	w->idx = idx;
	w->ctl[0] = w->ctl[1] = -1;
	TAILQ_INIT(&w->conns);
	atomic_init(&w->nconns, 0);
	w->maxconns = HTTP_MAX_CONNS / h->nworkers;
	if (w->maxconns < HTTP_MIN_CONNS)
		w->maxconns = HTTP_MIN_CONNS;
	if (h->inline_mode)
		w->base = h->base;
	else {
		if ((cfg = event_config_new()) == NULL)
			return (-1);
		/* Only this thread ever touches its base: no locks. */
		event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
		w->base = event_base_new_with_config(cfg);
		event_config_free(cfg);
		if (w->base == NULL)
			return (-1);
		w->own_base = 1;
		if (pipe2(w->ctl, O_CLOEXEC | O_NONBLOCK) == -1) {
			log_warn("%s: pipe", __func__);
			return (-1);
		}
		if ((w->ctl_ev = event_new(w->base, w->ctl[0],
		    EV_READ | EV_PERSIST, worker_ctl, w)) == NULL ||
		    event_add(w->ctl_ev, NULL) == -1)
			return (-1);
	}
	w->pending = xcalloc(w->maxconns, sizeof(*w->pending));
	w->cd = xcalloc(1, sizeof(*w->cd));
	w->ls = xcalloc(h->nlistens, sizeof(*w->ls));
	w->nls = h->nlistens;
	if ((w->pending_ev = event_new(w->base, -1, 0, conn_pending,
	    w)) == NULL ||
	    (w->resume_ev = evtimer_new(w->base, accept_resume, w)) == NULL ||
	    (w->drain_ev = evtimer_new(w->base, drain_tick, w)) == NULL)
		return (-1);
	for (i = 0; i < h->nlistens; i++)
		need[h->listens[i].tls ? 1 : 0] = 1;
	for (i = 0; i < 2; i++)
		if (need[i] && worker_server(w, (int)i) == -1)
			return (-1);
	return (0);
}

static void *
worker_main(void *arg)
{
	struct http_worker	*w = arg;

	event_base_dispatch(w->base);
	return (NULL);
}

/* Frees what worker_init() made; the thread, if any, has ended. */
static void
worker_free(struct http_worker *w)
{
	size_t	i;

	if (w->base == NULL)
		return;
	/* Drop the references pending connections still hold. */
	if (w->pending_ev != NULL)
		conn_pending(-1, 0, w);
	listeners_close(w);
	for (i = 0; i < 2; i++)
		if (w->srv[i].evh != NULL)
			evhttp_free(w->srv[i].evh);	/* closes connections */
	if (w->pending_ev != NULL)
		event_free(w->pending_ev);
	if (w->resume_ev != NULL)
		event_free(w->resume_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	if (w->ctl_ev != NULL)
		event_free(w->ctl_ev);
	for (i = 0; i < 2; i++)
		if (w->ctl[i] != -1)
			close(w->ctl[i]);
	if (w->own_base)
		event_base_free(w->base);
	free(w->pending);
	free(w->ls);
	if (w->cd != NULL)
		explicit_bzero(w->cd, sizeof(*w->cd));
	free(w->cd);
}

/* Starts the serving threads; they take no signals (the owner does). */
static int
workers_start(struct http *h)
{
	sigset_t	all, old;
	size_t		i;
	int		e = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < h->nworkers; i++) {
		if ((e = pthread_create(&h->workers[i].thread, NULL,
		    worker_main, &h->workers[i])) != 0)
			break;
		h->workers[i].started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		errno = e;
		log_warn("%s: pthread_create", __func__);
		return (-1);
	}
	return (0);
}

/* Writes one command byte to every running serving thread. */
static void
workers_send(struct http *h, char cmd)
{
	size_t	i;

	for (i = 0; i < h->nworkers; i++) {
		if (!h->workers[i].started)
			continue;
		while (write(h->workers[i].ctl[1], &cmd, 1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s", __func__);
			break;
		}
	}
}

/* Logs and clears OpenSSL's error queue. */
static void
tls_log_errors(const char *what)
{
	unsigned long	e;
	char		msg[256];
	int		n = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, msg, sizeof(msg));
		log_warnx("%s: %s", what, msg);
		n++;
	}
	if (n == 0)
		log_warnx("%s: TLS setup failed", what);
}

/* A server context: TLS 1.2 to 1.3, certificate chain and key from PEM. */
static SSL_CTX *
tls_ctx_new(const char *cert, const char *key)
{
	SSL_CTX	*ctx;

	if (cert == NULL || key == NULL) {
		log_warnx("a tls listen needs tls-certificate and tls-key");
		return (NULL);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		tls_log_errors("TLS context");
		SSL_CTX_free(ctx);
		return (NULL);
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_log_errors(cert);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_log_errors(key);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

/* A new TLS session on the current context (SSL_new holds its own ref). */
static SSL *
tls_ssl_new(struct http *h)
{
	SSL	*ssl = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->tls != NULL)
		ssl = SSL_new(h->tls);
	pthread_mutex_unlock(&h->lock);
	if (ssl == NULL)
		tls_log_errors("SSL_new");
	return (ssl);
}

/* Copies what the server keeps of conf (hosts, paths); dies on ENOMEM. */
static int
http_copy_conf(struct http *h, const struct conf *conf)
{
	size_t	i;
	int	tls = 0;

	h->access_log = conf->access_log;
	if (conf->auth_file != NULL)
		h->auth_file = xstrdup(conf->auth_file);
	if (conf->tls_certificate != NULL)
		h->tls_cert = xstrdup(conf->tls_certificate);
	if (conf->tls_key != NULL)
		h->tls_key = xstrdup(conf->tls_key);
	if (conf->nlistens == 0) {
		log_warnx("no listen address");
		return (-1);
	}
	h->listens = xcalloc(conf->nlistens, sizeof(*h->listens));
	h->nlistens = conf->nlistens;
	for (i = 0; i < conf->nlistens; i++) {
		h->listens[i] = conf->listens[i];
		h->listens[i].host = xstrdup(conf->listens[i].host != NULL ?
		    conf->listens[i].host : "");
		tls |= conf->listens[i].tls;
	}
	if (tls && (h->tls = tls_ctx_new(h->tls_cert, h->tls_key)) == NULL)
		return (-1);
	return (0);
}

/*
 * Binds every listen of conf: on private serving threads when
 * conf->threads >= 1 (base unused), on base itself when it is 0.
 */
struct http *
http_new(struct event_base *base, const struct conf *conf,
    struct site *site)
{
	struct http	*h;
	size_t		 i, j;

	h = xcalloc(1, sizeof(*h));
	if (pthread_mutex_init(&h->lock, NULL) != 0 ||
	    pthread_mutex_init(&h->ack_lock, NULL) != 0 ||
	    pthread_cond_init(&h->ack_cond, NULL) != 0)
		fatalx("%s: cannot make locks", __func__);
	h->base = base;
	h->site = site_ref(site);
	h->started_ms = time_now_ms();
	atomic_init(&h->nstats, 1);
	h->inline_mode = conf->threads <= 0;
	h->nworkers = h->inline_mode ? 1 : (size_t)conf->threads;
	if (h->nworkers > HTTP_THREADS_MAX)
		h->nworkers = HTTP_THREADS_MAX;
	h->workers = xcalloc(h->nworkers, sizeof(*h->workers));
	if (http_copy_conf(h, conf) == -1)
		goto fail;
	if (h->auth_file != NULL)
		h->pw = pw_load(h->auth_file);	/* NULL: 503 for now */
	check_users(h, site);
	stats_register(h, site);
	for (i = 0; i < h->nworkers; i++)
		if (worker_init(h, &h->workers[i], i) == -1) {
			log_warnx("cannot set up serving thread %zu", i);
			goto fail;
		}
	for (i = 0; i < h->nlistens; i++)
		for (j = 0; j < h->nworkers; j++)
			if (listener_bind(&h->workers[j], i) == -1)
				goto fail;
	h->port = h->listens[0].port;
	if (!h->inline_mode && workers_start(h) == -1)
		goto fail;
	for (i = 0; i < h->nlistens; i++)
		log_info("listening on %s port %d%s, %zu thread%s",
		    h->listens[i].host, h->listens[i].port,
		    h->listens[i].tls ? " (tls)" : "", h->nworkers,
		    h->nworkers == 1 ? "" : "s");
	return (h);
 fail:
	http_free(h);
	return (NULL);
}

/*
 * Serves site from now on.  The auth file and the TLS certificate are
 * read again (from the paths given at http_new); when that fails the
 * ones in use stay.
 */
void
http_set_site(struct http *h, struct site *site)
{
	struct htpasswd	*pw = NULL, *oldpw = NULL;
	SSL_CTX		*ctx = NULL, *oldctx = NULL;
	struct site	*old;

	stats_register(h, site);
	check_users(h, site);
	if (h->auth_file != NULL && (pw = pw_load(h->auth_file)) == NULL)
		log_warnx("%s: keeping the users read before", h->auth_file);
	/* h->tls is only ever written by this (the owner) thread. */
	if (h->tls != NULL &&
	    (ctx = tls_ctx_new(h->tls_cert, h->tls_key)) == NULL)
		log_warnx("keeping the TLS certificate loaded before");
	pthread_mutex_lock(&h->lock);
	old = h->site;
	h->site = site_ref(site);
	if (pw != NULL) {
		oldpw = h->pw;
		h->pw = pw;
	}
	if (ctx != NULL) {
		oldctx = h->tls;
		h->tls = ctx;
	}
	pthread_mutex_unlock(&h->lock);
	site_unref(old);
	pw_unref(oldpw);
	SSL_CTX_free(oldctx);	/* sessions made from it hold their own */
}

/*
 * Stops accepting; connections not sending a reply are closed, the rest
 * finish their reply.  Returns once every serving thread has closed its
 * sockets (or after 5 s).
 */
void
http_close_listeners(struct http *h)
{
	struct timespec	ts;
	size_t		i, n = 0;

	if (h->inline_mode) {
		worker_drain(&h->workers[0]);
		return;
	}
	for (i = 0; i < h->nworkers; i++)
		n += h->workers[i].started;
	pthread_mutex_lock(&h->ack_lock);
	h->acks = 0;
	pthread_mutex_unlock(&h->ack_lock);
	workers_send(h, 'c');
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&h->ack_lock);
	while (h->acks < n)
		if (pthread_cond_timedwait(&h->ack_cond, &h->ack_lock,
		    &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->ack_lock);
}

/*
 * Stops the serving threads (each finishes its replies for up to
 * HTTP_DRAIN_S), joins them and frees everything.
 */
void
http_free(struct http *h)
{
	size_t	i;

	if (h == NULL)
		return;
	workers_send(h, 'q');
	for (i = 0; i < h->nworkers; i++)
		if (h->workers[i].started)
			pthread_join(h->workers[i].thread, NULL);
	for (i = 0; i < h->nworkers; i++)
		worker_free(&h->workers[i]);
	free(h->workers);
	site_unref(h->site);
	pw_unref(h->pw);
	SSL_CTX_free(h->tls);
	for (i = 0; i < h->nlistens; i++)
		free(h->listens[i].host);
	free(h->listens);
	for (i = 1; i < atomic_load(&h->nstats); i++)
		free(h->stats[i].name);
	free(h->auth_file);
	free(h->tls_cert);
	free(h->tls_key);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->ack_lock);
	pthread_cond_destroy(&h->ack_cond);
	free(h);
}

int
http_port(const struct http *h)
{
	return (h->port);
}
