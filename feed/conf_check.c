/*
 * conf_check.c: what is done once the whole file is read: defaults for
 * every key not given, required keys and groups of keys, and the checks
 * that cross keys and sections ([server] listeners, [feed] keys that
 * depend on the type or on [lumu], [panos] credentials and feeds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf_int.h"
#include "log.h"
#include "util.h"

/* Keys of which at most one may be given; required: exactly one. */
static const struct key_group {
	enum sect_kind	 sect;
	const char	*keys[3];
	int		 required;
} key_groups[] = {
	{ SK_LUMU, { "company-key", "company-key-file", NULL }, 1 },
	{ SK_PANOS, { "api-key", "api-key-file", "username" }, 1 },
	{ SK_PANOS, { "password", "password-file", NULL }, 0 },
};

static void	 sect_label(const struct parser *, const struct sect *,
		    char *, size_t);
static int	 strlist_has(const struct conf_strlist *, const char *);
static void	 apply_defaults(struct parser *, struct sect *);
static void	 check_groups(struct parser *, struct sect *);
static void	 check_server(struct parser *, struct sect *);
static void	 check_feed(struct parser *, struct sect *);
static void	 check_panos_feed(struct parser *, struct sect *, int,
		    enum feed_type);
static void	 check_panos(struct parser *, struct sect *);

/* "[lumu]", "[feed ip]". */
static void
sect_label(const struct parser *p, const struct sect *s, char *dst,
    size_t dstsz)
{
	const char	*name = NULL;

	if (s->kind == SK_FEED)
		name = p->conf->feeds[s->idx].name;
	else if (s->kind == SK_PANOS)
		name = p->conf->panos[s->idx].name;
	if (name != NULL)
		snprintf(dst, dstsz, "[%s %s]", conf_sect_defs[s->kind].name,
		    name);
	else
		snprintf(dst, dstsz, "[%s]", conf_sect_defs[s->kind].name);
}

/* 1 when the list holds s, compared case-insensitively. */
static int
strlist_has(const struct conf_strlist *l, const char *s)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return (1);
	return (0);
}

/* Fills every key not given from its default text. */
static void
apply_defaults(struct parser *p, struct sect *s)
{
	char	tmp[256];
	size_t	i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].sect != s->kind || conf_keys[i].def == NULL ||
		    s->keyline[i] != 0)
			continue;
		/* Setters cut their value up, so give them a copy. */
		snprintf(tmp, sizeof(tmp), "%s", conf_keys[i].def);
		if (conf_set_value(p, s, s->line, &conf_keys[i], tmp) == -1)
			fatalx("%s: bad default for %s", __func__,
			    conf_keys[i].name);
	}
}

/* Required keys, and groups of keys of which one may be given. */
static void
check_groups(struct parser *p, struct sect *s)
{
	const struct key_group	*g;
	char			 label[96];
	size_t			 i, j;
	int			 ki, n, line;

	sect_label(p, s, label, sizeof(label));
	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].sect == s->kind &&
		    (conf_keys[i].flags & KF_REQUIRED) && s->keyline[i] == 0)
			conf_perr(p, s->line, "%s: missing required key %s",
			    label, conf_keys[i].name);
	for (i = 0; i < nitems(key_groups); i++) {
		g = &key_groups[i];
		if (g->sect != s->kind)
			continue;
		for (j = 0, n = 0, line = 0; j < 3 && g->keys[j]; j++) {
			ki = conf_key_find(s->kind, g->keys[j]);
			if (s->keyline[ki] == 0)
				continue;
			n++;
			line = abs(s->keyline[ki]) > line ?
			    abs(s->keyline[ki]) : line;
		}
		if (n > 1)
			conf_perr(p, line, "give only one of %s, %s%s%s",
			    g->keys[0], g->keys[1], g->keys[2] ? ", " : "",
			    g->keys[2] ? g->keys[2] : "");
		else if (n == 0 && g->required)
			conf_perr(p, s->line, "%s: missing %s%s%s or %s", label,
			    g->keys[0], g->keys[2] ? ", " : "",
			    g->keys[2] ? g->keys[1] : "",
			    g->keys[2] ? g->keys[2] : g->keys[1]);
	}
}

