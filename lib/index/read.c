/*
 * index_scan.c - reading the index in time order, and rewriting it
 * whole (compaction, rebuild from the store).  thoth_index_scan is the
 * reference reader, one jansson record at a time; thoth_index_filter
 * (scan_index.c) gives the same lines much faster, and compaction uses
 * it.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "index/index.h"
#include "scan/scan.h"

#define rec_time index_rec_time

json_int_t
index_rec_time(const json_t *rec)
{
	return (json_integer_value(json_object_get(rec, "time")));
}

static int
by_time(const void *a, const void *b)
{
	json_int_t ta = rec_time(*(json_t *const *)a);
	json_int_t tb = rec_time(*(json_t *const *)b);

	return (ta < tb ? -1 : ta > tb);
}

/* Whole lines only: a last line without '\n' is a torn append. */
void
index_journal_load(FILE *fp, struct journal *j)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	const char *id;
	json_t *rec;

	j->latest = json_object();
	while (fp != NULL && (len = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if (line[len - 1] != '\n')
			break;
		rec = json_loadb(line, (size_t)len, 0, NULL);
		if ((id = thoth_record_id(rec)) != NULL) {
			json_object_del(j->latest, id);	/* keep append order */
			json_object_set(j->latest, id, rec);
		} else {
			warnx("journal.ndjson:%zu: bad record skipped", lineno);
		}
		json_decref(rec);
	}
	free(line);
	j->n = json_object_size(j->latest);
	j->sorted = thoth_xmalloc(j->n * sizeof (json_t *));
	j->next = 0;
	size_t i = 0;
	json_t *v;
	const char *k;
	json_object_foreach(j->latest, k, v)
		j->sorted[i++] = v;
	/* qsort is not stable, but ids are unique so ties do not matter. */
	qsort(j->sorted, j->n, sizeof (json_t *), by_time);
}

void
index_journal_free(struct journal *j)
{
	free(j->sorted);
	json_decref(j->latest);
}

/* Emits journal records older than limit (all when limit is NULL). */
static int
journal_emit(struct journal *j, const json_t *limit, thoth_record_fn fn,
    void *arg, struct thoth_where *w)
{
	int rv = 0;

	while (rv == 0 && j->next < j->n &&
	    (limit == NULL || rec_time(j->sorted[j->next]) <= rec_time(limit)))
		rv = fn(j->sorted[j->next++], w, arg);
	return (rv);
}

int
thoth_index_scan(struct thoth_index *ix, int64_t lo, int64_t hi,
    thoth_record_fn fn, void *arg)
{
	FILE *base, *jfp;
	struct journal j;
	struct thoth_where w = { "index", 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rv = 0;

	(void)lo; (void)hi;	/* every record is read; the spec decides */
	if (index_open_pair(ix, &base, &jfp) != 0)
		return (-1);
	index_journal_load(jfp, &j);
	while (rv >= 0 && rv != 1 && base != NULL &&
	    (len = getline(&line, &cap, base)) > 0) {
		w.line++;
		if (line[len - 1] != '\n')
			break;
		json_t *rec = json_loadb(line, (size_t)len, 0, NULL);
		const char *id = thoth_record_id(rec);
		if (id == NULL)
			warnx("%s/base.ndjson:%zu: bad record skipped", ix->dir,
			    w.line);
		else if (json_object_get(j.latest, id) == NULL &&
		    (rv = journal_emit(&j, rec, fn, arg, &w)) == 0)
			rv = fn(rec, &w, arg);
		json_decref(rec);
	}
	if (rv == 0)
		rv = journal_emit(&j, NULL, fn, arg, &w);
	free(line);
	index_journal_free(&j);
	if (base != NULL)
		fclose(base);
	if (jfp != NULL)
		fclose(jfp);
	return (rv < 0 ? -1 : 0);
}

static int
write_lines(const char *lines, size_t len, size_t n, void *arg)
{
	(void)n;
	return (fwrite(lines, 1, len, arg) == len ? 0 : -1);
}

static char *
ix_path(const struct thoth_index *ix, const char *name)
{
	return (thoth_xasprintf("%s/%s", ix->dir, name));
}

/* fsync and rename a finished stdio temporary into place. */
int
index_publish(FILE *fp, const char *tmp, const char *path)
{
	int bad = fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0;

	if (fclose(fp) != 0 || bad) {
		(void) unlink(tmp);
		return (thoth_fail("%s: %s", tmp, strerror(errno)));
	}
	if (rename(tmp, path) != 0) {
		(void) unlink(tmp);
		return (thoth_fail("%s: %s", path, strerror(errno)));
	}
	return (0);
}

/* Replaces the journal with its bytes from offset 'from' on. */
int
index_journal_restart(struct thoth_index *ix, off_t from)
{
	char *path = ix_path(ix, "journal.ndjson");
	char *tmp = thoth_temp_name(path);
	FILE *out = fopen(tmp, "we"), *in = fopen(path, "re");
	char buf[65536];
	size_t n;
	int rv;

	if (out == NULL) {
		rv = thoth_fail("%s: %s", tmp, strerror(errno));
	} else {
		if (in != NULL && fseeko(in, from, SEEK_SET) == 0) {
			while ((n = fread(buf, 1, sizeof (buf), in)) > 0)
				fwrite(buf, 1, n, out);
		}
		rv = index_publish(out, tmp, path);
	}
	if (in != NULL)
		fclose(in);
	free(tmp);
	free(path);
	return (rv);
}

/* Every record into a new base; its block summary is made at once, so
 * that readers with a time range need not make it. */
int
thoth_index_compact(struct thoth_index *ix)
{
	char *path = ix_path(ix, "base.ndjson");
	char *tmp = thoth_temp_name(path);
	struct thoth_spec *all = thoth_spec_parse(0, NULL);
	int held = ix->locked, rv = -1;
	FILE *out;

	if (!held && thoth_index_lock(ix) != 0)
		goto out;
	if (index_rebuild_running(ix)) {	/* it carries the journal over */
		thoth_fail("a rebuild is running: compact after it");
		goto unlock;
	}
	if ((out = fopen(tmp, "we")) == NULL) {
		thoth_fail("%s: %s", tmp, strerror(errno));
		goto unlock;
	}
	if (thoth_index_filter(ix, all, write_lines, out) != 0 || ferror(out)) {
		if (ferror(out))
			thoth_fail("%s: %s", tmp, strerror(errno));
		fclose(out);
		(void) unlink(tmp);
		goto unlock;
	}
	if (index_publish(out, tmp, path) == 0)
		rv = index_journal_restart(ix, INT64_MAX);
unlock:
	if (!held)
		thoth_index_unlock(ix);
	if (rv == 0)	/* derived from the base alone: no lock needed */
		(void) index_sidecar_build(ix);
out:
	thoth_spec_free(all);
	free(tmp);
	free(path);
	return (rv);
}
