/*
 * http_listen.c: the listening sockets of a serving thread, the cap on
 * its connections, and TLS.
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
 *
 * Reload.  The owner thread binds the sockets of new listens itself
 * (plain system calls, one socket per serving thread), so that a listen
 * that cannot be bound is known before anything changes; each thread
 * then applies its plan on its own base (http_relisten_apply): new
 * sockets are served, sockets whose listen is gone are closed, and those
 * kept are left alone, or moved between the plain and the TLS evhttp
 * when only the tls flag changed.  Connections accepted on a socket that
 * goes finish the reply they are sending and are then closed.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "http_int.h"
#include "log.h"
#include "util.h"

#define HTTP_BACKLOG		1024
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
static void	conn_retire(struct http_conn *);
static struct http_listener *conn_listener(struct http_worker *,
		    struct http_conn *);
static void	listeners_update(struct http_worker *);
static int	addr_parse(const char *, int, struct sockaddr_storage *,
		    socklen_t *);
static int	bound_port(evutil_socket_t);
static int	sa_match(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static void	sa_set_port(struct sockaddr_storage *, int);
static evutil_socket_t listen_socket(const struct sockaddr_storage *,
		    socklen_t, int);
static int	listen_open(struct http *, struct http_listen *,
		    struct http_relisten **, size_t);
static const struct http_listen *listen_find(const struct http *,
		    const struct http_listen *);
static struct http_listener *listener_new(struct http_worker *,
		    const struct http_relisten_item *);
static int	listener_wrap(struct http_listener *);
static void	listener_unwrap(struct http_listener *);
static void	listener_free(struct http_listener *);
static struct http_listener *listener_take(struct http_worker *, unsigned);
static void	listeners_mark(struct http_worker *, struct http_relisten *);
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
		listeners_update(w);
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
	event_add(c->deadline, &c->w->request_tv);
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
		listeners_update(w);
	}
	if (w->quitting && n == 0)
		event_base_loopbreak(w->base);
}

/*
 * A connection whose listen is gone: an idle one is closed now, any
 * other once its reply is out (conn_output).
 */
static void
conn_retire(struct http_conn *c)
{
	if (c->phase == HTTP_CONN_IDLE && evbuffer_get_length(c->in) == 0)
		evhttp_connection_free(c->evcon);	/* frees c */
	else
		c->retired = 1;
}

/*
 * The listener of w that accepted c, as the kernel chose it: the one
 * bound to c's local address, else the wildcard one on its port.
 */
static struct http_listener *
conn_listener(struct http_worker *w, struct http_conn *c)
{
	struct sockaddr_storage	 ss;
	struct http_listener	*any = NULL;
	socklen_t		 sl = sizeof(ss);
	size_t			 i;
	int			 m;

	if (getsockname(bufferevent_getfd(evhttp_connection_get_bufferevent(
	    c->evcon)), (struct sockaddr *)&ss, &sl) == -1)
		return (NULL);
	for (i = 0; i < w->nls; i++) {
		if (w->ls[i] == NULL)
			continue;
		if ((m = sa_match(&w->ls[i]->ss, &ss)) == 2)
			return (w->ls[i]);
		if (m == 1)
			any = w->ls[i];
	}
	return (any);
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
void
http_listeners_close(struct http_worker *w)
{
	struct http_listener	*l;
	size_t			 i;

	w->closed = 1;
	for (i = 0; i < w->nls; i++) {
		if ((l = w->ls[i]) == NULL)
			continue;
		listener_free(l);
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
 * 2 when local is bound's address and port, 1 when bound is the
 * wildcard address of local's family on local's port, else 0.
 */
static int
sa_match(const struct sockaddr_storage *bound,
    const struct sockaddr_storage *local)
{
	const struct sockaddr_in	*b4, *l4;
	const struct sockaddr_in6	*b6, *l6;

	if (bound->ss_family != local->ss_family)
		return (0);
	if (bound->ss_family == AF_INET) {
		b4 = (const struct sockaddr_in *)bound;
		l4 = (const struct sockaddr_in *)local;
		if (b4->sin_port != l4->sin_port)
			return (0);
		if (b4->sin_addr.s_addr == l4->sin_addr.s_addr)
			return (2);
		return (b4->sin_addr.s_addr == htonl(INADDR_ANY));
	}
	if (bound->ss_family != AF_INET6)
		return (0);
	b6 = (const struct sockaddr_in6 *)bound;
	l6 = (const struct sockaddr_in6 *)local;
	if (b6->sin6_port != l6->sin6_port)
		return (0);
	if (memcmp(&b6->sin6_addr, &l6->sin6_addr, sizeof(b6->sin6_addr)) ==
	    0)
		return (2);
	return (IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr));
}

static void
sa_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* A socket bound to ss and listening; -1 with errno set on failure. */
static evutil_socket_t
listen_socket(const struct sockaddr_storage *ss, socklen_t sl, int reuseport)
{
	evutil_socket_t	fd;
	int		one = 1, e;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	/* Each serving thread has a socket of its own on the address. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1) ||
	    /* So that [::]:P and 0.0.0.0:P can both be listened on. */
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)ss, sl) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	return (fd);
}

