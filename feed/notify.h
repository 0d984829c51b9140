/*
 * notify.h: the service manager's notification protocol (sd_notify(3)),
 * spoken directly: one datagram of NAME=VALUE lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace).  No library is needed.
 *
 * Every call is a no-op without NOTIFY_SOCKET, never blocks, never raises
 * SIGPIPE and leaves errno as it was.  Each returns 1 when the message
 * was sent, 0 when there is nobody to tell, -1 when sending failed (the
 * caller has nothing to do about it but carry on).
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#define NOTIFY_STATUS_MAX	256	/* bytes of STATUS= text kept */

/* READY=1: the listeners are up and requests are answered. */
int	notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC: a reload began; READY=1 ends it. */
int	notify_reloading(void);
/* STOPPING=1: a stop began. */
int	notify_stopping(void);
/*
 * STATUS=: one line of text for `systemctl status`; control bytes become
 * spaces and the text is cut at NOTIFY_STATUS_MAX bytes.
 */
int	notify_status(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));

#endif
