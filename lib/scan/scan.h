/*
 * lib/scan/ - matching NDJSON records in place, fast: the record loops
 * of thoth-filter and thoth-report over files (filter.c), the parallel
 * chunked reader they and the index share (run.c), canonical lines
 * (scan.c) and spec matching on them (spec.c), with jansson (lib/
 * record.c, lib/spec.c) as the reference any other line goes to.  It
 * calls only lib/ (thoth.h, spec_impl.h); the index (lib/index/) builds
 * on it, never the other way.
 *
 * A line is first checked by scan_line: if it is a JSON object exactly
 * as jansson would print it (compact, canonical escapes and integers,
 * valid UTF-8, no duplicate keys), the line itself is the record and
 * the fields a spec names are read straight from it.  Any other line is
 * handed to jansson, the reference, so that results never differ.
 */
#ifndef THOTH_SCAN_H
#define THOTH_SCAN_H

#include <stdint.h>
#include "thoth.h"

/* scan/scan.c: canonical lines and their values. */
enum { SV_STR, SV_NUM, SV_TRUE, SV_FALSE, SV_NULL, SV_OBJ, SV_ARR };

struct scan_val {
	const char *p;		/* raw JSON text (a string's quotes included) */
	uint32_t len;
	uint8_t type;		/* SV_* */
	uint8_t esc;		/* a string with backslash escapes */
};

#define SCAN_MAXKEYS	64	/* top-level fields read at once */

struct scan_rec {
	const char *line;
	size_t len;
	int n;
	struct scan_val key[SCAN_MAXKEYS];	/* contents, without quotes */
	struct scan_val val[SCAN_MAXKEYS];
	const char *rest;	/* trusted: the fields not read yet, or NULL */
};

/* 0 if line is canonical (r then describes it), -1 if jansson must decide. */
int scan_line(struct scan_rec *r, const char *line, size_t len);
/* A line known to be canonical (the index's block summary checked it):
 * nothing is checked again, and fields are read only as far as the
 * first one asked for. */
void scan_trust(struct scan_rec *r, const char *line, size_t len);
/* The top-level field key (n bytes): 1 found, 0 absent. */
int scan_get(const struct scan_rec *r, const char *key, size_t n,
    struct scan_val *v);
/* The field key of the object obj: 1 found, 0 absent (or not an object). */
int scan_obj_get(const struct scan_val *obj, const char *key, size_t n,
    struct scan_val *v);
/* Members: *cur NULL to start; 1 with the next key (contents, without
 * quotes) in k and its value in v, 0 at the end (or not an object). */
int scan_obj_next(const struct scan_val *obj, const char **cur,
    struct scan_val *k, struct scan_val *v);
/* Array elements: *cur NULL to start; 1 with the next one in v, 0 at the end. */
int scan_arr_next(const struct scan_val *arr, const char **cur,
    struct scan_val *v);
/* A string's contents, unescaped, into buf (cap bytes); length, or -1
 * when it does not fit. */
long scan_str(const struct scan_val *v, char *buf, size_t cap);
int64_t scan_int(const struct scan_val *v);	/* an SV_NUM */
/* The value thoth_json_path(rec, path) finds, on a canonical line. */
int scan_path(const struct scan_rec *r, const char *path, struct scan_val *v);
/* "id" when it is a dump id (thoth_record_id), else NULL; not terminated. */
const char *scan_id(const struct scan_rec *r);

/* scan/run.c: lines of a file, in chunks, on every core, in order. */
enum { SCAN_WARN, SCAN_TIME };

struct scan_ev {		/* something at a point of a chunk's output */
	int kind;
	size_t off, nrec;	/* output bytes and lines before it */
	size_t line;		/* SCAN_WARN: line number within the chunk */
	char *msg;		/* SCAN_WARN: said after "name:line: " */
	int64_t key;		/* SCAN_TIME: a base record's "time" */
};

struct scan_out {		/* what a worker made of one chunk */
	char *buf;
	size_t len, cap, nrec;	/* output, and how many lines it holds */
	struct scan_ev *ev;
	size_t nev, evcap;
	size_t nlines;		/* input lines so far (the current one's number) */
	int64_t runmax;		/* for SCAN_TIME events (index/filter.c) */
	int trusted;		/* the lines are known canonical (scan_seg.lit) */
};

