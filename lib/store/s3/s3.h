/*
 * lib/store/s3/ - the S3 backend of the store (libcurl, SigV4): the
 * backend's operations (s3.c), requests and their retries (http.c),
 * what an answer means (answer.c), uploads (upload.c), downloads
 * (download.c), listings (list.c) and small pieces (util.c).  Linked
 * only into the tools that talk to the store.  It calls lib/ and the
 * store's front (store/backend.h); only store.c reaches it, through
 * thoth_store_s3_init.  Inside, calls go one way: s3.c, upload.c,
 * download.c, list.c -> http.c -> answer.c -> util.c.
 *
 * Every request is a struct s3_req run by s3_batch_run(): a curl multi
 * loop that keeps up to N requests in flight, retries each one with
 * exponential backoff on 5xx, timeouts and broken connections, and
 * hands each finished request to the batch's done hook exactly once.
 * A single request is a batch of one (s3_perform).  The multi handle
 * lives as long as the store, so connections are reused throughout.
 */
#ifndef THOTH_S3_H
#define THOTH_S3_H

#include <curl/curl.h>
#include <openssl/evp.h>

#include "store/backend.h"

#define S3_MIB			(1024 * 1024)
#define S3_MIN_PART		(5ULL * S3_MIB)		/* S3's minimum */
#define S3_MAX_PARTS		10000
#define S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_XATTR		"user.thoth.s3"	/* partial download's ETag */

struct s3 {
	struct s3_where where;	/* endpoint, bucket, prefix, region */
	char *key_id, *secret;	/* the secret is never printed */
	char *token_hdr;	/* "x-amz-security-token: ...", or NULL */
	char *sigv4;		/* "aws:amz:REGION:s3" */
	int virtual_host;	/* bucket.host instead of host/bucket */
	uint64_t part_size;	/* multipart above this */
	int parallel;		/* parts in flight */
	int fetch;		/* small GETs in flight (get_many) */
	int tries;
	long backoff_ms;	/* first retry delay, doubled each time */
	long timeout;		/* seconds without a byte before a request fails */
	uint64_t rate;		/* bytes/s per transfer, 0: no limit */
	CURLM *multi;
};

struct s3_batch;

struct s3_req {
	struct s3 *s3;
	struct s3_batch *batch;
	const char *method;	/* GET HEAD PUT POST DELETE */
	char *url;
	char *what;		/* "s3://bucket/key" for messages */
	struct curl_slist *hdrs;	/* extra headers */
	const char *payload;	/* x-amz-content-sha256; NULL: computed */
	/* the body: memory, or in_len bytes of in_fd from in_off */
	const char *body;
	size_t body_len;
	int in_fd;
	uint64_t in_off, in_len, sent;
	/* the response */
	long status;
	CURLcode cres;
	char *resp;		/* 2xx body without a sink; error bodies */
	size_t resp_len, resp_cap;
	size_t (*sink)(struct s3_req *, const char *, size_t); /* 2xx bodies */
	int (*prepare)(struct s3_req *);	/* before every attempt */
	char etag[128], code[64], region[64], range[96], meta_part[24];
	int kms;		/* ETag is not an MD5 (SSE-KMS / SSE-C) */
	char msg[512];		/* why it failed, for thoth_errbuf */
	/* the runner's */
	CURL *easy;
	struct curl_slist *all_hdrs;
	char cerr[CURL_ERROR_SIZE];
	int tries, max_tries, waiting, cancelled;	/* max 0: s3->tries */
	int64_t due;
	void *arg;
	size_t idx;
};

/* A batch: next() gives requests to start (NULL: none now), done()
 * gets each back (0 go on, -1 stop: the rest are cancelled), idle()
 * does a slice of side work (1: more to do).  sent() sees upload
 * progress, in bytes, negative when a retry starts over. */
struct s3_batch {
	struct s3 *s3;
	int parallel;
	struct s3_req *(*next)(struct s3_batch *);
	int (*done)(struct s3_batch *, struct s3_req *);
	int (*idle)(struct s3_batch *);
	void (*sent)(struct s3_batch *, int64_t);
	void *arg;
};

/* http.c */
struct s3_req *s3_req_new(struct s3 *s3, const char *method, const char *key,
    const char *query);
void s3_req_free(struct s3_req *r);
void s3_req_header(struct s3_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int s3_batch_run(struct s3_batch *b);
int s3_perform(struct s3_req *r);	/* 0 for 2xx, else -1 and r->msg */
int s3_fail(const struct s3_req *r);	/* copies r->msg to thoth_errbuf */

/* answer.c: what an answer means. */
int s3_req_ok(const struct s3_req *r);
int s3_req_absent(const struct s3_req *r);
void s3_explain(struct s3_req *r);	/* sets r->msg for people */

/* util.c */
char *s3_object_key(const struct s3 *s3, const char *key);
char *s3_xml_text(const char *xml, size_t len, const char *tag,
    const char **next);
void s3_hex(const unsigned char *d, size_t n, char *out);
void s3_base64(const unsigned char *d, size_t n, char *out);
void s3_sha256_hex(const void *buf, size_t len, char out[65]);
void s3_md5(const void *buf, size_t len, unsigned char out[16]);
int64_t s3_clock_ms(void);
/* ETags: MD5 of the object, or of the parts' MD5s then "-N" */
struct s3_etag {
	EVP_MD_CTX *part, *all;
	uint64_t part_size, in_part, done;
	unsigned nparts;
};
void s3_etag_init(struct s3_etag *e, uint64_t part_size);
void s3_etag_update(struct s3_etag *e, const void *buf, size_t len);
void s3_etag_final(struct s3_etag *e, char *out, size_t outlen);
void s3_etag_free(struct s3_etag *e);

/* list.c, store/s3/upload.c, store/s3/download.c: the store ops */
int s3_list(struct thoth_store *st, const char *prefix, const char *after,
    thoth_list_fn fn,
    void *arg);
int s3_put_file(struct thoth_store *st, const char *key, const char *path,
    thoth_progress_fn progress, void *arg);
int s3_get_file(struct thoth_store *st, const char *key, const char *path);
int s3_get_many(struct thoth_store *st, char *const *keys, size_t n,
    thoth_get_fn fn, void *arg);

#endif
