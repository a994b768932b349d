/*
 * write.c - changing the index: appending a record to the journal
 * (cutting a torn last line first), and compaction, which merges the
 * journal into a new base (through the fast filter, filter.c) and
 * makes its time-range sidecar (sidecar.c).  Appends compact by
 * themselves when the journal passes THOTH_INDEX_JOURNAL_MAX, unless a
 * rebuild is running (it carries the journal over).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"

#define JOURNAL_MAX_DEFAULT (16 << 20)	/* bytes before compaction */

/* Cuts a torn last line (a writer died mid-append) off the journal. */
static int
repair_tail(int fd, const char *path)
{
	struct stat sb;
	char c;
	off_t end;

	if (fstat(fd, &sb) != 0)
		return (thoth_fail("%s: %s", path, strerror(errno)));
	for (end = sb.st_size; end > 0; end--) {
		if (pread(fd, &c, 1, end - 1) != 1)
			return (thoth_fail("%s: %s", path, strerror(errno)));
		if (c == '\n')
			break;
	}
	if (end != sb.st_size && ftruncate(fd, end) != 0)
		return (thoth_fail("%s: %s", path, strerror(errno)));
	return (0);
}

static off_t
journal_max(void)
{
	const char *s = getenv("THOTH_INDEX_JOURNAL_MAX");
	char *end;
	long long n;

	if (s == NULL || *s == '\0')
		return (JOURNAL_MAX_DEFAULT);
	n = strtoll(s, &end, 10);
	if (*end != '\0' || n < 0) {
		warnx("THOTH_INDEX_JOURNAL_MAX=%s: not a size in bytes, using %d",
		    s, JOURNAL_MAX_DEFAULT);
		return (JOURNAL_MAX_DEFAULT);
	}
	return ((off_t)n);
}

/* rec's line, or the lines of each record of an array of them. */
static char *
journal_lines(const json_t *rec, size_t *len)
{
	const json_t *one = rec;
	char *buf = NULL, *text;
	size_t i = 0;
	FILE *fp = open_memstream(&buf, len);

	while (json_is_array(rec) ? (one = json_array_get(rec, i++)) != NULL :
	    i++ == 0) {
		text = thoth_json_line(one);
		fprintf(fp, "%s\n", text);
		free(text);
	}
	fclose(fp);
	return (buf);
}

int
thoth_index_append(struct thoth_index *ix, const json_t *rec)
{
	char *path = index_file(ix, "journal.ndjson"), *line = NULL;
	int fd, rv = -1;
	struct stat sb;

	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0) {
		thoth_fail("%s: %s", path, strerror(errno));
		goto out;
	}
	if (repair_tail(fd, path) != 0)
		goto out;
	size_t len = 0;
	line = journal_lines(rec, &len);
	ssize_t n = write(fd, line, len);
	/* A short write sets no errno: it is the disk that is full. */
	if (n != (ssize_t)len || fdatasync(fd) != 0) {
		thoth_fail("%s: write: %s", path, strerror(n >= 0 &&
		    n < (ssize_t)len ? ENOSPC : errno));
		(void) repair_tail(fd, path);
		goto out;
	}
	rv = 0;
	/* The record is in: a compaction that fails is for the next one. */
	if (fstat(fd, &sb) == 0 && sb.st_size > journal_max() &&
	    !index_rebuild_running(ix) && thoth_index_compact(ix) != 0)
		warnx("%s", thoth_errbuf);
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(path);
	return (rv);
}

/* A thoth_lines_fn writing to a FILE *. */
int
index_write_lines(const char *lines, size_t len, size_t n, void *arg)
{
	(void)n;
	return (fwrite(lines, 1, len, arg) == len ? 0 : -1);
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
	char *path = index_file(ix, "journal.ndjson");
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
	char *path = index_file(ix, "base.ndjson");
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
	if (index_filter(ix, all, index_write_lines, out, 1) != 0 || ferror(out)) {
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
