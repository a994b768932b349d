/*
 * lib/dump/ - recognising, hashing and reading dumps: ELF cores and
 * vmcores (elf.c), makedumpfile's kdump formats (kdump.c, with the
 * VMCOREINFO text in vmcoreinfo.c), illumos dumps and cores
 * (illumos.c), systemd-coredump's names, attributes (spool.c) and
 * journal entries (journal.c), compressed dumps (dump/decompress.c),
 * stacks (stack.c, through libdwfl sessions of debuginfod.c), and the
 * compressors of thoth-put (compress.c).  Its public face is the
 * thoth_dump_* and thoth_journal_* parts of thoth.h (thoth-hash,
 * thoth-meta, thoth-put); this header is private
 * to lib/dump/.  It calls only lib/ (thoth.h) and the system's
 * libraries (libelf, libdw, zlib, zstd, xz, lz4, and libsystemd in
 * journal.c, linked only into thoth-meta), never the scanner, the index
 * or the store.
 *
 * dump/dump.c opens a file, sees through its compression (dump/decompress.c),
 * picks its kind by magic and has the kind check its headers; hash.c
 * and meta.c then work on a dump that is known to be whole.  A new
 * kind of dump is one more enum dump_kind_id, a row of kinds[] in
 * dump/dump.c (magic, check) and one entry each in the hashers[] of hash.c
 * and readers[] of meta.c.  Every kind reads the dump through
 * dump_read()/dump_bytes(), which hide the compression.
 */
#ifndef THOTH_DUMP_H
#define THOTH_DUMP_H

#include <gelf.h>

#include "thoth.h"

#define DUMP_HEAD 64	/* bytes read up front for the magic check */

struct dump;

/* Kinds of dump.  Hashing and metadata keep their own tables indexed
 * by kind, so that a tool links only the libraries it uses (thoth-meta
 * no libcrypto, thoth-hash no libdw). */
enum dump_kind_id {
	DUMP_ELFCORE,		/* process cores and ELF vmcores */
	DUMP_KDUMP,		/* makedumpfile's compressed kdump */
	DUMP_FLATKDUMP,		/* the same, flattened (makedumpfile -F) */
	DUMP_ILLUMOS,		/* illumos dumphdr_t crash dumps */
	DUMP_NKINDS
};

struct dump_kind {
	enum dump_kind_id id;
	const char *type;		/* the record's "type" */
	const char *magic;
	size_t magic_len;
	int (*check)(struct dump *);	/* headers whole and sane */
};

/* Whose notes an ELF core has. */
enum dump_os { DUMP_OS_LINUX, DUMP_OS_ILLUMOS };

enum dz_format { DZ_NONE, DZ_GZIP, DZ_ZSTD, DZ_XZ, DZ_LZ4 };

struct dump_chunk;

/* A program header, in this host's terms. */
struct dump_phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz, memsz, align;
};

struct dump {
	const char *path;
	int fd;
	int64_t size;			/* bytes of the dump, -1 unknown */
	int64_t file_size;		/* st_size of the file */
	int64_t content_size;		/* compressed: the frame header's
					 * uncompressed size, -1 if none */
	int64_t mtime;			/* st_mtime */
	int64_t time;			/* when made, if the dump says; else 0 */
	int64_t expected;		/* a core cut short in its memory
					 * (ulimit -c): the bytes its segments
					 * need; 0 if whole */
	unsigned char head[DUMP_HEAD];	/* first bytes of the dump */
	size_t head_len;
	const struct dump_kind *kind;
	const char *type;		/* "core" or "crash" */
	enum dz_format comp;		/* how the file is compressed */
	struct dz *z;			/* its decoder, NULL if plain */
	struct dump_chunk *chunks;	/* bytes read so far (dump_bytes) */
	int msb;			/* big-endian dump */
	size_t word;			/* 4 or 8: the dumped system's long */
	/* ELF kinds */
	GElf_Ehdr ehdr;
	size_t phnum;
	struct dump_phdr *ph;		/* phnum program headers */
	enum dump_os os;
	int vmcore;			/* has a VMCOREINFO note */
	/* kinds with a header: its bytes, hashed whole */
	const unsigned char *hdr;
	size_t hdr_len;
	unsigned char *hdr_buf;		/* hdr, when put together */
};

/* dump/dump.c */
int dump_open(struct dump *d, const char *path);	/* 0 or -1 + errbuf */
int dump_open_fd(struct dump *d, int fd, const char *path);
void dump_close(struct dump *d);
/* Bytes [off, off + len) of the (uncompressed) dump into buf: 0, or -1
 * with "truncated" when the dump ends first. */
int dump_read(struct dump *d, uint64_t off, void *buf, size_t len);
/* The same bytes, kept until dump_close. */
const unsigned char *dump_bytes(struct dump *d, uint64_t off, size_t len);
int dump_truncated(int64_t have, uint64_t need);
uint64_t dump_rd(const struct dump *d, const unsigned char *p, size_t n);
json_t *dump_chars(const unsigned char *p, size_t max, int trim);
void dump_set(json_t *rec, const char *key, json_t *v);	/* steals v */
/* rec's "truncated" and "expected_size": set for a core cut short in
 * its memory, removed otherwise. */
