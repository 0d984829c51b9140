/*
 * test_panos.c: the pure half of the PAN-OS client: request building
 * (XML escaping, XPath quoting, form encoding, User-ID messages,
 * category elements, op commands) and response parsing (the envelope
 * and its messages, keygen, User-ID errors, registered-ip pages,
 * category reads, commit and job states), plus the list helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "panos.h"
#include "tap.h"
#include "util.h"

/* Builds with f into a fresh buffer; returns the text or "(fail)". */
#define BUILD(b, call)	(buf_free(&(b)), (call) == 0 ?			\
	((b).data != NULL ? (b).data : "") : "(fail)")

static struct panos_list
list_of(const char *const *v)
{
	struct panos_list	l = { 0 };

	for (; *v != NULL; v++)
		if (panos_list_add(&l, *v, strlen(*v)) == -1)
			abort();
	return (l);
}

/* Parses body; the reply must be freed by the caller. */
static int
parse(const char *body, struct panos_reply *r)
{
	char	why[128];

	return (panos_reply_parse(body, strlen(body), r, why, sizeof(why)));
}

static void
test_escaping(void)
{
	struct buf	b = { 0 };

	STR(BUILD(b, panos_xml_escape(&b, "a&b<c>\"d'e")),
	    "a&amp;b&lt;c&gt;&quot;d&apos;e", "XML escaping of the five");
	STR(BUILD(b, panos_xml_escape(&b, "evil.example/a?b=1&c=2")),
	    "evil.example/a?b=1&amp;c=2", "URL members keep = and escape &");
	IS(panos_xml_escape(&b, "bad\001byte"), -1,
	    "a control byte cannot be sent as XML");
	STR(BUILD(b, panos_xpath_quote(&b, "Lumu Blocklist")),
	    "'Lumu Blocklist'", "XPath literal in single quotes");
	STR(BUILD(b, panos_xpath_quote(&b, "Bob's list")),
	    "\"Bob's list\"", "an apostrophe: double quotes");
	STR(BUILD(b, panos_xpath_quote(&b, "a'b\"c")),
	    "concat('a',\"'\",'b\"c')", "both quotes: concat()");
	STR(BUILD(b, panos_xpath_quote(&b, "'x\"")),
	    "concat(\"'\",'x\"')", "both quotes, leading apostrophe");
	STR(BUILD(b, panos_form_add(&b, "type", "a b&c=d/\xc3\xa9") == 0 ?
	    panos_form_add(&b, "key2", "+") : -1),
	    "type=a%20b%26c%3Dd%2F%C3%A9&key2=%2B",
	    "form values percent-encoded, joined by &");
	buf_free(&b);
}

