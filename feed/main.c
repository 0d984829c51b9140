/*
 * main.c: the command line of lumu-edl (contract section 2).  Called as
 * lumu-to-paloalto, it is the seed script's command line instead.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "daemon.h"
#include "ioc.h"
#include "log.h"
#include "memcap.h"
#include "paloalto.h"
#include "util.h"

#define LUMU_EDL_VERSION	"0.1.0"

static void __attribute__((__noreturn__))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: lumu-edl [-v...] [-c FILE]\n"
	    "       lumu-edl -n[n] [-c FILE]\n"
	    "       lumu-edl --once [--export DIR] [-c FILE]\n"
	    "       lumu-edl --version | -h\n"
	    "\n"
	    "  -c FILE        configuration (default ./feeds.conf, else\n"
	    "                 /etc/lumu-edl/feeds.conf)\n"
	    "  -n             check the configuration and exit; -nn also\n"
	    "                 prints it with every default filled in\n"
	    "  -v             more verbose logging (repeat for debug)\n"
	    "  --once         one full sync, print a summary per feed, exit\n"
	    "  --export DIR   with --once: write every feed to DIR/NAME\n");
	exit(code);
}

/* Parses the configuration, printing errors and warnings to stderr. */
static struct conf *
load_conf(const char *path)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*conf;

	conf = conf_parse(path, &errs, &warns);
	if (warns.len > 0)
		fputs(warns.data, stderr);
	if (errs.len > 0)
		fputs(errs.data, stderr);
	buf_free(&errs);
	buf_free(&warns);
	return (conf);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'O' },
		{ "export", required_argument, NULL, 'E' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = NULL, *export_dir = NULL, *prog;
	struct conf	*conf;
	int		 ch, check = 0, verbose = 1, once = 0, rc;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	/* The seed script's command line; it sets up its own logging. */
	if (strcmp(prog, "lumu-to-paloalto") == 0)
		return (paloalto_main(argc, argv));
	while ((ch = getopt_long(argc, argv, "c:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check++;
			break;
		case 'v':
			verbose++;
			break;
		case 'O':
			once = 1;
			break;
		case 'E':
			export_dir = optarg;
			break;
		case 'V':
			printf("lumu-edl %s\n", LUMU_EDL_VERSION);
			return (0);
		case 'h':
			usage(0);
		default:
			usage(1);
		}
	}
	if (argc != optind || (export_dir != NULL && !once) ||
	    (check && once))
		usage(1);
	log_init("lumu-edl", verbose);
	if (ioc_init() == -1)
		fatalx("cannot load the Public Suffix List");
	if (path == NULL)
		path = conf_default_path();
	if ((conf = load_conf(path)) == NULL)
		return (1);
	if (check) {
		printf("configuration OK\n");
		if (check > 1)
			conf_dump(conf, stdout);
		conf_free(conf);
		ioc_cleanup();
		return (0);
	}
	/* The daemon may log to a file (SIGUSR1 reopens it); --once never. */
	if (!once && conf->log_file != NULL &&
	    log_open_file(conf->log_file) == -1) {
		fprintf(stderr, "lumu-edl: log-file %s: %s\n", conf->log_file,
		    strerror(errno));
		conf_free(conf);
		return (1);
	}
	memcap_fit_store(conf->threads);
	rc = once ? daemon_once(conf, export_dir) : daemon_run(conf);
	ioc_cleanup();
	return (rc);
}
