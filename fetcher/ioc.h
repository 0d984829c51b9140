/*
 * ioc.h: the one strict path from an untrusted Lumu value to a canonical
 * indicator, or to a reason it is withheld.  Pure: no I/O, no globals
 * beyond the read-only Public Suffix List loaded by ioc_init().
 */
#ifndef IOC_H
#define IOC_H

#include <stddef.h>
#include <stdint.h>

enum ioc_kind {
	IOC_NONE = 0,		/* could not be classified at all */
	IOC_IPV4,
	IOC_IPV6,
	IOC_DOMAIN,
	IOC_URL
};

/* Why a value is withheld; the order is the order of reports. */
enum ioc_reason {
	IOC_OK = 0,
	IOC_ALLOWLISTED,
	IOC_ALLOWLIST_OVERLAP,
	IOC_PROTECTED,
	IOC_INVALID,
	IOC_NETWORK,
	IOC_PUBLIC_SUFFIX,
	IOC_TOO_LONG,
	IOC_TRUNCATED,
	IOC_NREASONS
};

#define IOC_NAME_MAX	253	/* a DNS name, and a domain feed line */
#define IOC_LINE_MAX	255	/* a URL feed line */
#define IOC_RAW_MAX	2048	/* longer raw values are invalid unread */
#define IOC_VALUE_MAX	(IOC_RAW_MAX * 4 + 1)	/* escaped raw fits */

struct ioc {
	enum ioc_kind	 kind;
	enum ioc_reason	 reason;	/* IOC_OK or a parse-time reason */
	/*
	 * The canonical form: "192.0.2.1", "2001:db8::1", "example.com",
	 * "example.com/path?q" (URL: no scheme, port, user info or
	 * fragment).  For IOC_NONE, the raw value escaped by log_escape().
	 */
	char		 value[IOC_VALUE_MAX];
	size_t		 len;
	size_t		 hostlen;	/* URL: length of the host prefix */
	int		 host_family;	/* URL: 4 when the host is IPv4 */
	int		 host_only;	/* URL: path "/" and no query */
	uint8_t		 addr[16];	/* IPv4 in addr[0..3]; IPv6; URL host */
};

int		 ioc_init(void);
void		 ioc_cleanup(void);

/*
 * Classifies and canonicalises one raw value (an adversary or a threat
 * trigger).  Always fills *out; returns out->reason.
 */
enum ioc_reason	 ioc_parse(const char *raw, size_t len, struct ioc *out);

/* 1 when the address is not globally reachable (IANA registries...). */
int		 ioc_addr_protected(int family, const uint8_t *addr);

/* The name used in reports: "allowlisted", "invalid", ... */
const char	*ioc_reason_name(enum ioc_reason);

/* Parses "a.b.c.d[/n]" or "v6[/n]" for allowlists; -1 when malformed. */
int		 ioc_parse_cidr(const char *, int *family, uint8_t *addr,
		    int *prefix);
/* 1 when addr lies inside net/prefix of the same family. */
int		 ioc_cidr_contains(int family, const uint8_t *net, int prefix,
		    const uint8_t *addr);
/* Canonicalises a domain name alone (allowlists); -1 when invalid. */
int		 ioc_canon_domain(const char *, char *dst, size_t dstsz);

#endif
