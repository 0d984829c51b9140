/*
 * publish.c: select, render, compare, swap.
 */
#include <string.h>
#include <time.h>

#include "conf.h"
#include "hmap.h"
#include "log.h"
#include "publish.h"
#include "render.h"
#include "select.h"
#include "site.h"
#include "snapshot.h"

static size_t
withheld(const struct snapshot *s)
{
	size_t	i, n = 0;

	for (i = 0; i < IOC_NREASONS; i++)
		n += s->drops[i];
	return (n);
}

/* Renders one feed; publishes it when its bytes differ.  1: changed. */
static int
publish_feed(const struct store *st, const struct conf *conf,
    const struct conf_feed *f, const struct allowlist *al,
    struct site_feed *sf, int64_t now_ms)
{
	struct selection	 sel;
	struct rendered		 r;
	struct snapshot		*cur, *s;
	int			 same;

	if (select_feed(st, conf, f, al, now_ms, &sel) == -1)
		return (-1);
	if (render_feed(f, &sel, &r) == -1) {
		select_free(&sel);
		return (-1);
	}
	select_free(&sel);
	cur = site_feed_current(sf);
	same = cur != NULL && cur->len == r.len &&
	    memcmp(cur->body, r.body, r.len) == 0 &&
	    cur->dropped_len == r.dropped_len &&
	    memcmp(cur->dropped, r.dropped, r.dropped_len) == 0;
	if (same) {
		snap_unref(cur);
		render_free(&r);
		return (0);
	}
	/*
	 * Last-Modified moves only when the feed bytes move; a change in
	 * the drop report alone keeps the old date.
	 */
	s = snap_new(r.body, r.len, r.dropped, r.dropped_len, r.entries,
	    r.lines, r.drops, cur != NULL && cur->len == r.len &&
	    memcmp(cur->body, r.body, r.len) == 0 ? cur->last_modified :
	    (time_t)(now_ms / 1000));
	snap_unref(cur);
	if (s == NULL) {
		render_free(&r);
		return (-1);
	}
	log_info("feed %s: %zu entries, %zu lines, %zu withheld, etag %s",
	    sf->name, s->entries, s->lines, withheld(s), s->etag);
	site_feed_publish(sf, s);
	return (1);
}

int
publish_all(const struct store *st, const struct conf *conf,
    const struct allowlist *al, struct site *site, int64_t now_ms)
{
	struct site_feed	*sf;
	size_t			 i;
	int			 n = 0, rv, failed = 0;

	for (i = 0; i < conf->nfeeds; i++) {
		if ((sf = site_feed_find(site, conf->feeds[i].name)) == NULL)
			continue;
		rv = publish_feed(st, conf, &conf->feeds[i], al, sf, now_ms);
		if (rv == -1) {
			log_warnx("feed %s: out of memory while rendering; "
			    "keeping the previous version", sf->name);
			failed = 1;
		} else
			n += rv;
	}
	return (failed ? -1 : n);
}

/* Lines of a body that are not lines of another; for the shrink guard. */
static size_t
lines_removed(const char *old, size_t oldlen, const char *new, size_t newlen)
{
	struct hmap	 set = { 0 };
	const char	*p, *nl, *end;
	size_t		 n = 0;

	for (p = new, end = new + newlen; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		/* Each line is its own key and value. */
		if (hmap_put(&set, p, (size_t)(nl - p),
		    (void *)(uintptr_t)p) == -1) {
			hmap_free(&set);
			return (0);	/* no memory: do not hold anything */
		}
	}
	for (p = old, end = old + oldlen; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n += hmap_get(&set, p, (size_t)(nl - p)) == NULL;
	}
	hmap_free(&set);
	return (n);
}

int
publish_shrink(const struct store *st, const struct conf *conf,
    const struct allowlist *al, struct site *site, int64_t now_ms,
    const char **which)
{
	struct selection	 sel;
	struct rendered		 r;
	struct snapshot		*cur;
	struct site_feed	*sf;
	size_t			 i, removed;
	int			 share, worst = 0;

	for (i = 0; i < conf->nfeeds; i++) {
		if ((sf = site_feed_find(site, conf->feeds[i].name)) == NULL ||
		    (cur = site_feed_current(sf)) == NULL)
			continue;
		if (cur->lines == 0 || select_feed(st, conf, &conf->feeds[i],
		    al, now_ms, &sel) == -1) {
			snap_unref(cur);
			continue;
		}
		if (render_feed(&conf->feeds[i], &sel, &r) == 0) {
			removed = lines_removed(cur->body, cur->len, r.body,
			    r.len);
			share = (int)(removed * 100 / cur->lines);
			if (share > worst) {
				worst = share;
				*which = sf->name;
			}
			render_free(&r);
		}
		select_free(&sel);
		snap_unref(cur);
	}
	return (worst);
}