struct scan_ops {
	/* Per worker thread: a context made and, in the main thread after
	 * the workers are done, given back. */
	void *(*wnew)(void *arg);
	void (*wfree)(void *arg, void *wctx);
	/* One line, without its '\n', in a worker. */
	void (*line)(void *arg, void *wctx, struct scan_out *out,
	    const char *s, size_t len);
	/* Each chunk's output, in input order, in the main thread; line0
	 * is the number of lines before the chunk.  1 stops reading. */
	int (*consume)(void *arg, struct scan_out *out, size_t line0);
};

struct scan_seg {		/* lines starting in [start, end) */
	size_t start, end;
	size_t line0;		/* lines before start */
	/* Non-NULL: every line here is canonical, and only those holding
	 * these literals can matter (lines are then not counted). */
	const struct scan_lit *lit;
};

/* Reads fd (any file; regular files are mapped) from its offset.  Returns
 * 1 if consume stopped it, 0 at the end, -1 on a read error (errno). */
int scan_fd(int fd, const struct scan_ops *ops, void *arg);
/* The segments of a mapped file; with torn set, a last line without
 * '\n' is left out.  Returns 1 if stopped, else 0. */
int scan_map(const char *base, size_t size, const struct scan_seg *segs,
    size_t nsegs, int torn, const struct scan_ops *ops, void *arg);
/* Helpers for workers and consumers. */
void scan_put(struct scan_out *out, const char *s, size_t len); /* + '\n' */
void scan_bytes(struct scan_out *out, const void *p, size_t len);
void scan_warn(struct scan_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void scan_time(struct scan_out *out, int64_t key);
/* Gives out's lines to fn and prints its warnings as "name:line: msg",
 * in order.  1 if fn said stop. */
int scan_deliver(const struct scan_out *out, const char *name, size_t line0,
    thoth_lines_fn fn, void *arg, int *failed);
int scan_reference(void);	/* THOTH_SCAN=jansson: the slow path */
/* A worker's scan_rec, for scan_ops.wnew and wfree. */
void *scan_rec_new(void *arg);
void scan_rec_free(void *arg, void *wctx);

/* scan/lit.c: the literal prefilter, bytes every canonical line a spec
 * matches holds.  make: NULL when the spec gives none. */
struct scan_lit;
struct scan_lit *scan_lit_make(const struct thoth_spec *spec);
void scan_lit_free(struct scan_lit *lit);
/* The first place in [p, e) that may be in such a line, or NULL. */
const char *scan_lit_find(const struct scan_lit *lit, const char *p,
    const char *e);
/* Does the line s (len bytes) hold all of them? */
int scan_lit_line(const struct scan_lit *lit, const char *s, size_t len);
/* Picks the bytes each needle is searched by from n bytes of the data
 * to be searched (the pair least often seen together there). */
void scan_lit_tune(struct scan_lit *lit, const char *sample, size_t n);

/* scan/keys.c: the keys of the index's block filters, hashes of the
 * (path, value) pairs of the fields people select on (id, ticket,
 * signature, cmd, node, properties...) and of the names of the other
 * fields.  line: each key of a canonical line, to fn; spec: at most
 * max needs, each met by every record the spec matches (0 when it
 * gives none). */
typedef void scan_key_fn(void *arg, uint64_t key);
struct scan_need {
	uint64_t key, alt;	/* a record holds key, or alt (when not 0) */
};
void scan_keys_line(const struct scan_rec *r, scan_key_fn *fn, void *arg);
size_t scan_keys_spec(const struct thoth_spec *spec, struct scan_need *needs,
    size_t max);

/* scan/view.c: a matching record to a report's function (the worker's
 * output), from a canonical line or a record; _now: in the main thread,
 * straight to the report's output (1 if it said stop). */
void scan_view_line(const struct thoth_report *rep, struct scan_out *out,
    const struct scan_rec *r);
void scan_view_json(const struct thoth_report *rep, struct scan_out *out,
    const json_t *rec);
int scan_view_now(const struct thoth_report *rep, const json_t *rec);
/* The reference path (scan/view.c too): matching records (jansson) as canonical lines,
 * or to the report. */
struct scan_ref {
	const struct thoth_spec *spec;
	thoth_lines_fn fn;
	void *arg;
	const struct thoth_report *rep;	/* or NULL */
};
int scan_ref_match(json_t *rec, const struct thoth_where *where, void *arg);
/* A matching jansson record: to rep, or (rep NULL) as its line. */
void scan_put_rec(const struct thoth_report *rep, struct scan_out *out,
    const json_t *rec);

/* scan/spec.c: spec matching on canonical lines (1, 0, -1 undecided). */
int scan_spec_match(const struct thoth_spec *spec, const struct scan_rec *r);

#endif
