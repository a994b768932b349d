/*
 * rebuild.c - rebuilding the index from the store's info.json.
 *
 * Writers keep working during a rebuild: the journal's length is noted
 * before the store is listed, and whatever was appended after that is
 * carried over into the new journal, so no edit made meanwhile is lost.
 * Holding rebuild.lock keeps writers from compacting (moving the
 * journal) until the rebuild is published, and other rebuilds waiting.
 * The info.json objects are fetched with thoth_store_get_many (many
 * requests in flight on S3).  An update (-i) fetches only the dumps the
 * index does not know yet and appends them to the journal.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backend.h"
#include "index/index.h"

struct slot {
	json_int_t time;
	off_t off;
	size_t len;
};

struct rebuild {
	struct thoth_store *st;
	FILE *unsorted;
	struct slot *slots;
	size_t n, cap;
	int verbose, failed;
	char **keys;		/* "<id>/info.json" to fetch */
	size_t nkeys, kcap;
	char (*known)[THOTH_ID_LEN];	/* update: ids in the index, sorted */
	size_t nknown, knowncap;
	json_t *fresh;		/* update: the records fetched */
	json_t *damaged;	/* ids whose info.json could not be used */
};

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return (p);
	*cap = *cap ? *cap * 2 : 1024;
	if ((p = realloc(p, *cap * size)) == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	return (p);
}

static int
by_id(const void *a, const void *b)
{
	return (memcmp(a, b, THOTH_ID_LEN));
}

static int
add_dump(const char *name, void *arg)
{
	struct rebuild *rb = arg;
	char id[THOTH_ID_LEN + 1];

	if (strlen(name) != THOTH_ID_LEN + 1 || name[THOTH_ID_LEN] != '/')
		return (0);	/* analyzers/, index/, ... */
	memcpy(id, name, THOTH_ID_LEN);
	id[THOTH_ID_LEN] = '\0';
	if (!thoth_is_id(id) || (rb->known != NULL && bsearch(id, rb->known,
	    rb->nknown, THOTH_ID_LEN, by_id) != NULL))
		return (0);
	rb->keys = grow(rb->keys, &rb->kcap, rb->nkeys, sizeof (char *));
	rb->keys[rb->nkeys++] = thoth_xasprintf("%s/info.json", id);
	return (0);
}

static void
add_record(struct rebuild *rb, json_t *rec)
{
	if (rb->fresh != NULL) {
		json_array_append(rb->fresh, rec);
		return;
	}
	rb->slots = grow(rb->slots, &rb->cap, rb->n, sizeof (struct slot));
	char *line = thoth_json_line(rec);
	struct slot *s = &rb->slots[rb->n++];
	s->time = json_integer_value(json_object_get(rec, "time"));
	s->off = ftello(rb->unsorted);
	s->len = strlen(line) + 1;
	fprintf(rb->unsorted, "%s\n", line);
	free(line);
}

static int
got_info(const char *key, int rv, const char *buf, size_t len, void *arg)
{
	struct rebuild *rb = arg;
	char id[THOTH_ID_LEN + 1], *where;
	json_error_t jerr;
	json_t *rec = NULL;
	int ok = 0;

	snprintf(id, sizeof (id), "%s", key);
	if (rv > 0 && rb->verbose)
		warnx("%s: no info.json (unfinished upload), skipped", id);
	if (rv > 0)
		return (0);
	where = thoth_store_path(rb->st, key);
	if (rv < 0)
		warnx("%s", thoth_errbuf);
	else if ((rec = json_loadb(buf, len, 0, &jerr)) == NULL)
		warnx("%s: bad JSON: %s", where, jerr.text);
	else if (thoth_info_check(rec, id, where) != 0)
		warnx("%s", thoth_errbuf);
	else {
		add_record(rb, rec);
		ok = 1;
	}
	if (!ok) {
		rb->failed = 1;
		json_object_set_new(rb->damaged, id, json_true());
	}
	json_decref(rec);
	free(where);
	return (0);
}

/*
 * A record the rebuild could not read from the store is not dropped:
 * the index's copy, if it has one, is kept, and said so.
 */
static int
keep_old(json_t *rec, const struct thoth_where *w, void *arg)
{
	struct rebuild *rb = arg;
	const char *id = thoth_record_id(rec);

	(void)w;
	if (id != NULL && json_object_get(rb->damaged, id) != NULL) {
		warnx("%s: kept the record the index had", id);
		add_record(rb, rec);
		json_object_del(rb->damaged, id);
	}
	return (0);
}

static int
keep_damaged(struct thoth_index *ix, struct rebuild *rb)
{
	const char *id;
	json_t *v;

	if (json_object_size(rb->damaged) == 0)
		return (0);
	if (thoth_index_scan(ix, INT64_MIN, INT64_MAX, keep_old, rb) != 0)
		return (-1);
	json_object_foreach(rb->damaged, id, v)
		warnx("%s: not in the index either: left out", id);
	return (0);
}

/* Lists the store, then fetches the info.json of every dump listed. */
static int
fetch_all(struct rebuild *rb)
{
	int rv = thoth_store_list(rb->st, "", add_dump, rb);

	if (rv == 0)
		rv = thoth_store_get_many(rb->st, rb->keys, rb->nkeys, got_info,
		    rb);
	return (rv);
}

static void
rebuild_free(struct rebuild *rb)
{
	size_t i;

	for (i = 0; i < rb->nkeys; i++)
		free(rb->keys[i]);
	free(rb->keys);
	free(rb->slots);
	free(rb->known);
	json_decref(rb->fresh);
	json_decref(rb->damaged);
	if (rb->unsorted != NULL)
		fclose(rb->unsorted);
}

