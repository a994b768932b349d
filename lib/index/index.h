/*
 * lib/index/ - the NDJSON index: its files and lock (index.c), the
 * time-ordered reference reader (read.c), appends and compaction
 * (write.c), the time-range sidecar (sidecar.c), the fast filter over
 * base and journal (filter.c) and rebuilds from the store (rebuild.c).
 * Its public face is the thoth_index_* part of thoth.h; this header is
 * private to lib/index/.  It calls lib/, the scanner (lib/scan/) and,
 * for rebuilds and the index's place, the store (lib/store/); nothing
 * under those calls back into it.  Inside, calls go one way:
 * rebuild, write -> filter -> sidecar -> read -> index.
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

/* write.c: publishing a rewritten file; the journal from an offset on. */
int index_publish(FILE *fp, const char *tmp, const char *path);
int index_journal_restart(struct thoth_index *ix, off_t from);

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

/* sidecar.c: base.ndjson.idx, base.ndjson summed up by blocks.
 * The segments of the base (fd, mapped) that may hold records matching
 * a time range [lo, hi) on "uploaded", or NULL if all must be read;
 * journal: the journal is not empty.  Made and saved when missing or
 * stale. */
struct scan_seg *index_sidecar_segments(struct thoth_index *ix, int fd,
    const char *map, size_t size, int64_t lo, int64_t hi, int journal,
    size_t *nsegs);
/* Remakes it for the current base, after a rewrite.  0 or -1. */
int index_sidecar_build(struct thoth_index *ix);

#endif
