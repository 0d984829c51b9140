/*
 * bench_render.c: rebuilds every feed from N indicators (default
 * 1,000,000) the way the daemon does (select, render), writes the lines of
 * each feed to DIR/NAME.lines, and prints one line per
 * feed: "feed NAME lines L seconds S", then the store's memory per
 * indicator.  tests/bench/run.sh shuffles those lines and times `sort -u`
 * on them: the reference for putting the same lines in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allowlist.h"
#include "conf.h"
#include "ioc.h"
#include "render.h"
#include "select.h"
#include "store.h"
#include "util.h"

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Resident set size in bytes, from /proc/self/statm. */
static long
rss(void)
{
	FILE	*f = fopen("/proc/self/statm", "r");
	long	 pages = 0, res = 0;

	if (f == NULL)
		return (0);
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	fclose(f);
	return (res * 4096);
}

/* A public-looking value for indicator i: IPv4, IPv6, domain or URL. */
static void
value(unsigned long i, char *buf, size_t sz)
{
	unsigned long	h = i * 2654435761UL;

	switch (i % 4) {
	case 0:
		snprintf(buf, sz, "%lu.%lu.%lu.%lu", 11 + (h >> 24) % 180,
		    (h >> 16) & 255, (h >> 8) & 255, 1 + (i >> 2) % 250);
		break;
	case 1:
		/* i in two groups of at most four digits: unique, valid. */
		snprintf(buf, sz, "2606:%lx:%lx:%lx::%lx", (h >> 16) & 0xffff,
		    h & 0xffff, (i >> 16) & 0xffff, i & 0xffff);
		break;
	case 2:
		snprintf(buf, sz, "host%lu.bad%lu.example", i, h % 5000);
		break;
	default:
		snprintf(buf, sz, "http://evil%lu.example/p/%lu?q=%lu",
		    h % 9000, i, h % 77);
	}
}

static void
write_lines(const char *dir, const char *name, const struct rendered *r)
{
	char	path[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s.lines", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(r->body, 1, r->len, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.dropped", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(r->dropped, 1, r->dropped_len, f);
	fclose(f);
}

int
main(int argc, char *argv[])
{
	unsigned long		 n = argc > 1 ? strtoul(argv[1], NULL, 10) :
				    1000000, i;
	const char		*dir = argc > 2 ? argv[2] : "/tmp";
	char			*types[] = { "C2C" }, v[128], id[32];
	struct conf		 c = { 0 };
	struct conf_feed	 feeds[3] = { 0 };
	const char		*names[3] = { "ip", "domains", "urls" };
	struct store		*st;
	struct allowlist	*al;
	struct lumu_incident	 li = { 0 };
	int64_t			 now = time_now_ms();
	long			 rss0, rss1;
	double			 t;
	int			 k;

	if (ioc_init() == -1)
		return (1);
	c.lookback = 30 * 86400;
	c.protect_private = 1;
	for (k = 0; k < 3; k++) {
		feeds[k].name = (char *)(uintptr_t)names[k];
		feeds[k].type = k == 0 ? FEED_IP : k == 1 ? FEED_DOMAIN :
		    FEED_URL;
		feeds[k].statuses = CONF_ST_OPEN | CONF_ST_CLOSED;
		feeds[k].adversary_types.v = types;
		feeds[k].adversary_types.n = 1;
		feeds[k].include_subdomains = k > 0;
	}
	st = store_new();
	al = allowlist_new(&c);
	rss0 = rss();
	t = now_s();
	li.types[0] = "C2C";
	li.ntypes = 1;
	li.nadv = 1;
	li.status = INC_OPEN;
	for (i = 0; i < n; i++) {
		value(i, v, sizeof(v));
		snprintf(id, sizeof(id), "inc-%lu", i);
		li.id = id;
		li.adversaries[0] = v;
		li.timestamp = li.status_ts = now - (int64_t)(i % 1000) * 1000;
		li.last_contact = li.timestamp;
		if (store_upsert(st, &li) == -1)
			return (1);
	}
	rss1 = rss();
	printf("ingest indicators %zu seconds %.3f bytes_per_indicator %.0f\n",
	    store_nindicators(st), now_s() - t,
	    (double)(rss1 - rss0) / (double)store_nindicators(st));
	for (k = 0; k < 3; k++) {
		struct selection	sel;
		struct rendered		r;

		double	ts;

		t = now_s();
		if (select_feed(st, &c, &feeds[k], al, now, &sel) == -1)
			return (1);
		ts = now_s() - t;
		if (render_feed(&feeds[k], &sel, &r) == -1)
			return (1);
		printf("feed %s lines %zu seconds %.3f select %.3f\n",
		    names[k], r.lines, now_s() - t, ts);
		select_free(&sel);
		write_lines(dir, names[k], &r);
		render_free(&r);
	}
	allowlist_free(al);
	store_free(st);
	ioc_cleanup();
	return (0);
}
