/*
 * decompress.c - a compressed dump read as the bytes of the dump.
 *
 * gzip (zlib), zstd, xz (liblzma) and lz4 frames are recognised by
 * their magic and decoded as a stream, from the start of the file, as
 * far as a reader asks and no further: the headers and notes of a
 * dump are usually in its first megabytes, so an id costs that much
 * decompression, not the whole file.  A read behind the stream's
 * position starts the decoder again from the beginning of the file
 * (readers ask in increasing order, so this is rare).  Concatenated
 * members or frames decode as one stream, as gzip -d and zstd -d do.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <lzma.h>
#include <lz4frame.h>

#include "dump/dump.h"

#define DZ_IN (128 * 1024)

struct dz {
	int fd;
	enum dz_format fmt;
	uint64_t in_off;		/* file offset of the next input read */
	int in_eof;			/* no more input in the file */
	unsigned char *in;		/* DZ_IN bytes of input */
	size_t in_len, in_pos;
	uint64_t out_pos;		/* bytes produced since the start */
	int done;			/* the stream ended cleanly */
	int boundary;			/* a member or frame just ended */
	int started;			/* a decoder is set up */
	union {
		z_stream z;
		ZSTD_DStream *zs;
		lzma_stream x;
		LZ4F_dctx *l;
	} u;
};

static const struct {
	enum dz_format fmt;
	const char *name;
	const char *magic;
	size_t len;
} formats[] = {
	{ DZ_GZIP, "gzip", "\x1f\x8b", 2 },
	{ DZ_ZSTD, "zstd", "\x28\xb5\x2f\xfd", 4 },
	{ DZ_XZ, "xz", "\xfd" "7zXZ\0", 6 },
	{ DZ_LZ4, "lz4", "\x04\x22\x4d\x18", 4 },
};

enum dz_format
dz_detect(const unsigned char *head, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof (formats) / sizeof (formats[0]); i++) {
		if (len >= formats[i].len &&
		    memcmp(head, formats[i].magic, formats[i].len) == 0)
			return (formats[i].fmt);
	}
	return (DZ_NONE);
}

const char *
dz_name(enum dz_format fmt)
{
	size_t i;

	for (i = 0; i < sizeof (formats) / sizeof (formats[0]); i++) {
		if (formats[i].fmt == fmt)
			return (formats[i].name);
	}
	return ("none");
}

static void
dz_end(struct dz *z)
{
	if (!z->started)
		return;
	switch (z->fmt) {
	case DZ_GZIP: inflateEnd(&z->u.z); break;
	case DZ_ZSTD: ZSTD_freeDStream(z->u.zs); break;
	case DZ_XZ: lzma_end(&z->u.x); break;
	case DZ_LZ4: LZ4F_freeDecompressionContext(z->u.l); break;
	default: break;
	}
	z->started = 0;
}

/* A fresh decoder at the start of the file. */
static int
dz_begin(struct dz *z)
{
	lzma_stream x = LZMA_STREAM_INIT;
	int ok = 0;

	dz_end(z);
	memset(&z->u, 0, sizeof (z->u));
	z->in_off = z->in_len = z->in_pos = z->out_pos = 0;
	z->in_eof = z->done = z->boundary = 0;
	switch (z->fmt) {
	case DZ_GZIP:
		ok = inflateInit2(&z->u.z, 15 + 16) == Z_OK;
		break;
	case DZ_ZSTD:
		ok = (z->u.zs = ZSTD_createDStream()) != NULL &&
		    !ZSTD_isError(ZSTD_initDStream(z->u.zs));
		break;
	case DZ_XZ:
		z->u.x = x;
		ok = lzma_stream_decoder(&z->u.x, UINT64_MAX,
		    LZMA_CONCATENATED) == LZMA_OK;
		break;
	case DZ_LZ4:
		ok = !LZ4F_isError(LZ4F_createDecompressionContext(&z->u.l,
		    LZ4F_VERSION));
		break;
	default:
		break;
	}
	z->started = 1;
	if (!ok)
		return (thoth_fail("%s: cannot set up the decoder",
		    dz_name(z->fmt)));
	return (0);
}

struct dz *
dz_open(int fd, enum dz_format fmt)
{
	struct dz *z = thoth_xmalloc(sizeof (*z));

	memset(z, 0, sizeof (*z));
	z->fd = fd;
	z->fmt = fmt;
	z->in = thoth_xmalloc(DZ_IN);
	if (dz_begin(z) != 0) {
		dz_close(z);
		return (NULL);
	}
	return (z);
}

