/*
 * index_impl.h - the index's private parts (lib/index*.c only).
 */
#ifndef THOTH_INDEX_IMPL_H
#define THOTH_INDEX_IMPL_H

#include <stdio.h>
#include "thoth.h"

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
int index_open_pair(struct thoth_index *ix, FILE **base, FILE **journal);
int index_publish(FILE *fp, const char *tmp, const char *path);
int index_journal_restart(struct thoth_index *ix, off_t from);

#endif
