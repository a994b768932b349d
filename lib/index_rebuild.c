/*
 * index_rebuild.c - rebuilding the index from the store's info.json.
 *
 * Writers keep working during a rebuild: the journal's length is noted
 * before the store is listed, and whatever was appended after that is
 * carried over into the new journal, so no edit made meanwhile is lost.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"
#include "index_impl.h"

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
};

static int
add_dump(const char *name, void *arg)
{
	struct rebuild *rb = arg;
	char id[THOTH_ID_LEN + 1];
	json_t *rec;
	int rv;

	if (strlen(name) != THOTH_ID_LEN + 1 || name[THOTH_ID_LEN] != '/')
		return (0);	/* analyzers/, index/, ... */
	memcpy(id, name, THOTH_ID_LEN);
	id[THOTH_ID_LEN] = '\0';
	if (!thoth_is_id(id))
		return (0);
	if ((rv = thoth_store_get_info(rb->st, id, &rec)) != 0) {
		if (rv > 0 && rb->verbose)
			warnx("%s: no info.json (unfinished upload), skipped", id);
		if (rv < 0) {
			warnx("%s", thoth_errbuf);
			rb->failed = 1;
		}
		return (0);
	}
	if (rb->n == rb->cap) {
		rb->cap = rb->cap ? rb->cap * 2 : 1024;
		rb->slots = realloc(rb->slots, rb->cap * sizeof (struct slot));
		if (rb->slots == NULL)
			err(THOTH_EXIT_FAIL, "out of memory");
	}
	char *line = thoth_json_line(rec);
	struct slot *s = &rb->slots[rb->n++];
	s->time = json_integer_value(json_object_get(rec, "time"));
	s->off = ftello(rb->unsorted);
	s->len = strlen(line) + 1;
	fprintf(rb->unsorted, "%s\n", line);
	free(line);
	json_decref(rec);
	return (0);
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

static off_t
journal_size(struct thoth_index *ix)
{
	char *path = thoth_xasprintf("%s/journal.ndjson", ix->dir);
	struct stat sb;
	off_t n = stat(path, &sb) == 0 ? sb.st_size : 0;

	free(path);
	return (n);
}

int
thoth_index_rebuild(struct thoth_index *ix, struct thoth_store *st,
    int verbose)
{
	struct rebuild rb = { st, tmpfile(), NULL, 0, 0, verbose, 0 };
	char *path = thoth_xasprintf("%s/base.ndjson", ix->dir);
	char *tmp = thoth_xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *out = NULL;
	off_t mark;
	int rv = -1;

	if (rb.unsorted == NULL || thoth_index_lock(ix) != 0) {
		if (rb.unsorted == NULL)
			thoth_fail("index rebuild: tmpfile: %s", strerror(errno));
		goto out;
	}
	mark = journal_size(ix);
	thoth_index_unlock(ix);
	if (thoth_store_list(st, "", add_dump, &rb) != 0)
		goto out;
	if ((out = fopen(tmp, "we")) == NULL) {
		thoth_fail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_sorted(&rb, out) != 0) {
		fclose(out);
		(void) unlink(tmp);
		goto out;
	}
	if (thoth_index_lock(ix) != 0)
		goto out;
	if (index_publish(out, tmp, path) == 0)
		rv = index_journal_restart(ix, mark);
	thoth_index_unlock(ix);
	if (rv == 0 && rb.failed)
		rv = thoth_fail("some info.json could not be read");
out:
	if (rb.unsorted != NULL)
		fclose(rb.unsorted);
	free(rb.slots);
	free(tmp);
	free(path);
	return (rv);
}
