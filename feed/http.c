/*
 * http.c: the feed server: its setup, its serving threads and the calls
 * of http.h.  The other parts, sharing http_int.h: http_listen.c
 * (listening sockets, connection cap, TLS), http_route.c (the request
 * callback and plain replies), http_feed.c (feeds), http_auth.c (HTTP
 * Basic), http_pages.c (/, /status, /readyz), http_metrics.c (/metrics).
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
 * listeners and drain, 'q': drain and leave the loop, 'r': apply the
 * listen plans queued for the thread, see http_listen.c).
 *
 * Shared state.  The site, the htpasswd users and the TLS context are
 * swapped by the owner under h->lock; each request takes its own
 * references, so an old site lives on until its last request is done.
 * A reload (http_reload) first does all that can fail (binding new
 * listens, loading the TLS certificate) and changes nothing unless all
 * of it succeeds.
 * Snapshots go out with evbuffer_add_reference(), never copied; the
 * cleanup callback drops the reply's snapshot reference.
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

#include "conf.h"
#include "http.h"
#include "http_int.h"
#include "log.h"
#include "site.h"
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
#define HTTP_THREADS_MAX	64
#define HTTP_DRAIN_S		5	/* grace for replies at stop */
#define HTTP_DRAIN_TICK_MS	100

static void	stats_register(struct http *, struct site *);
static void	worker_drain(struct http_worker *);
static void	drain_tick(evutil_socket_t, short, void *);
static void	worker_ctl(evutil_socket_t, short, void *);
static int	worker_server(struct http_worker *, int);
static int	worker_base(struct http_worker *);
static int	worker_init(struct http *, struct http_worker *, size_t);
static void	*worker_main(void *);
static void	worker_free(struct http_worker *);
static int	workers_start(struct http *);
static void	workers_send(struct http *, char);
static void	workers_command(struct http *, char);
static void	worker_relisten(struct http_worker *);
static int	http_copy_conf(struct http *, const struct conf *);
static int	listens_bind(struct http *, const struct conf *);
static void	listens_log(const struct http *, const struct http_listen *,
		    size_t);
static int	listens_tls(const struct conf *);
static void	server_swap(struct http *, const struct conf *,
		    struct site *, SSL_CTX *);

int	http_request_timeout_ms = HTTP_REQUEST_TIMEOUT_S * 1000;

/* Seconds on the monotonic clock. */
time_t
http_mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

