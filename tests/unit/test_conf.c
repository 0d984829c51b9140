/*
 * test_conf.c: the feeds.conf parser.  Every error names FILE:LINE (the
 * exact text is checked), every key's bad values, defaults, quoting,
 * comments, duplicates, lists, the subset rule, secret files, warnings,
 * the repository's own feeds.conf and the -nn dump against
 * tests/conf/dump.golden.  Run from the repository root.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"
#include "tap.h"

/* The smallest valid sections: [lumu] is lines 1-2, the feed 2 more. */
#define LUMU	"[lumu]\ncompany-key = k\n"
#define FEED	"[feed f]\ntype = ip\n"
#define SERVER	LUMU FEED "[server]\n"		/* next line is 6 */
#define ALLOW	LUMU FEED "[allowlist]\n"	/* next line is 6 */
#define PANOS	LUMU FEED "[panos fw]\n"	/* header on line 5 */

struct ecase {
	const char	*what;
	const char	*text;		/* "$": the scratch directory */
	const char	*want;		/* "@": the config's path too */
};

static char	tmpdir[] = "/tmp/test_conf.XXXXXX";
static char	cpath[PATH_MAX];

static const struct ecase ecases[] = {
	/* Syntax. */
	{ "unknown section", LUMU FEED "[bogus]\nx = 1\n",
	  "@:5: unknown section [bogus]\n" },
	{ "unknown key", LUMU "bogus = 1\n" FEED,
	  "@:3: unknown key bogus in [lumu]\n" },
	{ "key outside a section", "a = b\n" LUMU FEED,
	  "@:1: a outside any section\n" },
	{ "line without =", LUMU "lookback 30d\n" FEED,
	  "@:3: expected key = value\n" },
	{ "empty key", LUMU " = 30d\n" FEED, "@:3: expected key = value\n" },
	{ "empty value", LUMU "lookback =\n" FEED,
	  "@:3: lookback: missing value\n" },
	{ "value that is only a comment", LUMU "lookback = # 30d\n" FEED,
	  "@:3: lookback: missing value\n" },
	{ "empty quoted value", LUMU "api-url = \"\"\n" FEED,
	  "@:3: api-url: missing value\n" },
	{ "unterminated quote", LUMU "api-url = \"http://a\n" FEED,
	  "@:3: unterminated quoted value\n" },
	{ "bad escape in quotes", LUMU "api-url = \"http://a\\n\"\n" FEED,
	  "@:3: bad escape in quoted value: only \\\" and \\\\\n" },
	{ "text after the closing quote", LUMU "api-url = \"http://a\" b\n"
	  FEED, "@:3: text after the closing quote\n" },
	{ "# glued to the closing quote", LUMU "api-url = \"http://a\"#b\n"
	  FEED, "@:3: text after the closing quote\n" },
	{ "duplicate key", LUMU "company-key = k2\n" FEED,
	  "@:3: duplicate key company-key (first at line 2)\n" },
	{ "duplicate of a bad value", LUMU "lookback = 1\nlookback = 2d\n"
	  FEED, "@:3: lookback: \"1\" needs a unit: s, m, h or d\n"
	  "@:4: duplicate key lookback (first at line 3)\n" },
	{ "duplicate [lumu]", LUMU FEED "[lumu]\n",
	  "@:5: duplicate section [lumu] (first at line 1)\n" },
	{ "duplicate feed name", LUMU FEED "[feed f]\ntype = url\n",
	  "@:5: duplicate section [feed f] (first at line 3)\n" },
	{ "duplicate panos name", PANOS "[panos fw]\n",
	  "@:6: duplicate section [panos fw] (first at line 5)\n"
	  "@:5: [panos fw]: missing required key hostname\n"
	  "@:5: [panos fw]: missing api-key, api-key-file or username\n"
	  "@:5: [panos fw]: needs dag-feed or url-category-feed\n" },
	{ "[feed] without a name", LUMU FEED "[feed]\n",
	  "@:5: [feed] needs a name: [feed NAME]\n" },
	{ "[lumu NAME]", "[lumu x]\ncompany-key = k\n" FEED,
	  "@:1: [lumu] takes no name\n@:4: missing section [lumu]\n" },
	{ "bad feed name", LUMU "[feed a.b]\ntype = ip\n" FEED,
	  "@:3: bad feed name \"a.b\": 1 to 64 letters, digits, _ or -\n" },
	{ "feed name of 65 characters", LUMU "[feed "
	  "a1234567890123456789012345678901234567890123456789012345678901234"
	  "]\n" FEED, "@:3: bad feed name \"a123456789012345678901234567890"
	  "1234567890123456789012345678901234\": 1 to 64 letters, digits, _ "
	  "or -\n" },
	{ "bad panos name", LUMU FEED "[panos fw/1]\n",
	  "@:5: bad panos name \"fw/1\": 1 to 64 letters, digits, _ or -\n" },
	{ "unclosed header", LUMU FEED "[server\n",
	  "@:5: bad section header: expected [kind] or [kind NAME]\n" },
	{ "three words in a header", LUMU FEED "[feed a b]\n",
	  "@:5: bad section header: expected [kind] or [kind NAME]\n" },
	{ "text after a header", LUMU FEED "[server] x\n",
	  "@:5: text after the section header\n" },
	{ "control character", LUMU "api-url = http://a\001b\n" FEED,
	  "@:3: control character 0x01\n" },
	{ "DEL character", LUMU FEED "# \177\n",
	  "@:5: control character 0x7f\n" },
	{ "missing [lumu]", FEED, "@:2: missing section [lumu]\n" },
	{ "missing [feed]", LUMU, "@:2: missing a [feed NAME] section\n" },
	{ "empty file", "", "@:1: missing section [lumu]\n"
	  "@:1: missing a [feed NAME] section\n" },
	{ "comments only", "# x\n; y\n\n   # z\n",
	  "@:4: missing section [lumu]\n@:4: missing a [feed NAME] section\n" },

	/* [lumu] */
	{ "no company key", "[lumu]\n" FEED,
	  "@:1: [lumu]: missing company-key or company-key-file\n" },
	{ "both company keys", LUMU "company-key-file = $/secret-nl\n" FEED,
	  "@:3: give only one of company-key, company-key-file\n" },
	{ "missing key file", "[lumu]\ncompany-key-file = $/nope\n" FEED,
	  "@:2: company-key-file: $/nope: No such file or directory\n" },
	{ "empty key file", "[lumu]\ncompany-key-file = $/secret-empty\n"
	  FEED, "@:2: company-key-file: $/secret-empty: empty\n" },
	{ "key file with a newline only",
	  "[lumu]\ncompany-key-file = $/secret-newline\n" FEED,
	  "@:2: company-key-file: $/secret-newline: empty\n" },
	{ "key file with two lines",
	  "[lumu]\ncompany-key-file = $/secret-two\n" FEED,
	  "@:2: company-key-file: $/secret-two: holds more than one line or "
	  "a control character\n" },
	{ "key file with CRLF", "[lumu]\ncompany-key-file = $/secret-crlf\n"
	  FEED, "@:2: company-key-file: $/secret-crlf: holds more than one "
	  "line or a control character\n" },
	{ "key file is a directory", "[lumu]\ncompany-key-file = $\n" FEED,
	  "@:2: company-key-file: $: not a regular file\n" },
	{ "key file too large", "[lumu]\ncompany-key-file = $/secret-big\n"
	  FEED, "@:2: company-key-file: $/secret-big: too large for a "
	  "secret\n" },
	{ "api-url ftp", LUMU "api-url = ftp://a\n" FEED,
	  "@:3: api-url: \"ftp://a\" is not an http:// or https:// URL\n" },
	{ "api-url without host", LUMU "api-url = https://\n" FEED,
	  "@:3: api-url: \"https://\" is not an http:// or https:// URL\n" },
	{ "api-url with a blank", LUMU "api-url = https://a b\n" FEED,
	  "@:3: api-url: \"https://a b\" is not an http:// or https:// "
	  "URL\n" },
	{ "adversary-types empty item", LUMU "adversary-types = C2C,,Spam\n"
	  FEED, "@:3: adversary-types: empty item in list\n" },
	{ "adversary-types trailing comma", LUMU "adversary-types = C2C,\n"
	  FEED, "@:3: adversary-types: empty item in list\n" },
	{ "lookback without unit", LUMU "lookback = 30\n" FEED,
	  "@:3: lookback: \"30\" needs a unit: s, m, h or d\n" },
	{ "lookback bad unit", LUMU "lookback = 30x\n" FEED,
	  "@:3: lookback: bad value \"30x\": expected a number and s, m, h "
	  "or d, as 30d\n" },
	{ "lookback below 1h", LUMU "lookback = 59m\n" FEED,
	  "@:3: lookback: 59m is out of range 1h..3650d\n" },
	{ "lookback above 3650d", LUMU "lookback = 3651d\n" FEED,
	  "@:3: lookback: 3651d is out of range 1h..3650d\n" },
	{ "lookback negative", LUMU "lookback = -1d\n" FEED,
	  "@:3: lookback: bad value \"-1d\": expected a number and s, m, h "
	  "or d, as 30d\n" },
	{ "lookback two units", LUMU "lookback = 1h30m\n" FEED,
	  "@:3: lookback: bad value \"1h30m\": expected a number and s, m, "
	  "h or d, as 30d\n" },
	{ "lookback 13 digits", LUMU "lookback = 1000000000000d\n" FEED,
	  "@:3: lookback: bad value \"1000000000000d\": expected a number "
	  "and s, m, h or d, as 30d\n" },
	{ "updates-wait 0s", LUMU "updates-wait = 0s\n" FEED,
	  "@:3: updates-wait: 0s is out of range 1s..1m\n" },
	{ "updates-wait 61s", LUMU "updates-wait = 61s\n" FEED,
	  "@:3: updates-wait: 61s is out of range 1s..1m\n" },
	{ "resync 59s", LUMU "resync = 59s\n" FEED,
	  "@:3: resync: 59s is out of range 1m..30d\n" },
	{ "resync 31d", LUMU "resync = 31d\n" FEED,
	  "@:3: resync: 31d is out of range 1m..30d\n" },
	{ "threat-triggers maybe", LUMU "threat-triggers = maybe\n" FEED,
	  "@:3: threat-triggers: bad value \"maybe\": expected yes or no\n" },
	{ "threat-triggers Yes", LUMU "threat-triggers = Yes\n" FEED,
	  "@:3: threat-triggers: bad value \"Yes\": expected yes or no\n" },
	{ "max-requests-per-minute 10001",
	  LUMU "max-requests-per-minute = 10001\n" FEED,
	  "@:3: max-requests-per-minute: 10001 is out of range 0..10000\n" },
	{ "max-requests-per-minute -1",
	  LUMU "max-requests-per-minute = -1\n" FEED,
	  "@:3: max-requests-per-minute: bad value \"-1\": expected a "
	  "number\n" },
	{ "max-requests-per-minute 1e3",
	  LUMU "max-requests-per-minute = 1e3\n" FEED,
	  "@:3: max-requests-per-minute: bad value \"1e3\": expected a "
	  "number\n" },
	{ "company-key copied from -nn", "[lumu]\ncompany-key = (secret)\n"
	  FEED, "@:2: company-key: (secret) is the placeholder of -nn "
	  "output, not a secret\n" },
	{ "max-shrink without %", LUMU "max-shrink = 50\n" FEED,
	  "@:3: max-shrink: bad value \"50\": expected a percentage, as "
	  "50%\n" },
	{ "max-shrink 101%", LUMU "max-shrink = 101%\n" FEED,
	  "@:3: max-shrink: 101% is out of range 0%..100%\n" },

	/* [server] */
	{ "listen without port", SERVER "listen = 0.0.0.0\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen on a name", SERVER "listen = localhost:8080\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen :PORT", SERVER "listen = :8080\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen port 65536", SERVER "listen = 192.0.2.1:65536\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen IPv6 without brackets", SERVER "listen = ::1:80\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen tlss", SERVER "listen = [::1]:80 tlss\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen [V6] without colon", SERVER "listen = [::1]80\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen empty port", SERVER "listen = 192.0.2.1:\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen signed port", SERVER "listen = 192.0.2.1:+80\n",
	  "@:6: listen: bad value: expected ADDR:PORT or [V6]:PORT, maybe "
	  "followed by tls (0.0.0.0:8080, [::]:8443 tls)\n" },
	{ "listen twice the same", SERVER "listen = 127.0.0.1:8080\n"
	  "listen = 127.0.0.1:8080 tls\n",
	  "@:7: listen: 127.0.0.1 port 8080 already given at line 6\n" },
	{ "tls without certificate and key", SERVER
	  "listen = 127.0.0.1:0 tls\n",
	  "@:5: [server]: tls-certificate is required by listen ... tls\n"
	  "@:5: [server]: tls-key is required by listen ... tls\n" },
	{ "tls-certificate missing", SERVER "tls-certificate = $/nope\n",
	  "@:6: tls-certificate: $/nope: No such file or directory\n" },
	{ "threads 0", SERVER "threads = 0\n",
	  "@:6: threads: 0 is out of range 1..64\n" },
	{ "threads 65", SERVER "threads = 65\n",
	  "@:6: threads: 65 is out of range 1..64\n" },
	{ "auth-file a directory", SERVER "auth-file = $\n",
	  "@:6: auth-file: $: not a regular file\n" },
	{ "access-log on", SERVER "access-log = on\n",
	  "@:6: access-log: bad value \"on\": expected yes or no\n" },
	{ "unknown key in [server]", SERVER "lookback = 1d\n",
	  "@:6: unknown key lookback in [server]\n" },

	/* [feed NAME] */
	{ "feed without type", LUMU "[feed f]\nmax-entries = 5\n",
	  "@:3: [feed f]: missing required key type\n" },
	{ "feed type ipv4", LUMU "[feed f]\ntype = ipv4\n",
	  "@:4: type: bad value \"ipv4\"\n" },
	{ "statuses pending", LUMU FEED "statuses = open, pending\n",
	  "@:5: statuses: bad value \"pending\"\n" },
	{ "statuses empty item", LUMU FEED "statuses = open,\n",
	  "@:5: statuses: empty item in list\n" },
	{ "max-entries too big", LUMU FEED "max-entries = 10000001\n",
	  "@:5: max-entries: 10000001 is out of range 0..10000000\n" },
	{ "adversary-types not a subset", "[lumu]\ncompany-key = k\n"
	  "adversary-types = C2C, Malware\n[feed f]\ntype = ip\n"
	  "adversary-types = c2c, DGA, Spam\n",
	  "@:6: adversary-types: DGA is not in [lumu] adversary-types\n"
	  "@:6: adversary-types: Spam is not in [lumu] adversary-types\n" },
	{ "users without auth-file", LUMU FEED "users = a, b\n",
	  "@:5: users needs auth-file in [server]\n" },
	{ "include-subdomains on an ip feed", LUMU FEED
	  "include-subdomains = yes\n",
	  "@:5: include-subdomains applies to domain and url feeds only\n" },
	{ "include-subdomains before the type", LUMU
	  "[feed f]\ninclude-subdomains = yes\ntype = ip\n",
	  "@:4: include-subdomains applies to domain and url feeds only\n" },
	{ "include-subdirectories on a domain feed", LUMU
	  "[feed f]\ntype = domain\ninclude-subdirectories = yes\n",
	  "@:5: include-subdirectories applies to url feeds only\n" },
	{ "include-subdirectories on an ip feed", LUMU FEED
	  "include-subdirectories = yes\n",
	  "@:5: include-subdirectories applies to url feeds only\n" },
	{ "include-subdomains bad value", LUMU
	  "[feed f]\ntype = url\ninclude-subdomains = 1\n",
	  "@:5: include-subdomains: bad value \"1\": expected yes or no\n" },

	/* [allowlist] */
	{ "allowlist network /33", ALLOW "entries = 192.0.2.0/33\n",
	  "@:6: entries: \"192.0.2.0/33\" is neither an address, a network "
	  "nor a domain name\n" },
	{ "allowlist bad name", ALLOW "entries = ok.example, foo..bar\n",
	  "@:6: entries: \"foo..bar\" is neither an address, a network nor a "
	  "domain name\n" },
	{ "allowlist empty item", ALLOW "entries = a.example, ,b.example\n",
	  "@:6: entries: empty item in list\n" },
	{ "protect-private maybe", ALLOW "protect-private = maybe\n",
	  "@:6: protect-private: bad value \"maybe\": expected yes or no\n" },

	/* [panos NAME] */
	{ "panos without hostname", PANOS
	  "api-key = k\ndag-feed = f\ndag-tag = t\n",
	  "@:5: [panos fw]: missing required key hostname\n" },
	{ "panos without credentials", PANOS
	  "hostname = h\ndag-feed = f\ndag-tag = t\n",
	  "@:5: [panos fw]: missing api-key, api-key-file or username\n" },
	{ "panos api-key and username", PANOS "hostname = h\napi-key = k\n"
	  "username = u\npassword = p\ndag-feed = f\ndag-tag = t\n",
	  "@:8: give only one of api-key, api-key-file, username\n" },
	{ "panos username alone", PANOS "hostname = h\nusername = u\n"
	  "dag-feed = f\ndag-tag = t\n",
	  "@:5: [panos fw]: username needs password or password-file\n" },
	{ "panos password without username", PANOS "hostname = h\n"
	  "api-key = k\npassword = p\ndag-feed = f\ndag-tag = t\n",
	  "@:8: password needs username\n" },
	{ "panos password and password-file", PANOS "hostname = h\n"
	  "username = u\npassword = p\npassword-file = $/secret-nl\n"
	  "dag-feed = f\ndag-tag = t\n",
	  "@:9: give only one of password, password-file\n" },
	{ "panos api-key-file missing", PANOS "hostname = h\n"
	  "api-key-file = $/nope\ndag-feed = f\ndag-tag = t\n",
	  "@:7: api-key-file: $/nope: No such file or directory\n" },
	{ "dag-feed names a url feed", LUMU FEED "[feed u]\ntype = url\n"
	  "[panos fw]\nhostname = h\napi-key = k\ndag-feed = u\n"
	  "dag-tag = t\n",
	  "@:10: dag-feed: [feed u] has type url, not ip\n" },
	{ "url-category-feed names an ip feed", PANOS "hostname = h\n"
	  "api-key = k\nurl-category-feed = f\nurl-category = c\n",
	  "@:8: url-category-feed: [feed f] has type ip, not url\n" },
	{ "url-category-feed names a domain feed", LUMU FEED
	  "[feed d]\ntype = domain\n[panos fw]\nhostname = h\napi-key = k\n"
	  "url-category-feed = d\nurl-category = c\n",
	  "@:10: url-category-feed: [feed d] has type domain, not url\n" },
	{ "dag-feed names no feed", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = nope\ndag-tag = t\n",
	  "@:8: dag-feed: no [feed nope]\n" },
	{ "dag-feed bad name", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = a.b\ndag-tag = t\n",
	  "@:8: dag-feed: bad feed name \"a.b\"\n" },
	{ "dag-feed without dag-tag", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = f\n",
	  "@:5: [panos fw]: dag-tag is required with dag-feed\n" },
	{ "dag-tag without dag-feed", PANOS "hostname = h\napi-key = k\n"
	  "dag-tag = t\n", "@:8: dag-tag needs dag-feed\n"
	  "@:5: [panos fw]: needs dag-feed or url-category-feed\n" },
	{ "url-category-feed without url-category", LUMU
	  "[feed u]\ntype = url\n[panos fw]\nhostname = h\napi-key = k\n"
	  "url-category-feed = u\n",
	  "@:5: [panos fw]: url-category is required with "
	  "url-category-feed\n" },
	{ "panos with nothing to push", PANOS "hostname = h\napi-key = k\n",
	  "@:5: [panos fw]: needs dag-feed or url-category-feed\n" },
	{ "verify-tls = no with ca-file", PANOS "hostname = h\napi-key = k\n"
	  "ca-file = tests/conf/placeholder.pem\nverify-tls = no\n"
	  "dag-feed = f\ndag-tag = t\n",
	  "@:9: verify-tls = no contradicts ca-file\n" },
	{ "tag-timeout above 30 days", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = f\ndag-tag = t\ntag-timeout = 2592001\n",
	  "@:10: tag-timeout: 2592001 is out of range 0..2592000\n" },
	{ "tag-timeout with a unit", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = f\ndag-tag = t\ntag-timeout = 1h\n",
	  "@:10: tag-timeout: bad value \"1h\": expected a number\n" },
	{ "panos port 0", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = f\ndag-tag = t\nport = 0\n",
	  "@:10: port: 0 is out of range 1..65535\n" },
	{ "panos commit bad", PANOS "hostname = h\napi-key = k\n"
	  "dag-feed = f\ndag-tag = t\ncommit = true\n",
	  "@:10: commit: bad value \"true\": expected yes or no\n" },
};

