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
 * A dump whose info.json is already stored is not copied again: its
 * stored record is printed instead.  Prints each stored record.
 */
#include <err.h>
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

static int
already_stored(struct put *p, const char *id, const char *file)
{
	json_t *old;
	int rv = thoth_store_get_info(p->st, id, &old);

	if (rv != 0)
		return (rv);
	if (!quiet)
		warnx("%s: already stored as %s", file, id);
	thoth_json_print(stdout, old);
	json_decref(old);
	return (0);
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
 * info.json last: it is what makes the dump visible in the store.  Under
 * the lock, a concurrent upload of the same dump that finished first
 * wins (1).
 */
static int
publish(struct put *p, json_t *rec, const char *file)
{
	const char *id = thoth_record_id(rec);
	int rv;

	if (thoth_index_lock(p->ix) != 0)
		return (-1);
	if ((rv = already_stored(p, id, file)) > 0) {
		/*
		 * Index first: a run killed between the two leaves an index
		 * line for a dump without info.json (mended by the re-run,
		 * which finds no info.json and stores the dump again, or by
		 * thoth index), never a stored dump the index does not know.
		 */
		rv = -1;
		if (thoth_index_append(p->ix, rec) == 0 &&
		    thoth_store_put_info(p->st, rec) == 0)
			rv = 0;
	} else if (rv == 0) {
		rv = 1;
	}
	thoth_index_unlock(p->ix);
	return (rv);
}

static int
store_dump(struct put *p, const json_t *in, const char *id, const char *file)
{
	int logged = thoth_log_kept(p->st), rv = already_stored(p, id, file);
	if (rv <= 0)
		return (rv < 0 ? (warnx("%s: %s", file, thoth_errbuf), -1) : 0);

	json_t *rec = json_deep_copy(in);
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
	rv = thoth_records(argc, argv, put_one, &p);
	thoth_index_close(p.ix);
	thoth_store_close(p.st);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
