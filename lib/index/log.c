/*
 * log.c - the shared, append-only log of an S3 store, and the local
 * index that each host folds it into.
 *
 * Many hosts write to one bucket, and none ever reads, changes and
 * writes back an object another host may be writing: every write (an
 * upload's record, a batch of edits, a purge) is one new object
 *   <prefix>/log/<UTC time>-<host>-<pid>-<seq>.ndjson
 * of whole lines, {"id", "put": RECORD} or {"id", "ops": {PATH: VALUE
 * or null}}.  A host's index is the fold (fold.c) of what it has read:
 * the newest snapshot, then the log after it.  Its state, log.json in
 * the index directory, keeps the newest key folded (the cursor), the
 * keys read within the window behind it and when it was last brought
 * up to date.
 *
 * Refreshing is one LIST of the log after cursor - THOTH_LOG_WINDOW
 * (so that a host whose clock is behind, or whose PUT was slow, is
 * still seen) and one GET per new object, many in flight.  Folding is
 * order-free and idempotent, so reading a window again is harmless.
 *
 * thoth index -c writes a snapshot, snapshot/<cursor>.ndjson.zst, the
 * whole fold up to the cursor, and deletes log objects and snapshots
 * older than the newest snapshot's cursor - THOTH_LOG_GRACE.  A host
 * with no state, or whose last refresh is older than half the grace
 * (its unread log may be gone), starts again from the newest snapshot.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "index/index.h"

#define LOG_DIR		"log"
#define SNAP_DIR	"snapshot"
#define STATE_FILE	"log.json"
#define BATCH_IDS	20000	/* records looked up in one index pass */
#define NS		1000000000LL

/* ---- settings and names */

static int64_t
seconds(const char *name, int64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	long long n;

	if (s == NULL || *s == '\0')
		return (dflt);
	n = strtoll(s, &end, 10);
	if (*end != '\0' || n < 0) {
		warnx("%s=%s: not a number of seconds, using %lld", name, s,
		    (long long)dflt);
		return (dflt);
	}
	return (n);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * NS + ts.tv_nsec);
}

/* "20261130T011850.123456789Z": sorts as time does. */
static void
key_time(char *buf, size_t len, int64_t ns)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y%m%dT%H%M%S", &tm);
	snprintf(buf + n, len - n, ".%09dZ", (int)(ns % NS));
}

/* The time at the start of a key, in ns; -1 if it has none. */
static int64_t
key_ns(const char *key)
{
	struct tm tm;
	const char *p;
	char *end;
	long long frac;

	memset(&tm, 0, sizeof (tm));
	if ((p = strptime(key, "%Y%m%dT%H%M%S", &tm)) == NULL || *p != '.')
		return (-1);
	frac = strtoll(p + 1, &end, 10);
	if (end != p + 10 || *end != 'Z')
		return (-1);
	return ((int64_t)timegm(&tm) * NS + frac);
}

/* THOTH_HOST, else the host name, as [A-Za-z0-9._] (a '-' separates). */
static char *
host_name(void)
{
	const char *env = getenv("THOTH_HOST");
	char buf[256], *p;

	if (env != NULL && *env != '\0')
		snprintf(buf, sizeof (buf), "%s", env);
	else if (gethostname(buf, sizeof (buf)) != 0)
		snprintf(buf, sizeof (buf), "localhost");
	buf[sizeof (buf) - 1] = '\0';
	for (p = buf; *p != '\0'; p++) {
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._", *p) == NULL)
			*p = '_';
	}
	return (thoth_xstrdup(buf));
}

/* A new log key's name, "<time>-<host>-<pid>-<seq>" (no "log/"). */
static char *
new_name(void)
{
	static unsigned seq;
	char t[40], *host = host_name(), *name;

	key_time(t, sizeof (t), now_ns());
	name = thoth_xasprintf("%s-%s-%ld-%u", t, host, (long)getpid(), ++seq);
	free(host);
	return (name);
}

/* A temporary file of the index directory (swept if we die). */
static char *
temp_in(struct thoth_index *ix, const char *name)
{
	char *path = index_file(ix, name), *tmp = thoth_temp_name(path);

	free(path);
	return (tmp);
}

int
thoth_log_kept(const struct thoth_store *st)
{
	return (strncmp(st->root, "s3://", 5) == 0);
}

/* ---- the host's state: log.json */

struct state {
	char *cursor;		/* newest log name folded, or NULL */
	int64_t refreshed;	/* ns */
	json_t *seen;		/* names read within the window: true */
};

