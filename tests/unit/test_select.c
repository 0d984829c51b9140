/*
 * test_select.c: the store, the selection rule (contract section 4) and
 * rendering (section 5), through the same calls the daemon makes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "conf.h"
#include "ioc.h"
#include "render.h"
#include "select.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define DAY	(86400LL * 1000)

static int64_t	now;
static char	*all_types[] = { "C2C", "Malware", "Phishing", "Spam" };
static char	*c2c_only[] = { "C2C" };

/* Adds an incident: created and last seen so many days ago. */
static void
add(struct store *st, const char *id, double created_days,
    enum inc_status status, double contact_days, const char *type,
    const char *adv)
{
	struct lumu_incident	li = { 0 };

	li.id = id;
	li.timestamp = now - (int64_t)(created_days * DAY);
	li.status_ts = li.timestamp;
	li.last_contact = now - (int64_t)(contact_days * DAY);
	li.status = status;
	li.types[0] = type;
	li.ntypes = 1;
	li.adversaries[0] = adv;
	li.nadv = 1;
	if (store_upsert(st, &li) != 0)
		abort();
}

static void
base_conf(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->lookback = 30 * 86400;
	c->protect_private = 1;
	c->adversary_types.v = all_types;
	c->adversary_types.n = 4;
}

static void
base_feed(struct conf_feed *f, const char *name, enum feed_type type)
{
	memset(f, 0, sizeof(*f));
	f->name = (char *)(uintptr_t)name;
	f->type = type;
	f->statuses = CONF_ST_OPEN | CONF_ST_CLOSED;
	f->adversary_types.v = all_types;
	f->adversary_types.n = 4;
}

/* Selects and renders; returns the body (caller frees) and the drops. */
static char *
feed_body(struct store *st, struct conf *c, struct conf_feed *f,
    char **dropped)
{
	struct allowlist	*al = allowlist_new(c);
	struct selection	 sel;
	struct rendered		 r;
	char			*body;

	if (al == NULL || select_feed(st, c, f, al, now, &sel) != 0 ||
	    render_feed(f, &sel, &r) != 0)
		abort();
	select_free(&sel);
	allowlist_free(al);
	body = r.body;
	if (dropped != NULL)
		*dropped = r.dropped;
	else
		free(r.dropped);
	return (body);
}

/*
 * Runs the independent PAN-OS line checker (tests/panos_check.py, written
 * from the reference, not from render.c) over a body; 1 when it passes.
 */
static int
panos_valid(const struct conf_feed *f, const char *body)
{
	char	 cmd[256];
	FILE	*p;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/panos_check.py "
	    "--type %s - >/dev/null 2>&1", conf_feed_type_name(f->type));
	if ((p = popen(cmd, "w")) == NULL)
		return (0);
	fputs(body, p);
	return (pclose(p) == 0);
}

/* One check of a rendered body against the expected text. */
static void
expect(struct store *st, struct conf *c, struct conf_feed *f,
    const char *want, const char *want_drops, const char *what)
{
	char	*drops, *body = feed_body(st, c, f, &drops);
	char	 valid[160];

	STR(body, want, what);
	snprintf(valid, sizeof(valid), "%s: PAN-OS valid", what);
	/* protect-private = no may publish what the checker rejects. */
	if (c->protect_private)
		OK(panos_valid(f, body), valid);
	if (want_drops != NULL)
		STR(drops, want_drops, what);
	free(body);
	free(drops);
}

static void
test_newest_decides(void)
{
	struct store	*st = store_new();
	struct conf	 c;
	struct conf_feed f;

	base_conf(&c);
	base_feed(&f, "d", FEED_DOMAIN);
	add(st, "a1", 10, INC_OPEN, 1, "Malware", "evil.example");
	add(st, "a2", 5, INC_MUTED, 2, "Malware", "evil.example");
	expect(st, &c, &f, RENDER_EMPTY_LINE, "", "newer muted incident withdraws");
	add(st, "a3", 1, INC_CLOSED, 1, "Malware", "EVIL.example.");
	expect(st, &c, &f, "evil.example\n", "",
	    "newest closed incident publishes, one canonical indicator");
	add(st, "a3", 1, INC_MUTED, 1, "Malware", "evil.example");
	expect(st, &c, &f, RENDER_EMPTY_LINE, "", "muting the newest withdraws");
	add(st, "a3", 1, INC_OPEN, 1, "Malware", "evil.example");
	expect(st, &c, &f, "evil.example\n", "", "unmuting brings it back");
	IS(store_nincidents(st), 3, "upsert replaces by id");
	IS(store_nindicators(st), 1, "one indicator for three spellings");
	store_free(st);
}

