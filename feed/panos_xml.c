/*
 * panos_xml.c: the pure half of the PAN-OS client.  Requests are built
 * with escaping at every level (XML text and attributes, XPath string
 * literals, form encoding); answers are read with libxml2: the
 * <response status code> envelope, its message from any of the places
 * PAN-OS puts one, and the result shapes of keygen, User-ID,
 * registered-ip, config get, commit and show jobs.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hmap.h"
#include "panos.h"
#include "util.h"

#define PANOS_XML_MAX	(64u << 20)	/* larger answers are refused */
#define PANOS_VALUE_MAX	1024		/* an IP or a key from the device */

static const struct {
	int		 code;
	const char	*name;
} codes[] = {
	{ 1, "unknown command" }, { 2, "internal error" },
	{ 3, "internal error" }, { 4, "internal error" },
	{ 5, "internal error" }, { 6, "bad xpath" },
	{ 7, "object not present" }, { 8, "object not unique" },
	{ 10, "reference count not zero" }, { 11, "internal error" },
	{ 12, "invalid object" }, { 13, "object not found" },
	{ 14, "operation not possible" }, { 15, "operation denied" },
	{ 16, "unauthorized" }, { 17, "invalid command" },
	{ 18, "malformed command" }, { 19, "success" }, { 20, "success" },
	{ 21, "internal error" }, { 22, "session timed out" },
	{ 400, "bad request" },
	{ 403, "forbidden: wrong key or credentials, or no rights" },
};

const char *
panos_code_name(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return (codes[i].name);
	return ("unknown code");
}

void
panos_clean(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t		i, o = 0;
	int		space = 0;
	unsigned char	c;

	if (dstsz == 0)
		return;
	for (i = 0; i < len && o + 2 < dstsz; i++) {
		c = (unsigned char)src[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = o > 0;
			continue;
		}
		if (space)
			dst[o++] = ' ';
		space = 0;
		/* Device text goes into log lines: plain printable ASCII. */
		dst[o++] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[o] = '\0';
}

/* The first child element of n called name, or NULL. */
static xmlNode *
child(const xmlNode *n, const char *name)
{
	xmlNode	*c;

	if (n == NULL)
		return (NULL);
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return (c);
	return (NULL);
}

/* Follows "a/b/c" from n, taking the first element of each name. */
static xmlNode *
path(const xmlNode *n, const char *p)
{
	xmlNode		*cur = NULL;
	char		 name[64];
	const char	*slash;
	size_t		 len;

	while (n != NULL && *p != '\0') {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len >= sizeof(name))
			return (NULL);
		memcpy(name, p, len);
		name[len] = '\0';
		n = cur = child(n, name);
		p += len + (slash != NULL);
	}
	return (cur);
}

static int
is_elem(const xmlNode *n, const char *name)
{
	return (n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0);
}

static int
has_elements(const xmlNode *n)
{
	const xmlNode	*c;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return (1);
	return (0);
}

/* Appends the cleaned text of n to dst, after "; " when dst has some. */
static void
add_text(const xmlNode *n, char *dst, size_t dstsz)
{
	xmlChar	*s;
	size_t	 o = strlen(dst);

	if (n == NULL || (s = xmlNodeGetContent(n)) == NULL)
		return;
	if (o > 0 && o + 2 < dstsz && s[0] != '\0') {
		memcpy(dst + o, "; ", 3);
		o += 2;
	}
	panos_clean(dst + o, dstsz - o, (const char *)s,
	    strlen((const char *)s));
	xmlFree(s);
	/* A line of only spaces leaves a dangling separator. */
	o = strlen(dst);
	if (o >= 2 && strcmp(dst + o - 2, "; ") == 0)
		dst[o - 2] = '\0';
}

/*
 * The message of an answer: msg/line*, msg, result/msg/line* or
 * result/msg.  Lines that hold elements (User-ID detail) are skipped.
 */
static void
find_msg(const xmlNode *root, char *dst, size_t dstsz)
{
	static const char *const where[] = { "msg", "result/msg" };
	const xmlNode		*m, *l;
	size_t			 i;
	int			 lines;

	dst[0] = '\0';
	for (i = 0; i < 2 && dst[0] == '\0'; i++) {
		if ((m = path(root, where[i])) == NULL)
			continue;
		lines = 0;
		for (l = m->children; l != NULL; l = l->next)
			if (is_elem(l, "line")) {
				lines++;
				if (!has_elements(l))
					add_text(l, dst, dstsz);
			}
		if (lines == 0 && !has_elements(m))
			add_text(m, dst, dstsz);
	}
}

