/*
 * usage.c - -h, --help and --version, the same in every tool, and the
 * numbers of options.
 *
 * THOTH_VERSION comes from the Makefile's VERSION, the one place that
 * names it (the scripts get it substituted at build time).
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "thoth.h"

#ifndef THOTH_VERSION
#define THOTH_VERSION "unknown"
#endif

/*
 * Looks at the options before the first operand (or "--"), so that
 * "thoth-filter -I --help" helps too, while "cmd=--help" or a value
 * after "--" is left to the tool.
 */
void
thoth_help(int argc, char **argv, const char *usage)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			exit(THOTH_EXIT_OK);
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", program_invocation_short_name, THOTH_VERSION);
			exit(THOTH_EXIT_OK);
		}
	}
}

void
thoth_usage(const char *usage)
{
	fputs(usage, stderr);
	exit(THOTH_EXIT_FAIL);
}

long
thoth_opt_number(const char *s, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
		errx(THOTH_EXIT_FAIL, "%s: not a number from %ld to %ld", s,
		    min, max);
	return (n);
}
