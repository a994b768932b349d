/*
 * dump.c - opening a dump: its compression, its kind, whether it is
 * whole; and reading its bytes whatever the compression.
 *
 * A file compressed with gzip, zstd, xz or lz4 is read through a
 * stream decoder (dump/decompress.c) that goes only as far as the headers
 * asked for; everything after that sees the dump's own bytes.  The
 * kind is picked by magic from the first of those bytes; each kind
 * checks its own headers before anything trusts them, so that hashing
 * and metadata never read past the end of a truncated or doctored
 * file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump/dump.h"

static const struct dump_kind kinds[] = {
	{ DUMP_ELFCORE, "core", ELFMAG, SELFMAG, dump_elf_check },
	{ DUMP_KDUMP, "crash", "KDUMP   ", 8, dump_kdump_check },
	{ DUMP_KDUMP, "crash", "DISKDUMP", 8, dump_kdump_check },
	{ DUMP_FLATKDUMP, "crash", "makedumpfile", 12, dump_flat_check },
	{ DUMP_ILLUMOS, "crash", "\xed\xc8\xfe\xde", 4, dump_illumos_check },
	{ DUMP_ILLUMOS, "crash", "\xde\xfe\xc8\xed", 4, dump_illumos_check },
};

/* Bytes already read for a reader, freed by dump_close. */
struct dump_chunk {
	struct dump_chunk *next;
	uint64_t off;
	size_t len;
	unsigned char buf[];
};

int
dump_truncated(int64_t have, uint64_t need)
{
	return (thoth_fail("truncated: %jd of %ju bytes", (intmax_t)have,
	    (uintmax_t)need));
}

/* An unsigned number of n bytes in the dump's byte order. */
uint64_t
dump_rd(const struct dump *d, const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = d->msb ? v << 8 | p[i] : v | (uint64_t)p[i] << (8 * i);
	return (v);
}

/* A fixed-size char array from the dump, NUL-terminated or not. */
json_t *
dump_chars(const unsigned char *p, size_t max, int trim)
{
	size_t n = strnlen((const char *)p, max);

	while (trim && n > 0 && p[n - 1] == ' ')
		n--;
	return (n > 0 ? thoth_json_string((const char *)p, n) : NULL);
}

void
dump_set(json_t *rec, const char *key, json_t *v)
{
	if (v != NULL)
		json_object_set_new(rec, key, v);
}

void
dump_set_truncated(const struct dump *d, json_t *rec)
{
	if (d->expected == 0) {
		json_object_del(rec, "truncated");
		json_object_del(rec, "expected_size");
		return;
	}
	json_object_set_new(rec, "truncated", json_true());
	json_object_set_new(rec, "expected_size", json_integer(d->expected));
}

static int
read_plain(struct dump *d, uint64_t off, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(d->fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (thoth_fail("%s", strerror(errno)));
		if (n == 0)
			return (dump_truncated((int64_t)(off + got), off + len));
		got += (size_t)n;
	}
	return (0);
}

int
dump_read(struct dump *d, uint64_t off, void *buf, size_t len)
{
	ssize_t n;

	if (off > INT64_MAX || len > INT64_MAX - off)
		return (dump_truncated(d->size, UINT64_MAX));
	if (d->z == NULL)
		return (read_plain(d, off, buf, len));
	if ((n = dz_pread(d->z, buf, len, off)) < 0)
		return (-1);
	if ((size_t)n < len)
		return (dump_truncated((int64_t)(off + (uint64_t)n),
		    off + len));
	return (0);
}

const unsigned char *
dump_bytes(struct dump *d, uint64_t off, size_t len)
{
	struct dump_chunk *c;

	for (c = d->chunks; c != NULL; c = c->next) {
		if (c->off <= off && off - c->off <= c->len &&
		    len <= c->len - (off - c->off))
			return (c->buf + (off - c->off));
	}
	if (d->size >= 0 && (off > (uint64_t)d->size ||
	    len > (uint64_t)d->size - off)) {
		dump_truncated(d->size, off + len);
		return (NULL);
	}
	c = thoth_xmalloc(sizeof (*c) + len);
	c->off = off;
	c->len = len;
	if (dump_read(d, off, c->buf, len) != 0) {
		free(c);
		return (NULL);
	}
	c->next = d->chunks;
	d->chunks = c;
	return (c->buf);
}

/* The kind whose magic starts the dump; a dump shorter than the magic
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
	d->size = d->file_size = st.st_size;
	d->mtime = st.st_mtime;
	while ((n = pread(d->fd, d->head, sizeof (d->head), 0)) < 0 &&
	    errno == EINTR)
		continue;
	if (n < 0)
		return (thoth_fail("%s", strerror(errno)));
	d->head_len = (size_t)n;
	return (0);
}

/* A compressed file: the dump is what its decoder makes of it. */
static int
dump_unwrap(struct dump *d)
{
	ssize_t n;

	if ((d->comp = dz_detect(d->head, d->head_len)) == DZ_NONE)
		return (0);
	/* gzip keeps the modification time of the file it compressed. */
	if (d->comp == DZ_GZIP && d->head_len >= 8 && dump_rd(d, d->head + 4,
	    4) > 0)
		d->mtime = (int64_t)dump_rd(d, d->head + 4, 4);
	if ((d->z = dz_open(d->fd, d->comp)) == NULL)
		return (-1);
	/* Bounds are then checked by reading: a size from a frame header
	 * (of the first frame only) is reported, never trusted. */
	d->size = -1;
	d->content_size = dz_content_size(d->z, d->head, d->head_len);
	if ((n = dz_pread(d->z, d->head, sizeof (d->head), 0)) < 0)
		return (-1);
	d->head_len = (size_t)n;
	if (n == 0)
		return (thoth_fail("%s: empty dump", dz_name(d->comp)));
	return (0);
}

int
dump_open_fd(struct dump *d, int fd, const char *path)
{
	memset(d, 0, sizeof (*d));
	d->path = path;
	d->fd = fd;
	d->word = 8;
	if (dump_stat(d) != 0 || dump_unwrap(d) != 0)
		goto fail;
	if ((d->kind = dump_kind(d)) == NULL) {
		thoth_fail("not an ELF file or a kernel crash dump");
		goto fail;
	}
	d->type = d->kind->type;
	d->time = d->mtime;
	if (d->kind->check(d) != 0)
		goto fail;
	return (0);
fail:
	dump_close(d);
	return (-1);
}

int
dump_open(struct dump *d, const char *path)
{
	int fd;

	/* O_NONBLOCK: a FIFO must not hang us before fstat rejects it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		memset(d, 0, sizeof (*d));
		d->fd = -1;
		return (thoth_fail("%s", strerror(errno)));
	}
	return (dump_open_fd(d, fd, path));
}

void
dump_close(struct dump *d)
{
	struct dump_chunk *c, *next;

	for (c = d->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	dz_close(d->z);
	free(d->ph);
	free(d->hdr_buf);
	if (d->fd >= 0)
		close(d->fd);
	d->chunks = NULL;
	d->z = NULL;
	d->ph = NULL;
	d->hdr_buf = NULL;
	d->fd = -1;
}
