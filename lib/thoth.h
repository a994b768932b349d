/*
 * thoth.h - the shared library of the thoth tools.
 *
 * Records are jansson objects (json_t *).  Ownership follows jansson:
 * a function that returns json_t * hands the caller a new reference
 * (json_decref it); a json_t * argument is borrowed unless the comment
 * says "steals".  Strings returned as char * are malloc'd and owned by
 * the caller unless the comment says otherwise.
 *
 * Errors: library functions print nothing unless they say so; they
 * return -1 (or NULL) and leave a one-line reason in thoth_errbuf, which
 * the tools print as "thoth-xxx: what: reason".  Functions that look
 * something up return 1 for "not found" where that matters.
 */
#ifndef THOTH_H
#define THOTH_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#define THOTH_RECORD_VERSION "1"
#define THOTH_ID_LEN 32

/* Exit statuses shared by every tool (see thoth(7)). */
enum { THOTH_EXIT_OK = 0, THOTH_EXIT_FAIL = 1, THOTH_EXIT_NOTFOUND = 2 };

/* util.c */
extern char thoth_errbuf[512];
int thoth_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *thoth_xmalloc(size_t n);
void *thoth_grow(void *p, size_t *cap, size_t need, size_t size);
char *thoth_xstrdup(const char *s);
char *thoth_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int thoth_parse_age(const char *s, int64_t *seconds);
int64_t thoth_now(void);
int thoth_is_id(const char *s);
int thoth_is_hex_prefix(const char *s);
int thoth_mkdirs(const char *path, mode_t mode);
int thoth_write_file_atomic(const char *path, const void *buf, size_t len);
int thoth_read_file(const char *path, char **buf, size_t *len);
int thoth_read_stream(FILE *fp, const char *what, char **buf, size_t *len);
char *thoth_temp_name(const char *path);	/* <dir>/.<name>.tmp.<pid> */
/* Removes .NAME.part.PID / .NAME.tmp.PID files of dead writers in dir. */
void thoth_sweep_stale(const char *dir);
int thoth_remove_tree(const char *path);	/* rm -r; 0 if absent */
void thoth_close_stdout(void);

/* json.c */
json_t *thoth_json_string(const char *s, size_t len);	/* lossy UTF-8 */
int thoth_utf8_valid(const char *s, size_t len);
int thoth_json_print(FILE *fp, const json_t *rec);	/* one line + '\n' */
char *thoth_json_line(const json_t *rec);		/* one line, no '\n' */
const json_t *thoth_json_path(const json_t *rec, const char *path);
char *thoth_json_scalar(const json_t *v);	/* string as is, else JSON */
int thoth_json_set_path(json_t *rec, const char *path, json_t *value); /* steals value */
int thoth_json_del_path(json_t *rec, const char *path);

/* record.c: the one record loop every filter uses. */
struct thoth_where {
	const char *file;	/* "-" for stdin */
	size_t line;
};
typedef int (*thoth_record_fn)(json_t *rec, const struct thoth_where *where,
    void *arg);
/* Reads NDJSON from each file in argv (stdin if argc == 0 or "-"),
 * calls fn for every object; a line that does not parse is reported as
 * "file:line: parse error" and skipped.  fn returns 0 to go on, 1 to
 * stop early, -1 on failure (loop goes on).  Returns 0, or 1 if any
 * line or fn call failed. */
int thoth_records(int argc, char **argv, thoth_record_fn fn, void *arg);
int thoth_records_fp(FILE *fp, const char *name, thoth_record_fn fn, void *arg,
    int *failed);
const char *thoth_record_id(const json_t *rec);	/* borrowed or NULL */
void thoth_record_set_file(json_t *rec, const char *path); /* file(_hex) */
char *thoth_record_file(const json_t *rec);	/* exact path, or NULL */

/* dump/dump.c: recognising and hashing dumps, reading their metadata. */
struct thoth_meta_opts {
	const char *platform;	/* used when the dump has none */
	const char *node;
	int no_stack;		/* skip unwinding (fast mode) */
};
/* {id, type, file, size, time[, compression, stored_size]} of a core
 * or crash dump, plain or compressed (gzip, zstd, xz, lz4); NULL with
 * thoth_errbuf set for a file that is not a dump we can read. */
json_t *thoth_dump_hash(const char *path);
/* Adds what the dump says to rec (which must have "file"). 0 or -1.
 * A stack or build-ids it cannot get are left out with a warning on
 * stderr, not a failure. */
int thoth_dump_meta(json_t *rec, const struct thoth_meta_opts *opts);

/* dump/journal.c (libsystemd: thoth-meta only): the fields of
 * systemd-coredump's journal entry of a core it stored (unit,
 * user_unit, slice, cgroup, owner_uid, cmdline), from the journal
 * THOTH_JOURNAL names, opened at the first such core.  A record that is
 * not of such a core, or whose entry is not found, is left as it is:
 * 0.  -1 with errbuf, once, when a journal THOTH_JOURNAL names cannot
 * be read (the record is then left as it is too). */
