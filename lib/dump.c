/*
 * dump.c - opening a dump: what kind it is, and whether it is whole.
 *
 * The kind is picked by magic from the first bytes; each kind checks
 * its own headers before anything trusts them, so that hashing and
 * metadata never read past the end of a truncated or doctored file.
 * Only ELF cores exist so far; kdump, illumos and compressed dumps
 * are further rows of kinds[].
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump_impl.h"

/* Bigger notes are a corrupt header, not a process (1000s of threads
 * take a few MB). */
#define NOTE_MAX ((uint64_t)1 << 30)

static int elfcore_check(struct dump *);

static const struct dump_kind kinds[] = {
	{ DUMP_ELFCORE, "core", ELFMAG, SELFMAG, elfcore_check },
};

static int
truncated(int64_t have, uint64_t need)
{
	return (thoth_fail("truncated: %jd of %ju bytes", (intmax_t)have,
	    (uintmax_t)need));
}

/* e_ident: class, byte order, and enough bytes for the ELF header. */
static int
elf_check_ident(const struct dump *d)
{
	int cls = d->head_len > EI_CLASS ? d->head[EI_CLASS] : ELFCLASS64;
	uint64_t need = cls == ELFCLASS32 ? sizeof (Elf32_Ehdr) :
	    sizeof (Elf64_Ehdr);

	if ((uint64_t)d->size < need)
		return (truncated(d->size, need));
	if (cls != ELFCLASS32 && cls != ELFCLASS64)
		return (thoth_fail("bad ELF class %d", cls));
	if (d->head[EI_DATA] != ELFDATA2LSB && d->head[EI_DATA] != ELFDATA2MSB)
		return (thoth_fail("bad ELF byte order %d", d->head[EI_DATA]));
	return (0);
}

static const char *
elf_type_name(unsigned type)
{
	switch (type) {
	case ET_NONE: return ("file of no type");
	case ET_REL: return ("relocatable object");
	case ET_EXEC: return ("executable");
	case ET_DYN: return ("shared object or PIE executable");
	default: return (NULL);
	}
}

/* The ELF header: a core, with sizes we can trust. */
static int
elf_check_ehdr(struct dump *d)
{
	const char *what;

	if ((d->elf = elf_begin(d->fd, ELF_C_READ_MMAP, NULL)) == NULL)
		return (thoth_fail("libelf: %s", elf_errmsg(-1)));
	if (elf_kind(d->elf) != ELF_K_ELF || gelf_getehdr(d->elf, &d->ehdr) == NULL)
		return (thoth_fail("not an ELF file"));
	if (d->ehdr.e_type != ET_CORE) {
		if ((what = elf_type_name(d->ehdr.e_type)) != NULL)
			return (thoth_fail("ELF %s, not a core", what));
		return (thoth_fail("ELF file of type %#x, not a core",
		    d->ehdr.e_type));
	}
	if (d->ehdr.e_ehsize < gelf_fsize(d->elf, ELF_T_EHDR, 1, EV_CURRENT))
		return (thoth_fail("bad ELF header size %u", d->ehdr.e_ehsize));
	if (d->ehdr.e_ehsize > (uint64_t)d->size)
		return (truncated(d->size, d->ehdr.e_ehsize));
	return (0);
}

/*
 * The number of program headers, from the header itself: libelf's
 * elf_getphdrnum quietly counts only those that fit in the file,
 * which would hide a truncated table.  PN_XNUM means "too many for
 * e_phnum: see sh_info of section 0".
 */
static int
elf_phnum(struct dump *d)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	d->phnum = d->ehdr.e_phnum;
	if (d->ehdr.e_phnum != PN_XNUM)
		return (0);
	if ((scn = elf_getscn(d->elf, 0)) == NULL ||
	    gelf_getshdr(scn, &sh) == NULL)
		return (thoth_fail("bad extended program header count: %s",
		    elf_errmsg(-1)));
	d->phnum = sh.sh_info;
	return (0);
}

/* The program header table: present and inside the file. */
static int
elf_check_phdrs(struct dump *d)
{
	uint64_t size, end;

	if (elf_phnum(d) != 0)
		return (-1);
	if (d->phnum == 0)
		return (thoth_fail("no program headers"));
	if (d->ehdr.e_phentsize != gelf_fsize(d->elf, ELF_T_PHDR, 1, EV_CURRENT))
		return (thoth_fail("bad program header size %u",
		    d->ehdr.e_phentsize));
	size = (uint64_t)d->phnum * d->ehdr.e_phentsize;
	if (__builtin_add_overflow(d->ehdr.e_phoff, size, &end))
		return (thoth_fail("absurd program header offset %#jx",
		    (uintmax_t)d->ehdr.e_phoff));
	if (end > (uint64_t)d->size)
		return (truncated(d->size, end));
	return (0);
}

/*
 * Every segment's bytes must be in the file.  A file cut short says
 * "truncated"; a PT_NOTE beyond the end of everything else is a bad
 * offset rather than a short file (gdb writes notes last, the kernel
 * first, so "after the others" alone would not tell).
 */
