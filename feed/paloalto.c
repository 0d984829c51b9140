/*
 * paloalto.c: lumu-to-paloalto, its command line.  Options come from the
 * command line and from an optional --config file of "option = value"
 * lines; the command line wins.  One run: a full Lumu read of the window,
 * the ip and url feeds selected and rendered exactly as the daemon's, the
 * tag and the category on the device (added to, or made equal with
 * --overwrite-*), a commit when asked, and timestamp.stmp written last.
 * A failure ends the run with one line on stderr and records nothing.
 *
 * This file reads and checks the options, and builds from them the
 * window and the conf of the run, without touching the network; the run
 * itself, against Lumu and the device, is in paloalto_run.c.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "allowlist.h"
#include "conf.h"
#include "curlev.h"
#include "ioc.h"
#include "log.h"
#include "lumu.h"
#include "paloalto.h"
#include "paloalto_int.h"
#include "panos.h"
#include "store.h"
#include "util.h"

#define PA_NAME		"lumu-to-paloalto"
#define PA_LOGFILE	"lumu.log"
#define PA_DEFAULT_S	(30 * 86400)	/* without -t, --hours, --from */
#define PA_MAX_HOURS	87600
#define PA_CONF_MAX	(1 << 20)
#define PA_TYPES	"C2C, Malware, DGA, Mining, Spam, Phishing, " \
			"Anonymizer, Network Scan"

static const struct option longopts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "hostname", required_argument, NULL, O_HOSTNAME },
	{ "username", required_argument, NULL, O_USERNAME },
	{ "user", required_argument, NULL, O_USERNAME },
	{ "password", required_argument, NULL, O_PASSWORD },
	{ "vsys", required_argument, NULL, O_VSYS },
	{ "tag", required_argument, NULL, O_TAG },
	{ "custom-url-category-name", required_argument, NULL, O_CATNAME },
	{ "dag", no_argument, NULL, O_DAG },
	{ "overwrite-dag", no_argument, NULL, O_OVERWRITE_DAG },
	{ "custom-url-category", no_argument, NULL, O_CAT },
	{ "overwrite-category", no_argument, NULL, O_OVERWRITE_CAT },
	{ "include-subdomains", no_argument, NULL, O_SUBDOMAINS },
	{ "include_subdomains", no_argument, NULL, O_SUBDOMAINS },
	{ "include-subdirectories", no_argument, NULL, O_SUBDIRS },
	{ "include_subdirectories", no_argument, NULL, O_SUBDIRS },
	{ "commit", no_argument, NULL, O_COMMIT },
	{ "company-key", required_argument, NULL, O_COMPANY_KEY },
	{ "company_key", required_argument, NULL, O_COMPANY_KEY },
	{ "logging", required_argument, NULL, O_LOGGING },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "use-saved-timestamp", no_argument, NULL, O_SAVED_TS },
	{ "hours", required_argument, NULL, O_HOURS },
	{ "from", required_argument, NULL, O_FROM },
	{ "adversary-types", required_argument, NULL, O_ADV_TYPES },
	{ "api-url", required_argument, NULL, O_API_URL },
	{ "api-key", required_argument, NULL, O_API_KEY },
	{ "port", required_argument, NULL, O_PORT },
	{ "ca-file", required_argument, NULL, O_CA_FILE },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

/* Records why the run failed (the first reason wins). */
void __attribute__((__format__(printf, 3, 4)))
paloalto_fail(struct pa *pa, int rc, const char *fmt, ...)
{
	va_list	ap;

	if (pa->rc != 0)
		return;
	pa->rc = rc;
	va_start(ap, fmt);
	vsnprintf(pa->err, sizeof(pa->err), fmt, ap);
	va_end(ap);
}

int
paloalto_flag(const struct pa *pa, enum opt o)
{
	return (pa->val[o] != NULL && strcmp(pa->val[o], "yes") == 0);
}

/* Sets an option; a value from the file never beats the command line. */
static void
set_opt(struct pa *pa, int id, const char *value, int from_file)
{
	if (from_file && pa->val[id] != NULL)
		return;
	free(pa->val[id]);
	pa->val[id] = xstrdup(value);
}

/* A yes/no value of the config file, as "yes" or "no"; NULL if neither. */
static const char *
yesno(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcmp(v, "1"))
		return ("yes");
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcmp(v, "0"))
		return ("no");
	return (NULL);
}

/* Trims spaces at both ends in place; returns the start. */
static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return (s);
}

