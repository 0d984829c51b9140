/*
 * paloalto_int.h: what the two files of lumu-to-paloalto share, and
 * nothing else includes: paloalto.c reads the options into struct pa and
 * builds the conf of the run; paloalto_run.c does the run (Lumu, the
 * selection, the device, the timestamp).
 */
#ifndef PALOALTO_INT_H
#define PALOALTO_INT_H

#include <stdint.h>

#include "conf.h"
#include "panos.h"

#define PA_TIMESTAMP	"timestamp.stmp"

struct allowlist;
struct curlev;
struct event;
struct event_base;
struct lumu;
struct store;

/* The options, as indexes into struct pa's val[]. */
enum opt {
	O_NONE, O_CONFIG, O_HOSTNAME, O_USERNAME, O_PASSWORD, O_VSYS, O_TAG,
	O_CATNAME, O_DAG, O_OVERWRITE_DAG, O_CAT, O_OVERWRITE_CAT,
	O_SUBDOMAINS, O_SUBDIRS, O_COMMIT, O_COMPANY_KEY, O_LOGGING,
	O_VERBOSE, O_SAVED_TS, O_HOURS, O_FROM, O_ADV_TYPES, O_API_URL,
	O_API_KEY, O_PORT, O_CA_FILE, O_INSECURE, O_HELP, O_NOPTS
};

/* Steps of the device half, in order; unneeded ones are skipped. */
enum step { S_DAG_READ, S_DAG_WRITE, S_CAT_READ, S_CAT_WRITE, S_COMMIT,
	S_DONE };

/* One run: its options, then what it sets up and finds. */
struct pa {
	char			*val[O_NOPTS];	/* flags hold "yes" or "no" */
	int			 verbose;
	int			 file_log;
	int			 rc;
	char			 err[1024];
	int64_t			 start_ms;
	int64_t			 lookback;	/* seconds */

	struct conf		 conf;
	struct conf_feed	 feeds[2];	/* ip, url */
	struct allowlist	*al;
	struct event_base	*base;
	struct curlev		*cv;
	struct lumu		*lumu;
	struct store		*store;
	struct panos		*pan;
	struct event		*retry;
	enum step		 step;
	int			 commit_tries;

	struct panos_list	 ips, have_ips, add_ips, del_ips;
	struct panos_list	 urls, have_urls, add_urls;
	int			 cat_exists;
	enum panos_cat_mode	 cat_mode;
};

/* paloalto.c */
void		 paloalto_fail(struct pa *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
int		 paloalto_flag(const struct pa *, enum opt);
int		 paloalto_set_window(struct pa *);
int		 paloalto_build_conf(struct pa *);

/* paloalto_run.c */
void		 paloalto_run(struct pa *);

#endif
