/*
 * goid.c - a Go executable's build ID, read from the core.
 *
 * Go's linker writes its build ID as a note (owner "Go", type 4,
 * section .note.go.buildid) and, unless told to, no GNU build-id, so
 * libdwfl finds no build-id for a Go executable.  The note lies in the
 * executable's first page, which the kernel dumps (coredump_filter's
 * ELF headers bit, on by default): it is read from the core, whether or
 * not the executable is on this host.
 */
#include <string.h>

#include "dump/dump.h"

#define NT_GO_BUILDID 4
#define NOTE_MAX 4096

struct image {
	struct dump *d;
	uint64_t start;		/* where the ELF header is mapped */
	size_t hint;
	int is64;
};

static int
mem(struct image *im, uint64_t addr, void *buf, size_t len)
{
	return (dump_core_mem(im->d, addr, buf, len, &im->hint));
}

static uint64_t
rd(const struct image *im, const unsigned char *p, size_t n)
{
	return (dump_rd(im->d, p, n));
}

/* The note's build ID, if it is Go's. */
static json_t *
go_note(struct image *im, uint64_t addr, uint64_t size)
{
	unsigned char buf[NOTE_MAX];
	uint64_t namesz, descsz, off = 0;

	if (size > NOTE_MAX || mem(im, addr, buf, (size_t)size) != 0)
		return (NULL);
	while (off + 12 <= size) {
		namesz = rd(im, buf + off, 4);
		descsz = rd(im, buf + off + 4, 4);
		off += 12;
		if (namesz > size || descsz > size ||
		    off + ((namesz + 3) & ~3ULL) + descsz > size)
			return (NULL);
		/* Go's linker writes the name "Go\0\0", namesz 4. */
		if ((namesz == 3 || namesz == 4) &&
		    memcmp(buf + off, "Go", 3) == 0 &&
		    rd(im, buf + off - 4, 4) == NT_GO_BUILDID)
			return (dump_chars(buf + off + 4, (size_t)descsz, 0));
		off += ((namesz + 3) & ~3ULL) + ((descsz + 3) & ~3ULL);
	}
	return (NULL);
}

json_t *
dump_go_build_id(struct dump *d, uint64_t start)
{
	struct image im = { d, start, 0, d->word == 8 };
	unsigned char eh[64], ph[56];
	uint64_t phoff, bias = 0, type, off, vaddr, filesz;
	size_t entsize, n, i, w = im.is64 ? 8 : 4;
	json_t *id = NULL;
	int have_bias = 0;

	if (mem(&im, start, eh, im.is64 ? 64 : 52) != 0 ||
	    memcmp(eh, ELFMAG, SELFMAG) != 0)
		return (NULL);
	phoff = rd(&im, eh + (im.is64 ? 32 : 28), w);
	entsize = (size_t)rd(&im, eh + (im.is64 ? 54 : 42), 2);
	n = (size_t)rd(&im, eh + (im.is64 ? 56 : 44), 2);
	if (entsize < (im.is64 ? 56 : 32) || entsize > sizeof (ph) || n > 64)
		return (NULL);
	/* Twice: the bias from the PT_LOAD at offset 0, then the notes. */
	for (i = 0; i < 2 * n && id == NULL; i++) {
		if (mem(&im, start + phoff + (i % n) * entsize, ph, entsize) != 0)
			return (NULL);
		type = rd(&im, ph, 4);
		off = rd(&im, ph + (im.is64 ? 8 : 4), w);
		vaddr = rd(&im, ph + (im.is64 ? 16 : 8), w);
		filesz = rd(&im, ph + (im.is64 ? 32 : 16), w);
		if (i < n && type == PT_LOAD && off == 0 && !have_bias) {
			bias = start - vaddr;
			have_bias = 1;
		} else if (i >= n && type == PT_NOTE && have_bias)
			id = go_note(&im, bias + vaddr, filesz);
	}
	return (id);
}
