/*
 * decode.c: Lumu answers from JSON into plain structs.  Every field is
 * type-checked before use; anything missing or odd is left out and
 * counted, never trusted and never fatal.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "decode.h"
#include "util.h"

/*
 * 2^53 - 1: every integer up to here is exact in a double, and no larger
 * integer reads as one of them (2^53 + 1 reads as 2^53).
 */
#define DECODE_EXACT_MAX	9007199254740991.0

static const char *const known_types[] = {
	"C2C", "Malware", "DGA", "Mining", "Spam", "Phishing", "Anonymizer",
	"Network Scan", "Inappropriate content"
};

static const struct {
	const char	*name;
	enum lumu_event	 type;
} event_types[] = {
	{ "NewIncidentCreated",			LUMU_EV_NEW },
	{ "IncidentUpdated",			LUMU_EV_UPDATED },
	{ "IncidentClosed",			LUMU_EV_CLOSED },
	{ "IncidentMuted",			LUMU_EV_MUTED },
	{ "IncidentUnmuted",			LUMU_EV_UNMUTED },
	{ "IncidentMarkedAsRead",		LUMU_EV_IGNORED },
	{ "IncidentCommentAdded",		LUMU_EV_IGNORED },
	{ "IncidentIntegrationsResponseUpdated", LUMU_EV_IGNORED },
	{ "OpenIncidentsStatusUpdated",		LUMU_EV_IGNORED },
};

/* Set when cJSON's allocation failed in this thread's current parse. */
static _Thread_local int	json_oom;

/* malloc for cJSON that remembers a failure: cJSON only says "no". */
static void *
json_malloc(size_t n)
{
	void	*p = malloc(n);

	if (p == NULL)
		json_oom = 1;
	return (p);
}

/*
 * Installed before main() and so before any thread exists: cJSON's hooks
 * are one global that every thread reads.
 */
__attribute__((constructor)) static void
json_hooks(void)
{
	cJSON_Hooks	h = { json_malloc, free };

	cJSON_InitHooks(&h);
}

static int
is_ws(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

cJSON *
decode_parse(const char *body, size_t len, char *err, size_t errsz)
{
	const char	*end = NULL;
	cJSON		*root;
	size_t		 i;

	for (i = 0; i < len && is_ws(body[i]); i++)
		;
	if (i == len) {
		snprintf(err, errsz, "empty body");
		return (NULL);
	}
	/* Not "require NUL-terminated": the length alone bounds the parse. */
	json_oom = 0;
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL && json_oom) {
		snprintf(err, errsz, "out of memory parsing %zu bytes of JSON",
		    len);
		return (NULL);
	}
	if (root == NULL) {
		i = end != NULL && end >= body ? (size_t)(end - body) : 0;
		snprintf(err, errsz, "invalid JSON at byte %zu of %zu", i, len);
		return (NULL);
	}
	/* The whole body must be that one value. */
	for (i = (size_t)(end - body); i < len && is_ws(body[i]); i++)
		;
	if (i != len) {
		cJSON_Delete(root);
		snprintf(err, errsz, "trailing data at byte %zu of %zu", i,
		    len);
		return (NULL);
	}
	return (root);
}

/* An ISO-8601 time member in ms, or -1 (counted when present but bad). */
static int64_t
get_time(const cJSON *obj, const char *key, struct decode_counts *c)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);
	int64_t		 ms;

	if (v == NULL || cJSON_IsNull(v))
		return (-1);
	if (!cJSON_IsString(v) || time_parse_iso(v->valuestring, &ms) == -1) {
		c->bad_times++;
		return (-1);
	}
	return (ms);
}

static enum inc_status
get_status(const cJSON *obj)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, "status");

	if (!cJSON_IsString(v))
		return (INC_UNKNOWN);
	if (strcasecmp(v->valuestring, "open") == 0)
		return (INC_OPEN);
	if (strcasecmp(v->valuestring, "muted") == 0)
		return (INC_MUTED);
	if (strcasecmp(v->valuestring, "closed") == 0)
		return (INC_CLOSED);
	return (INC_UNKNOWN);
}

/* The usual spelling of a known type, so "c2c" and "C2C" are one name. */
static const char *
canon_type(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
		if (strcasecmp(name, known_types[i]) == 0)
			return (known_types[i]);
	return (name);
}

/* Reads adversaryTypes; unknown names are kept as sent. */
static void
get_types(const cJSON *obj, struct lumu_incident *inc,
    struct decode_counts *c)
{
	const cJSON	*arr, *el;

	arr = cJSON_GetObjectItemCaseSensitive(obj, "adversaryTypes");
	if (!cJSON_IsArray(arr))
		return;
	cJSON_ArrayForEach(el, arr) {
		if (!cJSON_IsString(el) || el->valuestring[0] == '\0')
			c->types_skipped++;
		else if (inc->ntypes == LUMU_MAX_TYPES)
			c->types_cut++;
		else
			inc->types[inc->ntypes++] = canon_type(el->valuestring);
	}
}

