/*
 * push.h: the daemon's PAN-OS push targets, one per [panos NAME].
 *
 * A target owns its tag and its category (contract section 3): after
 * the feeds change it converges the device to them, the DAG tag to
 * exactly the ip feed's addresses and the Custom URL Category to exactly
 * the url feed's lines, then commits when configured.  Changes are
 * debounced; a device sees one operation at a time; a failure backs off
 * and makes the next attempt read the device's state again, as does the
 * first attempt and a periodic reconciliation.
 *
 * Everything runs on the daemon's event loop, except push_status() and
 * push_status_json(), which any thread may call.
 */
#ifndef PUSH_H
#define PUSH_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct curlev;
struct conf;
struct site;
struct push;

struct push_status {
	char		name[64];
	char		hostname[256];
	int64_t		last_success_ms;	/* 0: never */
	int64_t		last_error_ms;		/* 0: never */
	char		last_error[512];	/* "" after a success */
	int		pending;	/* a change waits or is being pushed */
	size_t		registered;	/* IPs with the tag, as last known */
	size_t		members;	/* category members, as last known */
	uint64_t	registers;	/* IPs tagged, in total */
	uint64_t	unregisters;
	uint64_t	category_writes;
	uint64_t	commits;
	uint64_t	errors;
};

/* One target per [panos] of conf (none: an idle push).  Copies conf. */
struct push	*push_new(struct event_base *, struct curlev *,
		    const struct conf *);
/* Cancels what runs (no device call is left half-read), then frees. */
void		 push_free(struct push *);
/* The feeds of site changed (or may have): converge soon. */
void		 push_update(struct push *, struct site *);
/* Copies up to max targets' states into out; returns the count. */
size_t		 push_status(struct push *, struct push_status *out,
		    size_t max);
/*
 * Adds one member per target, NAME: {"hostname", "last_success",
 * "last_error", "pending", "registered", "members", "registers",
 * "unregisters", "category_writes", "commits", "errors"}, to a cJSON
 * object.
 */
void		 push_status_json(struct push *, void *cjson_object);

#endif
