/*
 * daemon.h: the main event loop.  It owns the conf, the Lumu client, the
 * store, the site and the HTTP server, and is the only writer of all of
 * them.
 */
#ifndef DAEMON_H
#define DAEMON_H

struct conf;

/* Runs until SIGTERM or SIGINT; takes the conf.  Returns the exit code. */
int	daemon_run(struct conf *);
/*
 * One full sync, every feed rendered, written to export_dir (when not
 * NULL) and summarised on stdout.  Takes the conf.  Returns 0 on success.
 */
int	daemon_once(struct conf *, const char *export_dir);

#endif
