/*
 * test_http.c: the feed server in-process on 127.0.0.1:0, driven by a
 * plain-socket client (and an OpenSSL one for the TLS listener).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include <cJSON.h>

#include "conf.h"
#include "http.h"
#include "http_int.h"
#include "ioc.h"
#include "log.h"
#include "site.h"
#include "snapshot.h"
#include "util.h"

#include "tap.h"

#define REALM	"Basic realm=\"lumu-edl\", charset=\"UTF-8\""
#define ODD	"x<b>&\""
#define SMALL	"small.example\n"	/* 14 bytes */
#define DEADLINE_MS	1000	/* http_request_timeout_ms in test_deadline */
#define MARGIN_MS	1500	/* allowed past it on a loaded machine */

struct resp {
	int	 status;
	char	*raw;		/* everything read, NUL-terminated */
	size_t	 rawlen;
	char	*head;		/* into raw: status line and headers */
	char	*body;		/* into raw */
	size_t	 bodylen;
};

const char	*__tsan_default_suppressions(void);

static char	 tmpdir[PATH_MAX - 64];
static char	 pwpath[PATH_MAX];
static char	 pw2path[PATH_MAX];
static char	*ip_body;
static size_t	 ip_len;

/*
 * Read by ThreadSanitizer, when built with it.  The serving threads' bases
 * use libevent's epoll changelist, which applies the EPOLL_CTL_DEL of a
 * connection closed during a loop pass at the end of that pass: by then
 * another serving thread may have accepted a socket under the same fd
 * number.  The DEL then fails with ENOENT on the first thread's epoll set,
 * which never held that socket, and libevent ignores it; ThreadSanitizer
 * sees one fd number used by two threads and reports a race.
 */
const char *
__tsan_default_suppressions(void)
{
	return ("race:epoll_ctl\n");
}

/* Reads until EOF (or a reset) with a deadline; returns bytes read. */
static size_t
read_all(int fd, char **out)
{
	struct buf	b = { 0 };
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		chunk[16384];
	ssize_t		n;

	for (;;) {
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			break;
		if (buf_add(&b, chunk, (size_t)n) == -1)
			break;
	}
	buf_add(&b, "", 0);
	*out = b.data;
	return (b.len);
}

/* Splits raw into status, head and body. */
static void
resp_parse(struct resp *r)
{
	char	*sep;

	r->status = 0;
	r->head = r->raw;
	r->body = r->raw + r->rawlen;
	r->bodylen = 0;
	if (r->rawlen < 12 || strncmp(r->raw, "HTTP/1.", 7) != 0)
		return;
	r->status = atoi(r->raw + 9);
	if ((sep = strstr(r->raw, "\r\n\r\n")) != NULL) {
		*sep = '\0';
		r->body = sep + 4;
		r->bodylen = r->rawlen - (size_t)(r->body - r->raw);
	}
}

static void
resp_free(struct resp *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* Connects to host:port (IPv4 or IPv6 literal); -1 on failure. */
static int
dial(const char *host, int port)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	int			fd;

	if (strchr(host, ':') != NULL) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((unsigned short)port);
		inet_pton(AF_INET6, host, &sin6.sin6_addr);
		if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
			return (-1);
		if (connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0)
			return (fd);
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		inet_pton(AF_INET, host, &sin.sin_addr);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return (-1);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return (fd);
	}
	close(fd);
	return (-1);
}

/* Sends raw request bytes and reads the whole answer. */
static int
exchange_at(const char *host, int port, const char *req, size_t len,
    struct resp *r)
{
	int	fd;
	size_t	off = 0;
	ssize_t	n;

	memset(r, 0, sizeof(*r));
	if ((fd = dial(host, port)) == -1)
		return (-1);
	while (off < len) {
		if ((n = write(fd, req + off, len - off)) <= 0)
			break;
		off += (size_t)n;
	}
	r->rawlen = read_all(fd, &r->raw);
	close(fd);
	resp_parse(r);
	return (0);
}

static int
exchange(int port, const char *req, struct resp *r)
{
	return (exchange_at("127.0.0.1", port, req, strlen(req), r));
}

/* METHOD path HTTP/1.1 with extra header lines (each ending in CRLF). */
static int
request(int port, const char *method, const char *path, const char *extra,
    struct resp *r)
{
	char	req[16384];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\n"
	    "Connection: close\r\n%s\r\n", method, path, extra ? extra : "");
	return (exchange(port, req, r));
}

/* The value of a header of r (first of that name), or NULL. */
static const char *
hdr(const struct resp *r, const char *name)
{
	static char	 val[4096];
	const char	*p = r->head;
	size_t		 n = strlen(name), len;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			len = strcspn(p, "\r");
			if (len >= sizeof(val))
				len = sizeof(val) - 1;
			memcpy(val, p, len);
			val[len] = '\0';
			return (val);
		}
	}
	return (NULL);
}

/* 1 when header name of r equals want (NULL: absent). */
static int
hdr_is(const struct resp *r, const char *name, const char *want)
{
	const char	*v = hdr(r, name);

	if (want == NULL)
		return (v == NULL);
	return (v != NULL && strcmp(v, want) == 0);
}

/* "Authorization: Basic ...\r\n" for user:pass. */
static void
basic(char *dst, size_t dstsz, const char *user, const char *pass)
{
	unsigned char	plain[512];
	unsigned char	enc[700];	/* base64 of plain, NUL-ended */
	int		n;

	n = snprintf((char *)plain, sizeof(plain), "%s:%s", user, pass);
	EVP_EncodeBlock(enc, plain, n);
	snprintf(dst, dstsz, "Authorization: Basic %s\r\n", enc);
}

static struct snapshot *
mk_snap(const char *body, const char *dropped, size_t entries, time_t lm)
{
	size_t	drops[IOC_NREASONS] = { 0 };

	drops[IOC_ALLOWLISTED] = 2;
	drops[IOC_INVALID] = 1;
	return (snap_new(strdup(body), strlen(body),
	    dropped ? strdup(dropped) : NULL, dropped ? strlen(dropped) : 0,
	    entries, entries, drops, lm));
}

/* A 1000-line ip feed: big enough to be gzipped. */
static void
make_ip_body(void)
{
	struct buf	b = { 0 };
	int		i;

	for (i = 0; i < 1000; i++)
		buf_printf(&b, "198.51.%d.%d\n", i / 250, i % 250 + 1);
	ip_body = buf_release(&b, &ip_len);
}

/* Writes the auth file: alice (sha512, password with colons), bob
 * (bcrypt), carol (not a user of any feed), and optionally dave. */
static void
write_htpasswd(int with_dave)
{
	struct crypt_data	cd;
	char			salt[CRYPT_GENSALT_OUTPUT_SIZE];
	FILE			*f;

	f = fopen(pwpath, "w");
	memset(&cd, 0, sizeof(cd));
	fprintf(f, "# test users\n\nalice:%s\n",
	    crypt_r("pa:ss:word", "$6$saltsalt$", &cd));
	crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt));
	fprintf(f, "bob:%s\r\n", crypt_r("bobpw", salt, &cd));
	fprintf(f, "malformed line\ncarol:%s\n",
	    crypt_r("carolpw", "$5$rounds=1000$abc$", &cd));
	if (with_dave)
		fprintf(f, "dave:%s\n", crypt_r("davepw", "$6$x$", &cd));
	fclose(f);
}

static char	 s_host[] = "127.0.0.1";
static char	 s_ip[] = "ip", s_small[] = "small", s_secret[] = "secret",
		 s_pending[] = "pending", s_odd[] = ODD;
static char	 s_alice[] = "alice", s_bob[] = "bob";
static char	*secret_users[] = { s_alice, s_bob };

static void
base_conf(struct conf *c, struct conf_listen *ls, struct conf_feed *feeds)
{
	memset(c, 0, sizeof(*c));
	memset(ls, 0, sizeof(*ls));
	ls->host = s_host;
	c->listens = ls;
	c->nlistens = 1;
	c->threads = 2;
	c->access_log = 1;
	c->auth_file = pwpath;
	c->resync = 3600;
	memset(feeds, 0, 5 * sizeof(*feeds));
	feeds[0].name = s_ip;
	feeds[0].type = FEED_IP;
	feeds[1].name = s_small;
	feeds[1].type = FEED_DOMAIN;
	feeds[2].name = s_secret;
	feeds[2].type = FEED_URL;
	feeds[2].users.v = secret_users;
	feeds[2].users.n = 2;
	feeds[3].name = s_pending;
	feeds[3].type = FEED_IP;
	feeds[4].name = s_odd;
	feeds[4].type = FEED_DOMAIN;
	c->feeds = feeds;
	c->nfeeds = 5;
}

