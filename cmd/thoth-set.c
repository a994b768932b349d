/*
 * thoth-set - edit properties and tickets of stored dumps
 *
 * thoth-set [-s NAME VALUE | -j NAME JSON | -u NAME | -t TICKET | -T] [FILE...]
 *
 * With an option, applies that one edit to every dump whose record
 * (anything with an "id") is read.  Without one, each input line is an
 * edit record, as analyzers write them:
 *   {"id": ID, "set": {NAME: VALUE, ...}, "unset": [NAME, ...],
 *    "ticket": TICKET, "unticket": true,
 *    "by": {"analyzer": NAME, "hash": H, "time": T}, "ran": {...}}
 * "by" is provenance: it is recorded under "provenance" for each
 * property or ticket the edit sets.  "ran" records that an analyzer ran
 * on the dump, as "analyzed": {NAME: {"hash", "time", "exit"}}.
 * "signature": {"text", "hash", "rules"[, "build_text", "build_hash"]}
 * replaces the crash signature (thoth-sign -e makes these edits for
 * thoth resign); "stack": {"stack", "stack_depth", "stack_status"[,
 * "stack_pcs"]} replaces those fields (thoth resymbolize).
 * An edit is a set of paths written (edit_ops).  In a directory store
 * each edit reads the dump's info.json, writes those paths, writes it
 * back and appends the new record to the index, all under the index
 * lock, so edits from many processes never lose each other.  In an S3
 * store, shared by many hosts, nothing is written back: the edits go,
 * up to 1000 at a time, as one new object of the store's log, and the
 * local index folds them in (thoth-s3(7)).  Prints each edited record.
 * Values, records and nesting have limits (VALUE_MAX, RECORD_MAX,
 * DEPTH_MAX).
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

#define BATCH	1000	/* edits in one log object (S3) */

struct setter {
	struct thoth_store *st;
	struct thoth_index *ix;
	json_t *edit;		/* the edit given by options, or NULL */
	json_t *batch;		/* S3: log lines not written yet */
	long missing;
	int failed;		/* a batch failed */
};

/* Tickets are keys of a defect tracker: OS-2359, MANTA-1817. */
static int
valid_ticket(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-");

	return (n > 0 && n <= 64 && t[n] == '\0' && t[0] != '-');
}

/* Property names: dotted paths of words, e.g. triage.engineer. */
static int
valid_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-.");

	return (n > 0 && n <= 128 && s[n] == '\0' && s[0] != '.' &&
	    s[n - 1] != '.' && strstr(s, "..") == NULL);
}

/* 16 lowercase hex digits. */
static int
is_hash(const json_t *v)
{
	const char *h = json_string_value(v);

	return (h != NULL && strlen(h) == 16 &&
	    strspn(h, "0123456789abcdef") == 16);
}

/* A signature as thoth-sign makes it: text, hash and rules, and maybe
 * build_text and build_hash. */
static int
check_signature(const json_t *sig)
{
	size_t n = json_object_size(sig);

	if (sig == NULL)
		return (0);
	if (!json_is_object(sig) || (n != 3 && n != 5) ||
	    !json_is_string(json_object_get(sig, "text")) ||
	    !json_is_string(json_object_get(sig, "rules")) ||
	    !is_hash(json_object_get(sig, "hash")) || (n == 5 &&
	    (!json_is_string(json_object_get(sig, "build_text")) ||
	    !is_hash(json_object_get(sig, "build_hash")))))
		return (thoth_fail("\"signature\" must be {\"text\", "
		    "\"hash\", \"rules\"[, \"build_text\", \"build_hash\"]} "
		    "as thoth-sign makes it"));
	return (0);
}

/*
 * Limits, so that what one tool writes every other can read and edit
 * cheaply: a value of at most VALUE_MAX bytes (compact JSON), a record
 * of at most RECORD_MAX bytes, nesting at most DEPTH_MAX deep (jq reads
 * 256 levels; an edit record wraps the value in two more).
 */
#define VALUE_MAX (1 << 20)
#define RECORD_MAX (8 << 20)
#define DEPTH_MAX 128

static size_t
json_size(const json_t *v)
{
	return (json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY));
}

static int
json_depth(const json_t *v)
{
	const json_t *e;
	const char *k;
	size_t i;
	int d = 0, sub;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e)
			if ((sub = json_depth(e)) > d)
				d = sub;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if ((sub = json_depth(e)) > d)
				d = sub;
	} else {
		return (0);
	}
	return (d + 1);
}

