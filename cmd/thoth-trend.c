/*
 * thoth-trend - counts of dump records per day or week
 *
 * usage: thoth-trend [-b day|week] [-f file]... field
 *        thoth-trend -s [-b day|week] [-n N] [-w width] [-f file]...
 *
 * Reads records from stdin or from each -f file.  The first form prints,
 * for each period (by "time", UTC) that has records, the number of
 * records of each value of field, most frequent first: "PERIOD COUNT
 * VALUE" lines under a header.  -s prints the top N crash signatures
 * ("signature" {text, hash}) with a sparkline of their records per
 * period, in Unicode blocks when stdout is a terminal with a UTF-8
 * locale, else in ASCII.  Reads "time" and the field or "signature" on
 * every core (thoth_values_records).  Writes no record.
 */
#include <err.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

#define DAY	86400

static const char usage_text[] =
    "usage: thoth-trend [-b day|week] [-f file]... field\n"
    "       thoth-trend -s [-b day|week] [-n N] [-w width] [-f file]...\n";

struct trend {
	struct thoth_tally *t;
	const char *field;	/* NULL with -s */
	int64_t width;		/* of a period */
};

static void
usage(void)
{
	thoth_usage(usage_text);
}

/* v: "time", then the field, or the signature's hash and text. */
static int
on_record(char *const *v, void *arg)
{
	struct trend *tr = arg;
	int64_t t = thoth_value_time(v[0]);
	struct thoth_tally_row *r;

	if (tr->field != NULL) {
		thoth_tally_add(tr->t, v[1] != NULL ? v[1] : "undefined", t);
		return (0);
	}
	r = thoth_tally_add(tr->t, v[1] != NULL ? v[1] : "-", t);
	if (r->data == NULL)
		r->data = thoth_xstrdup(v[2] != NULL ? v[2] : "(no signature)");
	return (0);
}

static const char *
date(int64_t t)
{
	static char buf[16];

	return (thoth_utc(t, "%Y-%m-%d", buf, sizeof (buf)));
}

/* Control characters would break the table. */
static void
text(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	putchar('\n');
}

struct cell {
	size_t n;
	const char *key;
};

static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	return (x->n != y->n ? (x->n > y->n ? -1 : 1) : strcmp(x->key, y->key));
}

/* Period by period, the values most frequent first. */
static void
per_period(struct trend *tr)
{
	size_t n, nb, i, k, m;
	struct thoth_tally_row **r = thoth_tally_rows(tr->t, &n);
	int64_t first, last;
	size_t *c;
	struct cell *cells = thoth_xmalloc((n + 1) * sizeof (*cells));
	char *h = thoth_xstrdup(tr->field), *p;

	for (p = h; *p != '\0'; p++)
		*p = *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p;
	printf("%-10s %7s  %s\n", tr->width == DAY ? "DAY" : "WEEK", "COUNT", h);
	free(h);
	if (n == 0) {
		free(cells);
		return;
	}
	thoth_tally_range(tr->t, &first, &last);
	nb = thoth_period_count(first, last, tr->width);
	c = thoth_xmalloc(n * nb * sizeof (*c));
	for (i = 0; i < n; i++)
		thoth_tally_buckets(r[i], first, tr->width, nb, c + i * nb);
	for (k = 0; k < nb; k++) {
		for (i = m = 0; i < n; i++)
			if (c[i * nb + k] > 0)
				cells[m++] = (struct cell){ c[i * nb + k], r[i]->key };
		qsort(cells, m, sizeof (*cells), cmp_cell);
		for (i = 0; i < m; i++) {
			printf("%-10s %7zu  ", date(thoth_period_start(first,
			    tr->width) + (int64_t)k * tr->width), cells[i].n);
			text(cells[i].key);
		}
	}
	free(c);
	free(cells);
}

static int
utf8_terminal(void)
{
	setlocale(LC_CTYPE, "");
	return (isatty(STDOUT_FILENO) &&
	    strcmp(nl_langinfo(CODESET), "UTF-8") == 0);
}

/* One character per period: a blank for none, else 8 levels of the
 * greatest count. */
static void
sparkline(const size_t *c, size_t nb, int utf8)
{
	static const char *const blocks[] = { "\u2581", "\u2582", "\u2583",
	    "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-=+*#@";
	size_t i, max = 1;

	for (i = 0; i < nb; i++)
		max = c[i] > max ? c[i] : max;
	for (i = 0; i < nb; i++) {
		size_t level = (c[i] * 8 + max - 1) / max;	/* 1..8 */
		if (c[i] == 0)
			putchar(' ');
		else if (utf8)
			fputs(blocks[level - 1], stdout);
		else
			putchar(ascii[level - 1]);
	}
}

static void
top(struct trend *tr, size_t ntop, size_t width)
{
	size_t n, nb, i;
	struct thoth_tally_row **r = thoth_tally_rows(tr->t, &n);
	int64_t first = 0, last = 0, w;
	size_t *c;
	int utf8 = utf8_terminal();

	thoth_tally_range(tr->t, &first, &last);
	w = thoth_period_fit(first, last, tr->width, width);
	nb = thoth_period_count(first, last, w);
	c = thoth_xmalloc((nb + 1) * sizeof (*c));
	printf("%7s  %-*s  %-10s %-10s %s\n", "COUNT", (int)nb, "TREND",
	    "FIRST", "LAST", "SIGNATURE");
	for (i = 0; i < n && i < ntop; i++) {
		thoth_tally_buckets(r[i], first, w, nb, c);
		printf("%7zu  ", r[i]->n);
		sparkline(c, nb, utf8);
		printf("%*s  %-10s ", nb < 5 ? (int)(5 - nb) : 0, "",
		    date(r[i]->first));
		printf("%-10s ", date(r[i]->last));
		text(r[i]->data);
	}
	free(c);
}

int
main(int argc, char **argv)
{
	const char *paths[3] = { "time", "signature.hash", "signature.text" };
	struct trend tr = { thoth_tally_new(), NULL, DAY };
	char **files = thoth_xmalloc(sizeof (char *) * (size_t)argc);
	int c, nfiles = 0, sflag = 0, failed;
	size_t ntop = 20, width = 30;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "b:f:n:sw:")) != -1) {
		switch (c) {
		case 'b':
			if (strcmp(optarg, "day") != 0 &&
			    strcmp(optarg, "week") != 0)
				errx(THOTH_EXIT_FAIL, "%s: not day or week",
				    optarg);
			tr.width = optarg[0] == 'd' ? DAY : 7 * DAY;
			break;
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'n':
			ntop = (size_t)thoth_opt_number(optarg, 1, 100000);
			break;
		case 's':
			sflag = 1;
			break;
		case 'w':
			width = (size_t)thoth_opt_number(optarg, 1, 1000);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != !sflag)
		usage();
	tr.field = sflag ? NULL : argv[optind];
	paths[1] = sflag ? paths[1] : tr.field;
	failed = thoth_values_records(paths, sflag ? 3 : 2, nfiles, files,
	    on_record, &tr);
	if (sflag)
		top(&tr, ntop, width);
	else
		per_period(&tr);
	thoth_tally_free(tr.t, sflag ? free : NULL);
	free(files);
	return (failed ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
