/*
 * fuzz_conf.c: libFuzzer target for the feeds.conf parser.  Each input
 * becomes the content of one memfd, parsed through its /proc path like
 * any file; a conf that parses is dumped (-nn) and freed.
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 fuzz_fd = -1;
static char	 fuzz_path[64];
static FILE	*fuzz_null;

/* Replaces the memfd's content with the input. */
static int
fuzz_write(const uint8_t *data, size_t size)
{
	size_t	off = 0;
	ssize_t	n;

	if (ftruncate(fuzz_fd, 0) == -1)
		return (-1);
	while (off < size) {
		if ((n = pwrite(fuzz_fd, data + off, size - off,
		    (off_t)off)) <= 0)
			return (-1);
		off += (size_t)n;
	}
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 errs = { 0 }, warns = { 0 };
	struct conf	*c;

	/* One memfd and one /dev/null for the whole run. */
	if (fuzz_fd == -1) {
		if ((fuzz_fd = memfd_create("fuzz_conf", MFD_CLOEXEC)) == -1 ||
		    (fuzz_null = fopen("/dev/null", "w")) == NULL)
			abort();
		snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d",
		    fuzz_fd);
	}
	if (fuzz_write(data, size) == -1)
		abort();
	if ((c = conf_parse(fuzz_path, &errs, &warns)) != NULL) {
		conf_dump(c, fuzz_null);
		conf_free(c);
	}
	buf_free(&errs);
	buf_free(&warns);
	return (0);
}
