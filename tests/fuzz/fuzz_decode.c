/*
 * fuzz_decode.c: every decoder of Lumu answers on arbitrary bytes, the
 * way lumu.c uses them: parse, then read the tree as a page, an updates
 * answer and a context, and every element as an incident and an event.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "decode.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Touches every string an incident borrows, so a bad pointer shows. */
static size_t
touch(const struct lumu_incident *inc)
{
	size_t	i, n = strlen(inc->id);

	for (i = 0; i < inc->nadv; i++)
		n += strlen(inc->adversaries[i]);
	for (i = 0; i < inc->ntypes; i++)
		n += strlen(inc->types[i]);
	return (n);
}

/* Reads every element of list both ways. */
static size_t
elements(const cJSON *list, struct decode_counts *c)
{
	struct lumu_incident	 inc;
	struct decode_event	 ev;
	const cJSON		*el;
	size_t			 n = 0;

	cJSON_ArrayForEach(el, list) {
		if (decode_incident(el, &inc, c) == 0)
			n += touch(&inc);
		if (decode_event(el, &ev, c) == 0 && ev.has_incident)
			n += touch(&ev.inc);
	}
	return (n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_counts	 c;
	struct decode_page	 pg;
	struct decode_updates	 u;
	struct decode_context	 ctx;
	char			 err[256], detail[256];
	cJSON			*root;
	volatile size_t		 sink = 0;

	memset(&c, 0, sizeof(c));
	(void)decode_api_error((const char *)data, size, detail,
	    sizeof(detail));
	root = decode_parse((const char *)data, size, err, sizeof(err));
	if (root == NULL)
		return (0);
	if (decode_page(root, 1, &pg, err, sizeof(err)) == 0)
		sink += elements(pg.list, &c);
	if (decode_updates(root, &u, err, sizeof(err)) == 0) {
		sink += elements(u.list, &c);
		(void)decode_offset_cmp(u.offset, "1096605");
	}
	if (decode_context(root, &ctx, err, sizeof(err)) == 0 &&
	    ctx.ntriggers > 0)
		sink += strlen(ctx.triggers[ctx.ntriggers - 1]);
	if (cJSON_IsArray(root))
		sink += elements(root, &c);
	/* The tree owns every string read above. */
	cJSON_Delete(root);
	(void)sink;
	return (0);
}
