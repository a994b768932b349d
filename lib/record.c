/*
 * record.c - the record loop: NDJSON in, one object at a time.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "thoth.h"

const char *
thoth_record_id(const json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));

	return (id != NULL && thoth_is_id(id) ? id : NULL);
}

/* Lines of any length; blank lines are skipped, bad ones reported. */
int
thoth_records_fp(FILE *fp, const char *name, thoth_record_fn fn, void *arg,
    int *failed)
{
	struct thoth_where where = { name, 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	json_error_t jerr;
	int stop = 0;

	while (!stop && (len = getline(&line, &cap, fp)) >= 0) {
		where.line++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strspn(line, " \t\r") == (size_t)len)
			continue;
		json_t *rec = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES,
		    &jerr);
		if (rec == NULL || !json_is_object(rec)) {
			warnx("%s:%zu: parse error: %s", name, where.line,
			    rec == NULL ? jerr.text : "not a JSON object");
			json_decref(rec);
			*failed = 1;
			continue;
		}
		int rv = fn(rec, &where, arg);
		json_decref(rec);
		if (rv < 0)
			*failed = 1;
		else if (rv > 0)
			stop = 1;
	}
	if (ferror(fp)) {
		warn("%s", name);
		*failed = 1;
	}
	free(line);
	return (stop);
}

int
thoth_records(int argc, char **argv, thoth_record_fn fn, void *arg)
{
	int failed = 0, i;

	if (argc == 0)
		thoth_records_fp(stdin, "-", fn, arg, &failed);
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			if (thoth_records_fp(stdin, "-", fn, arg, &failed))
				break;
			continue;
		}
		FILE *fp = fopen(argv[i], "r");
		if (fp == NULL) {
			warn("%s", argv[i]);
			failed = 1;
			continue;
		}
		int stop = thoth_records_fp(fp, argv[i], fn, arg, &failed);
		fclose(fp);
		if (stop)
			break;
	}
	return (failed);
}
