/*
 * render.c: selection to bytes.  IP feeds sort by address (IPv4, then
 * IPv6); name and URL feeds sort their final lines bytewise, expansions
 * included, and drop repeated lines.  Every name or URL line is first
 * copied, in selection order, into one text buffer: the sort (sortkey.c)
 * and the output then read that buffer rather than values spread over the
 * store.  IP lines sort by fixed keys, so the output reads each value in
 * the store, once.  A render frees the selection's items (not its drops)
 * once its lines are built, before the sort needs memory of its own.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "sortkey.h"
#include "util.h"

/*
 * How many items ahead a loop asks for the memory it will read.  Values
 * and lines are read in an order unrelated to where they lie, so each
 * read would otherwise wait for memory on its own.
 */
#define RENDER_AHEAD	16

/*
 * Asks for the indicator of selection item i + RENDER_AHEAD, and for the
 * value of the one half as far on, whose indicator came in by then.  A
 * macro: in a function of its own the compiler takes the prefetches for
 * a call without effect and drops it.
 */
#define PREFETCH_AHEAD(sel, i) do {					\
	if ((i) + RENDER_AHEAD < (sel)->nitems)				\
		__builtin_prefetch((sel)->items[(i) + RENDER_AHEAD].ind); \
	if ((i) + RENDER_AHEAD / 2 < (sel)->nitems)			\
		__builtin_prefetch(					\
		    (sel)->items[(i) + RENDER_AHEAD / 2].ind->value);	\
} while (0)

/*
 * Lines being built: one sort item per line, and "LINE\n" text where the
 * lines are not in the store already.
 */
struct lines {
	struct buf	 text;
	struct sortkey	*keys;
	size_t		 n, cap;
	size_t		 bytes;		/* of every line, LF included */
};

/*
 * Sizes the items of l for the n lines to come, so that they are not
 * grown by doubling, with a copy and a spare half; -1 on failure.
 */
static int
lines_reserve(struct lines *l, size_t n)
{
	if (n == 0)
		return (0);
	if ((l->keys = reallocarray(NULL, n, sizeof(*l->keys))) == NULL)
		return (-1);
	l->cap = n;
	return (0);
}

/*
 * Appends the line pre + v[0..vlen) + post and its item.  The item's s is
 * set by lines_done(): text may still move.
 */
static int
lines_add(struct lines *l, const char *pre, size_t plen, const char *v,
    size_t vlen, const char *post, size_t postlen)
{
	struct sortkey	*n;
	char		*p;
	size_t		 len = plen + vlen + postlen;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		if ((n = reallocarray(l->keys, l->cap, sizeof(*n))) == NULL)
			return (-1);
		l->keys = n;
	}
	if (buf_reserve(&l->text, len + 1) == -1)
		return (-1);
	l->bytes += len + 1;
	p = l->text.data + l->text.len;
	memcpy(p, pre, plen);
	memcpy(p + plen, v, vlen);
	memcpy(p + plen + vlen, post, postlen);
	p[len] = '\n';
	l->text.len += len + 1;
	l->keys[l->n].len = (uint32_t)len;
	l->keys[l->n].aux = 0;
	l->n++;
	return (0);
}

/*
 * Points each item at its line and loads its key, now that text is
 * complete; lines lie in item order, one after the other.
 */
static void
lines_done(struct lines *l)
{
	const char	*p = l->text.data;
	size_t		 i;

	for (i = 0; i < l->n; i++) {
		sortkey_text(&l->keys[i], p, l->keys[i].len, l->keys[i].aux);
		p += l->keys[i].len + 1;
	}
}

static void
lines_free(struct lines *l)
{
	buf_free(&l->text);
	free(l->keys);
	memset(l, 0, sizeof(*l));
}

/*
 * Adds one line "pre + value[0..vlen) + post" when it fits in max;
 * otherwise reports the indicator as too-long.
 */
static int
emit(struct lines *l, struct selection *sel, const struct sel_item *it,
    const char *pre, size_t vlen, const char *post, size_t max)
{
	size_t	plen = strlen(pre), postlen = strlen(post);

	if (plen + vlen + postlen > max)
		return (select_add_drop(sel, it->ind->value, IOC_TOO_LONG));
	return (lines_add(l, pre, plen, it->ind->value, vlen, post,
	    postlen));
}

