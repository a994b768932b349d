/*
 * lit.c - the literal prefilter: bytes that every canonical line a spec
 * matches must hold, so that lines without them are passed over by
 * memmem(3) instead of being checked and matched one by one (the way
 * grep and ripgrep find lines).
 *
 * On a canonical line (scan.c) a string is its raw bytes between
 * quotes, and any other value is its own compact text, which is what a
 * pattern is matched against.  So from each token with a pattern comes
 * the longest run of its literal bytes: quoted on the side where the
 * pattern is anchored, if no number, true, false, null, object or array
 * could match there (cmd=node: "node", cmd=svc*: "svc); bare otherwise
 * (stack=*abort*: abort).  A run holding a byte that canonical JSON
 * escapes, and patterns with ? [ or \, give nothing.  A needle ending in
 * a quote never counts where a ':' follows: that is a key.  The id
 * prefix gives "id":"PREFIX.  Only lines known to be canonical may be
 * passed over this way (the index's block summary knows which).
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "spec_impl.h"
#include "scan/scan.h"

#define MAXNEEDLES	16
#define TUNE_PLACES	8	/* a needle's places tune_pair tries in pairs */

struct needle {
	char *s;
	size_t len;
	int value;		/* ends with '"': not where ':' follows */
	size_t i, j;		/* its two rarest bytes, searched as a pair */
};

/* Bytes from the most frequent in records on: JSON punctuation, hex
 * digits (ids, hashes, times), lower-case words; any other is rarer. */
static const char common[] = "\",:0123456789abcdef etaoinsrhlumpgwyvkxjqz";

static size_t
rank(char c)
{
	const char *p = c != '\0' ? strchr(common, c) : NULL;

	return (p != NULL ? (size_t)(p - common) : sizeof (common));
}

/* The positions of the two rarest bytes of nd (by rank, then last). */
static void
pick_pair(struct needle *nd)
{
	size_t k;

	nd->i = 0;
	nd->j = nd->len > 1 ? 1 : 0;
	for (k = 0; k < nd->len; k++) {
		if (rank(nd->s[k]) >= rank(nd->s[nd->i])) {
			if (nd->i != k)
				nd->j = nd->i;
			nd->i = k;
		} else if (k != nd->i && (nd->j == nd->i ||
		    rank(nd->s[k]) >= rank(nd->s[nd->j])))
			nd->j = k;
	}
}

struct scan_lit {
	struct needle n[MAXNEEDLES];	/* the longest first */
	size_t count;
};

/* Can a non-string's compact text start (or end) with c? */
static int
bare_start(char c)
{
	return (c != '\0' && strchr("-0123456789tfn{[", c) != NULL);
}

static int
bare_end(char c)
{
	return (c != '\0' && strchr("0123456789el}]", c) != NULL);
}

static int
plain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20)
			return (0);
	return (1);
}

static void
add(struct scan_lit *lit, const char *pre, const char *s, size_t n,
    const char *post)
{
	struct needle *nd;

	if (lit->count == MAXNEEDLES)
		return;
	nd = &lit->n[lit->count++];
	nd->s = thoth_xasprintf("%s%.*s%s", pre, (int)n, s, post);
	nd->len = strlen(nd->s);
	nd->value = *post == '"';
	pick_pair(nd);
}

/* The longest literal run of t's pattern, quoted where it can be. */
static void
token_needle(struct scan_lit *lit, const struct token *t)
{
	const char *v = t->value, *best = v, *p, *star;
	size_t n = 0, len;
	int string;

	if (v == NULL || t->kind == PAT_FNMATCH)
		return;
	for (p = v; p <= v + t->vlen; p = star + 1) {
		if ((star = memchr(p, '*', (size_t)(v + t->vlen - p))) == NULL)
			star = v + t->vlen;
		if ((len = (size_t)(star - p)) > n) {
			best = p;
			n = len;
		}
	}
	if (n == 0 || !plain(best, n))
		return;
	/* Only a string can match a pattern that starts or ends so. */
	string = (v[0] != '*' && !bare_start(v[0])) ||
	    (v[t->vlen - 1] != '*' && !bare_end(v[t->vlen - 1]));
	add(lit, string && best == v ? "\"" : "", best, n,
	    string && best + n == v + t->vlen ? "\"" : "");
}

static int
cmp_len(const void *a, const void *b)
{
	const struct needle *x = a, *y = b;

	return (x->len == y->len ? 0 : x->len > y->len ? -1 : 1);
}

