/*
 * thoth-html - a crash report page of dump records
 *
 * usage: thoth-html [-d dumps] [-n signatures] [-N age] [-o page]
 *            [-T title] [-f file]...
 *
 * Reads records (stdin or each -f file) and writes one self-contained
 * HTML page: totals for the period, the top crash signatures with a
 * per-day SVG sparkline, first and last seen, hosts, tickets and whether
 * the signature is new, the newest dumps of each, and breakdowns by
 * platform, node and cmd.  Reads "id", "type", "time", "node", "cmd",
 * "platform", "ticket", "stack" and "signature" {text, hash}, on every
 * core (thoth_values_records).  Every string from a record is
 * HTML-escaped.  -o writes the page to a file, by rename, and only when
 * every input was read.  Writes no record.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

#define DAY	86400
#define SPARK_MAX	120	/* points of a sparkline: longer periods merge days */
#define BREAKDOWN	20	/* rows of each breakdown */
#define NBY	3

/* The fields read, and where they are in the values of a record. */
enum { F_ID, F_TYPE, F_TIME, F_NODE, F_CMD, F_PLATFORM, F_TICKET, F_STACK,
    F_HASH, F_TEXT, NFIELDS };
static const char *const fields[NFIELDS] = { "id", "type", "time", "node",
    "cmd", "platform", "ticket", "stack", "signature.hash",
    "signature.text" };
static const int by_field[NBY] = { F_PLATFORM, F_NODE, F_CMD };
#define SHOWN	5	/* fields of a dump shown: id, node, cmd, ticket, stack */
static const int shown[SHOWN] = { F_ID, F_NODE, F_CMD, F_TICKET, F_STACK };

static const char usage_text[] =
    "usage: thoth-html [-d dumps] [-n signatures] [-N age] [-o page]\n"
    "           [-T title] [-f file]...\n";

static FILE *out;	/* the page: stdout, or a buffer for -o */

struct dump {			/* one of the newest dumps of a signature */
	int64_t time;
	char *v[SHOWN];		/* the values of shown[], "-" when absent */
};

struct sig {			/* tally row data of a signature */
	char *text;
	json_t *nodes, *tickets;	/* sets: value -> null */
	struct dump *dumps;	/* the newest, at most page.ndumps */
	size_t n;
};

struct page {
	struct thoth_tally *sigs;
	struct thoth_tally *by[NBY];	/* the breakdowns */
	size_t total, crash, ticketed, hosts;
	int64_t first, last;
	size_t nsigs, ndumps;
	int64_t new_age;
	const char *title;
};

static void
usage(void)
{
	thoth_usage(usage_text);
}

/* The one escaping policy of the page: text and attribute values. */
static void
esc(const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			/* C0 controls are not allowed in HTML text. */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				putc('?', out);
			else
				putc(*s, out);
		}
	}
}

/* Each frame of a stack (its JSON text) on a line of its own. */
static void
stack_lines(const char *text)
{
	json_t *st = text != NULL ? json_loads(text, 0, NULL) : NULL, *f;
	size_t i;

	json_array_foreach(st, i, f) {
		if (json_is_string(f)) {
			esc(json_string_value(f));
			putc('\n', out);
		}
	}
	json_decref(st);
}

static void
free_dump(struct dump *d)
{
	int i;

	for (i = 0; i < SHOWN; i++)
		free(d->v[i]);
}

/* Keeps the dump if it is among the newest ndumps of its signature. */
static void
keep_dump(struct sig *s, size_t ndumps, char *const *v, int64_t t)
{
	size_t i, slot = s->n;

	if (ndumps == 0)
		return;
	if (s->n == ndumps) {
		for (i = slot = 0; i < s->n; i++)
			if (s->dumps[i].time < s->dumps[slot].time)
				slot = i;
		if (s->dumps[slot].time >= t)
			return;
		free_dump(&s->dumps[slot]);
	} else
		s->n++;
	s->dumps[slot].time = t;
	for (i = 0; i < SHOWN; i++)
		s->dumps[slot].v[i] = thoth_xstrdup(v[shown[i]] != NULL ?
		    v[shown[i]] : "-");
}

static struct sig *
new_sig(const char *text, size_t ndumps)
{
	struct sig *s = thoth_xmalloc(sizeof (*s));

	s->text = thoth_xstrdup(text != NULL ? text : "(no signature)");
	s->nodes = json_object();
	s->tickets = json_object();
	s->dumps = thoth_xmalloc((ndumps + 1) * sizeof (*s->dumps));
	s->n = 0;
	return (s);
}

