/*
 * snapshot.c - snapshots of an S3 store's shared log, rebuilds from
 * nothing, and the refresh that chooses between them and the log
 * (log.c, which this file builds on).
 *
 * thoth index -c writes a snapshot, snapshot/<cursor>.ndjson.zst, the
 * whole fold up to the cursor, and deletes log objects and snapshots
 * older than the newest snapshot's cursor - THOTH_LOG_GRACE.  A host
 * with no state, or whose last refresh is older than half the grace
 * (its unread log may be gone), starts again from the newest snapshot;
 * without one, it rebuilds: every info.json, then the whole log.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backend.h"
#include "index/index.h"

static int rebuild(struct thoth_index *, struct thoth_store *, int);

static int
newest_snapshot(const char *file, void *arg)
{
	char **best = arg;
	size_t n = strlen(file);

	if (n > 11 && strcmp(file + n - 11, ".ndjson.zst") == 0 &&
	    log_key_ns(file) >= 0 && (*best == NULL || strcmp(file, *best) > 0)) {
		free(*best);
		*best = thoth_xstrdup(file);
	}
	return (0);
}

/* The snapshot's records become the base, its cursor ours. */
static int
load_snapshot(struct thoth_index *ix, struct thoth_store *st,
    const char *file)
{
	char *key = thoth_xasprintf("%s/%s", SNAP_DIR, file);
	char *path = index_file(ix, "base.ndjson");
	char *tmp = thoth_temp_name(path), *z = thoth_xasprintf("%s.zst", tmp);
	struct log_state s = { NULL, log_now(), json_object() };
	int in = -1, out = -1, rv = -1;

	if (thoth_store_get_file(st, key, z) != 0)
		goto done;
	if ((in = open(z, O_RDONLY | O_CLOEXEC)) < 0 || (out = open(tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		thoth_fail("%s: %s", in < 0 ? z : tmp, strerror(errno));
		goto done;
	}
	if (thoth_decompress_fd(in, out) != 0 || fsync(out) != 0) {
		warnx("%s: %s", key, thoth_errbuf);
		thoth_fail("%s: cannot read the snapshot", key);
		goto done;
	}
	if (thoth_index_lock(ix) != 0)
		goto done;
	if (rename(tmp, path) != 0)
		thoth_fail("%s: %s", path, strerror(errno));
	else if (index_journal_restart(ix, INT64_MAX) == 0) {
		s.cursor = thoth_xasprintf("%.*s", (int)(strlen(file) - 11),
		    file);
		rv = log_state_save(ix, &s);
	}
	thoth_index_unlock(ix);
	if (rv == 0)
		(void) index_sidecar_build(ix);
done:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	(void) unlink(z);
	(void) unlink(tmp);
	log_state_free(&s);
	free(z);
	free(tmp);
	free(path);
	free(key);
	return (rv);
}

/*
 * A host with no state starts from the newest snapshot (without one:
 * a rebuild from every info.json, then the whole log); a host whose
 * state is older than half the grace period starts again from the
 * newest snapshot if it is newer than its cursor, since the log it has
 * not read may have been deleted.
 */
static int
start_over(struct thoth_index *ix, struct thoth_store *st, int fresh,
    const char *cursor, int verbose)
{
	char *snap = NULL;
	int rv = thoth_store_list(st, SNAP_DIR, newest_snapshot, &snap);

	if (rv == 0 && snap == NULL && fresh)
		rv = rebuild(ix, st, verbose);
	else if (rv == 0 && snap != NULL && (cursor == NULL ||
	    strncmp(snap, cursor, strlen(snap) - 11) > 0)) {
		if (verbose)
			warnx("starting from %s/%s", SNAP_DIR, snap);
		rv = load_snapshot(ix, st, snap);
	}
	free(snap);
	return (rv);
}

/*
 * Refreshes, rebuilds and snapshots of one index run one at a time
 * (refresh.lock): fifty thoth commands started at once on a new host
 * make one rebuild, and the others find the index fresh when they get
 * the lock.  Readers never take it.
 */
static int
refresh_lock(struct thoth_index *ix)
{
	char *path = index_file(ix, "refresh.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		thoth_fail("%s: %s", path, strerror(errno));
	else
		while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
			continue;
	free(path);
	return (fd);
}

static int
refresh(struct thoth_index *ix, struct thoth_store *st, int max_age,
    int verbose)
{
	struct log_state s;
	int64_t grace = log_seconds("THOTH_LOG_GRACE", 86400);
	int fresh = log_state_load(ix, &s), rv = 0;

	if (max_age < 0)
		max_age = (int)log_seconds("THOTH_REFRESH", 5);
	if (!fresh && log_now() - s.refreshed < (int64_t)max_age * NS) {
		log_state_free(&s);
		return (0);
	}
	if (fresh || log_now() - s.refreshed > grace * NS / 2)
		rv = start_over(ix, st, fresh, s.cursor, verbose);
	log_state_free(&s);
	return (rv == 0 ? log_catch_up(ix, st, verbose) : rv);
}

int
thoth_log_refresh(struct thoth_index *ix, struct thoth_store *st,
    int max_age, int verbose)
{
	int fd = refresh_lock(ix), rv;

	if (fd < 0)
		return (-1);
	rv = refresh(ix, st, max_age, verbose);
	close(fd);
	return (rv);
}

/* ---- rebuilding from nothing */

/* The records of a snapshot (a decompressed file), folded in by
 * batches of BATCH_IDS lines. */
static int
fold_snapshot(struct thoth_index *ix, FILE *fp, size_t *changed)
{
	json_t *in = json_object(), *rec, *parts;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rv = 0;

	while (rv == 0 && (len = getline(&line, &cap, fp)) > 0) {
		rec = json_loadb(line, (size_t)len, 0, NULL);
		if (thoth_record_id(rec) != NULL) {
			parts = json_pack("[O]", rec);
			json_object_set_new(in, thoth_record_id(rec), parts);
		}
		json_decref(rec);
		if (json_object_size(in) >= BATCH_IDS) {
			rv = log_fold(ix, in, NULL, changed);
			json_object_clear(in);
		}
	}
	if (rv == 0)
		rv = log_fold(ix, in, NULL, changed);
	free(line);
	json_decref(in);
	return (rv);
}

static int
rebuild_snapshot(struct thoth_index *ix, struct thoth_store *st,
    const char *file, size_t *changed)
{
	char *key = thoth_xasprintf("%s/%s", SNAP_DIR, file);
	char *z = log_temp(ix, "snapshot.zst");
	FILE *plain = tmpfile();
	int in = -1, rv = -1;

	if (plain == NULL || thoth_store_get_file(st, key, z) != 0)
		goto done;
	if ((in = open(z, O_RDONLY | O_CLOEXEC)) < 0)
		thoth_fail("%s: %s", z, strerror(errno));
	else if (thoth_decompress_fd(in, fileno(plain)) != 0)
		thoth_fail("%s: cannot read the snapshot", key);
	else if (fseeko(plain, 0, SEEK_SET) == 0)
		rv = fold_snapshot(ix, plain, changed);
done:
	if (in >= 0)
		close(in);
	if (plain != NULL)
		fclose(plain);
	(void) unlink(z);
	free(z);
	free(key);
	return (rv);
}

/* Every info.json, the newest snapshot and the whole log, folded into
 * the index 'into'; names gets the log objects read. */
static int
rebuild_into(struct thoth_index *into, struct thoth_store *st, json_t **names,
    int verbose)
{
	char *snap = NULL;
	size_t changed = 0;
	int rv = thoth_index_rebuild(into, st, verbose);

	if (rv == 0)
		rv = thoth_store_list(st, SNAP_DIR, newest_snapshot, &snap);
	if (rv == 0 && snap != NULL)
		rv = rebuild_snapshot(into, st, snap, &changed);
	if (rv == 0 && (*names = log_list(st, NULL, NULL)) == NULL)
		rv = -1;
	if (rv == 0)
		rv = log_read(into, st, *names, &changed);
	if (rv == 0)
		rv = thoth_index_compact(into);
	if (rv == 0 && verbose)
		warnx("%s%s, %zu log objects: %zu records changed",
		    snap != NULL ? "snapshot " : "no snapshot",
		    snap != NULL ? snap : "", json_array_size(*names), changed);
	free(snap);
	return (rv);
}

/*
 * The rebuild is made aside, in log-rebuild/ (what a killed one left
 * there goes first), and swapped in whole under the lock: a rebuild
 * killed half-way leaves the index as it was.  What was appended to
 * the journal meanwhile is carried over, as thoth_index_rebuild does.
 */
static int
rebuild(struct thoth_index *ix, struct thoth_store *st, int verbose)
{
	struct log_state s = { NULL, 0, json_object() };
	char *aside = index_file(ix, "log-rebuild"), *from, *to;
	struct thoth_index *tmp = NULL;
	json_t *names = NULL;
	off_t mark = -1;
	int rv = -1;

	if (thoth_remove_tree(aside) != 0 ||
	    (tmp = thoth_index_open(st, aside)) == NULL)
		goto out;
	if (thoth_index_lock(ix) == 0) {
		mark = index_journal_size(ix);
		thoth_index_unlock(ix);
	}
	if (mark < 0 || rebuild_into(tmp, st, &names, verbose) != 0 ||
	    thoth_index_lock(ix) != 0)
		goto out;
	from = index_file(tmp, "base.ndjson");
	to = index_file(ix, "base.ndjson");
	if (rename(from, to) != 0)
		thoth_fail("%s: %s", to, strerror(errno));
	else if (index_journal_restart(ix, mark) == 0) {
		log_state_note(&s, names);
		s.refreshed = log_now();
		rv = log_state_save(ix, &s);
	}
	thoth_index_unlock(ix);
	free(from);
	free(to);
	if (rv == 0)
		(void) index_sidecar_build(ix);
out:
	thoth_index_close(tmp);
	if (thoth_remove_tree(aside) != 0)
		warnx("%s", thoth_errbuf);
	log_state_free(&s);
	json_decref(names);
	free(aside);
	return (rv);
}

int
thoth_log_rebuild(struct thoth_index *ix, struct thoth_store *st, int verbose)
{
	int fd = refresh_lock(ix), rv;

	if (fd < 0)
		return (-1);
	rv = rebuild(ix, st, verbose);
	close(fd);
	return (rv);
}

/* ---- snapshots and garbage collection */

/* Every record, compressed, as snapshot/<name>.ndjson.zst. */
static int
put_snapshot(struct thoth_index *ix, struct thoth_store *st, const char *name)
{
	struct thoth_spec *all = thoth_spec_parse(0, NULL);
	char *plain = log_temp(ix, "snapshot");
	char *key = thoth_xasprintf("%s/%s.ndjson.zst", SNAP_DIR, name);
	char *z = NULL;
	FILE *fp = fopen(plain, "we");
	int rv = -1;

	if (fp == NULL) {
		thoth_fail("%s: %s", plain, strerror(errno));
		goto done;
	}
	rv = thoth_index_filter(ix, all, index_write_lines, fp);
	if (fclose(fp) != 0 && rv == 0)
		rv = thoth_fail("%s: %s", plain, strerror(errno));
	if (rv == 0)
		rv = thoth_compress_file(plain, "zstd", &z);
	if (rv == 0)
		rv = thoth_store_put_file(st, key, z, NULL, NULL);
done:
	(void) unlink(plain);
	if (z != NULL)
		(void) unlink(z);
	thoth_spec_free(all);
	free(z);
	free(key);
	free(plain);
	return (rv);
}

static int
old_snapshot(const char *file, void *arg)
{
	json_t *old = arg;
	const char *keep = json_string_value(json_array_get(old, 0));
	int64_t horizon = json_integer_value(json_array_get(old, 1));

	if (strncmp(file, keep, strlen(keep)) != 0 && log_key_ns(file) >= 0 &&
	    log_key_ns(file) < horizon)
		json_array_append_new(old, json_string(file));
	return (0);
}

/* Log objects and snapshots older than the snapshot's cursor less the
 * grace period: every host has read them, or will start from it. */
static int
collect_garbage(struct thoth_store *st, const char *name, int verbose)
{
	int64_t horizon = log_key_ns(name) - log_seconds("THOTH_LOG_GRACE", 86400) * NS;
	json_t *names = log_list(st, NULL, NULL), *v;
	json_t *snaps = json_pack("[s, I]", name, (json_int_t)horizon);
	size_t i, gone = 0;
	char *key;
	int rv = names != NULL ? 0 : -1;

	json_array_foreach(names, i, v) {
		if (rv != 0 || log_key_ns(json_string_value(v)) > horizon ||
		    strcmp(json_string_value(v), name) > 0)
			break;
		key = thoth_xasprintf("%s/%s.ndjson", LOG_DIR,
		    json_string_value(v));
		if ((rv = thoth_store_delete(st, key)) == 0)
			gone++;
		free(key);
	}
	if (rv == 0)
		rv = thoth_store_list(st, SNAP_DIR, old_snapshot, snaps);
	for (i = 2; rv == 0 && i < json_array_size(snaps); i++) {
		key = thoth_xasprintf("%s/%s", SNAP_DIR,
		    json_string_value(json_array_get(snaps, i)));
		rv = thoth_store_delete(st, key);
		free(key);
	}
	if (rv == 0 && verbose)
		warnx("%zu log objects and %zu snapshots deleted", gone,
		    json_array_size(snaps) - 2);
	json_decref(names);
	json_decref(snaps);
	return (rv);
}

int
thoth_log_snapshot(struct thoth_index *ix, struct thoth_store *st,
    int verbose)
{
	struct log_state s;
	char *name;
	int fd = refresh_lock(ix), rv;

	if (fd < 0 || (rv = refresh(ix, st, 0, verbose)) != 0) {
		if (fd >= 0)
			close(fd);
		return (-1);
	}
	(void) log_state_load(ix, &s);
	name = s.cursor != NULL ? thoth_xstrdup(s.cursor) : log_new_name();
	log_state_free(&s);
	if ((rv = put_snapshot(ix, st, name)) == 0 && verbose)
		warnx("%s/%s.ndjson.zst written", SNAP_DIR, name);
	if (rv == 0)
		rv = thoth_index_compact(ix);
	if (rv == 0)
		rv = collect_garbage(st, name, verbose);
	close(fd);
	free(name);
	return (rv);
}