/* 200, body, and every feed header. */
static void
test_feed(int port, struct snapshot *s)
{
	struct resp	r;
	char		lm[64], len[32];

	time_format_http(s->last_modified, lm, sizeof(lm));
	snprintf(len, sizeof(len), "%zu", s->len);
	request(port, "GET", "/feeds/ip", NULL, &r);
	IS(r.status, 200, "GET /feeds/ip is 200");
	OK(r.bodylen == ip_len && memcmp(r.body, ip_body, ip_len) == 0,
	    "GET /feeds/ip returns the body");
	OK(hdr_is(&r, "Content-Type", "text/plain; charset=utf-8"),
	    "feed Content-Type");
	OK(hdr_is(&r, "Content-Length", len), "feed Content-Length");
	OK(hdr_is(&r, "ETag", s->etag), "feed ETag is the snapshot's");
	OK(strlen(s->etag) == 34 && s->etag[0] == '"', "ETag is quoted hex");
	OK(hdr_is(&r, "Last-Modified", lm), "feed Last-Modified");
	OK(hdr_is(&r, "Cache-Control", "max-age=60"), "feed Cache-Control");
	OK(hdr_is(&r, "Vary", "Accept-Encoding"), "feed Vary");
	OK(hdr_is(&r, "Content-Encoding", NULL), "no Content-Encoding");
	resp_free(&r);

	request(port, "GET", "/feeds/i%70", NULL, &r);
	IS(r.status, 200, "percent-encoded feed path is decoded");
	resp_free(&r);
}

/* If-None-Match (lists, W/, *) and If-Modified-Since. */
static void
test_conditional(int port, struct snapshot *s)
{
	struct resp	r;
	char		h[512], lm[64], early[64], late[64];

	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", s->etag);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "If-None-Match with the ETag is 304");
	IS(r.bodylen, 0, "304 has no body");
	OK(hdr_is(&r, "ETag", s->etag), "304 carries the ETag");
	OK(hdr(&r, "Last-Modified") != NULL, "304 carries Last-Modified");
	OK(hdr_is(&r, "Content-Length", NULL), "304 has no Content-Length");
	resp_free(&r);

	snprintf(h, sizeof(h), "If-None-Match: \"nope\", W/\"x\",%s\r\n",
	    s->etag);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "If-None-Match list with the ETag is 304");
	resp_free(&r);

	snprintf(h, sizeof(h), "If-None-Match: \"a\"\r\n"
	    "If-None-Match: %s\r\n", s->etag);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "If-None-Match on two lines is 304");
	resp_free(&r);

	snprintf(h, sizeof(h), "If-None-Match: W/%s\r\n", s->etag);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "weak comparison: W/ETag is 304");
	resp_free(&r);

	request(port, "GET", "/feeds/ip", "If-None-Match: *\r\n", &r);
	IS(r.status, 304, "If-None-Match: * is 304");
	resp_free(&r);

	request(port, "GET", "/feeds/ip", "If-None-Match: \"other\"\r\n", &r);
	IS(r.status, 200, "another ETag is 200");
	resp_free(&r);

	time_format_http(s->last_modified, lm, sizeof(lm));
	time_format_http(s->last_modified - 10, early, sizeof(early));
	time_format_http(s->last_modified + 10, late, sizeof(late));
	snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", lm);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "If-Modified-Since = Last-Modified is 304");
	resp_free(&r);
	snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", late);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "If-Modified-Since later is 304");
	resp_free(&r);
	snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", early);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 200, "If-Modified-Since earlier is 200");
	resp_free(&r);
	snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n"
	    "If-None-Match: \"other\"\r\n", late);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 200, "If-None-Match wins over If-Modified-Since");
	resp_free(&r);
	request(port, "GET", "/feeds/ip", "If-Modified-Since: yesterday\r\n",
	    &r);
	IS(r.status, 200, "a malformed If-Modified-Since is ignored");
	resp_free(&r);
}

/* HEAD answers exactly the GET headers, without a body. */
static void
test_head(int port)
{
	static const char *const names[] = { "Content-Type",
	    "Content-Length", "ETag", "Last-Modified", "Cache-Control",
	    "Vary", "Content-Encoding" };
	struct resp	g, h;
	char		gv[4096];
	const char	*v;
	size_t		i;
	int		same = 1;

	request(port, "GET", "/feeds/ip", "Accept-Encoding: gzip\r\n", &g);
	request(port, "HEAD", "/feeds/ip", "Accept-Encoding: gzip\r\n", &h);
	IS(h.status, 200, "HEAD /feeds/ip is 200");
	IS(h.bodylen, 0, "HEAD has no body");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = hdr(&g, names[i]);
		snprintf(gv, sizeof(gv), "%s", v ? v : "(none)");
		v = hdr(&h, names[i]);
		if (strcmp(gv, v ? v : "(none)") != 0) {
			printf("# %s: GET %s, HEAD %s\n", names[i], gv,
			    v ? v : "(none)");
			same = 0;
		}
	}
	OK(same, "HEAD headers equal GET headers");
	resp_free(&g);
	resp_free(&h);
	request(port, "HEAD", "/feeds/small", NULL, &h);
	OK(h.status == 200 && h.bodylen == 0 &&
	    hdr_is(&h, "Content-Length", "14"),
	    "HEAD of a small feed: Content-Length, no body");
	resp_free(&h);
	request(port, "HEAD", "/nope", NULL, &h);
	OK(h.status == 404 && h.bodylen == 0 &&
	    hdr(&h, "Content-Length") != NULL, "HEAD of a 404: no body");
	resp_free(&h);
}

/* Inflates gz and compares with want. */
static int
gunzip_equals(const char *gz, size_t gzlen, const char *want, size_t len)
{
	z_stream	 zs;
	char		*out = malloc(len + 16);
	int		 ok;

	memset(&zs, 0, sizeof(zs));
	if (out == NULL || inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(out);
		return (0);
	}
	zs.next_in = (Bytef *)(uintptr_t)gz;
	zs.avail_in = (uInt)gzlen;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)len + 16;
	ok = inflate(&zs, Z_FINISH) == Z_STREAM_END && zs.total_out == len &&
	    memcmp(out, want, len) == 0;
	inflateEnd(&zs);
	free(out);
	return (ok);
}

static void
test_gzip(int port, struct snapshot *s)
{
	struct resp	r;
	char		gzetag[64], h[256], len[32];
	size_t		n = strlen(s->etag);

	snprintf(gzetag, sizeof(gzetag), "%.*s-gz\"", (int)(n - 1), s->etag);
	snprintf(len, sizeof(len), "%zu", s->gzlen);
	OK(s->gz != NULL && s->gzlen < s->len, "big snapshot has gzip");
	request(port, "GET", "/feeds/ip", "Accept-Encoding: gzip\r\n", &r);
	IS(r.status, 200, "gzip GET is 200");
	OK(hdr_is(&r, "Content-Encoding", "gzip"), "Content-Encoding: gzip");
	OK(hdr_is(&r, "ETag", gzetag), "gzip ETag has -gz");
	OK(hdr_is(&r, "Content-Length", len), "gzip Content-Length");
	OK(hdr_is(&r, "Vary", "Accept-Encoding"), "gzip Vary");
	OK(gunzip_equals(r.body, r.bodylen, ip_body, ip_len),
	    "gzip body inflates to the feed");
	resp_free(&r);

	request(port, "GET", "/feeds/ip", "Accept-Encoding: gzip;q=0\r\n",
	    &r);
	OK(r.status == 200 && hdr(&r, "Content-Encoding") == NULL &&
	    r.bodylen == ip_len, "gzip;q=0 gets identity");
	resp_free(&r);
	request(port, "GET", "/feeds/ip",
	    "Accept-Encoding: deflate, GZIP ; q=0.5\r\n", &r);
	OK(hdr_is(&r, "Content-Encoding", "gzip"), "gzip;q=0.5 in a list");
	resp_free(&r);
	request(port, "GET", "/feeds/ip", "Accept-Encoding: *\r\n", &r);
	OK(hdr_is(&r, "Content-Encoding", "gzip"), "* takes gzip");
	resp_free(&r);
	request(port, "GET", "/feeds/ip",
	    "Accept-Encoding: gzip;q=0.000, *\r\n", &r);
	OK(hdr(&r, "Content-Encoding") == NULL, "explicit gzip;q=0 beats *");
	resp_free(&r);
	request(port, "GET", "/feeds/ip", "Accept-Encoding: identity\r\n",
	    &r);
	OK(hdr(&r, "Content-Encoding") == NULL, "identity gets identity");
	resp_free(&r);

	snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nIf-None-Match: "
	    "%s\r\n", gzetag);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 304, "gzip ETag revalidates the gzip form");
	resp_free(&r);
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", gzetag);
	request(port, "GET", "/feeds/ip", h, &r);
	IS(r.status, 200, "gzip ETag does not match the plain form");
	resp_free(&r);

	request(port, "GET", "/feeds/small", "Accept-Encoding: gzip\r\n", &r);
	OK(r.status == 200 && hdr(&r, "Content-Encoding") == NULL,
	    "a small feed is sent plain");
	resp_free(&r);
}