void
dz_close(struct dz *z)
{
	if (z == NULL)
		return;
	dz_end(z);
	free(z->in);
	free(z);
}

/* More input, if the buffer is used up; 0, or -1 on a read error. */
static int
dz_fill(struct dz *z)
{
	ssize_t n;

	if (z->in_pos < z->in_len || z->in_eof)
		return (0);
	while ((n = pread(z->fd, z->in, DZ_IN, (off_t)z->in_off)) < 0 &&
	    errno == EINTR)
		continue;
	if (n < 0)
		return (thoth_fail("%s", strerror(errno)));
	z->in_len = (size_t)n;
	z->in_pos = 0;
	z->in_off += (uint64_t)n;
	z->in_eof = n == 0;
	return (0);
}

/*
 * At the end of a member or frame: the end of the stream if the file
 * ends here, else the next member (gzip needs its decoder reset; zstd
 * and lz4 start a new frame by themselves).  1 at the end, else 0.
 */
static int
dz_boundary(struct dz *z)
{
	z->boundary = 0;
	if (z->in_pos == z->in_len && z->in_eof)
		return (z->done = 1);
	if (z->fmt == DZ_GZIP) {
		if (z->in[z->in_pos] != 0x1f)	/* trailing garbage: */
			return (z->done = 1);	/* gzip -d ignores it too */
		inflateReset(&z->u.z);
	}
	return (0);
}

static ssize_t
step_gzip(struct dz *z, unsigned char *out, size_t len)
{
	int rv;

	z->u.z.next_in = z->in + z->in_pos;
	z->u.z.avail_in = (uInt)(z->in_len - z->in_pos);
	z->u.z.next_out = out;
	z->u.z.avail_out = (uInt)len;
	rv = inflate(&z->u.z, Z_NO_FLUSH);
	z->in_pos = z->in_len - z->u.z.avail_in;
	if (rv != Z_OK && rv != Z_STREAM_END && rv != Z_BUF_ERROR)
		return (thoth_fail("gzip: %s", z->u.z.msg != NULL ?
		    z->u.z.msg : "invalid compressed data"));
	z->boundary = rv == Z_STREAM_END;
	return ((ssize_t)(len - z->u.z.avail_out));
}

static ssize_t
step_zstd(struct dz *z, unsigned char *out, size_t len)
{
	ZSTD_inBuffer in = { z->in, z->in_len, z->in_pos };
	ZSTD_outBuffer o = { out, len, 0 };
	size_t rv = ZSTD_decompressStream(z->u.zs, &o, &in);

	z->in_pos = in.pos;
	if (ZSTD_isError(rv))
		return (thoth_fail("zstd: %s", ZSTD_getErrorName(rv)));
	z->boundary = rv == 0;
	return ((ssize_t)o.pos);
}

static ssize_t
step_xz(struct dz *z, unsigned char *out, size_t len)
{
	lzma_ret rv;

	z->u.x.next_in = z->in + z->in_pos;
	z->u.x.avail_in = z->in_len - z->in_pos;
	z->u.x.next_out = out;
	z->u.x.avail_out = len;
	rv = lzma_code(&z->u.x, z->in_eof ? LZMA_FINISH : LZMA_RUN);
	z->in_pos = z->in_len - z->u.x.avail_in;
	if (rv == LZMA_STREAM_END)
		z->done = 1;
	else if (rv != LZMA_OK && rv != LZMA_BUF_ERROR)
		return (thoth_fail("xz: %s", rv == LZMA_FORMAT_ERROR ?
		    "not in xz format" : rv == LZMA_DATA_ERROR ?
		    "compressed data is corrupt" : rv == LZMA_MEM_ERROR ?
		    "out of memory" : "cannot decode"));
	return ((ssize_t)(len - z->u.x.avail_out));
}

static ssize_t
step_lz4(struct dz *z, unsigned char *out, size_t len)
{
	size_t olen = len, ilen = z->in_len - z->in_pos;
	size_t rv = LZ4F_decompress(z->u.l, out, &olen, z->in + z->in_pos,
	    &ilen, NULL);

	z->in_pos += ilen;
	if (LZ4F_isError(rv))
		return (thoth_fail("lz4: %s", LZ4F_getErrorName(rv)));
	z->boundary = rv == 0;
	return ((ssize_t)olen);
}

/*
 * Up to len bytes of output: > 0, 0 at the clean end of the stream,
 * -1 on an error (a file that ends inside the stream is one).
 */
