/*
 * thoth-meta - add what a dump says about itself to its record.
 *
 *	thoth-meta [-S] [-p platform] [-n node] [file ...]
 *
 * Reads records (from the files, or stdin) and opens the dump named by
 * each one's "file".  Writes the record with pid, cmd, psargs, uid,
 * signal, exe, stack and build_ids from the dump (replacing those
 * fields), and platform, node and version when the record has none.
 * -S skips the stack (no unwinding: much faster).  A core stored by
 * systemd-coredump also gets unit, user_unit, slice, cgroup, owner_uid
 * and cmdline from its journal entry, where the journal has it
 * (THOTH_JOURNAL: see lib/dump/journal.c).  A record without
 * "file", or whose dump cannot be read, is reported and dropped; the
 * exit status is then 1.  A stack that cannot be unwound is only a
 * warning.
 */
#include <err.h>
#include <stdlib.h>
#include <unistd.h>

#include "thoth.h"

static const char usage_text[] =
    "usage: thoth-meta [-S] [-p platform] [-n node] "
    "[file ...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

struct meta {
	struct thoth_meta_opts opts;
	struct thoth_journal *journal;
};

static int
meta_one(json_t *rec, const struct thoth_where *where, void *arg)
{
	const char *file = json_string_value(json_object_get(rec, "file"));
	struct meta *m = arg;

	if (file == NULL) {
		warnx("%s:%zu: no file field", where->file, where->line);
		return (-1);
	}
	if (thoth_dump_meta(rec, &m->opts) != 0) {
		warnx("%s: %s", file, thoth_errbuf);
		return (-1);
	}
	/* Without its journal entry a record is still whole: a warning. */
	if (thoth_journal_coredump(m->journal, rec) != 0)
		warnx("%s", thoth_errbuf);
	if (thoth_json_print(stdout, rec) != 0)
		err(THOTH_EXIT_FAIL, "stdout");
	return (0);
}

int
main(int argc, char **argv)
{
	struct meta m = { { NULL, NULL, 0 }, NULL };
	int c, rv;

	atexit(thoth_close_stdout);
	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "Sn:p:")) != -1) {
		switch (c) {
		case 'S':
			m.opts.no_stack = 1;
			break;
		case 'n':
			m.opts.node = optarg;
			break;
		case 'p':
			m.opts.platform = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	m.journal = thoth_journal_new();
	rv = thoth_records(argc, argv, meta_one, &m);
	thoth_journal_free(m.journal);
	return (rv != 0 ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
