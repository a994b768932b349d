/*
 * filter.c - thoth_index_filter: thoth_index_scan's records, in its
 * order, matched in place on every core.
 *
 * thoth_index_scan emits a journal record J just before the first base
 * record R (in file order, not replaced by the journal) whose "time" is
 * at least J's.  That R is always one whose time exceeds every earlier
 * time of its chunk, so workers mark those records (SCAN_TIME events)
 * and the main thread, consuming chunks in order, slips the journal's
 * matching records in at the marks.  With a time range, or tokens whose
 * keys the blocks' filters know, whole blocks of the base are skipped by
 * their summary (index/sidecar.c) where that cannot change what is
 * printed.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"

#define TUNE_SAMPLE (64 << 10)	/* bytes of the base that tune the literals */

struct ixjob {
	const struct thoth_spec *spec;
	struct journal j;
	char *ids;		/* the journal's ids, 32 bytes each, sorted */
	thoth_lines_fn fn;
	void *arg;
	const struct thoth_report *rep;	/* or NULL: the lines */
	char *name;		/* .../base.ndjson, for warnings */
	int keep;		/* compaction: keep or repair bad lines */
};

static int
cmp_id(const void *a, const void *b)
{
	return (memcmp(a, b, THOTH_ID_LEN));
}

static int
in_journal(const struct ixjob *job, const char *id)
{
	return (job->j.n > 0 && bsearch(id, job->ids, job->j.n, THOTH_ID_LEN,
	    cmp_id) != NULL);
}

static void
time_mark(const struct ixjob *job, struct scan_out *out, int64_t key)
{
	if (job->j.n > 0 && (key > out->runmax || out->runmax == INT64_MIN)) {
		scan_time(out, key);
		out->runmax = key;
	}
}

/* A line with its NUL bytes dropped, parsed: what a stray NUL (a
 * crash of the filesystem, an editor) did not otherwise damage. */
static json_t *
without_nuls(const char *s, size_t len)
{
	char *buf = thoth_xmalloc(len + 1);
	size_t i, n = 0;
	json_t *rec;

	for (i = 0; i < len; i++)
		if (s[i] != '\0')
			buf[n++] = s[i];
	rec = json_loadb(buf, n, 0, NULL);
	free(buf);
	return (rec);
}

/*
 * A base line as thoth_index_scan reads it (no duplicate check).  For a
 * compaction, a line readers skip is repaired if dropping NUL bytes is
 * enough, else kept as it is: never lost (thoth index replaces it).
 */
static void
slow_line(struct ixjob *job, struct scan_out *out, const char *s, size_t len)
{
	json_t *rec = json_loadb(s, len, 0, NULL);
	const char *id = thoth_record_id(rec);

	if (id == NULL && job->keep && memchr(s, '\0', len) != NULL) {
		json_decref(rec);
		rec = without_nuls(s, len);
		if ((id = thoth_record_id(rec)) != NULL)
			scan_warn(out, "NUL bytes dropped from a record");
	}
	if (id == NULL && job->keep) {
		scan_warn(out, "bad record kept as it is (thoth index replaces it)");
		scan_put(out, s, len);
	} else if (id == NULL)
		scan_warn(out, "bad record skipped");
	else if (!in_journal(job, id)) {
		time_mark(job, out, index_rec_time(rec));
		if (thoth_spec_match(job->spec, rec))
			scan_put_rec(job->rep, out, rec);
	}
	json_decref(rec);
}

static void
base_line(void *arg, void *wctx, struct scan_out *out, const char *s,
    size_t len)
{
	struct ixjob *job = arg;
	struct scan_rec *r = wctx;
	struct scan_val t;
	const char *id;

	if (out->trusted)	/* canonical, with an id: the summary says so */
		scan_trust(r, s, len);
	else if (scan_line(r, s, len) != 0) {
		slow_line(job, out, s, len);
		return;
	}
	if (!out->trusted || job->j.n > 0) {
		if ((id = scan_id(r)) == NULL) {	/* or the summary lied */
			slow_line(job, out, s, len);
			return;
		}
		if (in_journal(job, id))
			return;
	}
	if (job->j.n > 0)	/* only a journal needs the marks */
		time_mark(job, out, scan_get(r, "time", 4, &t) &&
		    t.type == SV_NUM ? scan_int(&t) : 0);
	if (!scan_spec_match(job->spec, r))
		return;
	if (job->rep != NULL)
		scan_view_line(job->rep, out, r);
	else
		scan_put(out, s, len);
}

/* Journal records up to time key, those matching; 1 if fn stopped. */
static int
journal_flush(struct ixjob *job, int64_t key)
{
	struct journal *j = &job->j;
	struct scan_ref ref = { job->spec, job->fn, job->arg, job->rep };
	int rv = 0;

	while (rv == 0 && j->next < j->n &&
	    index_rec_time(j->sorted[j->next]) <= key)
		rv = scan_ref_match(j->sorted[j->next++], NULL, &ref);
	return (rv);
}

