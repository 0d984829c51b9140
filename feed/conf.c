/*
 * conf.c: the feeds.conf parser.  One table of keys (conf_keys.c) drives
 * parsing, defaults (their text goes through the same code as the file's
 * text), validation, freeing and the -nn dump.  All parser state lives in
 * a struct parser of its own per call, so parses never share anything.
 * This file reads the file and cuts it into lines, section headers and
 * assignments; values are set by conf_value.c, the whole file is checked
 * by conf_check.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_int.h"
#include "util.h"

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes in feeds.conf */
#define CONF_ERRORS_MAX	50		/* then "too many errors" */
#define CONF_FEEDS_MAX	1024
#define CONF_PANOS_MAX	64

#define DEFAULT_PATH	"/etc/lumu-edl/feeds.conf"
#define LOCAL_PATH	"./feeds.conf"

static int	 unquote(struct parser *, char *, char **);
static void	 parse_header(struct parser *, char *);
static void	 new_section(struct parser *, const char *, const char *);
static void	 parse_assign(struct parser *, char *);
static void	 parse_text(struct parser *, const char *, size_t);

/* Appends "FILE:LINE: message" to the errors (line 0: "FILE: ..."). */
void
conf_perr(struct parser *p, int line, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	p->nerrs++;
	if (p->errs == NULL || p->nerrs > CONF_ERRORS_MAX + 1)
		return;
	/* A file full of garbage must not make an unbounded report. */
	if (p->nerrs == CONF_ERRORS_MAX + 1) {
		buf_printf(p->errs, "%s: too many errors, giving up\n",
		    p->path);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		buf_printf(p->errs, "%s:%d: %s\n", p->path, line, msg);
	else
		buf_printf(p->errs, "%s: %s\n", p->path, msg);
}

/* Appends "FILE:LINE: message" to the warnings. */
void
conf_pwarn(struct parser *p, int line, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	if (p->warns == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_printf(p->warns, "%s:%d: %s\n", p->path, line, msg);
}

/* The section of a kind (and name, for named kinds), or NULL. */
struct sect *
conf_sect_find(const struct parser *p, enum sect_kind kind, const char *name)
{
	const char	*n;
	size_t		 i;

	for (i = 0; i < p->nsects; i++) {
		if (p->sects[i]->kind != kind)
			continue;
		if (!conf_sect_defs[kind].named)
			return (p->sects[i]);
		n = kind == SK_FEED ? p->conf->feeds[p->sects[i]->idx].name :
		    p->conf->panos[p->sects[i]->idx].name;
		if (strcmp(n, name) == 0)
			return (p->sects[i]);
	}
	return (NULL);
}

/* Adds a section of kind k; named kinds get a zeroed struct of their own. */
struct sect *
conf_sect_add(struct parser *p, enum sect_kind k, const char *name)
{
	struct conf	*c = p->conf;
	struct sect	*s;

	s = xcalloc(1, sizeof(*s));
	s->kind = k;
	s->line = p->line;
	if (k == SK_FEED) {
		s->idx = c->nfeeds++;
		c->feeds = xreallocarray(c->feeds, c->nfeeds,
		    sizeof(*c->feeds));
		memset(&c->feeds[s->idx], 0, sizeof(c->feeds[s->idx]));
		c->feeds[s->idx].name = xstrdup(name);
		c->feeds[s->idx].line = p->line;
	} else if (k == SK_PANOS) {
		s->idx = c->npanos++;
		c->panos = xreallocarray(c->panos, c->npanos,
		    sizeof(*c->panos));
		memset(&c->panos[s->idx], 0, sizeof(c->panos[s->idx]));
		c->panos[s->idx].name = xstrdup(name);
		c->panos[s->idx].line = p->line;
	}
	p->sects = xreallocarray(p->sects, p->nsects + 1, sizeof(*p->sects));
	p->sects[p->nsects++] = s;
	return (s);
}

/*
 * Cuts the value out of the text after "=": a quoted string (with \" and
 * \\), or bare text up to a "#" that follows a blank, trimmed.
 */
static int
unquote(struct parser *p, char *s, char **out)
{
	char	*d, *e;

	s += strspn(s, " \t");
	*out = s;
	if (*s != '"') {
		/* s[-1] exists: at worst it is the '='. */
		for (e = s; *e != '\0'; e++)
			if (*e == '#' && (e[-1] == ' ' || e[-1] == '\t'))
				break;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		return (0);
	}
	for (d = s, e = s + 1; *e != '"'; *d++ = *e++) {
		if (*e == '\0') {
			conf_perr(p, p->line, "unterminated quoted value");
			return (-1);
		}
		if (*e == '\\' && (e[1] == '"' || e[1] == '\\'))
			e++;
		else if (*e == '\\') {
			conf_perr(p, p->line, "bad escape in quoted value: "
			    "only \\\" and \\\\");
			return (-1);
		}
	}
	*d = '\0';
	e++;
	e += strspn(e, " \t");
	if (*e != '\0' && !(*e == '#' && (e[-1] == ' ' || e[-1] == '\t'))) {
		conf_perr(p, p->line, "text after the closing quote");
		return (-1);
	}
	return (0);
}

/* "[kind]" or "[kind NAME]", maybe followed by a comment. */
static void
parse_header(struct parser *p, char *s)
{
	char	*kind, *kend, *name = NULL, *nend = NULL;

	p->cur = NULL;
	p->skipping = 1;
	s++;
	s += strspn(s, " \t");
	kind = s;
	s += strcspn(s, " \t]");
	kend = s;
	s += strspn(s, " \t");
	if (*s != ']' && *s != '\0') {
		name = s;
		s += strcspn(s, " \t]");
		nend = s;
		s += strspn(s, " \t");
	}
	if (*s != ']') {
		conf_perr(p, p->line, "bad section header: expected [kind] or "
		    "[kind NAME]");
		return;
	}
	s++;
	s += strspn(s, " \t");
	if (*s != '\0' && !(*s == '#' && (s[-1] == ' ' || s[-1] == '\t'))) {
		conf_perr(p, p->line, "text after the section header");
		return;
	}
	*kend = '\0';
	if (nend != NULL)
		*nend = '\0';
	new_section(p, kind, name);
}

/* Opens a section; errors leave p->cur NULL so its keys are skipped. */
static void
new_section(struct parser *p, const char *kind, const char *name)
{
	struct sect	*old;
	char		 label[96];
	int		 k;

	for (k = 0; k < SK_NKINDS; k++)
		if (strcmp(conf_sect_defs[k].name, kind) == 0)
			break;
	if (k == SK_NKINDS) {
		conf_perr(p, p->line, "unknown section [%s]", kind);
		return;
	}
	if (conf_sect_defs[k].named && name == NULL) {
		conf_perr(p, p->line, "[%s] needs a name: [%s NAME]", kind,
		    kind);
		return;
	}
	if (!conf_sect_defs[k].named && name != NULL) {
		conf_perr(p, p->line, "[%s] takes no name", kind);
		return;
	}
	if (name != NULL && !conf_name_valid(name)) {
		conf_perr(p, p->line, "bad %s name \"%s\": 1 to %d letters, "
		    "digits, _ or -", kind, name, CONF_NAME_MAX);
		return;
	}
	snprintf(label, sizeof(label), "[%s%s%s]", kind, name ? " " : "",
	    name ? name : "");
	if ((old = conf_sect_find(p, k, name)) != NULL) {
		conf_perr(p, p->line, "duplicate section %s (first at line %d)",
		    label, old->line);
		return;
	}
	if ((k == SK_FEED && p->conf->nfeeds >= CONF_FEEDS_MAX) ||
	    (k == SK_PANOS && p->conf->npanos >= CONF_PANOS_MAX)) {
		conf_perr(p, p->line, "too many [%s] sections", kind);
		return;
	}
	p->cur = conf_sect_add(p, k, name);
	p->skipping = 0;
}

/* "key = value". */
static void
parse_assign(struct parser *p, char *s)
{
	struct sect	*cur = p->cur;
	char		*key, *kend, *val;
	int		 i, first;

	key = s;
	s += strcspn(s, " \t=");
	kend = s;
	s += strspn(s, " \t");
	if (*s != '=' || kend == key) {
		conf_perr(p, p->line, "expected key = value");
		return;
	}
	*kend = '\0';
	if (unquote(p, s + 1, &val) == -1)
		return;
	if (cur == NULL) {
		if (!p->skipping)
			conf_perr(p, p->line, "%s outside any section", key);
		return;
	}
	if ((i = conf_key_find(cur->kind, key)) == -1) {
		conf_perr(p, p->line, "unknown key %s in [%s]", key,
		    conf_sect_defs[cur->kind].name);
		return;
	}
	first = abs(cur->keyline[i]);
	if (first != 0 && !(conf_keys[i].flags & KF_REPEAT)) {
		conf_perr(p, p->line, "duplicate key %s (first at line %d)",
		    key, first);
		return;
	}
	cur->keyline[i] = p->line;
	if (conf_set_value(p, cur, p->line, &conf_keys[i], val) == -1)
		cur->keyline[i] = -p->line;
}

/* Splits the file into lines and parses each. */
static void
parse_text(struct parser *p, const char *data, size_t len)
{
	const char	*s = data, *end = data + len, *nl;
	char		*t;
	size_t		 n, i;

	for (; s < end; s = nl != NULL ? nl + 1 : end) {
		p->line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl != NULL ? nl : end) - s);
		/* A file edited on Windows parses the same. */
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > CONF_LINE_MAX) {
			conf_perr(p, p->line, "line longer than %d bytes",
			    CONF_LINE_MAX);
			continue;
		}
		for (i = 0; i < n; i++)
			if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
			    s[i] == 0x7f)
				break;
		if (i < n) {
			conf_perr(p, p->line, "control character 0x%02x",
			    (unsigned char)s[i]);
			continue;
		}
		memcpy(p->lbuf, s, n);
		p->lbuf[n] = '\0';
		t = p->lbuf + strspn(p->lbuf, " \t");
		if (*t == '[')
			parse_header(p, t);
		else if (*t != '\0' && *t != '#' && *t != ';')
			parse_assign(p, t);
	}
}

