/*
 * log.c: logging to stderr (journald under systemd) or to a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char	*log_procname = "lumu-edl";
static int		 log_verbose = 1;
static FILE		*log_file;	/* NULL: stderr */
static char		*log_path;

static void	vlog(const char *, const char *, va_list, int)
		    LOG_ATTR(2, 0);

/* Sets the program name and verbosity; logging goes to stderr. */
void
log_init(const char *procname, int verbose)
{
	log_procname = procname;
	log_verbose = verbose;
}

/* Sends log lines to a file (appending) instead of stderr. */
int
log_open_file(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "a")) == NULL)
		return (-1);
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file != NULL)
		fclose(log_file);
	log_file = f;
	free(log_path);
	log_path = strdup(path);
	return (0);
}

/* Reopens the log file after rotation (SIGUSR1). */
void
log_reopen(void)
{
	char	*path;

	if (log_path == NULL)
		return;
	/* log_open_file frees log_path, so keep our own copy. */
	if ((path = strdup(log_path)) == NULL)
		return;
	if (log_open_file(path) == -1)
		log_warn("%s: %s", __func__, path);
	free(path);
}

int
log_getverbose(void)
{
	return (log_verbose);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

/* Formats one line with a level tag; a log file also gets a timestamp. */
static void
vlog(const char *level, const char *fmt, va_list ap, int with_errno)
{
	char		 msg[2048];
	int		 saved = errno;
	FILE		*out = log_file != NULL ? log_file : stderr;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_file != NULL) {
		char		ts[32];
		time_t		now = time(NULL);
		struct tm	tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(out, "%s ", ts);
	}
	if (with_errno)
		fprintf(out, "%s: %s%s: %s\n", log_procname, level, msg,
		    strerror(saved));
	else
		fprintf(out, "%s: %s%s\n", log_procname, level, msg);
	fflush(out);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

/*
 * Escapes bytes so that any value stays on one line and is plain ASCII:
 * backslash, tab, LF and CR as \\ \t \n \r, other bytes outside 0x21..0x7e
 * (space included) as \xHH.  Output is cut short rather than overflowing.
 * Returns the length written.
 */
size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0;
	char			 tmp[4];
	size_t			 n;

	if (dstsz == 0)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)src[i];

		n = 0;
		switch (c) {
		case '\\': tmp[n++] = '\\'; tmp[n++] = '\\'; break;
		case '\t': tmp[n++] = '\\'; tmp[n++] = 't'; break;
		case '\n': tmp[n++] = '\\'; tmp[n++] = 'n'; break;
		case '\r': tmp[n++] = '\\'; tmp[n++] = 'r'; break;
		default:
			if (c > 0x20 && c < 0x7f)
				tmp[n++] = (char)c;
			else {
				tmp[n++] = '\\';
				tmp[n++] = 'x';
				tmp[n++] = hex[c >> 4];
				tmp[n++] = hex[c & 0xf];
			}
		}
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return (o);
}
