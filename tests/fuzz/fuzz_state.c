/*
 * fuzz_state.c: arbitrary bytes as the body of a state file.  The target
 * appends the right "sha256\tHEX\n" line, so the fuzzer explores the
 * parser rather than the checksum, writes the file to a private
 * directory (on /dev/shm when there is one: saves fsync) and loads it as
 * the daemon does at start, into a site with an ip, a domain and a url
 * feed.  Then, as the daemon does next, every feed is rendered from the
 * loaded store and the shrink guard measured against it.
 *
 * Checks: no crash or sanitizer report; a refused file is set aside and
 * nothing is returned; a loaded one saves, and saving what is loaded
 * again settles to the same bytes and keeps every incident; every feed
 * renders to a body ending in LF; rendering the same store twice removes
 * nothing.  With FUZZ_STATE_STRICT set in the environment, also: no
 * rendered line is blank and each is valid for its feed type (parses
 * again to itself, of the feed's kind), which holds only if the loader
 * checks each indicator record against its value.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "allowlist.h"
#include "conf.h"
#include "ioc.h"
#include "log.h"
#include "publish.h"
#include "site.h"
#include "snapshot.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define FUZZ_MAX_INPUT	(1024 * 1024)

static const char fuzz_conf_text[] =
    "[lumu]\n"
    "company-key = fuzz-key\n"
    "api-url = http://127.0.0.1:1\n"
    "adversary-types = C2C, Malware, DGA, Mining, Spam, Phishing\n"
    "lookback = 30d\n"
    "[server]\n"
    "listen = 127.0.0.1:0\n"
    "[feed ip]\n"
    "type = ip\n"
    "[feed domains]\n"
    "type = domain\n"
    "include-subdomains = yes\n"
    "adversary-types = C2C, Malware\n"
    "[feed urls]\n"
    "type = url\n"
    "include-subdomains = yes\n"
    "include-subdirectories = yes\n"
    "statuses = open\n"
    "max-entries = 5\n"
    "[allowlist]\n"
    "entries = 203.0.113.0/24, example.org\n";

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	fuzz_remove(void);

static int		 strict;
static struct conf	*conf;
static struct allowlist	*al;
static char		 dir[64];
static char		 path[96];

/* Stops the run with the failed invariant. */
static void
check(int cond, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "invariant failed: %s\n", what);
	fuzz_remove();		/* abort() skips atexit */
	abort();
}