/* 404, 405, 400, 414 and 503, each with a comment-line body. */
static void
test_errors(int port)
{
	static const char *const methods[] = { "POST", "PUT", "DELETE",
	    "BREW", "OPTIONS", "PATCH" };
	static const char *const bad[] = { "/feeds/%2e%2e/x", "/feeds/ip%00",
	    "/feeds/%zz", "/feeds/../healthz", "/feeds/ip\\x" };
	static const char *const missing[] = { "/nope", "/feeds/",
	    "/feeds/ip/", "/feeds/ip/extra", "/feeds/unknown", "/FEEDS/ip" };
	struct resp	r;
	char		what[128], path[1200];
	size_t		i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		request(port, methods[i], "/feeds/ip", NULL, &r);
		snprintf(what, sizeof(what), "%s is 405 with Allow",
		    methods[i]);
		OK(r.status == 405 && hdr_is(&r, "Allow", "GET, HEAD") &&
		    r.bodylen > 0 && r.body[0] == '#', what);
		resp_free(&r);
	}
	exchange(port, "POST /feeds/ip HTTP/1.1\r\nHost: x\r\nConnection: "
	    "close\r\nContent-Length: 5\r\n\r\nhello", &r);
	IS(r.status, 405, "POST with a small body is 405");
	resp_free(&r);
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		request(port, "GET", missing[i], NULL, &r);
		snprintf(what, sizeof(what), "%s is 404", missing[i]);
		OK(r.status == 404 && r.bodylen > 0 && r.body[0] == '#' &&
		    hdr_is(&r, "Content-Type", "text/plain; charset=utf-8"),
		    what);
		resp_free(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		request(port, "GET", bad[i], NULL, &r);
		snprintf(what, sizeof(what), "%s is 400", bad[i]);
		IS(r.status, 400, what);
		resp_free(&r);
	}
	memset(path, 'a', sizeof(path));
	memcpy(path, "/feeds/", 7);
	path[sizeof(path) - 1] = '\0';
	request(port, "GET", path, NULL, &r);
	IS(r.status, 414, "a path over 1 KiB is 414");
	resp_free(&r);
	request(port, "GET", "/healthz?probe=1", NULL, &r);
	IS(r.status, 200, "the query string is ignored");
	resp_free(&r);

	request(port, "GET", "/feeds/pending", NULL, &r);
	IS(r.status, 503, "feed without a snapshot is 503");
	OK(hdr_is(&r, "Retry-After", "30"), "503 has Retry-After: 30");
	OK(r.bodylen > 0 && r.body[0] == '#' && strchr(r.body, '\n') ==
	    r.body + r.bodylen - 1, "503 body is one comment line");
	resp_free(&r);
	request(port, "GET", "/feeds/pending/dropped", NULL, &r);
	IS(r.status, 503, "dropped of a feed without a snapshot is 503");
	resp_free(&r);
}

static void
test_dropped(int port, struct snapshot *s)
{
	struct resp	r;

	request(port, "GET", "/feeds/ip/dropped", NULL, &r);
	IS(r.status, 200, "dropped is 200");
	OK(r.bodylen == s->dropped_len &&
	    memcmp(r.body, s->dropped, r.bodylen) == 0,
	    "dropped body is the snapshot's list");
	OK(hdr_is(&r, "Content-Type", "text/plain; charset=utf-8"),
	    "dropped is text/plain");
	resp_free(&r);
}

/* Open connections as /metrics reports them; -1 if not found. */
static long
metric_value(int port, const char *line_prefix)
{
	struct resp	 r;
	const char	*p;
	long		 v = -1;

	request(port, "GET", "/metrics", NULL, &r);
	if ((p = strstr(r.body, line_prefix)) != NULL)
		v = strtol(p + strlen(line_prefix), NULL, 10);
	resp_free(&r);
	return (v);
}

/* Every line is a HELP/TYPE comment or "name{labels} value". */
static int
metrics_well_formed(const char *body)
{
	const char	*p = body, *nl, *sp;

	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			return (0);
		if (strncmp(p, "# HELP lumu_edl_", 16) == 0 ||
		    strncmp(p, "# TYPE lumu_edl_", 16) == 0)
			continue;
		if (strncmp(p, "lumu_edl_", 9) != 0)
			return (0);
		if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL ||
		    strspn(sp + 1, "0123456789.") != (size_t)(nl - sp - 1))
			return (0);
	}
	return (1);
}

static void
test_metrics(int port)
{
	struct resp	r;
	long		nm;

	request(port, "GET", "/metrics", NULL, &r);
	IS(r.status, 200, "/metrics is 200");
	OK(hdr_is(&r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8"),
	    "/metrics Content-Type is the 0.0.4 exposition");
	OK(metrics_well_formed(r.body), "/metrics lines are well formed");
	OK(strstr(r.body, "# TYPE lumu_edl_feed_entries gauge\n") != NULL,
	    "/metrics has TYPE lines");
	OK(strstr(r.body, "\nlumu_edl_feed_entries{feed=\"ip\"} 1000\n") !=
	    NULL, "/metrics feed entries");
	OK(strstr(r.body, "\nlumu_edl_feed_dropped{feed=\"ip\","
	    "reason=\"allowlisted\"} 2\n") != NULL,
	    "/metrics dropped by reason");
	OK(strstr(r.body, "lumu_edl_feed_bytes{feed=\"x<b>&\\\"\"}") != NULL,
	    "/metrics escapes label values");
	OK(strstr(r.body, "\nlumu_edl_http_requests_total{feed=\"ip\","
	    "code=\"200\"} ") != NULL, "/metrics requests by feed and code");
	OK(strstr(r.body, "\nlumu_edl_sync_last_success_timestamp_seconds ")
	    != NULL, "/metrics last sync success");
	OK(strstr(r.body, "\nlumu_edl_sync_errors_total 4\n") != NULL,
	    "/metrics sync errors");
	resp_free(&r);
	nm = metric_value(port, "\nlumu_edl_feed_not_modified_total{feed=\"ip"
	    "\"} ");
	OK(nm >= 8, "/metrics counts 304s");
	OK(metric_value(port, "\nlumu_edl_http_requests_total{feed=\"ip\","
	    "code=\"304\"} ") == nm, "304s by code agree with not_modified");
}

static void
test_status(int port, struct snapshot *s)
{
	struct resp	 r;
	cJSON		*root, *lumu, *ip, *pend, *v;

	request(port, "GET", "/status", NULL, &r);
	IS(r.status, 200, "/status is 200");
	OK(hdr_is(&r, "Content-Type", "application/json"),
	    "/status is JSON");
	root = cJSON_ParseWithLength(r.body, r.bodylen);
	OK(root != NULL, "/status parses");
	lumu = cJSON_GetObjectItemCaseSensitive(root, "lumu");
	v = cJSON_GetObjectItemCaseSensitive(lumu, "last_success");
	OK(cJSON_IsString(v) && strlen(v->valuestring) == 24 &&
	    v->valuestring[23] == 'Z', "last_success is ISO-8601");
	v = cJSON_GetObjectItemCaseSensitive(lumu, "last_error");
	OK(cJSON_IsString(v) && strcmp(v->valuestring,
	    "<script>alert(1)</script>") == 0, "last_error is a string");
	v = cJSON_GetObjectItemCaseSensitive(lumu, "errors");
	OK(cJSON_IsNumber(v) && v->valuedouble == 4, "lumu errors");
	ip = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "feeds"), "ip");
	v = cJSON_GetObjectItemCaseSensitive(ip, "etag");
	OK(cJSON_IsString(v) && strcmp(v->valuestring, s->etag) == 0,
	    "feeds.ip.etag");
	v = cJSON_GetObjectItemCaseSensitive(ip, "type");
	OK(cJSON_IsString(v) && strcmp(v->valuestring, "ip") == 0,
	    "feeds.ip.type");
	v = cJSON_GetObjectItemCaseSensitive(ip, "entries");
	OK(cJSON_IsNumber(v) && v->valuedouble == 1000, "feeds.ip.entries");
	v = cJSON_GetObjectItemCaseSensitive(ip, "last_modified");
	OK(cJSON_IsString(v), "feeds.ip.last_modified");
	v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(ip, "dropped"), "allowlisted");
	OK(cJSON_IsNumber(v) && v->valuedouble == 2,
	    "feeds.ip.dropped.allowlisted");
	v = cJSON_GetObjectItemCaseSensitive(ip, "requests");
	OK(cJSON_IsNumber(v) && v->valuedouble > 10, "feeds.ip.requests");
	v = cJSON_GetObjectItemCaseSensitive(ip, "not_modified");
	OK(cJSON_IsNumber(v) && v->valuedouble >= 8,
	    "feeds.ip.not_modified");
	pend = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "feeds"), "pending");
	v = cJSON_GetObjectItemCaseSensitive(pend, "entries");
	OK(cJSON_IsNumber(v) && v->valuedouble == 0, "feeds.pending.entries");
	cJSON_Delete(root);
	resp_free(&r);
}