static int
on_record(char *const *v, void *arg)
{
	struct page *p = arg;
	int64_t t = thoth_value_time(v[F_TIME]);
	struct thoth_tally_row *r;
	struct sig *s;
	int i;

	r = thoth_tally_add(p->sigs, v[F_HASH] != NULL ? v[F_HASH] : "-", t);
	if ((s = r->data) == NULL)
		s = r->data = new_sig(v[F_TEXT], p->ndumps);
	if (v[F_NODE] != NULL)
		json_object_set_new(s->nodes, v[F_NODE], json_null());
	if (v[F_TICKET] != NULL)
		json_object_set_new(s->tickets, v[F_TICKET], json_null());
	keep_dump(s, p->ndumps, v, t);
	for (i = 0; i < NBY; i++)
		thoth_tally_add(p->by[i], v[by_field[i]] != NULL ?
		    v[by_field[i]] : "-", t);
	p->crash += v[F_TYPE] != NULL && strcmp(v[F_TYPE], "crash") == 0;
	p->ticketed += v[F_TICKET] != NULL;
	p->total++;
	return (0);
}

static const char *
when(int64_t t)
{
	static char buf[32];

	return (thoth_utc(t, "%Y-%m-%d %H:%M", buf, sizeof (buf)));
}

/* The page's only script: sorting by a column, filtering the rows.  Its
 * SHA-256 is in the Content-Security-Policy (tests/html.t checks that
 * it runs): nothing else can run, nothing is loaded from elsewhere. */
static const char script[] =
    "document.querySelectorAll('table.sort th').forEach(function(th,i){"
    "th.onclick=function(){var b=th.closest('table').tBodies[0],"
    "r=Array.from(b.rows),d=th.dataset.dir=th.dataset.dir=='a'?'d':'a';"
    "r.sort(function(x,y){var p=x.cells[i].dataset.v||x.cells[i].textContent,"
    "q=y.cells[i].dataset.v||y.cells[i].textContent,n=p-q,"
    "c=isNaN(n)?p.localeCompare(q):n;return d=='a'?c:-c;});"
    "r.forEach(function(x){b.appendChild(x);});};});"
    "var q=document.getElementById('q');q.oninput=function(){"
    "var s=q.value.toLowerCase();"
    "document.querySelectorAll('#sigs tbody tr').forEach(function(r){"
    "r.hidden=s!==''&&r.textContent.toLowerCase().indexOf(s)<0;});};"
    "document.body.dataset.js='ok';";
#define SCRIPT_SHA256 "jDxNKSsk7PMMJQMJKlwch21839Ofb5A2+H+mNwECSZg="

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}th{cursor:pointer;background:#f4f4f4}"
    "td.n{text-align:right}.new{color:#b00;font-weight:bold}"
    ".spark{color:#36c}time,td.t{white-space:nowrap}"
    "pre{margin:0;font-size:12px}"
    ".bd{display:inline-block;vertical-align:top;margin-right:2em}";

static void
head(const struct page *p)
{
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src"
	    " 'none'; style-src 'unsafe-inline'; script-src 'sha256-%s'\">"
	    "<title>", SCRIPT_SHA256);
	esc(p->title);
	fprintf(out, "</title><style>%s</style></head>\n<body><h1>", style);
	esc(p->title);
	fprintf(out, "</h1>\n");
}

static size_t
count_new(const struct page *p, struct thoth_tally_row **rows, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += rows[i]->first >= p->last - p->new_age;
	return (k);
}

static void
totals(const struct page *p, struct thoth_tally_row **rows, size_t n)
{
	fprintf(out, "<p>From <time id=\"first\">%s</time>", when(p->first));
	fprintf(out, " to <time id=\"last\">%s</time> UTC</p>\n", when(p->last));
	fprintf(out, "<table id=\"totals\"><tr><th>dumps</th><th>cores</th>"
	    "<th>crash dumps</th><th>signatures</th><th>new signatures</th>"
	    "<th>hosts</th><th>with a ticket</th></tr>\n<tr>");
	fprintf(out, "<td class=\"n\" id=\"total-dumps\">%zu</td>", p->total);
	fprintf(out, "<td class=\"n\" id=\"total-cores\">%zu</td>", p->total - p->crash);
	fprintf(out, "<td class=\"n\" id=\"total-crash\">%zu</td>", p->crash);
	fprintf(out, "<td class=\"n\" id=\"total-signatures\">%zu</td>", n);
	fprintf(out, "<td class=\"n\" id=\"total-new\">%zu</td>",
	    count_new(p, rows, n));
	fprintf(out, "<td class=\"n\" id=\"total-hosts\">%zu</td>", p->hosts);
	fprintf(out, "<td class=\"n\" id=\"total-ticketed\">%zu</td></tr></table>\n",
	    p->ticketed);
}

