/*
 * elf.c - ELF cores: process cores (Linux, illumos) and Linux
 * kernel vmcores (kdump's /proc/vmcore, makedumpfile -E).
 *
 * The ELF header and program headers are read by hand, in the file's
 * class and byte order, through dump_read: the same code serves plain
 * and compressed files (libelf wants the whole file or an image that
 * holds the section headers too).  The notes then say whose core it
 * is: a VMCOREINFO note makes a kernel crash dump; illumos notes
 * (NT_PSTATUS, NT_PSINFO, NT_UTSNAME, NT_ZONENAME) or EI_OSABI
 * ELFOSABI_SOLARIS an illumos process.
 */
#include <string.h>

#include "dump/dump.h"

/* Bigger notes are a corrupt header, not a process (1000s of threads
 * take a few MB). */
#define NOTE_MAX ((uint64_t)1 << 30)
/* A program header table bigger than this, in a dump whose size is not
 * known (compressed), is corrupt: 1M segments. */
#define PHDRS_MAX ((uint64_t)56 << 20)

/* illumos note types that Linux never writes under "CORE". */
#define NT_PSTATUS_ILLUMOS 10
#define NT_PSINFO_ILLUMOS 13
#define NT_UTSNAME_ILLUMOS 15
#define NT_ZONENAME_ILLUMOS 21

static int
need(const struct dump *d, uint64_t end)
{
	if (d->size >= 0 && end > (uint64_t)d->size)
		return (dump_truncated(d->size, end));
	return (0);
}

