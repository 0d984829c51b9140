/*
 * panos.c: the PAN-OS XML API client: transport and operations.
 *
 * Each operation is a small state machine over one request at a time:
 * its step function reads an answer and either sends the next request
 * (a batch, a page, a chunk, a job poll) or ends the operation with its
 * one callback.  A request made without a key is preceded by a keygen;
 * a 403 with a user known gets one fresh key and one retry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "curlev.h"
#include "log.h"
#include "panos.h"
#include "util.h"

#define PANOS_TIMEOUT_MS	120000
#define PANOS_MAX_BYTES		(64u << 20)
#define PANOS_CHUNK		(1u << 20)	/* category bytes per request */
#define PANOS_MAX_PAGES		20000		/* 10M registered IPs */
#define PANOS_POLL_FIRST_MS	500
#define PANOS_POLL_MAX_MS	5000
#define PANOS_COMMIT_WAIT_MS	(20 * 60 * 1000)
#define PANOS_POLL_ERRORS	5	/* transient failures while polling */
#define PANOS_FIN_POLLS		5	/* FIN short of 100%: accepted then */

enum op {
	OP_NONE,
	OP_KEYGEN,
	OP_DAG_READ,
	OP_DAG_UPDATE,
	OP_CAT_READ,
	OP_CAT_WRITE,
	OP_COMMIT
};

struct panos {
	struct event_base	*base;
	struct curlev		*cv;
	char			*name;
	char			*url;
	char			*key;		/* NULL until known */
	char			*user;
	char			*password;
	char			*vsys;
	char			*ca_file;
	int			 insecure;
	struct event		*timer;		/* job polls, late endings */

	enum op			 op;
	char			 what[128];	/* for messages */
	panos_done_cb		 cb;
	void			*arg;
	uint64_t		 xfer;
	int			 keying;	/* the transfer is a keygen */
	int			 rekeyed;	/* one fresh key per operation */
	struct buf		 form;		/* the request of this step */

	char			*tag;		/* or the category name */
	int64_t			 timeout;
	const struct panos_list	*lists[2];	/* unregister, register */
	int			 phase;
	size_t			 pos, end;
	size_t			 pages;
	struct panos_list	*out;
	int			*exists;
	enum panos_cat_mode	 mode;
	char			 jobid[32];
	int64_t			 deadline;	/* monotonic ms */
	int			 poll_ms;
	int			 errors;
	int			 fin_polls;
};

static void	on_reply(void *, const struct curlev_result *);
static void	on_timer(evutil_socket_t, short, void *);
static void	step(struct panos *, const struct panos_reply *);

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A copy of s, or NULL for NULL or "". */
static char *
dup_or_null(const char *s)
{
	return (s != NULL && s[0] != '\0' ? xstrdup(s) : NULL);
}

/* Wipes, then frees. */
static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* A client for https://HOST:PORT/api/; the key comes later if needed. */
struct panos *
panos_new(struct event_base *base, struct curlev *cv,
    const struct panos_params *pp)
{
	struct panos	*p;
	char		 url[512];
	int		 v6;

	/* An IPv6 address needs brackets in a URL. */
	v6 = strchr(pp->hostname, ':') != NULL && pp->hostname[0] != '[';
	if (snprintf(url, sizeof(url), "https://%s%s%s:%d/api/", v6 ? "[" : "",
	    pp->hostname, v6 ? "]" : "", pp->port > 0 ? pp->port : 443) >=
	    (int)sizeof(url))
		return (NULL);
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->cv = cv;
	p->name = xstrdup(pp->name != NULL ? pp->name : pp->hostname);
	p->url = xstrdup(url);
	p->key = dup_or_null(pp->api_key);
	p->user = dup_or_null(pp->username);
	p->password = pp->password != NULL ? xstrdup(pp->password) : NULL;
	p->vsys = xstrdup(pp->vsys != NULL && pp->vsys[0] != '\0' ?
	    pp->vsys : "vsys1");
	p->ca_file = dup_or_null(pp->ca_file);
	p->insecure = pp->insecure;
	if ((p->timer = evtimer_new(base, on_timer, p)) == NULL) {
		panos_free(p);
		return (NULL);
	}
	if (p->insecure)
		log_warnx("panos %s: the certificate of %s is not verified",
		    p->name, pp->hostname);
	return (p);
}