static void
test_requests(void)
{
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1",
	    "198.51.100.7", NULL };
	struct panos_list	l = list_of(ips);
	struct buf		b = { 0 };

	STR(BUILD(b, panos_uid_message(&b, 0, &l, 0, 2, "lumu<&>", 3600)),
	    "<uid-message><version>2.0</version><type>update</type>"
	    "<payload><register>"
	    "<entry ip=\"192.0.2.1\" persistent=\"1\"><tag><member "
	    "timeout=\"3600\">lumu&lt;&amp;&gt;</member></tag></entry>"
	    "<entry ip=\"2001:db8::1\" persistent=\"1\"><tag><member "
	    "timeout=\"3600\">lumu&lt;&amp;&gt;</member></tag></entry>"
	    "</register></payload></uid-message>",
	    "register batch: persistent, timeout, escaped tag, bounds");
	STR(BUILD(b, panos_uid_message(&b, 1, &l, 2, 10, "t", 0)),
	    "<uid-message><version>2.0</version><type>update</type>"
	    "<payload><unregister><entry ip=\"198.51.100.7\"><tag><member>t"
	    "</member></tag></entry></unregister></payload></uid-message>",
	    "unregister batch: no timeout, stops at the list's end");
	STR(BUILD(b, panos_uid_message(&b, 0, &l, 0, 1, "t", 0)),
	    "<uid-message><version>2.0</version><type>update</type>"
	    "<payload><register><entry ip=\"192.0.2.1\" persistent=\"1\">"
	    "<tag><member>t</member></tag></entry></register></payload>"
	    "</uid-message>", "timeout 0 sends no timeout attribute");
	STR(BUILD(b, panos_category_xpath(&b, "vsys2", "Lumu's list")),
	    "/config/devices/entry[@name='localhost.localdomain']/vsys/"
	    "entry[@name='vsys2']/profiles/custom-url-category/entry[@name="
	    "\"Lumu's list\"]", "category xpath of a vsys");
	STR(BUILD(b, panos_category_xpath(&b, "shared", "L")),
	    "/config/shared/profiles/custom-url-category/entry[@name='L']",
	    "category xpath of the shared scope");
	STR(BUILD(b, panos_category_xpath(&b, NULL, "L")),
	    "/config/devices/entry[@name='localhost.localdomain']/vsys/"
	    "entry[@name='vsys1']/profiles/custom-url-category/entry[@name="
	    "'L']", "vsys1 by default");
	panos_list_free(&l);
	l = list_of((const char *const[]){ "a.example/", "b.example/?x=1&y",
	    NULL });
	STR(BUILD(b, panos_members_element(&b, "list", &l, 0, 2)),
	    "<list><member>a.example/</member><member>b.example/?x=1&amp;y"
	    "</member></list>", "members wrapped in <list>");
	STR(BUILD(b, panos_members_element(&b, NULL, &l, 1, 2)),
	    "<member>b.example/?x=1&amp;y</member>", "a chunk, unwrapped");
	STR(BUILD(b, panos_members_element(&b, "list", &l, 2, 2)),
	    "<list/>", "an empty list");
	STR(BUILD(b, panos_regip_cmd(&b, "lumu\"x", 501)),
	    "<show><object><registered-ip><limit>500</limit><start-point>501"
	    "</start-point><tag><entry name=\"lumu&quot;x\"/></tag>"
	    "</registered-ip></object></show>", "registered-ip page command");
	STR(BUILD(b, panos_commit_cmd(&b, NULL)), "<commit></commit>",
	    "full commit");
	STR(BUILD(b, panos_commit_cmd(&b, "api&admin")),
	    "<commit><partial><admin><member>api&amp;admin</member></admin>"
	    "</partial></commit>", "partial commit by admin");
	panos_list_free(&l);
	buf_free(&b);
}