/* The page lists the feeds with escaped names and links. */
static void
test_index(int port)
{
	struct resp	r;

	request(port, "GET", "/", NULL, &r);
	IS(r.status, 200, "/ is 200");
	OK(hdr_is(&r, "Content-Type", "text/html; charset=utf-8"),
	    "/ is HTML");
	OK(strstr(r.body, "<a href=\"feeds/ip\">feeds/ip</a>") != NULL,
	    "/ links the feeds relatively");
	OK(strstr(r.body, "feeds/x&lt;b&gt;&amp;&quot;</a>") != NULL &&
	    strstr(r.body, "href=\"feeds/x%3Cb%3E%26%22\"") != NULL,
	    "/ escapes feed names");
	OK(strstr(r.body, "&lt;script&gt;") != NULL &&
	    strstr(r.body, "<script>") == NULL, "/ escapes the sync error");
	OK(strstr(r.body, "<td class=\"n\">1000</td>") != NULL,
	    "/ shows entry counts");
	resp_free(&r);
}

static void
test_health(int port, struct site *site)
{
	struct site_sync	 sync;
	struct resp		 r;
	int64_t			 now = time_now_ms();

	request(port, "GET", "/healthz", NULL, &r);
	OK(r.status == 200 && r.bodylen == 3 && memcmp(r.body, "ok\n", 3) ==
	    0, "/healthz is 200 ok");
	resp_free(&r);
	request(port, "GET", "/readyz", NULL, &r);
	OK(r.status == 503 && strstr(r.body, "pending") != NULL,
	    "/readyz names the feed without data");
	resp_free(&r);
	site_feed_publish(site_feed_find(site, "pending"),
	    mk_snap("# no entries\n", "", 0, 1700000000));
	request(port, "GET", "/readyz", NULL, &r);
	OK(r.status == 503 && strstr(r.body, "no successful sync") != NULL,
	    "/readyz is 503 before any sync");
	resp_free(&r);
	site_sync_get(site, &sync);
	sync.last_success_ms = now;
	site_sync_set(site, &sync);
	request(port, "GET", "/readyz", NULL, &r);
	IS(r.status, 200, "/readyz is 200 after a recent sync");
	resp_free(&r);
	sync.last_success_ms = now - (3600 * 2 + 601) * 1000LL;
	site_sync_set(site, &sync);
	request(port, "GET", "/readyz", NULL, &r);
	OK(r.status == 503 && strstr(r.body, "too old") != NULL,
	    "/readyz is 503 when the last sync is too old");
	resp_free(&r);
	sync.loaded_state = 1;
	sync.started_ms = now - 1000;
	site_sync_set(site, &sync);
	request(port, "GET", "/readyz", NULL, &r);
	IS(r.status, 200, "/readyz is 200 just after a start from state");
	resp_free(&r);
	sync.started_ms = now - 3601 * 1000LL;
	site_sync_set(site, &sync);
	request(port, "GET", "/readyz", NULL, &r);
	IS(r.status, 503, "/readyz is 503 from old state");
	resp_free(&r);
	sync.loaded_state = 0;
	sync.last_success_ms = now;
	sync.errors = 4;
	snprintf(sync.last_error, sizeof(sync.last_error),
	    "<script>alert(1)</script>");
	site_sync_set(site, &sync);
}

static void
test_auth(int port)
{
	struct resp	r;
	char		h[1024];

	request(port, "GET", "/feeds/secret", NULL, &r);
	IS(r.status, 401, "protected feed without credentials is 401");
	OK(hdr_is(&r, "WWW-Authenticate", REALM), "401 has the challenge");
	OK(r.bodylen > 0 && r.body[0] == '#', "401 body is a comment");
	resp_free(&r);
	basic(h, sizeof(h), "alice", "pa:ss:word");
	request(port, "GET", "/feeds/secret", h, &r);
	OK(r.status == 200 && r.bodylen == 14,
	    "a password with colons is accepted");
	resp_free(&r);
	request(port, "GET", "/feeds/secret", h, &r);
	IS(r.status, 200, "the verdict is reused");
	resp_free(&r);
	request(port, "HEAD", "/feeds/secret", h, &r);
	OK(r.status == 200 && r.bodylen == 0, "HEAD with credentials");
	resp_free(&r);
	request(port, "GET", "/feeds/secret/dropped", h, &r);
	IS(r.status, 200, "dropped with credentials is 200");
	resp_free(&r);
	basic(h, sizeof(h), "alice", "pa:ss");
	request(port, "GET", "/feeds/secret", h, &r);
	OK(r.status == 401 && hdr_is(&r, "WWW-Authenticate", REALM),
	    "a wrong password is 401");
	resp_free(&r);
	basic(h, sizeof(h), "bob", "bobpw");
	request(port, "GET", "/feeds/secret", h, &r);
	IS(r.status, 200, "bcrypt user is accepted");
	resp_free(&r);
	basic(h, sizeof(h), "bob", "bobpx");
	request(port, "GET", "/feeds/secret", h, &r);
	IS(r.status, 401, "bcrypt user with a wrong password is 401");
	resp_free(&r);
	basic(h, sizeof(h), "carol", "carolpw");
	request(port, "GET", "/feeds/secret", h, &r);
	IS(r.status, 401, "a valid user not listed for the feed is 401");
	resp_free(&r);
	request(port, "GET", "/feeds/secret", "Authorization: Basic !!!\r\n",
	    &r);
	IS(r.status, 401, "malformed base64 is 401");
	resp_free(&r);
	request(port, "GET", "/feeds/secret", "Authorization: Bearer abc\r\n",
	    &r);
	IS(r.status, 401, "another scheme is 401");
	resp_free(&r);
	request(port, "GET", "/feeds/secret",
	    "Authorization: Basic bm9jb2xvbg==\r\n", &r);
	IS(r.status, 401, "credentials without a colon are 401");
	resp_free(&r);
	request(port, "GET", "/feeds/secret/dropped", NULL, &r);
	IS(r.status, 401, "dropped of a protected feed wants credentials");
	resp_free(&r);
	request(port, "GET", "/feeds/ip", "Authorization: Basic !!!\r\n", &r);
	IS(r.status, 200, "open feeds ignore Authorization");
	resp_free(&r);
}

