/*
 * http_relisten.c: which sockets each serving thread listens on, at start
 * and at each reload: the listens of a conf are matched against those in
 * use, new ones are bound, and each thread gets a plan to apply.  Apart
 * from http_listen.c, which serves the sockets (accepting, the connection
 * cap, the request deadline, TLS): this file decides, binds and hands
 * sockets over, and has no part in a connection once accepted but to
 * retire those of a listen that goes.
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
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "conf.h"
#include "http_int.h"
#include "log.h"
#include "util.h"

#define HTTP_BACKLOG		1024

static struct http_listener *conn_listener(struct http_worker *,
		    struct http_conn *);
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
static struct http_listener *listener_take(struct http_worker *, unsigned);
static void	listeners_mark(struct http_worker *, struct http_relisten *);

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
	if (http_listener_wrap(l) == -1) {
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
			http_conn_retire(c);
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
			http_listener_unwrap(l);
			l->tls = it->tls;
			l->going = 0;
			if (http_listener_wrap(l) == -1) {
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
			http_listener_free(w->ls[i]);
	free(w->ls);
	w->ls = ls;
	w->nls = p->n;
	http_listeners_update(w);
	return (failed);
}