struct thoth_journal;
struct thoth_journal *thoth_journal_new(void);
int thoth_journal_coredump(struct thoth_journal *jr, json_t *rec);
void thoth_journal_free(struct thoth_journal *jr);

/* dump/compress.c: compresses path ("gzip" or "zstd") into a new
 * temporary file in $TMPDIR, whose name *tmp the caller unlinks and
 * frees.  0, or -1 with nothing left behind. */
int thoth_compress_file(const char *path, const char *format, char **tmp);
/* dump/decompress.c: a gzip, zstd, xz or lz4 file (fd in, read from its
 * start) decompressed into fd out.  0 or -1. */
int thoth_decompress_fd(int in, int out);

/* spec.c: dump specifications (see thoth-filter(1)). */
struct thoth_spec;
struct thoth_spec *thoth_spec_parse(int argc, char **argv);	/* NULL + errbuf */
void thoth_spec_free(struct thoth_spec *spec);
int thoth_spec_match(const struct thoth_spec *spec, const json_t *rec);
long thoth_spec_limit(const struct thoth_spec *spec);	/* -1 if none */
int thoth_spec_wants_stdin(const struct thoth_spec *spec);	/* dump=stdin */
const char *thoth_spec_prefix(const struct thoth_spec *spec); /* id prefix token */
int thoth_spec_add_ids(struct thoth_spec *spec, FILE *fp, const char *name);
void thoth_spec_time_range(const struct thoth_spec *spec, int64_t *lo,
    int64_t *hi);	/* bounds on "uploaded" */

/* scan*.c: the record loops of thoth-filter and thoth-report, reading
 * lines in place on every core, in input order, with exactly the results
 * of thoth_records and thoth_spec_match (THOTH_SCAN=jansson uses those).
 * fn gets batches of n records as compact lines, each ending in '\n';
 * it returns 1 to stop reading.  Files as for thoth_records; 0, or 1 if
 * some input failed. */
typedef int (*thoth_lines_fn)(const char *lines, size_t len, size_t n,
    void *arg);
int thoth_filter_records(const struct thoth_spec *spec, int argc, char **argv,
    thoth_lines_fn fn, void *arg);
/* Adds to counts (value -> integer) each record's thoth_json_scalar of
 * thoth_json_path(rec, field), or "undefined". */
int thoth_count_records(const char *field, int argc, char **argv,
    json_t *counts);
/* The values of a few fields (paths as for thoth_json_path; at most
 * 16) of each record, in input order, read on every core: v[i] is the
 * thoth_json_scalar of path i, or NULL when absent (borrowed, valid
 * during the call).  fn returns 0 to go on, 1 to stop, -1 on failure. */
typedef int (*thoth_values_fn)(char *const *v, void *arg);
int thoth_values_records(const char *const *paths, int n, int argc,
    char **argv, thoth_values_fn fn, void *arg);

struct thoth_index;
/* scan/view.c: reports through the same loops.  fn sees each matching
 * record as a view, in a worker thread; what it puts is that record's
 * output, given to out in input order (n counts records). */
struct thoth_view;
typedef void (*thoth_view_fn)(struct thoth_view *v, void *arg);
struct thoth_report {
	thoth_view_fn fn;
	void *arg;
	thoth_lines_fn out;
	void *oarg;
};
/* The value at path (thoth_json_path) as thoth_json_scalar's text, and
 * whether it is a string; NULL if absent.  Valid until the next call. */
const char *thoth_view_get(struct thoth_view *v, const char *path,
    int *string);
/* The same for a top-level field only (no look under "properties"). */
const char *thoth_view_field(struct thoth_view *v, const char *key,
    int *string);
void thoth_view_put(struct thoth_view *v, const char *s, size_t len);
int thoth_filter_report(const struct thoth_spec *spec, int argc,
    char **argv, const struct thoth_report *rep);
/* Counting as thoth_count_records does, through a report: begin fills
 * rep; end adds what rep saw to counts. */
struct thoth_count *thoth_count_begin(const char *field, json_t *counts,
    struct thoth_report *rep);
void thoth_count_end(struct thoth_count *c);

/* store/store.c: the object store (DESIGN §2), local directory or S3. */
struct thoth_store;
/* url NULL means $THOTH_STORE, else the per-user default. */
struct thoth_store *thoth_store_open(const char *url);
void thoth_store_close(struct thoth_store *st);
const char *thoth_store_url(const struct thoth_store *st);
/* Store paths shown to users: "<root>/<key>". Caller frees. */
char *thoth_store_path(const struct thoth_store *st, const char *key);
/* Local file of key when the backend has one (directory store), else NULL. */
char *thoth_store_local(const struct thoth_store *st, const char *key);
/* Removes the temporaries of killed uploads (directory store). */
void thoth_store_sweep(struct thoth_store *st);
/* 0 exists, 1 absent, -1 error. */
int thoth_store_exists(struct thoth_store *st, const char *key);
/* Whole small objects (info.json, analyzers).  get: 0, 1 absent, -1. */
int thoth_store_get(struct thoth_store *st, const char *key, char **buf,
    size_t *len);
