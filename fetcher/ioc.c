/*
 * ioc.c: the one strict path from an untrusted Lumu value to a canonical
 * indicator (CONTRACT.md sections 4 and 5) or to the reason it is withheld.
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
 *
 * In URL paths and queries, bytes that RFC 3986 does not allow there
 * (quotes, '<', '>', '\\', '`', '{', '|', '}', '[', ']' and non-ASCII
 * bytes) are percent-encoded, so no quote or markup ever reaches a feed;
 * sub-delimiters such as '$', '(', ')', ';', '&' are legal URL characters
 * and stay.  A '%' not followed by two hex digits is invalid.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <idn2.h>
#include <libpsl.h>

#include "ioc.h"
#include "log.h"

/* Protected-address table actions. */
#define PROT_YES	1	/* not globally reachable */
#define PROT_NO		2	/* a globally reachable hole in a PROT_YES */
#define PROT_EMBED	3	/* decided by the embedded IPv4 address */

struct prot_net {
	int		 family;	/* 4 or 6 */
	uint8_t		 net[16];
	int		 plen;
	int		 action;
	int		 v4off;		/* PROT_EMBED: offset of the IPv4 */
};

/* The pieces of a value, as pointers into it. */
struct ioc_split {
	const char	*scheme;	/* NULL when there is none */
	size_t		 schemelen;
	const char	*auth;		/* authority, user info included */
	const char	*host;		/* without brackets, user info, port */
	size_t		 hostlen;
	int		 bracketed;	/* the host was "[...]" */
	const char	*rest;		/* path, query, fragment */
	size_t		 restlen;
	size_t		 pathlen;	/* of rest, up to '?' or '#' */
	size_t		 querylen;	/* after '?', up to '#' */
};

/* Script classes of the single-script rule. */
enum script {
	SC_COMMON = 0, SC_LATIN, SC_GREEK, SC_CYRILLIC, SC_ARMENIAN,
	SC_HEBREW, SC_ARABIC, SC_SYRIAC, SC_THAANA, SC_NKO, SC_DEVANAGARI,
	SC_BENGALI, SC_GURMUKHI, SC_GUJARATI, SC_ORIYA, SC_TAMIL, SC_TELUGU,
	SC_KANNADA, SC_MALAYALAM, SC_SINHALA, SC_THAI, SC_LAO, SC_TIBETAN,
	SC_MYANMAR, SC_GEORGIAN, SC_HANGUL, SC_ETHIOPIC, SC_CHEROKEE,
	SC_KHMER, SC_MONGOLIAN, SC_HIRAGANA, SC_KATAKANA, SC_BOPOMOFO,
	SC_HAN, SC_OTHER
};

struct cp_range {
	uint32_t	 lo, hi;
	int		 script;
};

static int	 utf8_next(const unsigned char *, size_t, uint32_t *);
static size_t	 span_to(const char *, size_t, const char *);
static int	 cp_forbidden(uint32_t);
static int	 check_bytes(const char *, size_t);
static size_t	 scheme_len(const char *, size_t);
static int	 port_ok(const char *, size_t);
static int	 auth_ok(const char *, size_t);
static int	 split_value(const char *, size_t, struct ioc_split *);
static int	 ipv4_strict(const char *, size_t, uint8_t *);
static int	 ipv6_parse(const char *, size_t, uint8_t *);
static void	 ip_format(int, const uint8_t *, char *, size_t);
static int	 ip_parse(const char *, size_t, int *, uint8_t *);
static int	 ip_prefix_parse(const char *, size_t, int *, uint8_t *,
		    int *);
static int	 looks_numeric(const char *, size_t);
static int	 script_of(uint32_t);
static int	 scripts_ok(const char *);
static int	 alabel_ok(const char *, size_t);
static int	 label_ok(const char *, size_t);
static int	 canon_name(const char *, size_t, char *);
static int	 public_suffix(const char *);
static int	 hexval(int);
static int	 pct_normalise(const char *, size_t, char *, size_t);
static int	 url_part_ok(const char *);
static int	 url_host(const struct ioc_split *, struct ioc *, char *);
static int	 url_curl(const char *, size_t, const struct ioc_split *,
		    char **, char **);
static enum ioc_reason parse_url(const char *, size_t,
		    const struct ioc_split *, struct ioc *);
static enum ioc_reason parse_host(const struct ioc_split *, struct ioc *);
static int	 parse_network(const char *, size_t, struct ioc *);
static int	 is_http(const char *, size_t);
static enum ioc_reason withhold(struct ioc *, enum ioc_kind);
static enum ioc_reason canonical(struct ioc *, enum ioc_kind, enum ioc_reason,
		    const char *);
