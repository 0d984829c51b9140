/*
 * curlev.c: libcurl's multi interface on a libevent base.
 *
 * One CURLM per curlev.  libcurl tells us which sockets to watch through
 * the socket callback and when to wake it through the timer callback; we
 * answer with libevent events and call curl_multi_socket_action() from
 * their callbacks, then drain curl_multi_info_read() for finished
 * transfers.  Each transfer's state (struct xfer) rides in CURLOPT_PRIVATE
 * and is freed once its callback has returned.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curlev.h"
#include "log.h"
#include "util.h"

#define CURLEV_CONNECT_MS	10000		/* when the request says 0 */
#define CURLEV_TIMEOUT_MS	30000
#define CURLEV_MAX_BYTES	(16u << 20)
#define CURLEV_HDRVAL_MAX	64		/* longer values: ignored */
#define CURLEV_URL_LOG		512		/* redacted URL in log lines */

struct xfer {
	TAILQ_ENTRY(xfer)	 entry;
	uint64_t		 id;
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct buf		 resp;
	size_t			 max_bytes;
	int			 overflow;	/* the byte cap was hit */
	int			 nomem;
	long			 retry_after;
	long			 rl_reset;
	long			 rl_remaining;
	curlev_done_cb		 cb;
	void			*arg;
	char			*redact;	/* the secret, or NULL */
	char			 logurl[CURLEV_URL_LOG];
	char			 errbuf[CURL_ERROR_SIZE];
	char			 errmsg[CURL_ERROR_SIZE + 64];
};

/* One watched socket; libcurl keeps the pointer via curl_multi_assign. */
struct sock {
	LIST_ENTRY(sock)	 entry;
	struct curlev		*cv;
	struct event		*ev;
};

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	uint64_t		 next_id;
	TAILQ_HEAD(, xfer)	 xfers;
	LIST_HEAD(, sock)	 socks;
	int			 busy;		/* inside a done callback */
	int			 dying;		/* curlev_free while busy */
};

static int	sock_cb(CURL *, curl_socket_t, int, void *, void *);
static int	timer_cb(CURLM *, long, void *);
static void	event_cb(evutil_socket_t, short, void *);
static void	timer_event_cb(evutil_socket_t, short, void *);
static void	check_multi_info(struct curlev *);
static void	xfer_finish(struct curlev *, struct xfer *, CURLcode);
static void	xfer_free(struct xfer *);
static void	curlev_destroy(struct curlev *);
static size_t	write_cb(char *, size_t, size_t, void *);
static size_t	header_cb(char *, size_t, size_t, void *);

/* Warns once when name resolution would block the event loop. */
static void
check_version(void)
{
	static int		 checked;
	curl_version_info_data	*vi;

	if (checked++)
		return;
	vi = curl_version_info(CURLVERSION_NOW);
	if (vi == NULL || !(vi->features & CURL_VERSION_ASYNCHDNS))
		log_warnx("%s: libcurl %s lacks asynchronous DNS; name "
		    "lookups will stall the event loop", __func__,
		    vi != NULL ? vi->version : "?");
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev	*cv;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: curl_global_init failed", __func__);
		return (NULL);
	}
	check_version();
	if ((cv = calloc(1, sizeof(*cv))) == NULL)
		goto fail;
	cv->base = base;
	TAILQ_INIT(&cv->xfers);
	LIST_INIT(&cv->socks);
	if ((cv->multi = curl_multi_init()) == NULL ||
	    (cv->timer = evtimer_new(base, timer_event_cb, cv)) == NULL) {
		curlev_destroy(cv);
		return (NULL);
	}
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	/* A long poll holds one connection while other calls need another. */
	curl_multi_setopt(cv->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
	curl_multi_setopt(cv->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 16L);
	return (cv);
 fail:
	log_warn("%s", __func__);
	curl_global_cleanup();
	return (NULL);
}

void
curlev_free(struct curlev *cv)
{
	if (cv == NULL)
		return;
	if (cv->busy) {
		/* Called from a done callback: finish in check_multi_info. */
		cv->dying = 1;
		return;
	}
	curlev_destroy(cv);
}

