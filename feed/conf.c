/*
 * conf.c: the feeds.conf parser.  One table of keys drives parsing,
 * defaults (their text goes through the same code as the file's text),
 * validation, freeing and the -nn dump.  All parser state lives in a
 * struct parser of its own per call, so parses never share anything.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "ioc.h"
#include "log.h"
#include "util.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes in feeds.conf */
#define CONF_LINE_MAX	8192		/* bytes in one line */
#define CONF_SECRET_MAX	8192		/* bytes in a *-file */
#define CONF_ERRORS_MAX	50		/* then "too many errors" */
#define CONF_NAME_MAX	64		/* [feed NAME], [panos NAME] */
#define CONF_FEEDS_MAX	1024
#define CONF_PANOS_MAX	64
#define CONF_LISTENS_MAX 64
#define CONF_THREADS_MAX 64
#define CONF_HELP_COL	32		/* column of -nn comments */

#define MINUTE		60
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)

#define DEFAULT_PATH	"/etc/lumu-edl/feeds.conf"
#define LOCAL_PATH	"./feeds.conf"

enum sect_kind {
	SK_LUMU,
	SK_SERVER,
	SK_FEED,
	SK_ALLOWLIST,
	SK_PANOS,
	SK_NKINDS
};

/* Section kinds, in the order -nn prints them. */
static const struct sect_def {
	const char	*name;
	int		 named;		/* [kind NAME] */
} sect_defs[SK_NKINDS] = {
	[SK_LUMU] =		{ "lumu", 0 },
	[SK_SERVER] =		{ "server", 0 },
	[SK_FEED] =		{ "feed", 1 },
	[SK_ALLOWLIST] =	{ "allowlist", 0 },
	[SK_PANOS] =		{ "panos", 1 },
};

enum key_type {
	KT_STRING,		/* any text */
	KT_NAME,		/* a feed name: [A-Za-z0-9_-]{1,64} */
	KT_URL,			/* http:// or https:// */
	KT_PATH,		/* a path, not opened here (directories) */
	KT_FILE,		/* a path to a readable regular file */
	KT_SECRET,		/* a secret given inline */
	KT_SECRET_FILE,		/* a path; its content fills .pair */
	KT_DURATION,		/* N followed by s, m, h or d; in seconds */
	KT_INT,			/* plain decimal */
	KT_PERCENT,		/* N% */
	KT_BOOL,		/* yes | no */
	KT_LIST,		/* comma-separated items */
	KT_ALLOW,		/* list of addresses, networks and names */
	KT_LISTEN,		/* ADDR:PORT or [V6]:PORT, then maybe "tls" */
	KT_ENUM,		/* one of .names, stored as its index */
	KT_ENUMSET,		/* list of .names, stored as bits */
	KT_NTYPES
};

#define KF_REQUIRED	0x1
#define KF_REPEAT	0x2

struct key_def {
	enum sect_kind		 sect;
	const char		*name;
	enum key_type		 type;
	int64_t			 min, max;	/* numbers */
	const char		*def;		/* parsed like file text */
	size_t			 off;		/* in the section struct */
	size_t			 size;		/* of that member */
	int			 flags;
	const char *const	*names;		/* KT_ENUM[SET] */
	const char		*pair;		/* the secret it fills */
	const char		*help;
};

#define C(f)	.off = offsetof(struct conf, f),			\
		.size = sizeof(((struct conf *)0)->f)
#define F(f)	.off = offsetof(struct conf_feed, f),			\
		.size = sizeof(((struct conf_feed *)0)->f)
#define P(f)	.off = offsetof(struct conf_panos, f),			\
		.size = sizeof(((struct conf_panos *)0)->f)

/* The index of a name is the enum feed_type value. */
static const char *const feed_types[] = { "ip", "domain", "url", NULL };
/* The index of a name is its CONF_ST_* bit number. */
static const char *const statuses[] = { "open", "muted", "closed", NULL };

_Static_assert(FEED_IP == 0 && FEED_DOMAIN == 1 && FEED_URL == 2,
    "feed_types[] follows enum feed_type");
_Static_assert(CONF_ST_OPEN == 1 << 0 && CONF_ST_MUTED == 1 << 1 &&
    CONF_ST_CLOSED == 1 << 2, "statuses[] follows the CONF_ST_* bits");

