/*
 * sortkey.c: most-significant-byte-first radix sort over 16-byte keys.
 * Each pass counts one key byte over a group and scatters the group into
 * its buckets; a group that shares all 16 bytes of a text key loads the
 * next 16 bytes of its lines and goes on; small groups end in an
 * insertion sort.  Every item is read from the array, so a line is only
 * touched when a key runs out.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "sortkey.h"

/* Below this many items an insertion sort beats another counting pass. */
#define SORTKEY_SMALL	64

struct sorter {
	struct sortkey		*a;	/* the items */
	struct sortkey		*tmp;	/* scatter space, as long as a */
	enum sortkey_mode	 mode;
};

static void	sort_group(struct sorter *, size_t, size_t, int, size_t);

/* Eight bytes of s from p on as a big-endian number, zero past len. */
static uint64_t
load8(const char *s, size_t len, size_t p)
{
	uint64_t	v = 0;
	size_t		i;

	if (p + 8 <= len) {
		memcpy(&v, s + p, sizeof(v));
		return (be64toh(v));
	}
	for (i = 0; p + i < len; i++)
		v |= (uint64_t)(unsigned char)s[p + i] << (56 - 8 * i);
	return (v);
}

/* Loads the key of k from byte off of its line. */
static void
load_key(struct sortkey *k, size_t off)
{
	k->hi = load8(k->s, k->len, off);
	k->lo = load8(k->s, k->len, off + 8);
}

void
sortkey_text(struct sortkey *k, const char *s, size_t len, uint32_t aux)
{
	k->s = s;
	k->len = (uint32_t)len;
	k->aux = aux;
	load_key(k, 0);
}

/* Byte d (0-15) of an item's key. */
static unsigned
key_byte(const struct sortkey *k, int d)
{
	if (d < 8)
		return ((unsigned)(k->hi >> (56 - 8 * d)) & 0xff);
	return ((unsigned)(k->lo >> (120 - 8 * d)) & 0xff);
}

/*
 * Order of two items whose keys hold bytes off..off+15 of their lines.
 * Text goes on past the key only when the key did not reach the end of
 * the lines (its last byte is not padding).
 */
static int
cmp(const struct sortkey *x, const struct sortkey *y, size_t off,
    enum sortkey_mode mode)
{
	size_t	p = off + 16, m;
	int	c;

	if (x->hi != y->hi)
		return (x->hi < y->hi ? -1 : 1);
	if (x->lo != y->lo)
		return (x->lo < y->lo ? -1 : 1);
	if (mode == SORTKEY_TEXT && (x->lo & 0xff) != 0) {
		/* Both lines are at least p long: their byte p-1 is not 0. */
		m = x->len < y->len ? x->len : y->len;
		if ((c = memcmp(x->s + p, y->s + p, m - p)) != 0)
			return (c);
		if (x->len != y->len)
			return (x->len < y->len ? -1 : 1);
	}
	if (x->aux != y->aux)
		return (x->aux < y->aux ? -1 : 1);
	return (0);
}

