/*
 * test_lumu.c: the Lumu client and curlev against the stand-in Lumu API
 * (tests/lumu_standin.py) run as a child process, on a real event loop:
 * a paged full read, windows past the history limit, every fault the
 * stand-in can inject, a rejected key, rate-limit headers, a timeout,
 * the updates stream, an offset that goes backwards, threat triggers
 * (active, not active, unmarked, 404, a retry, the once-a-minute re-read
 * after an update, the budget left to the stream), and a log that never
 * shows the key.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "curlev.h"
#include "decode.h"
#include "ioc.h"
#include "log.h"
#include "lumu.h"
#include "store.h"
#include "tap.h"
#include "util.h"

/* Characters that need URL-encoding, so both spellings are exercised. */
#define KEY		"t3st+key/with=odd&chars"
#define STANDIN		"tests/lumu_standin.py"
#define PYTHON		"/usr/bin/python3"
#define NINC		250	/* incidents the full read must find */
#define NSPAM		10	/* of a type not asked for */
#define NOLD		5	/* 40 days old: only in a 60-day read */

static const char *const types[] = { "C2C", "Malware", "Phishing" };

static pid_t	 standin_pid;
static int	 port;
static char	 tmpdir[] = "/tmp/test_lumu.XXXXXX";
static char	 logpath[256];

/* What on_triggers was last told about one incident. */
struct trig {
	char		 id[32];
	int		 calls;
	size_t		 n;
	char		 values[512];	/* space-separated */
	double		 at;		/* now_s() of the last call */
};

struct ctx {
	struct event_base	*base;
	struct curlev		*cv;
	struct curlev		*cv2;		/* freed from its callback */
	struct lumu		*lu;
	int			 syncs;
	int			 errors;
	int			 events[LUMU_NEVENTS];
	int			 batches;
	int			 timed_out;
	int			 free_on_error;	/* lumu_free from on_error */
	struct store		*store;		/* the last one handed over */
	char			 err[512];
	char			 offset[64];
	const char		*want_id;	/* event to wait for */
	int			 got_want;
	enum lumu_event		 want_type;
	enum inc_status		 want_status;
	char			 want_adv[128];
	struct curlev_result	 res;		/* curlev tests */
	int			 res_done;
	char			 res_error[256];
	struct trig		 trig[64];
	size_t			 ntrig;
};

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* ---- the stand-in ---- */

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return (buf_add(arg, p, size * n) == 0 ? size * n : 0);
}

/* A blocking control request; returns the HTTP status (0: failed). */
static long
control(const char *method, const char *path, const char *body,
    struct buf *out)
{
	char			 url[256];
	struct buf		 tmp = { 0 };
	struct curl_slist	*h;
	CURL			*e;
	long			 status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if ((e = curl_easy_init()) == NULL)
		return (0);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out != NULL ? out : &tmp);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	buf_free(&tmp);
	return (status);
}