/* Writes a file or dies: the test cannot go on without it. */
static void
write_file(const char *path, const char *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* A copy of t with "@" replaced by the config's path, "$" by tmpdir. */
static char *
expand(const char *t)
{
	struct buf	b = { 0 };

	for (; *t != '\0'; t++) {
		if (*t == '@')
			buf_addstr(&b, cpath);
		else if (*t == '$')
			buf_addstr(&b, tmpdir);
		else
			buf_addch(&b, *t);
	}
	buf_addstr(&b, "");
	return (buf_release(&b, NULL));
}

/* STR against an expanded template. */
#define STRX(got, tmpl, what) do {					\
	char *strx_ = expand(tmpl);					\
	STR((got), strx_, (what));					\
	free(strx_);							\
} while (0)

/* Parses text (expanded) from the scratch config file. */
static struct conf *
parse(const char *text, struct buf *errs, struct buf *warns)
{
	struct conf	*c;
	char		*s = expand(text);

	write_file(cpath, s, strlen(s));
	free(s);
	buf_free(errs);
	buf_free(warns);
	c = conf_parse(cpath, errs, warns);
	return (c);
}

/* Each error case must fail with exactly the expected errors. */
static void
test_errors(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;
	char		*want;
	size_t		 i;

	for (i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		c = parse(ecases[i].text, &errs, &warns);
		want = expand(ecases[i].want);
		if (c != NULL) {
			OK(0, ecases[i].what);
			printf("#   parsed, want \"%s\"\n", want);
			conf_free(c);
		} else
			STR(errs.data, want, ecases[i].what);
		free(want);
	}
	buf_free(&errs);
	buf_free(&warns);
}