/* Every key of feeds.conf, in the order -nn prints them. */
static const struct key_def keys[] = {
	{ .sect = SK_LUMU, .name = "company-key", .type = KT_SECRET,
	  C(company_key), .help = "the Lumu company key" },
	{ .sect = SK_LUMU, .name = "company-key-file",
	  .type = KT_SECRET_FILE, C(company_key_file),
	  .pair = "company-key", .help = "file holding the company key" },
	{ .sect = SK_LUMU, .name = "api-url", .type = KT_URL,
	  .def = "https://defender.lumu.io", C(api_url),
	  .help = "Lumu API base URL" },
	{ .sect = SK_LUMU, .name = "adversary-types", .type = KT_LIST,
	  .def = "C2C, Malware, DGA, Mining, Spam, Phishing, Anonymizer, "
	  "Network Scan", C(adversary_types),
	  .help = "incident types read from Lumu" },
	{ .sect = SK_LUMU, .name = "lookback", .type = KT_DURATION,
	  .min = HOUR, .max = 3650 * (int64_t)DAY, .def = "30d", C(lookback),
	  .help = "age-out by last contact" },
	{ .sect = SK_LUMU, .name = "updates-wait", .type = KT_DURATION,
	  .min = 1, .max = MINUTE, .def = "30s", C(updates_wait),
	  .help = "long-poll time of the updates" },
	{ .sect = SK_LUMU, .name = "resync", .type = KT_DURATION,
	  .min = MINUTE, .max = 30 * DAY, .def = "6h", C(resync),
	  .help = "full re-read of the window" },
	{ .sect = SK_LUMU, .name = "threat-triggers", .type = KT_BOOL,
	  .def = "no", C(threat_triggers),
	  .help = "per-incident context, URL indicators" },
	{ .sect = SK_LUMU, .name = "max-requests-per-minute", .type = KT_INT,
	  .min = 0, .max = 10000, .def = "40", C(max_requests_per_minute),
	  .help = "0 = no limit" },
	{ .sect = SK_LUMU, .name = "max-shrink", .type = KT_PERCENT,
	  .min = 0, .max = 100, .def = "50%", C(max_shrink),
	  .help = "largest share a resync removes at once" },

	{ .sect = SK_SERVER, .name = "listen", .type = KT_LISTEN,
	  .def = "0.0.0.0:8080", .flags = KF_REPEAT,
	  .help = "ADDR:PORT or [V6]:PORT, then maybe tls" },
	{ .sect = SK_SERVER, .name = "tls-certificate", .type = KT_FILE,
	  C(tls_certificate), .help = "PEM certificate for tls listeners" },
	{ .sect = SK_SERVER, .name = "tls-key", .type = KT_FILE, C(tls_key),
	  .help = "PEM private key for tls listeners" },
	{ .sect = SK_SERVER, .name = "threads", .type = KT_INT, .min = 1,
	  .max = CONF_THREADS_MAX, C(threads),
	  .help = "serving threads; default: cores" },
	{ .sect = SK_SERVER, .name = "state-dir", .type = KT_PATH,
	  .def = "/var/lib/lumu-edl", C(state_dir),
	  .help = "saved store and feeds" },
	{ .sect = SK_SERVER, .name = "auth-file", .type = KT_FILE,
	  C(auth_file), .help = "htpasswd file for feeds with users" },
	{ .sect = SK_SERVER, .name = "export-dir", .type = KT_PATH,
	  C(export_dir), .help = "also write every feed here" },
	{ .sect = SK_SERVER, .name = "access-log", .type = KT_BOOL,
	  .def = "yes", C(access_log), .help = "one log line per request" },

	{ .sect = SK_FEED, .name = "type", .type = KT_ENUM,
	  .names = feed_types, F(type), .flags = KF_REQUIRED,
	  .help = "ip | domain | url" },
	{ .sect = SK_FEED, .name = "adversary-types", .type = KT_LIST,
	  F(adversary_types), .help = "default: those of [lumu]" },
	{ .sect = SK_FEED, .name = "statuses", .type = KT_ENUMSET,
	  .names = statuses, .def = "open, closed", F(statuses),
	  .help = "incident statuses that publish" },
	{ .sect = SK_FEED, .name = "max-entries", .type = KT_INT, .min = 0,
	  .max = 10000000, .def = "0", F(max_entries),
	  .help = "most recent kept; 0 = no cap" },
	{ .sect = SK_FEED, .name = "users", .type = KT_LIST, F(users),
	  .help = "HTTP Basic users (needs auth-file)" },
	{ .sect = SK_FEED, .name = "include-subdomains", .type = KT_BOOL,
	  .def = "no", F(include_subdomains),
	  .help = "add *.name (domain, url feeds)" },
	{ .sect = SK_FEED, .name = "include-subdirectories", .type = KT_BOOL,
	  .def = "no", F(include_subdirectories),
	  .help = "add name/* (url feeds)" },

	{ .sect = SK_ALLOWLIST, .name = "entries", .type = KT_ALLOW,
	  C(allowlist), .help = "never published" },
	{ .sect = SK_ALLOWLIST, .name = "protect-private", .type = KT_BOOL,
	  .def = "yes", C(protect_private),
	  .help = "never publish non-global addresses" },

	{ .sect = SK_PANOS, .name = "hostname", .type = KT_STRING,
	  P(hostname), .flags = KF_REQUIRED,
	  .help = "XML API at https://HOSTNAME:PORT/api/" },
	{ .sect = SK_PANOS, .name = "port", .type = KT_INT, .min = 1,
	  .max = 65535, .def = "443", P(port), .help = "XML API port" },
	{ .sect = SK_PANOS, .name = "api-key", .type = KT_SECRET,
	  P(api_key), .help = "PAN-OS API key" },
	{ .sect = SK_PANOS, .name = "api-key-file", .type = KT_SECRET_FILE,
	  P(api_key_file), .pair = "api-key",
	  .help = "file holding the API key" },
	{ .sect = SK_PANOS, .name = "username", .type = KT_STRING,
	  P(username), .help = "or: a user for keygen" },
	{ .sect = SK_PANOS, .name = "password", .type = KT_SECRET,
	  P(password), .help = "that user's password" },
	{ .sect = SK_PANOS, .name = "password-file", .type = KT_SECRET_FILE,
	  P(password_file), .pair = "password",
	  .help = "file holding the password" },
	{ .sect = SK_PANOS, .name = "vsys", .type = KT_STRING,
	  .def = "vsys1", P(vsys), .help = "virtual system" },
	{ .sect = SK_PANOS, .name = "ca-file", .type = KT_FILE, P(ca_file),
	  .help = "CA bundle for the firewall" },
	{ .sect = SK_PANOS, .name = "verify-tls", .type = KT_BOOL,
	  .def = "yes", P(verify_tls), .help = "no: logged as a warning" },
	{ .sect = SK_PANOS, .name = "dag-feed", .type = KT_NAME,
	  P(dag_feed), .help = "ip feed registered with dag-tag" },
	{ .sect = SK_PANOS, .name = "dag-tag", .type = KT_STRING,
	  P(dag_tag), .help = "tag for dynamic address groups" },
	{ .sect = SK_PANOS, .name = "tag-timeout", .type = KT_INT, .min = 0,
	  .max = 30 * DAY, .def = "0", P(tag_timeout),
	  .help = "seconds; 0 = no expiry" },
	{ .sect = SK_PANOS, .name = "url-category-feed", .type = KT_NAME,
	  P(url_category_feed), .help = "url feed kept in url-category" },
	{ .sect = SK_PANOS, .name = "url-category", .type = KT_STRING,
	  P(url_category), .help = "Custom URL Category name" },
	{ .sect = SK_PANOS, .name = "commit", .type = KT_BOOL, .def = "no",
	  P(commit), .help = "commit after a category change" },
};