struct scan_lit *
scan_lit_make(const struct thoth_spec *spec)
{
	struct scan_lit *lit = thoth_xmalloc(sizeof (*lit));
	size_t i;

	lit->count = 0;
	if (spec->prefix != NULL)
		add(lit, "\"id\":\"", spec->prefix, strlen(spec->prefix), "");
	for (i = 0; i < spec->ntoks; i++)
		token_needle(lit, &spec->toks[i]);
	if (lit->count == 0) {
		free(lit);
		return (NULL);
	}
	qsort(lit->n, lit->count, sizeof (lit->n[0]), cmp_len);
	return (lit);
}

void
scan_lit_free(struct scan_lit *lit)
{
	size_t i;

	if (lit == NULL)
		return;
	for (i = 0; i < lit->count; i++)
		free(lit->n[i].s);
	free(lit);
}

/*
 * memmem(3), the way fast searchers do it: 16 places at a time where
 * both rare bytes of the needle sit at their distance (SSE2), each
 * checked whole; memmem does the tail and other machines.
 */
static const char *
pair_find(const struct needle *nd, const char *p, const char *e)
{
#ifdef __SSE2__
	const __m128i bi = _mm_set1_epi8(nd->s[nd->i]);
	const __m128i bj = _mm_set1_epi8(nd->s[nd->j]);
	size_t far = (nd->i > nd->j ? nd->i : nd->j) + 16;
	unsigned m, k;

	while ((size_t)(e - p) >= far) {
		m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(p + nd->i)), bi),
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p +
		    nd->j)), bj)));
		for (; m != 0; m &= m - 1) {
			k = (unsigned)__builtin_ctz(m);
			if ((size_t)(e - p) - k >= nd->len &&
			    memcmp(p + k, nd->s, nd->len) == 0)
				return (p + k);
		}
		p += 16;
	}
#endif
	return (memmem(p, (size_t)(e - p), nd->s, nd->len));
}

/* Places in [p, p + n) where nd's bytes i and j sit at their distance
 * (what pair_find would stop at), counted 16 at a time. */
static size_t
pair_count(const struct needle *nd, size_t i, size_t j, const char *p,
    size_t n)
{
	size_t count = 0, far = (i > j ? i : j) + 16, k;

#ifdef __SSE2__
	const __m128i bi = _mm_set1_epi8(nd->s[i]), bj = _mm_set1_epi8(nd->s[j]);

	for (k = 0; k + far <= n; k += 16)
		count += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(
		    _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128(
		    (const __m128i *)(p + k + i)), bi), _mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(p + k + j)), bj))));
#else
	for (k = 0; k + far <= n; k++)
		count += p[k + i] == nd->s[i] && p[k + j] == nd->s[j];
#endif
	return (count);
}

/*
 * The pair of a needle's bytes found least often together in sample:
 * the ranks of pick_pair guess from English and hex, but a word like
 * "abort" has only common letters, and its rarest two, "or", are in
 * "platform" and "core" on every line.  A few of the needle's places
 * (its rarest by rank) are tried in pairs over one sample of the data.
 */
static void
tune_pair(struct needle *nd, const char *sample, size_t n)
{
	size_t pos[TUNE_PLACES], npos, a, b, k, c, best;
	unsigned char taken[256] = { 0 };	/* places, when len <= 256 */

	if (nd->len < 2 || nd->len > sizeof (taken))
		return;
	for (npos = 0; npos < TUNE_PLACES && npos < nd->len; npos++) {
		for (b = nd->len, k = 0; k < nd->len; k++)	/* the rarest left */
			if (!taken[k] && (b == nd->len ||
			    rank(nd->s[k]) > rank(nd->s[b])))
				b = k;
		taken[b] = 1;
		pos[npos] = b;
	}
	best = pair_count(nd, nd->i, nd->j, sample, n);
	for (a = 0; a < npos && best > 0; a++)
		for (b = a + 1; b < npos && best > 0; b++)
			if ((c = pair_count(nd, pos[a], pos[b], sample, n)) <
			    best) {
				best = c;
				nd->i = pos[a];
				nd->j = pos[b];
			}
}

void
scan_lit_tune(struct scan_lit *lit, const char *sample, size_t n)
{
	size_t i;

	for (i = 0; lit != NULL && i < lit->count; i++)
		tune_pair(&lit->n[i], sample, n);
}

static const char *
find(const struct needle *nd, const char *p, const char *e)
{
	while (p < e && (p = pair_find(nd, p, e)) != NULL) {
		if (!nd->value || p + nd->len == e || p[nd->len] != ':')
			return (p);
		p++;
	}
	return (NULL);
}

const char *
scan_lit_find(const struct scan_lit *lit, const char *p, const char *e)
{
	return (find(&lit->n[0], p, e));
}

int
scan_lit_line(const struct scan_lit *lit, const char *s, size_t len)
{
	size_t i;

	for (i = 1; i < lit->count; i++)
		if (find(&lit->n[i], s, s + len) == NULL)
			return (0);
	return (1);
}
