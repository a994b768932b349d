/*
 * s3.c - the S3 store: THOTH_STORE=s3://bucket/prefix on any
 * S3-compatible service (DESIGN §2), configured by the standard AWS
 * variables and a few THOTH_S3_* ones (thoth-s3(7)).
 *
 * Keys map to "<prefix>/<key>" in the bucket.  S3 PUTs are atomic, so
 * no partial object is ever visible; big files go up as multipart
 * uploads (store/s3/upload.c).  The index is a local cache under
 * $XDG_CACHE_HOME, one directory per endpoint, bucket and prefix.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/s3/s3.h"

/* A size in bytes with an optional k, M or G (powers of 1024). */
static int
env_size(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi,
    uint64_t *out)
{
	const char *v = s3_env(name);
	char *end;
	unsigned long long n;

	*out = dflt;
	if (v == NULL)
		return (0);
	n = strtoull(v, &end, 10);
	if (*end == 'k' || *end == 'K')
		n <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		n <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		n <<= 30, end++;
	if (end == v || *end != '\0' || n < lo || n > hi)
		return (thoth_fail("%s=%s: want %llu to %llu", name, v,
		    (unsigned long long)lo, (unsigned long long)hi));
	*out = n;
	return (0);
}

static int
settings(struct s3 *s3)
{
	const char *a = s3_env("THOTH_S3_ADDRESSING");
	uint64_t n;

	if (a != NULL && strcmp(a, "virtual") != 0 && strcmp(a, "path") != 0)
		return (thoth_fail("THOTH_S3_ADDRESSING=%s: want path or "
		    "virtual", a));
	s3->virtual_host = a != NULL && strcmp(a, "virtual") == 0;
	if (env_size("THOTH_S3_PART_SIZE", 64 * S3_MIB, S3_MIN_PART,
	    5ULL << 30, &s3->part_size) != 0)
		return (-1);
	if (env_size("THOTH_S3_PARALLEL", 4, 1, 64, &n) != 0)
		return (-1);
	s3->parallel = (int)n;
	s3->fetch = 16;
	if (env_size("THOTH_S3_TRIES", 5, 1, 20, &n) != 0)
		return (-1);
	s3->tries = (int)n;
	if (env_size("THOTH_S3_BACKOFF_MS", 500, 1, 60000, &n) != 0)
		return (-1);
	s3->backoff_ms = (long)n;
	/* A server that takes connections and never answers: a command
	 * fails after this long, not after every retry's worth of it. */
	if (env_size("THOTH_S3_TIMEOUT", 30, 1, 3600, &n) != 0)
		return (-1);
	s3->timeout = (long)n;
	return (env_size("THOTH_S3_LIMIT_RATE", 0, 1024, 1ULL << 40, &s3->rate));
}

static int
credentials(struct s3 *s3, const char *url)
{
	const char *id = s3_env("AWS_ACCESS_KEY_ID"), *key = s3_env("AWS_SECRET_ACCESS_KEY");
	const char *tok = s3_env("AWS_SESSION_TOKEN");

	if (id == NULL || key == NULL)
		return (thoth_fail("%s: AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY must be set", url));
	s3->key_id = thoth_xstrdup(id);
	s3->secret = thoth_xstrdup(key);
	s3->sigv4 = thoth_xasprintf("aws:amz:%s:s3", s3->where.region);
	if (tok != NULL)
		s3->token_hdr = thoth_xasprintf("x-amz-security-token: %s", tok);
	return (0);
}

static void
s3_free(struct s3 *s3)
{
	if (s3->multi != NULL) {
		curl_multi_cleanup(s3->multi);
		curl_global_cleanup();
	}
	s3_where_free(&s3->where);
	free(s3->key_id);
	if (s3->secret != NULL)
		explicit_bzero(s3->secret, strlen(s3->secret));
	free(s3->secret);
	free(s3->token_hdr);
	free(s3->sigv4);
	free(s3);
}

static void
s3_close(struct thoth_store *st)
{
	s3_free(st->priv);
	st->priv = NULL;
}

static size_t
discard(struct s3_req *r, const char *p, size_t len)
{
	(void)r;
	(void)p;
	return (len);
}

/* A HEAD answer has no body to say why it failed (a 404 may be a
 * missing bucket, a 400 a wrong region): ask again with a one-byte GET,
 * whose error document says. */
static int
s3_exists(struct thoth_store *st, const char *key)
{
	struct s3_req *r = s3_req_new(st->priv, "HEAD", key, NULL);
	int rv = s3_perform(r);

	s3_req_free(r);
	if (rv == 0)
		return (0);
	r = s3_req_new(st->priv, "GET", key, NULL);
	s3_req_header(r, "Range: bytes=0-0");
	r->sink = discard;
	rv = s3_perform(r) == 0 || r->status == 416 ? 0 : s3_req_absent(r) ? 1 :
	    s3_fail(r);
	s3_req_free(r);
	return (rv);
}

static int
s3_get(struct thoth_store *st, const char *key, char **buf, size_t *len)
{
	struct s3_req *r = s3_req_new(st->priv, "GET", key, NULL);
	int rv = s3_perform(r) == 0 ? 0 : s3_req_absent(r) ? 1 : s3_fail(r);

	if (rv == 0) {
		*buf = r->resp != NULL ? r->resp : thoth_xstrdup("");
		*len = r->resp_len;
		r->resp = NULL;
	}
	s3_req_free(r);
	return (rv);
}

/* Content-MD5: the server refuses a body that arrived damaged. */
static int
s3_put(struct thoth_store *st, const char *key, const void *buf, size_t len)
{
	struct s3_req *r = s3_req_new(st->priv, "PUT", key, NULL);
	unsigned char md5[16];
	char b64[32];
	int rv;

	r->body = buf != NULL ? buf : "";
	r->body_len = len;
	s3_md5(r->body, len, md5);
	s3_base64(md5, 16, b64);
	s3_req_header(r, "Content-MD5: %s", b64);
	rv = s3_perform(r) == 0 ? 0 : s3_fail(r);
	s3_req_free(r);
	return (rv);
}

static int
s3_del(struct thoth_store *st, const char *key)
{
	struct s3_req *r = s3_req_new(st->priv, "DELETE", key, NULL);
	int rv = s3_perform(r) == 0 || s3_req_absent(r) ? 0 : s3_fail(r);

	s3_req_free(r);
	return (rv);
}

static const struct thoth_store_ops s3_ops = {
	.exists = s3_exists, .get = s3_get, .put = s3_put,
	.put_file = s3_put_file, .get_file = s3_get_file, .del = s3_del,
	.list = s3_list, .local = NULL, .close = s3_close,
	.get_many = s3_get_many,
};

int
thoth_store_s3_init(struct thoth_store *st, const char *url)
{
	struct s3 *s3 = thoth_xmalloc(sizeof (*s3));

	memset(s3, 0, sizeof (*s3));
	if (s3_where(&s3->where, url) != 0 || credentials(s3, url) != 0 ||
	    settings(s3) != 0) {
		s3_free(s3);
		return (-1);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (s3->multi = curl_multi_init()) == NULL) {
		s3_free(s3);
		return (thoth_fail("cannot initialise libcurl"));
	}
	srandom((unsigned)s3_clock_ms() ^ (unsigned)getpid());
	st->priv = s3;
	st->ops = &s3_ops;
	st->root = s3_where_root(&s3->where);
	st->index_dir = s3_where_index_dir(&s3->where);
	return (0);
}
