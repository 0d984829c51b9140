/*
 * http.h: the feed server (evhttp).  Serves /feeds/NAME, /feeds/NAME/
 * dropped, /, /status, /metrics, /healthz and /readyz from the current
 * site; never blocks on the fetcher.
 */
#ifndef HTTP_H
#define HTTP_H

struct event_base;
struct http;
struct site;
struct conf;
struct push;

/*
 * Binds every listen of conf; serves on conf->threads private threads, or
 * on base itself when threads is 0.  Returns NULL (after logging why)
 * when a listener cannot be set up.
 */
struct http	*http_new(struct event_base *, const struct conf *,
		    struct site *);
/*
 * A reload: serves site from now on (takes a reference), and applies
 * conf's [server] listens, TLS certificate and key, and auth file (read
 * again even when its path is the same).  Listens on an address already
 * served keep their sockets and connections (a changed tls flag moves
 * the socket, unclosed, to the other protocol); new ones are bound
 * before anything changes; removed ones are closed, and connections
 * they accepted end after the reply in progress.  Returns -1, with
 * nothing changed, when a new listen cannot be bound or a TLS listen's
 * certificate and key cannot be loaded (each logged).  An auth file
 * that cannot be read keeps the users read before (logged), as it is no
 * reason to refuse.  threads and access-log keep their values from
 * http_new().  conf is not kept; site stays the caller's too.
 */
int		 http_reload(struct http *, const struct conf *,
		    struct site *);
/*
 * Shows these PAN-OS push targets on /status (borrowed: the caller sets
 * NULL here before freeing them).
 */
void		 http_set_push(struct http *, struct push *);
/* Stops accepting; in-flight replies finish on the serving threads. */
void		 http_close_listeners(struct http *);
void		 http_free(struct http *);
/* The port of the first listen (tests bind port 0), after any reload. */
int		 http_port(const struct http *);

#endif