/* One "option = value" line of the config file; -1 with a reason. */
static int
conf_line(struct pa *pa, const char *path, int ln, char *line)
{
	const struct option	*o;
	char			*name, *v, *eq, *p;
	const char		*yn;
	size_t			 n;

	if ((eq = strchr(line, '=')) == NULL) {
		paloalto_fail(pa, 2, "%s:%d: expected option = value", path,
		    ln);
		return (-1);
	}
	*eq = '\0';
	name = trim(line);
	v = trim(eq + 1);
	if (strncmp(name, "--", 2) == 0)
		name += 2;
	for (p = name; *p != '\0'; p++)
		if (*p == '_')
			*p = '-';
	n = strlen(v);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		v++;
	}
	for (o = longopts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			break;
	if (o->name == NULL || o->val == O_CONFIG || o->val == O_HELP) {
		paloalto_fail(pa, 2, "%s:%d: unknown option %.64s", path, ln,
		    name);
		return (-1);
	}
	if (o->has_arg == required_argument) {
		set_opt(pa, o->val, v, 1);
		return (0);
	}
	if ((yn = yesno(v)) == NULL) {
		paloalto_fail(pa, 2, "%s:%d: %s takes yes or no", path, ln,
		    o->name);
		return (-1);
	}
	if (o->val == O_VERBOSE && pa->val[O_VERBOSE] == NULL)
		pa->verbose = *yn == 'y';
	set_opt(pa, o->val, yn, 1);
	return (0);
}

/* Reads --config FILE; lines are "option = value", # comments. */
static int
read_config(struct pa *pa, const char *path)
{
	char	*data, *line, *next;
	size_t	 len;
	int	 ln = 0, rv = 0;

	if (file_read_all(path, PA_CONF_MAX, &data, &len) == -1) {
		paloalto_fail(pa, 2, "%s: %s", path, strerror(errno));
		return (-1);
	}
	for (line = data; line != NULL && rv == 0; line = next) {
		ln++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line != '\0' && *line != '#' && *line != ';')
			rv = conf_line(pa, path, ln, line);
	}
	explicit_bzero(data, len);
	free(data);
	return (rv);
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: " PA_NAME " [options]\n"
	    "  --config FILE                   option = value lines\n"
	    "  --hostname HOST  --port N       the firewall (port 443)\n"
	    "  --username/--user U --password P, or --api-key KEY\n"
	    "  --vsys VSYS                     target vsys (vsys1)\n"
	    "  --ca-file FILE | --insecure     TLS verification\n"
	    "  --dag --tag TAG [--overwrite-dag]\n"
	    "  --custom-url-category --custom-url-category-name NAME\n"
	    "      [--overwrite-category] [--include-subdomains]\n"
	    "      [--include-subdirectories] [--commit]\n"
	    "  --company-key KEY  --api-url URL  --adversary-types A,B\n"
	    "  -t/--use-saved-timestamp | --hours N | --from RFC3339\n"
	    "  --logging screen|file  -v/--verbose  -h/--help\n");
}

/* The command line; then the config file fills what it left unset. */
static int
parse_args(struct pa *pa, int argc, char **argv)
{
	int	ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "htv", longopts, NULL)) != -1) {
		if (ch == 'h' || ch == O_HELP) {
			usage(stdout);
			return (1);
		}
		if (ch == 'v' || ch == O_VERBOSE) {
			pa->verbose++;
			set_opt(pa, O_VERBOSE, "yes", 0);
		} else if (ch == 't')
			set_opt(pa, O_SAVED_TS, "yes", 0);
		else if (ch > O_NONE && ch < O_NOPTS)
			set_opt(pa, ch, optarg != NULL ? optarg : "yes", 0);
		else {
			paloalto_fail(pa, 2, "unknown option or missing value: "
			    "%.64s (see --help)", argv[optind - 1]);
			return (-1);
		}
	}
	if (optind < argc) {
		paloalto_fail(pa, 2, "unexpected argument: %.64s",
		    argv[optind]);
		return (-1);
	}
	if (pa->val[O_CONFIG] != NULL &&
	    read_config(pa, pa->val[O_CONFIG]) == -1)
		return (-1);
	return (0);
}

/* Parses RFC 3339, and the seed's "...T00:00:00:000Z", into ms. */
static int
parse_when(const char *s, int64_t *ms)
{
	char	 b[64], *p;
	size_t	 n = strlen(s);
	int64_t	 off = 0;

	if (n < 20 || n >= sizeof(b))
		return (-1);
	memcpy(b, s, n + 1);
	if (b[10] == ' ' || b[10] == 't')
		b[10] = 'T';
	/* The seed's spelling puts a colon before the milliseconds. */
	if (b[19] == ':')
		b[19] = '.';
	if (b[n - 1] != 'Z' && b[n - 1] != 'z') {
		p = b + n - 6;
		if (n < 25 || (p[0] != '+' && p[0] != '-') ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) ||
		    !isdigit((unsigned char)p[5]))
			return (-1);
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 60 +
		    (p[4] - '0') * 10 + (p[5] - '0');
		if (off > 23 * 60 + 59)
			return (-1);
		off *= 60000 * (p[0] == '-' ? -1 : 1);
		p[0] = 'Z';
		p[1] = '\0';
	}
	if (time_parse_iso(b, ms) == -1)
		return (-1);
	*ms -= off;
	return (0);
}