/*
 * Binds listen l's socket for every serving thread into item i of
 * their plans.  The first socket resolves port 0 to a real port, which
 * the others then bind too.  Logs and returns -1 on failure.
 */
static int
listen_open(struct http *h, struct http_listen *l,
    struct http_relisten **plans, size_t i)
{
	struct http_relisten_item	*it;
	size_t				 j;

	for (j = 0; j < h->nworkers; j++) {
		it = &plans[j]->items[i];
		if ((it->fd = listen_socket(&l->ss, l->sl,
		    h->nworkers > 1)) == -1) {
			log_warn("cannot listen on %s port %d", l->host,
			    l->port);
			return (-1);
		}
		if (l->port == 0) {
			l->port = bound_port(it->fd);
			sa_set_port(&l->ss, l->port);
		}
	}
	return (0);
}

/* The listen in use on the address of l (never one on port 0). */
static const struct http_listen *
listen_find(const struct http *h, const struct http_listen *l)
{
	size_t	i;

	for (i = 0; i < h->nlistens; i++)
		if (sa_match(&h->listens[i].ss, &l->ss) == 2 &&
		    h->listens[i].sl == l->sl)
			return (&h->listens[i]);
	return (NULL);
}

/*
 * The listens of conf against those in use (owner thread): a listen on
 * an address in use keeps its id and its sockets, whatever its tls flag;
 * any other gets a new id and a socket per serving thread, bound now.
 * On success *outp (n entries) is the new listen table and plans[j] the
 * plan of thread j, each for the caller to free.  On failure (logged)
 * nothing is left open and -1 is returned.
 */
int
http_listens_plan(struct http *h, const struct conf *conf,
    struct http_listen **outp, size_t *np, struct http_relisten **plans)
{
	const struct http_listen	*old;
	struct http_listen		*nl, *l;
	struct http_relisten_item	*it;
	size_t				 i, j, n = conf->nlistens;

	if (n == 0) {
		log_warnx("no listen address");
		return (-1);
	}
	nl = xcalloc(n, sizeof(*nl));
	for (j = 0; j < h->nworkers; j++) {
		plans[j] = xcalloc(1, sizeof(*plans[j]) +
		    n * sizeof(plans[j]->items[0]));
		plans[j]->n = n;
		for (i = 0; i < n; i++)
			plans[j]->items[i].fd = -1;
	}
	for (i = 0; i < n; i++) {
		l = &nl[i];
		l->host = xstrdup(conf->listens[i].host != NULL ?
		    conf->listens[i].host : "");
		l->port = conf->listens[i].port;
		l->tls = conf->listens[i].tls ? 1 : 0;
		if (addr_parse(l->host, l->port, &l->ss, &l->sl) == -1)
			goto fail;
		if (l->port != 0 && (old = listen_find(h, l)) != NULL)
			l->id = old->id;
		else {
			l->id = ++h->listen_ids;
			if (listen_open(h, l, plans, i) == -1)
				goto fail;
		}
		for (j = 0; j < h->nworkers; j++) {
			it = &plans[j]->items[i];
			it->id = l->id;
			it->tls = l->tls;
			it->ss = l->ss;
		}
	}
	*outp = nl;
	*np = n;
	return (0);
 fail:
	for (j = 0; j < h->nworkers; j++) {
		http_relisten_free(plans[j]);
		plans[j] = NULL;
	}
	http_listens_free(nl, n);
	return (-1);
}

void
http_listens_free(struct http_listen *ls, size_t n)
{
	size_t	i;

	if (ls == NULL)
		return;
	for (i = 0; i < n; i++)
		free(ls[i].host);
	free(ls);
}

