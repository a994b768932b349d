/*
 * dump_impl.h - private to lib/dump*.c: an open dump and its kind.
 *
 * dump.c opens a file, picks its kind by magic and checks its headers;
 * dump_hash.c and dump_meta.c then work on a dump that is known to be
 * whole.  A new kind of dump (kdump, illumos, compressed) is one more
 * enum dump_kind_id, a row of kinds[] in dump.c (magic, check) and one
 * entry each in the hashers[] of dump_hash.c and readers[] of
 * dump_meta.c.
 */
#ifndef DUMP_IMPL_H
#define DUMP_IMPL_H

#include <gelf.h>

#include "thoth.h"

#define DUMP_HEAD 64	/* bytes read up front for the magic check */

struct dump;

/* Kinds of dump.  Hashing and metadata keep their own tables indexed
 * by kind, so that a tool links only the libraries it uses (thoth-meta
 * no libcrypto, thoth-hash no libdw). */
enum dump_kind_id { DUMP_ELFCORE, DUMP_NKINDS };

struct dump_kind {
	enum dump_kind_id id;
	const char *type;		/* the record's "type" */
	const char *magic;
	size_t magic_len;
	int (*check)(struct dump *);	/* headers whole and sane */
};

struct dump {
	const char *path;
	int fd;
	int64_t size;			/* st_size */
	int64_t mtime;			/* st_mtime */
	unsigned char head[DUMP_HEAD];	/* first bytes of the file */
	size_t head_len;
	const struct dump_kind *kind;
	Elf *elf;			/* ELF kinds */
	GElf_Ehdr ehdr;
	size_t phnum;
};

/* dump.c */
int dump_open(struct dump *d, const char *path);	/* 0 or -1 + errbuf */
void dump_close(struct dump *d);
/* Raw bytes [off, off + len) of an ELF dump, checked to lie in the file. */
const unsigned char *dump_elf_bytes(struct dump *d, uint64_t off, size_t len);

#endif /* DUMP_IMPL_H */
