/*
 * paloalto_run.c: the run of lumu-to-paloalto once its options are
 * checked: the Lumu read of the window, the ip and url feeds selected
 * and rendered, the device steps on the event loop (the tag, the
 * category, the commit, a refused commit tried again), and
 * timestamp.stmp.  Apart from paloalto.c, which reads the command line
 * and the config file without touching the network: everything here
 * talks to Lumu or to the device.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf.h"
#include "curlev.h"
#include "ioc.h"
#include "log.h"
#include "lumu.h"
#include "paloalto_int.h"
#include "panos.h"
#include "render.h"
#include "select.h"
#include "store.h"
#include "util.h"

#define PA_COMMIT_TRIES	4		/* a held lock: retried 1, 2, 4 s on */

static void	pa_next(struct pa *);

static void
lumu_sync(void *arg, struct store *fresh)
{
	struct pa	*pa = arg;

	store_free(pa->store);
	pa->store = fresh;
	event_base_loopbreak(pa->base);
}

static void
lumu_error(void *arg, const char *msg)
{
	struct pa	*pa = arg;

	paloalto_fail(pa, 1, "Lumu: %s", msg);
	event_base_loopbreak(pa->base);
}

static void
lumu_event(void *arg, enum lumu_event ev, const struct lumu_incident *inc)
{
}

static void
lumu_batch(void *arg, const char *offset)
{
}

/* The full read of the window; the store stays in pa. */
static int
read_lumu(struct pa *pa)
{
	struct lumu_params	p = { 0 };
	struct lumu_callbacks	cb = { .arg = pa, .on_sync = lumu_sync,
				    .on_event = lumu_event,
				    .on_batch = lumu_batch,
				    .on_error = lumu_error };

	p.api_url = pa->val[O_API_URL] != NULL ? pa->val[O_API_URL] :
	    "https://defender.lumu.io";
	p.key = pa->val[O_COMPANY_KEY];
	p.types = (const char *const *)pa->conf.adversary_types.v;
	p.ntypes = pa->conf.adversary_types.n;
	p.lookback = pa->lookback;
	p.updates_wait = 30;
	p.resync = 86400;
	p.max_rpm = 40;
	p.follow_updates = 0;
	log_info("reading %lld hours of Lumu incidents",
	    (long long)((pa->lookback + 3599) / 3600));
	if ((pa->lumu = lumu_new(pa->base, pa->cv, &p, &cb)) == NULL ||
	    lumu_start(pa->lumu, "") == -1) {
		paloalto_fail(pa, 1, "cannot start the Lumu client");
		return (-1);
	}
	event_base_dispatch(pa->base);
	if (pa->store == NULL) {
		paloalto_fail(pa, 1, "Lumu: the read ended without data");
		return (-1);
	}
	log_info("Lumu: %zu incidents, %zu indicators",
	    store_nincidents(pa->store), store_nindicators(pa->store));
	return (0);
}

/* Selects and renders one feed, as the daemon does; its lines to out. */
static int
render_one(struct pa *pa, struct conf_feed *f, struct panos_list *out)
{
	struct selection	sel;
	struct rendered		r;
	size_t			i, withheld = 0;
	int			rv;

	if (select_feed(pa->store, &pa->conf, f, pa->al, pa->start_ms,
	    &sel) == -1)
		return (-1);
	rv = render_feed(f, &sel, &r);
	select_free(&sel);
	if (rv == -1)
		return (-1);
	for (i = 0; i < IOC_NREASONS; i++)
		withheld += r.drops[i];
	rv = panos_list_lines(out, r.body, r.len);
	log_info("%s: %zu indicators, %zu lines, %zu withheld", f->name,
	    r.entries, r.lines, withheld);
	render_free(&r);
	return (rv);
}

/* 1 when a device error reads like a lock or a commit under way. */
static int
retryable(const char *err)
{
	return (strcasestr(err, "lock") != NULL ||
	    strcasestr(err, "in progress") != NULL ||
	    strcasestr(err, "busy") != NULL);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	pa_next(arg);
}

