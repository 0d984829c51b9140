/*
 * test_hmap.c: the hash map on its own: values that are their own keys,
 * values that hold their key at an offset, growth, replacement, and
 * deletion that keeps every other entry reachable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "tap.h"

#define NREC	5000

/* A record holding its key after a header, as the store's do. */
struct rec {
	int	n;
	char	key[16];
};

/* Formats the key of record i. */
static void
rec_init(struct rec *r, int i)
{
	r->n = i;
	snprintf(r->key, sizeof(r->key), "k%d", i);
}

/* Counts the records of a[0..n) the map finds as themselves. */
static int
count_found(const struct hmap *m, struct rec *a, int n)
{
	int	i, found = 0;

	for (i = 0; i < n; i++)
		found += hmap_get(m, a[i].key, strlen(a[i].key)) == &a[i];
	return (found);
}

/* Values that are their own keys (koff 0), as sets use them. */
static void
test_set(void)
{
	struct hmap	 m = { 0 };
	char		 a[] = "alpha", b[] = "alphabet", c[] = "beta";
	char		 probe[] = "alphabet";

	OK(hmap_get(&m, a, 5) == NULL, "empty map finds nothing");
	OK(hmap_put(&m, a, 5, a) == 0 && hmap_put(&m, b, 8, b) == 0 &&
	    hmap_put(&m, c, 4, c) == 0, "three keys go in");
	IS(m.n, 3, "three entries");
	OK(hmap_get(&m, probe, 8) == b, "found by an equal key elsewhere");
	OK(hmap_get(&m, probe, 5) == a, "a prefix is a key of its own");
	OK(hmap_get(&m, probe, 6) == NULL, "an absent length finds nothing");
	OK(hmap_put(&m, a, 5, NULL) == -1 && m.n == 3,
	    "a NULL value is refused");
	OK(hmap_del(&m, probe, 5) == a && m.n == 2 &&
	    hmap_get(&m, a, 5) == NULL, "deleted");
	OK(hmap_del(&m, a, 5) == NULL, "deleting again finds nothing");
	OK(hmap_get(&m, b, 8) == b && hmap_get(&m, c, 4) == c,
	    "the others stay");
	hmap_free(&m);
	OK(m.n == 0 && m.cap == 0 && hmap_get(&m, b, 8) == NULL, "freed");
}

/* Values holding their key at an offset; growth and deletion. */
static void
test_records(void)
{
	struct hmap	 m = { 0 };
	struct rec	*a, dup;
	char		 key[16];
	int		 i, ok = 1, left;

	if ((a = calloc(NREC, sizeof(*a))) == NULL)
		exit(1);
	m.koff = offsetof(struct rec, key);
	for (i = 0; i < NREC && ok; i++) {
		rec_init(&a[i], i);
		ok = hmap_put(&m, a[i].key, strlen(a[i].key), &a[i]) == 0;
	}
	OK(ok && m.n == NREC, "records go in");
	OK(m.cap >= NREC && (m.cap & (m.cap - 1)) == 0 &&
	    m.n * 4 <= m.cap * 3, "the table grew to a power of two");
	IS(count_found(&m, a, NREC), NREC, "every record is found");
	rec_init(&dup, 17);
	OK(hmap_put(&m, dup.key, strlen(dup.key), &dup) == 0 &&
	    m.n == NREC && hmap_get(&m, "k17", 3) == &dup,
	    "a second put of a key replaces its value");
	OK(hmap_put(&m, a[17].key, 3, &a[17]) == 0, "and back");
	/* Every third one out: the runs they leave must close up. */
	for (i = 0; i < NREC; i += 3)
		if (hmap_del(&m, a[i].key, strlen(a[i].key)) != &a[i])
			ok = 0;
	left = NREC - (NREC + 2) / 3;
	OK(ok && (int)m.n == left, "every third record deleted");
	for (i = 0, ok = 1; i < NREC; i++)
		if ((hmap_get(&m, a[i].key, strlen(a[i].key)) == &a[i]) !=
		    (i % 3 != 0))
			ok = 0;
	OK(ok, "the rest are found, the deleted are not");
	snprintf(key, sizeof(key), "k%d", NREC);
	OK(hmap_get(&m, key, strlen(key)) == NULL, "an absent key");
	hmap_free(&m);
	IS(m.koff, offsetof(struct rec, key), "freeing keeps the offset");
	OK(hmap_put(&m, a[1].key, 2, &a[1]) == 0 &&
	    hmap_get(&m, "k1", 2) == &a[1], "and the map is usable again");
	hmap_free(&m);
	free(a);
}

/* Keys beyond HMAP_KEY_MAX are never stored. */
static void
test_long_key(void)
{
	struct hmap	 m = { 0 };
	char		*k;

	if ((k = calloc(1, HMAP_KEY_MAX + 2)) == NULL)
		exit(1);
	memset(k, 'x', HMAP_KEY_MAX + 1);
	OK(hmap_put(&m, k, HMAP_KEY_MAX + 1, k) == -1 && m.n == 0,
	    "a key too long is refused");
	OK(hmap_put(&m, k, HMAP_KEY_MAX, k) == 0 &&
	    hmap_get(&m, k, HMAP_KEY_MAX) == k, "the longest key is kept");
	OK(hmap_get(&m, k, HMAP_KEY_MAX + 1) == NULL,
	    "a lookup too long finds nothing");
	hmap_free(&m);
	free(k);
}

int
main(void)
{
	test_set();
	test_records();
	test_long_key();
	return (tap_done());
}
