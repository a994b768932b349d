/*
 * fuzz_dump_meta.c - what thoth-meta reads from a dump (ELF notes:
 * prpsinfo, prstatus, siginfo, auxv, NT_FILE; kdump, vmcore and illumos
 * headers), on any bytes.  Without FUZZ_STACK, opts.no_stack is set,
 * as for the fast mode; with it (fuzz_dump_stack) libdwfl also unwinds.
 *
 * Contracts checked: no crash, leak or undefined behaviour; a dump
 * thoth_dump_hash accepts gets metadata or a reason; the record stays
 * valid JSON (lossy UTF-8 for psargs and friends), keeps its id, and
 * every field is of the type thoth-record(5) gives it.
 */
#include "common.h"

static struct fuzz_file file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	/* libdwfl must not look for debuginfo on the network. */
	unsetenv("DEBUGINFOD_URLS");
	return (0);
}

static void
want_type(const json_t *rec, const char *key, int (*is)(const json_t *))
{
	const json_t *v = json_object_get(rec, key);

	if (v != NULL && !is(v))
		fuzz_die("field %s has the wrong type", key);
}

static int is_str(const json_t *v) { return (json_is_string(v)); }
static int is_int(const json_t *v) { return (json_is_integer(v)); }
static int is_arr(const json_t *v) { return (json_is_array(v)); }

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct thoth_meta_opts opts = { "fuzz 1.0", "fuzzhost", 1 };
	const char *path = fuzz_file_put(&file, data, size);
	char *id;
	json_t *rec;

#ifdef FUZZ_STACK
	opts.no_stack = 0;
#endif
	if ((rec = thoth_dump_hash(path)) == NULL)
		return (0);
	id = strdup(json_string_value(json_object_get(rec, "id")));
	thoth_errbuf[0] = '\0';
	if (thoth_dump_meta(rec, &opts) != 0) {
		if (thoth_errbuf[0] == '\0')
			fuzz_die("failure without a reason");
	} else {
		fuzz_check_json(rec, "thoth_dump_meta");
		if (strcmp(json_string_value(json_object_get(rec, "id")),
		    id) != 0)
			fuzz_die("meta changed the id");
		want_type(rec, "pid", is_str);
		want_type(rec, "cmd", is_str);
		want_type(rec, "psargs", is_str);
		want_type(rec, "exe", is_str);
		want_type(rec, "signal", is_str);
		want_type(rec, "platform", is_str);
		want_type(rec, "node", is_str);
		want_type(rec, "uid", is_int);
		want_type(rec, "time", is_int);
		want_type(rec, "stack", is_arr);
		want_type(rec, "build_ids", is_arr);
	}
	free(id);
	json_decref(rec);
	return (0);
}