/* An attribute as an int in [0, max], or -1. */
static int
prop_int(const xmlNode *n, const char *name, int max)
{
	xmlChar	*s;
	char	*end;
	long	 v;

	if ((s = xmlGetProp(n, (const xmlChar *)name)) == NULL)
		return (-1);
	v = strtol((const char *)s, &end, 10);
	if (end == (char *)s || *end != '\0' || v < 0 || v > max)
		v = -1;
	xmlFree(s);
	return ((int)v);
}

int
panos_reply_parse(const char *body, size_t len, struct panos_reply *r,
    char *why, size_t whysz)
{
	xmlDoc	*doc;
	xmlNode	*root;
	xmlChar	*s;

	memset(r, 0, sizeof(*r));
	r->code = -1;
	if (len == 0 || len > PANOS_XML_MAX) {
		snprintf(why, whysz, len == 0 ? "empty answer" :
		    "answer too large");
		return (-1);
	}
	/* No NOENT, DTDLOAD or HUGE: entities stay unexpanded, limits on. */
	doc = xmlReadMemory(body, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		snprintf(why, whysz, "answer is not XML");
		return (-1);
	}
	/* PAN-OS never sends a DOCTYPE; refusing one rules out entities. */
	if (doc->intSubset != NULL || doc->extSubset != NULL ||
	    (root = xmlDocGetRootElement(doc)) == NULL ||
	    strcmp((const char *)root->name, "response") != 0) {
		xmlFreeDoc(doc);
		snprintf(why, whysz, "answer is not a PAN-OS <response>");
		return (-1);
	}
	s = xmlGetProp(root, (const xmlChar *)"status");
	r->success = s != NULL && strcmp((const char *)s, "success") == 0;
	xmlFree(s);
	r->code = prop_int(root, "code", 99999);
	find_msg(root, r->msg, sizeof(r->msg));
	r->doc = doc;
	return (0);
}

void
panos_reply_free(struct panos_reply *r)
{
	if (r->doc != NULL)
		xmlFreeDoc(r->doc);
	r->doc = NULL;
}

int
panos_reply_ok(const struct panos_reply *r)
{
	return (r->success && (r->code == -1 || r->code == 19 ||
	    r->code == 20));
}

void
panos_reply_error(const struct panos_reply *r, char *dst, size_t dstsz)
{
	if (r->code >= 0)
		snprintf(dst, dstsz, "code %d (%s)%s%s", r->code,
		    panos_code_name(r->code), r->msg[0] ? ": " : "", r->msg);
	else
		snprintf(dst, dstsz, "%s", r->msg[0] ? r->msg :
		    "the device answered with an error and no message");
}

static xmlNode *
root_of(const struct panos_reply *r)
{
	return (r->doc != NULL ? xmlDocGetRootElement(r->doc) : NULL);
}

/* Raw text of n when it is one token of printable ASCII; else -1. */
static int
token_text(const xmlNode *n, char *dst, size_t dstsz)
{
	xmlChar		*s;
	const char	*p, *e;
	size_t		 len;
	int		 rv = -1;

	if (n == NULL || (s = xmlNodeGetContent(n)) == NULL)
		return (-1);
	p = (const char *)s;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	for (e = p; *e > 0x20 && *e < 0x7f; e++)
		;
	len = (size_t)(e - p);
	while (*e == ' ' || *e == '\t' || *e == '\n' || *e == '\r')
		e++;
	/* Anything else inside (a CR, say) must not reach a header. */
	if (*e == '\0' && len > 0 && len < dstsz) {
		memcpy(dst, p, len);
		dst[len] = '\0';
		rv = 0;
	}
	xmlFree(s);
	return (rv);
}

int
panos_parse_key(const struct panos_reply *r, char *dst, size_t dstsz)
{
	if (!panos_reply_ok(r))
		return (-1);
	return (token_text(path(root_of(r), "result/key"), dst, dstsz));
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	return (n >= m && strncmp(s + n - m, suffix, m) == 0);
}