static int	 prefix_match(const uint8_t *, const uint8_t *, int);
static int	 protected_lookup(int, const uint8_t *);
static int	 family_norm(int);

static psl_ctx_t	*ioc_psl_loaded;	/* from psl_latest(), freed */
static const psl_ctx_t	*ioc_psl;		/* the list in use */

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

/*
 * Scripts of the letters that IDNA 2008 admits, by block; sorted.  Code
 * points outside the table are SC_OTHER, ASCII non-letters SC_COMMON.
 */
static const struct cp_range scripts[] = {
	{ 0x0041, 0x005a, SC_LATIN }, { 0x0061, 0x007a, SC_LATIN },
	{ 0x00c0, 0x00d6, SC_LATIN }, { 0x00d8, 0x00f6, SC_LATIN },
	{ 0x00f8, 0x02af, SC_LATIN }, { 0x0300, 0x036f, SC_COMMON },
	{ 0x0370, 0x03ff, SC_GREEK }, { 0x0400, 0x052f, SC_CYRILLIC },
	{ 0x0530, 0x058f, SC_ARMENIAN }, { 0x0590, 0x05ff, SC_HEBREW },
	{ 0x0600, 0x06ff, SC_ARABIC }, { 0x0700, 0x074f, SC_SYRIAC },
	{ 0x0750, 0x077f, SC_ARABIC }, { 0x0780, 0x07bf, SC_THAANA },
	{ 0x07c0, 0x07ff, SC_NKO }, { 0x0860, 0x086f, SC_SYRIAC },
	{ 0x0870, 0x08ff, SC_ARABIC }, { 0x0900, 0x097f, SC_DEVANAGARI },
	{ 0x0980, 0x09ff, SC_BENGALI }, { 0x0a00, 0x0a7f, SC_GURMUKHI },
	{ 0x0a80, 0x0aff, SC_GUJARATI }, { 0x0b00, 0x0b7f, SC_ORIYA },
	{ 0x0b80, 0x0bff, SC_TAMIL }, { 0x0c00, 0x0c7f, SC_TELUGU },
	{ 0x0c80, 0x0cff, SC_KANNADA }, { 0x0d00, 0x0d7f, SC_MALAYALAM },
	{ 0x0d80, 0x0dff, SC_SINHALA }, { 0x0e00, 0x0e7f, SC_THAI },
	{ 0x0e80, 0x0eff, SC_LAO }, { 0x0f00, 0x0fff, SC_TIBETAN },
	{ 0x1000, 0x109f, SC_MYANMAR }, { 0x10a0, 0x10ff, SC_GEORGIAN },
	{ 0x1100, 0x11ff, SC_HANGUL }, { 0x1200, 0x139f, SC_ETHIOPIC },
	{ 0x13a0, 0x13ff, SC_CHEROKEE }, { 0x1780, 0x17ff, SC_KHMER },
	{ 0x1800, 0x18af, SC_MONGOLIAN }, { 0x1ab0, 0x1aff, SC_COMMON },
	{ 0x1c80, 0x1c8f, SC_CYRILLIC }, { 0x1c90, 0x1cbf, SC_GEORGIAN },
	{ 0x1dc0, 0x1dff, SC_COMMON }, { 0x1e00, 0x1eff, SC_LATIN },
	{ 0x1f00, 0x1fff, SC_GREEK }, { 0x200c, 0x200d, SC_COMMON },
	{ 0x20d0, 0x20ff, SC_COMMON }, { 0x2c60, 0x2c7f, SC_LATIN },
	{ 0x2d00, 0x2d2f, SC_GEORGIAN }, { 0x2de0, 0x2dff, SC_CYRILLIC },
	{ 0x2e80, 0x2fdf, SC_HAN }, { 0x3005, 0x3007, SC_HAN },
	{ 0x3041, 0x309f, SC_HIRAGANA }, { 0x30a0, 0x30ff, SC_KATAKANA },
	{ 0x3100, 0x312f, SC_BOPOMOFO }, { 0x3130, 0x318f, SC_HANGUL },
	{ 0x31a0, 0x31bf, SC_BOPOMOFO }, { 0x31f0, 0x31ff, SC_KATAKANA },
	{ 0x3400, 0x4dbf, SC_HAN }, { 0x4e00, 0x9fff, SC_HAN },
	{ 0xa640, 0xa69f, SC_CYRILLIC }, { 0xa720, 0xa7ff, SC_LATIN },
	{ 0xab30, 0xab6f, SC_LATIN }, { 0xac00, 0xd7ff, SC_HANGUL },
	{ 0xf900, 0xfaff, SC_HAN }, { 0xfb00, 0xfb06, SC_LATIN },
	{ 0xfb1d, 0xfb4f, SC_HEBREW }, { 0xfb50, 0xfdff, SC_ARABIC },
	{ 0xfe20, 0xfe2f, SC_COMMON }, { 0xfe70, 0xfeff, SC_ARABIC },
	{ 0xff21, 0xff3a, SC_LATIN }, { 0xff41, 0xff5a, SC_LATIN },
	{ 0xff66, 0xff9f, SC_KATAKANA }, { 0x20000, 0x3ffff, SC_HAN }
};