static void
test_envelope(void)
{
	struct panos_reply	r;
	char			why[128], err[600];

	OK(parse("<response status=\"success\" code=\"19\"><result/>"
	    "</response>", &r) == 0 && panos_reply_ok(&r) && r.code == 19,
	    "success code 19 is ok");
	panos_reply_free(&r);
	OK(parse("<response status=\"success\" code=\"7\"><result/>"
	    "</response>", &r) == 0 && !panos_reply_ok(&r),
	    "success with code 7 is not ok");
	panos_reply_free(&r);
	OK(parse("<response status = 'error' code = '403'><result><msg>"
	    "Invalid Credential</msg></result></response>", &r) == 0 &&
	    !r.success && r.code == 403, "error 403 with spaced attributes");
	STR(r.msg, "Invalid Credential", "message from result/msg");
	panos_reply_error(&r, err, sizeof(err));
	STR(err, "code 403 (forbidden: wrong key or credentials, or no "
	    "rights): Invalid Credential", "error line names the code");
	panos_reply_free(&r);
	OK(parse("<response status=\"error\" code=\"6\"><msg><line>bad\n"
	    "  xpath</line><line>second\tline</line></msg></response>",
	    &r) == 0, "msg/line answer parses");
	STR(r.msg, "bad xpath; second line", "lines joined, spaces folded");
	panos_reply_free(&r);
	OK(parse("<response status=\"error\"><result><msg><line>Commit lock "
	    "is already held</line></msg></result></response>", &r) == 0,
	    "result/msg/line answer parses");
	STR(r.msg, "Commit lock is already held", "message from "
	    "result/msg/line");
	panos_reply_error(&r, err, sizeof(err));
	STR(err, "Commit lock is already held", "no code: the message");
	panos_reply_free(&r);
	OK(parse("<response status=\"error\"><msg>caf\xc3\xa9 \t ok</msg>"
	    "</response>", &r) == 0, "UTF-8 in a message parses");
	STR(r.msg, "caf?? ok", "non-ASCII bytes masked in messages");
	panos_reply_free(&r);
	IS(parse("<response status=\"error\"><msg>a\x01" "b</msg></response>",
	    &r), -1, "a control byte makes the document invalid");
	IS(panos_reply_parse("<html>502 Bad Gateway</html>", 28, &r, why,
	    sizeof(why)), -1, "an HTML page is refused");
	STR(why, "answer is not a PAN-OS <response>", "and says why");
	IS(panos_reply_parse("not xml at all", 14, &r, why, sizeof(why)), -1,
	    "garbage is refused");
	IS(panos_reply_parse("", 0, &r, why, sizeof(why)), -1,
	    "an empty body is refused");
	IS(parse("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaa\">"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><response status="
	    "\"success\"><result><key>&b;</key></result></response>", &r), -1,
	    "a DOCTYPE (entity expansion) is refused");
	IS(parse("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><response status="
	    "\"success\"/>", &r), -1, "an external DTD is refused");
}

static void
test_key_uid(void)
{
	struct panos_reply	r;
	char			key[64], err[600];
	size_t			ign;

	parse("<response status=\"success\"><result><key>\n LUFRPT1x+/== \n"
	    "</key></result></response>", &r);
	OK(panos_parse_key(&r, key, sizeof(key)) == 0, "keygen answer read");
	STR(key, "LUFRPT1x+/==", "key trimmed");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result><key>a\r\nX-Evil: 1"
	    "</key></result></response>", &r);
	IS(panos_parse_key(&r, key, sizeof(key)), -1,
	    "a key that would break the header is refused");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result><uid-response><version>"
	    "2.0</version><payload><register></register></payload>"
	    "</uid-response></result></response>", &r);
	IS(panos_parse_uid(&r, &ign, err, sizeof(err)), 0, "uid success");
	panos_reply_free(&r);
	parse("<response status=\"error\"><msg><line><uid-response><version>"
	    "2.0</version><payload><register><entry ip=\"192.0.2.1\" "
	    "message=\"tag lumu already exists, ignore\"/></register>"
	    "<unregister><entry ip=\"192.0.2.9\" message=\"tag lumu does not "
	    "exist, ignore unreg\"/></unregister></payload></uid-response>"
	    "</line></msg></response>", &r);
	IS(panos_parse_uid(&r, &ign, err, sizeof(err)), 0,
	    "duplicate and absent entries are not errors");
	IS(ign, 2, "both counted as ignored");
	panos_reply_free(&r);
	parse("<response status=\"error\"><msg><line><uid-response><payload>"
	    "<register><entry ip=\"192.0.2.1\" message=\"already exists, "
	    "ignore\"/><entry ip=\"192.0.2.2\" message=\"max registered-ip "
	    "for the platform reached\"/><entry ip=\"192.0.2.3\" message="
	    "\"invalid\"/></register></payload></uid-response></line></msg>"
	    "</response>", &r);
	IS(panos_parse_uid(&r, &ign, err, sizeof(err)), -1,
	    "a real per-entry error fails the batch");
	STR(err, "register 192.0.2.2: max registered-ip for the platform "
	    "reached (and 1 more)", "the first real error, and a count");
	panos_reply_free(&r);
	parse("<response status=\"error\" code=\"18\"><msg><line>Malformed "
	    "message</line></msg></response>", &r);
	IS(panos_parse_uid(&r, &ign, err, sizeof(err)), -1,
	    "an envelope error without entries fails");
	STR(err, "code 18 (malformed command): Malformed message",
	    "with the envelope's message");
	panos_reply_free(&r);
}

