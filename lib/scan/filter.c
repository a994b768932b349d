/*
 * filter.c - the record loops of thoth-filter and thoth-report on
 * files: canonical lines are matched (or counted) in place, any other
 * line goes through jansson exactly as in record.c.
 */
#include <err.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/scan.h"

struct job {
	const struct thoth_spec *spec;	/* filter */
	thoth_lines_fn fn;
	void *arg;
	const char *field;		/* count */
	json_t *counts;
	const char *const *fields;	/* project */
	int nfields;
	unsigned astext;
	thoth_record_fn rfn;
	const char *name;		/* the input being read */
	int failed;
};

/* record.c's view of one line: NULL for a blank line or a parse error
 * (warned about), else the record. */
static json_t *
slow_record(struct scan_out *out, const char *s, size_t len)
{
	json_error_t jerr;
	json_t *rec;
	size_t i;

	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r');
	    i++)
		continue;
	if (i == len)
		return (NULL);
	rec = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec == NULL || !json_is_object(rec)) {
		scan_warn(out, "parse error: %s", rec == NULL ? jerr.text :
		    "not a JSON object");
		json_decref(rec);
		return (NULL);
	}
	return (rec);
}

static void
filter_line(void *arg, void *wctx, struct scan_out *out, const char *s,
    size_t len)
{
	struct job *job = arg;
	json_t *rec;
	char *text;

	if (scan_line(wctx, s, len) == 0) {
		if (scan_spec_match(job->spec, wctx))
			scan_put(out, s, len);
		return;
	}
	if ((rec = slow_record(out, s, len)) == NULL)
		return;
	if (thoth_spec_match(job->spec, rec)) {
		text = thoth_json_line(rec);
		scan_put(out, text, strlen(text));
		free(text);
	}
	json_decref(rec);
}

static int
deliver(void *arg, struct scan_out *out, size_t line0)
{
	struct job *job = arg;

	return (scan_deliver(out, job->name, line0, job->fn, job->arg,
	    &job->failed));
}

/* Each input as thoth_records reads them; 1 if stopped. */
static int
each_file(struct job *job, int argc, char **argv,
    const struct scan_ops *ops)
{
	int i, fd, rv;

	for (i = 0; i < argc || (argc == 0 && i == 0); i++) {
		job->name = argc == 0 ? "-" : argv[i];
		if (strcmp(job->name, "-") == 0)
			fd = STDIN_FILENO;
		else if ((fd = open(job->name, O_RDONLY | O_CLOEXEC)) < 0) {
			warn("%s", job->name);
			job->failed = 1;
			continue;
		}
		rv = scan_fd(fd, ops, job);
		if (rv < 0) {
			warn("%s", job->name);
			job->failed = 1;
		}
		if (fd != STDIN_FILENO)
			close(fd);
		if (rv > 0)
			return (1);
	}
	return (0);
}

int
thoth_filter_records(const struct thoth_spec *spec, int argc, char **argv,
    thoth_lines_fn fn, void *arg)
{
	static const struct scan_ops ops = { scan_rec_new, scan_rec_free, filter_line,
	    deliver };
	struct scan_ref ref = { spec, fn, arg };
	struct job job = { .spec = spec, .fn = fn, .arg = arg };

	if (scan_reference())
		return (thoth_records(argc, argv, scan_ref_match, &ref));
	each_file(&job, argc, argv, &ops);
	return (job.failed);
}

/*
 * Counting: each worker keeps its own table of value -> count, merged
 * into the JSON object when the workers are done.
 */
struct entry {
	char *key;		/* NUL-terminated */
	size_t len;
	uint64_t hash;
	json_int_t n;
};

struct table {
	struct scan_rec rec;
	struct entry *e;
	size_t cap, n;
	char *buf;		/* a string value, unescaped */
	size_t bufcap;
};

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(14695981039346656037);

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
	return (h);
}

static void
rehash(struct table *t)
{
	struct entry *old = t->e;
	size_t oldcap = t->cap, i, j;

	t->cap = t->cap ? t->cap * 2 : 256;
	t->e = thoth_xmalloc(t->cap * sizeof (*t->e));
	memset(t->e, 0, t->cap * sizeof (*t->e));
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		for (j = old[i].hash & (t->cap - 1); t->e[j].key != NULL;
		    j = (j + 1) & (t->cap - 1))
			continue;
		t->e[j] = old[i];
	}
	free(old);
}

