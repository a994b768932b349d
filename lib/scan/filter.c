/*
 * filter.c - the record loops of thoth-filter and thoth-report on
 * files: canonical lines are matched (and shown to a report) in place,
 * any other line goes through jansson exactly as in record.c.
 */
#include <err.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/scan.h"

struct job {
	const struct thoth_spec *spec;
	thoth_lines_fn fn;
	void *arg;
	const struct thoth_report *rep;	/* or NULL: the lines themselves */
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

	if (scan_line(wctx, s, len) == 0) {
		if (!scan_spec_match(job->spec, wctx))
			return;
		if (job->rep != NULL)
			scan_view_line(job->rep, out, wctx);
		else
			scan_put(out, s, len);
		return;
	}
	if ((rec = slow_record(out, s, len)) == NULL)
		return;
	if (thoth_spec_match(job->spec, rec))
		scan_put_rec(job->rep, out, rec);
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

static int
filter(struct job *job, int argc, char **argv)
{
	static const struct scan_ops ops = { scan_rec_new, scan_rec_free,
	    filter_line, deliver };
	struct scan_ref ref = { job->spec, job->fn, job->arg, job->rep };

	if (scan_reference())
		return (thoth_records(argc, argv, scan_ref_match, &ref));
	each_file(job, argc, argv, &ops);
	return (job->failed);
}

int
thoth_filter_records(const struct thoth_spec *spec, int argc, char **argv,
    thoth_lines_fn fn, void *arg)
{
	struct job job = { .spec = spec, .fn = fn, .arg = arg };

	return (filter(&job, argc, argv));
}

int
thoth_filter_report(const struct thoth_spec *spec, int argc, char **argv,
    const struct thoth_report *rep)
{
	struct job job = { .spec = spec, .fn = rep->out, .arg = rep->oarg,
	    .rep = rep };

	return (filter(&job, argc, argv));
}

/*
 * Counting: each record's value is its output, ended by a NUL (no value
 * holds one: jansson refuses \u0000); the main thread counts them in a
 * table of value -> count, added to the JSON object at the end.
 */
struct entry {
	char *key;		/* NUL-terminated */
	size_t len;
	uint64_t hash;
	json_int_t n;
};

struct thoth_count {
	const char *field;
	json_t *counts;
	struct entry *e;
	size_t cap, n;
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
rehash(struct thoth_count *t)
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
count(struct thoth_count *t, const char *key, size_t len)
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

static void
count_view(struct thoth_view *v, void *arg)
{
	const struct thoth_count *t = arg;
	int string;
	const char *s = thoth_view_get(v, t->field, &string);

	if (s == NULL)
		s = "undefined";
	thoth_view_put(v, s, strlen(s) + 1);
}

static int
count_values(const char *p, size_t len, size_t n, void *arg)
{
	const char *end = p + len, *nul;

	(void)n;
	for (; p < end; p = nul + 1) {
		nul = memchr(p, '\0', (size_t)(end - p));
		count(arg, p, (size_t)(nul - p));
	}
	return (0);
}

struct thoth_count *
thoth_count_begin(const char *field, json_t *counts, struct thoth_report *rep)
{
	struct thoth_count *t = thoth_xmalloc(sizeof (*t));

	memset(t, 0, sizeof (*t));
	t->field = field;
	t->counts = counts;
	rep->fn = count_view;
	rep->arg = t;
	rep->out = count_values;
	rep->oarg = t;
	return (t);
}

void
thoth_count_end(struct thoth_count *t)
{
	json_t *n;
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (t->e[i].key == NULL)
			continue;
		if ((n = json_object_get(t->counts, t->e[i].key)) != NULL)
			json_integer_set(n, json_integer_value(n) + t->e[i].n);
		else
			json_object_set_new(t->counts, t->e[i].key,
			    json_integer(t->e[i].n));
		free(t->e[i].key);
	}
	free(t->e);
	free(t);
}

int
thoth_count_records(const char *field, int argc, char **argv, json_t *counts)
{
	struct thoth_spec *all = thoth_spec_parse(0, NULL);
	struct thoth_report rep;
	struct thoth_count *t = thoth_count_begin(field, counts, &rep);
	int rv = thoth_filter_report(all, argc, argv, &rep);

	thoth_count_end(t);
	thoth_spec_free(all);
	return (rv);
}

/*
 * Values: a report whose rows are a few fields of each record, read by
 * the workers, so that the thread that gets them parses no JSON.  A
 * row holds, for each path, "-" when it is absent, else the length of
 * its text, ':' and the text (thoth_view_get's), then '\n'.
 */
#define MAXVALUES	16

static void
values_view(struct thoth_view *v, void *arg)
{
	const struct job *job = arg;
	const char *s;
	char n[24];
	int i, string;

	for (i = 0; i < job->nfields; i++) {
		if ((s = thoth_view_get(v, job->fields[i], &string)) == NULL) {
			thoth_view_put(v, "-", 1);
			continue;
		}
		thoth_view_put(v, n, (size_t)snprintf(n, sizeof (n), "%zu:",
		    strlen(s)));
		thoth_view_put(v, s, strlen(s));
	}
	thoth_view_put(v, "\n", 1);
}

/* The records of a chunk back from what values_view wrote. */
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

int
thoth_values_records(const char *const *paths, int n, int argc, char **argv,
    thoth_values_fn fn, void *arg)
{
	struct job job = { .fields = paths, .nfields = n, .vfn = fn,
	    .arg = arg };
	struct thoth_report rep = { values_view, &job, values_lines, &job };
	struct thoth_spec *all = thoth_spec_parse(0, NULL);
	int failed;

	if (n > MAXVALUES)
		abort();
	failed = thoth_filter_report(all, argc, argv, &rep);
	thoth_spec_free(all);
	return (failed || job.failed);
}
