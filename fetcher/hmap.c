/*
 * hmap.c: open-addressing hash map whose values hold their keys.
 */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

/*
 * FNV-1a, 64 bits, folded to 48 with the key length in the low 16: one
 * compare of the word checks both before any key byte is read.
 */
uint64_t
hmap_hash(const char *s, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return ((h ^ (h >> 48)) << 16 | (len & HMAP_KEY_MAX));
}

/* The table index of a hash word: its hash bits, not the length. */
static size_t
home_of(uint64_t h, size_t mask)
{
	return ((size_t)(h >> 16) & mask);
}

/* The key a value holds. */
static const char *
key_of(const struct hmap *m, const void *val)
{
	return ((const char *)val + m->koff);
}

/* Finds the slot holding key, or the empty slot where it would go. */
static size_t
find_slot(const struct hmap *m, const char *key, size_t len, uint64_t h)
{
	size_t	mask = m->cap - 1, i = home_of(h, mask);

	while (m->slots[i].val != NULL) {
		/* Equal words mean equal lengths: only then read the key. */
		if (m->slots[i].hash == h &&
		    memcmp(key_of(m, m->slots[i].val), key, len) == 0)
			break;
		i = (i + 1) & mask;
	}
	return (i);
}

/* The empty slot where a key known to be absent goes. */
static size_t
free_slot(const struct hmap *m, uint64_t h)
{
	size_t	mask = m->cap - 1, i = home_of(h, mask);

	while (m->slots[i].val != NULL)
		i = (i + 1) & mask;
	return (i);
}

void *
hmap_get(const struct hmap *m, const char *key, size_t len)
{
	size_t	i;

	if (m->cap == 0 || len > HMAP_KEY_MAX)
		return (NULL);
	i = find_slot(m, key, len, hmap_hash(key, len));
	return (m->slots[i].val);
}

/* Rehashes into a table of newcap slots. */
static int
grow(struct hmap *m, size_t newcap)
{
	struct hmap	 nm = { 0 };
	size_t		 i;

	if ((nm.slots = calloc(newcap, sizeof(*nm.slots))) == NULL)
		return (-1);
	nm.cap = newcap;
	nm.koff = m->koff;
	/* Keys are distinct already: no key is read to move them. */
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].val != NULL)
			nm.slots[free_slot(&nm, m->slots[i].hash)] =
			    m->slots[i];
	nm.n = m->n;
	free(m->slots);
	*m = nm;
	return (0);
}

int
hmap_put(struct hmap *m, const char *key, size_t len, void *val)
{
	uint64_t	h = hmap_hash(key, len);
	size_t		i;

	if (len > HMAP_KEY_MAX || val == NULL)
		return (-1);
	if ((m->n + 1) * 4 > m->cap * 3 &&
	    grow(m, m->cap ? m->cap * 2 : 16) == -1)
		return (-1);
	i = find_slot(m, key, len, h);
	if (m->slots[i].val == NULL)
		m->n++;
	m->slots[i].hash = h;
	m->slots[i].val = val;
	return (0);
}

void *
hmap_del(struct hmap *m, const char *key, size_t len)
{
	size_t	 mask, i, j, home;
	void	*val;

	if (m->cap == 0 || len > HMAP_KEY_MAX)
		return (NULL);
	mask = m->cap - 1;
	i = find_slot(m, key, len, hmap_hash(key, len));
	if ((val = m->slots[i].val) == NULL)
		return (NULL);
	/* Backward shift: pull later entries of the run into the hole. */
	for (j = (i + 1) & mask; m->slots[j].val != NULL; j = (j + 1) & mask) {
		home = home_of(m->slots[j].hash, mask);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	memset(&m->slots[i], 0, sizeof(m->slots[i]));
	m->n--;
	return (val);
}

void
hmap_free(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
