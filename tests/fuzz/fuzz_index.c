/*
 * fuzz_index.c - the index reader (lib/index/read.c, lib/index/filter.c,
 * lib/index/sidecar.c) on hostile index files: base.ndjson,
 * journal.ndjson and base.ndjson.idx written from the input into an
 * index directory of this process.
 *
 * Input: a first line of spec tokens (as thoth-filter -I takes them),
 * then base.ndjson; a line "~J" starts journal.ndjson, a line "~S" the
 * body of base.ndjson.idx (everything after the part of its header
 * that names the base it sums up, so that it is taken as current).  A
 * part that is not there is a file that is not there.
 *
 * Contracts checked: no crash, leak or undefined behaviour;
 * thoth_index_filter prints exactly the records of thoth_index_scan
 * that thoth_spec_match keeps, in the same order, with and without a
 * saved summary (thoth.h), with blocks of 64 KiB and of one line each
 * (THOTH_INDEX_BLOCK=1: the block filters pass over most); compaction keeps every record in place (the
 * whole index reads the same before and after); a summary file that
 * is damaged or a lie must not make a reader read outside the base.
 * FUZZ_INDEX_NO_SUMMARY=1 leaves the summary alone (to fuzz the rest
 * while a summary bug is open).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common.h"
#include "index/index.h"
#include "scan/scan.h"

#define MAXARGS 16
#define IDHEAD 48	/* magic, dev, ino, size, mtime: the base's name */

static char dir[256];
static struct thoth_index *ix;

static void put(const char *, const char *, size_t);

/* The index directory goes when the fuzzer exits. */
static void
cleanup(void)
{
	static const char *files[] = { "base.ndjson", "journal.ndjson",
	    "base.ndjson.idx", "lock", "rebuilding" };
	size_t i;

	thoth_index_close(ix);
	for (i = 0; i < sizeof (files) / sizeof (files[0]); i++)
		put(files[i], NULL, 0);
	(void) rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	(void)argc; (void)argv;
	setenv("THOTH_NOW", "1700000000", 1);
	setenv("THOTH_SCAN_THREADS", "2", 1);
	setenv("THOTH_INDEX_JOURNAL_MAX", "1000000000", 1);
	unsetenv("THOTH_SCAN");
	snprintf(dir, sizeof (dir), "%s/thoth-fuzz-index.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL || (ix = thoth_index_open(NULL, dir)) == NULL)
		fuzz_die("index dir %s", dir);
	atexit(cleanup);
	return (0);
}

static void
put(const char *name, const char *buf, size_t len)
{
	char path[300];
	int fd;

	snprintf(path, sizeof (path), "%s/%s", dir, name);
	(void) unlink(path);
	if (buf == NULL)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    (len > 0 && write(fd, buf, len) != (ssize_t)len) || close(fd) != 0)
		fuzz_die("writing %s: %s", path, strerror(errno));
}

struct ref {
	const struct thoth_spec *spec;
	struct fuzz_buf out;
};

static int
ref_match(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct ref *r = arg;
	char *line;

	(void)where;
	if (r->spec == NULL || thoth_spec_match(r->spec, rec)) {
		line = thoth_json_line(rec);
		fuzz_buf_add(&r->out, line, strlen(line));
		fuzz_buf_add(&r->out, "\n", 1);
		free(line);
	}
	return (0);
}

static int
collect(const char *lines, size_t len, size_t n, void *arg)
{
	(void)n;
	fuzz_buf_add(arg, lines, len);
	return (0);
}

static void
same(const struct fuzz_buf *a, const struct fuzz_buf *b, const char *what)
{
	if (a->len != b->len || (a->len > 0 && memcmp(a->p, b->p, a->len) != 0))
		fuzz_die("%s:\n%.*s\n-- reference:\n%.*s", what, (int)a->len,
		    a->p ? a->p : "", (int)b->len, b->p ? b->p : "");
}

/* Whether b holds the line [p, p + n), its newline included. */
static int
has_line(const struct fuzz_buf *b, const char *p, size_t n)
{
	const char *q = b->p, *end = q != NULL ? q + b->len : NULL, *nl;

	for (; q != NULL && q < end; q = nl + 1) {
		if ((nl = memchr(q, '\n', (size_t)(end - q))) == NULL)
			return (0);
		if ((size_t)(nl - q) + 1 == n && memcmp(q, p, n) == 0)
			return (1);
	}
	return (0);
}

/* Every line of a is a line of b. */
static void
kept(const struct fuzz_buf *a, const struct fuzz_buf *b, const char *what)
{
	const char *p = a->p, *end = p != NULL ? p + a->len : NULL, *nl;

	for (; p != NULL && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (!has_line(b, p, (size_t)(nl - p) + 1))
			fuzz_die("%s: %.*s", what, (int)(nl - p), p);
	}
}

