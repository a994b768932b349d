/*
 * kdump.c - Linux kernel crash dumps: makedumpfile's compressed
 * kdump format ("KDUMP   ", and the older "DISKDUMP"), its flattened
 * form (makedumpfile -F: a stream of offset/size blocks), and the
 * metadata of ELF vmcores (their VMCOREINFO text: vmcoreinfo.c).
 *
 * The id of a kdump is the digest of its header area: the
 * disk_dump_header block and the kdump_sub_header blocks after it
 * (which hold the VMCOREINFO text and the CPUs' ELF notes), never the
 * bitmaps or pages.  A flattened dump's header area is put together
 * from its first blocks, so that it has the id of the same dump
 * rearranged by makedumpfile -R.  Layouts are makedumpfile's
 * diskdump_mod.h, in the byte order and word size of the crashed
 * system (told apart by header_version and block_size).
 */
#include <stdlib.h>
#include <string.h>

#include "dump/dump.h"

#define KDUMP_HDR_MAX ((uint64_t)64 << 20)	/* header + sub-header area */
#define FLAT_HEADER 4096			/* makedumpfile_header block */
#define FLAT_BLOCKS_MAX 65536			/* blocks walked for a header */
#define DUMP_DH_COMPRESSED_INCOMPLETE 0x8

/* disk_dump_header offsets: timeval is 2 longs, aligned to a long. */
static const struct kdump_layout {
	size_t word, ts, status, block_size, sub_hdr_size;
} layouts[] = {
	{ 8, 408, 424, 428, 432 },
	{ 4, 404, 412, 416, 420 },
};
#define KDUMP_HDR_MIN 464	/* sizeof (struct disk_dump_header), LP64 */

static const struct kdump_layout *
kdump_layout(struct dump *d, const unsigned char *h)
{
	uint32_t le = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;
	uint32_t be = h[11] | h[10] << 8 | h[9] << 16 | (uint32_t)h[8] << 24;
	uint64_t bs = 0;
	size_t i;

	if (le > 64 && be > 64) {
		thoth_fail("bad kdump header version %u", le);
		return (NULL);
	}
	d->msb = le > 64;
	for (i = 0; i < sizeof (layouts) / sizeof (layouts[0]); i++) {
		bs = dump_rd(d, h + layouts[i].block_size, 4);
		if (bs >= 512 && bs <= (1 << 20) && (bs & (bs - 1)) == 0) {
			d->word = layouts[i].word;
			return (&layouts[i]);
		}
	}
	thoth_fail("bad kdump block size %ju",
	    (uintmax_t)dump_rd(d, h + layouts[0].block_size, 4));
	return (NULL);
}

/* Bytes of the header area: 1 + sub_hdr_size blocks. */
static int
kdump_hdr_len(struct dump *d, const unsigned char *h,
    const struct kdump_layout *l, uint64_t *len)
{
	uint64_t bs = dump_rd(d, h + l->block_size, 4);
	int32_t sub = (int32_t)dump_rd(d, h + l->sub_hdr_size, 4);

	if (sub < 0 || bs * (1 + (uint64_t)sub) > KDUMP_HDR_MAX)
		return (thoth_fail("absurd kdump sub-header size %jd blocks",
		    (intmax_t)sub));
	*len = bs * (1 + (uint64_t)sub);
	return (0);
}

/* The VMCOREINFO text in the sub-header area (LP64 kdumps, header
 * version 3 and later), or NULL. */
static const unsigned char *
kdump_vmcoreinfo(const struct dump *d, size_t *n)
{
	const struct kdump_layout *l = &layouts[0];
	uint64_t bs, off, size;
	const unsigned char *sub;

	if (d->word != 8 || dump_rd(d, d->hdr + 8, 4) < 3)
		return (NULL);
	bs = dump_rd(d, d->hdr + l->block_size, 4);
	if (d->hdr_len < bs + 48)
		return (NULL);
	sub = d->hdr + bs;
	off = dump_rd(d, sub + 32, 8);
	size = dump_rd(d, sub + 40, 8);
	if (off > d->hdr_len || size > d->hdr_len - off)
		return (NULL);
	*n = (size_t)size;
	return (d->hdr + off);
}

