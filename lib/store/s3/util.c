/*
 * util.c - small pieces of the S3 backend: percent-encoding as SigV4
 * wants it, a minimal XML text scanner, digests and ETag computation.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include <openssl/evp.h>

#include "store/s3/s3.h"

/* The bucket's key of a store key: the store's prefix in front. */
char *
s3_object_key(const struct s3 *s3, const char *key)
{
	return (thoth_xasprintf("%s%s", s3->where.prefix, key));
}

static size_t
put_utf8(char *o, unsigned long c)
{
	if (c == 0 || c > 0x10ffff)
		c = '?';
	if (c < 0x80) {
		o[0] = (char)c;
		return (1);
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return (2);
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return (3);
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return (4);
}

/* Decodes the five predefined entities and character references. */
static char *
xml_unescape(const char *s, size_t len)
{
	static const struct { const char *name; char c; } ent[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	char *out = thoth_xmalloc(len + 1), *o = out;
	const char *end = s + len;
	size_t i;

	while (s < end) {
		if (*s != '&') {
			*o++ = *s++;
			continue;
		}
		s++;
		for (i = 0; i < sizeof (ent) / sizeof (ent[0]); i++) {
			size_t n = strlen(ent[i].name);
			if ((size_t)(end - s) >= n && memcmp(s, ent[i].name, n) == 0)
				break;
		}
		if (i < sizeof (ent) / sizeof (ent[0])) {
			*o++ = ent[i].c;
			s += strlen(ent[i].name);
		} else if (*s == '#' && memchr(s, ';', (size_t)(end - s)) != NULL) {
			char *semi;
			unsigned long c = s[1] == 'x' ? strtoul(s + 2, &semi, 16) :
			    strtoul(s + 1, &semi, 10);
			o += put_utf8(o, *semi == ';' ? c : '?');
			s = (const char *)memchr(s, ';', (size_t)(end - s)) + 1;
		} else {
			*o++ = '&';
		}
	}
	*o = '\0';
	return (out);
}

/*
 * The text of the first <tag>...</tag> in xml[0..len), decoded, or NULL;
 * *next (if not NULL) is set past it, to find the following ones.  S3
 * answers are flat enough that this is all the XML we need: names are
 * unique within the elements we look into, and there are no CDATA
 * sections.  An empty element <tag/> gives "".
 */
char *
s3_xml_text(const char *xml, size_t len, const char *tag, const char **next)
{
	char open[80], close[80], empty[80];
	const char *p, *end = xml + len, *q;

	snprintf(open, sizeof (open), "<%s>", tag);
	snprintf(close, sizeof (close), "</%s>", tag);
	snprintf(empty, sizeof (empty), "<%s/>", tag);
	p = memmem(xml, len, open, strlen(open));
	q = memmem(xml, len, empty, strlen(empty));
	if (q != NULL && (p == NULL || q < p)) {
		if (next != NULL)
			*next = q + strlen(empty);
		return (thoth_xstrdup(""));
	}
	if (p == NULL)
		return (NULL);
	p += strlen(open);
	if ((q = memmem(p, (size_t)(end - p), close, strlen(close))) == NULL)
		return (NULL);
	if (next != NULL)
		*next = q + strlen(close);
	return (xml_unescape(p, (size_t)(q - p)));
}

void
s3_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
s3_base64(const unsigned char *d, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
}

void
s3_sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char d[32];

	EVP_Digest(buf, len, d, NULL, EVP_sha256(), NULL);
	s3_hex(d, 32, out);
}

void
s3_md5(const void *buf, size_t len, unsigned char out[16])
{
	EVP_Digest(buf, len, out, NULL, EVP_md5(), NULL);
}

int64_t
s3_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * S3's ETag of an object uploaded whole is its MD5; of a multipart
 * upload, the MD5 of the parts' MD5s followed by "-" and the number of
 * parts.  part_size 0 computes the first kind.
 */
void
s3_etag_init(struct s3_etag *e, uint64_t part_size)
{
	memset(e, 0, sizeof (*e));
	e->part_size = part_size;
	e->part = EVP_MD_CTX_new();
	e->all = EVP_MD_CTX_new();
	if (e->part == NULL || e->all == NULL)
		abort();
	EVP_DigestInit_ex(e->part, EVP_md5(), NULL);
	EVP_DigestInit_ex(e->all, EVP_md5(), NULL);
}

static void
etag_close_part(struct s3_etag *e)
{
	unsigned char d[16];

	EVP_DigestFinal_ex(e->part, d, NULL);
	EVP_DigestUpdate(e->all, d, 16);
	EVP_DigestInit_ex(e->part, EVP_md5(), NULL);
	e->nparts++;
	e->in_part = 0;
}

void
s3_etag_update(struct s3_etag *e, const void *buf, size_t len)
{
	const char *p = buf;
	size_t n;

	e->done += len;
	while (len > 0) {
		n = len;
		if (e->part_size > 0 && e->in_part + n > e->part_size)
			n = (size_t)(e->part_size - e->in_part);
		EVP_DigestUpdate(e->part, p, n);
		e->in_part += n;
		p += n;
		len -= n;
		if (e->part_size > 0 && e->in_part == e->part_size)
			etag_close_part(e);
	}
}

/* Writes the ETag, without quotes, into out. */
void
s3_etag_final(struct s3_etag *e, char *out, size_t outlen)
{
	unsigned char d[16];
	char hex[33];

	if (e->part_size == 0) {
		EVP_DigestFinal_ex(e->part, d, NULL);
		s3_hex(d, 16, hex);
		snprintf(out, outlen, "%s", hex);
		return;
	}
	if (e->in_part > 0 || e->nparts == 0)
		etag_close_part(e);
	EVP_DigestFinal_ex(e->all, d, NULL);
	s3_hex(d, 16, hex);
	snprintf(out, outlen, "%s-%u", hex, e->nparts);
}

void
s3_etag_free(struct s3_etag *e)
{
	EVP_MD_CTX_free(e->part);
	EVP_MD_CTX_free(e->all);
	e->part = e->all = NULL;
}
