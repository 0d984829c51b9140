/*
 * ioc_name.c: DNS names for the canonicaliser: IDNA 2008 through libidn2,
 * LDH labels, the single-script rule per label, names that read as
 * numbers, and the Public Suffix List through libpsl (loaded by
 * ioc_init()).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include <idn2.h>
#include <libpsl.h>

#include "ioc_int.h"
#include "log.h"

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

static int	 script_of(uint32_t);
static int	 scripts_ok(const char *);
static int	 alabel_ok(const char *, size_t);
static int	 label_ok(const char *, size_t);

static psl_ctx_t	*ioc_psl_loaded;	/* from psl_latest(), freed */
static const psl_ctx_t	*ioc_psl;		/* the list in use */

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

/*
 * 1 for names that a resolver or a browser might read as an IPv4 address
 * (inet_aton forms such as "0x7f.1" or "127.1", or an all-digit last
 * label such as "999.1.1.1"): such names are never domains.
 */
int
ioc_looks_numeric(const char *s, size_t len)
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
		if ((n = ioc_utf8_next(p + i, len - i, &cp)) == 0)
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
int
ioc_canon_name(const char *in, size_t len, char *out)
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
	if (len == 0 || len > IOC_NAME_MAX || ioc_looks_numeric(buf, len))
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
int
ioc_public_suffix(const char *name)
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
	if (ioc_check_bytes(name, len) == -1 ||
	    ioc_canon_name(name, len, buf) == -1 || strlen(buf) >= dstsz)
		return (-1);
	memcpy(dst, buf, strlen(buf) + 1);
	return (0);
}