static void
test_regip_category(void)
{
	struct panos_reply	r;
	struct panos_list	l = { 0 };
	size_t			rows;
	int			exists;

	parse("<response status=\"success\"><result>"
	    "<entry ip=\"192.0.2.1\" from_agent=\"0\" persistent=\"1\"><tag>"
	    "<member>lumu</member></tag></entry>"
	    "<entry ip=\"192.0.2.2\"><tag><member>other</member></tag></entry>"
	    "<entry ip=\"2001:db8::5\"><tag><member>x</member><member>lumu"
	    "</member></tag></entry></result></response>", &r);
	IS(panos_parse_regip(&r, "lumu", &l, &rows), 0, "registered-ip page");
	IS(rows, 3, "every row counts for paging");
	IS(l.n, 2, "only rows with our tag are kept");
	OK(l.n == 2 && strcmp(l.v[0], "192.0.2.1") == 0 &&
	    strcmp(l.v[1], "2001:db8::5") == 0, "the tagged IPs");
	panos_reply_free(&r);
	panos_list_free(&l);
	parse("<response status=\"success\"><result><msg><line><outfile>"
	    "/var/log/clioutput/regipdump</outfile></line></msg></result>"
	    "</response>", &r);
	IS(panos_parse_regip(&r, "lumu", &l, &rows), -1,
	    "a PAN-OS 7.1 outfile answer is refused");
	panos_reply_free(&r);
	parse("<response status=\"success\" code=\"19\"><result total-count="
	    "\"1\" count=\"1\"><entry name=\"L\" admin=\"a\"><list><member "
	    "admin=\"a\">a.example/</member><member>b&amp;c/</member></list>"
	    "<type>URL List</type></entry></result></response>", &r);
	IS(panos_parse_category(&r, &l, &exists), 0, "category entry read");
	OK(exists && l.n == 2 && strcmp(l.v[1], "b&c/") == 0,
	    "members unescaped, category exists");
	panos_reply_free(&r);
	panos_list_free(&l);
	parse("<response status=\"success\" code=\"19\"><result><list>"
	    "<member>x/</member></list></result></response>", &r);
	OK(panos_parse_category(&r, &l, &exists) == 0 && exists && l.n == 1,
	    "a get of the list itself");
	panos_reply_free(&r);
	panos_list_free(&l);
	parse("<response status=\"success\" code=\"7\"><result/></response>",
	    &r);
	OK(panos_parse_category(&r, &l, &exists) == 0 && !exists,
	    "code 7: the category is absent");
	panos_reply_free(&r);
	parse("<response status=\"success\" code=\"19\"><result total-count="
	    "\"0\" count=\"0\"/></response>", &r);
	OK(panos_parse_category(&r, &l, &exists) == 0 && !exists,
	    "an empty result: absent");
	panos_reply_free(&r);
	parse("<response status=\"error\" code=\"6\"><msg><line>Bad Xpath"
	    "</line></msg></response>", &r);
	IS(panos_parse_category(&r, &l, &exists), -1, "bad xpath fails");
	panos_reply_free(&r);
	panos_list_free(&l);
}