static void
count(struct table *t, const char *key, size_t len)
{
	uint64_t h = hash(key, len);
	size_t j;

	if (2 * (t->n + 1) > t->cap)
		rehash(t);
	for (j = h & (t->cap - 1); t->e[j].key != NULL;
	    j = (j + 1) & (t->cap - 1)) {
		if (t->e[j].hash == h && t->e[j].len == len &&
		    memcmp(t->e[j].key, key, len) == 0) {
			t->e[j].n++;
			return;
		}
	}
	t->e[j].key = thoth_xmalloc(len + 1);
	memcpy(t->e[j].key, key, len);
	t->e[j].key[len] = '\0';
	t->e[j].len = len;
	t->e[j].hash = h;
	t->e[j].n = 1;
	t->n++;
}

static void *
new_table(void *arg)
{
	struct table *t = thoth_xmalloc(sizeof (*t));

	(void)arg;
	memset(t, 0, sizeof (*t));
	return (t);
}

static void
merge_table(void *arg, void *wctx)
{
	struct job *job = arg;
	struct table *t = wctx;
	json_t *n;
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (t->e[i].key == NULL)
			continue;
		if ((n = json_object_get(job->counts, t->e[i].key)) != NULL)
			json_integer_set(n, json_integer_value(n) + t->e[i].n);
		else
			json_object_set_new(job->counts, t->e[i].key,
			    json_integer(t->e[i].n));
		free(t->e[i].key);
	}
	free(t->e);
	free(t->buf);
	free(t);
}

static void
count_line(void *arg, void *wctx, struct scan_out *out, const char *s,
    size_t len)
{
	struct job *job = arg;
	struct table *t = wctx;
	struct scan_val v;
	json_t *rec;
	char *key;

	if (scan_line(&t->rec, s, len) == 0) {
		if (!scan_path(&t->rec, job->field, &v))
			count(t, "undefined", 9);
		else if (v.type != SV_STR)
			count(t, v.p, v.len);
		else {
			if (v.len > t->bufcap) {
				free(t->buf);
				t->buf = thoth_xmalloc(t->bufcap = v.len);
			}
			count(t, t->buf, (size_t)scan_str(&v, t->buf, t->bufcap));
		}
		return;
	}
	if ((rec = slow_record(out, s, len)) == NULL)
		return;
	const json_t *found = thoth_json_path(rec, job->field);
	key = found != NULL ? thoth_json_scalar(found) :
	    thoth_xstrdup("undefined");
	count(t, key, strlen(key));
	free(key);
	json_decref(rec);
}

static int
warn_only(void *arg, struct scan_out *out, size_t line0)
{
	struct job *job = arg;

	return (scan_deliver(out, job->name, line0, NULL, NULL, &job->failed));
}

static int
ref_count(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct job *job = arg;
	const json_t *v = thoth_json_path(rec, job->field);
	char *key = v != NULL ? thoth_json_scalar(v) : thoth_xstrdup("undefined");
	json_t *n = json_object_get(job->counts, key);

	(void)where;
	if (n != NULL)
		json_integer_set(n, json_integer_value(n) + 1);
	else
		json_object_set_new(job->counts, key, json_integer(1));
	free(key);
	return (0);
}

int
thoth_count_records(const char *field, int argc, char **argv, json_t *counts)
{
	static const struct scan_ops ops = { new_table, merge_table,
	    count_line, warn_only };
	struct job job = { .field = field, .counts = counts };

	if (scan_reference())
		return (thoth_records(argc, argv, ref_count, &job));
	each_file(&job, argc, argv, &ops);
	return (job.failed);
}

/*
 * Projection: workers cut each record down to a few top-level fields
 * (copied as they are from a canonical line), so that the one thread
 * that builds objects parses only those.  A worker's line is the object
 * of the other fields, then "\x1f" and the JSON text of each astext
 * field (nothing when absent): the text is never lexed by jansson, and
 * no JSON text holds a raw control character.
 */
#define SEP	"\x1f"

static int
astext(const struct job *job, int i)
{
	return ((job->astext & 1u << i) != 0);
}

static void
project_fast(const struct job *job, struct scan_rec *r, struct scan_out *out)
{
	struct scan_val v;
	int i, n = 0;

	scan_bytes(out, "{", 1);
	for (i = 0; i < job->nfields; i++) {
		if (astext(job, i) || !scan_get(r, job->fields[i],
		    strlen(job->fields[i]), &v))
			continue;
		scan_bytes(out, ",\"" + (n == 0), n == 0 ? 1 : 2);
		n++;
		scan_bytes(out, job->fields[i], strlen(job->fields[i]));
		scan_bytes(out, "\":", 2);
		scan_bytes(out, v.p, v.len);
	}
	scan_bytes(out, "}", 1);
	for (i = 0; i < job->nfields; i++) {
		if (!astext(job, i))
			continue;
		scan_bytes(out, SEP, 1);
		if (scan_get(r, job->fields[i], strlen(job->fields[i]), &v))
			scan_bytes(out, v.p, v.len);
	}
	scan_put(out, "", 0);
}

