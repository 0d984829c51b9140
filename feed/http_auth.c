/*
 * http_auth.c: HTTP Basic for the feeds that name users.  The users and
 * their crypt(3) hashes come from the auth file, read at start and at
 * each reload and shared by reference between requests; each serving
 * thread keeps a small cache of verdicts so a slow hash is paid once per
 * client, not per request.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <crypt.h>

#include <event2/http.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "http_int.h"
#include "log.h"
#include "site.h"
#include "util.h"

#define HTTP_PASS_MAX		1024
#define HTTP_AUTH_MAX		2048	/* base64 credentials */
#define HTTP_REALM		"Basic realm=\"lumu-edl\", charset=\"UTF-8\""
#define PW_MAX_BYTES		(1024 * 1024)
#define PW_MAX_USERS		10000
#define AUTH_CACHE_TTL		300	/* seconds a verdict is reused */

/* The users of the auth file, shared by reference between requests. */
struct htpasswd {
	atomic_int	 refs;
	size_t		 n;
	char		**user;
	char		**hash;
};

static int	b64_value(int);
static int	b64_decode(const char *, size_t, unsigned char *, size_t,
		    size_t *);
static int	basic_parse(const char *, char *, size_t, char *, size_t);
static int	auth_key(const char *, const char *, const char *,
		    unsigned char[32]);
static int	auth_verify(struct http_worker *, const char *,
		    const char *, const char *);
static void	pw_add(struct htpasswd *, size_t *, const char *,
		    const char *);
static const char *pw_find(const struct htpasswd *, const char *);

/* Warns about feeds that want users when there is no auth file. */
void
http_check_users(struct http *h, struct site *site)
{
	size_t	i;

	if (h->auth_file != NULL)
		return;
	for (i = 0; i < site->nfeeds; i++)
		if (site->feeds[i].nusers > 0)
			log_warnx("feed %s has users but there is no "
			    "auth-file: it answers 503", site->feeds[i].name);
}

/*
 * HTTP Basic for feeds with users.  Returns 1 when the request may go
 * on; otherwise the reply is sent: 401 for missing or wrong credentials,
 * 503 when the users cannot be read now, 500 for a stored hash that
 * crypt(3) cannot check.  Nothing transient ever answers 401.
 */