/* The record an edit made: within the limits, or why not. */
static int
check_record(const json_t *rec)
{
	size_t n;
	int d;

	if ((d = json_depth(rec)) > DEPTH_MAX)
		return (thoth_fail("the edit would nest the record %d deep, "
		    "more than %d (thoth-set(1))", d, DEPTH_MAX));
	if ((n = json_size(rec)) > RECORD_MAX)
		return (thoth_fail("the edit would make the record %zu bytes, "
		    "more than %d (thoth-set(1))", n, RECORD_MAX));
	return (0);
}

/* A stack as thoth-meta makes it, for thoth resymbolize. */
/* An array of strings. */
static int
strings(const json_t *a)
{
	const json_t *v;
	size_t i;

	if (!json_is_array(a))
		return (0);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return (0);
	}
	return (1);
}

static int
check_stack(const json_t *st)
{
	const json_t *pcs = json_object_get(st, "stack_pcs");

	if (st == NULL)
		return (0);
	if (!json_is_object(st) ||
	    json_object_size(st) != (pcs != NULL ? 4 : 3) ||
	    !strings(json_object_get(st, "stack")) ||
	    (pcs != NULL && !strings(pcs)) ||
	    !json_is_integer(json_object_get(st, "stack_depth")) ||
	    !json_is_string(json_object_get(st, "stack_status")))
		return (thoth_fail("\"stack\" must be {\"stack\", "
		    "\"stack_depth\", \"stack_status\"[, \"stack_pcs\"]} as "
		    "thoth-meta makes them"));
	return (0);
}

/* Checks an edit record before anything is written. */
static int
check_edit(const json_t *edit)
{
	const json_t *v;
	const char *k;
	size_t i;

	if ((v = json_object_get(edit, "set")) != NULL && !json_is_object(v))
		return (thoth_fail("\"set\" must be an object"));
	if ((v = json_object_get(edit, "unset")) != NULL && !json_is_array(v))
		return (thoth_fail("\"unset\" must be an array"));
	json_object_foreach((json_t *)json_object_get(edit, "set"), k, v) {
		if (!valid_name(k))
			return (thoth_fail("'%s': bad property name", k));
		if (json_is_null(v))	/* absent means unknown: never null */
			return (thoth_fail("'%s': null is not a value (unset "
			    "it instead)", k));
		if (json_size(v) > VALUE_MAX)
			return (thoth_fail("'%s': value of %zu bytes, more than "
			    "%d (thoth-set(1))", k, json_size(v), VALUE_MAX));
	}
	json_array_foreach(json_object_get(edit, "unset"), i, v) {
		if (!json_is_string(v) || !valid_name(json_string_value(v)))
			return (thoth_fail("bad property name in unset"));
	}
	v = json_object_get(edit, "ticket");
	if (v != NULL && (!json_is_string(v) ||
	    !valid_ticket(json_string_value(v))))
		return (thoth_fail("'%s': bad ticket (letters, digits and "
		    "dashes only)", json_is_string(v) ? json_string_value(v) :
		    "?"));
	if ((v = json_object_get(edit, "by")) != NULL && (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "analyzer"))))
		return (thoth_fail("\"by\" must name an analyzer"));
	if ((v = json_object_get(edit, "ran")) != NULL && (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "analyzer")) ||
	    !valid_name(json_string_value(json_object_get(v, "analyzer")))))
		return (thoth_fail("\"ran\" must name an analyzer"));
	if (check_signature(json_object_get(edit, "signature")) != 0 ||
	    check_stack(json_object_get(edit, "stack")) != 0)
		return (-1);
	if (json_object_get(edit, "set") == NULL && json_object_get(edit,
	    "unset") == NULL && json_object_get(edit, "ticket") == NULL &&
	    !json_is_true(json_object_get(edit, "unticket")) && v == NULL &&
	    json_object_get(edit, "signature") == NULL &&
	    json_object_get(edit, "stack") == NULL)
		return (thoth_fail("edit changes nothing"));
	return (0);
}

/* One path the edit writes (prefix + name); null removes it. */
static void
op(json_t *ops, const char *prefix, const char *name, json_t *value)
{
	char *path = thoth_xasprintf("%s%s", prefix, name);

	json_object_set_new(ops, path, value);
	free(path);
}