static void
project_slow(const struct job *job, const json_t *rec, struct scan_out *out)
{
	json_t *cut = json_object();
	const json_t *f;
	char *text;
	int i;

	for (i = 0; i < job->nfields; i++) {
		f = json_object_get(rec, job->fields[i]);
		if (f != NULL && !astext(job, i))
			json_object_set(cut, job->fields[i], (json_t *)f);
	}
	text = thoth_json_line(cut);
	scan_bytes(out, text, strlen(text));
	free(text);
	json_decref(cut);
	for (i = 0; i < job->nfields; i++) {
		if (!astext(job, i))
			continue;
		scan_bytes(out, SEP, 1);
		if ((f = json_object_get(rec, job->fields[i])) == NULL)
			continue;
		text = thoth_json_line(f);
		scan_bytes(out, text, strlen(text));
		free(text);
	}
	scan_put(out, "", 0);
}

static void
project_line(void *arg, void *wctx, struct scan_out *out, const char *s,
    size_t len)
{
	struct job *job = arg;
	json_t *rec;

	if (scan_line(wctx, s, len) == 0) {
		project_fast(job, wctx, out);
		return;
	}
	if ((rec = slow_record(out, s, len)) == NULL)
		return;
	project_slow(job, rec, out);
	json_decref(rec);
}

/* A worker's line back into a record: the object, then the texts. */
static json_t *
unproject(const struct job *job, const char *s, size_t len)
{
	const char *end = s + len, *sep = memchr(s, SEP[0], len), *next;
	json_t *rec = json_loadb(s, (size_t)((sep ? sep : end) - s), 0, NULL);
	int i;

	for (i = 0; i < job->nfields && rec != NULL && sep != NULL; i++) {
		if (!astext(job, i))
			continue;
		s = sep + 1;
		next = memchr(s, SEP[0], (size_t)(end - s));
		sep = next;
		if ((next != NULL ? next : end) > s)
			json_object_set_new(rec, job->fields[i],
			    json_stringn(s, (size_t)((next ? next : end) - s)));
	}
	return (rec);
}

static int
project_lines(const char *lines, size_t len, size_t n, void *arg)
{
	struct job *job = arg;
	struct thoth_where where = { job->name, 0 };
	const char *nl;
	json_t *rec;
	int rv = 0;

	(void)n;
	for (; len > 0 && rv != 1; len -= (size_t)(nl - lines) + 1,
	    lines = nl + 1) {
		nl = memchr(lines, '\n', len);
		rec = unproject(job, lines, (size_t)(nl - lines));
		if (rec != NULL && (rv = job->rfn(rec, &where, job->arg)) < 0)
			job->failed = 1;
		json_decref(rec);
	}
	return (rv == 1);
}

static int
project_deliver(void *arg, struct scan_out *out, size_t line0)
{
	struct job *job = arg;

	return (scan_deliver(out, job->name, line0, project_lines, job,
	    &job->failed));
}

/* THOTH_SCAN=jansson: the same records from whole ones. */
static int
ref_project(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct job *job = arg;
	json_t *cut = json_object();
	const json_t *f;
	char *text;
	int i, rv;

	for (i = 0; i < job->nfields; i++) {
		if ((f = json_object_get(rec, job->fields[i])) == NULL)
			continue;
		if (astext(job, i)) {
			text = thoth_json_line(f);
			json_object_set_new(cut, job->fields[i],
			    json_string(text));
			free(text);
		} else
			json_object_set(cut, job->fields[i], (json_t *)f);
	}
	rv = job->rfn(cut, where, job->arg);
	json_decref(cut);
	return (rv);
}

int
thoth_project_records(const char *const *fields, int nfields,
    unsigned astext, int argc, char **argv, thoth_record_fn fn, void *arg)
{
	static const struct scan_ops ops = { scan_rec_new, scan_rec_free,
	    project_line, project_deliver };
	struct job job = { .fields = fields, .nfields = nfields,
	    .astext = astext, .rfn = fn, .arg = arg };

	if (scan_reference())
		return (thoth_records(argc, argv, ref_project, &job));
	each_file(&job, argc, argv, &ops);
	return (job.failed);
}
