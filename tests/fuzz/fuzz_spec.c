/*
 * fuzz_spec.c - the spec parser and matcher (lib/spec.c), and the fast
 * scanner of thoth-filter and thoth-report (lib/scan*.c) against them.
 *
 * Input: a first line of spec tokens, separated by spaces or tabs (a
 * token "@FIELD" names the field to count by, default "cmd"), then
 * NDJSON records.  With dump=stdin the records' lines also feed
 * thoth_spec_add_ids.
 *
 * Contracts checked: no crash, leak or undefined behaviour; a refused
 * spec says why; thoth_filter_records prints exactly what
 * thoth_records + thoth_spec_match + thoth_json_line print (scan.h:
 * "exactly the results"), from a mapped file and from a pipe, and
 * thoth_count_records counts exactly as the reference does; both agree
 * on whether some line failed; every canonical line the spec matches
 * holds every key the spec gives (scan/keys.c: the index's block
 * filters pass over blocks without them).  The scanner's chunk size and threads
 * (from the first byte) go down to 7 bytes and up to 2 threads, so
 * lines straddle chunks.
 */
#include <errno.h>
#include <fcntl.h>

#include "common.h"
#include "scan/scan.h"

#define MAXARGS 16

static struct fuzz_file file;

struct ref {
	const struct thoth_spec *spec;
	struct fuzz_buf out;
	const char *field;
	json_t *counts;
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	setenv("THOTH_NOW", "1700000000", 1);
	setenv("THOTH_SCAN_THREADS", "2", 1);
	unsetenv("THOTH_SCAN");
	return (0);
}

static int
ref_match(json_t *rec, const struct thoth_where *where, void *arg)
{
	struct ref *r = arg;
	const json_t *v = thoth_json_path(rec, r->field);
	char *key = v != NULL ? thoth_json_scalar(v) : strdup("undefined");
	json_t *n = json_object_get(r->counts, key);
	char *line;

	(void)where;
	if (n != NULL)
		json_integer_set(n, json_integer_value(n) + 1);
	else
		json_object_set_new(r->counts, key, json_integer(1));
	free(key);
	if (r->spec != NULL && thoth_spec_match(r->spec, rec)) {
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
	size_t i, nl = 0;

	for (i = 0; i < len; i++)
		nl += lines[i] == '\n';
	if (nl != n || (len > 0 && lines[len - 1] != '\n'))
		fuzz_die("batch of %zu lines says %zu", nl, n);
	fuzz_buf_add(arg, lines, len);
	return (0);
}

/* The records as a pipe's reading end, named in /proc (the stream path
 * of the scanner), or NULL when they do not fit in the pipe. */
static const char *
as_pipe(const char *recs, size_t len, int *rfd, char *path, size_t cap)
{
	int p[2];

	if (len > 60000 || pipe(p) != 0)
		return (NULL);
	if (len > 0 && write(p[1], recs, len) != (ssize_t)len)
		fuzz_die("pipe write");
	close(p[1]);
	*rfd = p[0];
	snprintf(path, cap, "/proc/self/fd/%d", p[0]);
	return (path);
}

static void
compare(const struct thoth_spec *spec, struct ref *ref, int ref_failed,
    const char *path, const char *how)
{
	struct fuzz_buf fast = { 0 };
	char *argv[1] = { (char *)path };
	json_t *counts;
	int failed;

	if (spec != NULL) {
		failed = thoth_filter_records(spec, 1, argv, collect, &fast);
		if (failed != ref_failed)
			fuzz_die("%s: filter failed=%d, reference %d", how,
			    failed, ref_failed);
		if (fast.len != ref->out.len || (fast.len > 0 &&
		    memcmp(fast.p, ref->out.p, fast.len) != 0))
			fuzz_die("%s: filter output differs:\nfast:\n%.*s\n"
			    "reference:\n%.*s", how, (int)fast.len,
			    fast.p ? fast.p : "", (int)ref->out.len,
			    ref->out.p ? ref->out.p : "");
		fuzz_buf_free(&fast);
		return;
	}
	counts = json_object();
	failed = thoth_count_records(ref->field, 1, argv, counts);
	if (failed != ref_failed)
		fuzz_die("%s: count failed=%d, reference %d", how, failed,
		    ref_failed);
	if (!json_equal(counts, ref->counts)) {
		char *a = thoth_json_line(counts), *b =
		    thoth_json_line(ref->counts);
		fuzz_die("%s: counts of %s differ: %s, reference %s", how,
		    ref->field, a, b);
	}
	json_decref(counts);
}

/* One look through the file, and one through a pipe. */
static void
both_ways(const struct thoth_spec *spec, struct ref *ref, int ref_failed,
    const char *recs, size_t len)
{
	char path[64];
	const char *pp;
	int rfd = -1;

	compare(spec, ref, ref_failed, fuzz_file_put(&file, recs, len),
	    "file");
	if ((pp = as_pipe(recs, len, &rfd, path, sizeof (path))) != NULL) {
		compare(spec, ref, ref_failed, pp, "pipe");
		close(rfd);
	}
}

struct keys {
	uint64_t *k;
	size_t n, cap;
};

static void
add_key(void *arg, uint64_t key)
{
	struct keys *ks = arg;

	ks->k = thoth_grow(ks->k, &ks->cap, ks->n + 1, sizeof (*ks->k));
	ks->k[ks->n++] = key;
}

static int
has_key(const struct keys *ks, uint64_t key)
{
	size_t j;

	for (j = 0; j < ks->n; j++)
		if (ks->k[j] == key)
			return (1);
	return (0);
}

/* Does the canonical line s (with an id, as the index's blocks have
 * them) that the spec matches meet every need of the spec? */
static void
keys_held(const struct thoth_spec *spec, const char *s, size_t len)
{
	struct scan_need need[16];
	size_t nn = scan_keys_spec(spec, need, 16), i;
	struct keys ks = { 0 };
	struct scan_rec r;
	json_t *rec;
	int match;

	if (nn == 0 || scan_line(&r, s, len) != 0 || scan_id(&r) == NULL)
		return;
	rec = json_loadb(s, len, 0, NULL);
	match = rec != NULL && thoth_spec_match(spec, rec);
	json_decref(rec);
	if (!match)
		return;
	scan_keys_line(&r, add_key, &ks);
	for (i = 0; i < nn; i++)
		if (!has_key(&ks, need[i].key) &&
		    (need[i].alt == 0 || !has_key(&ks, need[i].alt)))
			fuzz_die("a matching line lacks need %zu: %.*s", i,
			    (int)len, s);
	free(ks.k);
}

static void
all_keys_held(const struct thoth_spec *spec, const char *recs, size_t len)
{
	const char *p = recs, *end = recs + len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		keys_held(spec, p, (size_t)(nl - p));
	}
}

