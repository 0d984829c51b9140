/*
 * fuzz_panos_xml.c: arbitrary bytes as a PAN-OS XML API answer, read the
 * way panos.c reads one: the envelope, then every result shape (keygen,
 * User-ID, registered-ip, config get, commit, show jobs).  Checks, beyond
 * no crash and no sanitizer report: every text meant for a log line is
 * one line with no control byte (device text printable ASCII), a key is
 * one printable token, a job id is digits, a progress is -1 or 0..100.
 * The strings read back then go the other way: category members escaped
 * into a members element parse back unchanged, registered IPs make a
 * well-formed uid-message with one entry each, and an XPath literal made
 * of a member evaluates to it (libxml2's XPath engine as the judge).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "panos.h"
#include "util.h"

#define FUZZ_MAX_INPUT	(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stops the run with the failed invariant and the text concerned. */
static void
check(int cond, const char *what, const char *text)
{
	if (cond)
		return;
	fprintf(stderr, "invariant failed: %s: \"%.300s\"\n", what,
	    text != NULL ? text : "(null)");
	abort();
}

/* 1 when s has no byte below 0x20 and no DEL: it stays one log line. */
static int
one_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (0);
	return (1);
}

/* 1 when s is printable ASCII only (what panos_clean promises). */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (0);
	return (1);
}

/* The envelope and the error line made of it. */
static void
check_envelope(const struct panos_reply *r)
{
	char	err[640];

	check(printable(r->msg), "reply message is printable ASCII",
	    r->msg);
	check(strlen(r->msg) < sizeof(r->msg), "reply message bounded",
	    r->msg);
	check(r->code >= -1 && r->code <= 99999, "code in range", r->msg);
	panos_reply_error(r, err, sizeof(err));
	check(err[0] != '\0' && printable(err), "error line is printable",
	    err);
}

/* keygen, commit and show jobs answers. */
static void
check_scalars(const struct panos_reply *r)
{
	struct panos_job	 j;
	char			 key[1024], jobid[32];
	size_t			 i;
	int			 rv;

	if (panos_parse_key(r, key, sizeof(key)) == 0) {
		check(key[0] != '\0', "key not empty", key);
		for (i = 0; key[i] != '\0'; i++)
			check(key[i] > 0x20 && key[i] < 0x7f,
			    "key is one printable token", key);
	}
	rv = panos_parse_commit(r, jobid, sizeof(jobid));
	check(rv >= -1 && rv <= 1, "commit verdict in -1..1", jobid);
	if (rv == 1) {
		check(jobid[0] != '\0', "job id not empty", jobid);
		for (i = 0; jobid[i] != '\0'; i++)
			check(jobid[i] >= '0' && jobid[i] <= '9',
			    "job id is digits", jobid);
	}
	if (panos_parse_job(r, &j) == 0) {
		check(j.status[0] != '\0', "job status not empty", j.status);
		check(printable(j.status) && printable(j.result) &&
		    printable(j.details), "job text printable", j.details);
		check(j.progress >= -1 && j.progress <= 100,
		    "progress -1 or 0..100", j.status);
	}
}

/* The User-ID verdict. */
static void
check_uid(const struct panos_reply *r)
{
	char	err[600];
	size_t	ignored;
	int	rv;

	err[0] = '\0';
	rv = panos_parse_uid(r, &ignored, err, sizeof(err));
	check(rv == 0 || rv == -1, "uid verdict 0 or -1", err);
	if (rv == -1)
		check(err[0] != '\0' && one_line(err),
		    "uid error is one non-empty line", err);
}