/* Ends every transfer silently, then the multi handle, then our events. */
static void
curlev_destroy(struct curlev *cv)
{
	struct xfer	*x;
	struct sock	*s;

	while ((x = TAILQ_FIRST(&cv->xfers)) != NULL) {
		TAILQ_REMOVE(&cv->xfers, x, entry);
		curl_multi_remove_handle(cv->multi, x->easy);
		xfer_free(x);
	}
	/* Before the base goes: cleanup may still call sock_cb (REMOVE). */
	if (cv->multi != NULL)
		curl_multi_cleanup(cv->multi);
	while ((s = LIST_FIRST(&cv->socks)) != NULL) {
		LIST_REMOVE(s, entry);
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
	}
	if (cv->timer != NULL)
		event_free(cv->timer);
	free(cv);
	curl_global_cleanup();
}

/* libcurl asks us to watch (or stop watching) one socket. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct curlev	*cv = userp;
	struct sock	*s = sockp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			LIST_REMOVE(s, entry);
			if (s->ev != NULL)
				event_free(s->ev);
			free(s);
			curl_multi_assign(cv->multi, fd, NULL);
		}
		return (0);
	}
	kind = EV_PERSIST;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		kind |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			log_warn("%s", __func__);
			return (-1);	/* libcurl fails the transfer */
		}
		s->cv = cv;
		LIST_INSERT_HEAD(&cv->socks, s, entry);
		curl_multi_assign(cv->multi, fd, s);
	} else if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if ((s->ev = event_new(cv->base, fd, kind, event_cb, s)) == NULL ||
	    event_add(s->ev, NULL) == -1) {
		log_warnx("%s: cannot watch socket %d", __func__, (int)fd);
		return (-1);
	}
	return (0);
}

/*
 * libcurl wants to be woken after timeout_ms (-1: never).  It must not be
 * called back from here, so even 0 arms a one-shot timer: a zero timer
 * runs in the loop's next pass, without the millisecond of sleep a 1 ms
 * timer would add before every request starts.
 */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev	*cv = userp;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(cv->timer);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(cv->timer, &tv);
	return (0);
}

/* A watched socket is ready: let libcurl work on it. */
static void
event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct sock	*s = arg;
	struct curlev	*cv = s->cv;	/* s may be freed by socket_action */
	int		 action = 0, running;

	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cv->multi, fd, action, &running);
	check_multi_info(cv);
}

/* libcurl's timeout expired. */
static void
timer_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct curlev	*cv = arg;
	int		 running;

	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(cv);
}

/* Hands every finished transfer to its owner. */
static void
check_multi_info(struct curlev *cv)
{
	CURLMsg		*msg;
	struct xfer	*x;
	char		*priv;
	CURLcode	 res;
	int		 left;

	cv->busy++;
	while (!cv->dying &&
	    (msg = curl_multi_info_read(cv->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* Read everything now: msg dies with the easy handle. */
		res = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((x = (struct xfer *)priv) == NULL)
			continue;
		xfer_finish(cv, x, res);
	}
	cv->busy--;
	if (cv->dying && cv->busy == 0)
		curlev_destroy(cv);
}

/* Describes why a transfer failed, for the result and the log. */
static void
xfer_error(struct xfer *x, CURLcode res)
{
	const char	*why = x->errbuf[0] != '\0' ? x->errbuf :
			    curl_easy_strerror(res);
	char		 tmp[sizeof(x->errmsg)];

	if (x->overflow)
		snprintf(tmp, sizeof(tmp), "response larger than %zu bytes",
		    x->max_bytes);
	else if (x->nomem)
		snprintf(tmp, sizeof(tmp), "out of memory for the response");
	else if (res == CURLE_OPERATION_TIMEDOUT)
		snprintf(tmp, sizeof(tmp), "timeout: %s", why);
	else
		snprintf(tmp, sizeof(tmp), "%s", why);
	/* libcurl's messages may quote the URL; hide the secret there too. */
	curlev_redact(tmp, x->redact, x->errmsg, sizeof(x->errmsg));
}

/* Builds the result, calls the owner, frees the transfer. */
static void
xfer_finish(struct curlev *cv, struct xfer *x, CURLcode res)
{
	struct curlev_result	 r;

	memset(&r, 0, sizeof(r));
	r.ok = res == CURLE_OK && !x->overflow && !x->nomem;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r.seconds);
	r.retry_after = x->retry_after;
	r.ratelimit_reset = x->rl_reset;
	r.ratelimit_remaining = x->rl_remaining;
	if (buf_reserve(&x->resp, 0) == -1) {	/* ensures a NUL */
		r.ok = 0;
		x->nomem = 1;
	}
	r.body = x->resp.data != NULL ? x->resp.data : "";
	r.len = x->resp.len;
	if (!r.ok) {
		xfer_error(x, res);
		r.error = x->errmsg;
		log_debug("%s: #%" PRIu64 " %s: %s", __func__, x->id,
		    x->logurl, x->errmsg);
	} else
		log_debug("%s: #%" PRIu64 " %s: HTTP %ld, %zu bytes, %.3fs",
		    __func__, x->id, x->logurl, r.status, r.len, r.seconds);
	TAILQ_REMOVE(&cv->xfers, x, entry);
	curl_multi_remove_handle(cv->multi, x->easy);
	/* r.body points into x, which lives until the callback returns. */
	x->cb(x->arg, &r);
	xfer_free(x);
}

static void
xfer_free(struct xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	buf_free(&x->resp);
	free(x->redact);
	free(x);
}

/* Collects the body; a short count past the cap aborts the transfer. */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (n > x->max_bytes || x->resp.len > x->max_bytes - n) {
		x->overflow = 1;
		return (0);	/* CURLE_WRITE_ERROR */
	}
	if (buf_add(&x->resp, ptr, n) == -1) {
		x->nomem = 1;
		return (0);
	}
	return (n);
}

