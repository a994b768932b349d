/*
 * download.c - fetching objects: one into a local file, resumably,
 * and many small ones at once (index rebuild).
 *
 * A download goes to "<file>.part", renamed into place once complete
 * and checked.  The partial file remembers which object it belongs to
 * (ETag and part size in the extended attribute user.thoth.s3), so a
 * later or retried download asks only for the rest (Range, with
 * If-Match: a changed object starts over).  The result is checked
 * against the object's size and, when the ETag is an MD5 we can
 * recompute (whole, or multipart with thoth's recorded part size, not
 * SSE-KMS), against its ETag.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store/s3/s3.h"

struct dl {
	int fd;
	const char *tmp;
	char etag[128];		/* of the object the partial file holds */
	uint64_t part;		/* its multipart part size, 0 if unknown */
	uint64_t have;		/* bytes in the file as the attempt began */
	int started;		/* this attempt has written */
	struct s3_etag sum;	/* of the file's first "sum.done" bytes */
	int kms;
};

static void
remember(struct dl *d)
{
	char *v = thoth_xasprintf("%s %llu", d->etag, (unsigned long long)d->part);

	(void) fsetxattr(d->fd, S3_XATTR, v, strlen(v), 0);
	free(v);
}

static void
recall(struct dl *d)
{
	char v[160], *sp;
	ssize_t n = fgetxattr(d->fd, S3_XATTR, v, sizeof (v) - 1);

	d->etag[0] = '\0';
	if (n <= 0)
		return;
	v[n] = '\0';
	if ((sp = strchr(v, ' ')) == NULL || (size_t)(sp - v) >= sizeof (d->etag))
		return;
	snprintf(d->etag, sizeof (d->etag), "%.*s", (int)(sp - v), v);
	d->part = strtoull(sp + 1, NULL, 10);
}

/* Brings the running checksum up to the file's first n bytes. */
static int
sum_upto(struct dl *d, uint64_t n)
{
	char *buf;
	ssize_t got;

	if (d->sum.done == n && d->sum.part != NULL)
		return (0);
	s3_etag_free(&d->sum);
	s3_etag_init(&d->sum, d->part);
	buf = thoth_xmalloc(1 << 20);
	while (d->sum.done < n) {
		size_t want = n - d->sum.done < (1 << 20) ? n - d->sum.done : 1 << 20;
		if ((got = pread(d->fd, buf, want, (off_t)d->sum.done)) <= 0)
			break;
		s3_etag_update(&d->sum, buf, (size_t)got);
	}
	free(buf);
	return (d->sum.done == n ? 0 : thoth_fail("%s: read: %s", d->tmp,
	    strerror(errno)));
}

static int
dl_prepare(struct s3_req *r)
{
	struct dl *d = r->arg;
	struct stat sb;

	if (fstat(d->fd, &sb) != 0)
		return (thoth_fail("%s: %s", d->tmp, strerror(errno)));
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	d->started = 0;
	d->have = (uint64_t)sb.st_size;
	if (d->have > 0 && d->etag[0] != '\0') {
		s3_req_header(r, "Range: bytes=%llu-", (unsigned long long)d->have);
		s3_req_header(r, "If-Match: %s", d->etag);
	} else if (d->have > 0 || d->etag[0] != '\0') {
		if (ftruncate(d->fd, 0) != 0)
			return (thoth_fail("%s: %s", d->tmp, strerror(errno)));
		d->have = 0;
		d->etag[0] = '\0';
	}
	return (0);
}

/* First bytes of an attempt: 200 starts the file over, 206 appends. */
static int
dl_start(struct s3_req *r, struct dl *d)
{
	unsigned long long from;

	d->started = 1;
	if (r->meta_part[0] != '\0')
		d->part = strtoull(r->meta_part, NULL, 10);
	d->kms = r->kms;
	if (r->status == 206) {
		if (sscanf(r->range, "bytes %llu-", &from) != 1 || from != d->have)
			return (thoth_fail("%s: unexpected Content-Range '%s'",
			    r->what, r->range));
		return (sum_upto(d, d->have));
	}
	if (d->have > 0 && ftruncate(d->fd, 0) != 0)
		return (thoth_fail("%s: %s", d->tmp, strerror(errno)));
	d->have = 0;
	snprintf(d->etag, sizeof (d->etag), "%s", r->etag);
	if (d->etag[0] != '\0')
		remember(d);
	return (sum_upto(d, 0));
}