static void
fast_equals_ref(const struct thoth_spec *spec, const struct ref *ref,
    const char *what)
{
	struct fuzz_buf fast = { 0 };

	if (thoth_index_filter(ix, spec, collect, &fast) != 0)
		fuzz_die("%s: thoth_index_filter failed: %s", what,
		    thoth_errbuf);
	same(&fast, &ref->out, what);
	fuzz_buf_free(&fast);
}

/* Replaces the summary's body, keeping the header's name of the base. */
static void
doctor_summary(const char *body, size_t len)
{
	char path[300], head[IDHEAD], *buf;
	int fd;

	if (index_sidecar_build(ix) != 0)
		return;
	snprintf(path, sizeof (path), "%s/base.ndjson.idx", dir);
	if ((fd = open(path, O_RDONLY)) < 0)
		return;
	if (read(fd, head, IDHEAD) != IDHEAD) {
		close(fd);
		return;
	}
	close(fd);
	if ((buf = malloc(IDHEAD + len)) == NULL)
		fuzz_die("out of memory");
	memcpy(buf, head, IDHEAD);
	memcpy(buf + IDHEAD, body, len);
	put("base.ndjson.idx", buf, IDHEAD + len);
	free(buf);
}

static void
run(char *text, size_t size)
{
	char *nl = memchr(text, '\n', size), *argv[MAXARGS], *base, *j, *s;
	char *timed_argv[1] = { "mtime=200y" };
	struct thoth_spec *spec, *timed;
	struct ref ref = { 0 }, all = { 0 }, after = { 0 };
	size_t blen, jlen = 0, slen = 0;
	int argc;

	if (nl == NULL)
		return;
	*nl = '\0';
	base = nl + 1;
	blen = size - (size_t)(base - text);
	if ((s = memmem(base, blen, "\n~S\n", 4)) != NULL) {
		slen = blen - (size_t)(s + 4 - base);
		blen = (size_t)(s + 1 - base);
		s += 4;
	}
	if ((j = memmem(base, blen, "\n~J\n", 4)) != NULL) {
		jlen = blen - (size_t)(j + 4 - base);
		blen = (size_t)(j + 1 - base);
		j += 4;
	}
	put("base.ndjson.idx", NULL, 0);
	put("base.ndjson", blen > 0 ? base : NULL, blen);
	put("journal.ndjson", j, jlen);
	argc = fuzz_words(text, " \t", argv, MAXARGS);
	if ((spec = thoth_spec_parse(argc, argv)) == NULL ||
	    thoth_spec_wants_stdin(spec)) {
		thoth_spec_free(spec);
		spec = thoth_spec_parse(0, NULL);
	}
	timed = thoth_spec_parse(1, timed_argv);

	/* The reference, then the fast reader: twice (the second time
	 * with the summary the first one saved, if timed). */
	ref.spec = spec;
	if (thoth_index_scan(ix, INT64_MIN, INT64_MAX, ref_match, &ref) != 0)
		fuzz_die("thoth_index_scan failed: %s", thoth_errbuf);
	fast_equals_ref(spec, &ref, "filter differs");
	fast_equals_ref(spec, &ref, "filter with a saved summary differs");
	setenv("THOTH_INDEX_BLOCK", "1", 1);
	fast_equals_ref(spec, &ref, "filter by one-line blocks differs");
	fast_equals_ref(spec, &ref, "filter by saved one-line blocks differs");
	unsetenv("THOTH_INDEX_BLOCK");

	/* A damaged summary: memory safety only. */
	if (s != NULL && getenv("FUZZ_INDEX_NO_SUMMARY") == NULL) {
		struct fuzz_buf junk = { 0 };
		doctor_summary(s, slen);
		(void) thoth_index_filter(ix, timed, collect, &junk);
		(void) thoth_index_filter(ix, spec, collect, &junk);
		fuzz_buf_free(&junk);
		put("base.ndjson.idx", NULL, 0);
	}

	/* Compaction loses nothing (it may repair a line readers skipped:
	 * a record whose NUL bytes it drops). */
	if (thoth_index_scan(ix, INT64_MIN, INT64_MAX, ref_match, &all) != 0)
		fuzz_die("thoth_index_scan failed: %s", thoth_errbuf);
	if (thoth_index_compact(ix) != 0)
		fuzz_die("compaction failed: %s", thoth_errbuf);
	if (thoth_index_scan(ix, INT64_MIN, INT64_MAX, ref_match, &after) != 0)
		fuzz_die("thoth_index_scan failed: %s", thoth_errbuf);
	kept(&all.out, &after.out, "compaction lost a record");
	fuzz_buf_free(&ref.out);	/* the reference of the compacted index */
	memset(&ref.out, 0, sizeof (ref.out));
	if (thoth_index_scan(ix, INT64_MIN, INT64_MAX, ref_match, &ref) != 0)
		fuzz_die("thoth_index_scan failed: %s", thoth_errbuf);
	fast_equals_ref(spec, &ref, "filter after compaction differs");

	fuzz_buf_free(&ref.out);
	fuzz_buf_free(&all.out);
	fuzz_buf_free(&after.out);
	thoth_spec_free(spec);
	thoth_spec_free(timed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return (fuzz_text(data, size, run));
}