/* Adds a stats slot for each new feed name (owner thread only). */
static void
stats_register(struct http *h, struct site *site)
{
	size_t	i, n;

	for (i = 0; i < site->nfeeds; i++) {
		n = atomic_load_explicit(&h->nstats, memory_order_relaxed);
		if (http_stats_find(h, site->feeds[i].name) != 0)
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
	worker_drain(arg);
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
				worker_drain(w);
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
static int
worker_init(struct http *h, struct http_worker *w, size_t idx)
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

/* Frees what worker_init() made; the thread, if any, has ended. */
static void
worker_free(struct http_worker *w)
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

/*
 * Sends an acked command to every running serving thread; returns once
 * each has acked it, or after 5 s.
 */
static void
workers_command(struct http *h, char cmd)
{
	struct timespec	ts;
	size_t		i, n = 0;

	for (i = 0; i < h->nworkers; i++)
		n += h->workers[i].started;
	pthread_mutex_lock(&h->ack_lock);
	h->acks = 0;
	pthread_mutex_unlock(&h->ack_lock);
	workers_send(h, cmd);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&h->ack_lock);
	while (h->acks < n)
		if (pthread_cond_timedwait(&h->ack_cond, &h->ack_lock,
		    &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->ack_lock);
}

/* 1 when a listen of conf wants TLS. */
static int
listens_tls(const struct conf *conf)
{
	size_t	i;

	for (i = 0; i < conf->nlistens; i++)
		if (conf->listens[i].tls)
			return (1);
	return (0);
}

/* Copies what the server keeps of conf (paths); dies on ENOMEM. */
static int
http_copy_conf(struct http *h, const struct conf *conf)
{
	h->access_log = conf->access_log;
	if (conf->auth_file != NULL)
		h->auth_file = xstrdup(conf->auth_file);
	if (conf->tls_certificate != NULL)
		h->tls_cert = xstrdup(conf->tls_certificate);
	if (conf->tls_key != NULL)
		h->tls_key = xstrdup(conf->tls_key);
	if (listens_tls(conf) &&
	    (h->tls = http_tls_ctx_new(h->tls_cert, h->tls_key)) == NULL)
		return (-1);
	return (0);
}

/* Binds and serves every listen of conf (threads not started yet). */
static int
listens_bind(struct http *h, const struct conf *conf)
{
	struct http_relisten	**plans;
	size_t			  i, failed = 0;

	plans = xcalloc(h->nworkers, sizeof(*plans));
	if (http_listens_plan(h, conf, &h->listens, &h->nlistens,
	    plans) == -1) {
		free(plans);
		return (-1);
	}
	for (i = 0; i < h->nworkers; i++) {
		failed += http_relisten_apply(&h->workers[i], plans[i]);
		http_relisten_free(plans[i]);
	}
	free(plans);
	h->port = h->listens[0].port;
	return (failed > 0 ? -1 : 0);
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
	size_t		 i;

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
		h->pw = http_pw_load(h->auth_file);	/* NULL: 503 for now */
	http_check_users(h, site);
	stats_register(h, site);
	for (i = 0; i < h->nworkers; i++)
		if (worker_init(h, &h->workers[i], i) == -1) {
			log_warnx("cannot set up serving thread %zu", i);
			goto fail;
		}
	if (listens_bind(h, conf) == -1)
		goto fail;
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

/* The PAN-OS targets /status shows (borrowed). */
void
http_set_push(struct http *h, struct push *push)
{
	pthread_mutex_lock(&h->lock);
	h->push = push;
	pthread_mutex_unlock(&h->lock);
}

/*
 * Swaps in the site, the paths and the users of conf, and ctx (NULL:
 * no TLS listen).  An auth file that cannot be read leaves the users
 * read before in place, as at start it leaves none (503).
 */
static void
server_swap(struct http *h, const struct conf *conf, struct site *site,
    SSL_CTX *ctx)
{
	struct htpasswd	*pw = NULL, *oldpw = NULL;
	SSL_CTX		*oldctx;
	struct site	*old;
	int		 keep_pw = 0;

	free(h->auth_file);
	free(h->tls_cert);
	free(h->tls_key);
	h->auth_file = conf->auth_file ? xstrdup(conf->auth_file) : NULL;
	h->tls_cert = conf->tls_certificate ?
	    xstrdup(conf->tls_certificate) : NULL;
	h->tls_key = conf->tls_key ? xstrdup(conf->tls_key) : NULL;
	stats_register(h, site);
	http_check_users(h, site);
	if (h->auth_file != NULL && (pw = http_pw_load(h->auth_file)) ==
	    NULL) {
		log_warnx("%s: keeping the users read before", h->auth_file);
		keep_pw = 1;
	}
	pthread_mutex_lock(&h->lock);
	old = h->site;
	h->site = site_ref(site);
	if (!keep_pw) {
		oldpw = h->pw;
		h->pw = pw;
	}
	oldctx = h->tls;
	h->tls = ctx;
	pthread_mutex_unlock(&h->lock);
	site_unref(old);
	http_pw_unref(oldpw);
	SSL_CTX_free(oldctx);	/* sessions made from it hold their own */
}

/* Logs what a reload changes of the listens: old is h->listens. */
static void
listens_log(const struct http *h, const struct http_listen *nl, size_t n)
{
	const struct http_listen	*l;
	size_t				 i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < h->nlistens; j++)
			if (h->listens[j].id == nl[i].id)
				break;
		l = j < h->nlistens ? &h->listens[j] : NULL;
		if (l == NULL)
			log_info("reload: listening on %s port %d%s",
			    nl[i].host, nl[i].port, nl[i].tls ? " (tls)" : "");
		else if (l->tls != nl[i].tls)
			log_info("reload: %s port %d is now %s", nl[i].host,
			    nl[i].port, nl[i].tls ? "tls" : "plain http");
	}
	for (j = 0; j < h->nlistens; j++) {
		for (i = 0; i < n; i++)
			if (nl[i].id == h->listens[j].id)
				break;
		if (i == n)
			log_info("reload: no longer listening on %s port %d",
			    h->listens[j].host, h->listens[j].port);
	}
}

/*
 * A reload: serve site, and the listens, TLS certificate and auth file
 * of conf.  New listens are bound and the certificate loaded first; if
 * any of that fails (logged) nothing changes and -1 is returned.
 */
int
http_reload(struct http *h, const struct conf *conf, struct site *site)
{
	struct http_relisten	**plans;
	struct http_listen	 *nl;
	SSL_CTX			 *ctx = NULL;
	size_t			  i, n;

	plans = xcalloc(h->nworkers, sizeof(*plans));
	if (http_listens_plan(h, conf, &nl, &n, plans) == -1) {
		free(plans);
		return (-1);
	}
	if (listens_tls(conf) && (ctx = http_tls_ctx_new(conf->tls_certificate,
	    conf->tls_key)) == NULL) {
		log_warnx("cannot load tls-certificate %s with tls-key %s; "
		    "the certificate in use stays", conf->tls_certificate ?
		    conf->tls_certificate : "(none)", conf->tls_key ?
		    conf->tls_key : "(none)");
		for (i = 0; i < h->nworkers; i++)
			http_relisten_free(plans[i]);
		http_listens_free(nl, n);
		free(plans);
		return (-1);
	}
	/* Nothing fails from here on. */
	server_swap(h, conf, site, ctx);
	if (h->inline_mode) {
		http_relisten_apply(&h->workers[0], plans[0]);
		http_relisten_free(plans[0]);
	} else {
		pthread_mutex_lock(&h->ack_lock);
		for (i = 0; i < h->nworkers; i++)
			STAILQ_INSERT_TAIL(&h->workers[i].relisten, plans[i],
			    entry);
		pthread_mutex_unlock(&h->ack_lock);
		workers_command(h, 'r');
	}
	free(plans);
	listens_log(h, nl, n);
	http_listens_free(h->listens, h->nlistens);
	h->listens = nl;
	h->nlistens = n;
	h->port = nl[0].port;
	return (0);
}

/*
 * Stops accepting; connections not sending a reply are closed, the rest
 * finish their reply.  Returns once every serving thread has closed its
 * sockets (or after 5 s).
 */
void
http_close_listeners(struct http *h)
{
	if (h->inline_mode) {
		worker_drain(&h->workers[0]);
		return;
	}
	workers_command(h, 'c');
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
	http_pw_unref(h->pw);
	SSL_CTX_free(h->tls);
	http_listens_free(h->listens, h->nlistens);
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