#define SCB(s)	(1ULL << (s))
/* Script mixes that one language writes in one word (as browsers allow). */
static const uint64_t script_mixes[] = {
	SCB(SC_LATIN) | SCB(SC_HAN) | SCB(SC_HIRAGANA) | SCB(SC_KATAKANA),
	SCB(SC_LATIN) | SCB(SC_HAN) | SCB(SC_BOPOMOFO),
	SCB(SC_LATIN) | SCB(SC_HAN) | SCB(SC_HANGUL)
};

#define V4(a, b, c, d)	{ (a), (b), (c), (d) }
#define V4M(a, b, c, d)	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, \
			    (a), (b), (c), (d) }
/*
 * What the IANA special-purpose registries (IPv4 and IPv6, as of 2024)
 * mark "Globally Reachable: False", plus multicast, 0.0.0.0/8, 240.0.0.0/4
 * and the forms that embed an IPv4 address.  The longest matching prefix
 * decides, so the registry's globally reachable entries inside a
 * protected block (192.0.0.9 and .10, the anycast and AMT, AS112,
 * ORCHIDv2 and drone-ID blocks in 2001::/23) are PROT_NO holes.
 * Choices where the registry is silent or "N/A":
 * - 192.88.99.0/24 (deprecated 6to4 relay anycast) and Teredo 2001::/32
 *   are protected; fec0::/10 (deprecated site-local) is protected;
 * - all of ::ffff:0:0/96 is protected, as the registry says, whatever
 *   IPv4 address it embeds (such addresses never appear on the wire);
 * - ::/96 (IPv4-compatible), 64:ff9b::/96 (NAT64) and 2002::/16 (6to4)
 *   are protected exactly when the IPv4 address they embed is.
 */
