/*
 * push.c: converging PAN-OS devices to the feeds.
 *
 * Each target keeps the newest snapshots of its two feeds (want), the
 * ones a run is pushing (cur) and the ones last pushed in full (done).
 * A run does, in order and one request at a time: read the tagged IPs
 * when their state is unknown, unregister and register the difference,
 * read the category, replace it when it differs, commit when a change
 * (or an earlier failed commit) asks for it.  After an error the IP
 * state is unknown again, so the next run starts from the device.
 *
 * Tags with a timeout are refreshed every half timeout by unregistering
 * and registering each batch again: whether a repeated registration
 * extends a timeout is not documented, so it is not relied upon.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "panos.h"
#include "push.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

#define PUSH_DEBOUNCE_MS	1000	/* changes that follow join in */
#define PUSH_BACKOFF_MIN	2	/* seconds, doubled per failure */
#define PUSH_BACKOFF_MAX	300
#define PUSH_RECONCILE_S	3600	/* seconds between full reads */

enum { F_IP, F_URL };

struct target {
	struct push		*push;
	char			*feed[2];	/* dag-feed, url-category-feed */
	char			*tag;
	char			*category;
	int64_t			 timeout;
	int			 commit;
	struct panos		*pan;
	struct event		*ev;
	int			 armed;		/* a debounce or backoff waits */
	int			 busy;
	int			 backoff;	/* seconds; 0 after a success */
	int64_t			 reconcile_ms;	/* next full read */
	int64_t			 refresh_ms;	/* next tag refresh (timeout) */
	int			 refreshing;
	size_t			 refresh_pos;

	struct snapshot		*want[2];
	struct snapshot		*cur[2];
	struct snapshot		*done[2];
	int			 reg_known;
	int			 cat_read;
	int			 cat_exists;
	int			 commit_pending;
	struct panos_list	 registered;	/* the device's tagged IPs */
	struct panos_list	 want_ips;
	struct panos_list	 want_members;
	struct panos_list	 members;	/* the device's category */
	struct panos_list	 reg, unreg;
	struct panos_list	 chunk;		/* a batch being refreshed */

	struct push_status	 st;		/* under push->lock */
};

struct push {
	struct event_base	*base;
	pthread_mutex_t		 lock;
	struct target		*targets;
	size_t			 ntargets;
};

static void	target_next(struct target *);
static void	target_arm(struct target *, int64_t ms);

/* When the timer must fire at the latest: reconcile or refresh. */
static int64_t
next_wake(const struct target *t)
{
	if (t->tag != NULL && t->timeout > 0 && !t->refreshing &&
	    t->want[F_IP] != NULL && t->refresh_ms < t->reconcile_ms)
		return (t->refresh_ms);
	return (t->reconcile_ms);
}

static int
same(const struct snapshot *a, const struct snapshot *b)
{
	return (a == b || (a != NULL && b != NULL && snap_same_body(a, b)));
}

/* 1 when a run has something to do. */
static int
needs_work(const struct target *t)
{
	if (t->tag != NULL && t->want[F_IP] != NULL &&
	    (!t->reg_known || t->refreshing ||
	    !same(t->want[F_IP], t->done[F_IP])))
		return (1);
	if (t->category != NULL && t->want[F_URL] != NULL &&
	    (!same(t->want[F_URL], t->done[F_URL]) ||
	    (t->commit && t->commit_pending)))
		return (1);
	return (0);
}

static void
set_ref(struct snapshot **slot, struct snapshot *s)
{
	if (s != NULL)
		snap_ref(s);
	snap_unref(*slot);
	*slot = s;
}

/* Copies the loop's view into the shared status. */
static void
publish_status(struct target *t)
{
	pthread_mutex_lock(&t->push->lock);
	t->st.pending = t->busy || needs_work(t);
	if (t->reg_known)
		t->st.registered = t->registered.n;
	if (t->cat_read)
		t->st.members = t->members.n;
	pthread_mutex_unlock(&t->push->lock);
}