/*
 * What an edit writes, path by path: properties, and who set them
 * (provenance: an edit by hand leaves no analyzer's name on what it
 * changed), the ticket, the signature, an analyzer's run.  The same
 * ops are applied to info.json in a directory store and logged in an
 * S3 store, so both give the same record.
 */
static json_t *
edit_ops(const json_t *edit)
{
	const json_t *by = json_object_get(edit, "by"), *v, *ran;
	json_t *ops = json_object(), *done;
	const char *k;
	size_t i;

	json_object_foreach((json_t *)json_object_get(edit, "set"), k, v) {
		op(ops, "properties.", k, json_deep_copy(v));
		op(ops, "provenance.properties.", k, by != NULL ?
		    json_deep_copy(by) : json_null());
	}
	json_array_foreach(json_object_get(edit, "unset"), i, v) {
		op(ops, "properties.", json_string_value(v), json_null());
		op(ops, "provenance.properties.", json_string_value(v),
		    json_null());
	}
	if (json_is_true(json_object_get(edit, "unticket"))) {
		op(ops, "", "ticket", json_null());
		op(ops, "", "provenance.ticket", json_null());
	}
	if ((v = json_object_get(edit, "ticket")) != NULL) {
		op(ops, "", "ticket", json_deep_copy(v));
		op(ops, "", "provenance.ticket", by != NULL ?
		    json_deep_copy(by) : json_null());
	}
	if ((v = json_object_get(edit, "signature")) != NULL)
		op(ops, "", "signature", json_deep_copy(v));
	/* A stack without stack_pcs leaves none of the old one's. */
	if ((v = json_object_get(edit, "stack")) != NULL &&
	    json_object_get(v, "stack_pcs") == NULL)
		op(ops, "", "stack_pcs", json_null());
	json_object_foreach((json_t *)json_object_get(edit, "stack"), k, v)
		op(ops, "", k, json_deep_copy(v));
	if ((ran = json_object_get(edit, "ran")) != NULL) {
		done = json_deep_copy(ran);
		json_object_del(done, "analyzer");
		op(ops, "analyzed.", json_string_value(json_object_get(ran,
		    "analyzer")), done);
	}
	return (ops);
}

/* Read-modify-write of one info.json under the index lock. */
static int
edit_dump(struct setter *s, const char *id, const json_t *ops)
{
	json_t *rec = NULL;
	int rv;

	if (thoth_index_lock(s->ix) != 0)
		return (-1);
	if ((rv = thoth_store_get_info(s->st, id, &rec)) == 0) {
		rv = thoth_fold_ops(rec, ops, NULL);
		if (rv == 0 && (rv = check_record(rec)) == 0)
			rv = thoth_store_put_info(s->st, rec);
		/* Then the index: when that fails, say that the store changed. */
		if (rv == 0 && (rv = thoth_index_append(s->ix, rec)) != 0)
			warnx("%s: info.json changed but the index did not "
			    "(thoth index mends it)", id);
	} else if (rv > 0) {
		thoth_fail("no such dump in %s", thoth_store_url(s->st));
	}
	thoth_index_unlock(s->ix);
	if (rv == 0)
		thoth_json_print(stdout, rec);
	json_decref(rec);
	return (rv);
}

/* The records of ids in the index; if some are not there, once more
 * after a refresh: another host may have stored them a moment ago. */
static json_t *
known_ids(struct setter *s, const json_t *ids)
{
	json_t *known = thoth_index_get(s->ix, ids);

	if (known != NULL && json_object_size(known) < json_array_size(ids) &&
	    thoth_log_refresh(s->ix, s->st, 0, 0) == 0) {
		json_decref(known);
		known = thoth_index_get(s->ix, ids);
	}
	return (known);
}

/*
 * An S3 store: the batch of edits becomes one log object (nothing
 * shared is read and written back), for dumps the index knows after a
 * refresh; the records they make are printed in input order.
 */