/* Headers over 8 KiB are refused; pipelining and HTTP/1.0 work. */
static void
test_protocol(int port)
{
	struct resp	 r;
	char		*big, *second;
	size_t		 n = 10000;

	big = malloc(n + 128);
	snprintf(big, n + 128, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + strlen(big), 'a', n);
	big[n] = '\0';
	strcat(big, "\r\n\r\n");
	exchange(port, big, &r);
	OK(r.status == 400 || r.status == 413, "oversized headers refused");
	resp_free(&r);
	free(big);

	exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /feeds/small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    &r);
	second = strstr(r.body, "HTTP/1.1 ");
	OK(r.status == 200 && r.bodylen > 3 && memcmp(r.body, "ok\n", 3) == 0 &&
	    second == r.body + 3, "keep-alive: first reply ends at its length");
	OK(second != NULL && strncmp(second, "HTTP/1.1 200", 12) == 0 &&
	    strstr(second, "\r\n\r\n" SMALL) != NULL,
	    "keep-alive: second reply");
	resp_free(&r);

	exchange(port, "GET /feeds/small HTTP/1.0\r\n\r\n", &r);
	OK(r.status == 200 && hdr_is(&r, "Content-Length", "14") &&
	    r.bodylen == 14, "HTTP/1.0 gets Content-Length");
	resp_free(&r);
}

/* Idle connections are counted and uncounted. */
static void
test_connections(int port)
{
	int	fds[3], i, tries;
	long	n = -1;

	for (i = 0; i < 3; i++)
		fds[i] = dial("127.0.0.1", port);
	for (tries = 0; tries < 50; tries++) {
		if ((n = metric_value(port, "\nlumu_edl_http_connections ")) >=
		    4)
			break;
		usleep(20000);
	}
	IS(n, 4, "open connections are counted");
	for (i = 0; i < 3; i++)
		close(fds[i]);
	for (tries = 0; tries < 100; tries++) {
		if ((n = metric_value(port, "\nlumu_edl_http_connections ")) ==
		    1)
			break;
		usleep(20000);
	}
	IS(n, 1, "closed connections are uncounted");
}

/* A reload: feeds come and go, the auth file is read again. */
static void
test_set_site(struct http *h, int port, struct conf *c)
{
	static char	 s_new[] = "new", s_dave[] = "dave";
	static char	*dave[] = { s_dave };
	struct conf_feed feeds[2];
	struct conf	 nc = *c;
	struct conf_listen ls = c->listens[0];
	struct site	*site;
	struct resp	 r;
	char		 auth[256];

	memset(feeds, 0, sizeof(feeds));
	feeds[0] = c->feeds[0];
	feeds[1].name = s_new;
	feeds[1].type = FEED_IP;
	feeds[1].users.v = dave;
	feeds[1].users.n = 1;
	nc.feeds = feeds;
	nc.nfeeds = 2;
	ls.port = port;		/* the same listen: its socket is kept */
	nc.listens = &ls;
	site = site_new(&nc);
	site_feed_publish(&site->feeds[1], mk_snap("192.0.2.7\n", "", 1,
	    1700000500));
	write_htpasswd(1);
	OK(http_reload(h, &nc, site) == 0, "reload with a new site");
	site_unref(site);
	IS(http_port(h), port, "the port is kept");
	request(port, "GET", "/feeds/small", NULL, &r);
	IS(r.status, 404, "a feed gone after reload is 404");
	resp_free(&r);
	request(port, "GET", "/feeds/ip", NULL, &r);
	IS(r.status, 503, "a kept feed without a snapshot is 503");
	resp_free(&r);
	request(port, "GET", "/status", NULL, &r);
	OK(strstr(r.body, "\"ip\":{\"type\":\"ip\",\"ready\":false,") !=
	    NULL && strstr(r.body, "\"etag\":null") != NULL,
	    "/status shows a feed without data with a null etag");
	resp_free(&r);
	basic(auth, sizeof(auth), "dave", "davepw");
	request(port, "GET", "/feeds/new", auth, &r);
	OK(r.status == 200 && r.bodylen == 10,
	    "a new feed with a user from the re-read auth file");
	resp_free(&r);
	OK(metric_value(port, "\nlumu_edl_http_requests_total{feed=\"new\","
	    "code=\"200\"} ") == 1, "the new feed is counted");
}

/* http_close_listeners: nothing accepts any more. */
static void
test_close(struct http *h, int port)
{
	int	fd;

	http_close_listeners(h);
	fd = dial("127.0.0.1", port);
	OK(fd == -1, "no connection after http_close_listeners");
	if (fd != -1)
		close(fd);
}

static void *
run_base(void *arg)
{
	event_base_dispatch(arg);
	return (NULL);
}

/* threads = 0: the server runs on the caller's base. */
static void
test_inline(struct site *site)
{
	static char		 nofile[] = "/nonexistent/htpasswd";
	struct conf		 c;
	struct conf_listen	 ls;
	struct conf_feed	 feeds[5];
	struct event_base	*base;
	struct http		*h;
	struct site		*s2;
	struct resp		 r;
	pthread_t		 t;
	char			 auth[256];

	base_conf(&c, &ls, feeds);
	c.threads = 0;
	c.access_log = 0;
	c.auth_file = nofile;
	base = event_base_new();
	h = http_new(base, &c, site);
	OK(h != NULL, "inline server starts without its auth file");
	if (h == NULL) {
		event_base_free(base);
		return;
	}
	pthread_create(&t, NULL, run_base, base);
	request(http_port(h), "GET", "/feeds/small", NULL, &r);
	IS(r.status, 200, "inline server serves");
	resp_free(&r);
	basic(auth, sizeof(auth), "alice", "pa:ss:word");
	request(http_port(h), "GET", "/feeds/secret", auth, &r);
	OK(r.status == 503 && hdr_is(&r, "Retry-After", "30"),
	    "no auth file: 503, never 401");
	resp_free(&r);
	event_base_loopbreak(base);
	pthread_join(t, NULL);
	s2 = site_new(&c);
	ls.port = http_port(h);
	/* The same thread as the loop now. */
	OK(http_reload(h, &c, s2) == 0, "inline server reloads");
	site_unref(s2);
	http_close_listeners(h);
	http_free(h);
	event_base_free(base);
}

/* The server on [::1]:0, when the host has IPv6. */
static void
test_ipv6(struct site *site)
{
	static char		 v6[] = "::1";
	struct conf		 c;
	struct conf_listen	 ls;
	struct conf_feed	 feeds[5];
	struct http		*h;
	struct resp		 r;
	int			 fd;
	const char		 req[] = "GET /feeds/small HTTP/1.1\r\n"
				    "Host: x\r\nConnection: close\r\n\r\n";

	base_conf(&c, &ls, feeds);
	ls.host = v6;
	c.threads = 1;
	h = NULL;
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) != -1) {
		close(fd);
		h = http_new(NULL, &c, site);
	}
	if (h == NULL) {
		tap_n++;
		printf("ok %d - # SKIP no IPv6 loopback\n", tap_n);
		return;
	}
	exchange_at("::1", http_port(h), req, strlen(req), &r);
	IS(r.status, 200, "IPv6 listener serves");
	resp_free(&r);
	http_free(h);
}

static void *
stop_server(void *arg)
{
	struct http	*h = arg;

	http_close_listeners(h);
	http_free(h);
	return (NULL);
}

/* Milliseconds on the monotonic clock. */
static long long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Sends data on fd one byte every `every` ms, reading meanwhile, until
 * the server closes or 10 s have passed; r gets what was read and *ms
 * the time from the first byte to the close.  Returns 1 if the server
 * closed.
 */
static int
dribble(int fd, const char *data, int every, struct resp *r, long long *ms)
{
	struct buf	 b = { 0 };
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	long long	 start = mono_ms();
	size_t		 i = 0, len = strlen(data);
	char		 chunk[4096];
	ssize_t		 n;
	int		 closed = 0;

	while (!closed && mono_ms() - start < 10000) {
		if (i < len && write(fd, data + i++, 1) != 1)
			closed = 1;
		else if (poll(&pfd, 1, every) == 1) {
			if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
				closed = 1;
			else
				buf_add(&b, chunk, (size_t)n);
		}
	}
	*ms = mono_ms() - start;
	buf_add(&b, "", 0);
	memset(r, 0, sizeof(*r));
	r->raw = buf_release(&b, &r->rawlen);
	resp_parse(r);
	return (closed);
}

