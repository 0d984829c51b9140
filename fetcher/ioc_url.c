/*
 * ioc_url.c: the split of a value into scheme, authority, host, path and
 * query (RFC 3986 section 3), and URLs: libcurl's URL API parses them and
 * must report the host exactly as written; path and query keep RFC 3986
 * section 6.2.2 normal form.
 *
 * In URL paths and queries, bytes that RFC 3986 does not allow there
 * (quotes, '<', '>', '\\', '`', '{', '|', '}', '[', ']' and non-ASCII
 * bytes) are percent-encoded, so no quote or markup ever reaches a feed;
 * sub-delimiters such as '$', '(', ')', ';', '&' are legal URL characters
 * and stay.  A '%' not followed by two hex digits is invalid.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "ioc_int.h"

/* RFC 3986 path and query characters kept as they are (no quote). */
#define IS_URLCHAR(c)	(IS_UNRESERVED(c) || ((c) != '\0' && \
			    strchr("!$&()+,;=:@/?", (c)) != NULL))
#define IS_UHEX(c)	(IS_DIGIT(c) || ((c) >= 'A' && (c) <= 'F'))

static size_t	 span_to(const char *, size_t, const char *);
static size_t	 scheme_len(const char *, size_t);
static int	 port_ok(const char *, size_t);
static int	 auth_ok(const char *, size_t);
static int	 hexval(int);
static int	 pct_normalise(const char *, size_t, char *, size_t);
static int	 url_part_ok(const char *);
static int	 url_host(const struct ioc_split *, struct ioc *, char *);
static int	 url_curl(const char *, size_t, const struct ioc_split *,
		    char **, char **);

static const char hexdig[] = "0123456789ABCDEF";

/* Length of the prefix of s[0..len) free of the bytes in stop. */
static size_t
span_to(const char *s, size_t len, const char *stop)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] != '\0' && strchr(stop, s[i]) != NULL)
			break;
	return (i);
}

/* Length of an RFC 3986 scheme followed by "://", else 0. */
static size_t
scheme_len(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || !IS_ALPHA(s[0]))
		return (0);
	for (i = 1; i < len; i++)
		if (!IS_ALPHA(s[i]) && !IS_DIGIT(s[i]) && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			break;
	if (len - i < 3 || memcmp(s + i, "://", 3) != 0)
		return (0);
	return (i);
}

/* 1 for a decimal port 0..65535 of one to five digits. */
static int
port_ok(const char *s, size_t len)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > 5)
		return (0);
	for (i = 0; i < len; i++) {
		if (!IS_DIGIT(s[i]))
			return (0);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return (v <= 65535);
}

/*
 * 1 when an authority holds only RFC 3986 authority characters (and
 * non-ASCII for IDN hosts): a backslash, which browsers read as '/', or any
 * other stray byte would make parsers disagree on the host.
 */
static int
auth_ok(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80 || IS_UNRESERVED(s[i]))
			continue;
		if (s[i] == '\0' || strchr("!$&'()*+,;=:@[]%", s[i]) == NULL)
			return (0);
	}
	return (1);
}

/*
 * Splits "[scheme://][userinfo@]host[:port][/path][?query][#fragment]"
 * into pointers (RFC 3986 section 3).  An unbracketed host with several
 * colons is taken whole, as an IPv6 address without a port.  -1 when the
 * host is empty, a bracket is unclosed or the port is malformed.
 */
int
ioc_split_value(const char *s, size_t len, struct ioc_split *sp)
{
	const char	*p, *end = s + len, *h, *aend, *c, *rb;
	size_t		 ncolon = 0;

	memset(sp, 0, sizeof(*sp));
	if ((sp->schemelen = scheme_len(s, len)) > 0)
		sp->scheme = s;
	p = sp->auth = s + (sp->scheme ? sp->schemelen + 3 : 0);
	while (p < end && *p != '/' && *p != '?' && *p != '#')
		p++;
	aend = p;
	sp->rest = aend;
	sp->restlen = (size_t)(end - aend);
	sp->pathlen = span_to(aend, sp->restlen, "?#");
	if (sp->pathlen < sp->restlen && aend[sp->pathlen] == '?')
		sp->querylen = span_to(aend + sp->pathlen + 1,
		    sp->restlen - sp->pathlen - 1, "#");
	if (!auth_ok(sp->auth, (size_t)(aend - sp->auth)))
		return (-1);
	/* User info ends at the last '@': RFC 3986 allows none inside. */
	for (h = aend; h > sp->auth && h[-1] != '@'; h--)
		;
	if (h < aend && *h == '[') {
		if ((rb = memchr(h, ']', (size_t)(aend - h))) == NULL)
			return (-1);
		sp->host = h + 1;
		sp->hostlen = (size_t)(rb - h - 1);
		sp->bracketed = 1;
		c = rb + 1;
		if (c < aend && (*c != ':' || !port_ok(c + 1,
		    (size_t)(aend - c - 1))))
			return (-1);
		return (sp->hostlen == 0 ? -1 : 0);
	}
	for (p = h; p < aend; p++)
		if (*p == ':')
			ncolon++;
	sp->host = h;
	sp->hostlen = (size_t)(aend - h);
	if (ncolon == 1) {
		c = memchr(h, ':', sp->hostlen);
		if (!port_ok(c + 1, (size_t)(aend - c - 1)))
			return (-1);
		sp->hostlen = (size_t)(c - h);
	}
	return (sp->hostlen == 0 ? -1 : 0);
}

