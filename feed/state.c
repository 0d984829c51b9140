/*
 * state.c: the state file.  Text lines, one record per line, fields
 * separated by tabs, feed bodies as counted raw bytes, and a SHA-256 of
 * everything before the last line, so truncation and garbage are found
 * before anything is believed.  Format, version 1:
 *
 *   lumu-edl state 1
 *   saved MS / offset TEXT / last-success MS
 *   types N, then N lines: a type name (its bit is its position)
 *   incidents N, then per incident:
 *     I ID TS STATUS_TS LAST_CONTACT STATUS TYPEMASK NTRIGGERS NIND
 *     and NIND lines: V KIND REASON HOSTFAMILY HOSTONLY HOSTLEN ADDRHEX VALUE
 *   feeds N, then per feed:
 *     F NAME TYPE LAST_MODIFIED ENTRIES LINES LEN DROPPED_LEN DROPS...
 *     followed by LEN bytes of body and DROPPED_LEN bytes of drop report
 *   sha256 HEX
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "site.h"
#include "snapshot.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define STATE_MAGIC	"lumu-edl state 1"
#define MAX_FIELDS	(8 + IOC_NREASONS)

/* Hex SHA-256 of data into out (65 bytes). */
static int
sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return (-1);
	for (i = 0; i < mdlen; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	return (0);
}

/* 1 when s can stand in one tab-separated field. */
static int
field_safe(const char *s, int allow_space)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < (allow_space ? 0x20 : 0x21) ||
		    (unsigned char)*s > 0x7e)
			return (0);
	return (1);
}

/* Serialises one incident and its indicators. */
static int
put_incident(struct buf *b, const struct store_incident *inc)
{
	const struct store_indicator	*v;
	size_t				 i, j;

	if (buf_printf(b, "I\t%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64
	    "\t%d\t%" PRIx64 "\t%zu\t%zu\n", inc->id, inc->timestamp,
	    inc->status_ts, inc->last_contact, (int)inc->status, inc->types,
	    (size_t)inc->ntriggers, (size_t)inc->ninds) == -1)
		return (-1);
	for (i = 0; i < inc->ninds; i++) {
		v = store_incident_inds(inc)[i];
		if (buf_printf(b, "V\t%d\t%d\t%d\t%d\t%d\t", v->kind,
		    v->reason, v->host_family, v->host_only, v->hostlen) == -1)
			return (-1);
		for (j = 0; j < sizeof(v->addr); j++)
			if (buf_printf(b, "%02x", v->addr[j]) == -1)
				return (-1);
		if (buf_printf(b, "\t%s\n", v->value) == -1)
			return (-1);
	}
	return (0);
}

/* Serialises the store: types, then incidents. */
static int
put_store(struct buf *b, const struct store *st)
{
	const char *const	*names = store_type_names(st);
	size_t			 i, n = 0, nt = 0;

	while (nt < STORE_MAX_TYPES && names[nt] != NULL)
		nt++;
	if (buf_printf(b, "types\t%zu\n", nt) == -1)
		return (-1);
	for (i = 0; i < nt; i++)
		if (buf_printf(b, "%s\n", field_safe(names[i], 1) ?
		    names[i] : "?") == -1)
			return (-1);
	for (i = 0; i < store_nincidents(st); i++)
		n += field_safe(store_incident_at(st, i)->id, 0);
	if (buf_printf(b, "incidents\t%zu\n", n) == -1)
		return (-1);
	for (i = 0; i < store_nincidents(st); i++) {
		const struct store_incident *inc = store_incident_at(st, i);

		/* An id we cannot write comes back with the next resync. */
		if (field_safe(inc->id, 0) && put_incident(b, inc) == -1)
			return (-1);
	}
	return (0);
}

/* Serialises every feed's current snapshot. */
static int
put_feeds(struct buf *b, const struct site *site)
{
	struct site_feed	*f;
	struct snapshot		*s;
	size_t			 i, j, n = 0;
	int			 rv = 0;

	for (i = 0; i < site->nfeeds; i++)
		n += site->feeds[i].snap != NULL;
	if (buf_printf(b, "feeds\t%zu\n", n) == -1)
		return (-1);
	for (i = 0; i < site->nfeeds && rv == 0; i++) {
		f = &site->feeds[i];
		if ((s = site_feed_current(f)) == NULL)
			continue;
		rv = buf_printf(b, "F\t%s\t%d\t%lld\t%zu\t%zu\t%zu\t%zu",
		    f->name, (int)f->type, (long long)s->last_modified,
		    s->entries, s->lines, s->len, s->dropped_len);
		for (j = 0; j < IOC_NREASONS && rv == 0; j++)
			rv = buf_printf(b, "\t%zu", s->drops[j]);
		if (rv == 0 && (buf_addch(b, '\n') == -1 ||
		    buf_add(b, s->body, s->len) == -1 ||
		    buf_add(b, s->dropped, s->dropped_len) == -1))
			rv = -1;
		snap_unref(s);
	}
	return (rv);
}