/* [server]: the thread default and what tls listeners need. */
static void
check_server(struct parser *p, struct sect *s)
{
	struct conf	*c = p->conf;
	long		 n;
	size_t		 i;
	int		 tls = 0;

	if (s->keyline[conf_key_find(SK_SERVER, "threads")] == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		c->threads = n < 1 ? 1 : n > CONF_THREADS_MAX ?
		    CONF_THREADS_MAX : (int)n;
	}
	for (i = 0; i < c->nlistens; i++)
		tls |= c->listens[i].tls;
	if (!tls)
		return;
	if (s->keyline[conf_key_find(SK_SERVER, "tls-certificate")] == 0)
		conf_perr(p, s->line, "[server]: tls-certificate is required "
		    "by listen ... tls");
	if (s->keyline[conf_key_find(SK_SERVER, "tls-key")] == 0)
		conf_perr(p, s->line, "[server]: tls-key is required by listen "
		    "... tls");
}

/* [feed NAME]: keys that depend on the type, [lumu] or [server]. */
static void
check_feed(struct parser *p, struct sect *s)
{
	struct conf_feed		*f = &p->conf->feeds[s->idx];
	const struct conf_strlist	*all = &p->conf->adversary_types;
	struct sect			*ls, *ss;
	int				 tl, sub, dir, adv, users;
	size_t				 i;

	tl = s->keyline[conf_key_find(SK_FEED, "type")];
	sub = s->keyline[conf_key_find(SK_FEED, "include-subdomains")];
	dir = s->keyline[conf_key_find(SK_FEED, "include-subdirectories")];
	adv = s->keyline[conf_key_find(SK_FEED, "adversary-types")];
	users = s->keyline[conf_key_find(SK_FEED, "users")];
	/* "= no" stays harmless everywhere, so -nn output reads back. */
	if (tl > 0 && sub > 0 && f->include_subdomains && f->type == FEED_IP)
		conf_perr(p, sub, "include-subdomains applies to domain and "
		    "url feeds only");
	if (tl > 0 && dir > 0 && f->include_subdirectories &&
	    f->type != FEED_URL)
		conf_perr(p, dir, "include-subdirectories applies to url feeds "
		    "only");
	/* Without a good [lumu] list there is nothing to compare with. */
	ls = conf_sect_find(p, SK_LUMU, NULL);
	if (ls != NULL &&
	    ls->keyline[conf_key_find(SK_LUMU, "adversary-types")] >= 0) {
		if (adv == 0 && all->n > 0) {
			f->adversary_types.v = xcalloc(all->n, sizeof(char *));
			for (i = 0; i < all->n; i++)
				f->adversary_types.v[i] = xstrdup(all->v[i]);
			f->adversary_types.n = all->n;
		}
		for (i = 0; adv > 0 && i < f->adversary_types.n; i++)
			if (!strlist_has(all, f->adversary_types.v[i]))
				conf_perr(p, adv, "adversary-types: %s is not "
				    "in [lumu] adversary-types",
				    f->adversary_types.v[i]);
	}
	ss = conf_sect_find(p, SK_SERVER, NULL);
	if (users > 0 &&
	    ss->keyline[conf_key_find(SK_SERVER, "auth-file")] == 0)
		conf_perr(p, users, "users needs auth-file in [server]");
}

/* A [panos] key naming a feed: it must exist and be of the given type. */
static void
check_panos_feed(struct parser *p, struct sect *s, int ki,
    enum feed_type want)
{
	const char	*name;
	struct sect	*fs;
	int		 line = s->keyline[ki];

	if (line <= 0)
		return;
	name = *(char **)((char *)conf_sect_base(p, s) + conf_keys[ki].off);
	if ((fs = conf_sect_find(p, SK_FEED, name)) == NULL) {
		conf_perr(p, line, "%s: no [feed %s]", conf_keys[ki].name,
		    name);
		return;
	}
	if (fs->keyline[conf_key_find(SK_FEED, "type")] > 0 &&
	    p->conf->feeds[fs->idx].type != want)
		conf_perr(p, line, "%s: [feed %s] has type %s, not %s",
		    conf_keys[ki].name, name,
		    conf_feed_type_name(p->conf->feeds[fs->idx].type),
		    conf_feed_type_name(want));
}

