/*
 * tap.h: the unit tests' tiny runner.  Each check prints "ok N - what" or
 * "not ok N - what" (TAP); tests/run.sh adds them up into the summary
 * line.  tap_done() returns the exit status: 1 when anything failed.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int
tap_ok(int cond, const char *what, const char *file, int line)
{
	tap_n++;
	if (cond)
		printf("ok %d - %s\n", tap_n, what);
	else {
		tap_failed++;
		printf("not ok %d - %s\n# at %s:%d\n", tap_n, what, file,
		    line);
	}
	fflush(stdout);
	return (cond);
}

#define OK(cond, what)	tap_ok(!!(cond), (what), __FILE__, __LINE__)
#define IS(a, b, what)	do {						\
	long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);	\
	if (!OK(tap_a_ == tap_b_, what))				\
		printf("#   got %lld, want %lld\n", tap_a_, tap_b_);	\
} while (0)
#define STR(a, b, what)	do {						\
	const char *tap_a_ = (a), *tap_b_ = (b);			\
	int tap_c_ = tap_a_ != NULL && tap_b_ != NULL &&		\
	    strcmp(tap_a_, tap_b_) == 0;				\
	if (!OK(tap_c_, what))						\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)"); \
} while (0)

static inline int
tap_done(void)
{
	printf("# %d passed, %d failed\n", tap_n - tap_failed, tap_failed);
	return (tap_failed ? 1 : 0);
}

#endif
