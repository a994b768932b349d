/*
 * thoth-index - rebuild or compact the index of the store
 *
 * thoth-index [-c | -i] [-v]
 *
 * Without options, rebuilds the index from every <id>/info.json in
 * $THOTH_STORE (directories without info.json are unfinished uploads
 * and are skipped).  -c merges the journal into the sorted base
 * instead; -i only adds the dumps the index does not have yet (cheap
 * on a remote store: one listing, one GET per new dump).  Reads and
 * writes no records on stdin/stdout.
 */
#include <err.h>
#include <stdlib.h>
#include <unistd.h>

#include "thoth.h"

static const char usage_text[] =
    "usage: thoth-index [-c | -i] [-v]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

int
main(int argc, char **argv)
{
	struct thoth_store *st;
	struct thoth_index *ix;
	int c, compact = 0, update = 0, verbose = 0, rv;

	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "civ")) != -1) {
		switch (c) {
		case 'c':
			compact = 1;
			break;
		case 'i':
			update = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (compact && update))
		usage();
	if ((st = thoth_store_open(NULL)) == NULL ||
	    (ix = thoth_index_open(st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	rv = compact ? thoth_index_compact(ix) : update ?
	    thoth_index_update(ix, st, verbose) :
	    thoth_index_rebuild(ix, st, verbose);
	if (rv != 0)
		warnx("%s: %s", thoth_index_dir(ix), thoth_errbuf);
	else if (verbose)
		warnx("%s: %s", thoth_index_dir(ix), compact ? "compacted" :
		    update ? "updated" : "rebuilt");
	thoth_index_close(ix);
	thoth_store_close(st);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