static void
run(char *text, size_t size)
{
	static const char *chunks[] = { "1048576", "64", "7", "1000" };
	static const char *threads[] = { "1", "2", "1", "2" };
	char *nl = memchr(text, '\n', size), *argv[MAXARGS], *recs;
	struct ref ref = { 0 };
	struct thoth_spec *spec;
	int argc, i, j, failed = 0;
	size_t rlen;
	FILE *fp;

	setenv("THOTH_SCAN_CHUNK", chunks[(unsigned char)text[0] % 4], 1);
	setenv("THOTH_SCAN_THREADS", threads[(unsigned char)text[0] % 4], 1);
	if (nl == NULL)
		return;
	*nl = '\0';
	recs = nl + 1;
	rlen = size - (size_t)(recs - text);
	argc = fuzz_words(text, " \t", argv, MAXARGS);
	ref.field = "cmd";
	for (i = j = 0; i < argc; i++) {
		if (argv[i][0] == '@')
			ref.field = argv[i] + 1;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	thoth_errbuf[0] = '\0';
	if ((spec = thoth_spec_parse(argc, argv)) == NULL) {
		if (thoth_errbuf[0] == '\0')
			fuzz_die("spec refused without a reason");
		return;
	}
	if (thoth_spec_wants_stdin(spec)) {
		if ((fp = fmemopen(recs, rlen ? rlen : 1, "r")) == NULL)
			fuzz_die("fmemopen");
		i = thoth_spec_add_ids(spec, fp, "ids");
		fclose(fp);
		if (i != 0)
			goto out;
	}
	ref.spec = spec;
	ref.counts = json_object();
	if (rlen > 0) {
		if ((fp = fmemopen(recs, rlen, "r")) == NULL)
			fuzz_die("fmemopen");
		thoth_records_fp(fp, "ref", ref_match, &ref, &failed);
		fclose(fp);
	}
	both_ways(spec, &ref, failed, recs, rlen);
	both_ways(NULL, &ref, failed, recs, rlen);
	all_keys_held(spec, recs, rlen);
	json_decref(ref.counts);
	fuzz_buf_free(&ref.out);
out:
	thoth_spec_free(spec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return (fuzz_text(data, size, run));
}