/* Reads a header value as a non-negative number of seconds; -1 if not. */
static long
header_seconds(const char *v, size_t len)
{
	char	 tmp[CURLEV_HDRVAL_MAX];
	char	*end;
	long	 n;
	time_t	 t, now;

	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return (-1);
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if (isdigit((unsigned char)tmp[0])) {
		n = strtol(tmp, &end, 10);
		return (*end == '\0' && n >= 0 ? n : -1);
	}
	/* Retry-After may also be an HTTP date. */
	if (time_parse_http(tmp, &t) == -1)
		return (-1);
	now = time(NULL);
	return (t > now ? (long)(t - now) : 0);
}

/* Matches "Name:" at the start of a header line; returns the value. */
static const char *
header_match(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t	nl = strlen(name);

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return (NULL);
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	*vlen = len;
	return (line);
}

/* Picks the rate-limit headers out of each response's header block. */
static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * nmemb, vlen;
	const char	*v;

	/* A new status line (after 100 Continue, say) starts afresh. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->retry_after = x->rl_reset = x->rl_remaining = -1;
		return (len);
	}
	if ((v = header_match(line, len, "Retry-After", &vlen)) != NULL)
		x->retry_after = header_seconds(v, vlen);
	else if ((v = header_match(line, len, "RateLimit-Reset", &vlen)) !=
	    NULL)
		x->rl_reset = header_seconds(v, vlen);
	else if ((v = header_match(line, len, "RateLimit-Remaining",
	    &vlen)) != NULL)
		x->rl_remaining = header_seconds(v, vlen);
	return (len);
}

/* Sets the method, body and headers of a transfer. */
static int
xfer_set_body(struct xfer *x, const struct curlev_request *req)
{
	const char *const	*h;
	char			 ct[256];
	struct curl_slist	*l;

	if (req->method != NULL && strcmp(req->method, "GET") != 0) {
		if (strcmp(req->method, "POST") == 0)
			curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
		else
			curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST,
			    req->method);
		/* Size first: COPYPOSTFIELDS then copies bodylen bytes. */
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->bodylen : 0));
		if (curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS,
		    req->body != NULL ? req->body : "") != CURLE_OK)
			return (-1);
	}
	/* No "Expect: 100-continue" pause on larger bodies. */
	if ((x->hdrs = curl_slist_append(NULL, "Expect:")) == NULL)
		return (-1);
	if (req->content_type != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		    req->content_type);
		if ((l = curl_slist_append(x->hdrs, ct)) == NULL)
			return (-1);
		x->hdrs = l;
	}
	for (h = req->headers; h != NULL && *h != NULL; h++) {
		if ((l = curl_slist_append(x->hdrs, *h)) == NULL)
			return (-1);
		x->hdrs = l;
	}
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	return (0);
}

