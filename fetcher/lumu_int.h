/*
 * lumu_int.h: what the files of the Lumu client share, and nothing else
 * includes: the client's state, its lines of requests, and the functions
 * one file calls in another.  lumu.c holds the public API, the life
 * cycle and the scheduler; lumu_budget.c the request budget and the
 * waits after errors; lumu_sync.c the full read; lumu_poll.c the updates
 * stream; lumu_ctx.c the context calls.  Shared functions carry the
 * lumu_ prefix; everything else is static in its file.
 */
#ifndef LUMU_INT_H
#define LUMU_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "curlev.h"
#include "decode.h"
#include "hmap.h"
#include "lumu.h"
#include "store.h"

struct buf;
struct event;

#define LUMU_PAGE_ITEMS		100
#define LUMU_WINDOW_S		(30 * 86400)	/* longest range per request */
#define LUMU_TIMEOUT_MS		30000

enum poll_state {
	POLL_OFF,	/* not following the stream */
	POLL_PROBE,	/* learning the first cursor */
	POLL_WAIT,	/* cursor known, waiting for the first read */
	POLL_RUN	/* following */
};

/* One line of requests. */
struct chan {
	uint64_t	 xfer;		/* in flight, 0 when none */
	int64_t		 not_before;	/* monotonic ms */
	int64_t		 backoff;	/* ms; 0 after a success */
};

/* Where an incident's context stands. */
enum ctx_where {
	CTX_IDLE,	/* read (or given up), nothing due */
	CTX_READY,	/* in the queue */
	CTX_LATER,	/* due at ->due, after an update */
	CTX_FLIGHT	/* being read */
};

/* One incident whose context the client tracks. */
struct ctxent {
	char			*id;
	int64_t			 last_contact;	/* ms; for ageing out */
	int64_t			 fetched;	/* monotonic ms, last read */
	int64_t			 due;		/* CTX_LATER: monotonic ms */
	enum ctx_where		 where;
	int			 again;		/* updated while being read */
	int			 tries;		/* bad answers in a row */
	size_t			 slot;		/* in lumu.ctx_all */
	TAILQ_ENTRY(ctxent)	 q;
};
TAILQ_HEAD(ctxq, ctxent);

/* A full read under way. */
struct sync {
	struct store		*store;
	int64_t			 now_ms;	/* wall clock at the start */
	int64_t			 started;	/* monotonic ms */
	int			 window;	/* 0: the newest */
	int			 nwindows;
	int64_t			 page;
	size_t			 npages;
	struct decode_counts	 counts;
	int			 ctx_phase;	/* pages done, contexts next */
};

struct lumu {
	struct event_base	*base;
	struct curlev		*cv;
	struct lumu_callbacks	 cb;

	char			*api_url;	/* without trailing '/' */
	char			*key;
	char			*key_esc;	/* URL-encoded */
	char			**types;
	size_t			 ntypes;
	int64_t			 lookback;
	int64_t			 wait;
	int64_t			 resync;
	int			 max_rpm;
	int			 follow;

	struct lumu_stats	 st;
	struct event		*timer;
	uint64_t		 rng;
	double			 tokens;
	int64_t			 tokens_at;	/* monotonic ms of the refill */
	int64_t			 hold_until;	/* 429: nothing sent before */

	struct chan		 sc;		/* the full read */
	struct sync		*sync;
	int			 sync_wanted;
	int			 sync_again;	/* asked for while one runs */
	int			 synced;	/* a read was handed over */
	int			 nreads;	/* reads begun */
	int64_t			 next_resync;	/* monotonic ms */

	struct chan		 pc;		/* the stream */
	enum poll_state		 poll;
	int			 probe_failed;
	int64_t			 poll_sent_at;
	char			 sent[DECODE_OFFSET_MAX];
	char			 sync_cursor[DECODE_OFFSET_MAX];

	int			 triggers;	/* threat-triggers = yes */
	struct chan		 cc;		/* context calls */
	struct hmap		 ctx_by_id;	/* id -> ctxent */
	struct ctxent		**ctx_all;	/* dense, for ageing out */
	size_t			 nctx, capctx;
	struct ctxq		 ctx_ready;
	struct ctxq		 ctx_later;	/* by due time */
	char			 ctx_id[DECODE_ID_MAX + 1];	/* in flight */
	int64_t			 ctx_sent;	/* monotonic ms */
	int64_t			 ctx_prune_at;
	int			 ctx_full;	/* the cap was hit (logged) */

	int			 started;
	int			 busy;		/* inside our own handlers */
	int			 kick;		/* lumu_tick before leaving */
	int			 dying;		/* lumu_free while busy */
};

/* lumu.c: time, entry and exit, failures. */
int64_t		 lumu_mono_ms(void);
void		 lumu_enter(struct lumu *);
void		 lumu_leave(struct lumu *);
void		 lumu_report(struct lumu *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
void		 lumu_clean_text(char *, size_t, const char *);

/* lumu_budget.c: the token bucket, waits, requests, failed answers. */
double		 lumu_ctx_reserve(const struct lumu *);
int		 lumu_chan_ready(struct lumu *, struct chan *, int64_t,
		    int64_t *, double);
void		 lumu_chan_backoff(struct lumu *, struct chan *);
int		 lumu_send(struct lumu *, struct chan *, const char *,
		    const char *, const char *, long, curlev_done_cb);
int		 lumu_url_begin(struct lumu *, struct buf *, const char *);
void		 lumu_answer_error(struct lumu *, struct chan *, const char *,
		    const struct curlev_result *, const char *);

/* lumu_sync.c: the full read. */
void		 lumu_sync_free(struct sync *);
int		 lumu_sync_begin(struct lumu *);
int		 lumu_sync_send(struct lumu *);
void		 lumu_sync_abort(struct lumu *);
void		 lumu_sync_finish(struct lumu *);

/* lumu_poll.c: the updates stream. */
int		 lumu_poll_send(struct lumu *);

/* lumu_ctx.c: the context calls. */
void		 lumu_ctx_clear(struct lumu *);
void		 lumu_ctx_promote(struct lumu *, int64_t, int64_t *);
void		 lumu_ctx_prune(struct lumu *);
void		 lumu_ctx_event(struct lumu *, enum lumu_event,
		    const struct lumu_incident *);
void		 lumu_ctx_after_read(struct lumu *, const struct store *);
int		 lumu_ctx_before_handover(struct lumu *);
int		 lumu_ctx_send(struct lumu *, struct ctxent *);

#endif
