/*
 * http.c - S3 requests: signing with libcurl's SigV4, a multi loop
 * with retries and backoff, and one-line explanations of failures.
 *
 * curl 7.88 signs every header we pass, but it does not send
 * x-amz-content-sha256 itself and S3 requires it: we always send it,
 * the hex SHA-256 of a memory body or UNSIGNED-PAYLOAD for a body
 * streamed from a file (Content-MD5 guards those).  The secret only
 * ever goes to CURLOPT_PASSWORD; messages name the access key id.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store/s3/s3.h"

#define S3_SLOTS	64
#define S3_ERRBODY_MAX	(64 * 1024)

struct s3_req *
s3_req_new(struct s3 *s3, const char *method, const char *key,
    const char *query)
{
	struct s3_req *r = thoth_xmalloc(sizeof (*r));
	char *okey = key != NULL ? s3_object_key(s3, key) : NULL;
	char *enc = okey != NULL ? s3_encode(okey, 1) : thoth_xstrdup("");
	const char *q = query != NULL ? "?" : "", *host;

	memset(r, 0, sizeof (*r));
	r->s3 = s3;
	r->method = method;
	r->in_fd = -1;
	if (s3->virtual_host) {
		host = strstr(s3->where.endpoint, "://") + 3;
		r->url = thoth_xasprintf("%.*s%s.%s/%s%s%s",
		    (int)(host - s3->where.endpoint), s3->where.endpoint, s3->where.bucket, host,
		    enc, q, query != NULL ? query : "");
	} else {
		r->url = thoth_xasprintf("%s/%s%s%s%s%s", s3->where.endpoint,
		    s3->where.bucket, okey != NULL ? "/" : "", enc, q,
		    query != NULL ? query : "");
	}
	r->what = thoth_xasprintf("s3://%s%s%s", s3->where.bucket,
	    okey != NULL ? "/" : "", okey != NULL ? okey : "");
	free(enc);
	free(okey);
	return (r);
}

void
s3_req_free(struct s3_req *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->s3->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->hdrs);
	curl_slist_free_all(r->all_hdrs);
	free(r->resp);
	free(r->url);
	free(r->what);
	free(r);
}

void
s3_req_header(struct s3_req *r, const char *fmt, ...)
{
	va_list ap;
	char *h;

	va_start(ap, fmt);
	if (vasprintf(&h, fmt, ap) < 0)
		abort();
	va_end(ap);
	r->hdrs = curl_slist_append(r->hdrs, h);
	free(h);
}

int
s3_fail(const struct s3_req *r)
{
	return (thoth_fail("%s", r->msg[0] != '\0' ? r->msg : "S3 request failed"));
}

/* Keeps what we need of the response headers; a status line starts over
 * (100 Continue comes before the real answer). */
/* A header line whose value is a credential. */
static int
secret_header(const char *p, size_t n)
{
	static const char *const names[] = { "authorization:",
	    "x-amz-security-token:" };
	size_t i;

	for (i = 0; i < sizeof (names) / sizeof (names[0]); i++)
		if (n >= strlen(names[i]) &&
		    strncasecmp(p, names[i], strlen(names[i])) == 0)
			return (1);
	return (0);
}

/* THOTH_S3_DEBUG: curl's trace on stderr, credentials blanked out. */
static int
debug_trace(CURL *e, curl_infotype type, char *data, size_t size, void *arg)
{
	const char *p = data, *end = data + size, *nl;
	char mark = type == CURLINFO_HEADER_OUT ? '>' :
	    type == CURLINFO_HEADER_IN ? '<' : '*';
	size_t n;

	(void)e;
	(void)arg;
	if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN &&
	    type != CURLINFO_HEADER_OUT)
		return (0);
	for (; p < end; p += n) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (secret_header(p, n))
			fprintf(stderr, "%c %.*s [hidden]\n", mark,
			    (int)((const char *)memchr(p, ':', n) - p + 1), p);
		else
			fprintf(stderr, "%c %.*s%s", mark, (int)n, p,
			    nl != NULL ? "" : "\n");
	}
	return (0);
}