int
http_auth_check(struct http_rq *rq, struct site_feed *f)
{
	struct evkeyvalq	*oh;
	struct htpasswd		*pw;
	const char		*hdr, *hash;
	char			 pass[HTTP_PASS_MAX];
	size_t			 i;
	int			 r = 0;

	oh = evhttp_request_get_output_headers(rq->req);
	if (f->nusers == 0)
		return (1);
	pass[0] = '\0';
	hdr = evhttp_find_header(evhttp_request_get_input_headers(rq->req),
	    "Authorization");
	if (hdr == NULL || basic_parse(hdr, rq->user, sizeof(rq->user), pass,
	    sizeof(pass)) == -1)
		goto deny;
	for (i = 0; i < f->nusers; i++)
		if (strcmp(f->users[i], rq->user) == 0)
			break;
	if (i == f->nusers)
		goto deny;
	pthread_mutex_lock(&rq->h->lock);
	if ((pw = rq->h->pw) != NULL)
		atomic_fetch_add_explicit(&pw->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&rq->h->lock);
	if (pw == NULL) {
		explicit_bzero(pass, sizeof(pass));
		evhttp_add_header(oh, "Retry-After", HTTP_RETRY_AFTER);
		http_reply_error(rq, 503, "authentication is not available");
		return (0);
	}
	if ((hash = pw_find(pw, rq->user)) != NULL)
		r = auth_verify(rq->w, rq->user, pass, hash);
	http_pw_unref(pw);
	explicit_bzero(pass, sizeof(pass));
	if (r == 1)
		return (1);
	if (r == -1) {
		http_reply_error(rq, 500, "cannot check the password");
		return (0);
	}
 deny:
	explicit_bzero(pass, sizeof(pass));
	evhttp_add_header(oh, "WWW-Authenticate", HTTP_REALM);
	http_reply_error(rq, 401, "authentication required");
	return (0);
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/* Decodes base64 (padding optional); -1 when malformed or too long. */
static int
b64_decode(const char *src, size_t len, unsigned char *dst, size_t dstsz,
    size_t *outlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0, pad = 0;
	int		v, bits = 0;

	for (i = 0; i < len; i++) {
		if (src[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value((unsigned char)src[i])) == -1)
			return (-1);
		acc = ((acc << 6) | (uint32_t)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o >= dstsz)
				return (-1);
			dst[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* One character alone in the last group carries no whole byte. */
	if (pad > 2 || bits >= 6 || (pad > 0 && len % 4 != 0))
		return (-1);
	*outlen = o;
	return (0);
}

/*
 * Parses "Basic <base64>" into user and password, split at the first
 * colon (RFC 7617: the user-id cannot hold one, the password can).
 * Returns -1 when malformed, too long, or holding a NUL.
 */
static int
basic_parse(const char *hdr, char *user, size_t usersz, char *pass,
    size_t passsz)
{
	unsigned char	 dec[HTTP_AUTH_MAX];
	const char	*p = hdr;
	unsigned char	*colon;
	size_t		 toklen, n = 0, ulen, plen;
	int		 rv = -1;

	p += strspn(p, " \t");
	if (strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
		return (-1);
	p += 5 + strspn(p + 5, " \t");
	toklen = strcspn(p, " \t");
	if (toklen == 0 || toklen > HTTP_AUTH_MAX ||
	    p[toklen + strspn(p + toklen, " \t")] != '\0' ||
	    b64_decode(p, toklen, dec, sizeof(dec), &n) == -1)
		goto out;
	if (memchr(dec, '\0', n) != NULL ||
	    (colon = memchr(dec, ':', n)) == NULL)
		goto out;
	ulen = (size_t)(colon - dec);
	plen = n - ulen - 1;
	if (ulen == 0 || ulen >= usersz || plen >= passsz)
		goto out;
	memcpy(user, dec, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	rv = 0;
 out:
	explicit_bzero(dec, sizeof(dec));
	return (rv);
}

/* The cache key of a verdict: SHA-256 over user, password and hash. */
static int
auth_key(const char *user, const char *pass, const char *hash,
    unsigned char key[32])
{
	EVP_MD_CTX	*ctx;
	unsigned int	 len = 0;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	/* Each part with its NUL, so no two splits digest alike. */
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, user, strlen(user) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, pass, strlen(pass) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, hash, strlen(hash) + 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &len) == 1 && len == 32;
	EVP_MD_CTX_free(ctx);
	return (ok ? 0 : -1);
}

/*
 * Checks pass against a crypt(3) hash (bcrypt, sha-crypt).  A verdict is
 * reused for AUTH_CACHE_TTL seconds, so a slow hash costs once per
 * client and thread rather than once per request.  The key covers the
 * stored hash too: a changed auth file invalidates it.  Returns 1, 0, or
 * -1 when the hash cannot be checked.
 */
static int
auth_verify(struct http_worker *w, const char *user, const char *pass,
    const char *hash)
{
	struct auth_verdict	*v, *slot = &w->verdicts[0];
	unsigned char		 key[32];
	const char		*out;
	char			 esc[HTTP_USER_MAX * 4];
	time_t			 now = http_mono_now();
	size_t			 i, hlen = strlen(hash);
	int			 ok;

	if (auth_key(user, pass, hash, key) == -1)
		return (-1);
	for (i = 0; i < AUTH_CACHE_N; i++) {
		v = &w->verdicts[i];
		if (v->expires > now && memcmp(v->key, key, sizeof(key)) == 0)
			return (v->ok);
		if (v->expires < slot->expires)
			slot = v;
	}
	/* crypt_r marks failure with NULL or a string starting with '*'. */
	if ((out = crypt_r(pass, hash, w->cd)) == NULL || out[0] == '*') {
		log_escape(esc, sizeof(esc), user, strlen(user));
		log_warnx("auth: cannot check the password hash of user %s",
		    esc);
		explicit_bzero(w->cd, sizeof(*w->cd));
		return (-1);
	}
	ok = strlen(out) == hlen && CRYPTO_memcmp(out, hash, hlen) == 0;
	explicit_bzero(w->cd, sizeof(*w->cd));
	memcpy(slot->key, key, sizeof(key));
	slot->expires = now + AUTH_CACHE_TTL;
	slot->ok = ok;
	return (ok);
}

/* Adds one user:hash line to pw (startup and reload: dies on ENOMEM). */
static void
pw_add(struct htpasswd *pw, size_t *cap, const char *user, const char *hash)
{
	if (pw->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		pw->user = xreallocarray(pw->user, *cap, sizeof(*pw->user));
		pw->hash = xreallocarray(pw->hash, *cap, sizeof(*pw->hash));
	}
	pw->user[pw->n] = xstrdup(user);
	pw->hash[pw->n] = xstrdup(hash);
	pw->n++;
}

/*
 * Reads an htpasswd file: "user:hash" lines; blank lines and lines
 * starting with "#" are skipped, malformed ones logged and skipped.
 * Returns NULL (logged) when the file cannot be read.
 */
struct htpasswd *
http_pw_load(const char *path)
{
	struct htpasswd	*pw;
	char		*data, *line, *end, *nl, *colon;
	size_t		 len, cap = 0;
	int		 lineno = 0;

	if (file_read_all(path, PW_MAX_BYTES, &data, &len) == -1) {
		log_warn("auth-file %s", path);
		return (NULL);
	}
	pw = xcalloc(1, sizeof(*pw));
	atomic_init(&pw->refs, 1);
	for (line = data, end = data + len; line < end; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL || colon == line ||
		    colon[1] == '\0') {
			log_warnx("%s:%d: not a user:hash line", path, lineno);
			continue;
		}
		if (pw->n == PW_MAX_USERS) {
			log_warnx("%s: only the first %d users are read", path,
			    PW_MAX_USERS);
			break;
		}
		*colon = '\0';
		colon[1 + strcspn(colon + 1, " \t")] = '\0';
		pw_add(pw, &cap, line, colon + 1);
	}
	explicit_bzero(data, len);
	free(data);
	return (pw);
}

void
http_pw_unref(struct htpasswd *pw)
{
	size_t	i;

	if (pw == NULL || atomic_fetch_sub_explicit(&pw->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < pw->n; i++) {
		free(pw->user[i]);
		free(pw->hash[i]);
	}
	free(pw->user);
	free(pw->hash);
	free(pw);
}

static const char *
pw_find(const struct htpasswd *pw, const char *user)
{
	size_t	i;

	for (i = 0; i < pw->n; i++)
		if (strcmp(pw->user[i], user) == 0)
			return (pw->hash[i]);
	return (NULL);
}