void
panos_free(struct panos *p)
{
	if (p == NULL)
		return;
	curlev_cancel(p->cv, p->xfer);
	if (p->timer != NULL)
		event_free(p->timer);
	free(p->name);
	free(p->url);
	free_secret(p->key);
	free(p->user);
	free_secret(p->password);
	free(p->vsys);
	free(p->ca_file);
	free(p->tag);
	buf_free(&p->form);
	free(p);
}

const char *
panos_name(const struct panos *p)
{
	return (p->name);
}

/* Ends the operation; the callback may start the next one on p. */
static void
op_end(struct panos *p, const char *err)
{
	panos_done_cb	 cb = p->cb;
	void		*arg = p->arg;

	p->op = OP_NONE;
	p->cb = NULL;
	buf_free(&p->form);
	cb(arg, err);
}

/* Ends the operation with "NAME: what: message". */
static void __attribute__((__format__(printf, 2, 3)))
op_fail(struct panos *p, const char *fmt, ...)
{
	char	msg[512], err[768];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, sizeof(err), "%s: %s: %s", p->name, p->what, msg);
	op_end(p, err);
}

/* Ends the operation from the timer, so never inside a start call. */
static void
op_end_later(struct panos *p)
{
	struct timeval	now = { 0, 0 };

	evtimer_add(p->timer, &now);
}

/* Sends the keygen request, or the step's form with the key. */
static int
send_form(struct panos *p)
{
	struct curlev_request	 req = { 0 };
	struct buf		 kg = { 0 };
	const char		*hdrs[2] = { NULL, NULL };
	char			*hdr = NULL;

	if (p->key == NULL) {
		if (p->user == NULL || p->password == NULL)
			return (-1);
		if (panos_form_add(&kg, "type", "keygen") == -1 ||
		    panos_form_add(&kg, "user", p->user) == -1 ||
		    panos_form_add(&kg, "password", p->password) == -1)
			goto out;
		p->keying = 1;
		req.body = kg.data;
		req.bodylen = kg.len;
	} else {
		/* The key rides in a header, never in a URL or a log line. */
		if (asprintf(&hdr, "X-PAN-KEY: %s", p->key) == -1) {
			hdr = NULL;
			goto out;
		}
		hdrs[0] = hdr;
		req.body = p->form.data != NULL ? p->form.data : "";
		req.bodylen = p->form.len;
	}
	req.url = p->url;
	req.method = "POST";
	req.content_type = "application/x-www-form-urlencoded";
	req.headers = hdrs;
	req.timeout_ms = PANOS_TIMEOUT_MS;
	req.max_bytes = PANOS_MAX_BYTES;
	req.ca_file = p->ca_file;
	req.insecure = p->insecure;
	/* curlev copies the body and the headers before returning. */
	p->xfer = curlev_start(p->cv, &req, on_reply, p);
 out:
	if (kg.data != NULL)
		explicit_bzero(kg.data, kg.len);
	buf_free(&kg);
	free_secret(hdr);
	if (p->xfer == 0)
		p->keying = 0;
	return (p->xfer != 0 ? 0 : -1);
}

/* Sends the step's form, or ends the operation when that fails. */
static void
send_or_fail(struct panos *p)
{
	if (send_form(p) == -1)
		op_fail(p, "cannot send the request");
}

/* Transport trouble: a job poll tries again, anything else fails. */
static void
transient(struct panos *p, const char *why)
{
	struct timeval	tv;

	if (p->op == OP_COMMIT && p->phase == 1 &&
	    ++p->errors <= PANOS_POLL_ERRORS) {
		log_debug("panos %s: job %s poll: %s; trying again", p->name,
		    p->jobid, why);
		tv.tv_sec = p->poll_ms / 1000;
		tv.tv_usec = (p->poll_ms % 1000) * 1000;
		evtimer_add(p->timer, &tv);
		return;
	}
	op_fail(p, "%s", why);
}

