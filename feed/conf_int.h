/*
 * conf_int.h: what the files of the feeds.conf parser share, and nothing
 * else includes: the section kinds, the key table (conf_keys.c), the
 * parser state, and the functions each file lends the others: conf.c
 * (lines, sections, assignments), conf_keys.c (the table, members,
 * freeing), conf_value.c (value parsers and validators), conf_check.c
 * (defaults and checks of the whole file) and conf_dump.c (-nn).
 */
#ifndef CONF_INT_H
#define CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define CONF_LINE_MAX	8192		/* bytes in one line */
#define CONF_NAME_MAX	64		/* [feed NAME], [panos NAME] */
#define CONF_THREADS_MAX 64

#define MINUTE		60
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)

enum sect_kind {
	SK_LUMU,
	SK_SERVER,
	SK_FEED,
	SK_ALLOWLIST,
	SK_PANOS,
	SK_NKINDS
};

struct sect_def {
	const char	*name;
	int		 named;		/* [kind NAME] */
};

/* Section kinds, in the order -nn prints them. */
extern const struct sect_def conf_sect_defs[SK_NKINDS];

enum key_type {
	KT_STRING,		/* any text */
	KT_NAME,		/* a feed name: [A-Za-z0-9_-]{1,64} */
	KT_URL,			/* http:// or https:// */
	KT_PATH,		/* a path, not opened here (directories) */
	KT_FILE,		/* a path to a readable regular file */
	KT_SECRET,		/* a secret given inline */
	KT_SECRET_FILE,		/* a path; its content fills .pair */
	KT_DURATION,		/* N followed by s, m, h or d; in seconds */
	KT_INT,			/* plain decimal */
	KT_PERCENT,		/* N% */
	KT_BOOL,		/* yes | no */
	KT_LIST,		/* comma-separated items */
	KT_ALLOW,		/* list of addresses, networks and names */
	KT_LISTEN,		/* ADDR:PORT or [V6]:PORT, then maybe "tls" */
	KT_ENUM,		/* one of .names, stored as its index */
	KT_ENUMSET,		/* list of .names, stored as bits */
	KT_NTYPES
};

#define KF_REQUIRED	0x1
#define KF_REPEAT	0x2

struct key_def {
	enum sect_kind		 sect;
	const char		*name;
	enum key_type		 type;
	int64_t			 min, max;	/* numbers */
	const char		*def;		/* parsed like file text */
	size_t			 off;		/* in the section struct */
	size_t			 size;		/* of that member */
	int			 flags;
	const char *const	*names;		/* KT_ENUM[SET] */
	const char		*pair;		/* the secret it fills */
	const char		*help;
};

/* Rows of conf_keys[]; conf_keys.c does not compile when they differ. */
#define CONF_NKEYS	44

/* Every key of feeds.conf, in the order -nn prints them. */
extern const struct key_def conf_keys[];

/* One section of the file, or a stand-in (line 0) for an absent one. */
struct sect {
	enum sect_kind	 kind;
	size_t		 idx;		/* in conf->feeds or ->panos */
	int		 line;		/* of the header */
	/* Line where each key was set; negative when its value was bad. */
	int		 keyline[CONF_NKEYS];
};

struct parser {
	const char	*path;
	struct conf	*conf;
	struct buf	*errs;
	struct buf	*warns;
	int		 nerrs;
	int		 line;
	struct sect	*cur;		/* NULL: no usable section */
	int		 skipping;	/* in a broken section */
	struct sect	**sects;	/* in file order */
	size_t		 nsects;
	char		 lbuf[CONF_LINE_MAX + 1];
};

/* conf.c: reports and sections. */
void		 conf_perr(struct parser *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
void		 conf_pwarn(struct parser *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
struct sect	*conf_sect_find(const struct parser *, enum sect_kind,
		    const char *);
struct sect	*conf_sect_add(struct parser *, enum sect_kind,
		    const char *);

/* conf_keys.c: the table and the members it describes. */
int		 conf_key_find(enum sect_kind, const char *);
void		*conf_sect_base(const struct parser *, const struct sect *);
int		 conf_is_text(enum key_type);
void		 conf_store_num(void *, size_t, int64_t);
int64_t		 conf_load_num(const void *, size_t);
void		 conf_secret_free(char *);
void		 conf_strlist_free(struct conf_strlist *);

/* conf_value.c: values from their text. */
int		 conf_name_valid(const char *);
int		 conf_set_value(struct parser *, struct sect *, int,
		    const struct key_def *, char *);
void		 conf_fmt_num(char *, size_t, const struct key_def *,
		    int64_t);

/* conf_check.c: defaults and the checks of the whole file. */
void		 conf_finalize(struct parser *);

#endif