static const struct prot_net prot_nets[] = {
	{ 4, V4(0, 0, 0, 0), 8, PROT_YES, 0 },
	{ 4, V4(10, 0, 0, 0), 8, PROT_YES, 0 },
	{ 4, V4(100, 64, 0, 0), 10, PROT_YES, 0 },
	{ 4, V4(127, 0, 0, 0), 8, PROT_YES, 0 },
	{ 4, V4(169, 254, 0, 0), 16, PROT_YES, 0 },
	{ 4, V4(172, 16, 0, 0), 12, PROT_YES, 0 },
	{ 4, V4(192, 0, 0, 0), 24, PROT_YES, 0 },
	{ 4, V4(192, 0, 0, 9), 32, PROT_NO, 0 },	/* PCP anycast */
	{ 4, V4(192, 0, 0, 10), 32, PROT_NO, 0 },	/* TURN anycast */
	{ 4, V4(192, 0, 2, 0), 24, PROT_YES, 0 },
	{ 4, V4(192, 88, 99, 0), 24, PROT_YES, 0 },
	{ 4, V4(192, 168, 0, 0), 16, PROT_YES, 0 },
	{ 4, V4(198, 18, 0, 0), 15, PROT_YES, 0 },
	{ 4, V4(198, 51, 100, 0), 24, PROT_YES, 0 },
	{ 4, V4(203, 0, 113, 0), 24, PROT_YES, 0 },
	{ 4, V4(224, 0, 0, 0), 4, PROT_YES, 0 },
	{ 4, V4(240, 0, 0, 0), 4, PROT_YES, 0 },
	{ 6, { 0 }, 96, PROT_EMBED, 12 },		/* IPv4-compatible */
	{ 6, { 0 }, 128, PROT_YES, 0 },
	{ 6, { [15] = 1 }, 128, PROT_YES, 0 },
	{ 6, V4M(0, 0, 0, 0), 96, PROT_YES, 0 },	/* IPv4-mapped */
	{ 6, { 0, 0x64, 0xff, 0x9b }, 96, PROT_EMBED, 12 },
	{ 6, { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, PROT_YES, 0 },
	{ 6, { 0x01, 0x00 }, 64, PROT_YES, 0 },		/* discard-only */
	{ 6, { 0x20, 0x01 }, 23, PROT_YES, 0 },		/* IETF protocols */
	{ 6, { 0x20, 0x01 }, 32, PROT_YES, 0 },		/* Teredo */
	{ 6, { 0x20, 0x01, 0, 1, [15] = 1 }, 128, PROT_NO, 0 },
	{ 6, { 0x20, 0x01, 0, 1, [15] = 2 }, 128, PROT_NO, 0 },
	{ 6, { 0x20, 0x01, 0, 1, [15] = 3 }, 128, PROT_NO, 0 },
	{ 6, { 0x20, 0x01, 0, 2 }, 48, PROT_YES, 0 },	/* benchmarking */
	{ 6, { 0x20, 0x01, 0, 3 }, 32, PROT_NO, 0 },	/* AMT */
	{ 6, { 0x20, 0x01, 0, 4, 0x01, 0x12 }, 48, PROT_NO, 0 }, /* AS112 */
	{ 6, { 0x20, 0x01, 0, 0x10 }, 28, PROT_YES, 0 },	/* ORCHID */
	{ 6, { 0x20, 0x01, 0, 0x20 }, 28, PROT_NO, 0 },	/* ORCHIDv2 */
	{ 6, { 0x20, 0x01, 0, 0x30 }, 28, PROT_NO, 0 },	/* drone ID */
	{ 6, { 0x20, 0x01, 0x0d, 0xb8 }, 32, PROT_YES, 0 },
	{ 6, { 0x20, 0x02 }, 16, PROT_EMBED, 2 },	/* 6to4 */
	{ 6, { 0x3f, 0xff }, 20, PROT_YES, 0 },		/* documentation */
	{ 6, { 0x5f, 0x00 }, 16, PROT_YES, 0 },		/* SRv6 SIDs */
	{ 6, { 0xfc }, 7, PROT_YES, 0 },
	{ 6, { 0xfe, 0x80 }, 10, PROT_YES, 0 },
	{ 6, { 0xfe, 0xc0 }, 10, PROT_YES, 0 },
	{ 6, { 0xff }, 8, PROT_YES, 0 }
};

static const char hexdig[] = "0123456789ABCDEF";

#define IS_ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || \
			    ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_UNRESERVED(c) (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || \
			    (c) == '.' || (c) == '_' || (c) == '~')
/* RFC 3986 path and query characters kept as they are (no quote). */
#define IS_URLCHAR(c)	(IS_UNRESERVED(c) || ((c) != '\0' && \
			    strchr("!$&()+,;=:@/?", (c)) != NULL))
#define IS_UHEX(c)	(IS_DIGIT(c) || ((c) >= 'A' && (c) <= 'F'))
#define IS_TRIM(c)	((c) == ' ' || (c) == '\t' || (c) == '\r' || \
			    (c) == '\n' || (c) == '\v' || (c) == '\f')

/* Loads the Public Suffix List: the newest of built-in and system. */
int
ioc_init(void)
{
	ioc_cleanup();
	if ((ioc_psl_loaded = psl_latest(NULL)) != NULL)
		ioc_psl = ioc_psl_loaded;
	else if ((ioc_psl = psl_builtin()) == NULL) {
		log_warnx("%s: no Public Suffix List available", __func__);
		return (-1);
	}
	log_debug("%s: public suffix list loaded", __func__);
	return (0);
}

/* Frees the Public Suffix List loaded by ioc_init(). */
void
ioc_cleanup(void)
{
	psl_free(ioc_psl_loaded);
	ioc_psl_loaded = NULL;
	ioc_psl = NULL;
}

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
static int
utf8_next(const unsigned char *s, size_t len, uint32_t *cpp)
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
static int
check_bytes(const char *s, size_t len)
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
		if ((n = utf8_next(p + i, len - i, &cp)) == 0 ||
		    cp_forbidden(cp))
			return (-1);
		i += n;
	}
	return (0);
}

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
static int
split_value(const char *s, size_t len, struct ioc_split *sp)
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

/*
 * Parses a strict dotted quad: four decimal octets 0..255 without
 * leading zeros.  Octal, hex and short forms are not addresses here.
 */
