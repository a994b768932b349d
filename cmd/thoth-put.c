/*
 * thoth-put - store dumps and their records in the object store
 *
 * thoth-put [-q] [-z | -Z] [FILE...]
 *
 * Reads records with "id" and "file" (from thoth-hash | thoth-meta),
 * copies each dump to <store>/<id>/<name>, then writes <id>/info.json
 * and appends the record to the index.  In an S3 store the dump is
 * <id>/dump (plus the suffix of its compression), with its name as
 * "original_name", and the record goes to the store's log before
 * info.json (thoth-s3(7)).  Adds "name", "dump",
 * "uploaded" and "version"; drops "file" (a path on this host only).
 * -z (gzip) and -Z (zstd) store a dump that is not compressed yet as
 * <name>.gz or <name>.zst and set "compression" and "stored_size".
 * A dump stored whole (info.json and its dump) is not copied again: its
 * stored record is printed instead, and indexed if the index lacks it;
 * one whose bytes are gone is stored again under its old record.  Only
 * regular files of the record's size are copied.  Prints each stored
 * record.
 */
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thoth.h"

static int quiet;
static const char *squeeze;	/* -z/-Z: "gzip" or "zstd" */

struct put {
	struct thoth_store *st;
	struct thoth_index *ix;
	int logged;		/* an S3 store with the shared index log */
};

/* The name a dump keeps in the store: its base name, made safe. */
static char *
object_name(const char *file)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	char *name = thoth_xstrdup(*base != '\0' ? base : "dump");
	char *p;

	for (p = name; *p != '\0'; p++) {
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._+-", *p) == NULL)
			*p = '_';
	}
	if (name[0] == '.')
		name[0] = '_';
	return (name);
}

/* "thoth: core.1   [=====>    ]  45%   1.94MB" on a terminal. */
static void
progress(void *arg, uint64_t done, uint64_t total)
{
	const char *name = arg;
	int width = 30, pct = total ? (int)(done * 100 / total) : 100;
	int bar = pct * width / 100;

	fprintf(stderr, "\rthoth: %-16.16s [%.*s>%*s] %3d%% %7.2fMB", name, bar,
	    "==============================", width - bar, "", pct,
	    done / 1048576.0);
	if (done >= total)
		fputc('\n', stderr);
}

static void
set_string(json_t *rec, const char *field, char *value)
{
	json_object_set_new(rec, field, thoth_json_string(value, strlen(value)));
	free(value);
}

/*
 * Whether the store holds this dump whole: its info.json and the dump
 * it names, unless purged (then the record is all there is).  0 whole,
 * 1 not, -1 error; *old is the stored record when there is one.
 */
static int
stored(struct put *p, const char *id, json_t **old)
{
	const char *dump, *base;
	int rv;

	*old = NULL;
	if ((rv = thoth_store_get_info(p->st, id, old)) != 0)
		return (rv);
	if (json_object_get(*old, "purged") != NULL)
		return (0);
	dump = json_string_value(json_object_get(*old, "dump"));
	if (dump == NULL || (base = strrchr(dump, '/')) == NULL)
		return (1);
	char *key = thoth_xasprintf("%s/%s", id, base + 1);
	rv = thoth_store_exists(p->st, key);
	free(key);
	return (rv);
}

static int
count_lines(const char *lines, size_t len, size_t n, void *arg)
{
	(void)lines;
	(void)len;
	*(size_t *)arg += n;
	return (1);
}

/* Whether the index lists id: 1 yes, 0 no, -1 error. */
static int
indexed(struct put *p, const char *id)
{
	char *argv[] = { (char *)id, NULL };
	struct thoth_spec *spec = thoth_spec_parse(1, argv);
	size_t n = 0;
	int rv = spec != NULL ? thoth_index_filter(p->ix, spec, count_lines,
	    &n) : -1;

	thoth_spec_free(spec);
	return (rv != 0 ? -1 : n > 0);
}

/*
 * Under the lock.  A dump stored whole is not stored again; its record
 * goes to the index if the index lacks it (a run killed, or short of
 * space, between info.json and the index) and is printed.  0 stored,
 * 1 not (*old: the record of a dump whose bytes are gone, or NULL), -1.
 * The shared log of an S3 store is its own index: nothing to mend.
 */
