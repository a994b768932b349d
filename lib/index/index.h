/*
 * lib/index/ - the NDJSON index: its files and lock (index.c), the
 * time-ordered reference reader (read.c), appends and compaction
 * (write.c), the block summary (sidecar.c, its filters in bloom.c),
 * the fast filter over base and journal (filter.c) and rebuilds from
 * the store (rebuild.c).
 * Its public face is the thoth_index_* part of thoth.h; this header is
 * private to lib/index/.  It calls lib/, the scanner (lib/scan/) and,
 * for rebuilds and the index's place, the store (lib/store/); nothing
 * under those calls back into it.  An S3 store's shared log is folded
 * in by fold.c, log.c and snapshot.c.  Inside, calls go one way:
 * snapshot -> log -> fold; snapshot, log, rebuild, write -> filter ->
 * sidecar -> bloom, read -> index.
 */
#ifndef THOTH_INDEX_H
#define THOTH_INDEX_H

#include <stdio.h>
#include "thoth.h"
#include "scan/scan.h"

struct thoth_index {
	char *dir;
	int lockfd;
	int locked;	/* this process holds the exclusive lock */
};

/* A rebuild in progress (it holds rebuild.lock): writers must not
 * compact, or the journal the rebuild carries over would move.  begin
 * waits for other rebuilds and returns the lock's fd (-1 on error). */
int index_rebuild_running(struct thoth_index *ix);
int index_rebuild_begin(struct thoth_index *ix);
/* index.c: base and journal opened together; a file of the index. */
int index_open_pair(struct thoth_index *ix, FILE **base, FILE **journal);
char *index_file(const struct thoth_index *ix, const char *name);
off_t index_journal_size(struct thoth_index *ix);

/* write.c: publishing a rewritten file; the journal from an offset on. */
int index_publish(FILE *fp, const char *tmp, const char *path);
int index_journal_restart(struct thoth_index *ix, off_t from);
int index_write_lines(const char *lines, size_t len, size_t n, void *arg);

/* read.c: the journal, for filter.c. */
struct journal {
	json_t *latest;		/* id -> record, last line wins */
	json_t **sorted;	/* the same records by time */
	size_t n, next;
};
void index_journal_load(FILE *fp, struct journal *j);
void index_journal_free(struct journal *j);
json_int_t index_rec_time(const json_t *rec);

/* filter.c: thoth_index_filter; keep (for compactions) keeps the bad
 * lines of the base, or repairs them, instead of skipping them. */
int index_filter(struct thoth_index *ix, const struct thoth_spec *spec,
    thoth_lines_fn fn, void *arg, int keep);

/* sidecar.c: base.ndjson.idx, base.ndjson summed up by blocks, with a
 * filter of each block's keys (bloom.c, scan/keys.c).  What a spec
 * tells of the records it matches: */
#define INDEX_MAXNEEDS	16
struct index_want {
	int64_t lo, hi;			/* "uploaded" in [lo, hi) */
	struct scan_lit *lit;		/* its literals, or NULL */
	struct scan_need needs[INDEX_MAXNEEDS];	/* keys they hold */
	size_t nneeds;
};
/* The segments of the base (fd, mapped) that may hold records matching
 * w, or NULL if all must be read; those whose lines are all canonical
 * carry w->lit; journal: the journal is not empty.  Made and saved
 * when missing or stale. */
struct scan_seg *index_sidecar_segments(struct thoth_index *ix, int fd,
    const char *map, size_t size, const struct index_want *w, int journal,
    size_t *nsegs);
/* Remakes it for the current base, after a rewrite.  0 or -1. */
int index_sidecar_build(struct thoth_index *ix);

/* bloom.c: split-block Bloom filters of nb 32-byte buckets; seed: the
 * block's number. */
size_t bloom_buckets(size_t nkeys);	/* for so many distinct keys */
void bloom_add(uint32_t *f, size_t nb, uint64_t key, uint64_t seed);
int bloom_may(const uint32_t *f, size_t nb, uint64_t key, uint64_t seed);

/* log.c: the shared log of an S3 store, for snapshot.c. */
#define LOG_DIR		"log"
#define SNAP_DIR	"snapshot"
#define STATE_FILE	"log.json"
#define BATCH_IDS	20000	/* records looked up in one index pass */
#define NS		1000000000LL

struct log_state {
	char *cursor;		/* newest log name folded, or NULL */
	int64_t refreshed;	/* ns */
	json_t *seen;		/* names read within the window: true */
};

int64_t log_seconds(const char *name, int64_t dflt);	/* a setting */
int64_t log_now(void);					/* ns */
int64_t log_key_ns(const char *key);	/* a log name's time, or -1 */
char *log_new_name(void);
char *log_temp(struct thoth_index *ix, const char *name);
int log_state_load(struct thoth_index *ix, struct log_state *s); /* 1: none */
int log_state_save(struct thoth_index *ix, struct log_state *s);
void log_state_note(struct log_state *s, const json_t *names);
void log_state_free(struct log_state *s);
/* Joins in (id -> array of records) into the index; out: id -> record. */
int log_fold(struct thoth_index *ix, json_t *in, json_t *out,
    size_t *changed);
json_t *log_list(struct thoth_store *st, const char *after,
    const json_t *skip);		/* names after 'after', not in skip */
int log_read(struct thoth_index *ix, struct thoth_store *st,
    const json_t *names, size_t *changed);	/* GET and fold */
int log_catch_up(struct thoth_index *ix, struct thoth_store *st, int verbose);

#endif