/* The conf, the allowlist and the directory, once per process. */
static void
fuzz_setup(void)
{
	char	cpath[96];
	FILE	*f;

	log_init("fuzz_state", 0);
	strict = getenv("FUZZ_STATE_STRICT") != NULL;
	/* Every save fsyncs: on tmpfs that costs nothing. */
	snprintf(dir, sizeof(dir), "%s/fuzz_state.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	/* Every refused input logs a warning; keep stderr for findings. */
	if (log_open_file("/dev/null") == -1 || mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	snprintf(cpath, sizeof(cpath), "%s/feeds.conf", dir);
	if ((f = fopen(cpath, "w")) == NULL ||
	    fputs(fuzz_conf_text, f) == EOF || fclose(f) == EOF)
		abort();
	if (ioc_init() == -1 ||
	    (conf = conf_parse(cpath, NULL, NULL)) == NULL ||
	    (al = allowlist_new(conf)) == NULL)
		abort();
	unlink(cpath);
	atexit(fuzz_remove);
}

/* Empties the directory (set-aside files, saved states). */
static void
fuzz_clean(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[sizeof(dir) + 300];

	if ((d = opendir(dir)) == NULL)
		abort();
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

/* Leaves nothing behind at exit. */
static void
fuzz_remove(void)
{
	fuzz_clean();
	rmdir(dir);
}

/* Writes data and its checksum line as the state file. */
static void
write_state(const uint8_t *data, size_t size)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	FILE		*f;

	if (EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    (f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fputs("sha256\t", f);
	for (i = 0; i < mdlen; i++)
		fprintf(f, "%02x", md[i]);
	fputc('\n', f);
	if (fclose(f) == EOF)
		abort();
}

/* Saves st and site; returns the bytes written (malloc'd). */
static char *
save_read(const struct store *st, const struct site *site,
    const struct state_meta *m, size_t *lenp)
{
	char	*data;

	check(state_save(dir, st, site, m) == 0, "a loaded state saves");
	if (file_read_all(path, STATE_MAX_BYTES, &data, lenp) == -1)
		abort();
	return (data);
}

/*
 * Saving what was loaded reaches a fixed point: one load and save may
 * normalise (a type name that cannot be written becomes "?", and two
 * such names then merge), after that the bytes stay the same.  Each
 * reload keeps the incidents.
 */
static void
check_roundtrip(const struct store *st, const struct site *site,
    const struct state_meta *m)
{
	struct state_meta	 m2;
	struct store		*st2;
	struct site		*site2;
	char			*prev, *cur;
	size_t			 plen, clen;
	int			 round;

	prev = save_read(st, site, m, &plen);
	for (round = 0; round < 2; round++) {
		if ((site2 = site_new(conf)) == NULL)
			abort();
		check(state_load(dir, &st2, site2, &m2) == 0,
		    "a saved state loads again");
		check(store_nincidents(st2) == store_nincidents(st),
		    "a reload keeps every incident");
		cur = save_read(st2, site2, &m2, &clen);
		if (round == 1)
			check(plen == clen && memcmp(prev, cur, plen) == 0,
			    "saving what was loaded settles to the same bytes");
		free(prev);
		prev = cur;
		plen = clen;
		store_free(st2);
		site_unref(site2);
	}
	free(prev);
}

/*
 * A line is what its feed type says: it parses again to itself as an
 * address (ip), a name (domain, after "*."), or a URL (url, after "*."
 * and a final "*", with "http://" put back in front).
 */
static void
check_line(enum feed_type type, const char *p, size_t len)
{
	static struct ioc	 o;
	static char		 buf[IOC_LINE_MAX + 16];
	size_t			 n = 0;

	if (type != FEED_IP && len > 2 && memcmp(p, "*.", 2) == 0) {
		p += 2;
		len -= 2;
	}
	if (type == FEED_URL) {
		if (len > 0 && p[len - 1] == '*')
			len--;
		memcpy(buf, "http://", 7);
		n = 7;
	}
	check(len > 0 && n + len < sizeof(buf), "line length");
	memcpy(buf + n, p, len);
	buf[n + len] = '\0';
	ioc_parse(buf, n + len, &o);
	if (o.reason == IOC_INVALID || o.len != len ||
	    memcmp(o.value, p, len) != 0)
		fprintf(stderr, "line \"%s\" parses to \"%s\"\n", buf,
		    o.value);
	check(o.reason != IOC_INVALID && o.len == len &&
	    memcmp(o.value, p, len) == 0, "a line parses to itself");
	check(type == FEED_IP ? o.kind == IOC_IPV4 || o.kind == IOC_IPV6 :
	    type == FEED_DOMAIN ? o.kind == IOC_DOMAIN : o.kind == IOC_URL,
	    "a line is of its feed's kind");
}

/*
 * A rendered body is never empty and ends in LF; strictly, its lines are
 * none blank and each valid for its type.
 */
static void
check_body(enum feed_type type, const struct snapshot *s)
{
	const char	*p = s->body, *end = s->body + s->len, *nl;

	check(s->len > 0, "a rendered body is never empty");
	check(s->body[s->len - 1] == '\n', "body ends in LF");
	for (; strict && p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		check(nl > p, "no blank line");
		if (*p != '#')
			check_line(type, p, (size_t)(nl - p));
	}
}

/* What the daemon does after loading: render, then a shrink measure. */
static void
check_render(const struct store *st, struct site *site, int64_t now_ms)
{
	struct snapshot	*s;
	const char	*which = NULL;
	size_t		 i;
	int		 share;

	check(publish_all(st, conf, al, site, now_ms) >= 0,
	    "the loaded store renders");
	for (i = 0; i < site->nfeeds; i++) {
		check((s = site_feed_current(&site->feeds[i])) != NULL,
		    "every feed has a body after rendering");
		check_body(site->feeds[i].type, s);
		snap_unref(s);
	}
	share = publish_shrink(st, conf, al, site, now_ms, &which);
	check(share == 0, "rendering the same store again removes nothing");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_meta	 m;
	struct store		*st;
	struct site		*site;
	int			 rv;

	if (conf == NULL)
		fuzz_setup();
	if (size > FUZZ_MAX_INPUT)
		return (0);
	write_state(data, size);
	if ((site = site_new(conf)) == NULL)
		abort();
	rv = state_load(dir, &st, site, &m);
	check(rv == 0 || rv == -1, "load returns 0 or -1 for a file");
	if (rv == -1) {
		check(st == NULL, "nothing returned from a refused file");
		check(access(path, F_OK) == -1, "a refused file is set aside");
	} else {
		check(st != NULL, "a store returned from a loaded file");
		check_roundtrip(st, site, &m);
		/* The daemon renders just after loading: "now" is then. */
		check_render(st, site, m.saved_ms);
		store_free(st);
	}
	site_unref(site);
	fuzz_clean();
	return (0);
}
