/*
 * fuzz_records.c - the NDJSON record reader (lib/record.c,
 * thoth_records_fp) on any bytes, read through fmemopen as the tools
 * read stdin.
 *
 * Contracts checked: no crash, leak or undefined behaviour; every
 * record handed to the callback is an object that prints as one line of
 * JSON and reads back equal; its id is a dump id or absent
 * (thoth_record_id); lines that do not parse set "failed" and never
 * stop the loop; a callback returning 1 stops it.
 */
#include "common.h"

struct seen {
	size_t n, stop_at;
};

static int
each(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct seen *s = arg;
	const char *id = thoth_record_id(rec);

	if (!json_is_object(rec))
		fuzz_die("line %zu: not an object", where->line);
	if (where->line == 0)
		fuzz_die("line number 0");
	if (id != NULL && !thoth_is_id(id))
		fuzz_die("line %zu: bad id accepted", where->line);
	fuzz_check_json(rec, "thoth_records_fp");
	if (++s->n == s->stop_at)
		return (1);
	return (s->n % 3 == 0 ? -1 : 0);	/* failures go on */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen all = { 0, 0 }, first = { 0, 1 };
	int failed = 0, stopped;
	FILE *fp;

	if (size == 0)
		return (0);
	if ((fp = fmemopen((void *)data, size, "r")) == NULL)
		fuzz_die("fmemopen");
	stopped = thoth_records_fp(fp, "fuzz", each, &all, &failed);
	fclose(fp);
	if (stopped)
		fuzz_die("stopped without a callback asking");
	if (all.n >= 3 && !failed)
		fuzz_die("callback failure not reported");
	if ((fp = fmemopen((void *)data, size, "r")) == NULL)
		fuzz_die("fmemopen");
	failed = 0;
	stopped = thoth_records_fp(fp, "fuzz", each, &first, &failed);
	fclose(fp);
	if (stopped != (all.n > 0) || first.n != (all.n > 0))
		fuzz_die("stop: %d after %zu of %zu records", stopped, first.n,
		    all.n);
	return (0);
}
