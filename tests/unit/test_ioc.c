/*
 * test_ioc.c: the indicator canonicaliser against tables of hostile and
 * ordinary values (CONTRACT.md sections 4 and 5).  Every value that comes
 * out with a canonical form must parse again to itself.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ioc.h"
#include "tap.h"

/* A raw value with an explicit length (for embedded NUL bytes). */
#define RAWN(s)		(s), sizeof(s) - 1
#define RAW(s)		(s), 0

struct parse_case {
	const char	*raw;
	size_t		 len;		/* 0: strlen(raw) */
	enum ioc_kind	 kind;
	enum ioc_reason	 reason;
	const char	*value;		/* canonical, or the escaped raw */
};

static const struct parse_case parse_cases[] = {
	/* Whitespace and controls: trimmed at the ends, refused inside. */
	{ RAW("evil.com\n"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("\v\f evil.com \r\n"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("\t1.2.3.4\r\n"), IOC_IPV4, IOC_OK, "1.2.3.4" },
	{ RAW("evil\n.com"), IOC_NONE, IOC_INVALID, "evil\\n.com" },
	{ RAW("evil\r.com"), IOC_NONE, IOC_INVALID, "evil\\r.com" },
	{ RAWN("evil\0.com"), IOC_NONE, IOC_INVALID, "evil\\x00.com" },
	{ RAWN("evil.com\0"), IOC_NONE, IOC_INVALID, "evil.com\\x00" },
	{ RAW("evil\t.com"), IOC_NONE, IOC_INVALID, "evil\\t.com" },
	{ RAW("evil .com"), IOC_NONE, IOC_INVALID, "evil\\x20.com" },
	{ RAW("evil\x1b.com"), IOC_NONE, IOC_INVALID, "evil\\x1b.com" },
	{ RAW("evil\x7f.com"), IOC_NONE, IOC_INVALID, "evil\\x7f.com" },
	{ RAW("1.2.3.4 5.6.7.8"), IOC_NONE, IOC_INVALID,
	    "1.2.3.4\\x205.6.7.8" },
	{ RAW("http://evil.com/a b"), IOC_NONE, IOC_INVALID,
	    "http://evil.com/a\\x20b" },
	{ RAW("$(rm -rf)"), IOC_NONE, IOC_INVALID, "$(rm\\x20-rf)" },
	{ RAW(""), IOC_NONE, IOC_INVALID, "" },
	{ RAW("  "), IOC_NONE, IOC_INVALID, "\\x20\\x20" },
	{ RAW("evil\xc2\xa0.com"), IOC_NONE, IOC_INVALID,
	    "evil\\xc2\\xa0.com" },
	{ RAW("evil\xe2\x80\x8b.com"), IOC_NONE, IOC_INVALID,
	    "evil\\xe2\\x80\\x8b.com" },
	{ RAW("\xe2\x80\xae" "moc.live"), IOC_NONE, IOC_INVALID,
	    "\\xe2\\x80\\xaemoc.live" },
	{ RAW("\xff.com"), IOC_NONE, IOC_INVALID, "\\xff.com" },
	{ RAW("\xc0\xae.com"), IOC_NONE, IOC_INVALID, "\\xc0\\xae.com" },
	{ RAW("\xed\xa0\x80.com"), IOC_NONE, IOC_INVALID,
	    "\\xed\\xa0\\x80.com" },

	/* HTML and shell metacharacters in hosts. */
	{ RAW("<script>"), IOC_NONE, IOC_INVALID, "<script>" },
	{ RAW("<script>.com"), IOC_NONE, IOC_INVALID, "<script>.com" },
	{ RAW("a;b.com"), IOC_NONE, IOC_INVALID, "a;b.com" },
	{ RAW("a|b.com"), IOC_NONE, IOC_INVALID, "a|b.com" },
	{ RAW("a&b.com"), IOC_NONE, IOC_INVALID, "a&b.com" },
	{ RAW("$(id).evil.com"), IOC_NONE, IOC_INVALID, "$(id).evil.com" },
	{ RAW("`id`.evil.com"), IOC_NONE, IOC_INVALID, "`id`.evil.com" },
	{ RAW("ev\"il.com"), IOC_NONE, IOC_INVALID, "ev\"il.com" },
	{ RAW("evil.com\\x"), IOC_NONE, IOC_INVALID, "evil.com\\\\x" },

	/* Networks: only a full-width prefix is an address. */
	{ RAW("0.0.0.0/0"), IOC_IPV4, IOC_NETWORK, "0.0.0.0/0" },
	{ RAW("::/0"), IOC_IPV6, IOC_NETWORK, "::/0" },
	{ RAW("10.0.0.0/8"), IOC_IPV4, IOC_NETWORK, "10.0.0.0/8" },
	{ RAW("10.1.2.3/8"), IOC_IPV4, IOC_NETWORK, "10.0.0.0/8" },
	{ RAW("192.0.2.0/24"), IOC_IPV4, IOC_NETWORK, "192.0.2.0/24" },
	{ RAW("192.0.2.1/32"), IOC_IPV4, IOC_OK, "192.0.2.1" },
	{ RAW("2001:DB8::/32"), IOC_IPV6, IOC_NETWORK, "2001:db8::/32" },
	{ RAW("2001:db8::1/128"), IOC_IPV6, IOC_OK, "2001:db8::1" },
	{ RAW("1.2.3.4-1.2.3.9"), IOC_IPV4, IOC_NETWORK, "1.2.3.4-1.2.3.9" },
	{ RAW("::1-::5"), IOC_IPV6, IOC_NETWORK, "::1-::5" },
	{ RAW("tcp://10.0.0.0/8"), IOC_IPV4, IOC_NETWORK, "10.0.0.0/8" },
	{ RAW("1.2.3.9-1.2.3.4"), IOC_NONE, IOC_INVALID, "1.2.3.9-1.2.3.4" },
	{ RAW("1.2.3.4-::1"), IOC_NONE, IOC_INVALID, "1.2.3.4-::1" },
	{ RAW("1.2.3.4/33"), IOC_NONE, IOC_INVALID, "1.2.3.4/33" },
	{ RAW("1.2.3.4/08"), IOC_NONE, IOC_INVALID, "1.2.3.4/08" },
	{ RAW("2001:db8::/129"), IOC_NONE, IOC_INVALID, "2001:db8::/129" },

	/* IPv4: strict dotted quads only. */
	{ RAW("1.2.3.4"), IOC_IPV4, IOC_OK, "1.2.3.4" },
	{ RAW("0.0.0.0"), IOC_IPV4, IOC_OK, "0.0.0.0" },
	{ RAW("255.255.255.255"), IOC_IPV4, IOC_OK, "255.255.255.255" },
	{ RAW("10.0.0.1"), IOC_IPV4, IOC_OK, "10.0.0.1" },
	{ RAW("1.2.3.4:80"), IOC_IPV4, IOC_OK, "1.2.3.4" },
	{ RAW("1.2.3.4/"), IOC_IPV4, IOC_OK, "1.2.3.4" },
	{ RAW("tcp://1.2.3.4:443"), IOC_IPV4, IOC_OK, "1.2.3.4" },
	{ RAW("010.1.1.1"), IOC_NONE, IOC_INVALID, "010.1.1.1" },
	{ RAW("1.2.3.04"), IOC_NONE, IOC_INVALID, "1.2.3.04" },
	{ RAW("0x7f.1"), IOC_NONE, IOC_INVALID, "0x7f.1" },
	{ RAW("0x7f000001"), IOC_NONE, IOC_INVALID, "0x7f000001" },
	{ RAW("127.1"), IOC_NONE, IOC_INVALID, "127.1" },
	{ RAW("1.0x7f"), IOC_NONE, IOC_INVALID, "1.0x7f" },
	{ RAW("999.1.1.1"), IOC_NONE, IOC_INVALID, "999.1.1.1" },
	{ RAW("256.1.1.1"), IOC_NONE, IOC_INVALID, "256.1.1.1" },
	{ RAW("1.2.3"), IOC_NONE, IOC_INVALID, "1.2.3" },
	{ RAW("1.2.3.4.5"), IOC_NONE, IOC_INVALID, "1.2.3.4.5" },
	{ RAW("1.2.3.4."), IOC_NONE, IOC_INVALID, "1.2.3.4." },
	{ RAW("1.2.3.4:99999"), IOC_NONE, IOC_INVALID, "1.2.3.4:99999" },

	/* IPv6: inet_pton in, RFC 5952 out. */
	{ RAW("2001:DB8::1"), IOC_IPV6, IOC_OK, "2001:db8::1" },
	{ RAW("2001:DB8:0:0:0:0:0:1"), IOC_IPV6, IOC_OK, "2001:db8::1" },
	{ RAW("2001:db8:0:1:1:1:1:1"), IOC_IPV6, IOC_OK,
	    "2001:db8:0:1:1:1:1:1" },
	{ RAW("2001:0db8:0000:0000:0001:0000:0000:0001"), IOC_IPV6, IOC_OK,
	    "2001:db8::1:0:0:1" },
	{ RAW("2001:db8:0:0:1:0:0:0"), IOC_IPV6, IOC_OK, "2001:db8:0:0:1::" },
	{ RAW("::"), IOC_IPV6, IOC_OK, "::" },
	{ RAW("::1"), IOC_IPV6, IOC_OK, "::1" },
	{ RAW("::ffff:10.0.0.1"), IOC_IPV6, IOC_OK, "::ffff:10.0.0.1" },
	{ RAW("::ffff:0a00:0001"), IOC_IPV6, IOC_OK, "::ffff:10.0.0.1" },
	{ RAW("::8.8.8.8"), IOC_IPV6, IOC_OK, "::808:808" },
	{ RAW("[2001:db8::1]"), IOC_IPV6, IOC_OK, "2001:db8::1" },
	{ RAW("[2001:db8::1]:443"), IOC_IPV6, IOC_OK, "2001:db8::1" },
	{ RAW("tcp://[2001:db8::1]:443"), IOC_IPV6, IOC_OK, "2001:db8::1" },
	{ RAW("fe80::1%eth0"), IOC_NONE, IOC_INVALID, "fe80::1%eth0" },
	{ RAW("2001:db8::1::2"), IOC_NONE, IOC_INVALID, "2001:db8::1::2" },
	{ RAW("1:2:3:4:5:6:7:8:9"), IOC_NONE, IOC_INVALID,
	    "1:2:3:4:5:6:7:8:9" },
	{ RAW("[2001:db8::1]:99999"), IOC_NONE, IOC_INVALID,
	    "[2001:db8::1]:99999" },
	{ RAW("[evil.com]"), IOC_NONE, IOC_INVALID, "[evil.com]" },
	{ RAW("[2001:db8::1"), IOC_NONE, IOC_INVALID, "[2001:db8::1" },

	/* Domains. */
	{ RAW("evil.com"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("EVIL.com."), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("EVIL.COM"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("udp://evil.com:53"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("tcp://evil.com:53/x"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("evil.com/"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("evil.com/?"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("evil.com#frag"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("evil.com:8080"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("user:pw@evil.com:8080/"), IOC_DOMAIN, IOC_OK, "evil.com" },
	{ RAW("www.chg.com.br"), IOC_DOMAIN, IOC_OK, "www.chg.com.br" },
	{ RAW("example.co.uk"), IOC_DOMAIN, IOC_OK, "example.co.uk" },
	{ RAW("ev-il.com"), IOC_DOMAIN, IOC_OK, "ev-il.com" },
	{ RAW("r3---sn-abc.googlevideo.com"), IOC_DOMAIN, IOC_OK,
	    "r3---sn-abc.googlevideo.com" },
	{ RAW("evil.com.."), IOC_NONE, IOC_INVALID, "evil.com.." },
	{ RAW(".evil.com"), IOC_NONE, IOC_INVALID, ".evil.com" },
	{ RAW("evil..com"), IOC_NONE, IOC_INVALID, "evil..com" },
	{ RAW("-evil.com"), IOC_NONE, IOC_INVALID, "-evil.com" },
	{ RAW("evil-.com"), IOC_NONE, IOC_INVALID, "evil-.com" },
	{ RAW("ev_il.com"), IOC_NONE, IOC_INVALID, "ev_il.com" },
	{ RAW("com"), IOC_NONE, IOC_INVALID, "com" },
	{ RAW("localhost"), IOC_NONE, IOC_INVALID, "localhost" },
	{ RAW("*.com"), IOC_NONE, IOC_INVALID, "*.com" },
	{ RAW("*"), IOC_NONE, IOC_INVALID, "*" },
	{ RAW("*.evil.com"), IOC_NONE, IOC_INVALID, "*.evil.com" },
	{ RAW("evil.*.com"), IOC_NONE, IOC_INVALID, "evil.*.com" },
	{ RAW("^evil.com"), IOC_NONE, IOC_INVALID, "^evil.com" },
	{ RAW("co.uk"), IOC_DOMAIN, IOC_PUBLIC_SUFFIX, "co.uk" },
	{ RAW("CO.UK."), IOC_DOMAIN, IOC_PUBLIC_SUFFIX, "co.uk" },
	{ RAW("github.io"), IOC_DOMAIN, IOC_PUBLIC_SUFFIX, "github.io" },
	{ RAW("blogspot.com"), IOC_DOMAIN, IOC_PUBLIC_SUFFIX, "blogspot.com" },
	{ RAW("com.br"), IOC_DOMAIN, IOC_PUBLIC_SUFFIX, "com.br" },

	/* Internationalised names. */
	{ RAW("b\xc3\xbc" "cher.example"), IOC_DOMAIN, IOC_OK,
	    "xn--bcher-kva.example" },
	{ RAW("B\xc3\x9c" "CHER.example."), IOC_DOMAIN, IOC_OK,
	    "xn--bcher-kva.example" },
	{ RAW("bu\xcc\x88" "cher.example"), IOC_DOMAIN, IOC_OK,
	    "xn--bcher-kva.example" },
	{ RAW("xn--bcher-kva.example"), IOC_DOMAIN, IOC_OK,
	    "xn--bcher-kva.example" },
	{ RAW("XN--BCHER-KVA.EXAMPLE."), IOC_DOMAIN, IOC_OK,
	    "xn--bcher-kva.example" },
	{ RAW("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.com"),
	    IOC_DOMAIN, IOC_OK, "xn--e1afmkfd.com" },
	{ RAW("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
	    "\xd1\x80\xd1\x84"), IOC_DOMAIN, IOC_OK,
	    "xn--e1afmkfd.xn--p1ai" },
	{ RAW("\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88.jp"), IOC_DOMAIN, IOC_OK,
	    "xn--zckzah.jp" },
	{ RAW("abc\xe6\xbc\xa2\xe5\xad\x97.jp"), IOC_DOMAIN, IOC_OK,
	    "xn--abc-269er78f.jp" },
	{ RAW("\xed\x95\x9c\xea\xb5\xad.kr"), IOC_DOMAIN, IOC_OK,
	    "xn--3e0b707e.kr" },
	{ RAW("\xef\xbc\xa5\xef\xbc\xb8\xef\xbc\xa1\xef\xbc\xad\xef\xbc\xb0"
	    "\xef\xbc\xac\xef\xbc\xa5.com"), IOC_DOMAIN, IOC_OK,
	    "example.com" },
	{ RAW("p\xd0\xb0ypal.com"), IOC_NONE, IOC_INVALID,
	    "p\\xd0\\xb0ypal.com" },
	{ RAW("xn--pypal-4ve.com"), IOC_NONE, IOC_INVALID,
	    "xn--pypal-4ve.com" },
	{ RAW("a\xce\xb1.com"), IOC_NONE, IOC_INVALID, "a\\xce\\xb1.com" },
	{ RAW("xn--zz.com"), IOC_NONE, IOC_INVALID, "xn--zz.com" },
	{ RAW("xn--abc.com"), IOC_NONE, IOC_INVALID, "xn--abc.com" },
	{ RAW("\xd1\x80\xd1\x84"), IOC_NONE, IOC_INVALID,
	    "\\xd1\\x80\\xd1\\x84" },
	{ RAW("xn--p1ai"), IOC_NONE, IOC_INVALID, "xn--p1ai" },

	/* URLs. */
	{ RAW("HTTP://User:pw@Evil.COM:8080/a%2fb%7e?x=%41#frag"), IOC_URL,
	    IOC_OK, "evil.com/a%2Fb~?x=A" },
	{ RAW("https://evil.com"), IOC_URL, IOC_OK, "evil.com/" },
	{ RAW("https://evil.com/"), IOC_URL, IOC_OK, "evil.com/" },
	{ RAW("hTTps://EVIL.com./x"), IOC_URL, IOC_OK, "evil.com/x" },
	{ RAW("http://evil.com/path"), IOC_URL, IOC_OK, "evil.com/path" },
	{ RAW("evil.com/path"), IOC_URL, IOC_OK, "evil.com/path" },
	{ RAW("evil.com?x=1"), IOC_URL, IOC_OK, "evil.com/?x=1" },
	{ RAW("evil.com/x/../"), IOC_URL, IOC_OK, "evil.com/" },
	{ RAW("https://jits.ac.in/TS.php"), IOC_URL, IOC_OK,
	    "jits.ac.in/TS.php" },
	{ RAW("http://evil.com/a/../b/./c"), IOC_URL, IOC_OK, "evil.com/b/c" },
	{ RAW("http://evil.com/%2e%2E/x"), IOC_URL, IOC_OK, "evil.com/x" },
	{ RAW("http://evil.com/%7e%41%2f%3a"), IOC_URL, IOC_OK,
	    "evil.com/~A%2F%3A" },
	{ RAW("http://evil.com/a?b#c"), IOC_URL, IOC_OK, "evil.com/a?b" },
	{ RAW("http://evil.com/<script>alert(1)</script>"), IOC_URL, IOC_OK,
	    "evil.com/%3Cscript%3Ealert(1)%3C/script%3E" },
	{ RAW("evil.com/\"onmouseover='x'"), IOC_URL, IOC_OK,
	    "evil.com/%22onmouseover=%27x%27" },
	{ RAW("evil.com/$(rm%20-rf)"), IOC_URL, IOC_OK,
	    "evil.com/$(rm%20-rf)" },
	{ RAW("evil.com/a;b|c&d"), IOC_URL, IOC_OK, "evil.com/a;b%7Cc&d" },
	{ RAW("evil.com/`id`{x}"), IOC_URL, IOC_OK,
	    "evil.com/%60id%60%7Bx%7D" },
	{ RAW("evil.com/\xc3\xbc"), IOC_URL, IOC_OK, "evil.com/%C3%BC" },
	{ RAW("http://b\xc3\xbc" "cher.example/x"), IOC_URL, IOC_OK,
	    "xn--bcher-kva.example/x" },
	{ RAW("http://1.2.3.4/x?y=1"), IOC_URL, IOC_OK, "1.2.3.4/x?y=1" },
	{ RAW("http://1.2.3.4:8080"), IOC_URL, IOC_OK, "1.2.3.4/" },
	{ RAW("http://co.uk/x"), IOC_URL, IOC_OK, "co.uk/x" },
	{ RAW("http://co.uk/"), IOC_URL, IOC_PUBLIC_SUFFIX, "co.uk/" },
	{ RAW("http://[2001:db8::1]/x"), IOC_URL, IOC_INVALID,
	    "http://[2001:db8::1]/x" },
	{ RAW("[2001:db8::1]/x"), IOC_URL, IOC_INVALID, "[2001:db8::1]/x" },
	{ RAW("http://127.1/x"), IOC_URL, IOC_INVALID, "http://127.1/x" },
	{ RAW("http://0x7f000001/"), IOC_URL, IOC_INVALID,
	    "http://0x7f000001/" },
	{ RAW("http://010.1.1.1/"), IOC_URL, IOC_INVALID,
	    "http://010.1.1.1/" },
	{ RAW("http://999.1.1.1/"), IOC_URL, IOC_INVALID,
	    "http://999.1.1.1/" },
	{ RAW("http://%65vil.com/"), IOC_URL, IOC_INVALID,
	    "http://%65vil.com/" },
	{ RAW("http://evil.com\\@good.com/"), IOC_URL, IOC_INVALID,
	    "http://evil.com\\\\@good.com/" },
	{ RAW("http://a@b@evil.com/"), IOC_URL, IOC_INVALID,
	    "http://a@b@evil.com/" },
	{ RAW("http://evil.com/%zz"), IOC_URL, IOC_INVALID,
	    "http://evil.com/%zz" },
	{ RAW("http://evil.com/%4"), IOC_URL, IOC_INVALID,
	    "http://evil.com/%4" },
	{ RAW("http://evil.com/a*b"), IOC_URL, IOC_INVALID,
	    "http://evil.com/a*b" },
	{ RAW("evil.com/*"), IOC_URL, IOC_INVALID, "evil.com/*" },
	{ RAW("http://*.evil.com/"), IOC_URL, IOC_INVALID,
	    "http://*.evil.com/" },
	{ RAW("http://evil.com/^"), IOC_URL, IOC_INVALID, "http://evil.com/^" },
	{ RAW("http://localhost/x"), IOC_URL, IOC_INVALID,
	    "http://localhost/x" },
	{ RAW("http://evil.com:99999/"), IOC_URL, IOC_INVALID,
	    "http://evil.com:99999/" },
	{ RAW("http://evil.com:/x"), IOC_URL, IOC_INVALID,
	    "http://evil.com:/x" },
	{ RAW("http:///x"), IOC_URL, IOC_INVALID, "http:///x" },
	{ RAW("http://ev_il.com/x"), IOC_URL, IOC_INVALID,
	    "http://ev_il.com/x" },
	{ RAW("javascript:alert(1)"), IOC_NONE, IOC_INVALID,
	    "javascript:alert(1)" },
	{ RAW("file:///etc/passwd"), IOC_NONE, IOC_INVALID,
	    "file:///etc/passwd" },
};

struct prot_case {
	int		 family;
	const char	*addr;
	int		 protected;
};

static const struct prot_case prot_cases[] = {
	{ 4, "0.0.0.0", 1 }, { 4, "0.1.2.3", 1 }, { 4, "10.1.1.1", 1 },
	{ 4, "100.64.0.1", 1 }, { 4, "100.127.255.255", 1 },
	{ 4, "100.128.0.1", 0 }, { 4, "127.0.0.1", 1 },
	{ 4, "169.254.1.1", 1 }, { 4, "172.16.0.1", 1 },
	{ 4, "172.31.255.255", 1 }, { 4, "172.32.0.1", 0 },
	{ 4, "192.0.0.1", 1 }, { 4, "192.0.0.9", 0 }, { 4, "192.0.0.10", 0 },
	{ 4, "192.0.0.170", 1 }, { 4, "192.0.2.1", 1 },
	{ 4, "192.88.99.1", 1 }, { 4, "192.168.1.1", 1 },
	{ 4, "198.18.0.1", 1 }, { 4, "198.19.255.255", 1 },
	{ 4, "198.20.0.1", 0 }, { 4, "198.51.100.1", 1 },
	{ 4, "203.0.113.1", 1 }, { 4, "224.0.0.1", 1 },
	{ 4, "239.255.255.255", 1 }, { 4, "240.0.0.1", 1 },
	{ 4, "255.255.255.255", 1 }, { 4, "8.8.8.8", 0 }, { 4, "1.1.1.1", 0 },
	{ 4, "11.0.0.1", 0 }, { 4, "192.31.196.1", 0 },
	{ 4, "223.255.255.255", 0 },
	{ 6, "::", 1 }, { 6, "::1", 1 }, { 6, "::ffff:10.0.0.1", 1 },
	{ 6, "::ffff:8.8.8.8", 1 }, { 6, "::10.0.0.1", 1 },
	{ 6, "::8.8.8.8", 0 }, { 6, "64:ff9b::10.0.0.1", 1 },
	{ 6, "64:ff9b::8.8.8.8", 0 }, { 6, "64:ff9b:1::1", 1 },
	{ 6, "100::1", 1 }, { 6, "2001::1", 1 }, { 6, "2001:1::1", 0 },
	{ 6, "2001:1::4", 1 }, { 6, "2001:2::1", 1 }, { 6, "2001:3::1", 0 },
	{ 6, "2001:4:112::1", 0 }, { 6, "2001:10::1", 1 },
	{ 6, "2001:20::1", 0 }, { 6, "2001:db8::1", 1 },
	{ 6, "2001:1ff::1", 1 }, { 6, "2001:200::1", 0 },
	{ 6, "2002:a00:1::1", 1 }, { 6, "2002:808:808::1", 0 },
	{ 6, "3fff::1", 1 }, { 6, "3fff:fff::1", 1 }, { 6, "3fff:1000::1", 0 },
	{ 6, "5f00::1", 1 }, { 6, "fc00::1", 1 }, { 6, "fd12:3456::1", 1 },
	{ 6, "fe80::1", 1 }, { 6, "febf::1", 1 }, { 6, "fec0::1", 1 },
	{ 6, "ff02::1", 1 }, { 6, "ff0e::1", 1 },
	{ 6, "2606:4700::1111", 0 }, { 6, "2a00:1450::1", 0 },
};

static char	 what[512];

/* Names one check: "<group> <value>: <aspect>". */
static const char *
name(const char *group, const char *v, const char *aspect)
{
	snprintf(what, sizeof(what), "%s %s: %s", group, v, aspect);
	return (what);
}

/* Prints a raw value safely for a check name. */
static const char *
shown(const char *raw, size_t len)
{
	static char	 buf[256];
	static const char hex[] = "0123456789abcdef";
	size_t		 i, o = 0;

	for (i = 0; i < len && o + 5 < sizeof(buf); i++) {
		unsigned char	c = (unsigned char)raw[i];

		if (c > 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	buf[o] = '\0';
	return (buf);
}

/* A canonical value parses again to itself (a URL with its scheme). */
static void
check_idempotent(const struct ioc *o, const char *label)
{
	static struct ioc	 again;
	static char		 buf[IOC_VALUE_MAX + 8];

	snprintf(buf, sizeof(buf), "%s%s", o->kind == IOC_URL ? "http://" :
	    "", o->value);
	ioc_parse(buf, strlen(buf), &again);
	OK(again.kind == o->kind && again.reason == o->reason &&
	    strcmp(again.value, o->value) == 0 &&
	    again.host_only == o->host_only && again.hostlen == o->hostlen,
	    name("idempotent", label, "reparses to itself"));
}

/* Runs the parse table: kind, reason, value, then idempotence. */
static void
test_parse_table(void)
{
	static struct ioc	 o;
	const struct parse_case	*c;
	const char		*v;
	size_t			 i, len;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		c = &parse_cases[i];
		len = c->len ? c->len : strlen(c->raw);
		v = shown(c->raw, len);
		IS(ioc_parse(c->raw, len, &o), c->reason,
		    name("parse", v, "reason"));
		IS(o.kind, c->kind, name("parse", v, "kind"));
		STR(o.value, c->value, name("parse", v, "value"));
		IS(o.len, strlen(o.value), name("parse", v, "len"));
		if (o.reason != IOC_INVALID)
			check_idempotent(&o, v);
	}
}

/* The URL-only fields: host length and family, host-only, address. */
static void
test_url_fields(void)
{
	static struct ioc	 o;

	ioc_parse(RAWN("https://EVIL.com"), &o);
	IS(o.host_only, 1, "url evil.com/: host_only");
	IS(o.hostlen, 8, "url evil.com/: hostlen");
	IS(o.host_family, 0, "url evil.com/: host_family");
	ioc_parse(RAWN("https://evil.com/?q"), &o);
	IS(o.host_only, 0, "url evil.com/?q: not host_only");
	ioc_parse(RAWN("https://evil.com/a"), &o);
	IS(o.host_only, 0, "url evil.com/a: not host_only");
	ioc_parse(RAWN("http://192.0.2.7:81/x"), &o);
	IS(o.host_family, 4, "url 192.0.2.7/x: host_family");
	IS(o.hostlen, 9, "url 192.0.2.7/x: hostlen");
	OK(memcmp(o.addr, "\xc0\x00\x02\x07", 4) == 0,
	    "url 192.0.2.7/x: addr");
	OK(ioc_addr_protected(o.host_family, o.addr),
	    "url 192.0.2.7/x: host is protected");
	ioc_parse(RAWN("http://xn--bcher-kva.example/p?q"), &o);
	IS(o.hostlen, strlen("xn--bcher-kva.example"), "url IDN: hostlen");
	ioc_parse(RAWN("1.2.3.4"), &o);
	OK(memcmp(o.addr, "\x01\x02\x03\x04", 4) == 0, "ipv4 1.2.3.4: addr");
	ioc_parse(RAWN("2001:db8::1"), &o);
	OK(memcmp(o.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01",
	    16) == 0, "ipv6 2001:db8::1: addr");
	ioc_parse(RAWN("10.1.2.3/8"), &o);
	OK(memcmp(o.addr, "\x0a\0\0\0", 4) == 0, "network 10/8: addr");
	ioc_parse(RAWN("evil.com"), &o);
	OK(memcmp(o.addr, "\0\0\0\0", 4) == 0, "domain: addr zero");
	ioc_parse(NULL, 0, &o);
	IS(o.reason, IOC_INVALID, "NULL raw: invalid");
}

/* Fills buf with n copies of c. */
static void
fill(char *buf, int c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

/* Label, name, URL and raw length limits, at and one past each. */
static void
test_limits(void)
{
	static struct ioc	 o;
	static char		 buf[IOC_RAW_MAX + 64], big[IOC_RAW_MAX + 2];
	char			 a63[64], a64[65], tail[64];
	size_t			 n;

	fill(a63, 'a', 63);
	fill(a64, 'a', 64);
	snprintf(buf, sizeof(buf), "%s.com", a63);
	IS(ioc_parse(buf, strlen(buf), &o), IOC_OK, "63-byte label: ok");
	snprintf(buf, sizeof(buf), "%s.com", a64);
	IS(ioc_parse(buf, strlen(buf), &o), IOC_INVALID,
	    "64-byte label: invalid");
	/* 3 * 64 bytes of "x...x." and a 61-byte "d...d.com" tail: 253. */
	fill(tail, 'd', 57);
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s.com", a63, a63, a63, tail);
	IS(strlen(buf), 253, "253-byte name built");
	IS(ioc_parse(buf, strlen(buf), &o), IOC_OK, "253-byte name: ok");
	IS(o.len, 253, "253-byte name: kept whole");
	n = strlen(buf);
	buf[n] = '.';
	buf[n + 1] = '\0';
	IS(ioc_parse(buf, strlen(buf), &o), IOC_OK,
	    "253-byte name with trailing dot: ok");
	fill(tail, 'd', 58);
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s.com", a63, a63, a63, tail);
	IS(ioc_parse(buf, strlen(buf), &o), IOC_INVALID,
	    "254-byte name: invalid");

	/* URL lines: "evil.com/" is 9 bytes, then the path. */
	memcpy(buf, "http://evil.com/", 16);
	fill(buf + 16, 'p', IOC_LINE_MAX - 9);
	IS(ioc_parse(buf, strlen(buf), &o), IOC_OK, "255-byte URL: ok");
	IS(o.len, IOC_LINE_MAX, "255-byte URL: length");
	fill(buf + 16, 'p', IOC_LINE_MAX - 8);
	IS(ioc_parse(buf, strlen(buf), &o), IOC_TOO_LONG,
	    "256-byte URL: too-long");
	IS(o.kind, IOC_URL, "256-byte URL: kind url");
	IS(o.len, IOC_LINE_MAX + 1, "256-byte URL: canonical value kept");
	OK(strncmp(o.value, "evil.com/ppp", 12) == 0,
	    "256-byte URL: canonical text");
	check_idempotent(&o, "256-byte URL");
	/* Escapes count: 100 "<" become 300 bytes. */
	memcpy(buf, "http://evil.com/", 16);
	fill(buf + 16, '<', 100);
	IS(ioc_parse(buf, strlen(buf), &o), IOC_TOO_LONG,
	    "URL too long once encoded: too-long");

	fill(big, 'a', IOC_RAW_MAX + 1);
	memcpy(big + IOC_RAW_MAX - 4, ".com", 4);
	IS(ioc_parse(big, IOC_RAW_MAX + 1, &o), IOC_INVALID,
	    "raw longer than IOC_RAW_MAX: invalid");
	IS(o.kind, IOC_NONE, "raw longer than IOC_RAW_MAX: kind none");
	OK(o.len <= IOC_RAW_MAX * 4 && o.len == strlen(o.value),
	    "raw longer than IOC_RAW_MAX: escaped value bounded");
	fill(big, '\n', IOC_RAW_MAX);
	IS(ioc_parse(big, IOC_RAW_MAX, &o), IOC_INVALID,
	    "IOC_RAW_MAX newlines: invalid");
	IS(o.len, IOC_RAW_MAX * 2, "IOC_RAW_MAX newlines: escaped whole");
}

/* The protected-address table, through text parsed by inet_pton. */
static void
test_protected(void)
{
	const struct prot_case	*c;
	uint8_t			 a[16];
	size_t			 i;
	int			 af;

	for (i = 0; i < sizeof(prot_cases) / sizeof(prot_cases[0]); i++) {
		c = &prot_cases[i];
		memset(a, 0, sizeof(a));
		af = c->family == 4 ? AF_INET : AF_INET6;
		if (!OK(inet_pton(af, c->addr, a) == 1,
		    name("protected", c->addr, "parses")))
			continue;
		IS(ioc_addr_protected(c->family, a), c->protected,
		    name("protected", c->addr,
		    c->protected ? "yes" : "no"));
	}
	inet_pton(AF_INET, "10.0.0.1", a);
	IS(ioc_addr_protected(AF_INET, a), 1, "protected: AF_INET family");
	inet_pton(AF_INET6, "2606:4700::1111", a);
	IS(ioc_addr_protected(AF_INET6, a), 0, "protected: AF_INET6 family");
	IS(ioc_addr_protected(5, a), 1,
	    "protected: unknown family fails closed");
}

/* Allowlist helpers: CIDR parsing, containment, domain canonical form. */
static void
test_allowlist_helpers(void)
{
	static const char *const bad[] = { "10.0.0.0/33", "10.0.0/8",
	    "010.0.0.0/8", "x", "", "1.2.3.4/", "1.2.3.4/-1",
	    "2001:db8::/129", "fe80::1%eth0/64", "1.2.3.4 /8", "1.2.3.4/8/",
	    "10.0.0.0/08" };
	uint8_t		 net[16], a[16];
	char		 dst[IOC_NAME_MAX + 1], small[8];
	int		 fam, prefix;
	size_t		 i;

	IS(ioc_parse_cidr("203.0.113.0/24", &fam, net, &prefix), 0,
	    "cidr 203.0.113.0/24 parses");
	IS(fam, 4, "cidr 203.0.113.0/24: family");
	IS(prefix, 24, "cidr 203.0.113.0/24: prefix");
	inet_pton(AF_INET, "203.0.113.77", a);
	IS(ioc_cidr_contains(fam, net, prefix, a), 1, "contains 203.0.113.77");
	inet_pton(AF_INET, "203.0.114.1", a);
	IS(ioc_cidr_contains(fam, net, prefix, a), 0, "lacks 203.0.114.1");
	IS(ioc_parse_cidr("10.0.0.0/9", &fam, net, &prefix), 0, "cidr /9");
	inet_pton(AF_INET, "10.127.0.1", a);
	IS(ioc_cidr_contains(fam, net, prefix, a), 1, "/9 contains 10.127");
	inet_pton(AF_INET, "10.128.0.1", a);
	IS(ioc_cidr_contains(fam, net, prefix, a), 0, "/9 lacks 10.128");
	IS(ioc_cidr_contains(fam, net, 33, a), 0, "prefix 33 contains nothing");
	IS(ioc_parse_cidr("192.0.2.1", &fam, net, &prefix), 0, "bare v4");
	IS(prefix, 32, "bare v4 is /32");
	IS(ioc_parse_cidr("0.0.0.0/0", &fam, net, &prefix), 0, "cidr /0");
	IS(ioc_cidr_contains(fam, net, prefix, a), 1, "/0 contains all");
	IS(ioc_parse_cidr("2001:DB8::/32", &fam, net, &prefix), 0, "v6 /32");
	IS(fam, 6, "v6 /32: family");
	inet_pton(AF_INET6, "2001:db8:1::1", a);
	IS(ioc_cidr_contains(fam, net, prefix, a), 1, "contains 2001:db8:1::1");
	inet_pton(AF_INET6, "2001:db9::1", a);
	IS(ioc_cidr_contains(fam, net, prefix, a), 0, "lacks 2001:db9::1");
	IS(ioc_parse_cidr("::1", &fam, net, &prefix), 0, "bare v6");
	IS(prefix, 128, "bare v6 is /128");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		IS(ioc_parse_cidr(bad[i], &fam, net, &prefix), -1,
		    name("cidr", bad[i], "refused"));

	IS(ioc_canon_domain("Example.ORG.", dst, sizeof(dst)), 0,
	    "canon Example.ORG.");
	STR(dst, "example.org", "canon Example.ORG.: value");
	IS(ioc_canon_domain("b\xc3\xbc" "cher.example", dst, sizeof(dst)), 0,
	    "canon IDN");
	STR(dst, "xn--bcher-kva.example", "canon IDN: value");
	IS(ioc_canon_domain("co.uk", dst, sizeof(dst)), 0,
	    "canon public suffix is a name");
	IS(ioc_canon_domain("*.example.org", dst, sizeof(dst)), -1,
	    "canon wildcard refused");
	IS(ioc_canon_domain("example", dst, sizeof(dst)), -1,
	    "canon single label refused");
	IS(ioc_canon_domain("1.2.3.4", dst, sizeof(dst)), -1,
	    "canon address refused");
	IS(ioc_canon_domain("exa mple.com", dst, sizeof(dst)), -1,
	    "canon space refused");
	IS(ioc_canon_domain("example.org", small, sizeof(small)), -1,
	    "canon into a small buffer refused");
}

/* The report names of every reason. */
static void
test_reason_names(void)
{
	static const char *const want[IOC_NREASONS] = { "ok", "allowlisted",
	    "allowlist-overlap", "protected", "invalid", "network",
	    "public-suffix", "too-long", "truncated" };
	int	 r;

	for (r = 0; r < IOC_NREASONS; r++)
		STR(ioc_reason_name((enum ioc_reason)r), want[r],
		    name("reason name", want[r], "matches"));
	STR(ioc_reason_name(IOC_NREASONS), "unknown",
	    "reason name out of range");
}

int
main(void)
{
	if (!OK(ioc_init() == 0, "ioc_init"))
		return (tap_done());
	test_parse_table();
	test_url_fields();
	test_limits();
	test_protected();
	test_allowlist_helpers();
	test_reason_names();
	ioc_cleanup();
	IS(ioc_init(), 0, "ioc_init again after cleanup");
	ioc_cleanup();
	return (tap_done());
}
