/*
 * panos.h: a PAN-OS XML API client on curlev.  It generates a key when
 * given a user, registers and unregisters IP tags for Dynamic Address
 * Groups through User-ID, reads and writes a Custom URL Category, commits
 * and polls the commit job.  One operation at a time per device; every
 * operation that starts ends in exactly one callback.
 *
 * Every request is a POST of an application/x-www-form-urlencoded body
 * to https://HOST:PORT/api/, the key in the X-PAN-KEY header, so no
 * secret is ever part of a URL.  The pure part (request building and
 * response parsing, panos_xml.c) is declared at the end for the tests.
 */
#ifndef PANOS_H
#define PANOS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PANOS_BATCH		1000	/* User-ID entries per message */
#define PANOS_PAGE		500	/* registered-ip rows per call */
#define PANOS_TIMEOUT_MAX	2592000	/* tag timeout, seconds (30 days) */

struct event_base;
struct curlev;
struct panos;

struct panos_params {
	const char	*name;		/* for log lines: "fw1" */
	const char	*hostname;
	int		 port;		/* 0: 443 */
	const char	*api_key;	/* NULL: keygen with user, password */
	const char	*username;	/* also names the admin of a commit */
	const char	*password;
	const char	*vsys;		/* NULL or "": vsys1; "shared" */
	const char	*ca_file;	/* NULL: the system store */
	int		 insecure;	/* no TLS verification (warned) */
};

/* A list of strings: IP addresses, category members. */
struct panos_list {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

/* How panos_cat_write changes a category. */
enum panos_cat_mode {
	PANOS_CAT_MERGE,	/* add the members (set) */
	PANOS_CAT_REPLACE,	/* the list becomes exactly these (edit) */
	PANOS_CAT_CREATE	/* a new "URL List" category with these */
};

/* err is NULL on success, else one line safe to log (no secret). */
typedef void	(*panos_done_cb)(void *arg, const char *err);

/* Copies params; logs a warning when TLS is not verified. */
struct panos	*panos_new(struct event_base *, struct curlev *,
		    const struct panos_params *);
/* Cancels the running operation without calling back, then frees. */
void		 panos_free(struct panos *);
/* The host name, for messages. */
const char	*panos_name(const struct panos *);

/*
 * Operations.  Each returns 0 when started (the callback follows, never
 * from inside the call) or -1 when it could not start (busy, no memory;
 * no callback).  Lists passed in are borrowed until the callback.
 */
/* Generates a key for the user now (otherwise done on first need). */
int	panos_keygen(struct panos *, panos_done_cb, void *);
/* Fills out with the IPs registered with tag, reading every page. */
int	panos_dag_read(struct panos *, const char *tag, struct panos_list *out,
	    panos_done_cb, void *);
/* Unregisters then registers (persistent, timeout 0: none) in batches. */
int	panos_dag_update(struct panos *, const char *tag, int64_t timeout,
	    const struct panos_list *reg, const struct panos_list *unreg,
	    panos_done_cb, void *);
/* Reads the category's members; *exists is 0 when there is none. */
int	panos_cat_read(struct panos *, const char *name,
	    struct panos_list *out, int *exists, panos_done_cb, void *);
int	panos_cat_write(struct panos *, const char *name,
	    const struct panos_list *members, enum panos_cat_mode,
	    panos_done_cb, void *);
/* Commits (partial, by the admin, when a user is known) and waits. */
int	panos_commit(struct panos *, panos_done_cb, void *);

/* Lists. */
int	panos_list_add(struct panos_list *, const char *, size_t);
void	panos_list_free(struct panos_list *);
/* Adds each non-empty line of a feed body that is not a # comment. */
int	panos_list_lines(struct panos_list *, const char *body, size_t len);
/* out gets the entries of a that b lacks, in a's order. */
int	panos_list_diff(const struct panos_list *a, const struct panos_list *b,
	    struct panos_list *out);
/* 1 when both hold the same strings, whatever the order. */
int	panos_list_same(const struct panos_list *, const struct panos_list *);

/*
 * panos_xml.c: requests and responses.  Parsing goes through libxml2
 * with no network access, no entity substitution, and no document type
 * declaration accepted at all.
 */
struct panos_reply {
	int	 success;	/* status="success" */
	int	 code;		/* the code attribute; -1 when absent */
	char	 msg[512];	/* the device's message, cleaned; "" none */
	void	*doc;		/* xmlDoc, freed by panos_reply_free */
};

struct panos_job {
	char	status[16];	/* ACT, PEND, FIN */
	char	result[16];	/* PEND, OK, FAIL */
	int	progress;	/* 0..100; -1 when absent */
	char	details[512];
};

/* 0 when the body is a <response> document; -1 (with why) otherwise. */
int	 panos_reply_parse(const char *body, size_t len, struct panos_reply *,
	    char *why, size_t whysz);
void	 panos_reply_free(struct panos_reply *);
/* 1 when the envelope says success (status and code). */
int	 panos_reply_ok(const struct panos_reply *);
/* The error as one line: "code 7 (object not present): message". */
void	 panos_reply_error(const struct panos_reply *, char *, size_t);
const char *panos_code_name(int code);
int	 panos_parse_key(const struct panos_reply *, char *, size_t);
/* 0 when every per-entry error is a harmless duplicate or absence. */
int	 panos_parse_uid(const struct panos_reply *, size_t *ignored,
	    char *err, size_t errsz);
/* Adds the IPs of one page that carry tag; *rows counts the page. */
int	 panos_parse_regip(const struct panos_reply *, const char *tag,
	    struct panos_list *out, size_t *rows);
/* Members of an entry or list answer; *exists 0 for "not present". */
int	 panos_parse_category(const struct panos_reply *,
	    struct panos_list *out, int *exists);
/* 1: a job was enqueued (id in jobid), 0: nothing to commit, -1: no. */
int	 panos_parse_commit(const struct panos_reply *, char *jobid, size_t);
int	 panos_parse_job(const struct panos_reply *, struct panos_job *);

/* XML text or attribute escaping; -1 for bytes XML 1.0 cannot carry. */
int	 panos_xml_escape(struct buf *, const char *);
/* An XPath string literal: '...', "...", or concat() when both occur. */
int	 panos_xpath_quote(struct buf *, const char *);
/* Appends "&name=value" (no "&" first), value percent-encoded. */
int	 panos_form_add(struct buf *, const char *name, const char *value);
/* A uid-message registering (or unregistering) v[from..to) with tag. */
int	 panos_uid_message(struct buf *, int unregister,
	    const struct panos_list *, size_t from, size_t to, const char *tag,
	    int64_t timeout);
/* The category's xpath for a vsys ("shared": the shared one). */
int	 panos_category_xpath(struct buf *, const char *vsys,
	    const char *name);
/* <member>s of v[from..to), wrapped in <wrap> when wrap is not NULL. */
int	 panos_members_element(struct buf *, const char *wrap,
	    const struct panos_list *, size_t from, size_t to);
/* The registered-ip op command of one page (start is 1-based). */
int	 panos_regip_cmd(struct buf *, const char *tag, size_t start);
/* The commit command; partial by admin when admin is not NULL. */
int	 panos_commit_cmd(struct buf *, const char *admin);
/* Cleans device text for a log line: one line, printable, bounded. */
void	 panos_clean(char *dst, size_t dstsz, const char *src, size_t len);

#endif
