/*
 * thoth-purge - delete dumps from the store, keeping their records
 *
 * thoth-purge [-nqt] [-k N] [-o AGE] [-r REASON] [FILE...]
 *
 * Reads records (thoth-filter -I SPEC) and deletes each one's dump
 * object from the store; the record stays in info.json and the index,
 * without "dump" and with "purged": {"time": T, "reason": R}.  The dump is deleted
 * first and the record written after, under the index lock; a crash in
 * between leaves a record whose dump is missing, which the next purge
 * completes.  In an S3 store the index is refreshed from the shared log
 * first and each dump judged on its record there; the purges go to the
 * log, 1000 to an object (thoth-s3(7)).  Records already purged are left alone.  A dump with a
 * "ticket" is kept unless -t.  -k N keeps the N newest dumps ("time")
 * of each signature ("signature.hash"; records without one are one
 * group); -o AGE purges only dumps made more than AGE ago.  -n prints
 * what would be purged and changes nothing.  REASON defaults to the
 * options ("older-than 30d keep-newest 3").  -q: no summary.
 * A record not yet in the store (with "file", from thoth-hash |
 * thoth-meta) is stored without its dump, already purged: this is how
 * thoth ingest --keep-per-signature keeps only the record.
 * Prints each purged record; a summary goes to stderr.
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

struct purger {
	struct thoth_store *st;
	struct thoth_index *ix;
	int dry, ticketed, quiet;
	long keep;		/* -k, 0 if none */
	int64_t age;		/* -o, -1 if none */
	const char *reason;
	json_t *newest;		/* signature hash -> [[time, id], ...] */
	long purged, missing, kept_ticket, kept_newest, kept_young;
	int64_t bytes;
	json_t *queue;		/* S3: records to purge, not yet logged */
	int failed;		/* S3: a batch failed */
};

#define BATCH	1000	/* purges in one log object (S3) */

static int64_t
record_time(const json_t *rec)
{
	const json_t *t = json_object_get(rec, "time");

	if (!json_is_integer(t))
		t = json_object_get(rec, "uploaded");
	return (json_is_integer(t) ? json_integer_value(t) : 0);
}

static const char *
group_of(const json_t *rec)
{
	const char *h = json_string_value(thoth_json_path(rec,
	    "signature.hash"));

	return (h != NULL ? h : "");
}

/* Pass 1 of -k: the N newest [time, id] of each group, newest first. */
/* What a purge frees: the stored object, compressed or not. */
static json_int_t
stored_bytes(const json_t *rec)
{
	const json_t *n = json_object_get(rec, "stored_size");

	return (json_integer_value(n != NULL ? n : json_object_get(rec, "size")));
}

static int
note_newest(json_t *rec, const struct thoth_where *w, void *arg)
{
	struct purger *p = arg;
	const char *g = group_of(rec);
	json_t *list = json_object_get(p->newest, g);
	int64_t t = record_time(rec);
	size_t i;

	(void)w;
	if (thoth_record_id(rec) == NULL || json_object_get(rec, "purged"))
		return (0);
	if (list == NULL) {
		list = json_array();
		json_object_set_new(p->newest, g, list);
	}
	for (i = 0; i < json_array_size(list); i++) {
		if (t > json_integer_value(json_array_get(json_array_get(list,
		    i), 0)))
			break;
	}
	if (i < (size_t)p->keep)
		json_array_insert_new(list, i, json_pack("[IO]", (json_int_t)t,
		    json_object_get(rec, "id")));
	if (json_array_size(list) > (size_t)p->keep)
		json_array_remove(list, (size_t)p->keep);
	return (0);
}

static int
is_newest(const struct purger *p, const json_t *rec)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(p->newest, group_of(rec)), i, e) {
		if (json_equal(json_array_get(e, 1), json_object_get(rec, "id")))
			return (1);
	}
	return (0);
}