static void
state_free(struct state *s)
{
	free(s->cursor);
	json_decref(s->seen);
}

/* 0, or 1 when the index has no state yet (a new host). */
static int
state_load(struct thoth_index *ix, struct state *s)
{
	char *path = index_file(ix, STATE_FILE);
	json_t *j = json_load_file(path, 0, NULL);
	const char *c = json_string_value(json_object_get(j, "cursor"));
	int rv;

	free(path);
	s->cursor = c != NULL ? thoth_xstrdup(c) : NULL;
	s->refreshed = json_integer_value(json_object_get(j, "refreshed"));
	s->seen = json_incref(json_object_get(j, "seen"));
	if (!json_is_object(s->seen)) {
		json_decref(s->seen);
		s->seen = json_object();
	}
	rv = json_is_object(j) ? 0 : 1;
	json_decref(j);
	return (rv);
}

/* Under the lock.  Names older than the window behind the cursor are
 * forgotten: a refresh lists no further back. */
static int
state_save(struct thoth_index *ix, struct state *s)
{
	int64_t from = s->cursor != NULL ? key_ns(s->cursor) -
	    seconds("THOTH_LOG_WINDOW", 600) * NS : 0;
	char *path = index_file(ix, STATE_FILE), *text;
	const char *k;
	json_t *v, *j;
	void *it;
	int rv;

	json_object_foreach_safe(s->seen, it, k, v) {
		if (key_ns(k) < from)
			json_object_del(s->seen, k);
	}
	j = json_pack("{s:s?, s:I, s:O}", "cursor", s->cursor, "refreshed",
	    (json_int_t)s->refreshed, "seen", s->seen);
	text = thoth_json_line(j);
	rv = thoth_write_file_atomic(path, text, strlen(text));
	free(text);
	json_decref(j);
	free(path);
	return (rv);
}

/* The names read: seen, and the cursor moved to the newest. */
static void
state_note(struct state *s, const json_t *names)
{
	const char *name;
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		json_object_set_new(s->seen, name, json_true());
		if (s->cursor == NULL || strcmp(name, s->cursor) > 0) {
			free(s->cursor);
			s->cursor = thoth_xstrdup(name);
		}
	}
}

/* ---- the local index: records by id, and folding into it */

static int
collect_line(const char *lines, size_t len, size_t n, void *arg)
{
	const char *p = lines, *end = lines + len, *nl;
	json_t *rec;

	(void)n;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		rec = json_loadb(p, (size_t)(nl - p), 0, NULL);
		if (thoth_record_id(rec) != NULL)
			json_object_set(arg, thoth_record_id(rec), rec);
		json_decref(rec);
	}
	return (0);
}

json_t *
thoth_index_get(struct thoth_index *ix, const json_t *ids)
{
	json_t *found = json_object(), *v;
	char *argv[] = { "dump=stdin" }, *buf = NULL;
	size_t len = 0, i;
	struct thoth_spec *spec = thoth_spec_parse(1, argv);
	FILE *fp = open_memstream(&buf, &len);

	json_array_foreach(ids, i, v)
		fprintf(fp, "%s\n", json_string_value(v));
	fclose(fp);
	fp = fmemopen(buf, len > 0 ? len : 1, "r");
	if (spec == NULL || fp == NULL ||
	    thoth_spec_add_ids(spec, fp, "ids") != 0 ||
	    thoth_index_filter(ix, spec, collect_line, found) != 0) {
		json_decref(found);
		found = NULL;
	}
	if (fp != NULL)
		fclose(fp);
	free(buf);
	thoth_spec_free(spec);
	return (found);
}

/*
 * Joins each record of 'in' (id -> array of records to fold) into the
 * index, BATCH_IDS ids at a time, under the lock; the records the
 * join changes are appended, in one write.  out (may be NULL) gets id -> the new record.
 */
