/*
 * thoth-report - count the values of a field, or list records as a table
 *
 * usage: thoth-report [-I | -f file ...] [-s spec]... field
 *        thoth-report -t [-w width] [-I | -f file ...] [-s spec]... [field ...]
 *
 * Reads records from stdin, from each -f file or (-I) from the index,
 * those matching the spec tokens given with -s (thoth-filter(1)), in
 * place and on every core: one process for thoth ls and thoth report.
 * The first form prints a JSON object of value -> number of records, most frequent
 * first; the value is a string as is, anything else as compact JSON,
 * "undefined" when absent.  -t prints the table of thoth ls: "id"
 * (16 digits), "type", "time" (UTC), "cmd" for cores or "node" for
 * crash dumps, "ticket", then each field asked for; -w shares a width
 * (a terminal's) out among the last columns, cutting what does not fit
 * with "...".  Writes no record.
 */
#include <ctype.h>
#include <err.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "thoth.h"

#define COLUMN	16	/* width of the NODE/CMD, TICKET and extra columns */
#define FIXED	43	/* NAME, TYPE and TIME with their blanks */

static int column = COLUMN;	/* -w: fitted to the width */
static int fit;			/* -w: cells cut to their column */

struct report {
	char **fields;
	int nfields;
	json_t *counts;		/* value -> number of records */
	struct thoth_spec *spec;
	int index;		/* -I */
	long left;		/* records still wanted, -1: all */
	size_t matched;
	char sep;		/* ends a record's output */
	thoth_lines_fn out;	/* where limited() sends rows */
	void *oarg;
};

struct count {
	const char *key;
	json_int_t n;
};

static const char usage_text[] =
    "usage: thoth-report [-I | -f file ...] [-s spec]... field\n"
    "       thoth-report -t [-w width] [-I | -f file ...] [-s spec]... "
    "[field ...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

static int
cmp_count(const void *a, const void *b)
{
	const struct count *x = a, *y = b;

	if (x->n != y->n)
		return (x->n > y->n ? -1 : 1);
	return (strcmp(x->key, y->key));
}

/* The counts, most frequent first, as a JSON object indented by 2. */
static void
print_counts(json_t *counts)
{
	size_t n = json_object_size(counts), i = 0;
	struct count *c = thoth_xmalloc(n * sizeof (*c));
	json_t *sorted = json_object(), *v;
	const char *key;

	json_object_foreach(counts, key, v) {
		c[i].key = key;
		c[i++].n = json_integer_value(v);
	}
	qsort(c, n, sizeof (*c), cmp_count);
	for (i = 0; i < n; i++)
		json_object_set_new(sorted, c[i].key, json_integer(c[i].n));
	char *s = json_dumps(sorted, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	free(c);
	json_decref(sorted);
}

typedef void (*put_fn)(void *dst, const char *s, size_t n);

static void
put_view(void *dst, const char *s, size_t n)
{
	thoth_view_put(dst, s, n);
}

static void
put_stdout(void *dst, const char *s, size_t n)
{
	(void)dst;
	if (fwrite(s, 1, n, stdout) != n)
		err(THOTH_EXIT_FAIL, "stdout");
}

/* Control characters would break the table (thoth-report never sets a
 * locale: these are iscntrl's in "C"). */
static int
control(unsigned char c)
{
	return (c < 0x20 || c == 0x7f);
}

/* A table cell, through put: control characters become '?'.  With -w,
 * a cell longer than its column ends in "..." (characters are counted,
 * not the bytes of their UTF-8). */
static void
cell(put_fn put, void *dst, const char *s, int width, int last)
{
	static const char pad[] = "                                ";
	const char *p, *run = s;
	int n = 0, len = 0;

	for (p = s; fit && *p != '\0'; p++)
		len += ((unsigned char)*p & 0xc0) != 0x80;
	for (p = s; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80) {
			if (fit && len > width && n == width - 3)
				break;
			n++;
		}
		if (control((unsigned char)*p)) {
			put(dst, run, (size_t)(p - run));
			put(dst, "?", 1);
			run = p + 1;
		}
	}
	put(dst, run, (size_t)(p - run));
	if (*p != '\0') {	/* cut */
		put(dst, "...", width >= 3 ? 3 : 0);
		n = width;
	}
	if (last)
		return;
	for (n = width > n ? width - n + 1 : 1; n > 0; n -= (int)sizeof (pad) - 1)
		put(dst, pad, n < (int)sizeof (pad) - 1 ? (size_t)n :
		    sizeof (pad) - 1);
}

