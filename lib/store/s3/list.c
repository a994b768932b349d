/*
 * list.c - listing a "directory" of the store: ListObjectsV2 with
 * delimiter "/", page after page (continuation tokens), from the start
 * or after a key (start-after: the shared log's cursor).
 *
 * SigV4 signs the query string as sent, and the server re-encodes what
 * it received before checking: so parameters go in sorted order with
 * their values percent-encoded ("prefix=dumps%2F").
 */
#include <stdlib.h>
#include <string.h>

#include "store/s3/s3.h"

struct page {
	const char *full;	/* the bucket prefix we list */
	thoth_list_fn fn;
	void *arg;
	char *token;		/* NextContinuationToken, or NULL: last page */
	char *after;		/* start-after (a whole key), or NULL */
};

/* Names relative to the listed prefix; dot-names are never listed
 * (as in the directory store), nor a "directory marker" of the prefix. */
static int
emit(struct page *pg, const char *name)
{
	size_t n = strlen(pg->full);

	if (strncmp(name, pg->full, n) != 0 || name[n] == '\0' ||
	    name[n] == '.' || name[n] == '/')
		return (0);
	return (pg->fn(name + n, pg->arg));
}

static int
each_page(struct page *pg, const char *xml, size_t len)
{
	const char *p = xml, *end = xml + len, *cp;
	char *s, *trunc;
	int rv = 0;

	while (rv == 0 && (s = s3_xml_text(p, (size_t)(end - p), "Key", &p))
	    != NULL) {
		rv = emit(pg, s);
		free(s);
	}
	p = xml;
	while (rv == 0 && (cp = memmem(p, (size_t)(end - p), "<CommonPrefixes>",
	    16)) != NULL && (s = s3_xml_text(cp, (size_t)(end - cp), "Prefix",
	    &p)) != NULL) {
		rv = emit(pg, s);
		free(s);
	}
	trunc = s3_xml_text(xml, len, "IsTruncated", NULL);
	free(pg->token);
	pg->token = NULL;
	if (trunc != NULL && strcmp(trunc, "true") == 0)
		pg->token = s3_xml_text(xml, len, "NextContinuationToken", NULL);
	if (trunc != NULL && strcmp(trunc, "true") == 0 && (pg->token == NULL ||
	    *pg->token == '\0') && rv == 0)
		rv = thoth_fail("listing is truncated but has no continuation "
		    "token");
	free(trunc);
	return (rv);
}

static char *
query(const struct page *pg)
{
	char *pre = s3_encode(pg->full, 0), *tok, *aft, *q;

	tok = pg->token != NULL ? s3_encode(pg->token, 0) : NULL;
	aft = pg->after != NULL ? s3_encode(pg->after, 0) : NULL;
	q = thoth_xasprintf("%s%s%sdelimiter=%%2F&list-type=2&prefix=%s%s%s",
	    tok != NULL ? "continuation-token=" : "", tok != NULL ? tok : "",
	    tok != NULL ? "&" : "", pre, aft != NULL ? "&start-after=" : "",
	    aft != NULL ? aft : "");
	free(tok);
	free(aft);
	free(pre);
	return (q);
}

int
s3_list(struct thoth_store *st, const char *prefix, const char *after,
    thoth_list_fn fn, void *arg)
{
	struct s3 *s3 = st->priv;
	struct page pg = { NULL, fn, arg, NULL, NULL };
	size_t n = strlen(prefix);
	char *full = thoth_xasprintf("%s%s%s", s3->where.prefix, prefix,
	    n > 0 && prefix[n - 1] != '/' ? "/" : "");
	struct s3_req *r;
	char *q;
	int rv;

	pg.full = full;
	if (after != NULL)
		pg.after = thoth_xasprintf("%s%s", full, after);
	do {
		q = query(&pg);
		r = s3_req_new(s3, "GET", NULL, q);
		free(q);
		rv = s3_perform(r) != 0 ? s3_fail(r) : r->resp == NULL ? 0 :
		    each_page(&pg, r->resp, r->resp_len);
		s3_req_free(r);
	} while (rv == 0 && pg.token != NULL);
	free(pg.token);
	free(pg.after);
	free(full);
	return (rv < 0 ? -1 : 0);
}