/* Ends a run: a success arms the reconciliation, a failure a retry. */
static void
target_finish(struct target *t, const char *err)
{
	int64_t	now = time_now_ms();

	t->busy = 0;
	set_ref(&t->cur[F_IP], NULL);
	set_ref(&t->cur[F_URL], NULL);
	pthread_mutex_lock(&t->push->lock);
	if (err != NULL) {
		t->st.last_error_ms = now;
		snprintf(t->st.last_error, sizeof(t->st.last_error), "%s",
		    err);
		t->st.errors++;
	} else {
		t->st.last_success_ms = now;
		t->st.last_error[0] = '\0';
	}
	pthread_mutex_unlock(&t->push->lock);
	if (err != NULL) {
		log_warnx("push %s: %s", t->st.name, err);
		/* What the device holds is unknown now: read it again. */
		t->reg_known = 0;
		t->refresh_pos = 0;
		t->backoff = t->backoff == 0 ? PUSH_BACKOFF_MIN :
		    t->backoff * 2 > PUSH_BACKOFF_MAX ? PUSH_BACKOFF_MAX :
		    t->backoff * 2;
		log_info("push %s: retrying in %d s", t->st.name, t->backoff);
		/* Armed: a backoff is not cut short by changes. */
		target_arm(t, (int64_t)t->backoff * 1000);
	} else {
		t->backoff = 0;
		if (needs_work(t))
			target_arm(t, PUSH_DEBOUNCE_MS);
		else {
			target_arm(t, next_wake(t) - time_now_ms());
			t->armed = 0;	/* an idle wait */
		}
	}
	publish_status(t);
}

/* Arms the target's one timer; armed marks a wait that changes join. */
static void
target_arm(struct target *t, int64_t ms)
{
	struct timeval	tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(t->ev, &tv);
	t->armed = 1;
}

/* Starts a run with the newest snapshots. */
static void
target_run(struct target *t)
{
	set_ref(&t->cur[F_IP], t->want[F_IP]);
	set_ref(&t->cur[F_URL], t->want[F_URL]);
	panos_list_free(&t->want_ips);
	panos_list_free(&t->want_members);
	if ((t->cur[F_IP] != NULL && panos_list_lines(&t->want_ips,
	    t->cur[F_IP]->body, t->cur[F_IP]->len) == -1) ||
	    (t->cur[F_URL] != NULL && panos_list_lines(&t->want_members,
	    t->cur[F_URL]->body, t->cur[F_URL]->len) == -1)) {
		target_finish(t, "out of memory");
		return;
	}
	t->busy = 1;
	t->cat_read = 0;
	publish_status(t);
	target_next(t);
}

/* The timer: a debounce, a backoff or a reconciliation ended. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = arg;

	t->armed = 0;
	if (t->busy)
		return;
	if (time_now_ms() >= t->reconcile_ms) {
		/* A rebooted device, hand edits: look again. */
		t->reg_known = 0;
		set_ref(&t->done[F_URL], NULL);
		t->reconcile_ms = time_now_ms() + PUSH_RECONCILE_S * 1000;
	}
	if (t->tag != NULL && t->timeout > 0 && !t->refreshing &&
	    time_now_ms() >= t->refresh_ms) {
		t->refreshing = 1;
		t->refresh_pos = 0;
	}
	if (needs_work(t))
		target_run(t);
	else {
		target_arm(t, next_wake(t) - time_now_ms());
		t->armed = 0;	/* an idle wait: a change cuts it short */
	}
}

static void
on_read(void *arg, const char *err)
{
	struct target	*t = arg;

	if (err != NULL) {
		target_finish(t, err);
		return;
	}
	t->reg_known = 1;
	target_next(t);
}

static void
on_dag_updated(void *arg, const char *err)
{
	struct target		*t = arg;
	struct panos_list	 tmp;

	if (err != NULL) {
		target_finish(t, err);
		return;
	}
	log_info("push %s: tag %s: %zu registered, %zu unregistered, %zu in "
	    "all", t->st.name, t->tag, t->reg.n, t->unreg.n, t->want_ips.n);
	pthread_mutex_lock(&t->push->lock);
	t->st.registers += t->reg.n;
	t->st.unregisters += t->unreg.n;
	pthread_mutex_unlock(&t->push->lock);
	/* The device now holds exactly the wanted set. */
	tmp = t->registered;
	t->registered = t->want_ips;
	t->want_ips = tmp;
	set_ref(&t->done[F_IP], t->cur[F_IP]);
	target_next(t);
}