/* Reads one reply (head and Content-Length body) from a kept-alive fd. */
static void
read_reply(int fd, struct resp *r)
{
	struct buf	 b = { 0 };
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 chunk[4096], *end, *cl;
	size_t		 want = SIZE_MAX;
	ssize_t		 n;

	buf_add(&b, "", 0);
	while (b.len < want && poll(&pfd, 1, 5000) == 1 &&
	    (n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_add(&b, chunk, (size_t)n);
		if ((end = strstr(b.data, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(b.data, "\r\nContent-Length: ")) != NULL &&
		    cl < end)
			want = (size_t)(end + 4 - b.data) +
			    strtoul(cl + 18, NULL, 10);
	}
	memset(r, 0, sizeof(*r));
	r->raw = buf_release(&b, &r->rawlen);
	resp_parse(r);
}

/* Whether ms is the deadline, give or take the margin. */
static int
at_deadline(long long ms)
{
	printf("# closed after %lld ms (deadline %d ms)\n", ms, DEADLINE_MS);
	return (ms >= DEADLINE_MS - 100 && ms <= DEADLINE_MS + MARGIN_MS);
}

/*
 * A kept-alive client that pauses longer than the deadline (but far less
 * than the idle timeout) between requests is served; a request it then
 * dribbles is closed a deadline after its first byte.
 */
static void
test_deadline_keepalive(int port)
{
	const char	 req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct resp	 r;
	long long	 ms = 0;
	int		 fd, i, ok = 1;

	if ((fd = dial("127.0.0.1", port)) == -1) {
		OK(0, "deadline: kept-alive client connects");
		return;
	}
	for (i = 0; i < 3; i++) {
		if (i > 0)
			usleep(DEADLINE_MS * 1300);
		if (write(fd, req, sizeof(req) - 1) != sizeof(req) - 1)
			ok = 0;
		read_reply(fd, &r);
		ok = ok && r.status == 200 && r.bodylen == 3 &&
		    memcmp(r.body, "ok\n", 3) == 0;
		resp_free(&r);
	}
	OK(ok, "deadline: three requests on one connection, 1.3 deadlines "
	    "apart, all answered");
	usleep(DEADLINE_MS * 500);
	OK(dribble(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    100, &r, &ms) && r.rawlen == 0 && at_deadline(ms),
	    "deadline: a dribbled next request on a kept-alive connection is "
	    "closed a deadline after its first byte");
	resp_free(&r);
	close(fd);
}

/* A server for c whose request deadline is DEADLINE_MS, or NULL. */
static struct http *
deadline_server(struct conf *c, struct site *site)
{
	struct http	*h;
	int		 saved = http_request_timeout_ms;

	/* Read once, as each serving thread is set up. */
	http_request_timeout_ms = DEADLINE_MS;
	h = http_new(NULL, c, site);
	http_request_timeout_ms = saved;
	return (h);
}

/*
 * The request deadline, shortened to DEADLINE_MS: a client that dribbles
 * its headers (a byte per 100 ms, which the read timeout alone never
 * ends) or sends nothing is closed once it passes, and counted; a slow
 * but timely one is served.
 */
static void
test_deadline(struct site *site)
{
	struct conf		 c;
	struct conf_listen	 ls;
	struct conf_feed	 feeds[5];
	struct http		*h;
	struct resp		 r;
	long long		 ms = 0;
	int			 fd, port;

	base_conf(&c, &ls, feeds);
	c.threads = 1;
	c.access_log = 0;
	h = deadline_server(&c, site);
	OK(h != NULL, "deadline: server starts");
	if (h == NULL)
		return;
	port = http_port(h);
	fd = dial("127.0.0.1", port);
	OK(dribble(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    100, &r, &ms) && r.rawlen == 0 && at_deadline(ms),
	    "deadline: headers dribbled a byte per 100 ms are closed at the "
	    "deadline, without a reply");
	resp_free(&r);
	close(fd);
	fd = dial("127.0.0.1", port);
	OK(dribble(fd, "", 100, &r, &ms) && r.rawlen == 0 && at_deadline(ms),
	    "deadline: a connection that sends nothing is closed at the "
	    "deadline");
	resp_free(&r);
	close(fd);
	IS(metric_value(port, "\nlumu_edl_http_request_timeouts_total "), 2,
	    "deadline: both are counted in /metrics");
	fd = dial("127.0.0.1", port);
	/* 52 bytes, about 0.1 s: well inside even under a sanitizer. */
	OK(dribble(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n", 2, &r, &ms) && r.status == 200 &&
	    ms < DEADLINE_MS, "deadline: a request sent a byte per 2 ms "
	    "within the deadline is answered");
	resp_free(&r);
	close(fd);
	request(port, "GET", "/feeds/small", NULL, &r);
	OK(r.status == 200 && r.bodylen == 14, "deadline: a plain request is "
	    "answered");
	resp_free(&r);
	test_deadline_keepalive(port);
	IS(metric_value(port, "\nlumu_edl_http_request_timeouts_total "), 3,
	    "deadline: served clients are not counted, the dribbler is");
	http_free(h);
}

/*
 * A one-thread server (no access log) whose ip feed is 400,000 lines,
 * 5.6 MB: a reply that takes many writes.  *lenp is the feed's length.
 */
static struct http *
big_feed_server(struct conf *c, struct conf_listen *ls,
    struct conf_feed *feeds, struct site **sitep, size_t *lenp)
{
	struct buf	 b = { 0 };
	char		*big;
	int		 i;

	for (i = 0; i < 400000; i++)
		buf_printf(&b, "198.%d.%d.%d\n", i >> 16, (i >> 8) & 255,
		    i & 255);
	big = buf_release(&b, lenp);
	base_conf(c, ls, feeds);
	c->threads = 1;
	c->access_log = 0;
	*sitep = site_new(c);
	site_feed_publish(site_feed_find(*sitep, "ip"), snap_new(big, *lenp,
	    NULL, 0, 400000, 400000, NULL, 1700000000));
	return (http_new(NULL, c, *sitep));
}

/*
 * Asks port for /feeds/ip and reads the reply's first bytes into head
 * (*n1 of them, 0 on failure): the rest is still to come.  The fd.
 */
static int
big_get(int port, char *head, size_t headsz, ssize_t *n1)
{
	const char	req[] = "GET /feeds/ip HTTP/1.1\r\nHost: x\r\n\r\n";
	int		fd = dial("127.0.0.1", port);

	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
	    (*n1 = read(fd, head, headsz)) <= 0)
		*n1 = 0;
	return (fd);
}

/* A reply in flight when the server stops is still sent in full. */
static void
test_drain(void)
{
	struct conf		 c;
	struct conf_listen	 ls;
	struct conf_feed	 feeds[5];
	struct site		*site;
	struct http		*h;
	struct buf		 b = { 0 };
	struct resp		 r;
	pthread_t		 t;
	char			 head[4096], *rest;
	size_t			 len, got;
	ssize_t			 n1;
	int			 fd;

	h = big_feed_server(&c, &ls, feeds, &site, &len);
	fd = big_get(http_port(h), head, sizeof(head), &n1);
	/* The reply is now partly sent; stop the server meanwhile. */
	pthread_create(&t, NULL, stop_server, h);
	usleep(200000);
	got = read_all(fd, &rest);
	close(fd);
	pthread_join(t, NULL);
	memset(&r, 0, sizeof(r));
	buf_add(&b, head, (size_t)n1);
	buf_add(&b, rest, got);
	buf_add(&b, "", 0);
	free(rest);
	r.raw = buf_release(&b, &r.rawlen);
	resp_parse(&r);
	OK(r.status == 200 && r.bodylen == len,
	    "a reply in flight at stop is sent in full");
	OK(memcmp(r.body + len - 13, "198.6.26.127\n", 13) == 0,
	    "the drained reply ends with the feed's last line");
	free(r.raw);
	site_unref(site);
}

/* An HTTPS GET with a client that trusts cert; returns the status. */
static int
tls_get(int port, const char *cert, int maxver, int *version,
    char **body, size_t *bodylen)
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	struct resp	 r;
	struct buf	 b = { 0 };
	char		 chunk[16384];
	const char	 req[] = "GET /feeds/ip HTTP/1.1\r\nHost: localhost\r\n"
			    "Connection: close\r\n\r\n";
	int		 fd, n, status = -1;

	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, cert, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (maxver != 0) {
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, 0);
		SSL_CTX_set_max_proto_version(ctx, maxver);
	}
	ssl = SSL_new(ctx);
	SSL_set1_host(ssl, "localhost");
	if ((fd = dial("127.0.0.1", port)) == -1)
		goto out;
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, req, sizeof(req) - 1) > 0) {
		*version = SSL_version(ssl);
		while ((n = SSL_read(ssl, chunk, sizeof(chunk))) > 0)
			buf_add(&b, chunk, (size_t)n);
		buf_add(&b, "", 0);
		memset(&r, 0, sizeof(r));
		r.raw = buf_release(&b, &r.rawlen);
		resp_parse(&r);
		status = r.status;
		*bodylen = r.bodylen;
		*body = malloc(r.bodylen + 1);
		memcpy(*body, r.body, r.bodylen);
		resp_free(&r);
	}
	close(fd);
 out:
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (status);
}