static ssize_t
dz_step(struct dz *z, unsigned char *out, size_t len)
{
	ssize_t n = 0;
	int stalled = 0;

	while (n == 0 && !z->done) {
		if (dz_fill(z) != 0)
			return (-1);
		if (z->boundary && dz_boundary(z))
			break;
		if (z->in_eof && z->in_pos == z->in_len && stalled)
			return (thoth_fail("%s: unexpected end of compressed "
			    "data", dz_name(z->fmt)));
		switch (z->fmt) {
		case DZ_GZIP: n = step_gzip(z, out, len); break;
		case DZ_ZSTD: n = step_zstd(z, out, len); break;
		case DZ_XZ: n = step_xz(z, out, len); break;
		default: n = step_lz4(z, out, len); break;
		}
		if (n < 0)
			return (-1);
		stalled = z->in_eof && z->in_pos == z->in_len;
	}
	z->out_pos += (uint64_t)n;
	return (n);
}

ssize_t
dz_pread(struct dz *z, void *buf, size_t len, uint64_t off)
{
	unsigned char skip[16384];
	size_t got = 0;
	ssize_t n;

	if (off < z->out_pos && dz_begin(z) != 0)
		return (-1);
	while (z->out_pos < off) {
		n = dz_step(z, skip, off - z->out_pos < sizeof (skip) ?
		    (size_t)(off - z->out_pos) : sizeof (skip));
		if (n <= 0)
			return (n);
	}
	while (got < len) {
		if ((n = dz_step(z, (unsigned char *)buf + got, len - got)) < 0)
			return (-1);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return ((ssize_t)got);
}

/* The whole stream into fd; *total is the uncompressed size. */
int
dz_copy(struct dz *z, int fd, uint64_t *total)
{
	unsigned char *buf;
	ssize_t n, w;
	size_t off;
	int rv = 0;

	if (z->out_pos != 0 && dz_begin(z) != 0)
		return (-1);
	buf = thoth_xmalloc(DZ_IN);
	while (rv == 0 && (n = dz_step(z, buf, DZ_IN)) > 0) {
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			if ((w = write(fd, buf + off, (size_t)n - off)) < 0 &&
			    errno != EINTR) {
				rv = thoth_fail("temporary file: %s",
				    strerror(errno));
				break;
			}
			w = w < 0 ? 0 : w;
		}
	}
	if (n < 0)
		rv = -1;
	*total = z->out_pos;
	free(buf);
	return (rv);
}

/*
 * The uncompressed size, where the first frame's header states it
 * (zstd(1) and lz4 --content-size write it when they compress a
 * file; streams from a pipe, gzip and xz have none up front).
 */
int64_t
dz_content_size(struct dz *z, const unsigned char *head, size_t len)
{
	unsigned long long zs;
	LZ4F_frameInfo_t fi;
	LZ4F_dctx *l;
	size_t n = len;

	if (z->fmt == DZ_ZSTD) {
		zs = ZSTD_getFrameContentSize(head, len);
		if (zs != ZSTD_CONTENTSIZE_UNKNOWN &&
		    zs != ZSTD_CONTENTSIZE_ERROR && zs <= INT64_MAX)
			return ((int64_t)zs);
	} else if (z->fmt == DZ_LZ4 && !LZ4F_isError(
	    LZ4F_createDecompressionContext(&l, LZ4F_VERSION))) {
		memset(&fi, 0, sizeof (fi));
		if (!LZ4F_isError(LZ4F_getFrameInfo(l, &fi, head, &n)) &&
		    fi.contentSize > 0 && fi.contentSize <= INT64_MAX) {
			LZ4F_freeDecompressionContext(l);
			return ((int64_t)fi.contentSize);
		}
		LZ4F_freeDecompressionContext(l);
	}
	return (-1);
}

/* A compressed file (fd in, at its start) decompressed into fd out:
 * snapshots of the shared log (index/log.c) are zstd. */
int
thoth_decompress_fd(int in, int out)
{
	unsigned char head[DUMP_HEAD];
	enum dz_format fmt;
	struct dz *z;
	uint64_t total;
	ssize_t n = pread(in, head, sizeof (head), 0);
	int rv;

	if (n < 0)
		return (thoth_fail("read: %s", strerror(errno)));
	if ((fmt = dz_detect(head, (size_t)n)) == DZ_NONE)
		return (thoth_fail("not gzip, zstd, xz or lz4"));
	if ((z = dz_open(in, fmt)) == NULL)
		return (-1);
	rv = dz_copy(z, out, &total);
	dz_close(z);
	return (rv);
}
