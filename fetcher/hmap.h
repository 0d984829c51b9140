/*
 * hmap.h: a string-keyed hash map (open addressing, linear probing,
 * backward-shift deletion, so no tombstones).  It keeps no keys of its
 * own: each value holds its key, NUL or not, koff bytes into it (koff 0:
 * the value is the key), and the key must live as long as its entry.
 */
#ifndef HMAP_H
#define HMAP_H

#include <stddef.h>
#include <stdint.h>

/* 16 bytes: the key length rides in the low 16 bits of the hash word. */
struct hmap_slot {
	uint64_t	 hash;	/* 48 bits of hash, 16 bits of key length */
	void		*val;	/* NULL: empty; its key at val + koff */
};

#define HMAP_KEY_MAX	0xffff	/* longer keys are never stored */

/* Zeroed, a map is empty and its values are their own keys. */
struct hmap {
	struct hmap_slot	*slots;
	size_t			 cap;	/* a power of two, or 0 */
	size_t			 n;
	size_t			 koff;	/* where a value holds its key */
};

uint64_t	 hmap_hash(const char *, size_t);
void		*hmap_get(const struct hmap *, const char *, size_t);
/*
 * Inserts or replaces val, which must not be NULL and must hold key[0..
 * len) at koff; -1 on allocation failure (map unchanged).
 */
int		 hmap_put(struct hmap *, const char *, size_t, void *);
/* Removes and returns the value, or NULL. */
void		*hmap_del(struct hmap *, const char *, size_t);
/* Frees the table; the map stays usable, with the same koff. */
void		 hmap_free(struct hmap *);

#endif