#define NKEYS	nitems(keys)

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

/* One section of the file, or a stand-in (line 0) for an absent one. */
struct sect {
	enum sect_kind	 kind;
	size_t		 idx;		/* in conf->feeds or ->panos */
	int		 line;		/* of the header */
	/* Line where each key was set; negative when its value was bad. */
	int		 keyline[NKEYS];
};

struct parser {
	const char	*path;
	struct conf	*conf;
	struct buf	*errs;
	struct buf	*warns;
	int		 nerrs;
	int		 line;
	struct sect	*cur;		/* NULL: no usable section */
	int		 skipping;	/* in a broken section */
	struct sect	**sects;	/* in file order */
	size_t		 nsects;
	char		 lbuf[CONF_LINE_MAX + 1];
};

typedef int (*setter_fn)(struct parser *, int, const struct key_def *,
    char *, void *);

static void	 perr(struct parser *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static void	 pwarn(struct parser *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static int	 key_find(enum sect_kind, const char *);
static void	*sect_base(const struct parser *, const struct sect *);
static void	 sect_label(const struct parser *, const struct sect *,
		    char *, size_t);
static struct sect *sect_find(const struct parser *, enum sect_kind,
		    const char *);
static int	 name_valid(const char *);
static int	 is_text(enum key_type);
static void	 store_num(void *, size_t, int64_t);
static int64_t	 load_num(const void *, size_t);
static void	 secret_free(char *);
static void	 strlist_free(struct conf_strlist *);
static int	 strlist_has(const struct conf_strlist *, const char *);
static int	 split_list(struct parser *, int, const struct key_def *,
		    char *, struct conf_strlist *);
static int	 file_open(const char *, const char **);
static int	 secret_read(const char *, char **, const char **);
static int	 set_text(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_number(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_bool(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_list(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_allow(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_listen(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_enum(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_value(struct parser *, struct sect *, int,
		    const struct key_def *, char *);
static void	 fmt_num(char *, size_t, const struct key_def *, int64_t);
static int	 unquote(struct parser *, char *, char **);
static void	 parse_header(struct parser *, char *);
static struct sect *sect_add(struct parser *, enum sect_kind, const char *);
static void	 new_section(struct parser *, const char *, const char *);
static void	 parse_assign(struct parser *, char *);
static void	 parse_text(struct parser *, const char *, size_t);
static void	 apply_defaults(struct parser *, struct sect *);
static void	 check_groups(struct parser *, struct sect *);
static void	 check_server(struct parser *, struct sect *);
static void	 check_feed(struct parser *, struct sect *);
static void	 check_panos_feed(struct parser *, struct sect *, int,
		    enum feed_type);
static void	 check_panos(struct parser *, struct sect *);
static void	 finalize(struct parser *);
static void	 free_members(enum sect_kind, void *);
static void	 dump_text(struct buf *, const char *);
static int	 dump_value(struct buf *, const struct key_def *,
		    const void *);
static void	 dump_line(FILE *, const char *, const char *);
static void	 dump_key(FILE *, const struct conf *,
		    const struct key_def *, const void *);
static void	 dump_section(FILE *, const struct conf *, enum sect_kind,
		    const char *, const void *);

/* Setters by key type; each reports its own errors. */
static const setter_fn setters[KT_NTYPES] = {
	[KT_STRING] = set_text,
	[KT_NAME] = set_text,
	[KT_URL] = set_text,
	[KT_PATH] = set_text,
	[KT_FILE] = set_text,
	[KT_SECRET] = set_text,
	[KT_SECRET_FILE] = set_text,
	[KT_DURATION] = set_number,
	[KT_INT] = set_number,
	[KT_PERCENT] = set_number,
	[KT_BOOL] = set_bool,
	[KT_LIST] = set_list,
	[KT_ALLOW] = set_allow,
	[KT_LISTEN] = set_listen,
	[KT_ENUM] = set_enum,
	[KT_ENUMSET] = set_enum,
};

/* Appends "FILE:LINE: message" to the errors (line 0: "FILE: ..."). */
static void
perr(struct parser *p, int line, const char *fmt, ...)
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
static void
pwarn(struct parser *p, int line, const char *fmt, ...)
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

/* The index in keys[] of a key of a section kind, or -1. */
static int
key_find(enum sect_kind kind, const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == kind && strcmp(keys[i].name, name) == 0)
			return ((int)i);
	return (-1);
}

/* The struct a section's keys live in. */
static void *
sect_base(const struct parser *p, const struct sect *s)
{
	switch (s->kind) {
	case SK_FEED:
		return (&p->conf->feeds[s->idx]);
	case SK_PANOS:
		return (&p->conf->panos[s->idx]);
	default:
		return (p->conf);
	}
}

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
		snprintf(dst, dstsz, "[%s %s]", sect_defs[s->kind].name, name);
	else
		snprintf(dst, dstsz, "[%s]", sect_defs[s->kind].name);
}

/* The section of a kind (and name, for named kinds), or NULL. */
static struct sect *
sect_find(const struct parser *p, enum sect_kind kind, const char *name)
{
	const char	*n;
	size_t		 i;

	for (i = 0; i < p->nsects; i++) {
		if (p->sects[i]->kind != kind)
			continue;
		if (!sect_defs[kind].named)
			return (p->sects[i]);
		n = kind == SK_FEED ? p->conf->feeds[p->sects[i]->idx].name :
		    p->conf->panos[p->sects[i]->idx].name;
		if (strcmp(n, name) == 0)
			return (p->sects[i]);
	}
	return (NULL);
}

/* 1 when s is a valid feed or target name: [A-Za-z0-9_-]{1,64}. */
static int
name_valid(const char *s)
{
	size_t	n;

	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-");
	return (n >= 1 && n <= CONF_NAME_MAX && s[n] == '\0');
}

/* 1 for the key types stored as a char *. */
static int
is_text(enum key_type t)
{
	return (t == KT_STRING || t == KT_NAME || t == KT_URL ||
	    t == KT_PATH || t == KT_FILE || t == KT_SECRET ||
	    t == KT_SECRET_FILE);
}

/*
 * Stores a number in a member of the given size.  Values are never
 * negative, so int and unsigned (and int64_t and size_t) share one
 * representation.
 */
static void
store_num(void *dst, size_t size, int64_t v)
{
	int	i = (int)v;

	if (size == sizeof(int))
		memcpy(dst, &i, sizeof(i));
	else if (size == sizeof(v))
		memcpy(dst, &v, sizeof(v));
	else
		fatalx("%s: member of size %zu", __func__, size);
}

/* The reverse of store_num(). */
static int64_t
load_num(const void *src, size_t size)
{
	int64_t	v;
	int	i;

	if (size == sizeof(int)) {
		memcpy(&i, src, sizeof(i));
		return (i);
	}
	memcpy(&v, src, sizeof(v));
	return (v);
}

/* Wipes and frees a secret. */
static void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Frees the items and empties the list. */
static void
strlist_free(struct conf_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
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

/* Splits "a, b ,c" into trimmed items; an empty item is an error. */
static int
split_list(struct parser *p, int line, const struct key_def *k, char *val,
    struct conf_strlist *out)
{
	char	*item, *end, *next;

	memset(out, 0, sizeof(*out));
	for (item = val; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item == '\0') {
			perr(p, line, "%s: empty item in list", k->name);
			strlist_free(out);
			return (-1);
		}
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = xstrdup(item);
	}
	return (0);
}

/* Opens a readable regular file; else -1 and *why. */
static int
file_open(const char *path, const char **why)
{
	struct stat	st;
	int		fd;

	/* O_NONBLOCK: a FIFO or a device named here must not hang -n. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		close(fd);
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * Reads a file that holds a secret alone; one trailing newline is
 * dropped.  Empty files, second lines and control characters are errors.
 */
static int
secret_read(const char *path, char **out, const char **why)
{
	char	*data;
	size_t	 len = 0, i;
	ssize_t	 n;
	int	 fd;

	if ((fd = file_open(path, why)) == -1)
		return (-1);
	/* One byte more than allowed tells a full file from a long one. */
	data = xmalloc(CONF_SECRET_MAX + 2);
	*why = NULL;
	while (len <= CONF_SECRET_MAX) {
		if ((n = read(fd, data + len, CONF_SECRET_MAX + 1 - len)) ==
		    -1 && errno == EINTR)
			continue;
		if (n == -1)
			*why = strerror(errno);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (*why == NULL && len > CONF_SECRET_MAX)
		*why = "too large for a secret";
	if (len > 0 && data[len - 1] == '\n')
		len--;
	data[len] = '\0';
	if (*why == NULL && len == 0)
		*why = "empty";
	for (i = 0; i < len && *why == NULL; i++)
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f)
			*why = "holds more than one line or a control "
			    "character";
	if (*why != NULL) {
		explicit_bzero(data, CONF_SECRET_MAX + 2);
		free(data);
		return (-1);
	}
	*out = data;
	return (0);
}

/* Sets a text-valued key, after the checks of its type. */
static int
set_text(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	char		**dst = (char **)((char *)base + k->off);
	char		**sdst, *secret;
	const char	 *why;
	int		  fd;

	if (k->type == KT_NAME && !name_valid(val)) {
		perr(p, line, "%s: bad feed name \"%s\"", k->name, val);
		return (-1);
	}
	if (k->type == KT_URL && ((strncmp(val, "http://", 7) != 0 &&
	    strncmp(val, "https://", 8) != 0) ||
	    strstr(val, "://")[3] == '\0' || strpbrk(val, " \t") != NULL)) {
		perr(p, line, "%s: \"%s\" is not an http:// or https:// URL",
		    k->name, val);
		return (-1);
	}
	if (k->type == KT_FILE) {
		if ((fd = file_open(val, &why)) == -1) {
			perr(p, line, "%s: %s: %s", k->name, val, why);
			return (-1);
		}
		close(fd);
	}
	/* Copied from -nn output, the placeholder would go out as a key. */
	if (k->type == KT_SECRET && strcmp(val, "(secret)") == 0) {
		perr(p, line, "%s: (secret) is the placeholder of -nn output, "
		    "not a secret", k->name);
		return (-1);
	}
	if (k->type == KT_SECRET_FILE) {
		if (secret_read(val, &secret, &why) == -1) {
			perr(p, line, "%s: %s: %s", k->name, val, why);
			return (-1);
		}
		/* The file fills the member of the secret it stands for. */
		sdst = (char **)((char *)base +
		    keys[key_find(k->sect, k->pair)].off);
		secret_free(*sdst);
		*sdst = secret;
	}
	if (k->type == KT_SECRET)
		secret_free(*dst);
	else
		free(*dst);
	*dst = xstrdup(val);
	return (0);
}

/* Sets a duration, a plain number or a percentage, within range. */
static int
set_number(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	static const char	 units[] = "smhd";
	static const int64_t	 mult[] = { 1, MINUTE, HOUR, DAY };
	const char		*s = val, *u;
	int64_t			 v = 0;
	char			 lo[32], hi[32];
	int			 ndig = 0;

	/* Twelve digits leave room for a day multiplier in int64_t. */
	for (; *s >= '0' && *s <= '9' && ndig <= 12; s++, ndig++)
		v = v * 10 + (*s - '0');
	if (ndig == 0 || ndig > 12)
		goto bad;
	if (k->type == KT_DURATION) {
		if (*s == '\0') {
			perr(p, line, "%s: \"%s\" needs a unit: s, m, h or d",
			    k->name, val);
			return (-1);
		}
		if ((u = strchr(units, *s)) == NULL || s[1] != '\0')
			goto bad;
		v *= mult[u - units];
	} else if (k->type == KT_PERCENT) {
		if (s[0] != '%' || s[1] != '\0')
			goto bad;
	} else if (*s != '\0')
		goto bad;
	if (v < k->min || v > k->max) {
		fmt_num(lo, sizeof(lo), k, k->min);
		fmt_num(hi, sizeof(hi), k, k->max);
		perr(p, line, "%s: %s is out of range %s..%s", k->name, val,
		    lo, hi);
		return (-1);
	}
	store_num((char *)base + k->off, k->size, v);
	return (0);
 bad:
	perr(p, line, "%s: bad value \"%s\": expected %s", k->name, val,
	    k->type == KT_DURATION ? "a number and s, m, h or d, as 30d" :
	    k->type == KT_PERCENT ? "a percentage, as 50%" : "a number");
	return (-1);
}

/* yes or no, nothing else. */
static int
set_bool(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	int	v;

	if (strcmp(val, "yes") == 0)
		v = 1;
	else if (strcmp(val, "no") == 0)
		v = 0;
	else {
		perr(p, line, "%s: bad value \"%s\": expected yes or no",
		    k->name, val);
		return (-1);
	}
	store_num((char *)base + k->off, k->size, v);
	return (0);
}

/* A list of items, replacing any earlier one. */
static int
set_list(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf_strlist	*dst, l;

	dst = (struct conf_strlist *)((char *)base + k->off);
	if (split_list(p, line, k, val, &l) == -1)
		return (-1);
	strlist_free(dst);
	*dst = l;
	return (0);
}

/* Allowlist entries: addresses and networks as given, names canonical. */
static int
set_allow(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf_strlist	*dst, l;
	char			 name[IOC_NAME_MAX + 1];
	uint8_t			 addr[16];
	int			 family, prefix, rv = 0;
	size_t			 i;

	dst = (struct conf_strlist *)((char *)base + k->off);
	if (split_list(p, line, k, val, &l) == -1)
		return (-1);
	for (i = 0; i < l.n; i++) {
		if (ioc_parse_cidr(l.v[i], &family, addr, &prefix) != -1)
			continue;
		if (ioc_canon_domain(l.v[i], name, sizeof(name)) != -1) {
			free(l.v[i]);
			l.v[i] = xstrdup(name);
			continue;
		}
		perr(p, line, "%s: \"%s\" is neither an address, a network "
		    "nor a domain name", k->name, l.v[i]);
		rv = -1;
	}
	if (rv == -1) {
		strlist_free(&l);
		return (-1);
	}
	strlist_free(dst);
	*dst = l;
	return (0);
}

/* "ADDR:PORT", "[V6]:PORT", each maybe followed by "tls". */
static int
set_listen(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf		*c = base;
	struct conf_listen	*l;
	char			*host, *port, *word, *end;
	char			 txt[INET6_ADDRSTRLEN];
	unsigned char		 addr[16];
	long			 n = 0;
	int			 family = AF_INET, tls = 0;
	size_t			 i;

	if ((word = strpbrk(val, " \t")) != NULL) {
		*word++ = '\0';
		word += strspn(word, " \t");
		if (strcmp(word, "tls") != 0)
			goto bad;
		tls = 1;
	}
	host = val;
	if (*host == '[') {
		family = AF_INET6;
		if ((end = strchr(++host, ']')) == NULL || end[1] != ':')
			goto bad;
		*end = '\0';
		port = end + 2;
	} else {
		if ((port = strrchr(host, ':')) == NULL)
			goto bad;
		*port++ = '\0';
	}
	if (inet_pton(family, host, addr) != 1)
		goto bad;
	if (strspn(port, "0123456789") != strlen(port) || *port == '\0' ||
	    strlen(port) > 5 || (n = strtol(port, NULL, 10)) > 65535)
		goto bad;
	inet_ntop(family, addr, txt, sizeof(txt));
	for (i = 0; i < c->nlistens; i++) {
		/* Port 0 is a new ephemeral port every time. */
		if (n != 0 && c->listens[i].port == n &&
		    strcmp(c->listens[i].host, txt) == 0) {
			perr(p, line, "listen: %s port %ld already given at "
			    "line %d", txt, n, c->listens[i].line);
			return (-1);
		}
	}
	if (c->nlistens >= CONF_LISTENS_MAX) {
		perr(p, line, "listen: more than %d", CONF_LISTENS_MAX);
		return (-1);
	}
	c->listens = xreallocarray(c->listens, c->nlistens + 1,
	    sizeof(*c->listens));
	l = &c->listens[c->nlistens++];
	l->host = xstrdup(txt);
	l->port = (int)n;
	l->tls = tls;
	l->line = line;
	return (0);
 bad:
	perr(p, line, "%s: bad value: expected ADDR:PORT or [V6]:PORT, "
	    "maybe followed by tls (0.0.0.0:8080, [::]:8443 tls)", k->name);
	return (-1);
}

/* One name of k->names (KT_ENUM), or a list of them as bits. */
static int
set_enum(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf_strlist	l;
	int64_t			v = 0;
	size_t			i, j;
	int			rv = 0;

	if (k->type == KT_ENUM) {
		l.v = &val;
		l.n = 1;
	} else if (split_list(p, line, k, val, &l) == -1)
		return (-1);
	for (i = 0; i < l.n; i++) {
		for (j = 0; k->names[j] != NULL; j++)
			if (strcmp(l.v[i], k->names[j]) == 0)
				break;
		if (k->names[j] == NULL) {
			perr(p, line, "%s: bad value \"%s\"", k->name,
			    l.v[i]);
			rv = -1;
		}
		v = k->type == KT_ENUM ? (int64_t)j : v | (1 << j);
	}
	if (k->type == KT_ENUMSET)
		strlist_free(&l);
	if (rv == 0)
		store_num((char *)base + k->off, k->size, v);
	return (rv);
}

/* Sets one key of a section from its text; -1 after reporting. */
static int
set_value(struct parser *p, struct sect *s, int line,
    const struct key_def *k, char *val)
{
	if (*val == '\0') {
		perr(p, line, "%s: missing value", k->name);
		return (-1);
	}
	return (setters[k->type](p, line, k, val, sect_base(p, s)));
}

/* Formats a number of a key as the file would spell it: 30d, 50%, 40. */
static void
fmt_num(char *dst, size_t dstsz, const struct key_def *k, int64_t v)
{
	if (k->type == KT_PERCENT)
		snprintf(dst, dstsz, "%lld%%", (long long)v);
	else if (k->type != KT_DURATION)
		snprintf(dst, dstsz, "%lld", (long long)v);
	else if (v != 0 && v % DAY == 0)
		snprintf(dst, dstsz, "%lldd", (long long)(v / DAY));
	else if (v != 0 && v % HOUR == 0)
		snprintf(dst, dstsz, "%lldh", (long long)(v / HOUR));
	else if (v != 0 && v % MINUTE == 0)
		snprintf(dst, dstsz, "%lldm", (long long)(v / MINUTE));
	else
		snprintf(dst, dstsz, "%llds", (long long)v);
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
			perr(p, p->line, "unterminated quoted value");
			return (-1);
		}
		if (*e == '\\' && (e[1] == '"' || e[1] == '\\'))
			e++;
		else if (*e == '\\') {
			perr(p, p->line, "bad escape in quoted value: only "
			    "\\\" and \\\\");
			return (-1);
		}
	}
	*d = '\0';
	e++;
	e += strspn(e, " \t");
	if (*e != '\0' && !(*e == '#' && (e[-1] == ' ' || e[-1] == '\t'))) {
		perr(p, p->line, "text after the closing quote");
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
		perr(p, p->line, "bad section header: expected [kind] or "
		    "[kind NAME]");
		return;
	}
	s++;
	s += strspn(s, " \t");
	if (*s != '\0' && !(*s == '#' && (s[-1] == ' ' || s[-1] == '\t'))) {
		perr(p, p->line, "text after the section header");
		return;
	}
	*kend = '\0';
	if (nend != NULL)
		*nend = '\0';
	new_section(p, kind, name);
}

/* Adds a section of kind k; named kinds get a zeroed struct of their own. */
static struct sect *
sect_add(struct parser *p, enum sect_kind k, const char *name)
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

/* Opens a section; errors leave p->cur NULL so its keys are skipped. */
static void
new_section(struct parser *p, const char *kind, const char *name)
{
	struct sect	*old;
	char		 label[96];
	int		 k;

	for (k = 0; k < SK_NKINDS; k++)
		if (strcmp(sect_defs[k].name, kind) == 0)
			break;
	if (k == SK_NKINDS) {
		perr(p, p->line, "unknown section [%s]", kind);
		return;
	}
	if (sect_defs[k].named && name == NULL) {
		perr(p, p->line, "[%s] needs a name: [%s NAME]", kind, kind);
		return;
	}
	if (!sect_defs[k].named && name != NULL) {
		perr(p, p->line, "[%s] takes no name", kind);
		return;
	}
	if (name != NULL && !name_valid(name)) {
		perr(p, p->line, "bad %s name \"%s\": 1 to %d letters, digits, "
		    "_ or -", kind, name, CONF_NAME_MAX);
		return;
	}
	snprintf(label, sizeof(label), "[%s%s%s]", kind, name ? " " : "",
	    name ? name : "");
	if ((old = sect_find(p, k, name)) != NULL) {
		perr(p, p->line, "duplicate section %s (first at line %d)",
		    label, old->line);
		return;
	}
	if ((k == SK_FEED && p->conf->nfeeds >= CONF_FEEDS_MAX) ||
	    (k == SK_PANOS && p->conf->npanos >= CONF_PANOS_MAX)) {
		perr(p, p->line, "too many [%s] sections", kind);
		return;
	}
	p->cur = sect_add(p, k, name);
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
		perr(p, p->line, "expected key = value");
		return;
	}
	*kend = '\0';
	if (unquote(p, s + 1, &val) == -1)
		return;
	if (cur == NULL) {
		if (!p->skipping)
			perr(p, p->line, "%s outside any section", key);
		return;
	}
	if ((i = key_find(cur->kind, key)) == -1) {
		perr(p, p->line, "unknown key %s in [%s]", key,
		    sect_defs[cur->kind].name);
		return;
	}
	first = abs(cur->keyline[i]);
	if (first != 0 && !(keys[i].flags & KF_REPEAT)) {
		perr(p, p->line, "duplicate key %s (first at line %d)", key,
		    first);
		return;
	}
	cur->keyline[i] = p->line;
	if (set_value(p, cur, p->line, &keys[i], val) == -1)
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
			perr(p, p->line, "line longer than %d bytes",
			    CONF_LINE_MAX);
			continue;
		}
		for (i = 0; i < n; i++)
			if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
			    s[i] == 0x7f)
				break;
		if (i < n) {
			perr(p, p->line, "control character 0x%02x",
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

/* Fills every key not given from its default text. */
static void
apply_defaults(struct parser *p, struct sect *s)
{
	char	tmp[256];
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].sect != s->kind || keys[i].def == NULL ||
		    s->keyline[i] != 0)
			continue;
		/* Setters cut their value up, so give them a copy. */
		snprintf(tmp, sizeof(tmp), "%s", keys[i].def);
		if (set_value(p, s, s->line, &keys[i], tmp) == -1)
			fatalx("%s: bad default for %s", __func__,
			    keys[i].name);
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
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == s->kind &&
		    (keys[i].flags & KF_REQUIRED) && s->keyline[i] == 0)
			perr(p, s->line, "%s: missing required key %s", label,
			    keys[i].name);
	for (i = 0; i < nitems(key_groups); i++) {
		g = &key_groups[i];
		if (g->sect != s->kind)
			continue;
		for (j = 0, n = 0, line = 0; j < 3 && g->keys[j]; j++) {
			ki = key_find(s->kind, g->keys[j]);
			if (s->keyline[ki] == 0)
				continue;
			n++;
			line = abs(s->keyline[ki]) > line ?
			    abs(s->keyline[ki]) : line;
		}
		if (n > 1)
			perr(p, line, "give only one of %s, %s%s%s",
			    g->keys[0], g->keys[1], g->keys[2] ? ", " : "",
			    g->keys[2] ? g->keys[2] : "");
		else if (n == 0 && g->required)
			perr(p, s->line, "%s: missing %s%s%s or %s", label,
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

	if (s->keyline[key_find(SK_SERVER, "threads")] == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		c->threads = n < 1 ? 1 : n > CONF_THREADS_MAX ?
		    CONF_THREADS_MAX : (int)n;
	}
	for (i = 0; i < c->nlistens; i++)
		tls |= c->listens[i].tls;
	if (!tls)
		return;
	if (s->keyline[key_find(SK_SERVER, "tls-certificate")] == 0)
		perr(p, s->line, "[server]: tls-certificate is required by "
		    "listen ... tls");
	if (s->keyline[key_find(SK_SERVER, "tls-key")] == 0)
		perr(p, s->line, "[server]: tls-key is required by listen "
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

	tl = s->keyline[key_find(SK_FEED, "type")];
	sub = s->keyline[key_find(SK_FEED, "include-subdomains")];
	dir = s->keyline[key_find(SK_FEED, "include-subdirectories")];
	adv = s->keyline[key_find(SK_FEED, "adversary-types")];
	users = s->keyline[key_find(SK_FEED, "users")];
	/* "= no" stays harmless everywhere, so -nn output reads back. */
	if (tl > 0 && sub > 0 && f->include_subdomains && f->type == FEED_IP)
		perr(p, sub, "include-subdomains applies to domain and url "
		    "feeds only");
	if (tl > 0 && dir > 0 && f->include_subdirectories &&
	    f->type != FEED_URL)
		perr(p, dir, "include-subdirectories applies to url feeds "
		    "only");
	/* Without a good [lumu] list there is nothing to compare with. */
	ls = sect_find(p, SK_LUMU, NULL);
	if (ls != NULL &&
	    ls->keyline[key_find(SK_LUMU, "adversary-types")] >= 0) {
		if (adv == 0 && all->n > 0) {
			f->adversary_types.v = xcalloc(all->n, sizeof(char *));
			for (i = 0; i < all->n; i++)
				f->adversary_types.v[i] = xstrdup(all->v[i]);
			f->adversary_types.n = all->n;
		}
		for (i = 0; adv > 0 && i < f->adversary_types.n; i++)
			if (!strlist_has(all, f->adversary_types.v[i]))
				perr(p, adv, "adversary-types: %s is not in "
				    "[lumu] adversary-types",
				    f->adversary_types.v[i]);
	}
	ss = sect_find(p, SK_SERVER, NULL);
	if (users > 0 && ss->keyline[key_find(SK_SERVER, "auth-file")] == 0)
		perr(p, users, "users needs auth-file in [server]");
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
	name = *(char **)((char *)sect_base(p, s) + keys[ki].off);
	if ((fs = sect_find(p, SK_FEED, name)) == NULL) {
		perr(p, line, "%s: no [feed %s]", keys[ki].name, name);
		return;
	}
	if (fs->keyline[key_find(SK_FEED, "type")] > 0 &&
	    p->conf->feeds[fs->idx].type != want)
		perr(p, line, "%s: [feed %s] has type %s, not %s",
		    keys[ki].name, name,
		    feed_types[p->conf->feeds[fs->idx].type],
		    feed_types[want]);
}

/* [panos NAME]: credentials, TLS and what to push where. */
static void
check_panos(struct parser *p, struct sect *s)
{
	struct conf_panos	*t = &p->conf->panos[s->idx];
	char			 label[96];
	int			 user, pw, pwf, ca, vt, df, dt, uf, uc;

	sect_label(p, s, label, sizeof(label));
	user = s->keyline[key_find(SK_PANOS, "username")];
	pw = s->keyline[key_find(SK_PANOS, "password")];
	pwf = s->keyline[key_find(SK_PANOS, "password-file")];
	ca = s->keyline[key_find(SK_PANOS, "ca-file")];
	vt = s->keyline[key_find(SK_PANOS, "verify-tls")];
	df = key_find(SK_PANOS, "dag-feed");
	dt = s->keyline[key_find(SK_PANOS, "dag-tag")];
	uf = key_find(SK_PANOS, "url-category-feed");
	uc = s->keyline[key_find(SK_PANOS, "url-category")];
	if (user != 0 && pw == 0 && pwf == 0)
		perr(p, s->line, "%s: username needs password or "
		    "password-file", label);
	if (user == 0 && (pw != 0 || pwf != 0))
		perr(p, abs(pw != 0 ? pw : pwf), "%s needs username",
		    pw != 0 ? "password" : "password-file");
	if (vt > 0 && !t->verify_tls && ca != 0)
		perr(p, vt, "verify-tls = no contradicts ca-file");
	else if (vt > 0 && !t->verify_tls)
		pwarn(p, vt, "verify-tls = no: the certificate of %s is not "
		    "checked", label);
	if (s->keyline[df] != 0 && dt == 0)
		perr(p, s->line, "%s: dag-tag is required with dag-feed",
		    label);
	if (s->keyline[df] == 0 && dt != 0)
		perr(p, abs(dt), "dag-tag needs dag-feed");
	if (s->keyline[uf] != 0 && uc == 0)
		perr(p, s->line, "%s: url-category is required with "
		    "url-category-feed", label);
	if (s->keyline[uf] == 0 && uc != 0)
		perr(p, abs(uc), "url-category needs url-category-feed");
	if (s->keyline[df] == 0 && s->keyline[uf] == 0)
		perr(p, s->line, "%s: needs dag-feed or url-category-feed",
		    label);
	check_panos_feed(p, s, df, FEED_IP);
	check_panos_feed(p, s, uf, FEED_URL);
}

/* Defaults and the checks that need the whole file, section by kind. */
static void
finalize(struct parser *p)
{
	struct sect	*s;
	int		 k, eof = p->line > 0 ? p->line : 1;
	size_t		 i;

	/* Absent optional sections still get their defaults. */
	if (sect_find(p, SK_SERVER, NULL) == NULL)
		sect_add(p, SK_SERVER, NULL)->line = 0;
	if (sect_find(p, SK_ALLOWLIST, NULL) == NULL)
		sect_add(p, SK_ALLOWLIST, NULL)->line = 0;
	if (sect_find(p, SK_LUMU, NULL) == NULL)
		perr(p, eof, "missing section [lumu]");
	if (p->conf->nfeeds == 0)
		perr(p, eof, "missing a [feed NAME] section");
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
		perr(p, 0, "%s", errno == EFBIG ? "larger than 1 MiB" :
		    strerror(errno));
	} else {
		parse_text(p, data, len);
		/* Inline secrets were in there. */
		explicit_bzero(data, len);
		free(data);
		finalize(p);
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

/* Frees the members of one section's struct, as the table says. */
static void
free_members(enum sect_kind kind, void *base)
{
	struct conf	*c = base;
	size_t		 i, j;
	char		**sp;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].sect != kind)
			continue;
		if (keys[i].type == KT_LISTEN) {
			for (j = 0; j < c->nlistens; j++)
				free(c->listens[j].host);
			free(c->listens);
			c->listens = NULL;
			c->nlistens = 0;
		} else if (keys[i].type == KT_LIST ||
		    keys[i].type == KT_ALLOW)
			strlist_free((struct conf_strlist *)((char *)base +
			    keys[i].off));
		else if (is_text(keys[i].type)) {
			sp = (char **)((char *)base + keys[i].off);
			if (keys[i].type == KT_SECRET)
				secret_free(*sp);
			else
				free(*sp);
			*sp = NULL;
		}
	}
}

/* Frees every member the table names, wiping secrets. */
void
conf_free(struct conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free_members(SK_LUMU, c);
	free_members(SK_SERVER, c);
	free_members(SK_ALLOWLIST, c);
	for (i = 0; i < c->nfeeds; i++) {
		free_members(SK_FEED, &c->feeds[i]);
		free(c->feeds[i].name);
	}
	free(c->feeds);
	for (i = 0; i < c->npanos; i++) {
		free_members(SK_PANOS, &c->panos[i]);
		free(c->panos[i].name);
	}
	free(c->panos);
	free(c->path);
	free(c);
}

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

	if (is_text(k->type)) {
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
	v = load_num(m, k->size);
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
		fmt_num(num, sizeof(num), k, v);
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
	for (i = 0; k->type == KT_SECRET && i < NKEYS; i++)
		if (keys[i].sect == k->sect && keys[i].pair != NULL &&
		    strcmp(keys[i].pair, k->name) == 0 &&
		    *(char *const *)((const char *)base + keys[i].off) != NULL)
			break;
	buf_printf(&b, "%s = ", k->name);
	if (k->type == KT_SECRET && i < NKEYS) {
		b.len = 0;
		buf_printf(&b, "# %s = (secret, from %s)", k->name,
		    keys[i].name);
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
		fprintf(fp, "[%s %s]\n", sect_defs[kind].name, name);
	else
		fprintf(fp, "[%s]\n", sect_defs[kind].name);
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == kind)
			dump_key(fp, c, &keys[i], base);
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

const char *
conf_feed_type_name(enum feed_type t)
{
	if ((size_t)t >= nitems(feed_types) - 1)
		return ("unknown");
	return (feed_types[t]);
}