static int
already_stored(struct put *p, const char *id, const char *file, json_t **old)
{
	int rv = stored(p, id, old);

	if (rv != 0)
		return (rv);
	if (p->logged || (rv = indexed(p, id)) > 0 || (rv == 0 &&
	    thoth_index_append(p->ix, *old) == 0)) {
		rv = 0;
		if (!quiet)
			warnx("%s: already stored as %s (same headers and notes)",
			    file, id);
		thoth_json_print(stdout, *old);
	} else {
		rv = -1;
	}
	json_decref(*old);
	*old = NULL;
	return (rv);
}

/* already_stored, taking the lock for it (none on a shared log). */
static int
check_stored(struct put *p, const char *id, const char *file, json_t **old)
{
	int rv = p->logged ? 0 : thoth_index_lock(p->ix);

	if (rv == 0) {
		rv = already_stored(p, id, file, old);
		if (!p->logged)
			thoth_index_unlock(p->ix);
	}
	if (rv > 0 && *old != NULL && !quiet)
		warnx("%s: %s is recorded but its dump is missing: storing it "
		    "again", file, id);
	return (rv);
}

/*
 * A concurrent upload of the same dump finished first; if it stored the
 * dump under another name, ours is a second copy nobody points at.
 */
static void
drop_duplicate(struct put *p, const char *id, const char *key)
{
	json_t *rec;
	const char *dump, *base;

	if (thoth_store_get_info(p->st, id, &rec) != 0)
		return;
	dump = json_string_value(json_object_get(rec, "dump"));
	base = dump != NULL && strrchr(dump, '/') ? strrchr(dump, '/') + 1 : "";
	if (strcmp(base, strchr(key, '/') + 1) != 0)
		(void) thoth_store_delete(p->st, key);
	json_decref(rec);
}

/* What people and analyzers added to the record of a dump stored again. */
static void
keep_edits(json_t *rec, const json_t *old)
{
	static const char *edits[] = { "properties", "ticket", "provenance",
	    "analyzed" };
	const json_t *v;
	size_t i;

	for (i = 0; old != NULL && i < sizeof (edits) / sizeof (edits[0]); i++)
		if ((v = json_object_get(old, edits[i])) != NULL)
			json_object_set(rec, edits[i], (json_t *)v);
}

/* The suffix a stored dump has for its compression. */
static const char *
suffix(const char *compression)
{
	static const char *const map[][2] = {
		{ "gzip", ".gz" }, { "zstd", ".zst" }, { "xz", ".xz" },
		{ "lz4", ".lz4" },
	};
	size_t i;

	for (i = 0; compression != NULL && i < sizeof (map) / sizeof (map[0]);
	    i++) {
		if (strcmp(compression, map[i][0]) == 0)
			return (map[i][1]);
	}
	return ("");
}

/*
 * An S3 store, shared by hosts that take no lock together: the dump is
 * named by its id, so that two hosts storing it at once write the same
 * object, then its record is logged (the index of every host learns it
 * from the log), then info.json keeps it in the plain layout.
 */
static int
publish_logged(struct put *p, json_t *rec)
{
	json_t *lines = json_pack("[{sOsO}]", "id", json_object_get(rec, "id"),
	    "put", rec);
	int rv = thoth_log_write(p->ix, p->st, lines, NULL);

	if (rv == 0)
		rv = thoth_store_put_info(p->st, rec);
	json_decref(lines);
	return (rv);
}

/*
 * info.json, then the index, under the lock: the index never lists a
 * dump whose upload did not finish; a run killed between the two leaves
 * a stored dump the index lacks, which the next upload (already_stored)
 * or thoth index adds.  A re-stored dump keeps the edits of its old
 * record.  A concurrent upload of the same dump that finished first
 * wins (1).
 */
static int
publish(struct put *p, json_t *rec, const char *file)
{
	const char *id = thoth_record_id(rec);
	json_t *old = NULL;
	int rv;

	if (thoth_index_lock(p->ix) != 0)
		return (-1);
	if ((rv = already_stored(p, id, file, &old)) > 0) {
		keep_edits(rec, old);
		rv = -1;
		if (thoth_store_put_info(p->st, rec) == 0) {
			if ((rv = thoth_index_append(p->ix, rec)) != 0)
				warnx("%s: stored as %s but not indexed (the next "
				    "upload or thoth index adds it)", file, id);
		}
	} else if (rv == 0) {
		rv = 1;
	}
	thoth_index_unlock(p->ix);
	json_decref(old);
	return (rv);
}

/*
 * Only a regular file, and only one of the size thoth-hash saw: never a
 * device or a pipe (/dev/zero would fill the store), nor a file that
 * changed since it was hashed.
 */
