/*
 * daemon.c: wires the data flow of ARCHITECTURE.md on one event base:
 * lumu (fetcher) -> store -> publish (select, render) -> site -> http,
 * plus signals, housekeeping and the export directory.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "allowlist.h"
#include "conf.h"
#include "curlev.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "lumu.h"
#include "memcap.h"
#include "notify.h"
#include "publish.h"
#include "push.h"
#include "site.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define HOUSEKEEPING_SECONDS	60
#define SAVE_DELAY_SECONDS	5	/* changes are written this soon */
#define RENDER_DELAY_SECONDS	1	/* threat triggers show this soon */

struct daemon {
	struct event_base	*base;
	struct conf		*conf;
	struct allowlist	*al;
	struct curlev		*cev;
	struct lumu		*lumu;
	struct store		*store;		/* NULL before the first sync */
	struct site		*site;
	struct http		*http;
	struct push		*push;		/* PAN-OS targets; NULL in once */
	struct event		*ev_sig[4];
	struct event		*ev_tick;
	struct event		*ev_save;
	struct event		*ev_render;
	int			 save_pending;
	const char		*export_dir;
	int			 once;
	int			 rc;
	int			 dirty;		/* events since the last render */
	int			 shrink_held;	/* a resync was held back */
	int64_t			 full_logged;	/* when "store full" was said */
	uint64_t		 full_refused;	/* changes refused since */
};

static void	daemon_render(struct daemon *);
static void	schedule_save(struct daemon *);
static void	note_known_contexts(struct daemon *);

/* The one-line status systemd shows for the service. */
static void
notify_sync_status(struct daemon *d, const struct site_sync *s)
{
	char	when[32] = "never";

	if (s->last_success_ms > 0)
		time_format_iso(s->last_success_ms, when, sizeof(when));
	notify_status("serving %zu feeds; last sync %s%s%s", d->conf->nfeeds,
	    when, s->last_error[0] ? "; lumu: " : "", s->last_error);
}

/* Records the outcome of a Lumu call for /status. */
static void
note_sync(struct daemon *d, const char *err)
{
	struct site_sync		 s;
	const struct lumu_stats		*ls;
	int				 i;

	if (d->lumu == NULL)
		return;
	ls = lumu_stats(d->lumu);
	site_sync_get(d->site, &s);
	s.last_attempt_ms = time_now_ms();
	if (err == NULL) {
		s.last_success_ms = s.last_attempt_ms;
		s.last_error[0] = '\0';
		s.last_sync_seconds = ls->last_sync_seconds;
	} else
		snprintf(s.last_error, sizeof(s.last_error), "%s", err);
	s.resync_s = d->conf->resync;
	s.incidents = d->store ? store_nincidents(d->store) : 0;
	s.indicators = d->store ? store_nindicators(d->store) : 0;
	s.requests = ls->requests;
	s.errors = ls->errors;
	for (i = 0; i < LUMU_NEVENTS && i < 8; i++)
		s.events[i] = ls->events[i];
	snprintf(s.offset, sizeof(s.offset), "%s", ls->offset);
	site_sync_set(d->site, &s);
	if (!d->once)
		notify_sync_status(d, &s);
}

/* Writes every feed's current body to the export directory. */
static int
export_feeds(struct daemon *d, const char *dir)
{
	struct snapshot	*s;
	char		 path[PATH_MAX];
	size_t		 i;
	int		 rv = 0;

	for (i = 0; i < d->site->nfeeds; i++) {
		if ((s = site_feed_current(&d->site->feeds[i])) == NULL)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir,
		    d->site->feeds[i].name) >= (int)sizeof(path) ||
		    file_write_atomic(path, s->body, s->len, 0644) == -1) {
			log_warn("export %s", path);
			rv = -1;
		}
		snap_unref(s);
	}
	return (rv);
}

/* Re-renders every feed from the store; exports what changed. */
static void
daemon_render(struct daemon *d)
{
	int	changed;

	if (d->store == NULL)
		return;
	changed = publish_all(d->store, d->conf, d->al, d->site,
	    time_now_ms());
	d->dirty = 0;
	push_update(d->push, d->site);
	if (changed != 0 && !d->once && d->conf->export_dir != NULL)
		export_feeds(d, d->conf->export_dir);
	schedule_save(d);
}