/* Starts the stand-in and waits for its port; -1 when it will not run. */
static int
standin_start(void)
{
	char		 portfile[300], *data = NULL;
	size_t		 len;
	double		 t0 = now_s();
	int		 fd;

	if (access(STANDIN, R_OK) == -1 || mkdtemp(tmpdir) == NULL)
		return (-1);
	snprintf(portfile, sizeof(portfile), "%s/port", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/client.log", tmpdir);
	if ((standin_pid = fork()) == -1)
		return (-1);
	if (standin_pid == 0) {
		/* Never outlive the test, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(PYTHON, PYTHON, STANDIN, "--port", "0", "--key", KEY,
		    "--port-file", portfile, "--seed", "7", (char *)NULL);
		_exit(127);
	}
	while (now_s() - t0 < 15) {
		if (file_read_all(portfile, 64, &data, &len) == 0) {
			port = atoi(data);
			free(data);
			return (port > 0 ? 0 : -1);
		}
		usleep(50000);
	}
	return (-1);
}

static void
standin_stop(void)
{
	char	path[300];

	if (standin_pid > 0) {
		kill(standin_pid, SIGTERM);
		waitpid(standin_pid, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/port", tmpdir);
	unlink(path);
	unlink(logpath);
	rmdir(tmpdir);
}

/* Appends one incident object to b. */
static void
add_incident(struct buf *b, const char *id, const char *status,
    const char *type, int64_t age_ms, const char *adv)
{
	char	ts[32];

	time_format_iso(time_now_ms() - age_ms, ts, sizeof(ts));
	buf_printf(b, "%s{\"id\": \"%s\", \"timestamp\": \"%s\", "
	    "\"statusTimestamp\": \"%s\", \"lastContact\": \"%s\", "
	    "\"status\": \"%s\", \"adversaries\": [\"%s\"], "
	    "\"adversaryTypes\": [\"%s\"]}",
	    b->data[b->len - 1] == '[' ? "" : ",", id, ts, ts, ts, status,
	    adv, type);
}

/* Loads the data set every full read is checked against. */
static int
load_incidents(void)
{
	static const char *const st[] = { "open", "muted", "closed" };
	struct buf	 b = { 0 };
	char		 id[32], adv[64];
	long		 status;
	int		 i;

	buf_addstr(&b, "{\"quiet\": true, \"incidents\": [");
	for (i = 0; i < NINC; i++) {
		snprintf(id, sizeof(id), "inc-%04d", i);
		snprintf(adv, sizeof(adv), "host-%d.example.com", i % 200);
		add_incident(&b, id, st[i % 3], types[i % 3],
		    (int64_t)i * 60000 + 60000, adv);
	}
	for (i = 0; i < NSPAM; i++) {
		snprintf(id, sizeof(id), "spam-%d", i);
		add_incident(&b, id, "open", "Spam", 120000, "spam.example");
	}
	for (i = 0; i < NOLD; i++) {
		snprintf(id, sizeof(id), "old-%d", i);
		add_incident(&b, id, "closed", "C2C",
		    (int64_t)40 * 86400000 + i * 1000, "old.example");
	}
	buf_addstr(&b, "]}");
	status = control("POST", "/_control/incidents", b.data, NULL);
	buf_free(&b);
	return (status == 200 ? 0 : -1);
}

/* ---- the client under test ---- */

static void
on_sync(void *arg, struct store *fresh)
{
	struct ctx	*c = arg;

	c->syncs++;
	store_free(c->store);
	c->store = fresh;
}

static void
on_event(void *arg, enum lumu_event ev, const struct lumu_incident *inc)
{
	struct ctx	*c = arg;

	c->events[ev]++;
	if (c->want_id != NULL && inc != NULL &&
	    strcmp(inc->id, c->want_id) == 0 && ev == c->want_type) {
		c->got_want = 1;
		c->want_status = inc->status;
		snprintf(c->want_adv, sizeof(c->want_adv), "%s",
		    inc->nadv > 0 ? inc->adversaries[0] : "");
	}
}

static void
on_batch(void *arg, const char *offset)
{
	struct ctx	*c = arg;

	c->batches++;
	snprintf(c->offset, sizeof(c->offset), "%s", offset);
}

static void
on_error(void *arg, const char *msg)
{
	struct ctx	*c = arg;

	c->errors++;
	snprintf(c->err, sizeof(c->err), "%s", msg);
	if (c->free_on_error) {
		/* Allowed from a callback; the client goes on the way out. */
		lumu_free(c->lu);
		c->lu = NULL;
	}
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	((struct ctx *)arg)->timed_out = 1;
}

/* Runs the loop until done(c) holds or seconds pass; returns done(c). */
static int
run_until(struct ctx *c, int (*done)(struct ctx *), double seconds)
{
	struct event	*t;
	struct timeval	 tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	c->timed_out = 0;
	t = evtimer_new(c->base, timeout_cb, c);
	evtimer_add(t, &tv);
	while (!c->timed_out && !done(c))
		event_base_loop(c->base, EVLOOP_ONCE);
	event_free(t);
	return (done(c));
}

static int
any_callback(struct ctx *c)
{
	return (c->syncs > 0 || c->errors > 0);
}

static int
got_sync(struct ctx *c)
{
	return (c->syncs > 0);
}

static int
got_want(struct ctx *c)
{
	return (c->got_want);
}

static int
res_done(struct ctx *c)
{
	return (c->res_done);
}

static int
never(struct ctx *c)
{
	return (0);
}

static cJSON	*request_log(void);

/*
 * Waits until the stand-in has logged every request the client made: it
 * logs a request as it answers, so one still in flight is not there yet.
 */
static void
log_settle(struct ctx *c)
{
	cJSON	*log;
	int	 i, n;

	for (i = 0; i < 100; i++) {
		log = request_log();
		n = cJSON_GetArraySize(log);
		cJSON_Delete(log);
		if (c->lu == NULL || n >= (int)lumu_stats(c->lu)->requests)
			return;
		run_until(c, never, 0.05);
	}
}

/* A fresh client on c with the usual parameters. */
static void
client_new(struct ctx *c, int64_t lookback_days, int follow, int max_rpm)
{
	struct lumu_params	p;
	struct lumu_callbacks	cb;
	char			url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	memset(&p, 0, sizeof(p));
	p.api_url = url;
	p.key = KEY;
	p.types = types;
	p.ntypes = 3;
	p.lookback = lookback_days * 86400;
	p.updates_wait = 2;
	p.resync = 3600;
	p.max_rpm = max_rpm;
	p.follow_updates = follow;
	memset(&cb, 0, sizeof(cb));
	cb.arg = c;
	cb.on_sync = on_sync;
	cb.on_event = on_event;
	cb.on_batch = on_batch;
	cb.on_error = on_error;
	c->syncs = c->errors = c->batches = 0;
	memset(c->events, 0, sizeof(c->events));
	c->err[0] = c->offset[0] = '\0';
	c->lu = lumu_new(c->base, c->cv, &p, &cb);
}

static void
client_free(struct ctx *c)
{
	lumu_free(c->lu);
	c->lu = NULL;
	store_free(c->store);
	c->store = NULL;
}

/*
 * The API requests the stand-in saw since the last clear, parsed.  It
 * logs a request once its answer is sent, so a caller that just got one
 * first lets the stand-in catch up (log_settle).
 */
static cJSON *
request_log(void)
{
	struct buf	 b = { 0 };
	cJSON		*root = NULL, *list;

	if (control("GET", "/_control/log", NULL, &b) == 200)
		root = cJSON_ParseWithLength(b.data, b.len);
	buf_free(&b);
	list = cJSON_DetachItemFromObject(root, "requests");
	cJSON_Delete(root);
	return (list);
}

static const char *
field(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsString(v) ? v->valuestring : "");
}

/* The record of an incident's triggers; created when asked to. */
static struct trig *
trig_find(struct ctx *c, const char *id, int create)
{
	size_t	i;

	for (i = 0; i < c->ntrig; i++)
		if (strcmp(c->trig[i].id, id) == 0)
			return (&c->trig[i]);
	if (!create || c->ntrig == sizeof(c->trig) / sizeof(c->trig[0]))
		return (NULL);
	memset(&c->trig[c->ntrig], 0, sizeof(c->trig[0]));
	snprintf(c->trig[c->ntrig].id, sizeof(c->trig[0].id), "%s", id);
	return (&c->trig[c->ntrig++]);
}

static int
on_triggers(void *arg, const char *id, const char *const *values, size_t n)
{
	struct ctx	*c = arg;
	struct trig	*t;
	size_t		 i, o = 0;

	if ((t = trig_find(c, id, 1)) == NULL)
		return (0);
	t->calls++;
	t->n = n;
	t->at = now_s();
	t->values[0] = '\0';
	for (i = 0; i < n && o < sizeof(t->values); i++)
		o += (size_t)snprintf(t->values + o, sizeof(t->values) - o,
		    "%s%s", i > 0 ? " " : "", values[i]);
	return (0);
}

/* Calls of on_triggers for id so far. */
static int
trig_calls(struct ctx *c, const char *id)
{
	struct trig	*t = trig_find(c, id, 0);

	return (t != NULL ? t->calls : 0);
}

/* ---- tests ---- */

static void
test_redact(void)
{
	char	 out[256], url[256], *esc;

	curlev_redact("https://h/api?key=" KEY "&page=1", KEY, out,
	    sizeof(out));
	STR(out, "https://h/api?key=(secret)&page=1", "raw key redacted");
	esc = curl_easy_escape(NULL, KEY, 0);
	snprintf(url, sizeof(url), "https://h/api?key=%s&page=1", esc);
	OK(strstr(url, "%2B") != NULL, "escaped key differs from raw");
	curlev_redact(url, KEY, out, sizeof(out));
	STR(out, "https://h/api?key=(secret)&page=1", "escaped key redacted");
	curl_free(esc);
	curlev_redact("a t3st%2bkey%2fwith%3dodd%26chars b", KEY, out,
	    sizeof(out));
	STR(out, "a (secret) b", "lower-case escapes redacted");
	curlev_redact("no secret here", KEY, out, sizeof(out));
	STR(out, "no secret here", "other text untouched");
	curlev_redact("x=" KEY, KEY, out, 8);
	STR(out, "x=", "a cut never shows part of the key");
	curlev_redact("x=" KEY, NULL, out, sizeof(out));
	STR(out, "x=" KEY, "no secret: copied");
}

/* Counts list requests in the log and checks what they carried. */
static void
check_list_requests(void)
{
	cJSON		*log = request_log(), *el, *body;
	const cJSON	*types_a;
	int		 n = 0, pages_ok = 1, body_ok = 1;
	char		 want[32];

	cJSON_ArrayForEach(el, log) {
		if (strcmp(field(el, "path"), "/api/incidents/all") != 0)
			continue;
		n++;
		snprintf(want, sizeof(want), "page=%d&items=100", n);
		if (strstr(field(el, "query"), want) == NULL)
			pages_ok = 0;
		body = cJSON_Parse(field(el, "body"));
		types_a = cJSON_GetObjectItemCaseSensitive(body,
		    "adversary-types");
		if (cJSON_GetArraySize(types_a) != 3 ||
		    strstr(field(el, "body"), "\"status\":[\"open\",\"muted\","
		    "\"closed\"]") == NULL ||
		    strstr(field(el, "body"), ".000Z\"") == NULL ||
		    cJSON_GetObjectItemCaseSensitive(body, "fromDate") == NULL)
			body_ok = 0;
		cJSON_Delete(body);
	}
	IS(n, 3, "three list requests");
	OK(pages_ok, "pages 1, 2, 3 of 100 asked for in order");
	OK(body_ok, "bodies carry dates, statuses and types");
	cJSON_Delete(log);
}

static void
test_full_read(struct ctx *c)
{
	const struct store_incident	*si;
	const struct lumu_stats		*st;

	control("DELETE", "/_control/log", NULL, NULL);
	client_new(c, 30, 0, 40);
	OK(c->lu != NULL, "client created");
	IS(lumu_start(c->lu, ""), 0, "client started");
	IS(lumu_start(c->lu, ""), -1, "second start refused");
	OK(run_until(c, any_callback, 15), "full read ends");
	IS(c->syncs, 1, "full read handed over");
	IS(c->errors, 0, "no errors");
	if (c->store == NULL) {
		client_free(c);
		return;
	}
	IS(store_nincidents(c->store), NINC,
	    "every incident of the window and types, no others");
	si = store_incident_find(c->store, "inc-0004");
	OK(si != NULL && si->status == INC_MUTED, "status kept");
	OK(store_incident_find(c->store, "spam-0") == NULL,
	    "types not asked for are not there");
	OK(store_incident_find(c->store, "old-0") == NULL,
	    "incidents before the window are not there");
	st = lumu_stats(c->lu);
	IS(st->pages, 3, "three pages read");
	IS(st->requests, 3, "three requests made");
	IS(st->budget_tokens, 37, "three tokens spent of 40");
	OK(st->last_sync_seconds >= 0 && st->last_sync_seconds < 15,
	    "sync time recorded");
	log_settle(c);
	check_list_requests();
	client_free(c);
}

/* 60 days: two windows; the older refused (30-day limit), then allowed. */
static void
test_windows(struct ctx *c)
{
	cJSON		*log, *el;
	const cJSON	*s;
	int		 refused = 0;

	control("DELETE", "/_control/log", NULL, NULL);
	client_new(c, 60, 0, 0);
	lumu_start(c->lu, "");
	OK(run_until(c, any_callback, 15), "60-day read ends");
	IS(c->syncs, 1, "400 on the older window ends the read");
	IS(c->errors, 0, "and is no error");
	IS(c->store != NULL ? store_nincidents(c->store) : 0, NINC,
	    "the newer window's incidents");
	log_settle(c);
	log = request_log();
	cJSON_ArrayForEach(el, log) {
		s = cJSON_GetObjectItemCaseSensitive(el, "status");
		if (cJSON_IsNumber(s) && s->valueint == 400)
			refused++;
	}
	IS(refused, 1, "one window refused");
	cJSON_Delete(log);

	control("POST", "/_control/config", "{\"max_range_days\": 90}", NULL);
	c->syncs = 0;
	lumu_resync(c->lu);
	OK(run_until(c, any_callback, 15), "resync ends");
	IS(c->store != NULL ? store_nincidents(c->store) : 0, NINC + NOLD,
	    "the older window adds its incidents");
	OK(c->store != NULL && store_incident_find(c->store, "old-3") != NULL,
	    "an old incident is there");
	control("POST", "/_control/config", "{\"max_range_days\": 30}", NULL);
	client_free(c);
}

struct fault {
	const char	*json;
	const char	*want;		/* in the error message */
	const char	*what;
};

static const struct fault faults[] = {
	{ "{\"mode\": \"status\", \"status\": 500}", "HTTP 500: ServerError - "
	    "injected fault", "HTTP 500" },
	{ "{\"mode\": \"status\", \"status\": 503, \"body\": \"down\"}",
	    "HTTP 503", "HTTP 503, text body" },
	{ "{\"mode\": \"truncate\"}", "invalid JSON", "truncated body" },
	{ "{\"mode\": \"garbage\"}", "invalid JSON", "garbage body" },
	{ "{\"mode\": \"wrong-shape\"}", "page 1: answer is not an object",
	    "wrong shape" },
	{ "{\"mode\": \"huge\", \"bytes\": 5242880}",
	    "response larger than 4194304 bytes", "huge body" },
	{ "{\"mode\": \"empty\"}", "empty body", "empty body" },
	/* Two: libcurl retries once when a reused connection dies. */
	{ "{\"mode\": \"close\", \"count\": 2}", "Empty reply",
	    "connection closed" },
};

/* Each fault: an error, nothing handed over, then recovery. */
static void
test_faults(struct ctx *c)
{
	char	 buf[512], what[128];
	size_t	 i;

	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		snprintf(buf, sizeof(buf), "%.*s, \"path\": "
		    "\"/api/incidents/all\"}", (int)strlen(faults[i].json) - 1,
		    faults[i].json);
		control("POST", "/_control/fault", buf, NULL);
		client_new(c, 30, 0, 0);
		lumu_start(c->lu, "");
		run_until(c, any_callback, 10);
		snprintf(what, sizeof(what), "%s: on_error, no on_sync",
		    faults[i].what);
		OK(c->errors == 1 && c->syncs == 0, what);
		snprintf(what, sizeof(what), "%s: message says why",
		    faults[i].what);
		if (!OK(strstr(c->err, faults[i].want) != NULL, what))
			printf("#   message: %s\n", c->err);
		snprintf(what, sizeof(what), "%s: recovers", faults[i].what);
		OK(run_until(c, got_sync, 10) && c->store != NULL &&
		    store_nincidents(c->store) == NINC, what);
		control("DELETE", "/_control/fault", NULL, NULL);
		client_free(c);
	}
	/* The owner may free the client from inside on_error. */
	control("POST", "/_control/fault", "{\"mode\": \"close\", "
	    "\"count\": 2, \"path\": \"/api/incidents/all\"}", NULL);
	client_new(c, 30, 0, 0);
	c->free_on_error = 1;
	lumu_start(c->lu, "");
	run_until(c, any_callback, 10);
	OK(c->errors == 1 && c->lu == NULL, "freed from on_error");
	run_until(c, never, 0.3);
	IS(c->errors + c->syncs, 1, "and silent afterwards");
	control("DELETE", "/_control/fault", NULL, NULL);
	c->free_on_error = 0;
	client_free(c);
}

static void
test_bad_key(struct ctx *c)
{
	control("POST", "/_control/key", "{\"key\": \"other\"}", NULL);
	client_new(c, 30, 0, 0);
	lumu_start(c->lu, "");
	run_until(c, any_callback, 10);
	OK(c->errors == 1 && c->syncs == 0, "401: on_error, no on_sync");
	OK(strstr(c->err, "Lumu rejected the company key (HTTP 401)") != NULL,
	    "401 named plainly");
	run_until(c, never, 2.5);
	IS(c->errors, 1, "401 retried slowly, not at once");
	IS(lumu_stats(c->lu)->errors, 1, "error counted");
	control("POST", "/_control/key", "{\"key\": \"" KEY "\"}", NULL);
	client_free(c);
}

/* A 429 mid-read: reported, and nothing is sent until the reset. */
static void
test_rate_limited(struct ctx *c)
{
	const struct lumu_stats	*st;

	control("POST", "/_control/ratelimit", "{\"per_minute\": 1}", NULL);
	client_new(c, 30, 0, 0);
	lumu_start(c->lu, "");
	run_until(c, any_callback, 10);
	OK(c->errors == 1 && c->syncs == 0, "429: on_error, no on_sync");
	if (!OK(strstr(c->err, "page 2: rate limited by Lumu (HTTP 429), "
	    "waiting 6") != NULL || strstr(c->err, "waiting 59 s") != NULL,
	    "429 waits for RateLimit-Reset"))
		printf("#   message: %s\n", c->err);
	run_until(c, never, 1);
	st = lumu_stats(c->lu);
	IS(st->requests, 2, "no request while rate limited");
	control("POST", "/_control/ratelimit", "{\"per_minute\": 0}", NULL);
	client_free(c);
}

static void
curl_done(void *arg, const struct curlev_result *r)
{
	struct ctx	*c = arg;

	c->res = *r;
	c->res.body = NULL;
	c->res.error = NULL;
	snprintf(c->res_error, sizeof(c->res_error), "%s",
	    r->error != NULL ? r->error : "");
	c->res_done = 1;
}

/* Frees its own curlev: the other transfer must end silently. */
static void
free_in_done(void *arg, const struct curlev_result *r)
{
	struct ctx	*c = arg;

	c->res_done++;
	curlev_free(c->cv2);
	c->cv2 = NULL;
}

/* Starts one GET of the labels endpoint on cv. */
static uint64_t
labels_get_on(struct ctx *c, struct curlev *cv, long timeout_ms,
    curlev_done_cb cb)
{
	struct curlev_request	req;
	char			url[256], *esc;

	esc = curl_easy_escape(NULL, KEY, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/administration/"
	    "labels?key=%s", port, esc);
	curl_free(esc);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.timeout_ms = timeout_ms;
	req.max_bytes = 65536;
	req.redact = KEY;
	c->res_done = 0;
	return (curlev_start(cv, &req, cb, c));
}

static uint64_t
labels_get(struct ctx *c, long timeout_ms)
{
	return (labels_get_on(c, c->cv, timeout_ms, curl_done));
}

static void
test_curlev(struct ctx *c)
{
	uint64_t	id;

	OK(labels_get(c, 5000) > 0 && run_until(c, res_done, 10),
	    "curlev: a plain GET ends");
	OK(c->res.ok && c->res.status == 200 && c->res.retry_after == -1 &&
	    c->res.ratelimit_reset == -1, "curlev: 200, no rate headers");

	control("POST", "/_control/ratelimit", "{\"per_minute\": 1}", NULL);
	labels_get(c, 5000);
	run_until(c, res_done, 10);
	IS(c->res.ratelimit_remaining, 0, "RateLimit-Remaining read");
	labels_get(c, 5000);
	run_until(c, res_done, 10);
	IS(c->res.status, 429, "429 when over the limit");
	OK(c->res.ratelimit_reset > 0 && c->res.ratelimit_reset <= 60,
	    "RateLimit-Reset read");
	OK(c->res.retry_after > 0, "Retry-After read");
	control("POST", "/_control/ratelimit", "{\"per_minute\": 0}", NULL);

	control("POST", "/_control/fault", "{\"mode\": \"slow\", \"seconds\": "
	    "2, \"path\": \"/api/administration\"}", NULL);
	labels_get(c, 500);
	run_until(c, res_done, 10);
	OK(!c->res.ok && strncmp(c->res_error, "timeout", 7) == 0,
	    "a slow answer times out");
	OK(c->res.seconds < 1.5, "at the transfer timeout");

	control("POST", "/_control/fault", "{\"mode\": \"slow\", \"seconds\": "
	    "1, \"path\": \"/api/administration\"}", NULL);
	id = labels_get(c, 5000);
	run_until(c, never, 0.3);	/* sent, and held by the stand-in */
	curlev_cancel(c->cv, id);
	c->res_done = 0;
	run_until(c, never, 1.5);
	OK(!c->res_done, "a cancelled transfer never calls back");
	control("DELETE", "/_control/fault", NULL, NULL);

	c->cv2 = curlev_new(c->base);
	labels_get_on(c, c->cv2, 5000, free_in_done);
	OK(labels_get_on(c, c->cv2, 5000, free_in_done) > 0,
	    "two transfers on a second curlev");
	run_until(c, never, 1);
	OK(c->res_done == 1 && c->cv2 == NULL,
	    "curlev freed from a callback calls no other");
}

static int
got_offset(struct ctx *c)
{
	return (c->offset[0] != '\0');
}

/* Checks the probe came first: an updates call without an offset. */
static void
check_probe(void)
{
	cJSON		*log = request_log(), *first;
	const char	*q;

	/* The first Lumu call; a late labels call of an earlier test aside. */
	cJSON_ArrayForEach(first, log)
		if (strncmp(field(first, "path"), "/api/incidents/", 15) == 0)
			break;
	q = first != NULL ? field(first, "query") : "";
	OK(first != NULL && strcmp(field(first, "path"),
	    "/api/incidents/open-incidents/updates") == 0 &&
	    strstr(q, "offset=") == NULL && strstr(q, "time=0") != NULL,
	    "the cursor is learned before the full read");
	cJSON_Delete(log);
}

static void
test_updates(struct ctx *c)
{
	char	 body[512], first_offset[64];
	double	 t0;

	control("DELETE", "/_control/log", NULL, NULL);
	client_new(c, 30, 1, 0);
	lumu_start(c->lu, "");
	OK(run_until(c, got_sync, 15), "following: first read handed over");
	OK(run_until(c, got_offset, 5), "cursor handed over with the read");
	check_probe();
	snprintf(first_offset, sizeof(first_offset), "%s", c->offset);
	STR(lumu_stats(c->lu)->offset, c->offset, "stats show the cursor");

	/* Let a long poll get under way, then post a new incident. */
	run_until(c, never, 0.3);
	snprintf(body, sizeof(body), "{\"incidents\": [{\"id\": \"live-1\", "
	    "\"adversaries\": [\"live.example.net\"], \"adversaryTypes\": "
	    "[\"C2C\"]}]}");
	c->want_id = "live-1";
	c->want_type = LUMU_EV_NEW;
	c->got_want = 0;
	t0 = now_s();
	control("POST", "/_control/incidents", body, NULL);
	OK(run_until(c, got_want, 5), "new incident arrives as an event");
	OK(now_s() - t0 < 2.5, "within a second or two");
	STR(c->want_adv, "live.example.net", "with its adversary");
	OK(decode_offset_cmp(c->offset, first_offset) > 0,
	    "the cursor moved on");

	c->want_type = LUMU_EV_MUTED;
	c->got_want = 0;
	control("POST", "/_control/incidents/live-1", "{\"status\": "
	    "\"muted\"}", NULL);
	OK(run_until(c, got_want, 5), "mute arrives as an event");
	IS(c->want_status, INC_MUTED, "with the new status");
	IS(lumu_stats(c->lu)->events[LUMU_EV_MUTED] >= 1, 1, "counted");
	c->want_id = NULL;

	/* The next poll's offset goes back: a full read follows. */
	control("POST", "/_control/fault", "{\"mode\": "
	    "\"offset-backwards\"}", NULL);
	c->syncs = 0;
	OK(run_until(c, got_sync, 8), "an offset going back forces a read");
	IS(c->store != NULL ? store_nincidents(c->store) : 0, NINC + 1,
	    "the read has the live incident too");
	IS(c->errors, 0, "no errors while following");
	client_free(c);
}

#define NBUDGET		40	/* Malware incidents of the budget client */

static const char *const c2c[] = { "C2C" };
static const char *const malware[] = { "Malware" };

/* A client that reads threat triggers. */
static void
ctx_client_new(struct ctx *c, const char *const *tv, size_t nt, int follow,
    int64_t wait, int max_rpm)
{
	struct lumu_params	p;
	struct lumu_callbacks	cb;
	char			url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	memset(&p, 0, sizeof(p));
	p.api_url = url;
	p.key = KEY;
	p.types = tv;
	p.ntypes = nt;
	p.lookback = 30 * 86400;
	p.updates_wait = wait;
	p.resync = 3600;
	p.max_rpm = max_rpm;
	p.threat_triggers = 1;
	p.follow_updates = follow;
	memset(&cb, 0, sizeof(cb));
	cb.arg = c;
	cb.on_sync = on_sync;
	cb.on_event = on_event;
	cb.on_batch = on_batch;
	cb.on_error = on_error;
	cb.on_triggers = on_triggers;
	c->syncs = c->errors = c->batches = 0;
	memset(c->events, 0, sizeof(c->events));
	c->err[0] = c->offset[0] = '\0';
	c->ntrig = 0;
	c->lu = lumu_new(c->base, c->cv, &p, &cb);
}

/* Replaces the stand-in's data with the incidents of these tests. */
static int
load_contexts(void)
{
	struct buf	 b = { 0 };
	char		 id[32];
	long		 status;
	int		 i;

	control("DELETE", "/_control/incidents", NULL, NULL);
	buf_addstr(&b, "{\"quiet\": true, \"incidents\": [");
	add_incident(&b, "ctx-act", "open", "C2C", 1000, "act.example.com");
	add_incident(&b, "ctx-inact", "open", "C2C", 2000,
	    "inact.example.com");
	add_incident(&b, "ctx-miss", "open", "C2C", 3000, "miss.example.com");
	add_incident(&b, "ctx-def", "open", "C2C", 4000, "def.example.com");
	add_incident(&b, "ctx-404", "open", "C2C", 5000, "nf.example.com");
	add_incident(&b, "ctx-500", "open", "C2C", 6000, "err.example.com");
	for (i = 0; i < NBUDGET; i++) {
		snprintf(id, sizeof(id), "bud-%02d", i);
		add_incident(&b, id, "open", "Malware", 60000 + i * 1000,
		    "bud.example.com");
	}
	/* ctx-def and the bud-* have none: the stand-in's default. */
	buf_addstr(&b, "], \"contexts\": {"
	    "\"ctx-act\": {\"currently_active\": true, \"threat_triggers\": "
	    "[\"https://act.example.com/a.php\", \"tcp://act2.example.com:443\""
	    "]}, \"ctx-inact\": {\"currently_active\": false, "
	    "\"threat_triggers\": [\"https://inact.example.com/x\"]}, "
	    "\"ctx-miss\": {\"threat_triggers\": [\"https://miss.example.com/"
	    "y\"]}}}");
	status = control("POST", "/_control/incidents", b.data, NULL);
	buf_free(&b);
	control("POST", "/_control/fault", "{\"mode\": \"status\", \"status\": "
	    "404, \"count\": -1, \"path\": \"/api/incidents/ctx-404/context\", "
	    "\"body\": {\"name\": \"NotFound\", \"detail\": \"no context\"}}",
	    NULL);
	return (status == 200 ? 0 : -1);
}

/* Context requests in the log: all of them, or those of one incident. */
static int
count_contexts(const char *id, int *hash_ok)
{
	cJSON		*log = request_log(), *el;
	const char	*path;
	char		 want[128];
	int		 n = 0;

	snprintf(want, sizeof(want), "/api/incidents/%s/context",
	    id != NULL ? id : "");
	cJSON_ArrayForEach(el, log) {
		path = field(el, "path");
		if (id != NULL ? strcmp(path, want) != 0 :
		    strncmp(path, "/api/incidents/", 15) != 0 ||
		    strstr(path, "/context") == NULL)
			continue;
		n++;
		if (hash_ok != NULL && strstr(field(el, "query"),
		    "hash=sha256") == NULL)
			*hash_ok = 0;
	}
	cJSON_Delete(log);
	return (n);
}

/* 1 when one of an incident's triggers in the store contains want. */
static int
store_trigger(const struct store *st, const char *id, const char *want)
{
	const struct store_incident	*si;
	size_t				 i;

	if (st == NULL || (si = store_incident_find(st, id)) == NULL)
		return (0);
	for (i = si->ninds - si->ntriggers; i < si->ninds; i++)
		if (strstr(store_incident_inds(si)[i]->value, want) != NULL)
			return (1);
	return (0);
}

static int
ntriggers_of(const struct store *st, const char *id)
{
	const struct store_incident	*si;

	if (st == NULL || (si = store_incident_find(st, id)) == NULL)
		return (-1);
	return ((int)si->ntriggers);
}

/* Following off: the read comes back with its contexts inside. */
static void
test_contexts_once(struct ctx *c)
{
	int	hash_ok = 1;

	control("DELETE", "/_control/log", NULL, NULL);
	ctx_client_new(c, c2c, 1, 0, 2, 0);
	lumu_start(c->lu, "");
	OK(run_until(c, any_callback, 15), "contexts, one read: it ends");
	IS(c->syncs, 1, "the read is handed over once its contexts are read");
	IS(c->errors, 0, "a 404 context is no error");
	IS((int)c->ntrig, 0, "nothing through on_triggers: all in the store");
	IS(ntriggers_of(c->store, "ctx-act"), 2, "active: both triggers");
	OK(store_trigger(c->store, "ctx-act", "act.example.com/a.php") &&
	    store_trigger(c->store, "ctx-act", "act2.example.com"),
	    "the URL and the host of tcp://host:port");
	IS(ntriggers_of(c->store, "ctx-inact"), 0, "not active: no triggers");
	IS(ntriggers_of(c->store, "ctx-miss"), 0,
	    "currently_active missing: no triggers");
	IS(ntriggers_of(c->store, "ctx-404"), 0, "404: no triggers");
	log_settle(c);
	IS(count_contexts(NULL, &hash_ok), 6, "one context call per incident");
	OK(hash_ok, "every context call asks for hash=sha256");
	client_free(c);
}

/* With a budget of 2 a minute, the stream needs all of it. */
static void
test_contexts_no_budget(struct ctx *c)
{
	control("DELETE", "/_control/log", NULL, NULL);
	ctx_client_new(c, c2c, 1, 1, 2, 2);
	lumu_start(c->lu, "");
	OK(run_until(c, got_sync, 10), "budget 2: the read is handed over");
	run_until(c, never, 1.5);
	IS(count_contexts(NULL, NULL), 0, "budget 2: no context call at all");
	IS((int)c->ntrig, 0, "and no triggers handed over");
	client_free(c);
}

static int
a_first_round(struct ctx *c)
{
	return (trig_calls(c, "ctx-act") > 0 &&
	    trig_calls(c, "ctx-inact") > 0 && trig_calls(c, "ctx-miss") > 0 &&
	    trig_calls(c, "ctx-def") > 0 && trig_calls(c, "ctx-404") > 0 &&
	    trig_calls(c, "ctx-500") > 0);
}

static int
got_ghost(struct ctx *c)
{
	return (trig_calls(c, "ctx-ghost") > 0);
}

static int
act_twice(struct ctx *c)
{
	return (trig_calls(c, "ctx-act") >= 2 && trig_calls(c, "ctx-def") >= 2);
}

/* Every context of the budget client's incidents was read. */
static int
b_all_read(struct ctx *c)
{
	size_t	i, read = 0;

	for (i = 0; i < c->ntrig; i++)
		read += strncmp(c->trig[i].id, "bud-", 4) == 0;
	return (read >= NBUDGET);
}

/* Checks what the first round of contexts handed over. */
static void
check_first_round(struct ctx *a)
{
	struct trig	*t;

	t = trig_find(a, "ctx-act", 0);
	OK(t != NULL && t->n == 2 && strcmp(t->values,
	    "https://act.example.com/a.php tcp://act2.example.com:443") == 0,
	    "active: its triggers handed over as sent");
	t = trig_find(a, "ctx-inact", 0);
	OK(t != NULL && t->n == 0, "not active: n = 0");
	t = trig_find(a, "ctx-miss", 0);
	OK(t != NULL && t->n == 0, "currently_active missing: n = 0");
	t = trig_find(a, "ctx-404", 0);
	OK(t != NULL && t->n == 0, "404: n = 0");
	t = trig_find(a, "ctx-def", 0);
	OK(t != NULL && t->n == 1 && strcmp(t->values, "def.example.com") == 0,
	    "the stand-in's default context");
	IS(a->errors, 1, "one error: the 500");
	if (!OK(strstr(a->err, "context of incident ctx-500: HTTP 500") !=
	    NULL, "the failed context is named"))
		printf("#   message: %s\n", a->err);
	t = trig_find(a, "ctx-500", 0);
	OK(t != NULL && t->n == 1, "and read on the next try");
	log_settle(a);
	IS(count_contexts("ctx-500", NULL), 2, "in two calls");
	IS(count_contexts("ctx-act", NULL), 1, "the others in one each");
}

/* Incidents from the stream: read at once, unless of a type not asked. */
static void
check_stream_contexts(struct ctx *a)
{
	struct buf	 b = { 0 };
	char		 ts[32];
	struct trig	*t;

	time_format_iso(time_now_ms(), ts, sizeof(ts));
	/* An incident the stand-in does not know: its context is a 404. */
	buf_printf(&b, "{\"events\": [{\"NewIncidentCreated\": {\"incident\": "
	    "{\"id\": \"ctx-ghost\", \"timestamp\": \"%s\", \"lastContact\": "
	    "\"%s\", \"status\": \"open\", \"adversaries\": [\"ghost.example."
	    "com\"], \"adversaryTypes\": [\"C2C\"]}}}]}", ts, ts);
	control("POST", "/_control/events", b.data, NULL);
	buf_free(&b);
	control("POST", "/_control/incidents", "{\"incidents\": [{\"id\": "
	    "\"ctx-spam\", \"adversaries\": [\"spam.example.com\"], "
	    "\"adversaryTypes\": [\"Spam\"]}]}", NULL);
	OK(run_until(a, got_ghost, 10), "a new incident from the stream: its "
	    "context is read at once");
	t = trig_find(a, "ctx-ghost", 0);
	OK(t != NULL && t->n == 0, "unknown to Lumu (404): n = 0");
	run_until(a, never, 1);
	IS(count_contexts("ctx-spam", NULL), 0,
	    "no context for a type not asked for");
	IS(a->errors, 1, "a 404 is no error");
}

/* The stream's polls of the budget client never waited for a token. */
static void
check_poll_gaps(void)
{
	cJSON		*log = request_log(), *el;
	const cJSON	*el_s;
	int64_t		 start, prev_end = -1;
	double		 worst = 0, gap;
	int		 n = 0;

	cJSON_ArrayForEach(el, log) {
		if (strstr(field(el, "path"), "/updates") == NULL ||
		    strstr(field(el, "query"), "&time=2") == NULL ||
		    strstr(field(el, "query"), "offset=") == NULL ||
		    time_parse_iso(field(el, "time"), &start) == -1)
			continue;
		el_s = cJSON_GetObjectItemCaseSensitive(el, "elapsed");
		if (prev_end >= 0) {
			gap = (double)(start - prev_end) / 1000.0;
			if (gap > worst)
				worst = gap;
		}
		prev_end = start + (int64_t)(cJSON_IsNumber(el_s) ?
		    el_s->valuedouble * 1000 : 0);
		n++;
	}
	cJSON_Delete(log);
	OK(n >= 20, "the budget client polled all along");
	/*
	 * A token takes 1.5 s at 40 a minute, and a burst of events can end
	 * several polls in a row; a gap of a second or more is a poll that
	 * waited for a token, less is scheduling noise.
	 */
	OK(worst < 1.0, "no poll waited for a token taken by a context");
	printf("#   longest gap %.3f s over %d polls\n", worst, n);
}

/* What the client with a budget of 40 a minute did meanwhile. */
static void
check_budget(struct ctx *b, double t0)
{
	const struct lumu_stats	*st = lumu_stats(b->lu);
	double			 first = 1e18, last = 0, elapsed = now_s() - t0;
	size_t			 i, read = 0;

	for (i = 0; i < b->ntrig; i++) {
		if (strncmp(b->trig[i].id, "bud-", 4) != 0)
			continue;
		read += b->trig[i].calls == 1;
		if (b->trig[i].at < first)
			first = b->trig[i].at;
		if (b->trig[i].at > last)
			last = b->trig[i].at;
	}
	IS((int)read, NBUDGET, "budget 40: every context read, once");
	IS(b->errors, 0, "budget 40: no errors");
	OK(last - first > 10, "contexts beyond the reserve waited for tokens");
	OK(st->requests <= 40 + (uint64_t)(40 * elapsed / 60) + 1,
	    "never more requests than the budget allows");
	OK(st->budget_tokens >= 0 && st->budget_tokens <= 40,
	    "budget_tokens in range");
	check_poll_gaps();
}

/*
 * Two clients at once on one stand-in: one without a budget (C2C) for
 * what is handed over and when contexts are read again, one with a
 * budget of 40 a minute (Malware) for what the stream keeps.
 */
static void
test_contexts_follow(struct ctx *a)
{
	static struct ctx	 b;
	struct trig		*t;
	double			 t0, first_act;

	control("DELETE", "/_control/log", NULL, NULL);
	control("POST", "/_control/fault", "{\"mode\": \"status\", \"status\": "
	    "500, \"path\": \"/api/incidents/ctx-500/context\"}", NULL);
	b.base = a->base;
	b.cv = a->cv;
	ctx_client_new(a, c2c, 1, 1, 3, 0);
	ctx_client_new(&b, malware, 1, 1, 2, 40);
	t0 = now_s();
	lumu_start(a->lu, "");
	lumu_start(b.lu, "");
	OK(run_until(a, a_first_round, 15), "every C2C context read");
	check_first_round(a);
	check_stream_contexts(a);

	t = trig_find(a, "ctx-act", 0);
	first_act = t != NULL ? t->at : 0;
	control("POST", "/_control/incidents/ctx-act", "{\"context\": "
	    "{\"currently_active\": true, \"threat_triggers\": [\"https://act."
	    "example.com/b.php\"]}}", NULL);
	control("POST", "/_control/incidents/ctx-act", "{\"comment\": \"x\"}",
	    NULL);
	control("POST", "/_control/incidents/ctx-def", "{\"context\": "
	    "{\"currently_active\": false}}", NULL);
	run_until(a, never, 4);
	IS(trig_calls(a, "ctx-act"), 1, "an update within the minute waits");
	OK(run_until(a, act_twice, 70), "and is read once the minute is over");
	t = trig_find(a, "ctx-act", 0);
	OK(t != NULL && t->at - first_act >= 59.5 && t->at - first_act < 66,
	    "about a minute after the first read");
	OK(t != NULL && t->n == 1 && strcmp(t->values,
	    "https://act.example.com/b.php") == 0, "with the new triggers");
	log_settle(a);
	IS(count_contexts("ctx-act", NULL), 2, "two updates, one more call");
	t = trig_find(a, "ctx-def", 0);
	OK(t != NULL && t->n == 0, "no longer active: triggers withdrawn");
	/* Spare tokens come at 10 a minute beside polls every 2 s. */
	run_until(&b, b_all_read, 60);
	check_budget(&b, t0);
	client_free(&b);
	client_free(a);
}

/* Nothing written to the log may hold the key, in any spelling. */
static void
test_log_clean(void)
{
	char	*data = NULL, *esc;
	size_t	 len;

	OK(file_read_all(logpath, 16 << 20, &data, &len) == 0 && len > 0,
	    "client log written");
	if (data == NULL)
		return;
	esc = curl_easy_escape(NULL, KEY, 0);
	OK(strstr(data, "(secret)") != NULL, "URLs were logged, redacted");
	OK(strstr(data, KEY) == NULL, "raw key never logged");
	OK(strstr(data, esc) == NULL, "escaped key never logged");
	OK(strstr(data, "/api/incidents/all") != NULL, "requests logged");
	curl_free(esc);
	free(data);
}

int
main(void)
{
	struct ctx	c;

	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_redact();
	if (!OK(standin_start() == 0, "stand-in Lumu API running")) {
		standin_stop();
		return (tap_done());
	}
	/* Debug lines (URLs included) go to a file we can search. */
	log_init("test_lumu", 2);
	if (log_open_file(logpath) == -1)
		fprintf(stderr, "cannot open %s\n", logpath);
	OK(ioc_init() == 0, "ioc_init");
	OK(load_incidents() == 0, "incidents loaded into the stand-in");
	c.base = event_base_new();
	c.cv = curlev_new(c.base);
	OK(c.base != NULL && c.cv != NULL, "event base and curlev");
	test_full_read(&c);
	test_windows(&c);
	test_faults(&c);
	test_bad_key(&c);
	test_rate_limited(&c);
	test_curlev(&c);
	test_updates(&c);
	OK(load_contexts() == 0, "incidents and contexts loaded");
	test_contexts_once(&c);
	test_contexts_no_budget(&c);
	test_contexts_follow(&c);
	curlev_free(c.cv);
	event_base_free(c.base);
	test_log_clean();
	ioc_cleanup();
	standin_stop();
	curl_global_cleanup();
	return (tap_done());
}