/* The value of a hex digit of either case, or -1. */
static int
hexval(int c)
{
	if (IS_DIGIT(c))
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Writes the path and query src[0..len) in RFC 3986 section 6.2.2 normal
 * form: percent-encoded unreserved characters decoded, other escapes with
 * upper-case hex, and bytes not allowed there (quotes, markup, non-ASCII)
 * encoded.  Returns the length written, or -1 for a malformed escape or
 * a full dst.
 */
static int
pct_normalise(const char *src, size_t len, char *dst, size_t dstsz)
{
	size_t		 i, o = 0;
	unsigned char	 c;
	int		 h1, h2;

	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (o + 4 > dstsz)
			return (-1);
		if (c == '%') {
			if (len - i < 3 || (h1 = hexval(src[i + 1])) == -1 ||
			    (h2 = hexval(src[i + 2])) == -1)
				return (-1);
			c = (unsigned char)((h1 << 4) | h2);
			i += 2;
			if (IS_UNRESERVED(c)) {
				dst[o++] = (char)c;
				continue;
			}
		} else if (IS_URLCHAR(c)) {
			dst[o++] = (char)c;
			continue;
		}
		dst[o++] = '%';
		dst[o++] = hexdig[c >> 4];
		dst[o++] = hexdig[c & 0xf];
	}
	dst[o] = '\0';
	return ((int)o);
}

/* 1 when a path or query from libcurl is in the normal form above. */
static int
url_part_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%') {
			/* Upper-case hex only; an escape is never cut short. */
			if (!IS_UHEX(s[1]) || !IS_UHEX(s[2]))
				return (0);
			s += 2;
		} else if (!IS_URLCHAR(*s))
			return (0);
	}
	return (1);
}

/*
 * Canonicalises a URL's host into host (IOC_NAME_MAX + 1 bytes): a
 * strict IPv4 address (fills addr, host_family = 4) or a domain.  An
 * IPv6 host has no safe form in a PAN-OS URL list.
 */
static int
url_host(const struct ioc_split *sp, struct ioc *out, char *host)
{
	if (sp->bracketed || memchr(sp->host, ':', sp->hostlen) != NULL)
		return (-1);
	if (ioc_ipv4_strict(sp->host, sp->hostlen, out->addr) == 0) {
		out->host_family = 4;
		ioc_ip_format(4, out->addr, host, IOC_NAME_MAX + 1);
		return (0);
	}
	if (ioc_looks_numeric(sp->host, sp->hostlen))
		return (-1);
	return (ioc_canon_name(sp->host, sp->hostlen, host));
}

/*
 * Hands the URL to libcurl: s[0..authority end), "http://" in front when
 * the value has no scheme, then the normalised path and query (the
 * fragment is dropped).  libcurl must report the host byte for byte as
 * written.  On success *pathp and *queryp (NULL when empty) are for
 * curl_free().
 */
static int
url_curl(const char *s, size_t len, const struct ioc_split *sp,
    char **pathp, char **queryp)
{
	char		 buf[IOC_RAW_MAX * 3 + 16], *host = NULL;
	size_t		 o = 0, alen = (size_t)(sp->rest - s);
	int		 n, rc = -1;
	CURLU		*u;

	*pathp = *queryp = NULL;
	if (sp->scheme == NULL) {
		memcpy(buf, "http://", 7);
		o = 7;
	}
	memcpy(buf + o, s, alen);
	o += alen;
	n = pct_normalise(sp->rest, span_to(sp->rest, len - alen, "#"),
	    buf + o, sizeof(buf) - o);
	if (n == -1 || (u = curl_url()) == NULL)
		return (-1);
	if (curl_url_set(u, CURLUPART_URL, buf, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    strlen(host) != sp->hostlen ||
	    memcmp(host, sp->host, sp->hostlen) != 0 ||
	    curl_url_get(u, CURLUPART_PATH, pathp, 0) != CURLUE_OK)
		goto out;
	/* No query, or "?" alone, are the same: no query. */
	if (curl_url_get(u, CURLUPART_QUERY, queryp, 0) != CURLUE_OK ||
	    **queryp == '\0') {
		curl_free(*queryp);
		*queryp = NULL;
	}
	if (url_part_ok(*pathp) && **pathp == '/' &&
	    (*queryp == NULL || url_part_ok(*queryp)))
		rc = 0;
 out:
	curl_free(host);
	curl_url_cleanup(u);
	if (rc == -1) {
		curl_free(*pathp);
		curl_free(*queryp);
		*pathp = *queryp = NULL;
	}
	return (rc);
}

/* Classifies and canonicalises a URL value; kind is IOC_URL. */
enum ioc_reason
ioc_parse_url(const char *s, size_t len, const struct ioc_split *sp,
    struct ioc *out)
{
	char	 host[IOC_NAME_MAX + 1], *path, *query;
	size_t	 need;

	if (url_host(sp, out, host) == -1 ||
	    url_curl(s, len, sp, &path, &query) == -1)
		return (ioc_withhold(out, IOC_URL));
	need = strlen(host) + strlen(path) + (query ? strlen(query) + 1 : 0);
	if (need >= sizeof(out->value)) {
		curl_free(path);
		curl_free(query);
		return (ioc_withhold(out, IOC_URL));
	}
	snprintf(out->value, sizeof(out->value), "%s%s%s%s", host, path,
	    query ? "?" : "", query ? query : "");
	out->host_only = query == NULL && strcmp(path, "/") == 0;
	curl_free(path);
	curl_free(query);
	out->kind = IOC_URL;
	out->len = need;
	out->hostlen = strlen(host);
	if (out->len > IOC_LINE_MAX)
		out->reason = IOC_TOO_LONG;
	else if (out->host_only && out->host_family == 0 &&
	    ioc_public_suffix(host))
		/* "co.uk/" would become "*.co.uk/" with include-subdomains. */
		out->reason = IOC_PUBLIC_SUFFIX;
	else
		out->reason = IOC_OK;
	return (out->reason);
}