static int
ipv4_strict(const char *s, size_t len, uint8_t *addr)
{
	uint8_t		 a[4];
	size_t		 i = 0, start;
	unsigned int	 v;
	int		 part;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return (-1);
			i++;
		}
		start = i;
		v = 0;
		while (i < len && IS_DIGIT(s[i]) && i - start < 3)
			v = v * 10 + (unsigned int)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return (-1);
		a[part] = (uint8_t)v;
	}
	if (i != len)
		return (-1);
	memcpy(addr, a, sizeof(a));
	return (0);
}

/* Parses an IPv6 address with inet_pton; zone ids are refused. */
static int
ipv6_parse(const char *s, size_t len, uint8_t *addr)
{
	char	 buf[INET6_ADDRSTRLEN];
	uint8_t	 a[16];

	if (len == 0 || len >= sizeof(buf) || memchr(s, '%', len) != NULL)
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return (-1);
	memcpy(addr, a, sizeof(a));
	return (0);
}

/*
 * Formats an address canonically: dotted quad, or RFC 5952 text from
 * inet_ntop.  glibc writes IPv4-compatible addresses (::a.b.c.d) with a
 * dotted tail, which RFC 5952 section 5 keeps for ::ffff:0:0/96 only.
 */
static void
ip_format(int family, const uint8_t *addr, char *dst, size_t dstsz)
{
	static const uint8_t	 zero[12];

	if (family == 4) {
		snprintf(dst, dstsz, "%u.%u.%u.%u", addr[0], addr[1], addr[2],
		    addr[3]);
		return;
	}
	if (memcmp(addr, zero, 12) == 0 && (addr[12] | addr[13]) != 0) {
		snprintf(dst, dstsz, "::%x:%x", (addr[12] << 8) | addr[13],
		    (addr[14] << 8) | addr[15]);
		return;
	}
	if (inet_ntop(AF_INET6, addr, dst, (socklen_t)dstsz) == NULL)
		dst[0] = '\0';
}

/* Parses a strict IPv4 or an IPv6 address; sets *family to 4 or 6. */
static int
ip_parse(const char *s, size_t len, int *family, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (ipv4_strict(s, len, addr) == 0) {
		*family = 4;
		return (0);
	}
	if (memchr(s, ':', len) != NULL && ipv6_parse(s, len, addr) == 0) {
		*family = 6;
		return (0);
	}
	return (-1);
}

/*
 * Parses "addr" or "addr/n" (n decimal, no leading zero, at most the
 * family's width).  *prefix is -1 without "/n".  -1 when malformed.
 */
static int
ip_prefix_parse(const char *s, size_t len, int *family, uint8_t *addr,
    int *prefix)
{
	const char	*slash;
	size_t		 alen, i;
	int		 v = 0;

	if ((slash = memchr(s, '/', len)) == NULL) {
		*prefix = -1;
		return (ip_parse(s, len, family, addr));
	}
	alen = (size_t)(slash - s);
	if (ip_parse(s, alen, family, addr) == -1)
		return (-1);
	if (len - alen < 2 || len - alen > 4 ||
	    (slash[1] == '0' && len - alen > 2))
		return (-1);
	for (i = alen + 1; i < len; i++) {
		if (!IS_DIGIT(s[i]))
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v > (*family == 4 ? 32 : 128))
		return (-1);
	*prefix = v;
	return (0);
}

/*
 * 1 for names that a resolver or a browser might read as an IPv4 address
 * (inet_aton forms such as "0x7f.1" or "127.1", or an all-digit last
 * label such as "999.1.1.1"): such names are never domains.
 */
static int
looks_numeric(const char *s, size_t len)
{
	char		 buf[IOC_NAME_MAX + 2];
	struct in_addr	 ia;
	const char	*last;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return (0);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_aton(buf, &ia) != 0)
		return (1);
	last = strrchr(buf, '.');
	last = last ? last + 1 : buf;
	return (*last != '\0' && strspn(last, "0123456789") == strlen(last));
}

/* The script class of a code point (binary search of the sorted table). */
static int
script_of(uint32_t cp)
{
	size_t	 lo = 0, hi = sizeof(scripts) / sizeof(scripts[0]), mid;

	if (cp < 0x80)
		return (IS_ALPHA(cp) ? SC_LATIN : SC_COMMON);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cp < scripts[mid].lo)
			hi = mid;
		else if (cp > scripts[mid].hi)
			lo = mid + 1;
		else
			return (scripts[mid].script);
	}
	return (SC_OTHER);
}