static int
fold_into(struct thoth_index *ix, json_t *in, json_t *out, size_t *changed)
{
	json_t *ids = json_array(), *news = json_array(), *cur = NULL, *parts;
	json_t *rec, *v;
	const char *id;
	void *it = json_object_iter(in);
	size_t i;
	int rv = 0;

	while (rv == 0 && it != NULL) {
		json_array_clear(ids);
		for (; it != NULL && json_array_size(ids) < BATCH_IDS;
		    it = json_object_iter_next(in, it))
			json_array_append_new(ids,
			    json_string(json_object_iter_key(it)));
		if (thoth_index_lock(ix) != 0)
			break;
		if ((cur = thoth_index_get(ix, ids)) == NULL)
			rv = -1;
		json_array_foreach(ids, i, v) {
			if (rv != 0)
				break;
			id = json_string_value(v);
			parts = json_object_get(in, id);
			rec = json_deep_copy(json_object_get(cur, id));
			if (rec == NULL)
				rec = json_pack("{ss}", "id", id);
			for (size_t k = 0; rv == 0 && k < json_array_size(parts); k++)
				rv = thoth_fold_join(rec, json_array_get(parts, k));
			if (rv == 0 && !json_equal(rec, json_object_get(cur, id)))
				json_array_append(news, rec);
			if (out != NULL)
				json_object_set(out, id, rec);
			json_decref(rec);
		}
		if (rv == 0 && json_array_size(news) > 0)	/* one fsync */
			rv = thoth_index_append(ix, news);
		*changed += json_array_size(news);
		json_array_clear(news);
		thoth_index_unlock(ix);
		json_decref(cur);
	}
	json_decref(news);
	json_decref(ids);
	return (rv);
}

/* Each line of a log object, as a record to fold, under its id. */
static int
add_object(json_t *in, const char *name, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t line = 0;
	json_t *j, *rec;
	char stamp[256];

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		line++;
		if (nl == p)
			continue;
		j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		snprintf(stamp, sizeof (stamp), "%s#%06zu", name, line);
		if ((rec = thoth_fold_entry(j, stamp)) == NULL) {
			warnx("%s/%s.ndjson:%zu: %s: skipped", LOG_DIR, name,
			    line, thoth_errbuf);
		} else {
			json_t *parts = json_object_get(in, thoth_record_id(rec));
			if (parts == NULL)
				json_object_set_new(in, thoth_record_id(rec),
				    parts = json_array());
			json_array_append_new(parts, rec);
		}
		json_decref(j);
	}
	return (0);
}

static int start_over(struct thoth_index *, struct thoth_store *, int,
    const char *, int);
static int rebuild(struct thoth_index *, struct thoth_store *, int);

/* ---- writing */

int
thoth_log_write(struct thoth_index *ix, struct thoth_store *st,
    const json_t *lines, json_t *out)
{
	char *name = new_name(), *key, *body = NULL, *text;
	size_t len = 0, i, changed = 0;
	FILE *fp = open_memstream(&body, &len);
	json_t *in = json_object(), *names, *v;
	struct state s;
	int rv;

	json_array_foreach(lines, i, v) {
		text = thoth_json_line(v);
		fprintf(fp, "%s\n", text);
		free(text);
	}
	fclose(fp);
	key = thoth_xasprintf("%s/%s.ndjson", LOG_DIR, name);
	rv = thoth_store_put(st, key, body, len);
	if (rv == 0)
		rv = add_object(in, name, body, len);
	if (rv == 0 && (rv = fold_into(ix, in, out, &changed)) != 0) {
		/* stored for every host all the same: say so */
		char *why = thoth_xstrdup(thoth_errbuf);
		thoth_fail("stored as %s, but not in this host's index (%s)",
		    key, why);
		free(why);
	}
	if (rv == 0 && thoth_index_lock(ix) == 0) {
		/* our own object need not be read back by the next refresh
		 * (objects of others a little older are, in the window) */
		if (state_load(ix, &s) == 0) {
			names = json_pack("[s]", name);
			state_note(&s, names);
			(void) state_save(ix, &s);
			json_decref(names);
		}
		state_free(&s);
		thoth_index_unlock(ix);
	}
	json_decref(in);
	free(body);
	free(key);
	free(name);
	return (rv);
}

/* ---- refreshing */

struct listing {
	json_t *names;		/* log names (no "log/", no ".ndjson") */
	const json_t *skip;	/* names already read */
};

static int
list_name(const char *file, void *arg)
{
	struct listing *l = arg;
	size_t n = strlen(file);
	char *name;

	if (n <= 7 || strcmp(file + n - 7, ".ndjson") != 0 ||
	    key_ns(file) < 0)
		return (0);
	name = thoth_xasprintf("%.*s", (int)(n - 7), file);
	if (json_object_get(l->skip, name) == NULL)
		json_array_append_new(l->names, json_string(name));
	free(name);
	return (0);
}