/* Insertion sort of a small group. */
static void
insertion(struct sortkey *a, size_t n, size_t off, enum sortkey_mode mode)
{
	struct sortkey	t;
	size_t		i, j;

	for (i = 1; i < n; i++) {
		t = a[i];
		for (j = i; j > 0 && cmp(&t, &a[j - 1], off, mode) < 0; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

static int
by_aux(const void *a, const void *b)
{
	const struct sortkey	*x = a, *y = b;

	if (x->aux != y->aux)
		return (x->aux < y->aux ? -1 : 1);
	return (0);
}

/* A group of equal keys (and equal lines): only aux orders it. */
static void
sort_equal(struct sortkey *a, size_t n)
{
	if (n <= SORTKEY_SMALL)
		insertion(a, n, 0, SORTKEY_FIXED);	/* keys equal: aux */
	else
		qsort(a, n, sizeof(*a), by_aux);
}

/* Counts the items of a[0..n) by key byte d; returns the fullest byte. */
static unsigned
count_bytes(const struct sortkey *a, size_t n, int d, size_t cnt[256])
{
	size_t		i;
	unsigned	b, big = 0;

	memset(cnt, 0, 256 * sizeof(*cnt));
	for (i = 0; i < n; i++) {
		b = key_byte(&a[i], d);
		/* Kept up here: a pass over 256 counts costs a small group. */
		if (++cnt[b] > cnt[big])
			big = b;
	}
	return (big);
}

/*
 * The first key byte, d or after, on which a[0..n) do not all agree; 16
 * when they agree on the whole key.  One pass skips a shared prefix
 * ("www.", "2001:db8:") instead of one counting pass per byte.
 */
static int
first_diff(const struct sortkey *a, size_t n, int d)
{
	struct sortkey	x = { 0 };
	size_t		i;

	for (i = 1; i < n; i++) {
		x.hi |= a[i].hi ^ a[0].hi;
		x.lo |= a[i].lo ^ a[0].lo;
	}
	while (d < 16 && key_byte(&x, d) == 0)
		d++;
	return (d);
}

/* Moves a[0..n) into bucket order of key byte d, through tmp. */
static void
scatter(struct sortkey *a, struct sortkey *tmp, size_t n, int d,
    const size_t cnt[256])
{
	size_t		next[256], sum = 0, i;
	unsigned	b;

	for (b = 0; b < 256; b++) {
		next[b] = sum;
		sum += cnt[b];
	}
	for (i = 0; i < n; i++)
		tmp[next[key_byte(&a[i], d)]++] = a[i];
	memcpy(a, tmp, n * sizeof(*a));
}

/*
 * The next 16 bytes for a group whose keys agree in all 16: 1 when there
 * are more (text not ended), else 0 (the group is one key, repeated).
 */
static int
next_key(struct sortkey *a, size_t n, size_t off, enum sortkey_mode mode)
{
	size_t	i;

	if (mode == SORTKEY_FIXED || (a[0].lo & 0xff) == 0)
		return (0);
	for (i = 0; i < n; i++)
		load_key(&a[i], off);
	return (1);
}

/* Sorts the buckets of key byte d but big, which the caller goes on with. */
static void
sort_buckets(struct sorter *so, size_t first, const size_t cnt[256],
    unsigned big, int d, size_t off)
{
	unsigned	b;

	for (b = 0; b < 256; first += cnt[b], b++) {
		if (b == big || cnt[b] < 2)
			continue;
		/* A text line that ended here equals its whole bucket. */
		if (b == 0 && so->mode == SORTKEY_TEXT)
			sort_equal(so->a + first, cnt[b]);
		else
			sort_group(so, first, cnt[b], d + 1, off);
	}
}

/*
 * Sorts a[first..first+n), whose keys hold bytes off.. of their lines
 * and agree before key byte d.  Every bucket but the fullest is sorted
 * by a call, the fullest by the loop: a call then has at most half the
 * items of its caller, so the stack stays within log2(n) frames.
 */
static void
sort_group(struct sorter *so, size_t first, size_t n, int d, size_t off)
{
	size_t		cnt[256], start, b;
	unsigned	big;

	for (;;) {
		if (n <= SORTKEY_SMALL) {
			insertion(so->a + first, n, off, so->mode);
			return;
		}
		if (d == 16) {
			off += 16;
			if (!next_key(so->a + first, n, off, so->mode)) {
				sort_equal(so->a + first, n);
				return;
			}
			d = 0;
		}
		big = count_bytes(so->a + first, n, d, cnt);
		/* A text line that ended here equals all the others. */
		if (big == 0 && so->mode == SORTKEY_TEXT && cnt[0] == n) {
			sort_equal(so->a + first, n);
			return;
		}
		if (cnt[big] == n) {
			d = first_diff(so->a + first, n, d);
			continue;
		}
		scatter(so->a + first, so->tmp, n, d, cnt);
		sort_buckets(so, first, cnt, big, d, off);
		if (big == 0 && so->mode == SORTKEY_TEXT) {
			sort_equal(so->a + first, cnt[0]);
			return;
		}
		for (start = 0, b = 0; b < big; b++)
			start += cnt[b];
		first += start;
		n = cnt[big];
		d++;
	}
}

int
sortkey_sort(struct sortkey *a, size_t n, enum sortkey_mode mode)
{
	struct sorter	so;

	if (n <= SORTKEY_SMALL) {
		insertion(a, n, 0, mode);
		return (0);
	}
	if ((so.tmp = reallocarray(NULL, n, sizeof(*a))) == NULL)
		return (-1);
	so.a = a;
	so.mode = mode;
	sort_group(&so, 0, n, 0, 0);
	free(so.tmp);
	return (0);
}

/*
 * Four stable counting passes, one per byte of the high half: LSD radix
 * on fixed 32-bit keys needs no comparisons and no recursion.
 */
void
sortkey_sort_hi32(uint64_t *keys, uint64_t *tmp, size_t n)
{
	uint64_t	*a = keys, *b = tmp, *t;
	size_t		 count[256], i, sum, c;
	int		 shift;

	for (shift = 32; shift < 64; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(a[i] >> shift) & 255]++;
		for (i = 0, sum = 0; i < 256; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 255]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	/* An even number of passes: the result is back in keys. */
}