/* The header area is in d->hdr: check it and take the time. */
static int
kdump_take(struct dump *d)
{
	const struct kdump_layout *l = d->word == 8 ? &layouts[0] : &layouts[1];
	const unsigned char *vi;
	int64_t t;
	size_t n;

	t = (int64_t)dump_rd(d, d->hdr + l->ts, l->word);
	if (t <= 0 && (vi = kdump_vmcoreinfo(d, &n)) != NULL)
		t = dump_vmcoreinfo_time(vi, n);
	if (t > 0)
		d->time = t;
	return (0);
}

int
dump_kdump_check(struct dump *d)
{
	const struct kdump_layout *l;
	const unsigned char *h;
	uint64_t len;

	if ((h = dump_bytes(d, 0, KDUMP_HDR_MIN)) == NULL ||
	    (l = kdump_layout(d, h)) == NULL ||
	    kdump_hdr_len(d, h, l, &len) != 0 ||
	    (d->hdr = dump_bytes(d, 0, (size_t)len)) == NULL)
		return (-1);
	d->hdr_len = (size_t)len;
	return (kdump_take(d));
}

static int64_t
be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return ((int64_t)v);
}

/*
 * [0, want) of the rearranged dump, from the blocks of a flattened
 * one: every block that falls in it, up to the first block beyond it
 * (the bitmaps and pages come after the header area).  Bytes no block
 * wrote stay zero, as makedumpfile -R leaves them.
 */
static int
flat_collect(struct dump *d, unsigned char *img, uint64_t want)
{
	unsigned char bh[16];
	uint64_t pos = FLAT_HEADER, n;
	int64_t off, size;
	int i, seen = 0;

	memset(img, 0, (size_t)want);
	for (i = 0; i < FLAT_BLOCKS_MAX; i++) {
		if (dump_read(d, pos, bh, sizeof (bh)) != 0)
			return (-1);
		off = be64(bh);
		size = be64(bh + 8);
		if (off == -1 && size == -1)
			break;
		if (off < 0 || size <= 0 || size > (1 << 30))
			return (thoth_fail("flattened kdump: bad data header "
			    "at offset %ju", (uintmax_t)pos));
		if ((uint64_t)off >= want)
			break;
		n = (uint64_t)size < want - (uint64_t)off ? (uint64_t)size :
		    want - (uint64_t)off;
		if (dump_read(d, pos + 16, img + off, (size_t)n) != 0)
			return (-1);
		seen |= off == 0;
		pos += 16 + (uint64_t)size;
	}
	if (i == FLAT_BLOCKS_MAX)
		return (thoth_fail("flattened kdump: no end of the header "
		    "in %d blocks", FLAT_BLOCKS_MAX));
	if (!seen)
		return (thoth_fail("flattened kdump: no block at offset 0"));
	return (0);
}

static unsigned char *
flat_image(struct dump *d, uint64_t want)
{
	unsigned char *img = thoth_xmalloc((size_t)want);

	if (flat_collect(d, img, want) != 0) {
		free(img);
		return (NULL);
	}
	return (img);
}

int
dump_flat_check(struct dump *d)
{
	const struct kdump_layout *l;
	const unsigned char *mh;
	unsigned char *h;
	uint64_t len;
	int64_t type;

	if ((mh = dump_bytes(d, 0, 32)) == NULL)
		return (-1);
	if ((type = be64(mh + 16)) != 1)
		return (thoth_fail("flattened kdump: bad type %jd",
		    (intmax_t)type));
	if ((h = flat_image(d, KDUMP_HDR_MIN)) == NULL)
		return (-1);
	if (memcmp(h, "KDUMP   ", 8) != 0 && memcmp(h, "DISKDUMP", 8) != 0) {
		free(h);
		return (thoth_fail("flattened kdump: no KDUMP header inside "
		    "(a flattened ELF dump? makedumpfile -R it first)"));
	}
	if ((l = kdump_layout(d, h)) == NULL ||
	    kdump_hdr_len(d, h, l, &len) != 0) {
		free(h);
		return (-1);
	}
	free(h);
	if ((d->hdr_buf = flat_image(d, len)) == NULL)
		return (-1);
	d->hdr = d->hdr_buf;
	d->hdr_len = (size_t)len;
	return (kdump_take(d));
}

/* platform "Linux RELEASE", as uname -sr prints it on that host. */
static void
set_platform(json_t *rec, const char *sysname, json_t *release)
{
	char *s;

	if (release == NULL)
		return;
	s = thoth_xasprintf("%s %s", sysname, json_string_value(release));
	json_object_set_new(rec, "platform", thoth_json_string(s, strlen(s)));
	free(s);
	json_decref(release);
}