static void
mark_purged(const struct purger *p, json_t *rec)
{
	json_t *mark = json_pack("{s:I}", "time", (json_int_t)thoth_now());

	json_object_set_new(mark, "reason", thoth_json_string(p->reason,
	    strlen(p->reason)));
	json_object_set_new(rec, "purged", mark);
}

static void
purged_one(struct purger *p, const json_t *rec)
{
	thoth_json_print(stdout, rec);
	p->purged++;
	p->bytes += stored_bytes(rec);
}

/* A record not in the store yet: stored alone (thoth-put's fields). */
static int
store_record_only(struct purger *p, json_t *rec)
{
	char *name = thoth_store_path(p->st, thoth_record_id(rec));

	json_object_del(rec, "file");
	json_object_del(rec, "file_hex");
	json_object_del(rec, "dump");
	json_object_set_new(rec, "name", thoth_json_string(name, strlen(name)));
	free(name);
	json_object_set_new(rec, "uploaded", json_integer(thoth_now()));
	if (json_object_get(rec, "version") == NULL)
		json_object_set_new(rec, "version",
		    json_string(THOTH_RECORD_VERSION));
	mark_purged(p, rec);
	return (0);
}

/* The dump object first, then the record; 1 if nothing was to do. */
static int
purge_stored(struct purger *p, json_t *rec)
{
	const char *dump = json_string_value(json_object_get(rec, "dump"));
	char *key;
	int rv = 0;

	if (json_object_get(rec, "purged") != NULL)
		return (1);
	if (json_object_get(rec, "ticket") != NULL && !p->ticketed) {
		p->kept_ticket++;
		return (1);
	}
	if (dump != NULL) {
		key = thoth_xasprintf("%s/%s", thoth_record_id(rec),
		    strrchr(dump, '/') ? strrchr(dump, '/') + 1 : dump);
		rv = thoth_store_delete(p->st, key);
		free(key);
	}
	if (rv == 0) {
		json_object_del(rec, "dump");	/* "dump" names an object */
		mark_purged(p, rec);
	}
	return (rv);
}

/* Read-modify-write of info.json under the index lock, as thoth-set. */
static int
purge_one(struct purger *p, const json_t *in)
{
	const char *id = thoth_record_id(in);
	json_t *rec = NULL;
	int rv;

	if (thoth_index_lock(p->ix) != 0)
		return (-1);
	rv = thoth_store_get_info(p->st, id, &rec);
	if (rv > 0 && json_object_get(in, "file") != NULL) {
		rec = json_deep_copy(in);
		rv = store_record_only(p, rec);
	} else if (rv > 0) {
		p->missing++;
		rv = thoth_fail("no such dump in %s", thoth_store_url(p->st));
	} else if (rv == 0) {
		rv = purge_stored(p, rec);
	}
	if (rv == 0 && (rv = thoth_store_put_info(p->st, rec)) == 0)
		rv = thoth_index_append(p->ix, rec);
	thoth_index_unlock(p->ix);
	if (rv == 0)
		purged_one(p, rec);
	json_decref(rec);
	return (rv);
}

/* One log line for a purge: what purge_stored changed, or the whole
 * record of store_record_only. */
static json_t *
purge_line(const json_t *rec, int whole)
{
	const char *id = thoth_record_id(rec);

	if (whole)
		return (json_pack("{sssO}", "id", id, "put", rec));
	return (json_pack("{sss{snsO}}", "id", id, "ops", "dump", "purged",
	    json_object_get(rec, "purged")));
}

/*
 * An S3 store: each queued dump is judged on its record in the index,
 * refreshed from the shared log when the purge started (so a ticket set
 * on any host before then keeps it); the dumps go, then the batch of
 * purges is one log object, and the records stored alone get info.json.
 */
