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
 * "signature": {"text", "hash", "rules"} replaces the crash signature
 * (thoth-sign -e makes these edits for thoth resign).
 * Each edit reads the dump's info.json from the store, changes
 * "properties" or "ticket", writes info.json back and appends the new
 * record to the index, all under the index lock, so edits from many
 * processes never lose each other.  Prints each edited record.  Values,
 * records and nesting have limits (VALUE_MAX, RECORD_MAX, DEPTH_MAX).
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

struct setter {
	struct thoth_store *st;
	struct thoth_index *ix;
	json_t *edit;		/* the edit given by options, or NULL */
	long missing;
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

/* A signature as thoth-sign makes it: three strings, 16 hex digits. */
static int
check_signature(const json_t *sig)
{
	const char *h = json_string_value(json_object_get(sig, "hash"));

	if (sig == NULL)
		return (0);
	if (!json_is_object(sig) || json_object_size(sig) != 3 ||
	    !json_is_string(json_object_get(sig, "text")) ||
	    !json_is_string(json_object_get(sig, "rules")) || h == NULL ||
	    strlen(h) != 16 || strspn(h, "0123456789abcdef") != 16)
		return (thoth_fail("\"signature\" must be {\"text\", "
		    "\"hash\", \"rules\"} as thoth-sign makes it"));
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
	if (check_signature(json_object_get(edit, "signature")) != 0)
		return (-1);
	if (json_object_get(edit, "set") == NULL && json_object_get(edit,
	    "unset") == NULL && json_object_get(edit, "ticket") == NULL &&
	    !json_is_true(json_object_get(edit, "unticket")) && v == NULL &&
	    json_object_get(edit, "signature") == NULL)
		return (thoth_fail("edit changes nothing"));
	return (0);
}

/* Returns the object at rec.name, creating it. Borrowed. */
static json_t *
object_field(json_t *rec, const char *name)
{
	json_t *o = json_object_get(rec, name);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(rec, name, o);
	}
	return (o);
}

/* Who set what: provenance.properties.NAME and provenance.ticket. */
static void
note_provenance(json_t *rec, const json_t *edit)
{
	const json_t *by = json_object_get(edit, "by"), *v, *ran;
	json_t *prov, *props;
	const char *k;
	size_t i;

	if ((ran = json_object_get(edit, "ran")) != NULL) {
		json_t *done = json_deep_copy(ran);
		json_object_del(done, "analyzer");
		json_object_set_new(object_field(rec, "analyzed"),
		    json_string_value(json_object_get(ran, "analyzer")), done);
	}
	/* An edit by hand leaves no analyzer's name on what it changed. */
	if (by == NULL) {
		if ((prov = json_object_get(rec, "provenance")) == NULL)
			return;
		json_object_foreach((json_t *)json_object_get(edit, "set"), k, v)
			thoth_json_del_path(json_object_get(prov, "properties"), k);
		json_array_foreach(json_object_get(edit, "unset"), i, v)
			thoth_json_del_path(json_object_get(prov, "properties"),
			    json_string_value(v));
		if (json_object_get(edit, "ticket") != NULL ||
		    json_object_get(edit, "unticket") != NULL)
			json_object_del(prov, "ticket");
		return;
	}
	prov = object_field(rec, "provenance");
	props = object_field(prov, "properties");
	json_object_foreach((json_t *)json_object_get(edit, "set"), k, v)
		thoth_json_set_path(props, k, json_deep_copy(by));
	json_array_foreach(json_object_get(edit, "unset"), i, v)
		thoth_json_del_path(props, json_string_value(v));
	if (json_object_get(edit, "ticket") != NULL)
		json_object_set(prov, "ticket", (json_t *)by);
	if (json_is_true(json_object_get(edit, "unticket")))
		json_object_del(prov, "ticket");
}

static void
apply(json_t *rec, const json_t *edit)
{
	json_t *props = object_field(rec, "properties"), *v;
	const char *k;
	size_t i;

	json_object_foreach((json_t *)json_object_get(edit, "set"), k, v)
		thoth_json_set_path(props, k, json_deep_copy(v));
	json_array_foreach(json_object_get(edit, "unset"), i, v)
		thoth_json_del_path(props, json_string_value(v));
	if (json_is_true(json_object_get(edit, "unticket")))
		json_object_del(rec, "ticket");
	if ((v = json_object_get(edit, "ticket")) != NULL)
		json_object_set(rec, "ticket", v);
	if ((v = json_object_get(edit, "signature")) != NULL)
		json_object_set_new(rec, "signature", json_deep_copy(v));
	note_provenance(rec, edit);
}

/* Read-modify-write of one info.json under the index lock. */
static int
edit_dump(struct setter *s, const char *id, const json_t *edit)
{
	json_t *rec = NULL;
	int rv;

	if (thoth_index_lock(s->ix) != 0)
		return (-1);
	if ((rv = thoth_store_get_info(s->st, id, &rec)) == 0) {
		apply(rec, edit);
		if ((rv = check_record(rec)) == 0)
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
	if ((rv = edit_dump(s, id, edit)) != 0) {
		warnx("%s: %s", id, thoth_errbuf);
		s->missing += rv > 0;
		return (-1);
	}
	return (0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: thoth-set [-s NAME VALUE | -j NAME JSON | "
	    "-u NAME | -t TICKET | -T] [FILE...]\n");
	exit(THOTH_EXIT_FAIL);
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
	struct setter s = { NULL, NULL, NULL, 0 };
	int c, rv;

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
	rv = thoth_records(argc, argv, set_one, &s);
	json_decref(s.edit);
	thoth_index_close(s.ix);
	thoth_store_close(s.st);
	if (rv && s.missing > 0)
		return (THOTH_EXIT_NOTFOUND);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