/* Reads adversaries, falling back to adversaryId when there are none. */
static void
get_adversaries(const cJSON *obj, struct lumu_incident *inc,
    struct decode_counts *c)
{
	const cJSON	*arr, *el;

	arr = cJSON_GetObjectItemCaseSensitive(obj, "adversaries");
	if (cJSON_IsArray(arr)) {
		cJSON_ArrayForEach(el, arr) {
			if (!cJSON_IsString(el) || el->valuestring[0] == '\0')
				c->adv_skipped++;
			else if (inc->nadv == LUMU_MAX_ADV)
				c->adv_cut++;
			else
				inc->adversaries[inc->nadv++] = el->valuestring;
		}
	}
	if (inc->nadv > 0)
		return;
	/* Equal to adversaries[0] in every sample; better than nothing. */
	el = cJSON_GetObjectItemCaseSensitive(obj, "adversaryId");
	if (cJSON_IsString(el) && el->valuestring[0] != '\0')
		inc->adversaries[inc->nadv++] = el->valuestring;
}

int
decode_incident(const cJSON *obj, struct lumu_incident *out,
    struct decode_counts *c)
{
	struct decode_counts	 dummy;
	const cJSON		*id;

	if (c == NULL)
		c = memset(&dummy, 0, sizeof(dummy));
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj)) {
		c->not_object++;
		return (-1);
	}
	id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
	    strlen(id->valuestring) > DECODE_ID_MAX) {
		c->no_id++;
		return (-1);
	}
	out->id = id->valuestring;
	out->timestamp = get_time(obj, "timestamp", c);
	out->status_ts = get_time(obj, "statusTimestamp", c);
	out->last_contact = get_time(obj, "lastContact", c);
	out->status = get_status(obj);
	get_types(obj, out, c);
	get_adversaries(obj, out, c);
	c->incidents++;
	return (0);
}

/* Reads an integral member in 0..max; 0 when absent or null, -1 if bad. */
static int
get_int(const cJSON *obj, const char *key, int64_t max, int64_t *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > (double)max ||
	    floor(v->valuedouble) != v->valuedouble)
		return (-1);
	*out = (int64_t)v->valuedouble;
	return (0);
}

/* Reads paginationInfo{page, items, next?, prev?}. */
static int
get_pagination(const cJSON *root, int64_t reqpage, struct decode_page *out,
    char *err, size_t errsz)
{
	const cJSON	*pi;

	pi = cJSON_GetObjectItemCaseSensitive(root, "paginationInfo");
	if (!cJSON_IsObject(pi)) {
		snprintf(err, errsz, "page %lld: no paginationInfo object",
		    (long long)reqpage);
		return (-1);
	}
	if (get_int(pi, "page", INT32_MAX, &out->page) == -1 ||
	    get_int(pi, "items", INT32_MAX, &out->items) == -1 ||
	    get_int(pi, "next", INT32_MAX, &out->next) == -1 ||
	    get_int(pi, "prev", INT32_MAX, &out->prev) == -1) {
		snprintf(err, errsz, "page %lld: paginationInfo holds a "
		    "value that is not a page number", (long long)reqpage);
		return (-1);
	}
	return (0);
}

int
decode_page(const cJSON *root, int64_t reqpage, struct decode_page *out,
    char *err, size_t errsz)
{
	const cJSON	*items;
	int		 n;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		snprintf(err, errsz, "page %lld: answer is not an object",
		    (long long)reqpage);
		return (-1);
	}
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsArray(items)) {
		snprintf(err, errsz, "page %lld: no items array",
		    (long long)reqpage);
		return (-1);
	}
	n = cJSON_GetArraySize(items);
	if (n < 0 || n > DECODE_MAX_ITEMS) {
		snprintf(err, errsz, "page %lld: %d items, more than %d",
		    (long long)reqpage, n, DECODE_MAX_ITEMS);
		return (-1);
	}
	if (get_pagination(root, reqpage, out, err, errsz) == -1)
		return (-1);
	out->list = items;
	out->count = (size_t)n;
	return (0);
}

int
decode_offset_ok(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n >= DECODE_OFFSET_MAX)
		return (0);
	return (strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-._~") == n);
}

int
decode_offset(const cJSON *v, char *dst, size_t dstsz)
{
	double	d;
	int	n;

	if (cJSON_IsString(v)) {
		if (!decode_offset_ok(v->valuestring) ||
		    strlen(v->valuestring) >= dstsz)
			return (-1);
		strcpy(dst, v->valuestring);
		return (0);
	}
	if (!cJSON_IsNumber(v))
		return (-1);
	d = v->valuedouble;
	/* Beyond that the digits sent may be lost in the double. */
	if (!isfinite(d) || d < 0 || d > DECODE_EXACT_MAX || floor(d) != d)
		return (-1);
	n = snprintf(dst, dstsz, "%.0f", d);
	return (n > 0 && (size_t)n < dstsz ? 0 : -1);
}

/* Skips leading zeros; NULL when s is not all digits. */
static const char *
digits_only(const char *s)
{
	if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s))
		return (NULL);
	while (s[0] == '0' && s[1] != '\0')
		s++;
	return (s);
}