/* The kernel's build-id, as a build_ids entry for "vmlinux". */
static void
set_kernel_build_id(json_t *rec, const unsigned char *vi, size_t n)
{
	json_t *id = dump_vmcoreinfo(vi, n, "BUILD-ID");

	if (id != NULL)
		json_object_set_new(rec, "build_ids", json_pack("[{s:s, s:o}]",
		    "file", "vmlinux", "id", id));
}

static void
vmcoreinfo_meta(json_t *rec, const unsigned char *vi, size_t n,
    int set_release)
{
	if (set_release)
		set_platform(rec, "Linux", dump_vmcoreinfo(vi, n, "OSRELEASE"));
	set_kernel_build_id(rec, vi, n);
}

int
dump_kdump_meta(struct dump *d, json_t *rec)
{
	const struct kdump_layout *l = d->word == 8 ? &layouts[0] : &layouts[1];
	const unsigned char *u = d->hdr + 12, *vi;
	json_t *sys = dump_chars(u, 65, 0);
	size_t n;

	set_platform(rec, sys != NULL ? json_string_value(sys) : "Linux",
	    dump_chars(u + 2 * 65, 65, 0));
	json_decref(sys);
	dump_set(rec, "node", dump_chars(u + 65, 65, 0));
	json_object_set_new(rec, "time", json_integer(d->time));
	json_object_set_new(rec, "dump_format", json_string(
	    d->kind->id == DUMP_FLATKDUMP ? "kdump-flat" : "kdump"));
	json_object_set_new(rec, "dump_complete", json_boolean(
	    !(dump_rd(d, d->hdr + l->status, 4) &
	    DUMP_DH_COMPRESSED_INCOMPLETE)));
	if ((vi = kdump_vmcoreinfo(d, &n)) != NULL)
		vmcoreinfo_meta(rec, vi, n, 0);
	return (0);
}

struct vmcore {
	json_t *rec;
	json_t *uts_sym, *uts_off;	/* where init_uts_ns is */
};

static void
vmcore_note(struct dump *d, const char *name, size_t namesz, uint32_t type,
    const unsigned char *desc, size_t descsz, void *arg)
{
	struct vmcore *v = arg;

	(void)d;
	(void)type;
	if (!dump_note_is(name, namesz, "VMCOREINFO") || v->uts_sym != NULL)
		return;
	vmcoreinfo_meta(v->rec, desc, descsz, 1);
	v->uts_sym = dump_vmcoreinfo(desc, descsz, "SYMBOL(init_uts_ns)");
	v->uts_off = dump_vmcoreinfo(desc, descsz, "OFFSET(uts_namespace.name)");
}

/*
 * The host name, from init_uts_ns in the kernel's memory: one read in
 * the PT_LOAD that maps it, when VMCOREINFO says where it is.
 */
static void
vmcore_node(struct dump *d, json_t *rec, const struct vmcore *v)
{
	unsigned char uts[2 * 65];
	uint64_t addr, off;
	const struct dump_phdr *ph;
	size_t i;

	if (v->uts_sym == NULL || v->uts_off == NULL)
		return;
	addr = strtoull(json_string_value(v->uts_sym), NULL, 16) +
	    strtoull(json_string_value(v->uts_off), NULL, 10);
	for (i = 0; i < d->phnum; i++) {
		ph = &d->ph[i];
		if (ph->type != PT_LOAD || addr < ph->vaddr ||
		    addr - ph->vaddr >= ph->filesz ||
		    ph->filesz - (addr - ph->vaddr) < sizeof (uts))
			continue;
		off = ph->offset + (addr - ph->vaddr);
		if (dump_read(d, off, uts, sizeof (uts)) == 0 &&
		    memcmp(uts, "Linux", 6) == 0)
			dump_set(rec, "node", dump_chars(uts + 65, 65, 0));
		return;
	}
}

int
dump_vmcore_meta(struct dump *d, json_t *rec)
{
	struct vmcore v = { rec, NULL, NULL };
	int rv;

	rv = dump_elf_notes(d, vmcore_note, &v);
	if (rv == 0)
		vmcore_node(d, rec, &v);
	json_decref(v.uts_sym);
	json_decref(v.uts_off);
	json_object_set_new(rec, "time", json_integer(d->time));
	json_object_set_new(rec, "dump_format", json_string("elf"));
	return (rv);
}