/* A keygen answer: keep the key and send what waited for it. */
static void
keyed(struct panos *p, const struct panos_reply *r)
{
	char	key[1024], err[600];

	if (panos_parse_key(r, key, sizeof(key)) == -1) {
		if (panos_reply_ok(r))
			snprintf(err, sizeof(err), "no key in the answer");
		else
			panos_reply_error(r, err, sizeof(err));
		op_fail(p, "keygen for user %s: %s", p->user, err);
		return;
	}
	p->key = xstrdup(key);
	explicit_bzero(key, sizeof(key));
	log_debug("panos %s: key generated for user %s", p->name, p->user);
	if (p->op == OP_KEYGEN)
		op_end(p, NULL);
	else
		send_or_fail(p);
}

static void
on_reply(void *arg, const struct curlev_result *res)
{
	struct panos		*p = arg;
	struct panos_reply	 r;
	char			 why[128], msg[160];
	int			 keying = p->keying;

	p->xfer = 0;
	p->keying = 0;
	if (!res->ok) {
		transient(p, res->error);
		return;
	}
	/* The body decides, whatever the status; a page of HTML does not. */
	if (panos_reply_parse(res->body, res->len, &r, why,
	    sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "HTTP %ld: %s", res->status, why);
		transient(p, msg);
		return;
	}
	if (keying)
		keyed(p, &r);
	else if (!r.success && (r.code == 403 || res->status == 403) &&
	    p->user != NULL && p->password != NULL && !p->rekeyed) {
		/* Someone made a new key for this user: make ours again. */
		log_info("panos %s: key refused; generating a new one",
		    p->name);
		p->rekeyed = 1;
		free_secret(p->key);
		p->key = NULL;
		send_or_fail(p);
	} else
		step(p, &r);
	/* r holds nothing of p, which the callback may have freed. */
	panos_reply_free(&r);
}

/* Claims the device for an operation; -1 when one is running. */
static int
op_begin(struct panos *p, enum op op, panos_done_cb cb, void *arg,
    const char *fmt, ...)
{
	va_list	ap;

	if (p->op != OP_NONE || cb == NULL)
		return (-1);
	p->op = op;
	p->cb = cb;
	p->arg = arg;
	p->rekeyed = 0;
	p->phase = 0;
	p->pos = p->end = p->pages = 0;
	p->errors = p->fin_polls = 0;
	free(p->tag);
	p->tag = NULL;
	buf_free(&p->form);
	va_start(ap, fmt);
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
	va_end(ap);
	return (0);
}

/* Sends the first request of an operation; -1 (no callback) if not. */
static int
op_send_first(struct panos *p, int built)
{
	if (built == 0 && send_form(p) == 0)
		return (0);
	if (built == -1)
		log_warnx("panos %s: %s: cannot build the request (a control "
		    "character in a name?)", p->name, p->what);
	else if (p->key == NULL)
		log_warnx("panos %s: no API key and no user to make one",
		    p->name);
	p->op = OP_NONE;
	buf_free(&p->form);
	return (-1);
}

/* The form of an op command (with vsys where one applies). */
static int
form_op(struct panos *p, const char *type, const char *cmd)
{
	buf_free(&p->form);
	if (panos_form_add(&p->form, "type", type) == -1 ||
	    (strcmp(p->vsys, "shared") != 0 &&
	    panos_form_add(&p->form, "vsys", p->vsys) == -1) ||
	    panos_form_add(&p->form, "cmd", cmd) == -1)
		return (-1);
	return (0);
}

int
panos_keygen(struct panos *p, panos_done_cb cb, void *arg)
{
	if (p->user == NULL || op_begin(p, OP_KEYGEN, cb, arg,
	    "keygen") == -1)
		return (-1);
	free_secret(p->key);
	p->key = NULL;
	return (op_send_first(p, 0));
}

/* The request for the registered-ip page at p->pos. */
static int
regip_form(struct panos *p)
{
	struct buf	cmd = { 0 };
	int		rv;

	rv = panos_regip_cmd(&cmd, p->tag, p->pos) == -1 || cmd.data == NULL ?
	    -1 : form_op(p, "op", cmd.data);
	buf_free(&cmd);
	return (rv);
}