/* A polyline of the counts per day (or per several days). */
static void
sparkline(const struct page *p, const struct thoth_tally_row *r)
{
	int64_t width = thoth_period_fit(p->first, p->last, DAY, SPARK_MAX);
	size_t nb = thoth_period_count(p->first, p->last, width), i, max = 1;
	size_t *c = thoth_xmalloc(nb * sizeof (*c));

	thoth_tally_buckets(r, p->first, width, nb, c);
	for (i = 0; i < nb; i++)
		max = c[i] > max ? c[i] : max;
	fprintf(out, "<svg class=\"spark\" width=\"120\" height=\"24\" "
	    "viewBox=\"0 0 120 24\" data-days=\"%lld\" data-counts=\"",
	    (long long)(width / DAY));
	for (i = 0; i < nb; i++)
		fprintf(out, "%s%zu", i ? "," : "", c[i]);
	fprintf(out, "\"><polyline fill=\"none\" stroke=\"currentColor\" points=\"");
	for (i = 0; i < nb || i < 2; i++)
		fprintf(out, "%s%.1f,%.1f", i ? " " : "",
		    nb > 1 ? 120.0 * i / (nb - 1) : 120.0 * i,
		    22.0 - 20.0 * c[nb > 1 ? i : 0] / max);
	fprintf(out, "\"/></svg>");
	free(c);
}

/* Up to max keys of a set, then how many more. */
static void
set_cell(const json_t *set, size_t max)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	fprintf(out, "<td data-v=\"%zu\"><b>%zu</b>", json_object_size(set),
	    json_object_size(set));
	json_object_foreach((json_t *)set, key, v) {
		if (i++ == max) {
			fprintf(out, " &hellip;");
			break;
		}
		fprintf(out, "%s", i > 1 ? ", " : ": ");
		esc(key);
	}
	fprintf(out, "</td>");
}

static void
sig_row(const struct page *p, const struct thoth_tally_row *r, size_t k)
{
	const struct sig *s = r->data;
	int fresh = r->first >= p->last - p->new_age;

	fprintf(out, "<tr class=\"sig\"><td class=\"n\">%zu</td><td>", r->n);
	sparkline(p, r);
	fprintf(out, "</td><td><a href=\"#s%zu\">", k);
	esc(s->text);
	fprintf(out, "</a></td><td class=\"t\" data-v=\"%lld\">%s</td>",
	    (long long)r->first, when(r->first));
	fprintf(out, "<td class=\"t\" data-v=\"%lld\">%s</td>", (long long)r->last,
	    when(r->last));
	set_cell(s->nodes, 2);
	set_cell(s->tickets, 5);
	fprintf(out, "<td%s>%s</td></tr>\n", fresh ? " class=\"new\"" : "",
	    fresh ? "new" : "");
}

static void
sig_table(const struct page *p, struct thoth_tally_row **rows, size_t n)
{
	size_t i;

	fprintf(out, "<h2>Top crash signatures</h2>\n<p><input id=\"q\" "
	    "type=\"search\" placeholder=\"filter\"></p>\n"
	    "<table id=\"sigs\" class=\"sort\"><thead><tr><th>dumps</th>"
	    "<th>per day</th><th>signature</th><th>first seen</th>"
	    "<th>last seen</th><th>hosts</th><th>tickets</th><th>new</th>"
	    "</tr></thead><tbody>\n");
	for (i = 0; i < n && i < p->nsigs; i++)
		sig_row(p, rows[i], i + 1);
	fprintf(out, "</tbody></table>\n");
}

static int
newest_first(const void *a, const void *b)
{
	const struct dump *x = a, *y = b;

	return (x->time != y->time ? (x->time > y->time ? -1 : 1) :
	    strcmp(x->v[0], y->v[0]));
}

static void
dumps(const struct thoth_tally_row *r, size_t k)
{
	struct sig *s = r->data;
	size_t i;

	fprintf(out, "<section id=\"s%zu\"><h3>", k);
	esc(s->text);
	fprintf(out, "</h3>\n<table class=\"dumps sort\"><thead><tr><th>id</th>"
	    "<th>time</th><th>node</th><th>cmd</th><th>ticket</th>"
	    "<th>stack</th></tr></thead><tbody>\n");
	qsort(s->dumps, s->n, sizeof (*s->dumps), newest_first);
	for (i = 0; i < s->n; i++) {
		char *const *v = s->dumps[i].v;
		fprintf(out, "<tr><td>");
		esc(v[0]);
		fprintf(out, "</td><td class=\"t\">%s</td><td>",
		    when(s->dumps[i].time));
		esc(v[1]);
		fprintf(out, "</td><td class=\"cmd\">");
		esc(v[2]);
		fprintf(out, "</td><td>");
		esc(v[3]);
		fprintf(out, "</td><td><pre>");
		stack_lines(v[4]);
		fprintf(out, "</pre></td></tr>\n");
	}
	fprintf(out, "</tbody></table>%s</section>\n",
	    r->n > s->n ? "<p>(older dumps not shown)</p>" : "");
}

