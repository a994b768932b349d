/*
 * compress.c - compressing a dump for the store (thoth-put -z/-Z).
 *
 * gzip is zlib's deflate at level 6 with a gzip header that keeps the
 * dump's modification time (thoth-hash reads it back as "time");
 * zstd is level 3 with the content size in the frame header (so that
 * thoth-hash knows "size" without decompressing) and a checksum, on
 * as many threads as there are CPUs when libzstd was built with them.
 * The result goes to a new temporary file in $TMPDIR, mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "thoth.h"

#define CHUNK (256 * 1024)

struct squeeze {
	int in, out;
	unsigned char *ibuf, *obuf;
	struct stat st;
};

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return (thoth_fail("temporary file: %s",
			    strerror(errno)));
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

static ssize_t
read_some(int fd, unsigned char *p, size_t n)
{
	ssize_t r;

	while ((r = read(fd, p, n)) < 0 && errno == EINTR)
		continue;
	if (r < 0)
		thoth_fail("%s", strerror(errno));
	return (r);
}

static int
squeeze_gzip(struct squeeze *s)
{
	z_stream z;
	gz_header h;
	ssize_t n;
	int flush, rv = 0;

	memset(&z, 0, sizeof (z));
	memset(&h, 0, sizeof (h));
	h.time = (uLong)s->st.st_mtime;
	h.os = 3;			/* Unix */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK || deflateSetHeader(&z, &h) != Z_OK)
		return (thoth_fail("gzip: cannot set up zlib"));
	do {
		if ((n = read_some(s->in, s->ibuf, CHUNK)) < 0) {
			rv = -1;
			break;
		}
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = s->ibuf;
		z.avail_in = (uInt)n;
		do {
			z.next_out = s->obuf;
			z.avail_out = CHUNK;
			(void) deflate(&z, flush);
			rv = write_all(s->out, s->obuf, CHUNK - z.avail_out);
		} while (rv == 0 && z.avail_out == 0);
	} while (rv == 0 && flush != Z_FINISH);
	deflateEnd(&z);
	return (rv);
}

static int
squeeze_zstd(struct squeeze *s)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;
	ssize_t n;
	size_t left;
	int rv = 0, end;

	if (c == NULL)
		return (thoth_fail("zstd: cannot set up libzstd"));
	(void) ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
	(void) ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	(void) ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers,
	    (int)sysconf(_SC_NPROCESSORS_ONLN));
	(void) ZSTD_CCtx_setPledgedSrcSize(c, (unsigned long long)s->st.st_size);
	do {
		if ((n = read_some(s->in, s->ibuf, CHUNK)) < 0) {
			rv = -1;
			break;
		}
		end = n == 0;
		in = (ZSTD_inBuffer){ s->ibuf, (size_t)n, 0 };
		do {
			out = (ZSTD_outBuffer){ s->obuf, CHUNK, 0 };
			left = ZSTD_compressStream2(c, &out, &in,
			    end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left))
				rv = thoth_fail("zstd: %s",
				    ZSTD_getErrorName(left));
			else
				rv = write_all(s->out, s->obuf, out.pos);
		} while (rv == 0 && (end ? left != 0 : in.pos < in.size));
	} while (rv == 0 && !end);
	ZSTD_freeCCtx(c);
	return (rv);
}

int
thoth_compress_file(const char *path, const char *format, char **tmp)
{
	const char *dir = getenv("TMPDIR");
	struct squeeze s = { -1, -1, NULL, NULL, { 0 } };
	int rv = -1;

	*tmp = thoth_xasprintf("%s/thoth-put.XXXXXX", dir != NULL &&
	    *dir != '\0' ? dir : "/tmp");
	if ((s.in = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(s.in, &s.st) != 0) {
		thoth_fail("%s", strerror(errno));
		goto out;
	}
	if ((s.out = mkostemp(*tmp, O_CLOEXEC)) < 0) {
		thoth_fail("temporary file %s: %s", *tmp, strerror(errno));
		goto out;
	}
	s.ibuf = thoth_xmalloc(CHUNK);
	s.obuf = thoth_xmalloc(CHUNK);
	rv = strcmp(format, "zstd") == 0 ? squeeze_zstd(&s) : squeeze_gzip(&s);
	if (rv == 0 && close(s.out) != 0)
		rv = thoth_fail("temporary file: %s", strerror(errno));
	s.out = rv == 0 ? -1 : s.out;
out:
	if (s.out >= 0)
		close(s.out);
	if (rv != 0 && s.out != -1)
		(void) unlink(*tmp);
	if (s.in >= 0)
		close(s.in);
	free(s.ibuf);
	free(s.obuf);
	if (rv != 0) {
		free(*tmp);
		*tmp = NULL;
	}
	return (rv);
}
