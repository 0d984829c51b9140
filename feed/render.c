/*
 * render.c: selection to bytes.  IP feeds sort by address (IPv4, then
 * IPv6); name and URL feeds sort their final lines bytewise, expansions
 * included, and drop repeated lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

/*
 * A line's sort key: its first 8 bytes as a big-endian number (so number
 * order is byte order), then the offset of the whole line.  Most compares
 * end on the number, without touching the text.
 */
struct lkey {
	uint64_t	prefix;
	size_t		off;
};

static uint64_t	prefix8(const char *);

/* Lines being built: NUL-separated text plus sort keys. */
struct lines {
	struct buf	 text;
	struct lkey	*keys;
	size_t		 n, cap;
};

static int
lines_add(struct lines *l, const char *a, size_t alen, const char *b,
    size_t blen, const char *c)
{
	struct lkey	*n;
	size_t		 off = l->text.len;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		if ((n = reallocarray(l->keys, l->cap, sizeof(*n))) == NULL)
			return (-1);
		l->keys = n;
	}
	if (buf_add(&l->text, a, alen) == -1 ||
	    buf_add(&l->text, b, blen) == -1 ||
	    buf_addstr(&l->text, c) == -1 ||
	    buf_addch(&l->text, '\0') == -1)
		return (-1);
	l->keys[l->n].off = off;
	l->keys[l->n].prefix = prefix8(l->text.data + off);
	l->n++;
	return (0);
}

/* Bytewise order of two lines, by their keys first. */
static int
by_text(const void *a, const void *b, void *base)
{
	const struct lkey	*x = a, *y = b;

	if (x->prefix != y->prefix)
		return (x->prefix < y->prefix ? -1 : 1);
	if ((x->prefix & 0xff) == 0)
		return (0);	/* equal and ended within the prefix */
	return (strcmp((const char *)base + x->off + 8,
	    (const char *)base + y->off + 8));
}

/*
 * Adds one line "pre + value[0..vlen) + post" when it fits in max;
 * otherwise reports the indicator as too-long.
 */
static int
emit(struct lines *l, struct selection *sel, const struct sel_item *it,
    const char *pre, size_t vlen, const char *post, size_t max)
{
	if (strlen(pre) + vlen + strlen(post) > max)
		return (select_add_drop(sel, it->ind->value, IOC_TOO_LONG));
	return (lines_add(l, pre, strlen(pre), it->ind->value, vlen, post));
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

/*
 * An address as a sort key: IPv4 (family 0) before IPv6 (family 1), then
 * the address as two big-endian halves; compares never leave the array.
 */
struct ipkey {
	uint64_t			 family;
	uint64_t			 hi, lo;
	const struct store_indicator	*ind;
};

static uint64_t
be64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

static int
by_address(const void *a, const void *b)
{
	const struct ipkey	*x = a, *y = b;

	if (x->family != y->family)
		return (x->family < y->family ? -1 : 1);
	if (x->hi != y->hi)
		return (x->hi < y->hi ? -1 : 1);
	if (x->lo != y->lo)
		return (x->lo < y->lo ? -1 : 1);
	return (0);
}

/* IP feed: canonical addresses in numeric order. */
static int
render_ip(struct selection *sel, struct buf *out, size_t *nlines)
{
	struct ipkey	*k;
	size_t		 i, n = sel->nitems, bytes = 0;

	if (n == 0) {
		*nlines = 0;
		return (0);
	}
	if ((k = calloc(n, sizeof(*k))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		const struct store_indicator *ind = sel->items[i].ind;

		k[i].ind = ind;
		k[i].family = ind->kind == IOC_IPV6;
		if (k[i].family) {
			k[i].hi = be64(ind->addr);
			k[i].lo = be64(ind->addr + 8);
		} else
			k[i].lo = (uint64_t)ind->addr[0] << 24 |
			    (uint64_t)ind->addr[1] << 16 |
			    (uint64_t)ind->addr[2] << 8 | ind->addr[3];
		bytes += ind->len + 1;
	}
	qsort(k, n, sizeof(*k), by_address);
	if (buf_reserve(out, bytes) == -1) {
		free(k);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		buf_add(out, k[i].ind->value, k[i].ind->len);	/* reserved */
		buf_addch(out, '\n');
	}
	free(k);
	*nlines = n;
	return (0);
}

/* Domain and URL feeds: all lines, sorted bytewise, repeats dropped. */
static int
render_names(const struct conf_feed *f, struct selection *sel,
    struct buf *out, size_t *nlines)
{
	struct lines	 l = { 0 };
	const char	*s, *prev = NULL;
	size_t		 i;
	int		 rv = -1;

	for (i = 0; i < sel->nitems; i++)
		if ((f->type == FEED_DOMAIN ? domain_lines(&l, sel, f,
		    &sel->items[i]) : url_lines(&l, sel, f,
		    &sel->items[i])) == -1)
			goto out;
	if (l.n > 0)
		qsort_r(l.keys, l.n, sizeof(*l.keys), by_text, l.text.data);
	if (buf_reserve(out, l.text.len) == -1)
		goto out;
	*nlines = 0;
	for (i = 0; i < l.n; i++) {
		s = l.text.data + l.keys[i].off;
		if (prev != NULL && strcmp(prev, s) == 0)
			continue;	/* "evil.com/" from a domain and a URL */
		if (buf_addstr(out, s) == -1 || buf_addch(out, '\n') == -1)
			goto out;
		prev = s;
		(*nlines)++;
	}
	rv = 0;
 out:
	buf_free(&l.text);
	free(l.keys);
	return (rv);
}

/* The first 8 bytes of a string as a big-endian number, zero-padded. */
static uint64_t
prefix8(const char *s)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8 && s[i] != '\0'; i++)
		v |= (uint64_t)(unsigned char)s[i] << (56 - 8 * i);
	return (v);
}

/* A drop as a sort key: prefix of its value, the value, the reason. */
struct dkey {
	uint64_t		 prefix;
	const char		*value;
	enum ioc_reason		 reason;
};

/* By value, then reason: the drop report is as stable as the feed. */
static int
by_drop(const void *a, const void *b)
{
	const struct dkey	*x = a, *y = b;
	int			 c;

	if (x->prefix != y->prefix)
		return (x->prefix < y->prefix ? -1 : 1);
	if ((x->prefix & 0xff) != 0 &&
	    (c = strcmp(x->value + 8, y->value + 8)) != 0)
		return (c);
	return ((int)x->reason - (int)y->reason);
}

static int
render_drops(struct selection *sel, struct rendered *r)
{
	struct buf	 out = { 0 };
	struct dkey	*k = NULL;
	const char	*name;
	size_t		 i, n = sel->ndrops;

	if (n > 0 && (k = calloc(n, sizeof(*k))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		k[i].prefix = prefix8(sel->drops[i].value);
		k[i].value = sel->drops[i].value;
		k[i].reason = sel->drops[i].reason;
	}
	if (n > 0)
		qsort(k, n, sizeof(*k), by_drop);
	if (buf_reserve(&out, 0) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (i > 0 && by_drop(&k[i - 1], &k[i]) == 0)
			continue;
		name = ioc_reason_name(k[i].reason);
		if (buf_addstr(&out, k[i].value) == -1 ||
		    buf_addch(&out, '\t') == -1 ||
		    buf_addstr(&out, name) == -1 || buf_addch(&out, '\n') == -1)
			goto fail;
		r->drops[k[i].reason]++;
	}
	free(k);
	r->dropped = buf_release(&out, &r->dropped_len);
	return (0);
 fail:
	free(k);
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
