/*
 * http_listen.c: the listening sockets of a serving thread, the cap on
 * its connections, and TLS.  Which sockets a thread listens on, at start
 * and at each reload, is decided in http_relisten.c, which serves them
 * through http_listener_wrap() and closes them with http_listener_free().
 *
 * libevent 2.1.12 offers no hook when a server connection starts, so the
 * connection count works like this: the bufferevent callback (called
 * for every accepted socket) counts the connection, takes a reference on
 * the bufferevent and schedules http_conn_pending(), which finds the
 * evhttp_connection through the bufferevent's callback argument and sets
 * a close callback that uncounts it.  A thread at its share of the cap
 * stops accepting until one closes; accept is paused for a second on
 * EMFILE, ENFILE or any other non-transient error.
 *
 * The request deadline.  libevent's read timeout restarts with each
 * byte, and 2.1.12 has no hook when a server request starts or its head
 * is in, so each connection has a timer of its own and watches its
 * bufferevent's two buffers.  The timer starts at accept (TLS handshake
 * included) and, on a kept-alive connection, at the first byte of the
 * next request; it stops when a reply starts, since evhttp only writes
 * once it has the whole request (head and body; a "100 Continue" stops
 * it too, and the body then gets a deadline of its own).  When it fires
 * the connection is closed without a reply and counted.  Per request
 * this costs a timer added and deleted in the base's min-heap and a few
 * calls of two buffer callbacks: no system call.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http_int.h"
#include "log.h"

#define HTTP_MAX_WRITE		(1024 * 1024)	/* libevent's default: 16 KiB */

/* Listeners by evconnlistener, for the accept error callback. */
static LIST_HEAD(, http_listener) http_registry =
    LIST_HEAD_INITIALIZER(http_registry);
static pthread_mutex_t http_registry_lock = PTHREAD_MUTEX_INITIALIZER;

static struct http_conn *conn_new(struct http_worker *,
		    struct evhttp_connection *, struct bufferevent *);
static void	conn_arm(struct http_conn *);
static void	conn_input(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	conn_output(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	conn_deadline(evutil_socket_t, short, void *);
static void	conn_closed(struct evhttp_connection *, void *);
static void	conn_gone(struct http_worker *);
static void	accept_error(struct evconnlistener *, void *);
static void	tls_log_errors(const char *);
static SSL	*tls_ssl_new(struct http *);

/*
 * evhttp's bufferevent callback, run once per accepted socket: makes a
 * plain or TLS bufferevent and counts the connection.  The bufferevent
 * keeps an extra reference until http_conn_pending() has run, so that it can
 * still be looked at if evhttp freed it meanwhile.
 */
struct bufferevent *
http_conn_bev(struct event_base *base, void *arg)
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
		/* A TLS socket without TLS: http_conn_pending() drops it. */
		kill = srv->tls;
		if ((bev = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL)
			return (NULL);
	}
	/* A 1.4 MB feed in two writes rather than ninety of 16 KiB. */
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
		http_listeners_update(w);
	}
	return (bev);
}

/* Gives each new connection the close callback that uncounts it. */
void
http_conn_pending(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;
	struct http_pending	 p;
	struct http_conn	*c;
	void			*cbarg;
	int			 one = 1;

	while (w->npending > 0) {
		p = w->pending[--w->npending];
		cbarg = NULL;
		/* evhttp's callback argument is its connection; NULL once
		 * evhttp has freed the bufferevent. */
		bufferevent_getcb(p.bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL)
			conn_gone(w);
		else if (p.kill || (c = conn_new(w, cbarg, p.bev)) == NULL) {
			/* No close callback is set yet: uncount by hand. */
			evhttp_connection_free(cbarg);
			conn_gone(w);
		} else {
			TAILQ_INSERT_TAIL(&w->conns, c, entry);
			evhttp_connection_set_closecb(cbarg, conn_closed, c);
			/* A reply is one write: its last segment need not
			 * wait for the peer's ACK of the one before. */
			setsockopt(bufferevent_getfd(p.bev), IPPROTO_TCP,
			    TCP_NODELAY, &one, sizeof(one));
		}
		bufferevent_decref(p.bev);
	}
}

/*
 * A counted connection whose first request is due now (this runs in the
 * loop pass that accepted it): the deadline runs, the buffers are
 * watched.  NULL when out of memory.
 */
static struct http_conn *
conn_new(struct http_worker *w, struct evhttp_connection *evcon,
    struct bufferevent *bev)
{
	struct http_conn	*c;

	/* The timer lives in the same allocation, sized as libevent says. */
	if ((c = calloc(1, sizeof(*c) + event_get_struct_event_size())) ==
	    NULL)
		return (NULL);
	c->w = w;
	c->evcon = evcon;
	c->deadline = (struct event *)c->ev;
	c->in = bufferevent_get_input(bev);
	c->out = bufferevent_get_output(bev);
	if (evtimer_assign(c->deadline, w->base, conn_deadline, c) == -1 ||
	    (c->in_cb = evbuffer_add_cb(c->in, conn_input, c)) == NULL) {
		free(c);
		return (NULL);
	}
	if ((c->out_cb = evbuffer_add_cb(c->out, conn_output, c)) == NULL) {
		evbuffer_remove_cb_entry(c->in, c->in_cb);
		free(c);
		return (NULL);
	}
	conn_arm(c);
	return (c);
}

