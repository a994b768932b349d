/*
 * meta.c - what a dump says about itself: for a Linux process
 * core, its notes and, through libdwfl, its modules and stack; other
 * kinds are read by their own files (readers[]).
 *
 * Notes give pid, cmd, psargs, uid, signal and exe; libdwfl gives the
 * build-ids of the mapped modules and the crashing thread's stack.
 * The kernel writes notes in the dumped process's layout (32- or
 * 64-bit, its byte order), so each field is read at its offset for
 * the file's class, byte by byte: nothing assumes this host's structs.
 *
 * libdwfl needs the core's memory, so a compressed Linux process core
 * is first decompressed whole into a temporary file in $TMPDIR,
 * unlinked as soon as it is made (nothing is left behind, even by a
 * crash): that costs the time to decompress it and its size in
 * temporary space.  Crash dumps and illumos cores need only headers
 * and notes and are read through the stream decoder.
 *
 * The stack is unwound by stack.c.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <elfutils/libdwfl.h>

#include "dump/dump.h"

struct core_facts {
	const struct dump *d;		/* byte order and word size */
	json_t *rec;
	int64_t tid;			/* first NT_PRSTATUS: crashing thread */
	const unsigned char *prstatus;	/* its descriptor */
	size_t prstatus_len;
	int cursig;			/* its pr_cursig, -1 if no PRSTATUS */
	int signo;			/* NT_SIGINFO si_signo, -1 if none */
	uint64_t at_phdr;		/* 0 if no auxv */
	const unsigned char *files;	/* NT_FILE descriptor */
	size_t files_len;
};

static uint64_t
rd(const struct core_facts *f, const unsigned char *p, size_t n)
{
	return (dump_rd(f->d, p, n));
}

/*
 * elf_prpsinfo: 4 chars, pr_flag (a long, aligned), uid, gid (2 or 4
 * bytes: i386 has 16-bit ids), pid, ppid, pgrp, sid, fname[16],
 * psargs[80].  The id size follows from the note's size.
 */
static void
note_prpsinfo(const struct core_facts *f, json_t *rec,
    const unsigned char *p, size_t n)
{
	size_t hdr = f->d->word == 8 ? 16 : 8, ids;
	char pid[16];

	if (n < hdr + 16 + 96 + 4)
		return;
	ids = (n - hdr - 16 - 96) / 2;
	if ((ids != 2 && ids != 4) || hdr + 2 * ids + 16 + 96 != n)
		return;
	snprintf(pid, sizeof (pid), "%d", (int32_t)rd(f, p + hdr + 2 * ids, 4));
	json_object_set_new(rec, "pid", json_string(pid));
	dump_set(rec, "cmd", dump_chars(p + n - 96, 16, 0));
	dump_set(rec, "psargs", dump_chars(p + n - 80, 80, 1));
	json_object_set_new(rec, "uid", json_integer(rd(f, p + hdr, ids)));
}

/* elf_prstatus: siginfo (3 ints), short pr_cursig, 2 longs, pr_pid. */
static void
note_prstatus(struct core_facts *f, const unsigned char *p, size_t n)
{
	size_t pid_off = 16 + 2 * f->d->word;

	if (f->cursig >= 0 || n < pid_off + 4)
		return;
	f->cursig = (int16_t)rd(f, p + 12, 2);
	f->tid = (int32_t)rd(f, p + pid_off, 4);
	f->prstatus = p;
	f->prstatus_len = n;
}

static void
note_auxv(struct core_facts *f, const unsigned char *p, size_t n)
{
	size_t w = f->d->word, i;

	for (i = 0; i + 2 * w <= n; i += 2 * w) {
		if (rd(f, p + i, w) == AT_PHDR)
			f->at_phdr = rd(f, p + i + w, w);
	}
}

static void
core_note(struct dump *d, const char *name, size_t namesz, uint32_t type,
    const unsigned char *desc, size_t n, void *arg)
{
	struct core_facts *f = arg;

	(void)d;
	if (!dump_note_is(name, namesz, "CORE") &&
	    !dump_note_is(name, namesz, "LINUX"))
		return;
	switch (type) {
	case NT_PRSTATUS:
		note_prstatus(f, desc, n);
		break;
	case NT_PRPSINFO:
		note_prpsinfo(f, f->rec, desc, n);
		break;
	case NT_SIGINFO:
		if (f->signo < 0 && n >= 4)
			f->signo = (int32_t)rd(f, desc, 4);
		break;
	case NT_AUXV:
		note_auxv(f, desc, n);
		break;
	case NT_FILE:
		f->files = desc;
		f->files_len = n;
		break;
	}
}

/*
 * NT_FILE: count, page size, count x {start, end, file offset}, then
 * count NUL-terminated paths.  Returns the path of the mapping that
 * holds addr, or of the first mapping if none does and first is set.
 */
