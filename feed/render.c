/*
 * render.c: selection to bytes.  IP feeds sort by address (IPv4, then
 * IPv6); name and URL feeds sort their final lines bytewise, expansions
 * included, and drop repeated lines.  Every line is first copied, in
 * selection order, into one text buffer: the sort (sortkey.c) and the
 * output then read that buffer rather than values spread over the store.
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

/* Lines being built: "LINE\n" text, one sort item per line. */
struct lines {
	struct buf	 text;
	struct sortkey	*keys;
	size_t		 n, cap;
};

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
 * Points each item at its line, now that text is complete; lines lie in
 * item order, one after the other.  Text items also load their keys.
 */
static void
lines_done(struct lines *l, int text)
{
	const char	*p = l->text.data;
	size_t		 i;

	for (i = 0; i < l->n; i++) {
		if (text)
			sortkey_text(&l->keys[i], p, l->keys[i].len,
			    l->keys[i].aux);
		else
			l->keys[i].s = p;
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

	if (buf_reserve(out, l->text.len) == -1)
		return (-1);
	p = out->data + out->len;
	*nlines = 0;
	for (i = 0; i < l->n; i++) {
		if (i + RENDER_AHEAD < l->n)
			__builtin_prefetch(l->keys[i + RENDER_AHEAD].s);
		k = &l->keys[i];
		/* "evil.com/" from a domain and from a URL */
		if (prev != NULL && prev->len == k->len &&
		    memcmp(prev->s, k->s, k->len) == 0)
			continue;
		memcpy(p, k->s, k->len + 1);	/* with its LF */
		p += k->len + 1;
		prev = k;
		(*nlines)++;
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return (0);
}

/*
 * An address as a fixed key: IPv4 in the top 4 bytes, IPv6 all 16; aux
 * is the family (0 IPv4, 1 IPv6), which partition_v4() puts first.
 */
static void
address_key(struct sortkey *k, const struct store_indicator *ind)
{
	uint64_t	v;

	k->aux = ind->kind == IOC_IPV6;
	if (k->aux) {
		memcpy(&v, ind->addr, sizeof(v));
		k->hi = be64toh(v);
		memcpy(&v, ind->addr + 8, sizeof(v));
		k->lo = be64toh(v);
	} else {
		k->hi = (uint64_t)ind->addr[0] << 56 |
		    (uint64_t)ind->addr[1] << 48 |
		    (uint64_t)ind->addr[2] << 40 | (uint64_t)ind->addr[3] << 32;
		k->lo = 0;
	}
}

/* Moves IPv4 items before IPv6 ones; returns how many are IPv4. */
static size_t
partition_v4(struct sortkey *k, size_t n)
{
	struct sortkey	t;
	size_t		i = 0, j = n;

	for (;;) {
		while (i < j && k[i].aux == 0)
			i++;
		while (i < j && k[j - 1].aux != 0)
			j--;
		if (i >= j)
			return (i);
		t = k[i];
		k[i] = k[j - 1];
		k[j - 1] = t;
	}
}

/* IP feed: canonical addresses in numeric order, IPv4 first. */
static int
render_ip(struct selection *sel, struct buf *out, size_t *nlines)
{
	const struct store_indicator	*ind;
	struct lines			 l = { 0 };
	size_t				 i, n4;
	int				 rv = -1;

	for (i = 0; i < sel->nitems; i++) {
		PREFETCH_AHEAD(sel, i);
		ind = sel->items[i].ind;
		if (lines_add(&l, "", 0, ind->value, ind->len, "", 0) == -1)
			goto out;
		address_key(&l.keys[l.n - 1], ind);
	}
	lines_done(&l, 0);
	n4 = partition_v4(l.keys, l.n);
	if (sortkey_sort(l.keys, n4, SORTKEY_FIXED) == -1 ||
	    sortkey_sort(l.keys + n4, l.n - n4, SORTKEY_FIXED) == -1 ||
	    lines_out(&l, out, nlines) == -1)
		goto out;
	rv = 0;
 out:
	lines_free(&l);
	return (rv);
}

/* Domain and URL feeds: all lines, sorted bytewise, repeats dropped. */
static int
render_names(const struct conf_feed *f, struct selection *sel,
    struct buf *out, size_t *nlines)
{
	struct lines	 l = { 0 };
	size_t		 i;
	int		 rv = -1;

	for (i = 0; i < sel->nitems; i++) {
		PREFETCH_AHEAD(sel, i);
		if ((f->type == FEED_DOMAIN ? domain_lines(&l, sel, f,
		    &sel->items[i]) : url_lines(&l, sel, f,
		    &sel->items[i])) == -1)
			goto out;
	}
	lines_done(&l, 1);
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
	if (buf_reserve(out, l->text.len + l->n * (longest + 1)) == -1)
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
	lines_done(&l, 1);
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
	r->entries = sel->nitems;
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