/* Domain feed lines of one indicator. */
static int
domain_lines(struct lines *l, struct selection *sel,
    const struct conf_feed *f, const struct sel_item *it)
{
	size_t	len = it->ind->len;

	if (emit(l, sel, it, "", len, "", IOC_NAME_MAX) == -1)
		return (-1);
	if (f->include_subdomains && !it->no_wildcard)
		return (emit(l, sel, it, "*.", len, "", IOC_NAME_MAX));
	return (0);
}

/* URL feed lines of one indicator: host entries get the expansions. */
static int
url_lines(struct lines *l, struct selection *sel, const struct conf_feed *f,
    const struct sel_item *it)
{
	const struct store_indicator	*ind = it->ind;
	size_t				 host;
	int				 sub, dir;

	if (ind->kind == IOC_URL && !ind->host_only)
		return (emit(l, sel, it, "", ind->len, "", IOC_LINE_MAX));
	host = ind->kind == IOC_URL ? ind->hostlen : ind->len;
	/* An IP host has no subdomains. */
	sub = f->include_subdomains && !it->no_wildcard &&
	    !(ind->kind == IOC_URL && ind->host_family == 4);
	dir = f->include_subdirectories;
	if (emit(l, sel, it, "", host, "/", IOC_LINE_MAX) == -1 ||
	    (sub && emit(l, sel, it, "*.", host, "/", IOC_LINE_MAX) == -1) ||
	    (dir && emit(l, sel, it, "", host, "/*", IOC_LINE_MAX) == -1) ||
	    (sub && dir &&
	    emit(l, sel, it, "*.", host, "/*", IOC_LINE_MAX) == -1))
		return (-1);
	return (0);
}