static int
flush_purges(struct purger *p)
{
	json_t *ids = json_array(), *cur, *lines = json_array(), *rec, *in;
	json_t *whole = json_array();
	size_t i;
	int rv = 0;

	json_array_foreach(p->queue, i, in)
		json_array_append(ids, json_object_get(in, "id"));
	if ((cur = thoth_index_get(p->ix, ids)) == NULL)
		rv = -1;
	json_array_foreach(p->queue, i, in) {
		const char *id = thoth_record_id(in);
		int one = 0, alone = 0;
		if (rv != 0)
			break;
		if ((rec = json_deep_copy(json_object_get(cur, id))) != NULL)
			one = purge_stored(p, rec);
		else if (json_object_get(in, "file") != NULL)
			one = store_record_only(p, rec = json_deep_copy(in)),
			    alone = 1;
		else {
			p->missing++;
			one = thoth_fail("no such dump in %s",
			    thoth_store_url(p->st));
		}
		if (one < 0)
			warnx("%s: %s", id, thoth_errbuf);
		if (one == 0)
			json_array_append_new(lines, purge_line(rec, alone));
		if (one == 0 && alone)
			json_array_append(whole, rec);
		p->failed |= one < 0;
		json_decref(rec);
	}
	if (rv == 0 && json_array_size(lines) > 0)
		rv = thoth_log_write(p->ix, p->st, lines, cur);
	json_array_foreach(whole, i, rec) {
		if (rv == 0)
			rv = thoth_store_put_info(p->st, rec);
	}
	json_array_foreach(lines, i, rec) {
		if (rv == 0)
			purged_one(p, json_object_get(cur, thoth_record_id(rec)));
	}
	if (rv != 0)
		warnx("%s", thoth_errbuf);
	p->failed |= rv != 0;
	json_array_clear(p->queue);
	json_decref(cur);
	json_decref(ids);
	json_decref(lines);
	json_decref(whole);
	return (rv);
}

static int
purge_rec(json_t *rec, const struct thoth_where *w, void *arg)
{
	struct purger *p = arg;
	const char *id = thoth_record_id(rec);
	int rv;

	if (id == NULL) {
		warnx("%s:%zu: record has no valid \"id\"", w->file, w->line);
		return (-1);
	}
	if (json_object_get(rec, "purged") != NULL)
		return (0);
	if (p->keep > 0 && is_newest(p, rec)) {
		p->kept_newest++;
		return (0);
	}
	if (p->age >= 0 && thoth_now() - record_time(rec) < p->age) {
		p->kept_young++;
		return (0);
	}
	if (!p->dry && p->queue != NULL) {
		json_array_append(p->queue, rec);
		rv = json_array_size(p->queue) < BATCH ? 0 : flush_purges(p);
		rv = rv < 0 ? 0 : rv;	/* flush_purges said why */
	} else if (!p->dry) {
		rv = purge_one(p, rec);
	} else if (json_object_get(rec, "ticket") != NULL && !p->ticketed) {
		p->kept_ticket++;
		rv = 1;
	} else {
		purged_one(p, rec);
		rv = 0;
	}
	if (rv < 0) {
		warnx("%s: %s", id, thoth_errbuf);
		return (-1);
	}
	return (0);
}

/* -k reads the records twice: stdin and files are copied first. */
static FILE *
spool(int argc, char **argv)
{
	FILE *tmp = tmpfile(), *in;
	char buf[65536];
	size_t n;
	int i;

	if (tmp == NULL)
		err(THOTH_EXIT_FAIL, "temporary file");
	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		const char *f = argc > 0 ? argv[i] : "-";
		if ((in = strcmp(f, "-") == 0 ? stdin : fopen(f, "r")) == NULL)
			err(THOTH_EXIT_FAIL, "%s", f);
		while ((n = fread(buf, 1, sizeof (buf), in)) > 0)
			fwrite(buf, 1, n, tmp);
		if (ferror(in))
			err(THOTH_EXIT_FAIL, "%s", f);
		fputc('\n', tmp);	/* a last line without newline */
		if (in != stdin)
			fclose(in);
	}
	if (fflush(tmp) != 0 || fseek(tmp, 0, SEEK_SET) != 0)
		err(THOTH_EXIT_FAIL, "temporary file");
	return (tmp);
}

