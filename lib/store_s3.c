/*
 * store_s3.c - the S3 store: THOTH_STORE=s3://bucket/prefix on any
 * S3-compatible service (DESIGN §2), configured by the standard AWS
 * variables and a few THOTH_S3_* ones (thoth-s3(7)).
 *
 * Keys map to "<prefix>/<key>" in the bucket.  S3 PUTs are atomic, so
 * no partial object is ever visible; big files go up as multipart
 * uploads (s3_upload.c).  The index is a local cache under
 * $XDG_CACHE_HOME, one directory per endpoint, bucket and prefix.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3_impl.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

/* "bucket/some/prefix/" -> bucket, "some/prefix/". */
static int
parse_url(struct s3 *s3, const char *url)
{
	const char *slash = strchr(url + 5, '/'), *p;
	size_t blen = slash != NULL ? (size_t)(slash - url - 5) : strlen(url + 5);
	char *pre;

	s3->bucket = thoth_xasprintf("%.*s", (int)blen, url + 5);
	if (blen == 0 || blen > 255 || strspn(s3->bucket, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != blen)
		return (thoth_fail("%s: bad bucket name", url));
	for (p = slash; p != NULL && *p == '/'; p++)
		;
	pre = thoth_xstrdup(p != NULL ? p : "");
	while (*pre != '\0' && pre[strlen(pre) - 1] == '/')
		pre[strlen(pre) - 1] = '\0';
	s3->prefix = *pre != '\0' ? thoth_xasprintf("%s/", pre) : thoth_xstrdup("");
	free(pre);
	for (p = s3->prefix; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || (*p == '/' &&
		    (p == s3->prefix || p[-1] == '/')) || ((p == s3->prefix ||
		    p[-1] == '/') && *p == '.' && (p[1] == '/' || (p[1] == '.' &&
		    p[2] == '/'))))
			return (thoth_fail("%s: bad prefix", url));
	}
	return (0);
}

/* A size in bytes with an optional k, M or G (powers of 1024). */
static int
env_size(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi,
    uint64_t *out)
{
	const char *v = env(name);
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
	const char *a = env("THOTH_S3_ADDRESSING");
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
	return (env_size("THOTH_S3_LIMIT_RATE", 0, 1024, 1ULL << 40, &s3->rate));
}

static int
credentials(struct s3 *s3, const char *url)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *key = env("AWS_SECRET_ACCESS_KEY");
	const char *tok = env("AWS_SESSION_TOKEN"), *ep;
	const char *reg = env("AWS_REGION") != NULL ? env("AWS_REGION") :
	    env("AWS_DEFAULT_REGION") != NULL ? env("AWS_DEFAULT_REGION") :
	    "us-east-1";

	if (id == NULL || key == NULL)
		return (thoth_fail("%s: AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY must be set", url));
	if (strspn(reg, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(reg))
		return (thoth_fail("AWS_REGION=%s: bad region name", reg));
	s3->key_id = thoth_xstrdup(id);
	s3->secret = thoth_xstrdup(key);
	s3->region = thoth_xstrdup(reg);
	s3->sigv4 = thoth_xasprintf("aws:amz:%s:s3", reg);
	if (tok != NULL)
		s3->token_hdr = thoth_xasprintf("x-amz-security-token: %s", tok);
	if ((ep = env("AWS_ENDPOINT_URL_S3")) == NULL)
		ep = env("AWS_ENDPOINT_URL");
	s3->endpoint = ep != NULL ? thoth_xstrdup(ep) :
	    thoth_xasprintf("https://s3.%s.amazonaws.com", reg);
	while (strlen(s3->endpoint) > 8 &&
	    s3->endpoint[strlen(s3->endpoint) - 1] == '/')
		s3->endpoint[strlen(s3->endpoint) - 1] = '\0';
	if (strncmp(s3->endpoint, "http://", 7) != 0 &&
	    strncmp(s3->endpoint, "https://", 8) != 0)
		return (thoth_fail("AWS_ENDPOINT_URL=%s: want http:// or "
		    "https://", s3->endpoint));
	return (0);
}

/*
 * ${XDG_CACHE_HOME:-$HOME/.cache}/thoth/index/HOST_BUCKET_PREFIX: '/'
 * and ':' become '_', other characters outside [A-Za-z0-9.-] %XX, so
 * different stores never share an index.
 */
static char *
index_dir(const struct s3 *s3)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *host = strstr(s3->endpoint, "://") + 3;
	char *name = thoth_xasprintf("%s/%s/%s", host, s3->bucket, s3->prefix);
	char *enc, *p, *q, *dir;

	if (name[strlen(name) - 1] == '/')
		name[strlen(name) - 1] = '\0';
	enc = s3_encode(name, 1);
	for (p = q = enc; *p != '\0'; p++) {
		if (*p == '/' || strncmp(p, "%3A", 3) == 0) {
			p += *p == '%' ? 2 : 0;
			*q++ = '_';
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	if (xdg != NULL && *xdg == '/')
		dir = thoth_xasprintf("%s/thoth/index/%s", xdg, enc);
	else
		dir = thoth_xasprintf("%s/.cache/thoth/index/%s", home != NULL &&
		    *home != '\0' ? home : "/tmp", enc);
	free(enc);
	free(name);
	return (dir);
}

static void
s3_free(struct s3 *s3)
{
	if (s3->multi != NULL) {
		curl_multi_cleanup(s3->multi);
		curl_global_cleanup();
	}
	free(s3->endpoint);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->region);
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
	if (parse_url(s3, url) != 0 || credentials(s3, url) != 0 ||
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
	st->root = thoth_xasprintf("s3://%s%s%.*s", s3->bucket,
	    *s3->prefix != '\0' ? "/" : "", (int)strlen(s3->prefix) -
	    (*s3->prefix != '\0'), s3->prefix);
	st->index_dir = index_dir(s3);
	return (0);
}
