/*
 * ioc_int.h: what the files of the indicator canonicaliser share, and
 * nothing else includes: the split of a value, character classes, and
 * the steps of ioc_parse() that live in ioc_addr.c (addresses and
 * networks), ioc_name.c (DNS names) and ioc_url.c (URLs).
 */
#ifndef IOC_INT_H
#define IOC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ioc.h"

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

/* A range of code points; script is a class of ioc_name.c or 0. */
struct cp_range {
	uint32_t	 lo, hi;
	int		 script;
};

#define IS_ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || \
			    ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_UNRESERVED(c) (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || \
			    (c) == '.' || (c) == '_' || (c) == '~')

/* ioc.c: bytes, and how a result is stored. */
int		 ioc_utf8_next(const unsigned char *, size_t, uint32_t *);
int		 ioc_check_bytes(const char *, size_t);
enum ioc_reason	 ioc_withhold(struct ioc *, enum ioc_kind);
enum ioc_reason	 ioc_canonical(struct ioc *, enum ioc_kind, enum ioc_reason,
		    const char *);

/* ioc_addr.c: IPv4, IPv6, networks. */
int		 ioc_ipv4_strict(const char *, size_t, uint8_t *);
int		 ioc_ipv6_parse(const char *, size_t, uint8_t *);
void		 ioc_ip_format(int, const uint8_t *, char *, size_t);
int		 ioc_parse_network(const char *, size_t, struct ioc *);

/* ioc_name.c: DNS names. */
int		 ioc_looks_numeric(const char *, size_t);
int		 ioc_canon_name(const char *, size_t, char *);
int		 ioc_public_suffix(const char *);

/* ioc_url.c: the split of a value, URLs. */
int		 ioc_split_value(const char *, size_t, struct ioc_split *);
enum ioc_reason	 ioc_parse_url(const char *, size_t,
		    const struct ioc_split *, struct ioc *);

#endif