int
state_save(const char *dir, const struct store *st, const struct site *site,
    const struct state_meta *m)
{
	struct buf	b = { 0 };
	char		path[PATH_MAX], hex[65];
	int		rv = -1;

	if (snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE) >=
	    (int)sizeof(path)) {
		log_warnx("state: path too long");
		return (-1);
	}
	if (buf_printf(&b, "%s\nsaved\t%" PRId64 "\noffset\t%s\n"
	    "last-success\t%" PRId64 "\n", STATE_MAGIC, m->saved_ms,
	    field_safe(m->offset, 0) ? m->offset : "", m->last_success_ms) ||
	    (st != NULL ? put_store(&b, st) :
	    buf_addstr(&b, "types\t0\nincidents\t0\n")) == -1 ||
	    put_feeds(&b, site) == -1 || sha256_hex(b.data, b.len, hex) == -1 ||
	    buf_printf(&b, "sha256\t%s\n", hex) == -1) {
		log_warnx("state: out of memory");
		goto out;
	}
	if (file_write_atomic(path, b.data, b.len, 0600) == -1) {
		log_warn("state: cannot write %s", path);
		goto out;
	}
	log_debug("state: saved %zu bytes to %s", b.len, path);
	rv = 0;
 out:
	buf_free(&b);
	return (rv);
}

/* A read cursor over the loaded file; err says what was wrong. */
struct cursor {
	char		*p;
	char		*end;
	const char	*err;
};

/* The next line, NUL-terminated in place; NULL at the end or no LF. */
static char *
next_line(struct cursor *c)
{
	char	*line = c->p, *nl;

	if (c->p >= c->end ||
	    (nl = memchr(c->p, '\n', (size_t)(c->end - c->p))) == NULL) {
		c->err = "unexpected end of file";
		return (NULL);
	}
	*nl = '\0';
	c->p = nl + 1;
	return (line);
}