int
panos_dag_read(struct panos *p, const char *tag, struct panos_list *out,
    panos_done_cb cb, void *arg)
{
	if (op_begin(p, OP_DAG_READ, cb, arg, "reading the IPs tagged %s",
	    tag) == -1)
		return (-1);
	p->tag = xstrdup(tag);
	p->out = out;
	p->pos = 1;
	return (op_send_first(p, regip_form(p)));
}

/* One page read: ask for the next or stop at a short page. */
static void
step_dag_read(struct panos *p, const struct panos_reply *r)
{
	char	err[600];
	size_t	rows;

	if (panos_parse_regip(r, p->tag, p->out, &rows) == -1) {
		if (panos_reply_ok(r))
			op_fail(p, "unexpected answer (PAN-OS 8.0 or later "
			    "is needed)");
		else {
			panos_reply_error(r, err, sizeof(err));
			op_fail(p, "%s", err);
		}
		return;
	}
	p->pos += rows;
	if (rows < PANOS_PAGE) {
		log_debug("panos %s: %zu IPs tagged %s", p->name, p->out->n,
		    p->tag);
		op_end(p, NULL);
	} else if (++p->pages >= PANOS_MAX_PAGES)
		op_fail(p, "more than %d pages", PANOS_MAX_PAGES);
	else if (regip_form(p) == -1)
		op_fail(p, "out of memory");
	else
		send_or_fail(p);
}

/*
 * Builds the next User-ID batch: unregistrations first (room in the
 * table), then registrations.  0: built, 1: nothing left, -1: error.
 */
static int
uid_next(struct panos *p)
{
	const struct panos_list	*l;
	struct buf		 msg = { 0 };
	int			 rv;

	while (p->phase < 2 && (p->lists[p->phase] == NULL ||
	    p->pos >= p->lists[p->phase]->n)) {
		p->phase++;
		p->pos = 0;
	}
	if (p->phase == 2)
		return (1);
	l = p->lists[p->phase];
	p->end = p->pos + PANOS_BATCH < l->n ? p->pos + PANOS_BATCH : l->n;
	rv = panos_uid_message(&msg, p->phase == 0, l, p->pos, p->end,
	    p->tag, p->timeout) == -1 ? -1 : form_op(p, "user-id", msg.data);
	buf_free(&msg);
	return (rv);
}

int
panos_dag_update(struct panos *p, const char *tag, int64_t timeout,
    const struct panos_list *reg, const struct panos_list *unreg,
    panos_done_cb cb, void *arg)
{
	int	rv;

	if (timeout < 0 || timeout > PANOS_TIMEOUT_MAX ||
	    op_begin(p, OP_DAG_UPDATE, cb, arg, "updating the IPs tagged %s",
	    tag) == -1)
		return (-1);
	p->tag = xstrdup(tag);
	p->timeout = timeout;
	p->lists[0] = unreg;
	p->lists[1] = reg;
	if ((rv = uid_next(p)) == 1) {
		op_end_later(p);
		return (0);
	}
	return (op_send_first(p, rv));
}

/* One User-ID batch answered: duplicates and absences are fine. */
static void
step_dag_update(struct panos *p, const struct panos_reply *r)
{
	char	err[600];
	size_t	ignored;
	int	rv;

	if (panos_parse_uid(r, &ignored, err, sizeof(err)) == -1) {
		op_fail(p, "%s", err);
		return;
	}
	if (ignored > 0)
		log_debug("panos %s: %zu entries already as wanted", p->name,
		    ignored);
	p->pos = p->end;
	if ((rv = uid_next(p)) == 1)
		op_end(p, NULL);
	else if (rv == -1)
		op_fail(p, "a value cannot be sent as XML");
	else
		send_or_fail(p);
}

/* The form of a config action on the category's xpath (+ suffix). */
static int
form_config(struct panos *p, const char *action, const char *suffix,
    const char *element)
{
	struct buf	xp = { 0 };
	int		rv = -1;

	buf_free(&p->form);
	if (panos_category_xpath(&xp, p->vsys, p->tag) == 0 &&
	    buf_addstr(&xp, suffix) == 0 &&
	    panos_form_add(&p->form, "type", "config") == 0 &&
	    panos_form_add(&p->form, "action", action) == 0 &&
	    panos_form_add(&p->form, "xpath", xp.data) == 0 &&
	    (element == NULL ||
	    panos_form_add(&p->form, "element", element) == 0))
		rv = 0;
	buf_free(&xp);
	return (rv);
}

