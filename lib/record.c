/*
 * record.c - the record loop: NDJSON in, one object at a time.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "thoth.h"

/*
 * A local path is any bytes; JSON strings are UTF-8.  A path that is not
 * valid UTF-8 travels as "file" (lossy, for people) plus "file_hex"
 * (exact, for the tools).
 */
void
thoth_record_set_file(json_t *rec, const char *path)
{
	size_t n = strlen(path), i;

	json_object_set_new(rec, "file", thoth_json_string(path, n));
	if (thoth_utf8_valid(path, n))
		return;
	char *hex = thoth_xmalloc(n * 2 + 1);
	for (i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", (unsigned char)path[i]);
	json_object_set_new(rec, "file_hex", json_string(hex));
	free(hex);
}

/* The exact local path of a record (caller frees), or NULL. */
char *
thoth_record_file(const json_t *rec)
{
	const char *hex = json_string_value(json_object_get(rec, "file_hex"));
	const char *file = json_string_value(json_object_get(rec, "file"));
	size_t n, i;
	char *path;
	unsigned int c;

	if (hex == NULL)
		return (file != NULL ? thoth_xstrdup(file) : NULL);
	n = strlen(hex);
	if (n % 2 != 0 || strspn(hex, "0123456789abcdef") != n)
		return (NULL);
	path = thoth_xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		sscanf(hex + 2 * i, "%2x", &c);
		path[i] = (char)c;
	}
	path[n / 2] = '\0';
	if (strlen(path) != n / 2) {	/* a NUL inside: no path */
		free(path);
		return (NULL);
	}
	return (path);
}

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