/* e_ident: class, byte order, and enough bytes for the ELF header. */
static int
elf_check_ident(struct dump *d)
{
	int cls = d->head_len > EI_CLASS ? d->head[EI_CLASS] : ELFCLASS64;
	uint64_t n = cls == ELFCLASS32 ? sizeof (Elf32_Ehdr) :
	    sizeof (Elf64_Ehdr);

	if (d->head_len < n)
		return (dump_truncated((int64_t)d->head_len, n));
	if (cls != ELFCLASS32 && cls != ELFCLASS64)
		return (thoth_fail("bad ELF class %d", cls));
	if (d->head[EI_DATA] != ELFDATA2LSB && d->head[EI_DATA] != ELFDATA2MSB)
		return (thoth_fail("bad ELF byte order %d", d->head[EI_DATA]));
	d->msb = d->head[EI_DATA] == ELFDATA2MSB;
	d->word = cls == ELFCLASS64 ? 8 : 4;
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

/* The ELF header, from the first bytes: Elf32_Ehdr or Elf64_Ehdr. */
static void
elf_parse_ehdr(struct dump *d)
{
	const unsigned char *h = d->head;
	GElf_Ehdr *e = &d->ehdr;
	size_t w = d->word, x = w == 8 ? 24 : 12;	/* after 3 words */

	memcpy(e->e_ident, h, EI_NIDENT);
	e->e_type = (GElf_Half)dump_rd(d, h + 16, 2);
	e->e_machine = (GElf_Half)dump_rd(d, h + 18, 2);
	e->e_version = (GElf_Word)dump_rd(d, h + 20, 4);
	e->e_entry = dump_rd(d, h + 24, w);
	e->e_phoff = dump_rd(d, h + 24 + w, w);
	e->e_shoff = dump_rd(d, h + 24 + 2 * w, w);
	e->e_flags = (GElf_Word)dump_rd(d, h + 24 + x, 4);
	e->e_ehsize = (GElf_Half)dump_rd(d, h + 28 + x, 2);
	e->e_phentsize = (GElf_Half)dump_rd(d, h + 30 + x, 2);
	e->e_phnum = (GElf_Half)dump_rd(d, h + 32 + x, 2);
	e->e_shentsize = (GElf_Half)dump_rd(d, h + 34 + x, 2);
	e->e_shnum = (GElf_Half)dump_rd(d, h + 36 + x, 2);
	e->e_shstrndx = (GElf_Half)dump_rd(d, h + 38 + x, 2);
}

/* The ELF header: a core, with sizes we can trust. */
static int
elf_check_ehdr(struct dump *d)
{
	size_t fsize = d->word == 8 ? sizeof (Elf64_Ehdr) : sizeof (Elf32_Ehdr);
	const char *what;

	elf_parse_ehdr(d);
	if (d->ehdr.e_type != ET_CORE) {
		if ((what = elf_type_name(d->ehdr.e_type)) != NULL)
			return (thoth_fail("ELF %s, not a core", what));
		return (thoth_fail("ELF file of type %#x, not a core",
		    d->ehdr.e_type));
	}
	if (d->ehdr.e_ehsize < fsize)
		return (thoth_fail("bad ELF header size %u", d->ehdr.e_ehsize));
	return (need(d, d->ehdr.e_ehsize));
}

/*
 * The number of program headers, from the header itself.  PN_XNUM
 * means "too many for e_phnum: see sh_info of section 0".
 */
static int
elf_phnum(struct dump *d)
{
	size_t shsize = d->word == 8 ? sizeof (Elf64_Shdr) : sizeof (Elf32_Shdr);
	const unsigned char *sh;

	d->phnum = d->ehdr.e_phnum;
	if (d->ehdr.e_phnum != PN_XNUM)
		return (0);
	if (d->ehdr.e_shoff == 0 || d->ehdr.e_shoff > INT64_MAX ||
	    (sh = dump_bytes(d, d->ehdr.e_shoff, shsize)) == NULL)
		return (thoth_fail("bad extended program header count: "
		    "no section 0 at %#jx", (uintmax_t)d->ehdr.e_shoff));
	d->phnum = (size_t)dump_rd(d, sh + (d->word == 8 ? 44 : 28), 4);
	return (0);
}

static void
elf_parse_phdr(struct dump *d, const unsigned char *p, struct dump_phdr *ph)
{
	ph->type = (uint32_t)dump_rd(d, p, 4);
	if (d->word == 8) {
		ph->offset = dump_rd(d, p + 8, 8);
		ph->vaddr = dump_rd(d, p + 16, 8);
		ph->filesz = dump_rd(d, p + 32, 8);
		ph->memsz = dump_rd(d, p + 40, 8);
		ph->align = dump_rd(d, p + 48, 8);
	} else {
		ph->offset = dump_rd(d, p + 4, 4);
		ph->vaddr = dump_rd(d, p + 8, 4);
		ph->filesz = dump_rd(d, p + 16, 4);
		ph->memsz = dump_rd(d, p + 20, 4);
		ph->align = dump_rd(d, p + 28, 4);
	}
}

/* The program header table: present and inside the file. */
static int
elf_check_phdrs(struct dump *d)
{
	size_t entsize = d->word == 8 ? sizeof (Elf64_Phdr) :
	    sizeof (Elf32_Phdr), i;
	const unsigned char *p;
	uint64_t size, end;

	if (elf_phnum(d) != 0)
		return (-1);
	if (d->phnum == 0)
		return (thoth_fail("no program headers"));
	if (d->ehdr.e_phentsize != entsize)
		return (thoth_fail("bad program header size %u",
		    d->ehdr.e_phentsize));
	size = (uint64_t)d->phnum * entsize;
	if (__builtin_add_overflow(d->ehdr.e_phoff, size, &end) ||
	    end > INT64_MAX)
		return (thoth_fail("absurd program header offset %#jx",
		    (uintmax_t)d->ehdr.e_phoff));
	if (need(d, end) != 0)
		return (-1);
	if (d->size < 0 && size > PHDRS_MAX)
		return (thoth_fail("absurd program header count %zu",
		    d->phnum));
	if ((p = dump_bytes(d, d->ehdr.e_phoff, (size_t)size)) == NULL)
		return (-1);
	d->ph = thoth_xmalloc(d->phnum * sizeof (*d->ph));
	for (i = 0; i < d->phnum; i++)
		elf_parse_phdr(d, p + i * entsize, &d->ph[i]);
	return (0);
}

/*
 * Every segment's bytes must be in the file.  A file cut short says
 * "truncated"; a PT_NOTE beyond the end of everything else is a bad
 * offset rather than a short file (gdb writes notes last, the kernel
 * first, so "after the others" alone would not tell).
 */
static int
elf_check_segments(struct dump *d, uint64_t *end_all, uint64_t *other)
{
	const struct dump_phdr *ph;
	uint64_t end, note_bytes = 0;
	size_t i, notes = 0;

	for (i = 0; i < d->phnum; i++) {
		ph = &d->ph[i];
		/* Each note and all of them together: 60,000 headers naming
		 * the same megabyte would otherwise make us read 60 GB. */
		if (ph->type == PT_NOTE && (ph->filesz > NOTE_MAX ||
		    (note_bytes += ph->filesz) > NOTE_MAX))
			return (thoth_fail("absurd PT_NOTE size %ju bytes",
			    (uintmax_t)(ph->filesz > NOTE_MAX ? ph->filesz :
			    note_bytes)));
		notes += ph->type == PT_NOTE;
		if (ph->filesz == 0)
			continue;
		if (__builtin_add_overflow(ph->offset, ph->filesz, &end) ||
		    end > INT64_MAX)
			return (thoth_fail("absurd segment %zu: offset %#jx, "
			    "%ju bytes", i, (uintmax_t)ph->offset,
			    (uintmax_t)ph->filesz));
		if (end > *end_all)
			*end_all = end;
		if (ph->type != PT_NOTE && end > *other)
			*other = end;
	}
	if (notes == 0)
		return (thoth_fail("no PT_NOTE segment"));
	return (0);
}

/* Whether the headers and every note are in the first size bytes: a
 * core the kernel cut short at ulimit -c (it writes notes first). */
static int
elf_notes_whole(const struct dump *d, uint64_t phend)
{
	size_t i;

	if (phend > (uint64_t)d->size)
		return (0);
	for (i = 0; i < d->phnum; i++) {
		if (d->ph[i].type == PT_NOTE &&
		    d->ph[i].offset + d->ph[i].filesz > (uint64_t)d->size)
			return (0);
	}
	return (1);
}

/* The segments' ends against the size of the dump, when it is known
 * (a compressed dump's is not, without decompressing it whole).  A
 * process core with its notes whole but its memory cut short is kept,
 * with what it should have had in d->expected: its notes and the
 * memory that is there still tell what crashed and where. */
static int
elf_check_bounds(struct dump *d)
{
	uint64_t phend = d->ehdr.e_phoff + d->phnum * d->ehdr.e_phentsize;
	uint64_t end = phend, other = phend;
	const struct dump_phdr *ph;
	size_t i;

	if (elf_check_segments(d, &end, &other) != 0)
		return (-1);
	if (d->size < 0 || end <= (uint64_t)d->size)
		return (0);
	for (i = 0; i < d->phnum; i++) {
		ph = &d->ph[i];
		if (ph->type == PT_NOTE && ph->filesz > 0 &&
		    ph->offset >= (uint64_t)d->size && ph->offset > other)
			return (thoth_fail("PT_NOTE at offset %#jx is past the "
			    "end of the file (%jd bytes)",
			    (uintmax_t)ph->offset, (intmax_t)d->size));
	}
	if (d->ehdr.e_type == ET_CORE && elf_notes_whole(d, phend)) {
		d->expected = (int64_t)end;
		return (0);
	}
	return (dump_truncated(d->size, end));
}

int
dump_note_is(const char *name, size_t namesz, const char *owner)
{
	size_t n = strlen(owner);

	return ((namesz == n + 1 && memcmp(name, owner, n + 1) == 0) ||
	    (namesz == n && memcmp(name, owner, n) == 0));
}

static int
note_segment(struct dump *d, const struct dump_phdr *ph, dump_note_fn fn,
    void *arg)
{
	uint64_t align = ph->align == 8 ? 8 : 4, off = 0, namesz, descsz;
	uint64_t desc, next, n = ph->filesz;
	const unsigned char *p;

	if ((p = dump_bytes(d, ph->offset, (size_t)n)) == NULL)
		return (-1);
	while (n - off >= 12) {
		namesz = dump_rd(d, p + off, 4);
		descsz = dump_rd(d, p + off + 4, 4);
		desc = (off + 12 + namesz + align - 1) & ~(align - 1);
		next = (desc + descsz + align - 1) & ~(align - 1);
		if (desc > n || descsz > n - desc)
			break;		/* a torn note ends the segment */
		fn(d, (const char *)p + off + 12, (size_t)namesz,
		    (uint32_t)dump_rd(d, p + off + 8, 4), p + desc,
		    (size_t)descsz, arg);
		if (next <= off)
			break;
		off = next > n ? n : next;
	}
	return (0);
}

int
dump_elf_notes(struct dump *d, dump_note_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < d->phnum; i++) {
		if (d->ph[i].type == PT_NOTE && d->ph[i].filesz > 0 &&
		    note_segment(d, &d->ph[i], fn, arg) != 0)
			return (-1);
	}
	return (0);
}