void dump_set_truncated(const struct dump *d, json_t *rec);

/* elf.c: ELF cores and vmcores. */
int dump_elf_check(struct dump *d);
/* Calls fn for each note of each PT_NOTE, in file order, with its
 * owner name (namesz bytes, NUL included) and descriptor. */
typedef void (*dump_note_fn)(struct dump *d, const char *name, size_t namesz,
    uint32_t type, const unsigned char *desc, size_t descsz, void *arg);
int dump_elf_notes(struct dump *d, dump_note_fn fn, void *arg);
int dump_note_is(const char *name, size_t namesz, const char *owner);

/* kdump.c: makedumpfile's formats. */
int dump_kdump_check(struct dump *d);
int dump_flat_check(struct dump *d);
int dump_kdump_meta(struct dump *d, json_t *rec);
int dump_vmcore_meta(struct dump *d, json_t *rec);

/* vmcoreinfo.c: "KEY=value" of a VMCOREINFO text; NULL if absent. */
json_t *dump_vmcoreinfo(const unsigned char *p, size_t n, const char *key);
int64_t dump_vmcoreinfo_time(const unsigned char *p, size_t n);	/* or 0 */

/* illumos.c: illumos crash dumps and process cores. */
int dump_illumos_check(struct dump *d);
int dump_illumos_meta(struct dump *d, json_t *rec);
int dump_illumos_core_meta(struct dump *d, json_t *rec);
json_t *dump_illumos_signal(int sig);

/* dump/stack.c: the stack of thread tid (its NT_PRSTATUS descriptor:
 * prstatus, len) of a core whose modules dwfl has reported, into rec's
 * stack fields; only warns when it cannot. */
struct Dwfl;
void dump_core_stack(struct dump *d, Elf *elf, struct Dwfl *dwfl, json_t *rec,
    int64_t tid, const unsigned char *prstatus, size_t len);
/* dump/stack.c: a module's GNU build-id in hex (allocated), or NULL. */
struct Dwfl_Module;
char *dump_module_build_id(struct Dwfl_Module *mod);
/* dump/unwind.c: dwfl_core_file_attach, in linear time for x86-64
 * cores (*fast then 1): the pid, or -1 with dwfl_errmsg. */
int dump_unwind_attach(struct dump *d, Elf *elf, struct Dwfl *dwfl,
    int64_t tid, const unsigned char *prstatus, size_t len, int *fast);
/* The same from the DWARF registers 0-16 regs (x86-64), into another
 * session of the same core; dump_sigframe_regs reads those a signal
 * saved in the ucontext_t at uc: 0, or -1. */
int dump_unwind_regs(struct dump *d, Elf *elf, struct Dwfl *dwfl,
    int64_t tid, const uint64_t regs[17]);
int dump_sigframe_regs(struct dump *d, uint64_t uc, uint64_t regs[17]);
/* len bytes of the process's memory at addr, as far as the core holds
 * them: 0, or -1 (errbuf not always set).  *hint: the PT_LOAD to try
 * first, updated. */
int dump_core_mem(struct dump *d, uint64_t addr, void *buf, size_t len,
    size_t *hint);
/* dump/goid.c: the Go build ID of the ELF mapped at start, from the
 * core's copy of its first page; NULL if none. */
json_t *dump_go_build_id(struct dump *d, uint64_t start);

/* dump/debuginfod.c: a libdwfl session for one core, its debuginfod
 * queries bounded by THOTH_DEBUGINFOD_TIME from now on. */
struct Dwfl *dump_dwfl_begin(void);
struct Dwfl *dump_dwfl_more(void);	/* the same dump's budget */

/* dump/spool.c: what systemd-coredump says of a core it stored, by its
 * file name core.COMM.UID.BOOTID.PID.USEC[.EXT] and its user.coredump.*
 * extended attributes. */
#define DUMP_BOOT_ID_LEN 32
struct dump_spool {
	char boot_id[DUMP_BOOT_ID_LEN + 1];	/* "" unless the name has it */
	int64_t pid;		/* the name's PID (COREDUMP_PID), or -1 */
	int64_t usec;		/* its time stamp (COREDUMP_TIMESTAMP), or -1 */
	char *hostname;		/* or NULL; the caller frees it */
};
/* 1 and *s if path is such a core, else 0. */
int dump_spool_read(const char *path, struct dump_spool *s);
/* The length of name without a compression suffix (.zst .xz .lz4 .gz). */
size_t dump_spool_stem(const char *name);
/* The boot_id and hostname of such a core as record fields, setting
 * *time to its time stamp; NULL if path is not one. */
json_t *dump_spool(const char *path, int64_t *time);

/* dump/decompress.c */
enum dz_format dz_detect(const unsigned char *head, size_t len);
const char *dz_name(enum dz_format fmt);
struct dz *dz_open(int fd, enum dz_format fmt);	/* NULL + errbuf */
void dz_close(struct dz *z);
ssize_t dz_pread(struct dz *z, void *buf, size_t len, uint64_t off);
int dz_copy(struct dz *z, int fd, uint64_t *total);
int64_t dz_content_size(struct dz *z, const unsigned char *head, size_t len);

#endif /* THOTH_DUMP_H */