static int
by_string(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

struct fetch {
	json_t *in;
	int failed;
};

static int
got_object(const char *key, int rv, const char *buf, size_t len, void *arg)
{
	struct fetch *f = arg;
	const char *name = key + strlen(LOG_DIR) + 1;
	char *bare;

	if (rv > 0)	/* deleted since the listing: in a snapshot */
		return (0);
	if (rv < 0) {
		warnx("%s", thoth_errbuf);
		f->failed = 1;
		return (0);
	}
	bare = thoth_xasprintf("%.*s", (int)(strlen(name) - 7), name);
	(void) add_object(f->in, bare, buf, len);
	free(bare);
	return (0);
}

/* GETs the log objects named, many at once, and folds them in. */
static int
read_objects(struct thoth_index *ix, struct thoth_store *st,
    const json_t *names, size_t *changed)
{
	size_t n = json_array_size(names), i;
	char **keys = thoth_xmalloc((n + 1) * sizeof (char *));
	struct fetch f = { json_object(), 0 };
	int rv;

	for (i = 0; i < n; i++)
		keys[i] = thoth_xasprintf("%s/%s.ndjson", LOG_DIR,
		    json_string_value(json_array_get(names, i)));
	rv = thoth_store_get_many(st, keys, n, got_object, &f);
	if (rv == 0 && f.failed)
		rv = thoth_fail("some log objects could not be read");
	if (rv == 0)
		rv = fold_into(ix, f.in, NULL, changed);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	json_decref(f.in);
	return (rv);
}

/* The log's names after 'after' (NULL: all) not in skip, in order. */
static json_t *
list_log(struct thoth_store *st, const char *after, const json_t *skip)
{
	json_t *empty = json_object();
	struct listing l = { json_array(), skip != NULL ? skip : empty };
	char *full = after != NULL ? thoth_xasprintf("%s", after) : NULL;
	size_t n, i;
	char **v;

	if (thoth_store_list_after(st, LOG_DIR, full, list_name, &l) != 0) {
		json_decref(l.names);
		l.names = NULL;
	} else if ((n = json_array_size(l.names)) > 1) {
		/* a directory lists in no order */
		v = thoth_xmalloc(n * sizeof (char *));
		for (i = 0; i < n; i++)
			v[i] = thoth_xstrdup(json_string_value(
			    json_array_get(l.names, i)));
		qsort(v, n, sizeof (char *), by_string);
		json_array_clear(l.names);
		for (i = 0; i < n; i++) {
			json_array_append_new(l.names, json_string(v[i]));
			free(v[i]);
		}
		free(v);
	}
	free(full);
	json_decref(empty);
	return (l.names);
}

/* Reads and folds every log object after the window behind the cursor
 * (all when there is no cursor), then saves the state. */
static int
catch_up(struct thoth_index *ix, struct thoth_store *st, int verbose)
{
	struct state s;
	char after[40];
	json_t *names;
	size_t changed = 0;
	int rv;

	(void) state_load(ix, &s);
	if (s.cursor != NULL)
		key_time(after, sizeof (after), key_ns(s.cursor) -
		    seconds("THOTH_LOG_WINDOW", 600) * NS);
	names = list_log(st, s.cursor != NULL ? after : NULL, s.seen);
	state_free(&s);
	if (names == NULL)
		return (-1);
	rv = read_objects(ix, st, names, &changed);
	if (rv == 0 && (rv = thoth_index_lock(ix)) == 0) {
		(void) state_load(ix, &s);	/* again: others wrote meanwhile */
		state_note(&s, names);
		s.refreshed = now_ns();
		rv = state_save(ix, &s);
		state_free(&s);
		thoth_index_unlock(ix);
	}
	if (rv == 0 && verbose)
		warnx("%zu new log objects, %zu records changed",
		    json_array_size(names), changed);
	json_decref(names);
	return (rv);
}

static int
newest_snapshot(const char *file, void *arg)
{
	char **best = arg;
	size_t n = strlen(file);

	if (n > 11 && strcmp(file + n - 11, ".ndjson.zst") == 0 &&
	    key_ns(file) >= 0 && (*best == NULL || strcmp(file, *best) > 0)) {
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
	struct state s = { NULL, now_ns(), json_object() };
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
		rv = state_save(ix, &s);
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
	state_free(&s);
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
	struct state s;
	int64_t grace = seconds("THOTH_LOG_GRACE", 86400);
	int fresh = state_load(ix, &s), rv = 0;

	if (max_age < 0)
		max_age = (int)seconds("THOTH_REFRESH", 5);
	if (!fresh && now_ns() - s.refreshed < (int64_t)max_age * NS) {
		state_free(&s);
		return (0);
	}
	if (fresh || now_ns() - s.refreshed > grace * NS / 2)
		rv = start_over(ix, st, fresh, s.cursor, verbose);
	state_free(&s);
	return (rv == 0 ? catch_up(ix, st, verbose) : rv);
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
			rv = fold_into(ix, in, NULL, changed);
			json_object_clear(in);
		}
	}
	if (rv == 0)
		rv = fold_into(ix, in, NULL, changed);
	free(line);
	json_decref(in);
	return (rv);
}

