/*
 * debuginfod.c - where libdwfl looks for a core's modules and their
 * debugging information, with debuginfod bounded by a time budget per
 * dump.
 *
 * libdwfl asks debuginfod (when DEBUGINFOD_URLS is set) for every module
 * it cannot find here, one query after another, each allowed 90 s by
 * default: a server that never answers cost 272 s on one core.  Before
 * each lookup the seconds left of THOTH_DEBUGINFOD_TIME (5 by default)
 * become the query's DEBUGINFOD_TIMEOUT and DEBUGINFOD_MAXTIME, with no
 * retries (DEBUGINFOD_RETRY_LIMIT 0: a retry would take as long again),
 * which the debuginfod client reads at each query; once they are spent,
 * DEBUGINFOD_URLS is emptied until the next dump, so the client asks
 * no more.  0 turns debuginfod off.  A dump costs at most its budget
 * and one second more.
 */
#include <err.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <elfutils/libdwfl.h>

#include "dump/dump.h"

#define BUDGET_DEFAULT 5

static char *urls;		/* DEBUGINFOD_URLS as the process got it */
static long budget = -1;	/* seconds per dump */
static struct timespec started;	/* of this dump */

static long
budget_setting(void)
{
	const char *s = getenv("THOTH_DEBUGINFOD_TIME");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return (BUDGET_DEFAULT);
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > INT_MAX)
		errx(THOTH_EXIT_FAIL, "THOTH_DEBUGINFOD_TIME: '%s': not a "
		    "number of seconds", s);
	return (v);
}

static void
budget_start(void)
{
	const char *u;

	if (budget < 0) {
		budget = budget_setting();
		if ((u = getenv("DEBUGINFOD_URLS")) != NULL && *u != '\0')
			urls = thoth_xstrdup(u);
	}
	(void) clock_gettime(CLOCK_MONOTONIC, &started);
}

/* The query about to be made gets what is left of the budget. */
static void
budget_env(void)
{
	struct timespec now;
	long left;
	char buf[32];

	if (urls == NULL)
		return;
	(void) clock_gettime(CLOCK_MONOTONIC, &now);
	left = budget - (long)(now.tv_sec - started.tv_sec);
	if (left <= 0) {
		(void) setenv("DEBUGINFOD_URLS", "", 1);
		return;
	}
	snprintf(buf, sizeof (buf), "%ld", left);
	(void) setenv("DEBUGINFOD_URLS", urls, 1);
	(void) setenv("DEBUGINFOD_TIMEOUT", buf, 1);
	(void) setenv("DEBUGINFOD_MAXTIME", buf, 1);
	(void) setenv("DEBUGINFOD_RETRY_LIMIT", "0", 1);
}

static int
find_elf(Dwfl_Module *mod, void **user, const char *name, Dwarf_Addr base,
    char **file, Elf **elf)
{
	budget_env();
	return (dwfl_build_id_find_elf(mod, user, name, base, file, elf));
}

static int
find_debuginfo(Dwfl_Module *mod, void **user, const char *name,
    Dwarf_Addr base, const char *file, const char *debuglink,
    GElf_Word crc, char **debugfile)
{
	budget_env();
	return (dwfl_standard_find_debuginfo(mod, user, name, base, file,
	    debuglink, crc, debugfile));
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
};

Dwfl *
dump_dwfl_begin(void)
{
	budget_start();
	return (dwfl_begin(&callbacks));
}

Dwfl *
dump_dwfl_more(void)
{
	return (dwfl_begin(&callbacks));
}