/* A TLS listener with a certificate made now by the openssl command. */
static void
test_tls(struct site *site)
{
	struct conf		 c;
	struct conf_listen	 ls;
	struct conf_feed	 feeds[5];
	struct http		*h;
	struct resp		 r;
	char			 cert[PATH_MAX + 16], key[PATH_MAX + 16];
	char			 cmd[3 * PATH_MAX], *body = NULL;
	size_t			 bodylen = 0;
	long long		 ms = 0;
	int			 version = 0, i, fd;

	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost -keyout %s -out %s "
	    ">/dev/null 2>&1", key, cert);
	if (system("command -v openssl >/dev/null 2>&1") != 0 ||
	    system(cmd) != 0) {
		for (i = 0; i < 8; i++) {
			tap_n++;
			printf("ok %d - # SKIP openssl command missing\n",
			    tap_n);
		}
		return;
	}
	base_conf(&c, &ls, feeds);
	ls.tls = 1;
	c.threads = 1;
	c.tls_certificate = cert;
	c.tls_key = key;
	/* Every client here but the stalled one is done in a few ms. */
	h = deadline_server(&c, site);
	OK(h != NULL, "TLS server starts");
	if (h == NULL)
		return;
	OK(tls_get(http_port(h), cert, 0, &version, &body, &bodylen) == 200 &&
	    bodylen == 12 && memcmp(body, "203.0.113.9\n", 12) == 0,
	    "HTTPS GET returns the feed");
	OK(version >= TLS1_2_VERSION, "TLS 1.2 or later");
	free(body);
	body = NULL;
	OK(tls_get(http_port(h), cert, TLS1_1_VERSION, &version, &body,
	    &bodylen) == -1, "TLS 1.1 is refused");
	free(body);
	body = NULL;
	request(http_port(h), "GET", "/feeds/ip", NULL, &r);
	OK(r.status == 0, "plain HTTP on the TLS port gets no reply");
	resp_free(&r);
	/* Four bytes of a TLS record header, then nothing. */
	fd = dial("127.0.0.1", http_port(h));
	OK(dribble(fd, "\x16\x03\x01\x02", 100, &r, &ms) &&
	    r.rawlen == 0 && at_deadline(ms), "a TLS handshake that stalls "
	    "is closed at the request deadline");
	resp_free(&r);
	close(fd);
	ls.port = http_port(h);
	OK(http_reload(h, &c, site) == 0, "a reload reads the certificate "
	    "again");
	OK(tls_get(http_port(h), cert, 0, &version, &body, &bodylen) == 200,
	    "HTTPS after a reload");
	free(body);
	http_free(h);
}

/* Makes a self-signed certificate for localhost; -1 without openssl. */
static int
make_cert(const char *name, char *cert, char *key, size_t sz)
{
	char	cmd[3 * PATH_MAX];

	snprintf(cert, sz, "%s/%s.crt", tmpdir, name);
	snprintf(key, sz, "%s/%s.key", tmpdir, name);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost -keyout %s -out %s "
	    ">/dev/null 2>&1", key, cert);
	if (system("command -v openssl >/dev/null 2>&1") != 0 ||
	    system(cmd) != 0)
		return (-1);
	return (0);
}

/* The status of a GET with Connection: close; 0 when none came. */
static int
get_status(int port, const char *path, const char *extra)
{
	struct resp	r;
	int		status;

	request(port, "GET", path, extra, &r);
	status = r.status;
	resp_free(&r);
	return (status);
}

/* 1 when a GET /healthz on the kept-alive connection fd is answered. */
static int
ka_get(int fd)
{
	const char	req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct resp	r;
	int		ok;

	if (fd == -1 || write(fd, req, sizeof(req) - 1) != sizeof(req) - 1)
		return (0);
	read_reply(fd, &r);
	ok = r.status == 200 && r.bodylen == 3;
	resp_free(&r);
	return (ok);
}

/* 1 when the server closes fd within 5 s, without a byte. */
static int
peer_closed(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		c;

	return (fd != -1 && poll(&pfd, 1, 5000) == 1 && read(fd, &c, 1) <= 0);
}

/* A socket of this test listening on 127.0.0.1; *port gets its port. */
static int
hold_port(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	*port = ntohs(sin.sin_port);
	return (fd);
}

/*
 * Reloaded listens: an added one answers, a removed one refuses and its
 * idle kept-alive connection is closed, an unchanged one keeps its
 * kept-alive connection; a port in use refuses the whole reload.
 */
static void
test_reload_listens(struct http *h, struct conf *nc, struct site *site)
{
	struct conf_listen	*nls = nc->listens;
	int			 a = http_port(h), b, held, heldport = 0;
	int			 ka, kb, fd;

	ka = dial("127.0.0.1", a);
	OK(ka_get(ka), "reload: a kept-alive connection on listen A");
	nls[0].port = 0;
	nls[1].port = a;
	nc->nlistens = 2;
	OK(http_reload(h, nc, site) == 0, "reload: adding listen B succeeds");
	b = http_port(h);
	OK(b > 0 && b != a && get_status(b, "/feeds/small", NULL) == 200,
	    "reload: the added listen B answers");
	OK(ka_get(ka), "reload: A's kept-alive connection still works");
	IS(get_status(a, "/feeds/small", NULL), 200,
	    "reload: A still accepts");
	kb = dial("127.0.0.1", b);
	OK(ka_get(kb), "reload: a kept-alive connection on B");
	nls[0].port = b;
	nc->nlistens = 1;
	OK(http_reload(h, nc, site) == 0, "reload: removing A succeeds");
	fd = dial("127.0.0.1", a);
	OK(fd == -1, "reload: the removed listen A refuses connections");
	if (fd != -1)
		close(fd);
	OK(peer_closed(ka), "reload: A's idle kept-alive connection is "
	    "closed");
	OK(ka_get(kb), "reload: B's kept-alive connection still works");
	held = hold_port(&heldport);
	nls[1].port = heldport;
	nc->nlistens = 2;
	OK(held != -1 && http_reload(h, nc, site) == -1,
	    "reload: a listen on a port in use refuses the reload");
	OK(ka_get(kb) && get_status(b, "/feeds/small", NULL) == 200 &&
	    http_port(h) == b, "reload: the running listens keep serving");
	if (held != -1)
		close(held);
	nc->nlistens = 1;
	close(ka);
	close(kb);
}

/*
 * A TLS listen added by reload; a new certificate for new connections;
 * a bad one refuses the reload and the old stays; the tls flag of a
 * listen turned off and on, on the same port.
 */
static void
test_reload_tls(struct http *h, struct conf *nc, struct site *site)
{
	static char		 nofile[] = "/nonexistent/tls.crt";
	struct conf_listen	*nls = nc->listens;
	char			 c1[PATH_MAX], k1[PATH_MAX];
	char			 c2[PATH_MAX], k2[PATH_MAX], *body = NULL;
	size_t			 len = 0;
	int			 b = http_port(h), t, v, i;

	if (make_cert("one", c1, k1, PATH_MAX) == -1 ||
	    make_cert("two", c2, k2, PATH_MAX) == -1) {
		for (i = 0; i < 9; i++) {
			tap_n++;
			printf("ok %d - # SKIP openssl command missing\n",
			    tap_n);
		}
		return;
	}
	nls[0].port = 0;
	nls[0].tls = 1;
	nls[1].port = b;
	nc->nlistens = 2;
	nc->tls_certificate = c1;
	nc->tls_key = k1;
	OK(http_reload(h, nc, site) == 0, "reload: adding a TLS listen");
	t = http_port(h);
	OK(tls_get(t, c1, 0, &v, &body, &len) == 200,
	    "reload: the added TLS listen serves certificate one");
	free(body);
	body = NULL;
	nls[0].port = t;
	nc->tls_certificate = c2;
	nc->tls_key = k2;
	OK(http_reload(h, nc, site) == 0, "reload: certificate two");
	OK(tls_get(t, c2, 0, &v, &body, &len) == 200 &&
	    tls_get(t, c1, 0, &v, &body, &len) == -1,
	    "reload: new connections get certificate two");
	free(body);
	body = NULL;
	nc->tls_certificate = nofile;
	OK(http_reload(h, nc, site) == -1,
	    "reload: a certificate that cannot be read is refused");
	nc->tls_certificate = c1;
	OK(http_reload(h, nc, site) == -1,
	    "reload: a key that does not match the certificate is refused");
	OK(tls_get(t, c2, 0, &v, &body, &len) == 200,
	    "reload: after refusals certificate two is still served");
	free(body);
	body = NULL;
	nls[0].tls = 0;
	OK(http_reload(h, nc, site) == 0 &&
	    get_status(t, "/feeds/small", NULL) == 200 &&
	    get_status(b, "/feeds/small", NULL) == 200,
	    "reload: tls off on the same port serves plain HTTP");
	nls[0].tls = 1;
	nc->tls_certificate = c2;
	OK(http_reload(h, nc, site) == 0 &&
	    tls_get(t, c2, 0, &v, &body, &len) == 200,
	    "reload: tls on again, on the same port");
	free(body);
	nls[0].tls = 0;
	nls[0].port = b;
	nc->nlistens = 1;
	nc->tls_certificate = nc->tls_key = NULL;
	http_reload(h, nc, site);
	unlink(c1);
	unlink(k1);
	unlink(c2);
	unlink(k2);
}