static int
rebuild_snapshot(struct thoth_index *ix, struct thoth_store *st,
    const char *file, size_t *changed)
{
	char *key = thoth_xasprintf("%s/%s", SNAP_DIR, file);
	char *z = temp_in(ix, "snapshot.zst");
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
	if (rv == 0 && (*names = list_log(st, NULL, NULL)) == NULL)
		rv = -1;
	if (rv == 0)
		rv = read_objects(into, st, *names, &changed);
	if (rv == 0)
		rv = thoth_index_compact(into);
	if (rv == 0 && verbose)
		warnx("%s%s, %zu log objects: %zu records changed",
		    snap != NULL ? "snapshot " : "no snapshot",
		    snap != NULL ? snap : "", json_array_size(*names), changed);
	free(snap);
	return (rv);
}

static off_t
journal_length(struct thoth_index *ix)
{
	char *path = index_file(ix, "journal.ndjson");
	struct stat sb;
	off_t n = stat(path, &sb) == 0 ? sb.st_size : 0;

	free(path);
	return (n);
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
	struct state s = { NULL, 0, json_object() };
	char *aside = index_file(ix, "log-rebuild"), *from, *to;
	struct thoth_index *tmp = NULL;
	json_t *names = NULL;
	off_t mark = -1;
	int rv = -1;

	if (thoth_remove_tree(aside) != 0 ||
	    (tmp = thoth_index_open(st, aside)) == NULL)
		goto out;
	if (thoth_index_lock(ix) == 0) {
		mark = journal_length(ix);
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
		state_note(&s, names);
		s.refreshed = now_ns();
		rv = state_save(ix, &s);
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
	state_free(&s);
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

static int
write_lines(const char *lines, size_t len, size_t n, void *arg)
{
	(void)n;
	return (fwrite(lines, 1, len, arg) == len ? 0 : -1);
}

/* Every record, compressed, as snapshot/<name>.ndjson.zst. */
static int
put_snapshot(struct thoth_index *ix, struct thoth_store *st, const char *name)
{
	struct thoth_spec *all = thoth_spec_parse(0, NULL);
	char *plain = temp_in(ix, "snapshot");
	char *key = thoth_xasprintf("%s/%s.ndjson.zst", SNAP_DIR, name);
	char *z = NULL;
	FILE *fp = fopen(plain, "we");
	int rv = -1;

	if (fp == NULL) {
		thoth_fail("%s: %s", plain, strerror(errno));
		goto done;
	}
	rv = thoth_index_filter(ix, all, write_lines, fp);
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

	if (strncmp(file, keep, strlen(keep)) != 0 && key_ns(file) >= 0 &&
	    key_ns(file) < horizon)
		json_array_append_new(old, json_string(file));
	return (0);
}

/* Log objects and snapshots older than the snapshot's cursor less the
 * grace period: every host has read them, or will start from it. */
static int
collect_garbage(struct thoth_store *st, const char *name, int verbose)
{
	int64_t horizon = key_ns(name) - seconds("THOTH_LOG_GRACE", 86400) * NS;
	json_t *names = list_log(st, NULL, NULL), *v;
	json_t *snaps = json_pack("[s, I]", name, (json_int_t)horizon);
	size_t i, gone = 0;
	char *key;
	int rv = names != NULL ? 0 : -1;

	json_array_foreach(names, i, v) {
		if (rv != 0 || key_ns(json_string_value(v)) > horizon ||
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
	struct state s;
	char *name;
	int fd = refresh_lock(ix), rv;

	if (fd < 0 || (rv = refresh(ix, st, 0, verbose)) != 0) {
		if (fd >= 0)
			close(fd);
		return (-1);
	}
	(void) state_load(ix, &s);
	name = s.cursor != NULL ? thoth_xstrdup(s.cursor) : new_name();
	state_free(&s);
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
