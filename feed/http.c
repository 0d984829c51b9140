/*
 * http.c: the feed server: its setup, its reload and the calls of
 * http.h.  The other parts, sharing http_int.h: http_worker.c (a serving
 * thread: its base, its evhttp pair and their bounds, its commands),
 * http_listen.c (accepting, connection cap, request deadline, TLS),
 * http_relisten.c (which sockets each thread listens on), http_route.c
 * (the request callback and plain replies), http_feed.c (feeds),
 * http_auth.c (HTTP Basic), http_pages.c (/, /status, /readyz),
 * http_metrics.c (/metrics).
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
 * listen plans queued for the thread, see http_relisten.c).
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
 * Bounds: see http_worker.c.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "conf.h"
#include "http.h"
#include "http_int.h"
#include "log.h"
#include "site.h"
#include "util.h"

#define HTTP_THREADS_MAX	64

static void	stats_register(struct http *, struct site *);
static int	http_copy_conf(struct http *, const struct conf *);
static int	listens_bind(struct http *, const struct conf *);
static void	listens_log(const struct http *, const struct http_listen *,
		    size_t);
static int	listens_tls(const struct conf *);
static void	server_swap(struct http *, const struct conf *,
		    struct site *, SSL_CTX *);

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
		if (http_worker_init(h, &h->workers[i], i) == -1) {
			log_warnx("cannot set up serving thread %zu", i);
			goto fail;
		}
	if (listens_bind(h, conf) == -1)
		goto fail;
	if (!h->inline_mode && http_workers_start(h) == -1)
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
		http_workers_command(h, 'r');
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
		http_worker_drain(&h->workers[0]);
		return;
	}
	http_workers_command(h, 'c');
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
	http_workers_send(h, 'q');
	for (i = 0; i < h->nworkers; i++)
		if (h->workers[i].started)
			pthread_join(h->workers[i].thread, NULL);
	for (i = 0; i < h->nworkers; i++)
		http_worker_free(&h->workers[i]);
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
