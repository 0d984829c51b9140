/*
 * test_decode.c: decoding of Lumu answers, on the real samples of the API
 * reference and on answers that are missing fields, of the wrong types or
 * shapes, truncated or hostile.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "decode.h"
#include "tap.h"
#include "util.h"

/* lumu-defender-api.md 3.2, real output. */
static const char page_first[] =
    "{\n"
    "  \"items\": [\n"
    "    {\n"
    "      \"id\": \"d0ce2800-a3f5-11ed-a0c7-dd6f8e69d343\",\n"
    "      \"timestamp\": \"2023-02-03T19:06:08.384Z\",\n"
    "      \"statusTimestamp\": \"2023-02-03T19:06:08.384Z\",\n"
    "      \"status\": \"open\",\n"
    "      \"contacts\": 5,\n"
    "      \"adversaries\": [\"www.chg.com.br\"],\n"
    "      \"adversaryId\": \"www.chg.com.br\",\n"
    "      \"adversaryTypes\": [\"Malware\"],\n"
    "      \"description\": \"Malware family "
    "Win32.Remoteadmin.C.Winvnc.Based\",\n"
    "      \"labelDistribution\": {\"0\": 2, \"989\": 3},\n"
    "      \"totalEndpoints\": 1,\n"
    "      \"lastContact\": \"2023-02-03T19:22:57.892Z\",\n"
    "      \"unread\": false,\n"
    "      \"hasPlaybackContacts\": false,\n"
    "      \"firstContact\": \"2023-02-03T19:01:00Z\"\n"
    "    }\n"
    "  ],\n"
    "  \"paginationInfo\": {\"items\": 50, \"page\": 1, \"next\": 2},\n"
    "  \"timestamp\": \"2023-02-06T16:19:09.746Z\"\n"
    "}\n";

static const char page_last[] =
    "{\"items\": [], \"paginationInfo\": {\"items\": 50, \"page\": 2, "
    "\"prev\": 1}, \"timestamp\": \"2023-02-06T16:19:11.916Z\"}";

/* 6.4: IncidentUpdated (XSOAR fixture), IncidentUnmuted and
 * OpenIncidentsStatusUpdated (real), an incidentId-only event, and an
 * unknown type, with the offset of the real example. */
static const char updates[] =
    "{\"updates\": [\n"
    "{\"IncidentUpdated\": {\n"
    "   \"companyId\": \"10228d9c-ff18-4251-ac19-514185e00f17\",\n"
    "   \"incident\": {\"id\": \"ec869190-85aa-11ed-a600-d53ba4d2bb70\", "
    "\"timestamp\": \"2022-12-27T05:54:27.753Z\",\n"
    "                \"statusTimestamp\": \"2022-12-27T05:54:27.753Z\", "
    "\"status\": \"open\", \"contacts\": 1028,\n"
    "                \"adversaries\": [\"greetland.net\"], \"adversaryId\": "
    "\"greetland.net\", \"adversaryTypes\": [\"Mining\"],\n"
    "                \"description\": \"CryptoMining domain\", "
    "\"labelDistribution\": {\"2148\": 5, \"805\": 8, \"0\": 1015},\n"
    "                \"totalEndpoints\": 5, \"lastContact\": "
    "\"2023-01-16T06:01:53.718Z\", \"unread\": false,\n"
    "                \"hasPlaybackContacts\": false, \"firstContact\": "
    "\"2022-12-25T23:43:56Z\"},\n"
    "   \"contactSummary\": {\"uuid\": "
    "\"469a6d60-9563-11ed-9d32-d35390a7eb2e\", \"timestamp\": "
    "\"2023-01-16T06:01:53.718Z\",\n"
    "                      \"adversaryHost\": \"greetland.net\", "
    "\"endpointIp\": \"192.168.1.200\",\n"
    "                      \"endpointName\": \"LUMU-200\", "
    "\"fromPlayback\": false}\n"
    "}},\n"
    "{\"IncidentUnmuted\": {\"comment\": \"first unmute for the inc\",\n"
    "  \"companyId\": \"10228d9c-ff18-4251-ac19-514185e00f17\",\n"
    "  \"incident\": {\"id\": \"eb611160-a638-11ed-a0c7-dd6f8e69d343\", "
    "\"status\": \"open\",\n"
    "               \"statusTimestamp\": \"2023-02-06T16:15:29.370Z\", "
    "\"timestamp\": \"2023-02-06T16:11:31.574Z\",\n"
    "               \"adversaries\": [\"activity.lumu.io\"], "
    "\"adversaryId\": \"activity.lumu.io\",\n"
    "               \"adversaryTypes\": [\"Spam\"], \"contacts\": 3, "
    "\"description\": \"Activity Test Query\",\n"
    "               \"labelDistribution\": {\"0\": 3}, "
    "\"totalEndpoints\": 1,\n"
    "               \"lastContact\": \"2022-12-20T14:37:02.228Z\", "
    "\"firstContact\": \"2022-12-20T14:37:02.228Z\",\n"
    "               \"unread\": false, \"hasPlaybackContacts\": false}}},\n"
    "{\"OpenIncidentsStatusUpdated\": {\"companyId\": "
    "\"10228d9c-ff18-4251-ac19-514185e00f17\",\n"
    "  \"openIncidentsStatus\": {\"openIncidents\": 1124, "
    "\"totalContacts\": 10299, \"totalEndpoints\": 207,\n"
    "    \"typeDistribution\": {\"C2C\": 106, \"DGA\": 10, "
    "\"Inappropriate content\": 1, \"Malware\": 666, \"Mining\": 274,\n"
    "                         \"Network Scan\": 6, \"Phishing\": 31, "
    "\"Spam\": 265},\n"
    "    \"labelDistribution\": {\"0\": 35, \"989\": 71, \"4301\": 393}}}},\n"
    "{\"IncidentCommentAdded\": {\"companyId\": "
    "\"10228d9c-ff18-4251-ac19-514185e00f17\",\n"
    "  \"incidentId\": \"eb611160-a638-11ed-a0c7-dd6f8e69d343\", "
    "\"comment\": \"checked by SOC\"}},\n"
    "{\"IncidentAssigned\": {\"incidentId\": \"x\"}},\n"
    "{\"IncidentMuted\": {}, \"IncidentClosed\": {}},\n"
    "[\"not\", \"an\", \"object\"]\n"
    "], \"offset\": 1096609}";

