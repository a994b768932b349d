/*
 * read.c - reading the index in time order: thoth_index_scan is the
 * reference reader, one jansson record at a time; thoth_index_filter
 * (filter.c) gives the same lines much faster.  The journal's loader
 * here serves both.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"

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