static int
check_file(const json_t *in, const char *file)
{
	const json_t *want = json_object_get(in, json_object_get(in,
	    "compression") != NULL ? "stored_size" : "size");
	struct stat sb;

	if (stat(file, &sb) != 0)
		return (thoth_fail("%s", strerror(errno)));
	if (!S_ISREG(sb.st_mode))
		return (thoth_fail("not a regular file"));
	if (json_is_integer(want) && json_integer_value(want) != sb.st_size)
		return (thoth_fail("%jd bytes, its record says %jd (changed "
		    "since it was hashed?)", (intmax_t)sb.st_size,
		    (intmax_t)json_integer_value(want)));
	return (0);
}

static int
store_dump(struct put *p, const json_t *in, const char *id, const char *file)
{
	json_t *old = NULL;
	int logged = p->logged, rv = check_stored(p, id, file, &old);
	if (rv > 0 && check_file(in, file) != 0)
		rv = -1;
	if (rv <= 0) {
		json_decref(old);
		return (rv < 0 ? (warnx("%s: %s", file, thoth_errbuf), -1) : 0);
	}

	json_t *rec = json_deep_copy(in);
	keep_edits(rec, old);
	json_decref(old);
	char *name = object_name(file), *tmp = NULL;
	if (squeeze != NULL && json_object_get(in, "compression") == NULL) {
		if (thoth_compress_file(file, squeeze, &tmp) != 0) {
			warnx("%s: %s", file, thoth_errbuf);
			json_decref(rec);
			free(name);
			return (-1);
		}
		char *z = thoth_xasprintf("%s%s", name, suffix(squeeze));
		free(name);
		name = z;
		json_object_set_new(rec, "compression", json_string(squeeze));
	}
	char *key = logged ? thoth_xasprintf("%s/dump%s", id, suffix(
	    json_string_value(json_object_get(rec, "compression")))) :
	    thoth_xasprintf("%s/%s", id, name);
	json_object_del(rec, "file");
	json_object_del(rec, "file_hex");
	set_string(rec, "name", thoth_store_path(p->st, id));
	set_string(rec, "dump", thoth_store_path(p->st, key));
	if (logged)
		set_string(rec, "original_name", object_name(file));
	if (json_object_get(rec, "version") == NULL)
		json_object_set_new(rec, "version", json_string(THOTH_RECORD_VERSION));
	if (!quiet)
		warnx("uploading %s to %s", file, id);
	rv = thoth_store_put_file(p->st, key, tmp != NULL ? tmp : file,
	    !quiet && isatty(STDERR_FILENO) ? progress : NULL, name);
	if (tmp != NULL) {
		struct stat st;
		if (stat(tmp, &st) == 0)
			json_object_set_new(rec, "stored_size", json_integer(st.st_size));
		(void) unlink(tmp);
		free(tmp);
	}
	json_object_set_new(rec, "uploaded", json_integer(thoth_now()));
	if (rv == 0 && logged)
		rv = publish_logged(p, rec);
	else if (rv == 0 && (rv = publish(p, rec, file)) > 0)
		drop_duplicate(p, id, key);
	if (rv == 0)
		thoth_json_print(stdout, rec);
	else if (rv < 0)
		warnx("%s: %s", file, thoth_errbuf);
	json_decref(rec);
	free(key);
	free(name);
	return (rv < 0 ? -1 : 0);
}

static int
put_one(json_t *in, const struct thoth_where *w, void *arg)
{
	const char *id = thoth_record_id(in);
	char *file = thoth_record_file(in);
	int rv;

	if (id == NULL || file == NULL) {
		warnx("%s:%zu: record needs \"id\" and \"file\"", w->file, w->line);
		free(file);
		return (-1);
	}
	rv = store_dump(arg, in, id, file);
	free(file);
	return (rv);
}

static const char usage_text[] =
    "usage: thoth-put [-q] [-z | -Z] [FILE...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

int
main(int argc, char **argv)
{
	struct put p;
	int c, rv;

	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "qzZ")) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'z':
			squeeze = "gzip";
			break;
		case 'Z':
			squeeze = "zstd";
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	atexit(thoth_close_stdout);
	if ((p.st = thoth_store_open(NULL)) == NULL ||
	    (p.ix = thoth_index_open(p.st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	p.logged = thoth_log_kept(p.st);
	rv = thoth_records(argc, argv, put_one, &p);
	thoth_index_close(p.ix);
	thoth_store_close(p.st);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
