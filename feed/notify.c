/*
 * notify.c: readiness and status messages to the service manager
 * (sd_notify(3)).  The protocol is one datagram per message, sent to the
 * AF_UNIX socket in $NOTIFY_SOCKET; a leading '@' names a socket in the
 * abstract namespace, where the first byte of the address is NUL.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static int	notify_addr(struct sockaddr_un *, socklen_t *);
static int	notify_send(const char *, size_t);
static size_t	utf8_cut(const char *, size_t);

/*
 * Fills in the address from $NOTIFY_SOCKET.  Returns 1, 0 when the
 * variable is unset or empty, -1 when it names no usable AF_UNIX socket.
 */
static int
notify_addr(struct sockaddr_un *sun, socklen_t *lenp)
{
	const char	*name;
	size_t		 len;

	if ((name = getenv("NOTIFY_SOCKET")) == NULL || *name == '\0')
		return (0);
	len = strlen(name);
	/* A path needs room for its NUL; an abstract name does not. */
	if (len < 2 || (name[0] != '/' && name[0] != '@') ||
	    len > sizeof(sun->sun_path) ||
	    (name[0] == '/' && len == sizeof(sun->sun_path)))
		return (-1);
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, name, len);
	if (name[0] == '@') {
		/* Abstract: the length counts the name exactly, no NUL. */
		sun->sun_path[0] = '\0';
		*lenp = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len);
	} else
		*lenp = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len + 1);
	return (1);
}

/* Sends one message as one datagram, without waiting for room. */
static int
notify_send(const char *msg, size_t len)
{
	struct sockaddr_un	sun;
	socklen_t		slen;
	ssize_t			n;
	int			fd, rv, saved = errno;

	if ((rv = notify_addr(&sun, &slen)) == 0)
		return (0);
	if (rv == -1) {
		log_debug("notify: NOTIFY_SOCKET is not a usable address");
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_debug("notify: socket: %s", strerror(errno));
		errno = saved;
		return (-1);
	}
	/*
	 * MSG_DONTWAIT: a service manager that does not read its queue
	 * must not stall the event loop; the message is lost instead.
	 */
	n = sendto(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, slen);
	if (n == -1)
		log_debug("notify: %s: %s", getenv("NOTIFY_SOCKET"),
		    strerror(errno));
	close(fd);
	errno = saved;
	return (n == (ssize_t)len ? 1 : -1);
}

int
notify_ready(void)
{
	return (notify_send("READY=1", strlen("READY=1")));
}

int
notify_stopping(void)
{
	return (notify_send("STOPPING=1", strlen("STOPPING=1")));
}

/* RELOADING=1 with the monotonic time, as the reload protocol asks. */
int
notify_reloading(void)
{
	struct timespec	ts;
	char		msg[64];
	int		n;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (notify_send("RELOADING=1", strlen("RELOADING=1")));
	n = snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	return (notify_send(msg, (size_t)n));
}

/*
 * The length of s[0..len) without a UTF-8 sequence cut short at its
 * end, so a truncated status stays valid text.
 */
static size_t
utf8_cut(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = len, need;

	/* Back over continuation bytes (at most three) to a lead byte. */
	while (i > 0 && len - i < 3 && (u[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || u[i - 1] < 0xc0)
		return (len);
	need = u[i - 1] >= 0xf0 ? 4 : u[i - 1] >= 0xe0 ? 3 : 2;
	return (len - (i - 1) < need ? i - 1 : len);
}

/* STATUS= with the formatted text, made one line and bounded. */
int
notify_status(const char *fmt, ...)
{
	char	msg[sizeof("STATUS=") - 1 + NOTIFY_STATUS_MAX + 1];
	char	*text = msg + sizeof("STATUS=") - 1;
	size_t	len, i;
	va_list	ap;
	int	n, saved = errno;

	memcpy(msg, "STATUS=", sizeof("STATUS=") - 1);
	va_start(ap, fmt);
	n = vsnprintf(text, NOTIFY_STATUS_MAX + 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = saved;
		return (-1);
	}
	len = strlen(text);
	if ((size_t)n > len)
		len = utf8_cut(text, len);
	text[len] = '\0';
	/* A newline would start a new NAME=VALUE line: READY=1, say. */
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = ' ';
	return (notify_send(msg, (size_t)(text - msg) + len));
}