static size_t
dl_sink(struct s3_req *r, const char *p, size_t len)
{
	struct dl *d = r->arg;
	size_t off = 0;
	ssize_t n;

	if (!d->started && dl_start(r, d) != 0) {
		snprintf(r->msg, sizeof (r->msg), "%s", thoth_errbuf);
		return (0);
	}
	while (off < len) {
		n = pwrite(d->fd, p + off, len - off, (off_t)d->sum.done + (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(r->msg, sizeof (r->msg), "%s: write: %s", d->tmp,
			    strerror(errno));
			return (0);
		}
		off += (size_t)n;
	}
	s3_etag_update(&d->sum, p, len);
	return (len);
}

/* Size from Content-Range, then the ETag where we can recompute it. */
static int
verify(struct s3_req *r, struct dl *d, uint64_t size)
{
	const char *e = d->etag + (d->etag[0] == '"');
	size_t n = strlen(e) - (d->etag[0] == '"');
	const char *slash = strrchr(r->range, '/');
	char got[64];

	if (slash != NULL && strtoull(slash + 1, NULL, 10) != size)
		return (thoth_fail("%s: got %llu bytes of %s", r->what,
		    (unsigned long long)size, slash + 1));
	if (d->kms || n < 32 || strspn(e, "0123456789abcdef") < 32 ||
	    (n > 32 && (e[32] != '-' || d->part == 0)))
		return (0);	/* not an MD5 we can recompute */
	if (n == 32 && d->part != 0) {
		d->part = 0;	/* uploaded whole after all */
		s3_etag_free(&d->sum);
	}
	if (sum_upto(d, size) != 0)
		return (-1);
	s3_etag_final(&d->sum, got, sizeof (got));
	if (strlen(got) != n || strncmp(got, e, n) != 0) {
		(void) ftruncate(d->fd, 0);
		return (thoth_fail("%s: download damaged: checksum %s, ETag %.*s",
		    r->what, got, (int)n, e));
	}
	return (0);
}

/* 0 done, 1 absent, 2 start over, -1 failed (partial file kept). */
static int
attempt(struct s3 *s3, const char *key, struct dl *d)
{
	struct s3_req *r = s3_req_new(s3, "GET", key, NULL);
	struct stat sb;
	int rv;

	r->prepare = dl_prepare;
	r->sink = dl_sink;
	r->arg = d;
	if (s3_perform(r) == 0) {
		if (!d->started && dl_start(r, d) != 0)	/* empty object */
			rv = -1;
		else
			rv = fstat(d->fd, &sb) != 0 ? thoth_fail("%s: %s", d->tmp,
			    strerror(errno)) : verify(r, d, (uint64_t)sb.st_size);
	} else if (r->status == 416 && strncmp(r->range, "bytes */", 8) == 0 &&
	    strtoull(r->range + 8, NULL, 10) == d->have) {
		snprintf(r->range, sizeof (r->range), "bytes 0-/%llu",
		    (unsigned long long)d->have);
		rv = verify(r, d, d->have);	/* it was all there */
	} else if (r->status == 412 || r->status == 416) {
		d->etag[0] = '\0';		/* changed: start over */
		rv = 2;
	} else {
		rv = s3_req_absent(r) ? 1 : s3_fail(r);
	}
	s3_req_free(r);
	return (rv);
}

int
s3_get_file(struct thoth_store *st, const char *key, const char *path)
{
	struct dl d;
	char *tmp = thoth_xasprintf("%s.part", path);
	int rv = 2, tries;

	memset(&d, 0, sizeof (d));
	d.tmp = tmp;
	if ((d.fd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		rv = thoth_fail("%s: %s", tmp, strerror(errno));
		free(tmp);
		return (rv);
	}
	if (flock(d.fd, LOCK_EX | LOCK_NB) != 0) {
		rv = thoth_fail("%s: %s", tmp, errno == EWOULDBLOCK ?
		    "another download of it is running" : strerror(errno));
		goto out;
	}
	recall(&d);
	for (tries = 0; rv == 2 && tries < 3; tries++)
		rv = attempt(st->priv, key, &d);
	if (rv == 2)
		rv = thoth_fail("%s: the object keeps changing", key);
	if (rv == 0) {
		(void) fremovexattr(d.fd, S3_XATTR);
		if (rename(tmp, path) != 0)
			rv = thoth_fail("%s: %s", path, strerror(errno));
	}
	if (rv == 1 || (rv != 0 && lseek(d.fd, 0, SEEK_END) == 0))
		(void) unlink(tmp);
out:
	s3_etag_free(&d.sum);
	close(d.fd);
	free(tmp);
	return (rv);
}

/* ---- many small objects, THOTH_S3 fetch at a time */

struct many {
	struct s3 *s3;
	char *const *keys;
	size_t n, next;
	thoth_get_fn fn;
	void *arg;
};

static struct s3_req *
many_next(struct s3_batch *b)
{
	struct many *m = b->arg;
	struct s3_req *r;

	if (m->next >= m->n)
		return (NULL);
	r = s3_req_new(m->s3, "GET", m->keys[m->next], NULL);
	r->idx = m->next++;
	return (r);
}

static int
many_done(struct s3_batch *b, struct s3_req *r)
{
	struct many *m = b->arg;
	int rv = s3_req_ok(r) ? 0 : s3_req_absent(r) ? 1 : -1;

	if (r->cancelled) {
		s3_req_free(r);
		return (0);
	}
	if (rv < 0)
		s3_fail(r);
	rv = m->fn(m->keys[r->idx], rv, rv == 0 ? (r->resp != NULL ? r->resp :
	    "") : NULL, rv == 0 ? r->resp_len : 0, m->arg);
	s3_req_free(r);
	return (rv < 0 ? -1 : 0);
}

int
s3_get_many(struct thoth_store *st, char *const *keys, size_t n,
    thoth_get_fn fn, void *arg)
{
	struct s3 *s3 = st->priv;
	struct many m = { s3, keys, n, 0, fn, arg };
	struct s3_batch b = { s3, s3->fetch, many_next, many_done, NULL, NULL,
	    &m };

	return (s3_batch_run(&b));
}