/* Parses body as a <response>; NULL on refusal (then aborts if must). */
static xmlDoc *
reparse(const char *body, size_t len)
{
	return (xmlReadMemory(body, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

/*
 * The members, escaped into a config element inside an answer, parse
 * back to the same list.  Strings the escaper refuses are left out.
 */
static void
roundtrip_members(const struct panos_list *l)
{
	struct panos_list	 ok = { 0 }, back = { 0 };
	struct panos_reply	 r;
	struct buf		 b = { 0 }, e = { 0 };
	char			 why[128];
	size_t			 i;
	int			 exists;

	for (i = 0; i < l->n; i++) {
		e.len = 0;
		if (panos_xml_escape(&e, l->v[i]) == 0 &&
		    panos_list_add(&ok, l->v[i], strlen(l->v[i])) == -1)
			abort();
	}
	if (buf_addstr(&b, "<response status=\"success\" code=\"19\">"
	    "<result><entry name=\"x\">") == -1 ||
	    panos_members_element(&b, "list", &ok, 0, ok.n) == -1 ||
	    buf_addstr(&b, "</entry></result></response>") == -1)
		abort();
	check(panos_reply_parse(b.data, b.len, &r, why, sizeof(why)) == 0,
	    "members element parses", b.data);
	check(panos_parse_category(&r, &back, &exists) == 0 && exists,
	    "members element reads as a category", b.data);
	check(back.n == ok.n, "as many members read back", b.data);
	for (i = 0; i < ok.n; i++)
		check(strcmp(back.v[i], ok.v[i]) == 0,
		    "member reads back unchanged", ok.v[i]);
	panos_reply_free(&r);
	panos_list_free(&ok);
	panos_list_free(&back);
	buf_free(&b);
	buf_free(&e);
}

/* A uid-message of the IPs is well-formed XML with one entry each. */
static void
roundtrip_uid(const struct panos_list *l, const char *tag)
{
	struct buf	 b = { 0 };
	xmlDoc		*doc;
	xmlNode		*n;
	size_t		 entries = 0;

	if (panos_uid_message(&b, 0, l, 0, l->n, tag, 60) == -1) {
		buf_free(&b);
		return;		/* a byte XML cannot carry: refused */
	}
	doc = reparse(b.data, b.len);
	check(doc != NULL, "uid-message is well-formed", b.data);
	n = xmlDocGetRootElement(doc);
	for (n = n->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "payload") == 0)
			break;
	check(n != NULL && n->children != NULL, "uid-message has a payload",
	    b.data);
	for (n = n->children->children; n != NULL; n = n->next)
		entries += n->type == XML_ELEMENT_NODE;
	check(entries == l->n, "one entry per IP", b.data);
	xmlFreeDoc(doc);
	buf_free(&b);
}

/* An XPath literal made of s evaluates to s. */
static void
roundtrip_xpath(xmlXPathContext *ctx, const char *s)
{
	struct buf		 b = { 0 };
	xmlXPathObject		*o;

	if (buf_addstr(&b, "string(") == -1)
		abort();
	if (panos_xpath_quote(&b, s) == -1) {
		buf_free(&b);
		return;
	}
	if (buf_addch(&b, ')') == -1)
		abort();
	o = xmlXPathEvalExpression((const xmlChar *)b.data, ctx);
	check(o != NULL && o->type == XPATH_STRING, "XPath literal "
	    "evaluates to a string", b.data);
	check(strcmp((const char *)o->stringval, s) == 0,
	    "XPath literal evaluates to its string", b.data);
	xmlXPathFreeObject(o);
	buf_free(&b);
}

/* The list shapes, then the strings read going the other way. */
static void
check_lists(const struct panos_reply *r)
{
	static xmlDoc		*xdoc;
	static xmlXPathContext	*xctx;
	struct panos_list	 ips = { 0 }, members = { 0 }, d = { 0 };
	size_t			 rows, i;
	int			 exists;

	if (xctx == NULL && ((xdoc = xmlNewDoc((const xmlChar *)"1.0")) ==
	    NULL || (xctx = xmlXPathNewContext(xdoc)) == NULL))
		abort();
	if (panos_parse_regip(r, "lumu", &ips, &rows) == 0) {
		check(ips.n <= rows, "no more IPs than rows", NULL);
		roundtrip_uid(&ips, "lumu");
	}
	if (panos_parse_category(r, &members, &exists) == 0) {
		check(exists || members.n == 0, "members only when it exists",
		    NULL);
		roundtrip_members(&members);
		for (i = 0; i < members.n && i < 8; i++)
			roundtrip_xpath(xctx, members.v[i]);
		check(panos_list_same(&members, &members),
		    "a list is the same as itself", NULL);
		if (panos_list_diff(&members, &ips, &d) == 0)
			check(d.n <= members.n, "diff no longer than list",
			    NULL);
	}
	panos_list_free(&ips);
	panos_list_free(&members);
	panos_list_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct panos_reply	r;
	char			why[128];

	if (size > FUZZ_MAX_INPUT)
		return (0);
	why[0] = '\0';
	if (panos_reply_parse((const char *)data, size, &r, why,
	    sizeof(why)) == -1) {
		check(why[0] != '\0' && printable(why), "refusal says why",
		    why);
		check(r.doc == NULL, "no document kept on refusal", why);
		return (0);
	}
	check(r.doc != NULL, "a document is kept", NULL);
	check_envelope(&r);
	check_scalars(&r);
	check_uid(&r);
	check_lists(&r);
	panos_reply_free(&r);
	return (0);
}