/* The start of the last successful run, or -1 (then 30 days). */
static int
saved_timestamp(int64_t now, int64_t *from)
{
	char	*data, *s;
	size_t	 len;
	int	 rv;

	if (file_read_all(PA_TIMESTAMP, 256, &data, &len) == -1) {
		if (errno == ENOENT)
			log_info("no %s yet: reading the last 30 days",
			    PA_TIMESTAMP);
		else
			log_warn("%s", PA_TIMESTAMP);
		return (-1);
	}
	s = trim(data);
	rv = parse_when(s, from) == 0 && *from < now ? 0 : -1;
	if (rv == -1)
		log_warnx("%s does not hold a past RFC 3339 time; reading "
		    "the last 30 days", PA_TIMESTAMP);
	free(data);
	return (rv);
}

/* How far back to read: --hours, else --from, else -t, else 30 days. */
int
paloalto_set_window(struct pa *pa)
{
	int64_t	 from = pa->start_ms - (int64_t)PA_DEFAULT_S * 1000;
	char	*end;
	long	 h;

	if (pa->val[O_HOURS] != NULL) {
		h = strtol(pa->val[O_HOURS], &end, 10);
		if (end == pa->val[O_HOURS] || *end != '\0' || h < 1 ||
		    h > PA_MAX_HOURS) {
			paloalto_fail(pa, 2, "--hours takes a whole number "
			    "from 1 to %d", PA_MAX_HOURS);
			return (-1);
		}
		from = pa->start_ms - (int64_t)h * 3600000;
	} else if (pa->val[O_FROM] != NULL) {
		if (parse_when(pa->val[O_FROM], &from) == -1) {
			paloalto_fail(pa, 2, "--from takes an RFC 3339 time "
			    "such as 2021-05-01T00:00:00.000Z");
			return (-1);
		}
		if (from >= pa->start_ms) {
			paloalto_fail(pa, 2, "--from is not in the past");
			return (-1);
		}
	} else if (paloalto_flag(pa, O_SAVED_TS))
		saved_timestamp(pa->start_ms, &from);
	pa->lookback = (pa->start_ms - from + 999) / 1000;
	if (pa->lookback < 1)
		pa->lookback = 1;
	return (0);
}