int thoth_store_put(struct thoth_store *st, const char *key, const void *buf,
    size_t len);
/* Streams a local file into key, never visible half-written.
 * progress (may be NULL) is called with bytes done and total. */
typedef void (*thoth_progress_fn)(void *arg, uint64_t done, uint64_t total);
int thoth_store_put_file(struct thoth_store *st, const char *key,
    const char *path, thoth_progress_fn progress, void *arg);
/* Copies key to a local file (atomically). 0, 1 absent, -1. */
int thoth_store_get_file(struct thoth_store *st, const char *key,
    const char *path);
int thoth_store_delete(struct thoth_store *st, const char *key);
/* Calls fn for each key directly under prefix ("" for the root), with
 * the name relative to prefix; names of "directories" end in '/'. */
typedef int (*thoth_list_fn)(const char *name, void *arg);
int thoth_store_list(struct thoth_store *st, const char *prefix,
    thoth_list_fn fn, void *arg);
/* The same, only names that sort after 'after' (NULL: all); S3 lists
 * them in order, a directory in no particular order. */
int thoth_store_list_after(struct thoth_store *st, const char *prefix,
    const char *after, thoth_list_fn fn, void *arg);
/* Many small objects (info.json for a rebuild), several requests in
 * flight where the backend can (S3).  fn is called once per key, in no
 * particular order, with rv 0 and the object in buf/len (borrowed, valid
 * during the call), 1 absent, or -1 (thoth_errbuf says why); it returns
 * 0 to go on, -1 to stop.  Returns 0, or -1 if stopped or a key is bad. */
typedef int (*thoth_get_fn)(const char *key, int rv, const char *buf,
    size_t len, void *arg);
int thoth_store_get_many(struct thoth_store *st, char *const *keys, size_t n,
    thoth_get_fn fn, void *arg);
/* info.json of one dump: 0, 1 absent, -1 error (*rec NULL): not JSON,
 * not an object, or an "id" that is not its directory's. */
int thoth_store_get_info(struct thoth_store *st, const char *id, json_t **rec);
int thoth_info_check(const json_t *rec, const char *id, const char *where);
int thoth_store_put_info(struct thoth_store *st, const json_t *rec);

/* index/index.c: the NDJSON index (DESIGN §4). */
struct thoth_index;
/* path NULL means $THOTH_INDEX, else the store's default place. */
struct thoth_index *thoth_index_open(struct thoth_store *st, const char *path);
void thoth_index_close(struct thoth_index *ix);
const char *thoth_index_dir(const struct thoth_index *ix);
/* Exclusive lock serialising writers (and store read-modify-writes). */
int thoth_index_lock(struct thoth_index *ix);
void thoth_index_unlock(struct thoth_index *ix);
/* Appends a record, or an array of records in one write, to the
 * journal; caller holds the lock. */
int thoth_index_append(struct thoth_index *ix, const json_t *rec);
/* Every current record, oldest "time" first, last write for an id wins;
 * records whose "uploaded" lies outside [lo, hi) may be skipped cheaply. */
int thoth_index_scan(struct thoth_index *ix, int64_t lo, int64_t hi,
    thoth_record_fn fn, void *arg);
/* thoth_filter_records over the same records in the same order; blocks
 * of base records outside the spec's time range are skipped unread
 * (index/filter.c: base.ndjson.idx).  0 or -1. */
int thoth_index_filter(struct thoth_index *ix, const struct thoth_spec *spec,
    thoth_lines_fn fn, void *arg);
/* thoth_filter_report on the index. 0 or -1. */
int thoth_index_report(struct thoth_index *ix, const struct thoth_spec *spec,
    const struct thoth_report *rep);
/* Replaces the index with every info.json in the store; edits appended
 * meanwhile survive.  Dump directories without info.json are skipped. */
int thoth_index_rebuild(struct thoth_index *ix, struct thoth_store *st,
    int verbose);
/* Appends the records of dumps the index does not have yet (new
 * uploads from other hosts); records already indexed are not fetched. */
int thoth_index_update(struct thoth_index *ix, struct thoth_store *st,
    int verbose);
/* Merges the journal into the base (takes the lock if not held). */
int thoth_index_compact(struct thoth_index *ix);

