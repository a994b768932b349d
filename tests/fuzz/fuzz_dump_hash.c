/*
 * fuzz_dump_hash.c - the dump recogniser and hasher (lib/dump*.c,
 * lib/dump/decompress.c) on any bytes: thoth_dump_hash of a file holding the
 * input.
 *
 * Contracts checked: no crash, leak or undefined behaviour; a failure
 * leaves a reason in thoth_errbuf; a recognised dump gets a record that
 * is valid JSON with an id of 32 hex digits, a type "core" or "crash"
 * and, uncompressed, the file's size; the id is the same on a second
 * look and the same for the dump gzip-compressed (DESIGN §3).
 */
#include <zlib.h>

#include "common.h"

static struct fuzz_file plain, packed;

/* The input as a gzip file (deflate with a gzip wrapper, mtime 0). */
static unsigned char *
gzip(const uint8_t *data, size_t size, size_t *outlen)
{
	z_stream z;
	unsigned char *out;
	size_t cap = compressBound(size) + 64;

	memset(&z, 0, sizeof (z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fuzz_die("deflateInit2");
	if ((out = malloc(cap)) == NULL)
		fuzz_die("out of memory");
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)size;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		fuzz_die("deflate");
	*outlen = z.total_out;
	deflateEnd(&z);
	return (out);
}

static const char *
str(const json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return (s != NULL ? s : "");
}

static void
check_record(const json_t *rec, size_t size)
{
	const char *type = str(rec, "type");

	fuzz_check_json(rec, "thoth_dump_hash");
	if (!thoth_is_id(str(rec, "id")))
		fuzz_die("bad id '%s'", str(rec, "id"));
	if (strcmp(type, "core") != 0 && strcmp(type, "crash") != 0)
		fuzz_die("bad type '%s'", type);
	if (!json_is_integer(json_object_get(rec, "time")))
		fuzz_die("no time");
	if (json_object_get(rec, "compression") == NULL &&
	    json_integer_value(json_object_get(rec, "size")) != (json_int_t)size)
		fuzz_die("size %lld, file has %zu bytes", (long long)
		    json_integer_value(json_object_get(rec, "size")), size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file_put(&plain, data, size), *zpath;
	json_t *rec, *again, *zrec;
	unsigned char *gz;
	size_t gzlen;

	thoth_errbuf[0] = '\0';
	if ((rec = thoth_dump_hash(path)) == NULL) {
		if (thoth_errbuf[0] == '\0')
			fuzz_die("failure without a reason");
		return (0);
	}
	check_record(rec, size);
	if ((again = thoth_dump_hash(path)) == NULL ||
	    strcmp(str(rec, "id"), str(again, "id")) != 0)
		fuzz_die("second look differs: %s", thoth_errbuf);
	json_decref(again);
	if (json_object_get(rec, "compression") == NULL) {
		gz = gzip(data, size, &gzlen);
		zpath = fuzz_file_put(&packed, gz, gzlen);
		if ((zrec = thoth_dump_hash(zpath)) == NULL)
			fuzz_die("gzip of a dump refused: %s", thoth_errbuf);
		if (strcmp(str(rec, "id"), str(zrec, "id")) != 0 ||
		    strcmp(str(rec, "type"), str(zrec, "type")) != 0)
			fuzz_die("gzip changes the id or type");
		if (strcmp(str(zrec, "compression"), "gzip") != 0)
			fuzz_die("compression not reported");
		json_decref(zrec);
		free(gz);
	}
	json_decref(rec);
	return (0);
}