static int
elf_check_segments(struct dump *d, uint64_t *need, uint64_t *other)
{
	GElf_Phdr ph;
	uint64_t end;
	size_t i, notes = 0;

	for (i = 0; i < d->phnum; i++) {
		if (gelf_getphdr(d->elf, (int)i, &ph) == NULL)
			return (thoth_fail("bad program header %zu: %s", i,
			    elf_errmsg(-1)));
		if (ph.p_type == PT_NOTE && ph.p_filesz > NOTE_MAX)
			return (thoth_fail("absurd PT_NOTE size %ju bytes",
			    (uintmax_t)ph.p_filesz));
		notes += ph.p_type == PT_NOTE;
		if (ph.p_filesz == 0)
			continue;
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end))
			return (thoth_fail("absurd segment %zu: offset %#jx, "
			    "%ju bytes", i, (uintmax_t)ph.p_offset,
			    (uintmax_t)ph.p_filesz));
		if (end > *need)
			*need = end;
		if (ph.p_type != PT_NOTE && end > *other)
			*other = end;
	}
	if (notes == 0)
		return (thoth_fail("no PT_NOTE segment"));
	return (0);
}

static int
elf_check_bounds(struct dump *d)
{
	uint64_t phend = d->ehdr.e_phoff + d->phnum * d->ehdr.e_phentsize;
	uint64_t need = phend, other = phend;
	GElf_Phdr ph;
	size_t i;

	if (elf_check_segments(d, &need, &other) != 0)
		return (-1);
	if (need <= (uint64_t)d->size)
		return (0);
	for (i = 0; i < d->phnum; i++) {
		if (gelf_getphdr(d->elf, (int)i, &ph) != NULL &&
		    ph.p_type == PT_NOTE && ph.p_filesz > 0 &&
		    ph.p_offset >= (uint64_t)d->size && ph.p_offset > other)
			return (thoth_fail("PT_NOTE at offset %#jx is past the "
			    "end of the file (%jd bytes)",
			    (uintmax_t)ph.p_offset, (intmax_t)d->size));
	}
	return (truncated(d->size, need));
}

static int
elfcore_check(struct dump *d)
{
	if (elf_check_ident(d) != 0 || elf_check_ehdr(d) != 0 ||
	    elf_check_phdrs(d) != 0 || elf_check_bounds(d) != 0)
		return (-1);
	return (0);
}

const unsigned char *
dump_elf_bytes(struct dump *d, uint64_t off, size_t len)
{
	Elf_Data *data;

	if (off > (uint64_t)d->size || len > (uint64_t)d->size - off) {
		truncated(d->size, off + len);
		return (NULL);
	}
	data = elf_getdata_rawchunk(d->elf, (int64_t)off, len, ELF_T_BYTE);
	if (data == NULL) {
		thoth_fail("reading %zu bytes at %#jx: %s", len,
		    (uintmax_t)off, elf_errmsg(-1));
		return (NULL);
	}
	return (data->d_buf);
}

/* The kind whose magic starts the file; a file shorter than the magic
 * but agreeing with it is that kind, cut short (its check says so). */
static const struct dump_kind *
dump_kind(const struct dump *d)
{
	size_t i, n;

	for (i = 0; i < sizeof (kinds) / sizeof (kinds[0]); i++) {
		n = d->head_len < kinds[i].magic_len ? d->head_len :
		    kinds[i].magic_len;
		if (n > 0 && memcmp(d->head, kinds[i].magic, n) == 0)
			return (&kinds[i]);
	}
	return (NULL);
}

static int
dump_stat(struct dump *d)
{
	struct stat st;
	ssize_t n;

	if (fstat(d->fd, &st) != 0)
		return (thoth_fail("%s", strerror(errno)));
	if (S_ISDIR(st.st_mode))
		return (thoth_fail("is a directory"));
	if (!S_ISREG(st.st_mode))
		return (thoth_fail("not a regular file"));
	if (st.st_size == 0)
		return (thoth_fail("empty file"));
	d->size = st.st_size;
	d->mtime = st.st_mtime;
	while ((n = pread(d->fd, d->head, sizeof (d->head), 0)) < 0 &&
	    errno == EINTR)
		continue;
	if (n < 0)
		return (thoth_fail("%s", strerror(errno)));
	d->head_len = (size_t)n;
	return (0);
}

int
dump_open(struct dump *d, const char *path)
{
	static int elf_ready;

	memset(d, 0, sizeof (*d));
	d->path = path;
	if (!elf_ready) {
		(void) elf_version(EV_CURRENT);
		elf_ready = 1;
	}
	/* O_NONBLOCK: a FIFO must not hang us before fstat rejects it. */
	if ((d->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return (thoth_fail("%s", strerror(errno)));
	if (dump_stat(d) != 0)
		goto fail;
	if ((d->kind = dump_kind(d)) == NULL) {
		thoth_fail("not an ELF file");
		goto fail;
	}
	if (d->kind->check(d) != 0)
		goto fail;
	return (0);
fail:
	dump_close(d);
	return (-1);
}

void
dump_close(struct dump *d)
{
	if (d->elf != NULL)
		elf_end(d->elf);
	if (d->fd >= 0)
		close(d->fd);
	d->elf = NULL;
	d->fd = -1;
}