/* Writes the state file now (also at stop). */
static void
save_now(struct daemon *d)
{
	struct state_meta	m = { 0 };
	struct site_sync	s;

	if (d->once || d->conf->state_dir == NULL)
		return;
	site_sync_get(d->site, &s);
	m.saved_ms = time_now_ms();
	m.last_success_ms = s.last_success_ms;
	snprintf(m.offset, sizeof(m.offset), "%s", s.offset);
	d->save_pending = 0;
	/* A failed write (disk full, say) is tried again a little later. */
	if (state_save(d->conf->state_dir, d->store, d->site, &m) == -1)
		schedule_save(d);
}

static void
on_save(evutil_socket_t fd, short what, void *arg)
{
	save_now(arg);
}

/* Saves a few seconds after a change, batching changes that follow. */
static void
schedule_save(struct daemon *d)
{
	struct timeval	delay = { SAVE_DELAY_SECONDS, 0 };

	if (d->once || d->ev_save == NULL || d->save_pending)
		return;
	d->save_pending = 1;
	event_add(d->ev_save, &delay);
}

/*
 * The shrink guard: a resync that would remove more than max-shrink of a
 * feed is held back once; the next resync that agrees goes through.
 * Returns -1 to hold this one.
 */
static int
shrink_guard(struct daemon *d, struct store *fresh)
{
	const char	*which = NULL;
	int		 share;

	share = publish_shrink(fresh, d->conf, d->al, d->site, time_now_ms(),
	    &which);
	if (share <= d->conf->max_shrink) {
		d->shrink_held = 0;
		return (0);
	}
	if (d->shrink_held) {
		log_warnx("resync removes %d%% of feed %s again; applying it",
		    share, which);
		d->shrink_held = 0;
		return (0);
	}
	log_warnx("resync would remove %d%% of feed %s (max-shrink %d%%); "
	    "held back until the next resync agrees", share, which,
	    d->conf->max_shrink);
	d->shrink_held = 1;
	return (-1);
}

/* lumu: a full read succeeded; the fresh store replaces ours. */
static void
on_sync(void *arg, struct store *fresh)
{
	struct daemon	*d = arg;
	int64_t		 cutoff = time_now_ms() - d->conf->lookback * 1000;

	/*
	 * Incidents learned from the stream that the window did not return
	 * (it may filter on creation time) stay until they age out.
	 */
	if (d->store != NULL &&
	    (store_carry_triggers(fresh, d->store) == -1 ||
	    store_merge_missing(fresh, d->store, cutoff) == -1))
		log_warnx("resync: out of memory while merging");
	store_expire(fresh, cutoff);
	if (shrink_guard(d, fresh) == -1) {
		store_free(fresh);
		note_sync(d, NULL);
		return;
	}
	store_free(d->store);
	d->store = fresh;
	log_info("sync: %zu incidents, %zu indicators",
	    store_nincidents(fresh), store_nindicators(fresh));
	daemon_render(d);
	note_sync(d, NULL);
	if (d->once)
		event_base_loopbreak(d->base);
}

/*
 * A change the store refused (what: the event, or "context").  A full
 * store is said at most once a minute, with how many were refused
 * meanwhile: a flood must not flood the log too.
 */
static void
store_refused(struct daemon *d, const char *what, const char *id)
{
	int64_t	now = time_now_ms();

	if (errno != ENOSPC) {
		log_warnx("%s: could not store incident %s: %s", what, id,
		    strerror(errno));
		return;
	}
	d->full_refused++;
	if (d->full_logged != 0 && now - d->full_logged < 60000)
		return;
	log_warnx("%s: incident %s not kept: the store is full (%zu "
	    "incidents, %zu indicators, %zu KB); %" PRIu64 " changes "
	    "refused", what, id, store_nincidents(d->store),
	    store_nindicators(d->store), store_bytes(d->store) >> 10,
	    d->full_refused);
	d->full_logged = now;
	d->full_refused = 0;
}

/* lumu: one event of the updates stream. */
static void
on_event(void *arg, enum lumu_event ev, const struct lumu_incident *inc)
{
	struct daemon	*d = arg;

	if (inc == NULL || d->store == NULL)
		return;
	if (store_upsert(d->store, inc) == -1)
		store_refused(d, lumu_event_name(ev), inc->id != NULL ?
		    inc->id : "?");
	else
		d->dirty = 1;
}

/* lumu: a batch of events ended; render once for all of them. */
static void
on_batch(void *arg, const char *offset)
{
	struct daemon	*d = arg;

	if (d->dirty)
		daemon_render(d);
	note_sync(d, NULL);
	/* The cursor moved: a restart should resume from here. */
	schedule_save(d);
}

