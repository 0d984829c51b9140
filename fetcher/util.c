/*
 * util.c: allocation, byte buffers, time, atomic files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if (n == 0)
		fatalx("%s: zero size", __func__);
	if ((p = malloc(n)) == NULL)
		fatal("%s", __func__);
	return (p);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("%s: zero size", __func__);
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("%s", __func__);
	return (p);
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("%s: zero size", __func__);
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("%s: overflow", __func__);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal("%s", __func__);
	return (p);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("%s", __func__);
	return (p);
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("%s", __func__);
	return (p);
}

/* Makes room for extra more bytes plus a NUL; -1 on allocation failure. */
int
buf_reserve(struct buf *b, size_t extra)
{
	size_t	 need, cap;
	char	*p;

	if (extra > SIZE_MAX - b->len - 1)
		return (-1);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return (0);
	/* The bytes are always NUL-terminated, even when empty. */
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return (-1);
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return (0);
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return (-1);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

int
buf_addstr(struct buf *b, const char *s)
{
	return (buf_add(b, s, strlen(s)));
}

int
buf_addch(struct buf *b, char c)
{
	return (buf_add(b, &c, 1));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return (0);
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
buf_release(struct buf *b, size_t *lenp)
{
	char	*p = b->data;

	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return (p);
}

int64_t
time_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no timegm quirks). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + (int64_t)doe - 719468);
}

/* Reads exactly n digits; -1 if any is missing. */
static int
digits(const char **sp, int n)
{
	int	v = 0;

	while (n-- > 0) {
		if (**sp < '0' || **sp > '9')
			return (-1);
		v = v * 10 + (**sp - '0');
		(*sp)++;
	}
	return (v);
}

int
time_parse_iso(const char *s, int64_t *msp)
{
	int	y, mo, d, h, mi, se, ms = 0, scale = 100;

	if ((y = digits(&s, 4)) < 0 || *s++ != '-' ||
	    (mo = digits(&s, 2)) < 1 || mo > 12 || *s++ != '-' ||
	    (d = digits(&s, 2)) < 1 || d > 31 || (*s != 'T' && *s != 't'))
		return (-1);
	s++;
	if ((h = digits(&s, 2)) < 0 || h > 23 || *s++ != ':' ||
	    (mi = digits(&s, 2)) < 0 || mi > 59 || *s++ != ':' ||
	    (se = digits(&s, 2)) < 0 || se > 60)
		return (-1);
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return (-1);
		/* Any precision is accepted; digits past milliseconds drop. */
		for (; *s >= '0' && *s <= '9'; s++) {
			ms += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if ((*s != 'Z' && *s != 'z') || s[1] != '\0')
		return (-1);
	*msp = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    se) * 1000) + ms;
	return (0);
}

void
time_format_iso(int64_t ms, char *dst, size_t dstsz)
{
	time_t		t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int		frac = (int)(ms - (int64_t)t * 1000);
	struct tm	tm;
	char		tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(dst, dstsz, "%s.%03dZ", tmp, frac);
}

void
time_format_http(time_t t, char *dst, size_t dstsz)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mn[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	tm;

	/* Built by hand: strftime's names follow the locale. */
	gmtime_r(&t, &tm);
	snprintf(dst, dstsz, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wd[tm.tm_wday], tm.tm_mday, mn[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
time_parse_http(const char *s, time_t *tp)
{
	static const char	mn[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char			mon[4], wd[4];
	int			d, y, h, mi, se, m;
	const char		*p;

	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &d, mon, &y,
	    &h, &mi, &se) != 7)
		return (-1);
	if ((p = strstr(mn, mon)) == NULL || (p - mn) % 3 != 0)
		return (-1);
	m = (int)(p - mn) / 3 + 1;
	if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
		return (-1);
	*tp = (time_t)(days_from_civil(y, m, d) * 86400 + h * 3600 +
	    mi * 60 + se);
	return (0);
}

/* fsyncs the directory holding path, so a rename survives a crash. */
static int
sync_parent_dir(const char *path)
{
	char	 dir[PATH_MAX];
	char	*slash;
	int	 fd, rv;

	if (strlen(path) >= sizeof(dir))
		return (-1);
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rv = fsync(fd);
	close(fd);
	return (rv);
}

int
file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	char		 tmp[PATH_MAX];
	const char	*p = data;
	ssize_t		 n;
	int		 fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return (-1);
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return (sync_parent_dir(path));
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return (-1);
}

int
file_read_all(const char *path, size_t max, char **datap, size_t *lenp)
{
	struct buf	b = { 0 };
	char		chunk[8192];
	ssize_t		n;
	int		fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			errno = EFBIG;
			goto fail;
		}
		if (buf_add(&b, chunk, (size_t)n) == -1)
			goto fail;
	}
	close(fd);
	if (buf_reserve(&b, 0) == -1) {
		errno = ENOMEM;
		buf_free(&b);
		return (-1);
	}
	*datap = buf_release(&b, lenp);
	return (0);
 fail:
	saved = errno;
	close(fd);
	buf_free(&b);
	errno = saved;
	return (-1);
}
