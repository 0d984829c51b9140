/*
 * http_worker.c: a serving thread of the feed server: its own base, its
 * plain and TLS evhttp with their bounds, the pipe its owner commands it
 * by, and the drain at stop; also starting the threads and sending them
 * commands.  Apart from http.c, which sets the server up, reloads it and
 * frees it from the owner thread: what is here runs on (or starts) the
 * serving threads.
 *
 * Bounds.  30 s per read or write, 10 s for a whole request (TLS
 * handshake, head and body) from accept or from its first byte on a
 * kept-alive connection (http_listen.c), 8 KiB of request headers, 4 KiB
 * of request body (other methods get 405; a bigger body gets 413 from
 * libevent), HTTP_MAX_CONNS connections split across the threads (a
 * thread at its share stops accepting until one closes), accept paused
 * for a second on EMFILE, ENFILE or any other non-transient error.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http_int.h"
#include "log.h"
#include "util.h"

#define HTTP_TIMEOUT_S		30
/*
 * libevent's read timeout restarts with every byte, so alone it lets a
 * client take hours over 8 KiB of headers.  A client sends its request
 * in one segment as soon as it connects (PAN-OS does); 10 s still leaves
 * room for a TLS handshake and three lost segments (1 + 2 + 4 s of
 * retransmission).  Shorter than HTTP_TIMEOUT_S on purpose: a connection
 * that never completes a request always ends by this deadline, and is
 * counted, never by the read timeout; only kept-alive idle connections
 * (no byte of a next request yet) are left to that one.
 */
#define HTTP_REQUEST_TIMEOUT_S	10
#define HTTP_MAX_HEADERS	8192
#define HTTP_MAX_BODY		4096
#define HTTP_MAX_CONNS		4096	/* all threads together */
#define HTTP_MIN_CONNS		64	/* per thread, whatever the split */
#define HTTP_DRAIN_S		5	/* grace for replies at stop */
#define HTTP_DRAIN_TICK_MS	100

static void	drain_tick(evutil_socket_t, short, void *);
static void	worker_ctl(evutil_socket_t, short, void *);
static int	worker_server(struct http_worker *, int);
static int	worker_base(struct http_worker *);
static void	*worker_main(void *);
static void	worker_relisten(struct http_worker *);

int	http_request_timeout_ms = HTTP_REQUEST_TIMEOUT_S * 1000;

/*
 * Stops accepting and ends every connection that is not sending a reply;
 * the others end after their reply ("Connection: close" while draining).
 * Ticks until all are gone or HTTP_DRAIN_S has passed; a quitting thread
 * then leaves its loop.
 */
void
http_worker_drain(struct http_worker *w)
{
	struct http_conn	*c, *next;
	struct bufferevent	*bev;
	struct timeval		 tick = { 0, HTTP_DRAIN_TICK_MS * 1000 };

	http_listeners_close(w);
	if (!w->stopping) {
		w->stopping = 1;
		w->deadline = http_mono_now() + HTTP_DRAIN_S;
	}
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		bev = evhttp_connection_get_bufferevent(c->evcon);
		/* Nothing queued: idle keep-alive, or a request arriving. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			evhttp_connection_free(c->evcon);	/* frees c */
	}
	if (atomic_load(&w->nconns) == 0 || http_mono_now() >= w->deadline) {
		if (w->quitting)
			event_base_loopbreak(w->base);
		return;
	}
	evtimer_add(w->drain_ev, &tick);
}

static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
	http_worker_drain(arg);
}

/*
 * Commands from the owner: 'c' close and drain (acked), 'q' quit, 'r'
 * apply the queued listen plans (acked).
 */
static void
worker_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker	*w = arg;
	struct http		*h = w->h;
	char			 cmd[16];
	ssize_t			 n, i;

	while ((n = read(fd, cmd, sizeof(cmd))) > 0) {
		for (i = 0; i < n; i++) {
			if (cmd[i] == 'r')
				worker_relisten(w);
			else {
				if (cmd[i] == 'q')
					w->quitting = 1;
				http_worker_drain(w);
			}
			if (cmd[i] != 'c' && cmd[i] != 'r')
				continue;
			pthread_mutex_lock(&h->ack_lock);
			h->acks++;
			pthread_cond_broadcast(&h->ack_cond);
			pthread_mutex_unlock(&h->ack_lock);
		}
	}
}

