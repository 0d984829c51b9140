/*
 * lumu_budget.c: what the Lumu client's requests cost and how long a
 * line waits.  One token bucket of max-requests-per-minute tokens (none
 * without a limit) serves all three lines; a line sends only when it has
 * nothing in flight, its wait is over and a token is there.  After an
 * error a line backs off on its own (1 s doubling to 5 min, with
 * jitter); after a 401 it waits five minutes; a 429 empties the bucket
 * and holds every line for as long as Lumu asks, since the budget is the
 * key's.  Context calls spend only what lies above a reserve for the
 * stream and a full read (lumu_ctx.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "curlev.h"
#include "decode.h"
#include "lumu.h"
#include "lumu_int.h"
#include "util.h"

#define LUMU_MAX_BODY		(4u << 20)
#define LUMU_CONNECT_MS		10000
#define LUMU_BACKOFF_MIN_MS	1000
#define LUMU_BACKOFF_MAX_MS	300000
#define LUMU_AUTH_WAIT_MS	300000		/* after a 401 */
#define LUMU_RATE_WAIT_MS	60000		/* 429 without a hint */
#define LUMU_RATE_WAIT_MAX_MS	86400000
#define LUMU_CTX_RESERVE	2		/* tokens kept for the others */
#define LUMU_CTX_RESERVE_DIV	8		/* ... or this share of the budget */

/* xorshift64*: jitter only, no secrets. */
static uint64_t
lumu_random(struct lumu *lu)
{
	lu->rng ^= lu->rng >> 12;
	lu->rng ^= lu->rng << 25;
	lu->rng ^= lu->rng >> 27;
	return (lu->rng * UINT64_C(2685821657736338717));
}

/*
 * Tokens a context call leaves in the bucket for the stream and a full
 * read: a burst of events ends one long poll after another, each new poll
 * taking a token at once, so a bigger budget keeps a bigger reserve.
 */
double
lumu_ctx_reserve(const struct lumu *lu)
{
	int	r = lu->max_rpm / LUMU_CTX_RESERVE_DIV;

	return (r > LUMU_CTX_RESERVE ? r : LUMU_CTX_RESERVE);
}

/*
 * Takes a request token when the bucket holds at least need (1, or more
 * to keep a reserve); otherwise 0, and *wake set for when it will.
 */
static int
take_token(struct lumu *lu, int64_t now, int64_t *wake, double need)
{
	double	rate;
	int64_t	t;

	if (lu->max_rpm == 0)
		return (1);
	rate = lu->max_rpm / 60000.0;		/* tokens per ms */
	lu->tokens += (double)(now - lu->tokens_at) * rate;
	if (lu->tokens > lu->max_rpm)
		lu->tokens = lu->max_rpm;
	lu->tokens_at = now;
	if (lu->tokens < need) {
		lu->st.budget_tokens = (int)lu->tokens;
		/* A bucket this small never holds need: no wake-up. */
		if (need > lu->max_rpm)
			return (0);
		t = now + (int64_t)ceil((need - lu->tokens) / rate);
		if (t < *wake)
			*wake = t;
		return (0);
	}
	lu->tokens -= 1.0;
	lu->st.budget_tokens = (int)lu->tokens;
	return (1);
}

/*
 * May line c send now, with need tokens in the bucket?  Otherwise notes
 * in *wake when to look again.
 */
int
lumu_chan_ready(struct lumu *lu, struct chan *c, int64_t now, int64_t *wake,
    double need)
{
	int64_t	t = c->not_before > lu->hold_until ? c->not_before :
		    lu->hold_until;

	if (c->xfer != 0)
		return (0);
	if (now < t) {
		if (t < *wake)
			*wake = t;
		return (0);
	}
	return (take_token(lu, now, wake, need));
}

