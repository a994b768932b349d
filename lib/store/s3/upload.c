/*
 * upload.c - streaming a local file into the store.
 *
 * A file up to THOTH_S3_PART_SIZE goes up in one PUT; a bigger one as a
 * multipart upload whose parts go up THOTH_S3_PARALLEL at a time.  The
 * body is read from the file as curl sends it (never copied whole into
 * memory), and every PUT carries Content-MD5 so the server refuses a
 * damaged body.  The MD5s are computed a part ahead, in 1 MB slices
 * between the transfers' turns (the batch's idle hook), so hashing
 * overlaps with sending.  Nothing is visible under the key until the
 * single PUT or CompleteMultipartUpload succeeds; a failed multipart
 * upload is aborted so that no parts are left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/s3/s3.h"

#define HASH_SLICE	(1 << 20)

struct upload {
	struct s3 *s3;
	const char *key;
	int fd, multi, failed;
	uint64_t size, part;
	unsigned nparts, issued, hashed;
	uint64_t hash_off;		/* into part "hashed" */
	EVP_MD_CTX *ctx;
	unsigned char (*md5)[16];
	char **etags;
	char *id;			/* UploadId */
	char *buf;
	int64_t done;			/* bytes sent, for progress */
	int64_t shown;
	thoth_progress_fn progress;
	void *parg;
};

static uint64_t
part_len(const struct upload *u, unsigned i)
{
	uint64_t off = (uint64_t)i * u->part;

	return (u->size - off < u->part ? u->size - off : u->part);
}

/* Hashes the next slice of the next part, one part per slot ahead. */
static int
up_idle(struct s3_batch *b)
{
	struct upload *u = b->arg;
	uint64_t len, want;
	ssize_t n;

	if (u->failed || u->hashed >= u->nparts ||
	    u->hashed >= u->issued + (unsigned)b->parallel)
		return (0);
	len = part_len(u, u->hashed);
	want = len - u->hash_off < HASH_SLICE ? len - u->hash_off : HASH_SLICE;
	n = want == 0 ? 0 : pread(u->fd, u->buf, want,
	    (off_t)((uint64_t)u->hashed * u->part + u->hash_off));
	if (n < 0 || (uint64_t)n != want) {
		u->failed = 1;
		thoth_fail("read: %s", n < 0 ? strerror(errno) :
		    "file shrank while uploading");
		return (0);
	}
	EVP_DigestUpdate(u->ctx, u->buf, want);
	if ((u->hash_off += want) == len) {
		EVP_DigestFinal_ex(u->ctx, u->md5[u->hashed++], NULL);
		EVP_DigestInit_ex(u->ctx, EVP_md5(), NULL);
		u->hash_off = 0;
	}
	return (1);
}

static struct s3_req *
up_next(struct s3_batch *b)
{
	struct upload *u = b->arg;
	struct s3_req *r;
	char b64[32], *q = NULL, *id;

	if (u->failed || u->issued >= u->nparts || u->issued >= u->hashed)
		return (NULL);
	if (u->multi) {
		id = s3_encode(u->id, 0);
		q = thoth_xasprintf("partNumber=%u&uploadId=%s", u->issued + 1, id);
		free(id);
	}
	r = s3_req_new(u->s3, "PUT", u->key, q);
	free(q);
	r->in_fd = u->fd;
	r->in_off = (uint64_t)u->issued * u->part;
	r->in_len = part_len(u, u->issued);
	s3_base64(u->md5[u->issued], 16, b64);
	s3_req_header(r, "Content-MD5: %s", b64);
	r->idx = u->issued++;
	return (r);
}

static int
up_done(struct s3_batch *b, struct s3_req *r)
{
	struct upload *u = b->arg;
	int rv = 0;

	if (s3_req_ok(r) && (!u->multi || r->etag[0] != '\0')) {
		if (u->multi)
			u->etags[r->idx] = thoth_xstrdup(r->etag);
	} else {
		if (!u->failed && s3_req_ok(r))
			thoth_fail("%s: part %zu: no ETag in the answer", r->what,
			    r->idx + 1);
		else if (!u->failed)
			s3_fail(r);
		u->failed = 1;
		rv = -1;
	}
	s3_req_free(r);
	return (rv);
}

/* Progress as the directory store gives it: every MB and at the end. */
static void
up_sent(struct s3_batch *b, int64_t delta)
{
	struct upload *u = b->arg;

	u->done += delta;
	if (u->progress != NULL && (u->done >= u->shown + HASH_SLICE ||
	    (uint64_t)u->done == u->size)) {
		u->shown = u->done;
		u->progress(u->parg, (uint64_t)u->done, u->size);
	}
}

static int
run_parts(struct upload *u)
{
	struct s3_batch b = { u->s3, u->multi ? u->s3->parallel : 1, up_next,
	    up_done, up_idle, up_sent, u };

	u->ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(u->ctx, EVP_md5(), NULL);
	u->buf = thoth_xmalloc(HASH_SLICE);
	(void) s3_batch_run(&b);
	return (u->failed ? -1 : 0);
}

