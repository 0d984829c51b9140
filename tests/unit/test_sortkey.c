/*
 * test_sortkey.c: the radix sort behind feeds and drop reports, against
 * qsort() with a plain comparator, on sets large enough to take every
 * path: shared prefixes longer than a key, repeated lines, lines that
 * end inside a key, high bytes, ties broken by aux, fixed keys.
 */
#include <stdlib.h>
#include <string.h>

#include "sortkey.h"
#include "tap.h"

#define NLINES	20000

/* Bytewise order of lines, then aux: what SORTKEY_TEXT promises. */
static int
by_line(const void *a, const void *b)
{
	const struct sortkey	*x = a, *y = b;
	size_t			 m = x->len < y->len ? x->len : y->len;
	int			 c;

	if ((c = memcmp(x->s, y->s, m)) != 0)
		return (c);
	if (x->len != y->len)
		return (x->len < y->len ? -1 : 1);
	return (x->aux < y->aux ? -1 : x->aux > y->aux);
}

/* hi, lo, then aux: what SORTKEY_FIXED promises. */
static int
by_fixed(const void *a, const void *b)
{
	const struct sortkey	*x = a, *y = b;

	if (x->hi != y->hi)
		return (x->hi < y->hi ? -1 : 1);
	if (x->lo != y->lo)
		return (x->lo < y->lo ? -1 : 1);
	return (x->aux < y->aux ? -1 : x->aux > y->aux);
}

/* One random line: a few shapes that share long prefixes. */
static size_t
make_line(char *p, unsigned r)
{
	static const char	*pre[] = { "", "*.", "www.example.com/",
				    "www.example.com/a/very/long/path/",
				    "\xc3\xa9t\xc3\xa9.", "2001:db8::" };
	size_t			 n = strlen(pre[r % 6]), i, tail = r / 6 % 40;

	memcpy(p, pre[r % 6], n);
	for (i = 0; i < tail; i++)
		p[n + i] = (char)(" .-/az09\x7f\x80\xff"[(r >> (i % 16)) % 11]);
	return (n + tail);
}

/* 1 when a and b list the same lines and aux in the same order. */
static int
same(const struct sortkey *a, const struct sortkey *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (a[i].len != b[i].len || a[i].aux != b[i].aux ||
		    memcmp(a[i].s, b[i].s, a[i].len) != 0)
			return (0);
	return (1);
}

/* Sorts n random lines (drawn from a pool of pool) both ways. */
static int
text_case(size_t n, unsigned pool, unsigned seed)
{
	struct sortkey	*a = calloc(n, sizeof(*a)), *b = calloc(n, sizeof(*b));
	char		*text = malloc(n * 128);
	size_t		 i, len;
	int		 rv = 0;

	if (a == NULL || b == NULL || text == NULL)
		goto out;
	srand(seed);
	for (i = 0; i < n; i++) {
		len = make_line(text + i * 128, (unsigned)rand() % pool *
		    2654435761u);
		sortkey_text(&a[i], text + i * 128, len,
		    (uint32_t)rand() % 3);
	}
	memcpy(b, a, n * sizeof(*a));
	qsort(b, n, sizeof(*b), by_line);
	rv = sortkey_sort(a, n, SORTKEY_TEXT) == 0 && same(a, b, n);
 out:
	free(a);
	free(b);
	free(text);
	return (rv);
}

/* Sorts n random fixed keys, many sharing their top bytes, both ways. */
static int
fixed_case(size_t n, unsigned seed)
{
	struct sortkey	*a = calloc(n, sizeof(*a)), *b = calloc(n, sizeof(*b));
	size_t		 i;
	int		 rv = 0;

	if (a == NULL || b == NULL)
		goto out;
	srand(seed);
	for (i = 0; i < n; i++) {
		a[i].hi = (uint64_t)0x20010db8 << 32 | (unsigned)rand() % 4;
		a[i].lo = (uint64_t)((unsigned)rand() % 1000) << 40;
		a[i].aux = (uint32_t)rand() % 2;
		a[i].s = "";
	}
	memcpy(b, a, n * sizeof(*a));
	qsort(b, n, sizeof(*b), by_fixed);
	if (sortkey_sort(a, n, SORTKEY_FIXED) != 0)
		goto out;
	for (rv = 1, i = 0; i < n; i++)
		if (by_fixed(&a[i], &b[i]) != 0)
			rv = 0;
 out:
	free(a);
	free(b);
	return (rv);
}

/* By high 32 bits, then (for a stable sort's reference) low 32 bits. */
static int
by_hi32(const void *x, const void *y)
{
	uint64_t	a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a < b ? -1 : a > b);
}

/*
 * sortkey_sort_hi32 against qsort: keys whose low halves rise with their
 * place, as an index does, so the stable order is the numeric one.
 */
static int
hi32_case(size_t n, unsigned seed)
{
	uint64_t	*a, *b, *tmp;
	size_t		 i;
	int		 rv = 0;

	a = calloc(n + 1, sizeof(*a));
	b = calloc(n + 1, sizeof(*b));
	tmp = calloc(n + 1, sizeof(*tmp));
	if (a == NULL || b == NULL || tmp == NULL)
		goto out;
	srand(seed);
	for (i = 0; i < n; i++)
		/* Few distinct addresses: many ties the index must order. */
		a[i] = b[i] = (uint64_t)((unsigned)rand() % 5000 *
		    2654435761u) << 32 | i;
	qsort(b, n, sizeof(*b), by_hi32);
	sortkey_sort_hi32(a, tmp, n);
	rv = n == 0 || memcmp(a, b, n * sizeof(*a)) == 0;
 out:
	free(a);
	free(b);
	free(tmp);
	return (rv);
}

int
main(void)
{
	struct sortkey	k;

	sortkey_text(&k, "abcdefghijklmnopq", 17, 7);
	IS(k.hi, 0x6162636465666768ULL, "a text key holds bytes 0-7");
	IS(k.lo, 0x696a6b6c6d6e6f70ULL, "and bytes 8-15");
	sortkey_text(&k, "ab", 2, 0);
	IS(k.hi, 0x6162000000000000ULL, "a short line pads with zeros");
	OK(text_case(10, 1000000, 1), "ten lines: insertion only");
	OK(text_case(NLINES, 1000000, 2), "mostly distinct lines");
	OK(text_case(NLINES, 300, 3), "many repeated lines, ties by aux");
	OK(text_case(NLINES, 7, 4), "a few lines, each repeated thousands");
	OK(fixed_case(NLINES, 5), "fixed keys with shared top bytes");
	OK(fixed_case(0, 6), "no items");
	OK(hi32_case(NLINES, 7), "IPv4 keys: by address, ties by index");
	OK(hi32_case(0, 8), "IPv4 keys: none");
	return (tap_done());
}
