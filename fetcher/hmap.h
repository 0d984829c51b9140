/*
 * hmap.h: a string-keyed hash map (open addressing, linear probing,
 * backward-shift deletion, so no tombstones).  It borrows keys: each key
 * must live as long as its entry, typically inside the value it maps to.
 */
#ifndef HMAP_H
#define HMAP_H

#include <stddef.h>
#include <stdint.h>

/* 24 bytes: the key length rides in the low 16 bits of the hash word. */
struct hmap_slot {
	uint64_t	 hash;	/* 48 bits of hash, 16 bits of key length */
	const char	*key;	/* NULL: empty */
	void		*val;
};

#define HMAP_KEY_MAX	0xffff	/* longer keys are never stored */

struct hmap {
	struct hmap_slot	*slots;
	size_t			 cap;	/* a power of two, or 0 */
	size_t			 n;
};

uint64_t	 hmap_hash(const char *, size_t);
void		*hmap_get(const struct hmap *, const char *, size_t);
/* Inserts or replaces; -1 on allocation failure (map unchanged). */
int		 hmap_put(struct hmap *, const char *, size_t, void *);
/* Removes and returns the value, or NULL. */
void		*hmap_del(struct hmap *, const char *, size_t);
void		 hmap_free(struct hmap *);

#endif
