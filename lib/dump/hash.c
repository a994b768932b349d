/*
 * hash.c - a dump's id: SHA-256 of the bytes that make it unique.
 *
 * An ELF core (or vmcore) is identified by its ELF header, its program
 * header table and its notes (pids, registers, times, mappings): a few
 * KB, however large the core (DESIGN §3).  A kdump or illumos crash
 * dump by its header (dump/kdump.c, dump/illumos.c).  The bytes are
 * hashed as they are in the dump, so the id is the same on every host,
 * whatever its byte order, and the same for the dump compressed.
 */
#include <string.h>
#include <openssl/evp.h>

#include "dump/dump.h"

static int
hash_bytes(struct dump *d, EVP_MD_CTX *ctx, uint64_t off, size_t len)
{
	const unsigned char *p;

	if (len == 0)
		return (0);
	if ((p = dump_bytes(d, off, len)) == NULL)
		return (-1);
	if (EVP_DigestUpdate(ctx, p, len) != 1)
		return (thoth_fail("SHA-256 failed"));
	return (0);
}

/* ELF header, program headers, then every PT_NOTE in file order. */
static int
elfcore_hash(struct dump *d, EVP_MD_CTX *ctx)
{
	size_t i;

	if (hash_bytes(d, ctx, 0, d->ehdr.e_ehsize) != 0 ||
	    hash_bytes(d, ctx, d->ehdr.e_phoff,
	    d->phnum * d->ehdr.e_phentsize) != 0)
		return (-1);
	for (i = 0; i < d->phnum; i++) {
		if (d->ph[i].type == PT_NOTE &&
		    hash_bytes(d, ctx, d->ph[i].offset, d->ph[i].filesz) != 0)
			return (-1);
	}
	return (0);
}

/* The header the kind's check read (and checked). */
static int
header_hash(struct dump *d, EVP_MD_CTX *ctx)
{
	if (EVP_DigestUpdate(ctx, d->hdr, d->hdr_len) != 1)
		return (thoth_fail("SHA-256 failed"));
	return (0);
}

static int (*const hashers[DUMP_NKINDS])(struct dump *, EVP_MD_CTX *) = {
	[DUMP_ELFCORE] = elfcore_hash,
	[DUMP_KDUMP] = header_hash,
	[DUMP_FLATKDUMP] = header_hash,
	[DUMP_ILLUMOS] = header_hash,
};

static int
dump_digest(struct dump *d, char id[THOTH_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rv = -1, i;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		thoth_fail("SHA-256 unavailable");
		goto out;
	}
	if (hashers[d->kind->id](d, ctx) != 0)
		goto out;
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		thoth_fail("SHA-256 failed");
		goto out;
	}
	for (i = 0; i < THOTH_ID_LEN / 2; i++) {
		id[2 * i] = hex[md[i] >> 4];
		id[2 * i + 1] = hex[md[i] & 0xf];
	}
	id[THOTH_ID_LEN] = '\0';
	rv = 0;
out:
	EVP_MD_CTX_free(ctx);
	return (rv);
}

json_t *
thoth_dump_hash(const char *path)
{
	struct dump d;
	char id[THOTH_ID_LEN + 1];
	json_t *rec, *spool;

	if (dump_open(&d, path) != 0)
		return (NULL);
	if (dump_digest(&d, id) != 0) {
		dump_close(&d);
		return (NULL);
	}
	rec = json_object();
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "type", json_string(d.type));
	thoth_record_set_file(rec, path);
	if (d.z == NULL)
		json_object_set_new(rec, "size", json_integer(d.size));
	else if (d.content_size >= 0)
		json_object_set_new(rec, "size", json_integer(d.content_size));
	dump_set_truncated(&d, rec);
	spool = d.kind->id == DUMP_ELFCORE ? dump_spool(path, &d.time) : NULL;
	json_object_set_new(rec, "time", json_integer(d.time));
	if (spool != NULL)
		json_object_update(rec, spool);
	json_decref(spool);
	if (d.z != NULL) {
		json_object_set_new(rec, "compression",
		    json_string(dz_name(d.comp)));
		json_object_set_new(rec, "stored_size",
		    json_integer(d.file_size));
	}
	dump_close(&d);
	return (rec);
}