static void
breakdown(const char *name, struct thoth_tally *t)
{
	struct thoth_tally_row **r;
	size_t n, i, rest = 0;

	r = thoth_tally_rows(t, &n);
	fprintf(out, "<div class=\"bd\"><h3>%s</h3><table id=\"by-%s\" class=\"sort\">"
	    "<thead><tr><th>%s</th><th>dumps</th></tr></thead><tbody>\n",
	    name, name, name);
	for (i = 0; i < n; i++) {
		if (i >= BREAKDOWN) {
			rest += r[i]->n;
			continue;
		}
		fprintf(out, "<tr><td>");
		esc(r[i]->key);
		fprintf(out, "</td><td class=\"n\">%zu</td></tr>\n", r[i]->n);
	}
	if (rest > 0)
		fprintf(out, "<tr><td>(%zu others)</td><td class=\"n\">%zu</td></tr>\n",
		    n - BREAKDOWN, rest);
	fprintf(out, "</tbody></table></div>\n");
}

static void
free_sig(void *data)
{
	struct sig *s = data;
	size_t i;

	for (i = 0; i < s->n; i++)
		free_dump(&s->dumps[i]);
	free(s->dumps);
	free(s->text);
	json_decref(s->nodes);
	json_decref(s->tickets);
	free(s);
}

static void
render(struct page *p)
{
	struct thoth_tally_row **rows;
	size_t n, i, hosts;

	rows = thoth_tally_rows(p->sigs, &n);
	thoth_tally_range(p->sigs, &p->first, &p->last);
	thoth_tally_rows(p->by[1], &hosts);
	p->hosts = hosts;
	head(p);
	totals(p, rows, n);
	sig_table(p, rows, n);
	fprintf(out, "<h2>Breakdowns</h2>\n");
	for (i = 0; i < NBY; i++)
		breakdown(fields[by_field[i]], p->by[i]);
	fprintf(out, "<h2>Dumps by signature</h2>\n");
	for (i = 0; i < n && i < p->nsigs; i++)
		dumps(rows[i], i + 1);
	fprintf(out, "<script>%s</script>\n</body></html>\n", script);
}

/* A missing input would make a page that looks whole: none is made. */
static void
check_inputs(int nfiles, char **files)
{
	int i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") != 0 && access(files[i], R_OK) != 0)
			err(THOTH_EXIT_FAIL, "%s", files[i]);
}

/* -o: the page replaces path (by rename) only when every input was read
 * whole, so a published page is never half-made.  The new failed. */
static int
publish(const char *path, char **buf, size_t *len, int failed)
{
	if (fclose(out) != 0)
		err(THOTH_EXIT_FAIL, "%s", path);
	if (failed)
		warnx("%s: left as it was: some input failed", path);
	else if (thoth_write_file_atomic(path, *buf, *len) != 0) {
		warnx("%s", thoth_errbuf);
		failed = 1;
	}
	free(*buf);
	return (failed);
}

int
main(int argc, char **argv)
{
	struct page p = { .nsigs = 50, .ndumps = 10, .new_age = 7 * DAY,
	    .title = "Crash report" };
	char **files = thoth_xmalloc(sizeof (char *) * (size_t)argc);
	int c, i, nfiles = 0, failed;
	const char *page = NULL;
	char *buf = NULL;
	size_t len = 0;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "d:f:n:N:o:T:")) != -1) {
		switch (c) {
		case 'd':
			p.ndumps = (size_t)thoth_opt_number(optarg, 0, 100000);
			break;
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'n':
			p.nsigs = (size_t)thoth_opt_number(optarg, 0, 100000);
			break;
		case 'N':
			if (thoth_parse_age(optarg, &p.new_age) != 0)
				errx(THOTH_EXIT_FAIL, "%s: %s", optarg,
				    thoth_errbuf);
			break;
		case 'o':
			page = optarg;
			break;
		case 'T':
			p.title = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	check_inputs(nfiles, files);
	out = page != NULL ? open_memstream(&buf, &len) : stdout;
	if (out == NULL)
		err(THOTH_EXIT_FAIL, "open_memstream");
	p.sigs = thoth_tally_new();
	for (i = 0; i < NBY; i++)
		p.by[i] = thoth_tally_new();
	failed = thoth_values_records(fields, NFIELDS, nfiles, files, on_record,
	    &p);
	render(&p);
	if (page != NULL)
		failed = publish(page, &buf, &len, failed);
	thoth_tally_free(p.sigs, free_sig);
	for (i = 0; i < NBY; i++)
		thoth_tally_free(p.by[i], NULL);
	free(files);
	return (failed ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
