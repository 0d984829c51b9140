/*
 * sortkey.h: the sort behind every feed body and drop report.  Items
 * carry the first 16 bytes of what they sort by as two big-endian
 * numbers, so a radix pass reads one byte of an item without following
 * a pointer, and most ties end inside the array.
 */
#ifndef SORTKEY_H
#define SORTKEY_H

#include <stddef.h>
#include <stdint.h>

struct sortkey {
	uint64_t	 hi;	/* key bytes 0-7, big-endian */
	uint64_t	 lo;	/* key bytes 8-15 */
	const char	*s;	/* the line: text keys are read from it */
	uint32_t	 len;	/* bytes of s */
	uint32_t	 aux;	/* the last tie-break, ascending */
};

enum sortkey_mode {
	SORTKEY_TEXT,	/* order of s bytewise (no NUL inside), then aux */
	SORTKEY_FIXED	/* order of hi, lo, then aux; s is not read */
};

/* Sets k to sort the text s[0..len) (no NUL inside), ties by aux. */
void	sortkey_text(struct sortkey *k, const char *s, size_t len,
	    uint32_t aux);
/* Sorts n items in place; -1 on allocation failure (a unchanged). */
int	sortkey_sort(struct sortkey *a, size_t n, enum sortkey_mode);
/*
 * Sorts n keys by their high 32 bits (an IPv4 address over an index in
 * the low bits), stable; tmp is room for n keys.
 */
void	sortkey_sort_hi32(uint64_t *keys, uint64_t *tmp, size_t n);

#endif
