/*
 * thoth-filter - keep the records that match a dump specification
 *
 * usage: thoth-filter [-ceI] [-f file]... [spec ...]
 *
 * Reads records from stdin, from each -f file, or with -I from the
 * index of the store, and writes those matching every spec token to
 * stdout, compact, in input order.  Reads "id", "uploaded" (or "time")
 * and the fields the spec names; writes no field.  With a dump id
 * prefix in the spec the matches are held back until the input ends,
 * so that an ambiguous prefix prints nothing.  -c prints how many
 * match instead, as grep -c does.  Lines are matched in place, on every
 * core (thoth_filter_records).  See thoth-filter(1).
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

#define MAX_SHOWN	8	/* ids listed for an ambiguous prefix */

struct filter {
	struct thoth_spec *spec;
	long limit;		/* -1: no limit */
	long printed;
	size_t matched;
	int hold;		/* short prefix: keep matches until the end */
	char **held;		/* matching lines while they share one id */
	size_t nheld, heldcap;
	char *ids[MAX_SHOWN];	/* distinct ids matched, the first ones */
	size_t nids;
	int more;		/* more than MAX_SHOWN distinct ids */
	int count;		/* -c */
};

static const char usage_text[] =
    "usage: thoth-filter [-ceI] [-f file]... [spec ...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

/* Prints n lines (-c: counts them), up to the limit; 1 (stop reading)
 * once it is reached. */
static int
emit(struct filter *f, const char *lines, size_t len, size_t n)
{
	const char *p = lines;

	if (f->count) {	/* lines may be empty: see count_row */
		if (f->limit >= 0 && n > (size_t)(f->limit - f->printed))
			n = (size_t)(f->limit - f->printed);
		f->printed += (long)n;
		return (f->limit >= 0 && f->printed >= f->limit);
	}
	if (f->limit >= 0 && n > (size_t)(f->limit - f->printed)) {
		for (n = (size_t)(f->limit - f->printed); n > 0; n--)
			p = (const char *)memchr(p, '\n',
			    (size_t)(lines + len - p)) + 1;
		len = (size_t)(p - lines);
		n = (size_t)(f->limit - f->printed);
	}
	if (fwrite(lines, 1, len, stdout) != len)
		err(THOTH_EXIT_FAIL, "stdout");
	f->printed += (long)n;
	return (f->limit >= 0 && f->printed >= f->limit);
}

/* Remembers the distinct ids matched by a prefix; holds the records
 * only while there is one, since two already make the prefix fail. */
static void
hold(struct filter *f, const char *line, size_t len)
{
	json_t *rec = json_loadb(line, len, 0, NULL);
	const char *id = thoth_record_id(rec);
	size_t i;

	for (i = 0; i < f->nids && strcmp(f->ids[i], id) != 0; i++)
		continue;
	if (i == f->nids && f->nids == MAX_SHOWN)
		f->more = 1;
	else if (i == f->nids)
		f->ids[f->nids++] = thoth_xstrdup(id);
	json_decref(rec);
	if (f->nids > 1) {
		while (f->nheld > 0)
			free(f->held[--f->nheld]);
		return;
	}
	if (f->nheld == f->heldcap) {
		f->heldcap = f->heldcap ? 2 * f->heldcap : 8;
		if ((f->held = realloc(f->held, f->heldcap *
		    sizeof (char *))) == NULL)
			err(THOTH_EXIT_FAIL, "out of memory");
	}
	f->held[f->nheld] = thoth_xmalloc(len + 1);
	memcpy(f->held[f->nheld], line, len);
	f->held[f->nheld++][len] = '\0';
}

static int
on_lines(const char *lines, size_t len, size_t n, void *arg)
{
	struct filter *f = arg;
	const char *p, *nl;

	f->matched += n;
	if (!f->hold)
		return (emit(f, lines, len, n));
	for (p = lines; p < lines + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(lines + len - p));
		hold(f, p, (size_t)(nl - p) + 1);
	}
	return (0);
}

/* -c: a matching record, counted and not copied (the view reads no
 * field, so a line known to be canonical is not read past its match). */
static void
count_row(struct thoth_view *v, void *arg)
{
	(void)v;
	(void)arg;
}