/* Sorts the per-entry messages of one payload into ignored and real. */
static void
uid_entries(const xmlNode *payload, size_t *ignored, size_t *real,
    char *err, size_t errsz)
{
	const xmlNode	*sec, *e;
	xmlChar		*msg, *ip;
	char		 m[256], a[80], n[32];

	for (sec = payload->children; sec != NULL; sec = sec->next) {
		if (sec->type != XML_ELEMENT_NODE)
			continue;
		for (e = sec->children; e != NULL; e = e->next) {
			if (!is_elem(e, "entry") || (msg = xmlGetProp(e,
			    (const xmlChar *)"message")) == NULL)
				continue;
			/* The device's words for a harmless no-op. */
			if (ends_with((const char *)msg,
			    "already exists, ignore") ||
			    ends_with((const char *)msg,
			    "does not exist, ignore unreg"))
				(*ignored)++;
			else if ((*real)++ == 0) {
				ip = xmlGetProp(e, (const xmlChar *)"ip");
				panos_clean(m, sizeof(m), (const char *)msg,
				    strlen((const char *)msg));
				panos_clean(a, sizeof(a), ip != NULL ?
				    (const char *)ip : "?", ip != NULL ?
				    strlen((const char *)ip) : 1);
				/* The section's name is the device's too. */
				panos_clean(n, sizeof(n),
				    (const char *)sec->name,
				    strlen((const char *)sec->name));
				snprintf(err, errsz, "%s %s: %s", n, a, m);
				xmlFree(ip);
			}
			xmlFree(msg);
		}
	}
}

int
panos_parse_uid(const struct panos_reply *r, size_t *ignored, char *err,
    size_t errsz)
{
	static const char *const where[] = { "msg", "result/msg" };
	const xmlNode		*m, *l, *p;
	size_t			 i, real = 0;

	*ignored = 0;
	if (panos_reply_ok(r))
		return (0);
	for (i = 0; i < 2; i++) {
		if ((m = path(root_of(r), where[i])) == NULL)
			continue;
		for (l = m->children; l != NULL; l = l->next)
			if (is_elem(l, "line") && (p = path(l,
			    "uid-response/payload")) != NULL)
				uid_entries(p, ignored, &real, err, errsz);
	}
	if (real == 0 && *ignored == 0) {
		panos_reply_error(r, err, errsz);
		return (-1);
	}
	if (real > 1) {
		size_t	o = strlen(err);

		snprintf(err + o, errsz - o, " (and %zu more)", real - 1);
	}
	return (real > 0 ? -1 : 0);
}

/* 1 when the entry has no <tag>, or lists tag among its members. */
static int
entry_has_tag(const xmlNode *e, const char *tag)
{
	const xmlNode	*t, *m;
	xmlChar		*s;
	int		 found = 0;

	if ((t = child(e, "tag")) == NULL)
		return (1);
	for (m = t->children; m != NULL && !found; m = m->next) {
		if (!is_elem(m, "member") ||
		    (s = xmlNodeGetContent(m)) == NULL)
			continue;
		found = strcmp((const char *)s, tag) == 0;
		xmlFree(s);
	}
	return (found);
}

int
panos_parse_regip(const struct panos_reply *r, const char *tag,
    struct panos_list *out, size_t *rows)
{
	const xmlNode	*res, *e;
	xmlChar		*ip;
	int		 rv = 0;

	*rows = 0;
	if (!panos_reply_ok(r))
		return (-1);
	if ((res = child(root_of(r), "result")) == NULL)
		return (0);
	/* PAN-OS 7.1 writes big answers to a file instead. */
	if (path(res, "msg/line/outfile") != NULL)
		return (-1);
	for (e = res->children; e != NULL && rv == 0; e = e->next) {
		if (!is_elem(e, "entry"))
			continue;
		(*rows)++;
		if ((ip = xmlGetProp(e, (const xmlChar *)"ip")) == NULL)
			continue;
		if (strlen((const char *)ip) < PANOS_VALUE_MAX &&
		    entry_has_tag(e, tag))
			rv = panos_list_add(out, (const char *)ip,
			    strlen((const char *)ip));
		xmlFree(ip);
	}
	return (rv);
}

int
panos_parse_category(const struct panos_reply *r, struct panos_list *out,
    int *exists)
{
	const xmlNode	*res, *n, *list, *m;
	xmlChar		*s;
	int		 rv = 0;

	*exists = 0;
	if (r->code == 7)	/* object not present, success or error */
		return (0);
	if (!panos_reply_ok(r))
		return (-1);
	if ((res = child(root_of(r), "result")) == NULL || !has_elements(res))
		return (0);
	/* A get of the entry answers entry/list, a get of the list, list. */
	if ((n = child(res, "entry")) != NULL)
		list = child(n, "list");
	else if ((list = child(res, "list")) == NULL)
		return (-1);
	*exists = 1;
	for (m = list != NULL ? list->children : NULL; m != NULL && rv == 0;
	    m = m->next) {
		if (!is_elem(m, "member") ||
		    (s = xmlNodeGetContent(m)) == NULL)
			continue;
		rv = panos_list_add(out, (const char *)s,
		    strlen((const char *)s));
		xmlFree(s);
	}
	return (rv);
}

