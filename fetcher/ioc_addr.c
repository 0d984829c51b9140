/*
 * ioc_addr.c: IP addresses for the canonicaliser: strict dotted-quad
 * IPv4, IPv6 through inet_pton, the canonical text of both, "addr/n" and
 * "a-b" networks, allowlist CIDRs, and the table of protected ranges that
 * are never published.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ioc_int.h"

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

static int	 ip_parse(const char *, size_t, int *, uint8_t *);
static int	 ip_prefix_parse(const char *, size_t, int *, uint8_t *,
		    int *);
static int	 prefix_match(const uint8_t *, const uint8_t *, int);
static int	 protected_lookup(int, const uint8_t *);
static int	 family_norm(int);

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

/*
 * Parses a strict dotted quad: four decimal octets 0..255 without
 * leading zeros.  Octal, hex and short forms are not addresses here.
 */
int
ioc_ipv4_strict(const char *s, size_t len, uint8_t *addr)
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
int
ioc_ipv6_parse(const char *s, size_t len, uint8_t *addr)
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
void
ioc_ip_format(int family, const uint8_t *addr, char *dst, size_t dstsz)
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
	if (ioc_ipv4_strict(s, len, addr) == 0) {
		*family = 4;
		return (0);
	}
	if (memchr(s, ':', len) != NULL && ioc_ipv6_parse(s, len, addr) == 0) {
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
 * Recognises "addr/n" and "a-b" values.  Returns 0 when s is not shaped
 * like one (it is then a host or URL), 1 when out is filled: the address
 * for a full-width prefix, IOC_NETWORK with the canonical text (host
 * bits cleared) otherwise, IOC_INVALID when malformed.
 */
int
ioc_parse_network(const char *s, size_t len, struct ioc *out)
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
			ioc_withhold(out, IOC_NONE);
			return (1);
		}
		for (i = prefix; i < 128; i++)
			start[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		ioc_ip_format(fam, start, a, sizeof(a));
		memcpy(out->addr, start, sizeof(out->addr));
		if (prefix == (fam == 4 ? 32 : 128)) {
			ioc_canonical(out, fam == 4 ? IOC_IPV4 : IOC_IPV6,
			    IOC_OK, a);
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
			ioc_withhold(out, IOC_NONE);
			return (1);
		}
		ioc_ip_format(fam, start, a, sizeof(a));
		ioc_ip_format(fam, end, b, sizeof(b));
		snprintf(text, sizeof(text), "%s-%s", a, b);
		memcpy(out->addr, start, sizeof(out->addr));
	}
	ioc_canonical(out, fam == 4 ? IOC_IPV4 : IOC_IPV6, IOC_NETWORK, text);
	return (1);
}

/* 1 when the first plen bits of a and b agree. */
static int
prefix_match(const uint8_t *a, const uint8_t *b, int plen)
{
	int	 full = plen / 8, rest = plen % 8;
	uint8_t	 mask;

	/* The first byte turns almost every entry away without a call. */
	mask = (uint8_t)(plen >= 8 ? 0xff : 0xff << (8 - plen));
	if (((a[0] ^ b[0]) & mask) != 0)
		return (0);
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
