/*
 * conf_dump.c: the -nn dump: the effective configuration in feeds.conf
 * syntax: every default filled in, every secret as "(secret)", each key
 * followed by its help text as a comment, text quoted where bare text
 * would read back differently.
 */
#include <stdio.h>
#include <string.h>

#include "conf_int.h"
#include "util.h"

#define CONF_HELP_COL	32		/* column of -nn comments */

static void	 dump_text(struct buf *, const char *);
static int	 dump_value(struct buf *, const struct key_def *,
		    const void *);
static void	 dump_line(FILE *, const char *, const char *);
static void	 dump_key(FILE *, const struct conf *,
		    const struct key_def *, const void *);
static void	 dump_section(FILE *, const struct conf *, enum sect_kind,
		    const char *, const void *);

/* Appends s, quoted when bare text would read back differently. */
static void
dump_text(struct buf *b, const char *s)
{
	size_t	n = strlen(s);

	if (n > 0 && strchr(s, '#') == NULL && s[0] != '"' &&
	    strchr(" \t", s[0]) == NULL && strchr(" \t", s[n - 1]) == NULL) {
		buf_addstr(b, s);
		return;
	}
	buf_addch(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *s);
	}
	buf_addch(b, '"');
}

/* Appends a key's value as the file would spell it; -1 when unset. */
static int
dump_value(struct buf *b, const struct key_def *k, const void *base)
{
	const char			*m = (const char *)base + k->off;
	const struct conf_strlist	*l;
	struct buf			 t = { 0 };
	char				 num[32];
	int64_t				 v;
	size_t				 i;

	if (conf_is_text(k->type)) {
		if (*(char *const *)m == NULL)
			return (-1);
		if (k->type == KT_SECRET)
			buf_addstr(b, "(secret)");
		else
			dump_text(b, *(char *const *)m);
		return (0);
	}
	if (k->type == KT_LIST || k->type == KT_ALLOW) {
		l = (const struct conf_strlist *)m;
		if (l->n == 0)
			return (-1);
		for (i = 0; i < l->n; i++)
			buf_printf(&t, "%s%s", i ? ", " : "", l->v[i]);
		dump_text(b, t.data);
		buf_free(&t);
		return (0);
	}
	v = conf_load_num(m, k->size);
	if (k->type == KT_BOOL)
		buf_addstr(b, v ? "yes" : "no");
	else if (k->type == KT_ENUM)
		buf_addstr(b, k->names[v]);
	else if (k->type == KT_ENUMSET) {
		for (i = 0; k->names[i] != NULL; i++) {
			if (!(v & (1 << i)))
				continue;
			buf_printf(b, "%s%s", t.len ? ", " : "", k->names[i]);
			/* t only counts the names printed so far. */
			buf_addch(&t, ',');
		}
		buf_free(&t);
	} else {
		conf_fmt_num(num, sizeof(num), k, v);
		buf_addstr(b, num);
	}
	return (0);
}

/* Prints "key = value", then the help text as a comment. */
static void
dump_line(FILE *fp, const char *text, const char *help)
{
	int	n;

	n = fprintf(fp, "%s", text);
	fprintf(fp, "%*s# %s\n", n < CONF_HELP_COL ? CONF_HELP_COL - n : 1,
	    "", help);
}

/* Prints one key: every listen, a value, or a comment when unset. */
static void
dump_key(FILE *fp, const struct conf *c, const struct key_def *k,
    const void *base)
{
	struct buf	 b = { 0 };
	size_t		 i;
	int		 v6;

	if (k->type == KT_LISTEN) {
		for (i = 0; i < c->nlistens; i++) {
			v6 = strchr(c->listens[i].host, ':') != NULL;
			b.len = 0;
			buf_printf(&b, "listen = %s%s%s:%d%s", v6 ? "[" : "",
			    c->listens[i].host, v6 ? "]" : "",
			    c->listens[i].port, c->listens[i].tls ? " tls" :
			    "");
			dump_line(fp, b.data, k->help);
		}
		buf_free(&b);
		return;
	}
	for (i = 0; k->type == KT_SECRET && i < CONF_NKEYS; i++)
		if (conf_keys[i].sect == k->sect && conf_keys[i].pair != NULL &&
		    strcmp(conf_keys[i].pair, k->name) == 0 &&
		    *(char *const *)((const char *)base +
		    conf_keys[i].off) != NULL)
			break;
	buf_printf(&b, "%s = ", k->name);
	if (k->type == KT_SECRET && i < CONF_NKEYS) {
		b.len = 0;
		buf_printf(&b, "# %s = (secret, from %s)", k->name,
		    conf_keys[i].name);
	} else if (dump_value(&b, k, base) == -1) {
		b.len = 0;
		buf_printf(&b, "# %s = (not set)", k->name);
	}
	dump_line(fp, b.data, k->help);
	buf_free(&b);
}

/* Prints a section header and every key of its kind. */
static void
dump_section(FILE *fp, const struct conf *c, enum sect_kind kind,
    const char *name, const void *base)
{
	size_t	i;

	if (name != NULL)
		fprintf(fp, "[%s %s]\n", conf_sect_defs[kind].name, name);
	else
		fprintf(fp, "[%s]\n", conf_sect_defs[kind].name);
	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].sect == kind)
			dump_key(fp, c, &conf_keys[i], base);
}

/* Sections in a fixed order: [lumu], [server], feeds, [allowlist], panos. */
void
conf_dump(const struct conf *c, FILE *fp)
{
	size_t	i;

	dump_section(fp, c, SK_LUMU, NULL, c);
	fputc('\n', fp);
	dump_section(fp, c, SK_SERVER, NULL, c);
	for (i = 0; i < c->nfeeds; i++) {
		fputc('\n', fp);
		dump_section(fp, c, SK_FEED, c->feeds[i].name, &c->feeds[i]);
	}
	fputc('\n', fp);
	dump_section(fp, c, SK_ALLOWLIST, NULL, c);
	for (i = 0; i < c->npanos; i++) {
		fputc('\n', fp);
		dump_section(fp, c, SK_PANOS, c->panos[i].name, &c->panos[i]);
	}
}