int
panos_cat_read(struct panos *p, const char *name, struct panos_list *out,
    int *exists, panos_done_cb cb, void *arg)
{
	if (op_begin(p, OP_CAT_READ, cb, arg, "reading URL category %s",
	    name) == -1)
		return (-1);
	p->tag = xstrdup(name);
	p->out = out;
	p->exists = exists;
	return (op_send_first(p, form_config(p, "get", "", NULL)));
}

static void
step_cat_read(struct panos *p, const struct panos_reply *r)
{
	char	err[600];

	if (panos_parse_category(r, p->out, p->exists) == -1) {
		panos_reply_error(r, err, sizeof(err));
		op_fail(p, "%s", err);
		return;
	}
	op_end(p, NULL);
}

/*
 * Builds the request of the next chunk of members (each request stays
 * far below the 5 MB PAN-OS accepts).  The first chunk creates or
 * replaces; the rest append.  0: built, 1: all sent, -1: error.
 */
static int
cat_next(struct panos *p)
{
	const struct panos_list	*l = p->lists[1];
	struct buf		 el = { 0 };
	size_t			 bytes = 0;
	int			 rv = -1, first = p->phase == 0;

	if (!first && p->pos >= l->n)
		return (1);
	for (p->end = p->pos; p->end < l->n && (p->end == p->pos ||
	    bytes + strlen(l->v[p->end]) < PANOS_CHUNK); p->end++)
		bytes += strlen(l->v[p->end]) + 17;
	if (first && p->mode == PANOS_CAT_CREATE) {
		/* The description warns people off editing it by hand. */
		if (panos_members_element(&el, "list", l, p->pos, p->end) == 0 &&
		    buf_addstr(&el, "<type>URL List</type><description>"
		    "managed by lumu-edl</description>") == 0)
			rv = form_config(p, "set", "", el.data);
	} else if (first && p->mode == PANOS_CAT_REPLACE) {
		if (panos_members_element(&el, "list", l, p->pos, p->end) == 0)
			rv = form_config(p, "edit", "/list", el.data);
	} else if (panos_members_element(&el, NULL, l, p->pos, p->end) == 0)
		rv = form_config(p, "set", "/list", el.data != NULL ?
		    el.data : "");
	buf_free(&el);
	p->phase = 1;
	return (rv);
}

int
panos_cat_write(struct panos *p, const char *name,
    const struct panos_list *members, enum panos_cat_mode mode,
    panos_done_cb cb, void *arg)
{
	if (op_begin(p, OP_CAT_WRITE, cb, arg, "%s URL category %s",
	    mode == PANOS_CAT_CREATE ? "creating" : mode == PANOS_CAT_MERGE ?
	    "adding to" : "replacing", name) == -1)
		return (-1);
	p->tag = xstrdup(name);
	p->lists[1] = members;
	p->mode = mode;
	if (mode == PANOS_CAT_MERGE && members->n == 0) {
		op_end_later(p);
		return (0);
	}
	/* A merge has no first request of its own: every chunk appends. */
	if (mode == PANOS_CAT_MERGE)
		p->phase = 1;
	return (op_send_first(p, cat_next(p)));
}

static void
step_cat_write(struct panos *p, const struct panos_reply *r)
{
	char	err[600];
	int	rv;

	if (!panos_reply_ok(r)) {
		panos_reply_error(r, err, sizeof(err));
		op_fail(p, "%s", err);
		return;
	}
	p->pos = p->end;
	if ((rv = cat_next(p)) == 1)
		op_end(p, NULL);
	else if (rv == -1)
		op_fail(p, "a member cannot be sent as XML");
	else
		send_or_fail(p);
}

int
panos_commit(struct panos *p, panos_done_cb cb, void *arg)
{
	struct buf	cmd = { 0 };
	int		rv = -1;

	if (op_begin(p, OP_COMMIT, cb, arg, "commit") == -1)
		return (-1);
	/* Only our own changes when we know which admin we are. */
	if (panos_commit_cmd(&cmd, p->user) == 0 &&
	    panos_form_add(&p->form, "type", "commit") == 0 &&
	    (p->user == NULL ||
	    panos_form_add(&p->form, "action", "partial") == 0) &&
	    panos_form_add(&p->form, "cmd", cmd.data) == 0)
		rv = 0;
	buf_free(&cmd);
	return (op_send_first(p, rv));
}