static int
scan_index(struct filter *f)
{
	struct thoth_report rep = { count_row, NULL, on_lines, f };
	struct thoth_store *st;
	struct thoth_index *ix;
	int rv = 0;

	if ((st = thoth_store_open(NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if ((ix = thoth_index_open(st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if ((f->count && !f->hold ? thoth_index_report(ix, f->spec, &rep) :
	    thoth_index_filter(ix, f->spec, on_lines, f)) != 0) {
		warnx("%s", thoth_errbuf);
		rv = 1;
	}
	thoth_index_close(ix);
	thoth_store_close(st);
	return (rv);
}

static int
filter_files(struct filter *f, int nfiles, char **files)
{
	struct thoth_report rep = { count_row, NULL, on_lines, f };

	if (f->count && !f->hold)
		return (thoth_filter_report(f->spec, nfiles, files, &rep));
	return (thoth_filter_records(f->spec, nfiles, files, on_lines, f));
}

/* Prints what was held for a prefix, or why nothing is; exit status. */
static int
finish(struct filter *f, int failed, int need_match)
{
	const char *prefix = thoth_spec_prefix(f->spec);
	size_t i;

	if (f->nids > 1) {
		char *list = thoth_xstrdup(f->ids[0]), *s;
		for (i = 1; i < f->nids; i++, list = s) {
			s = thoth_xasprintf("%s, %s", list, f->ids[i]);
			free(list);
		}
		warnx("%s: ambiguous dump prefix (matches %s%s)", prefix, list,
		    f->more ? ", ..." : "");
		free(list);
		return (THOTH_EXIT_FAIL);
	}
	for (i = 0; i < f->nheld; i++)
		if (emit(f, f->held[i], strlen(f->held[i]), 1))
			break;
	if (failed)
		return (THOTH_EXIT_FAIL);
	if (f->matched == 0 && prefix != NULL) {
		warnx("%s: no such dump", prefix);
		return (THOTH_EXIT_NOTFOUND);
	}
	if (f->matched == 0 && need_match) {
		warnx("no dump matches");
		return (THOTH_EXIT_NOTFOUND);
	}
	return (THOTH_EXIT_OK);
}

/* dump=stdin takes stdin for ids, so records must come from elsewhere. */
static void
read_ids(struct thoth_spec *spec, int from_index, int nfiles, char **files)
{
	int i, ok = from_index || nfiles > 0;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") == 0)
			ok = 0;
	if (!ok)
		errx(THOTH_EXIT_FAIL, "dump=stdin reads ids from stdin: "
		    "give the records with -I or -f FILE");
	if (thoth_spec_add_ids(spec, stdin, "-") != 0)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
}

int
main(int argc, char **argv)
{
	struct filter f = { .limit = -1 };
	char **files = thoth_xmalloc(sizeof (char *) * (size_t)argc);
	int c, nfiles = 0, from_index = 0, need_match = 0, failed, rv;
	size_t i;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "cef:I")) != -1) {
		switch (c) {
		case 'c':
			f.count = 1;
			break;
		case 'e':
			need_match = 1;
			break;
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'I':
			from_index = 1;
			break;
		default:
			usage();
		}
	}
	if (from_index && nfiles > 0)
		usage();
	if ((f.spec = thoth_spec_parse(argc - optind, argv + optind)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if (thoth_spec_wants_stdin(f.spec))
		read_ids(f.spec, from_index, nfiles, files);
	f.limit = thoth_spec_limit(f.spec);
	f.hold = thoth_spec_prefix(f.spec) != NULL &&
	    strlen(thoth_spec_prefix(f.spec)) < THOTH_ID_LEN;
	if (from_index)
		failed = scan_index(&f);
	else
		failed = filter_files(&f, nfiles, files);
	rv = finish(&f, failed, need_match);
	if (f.count && f.nids <= 1)	/* an ambiguous prefix prints nothing */
		printf("%ld\n", f.printed);
	for (i = 0; i < f.nids; i++)
		free(f.ids[i]);
	for (i = 0; i < f.nheld; i++)
		free(f.held[i]);
	free(f.held);
	thoth_spec_free(f.spec);
	free(files);
	return (rv);
}
