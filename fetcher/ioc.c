/*
 * ioc.c: the one strict path from an untrusted Lumu value to a canonical
 * indicator (CONTRACT.md sections 4 and 5) or to the reason it is withheld.
 * This file holds the dispatch, the byte checks and the reason names; the
 * steps below live in ioc_addr.c (addresses, networks, protected ranges),
 * ioc_name.c (DNS names, IDNA, the Public Suffix List) and ioc_url.c (the
 * split of a value, URLs).
 *
 * Order of work in ioc_parse():
 *   1. length cap, trim of surrounding whitespace, then every byte
 *      checked: no whitespace, control or NUL inside, non-ASCII only as
 *      valid UTF-8 without C1 controls, Unicode spaces or bidi controls;
 *   2. classification: an http(s) scheme, or no scheme with a path other
 *      than "/" or a query, makes a URL; anything else is reduced to its
 *      host (other scheme, user info, port, fragment, "/" dropped) after
 *      "a.b.c.d/n" and "a-b" networks are recognised;
 *   3. a '*' or '^' anywhere is invalid: PAN-OS reads both as wildcards
 *      and nothing from Lumu may widen an entry;
 *   4. hosts: strict dotted-quad IPv4, IPv6 through inet_pton/inet_ntop,
 *      or a DNS name through IDNA 2008 (libidn2), LDH rules, a
 *      single-script rule per label and the Public Suffix List (libpsl);
 *   5. URLs: libcurl's URL API parses the URL; its host must come out
 *      exactly as written (a host libcurl had to rewrite, such as the IPv4
 *      shorthand "127.1" or percent-encoding, is ambiguous and invalid);
 *      path and query keep RFC 3986 section 6.2.2 normal form.
 */
#include <stdint.h>
#include <string.h>

#include "ioc_int.h"
#include "log.h"

#define IS_TRIM(c)	((c) == ' ' || (c) == '\t' || (c) == '\r' || \
			    (c) == '\n' || (c) == '\v' || (c) == '\f')

static int	 cp_forbidden(uint32_t);
static enum ioc_reason parse_host(const struct ioc_split *, struct ioc *);
static int	 is_http(const char *, size_t);

static const char *const reason_names[IOC_NREASONS] = {
	[IOC_OK] = "ok",
	[IOC_ALLOWLISTED] = "allowlisted",
	[IOC_ALLOWLIST_OVERLAP] = "allowlist-overlap",
	[IOC_PROTECTED] = "protected",
	[IOC_INVALID] = "invalid",
	[IOC_NETWORK] = "network",
	[IOC_PUBLIC_SUFFIX] = "public-suffix",
	[IOC_TOO_LONG] = "too-long",
	[IOC_TRUNCATED] = "truncated"
};

/*
 * Non-ASCII code points that are whitespace, controls or invisible
 * direction and format marks: invalid anywhere in a value.
 */
static const struct cp_range forbidden_cps[] = {
	{ 0x0080, 0x00a0, 0 },		/* C1 controls, NBSP */
	{ 0x00ad, 0x00ad, 0 },		/* soft hyphen */
	{ 0x061c, 0x061c, 0 },		/* Arabic letter mark */
	{ 0x1680, 0x1680, 0 },
	{ 0x180e, 0x180e, 0 },
	{ 0x2000, 0x200b, 0 },		/* spaces, ZWSP (not ZWNJ, ZWJ) */
	{ 0x200e, 0x200f, 0 },		/* LRM, RLM */
	{ 0x2028, 0x202f, 0 },		/* separators, bidi embeddings */
	{ 0x205f, 0x2064, 0 },
	{ 0x2066, 0x206f, 0 },		/* bidi isolates, deprecated */
	{ 0x3000, 0x3000, 0 },
	{ 0xfeff, 0xfeff, 0 },		/* BOM, ZWNBSP */
	{ 0xfff9, 0xfffb, 0 }		/* interlinear annotation */
};

/* The report name of a reason. */
const char *
ioc_reason_name(enum ioc_reason r)
{
	if ((int)r < 0 || r >= IOC_NREASONS)
		return ("unknown");
	return (reason_names[r]);
}

/*
 * Decodes one strict UTF-8 sequence (no overlong forms, surrogates or
 * values past U+10FFFF).  Returns its length, or 0 when malformed.
 */
int
ioc_utf8_next(const unsigned char *s, size_t len, uint32_t *cpp)
{
	static const uint32_t	 min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t		 cp;
	int			 n, i;

	if (s[0] < 0x80)
		n = 1, cp = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return (0);
	if ((size_t)n > len)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	*cpp = cp;
	return (n);
}

/* 1 when a non-ASCII code point is whitespace, control or format. */
static int
cp_forbidden(uint32_t cp)
{
	size_t	 i;

	for (i = 0; i < sizeof(forbidden_cps) / sizeof(forbidden_cps[0]); i++)
		if (cp >= forbidden_cps[i].lo && cp <= forbidden_cps[i].hi)
			return (1);
	return (0);
}