int
panos_parse_commit(const struct panos_reply *r, char *jobid, size_t sz)
{
	const xmlNode	*job;
	size_t		 i;

	if (!panos_reply_ok(r))
		return (-1);
	if ((job = path(root_of(r), "result/job")) == NULL)
		return (0);
	if (token_text(job, jobid, sz) == -1)
		return (-1);
	for (i = 0; jobid[i] != '\0'; i++)
		if (jobid[i] < '0' || jobid[i] > '9')
			return (-1);
	return (1);
}

int
panos_parse_job(const struct panos_reply *r, struct panos_job *j)
{
	const xmlNode	*job, *d, *l;
	char		 tmp[16], *end;
	long		 v;

	memset(j, 0, sizeof(*j));
	j->progress = -1;
	if (!panos_reply_ok(r) ||
	    (job = path(root_of(r), "result/job")) == NULL)
		return (-1);
	add_text(child(job, "status"), j->status, sizeof(j->status));
	add_text(child(job, "result"), j->result, sizeof(j->result));
	if (token_text(child(job, "progress"), tmp, sizeof(tmp)) == 0) {
		v = strtol(tmp, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 100)
			j->progress = (int)v;
	}
	if ((d = child(job, "details")) != NULL) {
		for (l = d->children; l != NULL; l = l->next)
			if (is_elem(l, "line"))
				add_text(l, j->details, sizeof(j->details));
	}
	return (j->status[0] != '\0' ? 0 : -1);
}

int
panos_xml_escape(struct buf *b, const char *s)
{
	int	rv = 0;

	for (; *s != '\0' && rv == 0; s++) {
		switch (*s) {
		case '&': rv = buf_addstr(b, "&amp;"); break;
		case '<': rv = buf_addstr(b, "&lt;"); break;
		case '>': rv = buf_addstr(b, "&gt;"); break;
		case '"': rv = buf_addstr(b, "&quot;"); break;
		case '\'': rv = buf_addstr(b, "&apos;"); break;
		default:
			/* XML 1.0 has no spelling for most control bytes. */
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				return (-1);
			rv = buf_addch(b, *s);
		}
	}
	return (rv);
}

/* One literal without the quote it is wrapped in. */
static int
quote_part(struct buf *b, const char *s, size_t len, char q)
{
	return (buf_addch(b, q) == -1 || buf_add(b, s, len) == -1 ||
	    buf_addch(b, q) == -1 ? -1 : 0);
}

int
panos_xpath_quote(struct buf *b, const char *s)
{
	const char	*p, *q;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return (-1);
	if (strchr(s, '\'') == NULL)
		return (quote_part(b, s, strlen(s), '\''));
	if (strchr(s, '"') == NULL)
		return (quote_part(b, s, strlen(s), '"'));
	/* Both quotes: concat('a', "'", 'b', ...). */
	if (buf_addstr(b, "concat(") == -1)
		return (-1);
	for (p = s; *p != '\0'; p = q) {
		if (p != s && buf_addch(b, ',') == -1)
			return (-1);
		if (*p == '\'') {
			for (q = p; *q == '\''; q++)
				;
			if (quote_part(b, p, (size_t)(q - p), '"') == -1)
				return (-1);
		} else {
			q = strchr(p, '\'');
			if (q == NULL)
				q = p + strlen(p);
			if (quote_part(b, p, (size_t)(q - p), '\'') == -1)
				return (-1);
		}
	}
	return (buf_addch(b, ')'));
}

int
panos_form_add(struct buf *b, const char *name, const char *value)
{
	char	*esc;
	int	 rv;

	/* curl_easy_escape ignores its handle since 7.82; free: curl_free. */
	if ((esc = curl_easy_escape(NULL, value, 0)) == NULL)
		return (-1);
	rv = buf_printf(b, "%s%s=%s", b->len > 0 ? "&" : "", name, esc);
	curl_free(esc);
	return (rv);
}

int
panos_uid_message(struct buf *b, int unregister, const struct panos_list *l,
    size_t from, size_t to, const char *tag, int64_t timeout)
{
	const char	*sec = unregister ? "unregister" : "register";
	size_t		 i;

	if (buf_printf(b, "<uid-message><version>2.0</version>"
	    "<type>update</type><payload><%s>", sec) == -1)
		return (-1);
	for (i = from; i < to && i < l->n; i++) {
		if (buf_addstr(b, "<entry ip=\"") == -1 ||
		    panos_xml_escape(b, l->v[i]) == -1 ||
		    buf_addstr(b, unregister ? "\">" :
		    "\" persistent=\"1\">") == -1 ||
		    buf_addstr(b, "<tag><member") == -1 ||
		    (!unregister && timeout > 0 && buf_printf(b,
		    " timeout=\"%lld\"", (long long)timeout) == -1) ||
		    buf_addch(b, '>') == -1 || panos_xml_escape(b, tag) == -1 ||
		    buf_addstr(b, "</member></tag></entry>") == -1)
			return (-1);
	}
	return (buf_printf(b, "</%s></payload></uid-message>", sec));
}