/* The checks of the seed's options that need no network. */
static int
check_opts(struct pa *pa)
{
	const char	*v;
	char		*end;
	long		 port;

	if ((v = pa->val[O_LOGGING]) != NULL && strcmp(v, "screen") != 0 &&
	    strcmp(v, "file") != 0)
		paloalto_fail(pa, 2, "--logging takes screen or file");
	else if (pa->val[O_COMPANY_KEY] == NULL)
		paloalto_fail(pa, 2, "--company-key is required");
	else if (!paloalto_flag(pa, O_DAG) && !paloalto_flag(pa, O_CAT))
		paloalto_fail(pa, 2, "nothing to do: give --dag and/or "
		    "--custom-url-category");
	else if (pa->val[O_HOSTNAME] == NULL)
		paloalto_fail(pa, 2, "--hostname is required");
	else if (paloalto_flag(pa, O_DAG) && pa->val[O_TAG] == NULL)
		paloalto_fail(pa, 2, "--dag needs --tag");
	else if (paloalto_flag(pa, O_CAT) && pa->val[O_CATNAME] == NULL)
		paloalto_fail(pa, 2, "--custom-url-category needs "
		    "--custom-url-category-name");
	else if (pa->val[O_API_KEY] == NULL && (pa->val[O_USERNAME] == NULL ||
	    pa->val[O_PASSWORD] == NULL))
		paloalto_fail(pa, 2, "give --api-key, or --username and "
		    "--password");
	else if (pa->val[O_CA_FILE] != NULL && paloalto_flag(pa, O_INSECURE))
		paloalto_fail(pa, 2, "--ca-file and --insecure exclude each "
		    "other");
	else if ((v = pa->val[O_API_URL]) != NULL &&
	    strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		paloalto_fail(pa, 2, "--api-url takes an http or https URL");
	if (pa->rc == 0 && (v = pa->val[O_PORT]) != NULL) {
		port = strtol(v, &end, 10);
		if (end == v || *end != '\0' || port < 1 || port > 65535)
			paloalto_fail(pa, 2, "--port takes a number from 1 to "
			    "65535");
	}
	return (pa->rc == 0 ? 0 : -1);
}

/* Splits the comma-separated adversary types into the conf's list. */
static int
set_types(struct pa *pa, struct conf_strlist *l)
{
	char	*copy, *s, *tok, *save = NULL;

	copy = xstrdup(pa->val[O_ADV_TYPES] != NULL ? pa->val[O_ADV_TYPES] :
	    PA_TYPES);
	for (s = copy; (tok = strtok_r(s, ",", &save)) != NULL; s = NULL) {
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = xstrdup(tok);
	}
	free(copy);
	if (l->n == 0) {
		paloalto_fail(pa, 2, "--adversary-types lists no type");
		return (-1);
	}
	return (0);
}

/* The in-memory conf: one ip and one url feed, as section 7 says. */
int
paloalto_build_conf(struct pa *pa)
{
	struct conf	*c = &pa->conf;
	int		 i;

	if (set_types(pa, &c->adversary_types) == -1)
		return (-1);
	c->lookback = pa->lookback;
	c->protect_private = 1;
	c->feeds = pa->feeds;
	c->nfeeds = 2;
	for (i = 0; i < 2; i++) {
		pa->feeds[i].name = i == 0 ? "ip" : "url";
		pa->feeds[i].type = i == 0 ? FEED_IP : FEED_URL;
		/* Borrowed from c, freed once with it. */
		pa->feeds[i].adversary_types = c->adversary_types;
		pa->feeds[i].statuses = CONF_ST_OPEN | CONF_ST_CLOSED;
	}
	pa->feeds[1].include_subdomains = paloalto_flag(pa, O_SUBDOMAINS);
	pa->feeds[1].include_subdirectories = paloalto_flag(pa, O_SUBDIRS);
	if ((pa->al = allowlist_new(c)) == NULL) {
		paloalto_fail(pa, 1, "out of memory");
		return (-1);
	}
	return (0);
}

static void
pa_free(struct pa *pa)
{
	size_t	i;

	panos_free(pa->pan);
	if (pa->retry != NULL)
		event_free(pa->retry);
	lumu_free(pa->lumu);
	curlev_free(pa->cv);	/* before the base: it owns events on it */
	if (pa->base != NULL)
		event_base_free(pa->base);
	store_free(pa->store);
	allowlist_free(pa->al);
	for (i = 0; i < pa->conf.adversary_types.n; i++)
		free(pa->conf.adversary_types.v[i]);
	free(pa->conf.adversary_types.v);
	panos_list_free(&pa->ips);
	panos_list_free(&pa->have_ips);
	panos_list_free(&pa->add_ips);
	panos_list_free(&pa->del_ips);
	panos_list_free(&pa->urls);
	panos_list_free(&pa->have_urls);
	panos_list_free(&pa->add_urls);
	for (i = 0; i < O_NOPTS; i++) {
		if (pa->val[i] != NULL)
			explicit_bzero(pa->val[i], strlen(pa->val[i]));
		free(pa->val[i]);
	}
}

int
paloalto_main(int argc, char **argv)
{
	struct pa	pa;
	int		rv;

	memset(&pa, 0, sizeof(pa));
	pa.start_ms = time_now_ms();
	log_init(PA_NAME, 1);
	if ((rv = parse_args(&pa, argc, argv)) == 0 && check_opts(&pa) == 0) {
		log_setverbose(1 + pa.verbose);
		if (pa.val[O_LOGGING] != NULL &&
		    strcmp(pa.val[O_LOGGING], "file") == 0) {
			if (log_open_file(PA_LOGFILE) == -1)
				paloalto_fail(&pa, 1, "%s: %s", PA_LOGFILE,
				    strerror(errno));
			pa.file_log = 1;
		}
		if (pa.rc == 0) {
			if (paloalto_flag(&pa, O_OVERWRITE_DAG) &&
			    !paloalto_flag(&pa, O_DAG))
				log_warnx("--overwrite-dag without --dag: "
				    "ignored");
			if (paloalto_flag(&pa, O_COMMIT) &&
			    pa.val[O_USERNAME] == NULL)
				log_warnx("--commit without --username commits "
				    "every admin's pending changes");
			if (paloalto_flag(&pa, O_OVERWRITE_CAT) &&
			    !paloalto_flag(&pa, O_CAT))
				log_warnx("--overwrite-category without "
				    "--custom-url-category: ignored");
			paloalto_run(&pa);
		}
	}
	if (pa.rc != 0) {
		/* The log file keeps the record; stderr gets one line. */
		if (pa.file_log)
			log_warnx("%s", pa.err);
		fprintf(stderr, PA_NAME ": %s\n", pa.err);
	}
	rv = rv == 1 ? 0 : pa.rc;
	pa_free(&pa);
	ioc_cleanup();
	return (rv);
}