/* Applies the limits every transfer carries. */
static int
xfer_set_limits(struct xfer *x, const struct curlev_request *req)
{
	CURL	*e = x->easy;
	long	 cto = req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
		    CURLEV_CONNECT_MS;
	long	 to = req->timeout_ms > 0 ? req->timeout_ms : CURLEV_TIMEOUT_MS;

	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
	    CURLE_OK)
		return (-1);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 0L);
	/* Signals would interrupt the loop; timeouts use the multi timer. */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "lumu-edl");
	/* The cap in write_cb counts decoded bytes, so a bomb stays bounded. */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (req->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
	if (req->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return (0);
}

/* Creates the easy handle of a transfer and wires its callbacks. */
static int
xfer_setup(struct xfer *x, const struct curlev_request *req)
{
	if ((x->easy = curl_easy_init()) == NULL)
		return (-1);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	if (xfer_set_limits(x, req) == -1 || xfer_set_body(x, req) == -1)
		return (-1);
	return (0);
}

uint64_t
curlev_start(struct curlev *cv, const struct curlev_request *req,
    curlev_done_cb cb, void *arg)
{
	struct xfer	*x;

	if (cv->dying || req->url == NULL || cb == NULL)
		return (0);
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warn("%s", __func__);
		return (0);
	}
	x->cb = cb;
	x->arg = arg;
	x->max_bytes = req->max_bytes > 0 ? req->max_bytes : CURLEV_MAX_BYTES;
	x->retry_after = x->rl_reset = x->rl_remaining = -1;
	if (req->redact != NULL && req->redact[0] != '\0' &&
	    (x->redact = strdup(req->redact)) == NULL)
		goto fail;
	curlev_redact(req->url, x->redact, x->logurl, sizeof(x->logurl));
	if (xfer_setup(x, req) == -1) {
		log_warnx("%s: cannot set up %s", __func__, x->logurl);
		goto fail;
	}
	/* The multi handle borrows the easy one until remove_handle. */
	if (curl_multi_add_handle(cv->multi, x->easy) != CURLM_OK) {
		log_warnx("%s: cannot add %s", __func__, x->logurl);
		goto fail;
	}
	x->id = ++cv->next_id;
	TAILQ_INSERT_TAIL(&cv->xfers, x, entry);
	log_debug("%s: #%" PRIu64 " %s %s", __func__, x->id,
	    req->method != NULL ? req->method : "GET", x->logurl);
	return (x->id);
 fail:
	xfer_free(x);
	return (0);
}

void
curlev_cancel(struct curlev *cv, uint64_t id)
{
	struct xfer	*x;

	if (id == 0)
		return;
	TAILQ_FOREACH(x, &cv->xfers, entry)
		if (x->id == id)
			break;
	if (x == NULL)
		return;
	log_debug("%s: #%" PRIu64 " %s", __func__, x->id, x->logurl);
	TAILQ_REMOVE(&cv->xfers, x, entry);
	curl_multi_remove_handle(cv->multi, x->easy);
	xfer_free(x);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/*
 * Length of the spelling of secret at s, or 0 if there is none.  Each
 * byte of the secret may appear as itself or percent-encoded (either hex
 * case), and a space also as '+', so the raw, curl_easy_escape()d and
 * form-encoded spellings all match.
 */
static size_t
secret_at(const char *s, const char *secret)
{
	const char	*p = s;
	unsigned char	 c;

	for (; *secret != '\0'; secret++) {
		c = (unsigned char)*secret;
		if ((unsigned char)*p == c && c != '%')
			p++;
		else if (p[0] == '%' && hexval(p[1]) >= 0 &&
		    hexval(p[2]) >= 0 && hexval(p[1]) * 16 + hexval(p[2]) == c)
			p += 3;
		else if (c == ' ' && *p == '+')
			p++;
		else if (c == '%' && *p == '%')
			p++;
		else
			return (0);
	}
	return ((size_t)(p - s));
}

void
curlev_redact(const char *url, const char *secret, char *dst, size_t dstsz)
{
	static const char	 mark[] = "(secret)";
	size_t			 o = 0, n;

	if (dstsz == 0)
		return;
	while (*url != '\0' && o + 1 < dstsz) {
		if (secret != NULL && secret[0] != '\0' &&
		    (n = secret_at(url, secret)) > 0) {
			if (o + sizeof(mark) > dstsz)
				break;	/* never a cut mark that shows bytes */
			memcpy(dst + o, mark, sizeof(mark) - 1);
			o += sizeof(mark) - 1;
			url += n;
			continue;
		}
		dst[o++] = *url++;
	}
	dst[o] = '\0';
}