/* Schedules the next try after an error: 1 s doubling to 5 min. */
void
lumu_chan_backoff(struct lumu *lu, struct chan *c)
{
	int64_t	b;

	b = c->backoff == 0 ? LUMU_BACKOFF_MIN_MS : c->backoff * 2;
	if (b > LUMU_BACKOFF_MAX_MS)
		b = LUMU_BACKOFF_MAX_MS;
	c->backoff = b;
	/* Equal jitter: half fixed, half random, so clients spread out. */
	c->not_before = lumu_mono_ms() + b / 2 +
	    (int64_t)(lumu_random(lu) % (uint64_t)(b / 2 + 1));
}

/* How long a 429 asks us to wait: RateLimit-Reset, Retry-After, 60 s. */
static int64_t
rate_wait(const struct curlev_result *r)
{
	int64_t	s;

	if (r->ratelimit_reset >= 0)
		s = r->ratelimit_reset;
	else if (r->retry_after >= 0)
		s = r->retry_after;
	else
		return (LUMU_RATE_WAIT_MS);
	if (s < 1)
		s = 1;
	if (s > LUMU_RATE_WAIT_MAX_MS / 1000)
		s = LUMU_RATE_WAIT_MAX_MS / 1000;
	return (s * 1000);
}

/* Starts a request on line c; the caller took a token. */
int
lumu_send(struct lumu *lu, struct chan *c, const char *method,
    const char *url, const char *body, long timeout_ms, curlev_done_cb cb)
{
	struct curlev_request	req;

	if (lu->dying)
		return (-1);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.method = method;
	if (body != NULL) {
		req.body = body;
		req.bodylen = strlen(body);
		req.content_type = "application/json";
	}
	req.connect_timeout_ms = LUMU_CONNECT_MS;
	req.timeout_ms = timeout_ms;
	req.max_bytes = LUMU_MAX_BODY;
	req.redact = lu->key;
	lu->st.requests++;
	if ((c->xfer = curlev_start(lu->cv, &req, cb, lu)) == 0)
		return (-1);
	return (0);
}

/* The start of every URL: base, path and the key. */
int
lumu_url_begin(struct lumu *lu, struct buf *b, const char *path)
{
	return (buf_printf(b, "%s%s?key=%s", lu->api_url, path, lu->key_esc));
}

/*
 * Describes a failed answer and picks the wait before the next try on
 * line c: 401 slowly, 429 as told, everything else with backoff.
 */
void
lumu_answer_error(struct lumu *lu, struct chan *c, const char *what,
    const struct curlev_result *r, const char *why)
{
	char	detail[256], esc[256];
	int64_t	wait;

	if (r->ok && r->status == 429) {
		wait = rate_wait(r);
		/* A limit hit with much left is the daily quota. */
		lumu_report(lu, "%s: rate limited by Lumu (HTTP 429%s), waiting "
		    "%" PRId64 " s", what, r->ratelimit_remaining > 60 ?
		    ", daily quota" : "", wait / 1000);
		/* The budget is the key's: both lines wait. */
		lu->hold_until = lumu_mono_ms() + wait;
		lu->tokens = 0;
		c->backoff = 0;
		return;
	}
	if (r->ok && r->status == 401) {
		lumu_report(lu, "%s: Lumu rejected the company key (HTTP 401)",
		    what);
		c->not_before = lumu_mono_ms() + LUMU_AUTH_WAIT_MS;
		return;
	}
	if (!r->ok)
		lumu_report(lu, "%s: %s", what, r->error);
	else if (why != NULL)
		lumu_report(lu, "%s: %s", what, why);
	else if (decode_api_error(r->body, r->len, detail,
	    sizeof(detail)) == 0) {
		lumu_clean_text(esc, sizeof(esc), detail);
		lumu_report(lu, "%s: HTTP %ld: %s", what, r->status, esc);
	} else
		lumu_report(lu, "%s: HTTP %ld", what, r->status);
	lumu_chan_backoff(lu, c);
}
