/*
 * conf_keys.c: the tables of feeds.conf: section kinds and every key with
 * its type, range, default, member and help text; then what works on the
 * members through the table: finding a key, storing and loading numbers,
 * and freeing a conf, wiping its secrets.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "log.h"

static void	 free_members(enum sect_kind, void *);

/* Section kinds, in the order -nn prints them. */
const struct sect_def conf_sect_defs[SK_NKINDS] = {
	[SK_LUMU] =		{ "lumu", 0 },
	[SK_SERVER] =		{ "server", 0 },
	[SK_FEED] =		{ "feed", 1 },
	[SK_ALLOWLIST] =	{ "allowlist", 0 },
	[SK_PANOS] =		{ "panos", 1 },
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
const struct key_def conf_keys[] = {
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
	{ .sect = SK_SERVER, .name = "log-file", .type = KT_PATH,
	  C(log_file), .help = "log here instead of stderr; SIGUSR1 reopens" },

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

_Static_assert(nitems(conf_keys) == CONF_NKEYS,
    "CONF_NKEYS counts the rows of conf_keys[]");

/* The index in conf_keys[] of a key of a section kind, or -1. */
int
conf_key_find(enum sect_kind kind, const char *name)
{
	size_t	i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].sect == kind &&
		    strcmp(conf_keys[i].name, name) == 0)
			return ((int)i);
	return (-1);
}

/* The struct a section's keys live in. */
void *
conf_sect_base(const struct parser *p, const struct sect *s)
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

/* 1 for the key types stored as a char *. */
int
conf_is_text(enum key_type t)
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
void
conf_store_num(void *dst, size_t size, int64_t v)
{
	int	i = (int)v;

	if (size == sizeof(int))
		memcpy(dst, &i, sizeof(i));
	else if (size == sizeof(v))
		memcpy(dst, &v, sizeof(v));
	else
		fatalx("%s: member of size %zu", __func__, size);
}

/* The reverse of conf_store_num(). */
int64_t
conf_load_num(const void *src, size_t size)
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
void
conf_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Frees the items and empties the list. */
void
conf_strlist_free(struct conf_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Frees the members of one section's struct, as the table says. */
static void
free_members(enum sect_kind kind, void *base)
{
	struct conf	*c = base;
	size_t		 i, j;
	char		**sp;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].sect != kind)
			continue;
		if (conf_keys[i].type == KT_LISTEN) {
			for (j = 0; j < c->nlistens; j++)
				free(c->listens[j].host);
			free(c->listens);
			c->listens = NULL;
			c->nlistens = 0;
		} else if (conf_keys[i].type == KT_LIST ||
		    conf_keys[i].type == KT_ALLOW)
			conf_strlist_free((struct conf_strlist *)((char *)base +
			    conf_keys[i].off));
		else if (conf_is_text(conf_keys[i].type)) {
			sp = (char **)((char *)base + conf_keys[i].off);
			if (conf_keys[i].type == KT_SECRET)
				conf_secret_free(*sp);
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

const char *
conf_feed_type_name(enum feed_type t)
{
	if ((size_t)t >= nitems(feed_types) - 1)
		return ("unknown");
	return (feed_types[t]);
}