static int
run(struct purger *p, int argc, char **argv)
{
	FILE *tmp;
	int failed = 0;

	if (p->keep == 0)
		return (thoth_records(argc, argv, purge_rec, p));
	tmp = spool(argc, argv);
	p->newest = json_object();
	thoth_records_fp(tmp, "-", note_newest, p, &failed);
	rewind(tmp);
	thoth_records_fp(tmp, "-", purge_rec, p, &failed);
	fclose(tmp);
	json_decref(p->newest);
	return (failed);
}

static const char usage_text[] =
    "usage: thoth-purge [-nqt] [-k N] [-o age] [-r reason] "
    "[file ...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

static const struct option longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "include-ticketed", no_argument, NULL, 't' },
	{ "keep-newest", required_argument, NULL, 'k' },
	{ "older-than", required_argument, NULL, 'o' },
	{ "reason", required_argument, NULL, 'r' },
	{ "quiet", no_argument, NULL, 'q' },
	{ NULL, 0, NULL, 0 }
};

/* The reason recorded when none is given: the policy that purged. */
static const char *
default_reason(const char *age, long keep)
{
	static char buf[128];

	if (age == NULL && keep == 0)
		return ("requested");
	if (keep == 0)
		snprintf(buf, sizeof (buf), "older-than %s", age);
	else if (age == NULL)
		snprintf(buf, sizeof (buf), "keep-newest %ld", keep);
	else
		snprintf(buf, sizeof (buf), "older-than %s keep-newest %ld", age,
		    keep);
	return (buf);
}

static void
options(struct purger *p, int argc, char **argv)
{
	const char *age = NULL;
	char *end;
	int c;

	thoth_help(argc, argv, usage_text);
	while ((c = getopt_long(argc, argv, "nqtk:o:r:", longopts, NULL)) != -1) {
		if (c == 'n')
			p->dry = 1;
		else if (c == 'q')
			p->quiet = 1;
		else if (c == 't')
			p->ticketed = 1;
		else if (c == 'k') {
			p->keep = strtol(optarg, &end, 10);
			if (*end != '\0' || p->keep < 1 || p->keep > 1000000)
				errx(THOTH_EXIT_FAIL, "%s: -k wants a count "
				    "from 1", optarg);
		} else if (c == 'o') {
			if (thoth_parse_age(optarg, &p->age) != 0)
				errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
			age = optarg;
		} else if (c == 'r')
			p->reason = optarg;
		else
			usage();
	}
	if (p->reason == NULL)
		p->reason = default_reason(age, p->keep);
}

int
main(int argc, char **argv)
{
	struct purger p;
	int rv;

	memset(&p, 0, sizeof (p));
	p.age = -1;
	options(&p, argc, argv);
	argc -= optind;
	argv += optind;
	atexit(thoth_close_stdout);
	if ((p.st = thoth_store_open(NULL)) == NULL ||
	    (p.ix = thoth_index_open(p.st, NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	if (thoth_log_kept(p.st)) {
		p.queue = json_array();
		if (thoth_log_refresh(p.ix, p.st, 0, 0) != 0)
			errx(THOTH_EXIT_FAIL, "%s: %s", thoth_store_url(p.st),
			    thoth_errbuf);
	}
	rv = run(&p, argc, argv);
	if (p.queue != NULL && json_array_size(p.queue) > 0)
		(void) flush_purges(&p);
	rv |= p.failed;
	json_decref(p.queue);
	if (!p.quiet)
		warnx("%s %ld dumps (%.1f MB); kept %ld with a ticket, %ld newest of "
		    "their signature, %ld younger", p.dry ? "would purge" :
		    "purged", p.purged, p.bytes / 1e6, p.kept_ticket,
		    p.kept_newest, p.kept_young);
	thoth_index_close(p.ix);
	thoth_store_close(p.st);
	if (rv && p.missing > 0)
		return (THOTH_EXIT_NOTFOUND);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