/* One device step ended; a refused commit may be tried again. */
static void
on_step(void *arg, const char *err)
{
	struct pa	*pa = arg;
	struct timeval	 tv = { 0, 0 };

	if (err != NULL && pa->step == S_COMMIT && retryable(err) &&
	    ++pa->commit_tries < PA_COMMIT_TRIES) {
		tv.tv_sec = 1 << (pa->commit_tries - 1);
		log_warnx("%s; trying again in %ld s", err, (long)tv.tv_sec);
		evtimer_add(pa->retry, &tv);
		return;
	}
	if (err != NULL) {
		paloalto_fail(pa, 1, "%s", err);
		event_base_loopbreak(pa->base);
		return;
	}
	if (pa->step == S_DAG_WRITE)
		log_info("tag %s: %zu added, %zu removed", pa->val[O_TAG],
		    pa->add_ips.n, pa->del_ips.n);
	else if (pa->step == S_CAT_WRITE)
		log_info("category %s: %s, %zu members sent",
		    pa->val[O_CATNAME], pa->cat_mode == PANOS_CAT_CREATE ?
		    "created" : pa->cat_mode == PANOS_CAT_MERGE ? "added to" :
		    "replaced", pa->cat_mode == PANOS_CAT_MERGE ?
		    pa->add_urls.n : pa->urls.n);
	pa->step++;
	pa_next(pa);
}

/* The tag's change: what is missing, and with --overwrite-dag extras. */
static int
dag_write(struct pa *pa)
{
	if (panos_list_diff(&pa->ips, &pa->have_ips, &pa->add_ips) == -1 ||
	    (paloalto_flag(pa, O_OVERWRITE_DAG) &&
	    panos_list_diff(&pa->have_ips, &pa->ips, &pa->del_ips) == -1))
		return (-1);
	if (pa->add_ips.n == 0 && pa->del_ips.n == 0) {
		log_info("tag %s: already as wanted (%zu IPs)",
		    pa->val[O_TAG], pa->have_ips.n);
		return (0);
	}
	return (panos_dag_update(pa->pan, pa->val[O_TAG], 0, &pa->add_ips,
	    &pa->del_ips, on_step, pa) == 0 ? 1 : -1);
}

/* The category's change: create, replace (overwrite) or add. */
static int
cat_write(struct pa *pa)
{
	const struct panos_list	*send = &pa->urls;

	if (!pa->cat_exists && pa->urls.n == 0) {
		log_info("category %s does not exist and nothing is to be "
		    "added", pa->val[O_CATNAME]);
		return (0);
	}
	if (!pa->cat_exists)
		pa->cat_mode = PANOS_CAT_CREATE;
	else if (paloalto_flag(pa, O_OVERWRITE_CAT)) {
		pa->cat_mode = PANOS_CAT_REPLACE;
		if (panos_list_same(&pa->urls, &pa->have_urls))
			send = NULL;
	} else {
		pa->cat_mode = PANOS_CAT_MERGE;
		if (panos_list_diff(&pa->urls, &pa->have_urls,
		    &pa->add_urls) == -1)
			return (-1);
		send = pa->add_urls.n > 0 ? &pa->add_urls : NULL;
	}
	if (send == NULL) {
		log_info("category %s: already as wanted (%zu members)",
		    pa->val[O_CATNAME], pa->have_urls.n);
		return (0);
	}
	return (panos_cat_write(pa->pan, pa->val[O_CATNAME], send,
	    pa->cat_mode, on_step, pa) == 0 ? 1 : -1);
}

/* Starts the current step: 1 started, 0 nothing to do, -1 failed. */
static int
start_step(struct pa *pa)
{
	int	rv = 0;

	switch (pa->step) {
	case S_DAG_READ:
		if (paloalto_flag(pa, O_DAG))
			rv = panos_dag_read(pa->pan, pa->val[O_TAG],
			    &pa->have_ips, on_step, pa) == 0 ? 1 : -1;
		break;
	case S_DAG_WRITE:
		if (paloalto_flag(pa, O_DAG))
			rv = dag_write(pa);
		break;
	case S_CAT_READ:
		if (paloalto_flag(pa, O_CAT))
			rv = panos_cat_read(pa->pan, pa->val[O_CATNAME],
			    &pa->have_urls, &pa->cat_exists, on_step, pa) == 0 ?
			    1 : -1;
		break;
	case S_CAT_WRITE:
		if (paloalto_flag(pa, O_CAT))
			rv = cat_write(pa);
		break;
	case S_COMMIT:
		if (paloalto_flag(pa, O_COMMIT))
			rv = panos_commit(pa->pan, on_step, pa) == 0 ? 1 : -1;
		break;
	default:
		break;
	}
	return (rv);
}