static int
base_consume(void *arg, struct scan_out *out, size_t line0)
{
	struct ixjob *job = arg;
	size_t i, off = 0, nrec = 0, end, endrec;
	const struct scan_ev *ev;

	for (i = 0; i <= out->nev; i++) {
		ev = i < out->nev ? &out->ev[i] : NULL;
		end = ev != NULL ? ev->off : out->len;
		endrec = ev != NULL ? ev->nrec : out->nrec;
		if (endrec > nrec && job->fn(out->buf + off, end - off,
		    endrec - nrec, job->arg))
			return (1);
		off = end;
		nrec = endrec;
		if (ev != NULL && ev->kind == SCAN_WARN)
			warnx("%s:%zu: %s", job->name, line0 + ev->line,
			    ev->msg);
		if (ev != NULL && ev->kind == SCAN_TIME &&
		    journal_flush(job, ev->key))
			return (1);
	}
	return (0);
}

static void
load_ids(struct ixjob *job)
{
	const char *id;
	json_t *v;
	size_t i = 0;

	job->ids = thoth_xmalloc(job->j.n * THOTH_ID_LEN);
	json_object_foreach(job->j.latest, id, v)
		memcpy(job->ids + THOTH_ID_LEN * i++, id, THOTH_ID_LEN);
	qsort(job->ids, job->j.n, THOTH_ID_LEN, cmp_id);
}

/* What the spec tells the summary: its time range, literals and keys
 * (THOTH_INDEX_BLOOM=off: no keys, to measure what the filters save).
 * 1 if that lets it pass over some blocks. */
static int
want(const struct thoth_spec *spec, struct index_want *w)
{
	const char *off = getenv("THOTH_INDEX_BLOOM");

	thoth_spec_time_range(spec, &w->lo, &w->hi);
	w->lit = scan_lit_make(spec);
	w->nneeds = off != NULL && strcmp(off, "off") == 0 ? 0 :
	    scan_keys_spec(spec, w->needs, INDEX_MAXNEEDS);
	return (w->lo != INT64_MIN || w->hi != INT64_MAX || w->lit != NULL ||
	    w->nneeds > 0);
}

/* The literals are searched by the bytes least often seen together in
 * the middle 64 KiB of the base. */
static void
tune(struct scan_lit *lit, const char *map, size_t size)
{
	size_t n = size < TUNE_SAMPLE ? size : TUNE_SAMPLE;

	scan_lit_tune(lit, map + (size - n) / 2, n);
}

/* The base, mapped, in segments (all of it, or the blocks the summary
 * says may hold matches, with the spec's literals where it allows); 1
 * if stopped. */
static int
scan_base(struct thoth_index *ix, struct ixjob *job, FILE *base)
{
	static const struct scan_ops ops = { scan_rec_new, scan_rec_free, base_line,
	    base_consume };
	struct scan_seg whole, *segs = &whole;
	struct index_want w;
	size_t nsegs = 1;
	struct stat sb;
	void *map;
	int rv;

	if (fstat(fileno(base), &sb) != 0 || sb.st_size == 0)
		return (0);
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
	    fileno(base), 0);
	if (map == MAP_FAILED)
		return (thoth_fail("%s: mmap: %s", job->name, strerror(errno)));
	whole.start = whole.line0 = 0;
	whole.end = (size_t)sb.st_size;
	whole.lit = NULL;
	if (want(job->spec, &w)) {
		tune(w.lit, map, (size_t)sb.st_size);
		segs = index_sidecar_segments(ix, fileno(base), map,
		    (size_t)sb.st_size, &w, job->j.n > 0, &nsegs);
	}
	if (segs == NULL) {
		segs = &whole;
		nsegs = 1;
	}
	rv = scan_map(map, (size_t)sb.st_size, segs, nsegs, 1, &ops, job);
	if (segs != &whole)
		free(segs);
	scan_lit_free(w.lit);
	munmap(map, (size_t)sb.st_size);
	return (rv);
}

static int
index_run(struct thoth_index *ix, struct ixjob *job)
{
	struct scan_ref ref = { job->spec, job->fn, job->arg, job->rep };
	FILE *base, *jfp;
	int64_t lo, hi;
	int rv = 0;

	if (scan_reference() && !job->keep) {
		thoth_spec_time_range(job->spec, &lo, &hi);
		return (thoth_index_scan(ix, lo, hi, scan_ref_match, &ref));
	}
	if (index_open_pair(ix, &base, &jfp) != 0)
		return (-1);
	index_journal_load(jfp, &job->j);
	load_ids(job);
	job->name = thoth_xasprintf("%s/base.ndjson", thoth_index_dir(ix));
	if (base != NULL)
		rv = scan_base(ix, job, base);
	if (rv == 0)
		rv = journal_flush(job, INT64_MAX);
	free(job->name);
	free(job->ids);
	index_journal_free(&job->j);
	if (base != NULL)
		fclose(base);
	if (jfp != NULL)
		fclose(jfp);
	return (rv < 0 ? -1 : 0);
}

int
thoth_index_filter(struct thoth_index *ix, const struct thoth_spec *spec,
    thoth_lines_fn fn, void *arg)
{
	return (index_filter(ix, spec, fn, arg, 0));
}

int
thoth_index_report(struct thoth_index *ix, const struct thoth_spec *spec,
    const struct thoth_report *rep)
{
	struct ixjob job = { .spec = spec, .fn = rep->out, .arg = rep->oarg,
	    .rep = rep };

	return (index_run(ix, &job));
}

int
index_filter(struct thoth_index *ix, const struct thoth_spec *spec,
    thoth_lines_fn fn, void *arg, int keep)
{
	struct ixjob job = { .spec = spec, .fn = fn, .arg = arg, .keep = keep };

	return (index_run(ix, &job));
}
