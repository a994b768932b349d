/*
 * thoth-index - rebuild, refresh or compact the index of the store
 *
 * thoth-index [-c | -i | -r] [-v]
 *
 * Without options, rebuilds the index from every <id>/info.json in
 * $THOTH_STORE (directories without info.json are unfinished uploads
 * and are skipped).  -c merges the journal into the sorted base
 * instead; -i only adds the dumps the index does not have yet.
 * In an S3 store, shared by many hosts through its log (thoth-s3(7)),
 * the rebuild also folds in the newest snapshot and the whole log; -i
 * reads the log objects written since the last refresh (one LIST, one
 * GET per new object); -r does the same only when the last refresh is
 * older than THOTH_REFRESH seconds, and when the store cannot be
 * reached says once that the index may be stale and exits 0; -c also
 * writes a snapshot for new hosts and deletes old log objects.  In a
 * directory store -r does nothing.  Reads and writes no records on
 * stdin/stdout.
 */
#include <err.h>
#include <stdlib.h>
#include <unistd.h>

#include "thoth.h"

static const char usage_text[] =
    "usage: thoth-index [-c | -i | -r] [-v]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

static int
run(struct thoth_index *ix, struct thoth_store *st, int what, int verbose)
{
	int logged = thoth_log_kept(st);

	switch (what) {
	case 'c':
		return (logged ? thoth_log_snapshot(ix, st, verbose) :
		    thoth_index_compact(ix));
	case 'i':
		return (logged ? thoth_log_refresh(ix, st, 0, verbose) :
		    thoth_index_update(ix, st, verbose));
	case 'r':
		if (logged && thoth_log_refresh(ix, st, -1, verbose) != 0)
			warnx("%s: %s; the index may be stale",
			    thoth_store_url(st), thoth_errbuf);
		return (0);
	default:
		return (logged ? thoth_log_rebuild(ix, st, verbose) :
		    thoth_index_rebuild(ix, st, verbose));
	}
}

int
main(int argc, char **argv)
{
	struct thoth_store *st;
	struct thoth_index *ix;
	int c, what = 0, verbose = 0, rv;

	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "cirv")) != -1) {
		if (c == 'v')
			verbose = 1;
		else if (c == '?' || what != 0)
			usage();
		else
			what = c;
	}
	if (optind != argc)
		usage();
	if ((st = thoth_store_open(NULL)) == NULL ||
	    (ix = thoth_index_open(st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	rv = run(ix, st, what, verbose);
	if (rv != 0)
		warnx("%s: %s", thoth_index_dir(ix), thoth_errbuf);
	else if (verbose && what != 'r')
		warnx("%s: %s", thoth_index_dir(ix), what == 'c' ? "compacted" :
		    what == 'i' ? "updated" : "rebuilt");
	thoth_index_close(ix);
	thoth_store_close(st);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