static void
scan_note(struct dump *d, const char *name, size_t namesz, uint32_t type,
    const unsigned char *desc, size_t descsz, void *arg)
{
	int64_t t;

	(void)arg;
	if (dump_note_is(name, namesz, "VMCOREINFO")) {
		d->vmcore = 1;
		if ((t = dump_vmcoreinfo_time(desc, descsz)) > 0)
			d->time = t;
	} else if (dump_note_is(name, namesz, "CORE") &&
	    (type == NT_PSTATUS_ILLUMOS || type == NT_PSINFO_ILLUMOS ||
	    type == NT_UTSNAME_ILLUMOS || type == NT_ZONENAME_ILLUMOS)) {
		d->os = DUMP_OS_ILLUMOS;
	}
}

int
dump_elf_check(struct dump *d)
{
	if (elf_check_ident(d) != 0 || elf_check_ehdr(d) != 0 ||
	    elf_check_phdrs(d) != 0 || elf_check_bounds(d) != 0)
		return (-1);
	if (d->head[EI_OSABI] == ELFOSABI_SOLARIS)
		d->os = DUMP_OS_ILLUMOS;
	if (dump_elf_notes(d, scan_note, NULL) != 0)
		return (-1);
	if (d->vmcore)
		d->type = "crash";
	return (0);
}
