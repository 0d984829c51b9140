/*
 * util.h: small helpers both sides need: allocation that dies on failure
 * (startup and config code only), a growable byte buffer, UTC time
 * parsing and formatting, and atomic file replacement.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/* A growable byte buffer; the owner frees data with buf_free(). */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

int	 buf_reserve(struct buf *, size_t extra);
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_addstr(struct buf *, const char *);
int	 buf_addch(struct buf *, char);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	 buf_free(struct buf *);
/* Hands the bytes to the caller (who frees them) and empties the buffer. */
char	*buf_release(struct buf *, size_t *lenp);

/* Milliseconds since the epoch, UTC. */
int64_t	 time_now_ms(void);
/* Parses ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff...]Z"; -1 on error. */
int	 time_parse_iso(const char *, int64_t *msp);
/* Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into dst (at least 25 bytes). */
void	 time_format_iso(int64_t ms, char *dst, size_t dstsz);
/* Formats seconds as an RFC 9110 IMF-fixdate (at least 30 bytes). */
void	 time_format_http(time_t, char *dst, size_t dstsz);
/* Parses an IMF-fixdate; -1 on error. */
int	 time_parse_http(const char *, time_t *);

/*
 * Replaces path with the given bytes atomically: a temporary file in the
 * same directory, fsync, rename, then fsync of the directory.  mode is the
 * new file's permission.  Returns 0, or -1 with errno set and the old
 * file untouched.
 */
int	 file_write_atomic(const char *path, const void *, size_t, int mode);
/* Reads a whole file of at most max bytes; caller frees.  -1 on error. */
int	 file_read_all(const char *path, size_t max, char **datap,
	    size_t *lenp);

#endif