static void
test_ageing_and_types(void)
{
	struct store	*st = store_new();
	struct conf	 c;
	struct conf_feed f;

	base_conf(&c);
	base_feed(&f, "d", FEED_DOMAIN);
	add(st, "b1", 40, INC_CLOSED, 29, "C2C", "closed-recent.example");
	add(st, "b2", 40, INC_CLOSED, 31, "C2C", "closed-old.example");
	add(st, "b3", 40, INC_OPEN, 31, "C2C", "open-old.example");
	add(st, "b4", 2, INC_OPEN, 1, "Spam", "spam.example");
	expect(st, &c, &f, "closed-recent.example\nspam.example\n", "",
	    "closed stays until it ages out; old contacts age out");
	f.adversary_types.v = c2c_only;
	f.adversary_types.n = 1;
	expect(st, &c, &f, "closed-recent.example\n", "",
	    "feed adversary types filter");
	/* An old muted incident no longer qualifies, so it cannot decide. */
	base_feed(&f, "d", FEED_DOMAIN);
	add(st, "b5", 60, INC_MUTED, 35, "Spam", "spam.example");
	expect(st, &c, &f, "closed-recent.example\nspam.example\n", "",
	    "an aged-out muted incident does not withdraw");
	/* A newer incident of another type does not decide for this feed. */
	f.adversary_types.v = c2c_only;
	f.adversary_types.n = 1;
	add(st, "b6", 0.5, INC_MUTED, 0.5, "Spam", "closed-recent.example");
	expect(st, &c, &f, "closed-recent.example\n", "",
	    "only qualifying incidents decide");
	IS(store_expire(st, now - 30 * DAY), 3, "expire removes aged incidents");
	store_free(st);
}

static void
test_tie_breaks(void)
{
	struct store		*st = store_new();
	struct lumu_incident	 li = { 0 };
	struct conf		 c;
	struct conf_feed	 f;

	base_conf(&c);
	base_feed(&f, "d", FEED_DOMAIN);
	li.types[0] = "C2C";
	li.ntypes = 1;
	li.adversaries[0] = "tie.example";
	li.nadv = 1;
	li.timestamp = now - DAY;
	li.last_contact = now - DAY;
	li.id = "c1";
	li.status_ts = now - DAY;
	li.status = INC_OPEN;
	store_upsert(st, &li);
	li.id = "c2";
	li.status_ts = now - DAY / 2;
	li.status = INC_MUTED;
	store_upsert(st, &li);
	expect(st, &c, &f, RENDER_EMPTY_LINE, NULL,
	    "equal timestamps: later statusTimestamp decides");
	li.id = "c3";
	li.status = INC_OPEN;
	store_upsert(st, &li);
	expect(st, &c, &f, "tie.example\n", NULL,
	    "equal times: greater id decides");
	store_free(st);
}

static void
test_ip_feed(void)
{
	struct store	*st = store_new();
	struct conf	 c;
	struct conf_feed f;
	char		*allow[] = { "203.0.113.0/24", "2001:db8::/32" };

	base_conf(&c);
	base_feed(&f, "ip", FEED_IP);
	add(st, "i1", 1, INC_OPEN, 1, "C2C", "100.1.1.1");
	add(st, "i2", 1, INC_OPEN, 1, "C2C", "8.8.8.8");
	add(st, "i3", 1, INC_OPEN, 1, "C2C", "2606:4700::1111");
	add(st, "i4", 1, INC_OPEN, 1, "C2C", "2606:4700:0:0::1001");
	add(st, "i5", 1, INC_OPEN, 1, "C2C", "10.1.2.3");
	add(st, "i6", 1, INC_OPEN, 1, "C2C", "0.0.0.0/0");
	add(st, "i7", 1, INC_OPEN, 1, "C2C", "evil.example");
	add(st, "i8", 1, INC_OPEN, 1, "C2C", "tcp://9.9.9.9:443");
	add(st, "i9", 1, INC_OPEN, 1, "C2C", "1.2.3.4\n5.6.7.8");
	add(st, "i10", 1, INC_OPEN, 1, "C2C", "198.51.100.7");
	expect(st, &c, &f,
	    "8.8.8.8\n9.9.9.9\n100.1.1.1\n2606:4700::1001\n2606:4700::1111\n",
	    "0.0.0.0/0\tnetwork\n1.2.3.4\\n5.6.7.8\tinvalid\n"
	    "10.1.2.3\tprotected\n198.51.100.7\tprotected\n",
	    "ip feed: numeric order, v4 then v6, hostile values withheld");
	c.allowlist.v = allow;
	c.allowlist.n = 2;
	add(st, "i11", 1, INC_OPEN, 1, "C2C", "203.0.113.9");
	expect(st, &c, &f,
	    "8.8.8.8\n9.9.9.9\n100.1.1.1\n2606:4700::1001\n2606:4700::1111\n",
	    NULL, "allowlisted block withheld");
	c.protect_private = 0;
	expect(st, &c, &f,
	    "8.8.8.8\n9.9.9.9\n10.1.2.3\n100.1.1.1\n198.51.100.7\n"
	    "2606:4700::1001\n2606:4700::1111\n",
	    NULL, "protect-private = no publishes private addresses");
	store_free(st);
}

