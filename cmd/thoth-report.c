/*
 * thoth-report - count the values of a field, or list records as a table
 *
 * usage: thoth-report [-f file]... field
 *        thoth-report -t [-w width] [-f file]... [field ...]
 *
 * Reads records from stdin or from each -f file.  The first form
 * prints a JSON object of value -> number of records, most frequent
 * first; the value is a string as is, anything else as compact JSON,
 * "undefined" when absent.  -t prints the table of thoth ls: "id"
 * (16 digits), "type", "time" (UTC), "cmd" for cores or "node" for
 * crash dumps, "ticket", then each field asked for; -w shares a width
 * (a terminal's) out among the last columns, cutting what does not fit
 * with "...".  Writes no record.
 */
#include <ctype.h>
#include <err.h>
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
};

struct count {
	const char *key;
	json_int_t n;
};

static const char usage_text[] =
    "usage: thoth-report [-f file]... field\n"
    "       thoth-report -t [-w width] [-f file]... [field ...]\n";

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

/* Prints a table cell: control characters would break the table.
 * With -w, a cell longer than its column ends in "..." (characters are
 * counted, not the bytes of their UTF-8). */
static void
cell(const char *s, int width, int last)
{
	int n = 0, len = 0;
	const char *p;

	for (p = s; *p != '\0'; p++)
		len += ((unsigned char)*p & 0xc0) != 0x80;
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80) {
			if (fit && len > width && n == width - 3) {
				fputs(width >= 3 ? "..." : "", stdout);
				n = width;
				break;
			}
			n++;
		}
		putchar(iscntrl((unsigned char)*s) ? '?' : *s);
	}
	if (!last)
		printf("%*s", width > n ? width - n + 1 : 1, "");
}

static void
value_cell(const json_t *v, int width, int last)
{
	char *s = v != NULL ? thoth_json_scalar(v) : thoth_xstrdup("-");

	cell(s, width, last);
	free(s);
}

static void
time_cell(const json_t *v)
{
	char buf[32];
	struct tm tm;
	time_t t = (time_t)json_integer_value(v);

	if (!json_is_integer(v) || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof (buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strcpy(buf, "-");
	cell(buf, 19, 0);
}

static int
on_row(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct report *r = arg;
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *type = json_string_value(json_object_get(rec, "type"));
	const json_t *who = json_object_get(rec,
	    type != NULL && strcmp(type, "crash") == 0 ? "node" : "cmd");
	char name[17];
	int i;

	(void)where;
	snprintf(name, sizeof (name), "%s", id != NULL ? id : "-");
	cell(name, 16, 0);
	cell(type != NULL ? type : "-", 5, 0);
	time_cell(json_object_get(rec, "time"));
	value_cell(who, column, 0);
	value_cell(json_object_get(rec, "ticket"), column, r->nfields == 0);
	for (i = 0; i < r->nfields; i++)
		value_cell(thoth_json_path(rec, r->fields[i]), column,
		    i == r->nfields - 1);
	putchar('\n');
	return (0);
}

static void
print_header(const struct report *r)
{
	int i;

	printf("%-16s %-5s %-19s ", "NAME", "TYPE", "TIME");
	cell("NODE/CMD", column, 0);
	cell("TICKET", column, r->nfields == 0);
	for (i = 0; i < r->nfields; i++) {
		char *h = thoth_xstrdup(r->fields[i]), *p;
		for (p = h; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
		cell(h, column, i == r->nfields - 1);
		free(h);
	}
	putchar('\n');
}

int
main(int argc, char **argv)
{
	struct report r = { NULL, 0, json_object() };
	char **files = thoth_xmalloc(sizeof (char *) * (size_t)argc);
	int c, nfiles = 0, table = 0, width = 0, failed;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "f:tw:")) != -1) {
		switch (c) {
		case 'f':
			files[nfiles++] = optarg;
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
	if (!table && r.nfields != 1)
		usage();
	if (width > 0) {	/* NODE/CMD, TICKET, the fields: blanks between */
		fit = 1;
		column = (width - FIXED - (r.nfields + 1)) / (r.nfields + 2);
		column = column < 4 ? 4 : column;
	}
	if (table) {
		print_header(&r);
		failed = thoth_records(nfiles, files, on_row, &r);
	} else {
		failed = thoth_count_records(r.fields[0], nfiles, files,
		    r.counts);
		print_counts(r.counts);
	}
	json_decref(r.counts);
	free(files);
	return (failed ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
