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
 * Snapshots, rebuilds and the choice between them on a refresh are
 * snapshot.c, which builds on this file.
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

#include "store/backend.h"
#include "index/index.h"

/* ---- settings and names */

int64_t
log_seconds(const char *name, int64_t dflt)
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

int64_t
log_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * NS + ts.tv_nsec);
}

/* "20261130T011850.123456789Z": sorts as time does. */
void
log_key_time(char *buf, size_t len, int64_t ns)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y%m%dT%H%M%S", &tm);
	snprintf(buf + n, len - n, ".%09dZ", (int)(ns % NS));
}

/* The time at the start of a key, in ns; -1 if it has none. */
int64_t
log_key_ns(const char *key)
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
char *
log_new_name(void)
{
	static unsigned seq;
	char t[40], *host = host_name(), *name;

	log_key_time(t, sizeof (t), log_now());
	name = thoth_xasprintf("%s-%s-%ld-%u", t, host, (long)getpid(), ++seq);
	free(host);
	return (name);
}

/* A temporary file of the index directory (swept if we die). */
char *
log_temp(struct thoth_index *ix, const char *name)
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

void
log_state_free(struct log_state *s)
{
	free(s->cursor);
	json_decref(s->seen);
}

/* 0, or 1 when the index has no state yet (a new host). */
int
log_state_load(struct thoth_index *ix, struct log_state *s)
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
int
log_state_save(struct thoth_index *ix, struct log_state *s)
{
	int64_t from = s->cursor != NULL ? log_key_ns(s->cursor) -
	    log_seconds("THOTH_LOG_WINDOW", 600) * NS : 0;
	char *path = index_file(ix, STATE_FILE), *text;
	const char *k;
	json_t *v, *j;
	void *it;
	int rv;

	json_object_foreach_safe(s->seen, it, k, v) {
		if (log_key_ns(k) < from)
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
void
log_state_note(struct log_state *s, const json_t *names)
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
int
log_fold(struct thoth_index *ix, json_t *in, json_t *out, size_t *changed)
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

/* ---- writing */

int
thoth_log_write(struct thoth_index *ix, struct thoth_store *st,
    const json_t *lines, json_t *out)
{
	char *name = log_new_name(), *key, *body = NULL, *text;
	size_t len = 0, i, changed = 0;
	FILE *fp = open_memstream(&body, &len);
	json_t *in = json_object(), *names, *v;
	struct log_state s;
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
	if (rv == 0 && (rv = log_fold(ix, in, out, &changed)) != 0) {
		/* stored for every host all the same: say so */
		char *why = thoth_xstrdup(thoth_errbuf);
		thoth_fail("stored as %s, but not in this host's index (%s)",
		    key, why);
		free(why);
	}
	if (rv == 0 && thoth_index_lock(ix) == 0) {
		/* our own object need not be read back by the next refresh
		 * (objects of others a little older are, in the window) */
		if (log_state_load(ix, &s) == 0) {
			names = json_pack("[s]", name);
			log_state_note(&s, names);
			(void) log_state_save(ix, &s);
			json_decref(names);
		}
		log_state_free(&s);
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
	    log_key_ns(file) < 0)
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
int
log_read(struct thoth_index *ix, struct thoth_store *st,
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
		rv = log_fold(ix, f.in, NULL, changed);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	json_decref(f.in);
	return (rv);
}

/* The log's names after 'after' (NULL: all) not in skip, in order. */
json_t *
log_list(struct thoth_store *st, const char *after, const json_t *skip)
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
int
log_catch_up(struct thoth_index *ix, struct thoth_store *st, int verbose)
{
	struct log_state s;
	char after[40];
	json_t *names;
	size_t changed = 0;
	int rv;

	(void) log_state_load(ix, &s);
	if (s.cursor != NULL)
		log_key_time(after, sizeof (after), log_key_ns(s.cursor) -
		    log_seconds("THOTH_LOG_WINDOW", 600) * NS);
	names = log_list(st, s.cursor != NULL ? after : NULL, s.seen);
	log_state_free(&s);
	if (names == NULL)
		return (-1);
	rv = log_read(ix, st, names, &changed);
	if (rv == 0 && (rv = thoth_index_lock(ix)) == 0) {
		(void) log_state_load(ix, &s);	/* again: others wrote meanwhile */
		log_state_note(&s, names);
		s.refreshed = log_now();
		rv = log_state_save(ix, &s);
		log_state_free(&s);
		thoth_index_unlock(ix);
	}
	if (rv == 0 && verbose)
		warnx("%zu new log objects, %zu records changed",
		    json_array_size(names), changed);
	json_decref(names);
	return (rv);
}