/* A changed auth file is read; an unreadable one keeps the users. */
static void
test_reload_auth(struct http *h, struct conf *nc, struct site *site)
{
	static char		 nofile[] = "/nonexistent/htpasswd";
	struct crypt_data	 cd;
	FILE			*f;
	char			 newpw[256], oldpw[256];
	int			 b = http_port(h);

	memset(&cd, 0, sizeof(cd));
	if ((f = fopen(pw2path, "w")) != NULL) {
		fprintf(f, "alice:%s\n", crypt_r("newpw", "$6$other$", &cd));
		fclose(f);
	}
	basic(newpw, sizeof(newpw), "alice", "newpw");
	basic(oldpw, sizeof(oldpw), "alice", "pa:ss:word");
	nc->auth_file = pw2path;
	OK(http_reload(h, nc, site) == 0 &&
	    get_status(b, "/feeds/secret", newpw) == 200 &&
	    get_status(b, "/feeds/secret", oldpw) == 401,
	    "reload: a changed auth-file path is read");
	nc->auth_file = nofile;
	OK(http_reload(h, nc, site) == 0 &&
	    get_status(b, "/feeds/secret", newpw) == 200,
	    "reload: an unreadable auth file keeps the users read before");
	nc->auth_file = NULL;
	OK(http_reload(h, nc, site) == 0 &&
	    get_status(b, "/feeds/secret", newpw) == 503,
	    "reload: no auth-file any more: 503");
	nc->auth_file = pwpath;
	OK(http_reload(h, nc, site) == 0 &&
	    get_status(b, "/feeds/secret", oldpw) == 200,
	    "reload: back to the first auth file");
	unlink(pw2path);
}

/*
 * A reply in flight on a listen that a reload removes is sent in full,
 * then its connection is closed.
 */
static void
test_reload_inflight(void)
{
	struct conf		 c, nc;
	struct conf_listen	 ls, nls;
	struct conf_feed	 feeds[5];
	struct site		*site;
	struct http		*h;
	char			 head[4096], *rest;
	size_t			 len, got;
	ssize_t			 n1;
	int			 fd, a;

	h = big_feed_server(&c, &ls, feeds, &site, &len);
	a = http_port(h);
	fd = big_get(a, head, sizeof(head), &n1);
	nc = c;
	nls = ls;
	nc.listens = &nls;
	OK(http_reload(h, &nc, site) == 0 && http_port(h) != a,
	    "reload: the only listen replaced while a reply is in flight");
	got = read_all(fd, &rest);	/* until the server closes */
	close(fd);
	OK((size_t)n1 + got > len && got >= 13 && memcmp(rest + got - 13,
	    "198.6.26.127\n", 13) == 0, "reload: the reply in flight on the "
	    "removed listen is sent in full, then the connection closes");
	free(rest);
	http_free(h);
	site_unref(site);
}

/* Listens, certificates and auth files changed by reload. */
static void
test_reload(struct site *site)
{
	struct conf		 c, nc;
	struct conf_listen	 ls, nls[2];
	struct conf_feed	 feeds[5];
	struct http		*h;

	base_conf(&c, &ls, feeds);
	c.access_log = 0;
	h = http_new(NULL, &c, site);
	OK(h != NULL, "reload: server starts");
	if (h == NULL)
		return;
	nc = c;
	memset(nls, 0, sizeof(nls));
	nls[0].host = nls[1].host = s_host;
	nc.listens = nls;
	test_reload_listens(h, &nc, site);
	test_reload_tls(h, &nc, site);
	test_reload_auth(h, &nc, site);
	http_free(h);
	test_reload_inflight();
}

/* A new snapshot changes ETag and body at once. */
static void
test_swap(int port, struct site *site, struct snapshot *ip)
{
	struct snapshot	*ip2;
	struct resp	 r;

	ip2 = mk_snap("203.0.113.9\n", "", 1, 1700000900);
	site_feed_publish(site_feed_find(site, "ip"), snap_ref(ip2));
	request(port, "GET", "/feeds/ip", NULL, &r);
	OK(hdr_is(&r, "ETag", ip2->etag) && strcmp(ip->etag, ip2->etag) != 0,
	    "a new snapshot changes the ETag");
	OK(r.bodylen == 12 && memcmp(r.body, "203.0.113.9\n", 12) == 0,
	    "a new snapshot changes the body");
	resp_free(&r);
	snap_unref(ip2);
}

/* The site of the main server; *ipp gets a reference to the ip feed. */
static struct site *
main_site(struct conf *c, struct snapshot **ipp)
{
	struct site	*site;

	site = site_new(c);
	*ipp = mk_snap(ip_body, "10.0.0.1\tprotected\nbad\\x01\tinvalid\n",
	    1000, 1700000000);
	site_feed_publish(site_feed_find(site, "ip"), snap_ref(*ipp));
	site_feed_publish(site_feed_find(site, "small"),
	    mk_snap(SMALL, NULL, 1, 1700000100));
	site_feed_publish(site_feed_find(site, "secret"),
	    mk_snap("example.com/\n\n", NULL, 1, 1700000100));
	site_feed_publish(site_feed_find(site, ODD),
	    mk_snap("example.org\n", NULL, 1, 1700000100));
	return (site);
}

static void
cleanup_tmp(void)
{
	char	path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/cert.pem", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	unlink(path);
	unlink(pwpath);
	rmdir(tmpdir);
}

int
main(void)
{
	struct conf		 c;
	struct conf_listen	 ls;
	struct conf_feed	 feeds[5];
	struct site		*site;
	struct snapshot		*ip;
	struct http		*h;
	const char		*t = getenv("TMPDIR");
	int			 port;

	signal(SIGPIPE, SIG_IGN);
	log_init("test_http", 0);
	/* test_inline breaks a loop from this thread. */
	evthread_use_pthreads();
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_http.XXXXXX",
	    t != NULL ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(pwpath, sizeof(pwpath), "%s/htpasswd", tmpdir);
	snprintf(pw2path, sizeof(pw2path), "%s/htpasswd2", tmpdir);
	write_htpasswd(0);
	make_ip_body();

	base_conf(&c, &ls, feeds);
	site = main_site(&c, &ip);
	h = http_new(NULL, &c, site);
	OK(h != NULL, "http_new on 127.0.0.1:0 with 2 threads");
	if (h == NULL)
		return (tap_done());
	port = http_port(h);
	OK(port > 0, "http_port reads the bound port back");

	test_feed(port, ip);
	test_conditional(port, ip);
	test_head(port);
	test_gzip(port, ip);
	test_errors(port);
	test_dropped(port, ip);
	test_health(port, site);
	test_status(port, ip);
	test_metrics(port);
	test_index(port);
	test_auth(port);
	test_protocol(port);
	test_connections(port);

	test_swap(port, site, ip);

	test_inline(site);
	test_deadline(site);
	test_drain();
	test_ipv6(site);
	test_tls(site);
	test_reload(site);
	test_set_site(h, port, &c);
	test_close(h, port);
	http_free(h);
	snap_unref(ip);
	site_unref(site);
	free(ip_body);
	cleanup_tmp();
	return (tap_done());
}