/* Arms the next job poll, slower each time, within the deadline. */
static void
poll_later(struct panos *p)
{
	struct timeval	tv;

	if (mono_ms() > p->deadline) {
		op_fail(p, "job %s still running after %d seconds", p->jobid,
		    PANOS_COMMIT_WAIT_MS / 1000);
		return;
	}
	tv.tv_sec = p->poll_ms / 1000;
	tv.tv_usec = (p->poll_ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	p->poll_ms = p->poll_ms * 3 / 2 < PANOS_POLL_MAX_MS ?
	    p->poll_ms * 3 / 2 : PANOS_POLL_MAX_MS;
}

/* The commit request answered: a job to follow, or nothing to do. */
static void
step_commit(struct panos *p, const struct panos_reply *r)
{
	char	err[600];
	int	rv;

	if ((rv = panos_parse_commit(r, p->jobid, sizeof(p->jobid))) == -1) {
		panos_reply_error(r, err, sizeof(err));
		op_fail(p, "%s", err);
	} else if (rv == 0) {
		log_info("panos %s: commit: %s", p->name, r->msg[0] ? r->msg :
		    "nothing to commit");
		op_end(p, NULL);
	} else {
		log_info("panos %s: commit job %s enqueued", p->name,
		    p->jobid);
		p->phase = 1;
		p->deadline = mono_ms() + PANOS_COMMIT_WAIT_MS;
		p->poll_ms = PANOS_POLL_FIRST_MS;
		poll_later(p);
	}
}

/* A job poll answered: FIN with 100% (and OK) ends it. */
static void
step_job(struct panos *p, const struct panos_reply *r)
{
	struct panos_job	j;
	char			err[600];

	if (panos_parse_job(r, &j) == -1) {
		if (panos_reply_ok(r))
			transient(p, "unreadable job status");
		else {
			panos_reply_error(r, err, sizeof(err));
			op_fail(p, "job %s: %s", p->jobid, err);
		}
		return;
	}
	p->errors = 0;
	log_debug("panos %s: job %s: %s %s %d%%", p->name, p->jobid,
	    j.status, j.result, j.progress);
	/* Clients differ on FIN versus 100%; wait a little for both. */
	if (strcmp(j.status, "FIN") != 0 ||
	    (j.progress != 100 && ++p->fin_polls <= PANOS_FIN_POLLS)) {
		poll_later(p);
		return;
	}
	if (strcmp(j.result, "OK") == 0) {
		log_info("panos %s: commit job %s done", p->name, p->jobid);
		op_end(p, NULL);
	} else
		op_fail(p, "job %s ended %s%s%s", p->jobid,
		    j.result[0] ? j.result : "without a result",
		    j.details[0] ? ": " : "", j.details);
}

/* Sends the job poll, or ends a zero-work operation. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct panos	*p = arg;
	char		 cmd[96];

	if (p->op != OP_COMMIT || p->phase != 1) {
		op_end(p, NULL);
		return;
	}
	snprintf(cmd, sizeof(cmd), "<show><jobs><id>%s</id></jobs></show>",
	    p->jobid);
	if (form_op(p, "op", cmd) == -1)
		op_fail(p, "out of memory");
	else
		send_or_fail(p);
}

/* Hands an answer to the running operation's step. */
static void
step(struct panos *p, const struct panos_reply *r)
{
	switch (p->op) {
	case OP_DAG_READ:
		step_dag_read(p, r);
		break;
	case OP_DAG_UPDATE:
		step_dag_update(p, r);
		break;
	case OP_CAT_READ:
		step_cat_read(p, r);
		break;
	case OP_CAT_WRITE:
		step_cat_write(p, r);
		break;
	case OP_COMMIT:
		if (p->phase == 0)
			step_commit(p, r);
		else
			step_job(p, r);
		break;
	default:
		break;
	}
}