/* A mapped file's path, without the " (deleted)" the kernel adds to
 * files unlinked since: signatures and build-id lookups want the file. */
static json_t *
file_path(const char *s, size_t len)
{
	static const char deleted[] = " (deleted)";
	size_t d = sizeof (deleted) - 1;

	if (len > d && memcmp(s + len - d, deleted, d) == 0)
		len -= d;
	return (len > 0 ? thoth_json_string(s, len) : NULL);
}

static json_t *
nt_file_path(const struct core_facts *f, uint64_t addr, int first)
{
	const unsigned char *p = f->files, *s;
	size_t w = f->d->word, n = f->files_len, i, left, len;
	uint64_t count, pick;

	if (p == NULL || n < 2 * w)
		return (NULL);
	count = rd(f, p, w);
	if (count == 0 || count > (n - 2 * w) / (3 * w))
		return (NULL);
	for (pick = 0; pick < count; pick++) {
		s = p + 2 * w + 3 * w * pick;
		if (rd(f, s, w) <= addr && addr < rd(f, s + w, w))
			break;
	}
	if (pick == count && !first)
		return (NULL);
	pick = pick == count ? 0 : pick;
	s = p + 2 * w + 3 * w * count;
	left = n - (size_t)(s - p);
	for (i = 0; ; i++) {
		if ((len = strnlen((const char *)s, left)) == left)
			return (NULL);
		if (i == pick)
			return (file_path((const char *)s, len));
		s += len + 1;
		left -= len + 1;
	}
}

/* A gcore of a live process has pr_cursig 0 (and gdb's own SIGSTOP in
 * NT_SIGINFO): no signal.  Kernel cores agree on both. */
