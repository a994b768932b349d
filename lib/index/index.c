/*
 * index.c - the NDJSON index: a cache of every info.json (DESIGN §4).
 *
 * An index is a directory of three files:
 *   base.ndjson     records sorted by "time", rewritten only whole
 *                   (temporary file, fsync, rename);
 *   journal.ndjson  newer records, appended one whole line per write;
 *                   for an id the last line wins over earlier ones and
 *                   over the base;
 *   lock            flock(2): exclusive for writers, shared for the
 *                   instant a reader opens base and journal together.
 * A crash can leave a torn last journal line: readers skip it and the
 * next writer cuts it off before appending.  Compaction merges the
 * journal into a new base and swaps in an empty journal by rename, so a
 * reader holding the old files still sees a consistent pair.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backend.h"
#include "index/index.h"

char *
index_file(const struct thoth_index *ix, const char *name)
{
	return (thoth_xasprintf("%s/%s", ix->dir, name));
}

struct thoth_index *
thoth_index_open(struct thoth_store *st, const char *path)
{
	struct thoth_index *ix;
	const char *env = getenv("THOTH_INDEX");
	char *lock;

	if (path == NULL)
		path = env != NULL && *env != '\0' ? env : st->index_dir;
	if (access(path, R_OK | X_OK) != 0 && thoth_mkdirs(path, 0755) != 0)
		return (NULL);
	ix = thoth_xmalloc(sizeof (*ix));
	ix->dir = thoth_xstrdup(path);
	ix->locked = 0;
	lock = index_file(ix, "lock");
	/*
	 * flock works on a descriptor open for reading: readers of a store
	 * they may not write (read-only, another user's) need no more.
	 * Writers then fail where they write, naming the file.
	 */
	ix->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ix->lockfd < 0 && (errno == EACCES || errno == EROFS))
		ix->lockfd = open(lock, O_RDONLY | O_CLOEXEC);
	if (ix->lockfd < 0) {
		thoth_fail("%s: %s", lock, strerror(errno));
		free(lock);
		thoth_index_close(ix);
		return (NULL);
	}
	free(lock);
	return (ix);
}

void
thoth_index_close(struct thoth_index *ix)
{
	if (ix == NULL)
		return;
	if (ix->lockfd >= 0)
		close(ix->lockfd);
	free(ix->dir);
	free(ix);
}

const char *
thoth_index_dir(const struct thoth_index *ix)
{
	return (ix->dir);
}

int
thoth_index_lock(struct thoth_index *ix)
{
	while (flock(ix->lockfd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return (thoth_fail("%s/lock: %s", ix->dir,
			    strerror(errno)));
	}
	ix->locked = 1;
	return (0);
}

void
thoth_index_unlock(struct thoth_index *ix)
{
	(void) flock(ix->lockfd, LOCK_UN);
	ix->locked = 0;
}

/*
 * Rebuilds hold rebuild.lock (flock) from start to publication: they
 * run one at a time, and writers see one running without any marker a
 * killed rebuild could leave behind.
 */
int
index_rebuild_running(struct thoth_index *ix)
{
	char *path = thoth_xasprintf("%s/rebuild.lock", ix->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC), running = 0;

	if (fd >= 0) {
		running = flock(fd, LOCK_SH | LOCK_NB) != 0 &&
		    errno == EWOULDBLOCK;
		close(fd);
	}
	free(path);
	return (running);
}

/* Waits for other rebuilds; the fd holds the lock until closed. */
int
index_rebuild_begin(struct thoth_index *ix)
{
	char *path = thoth_xasprintf("%s/rebuild.lock", ix->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		thoth_fail("%s: %s", path, strerror(errno));
	while (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			thoth_fail("%s: %s", path, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)	/* what killed rebuilds and compactions left */
		thoth_sweep_stale(ix->dir);
	free(path);
	return (fd);
}

/* Opens base and journal as one consistent pair (either may be absent). */
/* The journal's length now (0 if there is none). */
off_t
index_journal_size(struct thoth_index *ix)
{
	char *path = index_file(ix, "journal.ndjson");
	struct stat sb;
	off_t n = stat(path, &sb) == 0 ? sb.st_size : 0;

	free(path);
	return (n);
}

int
index_open_pair(struct thoth_index *ix, FILE **base, FILE **journal)
{
	char *bp = index_file(ix, "base.ndjson"), *jp = index_file(ix, "journal.ndjson");
	int held = ix->locked, rv = 0;

	if (!held && flock(ix->lockfd, LOCK_SH) != 0)
		rv = thoth_fail("%s/lock: %s", ix->dir, strerror(errno));
	if ((*base = fopen(bp, "re")) == NULL && errno != ENOENT)
		rv = thoth_fail("%s: %s", bp, strerror(errno));
	if ((*journal = fopen(jp, "re")) == NULL && errno != ENOENT)
		rv = thoth_fail("%s: %s", jp, strerror(errno));
	if (!held)
		(void) flock(ix->lockfd, LOCK_UN);
	free(bp);
	free(jp);
	return (rv);
}
