/*
 * render.c: selection to bytes.  IP feeds sort by address (IPv4, then
 * IPv6); name and URL feeds sort their final lines bytewise, expansions
 * included, and drop repeated lines.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

/* Lines being built: NUL-separated text plus start offsets. */
struct lines {
	struct buf	 text;
	size_t		*off;
	size_t		 n, cap;
};

static int
lines_add(struct lines *l, const char *a, size_t alen, const char *b,
    size_t blen, const char *c)
{
	size_t	*n;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		if ((n = reallocarray(l->off, l->cap, sizeof(*n))) == NULL)
			return (-1);
		l->off = n;
	}
	l->off[l->n++] = l->text.len;
	if (buf_add(&l->text, a, alen) == -1 ||
	    buf_add(&l->text, b, blen) == -1 ||
	    buf_addstr(&l->text, c) == -1 ||
	    buf_addch(&l->text, '\0') == -1)
		return (-1);
	return (0);
}

static const char *lines_base;	/* qsort has no context argument */

static int
by_text(const void *a, const void *b)
{
	return (strcmp(lines_base + *(const size_t *)a,
	    lines_base + *(const size_t *)b));
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

/* IPv4 before IPv6, then by address bytes. */
static int
by_address(const void *a, const void *b)
{
	const struct sel_item	*x = a, *y = b;

	if (x->ind->kind != y->ind->kind)
		return (x->ind->kind == IOC_IPV4 ? -1 : 1);
	return (memcmp(x->ind->addr, y->ind->addr,
	    x->ind->kind == IOC_IPV4 ? 4 : 16));
}

/* IP feed: canonical addresses in numeric order. */
static int
render_ip(struct selection *sel, struct buf *out, size_t *nlines)
{
	size_t	i;

	if (sel->nitems > 0)
		qsort(sel->items, sel->nitems, sizeof(*sel->items),
		    by_address);
	for (i = 0; i < sel->nitems; i++)
		if (buf_add(out, sel->items[i].ind->value,
		    sel->items[i].ind->len) == -1 || buf_addch(out, '\n') == -1)
			return (-1);
	*nlines = sel->nitems;
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
	lines_base = l.text.data;
	if (l.n > 0)
		qsort(l.off, l.n, sizeof(*l.off), by_text);
	*nlines = 0;
	for (i = 0; i < l.n; i++) {
		s = l.text.data + l.off[i];
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
	free(l.off);
	return (rv);
}

/* By value, then reason: the drop report is as stable as the feed. */
static int
by_drop(const void *a, const void *b)
{
	const struct sel_drop	*x = a, *y = b;
	int			 c = strcmp(x->value, y->value);

	return (c != 0 ? c : (int)x->reason - (int)y->reason);
}

static int
render_drops(struct selection *sel, struct rendered *r)
{
	struct buf	out = { 0 };
	size_t		i;

	if (sel->ndrops > 0)
		qsort(sel->drops, sel->ndrops, sizeof(*sel->drops), by_drop);
	if (buf_reserve(&out, 0) == -1)
		return (-1);
	for (i = 0; i < sel->ndrops; i++) {
		if (i > 0 && by_drop(&sel->drops[i - 1], &sel->drops[i]) == 0)
			continue;
		if (buf_printf(&out, "%s\t%s\n", sel->drops[i].value,
		    ioc_reason_name(sel->drops[i].reason)) == -1) {
			buf_free(&out);
			return (-1);
		}
		r->drops[sel->drops[i].reason]++;
	}
	r->dropped = buf_release(&out, &r->dropped_len);
	return (0);
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