static size_t
header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	static const struct { const char *name; size_t off, len; } keep[] = {
		{ "etag", offsetof(struct s3_req, etag), 128 },
		{ "x-amz-bucket-region", offsetof(struct s3_req, region), 64 },
		{ "content-range", offsetof(struct s3_req, range), 96 },
		{ "x-amz-meta-thoth-part-size", offsetof(struct s3_req, meta_part), 24 },
	};
	size_t len = size * n, i, nl, vl;
	const char *colon = memchr(p, ':', len), *v;

	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		r->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		r->etag[0] = r->region[0] = r->range[0] = r->meta_part[0] = '\0';
		r->kms = 0;
		return (len);
	}
	if (colon == NULL)
		return (len);
	nl = (size_t)(colon - p);
	for (v = colon + 1; v < p + len && (*v == ' ' || *v == '\t'); v++)
		;
	for (vl = (size_t)(p + len - v); vl > 0 && (v[vl - 1] == '\r' ||
	    v[vl - 1] == '\n' || v[vl - 1] == ' '); vl--)
		;
	for (i = 0; i < sizeof (keep) / sizeof (keep[0]); i++) {
		if (nl == strlen(keep[i].name) &&
		    strncasecmp(p, keep[i].name, nl) == 0 && vl < keep[i].len) {
			memcpy((char *)r + keep[i].off, v, vl);
			((char *)r + keep[i].off)[vl] = '\0';
		}
	}
	if ((nl == 28 && strncasecmp(p, "x-amz-server-side-encryption", nl) == 0 &&
	    vl >= 7 && strncmp(v, "aws:kms", 7) == 0) || (nl > 40 &&
	    strncasecmp(p, "x-amz-server-side-encryption-customer-", 38) == 0))
		r->kms = 1;
	return (len);
}

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;
	int ok = r->status >= 200 && r->status < 300;

	if (ok && r->sink != NULL)
		return (r->sink(r, p, len));
	if (!ok && r->resp_len + len > S3_ERRBODY_MAX)
		return (len);
	if (r->resp_len + len + 1 > r->resp_cap) {
		r->resp_cap = (r->resp_len + len + 1) * 2;
		if ((r->resp = realloc(r->resp, r->resp_cap)) == NULL)
			return (0);
	}
	memcpy(r->resp + r->resp_len, p, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return (len);
}

/* The body, from memory or from a range of a file (pread: parts of one
 * file go up in parallel on one descriptor). */
static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	uint64_t left = (r->body != NULL ? r->body_len : r->in_len) - r->sent;
	size_t want = size * n < left ? size * n : (size_t)left;
	ssize_t got;

	if (want == 0)
		return (0);
	if (r->body != NULL) {
		memcpy(buf, r->body + r->sent, want);
		got = (ssize_t)want;
	} else {
		while ((got = pread(r->in_fd, buf, want,
		    (off_t)(r->in_off + r->sent))) < 0 && errno == EINTR)
			;
		if (got <= 0) {
			snprintf(r->msg, sizeof (r->msg), "%s", got < 0 ?
			    strerror(errno) : "file shrank while uploading");
			return (CURL_READFUNC_ABORT);
		}
	}
	r->sent += (uint64_t)got;
	if (r->batch != NULL && r->batch->sent != NULL)
		r->batch->sent(r->batch, got);
	return ((size_t)got);
}

static int
seek_cb(void *arg, curl_off_t off, int origin)
{
	struct s3_req *r = arg;

	if (origin != SEEK_SET || off < 0)
		return (CURL_SEEKFUNC_CANTSEEK);
	if (r->batch != NULL && r->batch->sent != NULL)
		r->batch->sent(r->batch, (int64_t)off - (int64_t)r->sent);
	r->sent = (uint64_t)off;
	return (CURL_SEEKFUNC_OK);
}

static void
set_headers(struct s3_req *r)
{
	char sha[65], *line;
	const char *payload = r->payload;
	struct curl_slist *h;

	if (payload == NULL && r->body != NULL) {
		s3_sha256_hex(r->body, r->body_len, sha);
		payload = sha;
	} else if (payload == NULL) {
		payload = r->in_fd >= 0 ? "UNSIGNED-PAYLOAD" : S3_EMPTY_SHA256;
	}
	curl_slist_free_all(r->all_hdrs);
	r->all_hdrs = NULL;
	for (h = r->hdrs; h != NULL; h = h->next)
		r->all_hdrs = curl_slist_append(r->all_hdrs, h->data);
	line = thoth_xasprintf("x-amz-content-sha256: %s", payload);
	r->all_hdrs = curl_slist_append(r->all_hdrs, line);
	free(line);
	if (r->s3->token_hdr != NULL)
		r->all_hdrs = curl_slist_append(r->all_hdrs, r->s3->token_hdr);
}

