/*
 * fuzz_ioc.c: libFuzzer target for the indicator canonicaliser.  Every
 * input goes through ioc_parse(); the result must be self-consistent,
 * printable, within its length bounds, and a canonical value must parse
 * again to itself (a URL with "http://" put back in front, since the
 * canonical URL form drops the scheme).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check(int, const char *, const struct ioc *);
static void	 check_result(const struct ioc *, enum ioc_reason);
static void	 check_again(const struct ioc *);

/* Stops the run with the failed invariant and the offending value. */
static void
check(int cond, const char *what, const struct ioc *o)
{
	if (cond)
		return;
	fprintf(stderr, "invariant failed: %s (kind %d, reason %s, "
	    "value \"%.300s\")\n", what, o->kind, ioc_reason_name(o->reason),
	    o->value);
	abort();
}

/* The invariants of one result. */
static void
check_result(const struct ioc *o, enum ioc_reason rc)
{
	size_t	 i;

	check(rc == o->reason, "return value is out->reason", o);
	check(memchr(o->value, '\0', sizeof(o->value)) != NULL,
	    "value NUL-terminated", o);
	check(o->len == strlen(o->value), "len == strlen(value)", o);
	for (i = 0; i < o->len; i++)
		check(o->value[i] >= 0x21 && o->value[i] <= 0x7e,
		    "value bytes within 0x21..0x7e", o);
	switch (o->reason) {
	case IOC_OK:
		check(o->kind != IOC_NONE, "ok has a kind", o);
		break;
	case IOC_INVALID:
		break;
	case IOC_NETWORK:
		check(o->kind == IOC_IPV4 || o->kind == IOC_IPV6,
		    "network is an address kind", o);
		break;
	case IOC_PUBLIC_SUFFIX:
		check(o->kind == IOC_DOMAIN ||
		    (o->kind == IOC_URL && o->host_only),
		    "public-suffix is a name", o);
		break;
	case IOC_TOO_LONG:
		check(o->kind == IOC_URL && o->len > IOC_LINE_MAX,
		    "too-long is a long URL", o);
		break;
	default:
		check(0, "parse-time reason", o);
	}
	if (o->kind == IOC_NONE)
		check(o->reason == IOC_INVALID, "unclassified is invalid", o);
	if (o->reason == IOC_INVALID)
		return;
	switch (o->kind) {
	case IOC_IPV4:
		check(o->len >= 7 && o->len <= 31, "IPv4 length", o);
		break;
	case IOC_IPV6:
		check(o->len >= 2 && o->len <= 91, "IPv6 length", o);
		break;
	case IOC_DOMAIN:
		check(o->len >= 3 && o->len <= IOC_NAME_MAX, "name length", o);
		check(strchr(o->value, '*') == NULL, "no wildcard", o);
		break;
	case IOC_URL:
		check(o->reason == IOC_TOO_LONG || o->len <= IOC_LINE_MAX,
		    "URL length", o);
		check(o->hostlen > 0 && o->hostlen <= IOC_NAME_MAX &&
		    o->hostlen < o->len && o->value[o->hostlen] == '/',
		    "URL host then '/'", o);
		check(o->host_only == (o->len == o->hostlen + 1),
		    "host_only is \"host/\"", o);
		check(strpbrk(o->value, "*^#\"'<>\\ ") == NULL,
		    "no wildcard, fragment, quote or markup in a URL", o);
		break;
	default:
		check(0, "kind", o);
	}
}

/* A canonical value parses again to the same value, kind and reason. */
static void
check_again(const struct ioc *o)
{
	static struct ioc	 again;
	static char		 buf[IOC_VALUE_MAX + 8];
	size_t			 n = 0;

	if (o->reason == IOC_INVALID)
		return;
	if (o->kind == IOC_URL) {
		memcpy(buf, "http://", 7);
		n = 7;
	}
	memcpy(buf + n, o->value, o->len);
	n += o->len;
	/*
	 * Percent-encoding can grow a value past the raw limit; such a value
	 * is already withheld as too-long and cannot be read back whole.
	 */
	if (n > IOC_RAW_MAX)
		return;
	ioc_parse(buf, n, &again);
	check(again.kind == o->kind, "idempotent kind", &again);
	check(again.reason == o->reason, "idempotent reason", &again);
	check(strcmp(again.value, o->value) == 0, "idempotent value", &again);
	check(again.host_only == o->host_only &&
	    again.hostlen == o->hostlen &&
	    again.host_family == o->host_family &&
	    memcmp(again.addr, o->addr, sizeof(o->addr)) == 0,
	    "idempotent fields", &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ioc	 out;
	static int		 ready;
	enum ioc_reason		 rc;

	if (!ready) {
		if (ioc_init() == -1)
			abort();
		ready = 1;
	}
	rc = ioc_parse((const char *)data, size, &out);
	check_result(&out, rc);
	check_again(&out);
	return (0);
}
