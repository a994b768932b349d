/*
 * tally.c - records counted by a key and by period: the trends of
 * thoth-html and thoth-trend.
 *
 * Each key keeps the time of every record it counted (8 bytes each), so
 * that periods can be chosen once the whole range is known.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thoth.h"

struct thoth_tally {
	json_t *where;			/* key -> index into rows */
	struct thoth_tally_row **rows;
	size_t n, cap, total;
	int64_t first, last;		/* over every key */
};

struct thoth_tally *
thoth_tally_new(void)
{
	struct thoth_tally *t = thoth_xmalloc(sizeof (*t));

	memset(t, 0, sizeof (*t));
	t->where = json_object();
	return (t);
}

static struct thoth_tally_row *
new_row(struct thoth_tally *t, const char *key)
{
	struct thoth_tally_row *r = thoth_xmalloc(sizeof (*r));

	memset(r, 0, sizeof (*r));
	r->key = thoth_xstrdup(key);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->rows = realloc(t->rows, t->cap * sizeof (*t->rows));
		if (t->rows == NULL)
			abort();
	}
	json_object_set_new(t->where, key, json_integer((json_int_t)t->n));
	t->rows[t->n++] = r;
	return (r);
}

struct thoth_tally_row *
thoth_tally_add(struct thoth_tally *t, const char *key, int64_t time)
{
	json_t *i = json_object_get(t->where, key);
	struct thoth_tally_row *r = i != NULL ?
	    t->rows[json_integer_value(i)] : new_row(t, key);

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->times = realloc(r->times, r->cap * sizeof (*r->times));
		if (r->times == NULL)
			abort();
	}
	r->times[r->n++] = time;
	if (r->n == 1 || time < r->first)
		r->first = time;
	if (r->n == 1 || time > r->last)
		r->last = time;
	if (++t->total == 1)
		t->first = t->last = time;
	if (time < t->first)
		t->first = time;
	if (time > t->last)
		t->last = time;
	return (r);
}

static int
cmp_rows(const void *a, const void *b)
{
	const struct thoth_tally_row *x = *(struct thoth_tally_row *const *)a;
	const struct thoth_tally_row *y = *(struct thoth_tally_row *const *)b;

	if (x->n != y->n)
		return (x->n > y->n ? -1 : 1);
	return (strcmp(x->key, y->key));
}

struct thoth_tally_row **
thoth_tally_rows(struct thoth_tally *t, size_t *n)
{
	if (t->n > 0)
		qsort(t->rows, t->n, sizeof (*t->rows), cmp_rows);
	json_object_clear(t->where);	/* the indexes are gone */
	*n = t->n;
	return (t->rows);
}

void
thoth_tally_range(const struct thoth_tally *t, int64_t *first, int64_t *last)
{
	*first = t->first;
	*last = t->last;
}

/* Days start at 00:00 UTC; weeks on Monday (1970-01-01 was a Thursday). */
int64_t
thoth_period_start(int64_t time, int64_t width)
{
	int64_t shift = width == 7 * 86400 ? 3 * 86400 : 0, s = time + shift;

	return (s - (s % width + width) % width - shift);
}

size_t
thoth_period_count(int64_t first, int64_t last, int64_t width)
{
	return ((size_t)((thoth_period_start(last, width) -
	    thoth_period_start(first, width)) / width + 1));
}

int64_t
thoth_value_time(const char *v)
{
	char *end;
	int64_t t;

	if (v == NULL)
		return (0);
	t = strtoll(v, &end, 10);
	return (*v != '\0' && *end == '\0' ? t : 0);
}

char *
thoth_utc(int64_t t, const char *fmt, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, fmt, &tm) == 0)
		snprintf(buf, size, "-");
	return (buf);
}

int64_t
thoth_period_fit(int64_t first, int64_t last, int64_t width, size_t max)
{
	size_t n = thoth_period_count(first, last, width);

	return (width * (int64_t)((n + max - 1) / max));
}

void
thoth_tally_buckets(const struct thoth_tally_row *r, int64_t first,
    int64_t width, size_t nb, size_t *counts)
{
	int64_t start = thoth_period_start(first, width), k;
	size_t i;

	memset(counts, 0, nb * sizeof (*counts));
	for (i = 0; i < r->n; i++) {
		k = (r->times[i] - start) / width;
		if (r->times[i] >= start && k < (int64_t)nb)
			counts[k]++;
	}
}

void
thoth_tally_free(struct thoth_tally *t, void (*fn)(void *data))
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (fn != NULL && t->rows[i]->data != NULL)
			fn(t->rows[i]->data);
		free(t->rows[i]->key);
		free(t->rows[i]->times);
		free(t->rows[i]);
	}
	free(t->rows);
	json_decref(t->where);
	free(t);
}