static void
on_refreshed(void *arg, const char *err)
{
	struct target	*t = arg;

	if (err != NULL) {
		target_finish(t, err);
		return;
	}
	t->refresh_pos += t->chunk.n;
	target_next(t);
}

/* The next batch of a tag refresh: 1 sent, 0 all done, -1 failed. */
static int
next_refresh(struct target *t)
{
	size_t	i;

	panos_list_free(&t->chunk);
	if (t->refresh_pos >= t->registered.n) {
		log_debug("push %s: tag %s: %zu registrations refreshed",
		    t->st.name, t->tag, t->registered.n);
		t->refreshing = 0;
		t->refresh_ms = time_now_ms() + (t->timeout > 1 ?
		    t->timeout / 2 : 1) * 1000;
		return (0);
	}
	for (i = t->refresh_pos; i < t->registered.n &&
	    i < t->refresh_pos + PANOS_BATCH; i++)
		if (panos_list_add(&t->chunk, t->registered.v[i],
		    strlen(t->registered.v[i])) == -1)
			return (-1);
	/* The same batch out and in again: a fresh timeout for each. */
	return (panos_dag_update(t->pan, t->tag, t->timeout, &t->chunk,
	    &t->chunk, on_refreshed, t) == 0 ? 1 : -1);
}

static void
on_cat_read(void *arg, const char *err)
{
	struct target	*t = arg;

	if (err != NULL) {
		target_finish(t, err);
		return;
	}
	t->cat_read = 1;
	target_next(t);
}

static void
on_cat_written(void *arg, const char *err)
{
	struct target		*t = arg;
	struct panos_list	 tmp;

	if (err != NULL) {
		target_finish(t, err);
		return;
	}
	log_info("push %s: category %s: %zu members", t->st.name,
	    t->category, t->want_members.n);
	pthread_mutex_lock(&t->push->lock);
	t->st.category_writes++;
	pthread_mutex_unlock(&t->push->lock);
	tmp = t->members;
	t->members = t->want_members;
	t->want_members = tmp;
	t->cat_exists = 1;
	t->commit_pending = t->commit;
	set_ref(&t->done[F_URL], t->cur[F_URL]);
	target_next(t);
}

static void
on_committed(void *arg, const char *err)
{
	struct target	*t = arg;

	if (err != NULL) {
		target_finish(t, err);
		return;
	}
	t->commit_pending = 0;
	pthread_mutex_lock(&t->push->lock);
	t->st.commits++;
	pthread_mutex_unlock(&t->push->lock);
	target_next(t);
}

/* The IP half of a run: 1 when a request went out, -1 on failure. */
static int
next_dag(struct target *t)
{
	if (t->tag == NULL || t->cur[F_IP] == NULL)
		return (0);
	if (t->reg_known && same(t->cur[F_IP], t->done[F_IP]))
		return (t->refreshing ? next_refresh(t) : 0);
	if (!t->reg_known) {
		panos_list_free(&t->registered);
		return (panos_dag_read(t->pan, t->tag, &t->registered,
		    on_read, t) == 0 ? 1 : -1);
	}
	panos_list_free(&t->reg);
	panos_list_free(&t->unreg);
	if (panos_list_diff(&t->want_ips, &t->registered, &t->reg) == -1 ||
	    panos_list_diff(&t->registered, &t->want_ips, &t->unreg) == -1)
		return (-1);
	if (t->reg.n == 0 && t->unreg.n == 0) {
		set_ref(&t->done[F_IP], t->cur[F_IP]);
		return (0);
	}
	return (panos_dag_update(t->pan, t->tag, t->timeout, &t->reg,
	    &t->unreg, on_dag_updated, t) == 0 ? 1 : -1);
}

