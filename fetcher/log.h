/*
 * log.h: the OpenBSD logging contract.
 *
 * log_warn appends strerror(errno), log_warnx does not; log_debug prints
 * only at verbosity 2 or more, log_info at 1 or more (the daemon starts
 * at 1); fatal/fatalx end the process and are for startup and broken
 * invariants only.  Every function saves and restores errno.  Callers
 * pass untrusted text through log_escape() first.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_ATTR(f, a)	__attribute__((__format__(printf, f, a)))

void	log_init(const char *procname, int verbose);
int	log_open_file(const char *path);
void	log_reopen(void);
int	log_getverbose(void);
void	log_setverbose(int);
void	log_warn(const char *, ...) LOG_ATTR(1, 2);
void	log_warnx(const char *, ...) LOG_ATTR(1, 2);
void	log_info(const char *, ...) LOG_ATTR(1, 2);
void	log_debug(const char *, ...) LOG_ATTR(1, 2);
void	fatal(const char *, ...) LOG_ATTR(1, 2) __attribute__((__noreturn__));
void	fatalx(const char *, ...) LOG_ATTR(1, 2) __attribute__((__noreturn__));

/* Escapes untrusted bytes into dst (always NUL-terminated); see log.c. */
size_t	log_escape(char *dst, size_t dstsz, const char *src, size_t len);

#endif