/* Splits a line at tabs into at most max fields; returns the count. */
static int
split(char *line, char **f, int max)
{
	int	n = 0;

	f[n++] = line;
	while (n < max && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return (strchr(f[n - 1], '\t') != NULL ? -1 : n);
}

/* Parses a decimal field within [lo, hi]; sets c->err when it is not. */
static long long
num(struct cursor *c, const char *s, long long lo, long long hi)
{
	char		*e;
	long long	 v;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (*s == '\0' || *e != '\0' || errno != 0 || v < lo || v > hi) {
		c->err = "bad number";
		return (lo);
	}
	return (v);
}

/* Reads "KEY\tVALUE" and returns VALUE, or NULL. */
static char *
keyed(struct cursor *c, const char *key)
{
	char	*line, *f[2];

	if ((line = next_line(c)) == NULL)
		return (NULL);
	if (split(line, f, 2) != 2 || strcmp(f[0], key) != 0) {
		c->err = "unexpected record";
		return (NULL);
	}
	return (f[1]);
}

/*
 * 1 when a record's kind, reason and address are what its value parses
 * to: a file whose checksum holds can still come from a bug, and nothing
 * it says is published without passing the canonicaliser again.
 */
static int
matches_value(const struct store_indicator *v)
{
	static struct ioc	 io;	/* large; the loop is single-threaded */
	char			 buf[IOC_RAW_MAX + 8];
	size_t			 n = 0;

	if (v->kind == IOC_NONE)
		return (1);	/* withheld anyway, shown escaped */
	if (v->kind == IOC_URL) {
		memcpy(buf, "http://", 7);
		n = 7;
	}
	if (n + v->len > IOC_RAW_MAX)
		return (v->reason == IOC_TOO_LONG);
	memcpy(buf + n, v->value, v->len);
	n += v->len;
	ioc_parse(buf, n, &io);
	return ((int)io.kind == v->kind && (int)io.reason == v->reason &&
	    io.len == v->len && memcmp(io.value, v->value, v->len) == 0 &&
	    ((v->kind != IOC_IPV4 && v->kind != IOC_IPV6 &&
	    v->host_family != 4) || memcmp(io.addr, v->addr, 16) == 0));
}

/* Parses one V line into a compact indicator (value points into c). */
static int
get_indicator(struct cursor *c, struct store_indicator *v)
{
	char	*line, *f[8];
	int	 i;

	if ((line = next_line(c)) == NULL)
		return (-1);
	if (split(line, f, 8) != 8 || strcmp(f[0], "V") != 0 ||
	    strlen(f[6]) != 32) {
		c->err = "bad indicator record";
		return (-1);
	}
	memset(v, 0, sizeof(*v));
	v->kind = (uint8_t)num(c, f[1], IOC_NONE, IOC_URL);
	v->reason = (uint8_t)num(c, f[2], 0, IOC_NREASONS - 1);
	v->host_family = (uint8_t)num(c, f[3], 0, 6);
	v->host_only = (uint8_t)num(c, f[4], 0, 1);
	v->hostlen = (uint16_t)num(c, f[5], 0, IOC_LINE_MAX);
	for (i = 0; i < 16; i++) {
		unsigned int x;

		if (sscanf(f[6] + i * 2, "%2x", &x) != 1)
			c->err = "bad address";
		v->addr[i] = (uint8_t)x;
	}
	v->value = f[7];
	v->len = (uint16_t)strlen(f[7]);
	if (strlen(f[7]) >= IOC_VALUE_MAX || v->hostlen > v->len ||
	    !field_safe(f[7], 0) || *f[7] == '\0')
		c->err = "bad indicator value";
	else if (!matches_value(v))
		c->err = "an indicator record does not match its value";
	return (c->err != NULL ? -1 : 0);
}

/* Parses one incident record with its indicators into st. */
static int
get_incident(struct cursor *c, struct store *st, const char *const *types)
{
	struct store_incident	  proto = { 0 };
	struct store_indicator	  vs[LUMU_MAX_ADV * 2];
	const struct store_indicator *pv[LUMU_MAX_ADV * 2];
	char			 *line, *f[9];
	size_t			  i, n;

	if ((line = next_line(c)) == NULL)
		return (-1);
	if (split(line, f, 9) != 9 || strcmp(f[0], "I") != 0 ||
	    !field_safe(f[1], 0)) {
		c->err = "bad incident record";
		return (-1);
	}
	proto.id = f[1];
	proto.timestamp = num(c, f[2], INT64_MIN, INT64_MAX);
	proto.status_ts = num(c, f[3], INT64_MIN, INT64_MAX);
	proto.last_contact = num(c, f[4], INT64_MIN, INT64_MAX);
	proto.status = (enum inc_status)num(c, f[5], INC_UNKNOWN, INC_CLOSED);
	proto.types = strtoull(f[6], NULL, 16);
	proto.ntriggers = (size_t)num(c, f[7], 0, LUMU_MAX_ADV);
	n = (size_t)num(c, f[8], 0, LUMU_MAX_ADV * 2);
	for (i = 0; i < n && c->err == NULL; i++) {
		get_indicator(c, &vs[i]);
		pv[i] = &vs[i];
	}
	if (c->err != NULL)
		return (-1);
	if (store_restore(st, &proto, types, pv, n) == -1) {
		/* Full: more than this build's store holds (never ours). */
		c->err = errno == ENOSPC ? "more than the store holds" :
		    "out of memory";
		return (-1);
	}
	return (0);
}

/* Parses one feed record and publishes its snapshot into site. */
static int
get_feed(struct cursor *c, struct site *site)
{
	struct site_feed	*sf;
	struct snapshot		*s;
	char			*line, *f[MAX_FIELDS], *body, *drop;
	size_t			 len, dlen, drops[IOC_NREASONS];
	int			 i;

	if ((line = next_line(c)) == NULL)
		return (-1);
	if (split(line, f, MAX_FIELDS) != 8 + IOC_NREASONS ||
	    strcmp(f[0], "F") != 0) {
		c->err = "bad feed record";
		return (-1);
	}
	len = (size_t)num(c, f[6], 0, STATE_MAX_BYTES);
	dlen = (size_t)num(c, f[7], 0, STATE_MAX_BYTES);
	for (i = 0; i < IOC_NREASONS; i++)
		drops[i] = (size_t)num(c, f[8 + i], 0, LLONG_MAX);
	if (c->err != NULL || (size_t)(c->end - c->p) < len + dlen) {
		c->err = c->err ? c->err : "feed body cut short";
		return (-1);
	}
	body = malloc(len + 1);
	drop = malloc(dlen + 1);
	if (body == NULL || drop == NULL) {
		free(body);
		free(drop);
		c->err = "out of memory";
		return (-1);
	}
	memcpy(body, c->p, len);
	memcpy(drop, c->p + len, dlen);
	c->p += len + dlen;
	sf = site_feed_find(site, f[1]);
	/* A feed renamed or retyped since is simply rendered anew. */
	if (sf == NULL || (int)sf->type != num(c, f[2], 0, FEED_URL) ||
	    (s = snap_new(body, len, drop, dlen, (size_t)num(c, f[4], 0,
	    LLONG_MAX), (size_t)num(c, f[5], 0, LLONG_MAX), drops,
	    (time_t)num(c, f[3], 0, LLONG_MAX))) == NULL) {
		free(body);
		free(drop);
		return (c->err != NULL ? -1 : 0);
	}
	site_feed_publish(sf, s);
	return (0);
}

/* Parses a checked file into st and site. */
static int
parse(struct cursor *c, struct store *st, struct site *site,
    struct state_meta *m)
{
	char		*line, *v, *types[STORE_MAX_TYPES] = { 0 };
	long long	 i, n;

	if ((line = next_line(c)) == NULL || strcmp(line, STATE_MAGIC) != 0) {
		c->err = c->err ? c->err : "not a lumu-edl state file";
		return (-1);
	}
	if ((v = keyed(c, "saved")) == NULL)
		return (-1);
	m->saved_ms = num(c, v, 0, INT64_MAX);
	if ((v = keyed(c, "offset")) == NULL)
		return (-1);
	snprintf(m->offset, sizeof(m->offset), "%s", v);
	if ((v = keyed(c, "last-success")) == NULL)
		return (-1);
	m->last_success_ms = num(c, v, 0, INT64_MAX);
	if ((v = keyed(c, "types")) == NULL)
		return (-1);
	n = num(c, v, 0, STORE_MAX_TYPES);
	for (i = 0; i < n && c->err == NULL; i++)
		types[i] = next_line(c);
	if (c->err != NULL || (v = keyed(c, "incidents")) == NULL)
		return (-1);
	n = num(c, v, 0, LLONG_MAX);
	for (i = 0; i < n && c->err == NULL; i++)
		get_incident(c, st, (const char *const *)types);
	if (c->err != NULL || (v = keyed(c, "feeds")) == NULL)
		return (-1);
	n = num(c, v, 0, 100000);
	for (i = 0; i < n && c->err == NULL; i++)
		get_feed(c, site);
	return (c->err != NULL ? -1 : 0);
}

/*
 * Removes temporary files that a process killed while writing left
 * behind (file_write_atomic names them STATE_FILE.tmp.PID).
 */
static void
remove_stale_temps(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, STATE_FILE ".tmp.",
		    strlen(STATE_FILE ".tmp.")) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
		    (int)sizeof(path) && unlink(path) == 0)
			log_info("state: removed %s, left by an interrupted "
			    "write", path);
	}
	closedir(d);
}

