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
/* Serves a new site from now on (reload); takes a reference. */
void		 http_set_site(struct http *, struct site *);
/*
 * Shows these PAN-OS push targets on /status (borrowed: the caller sets
 * NULL here before freeing them).
 */
void		 http_set_push(struct http *, struct push *);
/* Stops accepting; in-flight replies finish on the serving threads. */
void		 http_close_listeners(struct http *);
void		 http_free(struct http *);
/* The port of the first listener (tests bind port 0). */
int		 http_port(const struct http *);

#endif
