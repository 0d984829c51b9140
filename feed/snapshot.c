/*
 * snapshot.c: one rendered feed, immutable once made.  The ETag is the
 * first 128 bits of the SHA-256 of the body, so replicas and restarts that
 * render the same bytes agree on it; the gzip body is made once here and
 * served to every client that asks for it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "log.h"
#include "snapshot.h"

/* Bodies shorter than this are served as they are: gzip would not pay. */
#define SNAP_GZIP_MIN	256

static int	snap_etag(struct snapshot *);
static void	snap_gzip(struct snapshot *);

/* Makes a snapshot that owns body and dropped; see snapshot.h. */
struct snapshot *
snap_new(char *body, size_t len, char *dropped, size_t dropped_len,
    size_t entries, size_t lines, const size_t drops[IOC_NREASONS],
    time_t last_modified)
{
	struct snapshot	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->body = body;
	s->len = body != NULL ? len : 0;
	s->dropped = dropped;
	s->dropped_len = dropped != NULL ? dropped_len : 0;
	s->entries = entries;
	s->lines = lines;
	s->last_modified = last_modified;
	if (drops != NULL)
		memcpy(s->drops, drops, sizeof(s->drops));
	if (snap_etag(s) == -1) {
		/* The caller keeps body and dropped on failure. */
		free(s);
		return (NULL);
	}
	snap_gzip(s);
	atomic_init(&s->refs, 1);
	return (s);
}

/* Sets the strong ETag: "<32 hex digits>" of SHA-256 over the body. */
static int
snap_etag(struct snapshot *s)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			*p = s->etag;

	if (EVP_Digest(s->len ? s->body : "", s->len, md, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen < 16) {
		log_warnx("%s: SHA-256 failed", __func__);
		return (-1);
	}
	*p++ = '"';
	for (i = 0; i < 16; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 0xf];
	}
	*p++ = '"';
	*p = '\0';
	return (0);
}

/*
 * Compresses the body once (gzip wrapper, level 6).  A failure only
 * means the feed is served uncompressed, so it is logged, not returned.
 */
static void
snap_gzip(struct snapshot *s)
{
	z_stream	 zs;
	uLong		 bound;
	char		*out;

	if (s->len < SNAP_GZIP_MIN || s->len > UINT32_MAX)
		return;
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16 asks zlib for a gzip header and trailer. */
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		log_warnx("%s: deflateInit2 failed", __func__);
		return;
	}
	bound = deflateBound(&zs, (uLong)s->len);
	if ((out = malloc(bound)) == NULL) {
		log_warn("%s", __func__);
		deflateEnd(&zs);
		return;
	}
	zs.next_in = (Bytef *)s->body;
	zs.avail_in = (uInt)s->len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END ||
	    zs.total_out >= s->len) {
		/* Incompressible (or failed): the plain body is better. */
		free(out);
		deflateEnd(&zs);
		return;
	}
	s->gz = out;
	s->gzlen = zs.total_out;
	deflateEnd(&zs);
}

struct snapshot *
snap_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return (s);
}

/* Drops a reference; the last one frees the bytes and the snapshot. */
void
snap_unref(struct snapshot *s)
{
	if (s == NULL)
		return;
	/* acq_rel: the freeing thread sees every other holder's reads done. */
	if (atomic_fetch_sub_explicit(&s->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	free(s->body);
	free(s->gz);
	free(s->dropped);
	free(s);
}

int
snap_same_body(const struct snapshot *a, const struct snapshot *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	if (a->len != b->len)
		return (0);
	return (a->len == 0 || memcmp(a->body, b->body, a->len) == 0);
}
