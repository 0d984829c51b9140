/*
 * curlev.h: libcurl's multi interface driven by a libevent base (the
 * hiperfifo pattern).  Shared by the Lumu client and, later, the PAN-OS
 * client.  Every transfer is bounded: connect and total timeouts, http and
 * https only, no redirects to other protocols, a byte cap enforced while
 * receiving.
 */
#ifndef CURLEV_H
#define CURLEV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct curlev;

struct curlev_request {
	const char	 *url;
	const char	 *method;	/* "GET" (default) or "POST" */
	const char	 *body;		/* POST body, copied by curlev */
	size_t		  bodylen;
	const char	 *content_type;	/* of the body */
	const char *const *headers;	/* extra "Name: value", NULL-ended */
	long		  connect_timeout_ms;
	long		  timeout_ms;
	size_t		  max_bytes;	/* response body cap */
	const char	 *redact;	/* a secret to hide in logged URLs */
	const char	 *ca_file;	/* NULL: the system store */
	int		  insecure;	/* skip TLS verification */
};

struct curlev_result {
	int		 ok;		/* transfer completed (any HTTP status) */
	long		 status;	/* HTTP status, 0 when none */
	const char	*body;		/* NUL-terminated, owned by curlev */
	size_t		 len;
	const char	*error;		/* why, when !ok ("timeout", ...) */
	double		 seconds;	/* total time */
	long		 retry_after;	/* seconds, -1 when absent */
	long		 ratelimit_reset;	/* seconds, -1 when absent */
	long		 ratelimit_remaining;	/* -1 when absent */
};

/* Called exactly once per transfer; result is valid during the call. */
typedef void	(*curlev_done_cb)(void *arg, const struct curlev_result *);

struct curlev	*curlev_new(struct event_base *);
/* Ends all transfers without calling their callbacks, then frees. */
void		 curlev_free(struct curlev *);
/* Starts a transfer; returns an id > 0, or 0 on failure (no callback). */
uint64_t	 curlev_start(struct curlev *, const struct curlev_request *,
		    curlev_done_cb, void *arg);
/* Cancels a running transfer; its callback is not called. */
void		 curlev_cancel(struct curlev *, uint64_t id);
/* Copies url into dst with every occurrence of secret replaced. */
void		 curlev_redact(const char *url, const char *secret, char *dst,
		    size_t dstsz);

#endif
