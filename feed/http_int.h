/*
 * http_int.h: what the files of the feed server share, and nothing else
 * includes.  http.c sets up and reloads the server and is the public side
 * (http.h); http_worker.c has the serving threads; http_listen.c the
 * listening sockets, the connection cap and TLS; http_relisten.c which
 * sockets each thread listens on; http_route.c the request callback,
 * routing and plain replies; http_feed.c the feed replies; http_auth.c
 * HTTP Basic; http_pages.c /, /status and /readyz; http_metrics.c
 * /metrics.  The unit test includes it too, for http_request_timeout_ms.
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#define HTTP_USER_MAX		256
#define HTTP_MAX_STATS		256	/* feed names counted, ever */
#define HTTP_NCODES		10
#define AUTH_CACHE_N		64
#define HTTP_RETRY_AFTER	"30"
#define HTTP_CT_TEXT		"text/plain; charset=utf-8"
#define HTTP_CT_HTML		"text/html; charset=utf-8"
#define HTTP_CT_JSON		"application/json"
#define HTTP_CT_PROM		"text/plain; version=0.0.4; charset=utf-8"

struct bufferevent;
struct crypt_data;
struct event;
struct event_base;
struct evbuffer;
struct evbuffer_cb_entry;
struct evconnlistener;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;
struct htpasswd;
struct site;
struct site_feed;
struct conf;
struct http;
struct http_worker;

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

/*
 * A listen as the owner thread knows it.  Its id names its sockets on
 * every serving thread, and stays the same across reloads that keep its
 * address.
 */
struct http_listen {
	unsigned		 id;
	char			*host;		/* as configured */
	int			 port;		/* the bound one, for port 0 */
	int			 tls;
	struct sockaddr_storage	 ss;		/* host and port */
	socklen_t		 sl;
};

/*
 * One listening socket of a serving thread.  It owns fd: the
 * evconnlistener never closes it, so that a reload can move the socket
 * between the plain and the TLS evhttp without closing it.
 */
struct http_listener {
	LIST_ENTRY(http_listener) reg;
	struct http_worker	*w;
	unsigned		 id;		/* its struct http_listen */
	evutil_socket_t		 fd;
	struct sockaddr_storage	 ss;		/* bound to */
	struct evconnlistener	*lev;
	struct evhttp_bound_socket *bound;
	int			 tls;
	int			 going;		/* closing or changing tls */
};

/*
 * The listens a serving thread is to have, in order: made by the owner
 * (http_listens_plan), handed over under h->ack_lock and applied on the
 * thread (http_relisten_apply).  An item with fd -1 keeps the thread's
 * socket of that id; any other fd is a new socket, bound and listening,
 * owned by the item until applied.
 */
struct http_relisten_item {
	unsigned		 id;
	int			 tls;
	evutil_socket_t		 fd;
	struct sockaddr_storage	 ss;
};

struct http_relisten {
	STAILQ_ENTRY(http_relisten) entry;
	size_t			 n;
	struct http_relisten_item items[];
};

/* Where a connection is in its request deadline (http_listen.c). */
enum http_conn_phase {
	HTTP_CONN_REQUEST,	/* a request is due: the deadline runs */
	HTTP_CONN_REPLY,	/* a reply is being sent */
	HTTP_CONN_IDLE		/* kept alive, no byte of a next request yet */
};

/* A counted connection, known once http_conn_pending() has seen it. */
struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_worker	*w;
	struct evhttp_connection *evcon;
	struct evbuffer		*in;		/* the bufferevent's */
	struct evbuffer		*out;
	struct evbuffer_cb_entry *in_cb;
	struct evbuffer_cb_entry *out_cb;
	enum http_conn_phase	 phase;
	int			 retired;	/* its listen is gone: close
						 * once the reply is out */
	int			 closing;	/* deadline fires to close */
	struct event		*deadline;	/* lives in ev[] */
	max_align_t		 ev[];	/* event_get_struct_event_size() */
};

/* An accepted socket's bufferevent, waiting for http_conn_pending(). */
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
	struct http_listener	**ls;		/* NULL: failed or closed */
	size_t			 nls;
	STAILQ_HEAD(, http_relisten) relisten;	/* under h->ack_lock */
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
	struct timeval		 request_tv;	/* http_request_timeout_ms */
	const struct timeval	*request_ctv;	/* the same, a common timeout */
	int			 pause_cap;	/* at the connection cap */
	int			 pause_err;	/* accept failed; timer runs */
	int			 closed;	/* listeners gone */
	int			 stopping;	/* draining */
	int			 quitting;	/* leave the loop, drained */
	time_t			 deadline;
	struct crypt_data	*cd;
	struct auth_verdict	 verdicts[AUTH_CACHE_N];
	time_t			 lm;		/* the date lm_text shows */
	char			 lm_text[40];
	time_t			 date;		/* the date date_text shows */
	char			 date_text[40];
};