/* 5: a real context answer. */
static const char context[] =
    "{\n"
    "  \"adversary_id\": \"jits.ac.in\",\n"
    "  \"currently_active\": true,\n"
    "  \"deactivated_on\": null,\n"
    "  \"mitre\": {\"details\": [{\"tactic\": \"command-and-control\", "
    "\"techniques\": [\"T1071\"]}], \"matrix\": \"enterprise\", "
    "\"version\": \"8.2\"},\n"
    "  \"playbooks\": [\"https://docs.lumu.io/portal/en/kb/articles/"
    "malware-incident-response-playbook\"],\n"
    "  \"threat_details\": [\"Qakbot\", \"Qbot\", \"Pinkslipbot\"],\n"
    "  \"threat_triggers\": [\"https://jits.ac.in/TS.php\"],\n"
    "  \"related_files\": [],\n"
    "  \"external_resources\": [\"https://urlhaus.abuse.ch/host/"
    "jits.ac.in/\"],\n"
    "  \"timestamp\": \"2023-02-06T16:19:16.904Z\"\n"
    "}";

static cJSON *
parse(const char *s, char *err, size_t errsz)
{
	return (decode_parse(s, strlen(s), err, errsz));
}

/* Parses s as a page and returns decode_page's verdict; err filled. */
static int
page_of(const char *s, int64_t reqpage, struct decode_page *pg, char *err,
    size_t errsz)
{
	cJSON	*root;
	int	 rv;

	if ((root = parse(s, err, errsz)) == NULL)
		return (-2);
	rv = decode_page(root, reqpage, pg, err, errsz);
	cJSON_Delete(root);
	return (rv);
}

/* Decodes the one incident object s. */
static int
incident_of(const char *s, struct lumu_incident *inc,
    struct decode_counts *c, cJSON **rootp)
{
	char	err[128];

	if ((*rootp = parse(s, err, sizeof(err))) == NULL)
		return (-2);
	return (decode_incident(*rootp, inc, c));
}