/* The category half: read, replace when it differs, commit. */
static int
next_cat(struct target *t)
{
	if (t->category == NULL || t->cur[F_URL] == NULL)
		return (0);
	if (!same(t->cur[F_URL], t->done[F_URL])) {
		if (!t->cat_read) {
			panos_list_free(&t->members);
			return (panos_cat_read(t->pan, t->category,
			    &t->members, &t->cat_exists, on_cat_read,
			    t) == 0 ? 1 : -1);
		}
		if (!t->cat_exists ||
		    !panos_list_same(&t->members, &t->want_members))
			return (panos_cat_write(t->pan, t->category,
			    &t->want_members, t->cat_exists ?
			    PANOS_CAT_REPLACE : PANOS_CAT_CREATE,
			    on_cat_written, t) == 0 ? 1 : -1);
		set_ref(&t->done[F_URL], t->cur[F_URL]);
	}
	if (t->commit && t->commit_pending)
		return (panos_commit(t->pan, on_committed, t) == 0 ? 1 : -1);
	return (0);
}

/* Starts the next request of the run, or ends it. */
static void
target_next(struct target *t)
{
	int	rv;

	publish_status(t);
	if ((rv = next_dag(t)) == 0)
		rv = next_cat(t);
	if (rv == -1)
		target_finish(t, "cannot start a request");
	else if (rv == 0)
		target_finish(t, NULL);
}

/* Sets up one target from its [panos] section. */
static int
target_init(struct push *push, struct target *t, struct curlev *cv,
    const struct conf_panos *cp)
{
	struct panos_params	pp = { 0 };

	t->push = push;
	snprintf(t->st.name, sizeof(t->st.name), "%s", cp->name);
	snprintf(t->st.hostname, sizeof(t->st.hostname), "%s", cp->hostname);
	if (cp->dag_feed != NULL && cp->dag_tag != NULL) {
		t->feed[F_IP] = xstrdup(cp->dag_feed);
		t->tag = xstrdup(cp->dag_tag);
	}
	if (cp->url_category_feed != NULL && cp->url_category != NULL) {
		t->feed[F_URL] = xstrdup(cp->url_category_feed);
		t->category = xstrdup(cp->url_category);
	}
	t->timeout = cp->tag_timeout;
	t->commit = cp->commit;
	/* A commit left pending by an earlier run is done on the first. */
	t->commit_pending = cp->commit;
	t->reconcile_ms = time_now_ms() + PUSH_RECONCILE_S * 1000;
	/* Tags found on the device are of unknown age: refresh at once. */
	t->refresh_ms = time_now_ms();
	pp.hostname = cp->hostname;
	pp.port = cp->port;
	pp.api_key = cp->api_key;
	pp.username = cp->username;
	pp.password = cp->password;
	pp.vsys = cp->vsys;
	pp.ca_file = cp->ca_file;
	pp.insecure = !cp->verify_tls;
	if (t->category != NULL && t->commit && cp->username == NULL)
		log_warnx("push %s: without username, a commit takes every "
		    "admin's pending changes along", cp->name);
	if ((t->pan = panos_new(push->base, cv, &pp)) == NULL ||
	    (t->ev = evtimer_new(push->base, on_timer, t)) == NULL)
		return (-1);
	return (0);
}

struct push *
push_new(struct event_base *base, struct curlev *cv, const struct conf *conf)
{
	struct push	*push;
	size_t		 i;

	push = xcalloc(1, sizeof(*push));
	push->base = base;
	if (pthread_mutex_init(&push->lock, NULL) != 0)
		fatalx("%s: pthread_mutex_init", __func__);
	if (conf->npanos > 0)
		push->targets = xcalloc(conf->npanos, sizeof(*push->targets));
	for (i = 0; i < conf->npanos; i++) {
		push->ntargets++;
		if (target_init(push, &push->targets[i], cv,
		    &conf->panos[i]) == -1) {
			log_warnx("push %s: cannot set up", conf->panos[i].name);
			push_free(push);
			return (NULL);
		}
	}
	return (push);
}

