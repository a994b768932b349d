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
	const char *const *fields;	/* values */
	int nfields;
	thoth_values_fn vfn;
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
 * Values: workers read a few fields of each record, so that the thread
 * that gets them parses no JSON.  A worker writes, for each path, "-"
 * when it is absent, else the length of its text, ':' and the text (a
 * string unescaped, anything else its compact JSON), then '\n'.
 */
#define MAXVALUES	16

struct vctx {			/* a worker's */
	struct scan_rec rec;
	char *buf;
	size_t cap;
};

static void *
vctx_new(void *arg)
{
	struct vctx *c = thoth_xmalloc(sizeof (*c));

	(void)arg;
	c->buf = NULL;
	c->cap = 0;
	return (c);
}

static void
vctx_free(void *arg, void *wctx)
{
	struct vctx *c = wctx;

	(void)arg;
	free(c->buf);
	free(c);
}

static void
put_value(struct scan_out *out, const char *s, size_t len)
{
	char n[24];

	scan_bytes(out, n, (size_t)snprintf(n, sizeof (n), "%zu:", len));
	scan_bytes(out, s, len);
}

/* The values of a record jansson read: v[i] NULL when absent, else
 * malloc'd. */
static void
slow_values(const struct job *job, const json_t *rec, char **v)
{
	const json_t *f;
	int i;

	for (i = 0; i < job->nfields; i++)
		v[i] = (f = thoth_json_path(rec, job->fields[i])) != NULL ?
		    thoth_json_scalar(f) : NULL;
}

static void
values_line(void *arg, void *wctx, struct scan_out *out, const char *s,
    size_t len)
{
	struct job *job = arg;
	struct vctx *c = wctx;
	struct scan_val v;
	char *sv[MAXVALUES];
	json_t *rec;
	int i;

	if (scan_line(&c->rec, s, len) == 0) {
		for (i = 0; i < job->nfields; i++) {
			if (!scan_path(&c->rec, job->fields[i], &v))
				scan_bytes(out, "-", 1);
			else if (v.type != SV_STR)
				put_value(out, v.p, v.len);
			else {
				if (v.len > c->cap)
					c->buf = realloc(c->buf, c->cap = v.len);
				if (c->buf == NULL)
					abort();
				put_value(out, c->buf,
				    (size_t)scan_str(&v, c->buf, c->cap));
			}
		}
		scan_put(out, "", 0);
		return;
	}
	if ((rec = slow_record(out, s, len)) == NULL)
		return;
	slow_values(job, rec, sv);
	for (i = 0; i < job->nfields; i++) {
		if (sv[i] == NULL)
			scan_bytes(out, "-", 1);
		else
			put_value(out, sv[i], strlen(sv[i]));
		free(sv[i]);
	}
	scan_put(out, "", 0);
	json_decref(rec);
}

/* The records of a chunk back from what values_line wrote. */
static int
values_lines(const char *lines, size_t len, size_t n, void *arg)
{
	struct job *job = arg;
	const char *p = lines, *e = lines + len;
	char *v[MAXVALUES], *end;
	size_t k;
	int i, rv;

	for (; n > 0 && p < e; n--, p++) {	/* p++: the '\n' */
		for (i = 0; i < job->nfields; i++) {
			if (*p == '-') {
				v[i] = NULL;
				p++;
				continue;
			}
			k = strtoul(p, &end, 10);
			v[i] = thoth_xmalloc(k + 1);
			memcpy(v[i], end + 1, k);
			v[i][k] = '\0';
			p = end + 1 + k;
		}
		rv = job->vfn(v, job->arg);
		for (i = 0; i < job->nfields; i++)
			free(v[i]);
		if (rv < 0)
			job->failed = 1;
		if (rv == 1)
			return (1);
	}
	return (0);
}

static int
values_deliver(void *arg, struct scan_out *out, size_t line0)
{
	struct job *job = arg;

	return (scan_deliver(out, job->name, line0, values_lines, job,
	    &job->failed));
}

/* THOTH_SCAN=jansson: the same values from whole records. */
static int
ref_values(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct job *job = arg;
	char *v[MAXVALUES];
	int i, rv;

	(void)where;
	slow_values(job, rec, v);
	rv = job->vfn(v, job->arg);
	for (i = 0; i < job->nfields; i++)
		free(v[i]);
	return (rv);
}

int
thoth_values_records(const char *const *paths, int n, int argc, char **argv,
    thoth_values_fn fn, void *arg)
{
	static const struct scan_ops ops = { vctx_new, vctx_free,
	    values_line, values_deliver };
	struct job job = { .fields = paths, .nfields = n, .vfn = fn,
	    .arg = arg };

	if (n > MAXVALUES)
		abort();
	if (scan_reference())
		return (thoth_records(argc, argv, ref_values, &job));
	each_file(&job, argc, argv, &ops);
	return (job.failed);
}