/* lumu: an incident's threat triggers were read; -1: unknown incident. */
static int
on_triggers(void *arg, const char *id, const char *const *values, size_t n)
{
	struct daemon	*d = arg;
	struct timeval	 soon = { RENDER_DELAY_SECONDS, 0 };

	if (d->store == NULL)
		return (-1);
	/* -1 also when full: the client reads it again after a full read. */
	if (store_set_triggers(d->store, id, values, n) == -1) {
		if (errno == ENOSPC || errno == ENOMEM)
			store_refused(d, "context", id);
		return (-1);
	}
	d->dirty = 1;
	/* Contexts arrive one by one: render them together, soon. */
	if (d->ev_render != NULL && !event_pending(d->ev_render, EV_TIMEOUT,
	    NULL))
		event_add(d->ev_render, &soon);
	return (0);
}

static void
on_render(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	if (d->dirty)
		daemon_render(d);
}

/* lumu: something failed; the last good feeds stay. */
static void
on_error(void *arg, const char *msg)
{
	struct daemon	*d = arg;

	/* lumu.c has logged it already. */
	note_sync(d, msg);
	/* A read that did not fit may fit under a limit raised since. */
	memcap_fit_store(d->conf->threads);
	if (d->once) {
		d->rc = 1;
		event_base_loopbreak(d->base);
	}
}

/* Starts a Lumu client for the conf's [lumu] settings. */
static int
start_lumu(struct daemon *d, const char *offset)
{
	struct lumu_params	p = { 0 };
	struct lumu_callbacks	cb = { d, on_sync, on_event, on_batch,
				    on_error, on_triggers };

	p.api_url = d->conf->api_url;
	p.key = d->conf->company_key;
	p.types = (const char *const *)d->conf->adversary_types.v;
	p.ntypes = d->conf->adversary_types.n;
	p.lookback = d->conf->lookback;
	p.updates_wait = d->conf->updates_wait;
	p.resync = d->conf->resync;
	p.max_rpm = d->conf->max_requests_per_minute;
	p.threat_triggers = d->conf->threat_triggers;
	p.follow_updates = !d->once;
	if ((d->lumu = lumu_new(d->base, d->cev, &p, &cb)) == NULL)
		return (-1);
	return (lumu_start(d->lumu, offset));
}

/* 1 when two confs ask Lumu for different things. */
static int
lumu_changed(const struct conf *a, const struct conf *b)
{
	size_t	i;

	if (strcmp(a->api_url, b->api_url) != 0 ||
	    strcmp(a->company_key, b->company_key) != 0 ||
	    a->lookback != b->lookback || a->updates_wait != b->updates_wait ||
	    a->resync != b->resync || a->threat_triggers != b->threat_triggers ||
	    a->max_requests_per_minute != b->max_requests_per_minute ||
	    a->adversary_types.n != b->adversary_types.n)
		return (1);
	for (i = 0; i < a->adversary_types.n; i++)
		if (strcmp(a->adversary_types.v[i], b->adversary_types.v[i]))
			return (1);
	return (0);
}

/* A new site for conf, carrying over the snapshots of same-named feeds. */
static struct site *
carry_site(struct site *old, const struct conf *conf)
{
	struct site		*site;
	struct site_feed	*of;
	size_t			 i;

	if ((site = site_new(conf)) == NULL)
		return (NULL);
	for (i = 0; i < site->nfeeds; i++) {
		of = old ? site_feed_find(old, site->feeds[i].name) : NULL;
		if (of != NULL && of->type == site->feeds[i].type)
			site_feed_publish(&site->feeds[i],
			    site_feed_current(of));
	}
	if (old != NULL) {
		struct site_sync s;

		site_sync_get(old, &s);
		site_sync_set(site, &s);
	}
	return (site);
}