int
decode_offset_cmp(const char *a, const char *b)
{
	size_t	la, lb;
	int	r;

	if ((a = digits_only(a)) == NULL || (b = digits_only(b)) == NULL)
		return (0);
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return (la < lb ? -1 : 1);
	r = strcmp(a, b);
	return (r < 0 ? -1 : r > 0);
}

int
decode_updates(const cJSON *root, struct decode_updates *out, char *err,
    size_t errsz)
{
	const cJSON	*list;
	int		 n;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		snprintf(err, errsz, "updates: answer is not an object");
		return (-1);
	}
	list = cJSON_GetObjectItemCaseSensitive(root, "updates");
	if (!cJSON_IsArray(list)) {
		snprintf(err, errsz, "updates: no updates array");
		return (-1);
	}
	n = cJSON_GetArraySize(list);
	if (n < 0 || n > DECODE_MAX_ITEMS) {
		snprintf(err, errsz, "updates: %d events, more than %d", n,
		    DECODE_MAX_ITEMS);
		return (-1);
	}
	if (decode_offset(cJSON_GetObjectItemCaseSensitive(root, "offset"),
	    out->offset, sizeof(out->offset)) == -1) {
		snprintf(err, errsz, "updates: no offset, or not an exact "
		    "integer");
		return (-1);
	}
	out->list = list;
	out->count = (size_t)n;
	return (0);
}

enum lumu_event
decode_event_type(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strcasecmp(name, event_types[i].name) == 0)
			return (event_types[i].type);
	return (LUMU_EV_UNKNOWN);
}

int
decode_event(const cJSON *el, struct decode_event *out,
    struct decode_counts *c)
{
	const cJSON	*ev, *inc, *id;

	memset(out, 0, sizeof(*out));
	out->type = LUMU_EV_UNKNOWN;
	/* Exactly one key, the event type. */
	if (!cJSON_IsObject(el) || (ev = el->child) == NULL ||
	    ev->next != NULL || ev->string == NULL) {
		if (c != NULL)
			c->not_object++;
		return (-1);
	}
	out->name = ev->string;
	out->type = decode_event_type(ev->string);
	if (!cJSON_IsObject(ev))
		return (0);
	inc = cJSON_GetObjectItemCaseSensitive(ev, "incident");
	if (inc != NULL && decode_incident(inc, &out->inc, c) == 0) {
		out->has_incident = 1;
		out->incident_id = out->inc.id;
		return (0);
	}
	id = cJSON_GetObjectItemCaseSensitive(ev, "incidentId");
	if (cJSON_IsString(id) && id->valuestring[0] != '\0' &&
	    strlen(id->valuestring) <= DECODE_ID_MAX)
		out->incident_id = id->valuestring;
	return (0);
}

int
decode_context(const cJSON *root, struct decode_context *out, char *err,
    size_t errsz)
{
	const cJSON	*v, *el;

	memset(out, 0, sizeof(*out));
	out->currently_active = -1;
	if (!cJSON_IsObject(root)) {
		snprintf(err, errsz, "context: answer is not an object");
		return (-1);
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "currently_active");
	if (cJSON_IsBool(v))
		out->currently_active = cJSON_IsTrue(v);
	if (get_int(root, "rank", INT64_C(1) << 53, &out->rank) == -1 ||
	    cJSON_GetObjectItemCaseSensitive(root, "rank") == NULL ||
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "rank")))
		out->rank = -1;
	v = cJSON_GetObjectItemCaseSensitive(root, "threat_triggers");
	if (!cJSON_IsArray(v))
		return (0);
	cJSON_ArrayForEach(el, v) {
		if (!cJSON_IsString(el) || el->valuestring[0] == '\0')
			out->triggers_skipped++;
		else if (out->ntriggers == DECODE_MAX_TRIGGERS)
			out->triggers_cut++;
		else
			out->triggers[out->ntriggers++] = el->valuestring;
	}
	return (0);
}

int
decode_api_error(const char *body, size_t len, char *dst, size_t dstsz)
{
	char		 err[64];
	cJSON		*root;
	const cJSON	*name, *detail;
	int		 rv = -1;

	if ((root = decode_parse(body, len, err, sizeof(err))) == NULL)
		return (-1);
	name = cJSON_GetObjectItemCaseSensitive(root, "name");
	detail = cJSON_GetObjectItemCaseSensitive(root, "detail");
	if (cJSON_IsString(name) && cJSON_IsString(detail))
		rv = snprintf(dst, dstsz, "%s - %s", name->valuestring,
		    detail->valuestring) < 0 ? -1 : 0;
	else if (cJSON_IsString(detail) || cJSON_IsString(name))
		rv = snprintf(dst, dstsz, "%s", cJSON_IsString(detail) ?
		    detail->valuestring : name->valuestring) < 0 ? -1 : 0;
	/* The tree owns the strings: copy before deleting it. */
	cJSON_Delete(root);
	return (rv);
}