/* A config with only the required keys gets every default. */
static void
test_defaults(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;
	struct conf_feed *f;
	long		 cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t		 i;
	int		 same = 1;

	c = parse(LUMU FEED, &errs, &warns);
	if (!OK(c != NULL, "minimal config parses")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	STR(c->path, cpath, "path kept");
	STR(c->company_key, "k", "inline company-key");
	OK(c->company_key_file == NULL, "no company-key-file");
	STR(c->api_url, "https://defender.lumu.io", "default api-url");
	IS(c->adversary_types.n, 8, "default adversary-types: 8");
	STR(c->adversary_types.v[0], "C2C", "default adversary-types first");
	STR(c->adversary_types.v[7], "Network Scan",
	    "default adversary-types keep the inner space");
	IS(c->lookback, 30 * 86400, "default lookback 30d");
	IS(c->updates_wait, 30, "default updates-wait 30s");
	IS(c->resync, 6 * 3600, "default resync 6h");
	IS(c->threat_triggers, 0, "default threat-triggers no");
	IS(c->max_requests_per_minute, 40, "default max-requests-per-minute");
	IS(c->max_shrink, 50, "default max-shrink 50%");
	IS(c->nlistens, 1, "one default listen");
	STR(c->listens[0].host, "0.0.0.0", "default listen host");
	IS(c->listens[0].port, 8080, "default listen port");
	IS(c->listens[0].tls, 0, "default listen without tls");
	OK(c->tls_certificate == NULL && c->tls_key == NULL &&
	    c->auth_file == NULL && c->export_dir == NULL,
	    "optional [server] paths unset");
	IS(c->threads, cores < 1 ? 1 : cores > 64 ? 64 : cores,
	    "default threads: online cores");
	STR(c->state_dir, "/var/lib/lumu-edl", "default state-dir");
	IS(c->access_log, 1, "default access-log yes");
	IS(c->nfeeds, 1, "one feed");
	f = &c->feeds[0];
	STR(f->name, "f", "feed name");
	IS(f->line, 3, "feed line");
	IS(f->type, FEED_IP, "feed type");
	IS(f->statuses, CONF_ST_OPEN | CONF_ST_CLOSED,
	    "default statuses open, closed");
	IS(f->max_entries, 0, "default max-entries 0");
	IS(f->users.n, 0, "no users");
	IS(f->include_subdomains + f->include_subdirectories, 0,
	    "default include-* no");
	IS(f->adversary_types.n, c->adversary_types.n,
	    "feed adversary-types default to [lumu]'s");
	for (i = 0; i < f->adversary_types.n && same; i++)
		same = f->adversary_types.v[i] != c->adversary_types.v[i] &&
		    strcmp(f->adversary_types.v[i],
		    c->adversary_types.v[i]) == 0;
	OK(same, "feed adversary-types are an equal copy");
	IS(c->allowlist.n, 0, "empty allowlist");
	IS(c->protect_private, 1, "default protect-private yes");
	IS(c->npanos, 0, "no panos");
	IS(warns.len, 0, "no warnings");
	OK(conf_feed_find(c, "f") == f, "conf_feed_find");
	OK(conf_feed_find(c, "F") == NULL, "feed names are case-sensitive");
	conf_free(c);
	buf_free(&errs);
	buf_free(&warns);
}

/* Comments, quoting, blanks, CRLF, a missing last newline. */
static void
test_syntax(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	c = parse("; comment\n  # indented comment\n\n  [ lumu ]   # c\n"
	    "company-key=k\n\t[feed  g ]\n  type   =   domain   \n"
	    "[server]\nstate-dir = \"  a \\\"b\\\" \\\\ c # d \"   # c\n"
	    "export-dir = a#b ;c\nauth-file = tests/conf/htpasswd\t# tab\n"
	    "tls-key = \"tests/conf/placeholder.pem\"#x\n", &errs, &warns);
	OK(c == NULL, "# glued to a closing quote is an error");
	STRX(errs.data, "@:12: text after the closing quote\n",
	    "... on its line");
	conf_free(c);

	c = parse("; comment\n  # indented comment\n\n  [ lumu ]   # c\n"
	    "company-key=k\n\t[feed  g ]\n  type   =   domain   \n"
	    "[server]\nstate-dir = \"  a \\\"b\\\" \\\\ c # d \"   # c\n"
	    "export-dir = a#b ;c\nauth-file = tests/conf/htpasswd\t# tab\n",
	    &errs, &warns);
	if (!OK(c != NULL, "blanks, comments and quotes parse")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	STR(c->company_key, "k", "key=value without blanks");
	STR(c->feeds[0].name, "g", "blanks inside a header");
	IS(c->feeds[0].type, FEED_DOMAIN, "value trimmed");
	STR(c->state_dir, "  a \"b\" \\ c # d ",
	    "quotes keep blanks, # and escapes");
	STR(c->export_dir, "a#b ;c", "# after a non-blank and ; are text");
	STR(c->auth_file, "tests/conf/htpasswd", "tab before # comment");
	conf_free(c);

	c = parse("[lumu]\r\ncompany-key = k\r\n[feed f]\r\ntype = url",
	    &errs, &warns);
	OK(c != NULL && strcmp(c->company_key, "k") == 0 &&
	    c->feeds[0].type == FEED_URL,
	    "CRLF lines and no final newline");
	conf_free(c);

	c = parse(LUMU "[feed "
	    "a123456789012345678901234567890123456789012345678901234567890_-Z"
	    "]\ntype = ip\n", &errs, &warns);
	OK(c != NULL && strlen(c->feeds[0].name) == 64,
	    "a feed name of 64 characters");
	conf_free(c);
	buf_free(&errs);
	buf_free(&warns);
}

/* Values at the edges of their ranges, lists, durations. */
static void
test_values(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	c = parse("[lumu]\ncompany-key = k\n"
	    "adversary-types =  Network Scan , c2c \nlookback = 1h\n"
	    "updates-wait = 1m\nresync = 30d\nmax-requests-per-minute = 0\n"
	    "max-shrink = 0%\napi-url = http://127.0.0.1:8700\n"
	    "[feed f]\ntype = ip\nadversary-types = C2C\n"
	    "statuses = muted\nmax-entries = 10000000\n"
	    "include-subdomains = no\ninclude-subdirectories = no\n",
	    &errs, &warns);
	if (!OK(c != NULL, "edge values parse")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	IS(c->adversary_types.n, 2, "list of 2");
	STR(c->adversary_types.v[0], "Network Scan", "list items trimmed");
	STR(c->adversary_types.v[1], "c2c", "list items as written");
	IS(c->lookback, 3600, "lookback 1h");
	IS(c->updates_wait, 60, "updates-wait 1m");
	IS(c->resync, 30 * 86400, "resync 30d");
	IS(c->max_requests_per_minute, 0, "max-requests-per-minute 0");
	IS(c->max_shrink, 0, "max-shrink 0%");
	STR(c->api_url, "http://127.0.0.1:8700", "http:// api-url");
	IS(c->feeds[0].adversary_types.n, 1,
	    "subset compared case-insensitively");
	IS(c->feeds[0].statuses, CONF_ST_MUTED, "statuses muted");
	IS(c->feeds[0].max_entries, 10000000, "max-entries at its top");
	IS(c->feeds[0].include_subdomains, 0,
	    "include-subdomains = no allowed on an ip feed");
	conf_free(c);

	c = parse(LUMU "lookback = 3650d\nupdates-wait = 1s\nresync = 1m\n"
	    "max-shrink = 100%\nmax-requests-per-minute = 10000\n" FEED,
	    &errs, &warns);
	OK(c != NULL && c->lookback == 3650LL * 86400 &&
	    c->updates_wait == 1 && c->resync == 60 &&
	    c->max_shrink == 100 && c->max_requests_per_minute == 10000,
	    "upper and lower bounds are inclusive");
	conf_free(c);
	buf_free(&errs);
	buf_free(&warns);
}

/* listen forms, tls with its files, several feeds and their options. */
static void
test_server_feeds(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	c = parse(LUMU "[server]\nlisten = [::1]:8443 tls\n"
	    "listen = 0.0.0.0:0\nlisten = [0::0]:80\nlisten = 127.0.0.1:0\n"
	    "tls-certificate = tests/conf/placeholder.pem\n"
	    "tls-key = tests/conf/placeholder.pem\nthreads = 64\n"
	    "auth-file = tests/conf/htpasswd\n"
	    "[feed d]\ntype = domain\ninclude-subdomains = yes\n"
	    "users = paloalto, soc\n"
	    "[feed u]\ntype = url\ninclude-subdomains = yes\n"
	    "include-subdirectories = yes\n", &errs, &warns);
	if (!OK(c != NULL, "listen forms and feed options parse")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	IS(c->nlistens, 4, "listen repeats");
	STR(c->listens[0].host, "::1", "[V6]:PORT host");
	IS(c->listens[0].port, 8443, "[V6]:PORT port");
	IS(c->listens[0].tls, 1, "listen ... tls");
	IS(c->listens[0].line, 4, "listen line");
	IS(c->listens[1].port, 0, "port 0 allowed");
	IS(c->listens[1].tls, 0, "listen without tls");
	STR(c->listens[2].host, "::", "IPv6 host in canonical form");
	IS(c->threads, 64, "threads 64");
	STR(c->tls_certificate, "tests/conf/placeholder.pem",
	    "tls-certificate path");
	IS(c->nfeeds, 2, "two feeds");
	IS(c->feeds[0].include_subdomains, 1, "domain include-subdomains");
	IS(c->feeds[0].users.n, 2, "users list");
	STR(c->feeds[0].users.v[1], "soc", "users second item");
	IS(c->feeds[1].include_subdomains + c->feeds[1].include_subdirectories,
	    2, "url feed takes both include-* keys");
	OK(conf_feed_find(c, "u") == &c->feeds[1], "conf_feed_find second");
	conf_free(c);

	STR(conf_feed_type_name(FEED_IP), "ip", "type name ip");
	STR(conf_feed_type_name(FEED_DOMAIN), "domain", "type name domain");
	STR(conf_feed_type_name(FEED_URL), "url", "type name url");
	buf_free(&errs);
	buf_free(&warns);
}

/* Allowlist entries: addresses and networks kept, names canonical. */
static void
test_allowlist(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	c = parse(ALLOW "entries = 203.0.113.0/24, Example.ORG, 2001:db8::/32,"
	    " 192.0.2.1\nprotect-private = no\n", &errs, &warns);
	if (!OK(c != NULL, "allowlist parses")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	IS(c->allowlist.n, 4, "four entries");
	STR(c->allowlist.v[0], "203.0.113.0/24", "network kept");
	STR(c->allowlist.v[1], "example.org", "name canonical");
	STR(c->allowlist.v[2], "2001:db8::/32", "IPv6 network kept");
	IS(c->protect_private, 0, "protect-private no");
	conf_free(c);
	buf_free(&errs);
	buf_free(&warns);
}

/* Secret files: one trailing newline dropped; secrets never echoed. */
static void
test_secrets(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;
	char		*dump = NULL, *want;
	size_t		 dlen = 0;
	FILE		*fp;

	c = parse("[lumu]\ncompany-key-file = $/secret-nl\n" FEED
	    "[panos fw]\nhostname = h\nusername = u\n"
	    "password-file = $/secret-plain\ndag-feed = f\ndag-tag = t\n"
	    "[panos fw2]\nhostname = h\napi-key-file = $/secret-nl\n"
	    "dag-feed = f\ndag-tag = t\n", &errs, &warns);
	if (!OK(c != NULL, "secret files parse")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	STR(c->company_key, "sekrit-nl", "trailing newline stripped");
	want = expand("$/secret-nl");
	STR(c->company_key_file, want, "company-key-file path kept");
	free(want);
	STR(c->panos[0].password, "sekrit-plain", "file without newline");
	STR(c->panos[0].username, "u", "username");
	STR(c->panos[1].api_key, "sekrit-nl", "api-key-file content");
	fp = open_memstream(&dump, &dlen);
	conf_dump(c, fp);
	fclose(fp);
	OK(dump != NULL && strstr(dump, "sekrit") == NULL,
	    "-nn shows no secret from a file");
	free(dump);
	conf_free(c);

	c = parse("[lumu]\ncompany-key = topsecret\n" FEED, &errs, &warns);
	fp = open_memstream(&dump, &dlen);
	if (c != NULL)
		conf_dump(c, fp);
	fclose(fp);
	OK(c != NULL && strstr(dump, "company-key = (secret)") != NULL &&
	    strstr(dump, "topsecret") == NULL, "-nn shows (secret)");
	free(dump);
	conf_free(c);

	c = parse("[lumu]\ncompany-key = topsecret\ncompany-key = \"topsecret"
	    "\n" FEED "[panos x]\npassword = \001topsecret\n", &errs, &warns);
	OK(c == NULL && errs.data != NULL &&
	    strstr(errs.data, "topsecret") == NULL,
	    "errors never echo a secret");
	buf_free(&errs);
	buf_free(&warns);
}

/* Implemented features are quiet; unverified firewalls warn. */
static void
test_warnings(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	c = parse(LUMU "threat-triggers = yes\n" FEED, &errs, &warns);
	OK(c != NULL && c->threat_triggers == 1, "threat-triggers = yes");
	OK(warns.len == 0, "threat-triggers = yes is quiet (implemented)");
	conf_free(c);

	c = parse(LUMU "threat-triggers = no\n" FEED, &errs, &warns);
	OK(c != NULL && warns.len == 0, "threat-triggers = no is quiet");
	conf_free(c);

	c = parse(PANOS "hostname = h\nusername = u\npassword = p\n"
	    "verify-tls = no\nurl-category-feed = u\nurl-category = c c\n"
	    "[feed u]\ntype = url\n", &errs, &warns);
	if (OK(c != NULL, "a valid [panos] section parses")) {
		IS(c->npanos, 1, "one panos");
		STR(c->panos[0].name, "fw", "panos name");
		IS(c->panos[0].line, 5, "panos line");
		IS(c->panos[0].port, 443, "default port 443");
		STR(c->panos[0].vsys, "vsys1", "default vsys");
		IS(c->panos[0].verify_tls, 0, "verify-tls no");
		IS(c->panos[0].tag_timeout, 0, "default tag-timeout");
		IS(c->panos[0].commit, 0, "default commit no");
		STR(c->panos[0].url_category, "c c", "inner blank kept");
	} else
		printf("#   %s", errs.data ? errs.data : "");
	STRX(warns.data, "@:9: verify-tls = no: the certificate of [panos fw] "
	    "is not checked\n", "verify-tls = no warns, a [panos] section "
	    "does not");
	conf_free(c);
	buf_free(&errs);
	buf_free(&warns);
}

/* Whole-file errors: unreadable, too large, NUL, long lines, floods. */
static void
test_files(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;
	char		*big, *want;
	size_t		 n, i;

	c = conf_parse("/nonexistent/feeds.conf", &errs, &warns);
	OK(c == NULL, "a missing file fails");
	STR(errs.data, "/nonexistent/feeds.conf: No such file or directory\n",
	    "... naming the file");
	buf_free(&errs);
	OK(conf_parse("/nonexistent/feeds.conf", NULL, NULL) == NULL,
	    "NULL error buffers are fine");

	n = 1024 * 1024 + 1;
	big = malloc(n);
	memset(big, '#', n);
	write_file(cpath, big, n);
	c = conf_parse(cpath, &errs, &warns);
	want = expand("@: larger than 1 MiB\n");
	OK(c == NULL, "a file over 1 MiB fails");
	STR(errs.data, want, "... with its message");
	free(want);
	buf_free(&errs);

	n = strlen(LUMU FEED);
	write_file(cpath, LUMU "a\0b\n" FEED, n + 4);
	c = conf_parse(cpath, &errs, &warns);
	want = expand("@:3: control character 0x00\n");
	OK(c == NULL, "a NUL byte fails");
	STR(errs.data, want, "... on its line");
	free(want);
	buf_free(&errs);

	/* Line 3 is 8192 bytes long, the most allowed. */
	n = strlen(LUMU);
	memset(big, 'x', n + 8193);
	memcpy(big, LUMU "api-url = https://",
	    strlen(LUMU "api-url = https://"));
	strcpy(big + n + 8192, "\n" FEED);
	write_file(cpath, big, strlen(big));
	c = conf_parse(cpath, &errs, &warns);
	OK(c != NULL && strlen(c->api_url) == 8192 - strlen("api-url = "),
	    "a line of 8 KiB parses");
	conf_free(c);
	buf_free(&errs);

	/* One byte more. */
	memset(big, 'x', n + 8193);
	memcpy(big, LUMU "api-url = https://",
	    strlen(LUMU "api-url = https://"));
	strcpy(big + n + 8193, "\n" FEED);
	write_file(cpath, big, strlen(big));
	c = conf_parse(cpath, &errs, &warns);
	want = expand("@:3: line longer than 8192 bytes\n");
	OK(c == NULL, "a line over 8 KiB fails");
	STR(errs.data, want, "... on its line");
	free(want);
	buf_free(&errs);

	big[0] = '\0';
	for (i = 0; i < 200; i++)
		strcat(big, "junk\n");
	write_file(cpath, big, strlen(big));
	c = conf_parse(cpath, &errs, &warns);
	for (i = 0, n = 0; errs.data != NULL && errs.data[i] != '\0'; i++)
		n += errs.data[i] == '\n';
	OK(c == NULL && n == 51, "at most 50 errors, then one more line");
	want = expand("@: too many errors, giving up\n");
	OK(errs.data != NULL && errs.len > strlen(want) &&
	    strcmp(errs.data + errs.len - strlen(want), want) == 0,
	    "... saying so");
	free(want);
	free(big);
	buf_free(&errs);
	buf_free(&warns);
}

/* Reads a whole file for comparison, or NULL. */
static char *
slurp(const char *path)
{
	char	*data;
	size_t	 len;

	if (file_read_all(path, 1 << 20, &data, &len) == -1)
		return (NULL);
	return (data);
}

/* A copy of s with every "from" replaced by "to". */
static char *
replace(const char *s, const char *from, const char *to)
{
	struct buf	 b = { 0 };
	const char	*hit;

	while ((hit = strstr(s, from)) != NULL) {
		buf_add(&b, s, (size_t)(hit - s));
		buf_addstr(&b, to);
		s = hit + strlen(from);
	}
	buf_addstr(&b, s);
	return (buf_release(&b, NULL));
}

/* The -nn dump of a fixture equals the golden file and reads back. */
static void
test_dump(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;
	char		*dump = NULL, *dump2 = NULL, *golden, *resecret;
	size_t		 dlen = 0, dlen2 = 0;
	FILE		*fp;

	c = conf_parse("tests/conf/full.conf", &errs, &warns);
	if (!OK(c != NULL, "tests/conf/full.conf parses")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	STR(c->company_key, "fixture-company-key", "fixture secret file");
	fp = open_memstream(&dump, &dlen);
	conf_dump(c, fp);
	fclose(fp);
	conf_free(c);
	golden = slurp("tests/conf/dump.golden");
	OK(golden != NULL, "tests/conf/dump.golden readable");
	STR(dump, golden, "-nn output equals tests/conf/dump.golden");

	/* Secrets cannot come back; give the inline one a value again. */
	write_file(cpath, dump, dlen);
	buf_free(&errs);
	c = conf_parse(cpath, &errs, &warns);
	OK(c == NULL && errs.data != NULL &&
	    strstr(errs.data, "password: (secret) is the placeholder of -nn "
	    "output, not a secret\n") != NULL && strchr(errs.data, '\n') ==
	    errs.data + errs.len - 1, "-nn output fails only on (secret)");
	conf_free(c);
	resecret = replace(dump, "= (secret)", "= s3cret");
	write_file(cpath, resecret, strlen(resecret));
	buf_free(&errs);
	c = conf_parse(cpath, &errs, &warns);
	if (OK(c != NULL, "-nn output with secrets parses again")) {
		fp = open_memstream(&dump2, &dlen2);
		conf_dump(c, fp);
		fclose(fp);
		STR(dump2, dump, "... and dumps the same");
		conf_free(c);
	} else
		printf("#   %s", errs.data ? errs.data : "");
	free(golden);
	free(resecret);
	free(dump);
	free(dump2);
	buf_free(&errs);
	buf_free(&warns);
}

/* A broken fixture gives exactly the errors of its .errors file. */
static void
test_broken(void)
{
	struct buf	 errs = { 0 };
	struct conf	*c;
	char		*want;

	c = conf_parse("tests/conf/broken.conf", &errs, NULL);
	OK(c == NULL, "tests/conf/broken.conf fails");
	want = slurp("tests/conf/broken.errors");
	STR(errs.data, want, "... with the errors of broken.errors");
	free(want);
	conf_free(c);
	buf_free(&errs);
}

/*
 * feeds.conf names every key (in a comment at least): the -nn dump of the
 * full fixture lists them all, set or "# key = (not set)".
 */
static void
test_repo_documents_keys(void)
{
	struct conf	*c;
	char		*dump = NULL, *sample, *line, *eq, *next, key[80];
	size_t		 dlen = 0;
	int		 nkeys = 0, missing = 0;
	FILE		*fp;

	c = conf_parse("tests/conf/full.conf", NULL, NULL);
	sample = slurp("feeds.conf");
	if (!OK(c != NULL && sample != NULL, "feeds.conf and full.conf read"))
		goto out;
	fp = open_memstream(&dump, &dlen);
	conf_dump(c, fp);
	fclose(fp);
	for (line = dump; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		line += strspn(line, "# ");
		if ((eq = strstr(line, " = ")) == NULL ||
		    (size_t)(eq - line) >= sizeof(key) - 4)
			continue;
		snprintf(key, sizeof(key), "%.*s = ", (int)(eq - line), line);
		nkeys++;
		if (strstr(sample, key) == NULL) {
			printf("# feeds.conf lacks \"%s\"\n", key);
			missing++;
		}
	}
	OK(nkeys > 40 && missing == 0, "feeds.conf documents every key");
 out:
	free(dump);
	free(sample);
	conf_free(c);
}

/* The repository's feeds.conf is the working demo configuration. */
static void
test_repo_conf(void)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	c = conf_parse("feeds.conf", &errs, &warns);
	if (!OK(c != NULL, "feeds.conf parses")) {
		printf("#   %s", errs.data ? errs.data : "");
		return;
	}
	IS(warns.len, 0, "feeds.conf has no warnings");
	STR(c->company_key, "demo-company-key", "demo company key file");
	STR(c->api_url, "http://127.0.0.1:8700", "demo api-url");
	IS(c->max_requests_per_minute, 0, "demo: no request budget");
	IS(c->nlistens, 1, "demo: one listen");
	STR(c->listens[0].host, "127.0.0.1", "demo listens on loopback");
	IS(c->listens[0].port, 8080, "demo port 8080");
	IS(c->threads, 2, "demo threads");
	STR(c->state_dir, "demo-state", "demo state-dir");
	IS(c->nfeeds, 3, "demo: three feeds");
	OK(conf_feed_find(c, "ip") != NULL &&
	    conf_feed_find(c, "ip")->type == FEED_IP, "demo feed ip");
	OK(conf_feed_find(c, "domains") != NULL &&
	    conf_feed_find(c, "domains")->include_subdomains,
	    "demo feed domains");
	OK(conf_feed_find(c, "urls") != NULL &&
	    conf_feed_find(c, "urls")->type == FEED_URL &&
	    !conf_feed_find(c, "urls")->include_subdirectories,
	    "demo feed urls");
	OK(c->allowlist.n == 1 &&
	    strcmp(c->allowlist.v[0], "activity.lumu.io") == 0 &&
	    c->protect_private, "demo allowlist");
	conf_free(c);
	test_repo_documents_keys();
	buf_free(&errs);
	buf_free(&warns);
}

/* ./feeds.conf when present, else the system path. */
static void
test_default_path(void)
{
	char	cwd[PATH_MAX];

	STR(conf_default_path(), "./feeds.conf", "default path: ./feeds.conf");
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmpdir) == -1) {
		OK(0, "default path elsewhere");
		return;
	}
	STR(conf_default_path(), "/etc/lumu-edl/feeds.conf",
	    "default path without ./feeds.conf");
	if (chdir(cwd) == -1)
		exit(2);
}

/* The scratch files that secret-file cases name. */
static void
make_secrets(void)
{
	static const struct {
		const char	*name;
		const char	*data;
	} files[] = {
		{ "secret-nl", "sekrit-nl\n" },
		{ "secret-plain", "sekrit-plain" },
		{ "secret-empty", "" },
		{ "secret-newline", "\n" },
		{ "secret-two", "a\nb\n" },
		{ "secret-crlf", "sekrit\r\n" },
	};
	char	path[PATH_MAX], big[9000];
	size_t	i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i].name);
		write_file(path, files[i].data, strlen(files[i].data));
	}
	memset(big, 'k', sizeof(big));
	snprintf(path, sizeof(path), "%s/secret-big", tmpdir);
	write_file(path, big, sizeof(big));
}

/* Removes the scratch directory and what is in it. */
static void
cleanup(void)
{
	static const char *const names[] = { "secret-nl", "secret-plain",
	    "secret-empty", "secret-newline", "secret-two", "secret-crlf",
	    "secret-big", "t.conf" };
	char	path[PATH_MAX];
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	if (access("tests/conf/dump.golden", R_OK) == -1) {
		printf("Bail out! run from the repository root\n");
		return (1);
	}
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(cpath, sizeof(cpath), "%s/t.conf", tmpdir);
	make_secrets();
	test_errors();
	test_defaults();
	test_syntax();
	test_values();
	test_server_feeds();
	test_allowlist();
	test_secrets();
	test_warnings();
	test_files();
	test_dump();
	test_broken();
	test_repo_conf();
	test_default_path();
	cleanup();
	return (tap_done());
}
