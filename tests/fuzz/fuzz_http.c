/*
 * fuzz_http.c: raw request bytes into the feed server, in-process.  The
 * server runs inline on a private base bound to 127.0.0.1:0; each input
 * is written on a fresh loopback connection, the write side is closed,
 * and the loop runs until the server has closed the connection.  Checks:
 * no crash or sanitizer report, an answer or a close within 5 seconds,
 * and any answer starts with an HTTP status line.
 *
 * The first byte picks a frame for the rest of the input: none (raw
 * bytes), or a request around it so that the fuzzed part is the headers,
 * the Basic credentials, the target or the method.  libevent's own
 * parser is not instrumented: this spares the fuzzer finding HTTP/1.1
 * on its own.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "http.h"
#include "ioc.h"
#include "log.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

#define FUZZ_MAX_INPUT	(64 * 1024)

/* What goes around the input, picked by its first byte. */
static const struct {
	const char	*before;
	const char	*after;
} frames[] = {
	{ "", "" },
	{ "GET /feeds/ip HTTP/1.1\r\nHost: x\r\n", "\r\n\r\n" },
	{ "GET /feeds/secret HTTP/1.1\r\nAuthorization: Basic ",
	    "\r\n\r\n" },
	{ "GET ", " HTTP/1.1\r\n\r\n" },
	{ "", " /feeds/ip HTTP/1.1\r\n\r\n" },
};
#define NFRAMES	(sizeof(frames) / sizeof(frames[0]))

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct client {
	int			 fd;
	const uint8_t		*data;
	size_t			 len;
	size_t			 off;
	char			 head[8];
	size_t			 got;
	int			 done;
	int			 timed_out;
	struct event		*wev;
};

static struct event_base	*base;
static struct http		*srv;
static int			 port;

/* A snapshot of n generated lines (n large enough for gzip). */
static struct snapshot *
fuzz_snap(int n)
{
	struct buf	b = { 0 };
	size_t		drops[IOC_NREASONS] = { 0 };
	size_t		len;
	char		*body;
	int		i;

	for (i = 0; i < n; i++)
		buf_printf(&b, "192.0.2.%d\n", i % 250 + 1);
	body = buf_release(&b, &len);
	drops[IOC_INVALID] = 1;
	return (snap_new(body, len, strdup("bad\\x01\tinvalid\n"), 15,
	    (size_t)n, (size_t)n, drops, 1700000000));
}

/* Writes an auth file with user "u", password "p" (cheap sha-crypt). */
static void
fuzz_htpasswd(const char *path)
{
	struct crypt_data	 cd;
	FILE			*f;

	memset(&cd, 0, sizeof(cd));
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fprintf(f, "u:%s\n", crypt_r("p", "$5$rounds=1000$fuzz$", &cd));
	fclose(f);
}

/* The server, once per process. */
static void
fuzz_setup(void)
{
	static char		 host[] = "127.0.0.1", n_ip[] = "ip",
				 n_sec[] = "secret", n_pend[] = "pending",
				 user[] = "u";
	static char		*users[] = { user };
	static char		 pwpath[] = "/tmp/fuzz_http.htpasswd.XXXXXX";
	static struct conf_listen ls;
	static struct conf_feed	 feeds[3];
	static struct conf	 c;
	struct site		*site;
	int			 fd;

	signal(SIGPIPE, SIG_IGN);
	log_init("fuzz_http", 0);
	if ((fd = mkstemp(pwpath)) == -1)
		abort();
	close(fd);
	fuzz_htpasswd(pwpath);
	ls.host = host;
	feeds[0].name = n_ip;
	feeds[0].type = FEED_IP;
	feeds[1].name = n_sec;
	feeds[1].type = FEED_URL;
	feeds[1].users.v = users;
	feeds[1].users.n = 1;
	feeds[2].name = n_pend;
	feeds[2].type = FEED_DOMAIN;
	c.listens = &ls;
	c.nlistens = 1;
	c.threads = 0;
	c.access_log = 1;
	c.auth_file = pwpath;
	c.resync = 3600;
	c.feeds = feeds;
	c.nfeeds = 3;
	if ((base = event_base_new()) == NULL)
		abort();
	site = site_new(&c);
	site_feed_publish(&site->feeds[0], fuzz_snap(500));
	site_feed_publish(&site->feeds[1], fuzz_snap(3));
	if ((srv = http_new(base, &c, site)) == NULL)
		abort();
	site_unref(site);
	port = http_port(srv);
	unlink(pwpath);		/* read already */
}

/* Writes the input, then half-closes; the server sees EOF after it. */
static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct client	*cl = arg;
	ssize_t		 n;

	while (cl->off < cl->len) {
		n = write(fd, cl->data + cl->off, cl->len - cl->off);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;	/* reset by the server: fine */
		cl->off += (size_t)n;
	}
	cl->off = cl->len;
	shutdown(fd, SHUT_WR);
	event_del(cl->wev);
}

/* Reads the answer until the server closes. */
static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client	*cl = arg;
	char		 buf[16384];
	ssize_t		 n;
	size_t		 k;

	if (what & EV_TIMEOUT) {
		cl->timed_out = 1;
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (k = 0; cl->got + k < sizeof(cl->head) &&
		    k < (size_t)n; k++)
			cl->head[cl->got + k] = buf[k];
		cl->got += (size_t)n;
	}
	if (n == 0 || (n == -1 && errno != EAGAIN))
		cl->done = 1;
}

static int
fuzz_connect(void)
{
	struct sockaddr_in	sin;
	struct linger		lg = { 1, 0 };
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Abortive close: no TIME_WAIT, so ephemeral ports never run out. */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1) {
		perror("fuzz_http: socket");
		abort();
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		abort();
	/*
	 * Completes in the loop (the first write event); EINTR too, as
	 * libFuzzer's timer signal may interrupt it.
	 */
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		perror("fuzz_http: connect");
		abort();
	}
	return (fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client	 cl;
	struct event	*rev;
	struct timeval	 limit = { 5, 0 };
	struct buf	 in = { 0 };

	if (srv == NULL)
		fuzz_setup();
	if (size == 0 || size > FUZZ_MAX_INPUT)
		return (0);
	if (buf_addstr(&in, frames[data[0] % NFRAMES].before) == -1 ||
	    buf_add(&in, data + 1, size - 1) == -1 ||
	    buf_addstr(&in, frames[data[0] % NFRAMES].after) == -1)
		abort();
	memset(&cl, 0, sizeof(cl));
	cl.fd = fuzz_connect();
	cl.data = (const uint8_t *)in.data;
	cl.len = in.len;
	cl.wev = event_new(base, cl.fd, EV_WRITE | EV_PERSIST, on_write, &cl);
	rev = event_new(base, cl.fd, EV_READ | EV_PERSIST, on_read, &cl);
	if (cl.wev == NULL || rev == NULL)
		abort();
	event_add(cl.wev, NULL);
	event_add(rev, &limit);
	while (!cl.done && !cl.timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	if (cl.timed_out) {
		fprintf(stderr, "server neither answered nor closed\n");
		abort();
	}
	if (cl.got > 0 && (cl.got < 5 || memcmp(cl.head, "HTTP/", 5) != 0)) {
		fprintf(stderr, "answer without a status line\n");
		abort();
	}
	event_free(cl.wev);
	event_free(rev);
	close(cl.fd);
	buf_free(&in);
	return (0);
}