/* A request is due: its deadline starts now. */
static void
conn_arm(struct http_conn *c)
{
	c->phase = HTTP_CONN_REQUEST;
	event_add(c->deadline, c->w->request_ctv);
}

/* Bytes read on a kept-alive idle connection start the next request. */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*c = arg;

	if (c->phase == HTTP_CONN_IDLE && info->n_added > 0)
		conn_arm(c);
}

/*
 * The first bytes of a reply end the request's deadline; once the reply
 * has all gone out the connection is idle, unless bytes of the next
 * request (pipelined, or sent during the reply) are already in.
 */
static void
conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*c = arg;

	if (c->phase != HTTP_CONN_REPLY) {
		if (info->n_added == 0)
			return;
		if (c->phase == HTTP_CONN_REQUEST)
			event_del(c->deadline);
		c->phase = HTTP_CONN_REPLY;
	} else if (info->orig_size + info->n_added == info->n_deleted) {
		/* Empty again: the reply is all written. */
		c->phase = HTTP_CONN_IDLE;
		if (c->retired) {
			/* Not from here: evhttp is still inside this
			 * connection's write callback. */
			c->closing = 1;
			event_active(c->deadline, EV_TIMEOUT, 1);
		} else if (evbuffer_get_length(c->in) > 0)
			conn_arm(c);
	}
}

/* The request did not arrive in time: close, no reply, count it. */
static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;
	struct http_worker	*w = c->w;
	char			*addr = NULL;
	ev_uint16_t		 port = 0;

	/* Not a deadline: a retired connection's reply is out. */
	if (c->closing) {
		evhttp_connection_free(c->evcon);	/* frees c */
		return;
	}
	atomic_fetch_add_explicit(&w->h->request_timeouts, 1,
	    memory_order_relaxed);
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	log_debug("http: %s port %u: no whole request in %lld ms; closing",
	    addr != NULL ? addr : "?", (unsigned)port,
	    (long long)w->request_tv.tv_sec * 1000 +
	    w->request_tv.tv_usec / 1000);
	evhttp_connection_free(c->evcon);	/* frees c: conn_closed() */
}

/*
 * evhttp's close callback: called once, when the connection goes, while
 * its bufferevent still exists.  The buffer callbacks go first, so that
 * nothing calls them with c once it is freed.
 */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;
	struct http_worker	*w = c->w;

	event_del(c->deadline);
	evbuffer_remove_cb_entry(c->in, c->in_cb);
	evbuffer_remove_cb_entry(c->out, c->out_cb);
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
		http_listeners_update(w);
	}
	if (w->quitting && n == 0)
		event_base_loopbreak(w->base);
}

/*
 * A connection whose listen is gone: an idle one is closed now, any
 * other once its reply is out (conn_output).
 */
void
http_conn_retire(struct http_conn *c)
{
	if (c->phase == HTTP_CONN_IDLE && evbuffer_get_length(c->in) == 0)
		evhttp_connection_free(c->evcon);	/* frees c */
	else
		c->retired = 1;
}

/* Open connections over every serving thread. */
size_t
http_connections(struct http *h)
{
	size_t	i, n = 0;

	for (i = 0; i < h->nworkers; i++)
		n += atomic_load_explicit(&h->workers[i].nconns,
		    memory_order_relaxed);
	return (n);
}

/* Accepts when nothing holds the listeners back. */
void
http_listeners_update(struct http_worker *w)
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
void
http_listeners_close(struct http_worker *w)
{
	struct http_listener	*l;
	size_t			 i;

	w->closed = 1;
	for (i = 0; i < w->nls; i++) {
		if ((l = w->ls[i]) == NULL)
			continue;
		http_listener_free(l);
		w->ls[i] = NULL;
	}
}

/*
 * Serves l->fd on its thread's plain or TLS evhttp.  No
 * LEV_OPT_CLOSE_ON_FREE: the socket is the listener's own.
 */
int
http_listener_wrap(struct http_listener *l)
{
	struct http_worker	*w = l->w;

	/* Backlog 0: the socket is listening already. */
	if ((l->lev = evconnlistener_new(w->base, NULL, NULL, 0, 0,
	    l->fd)) == NULL)
		return (-1);
	if ((l->bound = evhttp_bind_listener(w->srv[l->tls].evh,
	    l->lev)) == NULL) {
		evconnlistener_free(l->lev);
		return (-1);
	}
	evconnlistener_set_error_cb(l->lev, accept_error);
	pthread_mutex_lock(&http_registry_lock);
	LIST_INSERT_HEAD(&http_registry, l, reg);
	pthread_mutex_unlock(&http_registry_lock);
	return (0);
}

/* Stops serving l->fd; the socket stays open. */
void
http_listener_unwrap(struct http_listener *l)
{
	pthread_mutex_lock(&http_registry_lock);
	LIST_REMOVE(l, reg);
	pthread_mutex_unlock(&http_registry_lock);
	/* Frees the evconnlistener, which leaves the socket alone. */
	evhttp_del_accept_socket(l->w->srv[l->tls].evh, l->bound);
}

/* Closes a listener and its socket. */
void
http_listener_free(struct http_listener *l)
{
	http_listener_unwrap(l);
	close(l->fd);
	free(l);
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
	http_listeners_update(w);
	evtimer_add(w->resume_ev, &tv);
}

void
http_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;

	w->pause_err = 0;
	http_listeners_update(w);
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
SSL_CTX *
http_tls_ctx_new(const char *cert, const char *key)
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
