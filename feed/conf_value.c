/*
 * conf_value.c: the value parsers and validators of feeds.conf, one per
 * key type (text, names, URLs, files, secrets, numbers, booleans, lists,
 * allowlists, listeners, enums), each reporting its own errors.  Defaults
 * go through the same setters as the file's text.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_int.h"
#include "ioc.h"
#include "util.h"

#define CONF_SECRET_MAX	8192		/* bytes in a *-file */
#define CONF_LISTENS_MAX 64

typedef int (*setter_fn)(struct parser *, int, const struct key_def *,
    char *, void *);

static int	 split_list(struct parser *, int, const struct key_def *,
		    char *, struct conf_strlist *);
static int	 file_open(const char *, const char **);
static int	 secret_read(const char *, char **, const char **);
static int	 set_text(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_number(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_bool(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 allow_canon(struct parser *, int, const struct key_def *,
		    struct conf_strlist *);
static int	 set_list(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_listen(struct parser *, int, const struct key_def *,
		    char *, void *);
static int	 set_enum(struct parser *, int, const struct key_def *,
		    char *, void *);

/* Setters by key type; each reports its own errors. */
static const setter_fn setters[KT_NTYPES] = {
	[KT_STRING] = set_text,
	[KT_NAME] = set_text,
	[KT_URL] = set_text,
	[KT_PATH] = set_text,
	[KT_FILE] = set_text,
	[KT_SECRET] = set_text,
	[KT_SECRET_FILE] = set_text,
	[KT_DURATION] = set_number,
	[KT_INT] = set_number,
	[KT_PERCENT] = set_number,
	[KT_BOOL] = set_bool,
	[KT_LIST] = set_list,
	[KT_ALLOW] = set_list,
	[KT_LISTEN] = set_listen,
	[KT_ENUM] = set_enum,
	[KT_ENUMSET] = set_enum,
};

/* 1 when s is a valid feed or target name: [A-Za-z0-9_-]{1,64}. */
int
conf_name_valid(const char *s)
{
	size_t	n;

	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-");
	return (n >= 1 && n <= CONF_NAME_MAX && s[n] == '\0');
}

/* Splits "a, b ,c" into trimmed items; an empty item is an error. */
static int
split_list(struct parser *p, int line, const struct key_def *k, char *val,
    struct conf_strlist *out)
{
	char	*item, *end, *next;

	memset(out, 0, sizeof(*out));
	for (item = val; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item == '\0') {
			conf_perr(p, line, "%s: empty item in list", k->name);
			conf_strlist_free(out);
			return (-1);
		}
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = xstrdup(item);
	}
	return (0);
}

/* Opens a readable regular file; else -1 and *why. */
static int
file_open(const char *path, const char **why)
{
	struct stat	st;
	int		fd;

	/* O_NONBLOCK: a FIFO or a device named here must not hang -n. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		close(fd);
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * Reads a file that holds a secret alone; one trailing newline is
 * dropped.  Empty files, second lines and control characters are errors.
 */
static int
secret_read(const char *path, char **out, const char **why)
{
	char	*data;
	size_t	 len = 0, i;
	ssize_t	 n;
	int	 fd;

	if ((fd = file_open(path, why)) == -1)
		return (-1);
	/* One byte more than allowed tells a full file from a long one. */
	data = xmalloc(CONF_SECRET_MAX + 2);
	*why = NULL;
	while (len <= CONF_SECRET_MAX) {
		if ((n = read(fd, data + len, CONF_SECRET_MAX + 1 - len)) ==
		    -1 && errno == EINTR)
			continue;
		if (n == -1)
			*why = strerror(errno);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (*why == NULL && len > CONF_SECRET_MAX)
		*why = "too large for a secret";
	if (len > 0 && data[len - 1] == '\n')
		len--;
	data[len] = '\0';
	if (*why == NULL && len == 0)
		*why = "empty";
	for (i = 0; i < len && *why == NULL; i++)
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f)
			*why = "holds more than one line or a control "
			    "character";
	if (*why != NULL) {
		explicit_bzero(data, CONF_SECRET_MAX + 2);
		free(data);
		return (-1);
	}
	*out = data;
	return (0);
}

/* Sets a text-valued key, after the checks of its type. */
static int
set_text(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	char		**dst = (char **)((char *)base + k->off);
	char		**sdst, *secret;
	const char	 *why;
	int		  fd;

	if (k->type == KT_NAME && !conf_name_valid(val)) {
		conf_perr(p, line, "%s: bad feed name \"%s\"", k->name, val);
		return (-1);
	}
	if (k->type == KT_URL && ((strncmp(val, "http://", 7) != 0 &&
	    strncmp(val, "https://", 8) != 0) ||
	    strstr(val, "://")[3] == '\0' || strpbrk(val, " \t") != NULL)) {
		conf_perr(p, line, "%s: \"%s\" is not an http:// or https:// "
		    "URL", k->name, val);
		return (-1);
	}
	if (k->type == KT_FILE) {
		if ((fd = file_open(val, &why)) == -1) {
			conf_perr(p, line, "%s: %s: %s", k->name, val, why);
			return (-1);
		}
		close(fd);
	}
	/* Copied from -nn output, the placeholder would go out as a key. */
	if (k->type == KT_SECRET && strcmp(val, "(secret)") == 0) {
		conf_perr(p, line, "%s: (secret) is the placeholder of -nn "
		    "output, not a secret", k->name);
		return (-1);
	}
	if (k->type == KT_SECRET_FILE) {
		if (secret_read(val, &secret, &why) == -1) {
			conf_perr(p, line, "%s: %s: %s", k->name, val, why);
			return (-1);
		}
		/* The file fills the member of the secret it stands for. */
		sdst = (char **)((char *)base +
		    conf_keys[conf_key_find(k->sect, k->pair)].off);
		conf_secret_free(*sdst);
		*sdst = secret;
	}
	if (k->type == KT_SECRET)
		conf_secret_free(*dst);
	else
		free(*dst);
	*dst = xstrdup(val);
	return (0);
}

/* Sets a duration, a plain number or a percentage, within range. */
static int
set_number(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	static const char	 units[] = "smhd";
	static const int64_t	 mult[] = { 1, MINUTE, HOUR, DAY };
	const char		*s = val, *u;
	int64_t			 v = 0;
	char			 lo[32], hi[32];
	int			 ndig = 0;

	/* Twelve digits leave room for a day multiplier in int64_t. */
	for (; *s >= '0' && *s <= '9' && ndig <= 12; s++, ndig++)
		v = v * 10 + (*s - '0');
	if (ndig == 0 || ndig > 12)
		goto bad;
	if (k->type == KT_DURATION) {
		if (*s == '\0') {
			conf_perr(p, line, "%s: \"%s\" needs a unit: s, m, h "
			    "or d", k->name, val);
			return (-1);
		}
		if ((u = strchr(units, *s)) == NULL || s[1] != '\0')
			goto bad;
		v *= mult[u - units];
	} else if (k->type == KT_PERCENT) {
		if (s[0] != '%' || s[1] != '\0')
			goto bad;
	} else if (*s != '\0')
		goto bad;
	if (v < k->min || v > k->max) {
		conf_fmt_num(lo, sizeof(lo), k, k->min);
		conf_fmt_num(hi, sizeof(hi), k, k->max);
		conf_perr(p, line, "%s: %s is out of range %s..%s", k->name,
		    val, lo, hi);
		return (-1);
	}
	conf_store_num((char *)base + k->off, k->size, v);
	return (0);
 bad:
	conf_perr(p, line, "%s: bad value \"%s\": expected %s", k->name, val,
	    k->type == KT_DURATION ? "a number and s, m, h or d, as 30d" :
	    k->type == KT_PERCENT ? "a percentage, as 50%" : "a number");
	return (-1);
}

/* yes or no, nothing else. */
static int
set_bool(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	int	v;

	if (strcmp(val, "yes") == 0)
		v = 1;
	else if (strcmp(val, "no") == 0)
		v = 0;
	else {
		conf_perr(p, line, "%s: bad value \"%s\": expected yes or no",
		    k->name, val);
		return (-1);
	}
	conf_store_num((char *)base + k->off, k->size, v);
	return (0);
}

/* Allowlist entries: addresses and networks as given, names canonical. */
static int
allow_canon(struct parser *p, int line, const struct key_def *k,
    struct conf_strlist *l)
{
	char	 name[IOC_NAME_MAX + 1];
	uint8_t	 addr[16];
	int	 family, prefix, rv = 0;
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		if (ioc_parse_cidr(l->v[i], &family, addr, &prefix) != -1)
			continue;
		if (ioc_canon_domain(l->v[i], name, sizeof(name)) != -1) {
			free(l->v[i]);
			l->v[i] = xstrdup(name);
			continue;
		}
		conf_perr(p, line, "%s: \"%s\" is neither an address, a "
		    "network nor a domain name", k->name, l->v[i]);
		rv = -1;
	}
	return (rv);
}

/* A list of items replacing any earlier one; allowlists are checked. */
static int
set_list(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf_strlist	*dst, l;

	dst = (struct conf_strlist *)((char *)base + k->off);
	if (split_list(p, line, k, val, &l) == -1)
		return (-1);
	if (k->type == KT_ALLOW && allow_canon(p, line, k, &l) == -1) {
		conf_strlist_free(&l);
		return (-1);
	}
	conf_strlist_free(dst);
	*dst = l;
	return (0);
}

/* "ADDR:PORT", "[V6]:PORT", each maybe followed by "tls". */
static int
set_listen(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf		*c = base;
	struct conf_listen	*l;
	char			*host, *port, *word, *end;
	char			 txt[INET6_ADDRSTRLEN];
	unsigned char		 addr[16];
	long			 n = 0;
	int			 family = AF_INET, tls = 0;
	size_t			 i;

	if ((word = strpbrk(val, " \t")) != NULL) {
		*word++ = '\0';
		word += strspn(word, " \t");
		if (strcmp(word, "tls") != 0)
			goto bad;
		tls = 1;
	}
	host = val;
	if (*host == '[') {
		family = AF_INET6;
		if ((end = strchr(++host, ']')) == NULL || end[1] != ':')
			goto bad;
		*end = '\0';
		port = end + 2;
	} else {
		if ((port = strrchr(host, ':')) == NULL)
			goto bad;
		*port++ = '\0';
	}
	if (inet_pton(family, host, addr) != 1)
		goto bad;
	if (strspn(port, "0123456789") != strlen(port) || *port == '\0' ||
	    strlen(port) > 5 || (n = strtol(port, NULL, 10)) > 65535)
		goto bad;
	inet_ntop(family, addr, txt, sizeof(txt));
	for (i = 0; i < c->nlistens; i++) {
		/* Port 0 is a new ephemeral port every time. */
		if (n != 0 && c->listens[i].port == n &&
		    strcmp(c->listens[i].host, txt) == 0) {
			conf_perr(p, line, "listen: %s port %ld already given "
			    "at line %d", txt, n, c->listens[i].line);
			return (-1);
		}
	}
	if (c->nlistens >= CONF_LISTENS_MAX) {
		conf_perr(p, line, "listen: more than %d", CONF_LISTENS_MAX);
		return (-1);
	}
	c->listens = xreallocarray(c->listens, c->nlistens + 1,
	    sizeof(*c->listens));
	l = &c->listens[c->nlistens++];
	l->host = xstrdup(txt);
	l->port = (int)n;
	l->tls = tls;
	l->line = line;
	return (0);
 bad:
	conf_perr(p, line, "%s: bad value: expected ADDR:PORT or [V6]:PORT, "
	    "maybe followed by tls (0.0.0.0:8080, [::]:8443 tls)", k->name);
	return (-1);
}

/* One name of k->names (KT_ENUM), or a list of them as bits. */
static int
set_enum(struct parser *p, int line, const struct key_def *k, char *val,
    void *base)
{
	struct conf_strlist	l;
	int64_t			v = 0;
	size_t			i, j;
	int			rv = 0;

	if (k->type == KT_ENUM) {
		l.v = &val;
		l.n = 1;
	} else if (split_list(p, line, k, val, &l) == -1)
		return (-1);
	for (i = 0; i < l.n; i++) {
		for (j = 0; k->names[j] != NULL; j++)
			if (strcmp(l.v[i], k->names[j]) == 0)
				break;
		if (k->names[j] == NULL) {
			conf_perr(p, line, "%s: bad value \"%s\"", k->name,
			    l.v[i]);
			rv = -1;
		}
		v = k->type == KT_ENUM ? (int64_t)j : v | (1 << j);
	}
	if (k->type == KT_ENUMSET)
		conf_strlist_free(&l);
	if (rv == 0)
		conf_store_num((char *)base + k->off, k->size, v);
	return (rv);
}

/* Sets one key of a section from its text; -1 after reporting. */
int
conf_set_value(struct parser *p, struct sect *s, int line,
    const struct key_def *k, char *val)
{
	if (*val == '\0') {
		conf_perr(p, line, "%s: missing value", k->name);
		return (-1);
	}
	return (setters[k->type](p, line, k, val, conf_sect_base(p, s)));
}

/* Formats a number of a key as the file would spell it: 30d, 50%, 40. */
void
conf_fmt_num(char *dst, size_t dstsz, const struct key_def *k, int64_t v)
{
	if (k->type == KT_PERCENT)
		snprintf(dst, dstsz, "%lld%%", (long long)v);
	else if (k->type != KT_DURATION)
		snprintf(dst, dstsz, "%lld", (long long)v);
	else if (v != 0 && v % DAY == 0)
		snprintf(dst, dstsz, "%lldd", (long long)(v / DAY));
	else if (v != 0 && v % HOUR == 0)
		snprintf(dst, dstsz, "%lldh", (long long)(v / HOUR));
	else if (v != 0 && v % MINUTE == 0)
		snprintf(dst, dstsz, "%lldm", (long long)(v / MINUTE));
	else
		snprintf(dst, dstsz, "%llds", (long long)v);
}