static json_t *
core_signal(const struct core_facts *f)
{
	int sig = f->cursig == 0 ? 0 : f->signo > 0 ? f->signo : f->cursig;
	const char *abbrev;
	char buf[32];

	if (sig <= 0)
		return (NULL);
	if ((abbrev = sigabbrev_np(sig)) != NULL)
		snprintf(buf, sizeof (buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof (buf), "%d", sig);
	return (json_string(buf));
}

struct build_ids {
	struct dump *d;
	const struct core_facts *f;
	json_t *ids;
};

/* "file" is the path the core says the module was mapped from (the
 * same whatever this host has installed), else the module's name
 * ("linux-vdso.so.1"). */
static json_t *
module_file(const struct build_ids *b, const char *name, Dwarf_Addr start)
{
	json_t *file = nt_file_path(b->f, start, 0);

	return (file != NULL ? file : thoth_json_string(name, strlen(name)));
}

/* A Go executable has no GNU build-id: its Go build ID instead. */
static int
build_id_cb(Dwfl_Module *mod, void **user, const char *name,
    Dwarf_Addr start, void *arg)
{
	struct build_ids *b = arg;
	json_t *go;
	char *id;

	(void)user;
	if ((id = dump_module_build_id(mod)) == NULL) {
		if ((go = dump_go_build_id(b->d, start)) != NULL)
			json_array_append_new(b->ids, json_pack("{s:o, s:o}",
			    "file", module_file(b, name, start),
			    "go_build_id", go));
		return (DWARF_CB_OK);
	}
	json_array_append_new(b->ids, json_pack("{s:o, s:s}", "file",
	    module_file(b, name, start), "id", id));
	free(id);
	return (DWARF_CB_OK);
}

/* Modules, build-ids and stack; failures here only cost those fields. */
static void
core_modules(struct dump *d, json_t *rec, const struct core_facts *f,
    int no_stack)
{
	Dwfl *dwfl;
	struct build_ids b = { d, f, json_array() };
	Elf *elf;

	dwfl = dump_dwfl_begin();
	(void) elf_version(EV_CURRENT);
	elf = elf_begin(d->fd, ELF_C_READ_MMAP, NULL);
	if (elf == NULL || dwfl == NULL ||
	    dwfl_core_file_report(dwfl, elf, NULL) < 0 ||
	    dwfl_report_end(dwfl, NULL, NULL) != 0) {
		warnx("%s: cannot read modules: %s", d->path, elf == NULL ?
		    elf_errmsg(-1) : dwfl_errmsg(-1));
		goto out;
	}
	if (!no_stack)
		dump_core_stack(d, elf, dwfl, rec, f->tid, f->prstatus,
		    f->prstatus_len);
	(void) dwfl_getmodules(dwfl, build_id_cb, &b, 0);
	if (json_array_size(b.ids) > 0)
		json_object_set(rec, "build_ids", b.ids);
out:
	json_decref(b.ids);
	dwfl_end(dwfl);
	if (elf != NULL)
		elf_end(elf);
}

static int
linux_core_meta(struct dump *d, json_t *rec, int no_stack)
{
	struct core_facts f = { .d = d, .rec = rec, .tid = -1, .cursig = -1,
	    .signo = -1 };

	if (dump_elf_notes(d, core_note, &f) != 0)
		return (-1);
	dump_set(rec, "signal", core_signal(&f));
	dump_set(rec, "exe", nt_file_path(&f, f.at_phdr, 1));
	core_modules(d, rec, &f, no_stack);
	return (0);
}

static int
elf_meta(struct dump *d, json_t *rec, const struct thoth_meta_opts *opts)
{
	if (d->vmcore)
		return (dump_vmcore_meta(d, rec));
	if (d->os == DUMP_OS_ILLUMOS)
		return (dump_illumos_core_meta(d, rec));
	return (linux_core_meta(d, rec, opts != NULL && opts->no_stack));
}

static int
kdump_meta(struct dump *d, json_t *rec, const struct thoth_meta_opts *opts)
{
	(void)opts;
	return (dump_kdump_meta(d, rec));
}

static int
illumos_meta(struct dump *d, json_t *rec, const struct thoth_meta_opts *opts)
{
	(void)opts;
	return (dump_illumos_meta(d, rec));
}

static int (*const readers[DUMP_NKINDS])(struct dump *, json_t *,
    const struct thoth_meta_opts *) = {
	[DUMP_ELFCORE] = elf_meta,
	[DUMP_KDUMP] = kdump_meta,
	[DUMP_FLATKDUMP] = kdump_meta,
	[DUMP_ILLUMOS] = illumos_meta,
};

/*
 * A compressed Linux process core, decompressed whole into an unlinked
 * temporary file that d is then opened on (and checked whole, with its
 * true size).  0, or -1 with d closed.
 */
static int
unpack(struct dump *d)
{
	const char *dir = getenv("TMPDIR"), *path = d->path;
	char *tmpl;
	uint64_t total;
	int fd;

	tmpl = thoth_xasprintf("%s/thoth-meta.XXXXXX", dir != NULL &&
	    *dir != '\0' ? dir : "/tmp");
	if ((fd = mkostemp(tmpl, O_CLOEXEC)) < 0) {
		thoth_fail("temporary file %s: %s", tmpl, strerror(errno));
		free(tmpl);
		dump_close(d);
		return (-1);
	}
	(void) unlink(tmpl);
	free(tmpl);
	if (dz_copy(d->z, fd, &total) != 0) {
		close(fd);
		dump_close(d);
		return (-1);
	}
	dump_close(d);
	return (dump_open_fd(d, fd, path));
}

/* The facts of the file itself: its compression, the dump's size. */
static void
file_facts(json_t *rec, enum dz_format comp, int64_t stored, int64_t size)
{
	if (comp == DZ_NONE)
		return;
	if (size >= 0)
		json_object_set_new(rec, "size", json_integer(size));
	json_object_set_new(rec, "compression", json_string(dz_name(comp)));
	json_object_set_new(rec, "stored_size", json_integer(stored));
}

static void
set_default(json_t *rec, const char *key, const char *opt, const char *a,
    const char *b)
{
	char *s;

	if (json_object_get(rec, key) != NULL || (opt == NULL && *a == '\0'))
		return;
	s = opt != NULL ? thoth_xstrdup(opt) : b != NULL ?
	    thoth_xasprintf("%s %s", a, b) : thoth_xstrdup(a);
	json_object_set_new(rec, key, thoth_json_string(s, strlen(s)));
	free(s);
}

static int
meta_of(json_t *rec, const char *path, const struct thoth_meta_opts *opts)
{
	struct utsname u;
	struct dump d;
	enum dz_format comp;
	int64_t stored, size;
	int rv;

	if (dump_open(&d, path) != 0)
		return (-1);
	comp = d.comp;
	stored = d.file_size;
	size = d.content_size;
	if (comp != DZ_NONE && d.kind->id == DUMP_ELFCORE && !d.vmcore &&
	    d.os == DUMP_OS_LINUX) {
		if (unpack(&d) != 0)
			return (-1);
		size = d.size;
	}
	rv = readers[d.kind->id](&d, rec, opts);
	dump_set_truncated(&d, rec);
	dump_close(&d);
	if (rv != 0)
		return (-1);
	file_facts(rec, comp, stored, size);
	if (uname(&u) != 0)
		memset(&u, 0, sizeof (u));
	set_default(rec, "platform", opts ? opts->platform : NULL, u.sysname,
	    u.release);
	set_default(rec, "node", opts ? opts->node : NULL, u.nodename, NULL);
	if (json_object_get(rec, "version") == NULL)
		json_object_set_new(rec, "version",
		    json_string(THOTH_RECORD_VERSION));
	return (0);
}

int
thoth_dump_meta(json_t *rec, const struct thoth_meta_opts *opts)
{
	char *path = thoth_record_file(rec);
	int rv;

	if (path == NULL)
		return (thoth_fail("no file field"));
	rv = meta_of(rec, path, opts);
	free(path);
	return (rv);
}