static void
test_names(void)
{
	struct store	*st = store_new();
	struct conf	 c;
	struct conf_feed f;
	char		*allow[] = { "good.bad.example", "ok.example" };

	base_conf(&c);
	base_feed(&f, "d", FEED_DOMAIN);
	add(st, "n1", 1, INC_OPEN, 1, "C2C", "bad.example");
	add(st, "n2", 1, INC_OPEN, 1, "C2C", "sub.ok.example");
	add(st, "n3", 1, INC_OPEN, 1, "C2C", "co.uk");
	add(st, "n4", 1, INC_OPEN, 1, "C2C", "http://phish.example/login?a=1");
	add(st, "n5", 1, INC_OPEN, 1, "C2C", "192.0.2.55");
	c.allowlist.v = allow;
	c.allowlist.n = 2;
	f.include_subdomains = 1;
	expect(st, &c, &f, "bad.example\n",
	    "bad.example\tallowlist-overlap\nco.uk\tpublic-suffix\n"
	    "sub.ok.example\tallowlisted\n",
	    "domain feed: overlap keeps the bare name, no wildcard");
	c.allowlist.n = 0;
	expect(st, &c, &f,
	    "*.bad.example\n*.sub.ok.example\nbad.example\nsub.ok.example\n",
	    NULL, "include-subdomains adds *. lines, sorted bytewise");
	base_feed(&f, "u", FEED_URL);
	expect(st, &c, &f,
	    "bad.example/\nphish.example/login?a=1\nsub.ok.example/\n",
	    "co.uk\tpublic-suffix\n", "url feed: domains as host entries, URLs kept");
	f.include_subdomains = 1;
	f.include_subdirectories = 1;
	expect(st, &c, &f,
	    "*.bad.example/\n*.bad.example/*\n*.sub.ok.example/\n"
	    "*.sub.ok.example/*\nbad.example/\nbad.example/*\n"
	    "phish.example/login?a=1\nsub.ok.example/\nsub.ok.example/*\n",
	    NULL, "url feed: both include options");
	store_free(st);
}

static void
test_limits(void)
{
	struct store	*st = store_new();
	struct conf	 c;
	struct conf_feed f;
	char		 name[300];
	int		 i;

	base_conf(&c);
	base_feed(&f, "d", FEED_DOMAIN);
	add(st, "m1", 3, INC_OPEN, 3, "C2C", "three.example");
	add(st, "m2", 1, INC_OPEN, 1, "C2C", "one.example");
	add(st, "m3", 2, INC_OPEN, 2, "C2C", "two.example");
	f.max_entries = 2;
	expect(st, &c, &f, "one.example\ntwo.example\n",
	    "three.example\ttruncated\n",
	    "max-entries keeps the most recent last contacts");
	f.max_entries = 0;
	/* A 252-character name: "*." would make it 254, over 253. */
	memset(name, 0, sizeof(name));
	for (i = 0; i < 3; i++) {
		memset(name + i * 63, 'a' + i, 62);
		name[i * 63 + 62] = '.';
	}
	memset(name + 189, 'd', 59);
	memcpy(name + 248, ".com", 5);
	f.include_subdomains = 1;
	{
		char *drops, *body;

		add(st, "m4", 1, INC_OPEN, 1, "C2C", name);
		body = feed_body(st, &c, &f, &drops);
		OK(strstr(body, name) != NULL && strstr(drops, "too-long"),
		    "a too-long expansion is left out alone");
		free(body);
		free(drops);
	}
	store_free(st);
}

static void
test_merge(void)
{
	struct store	*a = store_new(), *b = store_new();

	add(a, "x1", 1, INC_OPEN, 1, "C2C", "kept.example");
	add(a, "x2", 1, INC_OPEN, 40, "C2C", "aged.example");
	add(b, "x3", 1, INC_OPEN, 1, "C2C", "fresh.example");
	store_set_triggers(a, "x1", (const char *const[]){ "http://kept.example/a" }, 1);
	OK(store_merge_missing(b, a, now - 30 * DAY) == 0, "merge runs");
	IS(store_nincidents(b), 2, "merge adds missing incidents in the window");
	IS(store_nindicators(b), 3, "merge copies adversaries and triggers");
	OK(store_incident_find(b, "x2") == NULL, "merge skips aged incidents");
	store_free(b);
	b = store_new();
	add(b, "x1", 1, INC_OPEN, 1, "C2C", "kept.example");
	OK(store_carry_triggers(b, a) == 0 &&
	    store_incident_find(b, "x1")->ntriggers == 1 &&
	    store_nindicators(b) == 2, "a resync keeps threat triggers read");
	add(b, "x1", 1, INC_CLOSED, 1, "C2C", "kept.example");
	OK(store_incident_find(b, "x1")->ntriggers == 1 &&
	    store_nindicators(b) == 2, "an upsert keeps the triggers");
	store_free(a);
	store_free(b);
}