/* Starts the next needed device step, or ends the run. */
static void
pa_next(struct pa *pa)
{
	int	rv;

	for (; pa->step != S_DONE; pa->step++) {
		if ((rv = start_step(pa)) == 1)
			return;
		if (rv == -1) {
			paloalto_fail(pa, 1, "%s: cannot start a request",
			    panos_name(pa->pan));
			break;
		}
	}
	event_base_loopbreak(pa->base);
}

static void
on_keyed(void *arg, const char *err)
{
	struct pa	*pa = arg;

	if (err != NULL)
		paloalto_fail(pa, 1, "%s", err);
	event_base_loopbreak(pa->base);
}

/*
 * Sets up the device client; with a user, makes the key now, so wrong
 * credentials end the run before Lumu is asked anything.
 */
static int
connect_device(struct pa *pa)
{
	struct panos_params	pp = { 0 };

	pp.hostname = pa->val[O_HOSTNAME];
	pp.port = pa->val[O_PORT] != NULL ? atoi(pa->val[O_PORT]) : 443;
	pp.api_key = pa->val[O_API_KEY];
	pp.username = pa->val[O_USERNAME];
	pp.password = pa->val[O_PASSWORD];
	pp.vsys = pa->val[O_VSYS];
	pp.ca_file = pa->val[O_CA_FILE];
	pp.insecure = paloalto_flag(pa, O_INSECURE);
	if ((pa->pan = panos_new(pa->base, pa->cv, &pp)) == NULL ||
	    (pa->retry = evtimer_new(pa->base, on_retry, pa)) == NULL) {
		paloalto_fail(pa, 1, "cannot set up the PAN-OS client");
		return (-1);
	}
	if (pa->val[O_API_KEY] != NULL)
		return (0);
	if (panos_keygen(pa->pan, on_keyed, pa) == -1) {
		paloalto_fail(pa, 1, "%s: cannot start the keygen",
		    pp.hostname);
		return (-1);
	}
	event_base_dispatch(pa->base);
	return (pa->rc == 0 ? 0 : -1);
}

/* The device half, on the event loop; 0 when every step succeeded. */
static int
push_device(struct pa *pa)
{
	pa->step = S_DAG_READ;
	pa_next(pa);
	if (pa->rc == 0 && pa->step != S_DONE)
		event_base_dispatch(pa->base);
	if (pa->rc == 0 && pa->step != S_DONE)
		paloalto_fail(pa, 1, "%s: the run ended early",
		    pa->val[O_HOSTNAME]);
	return (pa->rc == 0 ? 0 : -1);
}

/* Records the start of this run for the next -t; only after success. */
static int
save_timestamp(struct pa *pa)
{
	char	ts[40];

	time_format_iso(pa->start_ms, ts, sizeof(ts) - 1);
	strcat(ts, "\n");
	if (file_write_atomic(PA_TIMESTAMP, ts, strlen(ts), 0644) == -1) {
		paloalto_fail(pa, 1, "cannot write %s: %s", PA_TIMESTAMP,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Everything after the options: Lumu, selection, the device, stamp. */
void
paloalto_run(struct pa *pa)
{
	if (paloalto_set_window(pa) == -1 || paloalto_build_conf(pa) == -1)
		return;
	if (ioc_init() == -1) {
		paloalto_fail(pa, 1, "cannot load the Public Suffix List");
		return;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((pa->base = event_base_new()) == NULL ||
	    (pa->cv = curlev_new(pa->base)) == NULL) {
		paloalto_fail(pa, 1, "cannot set up the event loop");
		return;
	}
	if (connect_device(pa) == -1 || read_lumu(pa) == -1)
		return;
	if ((paloalto_flag(pa, O_DAG) && render_one(pa, &pa->feeds[0],
	    &pa->ips) == -1) || (paloalto_flag(pa, O_CAT) && render_one(pa,
	    &pa->feeds[1], &pa->urls) == -1)) {
		paloalto_fail(pa, 1, "out of memory while selecting "
		    "indicators");
		return;
	}
	if (push_device(pa) == -1 || save_timestamp(pa) == -1)
		return;
	log_info("done");
}