/* Decodes the offset of {"updates": [], "offset": N} into dst. */
static int
offset_of(const char *num, char *dst, size_t dstsz)
{
	char			 body[256], err[128];
	struct decode_updates	 u;
	cJSON			*root;
	int			 rv;

	snprintf(body, sizeof(body), "{\"updates\": [], \"offset\": %s}", num);
	if ((root = parse(body, err, sizeof(err))) == NULL)
		return (-2);
	rv = decode_updates(root, &u, err, sizeof(err));
	if (rv == 0)
		snprintf(dst, dstsz, "%s", u.offset);
	cJSON_Delete(root);
	return (rv);
}

static void
test_parse(void)
{
	char	 err[128];
	cJSON	*root;
	char	 nul[] = "{}\0{}";

	OK(parse("", err, sizeof(err)) == NULL, "empty body refused");
	STR(err, "empty body", "empty body named");
	OK(parse(" \r\n\t", err, sizeof(err)) == NULL, "blank body refused");
	OK(parse("{\"items\": [1, 2", err, sizeof(err)) == NULL,
	    "truncated JSON refused");
	OK(strstr(err, "invalid JSON at byte") != NULL,
	    "truncated JSON: position given");
	OK(parse("{} {}", err, sizeof(err)) == NULL, "two values refused");
	OK(strstr(err, "trailing data at byte 3") != NULL,
	    "trailing data: position given");
	OK(decode_parse(nul, sizeof(nul) - 1, err, sizeof(err)) == NULL,
	    "NUL inside the body refused");
	root = parse("  {\"a\": 1}\r\n ", err, sizeof(err));
	OK(root != NULL, "surrounding whitespace accepted");
	cJSON_Delete(root);
	OK(parse("\x00\xff<html>Internal\x1b[0m error}{\xfe\n", err,
	    sizeof(err)) == NULL, "garbage refused");
	/* Only the first len bytes count, even if more follow in memory. */
	root = decode_parse("{\"a\": 1}garbage", 8, err, sizeof(err));
	OK(root != NULL, "length bounds the parse");
	cJSON_Delete(root);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_AS_LIMIT
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_AS_LIMIT
#endif

/*
 * A parse that runs out of memory says so, not "invalid JSON": in a child
 * allowed 32 MB more address space, 4 MB of "[0,0,...]" asks for 2M cJSON
 * nodes, about 130 MB.
 */
static void
test_parse_oom(void)
{
#ifdef NO_AS_LIMIT
	printf("# skip: a sanitizer's shadow memory does not fit an address "
	    "cap\n");
#else
	struct rlimit	 rl;
	FILE		*f;
	unsigned long	 pages = 0;
	size_t		 n = 4 << 20, i;
	char		*big, err[128];
	int		 fd[2], status = -1;
	ssize_t		 got = 0;
	pid_t		 pid;

	if ((big = malloc(n)) == NULL || pipe(fd) == -1) {
		OK(0, "out of memory: test set up");
		free(big);
		return;
	}
	/* "[" then "0," pairs, then "0]": n = 1 + 2k + 2, n odd. */
	n--;
	big[0] = '[';
	for (i = 1; i + 2 < n; i += 2)
		memcpy(big + i, "0,", 2);
	memcpy(big + n - 2, "0]", 2);
	memset(err, 0, sizeof(err));
	if ((pid = fork()) == 0) {
		close(fd[0]);
		/* 32 MB above what the child has mapped already. */
		if ((f = fopen("/proc/self/statm", "r")) != NULL) {
			if (fscanf(f, "%lu", &pages) != 1)
				pages = 0;
			fclose(f);
		}
		rl.rlim_cur = rl.rlim_max = (rlim_t)pages *
		    (rlim_t)sysconf(_SC_PAGESIZE) + (32 << 20);
		if (pages > 0 && setrlimit(RLIMIT_AS, &rl) == 0 &&
		    decode_parse(big, n, err, sizeof(err)) == NULL)
			(void)write(fd[1], err, strlen(err));
		_exit(0);
	}
	close(fd[1]);
	if (pid > 0) {
		got = read(fd[0], err, sizeof(err) - 1);
		waitpid(pid, &status, 0);
	}
	close(fd[0]);
	free(big);
	err[got > 0 ? got : 0] = '\0';
	if (!OK(strncmp(err, "out of memory parsing", 21) == 0,
	    "a parse out of memory is named as such"))
		printf("#   got \"%s\"\n", err);
#endif
}

static void
test_page_samples(void)
{
	struct decode_page	 pg;
	struct lumu_incident	 inc;
	struct decode_counts	 c;
	char			 err[128];
	cJSON			*root;

	memset(&c, 0, sizeof(c));
	root = parse(page_first, err, sizeof(err));
	OK(root != NULL, "real page parses");
	IS(decode_page(root, 1, &pg, err, sizeof(err)), 0, "real page decodes");
	IS(pg.count, 1, "real page: one item");
	IS(pg.page, 1, "real page: page 1");
	IS(pg.items, 50, "real page: page size 50");
	IS(pg.next, 2, "real page: next 2");
	IS(pg.prev, 0, "real page: no prev");
	IS(decode_incident(pg.list->child, &inc, &c), 0, "real incident");
	STR(inc.id, "d0ce2800-a3f5-11ed-a0c7-dd6f8e69d343", "id");
	IS(inc.status, INC_OPEN, "status open");
	IS(inc.timestamp, 1675451168384LL, "timestamp in ms");
	IS(inc.status_ts, 1675451168384LL, "statusTimestamp in ms");
	IS(inc.last_contact, 1675452177892LL, "lastContact in ms");
	IS(inc.nadv, 1, "one adversary");
	STR(inc.adversaries[0], "www.chg.com.br", "adversary");
	IS(inc.ntypes, 1, "one type");
	STR(inc.types[0], "Malware", "type");
	IS(c.incidents, 1, "counted as decoded");
	cJSON_Delete(root);

	IS(page_of(page_last, 2, &pg, err, sizeof(err)), 0, "last page");
	IS(pg.count, 0, "last page: empty");
	IS(pg.next, 0, "last page: no next");
	IS(pg.prev, 1, "last page: prev 1");
}

static void
test_page_shapes(void)
{
	struct decode_page	 pg;
	char			 err[128];
	struct buf		 b = { 0 };
	int			 i;

	IS(page_of("[\"unexpected\", {\"shape\": true}]", 3, &pg, err,
	    sizeof(err)), -1, "array answer refused");
	STR(err, "page 3: answer is not an object", "array answer named");
	IS(page_of("{\"paginationInfo\": {\"page\": 3}}", 3, &pg, err,
	    sizeof(err)), -1, "no items refused");
	STR(err, "page 3: no items array", "no items named");
	IS(page_of("{\"items\": {}, \"paginationInfo\": {}}", 3, &pg, err,
	    sizeof(err)), -1, "items not an array refused");
	IS(page_of("{\"items\": []}", 4, &pg, err, sizeof(err)), -1,
	    "no paginationInfo refused");
	STR(err, "page 4: no paginationInfo object", "no paginationInfo named");
	IS(page_of("{\"items\": [], \"paginationInfo\": {\"page\": 1, "
	    "\"next\": \"2\"}}", 1, &pg, err, sizeof(err)), -1,
	    "next as a string refused");
	IS(page_of("{\"items\": [], \"paginationInfo\": {\"page\": 1, "
	    "\"next\": 2.5}}", 1, &pg, err, sizeof(err)), -1,
	    "fractional next refused");
	IS(page_of("{\"items\": [], \"paginationInfo\": {\"page\": 1, "
	    "\"next\": null}}", 1, &pg, err, sizeof(err)), 0,
	    "null next accepted");
	IS(pg.next, 0, "null next means none");

	buf_addstr(&b, "{\"items\": [");
	for (i = 0; i <= DECODE_MAX_ITEMS; i++)
		buf_addstr(&b, i ? ",{}" : "{}");
	buf_addstr(&b, "], \"paginationInfo\": {\"page\": 1}}");
	IS(page_of(b.data, 1, &pg, err, sizeof(err)), -1,
	    "too many items refused");
	OK(strstr(err, "more than") != NULL, "too many items named");
	buf_free(&b);
}

static void
test_incident_fields(void)
{
	struct lumu_incident	 inc;
	struct decode_counts	 c;
	cJSON			*root;

	memset(&c, 0, sizeof(c));
	IS(incident_of("{\"status\": \"open\"}", &inc, &c, &root), -1,
	    "no id: skipped");
	cJSON_Delete(root);
	IS(incident_of("{\"id\": 42}", &inc, &c, &root), -1,
	    "numeric id: skipped");
	cJSON_Delete(root);
	IS(incident_of("{\"id\": \"\"}", &inc, &c, &root), -1,
	    "empty id: skipped");
	cJSON_Delete(root);
	IS(c.no_id, 3, "skipped incidents counted");
	IS(incident_of("\"just a string\"", &inc, &c, &root), -1,
	    "non-object: skipped");
	cJSON_Delete(root);
	IS(c.not_object, 1, "non-object counted");

	IS(incident_of("{\"id\": \"a\"}", &inc, &c, &root), 0,
	    "id alone is enough");
	IS(inc.timestamp, -1, "missing timestamp is -1");
	IS(inc.last_contact, -1, "missing lastContact is -1");
	IS(inc.status, INC_UNKNOWN, "missing status is unknown");
	IS(inc.nadv + inc.ntypes, 0, "no adversaries, no types");
	cJSON_Delete(root);

	IS(incident_of("{\"id\": \"a\", \"status\": \"MUTED\", "
	    "\"timestamp\": 12, \"lastContact\": \"yesterday\", "
	    "\"statusTimestamp\": null}", &inc, &c, &root), 0,
	    "wrong types decode");
	IS(inc.status, INC_MUTED, "status read case-insensitively");
	IS(inc.timestamp, -1, "numeric timestamp ignored");
	IS(c.bad_times, 2, "bad times counted, null not");
	cJSON_Delete(root);
	IS(incident_of("{\"id\": \"a\", \"status\": \"Closed\"}", &inc, &c,
	    &root), 0, "Closed");
	IS(inc.status, INC_CLOSED, "Closed is closed");
	cJSON_Delete(root);
	IS(incident_of("{\"id\": \"a\", \"status\": \"reopened\"}", &inc, &c,
	    &root), 0, "unknown status");
	IS(inc.status, INC_UNKNOWN, "unknown status kept as unknown");
	cJSON_Delete(root);
	IS(incident_of("{\"id\": \"a\", \"status\": [\"open\"]}", &inc, &c,
	    &root), 0, "status of the wrong type");
	IS(inc.status, INC_UNKNOWN, "status array is unknown");
	cJSON_Delete(root);
}

static void
test_incident_lists(void)
{
	struct lumu_incident	 inc;
	struct decode_counts	 c;
	struct buf		 b = { 0 };
	cJSON			*root;
	int			 i;

	memset(&c, 0, sizeof(c));
	IS(incident_of("{\"id\": \"a\", \"adversaries\": [\"x.com\", 1, null, "
	    "\"\", {\"h\": 1}, \"1.2.3.4\"], \"adversaryTypes\": [\"c2c\", "
	    "\"NETWORK SCAN\", \"Botnet\", 7]}", &inc, &c, &root), 0,
	    "mixed lists decode");
	IS(inc.nadv, 2, "string adversaries kept");
	STR(inc.adversaries[1], "1.2.3.4", "order kept");
	IS(c.adv_skipped, 4, "non-string adversaries counted");
	IS(inc.ntypes, 3, "string types kept");
	STR(inc.types[0], "C2C", "known type in its usual spelling");
	STR(inc.types[1], "Network Scan", "known type with a space");
	STR(inc.types[2], "Botnet", "unknown type kept as sent");
	IS(c.types_skipped, 1, "non-string type counted");
	cJSON_Delete(root);

	IS(incident_of("{\"id\": \"a\", \"adversaryId\": \"only.example\", "
	    "\"adversaries\": []}", &inc, &c, &root), 0, "adversaryId only");
	IS(inc.nadv, 1, "adversaryId stands in");
	STR(inc.adversaries[0], "only.example", "adversaryId value");
	cJSON_Delete(root);

	buf_addstr(&b, "{\"id\": \"big\", \"adversaries\": [");
	for (i = 0; i < LUMU_MAX_ADV + 6; i++)
		buf_printf(&b, "%s\"h%d.example\"", i ? "," : "", i);
	buf_addstr(&b, "], \"adversaryTypes\": [");
	for (i = 0; i < LUMU_MAX_TYPES + 4; i++)
		buf_printf(&b, "%s\"T%d\"", i ? "," : "", i);
	buf_addstr(&b, "]}");
	memset(&c, 0, sizeof(c));
	IS(incident_of(b.data, &inc, &c, &root), 0, "long lists decode");
	IS(inc.nadv, LUMU_MAX_ADV, "adversaries cut at the cap");
	IS(c.adv_cut, 6, "cut adversaries counted");
	STR(inc.adversaries[LUMU_MAX_ADV - 1], "h63.example",
	    "the first ones kept");
	IS(inc.ntypes, LUMU_MAX_TYPES, "types cut at the cap");
	IS(c.types_cut, 4, "cut types counted");
	cJSON_Delete(root);
	buf_free(&b);
}

static void
test_updates(void)
{
	struct decode_updates	 u;
	struct decode_event	 ev[8];
	struct decode_counts	 c;
	const cJSON		*el;
	char			 err[128];
	cJSON			*root;
	size_t			 n = 0;
	int			 rv[8];

	memset(&c, 0, sizeof(c));
	root = parse(updates, err, sizeof(err));
	OK(root != NULL, "updates sample parses");
	IS(decode_updates(root, &u, err, sizeof(err)), 0, "updates decode");
	STR(u.offset, "1096609", "offset verbatim");
	IS(u.count, 7, "seven elements");
	cJSON_ArrayForEach(el, u.list) {
		if (n < 8) {
			rv[n] = decode_event(el, &ev[n], &c);
			n++;
		}
	}
	IS(n, 7, "all elements visited");
	IS(ev[0].type, LUMU_EV_UPDATED, "IncidentUpdated");
	OK(ev[0].has_incident, "IncidentUpdated has an incident");
	STR(ev[0].inc.id, "ec869190-85aa-11ed-a600-d53ba4d2bb70",
	    "IncidentUpdated id");
	STR(ev[0].inc.adversaries[0], "greetland.net", "its adversary");
	STR(ev[0].inc.types[0], "Mining", "its type");
	IS(ev[0].inc.last_contact, 1673848913718LL, "its lastContact");
	IS(ev[0].inc.timestamp, 1672120467753LL, "its timestamp");
	IS(ev[1].type, LUMU_EV_UNMUTED, "IncidentUnmuted");
	IS(ev[1].inc.status, INC_OPEN, "unmuted incident is open");
	IS(ev[2].type, LUMU_EV_IGNORED, "OpenIncidentsStatusUpdated ignored");
	OK(!ev[2].has_incident && ev[2].incident_id == NULL,
	    "status counters carry no incident");
	IS(ev[3].type, LUMU_EV_IGNORED, "IncidentCommentAdded ignored");
	STR(ev[3].incident_id, "eb611160-a638-11ed-a0c7-dd6f8e69d343",
	    "incidentId read");
	OK(!ev[3].has_incident, "incidentId event has no incident");
	IS(ev[4].type, LUMU_EV_UNKNOWN, "unknown type");
	STR(ev[4].name, "IncidentAssigned", "unknown type name kept");
	IS(rv[5], -1, "two keys refused");
	IS(rv[6], -1, "array element refused");
	IS(c.not_object, 2, "bad elements counted");
	cJSON_Delete(root);

	IS(decode_event_type("incidentmuted"), LUMU_EV_MUTED,
	    "event type case-insensitive");
	IS(decode_event_type("NewIncidentCreated"), LUMU_EV_NEW,
	    "NewIncidentCreated");
	IS(decode_event_type("IncidentClosed"), LUMU_EV_CLOSED,
	    "IncidentClosed");

	root = parse("{\"updates\": [{\"NewIncidentCreated\": {\"incident\": "
	    "{\"status\": \"open\"}}}], \"offset\": 5}", err, sizeof(err));
	decode_updates(root, &u, err, sizeof(err));
	IS(decode_event(u.list->child, &ev[0], &c), 0, "event, bad incident");
	OK(!ev[0].has_incident, "incident without id not handed over");
	IS(ev[0].type, LUMU_EV_NEW, "its type still known");
	cJSON_Delete(root);
}

static void
test_updates_shapes(void)
{
	struct decode_updates	 u;
	char			 err[128];
	cJSON			*root;

	root = parse("{\"offset\": 3}", err, sizeof(err));
	IS(decode_updates(root, &u, err, sizeof(err)), -1, "no updates array");
	STR(err, "updates: no updates array", "no updates array named");
	cJSON_Delete(root);
	root = parse("{\"updates\": []}", err, sizeof(err));
	IS(decode_updates(root, &u, err, sizeof(err)), -1, "no offset");
	cJSON_Delete(root);
	root = parse("[]", err, sizeof(err));
	IS(decode_updates(root, &u, err, sizeof(err)), -1, "array refused");
	cJSON_Delete(root);
}

static void
test_offsets(void)
{
	char	o[DECODE_OFFSET_MAX];

	IS(offset_of("1096605", o, sizeof(o)), 0, "small offset");
	STR(o, "1096605", "small offset exact");
	IS(offset_of("0", o, sizeof(o)), 0, "zero offset");
	STR(o, "0", "zero offset exact");
	IS(offset_of("9007199254740991", o, sizeof(o)), 0, "2^53-1");
	STR(o, "9007199254740991", "2^53-1 printed exactly");
	IS(offset_of("4503599627370497", o, sizeof(o)), 0, "2^52+1");
	STR(o, "4503599627370497", "2^52+1 printed exactly");
	IS(offset_of("1e3", o, sizeof(o)), 0, "exponent form");
	STR(o, "1000", "exponent form as digits");
	IS(offset_of("9007199254740993", o, sizeof(o)), -1,
	    "beyond 2^53 refused (digits lost)");
	IS(offset_of("1.5", o, sizeof(o)), -1, "fraction refused");
	IS(offset_of("-1", o, sizeof(o)), -1, "negative refused");
	IS(offset_of("1e300", o, sizeof(o)), -1, "huge refused");
	IS(offset_of("true", o, sizeof(o)), -1, "bool refused");
	IS(offset_of("null", o, sizeof(o)), -1, "null refused");
	IS(offset_of("\"abc-123_x\"", o, sizeof(o)), 0, "token string");
	STR(o, "abc-123_x", "token string verbatim");
	IS(offset_of("\"a&key=b\"", o, sizeof(o)), -1,
	    "string with URL syntax refused");
	IS(offset_of("\"\"", o, sizeof(o)), -1, "empty string refused");
	OK(decode_offset_cmp("1096609", "1096605") > 0, "later offset");
	OK(decode_offset_cmp("999", "1000") < 0, "by length first");
	IS(decode_offset_cmp("0010", "10"), 0, "leading zeros ignored");
	IS(decode_offset_cmp("abc", "5"), 0, "tokens are not ordered");
	OK(decode_offset_ok("123"), "digits are a usable offset");
	OK(!decode_offset_ok("12 3"), "space is not");
}

static void
test_context(void)
{
	struct decode_context	 ctx;
	char			 err[128];
	cJSON			*root;

	root = parse(context, err, sizeof(err));
	IS(decode_context(root, &ctx, err, sizeof(err)), 0, "real context");
	IS(ctx.currently_active, 1, "currently_active true");
	IS(ctx.rank, -1, "rank absent");
	IS(ctx.ntriggers, 1, "one trigger");
	STR(ctx.triggers[0], "https://jits.ac.in/TS.php", "trigger value");
	cJSON_Delete(root);
	root = parse("{\"threat_triggers\": [\"a\", 2, \"\", \"b\"], "
	    "\"rank\": 900000, \"currently_active\": \"yes\"}", err,
	    sizeof(err));
	IS(decode_context(root, &ctx, err, sizeof(err)), 0, "odd context");
	IS(ctx.currently_active, -1, "non-bool currently_active unknown");
	IS(ctx.rank, 900000, "rank read");
	IS(ctx.ntriggers, 2, "string triggers kept");
	IS(ctx.triggers_skipped, 2, "others counted");
	cJSON_Delete(root);
	root = parse("[1]", err, sizeof(err));
	IS(decode_context(root, &ctx, err, sizeof(err)), -1,
	    "context array refused");
	cJSON_Delete(root);
}

static void
test_misc(void)
{
	const char	*e = "{\"name\": \"BadRequest\", \"detail\": "
			    "\"fromDate out of range\"}";
	char		 dst[128], err[128];
	struct buf	 b = { 0 };
	int		 i;

	IS(decode_api_error(e, strlen(e), dst, sizeof(dst)), 0, "error body");
	STR(dst, "BadRequest - fromDate out of range", "name - detail");
	IS(decode_api_error("oops", 4, dst, sizeof(dst)), -1,
	    "error body not JSON");
	for (i = 0; i < 5000; i++)
		buf_addch(&b, '[');
	OK(decode_parse(b.data, b.len, err, sizeof(err)) == NULL,
	    "deep nesting refused without a crash");
	buf_free(&b);
}

int
main(void)
{
	test_parse();
	test_parse_oom();
	test_page_samples();
	test_page_shapes();
	test_incident_fields();
	test_incident_lists();
	test_updates();
	test_updates_shapes();
	test_offsets();
	test_context();
	test_misc();
	return (tap_done());
}