/* SIGHUP: parse the file again; swap only when it is valid. */
static void
daemon_reload(struct daemon *d)
{
	struct buf		 errs = { 0 }, warns = { 0 };
	struct conf		*nc;
	struct allowlist	*al;
	struct site		*site;

	notify_reloading();
	log_info("reloading %s", d->conf->path);
	if ((nc = conf_parse(d->conf->path, &errs, &warns)) == NULL) {
		log_warnx("%s has errors, not reloading:\n%s", d->conf->path,
		    errs.data ? errs.data : "");
		goto out;
	}
	if (warns.len > 0)
		log_warnx("%s", warns.data);
	if ((al = allowlist_new(nc)) == NULL ||
	    (site = carry_site(d->site, nc)) == NULL) {
		allowlist_free(al);
		conf_free(nc);
		log_warnx("reload: out of memory, keeping the running config");
		goto out;
	}
	/*
	 * The server's part can fail (a listen that cannot be bound, a
	 * certificate that cannot be loaded): it goes last of what can,
	 * and first of what changes, so a failure keeps everything.
	 */
	if (http_reload(d->http, nc, site) == -1) {
		site_unref(site);
		allowlist_free(al);
		conf_free(nc);
		log_warnx("reload refused, keeping the running configuration");
		goto out;
	}
	if (nc->threads != d->conf->threads)
		log_warnx("reload: threads = %d takes effect at the next "
		    "restart", nc->threads);
	if (nc->access_log != d->conf->access_log)
		log_warnx("reload: access-log = %s takes effect at the next "
		    "restart", nc->access_log ? "yes" : "no");
	if (lumu_changed(d->conf, nc)) {
		log_info("reload: Lumu settings changed, reading again");
		lumu_free(d->lumu);
		d->lumu = NULL;
	}
	allowlist_free(d->al);
	d->al = al;
	conf_free(d->conf);
	d->conf = nc;
	site_unref(d->site);
	d->site = site;
	/* Targets are rebuilt, so each reads its device again. */
	http_set_push(d->http, NULL);
	push_free(d->push);
	d->push = push_new(d->base, d->cev, d->conf);
	http_set_push(d->http, d->push);
	daemon_render(d);
	if (d->lumu == NULL) {
		if (start_lumu(d, "") == -1)
			log_warnx("reload: could not start the Lumu client");
		else
			note_known_contexts(d);
	}
	log_info("configuration reloaded");
 out:
	notify_ready();
	buf_free(&errs);
	buf_free(&warns);
}

/* Signals arrive here through the loop, outside signal context. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;
	struct timeval	 grace = { 2, 0 };

	switch (sig) {
	case SIGHUP:
		daemon_reload(d);
		break;
	case SIGUSR1:
		log_reopen();
		break;
	default:
		notify_stopping();
		log_info("stopping on signal %d", (int)sig);
		http_close_listeners(d->http);
		lumu_free(d->lumu);
		d->lumu = NULL;
		/* Let in-flight replies finish, then leave the loop. */
		event_base_loopexit(d->base, &grace);
	}
}

/* Housekeeping: age out indicators even when Lumu is silent. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	size_t		 n;

	/* A memory limit may have been raised or lowered meanwhile. */
	memcap_fit_store(d->conf->threads);
	if (d->store == NULL)
		return;
	n = store_expire(d->store, time_now_ms() - d->conf->lookback * 1000);
	if (n > 0 || d->dirty) {
		log_info("housekeeping: %zu incidents aged out", n);
		daemon_render(d);
	}
}

/*
 * Serves the saved feeds at once and resumes the saved store and cursor;
 * the first sync then replaces the store.
 */
static void
load_state(struct daemon *d, char *offset, size_t offsz)
{
	struct state_meta	m;
	struct site_sync	s;
	struct store		*st;

	if (d->conf->state_dir == NULL)
		return;
	if (mkdir(d->conf->state_dir, 0700) == -1 && errno != EEXIST) {
		log_warn("state-dir %s", d->conf->state_dir);
		return;
	}
	if (state_load(d->conf->state_dir, &st, d->site, &m) != 0)
		return;
	store_free(d->store);
	d->store = st;
	snprintf(offset, offsz, "%s", m.offset);
	site_sync_get(d->site, &s);
	s.loaded_state = 1;
	s.last_success_ms = m.last_success_ms;
	snprintf(s.offset, sizeof(s.offset), "%s", m.offset);
	s.incidents = store_nincidents(st);
	s.indicators = store_nindicators(st);
	site_sync_set(d->site, &s);
	/* Ageing and config changes since the stop apply at once. */
	daemon_render(d);
}

/* The triggers loaded from state need no new context call. */
static void
note_known_contexts(struct daemon *d)
{
	const struct store_incident	*inc;
	size_t				 i;

	for (i = 0; d->store != NULL &&
	    (inc = store_incident_at(d->store, i)) != NULL; i++)
		if (inc->ntriggers > 0)
			lumu_context_known(d->lumu, inc->id, inc->last_contact);
}

