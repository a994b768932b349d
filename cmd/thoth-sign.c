/*
 * thoth-sign - add a crash signature to records
 *
 * thoth-sign [-c | -e] [-r RULES] [FILE...]
 *
 * Reads records (cmd, signal, stack) and writes each with "signature":
 * {"text": "CMD SIGNAL FRAME...", "hash": 16 hex digits of the SHA-256
 * of text, "rules": the rules' version} (and, from "stack_pcs",
 * "build_text" and "build_hash": the same frames by build-id and
 * offset, whatever the symbols), replacing any it had.  The
 * rules come from RULES, $THOTH_SIGNATURE_RULES or the shipped
 * signature.rules.  -c prints {"id", "old", "new"} only for records
 * whose signature text would change; -e prints thoth-set edits
 * {"id", "signature"} for records whose signature differs in any way.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

struct signer {
	struct thoth_sigrules *rules;
	int mode;		/* 0, 'c' or 'e' */
	long seen, changed;
};

static int
text_differs(const json_t *old, const json_t *new)
{
	const char *a = json_string_value(json_object_get(old, "text"));
	const char *b = json_string_value(json_object_get(new, "text"));

	return (a == NULL || b == NULL || strcmp(a, b) != 0);
}

/* -c and -e: only what changes, keyed by id. */
static void
print_change(struct signer *s, const json_t *rec, json_t *sig)
{
	const json_t *old = json_object_get(rec, "signature");
	json_t *out;

	if (s->mode == 'c' ? !text_differs(old, sig) : json_equal(old, sig))
		return;
	s->changed++;
	out = json_pack("{s:O}", "id", json_object_get(rec, "id"));
	if (s->mode == 'c') {
		if (old != NULL)
			json_object_set(out, "old", (json_t *)old);
		json_object_set(out, "new", sig);
	} else {
		json_object_set(out, "signature", sig);
	}
	thoth_json_print(stdout, out);
	json_decref(out);
}

static int
sign_one(json_t *rec, const struct thoth_where *w, void *arg)
{
	struct signer *s = arg;
	json_t *sig;

	if (s->mode != 0 && thoth_record_id(rec) == NULL) {
		warnx("%s:%zu: record has no valid \"id\"", w->file, w->line);
		return (-1);
	}
	if ((sig = thoth_signature(s->rules, rec)) == NULL) {
		warnx("%s:%zu: %s", w->file, w->line, thoth_errbuf);
		return (-1);
	}
	s->seen++;
	if (s->mode != 0) {
		print_change(s, rec, sig);
		json_decref(sig);
		return (0);
	}
	json_object_set_new(rec, "signature", sig);
	thoth_json_print(stdout, rec);
	return (0);
}

static const char usage_text[] =
    "usage: thoth-sign [-c | -e] [-r rules] [file ...]\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

int
main(int argc, char **argv)
{
	struct signer s = { NULL, 0, 0, 0 };
	const char *rules = NULL;
	int c, rv;

	thoth_help(argc, argv, usage_text);
	while ((c = getopt(argc, argv, "cer:")) != -1) {
		switch (c) {
		case 'c':
		case 'e':
			if (s.mode != 0 && s.mode != c)
				usage();
			s.mode = c;
			break;
		case 'r':
			rules = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((s.rules = thoth_sigrules_load(rules)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	atexit(thoth_close_stdout);
	rv = thoth_records(argc, argv, sign_one, &s);
	if (s.mode != 0)
		warnx("%ld of %ld signatures %s (rules %s, version %s)",
		    s.changed, s.seen, s.mode == 'c' ? "would change" :
		    "to update", thoth_sigrules_file(s.rules),
		    thoth_sigrules_version(s.rules));
	thoth_sigrules_free(s.rules);
	return (rv ? THOTH_EXIT_FAIL : THOTH_EXIT_OK);
}