/*
 * The single-script rule for one U-label: its letters come from one
 * script, or from one of the mixes in script_mixes.  This refuses the
 * classic homograph "p\u0430ypal" (a Cyrillic a among Latin letters); a
 * label wholly in a look-alike script is beyond what this rule can see.
 */
static int
scripts_ok(const char *ulabel)
{
	const unsigned char	*p = (const unsigned char *)ulabel;
	size_t			 len = strlen(ulabel), i = 0, k;
	uint64_t		 seen = 0;
	uint32_t		 cp;
	int			 n, sc;

	while (i < len) {
		if ((n = utf8_next(p + i, len - i, &cp)) == 0)
			return (0);
		i += n;
		if ((sc = script_of(cp)) != SC_COMMON)
			seen |= SCB(sc);
	}
	if ((seen & (seen - 1)) == 0)
		return (1);
	for (k = 0; k < sizeof(script_mixes) / sizeof(script_mixes[0]); k++)
		if ((seen & ~script_mixes[k]) == 0)
			return (1);
	return (0);
}

/*
 * Checks an "xn--" label: it must decode, pass the single-script rule,
 * and encode back (IDNA 2008, non-transitional, transitional as the
 * fallback) to exactly itself, so only the canonical A-label of a valid
 * U-label is accepted.
 */
static int
alabel_ok(const char *label, size_t len)
{
	char	 buf[64], *u = NULL, *a = NULL;
	int	 ok = 0;

	if (len >= sizeof(buf))
		return (0);
	memcpy(buf, label, len);
	buf[len] = '\0';
	if (idn2_to_unicode_8z8z(buf, &u, 0) != IDN2_OK || u == NULL)
		goto out;
	if (!scripts_ok(u))
		goto out;
	if (idn2_to_ascii_8z(u, &a, IDN2_NONTRANSITIONAL) != IDN2_OK &&
	    idn2_to_ascii_8z(u, &a, IDN2_TRANSITIONAL) != IDN2_OK)
		goto out;
	ok = a != NULL && strcmp(a, buf) == 0;
 out:
	idn2_free(u);
	idn2_free(a);
	return (ok);
}

/* 1 for a lower-case LDH label of 1..63 bytes (and a valid A-label). */
static int
label_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return (0);
	for (i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !IS_DIGIT(s[i]) &&
		    s[i] != '-')
			return (0);
	if (len >= 4 && memcmp(s, "xn--", 4) == 0)
		return (alabel_ok(s, len));
	return (1);
}

/*
 * Canonicalises a DNS name into out (IOC_NAME_MAX + 1 bytes): IDNA 2008
 * A-labels for non-ASCII input, lower case, one trailing dot removed,
 * LDH labels, at least two labels, at most IOC_NAME_MAX bytes, not
 * numeric.  -1 when the name is not a valid domain.
 */
static int
canon_name(const char *in, size_t len, char *out)
{
	char	 buf[IOC_RAW_MAX + 1], *a = NULL, *p, *dot;
	size_t	 i, n, labels = 0;
	int	 ascii = 1;

	if (len == 0 || len > IOC_RAW_MAX || memchr(in, '\0', len) != NULL)
		return (-1);
	memcpy(buf, in, len);
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			ascii = 0;
	if (!ascii) {
		if (idn2_to_ascii_8z(buf, &a, IDN2_NONTRANSITIONAL |
		    IDN2_NFC_INPUT) != IDN2_OK &&
		    idn2_to_ascii_8z(buf, &a, IDN2_TRANSITIONAL |
		    IDN2_NFC_INPUT) != IDN2_OK)
			return (-1);
		if ((n = strlen(a)) >= sizeof(buf)) {
			idn2_free(a);
			return (-1);
		}
		memcpy(buf, a, n + 1);
		idn2_free(a);
		len = n;
	}
	for (i = 0; i < len; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	if (len == 0 || len > IOC_NAME_MAX || looks_numeric(buf, len))
		return (-1);
	for (p = buf; ; p = dot + 1) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (!label_ok(p, n))
			return (-1);
		labels++;
		if (dot == NULL)
			break;
	}
	if (labels < 2)
		return (-1);
	memcpy(out, buf, len + 1);
	return (0);
}

