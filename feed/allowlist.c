/*
 * allowlist.c: CIDR blocks in a short array (allowlists are small and
 * scanned once per address); names and the parents of names in hash sets.
 */
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "conf.h"
#include "hmap.h"
#include "ioc.h"

struct allow_net {
	int	family;
	int	prefix;
	uint8_t	addr[16];
};

struct allowlist {
	struct allow_net	*nets;
	size_t			 nnets;
	struct hmap		 names;		/* allowlisted names */
	struct hmap		 parents;	/* strict parents of those */
	char			**strs;		/* owned keys of both maps */
	size_t			 nstrs;
};

/* Keeps a copy of s[0..len) alive for the maps; NULL on failure. */
static const char *
keep(struct allowlist *al, const char *s, size_t len)
{
	char	 *p, **n;

	if ((n = reallocarray(al->strs, al->nstrs + 1, sizeof(*n))) == NULL)
		return (NULL);
	al->strs = n;
	if ((p = strndup(s, len)) == NULL)
		return (NULL);
	al->strs[al->nstrs++] = p;
	return (p);
}

/* Adds a canonical name and every strict parent of it. */
static int
add_name(struct allowlist *al, const char *name)
{
	const char	*k, *dot;
	size_t		 len = strlen(name);

	if ((k = keep(al, name, len)) == NULL ||
	    hmap_put(&al->names, k, len, (void *)(uintptr_t)k) == -1)
		return (-1);
	for (dot = strchr(name, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		len = strlen(dot + 1);
		if ((k = keep(al, dot + 1, len)) == NULL ||
		    hmap_put(&al->parents, k, len,
		    (void *)(uintptr_t)k) == -1)
			return (-1);
	}
	return (0);
}

struct allowlist *
allowlist_new(const struct conf *conf)
{
	struct allowlist	*al;
	struct allow_net	 net;
	char			 name[IOC_NAME_MAX + 1];
	size_t			 i;

	if ((al = calloc(1, sizeof(*al))) == NULL)
		return (NULL);
	if (conf->allowlist.n > 0 && (al->nets = calloc(conf->allowlist.n,
	    sizeof(*al->nets))) == NULL)
		goto fail;
	for (i = 0; i < conf->allowlist.n; i++) {
		const char *e = conf->allowlist.v[i];

		if (ioc_parse_cidr(e, &net.family, net.addr,
		    &net.prefix) == 0)
			al->nets[al->nnets++] = net;
		else if (ioc_canon_domain(e, name, sizeof(name)) == 0) {
			if (add_name(al, name) == -1)
				goto fail;
		}
		/* conf_value.c rejected anything else already. */
	}
	return (al);
 fail:
	allowlist_free(al);
	return (NULL);
}

void
allowlist_free(struct allowlist *al)
{
	size_t	i;

	if (al == NULL)
		return;
	for (i = 0; i < al->nstrs; i++)
		free(al->strs[i]);
	free(al->strs);
	hmap_free(&al->names);
	hmap_free(&al->parents);
	free(al->nets);
	free(al);
}

int
allowlist_addr(const struct allowlist *al, int family, const uint8_t *addr)
{
	size_t	i;

	for (i = 0; i < al->nnets; i++)
		if (al->nets[i].family == family &&
		    ioc_cidr_contains(family, al->nets[i].addr,
		    al->nets[i].prefix, addr))
			return (1);
	return (0);
}

int
allowlist_name(const struct allowlist *al, const char *name, size_t len)
{
	const char	*p = name, *end = name + len;

	/* The name itself, then each parent: "a.b.c", "b.c", "c". */
	while (p < end) {
		if (hmap_get(&al->names, p, (size_t)(end - p)) != NULL)
			return (1);
		if ((p = memchr(p, '.', (size_t)(end - p))) == NULL)
			break;
		p++;
	}
	return (0);
}

int
allowlist_under(const struct allowlist *al, const char *name, size_t len)
{
	return (hmap_get(&al->parents, name, len) != NULL);
}
