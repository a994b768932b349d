/*
 * thoth-hash - identify dumps.
 *
 *	thoth-hash [-i] FILE...
 *
 * Writes one record per dump, {id, type, file, size, time}, or with -i
 * just its id.  Reads no records.  A file that is not a dump thoth can
 * read is reported on stderr and skipped; the exit status is then 1.
 */
#include <err.h>
#include <stdlib.h>
#include <unistd.h>

#include "thoth.h"

static int iflag;	/* -i: ids only */

static const char usage_text[] =
    "usage: thoth-hash [-i] file ...\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

static int
hash_one(const char *path)
{
	json_t *rec = thoth_dump_hash(path);

	if (rec == NULL) {
		warnx("%s: %s", path, thoth_errbuf);
		return (-1);
	}
	if (iflag)
		printf("%s\n", thoth_record_id(rec));
	else
		thoth_json_print(stdout, rec);
	json_decref(rec);
	return (0);
}

int
main(int argc, char **argv)
{
	int c, i, failed = 0;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "i")) != -1) {
		switch (c) {
		case 'i':
			iflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (i = 0; i < argc; i++) {
		if (hash_one(argv[i]) != 0)
			failed = 1;
	}
	return (failed ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
