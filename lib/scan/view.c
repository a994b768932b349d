/*
 * view.c - reports through the scanner: a matching record is shown to
 * the report's function as a view, in the worker that matched it, read
 * in place when its line is canonical (else from the jansson record),
 * and what the function puts becomes that record's output.  So thoth ls
 * and thoth report read the index once, on every core, in one process.
 * A value is text as thoth_json_scalar makes it: a string's contents,
 * anything else its compact JSON, which on a canonical line is the raw
 * text itself.
 */
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"

struct thoth_view {
	const struct scan_rec *r;	/* a canonical line, or */
	const json_t *j;		/* a record */
	struct scan_out *out;
	char small[256], *buf;		/* the last value */
	size_t cap;
};

static char *
room(struct thoth_view *v, size_t n)
{
	if (n <= sizeof (v->small))
		return (v->small);
	if (n > v->cap) {
		free(v->buf);
		v->buf = thoth_xmalloc(v->cap = n);
	}
	return (v->buf);
}

static const char *
line_get(struct thoth_view *v, const char *path, int top, int *string)
{
	struct scan_val val;
	char *s;

	if (!(top ? scan_get(v->r, path, strlen(path), &val) :
	    scan_path(v->r, path, &val)))
		return (NULL);
	*string = val.type == SV_STR;
	s = room(v, (size_t)val.len + 1);
	if (*string) {
		(void) scan_str(&val, s, (size_t)val.len + 1);
	} else {
		memcpy(s, val.p, val.len);
		s[val.len] = '\0';
	}
	return (s);
}

/* The value at path, or only a top-level field (top). */
static const char *
get(struct thoth_view *v, const char *path, int top, int *string)
{
	const json_t *val;
	char *text;
	size_t n;

	if (v->r != NULL)
		return (line_get(v, path, top, string));
	val = top ? json_object_get(v->j, path) : thoth_json_path(v->j, path);
	if (val == NULL)
		return (NULL);
	*string = json_is_string(val);
	text = thoth_json_scalar(val);
	n = strlen(text) + 1;
	memcpy(room(v, n), text, n);
	free(text);
	return (n <= sizeof (v->small) ? v->small : v->buf);
}

const char *
thoth_view_get(struct thoth_view *v, const char *path, int *string)
{
	return (get(v, path, 0, string));
}

const char *
thoth_view_field(struct thoth_view *v, const char *key, int *string)
{
	return (get(v, key, 1, string));
}

void
thoth_view_put(struct thoth_view *v, const char *s, size_t len)
{
	scan_bytes(v->out, s, len);
}

/* The report's function on one record: a canonical line r, or j. */
static void
show(const struct thoth_report *rep, struct scan_out *out,
    const struct scan_rec *r, const json_t *j)
{
	struct thoth_view v;	/* small[] is not cleared: a row's hot path */

	v.r = r;
	v.j = j;
	v.out = out;
	v.buf = NULL;
	v.cap = 0;
	rep->fn(&v, rep->arg);
	out->nrec++;
	free(v.buf);
}

void
scan_view_line(const struct thoth_report *rep, struct scan_out *out,
    const struct scan_rec *r)
{
	show(rep, out, r, NULL);
}

void
scan_view_json(const struct thoth_report *rep, struct scan_out *out,
    const json_t *rec)
{
	show(rep, out, NULL, rec);
}

/* A matching record, from jansson, to the report or as its line. */
void
scan_put_rec(const struct thoth_report *rep, struct scan_out *out,
    const json_t *rec)
{
	char *text;

	if (rep != NULL) {
		scan_view_json(rep, out, rec);
		return;
	}
	text = thoth_json_line(rec);
	scan_put(out, text, strlen(text));
	free(text);
}

/* A record of the main thread (the reference, the journal) straight to
 * the report's output; 1 if that said stop. */
int
scan_view_now(const struct thoth_report *rep, const json_t *rec)
{
	struct scan_out out;
	int rv;

	memset(&out, 0, sizeof (out));
	scan_view_json(rep, &out, rec);
	rv = out.nrec > 0 ? rep->out(out.buf, out.len, out.nrec, rep->oarg) : 0;
	free(out.buf);
	return (rv);
}

/* The reference path (jansson): a record that matches the spec to the
 * report, or as its line. */
int
scan_ref_match(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct scan_ref *r = arg;
	char *text, *line;
	int rv;

	(void)where;
	if (!thoth_spec_match(r->spec, rec))
		return (0);
	if (r->rep != NULL)
		return (scan_view_now(r->rep, rec));
	text = thoth_json_line(rec);
	line = thoth_xasprintf("%s\n", text);
	rv = r->fn(line, strlen(line), 1, r->arg);
	free(line);
	free(text);
	return (rv);
}