static int
create_upload(struct upload *u)
{
	struct s3_req *r = s3_req_new(u->s3, "POST", u->key, "uploads=");
	int rv = -1;

	r->body = "";
	s3_req_header(r, "Content-Type: application/octet-stream");
	s3_req_header(r, "x-amz-meta-thoth-part-size: %llu",
	    (unsigned long long)u->part);
	if (s3_perform(r) != 0)
		s3_fail(r);
	else if (r->resp == NULL || (u->id = s3_xml_text(r->resp, r->resp_len,
	    "UploadId", NULL)) == NULL || *u->id == '\0')
		thoth_fail("%s: no UploadId in the answer", r->what);
	else
		rv = 0;
	s3_req_free(r);
	return (rv);
}

/* The ETag S3 gives a completed multipart upload of these parts. */
static void
multipart_etag(const struct upload *u, char *out, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char d[16];
	char hex[33];
	unsigned i;

	EVP_DigestInit_ex(c, EVP_md5(), NULL);
	for (i = 0; i < u->nparts; i++)
		EVP_DigestUpdate(c, u->md5[i], 16);
	EVP_DigestFinal_ex(c, d, NULL);
	EVP_MD_CTX_free(c);
	s3_hex(d, 16, hex);
	snprintf(out, len, "\"%s-%u\"", hex, u->nparts);
}

/* A retried Complete whose first try succeeded meets NoSuchUpload:
 * the object is there if its ETag is the one our parts make. */
static int
completed_anyway(struct upload *u)
{
	struct s3_req *r = s3_req_new(u->s3, "HEAD", u->key, NULL);
	char want[64];
	int ok;

	multipart_etag(u, want, sizeof (want));
	ok = s3_perform(r) == 0 && strcmp(r->etag, want) == 0;
	s3_req_free(r);
	return (ok);
}

static int
complete_upload(struct upload *u)
{
	char *id = s3_encode(u->id, 0), *q = thoth_xasprintf("uploadId=%s", id);
	struct s3_req *r = s3_req_new(u->s3, "POST", u->key, q);
	char *xml = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&xml, &len);
	unsigned i;
	int rv = 0;

	fputs("<CompleteMultipartUpload>", fp);
	for (i = 0; i < u->nparts; i++)
		fprintf(fp, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag>"
		    "</Part>", i + 1, u->etags[i]);
	fputs("</CompleteMultipartUpload>", fp);
	fclose(fp);
	r->body = xml;
	r->body_len = len;
	s3_req_header(r, "Content-Type: application/xml");
	if (s3_perform(r) != 0 && !(r->tries > 1 && r->status == 404 &&
	    strcmp(r->code, "NoSuchUpload") == 0 && completed_anyway(u)))
		rv = s3_fail(r);
	s3_req_free(r);
	free(xml);
	free(q);
	free(id);
	return (rv);
}

/* Best effort, and it keeps the message of the failure that led here. */
static void
abort_upload(struct upload *u)
{
	char *id = s3_encode(u->id, 0), *q = thoth_xasprintf("uploadId=%s", id);
	struct s3_req *r = s3_req_new(u->s3, "DELETE", u->key, q);
	char why[sizeof (thoth_errbuf)];

	r->max_tries = u->s3->tries < 5 ? 5 : u->s3->tries;
	if (s3_perform(r) != 0 && r->status != 404) {
		snprintf(why, sizeof (why), "%s", thoth_errbuf);
		thoth_fail("%s; and aborting the upload failed (%s): parts "
		    "remain until the bucket's lifecycle rules remove them",
		    why, r->msg);
	}
	s3_req_free(r);
	free(q);
	free(id);
}

static int
upload(struct upload *u)
{
	int rv;

	u->multi = u->size > u->s3->part_size;
	u->part = u->multi ? u->s3->part_size : u->size;
	if (u->multi && (u->size + u->part - 1) / u->part > S3_MAX_PARTS)
		u->part = ((u->size + S3_MAX_PARTS - 1) / S3_MAX_PARTS +
		    S3_MIB - 1) / S3_MIB * S3_MIB;
	u->nparts = u->multi ? (unsigned)((u->size + u->part - 1) / u->part) : 1;
	u->md5 = thoth_xmalloc(u->nparts * sizeof (*u->md5));
	u->etags = thoth_xmalloc(u->nparts * sizeof (char *));
	memset(u->etags, 0, u->nparts * sizeof (char *));
	if (!u->multi)
		return (run_parts(u));
	if (create_upload(u) != 0)
		return (-1);
	rv = run_parts(u);
	if (rv == 0)
		rv = complete_upload(u);
	if (rv != 0)
		abort_upload(u);
	return (rv);
}

int
s3_put_file(struct thoth_store *st, const char *key, const char *path,
    thoth_progress_fn progress, void *arg)
{
	struct upload u;
	struct stat sb;
	unsigned i;
	int rv;

	memset(&u, 0, sizeof (u));
	u.s3 = st->priv;
	u.key = key;
	u.progress = progress;
	u.parg = arg;
	if ((u.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(u.fd, &sb) != 0) {
		rv = thoth_fail("%s: %s", path, strerror(errno));
		if (u.fd >= 0)
			close(u.fd);
		return (rv);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(u.fd);
		return (thoth_fail("%s: not a regular file", path));
	}
	u.size = (uint64_t)sb.st_size;
	(void) posix_fadvise(u.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rv = upload(&u);
	for (i = 0; u.etags != NULL && i < u.nparts; i++)
		free(u.etags[i]);
	free(u.etags);
	free(u.md5);
	free(u.id);
	free(u.buf);
	EVP_MD_CTX_free(u.ctx);
	close(u.fd);
	return (rv);
}