static void
set_method(struct s3_req *r, CURL *e)
{
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)
		    (r->body != NULL ? r->body_len : r->in_len));
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
		if (r->in_fd >= 0)
			curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body != NULL ?
		    r->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* One attempt: a fresh easy handle on the store's multi handle. */
static int
req_start(struct s3_req *r)
{
	struct s3 *s3 = r->s3;
	CURL *e;

	if (r->sent > 0 && r->batch->sent != NULL)
		r->batch->sent(r->batch, -(int64_t)r->sent);
	r->sent = 0;
	r->status = 0;
	r->cres = CURLE_OK;
	r->resp_len = 0;
	r->code[0] = r->msg[0] = r->cerr[0] = '\0';
	r->waiting = 0;
	r->tries++;
	if (r->prepare != NULL && r->prepare(r) != 0) {
		snprintf(r->msg, sizeof (r->msg), "%s", thoth_errbuf);
		r->cres = CURLE_ABORTED_BY_CALLBACK;
		return (-1);
	}
	if ((r->easy = e = curl_easy_init()) == NULL) {
		snprintf(r->msg, sizeof (r->msg), "cannot start a transfer");
		r->cres = CURLE_OUT_OF_MEMORY;
		return (-1);
	}
	set_headers(r);
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_AWS_SIGV4, s3->sigv4);
	curl_easy_setopt(e, CURLOPT_USERNAME, s3->key_id);
	curl_easy_setopt(e, CURLOPT_PASSWORD, s3->secret);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->all_hdrs);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, s3->timeout < 10 ?
	    s3->timeout : 10L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);	/* stalled */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, s3->timeout);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (s3->rate > 0) {
		curl_easy_setopt(e, CURLOPT_MAX_SEND_SPEED_LARGE,
		    (curl_off_t)s3->rate);
		curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE,
		    (curl_off_t)s3->rate);
	}
	if (getenv("THOTH_S3_DEBUG") != NULL) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_trace);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}
	set_method(r, e);
	if (curl_multi_add_handle(s3->multi, e) != CURLM_OK) {
		snprintf(r->msg, sizeof (r->msg), "cannot start a transfer");
		r->cres = CURLE_FAILED_INIT;
		return (-1);
	}
	return (0);
}