/* 0 when every byte may appear inside a value, -1 otherwise. */
int
ioc_check_bytes(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 i = 0;
	int			 n;

	while (i < len) {
		if (p[i] < 0x80) {
			/* Space, controls, NUL, DEL (the ends are trimmed). */
			if (p[i] <= 0x20 || p[i] == 0x7f)
				return (-1);
			i++;
			continue;
		}
		if ((n = ioc_utf8_next(p + i, len - i, &cp)) == 0 ||
		    cp_forbidden(cp))
			return (-1);
		i += n;
	}
	return (0);
}

/* Marks out withheld as invalid; value keeps the escaped raw text. */
enum ioc_reason
ioc_withhold(struct ioc *out, enum ioc_kind kind)
{
	out->kind = kind;
	out->reason = IOC_INVALID;
	out->hostlen = 0;
	out->host_family = 0;
	out->host_only = 0;
	memset(out->addr, 0, sizeof(out->addr));
	return (IOC_INVALID);
}

/* Stores a short canonical value (an address, network or name). */
enum ioc_reason
ioc_canonical(struct ioc *out, enum ioc_kind kind, enum ioc_reason reason,
    const char *value)
{
	out->kind = kind;
	out->reason = reason;
	out->len = strlen(value);
	memcpy(out->value, value, out->len + 1);
	return (reason);
}

/* Classifies a value reduced to its host: IPv4, IPv6 or a domain. */
static enum ioc_reason
parse_host(const struct ioc_split *sp, struct ioc *out)
{
	char	 buf[IOC_NAME_MAX + 1];

	if (sp->bracketed || memchr(sp->host, ':', sp->hostlen) != NULL) {
		if (ioc_ipv6_parse(sp->host, sp->hostlen, out->addr) == -1)
			return (ioc_withhold(out, IOC_NONE));
		ioc_ip_format(6, out->addr, buf, sizeof(buf));
		return (ioc_canonical(out, IOC_IPV6, IOC_OK, buf));
	}
	if (ioc_ipv4_strict(sp->host, sp->hostlen, out->addr) == 0) {
		ioc_ip_format(4, out->addr, buf, sizeof(buf));
		return (ioc_canonical(out, IOC_IPV4, IOC_OK, buf));
	}
	if (ioc_looks_numeric(sp->host, sp->hostlen) ||
	    ioc_canon_name(sp->host, sp->hostlen, buf) == -1)
		return (ioc_withhold(out, IOC_NONE));
	return (ioc_canonical(out, IOC_DOMAIN, ioc_public_suffix(buf) ?
	    IOC_PUBLIC_SUFFIX : IOC_OK, buf));
}

/* 1 when the scheme s[0..len) is http or https, in any case. */
static int
is_http(const char *s, size_t len)
{
	static const char	 want[] = "https";
	size_t			 i;

	if (len != 4 && len != 5)
		return (0);
	for (i = 0; i < len; i++)
		if ((s[i] | 0x20) != want[i])
			return (0);
	return (1);
}

/* Classifies one raw value; see the order of work at the top. */
enum ioc_reason
ioc_parse(const char *raw, size_t len, struct ioc *out)
{
	struct ioc_split	 sp;
	const char		*s = raw, *p;
	size_t			 n = len;
	int			 split, url;

	memset(out, 0, sizeof(*out));
	out->kind = IOC_NONE;
	out->reason = IOC_INVALID;
	if (raw == NULL)
		return (IOC_INVALID);
	/* Until a canonical form exists, the value is the raw text. */
	out->len = log_escape(out->value, sizeof(out->value), raw,
	    len > IOC_RAW_MAX ? IOC_RAW_MAX : len);
	if (len > IOC_RAW_MAX)
		return (IOC_INVALID);
	while (n > 0 && IS_TRIM(*s))
		s++, n--;
	while (n > 0 && IS_TRIM(s[n - 1]))
		n--;
	if (n == 0 || ioc_check_bytes(s, n) == -1)
		return (IOC_INVALID);
	split = ioc_split_value(s, n, &sp);
	url = sp.scheme ? is_http(sp.scheme, sp.schemelen) :
	    sp.pathlen > 1 || sp.querylen > 0;
	if (!url || sp.scheme == NULL) {
		/* Networks first: "10.0.0.0/8" is not a URL with path "/8". */
		p = sp.scheme ? sp.auth : s;
		if (ioc_parse_network(p, (size_t)(s + n - p), out))
			return (out->reason);
	}
	if (split == -1 || memchr(s, '*', n) != NULL ||
	    memchr(s, '^', n) != NULL)
		return (ioc_withhold(out, url ? IOC_URL : IOC_NONE));
	return (url ? ioc_parse_url(s, n, &sp, out) : parse_host(&sp, out));
}
