/*
 * spec.c - thoth_spec_match on a canonical line (see scan/scan.c),
 * step for step: the first path component through scan_path (with its
 * fallback to "properties"), arrays on the way meaning "any element",
 * strings compared unescaped, anything else as its compact JSON, which
 * on a canonical line is the raw text itself.
 */
#include <stdlib.h>
#include <string.h>

#include "spec_impl.h"
#include "scan/scan.h"

#define SMALL	512	/* values copied to the stack; longer ones to the heap */

static int
value_match(const struct token *t, const struct scan_val *v)
{
	char small[SMALL], *buf = small;
	size_t cap = sizeof (small);
	long n;
	int rv;

	if (v->type != SV_STR) {
		if (t->kind != PAT_FNMATCH)
			return (spec_value_match(t, v->p, v->len));
		if (v->len >= cap)
			buf = thoth_xmalloc(cap = v->len + 1);
		memcpy(buf, v->p, v->len);
		buf[n = v->len] = '\0';
	} else if (!v->esc && t->kind != PAT_FNMATCH) {
		return (spec_value_match(t, v->p + 1, v->len - 2));
	} else {
		if (v->len >= cap)
			buf = thoth_xmalloc(cap = v->len);
		n = scan_str(v, buf, cap);
	}
	rv = spec_value_match(t, buf, (size_t)n);
	if (buf != small)
		free(buf);
	return (rv);
}

/* walk() of spec.c: 1 if some value at the path comp[0..n) from v
 * matches t (or exists, for "undefined"). */
static int
walk(const struct token *t, const struct scan_val *v, const char *comp,
    size_t n)
{
	struct scan_val e;
	const char *cur = NULL;

	if (v->type == SV_ARR) {
		while (scan_arr_next(v, &cur, &e))
			if (walk(t, &e, comp, n))
				return (1);
		return (0);
	}
	if (n == 0)
		return (t->value == NULL || value_match(t, v));
	if (!scan_obj_get(v, comp, strlen(comp), &e))
		return (0);
	return (walk(t, &e, comp + strlen(comp) + 1, n - 1));
}

static int
token_match(const struct token *t, const struct scan_rec *r)
{
	struct scan_val v;
	int found = scan_path(r, t->name, &v) &&
	    walk(t, &v, t->name + strlen(t->name) + 1, t->ncomp - 1);

	return (t->value == NULL ? !found : found);
}

/* "uploaded", or "time" when there is no "uploaded": an integer in range. */
static int
time_match(const struct thoth_spec *spec, const struct scan_rec *r)
{
	struct scan_val v;
	int64_t t;

	if (!scan_get(r, "uploaded", 8, &v) && !scan_get(r, "time", 4, &v))
		return (0);
	if (v.type != SV_NUM)
		return (0);
	t = scan_int(&v);
	return (t >= spec->lo && t < spec->hi);
}

int
scan_spec_match(const struct thoth_spec *spec, const struct scan_rec *r)
{
	size_t i;

	if (spec->timed && !time_match(spec, r))
		return (0);
	if ((spec->prefix != NULL || spec->want_stdin) &&
	    !spec_id_match(spec, scan_id(r)))
		return (0);
	for (i = 0; i < spec->ntoks; i++)
		if (!token_match(&spec->toks[i], r))
			return (0);
	return (1);
}