static int
flush_log(struct setter *s)
{
	json_t *ids = json_array(), *known, *lines = json_array(), *out;
	json_t *line;
	size_t i;
	int rv = 0;

	if (json_array_size(s->batch) == 0)
		goto done;
	json_array_foreach(s->batch, i, line)
		json_array_append(ids, json_object_get(line, "id"));
	if ((known = known_ids(s, ids)) == NULL) {
		warnx("%s", thoth_errbuf);
		rv = -1;
		goto done;
	}
	json_array_foreach(s->batch, i, line) {
		const char *id = thoth_record_id(line);
		if (json_object_get(known, id) != NULL) {
			json_array_append(lines, line);
			continue;
		}
		warnx("%s: no such dump in %s", id, thoth_store_url(s->st));
		s->missing++;
		rv = -1;
	}
	out = json_object();
	if (json_array_size(lines) > 0 &&
	    thoth_log_write(s->ix, s->st, lines, out) != 0) {
		warnx("%s", thoth_errbuf);
		rv = -1;
	} else {
		json_array_foreach(lines, i, line)
			thoth_json_print(stdout, json_object_get(out,
			    thoth_record_id(line)));
	}
	json_decref(out);
	json_decref(known);
done:
	json_array_clear(s->batch);
	json_decref(lines);
	json_decref(ids);
	s->failed |= rv != 0;
	return (rv);
}

static int
set_one(json_t *in, const struct thoth_where *w, void *arg)
{
	struct setter *s = arg;
	const char *id = thoth_record_id(in);
	const json_t *edit = s->edit != NULL ? s->edit : in;
	int rv;

	if (id == NULL) {
		warnx("%s:%zu: record has no valid \"id\"", w->file, w->line);
		return (-1);
	}
	if (s->edit == NULL && check_edit(edit) != 0) {
		warnx("%s:%zu: %s", w->file, w->line, thoth_errbuf);
		return (-1);
	}
	json_t *ops = edit_ops(edit);
	if (s->batch != NULL) {
		json_array_append_new(s->batch, json_pack("{ss, so}", "id", id,
		    "ops", ops));
		return (json_array_size(s->batch) < BATCH ? 0 : flush_log(s));
	}
	rv = edit_dump(s, id, ops);
	json_decref(ops);
	if (rv != 0) {
		warnx("%s: %s", id, thoth_errbuf);
		s->missing += rv > 0;
		return (-1);
	}
	return (0);
}

static const char usage_text[] =
    "usage: thoth-set [-s NAME VALUE | -j NAME JSON | "
    "-u NAME | -t TICKET | -T] [FILE...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

/* The edit an option asks for; NAME/VALUE come from argv after it. */
static json_t *
option_edit(int c, int *argc, char ***argv)
{
	json_t *edit = json_object(), *v;
	json_error_t jerr;

	if (c == 'T')
		json_object_set_new(edit, "unticket", json_true());
	else if (c == 't')
		json_object_set_new(edit, "ticket", json_string(optarg));
	else if (c == 'u')
		json_object_set_new(edit, "unset", json_pack("[s]", optarg));
	else {
		if (optind >= *argc)
			usage();
		const char *arg = (*argv)[optind++];
		v = c == 's' ? thoth_json_string(arg, strlen(arg)) :
		    json_loads(arg, JSON_DECODE_ANY, &jerr);
		if (v == NULL)
			errx(THOTH_EXIT_FAIL, "%s: bad JSON value: %s", optarg,
			    jerr.text);
		json_object_set_new(edit, "set", json_object());
		json_object_set_new(json_object_get(edit, "set"), optarg, v);
	}
	return (edit);
}

int
main(int argc, char **argv)
{
	struct setter s = { NULL, NULL, NULL, NULL, 0, 0 };
	int c, rv;

	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "s:j:u:t:T")) != -1) {
		if (c == '?' || s.edit != NULL)
			usage();
		s.edit = option_edit(c, &argc, &argv);
	}
	argc -= optind;
	argv += optind;
	if (s.edit != NULL && check_edit(s.edit) != 0)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	atexit(thoth_close_stdout);
	if ((s.st = thoth_store_open(NULL)) == NULL ||
	    (s.ix = thoth_index_open(s.st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if (thoth_log_kept(s.st)) {
		s.batch = json_array();
		if (thoth_log_refresh(s.ix, s.st, -1, 0) != 0)
			errx(THOTH_EXIT_FAIL, "%s: %s", thoth_store_url(s.st),
			    thoth_errbuf);
	}
	rv = thoth_records(argc, argv, set_one, &s);
	if (s.batch != NULL)
		(void) flush_log(&s);
	rv |= s.failed;
	json_decref(s.batch);
	json_decref(s.edit);
	thoth_index_close(s.ix);
	thoth_store_close(s.st);
	if (rv && s.missing > 0)
		return (THOTH_EXIT_NOTFOUND);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