static void
target_free(struct target *t)
{
	int	i;

	/* The client cancels its transfer; no callback follows. */
	panos_free(t->pan);
	if (t->ev != NULL)
		event_free(t->ev);
	for (i = 0; i < 2; i++) {
		snap_unref(t->want[i]);
		snap_unref(t->cur[i]);
		snap_unref(t->done[i]);
		free(t->feed[i]);
	}
	free(t->tag);
	free(t->category);
	panos_list_free(&t->registered);
	panos_list_free(&t->want_ips);
	panos_list_free(&t->want_members);
	panos_list_free(&t->members);
	panos_list_free(&t->reg);
	panos_list_free(&t->unreg);
	panos_list_free(&t->chunk);
}

void
push_free(struct push *push)
{
	size_t	i;

	if (push == NULL)
		return;
	for (i = 0; i < push->ntargets; i++)
		target_free(&push->targets[i]);
	free(push->targets);
	pthread_mutex_destroy(&push->lock);
	free(push);
}

void
push_update(struct push *push, struct site *site)
{
	struct target		*t;
	struct site_feed	*sf;
	struct snapshot		*s;
	size_t			 i;
	int			 k;

	if (push == NULL)
		return;
	for (i = 0; i < push->ntargets; i++) {
		t = &push->targets[i];
		for (k = 0; k < 2; k++) {
			if (t->feed[k] == NULL ||
			    (sf = site_feed_find(site, t->feed[k])) == NULL ||
			    (s = site_feed_current(sf)) == NULL)
				continue;
			if (!same(s, t->want[k]))
				set_ref(&t->want[k], s);
			snap_unref(s);
		}
		/* A waiting debounce or backoff is not moved by changes. */
		if (!t->busy && !t->armed && needs_work(t))
			target_arm(t, PUSH_DEBOUNCE_MS);
		publish_status(t);
	}
}

/* Copies one target's status under the lock. */
static void
status_at(struct push *push, size_t i, struct push_status *st)
{
	pthread_mutex_lock(&push->lock);
	*st = push->targets[i].st;
	pthread_mutex_unlock(&push->lock);
}

size_t
push_status(struct push *push, struct push_status *out, size_t max)
{
	size_t	i;

	if (push == NULL)
		return (0);
	pthread_mutex_lock(&push->lock);
	for (i = 0; i < push->ntargets && i < max; i++)
		out[i] = push->targets[i].st;
	pthread_mutex_unlock(&push->lock);
	return (i);
}

/* Adds an ISO time, or null for never. */
static void
add_time(cJSON *o, const char *name, int64_t ms)
{
	char	ts[32];

	if (ms == 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	time_format_iso(ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, name, ts);
}

void
push_status_json(struct push *push, void *obj)
{
	struct push_status	 st;
	cJSON			*o;
	size_t			 i;

	if (push == NULL)
		return;
	for (i = 0; i < push->ntargets; i++) {
		status_at(push, i, &st);
		/* o belongs to obj once added; one delete frees both. */
		if ((o = cJSON_AddObjectToObject(obj, st.name)) == NULL)
			return;
		cJSON_AddStringToObject(o, "hostname", st.hostname);
		add_time(o, "last_success", st.last_success_ms);
		if (st.last_error[0] != '\0')
			cJSON_AddStringToObject(o, "last_error",
			    st.last_error);
		else
			cJSON_AddNullToObject(o, "last_error");
		cJSON_AddBoolToObject(o, "pending", st.pending);
		cJSON_AddNumberToObject(o, "registered", (double)st.registered);
		cJSON_AddNumberToObject(o, "members", (double)st.members);
		cJSON_AddNumberToObject(o, "registers", (double)st.registers);
		cJSON_AddNumberToObject(o, "unregisters",
		    (double)st.unregisters);
		cJSON_AddNumberToObject(o, "category_writes",
		    (double)st.category_writes);
		cJSON_AddNumberToObject(o, "commits", (double)st.commits);
		cJSON_AddNumberToObject(o, "errors", (double)st.errors);
	}
}