/* The byte bound counts values and ids and gives them back when freed. */
static void
test_byte_bound(void)
{
	struct store		*st = store_new(), *st2;
	struct store_limits	 lim = { 100, 100, 0 };
	struct lumu_incident	 li = { 0 };
	char			 id[16], adv[64];
	size_t			 one, i;

	add(st, "y0", 1, INC_OPEN, 1, "C2C", "y0.example");
	one = store_bytes(st);
	OK(one == strlen("y0") + STORE_COST_INCIDENT + strlen("y0.example") +
	    STORE_COST_INDICATOR, "byte bound: an incident and its value "
	    "counted");
	lim.bytes = one * 3 + one / 2;
	store_set_limits(&lim);
	for (i = 1; i < 10; i++) {
		snprintf(id, sizeof(id), "y%zu", i);
		snprintf(adv, sizeof(adv), "y%zu.example", i);
		li.id = id;
		li.status = INC_OPEN;
		li.last_contact = now;
		li.adversaries[0] = adv;
		li.nadv = 1;
		if (store_upsert(st, &li) == -1)
			break;
	}
	IS(store_nincidents(st), 3, "byte bound: the store stops at it");
	OK(errno == ENOSPC, "byte bound: ENOSPC");
	lim.bytes = one;
	store_set_limits(&lim);
	OK((st2 = store_new()) != NULL && store_merge_missing(st2, st, 0) ==
	    0 && store_nincidents(st2) == 3, "byte bound: what the process "
	    "holds already is copied whole");
	store_free(st2);
	store_expire(st, now + DAY);
	IS(store_bytes(st), 0, "byte bound: every byte given back");
	store_free(st);
	lim = (struct store_limits){ STORE_MAX_INCIDENTS,
	    STORE_MAX_INDICATORS, 0 };
	store_set_limits(&lim);
}

/* A store at its bounds refuses new things whole and keeps the old. */
static void
test_bounds(void)
{
	struct store		*st = store_new();
	struct lumu_incident	 li = { 0 };
	const char		*two[] = { "b1.example", "b2.example" };
	struct store_limits	 lim = { 2, 3, 0 };

	store_set_limits(&lim);
	add(st, "b1", 1, INC_OPEN, 1, "C2C", "a1.example");
	add(st, "b2", 1, INC_OPEN, 1, "C2C", "a2.example");
	li.id = "b3";
	li.timestamp = li.status_ts = li.last_contact = now;
	li.status = INC_OPEN;
	li.adversaries[0] = "a3.example";
	li.nadv = 1;
	errno = 0;
	OK(store_upsert(st, &li) == -1 && errno == ENOSPC,
	    "bounds: a third incident refused (ENOSPC)");
	li.id = "b1";
	li.adversaries[1] = "a4.example";
	li.nadv = 2;
	errno = 0;
	OK(store_upsert(st, &li) == -1 && errno == ENOSPC,
	    "bounds: values past the indicator bound refused");
	OK(store_incident_find(st, "b1") != NULL &&
	    store_incident_find(st, "b1")->ninds == 1 &&
	    store_nindicators(st) == 2, "bounds: the refused change left "
	    "the incident as it was");
	li.nadv = 1;
	OK(store_upsert(st, &li) == 0, "bounds: a known incident still "
	    "changes within them");
	errno = 0;
	OK(store_set_triggers(st, "b2", two, 2) == -1 && errno == ENOSPC &&
	    store_incident_find(st, "b2")->ntriggers == 0,
	    "bounds: triggers past them refused");
	OK(store_set_triggers(st, "b2", two, 1) == 0, "bounds: triggers "
	    "within them kept");
	store_expire(st, now + DAY);
	add(st, "b3", 0, INC_OPEN, 0, "C2C", "a3.example");
	IS(store_nincidents(st), 1, "bounds: room again after ageing");
	store_free(st);
	test_byte_bound();
}

int
main(void)
{
	if (ioc_init() == -1)
		return (1);
	now = time_now_ms();
	test_newest_decides();
	test_ageing_and_types();
	test_tie_breaks();
	test_ip_feed();
	test_names();
	test_limits();
	test_merge();
	test_bounds();
	ioc_cleanup();
	return (tap_done());
}