/* Reads the file whole, parses it line by line, then checks it whole. */
struct conf *
conf_parse(const char *path, struct buf *errs, struct buf *warns)
{
	struct parser	*p;
	struct conf	*c;
	char		*data;
	size_t		 len, i;
	int		 nerrs;

	/* The state holds an 8 KiB line buffer: keep it off the stack. */
	p = xcalloc(1, sizeof(*p));
	p->path = path;
	p->errs = errs;
	p->warns = warns;
	p->conf = xcalloc(1, sizeof(*p->conf));
	p->conf->path = xstrdup(path);
	if (file_read_all(path, CONF_FILE_MAX, &data, &len) == -1) {
		conf_perr(p, 0, "%s", errno == EFBIG ? "larger than 1 MiB" :
		    strerror(errno));
	} else {
		parse_text(p, data, len);
		/* Inline secrets were in there. */
		explicit_bzero(data, len);
		free(data);
		conf_finalize(p);
	}
	for (i = 0; i < p->nsects; i++)
		free(p->sects[i]);
	free(p->sects);
	explicit_bzero(p->lbuf, sizeof(p->lbuf));
	c = p->conf;
	nerrs = p->nerrs;
	free(p);
	if (nerrs > 0) {
		conf_free(c);
		return (NULL);
	}
	return (c);
}

const char *
conf_default_path(void)
{
	if (access(LOCAL_PATH, F_OK) == 0)
		return (LOCAL_PATH);
	return (DEFAULT_PATH);
}

const struct conf_feed *
conf_feed_find(const struct conf *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nfeeds; i++)
		if (strcmp(c->feeds[i].name, name) == 0)
			return (&c->feeds[i]);
	return (NULL);
}