/* Applies, in order, the listen plans the owner queued for w. */
static void
worker_relisten(struct http_worker *w)
{
	STAILQ_HEAD(, http_relisten)	 q = STAILQ_HEAD_INITIALIZER(q);
	struct http_relisten		*p;

	pthread_mutex_lock(&w->h->ack_lock);
	STAILQ_CONCAT(&q, &w->relisten);
	pthread_mutex_unlock(&w->h->ack_lock);
	while ((p = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		http_relisten_apply(w, p);
		http_relisten_free(p);
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
	evhttp_set_gencb(srv->evh, http_on_request, srv);
	evhttp_set_bevcb(srv->evh, http_conn_bev, srv);
	/* Every bit: unknown methods reach http_on_request, get 405. */
	evhttp_set_allowed_methods(srv->evh, 0xffff);
	evhttp_set_timeout(srv->evh, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(srv->evh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(srv->evh, HTTP_MAX_BODY);
	evhttp_set_default_content_type(srv->evh, HTTP_CT_TEXT);
	return (0);
}

/* A serving thread's own base and the pipe its owner commands it by. */
static int
worker_base(struct http_worker *w)
{
	struct event_config	*cfg;

	if ((cfg = event_config_new()) == NULL)
		return (-1);
	/* Only this thread ever touches its base: no locks. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	/*
	 * evhttp turns reading off and writing on for each reply, then
	 * back: the changelist makes each pair one epoll_ctl.  Its caveat,
	 * dup()ed fds, does not apply: no fd of this base is one.
	 */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		return (-1);
	w->own_base = 1;
	if (pipe2(w->ctl, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("%s: pipe", __func__);
		return (-1);
	}
	if ((w->ctl_ev = event_new(w->base, w->ctl[0], EV_READ | EV_PERSIST,
	    worker_ctl, w)) == NULL || event_add(w->ctl_ev, NULL) == -1)
		return (-1);
	return (0);
}

/* Sets up one serving thread's base, events and servers (not started). */
int
http_worker_init(struct http *h, struct http_worker *w, size_t idx)
{
	size_t	i;

	w->h = h;
	w->idx = idx;
	w->ctl[0] = w->ctl[1] = -1;
	TAILQ_INIT(&w->conns);
	STAILQ_INIT(&w->relisten);
	atomic_init(&w->nconns, 0);
	w->request_tv.tv_sec = http_request_timeout_ms / 1000;
	w->request_tv.tv_usec = http_request_timeout_ms % 1000 * 1000;
	w->maxconns = HTTP_MAX_CONNS / h->nworkers;
	if (w->maxconns < HTTP_MIN_CONNS)
		w->maxconns = HTTP_MIN_CONNS;
	if (h->inline_mode)
		w->base = h->base;
	else if (worker_base(w) == -1)
		return (-1);
	/*
	 * Every deadline of this base has the same length: libevent keeps
	 * such timers in one queue, so adding and deleting one per request
	 * costs O(1) instead of a heap operation.
	 */
	if ((w->request_ctv = event_base_init_common_timeout(w->base,
	    &w->request_tv)) == NULL)
		w->request_ctv = &w->request_tv;
	w->pending = xcalloc(w->maxconns, sizeof(*w->pending));
	w->cd = xcalloc(1, sizeof(*w->cd));
	if ((w->pending_ev = event_new(w->base, -1, 0, http_conn_pending,
	    w)) == NULL ||
	    (w->resume_ev = evtimer_new(w->base, http_accept_resume,
	    w)) == NULL ||
	    (w->drain_ev = evtimer_new(w->base, drain_tick, w)) == NULL)
		return (-1);
	/* Both, so that a reload can add either kind of listen. */
	for (i = 0; i < 2; i++)
		if (worker_server(w, (int)i) == -1)
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

/* Frees what http_worker_init() made; the thread, if any, has ended. */
void
http_worker_free(struct http_worker *w)
{
	struct http_relisten	*p;
	size_t			 i;

	if (w->base == NULL)
		return;
	while ((p = STAILQ_FIRST(&w->relisten)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->relisten, entry);
		http_relisten_free(p);
	}
	/* Drop the references pending connections still hold. */
	if (w->pending_ev != NULL)
		http_conn_pending(-1, 0, w);
	http_listeners_close(w);
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
int
http_workers_start(struct http *h)
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
void
http_workers_send(struct http *h, char cmd)
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

/*
 * Sends an acked command to every running serving thread; returns once
 * each has acked it, or after 5 s.
 */
void
http_workers_command(struct http *h, char cmd)
{
	struct timespec	ts;
	size_t		i, n = 0;

	for (i = 0; i < h->nworkers; i++)
		n += h->workers[i].started;
	pthread_mutex_lock(&h->ack_lock);
	h->acks = 0;
	pthread_mutex_unlock(&h->ack_lock);
	http_workers_send(h, cmd);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&h->ack_lock);
	while (h->acks < n)
		if (pthread_cond_timedwait(&h->ack_cond, &h->ack_lock,
		    &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->ack_lock);
}