/* 1 when a canonical name is a public suffix, in either PSL section. */
static int
public_suffix(const char *name)
{
	const psl_ctx_t	*psl = ioc_psl ? ioc_psl : psl_builtin();

	/*
	 * No "*" default rule: an unlisted TLD is not a public suffix here
	 * (single labels are refused before).  Without any list, libpsl
	 * answers 1, which withholds rather than publishes.
	 */
	return (psl_is_public_suffix2(psl, name,
	    PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0);
}

/* The canonical form of an allowlisted name; public suffixes pass. */
int
ioc_canon_domain(const char *name, char *dst, size_t dstsz)
{
	char	 buf[IOC_NAME_MAX + 1];
	size_t	 len;

	if (name == NULL || dst == NULL || dstsz == 0)
		return (-1);
	len = strnlen(name, IOC_RAW_MAX + 1);
	if (check_bytes(name, len) == -1 || canon_name(name, len, buf) == -1 ||
	    strlen(buf) >= dstsz)
		return (-1);
	memcpy(dst, buf, strlen(buf) + 1);
	return (0);
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
	if (ipv4_strict(sp->host, sp->hostlen, out->addr) == 0) {
		out->host_family = 4;
		ip_format(4, out->addr, host, IOC_NAME_MAX + 1);
		return (0);
	}
	if (looks_numeric(sp->host, sp->hostlen))
		return (-1);
	return (canon_name(sp->host, sp->hostlen, host));
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
static enum ioc_reason
parse_url(const char *s, size_t len, const struct ioc_split *sp,
    struct ioc *out)
{
	char	 host[IOC_NAME_MAX + 1], *path, *query;
	size_t	 need;

	if (url_host(sp, out, host) == -1 ||
	    url_curl(s, len, sp, &path, &query) == -1)
		return (withhold(out, IOC_URL));
	need = strlen(host) + strlen(path) + (query ? strlen(query) + 1 : 0);
	if (need >= sizeof(out->value)) {
		curl_free(path);
		curl_free(query);
		return (withhold(out, IOC_URL));
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
	    public_suffix(host))
		/* "co.uk/" would become "*.co.uk/" with include-subdomains. */
		out->reason = IOC_PUBLIC_SUFFIX;
	else
		out->reason = IOC_OK;
	return (out->reason);
}

/* Marks out withheld as invalid; value keeps the escaped raw text. */
static enum ioc_reason
withhold(struct ioc *out, enum ioc_kind kind)
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
static enum ioc_reason
canonical(struct ioc *out, enum ioc_kind kind, enum ioc_reason reason,
    const char *value)
{
	out->kind = kind;
	out->reason = reason;
	out->len = strlen(value);
	memcpy(out->value, value, out->len + 1);
	return (reason);
}

/*
 * Recognises "addr/n" and "a-b" values.  Returns 0 when s is not shaped
 * like one (it is then a host or URL), 1 when out is filled: the address
 * for a full-width prefix, IOC_NETWORK with the canonical text (host
 * bits cleared) otherwise, IOC_INVALID when malformed.
 */
static int
parse_network(const char *s, size_t len, struct ioc *out)
{
	char		 a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	char		 text[2 * INET6_ADDRSTRLEN + 8];
	const char	*sep, *p;
	uint8_t		 start[16], end[16];
	int		 fam, fam2, prefix, i;

	if ((sep = memchr(s, '/', len)) != NULL) {
		for (p = sep + 1; p < s + len && IS_DIGIT(*p); p++)
			;
		if (p == sep + 1 || p < s + len ||
		    ip_parse(s, (size_t)(sep - s), &fam, start) == -1)
			return (0);
		if (ip_prefix_parse(s, len, &fam, start, &prefix) == -1) {
			withhold(out, IOC_NONE);
			return (1);
		}
		for (i = prefix; i < 128; i++)
			start[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		ip_format(fam, start, a, sizeof(a));
		memcpy(out->addr, start, sizeof(out->addr));
		if (prefix == (fam == 4 ? 32 : 128)) {
			canonical(out, fam == 4 ? IOC_IPV4 : IOC_IPV6, IOC_OK,
			    a);
			return (1);
		}
		snprintf(text, sizeof(text), "%s/%d", a, prefix);
	} else {
		if ((sep = memchr(s, '-', len)) == NULL ||
		    ip_parse(s, (size_t)(sep - s), &fam, start) == -1 ||
		    ip_parse(sep + 1, (size_t)(s + len - sep - 1), &fam2,
		    end) == -1)
			return (0);
		if (fam != fam2 || memcmp(start, end, 16) > 0) {
			withhold(out, IOC_NONE);
			return (1);
		}
		ip_format(fam, start, a, sizeof(a));
		ip_format(fam, end, b, sizeof(b));
		snprintf(text, sizeof(text), "%s-%s", a, b);
		memcpy(out->addr, start, sizeof(out->addr));
	}
	canonical(out, fam == 4 ? IOC_IPV4 : IOC_IPV6, IOC_NETWORK, text);
	return (1);
}

/* Classifies a value reduced to its host: IPv4, IPv6 or a domain. */
static enum ioc_reason
parse_host(const struct ioc_split *sp, struct ioc *out)
{
	char	 buf[IOC_NAME_MAX + 1];

	if (sp->bracketed || memchr(sp->host, ':', sp->hostlen) != NULL) {
		if (ipv6_parse(sp->host, sp->hostlen, out->addr) == -1)
			return (withhold(out, IOC_NONE));
		ip_format(6, out->addr, buf, sizeof(buf));
		return (canonical(out, IOC_IPV6, IOC_OK, buf));
	}
	if (ipv4_strict(sp->host, sp->hostlen, out->addr) == 0) {
		ip_format(4, out->addr, buf, sizeof(buf));
		return (canonical(out, IOC_IPV4, IOC_OK, buf));
	}
	if (looks_numeric(sp->host, sp->hostlen) ||
	    canon_name(sp->host, sp->hostlen, buf) == -1)
		return (withhold(out, IOC_NONE));
	return (canonical(out, IOC_DOMAIN, public_suffix(buf) ?
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
	if (n == 0 || check_bytes(s, n) == -1)
		return (IOC_INVALID);
	split = split_value(s, n, &sp);
	url = sp.scheme ? is_http(sp.scheme, sp.schemelen) :
	    sp.pathlen > 1 || sp.querylen > 0;
	if (!url || sp.scheme == NULL) {
		/* Networks first: "10.0.0.0/8" is not a URL with path "/8". */
		p = sp.scheme ? sp.auth : s;
		if (parse_network(p, (size_t)(s + n - p), out))
			return (out->reason);
	}
	if (split == -1 || memchr(s, '*', n) != NULL ||
	    memchr(s, '^', n) != NULL)
		return (withhold(out, url ? IOC_URL : IOC_NONE));
	return (url ? parse_url(s, n, &sp, out) : parse_host(&sp, out));
}

/* 1 when the first plen bits of a and b agree. */
static int
prefix_match(const uint8_t *a, const uint8_t *b, int plen)
{
	int	 full = plen / 8, rest = plen % 8;
	uint8_t	 mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] & mask) == (b[full] & mask));
}

/* Longest-prefix match in prot_nets; an embedding defers to the IPv4. */
static int
protected_lookup(int family, const uint8_t *addr)
{
	const struct prot_net	*e, *best = NULL;
	size_t			 i;

	for (i = 0; i < sizeof(prot_nets) / sizeof(prot_nets[0]); i++) {
		e = &prot_nets[i];
		if (e->family == family && prefix_match(e->net, addr,
		    e->plen) && (best == NULL || e->plen > best->plen))
			best = e;
	}
	if (best == NULL)
		return (0);
	if (best->action == PROT_EMBED)
		return (protected_lookup(4, addr + best->v4off));
	return (best->action == PROT_YES);
}

/* Family 4 or AF_INET, 6 or AF_INET6; 0 for anything else. */
static int
family_norm(int family)
{
	if (family == 4 || family == AF_INET)
		return (4);
	if (family == 6 || family == AF_INET6)
		return (6);
	return (0);
}

/* 1 when an address must never be published (table above). */
int
ioc_addr_protected(int family, const uint8_t *addr)
{
	int	 fam = family_norm(family);

	/* An unknown family is protected: fail closed. */
	if (fam == 0 || addr == NULL)
		return (1);
	return (protected_lookup(fam, addr));
}

/* Parses an allowlist address or network; a bare address is /32, /128. */
int
ioc_parse_cidr(const char *s, int *family, uint8_t *addr, int *prefix)
{
	uint8_t	 a[16];
	size_t	 len;
	int	 fam, p;

	if (s == NULL || (len = strnlen(s, 64)) == 64 ||
	    ip_prefix_parse(s, len, &fam, a, &p) == -1)
		return (-1);
	*family = fam;
	memcpy(addr, a, fam == 4 ? 4 : 16);
	*prefix = p == -1 ? (fam == 4 ? 32 : 128) : p;
	return (0);
}

/* 1 when addr lies in net/prefix; a bad prefix contains nothing. */
int
ioc_cidr_contains(int family, const uint8_t *net, int prefix,
    const uint8_t *addr)
{
	int	 fam = family_norm(family);

	if (fam == 0 || prefix < 0 || prefix > (fam == 4 ? 32 : 128))
		return (0);
	return (prefix_match(net, addr, prefix));
}