static int
by_slot_time(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->time != y->time)
		return (x->time < y->time ? -1 : 1);
	return (x->off < y->off ? -1 : x->off > y->off);
}

static int
write_sorted(struct rebuild *rb, FILE *out)
{
	char *buf = NULL;
	size_t cap = 0, i;

	if (fflush(rb->unsorted) != 0)
		return (thoth_fail("index rebuild: %s", strerror(errno)));
	qsort(rb->slots, rb->n, sizeof (struct slot), by_slot_time);
	for (i = 0; i < rb->n; i++) {
		struct slot *s = &rb->slots[i];
		if (s->len > cap) {
			free(buf);
			buf = thoth_xmalloc(cap = s->len);
		}
		if (pread(fileno(rb->unsorted), buf, s->len, s->off) !=
		    (ssize_t)s->len) {
			free(buf);
			return (thoth_fail("index rebuild: read back failed"));
		}
		fwrite(buf, 1, s->len, out);
	}
	free(buf);
	return (0);
}

int
thoth_index_rebuild(struct thoth_index *ix, struct thoth_store *st,
    int verbose)
{
	struct rebuild rb = { st, tmpfile(), NULL, 0, 0, verbose, 0, NULL, 0, 0,
	    NULL, 0, 0, NULL, json_object() };
	char *path = thoth_xasprintf("%s/base.ndjson", ix->dir);
	char *tmp = thoth_temp_name(path);
	FILE *out = NULL;
	off_t mark;
	int rv = -1, held;

	if (rb.unsorted == NULL) {
		thoth_fail("index rebuild: tmpfile: %s", strerror(errno));
		goto out;
	}
	if ((held = index_rebuild_begin(ix)) < 0)
		goto out;
	if (thoth_index_lock(ix) != 0)
		goto done;
	mark = index_journal_size(ix);
	thoth_index_unlock(ix);
	thoth_store_sweep(st);
	if (fetch_all(&rb) != 0 || keep_damaged(ix, &rb) != 0)
		goto done;
	if ((out = fopen(tmp, "we")) == NULL) {
		thoth_fail("%s: %s", tmp, strerror(errno));
		goto done;
	}
	if (write_sorted(&rb, out) != 0) {
		fclose(out);
		(void) unlink(tmp);
		goto done;
	}
	if (thoth_index_lock(ix) != 0)
		goto done;
	if (index_publish(out, tmp, path) == 0)
		rv = index_journal_restart(ix, mark);
	thoth_index_unlock(ix);
	if (rv == 0)	/* the time-range summary, for the next reader */
		(void) index_sidecar_build(ix);
	if (rv == 0 && rb.failed)
		rv = thoth_fail("some info.json could not be read");
done:
	close(held);
out:
	rebuild_free(&rb);
	free(tmp);
	free(path);
	return (rv);
}

/* ---- update: only the dumps the index does not have yet */

/* The id of each record of the index, read in place (the scanner's
 * report), not parsed into an object. */
static void
put_id(struct thoth_view *v, void *arg)
{
	int string;
	const char *id = thoth_view_field(v, "id", &string);

	(void)arg;
	if (id != NULL && string && thoth_is_id(id))
		thoth_view_put(v, id, THOTH_ID_LEN);
}

static int
got_ids(const char *p, size_t len, size_t n, void *arg)
{
	struct rebuild *rb = arg;

	(void)n;
	for (; len >= THOTH_ID_LEN; p += THOTH_ID_LEN, len -= THOTH_ID_LEN) {
		rb->known = grow(rb->known, &rb->knowncap, rb->nknown,
		    THOTH_ID_LEN);
		memcpy(rb->known[rb->nknown++], p, THOTH_ID_LEN);
	}
	return (0);
}

static int
know_index(struct thoth_index *ix, struct rebuild *rb)
{
	struct thoth_spec *all = thoth_spec_parse(0, NULL);
	struct thoth_report rep = { put_id, NULL, got_ids, rb };
	int rv = thoth_index_report(ix, all, &rep);

	thoth_spec_free(all);
	qsort(rb->known, rb->nknown, THOTH_ID_LEN, by_id);
	return (rv);
}

/* Under the lock: a record some writer appended meanwhile is newer
 * than what we fetched, so ours is dropped. */
static int
append_fresh(struct thoth_index *ix, struct rebuild *rb)
{
	json_t *rec, *news;
	size_t i;
	int rv = 0;

	if (json_array_size(rb->fresh) == 0)
		return (0);
	rb->nknown = 0;
	if (know_index(ix, rb) != 0)
		return (-1);
	news = json_array();
	json_array_foreach(rb->fresh, i, rec) {
		if (bsearch(thoth_record_id(rec), rb->known, rb->nknown,
		    THOTH_ID_LEN, by_id) == NULL)
			json_array_append(news, rec);
	}
	if (json_array_size(news) > 0)	/* one write, one fsync */
		rv = thoth_index_append(ix, news);
	json_decref(news);
	return (rv);
}

int
thoth_index_update(struct thoth_index *ix, struct thoth_store *st,
    int verbose)
{
	struct rebuild rb = { st, NULL, NULL, 0, 0, verbose, 0, NULL, 0, 0,
	    NULL, 0, 0, json_array(), json_object() };
	int rv = -1;

	if (know_index(ix, &rb) != 0 || fetch_all(&rb) != 0)
		goto out;
	if (thoth_index_lock(ix) != 0)
		goto out;
	rv = append_fresh(ix, &rb);
	thoth_index_unlock(ix);
	if (rv == 0 && verbose)
		warnx("%zu new records", json_array_size(rb.fresh));
	if (rv == 0 && rb.failed)
		rv = thoth_fail("some info.json could not be read");
out:
	rebuild_free(&rb);
	return (rv);
}
