/*
 * where.c - where an s3:// store is: bucket, prefix, endpoint,
 * region, the root shown in records and the local index directory.
 * No libcurl here: tools that only read the index (thoth-filter,
 * thoth-report) know an S3 store's index without linking the backend.
 */
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

const char *
s3_env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

/* RFC 3986 unreserved characters stay, everything else is %XX (upper
 * case hex): the canonical form both curl and the server sign. */
char *
s3_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = thoth_xmalloc(strlen(s) * 3 + 1), *o = out;
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || (c == '/' && keep_slash)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return (out);
}

/* "bucket/some/prefix/" -> bucket, "some/prefix/". */
static int
parse_url(struct s3_where *s3, const char *url)
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

/* The endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or AWS's own. */
static int
endpoint(struct s3_where *w)
{
	const char *ep = s3_env("AWS_ENDPOINT_URL_S3");
	const char *reg = s3_env("AWS_REGION") != NULL ? s3_env("AWS_REGION") :
	    s3_env("AWS_DEFAULT_REGION") != NULL ? s3_env("AWS_DEFAULT_REGION") :
	    "us-east-1";

	if (strspn(reg, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(reg))
		return (thoth_fail("AWS_REGION=%s: bad region name", reg));
	w->region = thoth_xstrdup(reg);
	if (ep == NULL)
		ep = s3_env("AWS_ENDPOINT_URL");
	w->endpoint = ep != NULL ? thoth_xstrdup(ep) :
	    thoth_xasprintf("https://s3.%s.amazonaws.com", reg);
	while (strlen(w->endpoint) > 8 &&
	    w->endpoint[strlen(w->endpoint) - 1] == '/')
		w->endpoint[strlen(w->endpoint) - 1] = '\0';
	if (strncmp(w->endpoint, "http://", 7) != 0 &&
	    strncmp(w->endpoint, "https://", 8) != 0)
		return (thoth_fail("AWS_ENDPOINT_URL=%s: want http:// or "
		    "https://", w->endpoint));
	return (0);
}

int
s3_where(struct s3_where *w, const char *url)
{
	memset(w, 0, sizeof (*w));
	if (parse_url(w, url) != 0 || endpoint(w) != 0) {
		s3_where_free(w);
		return (-1);
	}
	return (0);
}

void
s3_where_free(struct s3_where *w)
{
	free(w->endpoint);
	free(w->bucket);
	free(w->prefix);
	free(w->region);
	memset(w, 0, sizeof (*w));
}

/* "s3://bucket/prefix": what records name dumps by. */
char *
s3_where_root(const struct s3_where *w)
{
	return (thoth_xasprintf("s3://%s%s%.*s", w->bucket,
	    *w->prefix != '\0' ? "/" : "", (int)strlen(w->prefix) -
	    (*w->prefix != '\0'), w->prefix));
}

/*
 * ${XDG_CACHE_HOME:-$HOME/.cache}/thoth/index/HOST_BUCKET_PREFIX: '/'
 * and ':' become '_', other characters outside [A-Za-z0-9.-] %XX, so
 * different stores never share an index.
 */
char *
s3_where_index_dir(const struct s3_where *s3)
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