int
panos_category_xpath(struct buf *b, const char *vsys, const char *name)
{
	if (vsys == NULL || vsys[0] == '\0')
		vsys = "vsys1";
	if (strcmp(vsys, "shared") == 0) {
		if (buf_addstr(b, "/config/shared") == -1)
			return (-1);
	} else if (buf_addstr(b, "/config/devices/entry[@name="
	    "'localhost.localdomain']/vsys/entry[@name=") == -1 ||
	    panos_xpath_quote(b, vsys) == -1 || buf_addch(b, ']') == -1)
		return (-1);
	if (buf_addstr(b, "/profiles/custom-url-category/entry[@name=") ==
	    -1 || panos_xpath_quote(b, name) == -1 || buf_addch(b, ']') == -1)
		return (-1);
	return (0);
}

int
panos_members_element(struct buf *b, const char *wrap,
    const struct panos_list *l, size_t from, size_t to)
{
	size_t	i;

	if (wrap != NULL && from >= to)
		return (buf_printf(b, "<%s/>", wrap));
	if (wrap != NULL && buf_printf(b, "<%s>", wrap) == -1)
		return (-1);
	for (i = from; i < to && i < l->n; i++)
		if (buf_addstr(b, "<member>") == -1 ||
		    panos_xml_escape(b, l->v[i]) == -1 ||
		    buf_addstr(b, "</member>") == -1)
			return (-1);
	return (wrap != NULL ? buf_printf(b, "</%s>", wrap) : 0);
}

int
panos_regip_cmd(struct buf *b, const char *tag, size_t start)
{
	if (buf_printf(b, "<show><object><registered-ip><limit>%d</limit>"
	    "<start-point>%zu</start-point><tag><entry name=\"", PANOS_PAGE,
	    start) == -1 || panos_xml_escape(b, tag) == -1)
		return (-1);
	return (buf_addstr(b, "\"/></tag></registered-ip></object></show>"));
}

int
panos_commit_cmd(struct buf *b, const char *admin)
{
	if (admin == NULL)
		return (buf_addstr(b, "<commit></commit>"));
	if (buf_addstr(b, "<commit><partial><admin><member>") == -1 ||
	    panos_xml_escape(b, admin) == -1)
		return (-1);
	return (buf_addstr(b, "</member></admin></partial></commit>"));
}

int
panos_list_add(struct panos_list *l, const char *s, size_t len)
{
	char	**v, *copy;
	size_t	  cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 64;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			return (-1);
		l->v = v;
		l->cap = cap;
	}
	if ((copy = strndup(s, len)) == NULL)
		return (-1);
	l->v[l->n++] = copy;
	return (0);
}

void
panos_list_free(struct panos_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
panos_list_lines(struct panos_list *l, const char *body, size_t len)
{
	const char	*p = body, *end = body + len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		/* The empty-feed line is a comment, not a member. */
		if (nl > p && *p != '#' &&
		    panos_list_add(l, p, (size_t)(nl - p)) == -1)
			return (-1);
	}
	return (0);
}

int
panos_list_diff(const struct panos_list *a, const struct panos_list *b,
    struct panos_list *out)
{
	struct hmap	set = { 0 };
	size_t		i;
	int		rv = -1;

	/* The map borrows b's strings, which outlive it. */
	for (i = 0; i < b->n; i++)
		if (hmap_put(&set, b->v[i], strlen(b->v[i]), b->v[i]) == -1)
			goto out;
	for (i = 0; i < a->n; i++)
		if (hmap_get(&set, a->v[i], strlen(a->v[i])) == NULL &&
		    panos_list_add(out, a->v[i], strlen(a->v[i])) == -1)
			goto out;
	rv = 0;
 out:
	hmap_free(&set);
	return (rv);
}

int
panos_list_same(const struct panos_list *a, const struct panos_list *b)
{
	struct panos_list	d1 = { 0 }, d2 = { 0 };
	int			same;

	/* Out of memory reads as "differs": the caller then rewrites. */
	same = panos_list_diff(a, b, &d1) == 0 &&
	    panos_list_diff(b, a, &d2) == 0 && d1.n == 0 && d2.n == 0;
	panos_list_free(&d1);
	panos_list_free(&d2);
	return (same);
}