/* Renames a damaged state file aside, so it can be looked at later. */
static void
set_aside(const char *path, const char *why)
{
	char	aside[PATH_MAX];
	int	n = 0;

	/* Never replace an earlier damaged file: it may be wanted. */
	do
		snprintf(aside, sizeof(aside), n ? "%s.bad-%lld-%d" :
		    "%s.bad-%lld", path, (long long)time_now_ms(), n);
	while (access(aside, F_OK) == 0 && ++n < 100);
	if (rename(path, aside) == -1)
		log_warn("state: %s is damaged (%s) and cannot be moved", path,
		    why);
	else
		log_warnx("state: %s is damaged (%s); moved to %s, starting "
		    "with a full sync", path, why, aside);
}

int
state_load(const char *dir, struct store **stp, struct site *site,
    struct state_meta *m)
{
	struct cursor	 c = { 0 };
	struct store	*st;
	char		 path[PATH_MAX], hex[65], *data, *tail;
	size_t		 len;

	memset(m, 0, sizeof(*m));
	*stp = NULL;
	if (snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE) >=
	    (int)sizeof(path))
		return (1);
	remove_stale_temps(dir);
	if (file_read_all(path, STATE_MAX_BYTES, &data, &len) == -1) {
		if (errno == ENOENT)
			return (1);
		/* Memory or I/O, not the file's fault: leave it in place. */
		log_warn("state: cannot read %s; starting with a full sync",
		    path);
		return (-1);
	}
	/* The checksum line: "sha256\t" + 64 hex + "\n" at the very end. */
	tail = len >= 72 ? data + len - 72 : NULL;
	if (tail == NULL || memcmp(tail, "sha256\t", 7) != 0 ||
	    data[len - 1] != '\n' || sha256_hex(data, len - 72, hex) == -1 ||
	    memcmp(tail + 7, hex, 64) != 0) {
		free(data);
		set_aside(path, "checksum mismatch");
		return (-1);
	}
	c.p = data;
	c.end = tail;
	if ((st = store_new()) == NULL || parse(&c, st, site, m) == -1) {
		store_free(st);
		free(data);
		/* Out of memory says nothing about the file: keep it. */
		if (st == NULL || (c.err != NULL &&
		    strcmp(c.err, "out of memory") == 0))
			log_warnx("state: out of memory loading %s; starting "
			    "with a full sync", path);
		else
			set_aside(path, c.err);
		return (-1);
	}
	free(data);
	*stp = st;
	log_info("state: loaded %zu incidents from %s", store_nincidents(st),
	    path);
	return (0);
}