static void
test_commit_job(void)
{
	struct panos_reply	r;
	struct panos_job	j;
	char			id[32];

	parse("<response status=\"success\" code=\"19\"><result><msg><line>"
	    "Commit job enqueued with jobid 912</line></msg><job>912</job>"
	    "</result></response>", &r);
	IS(panos_parse_commit(&r, id, sizeof(id)), 1, "commit enqueued");
	STR(id, "912", "job id");
	panos_reply_free(&r);
	parse("<response status=\"success\" code=\"19\"><msg>There are no "
	    "changes to commit.</msg></response>", &r);
	IS(panos_parse_commit(&r, id, sizeof(id)), 0, "nothing to commit");
	STR(r.msg, "There are no changes to commit.", "its message");
	panos_reply_free(&r);
	parse("<response status=\"error\" code=\"13\"><msg><line>Commit lock "
	    "is already held by admin2</line></msg></response>", &r);
	IS(panos_parse_commit(&r, id, sizeof(id)), -1, "a held lock fails");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result><job><id>912</id>"
	    "<type>Commit</type><status>ACT</status><result>PEND</result>"
	    "<tfin>Still Active</tfin><progress>40</progress></job></result>"
	    "</response>", &r);
	OK(panos_parse_job(&r, &j) == 0 && strcmp(j.status, "ACT") == 0 &&
	    strcmp(j.result, "PEND") == 0 && j.progress == 40,
	    "running job: ACT, PEND, 40%");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result><job><status>FIN</status>"
	    "<result>OK</result><progress>100</progress><details><line>"
	    "Configuration committed successfully</line></details></job>"
	    "</result></response>", &r);
	OK(panos_parse_job(&r, &j) == 0 && strcmp(j.status, "FIN") == 0 &&
	    strcmp(j.result, "OK") == 0 && j.progress == 100,
	    "finished job: FIN, OK, 100%");
	STR(j.details, "Configuration committed successfully", "details");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result><job><status>FIN</status>"
	    "<result>FAIL</result><progress>100</progress><details><line>"
	    "Validation Error:</line><line> custom-url-category is invalid"
	    "</line></details></job></result></response>", &r);
	OK(panos_parse_job(&r, &j) == 0 && strcmp(j.result, "FAIL") == 0,
	    "failed job");
	STR(j.details, "Validation Error:; custom-url-category is invalid",
	    "failure details joined");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result><job><status>FIN"
	    "</status><progress>12:01:02</progress></job></result>"
	    "</response>", &r);
	OK(panos_parse_job(&r, &j) == 0 && j.progress == -1,
	    "a progress that is not a number reads as absent");
	panos_reply_free(&r);
	parse("<response status=\"success\"><result/></response>", &r);
	IS(panos_parse_job(&r, &j), -1, "no job element fails");
	panos_reply_free(&r);
}

static void
test_lists(void)
{
	static const char	body[] = "b.example/\n# comment\n\na.example/\n"
				    "c.example/";
	struct panos_list	l = { 0 }, m = { 0 }, d = { 0 };
	char			out[32];

	OK(panos_list_lines(&l, body, strlen(body)) == 0 && l.n == 3,
	    "feed lines, comments and blanks skipped");
	OK(panos_list_lines(&m, "# lumu-edl: empty\n", 18) == 0 && m.n == 0,
	    "the empty-feed line is no member");
	panos_list_add(&m, "a.example/", 10);
	panos_list_add(&m, "z.example/", 10);
	OK(panos_list_diff(&l, &m, &d) == 0 && d.n == 2 &&
	    strcmp(d.v[0], "b.example/") == 0 &&
	    strcmp(d.v[1], "c.example/") == 0, "diff keeps order");
	panos_list_free(&d);
	OK(!panos_list_same(&l, &m), "different sets differ");
	panos_list_free(&m);
	panos_list_add(&m, "c.example/", 10);
	panos_list_add(&m, "a.example/", 10);
	panos_list_add(&m, "b.example/", 10);
	OK(panos_list_same(&l, &m), "same set in another order");
	panos_list_free(&l);
	panos_list_free(&m);
	panos_clean(out, sizeof(out), "  a\n\tb \x01\xc3 ",
	    strlen("  a\n\tb \x01\xc3 "));
	STR(out, "a b ??", "clean folds spaces, masks bytes");
	panos_clean(out, 5, "abcdefgh", 8);
	STR(out, "abc", "clean is bounded");
}

int
main(void)
{
	test_escaping();
	test_requests();
	test_envelope();
	test_key_uid();
	test_regip_category();
	test_commit_job();
	test_lists();
	return (tap_done());
}
