/*
 * test_notify.c: the service manager notifications (feed/notify.c),
 * received on a datagram socket of our own, as the service manager
 * would receive them.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "tap.h"

#define FLOOD	5000	/* messages sent to a reader that never reads */

static char	dir[] = "/tmp/test_notify.XXXXXX";
static char	sockpath[sizeof(dir) + 16];

/* Binds a datagram socket at name ("@x": abstract); -1 on failure. */
static int
listen_at(const char *name)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	socklen_t		len;
	int			fd;

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memcpy(sun.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	if (bind(fd, (struct sockaddr *)&sun, len) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Receives one datagram as a string, waiting at most a second. */
static const char *
receive(int fd)
{
	static char	msg[1024];
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	ssize_t		n;

	if (poll(&pfd, 1, 1000) != 1)
		return ("(nothing)");
	if ((n = recv(fd, msg, sizeof(msg) - 1, 0)) == -1)
		return ("(recv failed)");
	msg[n] = '\0';
	return (msg);
}

/* 1 when nothing is waiting on fd. */
static int
quiet(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return (poll(&pfd, 1, 50) == 0);
}

static unsigned long long
mono_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* Without NOTIFY_SOCKET, or with an empty one, nothing is sent. */
static void
test_noop(int fd)
{
	unsetenv("NOTIFY_SOCKET");
	IS(notify_ready(), 0, "no NOTIFY_SOCKET: ready is a no-op");
	IS(notify_status("x %d", 1), 0, "no NOTIFY_SOCKET: status too");
	IS(notify_reloading(), 0, "no NOTIFY_SOCKET: reloading too");
	IS(notify_stopping(), 0, "no NOTIFY_SOCKET: stopping too");
	setenv("NOTIFY_SOCKET", "", 1);
	IS(notify_ready(), 0, "empty NOTIFY_SOCKET: a no-op");
	OK(quiet(fd), "nothing was received");
}

/* The four messages, through a socket in the file system. */
static void
test_messages(int fd)
{
	unsigned long long	 before, after, v;
	const char		*m;
	char			*end;

	setenv("NOTIFY_SOCKET", sockpath, 1);
	IS(notify_ready(), 1, "ready sent");
	STR(receive(fd), "READY=1", "READY=1 received");
	IS(notify_stopping(), 1, "stopping sent");
	STR(receive(fd), "STOPPING=1", "STOPPING=1 received");
	IS(notify_status("serving %d feeds; last sync %s", 3,
	    "2024-05-01T10:00:00Z"), 1, "status sent");
	STR(receive(fd), "STATUS=serving 3 feeds; last sync "
	    "2024-05-01T10:00:00Z", "STATUS= received, formatted");

	before = mono_usec();
	IS(notify_reloading(), 1, "reloading sent");
	after = mono_usec();
	m = receive(fd);
	OK(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
	    "RELOADING=1 then MONOTONIC_USEC=");
	errno = 0;
	v = strtoull(m + 27, &end, 10);
	OK(errno == 0 && end != m + 27 && *end == '\0',
	    "MONOTONIC_USEC is a plain number");
	OK(v >= before && v <= after, "MONOTONIC_USEC is the monotonic clock");
}

/* Status text cannot add lines, and is cut to a bound, whole characters. */
static void
test_status_text(int fd)
{
	char		 big[NOTIFY_STATUS_MAX + 64], want[sizeof(big) + 16];
	const char	*m;

	setenv("NOTIFY_SOCKET", sockpath, 1);
	notify_status("bad\nREADY=1\tx\r%c", 0x7f);
	STR(receive(fd), "STATUS=bad READY=1 x  ",
	    "control characters in the status become spaces");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	notify_status("%s", big);
	m = receive(fd);
	IS(strlen(m), 7 + NOTIFY_STATUS_MAX, "a long status is cut");

	/* Two-byte character across the bound: left out whole. */
	memset(big, 'a', NOTIFY_STATUS_MAX - 1);
	strcpy(big + NOTIFY_STATUS_MAX - 1, "\xc3\xa9");
	notify_status("%s", big);
	IS(strlen(receive(fd)), 7 + NOTIFY_STATUS_MAX - 1,
	    "a cut two-byte character is dropped");

	/* The same character just inside the bound stays. */
	memset(big, 'a', NOTIFY_STATUS_MAX - 2);
	strcpy(big + NOTIFY_STATUS_MAX - 2, "\xc3\xa9");
	snprintf(want, sizeof(want), "STATUS=%s", big);
	notify_status("%s", big);
	STR(receive(fd), want, "a whole two-byte character at the end stays");

	/* Three-byte character with two of its bytes inside the bound. */
	memset(big, 'a', NOTIFY_STATUS_MAX - 2);
	strcpy(big + NOTIFY_STATUS_MAX - 2, "\xe2\x82\xac");
	notify_status("%s", big);
	IS(strlen(receive(fd)), 7 + NOTIFY_STATUS_MAX - 2,
	    "a cut three-byte character is dropped");
}

/* "@name" is a socket in the abstract namespace. */
static void
test_abstract(void)
{
	char	name[64];
	int	fd;

	snprintf(name, sizeof(name), "@test_notify/%ld", (long)getpid());
	if ((fd = listen_at(name)) == -1) {
		OK(0, "bind an abstract socket");
		return;
	}
	setenv("NOTIFY_SOCKET", name, 1);
	IS(notify_ready(), 1, "abstract socket: ready sent");
	STR(receive(fd), "READY=1", "abstract socket: READY=1 received");
	IS(notify_status("one"), 1, "abstract socket: status sent");
	STR(receive(fd), "STATUS=one", "abstract socket: STATUS= received");
	close(fd);
}

/* Unusable addresses fail quietly and leave errno alone. */
static void
test_bad_addresses(void)
{
	char	path[512], gone[sizeof(dir) + 16];

	snprintf(gone, sizeof(gone), "%s/gone", dir);
	setenv("NOTIFY_SOCKET", gone, 1);
	errno = EINTR;
	IS(notify_ready(), -1, "no socket at the path: -1");
	IS(errno, EINTR, "errno is left as it was");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	IS(notify_ready(), -1, "a relative path is refused");
	setenv("NOTIFY_SOCKET", "@", 1);
	IS(notify_ready(), -1, "an empty abstract name is refused");
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	setenv("NOTIFY_SOCKET", path, 1);
	IS(notify_ready(), -1, "a path longer than sun_path is refused");
	path[0] = '@';
	setenv("NOTIFY_SOCKET", path, 1);
	IS(notify_ready(), -1, "an abstract name longer than sun_path too");
}

/*
 * A reader that never reads: sending must fail, not wait.  The alarm
 * ends the test (as a failure) if a send ever blocks.
 */
static void
test_never_blocks(int fd)
{
	int	i, sent = 0, failed = 0, small = 4096;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setenv("NOTIFY_SOCKET", sockpath, 1);
	alarm(30);
	for (i = 0; i < FLOOD; i++) {
		if (notify_status("flood %d", i) == 1)
			sent++;
		else
			failed++;
	}
	alarm(0);
	OK(sent > 0, "a flood: the first messages are sent");
	OK(failed > 0, "a flood: a full queue fails instead of blocking");
}

int
main(void)
{
	int	fd;

	log_init("test_notify", 0);
	if (mkdtemp(dir) == NULL) {
		OK(0, "mkdtemp");
		return (tap_done());
	}
	snprintf(sockpath, sizeof(sockpath), "%s/notify", dir);
	if ((fd = listen_at(sockpath)) == -1) {
		OK(0, "bind the notification socket");
		rmdir(dir);
		return (tap_done());
	}
	test_noop(fd);
	test_messages(fd);
	test_status_text(fd);
	test_abstract();
	test_bad_addresses();
	test_never_blocks(fd);
	close(fd);
	unlink(sockpath);
	rmdir(dir);
	return (tap_done());
}
