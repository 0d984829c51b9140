/*
 * site.c: the feeds the HTTP side publishes and the sync state it shows.
 * The event loop writes (publish, sync state); serving threads read.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "site.h"
#include "util.h"

static void	site_feed_init(struct site_feed *, const struct conf_feed *);
static void	site_feed_clear(struct site_feed *);

/* A site with one empty feed per [feed] of conf (startup and reload). */
struct site *
site_new(const struct conf *conf)
{
	struct site	*site;
	size_t		 i;

	site = xcalloc(1, sizeof(*site));
	atomic_init(&site->refs, 1);
	if (conf->nfeeds > 0) {
		site->feeds = xcalloc(conf->nfeeds, sizeof(*site->feeds));
		for (i = 0; i < conf->nfeeds; i++)
			site_feed_init(&site->feeds[i], &conf->feeds[i]);
	}
	site->nfeeds = conf->nfeeds;
	if (pthread_mutex_init(&site->sync_lock, NULL) != 0)
		fatalx("%s: pthread_mutex_init", __func__);
	site->sync.started_ms = time_now_ms();
	site->sync.resync_s = conf->resync;
	return (site);
}

/* Copies one feed's name, type and users; no snapshot yet. */
static void
site_feed_init(struct site_feed *f, const struct conf_feed *cf)
{
	size_t	i;

	f->name = xstrdup(cf->name);
	f->type = cf->type;
	if (cf->users.n > 0) {
		f->users = xcalloc(cf->users.n, sizeof(*f->users));
		for (i = 0; i < cf->users.n; i++)
			f->users[i] = xstrdup(cf->users.v[i]);
		f->nusers = cf->users.n;
	}
	if (pthread_mutex_init(&f->lock, NULL) != 0)
		fatalx("%s: pthread_mutex_init", __func__);
	atomic_init(&f->requests, 0);
	atomic_init(&f->not_modified, 0);
	atomic_init(&f->bytes, 0);
}

static void
site_feed_clear(struct site_feed *f)
{
	size_t	i;

	snap_unref(f->snap);
	f->snap = NULL;
	for (i = 0; i < f->nusers; i++)
		free(f->users[i]);
	free(f->users);
	free(f->name);
	pthread_mutex_destroy(&f->lock);
}

struct site *
site_ref(struct site *site)
{
	atomic_fetch_add_explicit(&site->refs, 1, memory_order_relaxed);
	return (site);
}

/* Drops a reference; the last one frees the feeds and their snapshots. */
void
site_unref(struct site *site)
{
	size_t	i;

	if (site == NULL)
		return;
	if (atomic_fetch_sub_explicit(&site->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < site->nfeeds; i++)
		site_feed_clear(&site->feeds[i]);
	free(site->feeds);
	pthread_mutex_destroy(&site->sync_lock);
	free(site);
}

struct site_feed *
site_feed_find(struct site *site, const char *name)
{
	size_t	i;

	for (i = 0; i < site->nfeeds; i++)
		if (strcmp(site->feeds[i].name, name) == 0)
			return (&site->feeds[i]);
	return (NULL);
}

/* A new reference to the current snapshot, taken under the feed lock. */
struct snapshot *
site_feed_current(struct site_feed *f)
{
	struct snapshot	*s;

	pthread_mutex_lock(&f->lock);
	s = f->snap != NULL ? snap_ref(f->snap) : NULL;
	pthread_mutex_unlock(&f->lock);
	return (s);
}

/* Swaps in s; the old snapshot lives on until its last reader is done. */
void
site_feed_publish(struct site_feed *f, struct snapshot *s)
{
	struct snapshot	*old;

	pthread_mutex_lock(&f->lock);
	old = f->snap;
	f->snap = s;
	pthread_mutex_unlock(&f->lock);
	snap_unref(old);
}

void
site_sync_get(struct site *site, struct site_sync *out)
{
	pthread_mutex_lock(&site->sync_lock);
	memcpy(out, &site->sync, sizeof(*out));
	pthread_mutex_unlock(&site->sync_lock);
}

void
site_sync_set(struct site *site, const struct site_sync *in)
{
	pthread_mutex_lock(&site->sync_lock);
	memcpy(&site->sync, in, sizeof(site->sync));
	/* Readers print these; keep them terminated whatever was written. */
	site->sync.last_error[sizeof(site->sync.last_error) - 1] = '\0';
	site->sync.offset[sizeof(site->sync.offset) - 1] = '\0';
	pthread_mutex_unlock(&site->sync_lock);
}
