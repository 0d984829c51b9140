/*
 * allowlist.h: the [allowlist] compiled for matching: address blocks by
 * CIDR containment, names by themselves and their subdomains.
 */
#ifndef ALLOWLIST_H
#define ALLOWLIST_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct allowlist;

/* Compiles conf's entries (conf_value.c validated them); NULL: no memory. */
struct allowlist *allowlist_new(const struct conf *);
void		 allowlist_free(struct allowlist *);
/* 1 when the address lies in an allowlisted block. */
int		 allowlist_addr(const struct allowlist *, int family,
		    const uint8_t *addr);
/* 1 when the name or one of its parent domains is allowlisted. */
int		 allowlist_name(const struct allowlist *, const char *,
		    size_t len);
/* 1 when an allowlisted name lies strictly under this name. */
int		 allowlist_under(const struct allowlist *, const char *,
		    size_t len);

#endif
