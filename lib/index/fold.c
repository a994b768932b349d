/*
 * fold.c - a record as the fold of its writes (the shared log of an S3
 * store, log.c).
 *
 * Every write is stamped with its place in the log: the log object's
 * key, then the line ("20261130T011850.123456789Z-host-4242-1#000003").
 * A record carries the stamps of what made it in "stamps": "" for the
 * upload record it starts from (the put), and one for each path an edit
 * wrote ("properties.triage", "ticket", "purged", "analyzed.backtrace"),
 * a removal included.  Folding is last-writer-wins per path:
 *   - of two puts, the later one is the base;
 *   - an edit is never undone by a put: edits lie on top of the base;
 *   - an edit of a path loses to a later edit of the same path or of a
 *     path above it, and keeps the later edits below it on top.
 * So the result does not depend on the order writes arrive in, and
 * folding a write twice changes nothing: every host that has read the
 * same log objects has the same records, whatever the order it read
 * them in, and re-reading a window of the log is harmless.
 */
#include <stdlib.h>
#include <string.h>

#include "index/index.h"

#define STAMPS "stamps"

static json_t *
stamps_of(json_t *rec)
{
	json_t *s = json_object_get(rec, STAMPS);

	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(rec, STAMPS, s);
	}
	return (s);
}

/* "a.b.c" exactly, without thoth_json_path's look under "properties". */
static json_t *
get_exact(const json_t *rec, const char *path)
{
	char *copy = thoth_xstrdup(path), *p = copy, *dot;
	json_t *v = (json_t *)rec;

	while (v != NULL && (dot = strchr(p, '.')) != NULL) {
		*dot = '\0';
		v = json_object_get(v, p);
		p = dot + 1;
	}
	v = json_is_object(v) ? json_object_get(v, p) : NULL;
	free(copy);
	return (v);
}

/* Removes path, then the objects above it that it leaves empty: a
 * removal leaves the same record whether or not the path was there. */
static void
remove_path(json_t *rec, const char *path)
{
	char *copy = thoth_xstrdup(path), *dot;
	json_t *parent;

	(void) thoth_json_del_path(rec, copy);
	while ((dot = strrchr(copy, '.')) != NULL) {
		*dot = '\0';
		parent = get_exact(rec, copy);
		if (!json_is_object(parent) || json_object_size(parent) > 0)
			break;
		(void) thoth_json_del_path(rec, copy);
	}
	free(copy);
}

static void
put_path(json_t *rec, const char *path, const json_t *value)
{
	if (value == NULL)
		remove_path(rec, path);
	else
		(void) thoth_json_set_path(rec, path, json_deep_copy(value));
}

/* a is b, or a path above it ("a" of "a.b", not of "ab"). */
static int
covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	return (strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '.'));
}

static const char *
stamp_at(const json_t *stamps, const char *path)
{
	return (json_string_value(json_object_get(stamps, path)));
}

/*
 * One edit of path (value NULL: a removal) stamped s.  A write at the
 * path or above it that is newer keeps it out (an equal stamp at the
 * path itself: the same write again); newer writes below it are put
 * back on top of it; older ones below it are gone, and so are their
 * stamps.
 */
static void
write_path(json_t *rec, const char *path, const json_t *value, const char *s)
{
	json_t *stamps = stamps_of(rec), *newer = json_object(), *v;
	const char *p, *ps;
	void *it;

	json_object_foreach(stamps, p, v) {
		ps = json_string_value(v);
		if (*p != '\0' && ps != NULL && covers(p, path) &&
		    (strcmp(ps, s) > 0 || (strcmp(ps, s) == 0 &&
		    strcmp(p, path) == 0))) {
			json_decref(newer);
			return;
		}
	}
	json_object_foreach_safe(stamps, it, p, v) {
		if (*p == '\0' || strcmp(p, path) == 0 || !covers(path, p))
			continue;
		if (strcmp(json_string_value(v), s) > 0) {
			json_t *keep = get_exact(rec, p);
			json_object_set_new(newer, p, keep != NULL ?
			    json_deep_copy(keep) : json_null());
		} else {
			json_object_del(stamps, p);
		}
	}
	put_path(rec, path, value);
	json_object_foreach(newer, p, v)
		put_path(rec, p, json_is_null(v) ? NULL : v);
	json_object_set_new(stamps, path, json_string(s));
	json_decref(newer);
}

/* Lays every edit of src (its stamped paths but "") over dst. */
static void
overlay(json_t *dst, const json_t *src)
{
	const json_t *stamps = json_object_get(src, STAMPS), *v;
	const char *p;

	json_object_foreach((json_t *)stamps, p, v) {
		if (*p != '\0' && json_is_string(v))
			write_path(dst, p, get_exact(src, p), json_string_value(v));
	}
}

int
thoth_fold_join(json_t *cur, const json_t *in)
{
	const char *inbase = stamp_at(json_object_get(in, STAMPS), "");
	const char *curbase = stamp_at(json_object_get(cur, STAMPS), "");
	json_t *old;

	if (!json_is_object(cur) || !json_is_object(in))
		return (thoth_fail("a fold joins two records"));
	if (inbase != NULL && (curbase == NULL || strcmp(inbase, curbase) > 0)) {
		/* in's base wins; cur's edits go on top of it */
		old = json_deep_copy(cur);
		json_object_clear(cur);
		json_object_update_new(cur, json_deep_copy(in));
		overlay(cur, old);
		json_decref(old);
	} else {
		overlay(cur, in);
	}
	return (0);
}

int
thoth_fold_ops(json_t *rec, const json_t *ops, const char *stamp)
{
	const char *p;
	json_t *v;

	json_object_foreach((json_t *)ops, p, v) {
		if (*p == '\0' || covers(STAMPS, p) || covers("id", p))
			return (thoth_fail("'%s': not a path an edit may "
			    "write", p));
	}
	json_object_foreach((json_t *)ops, p, v) {
		if (stamp != NULL)
			write_path(rec, p, json_is_null(v) ? NULL : v, stamp);
		else
			put_path(rec, p, json_is_null(v) ? NULL : v);
	}
	return (0);
}

/*
 * A log line as a record to join: {"id", "put": RECORD} is the upload
 * record with stamp "" = stamp; {"id", "ops": {PATH: VALUE or null}}
 * is the edits it makes, each stamped.  NULL (thoth_errbuf) for a line
 * that is neither.
 */
json_t *
thoth_fold_entry(const json_t *line, const char *stamp)
{
	const char *id = thoth_record_id(line);
	const json_t *put = json_object_get(line, "put");
	const json_t *ops = json_object_get(line, "ops");
	json_t *rec;

	if (id == NULL || (json_is_object(put) == json_is_object(ops))) {
		thoth_fail("a log line is {\"id\", \"put\" or \"ops\"}");
		return (NULL);
	}
	if (put != NULL) {
		if (!json_equal(json_object_get(put, "id"),
		    json_object_get(line, "id"))) {
			thoth_fail("%s: the record put has another id", id);
			return (NULL);
		}
		rec = json_deep_copy(put);
		json_object_set_new(rec, STAMPS, json_pack("{ss}", "", stamp));
		return (rec);
	}
	rec = json_pack("{sO}", "id", json_object_get(line, "id"));
	if (thoth_fold_ops(rec, ops, stamp) != 0) {
		json_decref(rec);
		return (NULL);
	}
	return (rec);
}