struct http_stat {
	char		*name;		/* NULL: requests outside /feeds */
	atomic_ullong	 codes[HTTP_NCODES];
};

struct http {
	struct event_base	*base;
	pthread_mutex_t		 lock;		/* site, pw, tls and push */
	struct site		*site;
	struct push		*push;		/* borrowed; NULL: none */
	struct htpasswd		*pw;
	SSL_CTX			*tls;
	char			*auth_file;
	char			*tls_cert;
	char			*tls_key;
	int			 access_log;
	int			 inline_mode;
	int			 port;
	struct http_listen	*listens;	/* owner thread only */
	size_t			 nlistens;
	unsigned		 listen_ids;	/* the last id given */
	struct http_worker	*workers;
	size_t			 nworkers;
	int64_t			 started_ms;
	pthread_mutex_t		 ack_lock;
	pthread_cond_t		 ack_cond;
	size_t			 acks;
	struct http_stat	 stats[HTTP_MAX_STATS];
	atomic_size_t		 nstats;
	atomic_ullong		 request_timeouts; /* closed by the deadline */
};

/* One request, from the callback to the access log line. */
struct http_rq {
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

/* Status codes counted per feed; the last slot counts any other. */
extern const int	 http_codes[HTTP_NCODES];

/* http.c */
time_t		 http_mono_now(void);

/* http_worker.c: the serving threads and the owner's commands to them. */
extern int	 http_request_timeout_ms;	/* tests shorten it */
void		 http_worker_drain(struct http_worker *);
int		 http_worker_init(struct http *, struct http_worker *, size_t);
void		 http_worker_free(struct http_worker *);
int		 http_workers_start(struct http *);
void		 http_workers_send(struct http *, char);
void		 http_workers_command(struct http *, char);

/* http_listen.c: accepting, counting connections, TLS. */
struct bufferevent *http_conn_bev(struct event_base *, void *);
void		 http_conn_pending(evutil_socket_t, short, void *);
void		 http_conn_retire(struct http_conn *);
size_t		 http_connections(struct http *);
void		 http_listeners_update(struct http_worker *);
void		 http_listeners_close(struct http_worker *);
int		 http_listener_wrap(struct http_listener *);
void		 http_listener_unwrap(struct http_listener *);
void		 http_listener_free(struct http_listener *);
void		 http_accept_resume(evutil_socket_t, short, void *);
SSL_CTX		*http_tls_ctx_new(const char *, const char *);

/* http_relisten.c: the listens planned by the owner, applied per thread. */
int		 http_listens_plan(struct http *, const struct conf *,
		    struct http_listen **, size_t *, struct http_relisten **);
void		 http_listens_free(struct http_listen *, size_t);
size_t		 http_relisten_apply(struct http_worker *,
		    struct http_relisten *);
void		 http_relisten_free(struct http_relisten *);

/* http_route.c: every request, and the replies that copy their body. */
void		 http_on_request(struct evhttp_request *, void *);
size_t		 http_stats_find(struct http *, const char *);
void		 http_common_headers(struct http_rq *);
void		 http_send(struct http_rq *, int, const char *, size_t);
void		 http_reply(struct http_rq *, int, const char *, const char *,
		    size_t);
void		 http_reply_error(struct http_rq *, int, const char *);
void		 http_reply_not_ready(struct http_rq *);

/* http_feed.c: /feeds/NAME and /feeds/NAME/dropped. */
void		 http_serve_feed(struct http_rq *, struct site_feed *);
void		 http_serve_dropped(struct http_rq *, struct site_feed *);

/* http_auth.c: HTTP Basic against the auth file. */
int		 http_auth_check(struct http_rq *, struct site_feed *);
struct htpasswd	*http_pw_load(const char *);
void		 http_pw_unref(struct htpasswd *);
void		 http_check_users(struct http *, struct site *);

/* http_pages.c and http_metrics.c: the pages for people and tools. */
void		 http_page_index(struct http_rq *);
void		 http_page_status(struct http_rq *);
void		 http_page_readyz(struct http_rq *);
void		 http_page_metrics(struct http_rq *);

#endif