/* A field as text, "-" when absent (or, with string, not a string). */
static const char *
text(const char *s, int is_string, int want_string)
{
	return (s == NULL || (want_string && !is_string) ? "-" : s);
}

/*
 * "time", a JSON integer, in UTC.  Rows come mostly in time order, so
 * each worker keeps the date of the last day it wrote: gmtime and
 * strftime only when the day changes, arithmetic for the hour.
 */
static void
time_cell(struct thoth_view *v)
{
	static __thread long long day = LLONG_MIN;	/* none yet */
	static __thread char date[16];
	char buf[32], *end;
	int string;
	const char *s = thoth_view_field(v, "time", &string);
	long long t, d, sec;

	if (s == NULL || string || (t = strtoll(s, &end, 10), *end)) {
		cell(put_view, v, "-", 19, 0);
		return;
	}
	d = t / 86400 - (t % 86400 < 0);
	sec = t - d * 86400;
	if (d != day) {
		if (strcmp(thoth_utc(t, "%Y-%m-%dT", date, sizeof (date)),
		    "-") == 0 || strlen(date) != 11) {
			day = LLONG_MIN;	/* a year past 9999 */
			cell(put_view, v, thoth_utc(t, "%Y-%m-%dT%H:%M:%S",
			    buf, sizeof (buf)), 19, 0);
			return;
		}
		day = d;
	}
	memcpy(buf, date, 11);
	buf[11] = (char)('0' + sec / 36000);
	buf[12] = (char)('0' + sec / 3600 % 10);
	buf[13] = ':';
	buf[14] = (char)('0' + sec % 3600 / 600);
	buf[15] = (char)('0' + sec % 3600 / 60 % 10);
	buf[16] = ':';
	buf[17] = (char)('0' + sec % 60 / 10);
	buf[18] = (char)('0' + sec % 10);
	thoth_view_put(v, buf, 19);
	thoth_view_put(v, " ", 1);
}

static void
on_row(struct thoth_view *v, void *arg)
{
	const struct report *r = arg;
	const char *s;
	char name[17];
	int str, crash, i;
	size_t n;

	s = thoth_view_field(v, "id", &str);
	s = text(s, str, 1);
	n = strnlen(s, 16);
	memcpy(name, s, n);
	name[n] = '\0';
	cell(put_view, v, name, 16, 0);
	s = thoth_view_field(v, "type", &str);
	crash = s != NULL && str && strcmp(s, "crash") == 0;
	cell(put_view, v, text(s, str, 1), 5, 0);
	time_cell(v);
	s = thoth_view_field(v, crash ? "node" : "cmd", &str);
	cell(put_view, v, text(s, str, 0), column, 0);
	s = thoth_view_field(v, "ticket", &str);
	cell(put_view, v, text(s, str, 0), column, r->nfields == 0);
	for (i = 0; i < r->nfields; i++) {
		s = thoth_view_get(v, r->fields[i], &str);
		cell(put_view, v, text(s, str, 0), column,
		    i == r->nfields - 1);
	}
	thoth_view_put(v, "\n", 1);
}

/* Rows (records ending in sep) up to the spec's limit; 1 stops reading. */
static int
limited(const char *p, size_t len, size_t n, void *arg)
{
	struct report *r = arg;
	const char *q = p;
	size_t k;

	if (r->left >= 0 && n > (size_t)r->left) {
		for (k = 0; k < (size_t)r->left; k++)
			q = (const char *)memchr(q, r->sep, len) + 1;
		len = (size_t)(q - p);
		n = (size_t)r->left;
	}
	if (n > 0 && r->out(p, len, n, r->oarg))
		return (1);
	r->matched += n;
	return (r->left >= 0 && (r->left -= (long)n) == 0);
}

