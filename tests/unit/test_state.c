/*
 * test_state.c: the state file round trip (the same store, the same feed
 * bytes and ETags after a restart) and damaged files set aside.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ioc.h"
#include "log.h"
#include "site.h"
#include "snapshot.h"
#include "state.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static char	dir[] = "/tmp/lumu-edl-state.XXXXXX";

static struct conf *
make_conf(void)
{
	static struct conf_feed	feeds[2];
	static struct conf	c;

	feeds[0].name = (char *)(uintptr_t)"ip";
	feeds[0].type = FEED_IP;
	feeds[1].name = (char *)(uintptr_t)"urls";
	feeds[1].type = FEED_URL;
	c.feeds = feeds;
	c.nfeeds = 2;
	return (&c);
}

static struct store *
make_store(void)
{
	struct store		*st = store_new();
	struct lumu_incident	 li = { 0 };
	const char		*trig[] = { "http://evil.example/x?y=1" };

	li.id = "inc-1";
	li.timestamp = 1700000000000LL;
	li.status_ts = 1700000001000LL;
	li.last_contact = 1700000002000LL;
	li.status = INC_CLOSED;
	li.types[0] = "Network Scan";
	li.types[1] = "C2C";
	li.ntypes = 2;
	li.adversaries[0] = "8.8.8.8";
	li.adversaries[1] = "bad\nvalue";
	li.nadv = 2;
	store_upsert(st, &li);
	li.id = "inc-2";
	li.status = INC_MUTED;
	li.adversaries[0] = "EVIL.example.";
	li.nadv = 1;
	store_upsert(st, &li);
	store_set_triggers(st, "inc-2", trig, 1);
	return (st);
}

/* Publishes a snapshot with the given body into a site feed. */
static void
publish(struct site *site, const char *name, const char *body, time_t lm)
{
	size_t	drops[IOC_NREASONS] = { 0 };

	drops[IOC_INVALID] = 1;
	site_feed_publish(site_feed_find(site, name), snap_new(strdup(body),
	    strlen(body), strdup("bad\\nvalue\tinvalid\n"), 20, 1, 1, drops,
	    lm));
}

/* The path of the state file. */
static const char *
path(void)
{
	static char	p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, STATE_FILE);
	return (p);
}

/* Counts files in dir whose name starts with prefix. */
static int
count(const char *prefix)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	int		 n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d != NULL)
		closedir(d);
	return (n);
}

static void
test_round_trip(void)
{
	struct conf		*c = make_conf();
	struct store		*st = make_store(), *back = NULL;
	struct site		*site = site_new(c), *site2 = site_new(c);
	struct state_meta	 m = { "1096609", 1700000005000LL, 1700000006000LL };
	struct state_meta	 m2;
	struct snapshot		*a, *b;
	const struct store_incident *inc;

	publish(site, "ip", "8.8.8.8\n", 1700000003);
	publish(site, "urls", "evil.example/\n", 1700000004);
	IS(state_save(dir, st, site, &m), 0, "state saves");
	IS(state_load(dir, &back, site2, &m2), 0, "state loads");
	STR(m2.offset, "1096609", "the cursor comes back verbatim");
	IS(m2.last_success_ms, 1700000005000LL, "last success comes back");
	IS(store_nincidents(back), 2, "incidents come back");
	IS(store_nindicators(back), store_nindicators(st),
	    "indicators come back");
	inc = store_incident_find(back, "inc-2");
	OK(inc != NULL && inc->status == INC_MUTED && inc->ntriggers == 1 &&
	    inc->last_contact == 1700000002000LL, "incident fields come back");
	OK(inc != NULL && store_type_bit(back, "network scan") != 0 &&
	    (inc->types & store_type_bit(back, "Network Scan")),
	    "type names with spaces come back");
	a = site_feed_current(site_feed_find(site, "urls"));
	b = site_feed_current(site_feed_find(site2, "urls"));
	OK(a && b && a->len == b->len && memcmp(a->body, b->body, a->len) == 0,
	    "feed bytes come back");
	OK(a && b && strcmp(a->etag, b->etag) == 0 &&
	    a->last_modified == b->last_modified && b->drops[IOC_INVALID] == 1,
	    "ETag, Last-Modified and drop counts come back");
	snap_unref(a);
	snap_unref(b);
	store_free(st);
	store_free(back);
	site_unref(site);
	site_unref(site2);
}

/* Damages the state file with fn, then expects it set aside. */
static void
damaged(const char *what, void (*fn)(const char *))
{
	struct conf		*c = make_conf();
	struct store		*st = make_store(), *back = NULL;
	struct site		*site = site_new(c);
	struct state_meta	 m = { "1", 1, 1 };
	int			 before;

	state_save(dir, st, site, &m);
	fn(path());
	before = count("state.bad-");
	IS(state_load(dir, &back, site, &m), -1, what);
	OK(back == NULL && count("state.bad-") == before + 1 &&
	    access(path(), F_OK) == -1, "a damaged file is set aside");
	store_free(st);
	site_unref(site);
}

static void
truncate_half(const char *p)
{
	struct stat	sb;

	stat(p, &sb);
	truncate(p, sb.st_size / 2);
}

static void
flip_byte(const char *p)
{
	FILE	*f = fopen(p, "r+");

	fseek(f, 40, SEEK_SET);
	fputc('#', f);
	fclose(f);
}

static void
garbage(const char *p)
{
	file_write_atomic(p, "\x01\x02garbage\n", 10, 0600);
}

int
main(void)
{
	struct store		*st;
	struct state_meta	 m;

	log_init("test_state", 0);
	if (ioc_init() == -1 || mkdtemp(dir) == NULL)
		return (1);
	IS(state_load(dir, &st, NULL, &m), 1, "no state file: nothing loaded");
	test_round_trip();
	damaged("a truncated file is refused", truncate_half);
	damaged("a changed byte is refused", flip_byte);
	damaged("garbage is refused", garbage);
	/* Leave nothing behind. */
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		system(cmd);
	}
	ioc_cleanup();
	return (tap_done());
}