/* Creates the base, the curl glue, the site; shared by run and once. */
static int
daemon_init(struct daemon *d, struct conf *conf)
{
	struct site_sync	s;

	d->conf = conf;
	if ((d->base = event_base_new()) == NULL ||
	    (d->cev = curlev_new(d->base)) == NULL ||
	    (d->al = allowlist_new(conf)) == NULL ||
	    (d->site = site_new(conf)) == NULL)
		return (-1);
	site_sync_get(d->site, &s);
	s.started_ms = time_now_ms();
	s.resync_s = conf->resync;
	site_sync_set(d->site, &s);
	return (0);
}

static void
daemon_free(struct daemon *d)
{
	size_t	i;

	lumu_free(d->lumu);
	http_free(d->http);
	push_free(d->push);
	curlev_free(d->cev);	/* before the base: it owns events on it */
	for (i = 0; i < 4; i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	if (d->ev_tick != NULL)
		event_free(d->ev_tick);
	if (d->ev_save != NULL)
		event_free(d->ev_save);
	if (d->ev_render != NULL)
		event_free(d->ev_render);
	store_free(d->store);
	site_unref(d->site);
	allowlist_free(d->al);
	conf_free(d->conf);
	if (d->base != NULL)
		event_base_free(d->base);
}

int
daemon_run(struct conf *conf)
{
	struct daemon	 d = { 0 };
	struct timeval	 tick = { HOUSEKEEPING_SECONDS, 0 };
	const int	 sigs[4] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	char		 offset[64] = "";
	int		 i;

	signal(SIGPIPE, SIG_IGN);
	if (daemon_init(&d, conf) == -1) {
		log_warnx("cannot set up the event loop");
		goto out;
	}
	/* Saved feeds are in place before the first request can arrive. */
	if ((d.ev_save = evtimer_new(d.base, on_save, &d)) == NULL ||
	    (d.ev_render = evtimer_new(d.base, on_render, &d)) == NULL)
		fatalx("cannot create the state timers");
	load_state(&d, offset, sizeof(offset));
	if ((d.http = http_new(d.base, d.conf, d.site)) == NULL)
		goto out;
	d.push = push_new(d.base, d.cev, d.conf);
	http_set_push(d.http, d.push);
	push_update(d.push, d.site);
	for (i = 0; i < 4; i++) {
		if ((d.ev_sig[i] = evsignal_new(d.base, sigs[i], on_signal,
		    &d)) == NULL || event_add(d.ev_sig[i], NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	if ((d.ev_tick = event_new(d.base, -1, EV_PERSIST, on_tick,
	    &d)) == NULL || event_add(d.ev_tick, &tick) == -1)
		fatalx("cannot start the housekeeping timer");
	if (start_lumu(&d, offset) == -1)
		log_warnx("cannot start the Lumu client");
	else
		note_known_contexts(&d);
	log_info("serving %zu feeds on port %d", d.conf->nfeeds,
	    http_port(d.http));
	notify_ready();
	event_base_dispatch(d.base);
	save_now(&d);
	log_info("stopped");
	d.rc = 0;
 out:
	if (d.http == NULL)
		d.rc = 1;
	daemon_free(&d);
	return (d.rc);
}

/* Prints the --once summary line of every feed. */
static void
print_summary(struct daemon *d)
{
	struct snapshot	*s;
	size_t		 i, j, withheld;

	for (i = 0; i < d->site->nfeeds; i++) {
		if ((s = site_feed_current(&d->site->feeds[i])) == NULL)
			continue;
		for (withheld = 0, j = 0; j < IOC_NREASONS; j++)
			withheld += s->drops[j];
		printf("%s: %s feed, %zu entries, %zu lines, %zu bytes, "
		    "%zu withheld, etag %s\n", d->site->feeds[i].name,
		    conf_feed_type_name(d->site->feeds[i].type), s->entries,
		    s->lines, s->len, withheld, s->etag);
		snap_unref(s);
	}
	fflush(stdout);
}

int
daemon_once(struct conf *conf, const char *export_dir)
{
	struct daemon	d = { 0 };

	d.once = 1;
	d.rc = 1;
	if (daemon_init(&d, conf) == -1) {
		log_warnx("cannot set up the event loop");
		goto out;
	}
	if (start_lumu(&d, "") == -1) {
		log_warnx("cannot start the Lumu client");
		goto out;
	}
	event_base_dispatch(d.base);
	if (d.store == NULL)
		goto out;	/* on_error said why */
	d.rc = 0;
	if (export_dir != NULL && export_feeds(&d, export_dir) == -1)
		d.rc = 1;
	print_summary(&d);
 out:
	daemon_free(&d);
	return (d.rc);
}