/* [panos NAME]: credentials, TLS and what to push where. */
static void
check_panos(struct parser *p, struct sect *s)
{
	struct conf_panos	*t = &p->conf->panos[s->idx];
	char			 label[96];
	int			 user, pw, pwf, ca, vt, df, dt, uf, uc;

	sect_label(p, s, label, sizeof(label));
	user = s->keyline[conf_key_find(SK_PANOS, "username")];
	pw = s->keyline[conf_key_find(SK_PANOS, "password")];
	pwf = s->keyline[conf_key_find(SK_PANOS, "password-file")];
	ca = s->keyline[conf_key_find(SK_PANOS, "ca-file")];
	vt = s->keyline[conf_key_find(SK_PANOS, "verify-tls")];
	df = conf_key_find(SK_PANOS, "dag-feed");
	dt = s->keyline[conf_key_find(SK_PANOS, "dag-tag")];
	uf = conf_key_find(SK_PANOS, "url-category-feed");
	uc = s->keyline[conf_key_find(SK_PANOS, "url-category")];
	if (user != 0 && pw == 0 && pwf == 0)
		conf_perr(p, s->line, "%s: username needs password or "
		    "password-file", label);
	if (user == 0 && (pw != 0 || pwf != 0))
		conf_perr(p, abs(pw != 0 ? pw : pwf), "%s needs username",
		    pw != 0 ? "password" : "password-file");
	if (vt > 0 && !t->verify_tls && ca != 0)
		conf_perr(p, vt, "verify-tls = no contradicts ca-file");
	else if (vt > 0 && !t->verify_tls)
		conf_pwarn(p, vt, "verify-tls = no: the certificate of %s is "
		    "not checked", label);
	if (s->keyline[df] != 0 && dt == 0)
		conf_perr(p, s->line, "%s: dag-tag is required with dag-feed",
		    label);
	if (s->keyline[df] == 0 && dt != 0)
		conf_perr(p, abs(dt), "dag-tag needs dag-feed");
	if (s->keyline[uf] != 0 && uc == 0)
		conf_perr(p, s->line, "%s: url-category is required with "
		    "url-category-feed", label);
	if (s->keyline[uf] == 0 && uc != 0)
		conf_perr(p, abs(uc), "url-category needs url-category-feed");
	if (s->keyline[df] == 0 && s->keyline[uf] == 0)
		conf_perr(p, s->line, "%s: needs dag-feed or url-category-feed",
		    label);
	check_panos_feed(p, s, df, FEED_IP);
	check_panos_feed(p, s, uf, FEED_URL);
}

/* Defaults and the checks that need the whole file, section by kind. */
void
conf_finalize(struct parser *p)
{
	struct sect	*s;
	int		 k, eof = p->line > 0 ? p->line : 1;
	size_t		 i;

	/* Absent optional sections still get their defaults. */
	if (conf_sect_find(p, SK_SERVER, NULL) == NULL)
		conf_sect_add(p, SK_SERVER, NULL)->line = 0;
	if (conf_sect_find(p, SK_ALLOWLIST, NULL) == NULL)
		conf_sect_add(p, SK_ALLOWLIST, NULL)->line = 0;
	if (conf_sect_find(p, SK_LUMU, NULL) == NULL)
		conf_perr(p, eof, "missing section [lumu]");
	if (p->conf->nfeeds == 0)
		conf_perr(p, eof, "missing a [feed NAME] section");
	/* In kind order: feeds read [lumu] and [server], [panos] feeds. */
	for (k = 0; k < SK_NKINDS; k++) {
		for (i = 0; i < p->nsects; i++) {
			if ((s = p->sects[i])->kind != (enum sect_kind)k)
				continue;
			apply_defaults(p, s);
			check_groups(p, s);
			if (k == SK_SERVER)
				check_server(p, s);
			else if (k == SK_FEED)
				check_feed(p, s);
			else if (k == SK_PANOS)
				check_panos(p, s);
		}
	}
}