/* index/fold.c: a record as the fold of stamped writes (an S3 store's
 * shared log).  join folds in (a record with "stamps", as
 * thoth_fold_entry makes them or a snapshot holds them); ops applies
 * {PATH: VALUE, or null to remove} to rec, stamped (NULL: unstamped, as
 * a directory store does).  0 or -1. */
int thoth_fold_join(json_t *cur, const json_t *in);
int thoth_fold_ops(json_t *rec, const json_t *ops, const char *stamp);
json_t *thoth_fold_entry(const json_t *line, const char *stamp);

/* index/log.c: the shared log of an S3 store (thoth-s3(7)). */
int thoth_log_kept(const struct thoth_store *st);	/* an S3 store */
/* Folds the log objects not read yet into the local index, unless it
 * was refreshed less than max_age seconds ago (-1: $THOTH_REFRESH, 5). */
int thoth_log_refresh(struct thoth_index *ix, struct thoth_store *st,
    int max_age, int verbose);
/* Writes lines ({"id", "put": REC} or {"id", "ops": {...}}) as one new
 * log object, then folds them into the local index; out (may be NULL)
 * gets id -> the record now. */
int thoth_log_write(struct thoth_index *ix, struct thoth_store *st,
    const json_t *lines, json_t *out);
/* thoth_index_rebuild, then the newest snapshot and the whole log. */
int thoth_log_rebuild(struct thoth_index *ix, struct thoth_store *st,
    int verbose);
/* A snapshot of the whole fold into the store; old log deleted. */
int thoth_log_snapshot(struct thoth_index *ix, struct thoth_store *st,
    int verbose);
/* The current records of ids (an array of strings): id -> record. */
json_t *thoth_index_get(struct thoth_index *ix, const json_t *ids);

/* signature.c: crash signatures and their rules file (thoth-sign(1)). */
struct thoth_sigrules;
/* path NULL: $THOTH_SIGNATURE_RULES, else the shipped signature.rules
 * (PREFIX/share/thoth, found relative to the program).  NULL + errbuf
 * ("file:line: why" for a bad rule). */
struct thoth_sigrules *thoth_sigrules_load(const char *path);
void thoth_sigrules_free(struct thoth_sigrules *r);
const char *thoth_sigrules_version(const struct thoth_sigrules *r);
const char *thoth_sigrules_file(const struct thoth_sigrules *r);
/* {"text", "hash", "rules"} from rec's cmd, signal and stack. */
json_t *thoth_signature(const struct thoth_sigrules *r, const json_t *rec);

/* tally.c: records counted by a key, with the time of each, for trends
 * (thoth-html, thoth-trend).  Rows and their keys are owned by the
 * tally; data is the caller's, given to thoth_tally_free's fn. */
struct thoth_tally;
struct thoth_tally_row {
	char *key;
	size_t n, cap;		/* records counted */
	int64_t first, last;	/* least and greatest time */
	int64_t *times;
	void *data;
};
struct thoth_tally *thoth_tally_new(void);
struct thoth_tally_row *thoth_tally_add(struct thoth_tally *t,
    const char *key, int64_t time);
/* Every row, most records first, then by key; no add after it. */
struct thoth_tally_row **thoth_tally_rows(struct thoth_tally *t, size_t *n);
void thoth_tally_range(const struct thoth_tally *t, int64_t *first,
    int64_t *last);		/* over every row */
void thoth_tally_free(struct thoth_tally *t, void (*fn)(void *data));
/* Periods of width seconds: a day starts at 00:00 UTC, a week (7 days)
 * on Monday.  The start of time's period; how many periods from first's
 * to last's; a row's count in each of nb periods from first's. */
int64_t thoth_period_start(int64_t time, int64_t width);
size_t thoth_period_count(int64_t first, int64_t last, int64_t width);
/* A multiple of width that covers first to last in at most max periods. */
int64_t thoth_period_fit(int64_t first, int64_t last, int64_t width,
    size_t max);
void thoth_tally_buckets(const struct thoth_tally_row *r, int64_t first,
    int64_t width, size_t nb, size_t *counts);
/* The time of a record from the text of its "time" (thoth_values_records):
 * 0 when absent or not an integer. */
int64_t thoth_value_time(const char *v);
/* t as UTC by strftime's fmt into buf (returned), or "-". */
char *thoth_utc(int64_t t, const char *fmt, char *buf, size_t size);

/* usage.c: what every tool does with -h, --help and --version among its
 * leading options: usage (the text of "usage: ...\n" lines) on stdout,
 * or "NAME VERSION", and exit 0. */
void thoth_help(int argc, char **argv, const char *usage);
/* A usage error: the usage on stderr, exit 1. */
void thoth_usage(const char *usage) __attribute__((noreturn));
/* The number of an option, from min to max, else "s: not a number from
 * min to max" on stderr and exit 1. */
long thoth_opt_number(const char *s, long min, long max);

#endif /* THOTH_H */