/* The lines of l in item order, dropping a line equal to the one before. */
static int
lines_out(const struct lines *l, struct buf *out, size_t *nlines)
{
	const struct sortkey	*k, *prev = NULL;
	char			*p;
	size_t			 i;

	if (buf_reserve(out, l->bytes) == -1)
		return (-1);
	p = out->data + out->len;
	for (i = 0; i < l->n; i++) {
		if (i + RENDER_AHEAD < l->n)
			__builtin_prefetch(l->keys[i + RENDER_AHEAD].s);
		k = &l->keys[i];
		/* "evil.com/" from a domain and from a URL */
		if (prev != NULL && prev->len == k->len &&
		    memcmp(prev->s, k->s, k->len) == 0)
			continue;
		/* IP lines point into the store, which has no LF there. */
		memcpy(p, k->s, k->len);
		p[k->len] = '\n';
		p += k->len + 1;
		prev = k;
		(*nlines)++;
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return (0);
}

/* An IPv6 address as a fixed key: its 16 bytes, big-endian. */
static void
v6_key(struct sortkey *k, const struct store_indicator *ind)
{
	uint64_t	v;

	memcpy(&v, ind->addr, sizeof(v));
	k->hi = be64toh(v);
	memcpy(&v, ind->addr + 8, sizeof(v));
	k->lo = be64toh(v);
	k->aux = 0;
}

/* IPv4 address a as the top 32 bits of a v4lines key. */
static uint64_t
v4_key(const uint8_t *a)
{
	return ((uint64_t)a[0] << 56 | (uint64_t)a[1] << 48 |
	    (uint64_t)a[2] << 40 | (uint64_t)a[3] << 32);
}

/*
 * The selection's items once every line is built from them: freed before
 * the sort, the largest allocation of a render, needs its memory.  The
 * drops stay.
 */
static void
items_spent(struct selection *sel)
{
	free(sel->items);
	sel->items = NULL;
	sel->nitems = sel->capitems = 0;
}

/*
 * The IPv4 lines of an IP feed, 16 bytes each where a sort item takes 32
 * (and as much again while it sorts): most of an IP feed is IPv4.
 */
struct v4lines {
	const struct store_indicator	**inds;
	uint64_t			 *keys;	/* address << 32 | index */
	uint64_t			 *tmp;	/* the sort's other half */
	size_t				  n;
};

/* The sorted IPv4 lines, each value read from the store once. */
static int
v4_out(const struct v4lines *v, size_t bytes, struct buf *out,
    size_t *nlines)
{
	const struct store_indicator	*ind;
	char				*p;
	size_t				 i;

	if (buf_reserve(out, bytes) == -1)
		return (-1);
	p = out->data + out->len;
	for (i = 0; i < v->n; i++) {
		if (i + RENDER_AHEAD < v->n)
			__builtin_prefetch(v->inds[(uint32_t)v->keys[i +
			    RENDER_AHEAD]]);
		/* The store holds each address once: no repeats here. */
		ind = v->inds[(uint32_t)v->keys[i]];
		memcpy(p, ind->value, ind->len);
		p[ind->len] = '\n';
		p += (size_t)ind->len + 1;
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	*nlines += v->n;
	return (0);
}

static void
v4_free(struct v4lines *v)
{
	free(v->inds);
	free(v->keys);
	free(v->tmp);
	memset(v, 0, sizeof(*v));
}

/*
 * IP feed: canonical addresses in numeric order, IPv4 first.  The sorts
 * read only fixed keys, so each line is the value in the store itself,
 * copied once, in order, into the body.
 */
static int
render_ip(struct selection *sel, struct buf *out, size_t *nlines)
{
	const struct store_indicator	*ind;
	struct v4lines			 v = { 0 };
	struct lines			 l = { 0 };
	size_t				 i, v4bytes = 0, n = sel->nitems;
	int				 rv = -1;

	if (sel->nv4 > 0 && ((v.inds = reallocarray(NULL, sel->nv4,
	    sizeof(*v.inds))) == NULL || (v.keys = reallocarray(NULL,
	    sel->nv4, sizeof(*v.keys))) == NULL))
		goto out;
	if (lines_reserve(&l, n - sel->nv4) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		PREFETCH_AHEAD(sel, i);
		ind = sel->items[i].ind;
		/* Sized by select_feed()'s count: never write past it. */
		if (ind->kind == IOC_IPV4 ? v.n == sel->nv4 : l.n == l.cap)
			goto out;
		if (ind->kind == IOC_IPV4) {
			/* Indicators are fewer than 2^32: v.n fits. */
			v.keys[v.n] = v4_key(ind->addr) | v.n;
			v.inds[v.n++] = ind;
			v4bytes += (size_t)ind->len + 1;
			continue;
		}
		v6_key(&l.keys[l.n], ind);
		l.keys[l.n].s = ind->value;
		l.keys[l.n].len = ind->len;
		l.bytes += (size_t)ind->len + 1;
		l.n++;
	}
	items_spent(sel);
	if (v.n > 0 && (v.tmp = reallocarray(NULL, v.n,
	    sizeof(*v.tmp))) == NULL)
		goto out;
	sortkey_sort_hi32(v.keys, v.tmp, v.n);
	free(v.tmp);
	v.tmp = NULL;
	if (v4_out(&v, v4bytes, out, nlines) == -1)
		goto out;
	v4_free(&v);
	if (sortkey_sort(l.keys, l.n, SORTKEY_FIXED) == -1 ||
	    lines_out(&l, out, nlines) == -1)
		goto out;
	rv = 0;
 out:
	v4_free(&v);
	lines_free(&l);
	return (rv);
}

/* The most lines one indicator gives in a name or URL feed. */
static size_t
lines_per_item(const struct conf_feed *f)
{
	size_t	n = f->include_subdomains ? 2 : 1;

	if (f->type == FEED_URL && f->include_subdirectories)
		n *= 2;
	return (n);
}

/* Domain and URL feeds: all lines, sorted bytewise, repeats dropped. */
static int
render_names(const struct conf_feed *f, struct selection *sel,
    struct buf *out, size_t *nlines)
{
	struct lines	 l = { 0 };
	size_t		 i;
	int		 rv = -1;

	/* Never more than this; pages of it left unwritten cost nothing. */
	if (sel->nitems > SIZE_MAX / 4 ||
	    lines_reserve(&l, sel->nitems * lines_per_item(f)) == -1)
		goto out;
	for (i = 0; i < sel->nitems; i++) {
		PREFETCH_AHEAD(sel, i);
		if ((f->type == FEED_DOMAIN ? domain_lines(&l, sel, f,
		    &sel->items[i]) : url_lines(&l, sel, f,
		    &sel->items[i])) == -1)
			goto out;
	}
	items_spent(sel);
	lines_done(&l);
	if (sortkey_sort(l.keys, l.n, SORTKEY_TEXT) == -1 ||
	    lines_out(&l, out, nlines) == -1)
		goto out;
	rv = 0;
 out:
	lines_free(&l);
	return (rv);
}

/* The drop report's lines "VALUE\tREASON\n", in item order, no repeats. */
static int
drops_out(const struct lines *l, struct rendered *r, struct buf *out)
{
	const struct sortkey	*k, *prev = NULL;
	const char		*name[IOC_NREASONS];
	size_t			 nlen[IOC_NREASONS], i, longest = 0;
	char			*p;

	for (i = 0; i < IOC_NREASONS; i++) {
		name[i] = ioc_reason_name((enum ioc_reason)i);
		if ((nlen[i] = strlen(name[i])) > longest)
			longest = nlen[i];
	}
	if (buf_reserve(out, l->bytes + l->n * (longest + 1)) == -1)
		return (-1);
	p = out->data;
	for (i = 0; i < l->n; i++) {
		if (i + RENDER_AHEAD < l->n)
			__builtin_prefetch(l->keys[i + RENDER_AHEAD].s);
		k = &l->keys[i];
		if (prev != NULL && prev->aux == k->aux &&
		    prev->len == k->len && memcmp(prev->s, k->s, k->len) == 0)
			continue;
		memcpy(p, k->s, k->len);
		p[k->len] = '\t';
		p += k->len + 1;
		memcpy(p, name[k->aux], nlen[k->aux]);
		p[nlen[k->aux]] = '\n';
		p += nlen[k->aux] + 1;
		r->drops[k->aux]++;
		prev = k;
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return (0);
}

/* The drop report, sorted by value, then reason. */
static int
render_drops(struct selection *sel, struct rendered *r)
{
	struct lines	 l = { 0 };
	struct buf	 out = { 0 };
	const char	*v;
	size_t		 i;

	for (i = 0; i < sel->ndrops; i++) {
		if (i + RENDER_AHEAD < sel->ndrops)
			__builtin_prefetch(sel->drops[i + RENDER_AHEAD].value);
		v = sel->drops[i].value;
		if (lines_add(&l, "", 0, v, strlen(v), "", 0) == -1)
			goto fail;
		l.keys[l.n - 1].aux = sel->drops[i].reason;
	}
	lines_done(&l);
	if (sortkey_sort(l.keys, l.n, SORTKEY_TEXT) == -1 ||
	    drops_out(&l, r, &out) == -1)
		goto fail;
	lines_free(&l);
	r->dropped = buf_release(&out, &r->dropped_len);
	return (0);
 fail:
	lines_free(&l);
	buf_free(&out);
	return (-1);
}

int
render_feed(const struct conf_feed *f, struct selection *sel,
    struct rendered *r)
{
	struct buf	out = { 0 };
	size_t		entries = sel->nitems;
	int		rv;

	memset(r, 0, sizeof(*r));
	if (f->type == FEED_IP)
		rv = render_ip(sel, &out, &r->lines);
	else
		rv = render_names(f, sel, &out, &r->lines);
	if (rv == -1 || (r->lines == 0 && buf_addstr(&out,
	    RENDER_EMPTY_LINE) == -1) || render_drops(sel, r) == -1) {
		buf_free(&out);
		render_free(r);
		return (-1);
	}
	r->entries = entries;
	r->body = buf_release(&out, &r->len);
	return (0);
}

void
render_free(struct rendered *r)
{
	free(r->body);
	free(r->dropped);
	memset(r, 0, sizeof(*r));
}