static void
req_finish(struct s3_req *r, CURLcode res)
{
	char *code;

	r->cres = res;
	curl_multi_remove_handle(r->s3->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	if (res != CURLE_OK || r->resp == NULL)
		return;
	/* CompleteMultipartUpload may say 200 and then fail in the body. */
	if ((r->status >= 300 || strcmp(r->method, "POST") == 0) &&
	    (code = s3_xml_text(r->resp, r->resp_len, "Code", NULL)) != NULL) {
		snprintf(r->code, sizeof (r->code), "%s", code);
		if (r->status < 300 && strstr(r->resp, "<Error>") != NULL)
			r->status = 500;
		free(code);
	}
}

static int
retryable(const struct s3_req *r)
{
	if (r->tries >= (r->max_tries > 0 ? r->max_tries : r->s3->tries))
		return (0);
	switch (r->cres) {
	case CURLE_OK:
		return ((r->status >= 500 && r->status != 501) ||
		    r->status == 429 || r->status == 408 ||
		    strcmp(r->code, "RequestTimeout") == 0 ||
		    strcmp(r->code, "SlowDown") == 0);
	case CURLE_OPERATION_TIMEDOUT:	/* no answer for THOTH_S3_TIMEOUT */
		return (0);
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return (1);
	default:
		return (0);
	}
}

/* base, 2 base, 4 base ... up to 10 s, with +-25% jitter so parallel
 * parts do not all come back at the same instant. */
static int64_t
backoff(const struct s3_req *r)
{
	int64_t ms = r->s3->backoff_ms << (r->tries > 6 ? 5 : r->tries - 1);

	if (ms > 10000)
		ms = 10000;
	return (ms * 3 / 4 + (int64_t)(random() % (ms / 2 + 1)));
}

static int
hand_back(struct s3_batch *b, struct s3_req *r)
{
	if (!s3_req_ok(r))
		s3_explain(r);
	return (b->done(b, r));
}

/* Starts new requests in free slots and retries whose time has come. */
static int
fill(struct s3_batch *b, struct s3_req **slot, int n, int stop)
{
	int64_t now = s3_clock_ms();
	int i, rv = 0;

	for (i = 0; i < n; i++) {
		if (slot[i] == NULL && !stop && rv == 0 &&
		    (slot[i] = b->next(b)) != NULL) {
			slot[i]->batch = b;
			slot[i]->waiting = 1;
			slot[i]->due = 0;
		}
		if (slot[i] == NULL || !slot[i]->waiting || slot[i]->due > now)
			continue;
		if (req_start(slot[i]) != 0) {
			if (hand_back(b, slot[i]) != 0)
				rv = -1;
			slot[i] = NULL;
		}
	}
	return (rv);
}

static int64_t
poll_timeout(struct s3_req **slot, int n, int more)
{
	int64_t now = s3_clock_ms(), t = more ? 0 : 1000;
	int i;

	for (i = 0; i < n; i++) {
		if (slot[i] != NULL && slot[i]->waiting && slot[i]->due - now < t)
			t = slot[i]->due - now;
	}
	return (t < 0 ? 0 : t);
}

/* Collects finished transfers: retry later, or hand back.  Returns how
 * many finished, or -1 when the batch must stop. */
static int
reap(struct s3_batch *b, struct s3_req **slot, int n)
{
	CURLMsg *msg;
	struct s3_req *r;
	int left, i, rv = 0;

	while ((msg = curl_multi_info_read(b->s3->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		req_finish(r, msg->data.result);
		if (retryable(r)) {
			r->waiting = 1;
			r->due = s3_clock_ms() + backoff(r);
			continue;
		}
		for (i = 0; i < n && slot[i] != r; i++)
			;
		if (i < n)
			slot[i] = NULL;
		if (hand_back(b, r) != 0 || rv < 0)
			rv = -1;
		else
			rv++;
	}
	return (rv);
}

static void
cancel(struct s3_batch *b, struct s3_req **slot, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (slot[i] == NULL)
			continue;
		if (slot[i]->easy != NULL) {
			curl_multi_remove_handle(b->s3->multi, slot[i]->easy);
			curl_easy_cleanup(slot[i]->easy);
			slot[i]->easy = NULL;
		}
		slot[i]->cres = CURLE_ABORTED_BY_CALLBACK;
		slot[i]->cancelled = 1;
		snprintf(slot[i]->msg, sizeof (slot[i]->msg), "cancelled");
		(void) b->done(b, slot[i]);
		slot[i] = NULL;
	}
}

int
s3_batch_run(struct s3_batch *b)
{
	struct s3_req *slot[S3_SLOTS] = { NULL };
	int n = b->parallel < 1 ? 1 : b->parallel > S3_SLOTS ? S3_SLOTS :
	    b->parallel;
	int i, busy, more, running, done, stop = 0;

	for (;;) {
		if (fill(b, slot, n, stop) != 0)
			stop = 1;
		for (busy = i = 0; i < n; i++)
			busy += slot[i] != NULL;
		if (stop || busy == 0) {
			if (!stop && b->idle != NULL && b->idle(b))
				continue;
			break;
		}
		curl_multi_perform(b->s3->multi, &running);
		if ((done = reap(b, slot, n)) < 0)
			stop = 1;
		if (done != 0)
			continue;	/* free slots: fill them now */
		more = b->idle != NULL && b->idle(b);
		curl_multi_poll(b->s3->multi, NULL, 0,
		    (int)poll_timeout(slot, n, more), NULL);
	}
	cancel(b, slot, n);
	return (stop ? -1 : 0);
}

static struct s3_req *
one_next(struct s3_batch *b)
{
	struct s3_req *r = b->arg;

	b->arg = NULL;
	return (r);
}

static int
one_done(struct s3_batch *b, struct s3_req *r)
{
	(void)b;
	(void)r;
	return (0);
}

int
s3_perform(struct s3_req *r)
{
	struct s3_batch b = { r->s3, 1, one_next, one_done, NULL, NULL, r };

	(void) s3_batch_run(&b);
	return (s3_req_ok(r) ? 0 : -1);
}
