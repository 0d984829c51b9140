/*
 * conf.h: feeds.conf parsed into one struct.  The parser keeps no global
 * state, so a reload (or a test) can parse a second conf beside the one in
 * use.  Keys are defined once, in the table in conf_keys.c, which drives
 * parsing, validation, defaults and the -nn dump.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

enum feed_type {
	FEED_IP,
	FEED_DOMAIN,
	FEED_URL
};

/* Incident statuses, as bits of conf_feed.statuses. */
#define CONF_ST_OPEN	0x1
#define CONF_ST_MUTED	0x2
#define CONF_ST_CLOSED	0x4

struct conf_strlist {
	char	**v;
	size_t	  n;
};

struct conf_listen {
	char	*host;		/* "0.0.0.0", "::", "127.0.0.1" */
	int	 port;
	int	 tls;
	int	 line;
};

struct conf_feed {
	char			*name;
	int			 line;
	enum feed_type		 type;
	struct conf_strlist	 adversary_types; /* filled from [lumu] */
	unsigned		 statuses;	/* CONF_ST_* bits */
	size_t			 max_entries;	/* 0: no cap */
	struct conf_strlist	 users;
	int			 include_subdomains;
	int			 include_subdirectories;
};

struct conf_panos {
	char		*name;
	int		 line;
	char		*hostname;
	int		 port;
	char		*api_key;	/* secret, resolved from the file */
	char		*api_key_file;
	char		*username;
	char		*password;	/* secret, resolved from the file */
	char		*password_file;
	char		*vsys;
	char		*ca_file;
	int		 verify_tls;
	char		*dag_feed;
	char		*dag_tag;
	int64_t		 tag_timeout;
	char		*url_category_feed;
	char		*url_category;
	int		 commit;
};

struct conf {
	char			*path;

	/* [lumu] */
	char			*company_key;	/* secret, resolved */
	char			*company_key_file;
	char			*api_url;
	struct conf_strlist	 adversary_types;
	int64_t			 lookback;	/* seconds */
	int64_t			 updates_wait;	/* seconds */
	int64_t			 resync;	/* seconds */
	int			 threat_triggers;
	int			 max_requests_per_minute;
	int			 max_shrink;	/* percent */

	/* [server] */
	struct conf_listen	*listens;
	size_t			 nlistens;
	char			*tls_certificate;
	char			*tls_key;
	int			 threads;
	char			*state_dir;
	char			*auth_file;
	char			*export_dir;
	int			 access_log;
	char			*log_file;	/* NULL: stderr */

	/* [feed NAME] */
	struct conf_feed	*feeds;
	size_t			 nfeeds;

	/* [allowlist] */
	struct conf_strlist	 allowlist;
	int			 protect_private;

	/* [panos NAME] */
	struct conf_panos	*panos;
	size_t			 npanos;
};

/*
 * Parses path.  Errors ("FILE:LINE: message", one per line) are appended
 * to errs and warnings to warns (either may be NULL).  Returns the conf,
 * or NULL when there was any error.  The caller owns the result.
 */
struct conf	*conf_parse(const char *path, struct buf *errs,
		    struct buf *warns);
void		 conf_free(struct conf *);
/* Prints the effective configuration, secrets as "(secret)" (-nn). */
void		 conf_dump(const struct conf *, FILE *);
/* The default config path: ./feeds.conf when present, else /etc/... */
const char	*conf_default_path(void);
const struct conf_feed *conf_feed_find(const struct conf *, const char *);
const char	*conf_feed_type_name(enum feed_type);

#endif