/* Frees a plan, closing the new sockets it still owns. */
void
http_relisten_free(struct http_relisten *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		if (p->items[i].fd != -1)
			close(p->items[i].fd);
	free(p);
}

/*
 * Serves l->fd on its thread's plain or TLS evhttp.  No
 * LEV_OPT_CLOSE_ON_FREE: the socket is the listener's own.
 */
static int
listener_wrap(struct http_listener *l)
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
static void
listener_unwrap(struct http_listener *l)
{
	pthread_mutex_lock(&http_registry_lock);
	LIST_REMOVE(l, reg);
	pthread_mutex_unlock(&http_registry_lock);
	/* Frees the evconnlistener, which leaves the socket alone. */
	evhttp_del_accept_socket(l->w->srv[l->tls].evh, l->bound);
}

/* Closes a listener and its socket. */
static void
listener_free(struct http_listener *l)
{
	listener_unwrap(l);
	close(l->fd);
	free(l);
}

/* A listener for a new socket of a plan; NULL (logged) on failure. */
static struct http_listener *
listener_new(struct http_worker *w, const struct http_relisten_item *it)
{
	struct http_listener	*l;

	l = xcalloc(1, sizeof(*l));
	l->w = w;
	l->id = it->id;
	l->fd = it->fd;
	l->tls = it->tls;
	l->ss = it->ss;
	if (listener_wrap(l) == -1) {
		log_warnx("http: thread %zu cannot serve listen %u", w->idx,
		    it->id);
		/* Closed, or the kernel would queue connections for it. */
		close(l->fd);
		free(l);
		return (NULL);
	}
	return (l);
}

/* Takes w's listener of this id out of w->ls; NULL when none. */
static struct http_listener *
listener_take(struct http_worker *w, unsigned id)
{
	struct http_listener	*l;
	size_t			 i;

	for (i = 0; i < w->nls; i++)
		if ((l = w->ls[i]) != NULL && l->id == id) {
			w->ls[i] = NULL;
			return (l);
		}
	return (NULL);
}

/*
 * Marks the listeners of w that p closes or moves, and retires the
 * connections they accepted.
 */
static void
listeners_mark(struct http_worker *w, struct http_relisten *p)
{
	struct http_listener	*l;
	struct http_conn	*c, *next;
	size_t			 i, k;

	for (i = 0; i < w->nls; i++) {
		if ((l = w->ls[i]) == NULL)
			continue;
		l->going = 1;
		for (k = 0; k < p->n; k++)
			if (p->items[k].id == l->id)
				l->going = p->items[k].tls != l->tls;
	}
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if ((l = conn_listener(w, c)) != NULL && l->going)
			conn_retire(c);
	}
}

/*
 * Applies plan p on its serving thread (or before the threads start):
 * afterwards w serves exactly p's listens, in its order.  New sockets
 * pass from p to their listener.  Returns how many listens could not be
 * served (each logged).
 */
size_t
http_relisten_apply(struct http_worker *w, struct http_relisten *p)
{
	struct http_relisten_item	*it;
	struct http_listener		**ls, *l;
	size_t				 i, failed = 0;

	if (w->closed)
		return (0);	/* stopping: p's sockets are closed with it */
	listeners_mark(w, p);
	ls = xcalloc(p->n, sizeof(*ls));
	for (i = 0; i < p->n; i++) {
		it = &p->items[i];
		if ((l = listener_take(w, it->id)) != NULL && l->going) {
			/* Same socket, other evhttp: no connection lost. */
			listener_unwrap(l);
			l->tls = it->tls;
			l->going = 0;
			if (listener_wrap(l) == -1) {
				log_warnx("http: thread %zu cannot serve "
				    "listen %u", w->idx, it->id);
				close(l->fd);
				free(l);
				l = NULL;
			}
		} else if (l == NULL && it->fd != -1) {
			l = listener_new(w, it);
			it->fd = -1;
		}
		if ((ls[i] = l) == NULL)
			failed++;
	}
	for (i = 0; i < w->nls; i++)
		if (w->ls[i] != NULL)
			listener_free(w->ls[i]);
	free(w->ls);
	w->ls = ls;
	w->nls = p->n;
	listeners_update(w);
	return (failed);
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

void
http_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;

	w->pause_err = 0;
	listeners_update(w);
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