static int
print_rows(const char *p, size_t len, size_t n, void *arg)
{
	(void)n;
	(void)arg;
	if (fwrite(p, 1, len, stdout) != len)
		err(THOTH_EXIT_FAIL, "stdout");
	return (0);
}

static void
print_header(const struct report *r)
{
	int i;

	printf("%-16s %-5s %-19s ", "NAME", "TYPE", "TIME");
	cell(put_stdout, NULL, "NODE/CMD", column, 0);
	cell(put_stdout, NULL, "TICKET", column, r->nfields == 0);
	for (i = 0; i < r->nfields; i++) {
		char *h = thoth_xstrdup(r->fields[i]), *p;
		for (p = h; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
		cell(put_stdout, NULL, h, column, i == r->nfields - 1);
		free(h);
	}
	putchar('\n');
}

/* The records of the spec, from the index or the files, to rep. */
static int
run(struct report *r, struct thoth_report *rep, int argc, char **argv)
{
	struct thoth_store *st;
	struct thoth_index *ix;
	int rv;

	r->left = thoth_spec_limit(r->spec);
	r->out = rep->out;
	r->oarg = rep->oarg;
	rep->out = limited;
	rep->oarg = r;
	if (!r->index)
		return (thoth_filter_report(r->spec, argc, argv, rep));
	if ((st = thoth_store_open(NULL)) == NULL ||
	    (ix = thoth_index_open(st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if ((rv = thoth_index_report(ix, r->spec, rep)) != 0)
		warnx("%s", thoth_errbuf);
	thoth_index_close(ix);
	thoth_store_close(st);
	return (rv != 0);
}

/* As thoth-filter says it: a prefix that matches nothing is exit 2. */
static int
status(struct report *r, int failed)
{
	const char *prefix = thoth_spec_prefix(r->spec);
	int rv = failed ? THOTH_EXIT_FAIL : THOTH_EXIT_OK;

	if (!failed && prefix != NULL && r->matched == 0) {
		warnx("%s: no such dump", prefix);
		rv = THOTH_EXIT_NOTFOUND;
	}
	thoth_spec_free(r->spec);
	return (rv);
}

/* dump=stdin takes stdin for ids: the records come from elsewhere. */
static void
read_ids(struct report *r, int nfiles)
{
	if (!r->index && nfiles == 0)
		errx(THOTH_EXIT_FAIL, "dump=stdin reads ids from stdin: "
		    "give the records with -I or -f FILE");
	if (thoth_spec_add_ids(r->spec, stdin, "-") != 0)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
}

int
main(int argc, char **argv)
{
	struct report r = { .counts = json_object() };
	struct thoth_report rep = { on_row, &r, print_rows, NULL };
	struct thoth_count *count;
	char **files = thoth_xmalloc(sizeof (char *) * (size_t)argc);
	char **specs = thoth_xmalloc(sizeof (char *) * (size_t)argc);
	int c, nfiles = 0, nspecs = 0, table = 0, width = 0, failed;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "f:Is:tw:")) != -1) {
		switch (c) {
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'I':
			r.index = 1;
			break;
		case 's':
			specs[nspecs++] = optarg;
			break;
		case 't':
			table = 1;
			break;
		case 'w':
			width = (int)thoth_opt_number(optarg, 1, 100000);
			break;
		default:
			usage();
		}
	}
	r.fields = argv + optind;
	r.nfields = argc - optind;
	if ((!table && r.nfields != 1) || (r.index && nfiles > 0))
		usage();
	if (width > 0) {	/* NODE/CMD, TICKET, the fields: blanks between */
		fit = 1;
		column = (width - FIXED - (r.nfields + 1)) / (r.nfields + 2);
		column = column < 4 ? 4 : column;
	}
	if ((r.spec = thoth_spec_parse(nspecs, specs)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if (thoth_spec_wants_stdin(r.spec))
		read_ids(&r, nfiles);
	if (table) {
		print_header(&r);
		r.sep = '\n';
		failed = run(&r, &rep, nfiles, files);
	} else {
		count = thoth_count_begin(r.fields[0], r.counts, &rep);
		failed = run(&r, &rep, nfiles, files);
		thoth_count_end(count);
		print_counts(r.counts);
	}
	json_decref(r.counts);
	free(specs);
	free(files);
	return (status(&r, failed));
}
