/*
 * scan.c - canonical NDJSON lines, read in place.
 *
 * scan_line accepts a line only if jansson would parse it (flags 0 or
 * JSON_REJECT_DUPLICATES alike) into an object and print it back byte
 * for byte: no whitespace, integers of at most 18 digits and no "-0",
 * no reals, strings of valid UTF-8 whose only escapes are those jansson
 * writes (\" \\ \b \f \n \r \t and \u00XX, upper case, for the other
 * control characters), no key twice in an object, nesting under 32.
 * Such a line is its own compact record, and a string's raw bytes equal
 * each other exactly when the strings do.  Whatever is refused goes to
 * jansson: being strict here only costs speed, never correctness.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "scan/scan.h"

#define MAXDEPTH	32
#define MAXNESTED	256	/* keys of the nested objects open at once */
#define MAXWORDS	64	/* quote maps for lines up to 4 KiB */
#define ONES		UINT64_C(0x0101010101010101)
#define HIGHS		UINT64_C(0x8080808080808080)

struct vstate {
	const char *line, *e;
	int clean;		/* no '\\', control or non-ASCII byte */
	size_t nwords;
	uint64_t quotes[MAXWORDS];	/* bit n: line[n] is '"' */
	struct scan_val keys[MAXNESTED];
	int nkeys;
};

/* High bit of each byte set where w holds '"', '\\', a control
 * character or a non-ASCII byte; only the lowest such byte is exact. */
static inline uint64_t
special(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');

	return ((((q - ONES) & ~q) | ((b - ONES) & ~b) |
	    ((w - ONES * 0x20) & ~w) | w) & HIGHS);
}

static inline int
is_special(unsigned char c)
{
	return (c == '"' || c == '\\' || c < 0x20 || c >= 0x80);
}

/* A valid UTF-8 sequence at p (as json.c and jansson see it): its end. */
static const char *
utf8_scan(const char *p, const char *e)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t len, i;
	unsigned cp;

	if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07; }
	else return (NULL);
	if ((size_t)(e - p) < len)
		return (NULL);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (NULL);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return (NULL);
	return (p + len);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* An escape as jansson writes it, at p (the backslash): its end. */
static const char *
esc_scan(const char *p, const char *e)
{
	int hi, lo, c;

	if (e - p < 2)
		return (NULL);
	if (strchr("\"\\bfnrt", p[1]) != NULL && p[1] != '\0')
		return (p + 2);
	if (p[1] != 'u' || e - p < 6 || p[2] != '0' || p[3] != '0')
		return (NULL);
	if ((hi = hexval(p[4])) < 0 || hi > 1 || (lo = hexval(p[5])) < 0)
		return (NULL);
	c = hi * 16 + lo;
	if (c == 0 || c == '\b' || c == '\t' || c == '\n' || c == '\f' ||
	    c == '\r')
		return (NULL);
	return (p + 6);
}

/* From just after an opening quote: the closing quote, or NULL. */
static const char *
str_scan(const char *p, const char *e, uint8_t *esc)
{
	uint64_t w, m;

	for (;;) {
#ifdef __SSE2__
		/* Signed, bytes of 0x80 and up are below 0x20 too. */
		const __m128i quote = _mm_set1_epi8('"');
		const __m128i bslash = _mm_set1_epi8('\\');
		const __m128i space = _mm_set1_epi8(0x20);
		while (e - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)p);
			int bits = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
			    _mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
			    _mm_cmplt_epi8(x, space)));
			if (bits != 0) {
				p += __builtin_ctz((unsigned)bits);
				goto found;
			}
			p += 16;
		}
#endif
		while (e - p >= 8) {
			memcpy(&w, p, 8);
			if ((m = special(w)) != 0) {
				p += __builtin_ctzll(m) >> 3;
				goto found;
			}
			p += 8;
		}
		while (p < e && !is_special((unsigned char)*p))
			p++;
		if (p >= e)
			return (NULL);
found:
		if (*p == '"')
			return (p);
		if (*p == '\\') {
			*esc = 1;
			p = esc_scan(p, e);
		} else if ((unsigned char)*p < 0x20) {
			return (NULL);
		} else {
			p = utf8_scan(p, e);
		}
		if (p == NULL)
			return (NULL);
	}
}

/*
 * Most lines hold no backslash, control or non-ASCII byte at all: then
 * every '"' ends or starts a string and no string needs checking.  One
 * pass over such a line marks its quotes; strings are then skipped by
 * looking up the next mark, without a branch per byte or per string
 * that the processor cannot guess.
 */
static void
quote_map(struct vstate *st, const char *s, size_t len)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	__m128i acc = _mm_setzero_si128(), x;
	char tail[64];
	size_t i, k;
	uint64_t w;

	st->clean = 0;
	st->nwords = (len + 63) / 64;
	if (len >= MAXWORDS * 64)
		return;
	for (i = 0; i < len; i += 64) {
		const char *b = s + i;
		if (len - i < 64) {	/* the tail, padded with spaces */
			memset(tail, ' ', sizeof (tail));
			memcpy(tail, b, len - i);
			b = tail;
		}
		for (w = 0, k = 0; k < 4; k++) {
			x = _mm_loadu_si128((const __m128i *)(b + 16 * k));
			w |= (uint64_t)(uint16_t)_mm_movemask_epi8(
			    _mm_cmpeq_epi8(x, quote)) << (16 * k);
			acc = _mm_or_si128(acc, _mm_or_si128(_mm_cmpeq_epi8(x,
			    bslash), _mm_cmplt_epi8(x, space)));
		}
		st->quotes[i / 64] = w;
	}
	st->clean = _mm_movemask_epi8(acc) == 0;
#else
	(void)s;
	(void)len;
	st->clean = 0;
#endif
}

/* From just after an opening quote: the closing quote, or NULL. */
static inline const char *
str_end(const struct vstate *st, const char *p, uint8_t *esc)
{
	size_t at = (size_t)(p - st->line), w = at / 64;
	uint64_t m;

	if (!st->clean)
		return (str_scan(p, st->e, esc));
	if (w >= st->nwords)
		return (NULL);
	m = st->quotes[w] & (~UINT64_C(0) << (at % 64));
	while (m == 0) {
		if (++w == st->nwords)
			return (NULL);
		m = st->quotes[w];
	}
	return (st->line + w * 64 + (size_t)__builtin_ctzll(m));
}

static const char *
num_scan(const char *p, const char *e)
{
	const char *s = p, *d;

	if (*p == '-' && ++p >= e)
		return (NULL);
	d = p;
	if (*p == '0')
		return (p == s ? p + 1 : NULL);	/* "-0" prints as "0" */
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	if (p == d || p - d > 18)
		return (NULL);
	return (p);
}

static const char *
word_scan(const char *p, const char *e, const char *w, size_t n)
{
	return ((size_t)(e - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL);
}

/* Same key bytes; canonical escapes make that the same key. */
static int
same_key(const struct scan_val *a, const struct scan_val *b)
{
	return (a->len == b->len && memcmp(a->p, b->p, a->len) == 0);
}

static inline unsigned
key_bit(const struct scan_val *k)
{
	const unsigned char *p = (const unsigned char *)k->p;
	uint32_t x;

	if (k->len == 0)
		return (0);
	x = p[0] | (uint32_t)(k->len > 1 ? p[1] : 0) << 8 |
	    (uint32_t)p[k->len - 1] << 16 | k->len << 24;
	return ((x * UINT32_C(0x9e3779b1)) >> 26);
}

static int
dup_slow(const struct scan_val *keys, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (same_key(&keys[i], &keys[n]))
			return (1);
	return (0);
}

/* Is k (the n-th of keys[0..n)) there before? A bitmask of the keys
 * seen spares most comparisons. */
static inline int
dup_key(const struct scan_val *keys, int n, uint64_t *seen)
{
	uint64_t bit = UINT64_C(1) << key_bit(&keys[n]);

	if ((*seen & bit) != 0 && dup_slow(keys, n))
		return (1);
	*seen |= bit;
	return (0);
}

static const char *value_scan(struct vstate *st, const char *p,
    struct scan_val *v, int depth);

static const char *
key_scan(const struct vstate *st, const char *p, struct scan_val *k)
{
	const char *e = st->e, *q;

	if (p >= e || *p != '"')
		return (NULL);
	k->esc = 0;
	k->type = SV_STR;
	if ((q = str_end(st, p + 1, &k->esc)) == NULL || q + 1 >= e ||
	    q[1] != ':')
		return (NULL);
	k->p = p + 1;
	k->len = (uint32_t)(q - p - 1);
	return (q + 2);
}

/* A nested object, its keys kept on st->keys while it is open. */
static const char *
obj_scan(struct vstate *st, const char *p, int depth)
{
	int first = st->nkeys;
	uint64_t seen = 0;
	struct scan_val v;

	if (++p < st->e && *p == '}')
		return (p + 1);
	for (;;) {
		if (st->nkeys == MAXNESTED ||
		    (p = key_scan(st, p, &st->keys[st->nkeys])) == NULL ||
		    dup_key(st->keys + first, st->nkeys++ - first, &seen) ||
		    (p = value_scan(st, p, &v, depth)) == NULL || p >= st->e)
			return (NULL);
		if (*p == '}')
			break;
		if (*p++ != ',')
			return (NULL);
	}
	st->nkeys = first;
	return (p + 1);
}

static const char *
arr_scan(struct vstate *st, const char *p, int depth)
{
	struct scan_val v;

	if (++p < st->e && *p == ']')
		return (p + 1);
	for (;;) {
		if ((p = value_scan(st, p, &v, depth)) == NULL || p >= st->e)
			return (NULL);
		if (*p == ']')
			return (p + 1);
		if (*p++ != ',')
			return (NULL);
	}
}

static const char *
value_scan(struct vstate *st, const char *p, struct scan_val *v, int depth)
{
	const char *e = st->e, *q;

	if (p >= e || depth >= MAXDEPTH)
		return (NULL);
	v->p = p;
	v->esc = 0;
	switch (*p) {
	case '"':
		v->type = SV_STR;
		q = str_end(st, p + 1, &v->esc);
		q = q != NULL ? q + 1 : NULL;
		break;
	case '{':
		v->type = SV_OBJ;
		q = obj_scan(st, p, depth + 1);
		break;
	case '[':
		v->type = SV_ARR;
		q = arr_scan(st, p, depth + 1);
		break;
	case 't': v->type = SV_TRUE; q = word_scan(p, e, "true", 4); break;
	case 'f': v->type = SV_FALSE; q = word_scan(p, e, "false", 5); break;
	case 'n': v->type = SV_NULL; q = word_scan(p, e, "null", 4); break;
	default:
		v->type = SV_NUM;
		q = (*p == '-' || (*p >= '0' && *p <= '9')) ? num_scan(p, e) :
		    NULL;
	}
	if (q != NULL)
		v->len = (uint32_t)(q - p);
	return (q);
}

int
scan_line(struct scan_rec *r, const char *line, size_t len)
{
	struct vstate st;
	const char *p = line, *e = line + len;
	uint64_t seen = 0;

	if (len < 2 || len > UINT32_MAX || *p++ != '{')
		return (-1);
	st.line = line;
	st.e = e;
	st.nkeys = 0;
	quote_map(&st, line, len);
	r->line = line;
	r->len = len;
	r->n = 0;
	r->rest = NULL;
	if (*p == '}')
		return (p + 1 == e ? 0 : -1);
	for (;;) {
		if (r->n == SCAN_MAXKEYS ||
		    (p = key_scan(&st, p, &r->key[r->n])) == NULL ||
		    dup_key(r->key, r->n, &seen) ||
		    (p = value_scan(&st, p, &r->val[r->n], 1)) == NULL ||
		    p >= e)
			return (-1);
		r->n++;
		if (*p == '}')
			return (p + 1 == e ? 0 : -1);
		if (*p++ != ',')
			return (-1);
	}
}

/* One escape at p (canonical): the character, and p moves past it. */
static char
unesc(const char **pp)
{
	const char *p = *pp;

	*pp = p + 2;
	switch (p[1]) {
	case 'b': return ('\b');
	case 'f': return ('\f');
	case 'n': return ('\n');
	case 'r': return ('\r');
	case 't': return ('\t');
	case 'u':
		*pp = p + 6;
		return ((char)(hexval(p[4]) * 16 + hexval(p[5])));
	default: return (p[1]);
	}
}

/* Does the raw key k (contents) spell key (n bytes, unescaped)? */
static int
key_is(const struct scan_val *k, const char *key, size_t n)
{
	const char *p = k->p, *e = k->p + k->len;
	size_t i = 0;
	char c;

	if (!k->esc)
		return (k->len == n && memcmp(k->p, key, n) == 0);
	while (p < e) {
		c = *p == '\\' ? unesc(&p) : *p++;
		if (i == n || key[i++] != c)
			return (0);
	}
	return (i == n);
}

void
scan_trust(struct scan_rec *r, const char *line, size_t len)
{
	r->line = line;
	r->len = len;
	r->n = 0;
	r->rest = len > 2 && line[0] == '{' ? line + 1 : NULL;
}

/*
 * The next field of a trusted line, checked as scan_line checks it but
 * alone: so a summary that lies (a damaged or forged base.ndjson.idx)
 * can make fields look absent, never send a reader off the line.
 */
static void
read_field(struct scan_rec *r)
{
	struct vstate st;
	const char *p;

	st.line = r->line;
	st.e = r->line + r->len;
	st.clean = 0;
	st.nwords = 0;
	st.nkeys = 0;
	if (r->n == SCAN_MAXKEYS ||
	    (p = key_scan(&st, r->rest, &r->key[r->n])) == NULL ||
	    (p = value_scan(&st, p, &r->val[r->n], 1)) == NULL || p >= st.e ||
	    (*p != ',' && *p != '}')) {
		r->rest = NULL;
		return;
	}
	r->n++;
	r->rest = *p == '}' ? NULL : p + 1;
}

int
scan_get(const struct scan_rec *r, const char *key, size_t n,
    struct scan_val *v)
{
	struct scan_rec *lazy = (struct scan_rec *)r;	/* only reads ahead */
	int i;

	for (i = 0; ; i++) {
		if (i == r->n && r->rest != NULL)
			read_field(lazy);
		if (i >= r->n)
			return (0);
		if (key_is(&r->key[i], key, n)) {
			*v = r->val[i];
			return (1);
		}
	}
}

/*
 * The values inside a checked line are walked without checking again:
 * every string is closed, every bracket matched.
 */
static const char *
skip_str(const char *p, uint8_t *esc)
{
	const char *q = p + 1, *b;

	for (;;) {
		q = rawmemchr(q, '"');
		for (b = q; b[-1] == '\\'; b--)
			continue;
		if ((q - b) % 2 == 0)
			break;
		q++;
	}
	*esc = memchr(p + 1, '\\', (size_t)(q - p - 1)) != NULL;
	return (q + 1);
}

static void
skip_value(const char *p, struct scan_val *v)
{
	const char *s = p;
	uint8_t esc;
	int depth = 0;

	v->p = p;
	v->esc = 0;
	switch (*p) {
	case '"': v->type = SV_STR; p = skip_str(p, &v->esc); break;
	case 't': v->type = SV_TRUE; p += 4; break;
	case 'f': v->type = SV_FALSE; p += 5; break;
	case 'n': v->type = SV_NULL; p += 4; break;
	case '{':
	case '[':
		v->type = *p == '{' ? SV_OBJ : SV_ARR;
		do {
			if (*p == '"') {
				p = skip_str(p, &esc);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			p++;
		} while (depth > 0);
		break;
	default:
		v->type = SV_NUM;
		for (p++; *p >= '0' && *p <= '9'; p++)
			continue;
	}
	v->len = (uint32_t)(p - s);
}

int
scan_obj_next(const struct scan_val *obj, const char **cur,
    struct scan_val *k, struct scan_val *v)
{
	const char *p = *cur == NULL ? obj->p + 1 : *cur;

	if (obj->type != SV_OBJ || *p == '}')
		return (0);
	if (*cur != NULL)
		p++;		/* the ',' after the last value */
	k->p = p + 1;
	k->type = SV_STR;
	p = skip_str(p, &k->esc);
	k->len = (uint32_t)(p - k->p - 1);
	skip_value(p + 1, v);
	*cur = v->p + v->len;
	return (1);
}

int
scan_obj_get(const struct scan_val *obj, const char *key, size_t n,
    struct scan_val *v)
{
	const char *cur = NULL;
	struct scan_val k;

	while (scan_obj_next(obj, &cur, &k, v))
		if (key_is(&k, key, n))
			return (1);
	return (0);
}

int
scan_arr_next(const struct scan_val *arr, const char **cur,
    struct scan_val *v)
{
	const char *p = *cur == NULL ? arr->p : *cur;

	if (*p == ']' || (*cur == NULL && p[1] == ']'))
		return (0);
	skip_value(p + 1, v);
	*cur = v->p + v->len;
	return (1);
}

long
scan_str(const struct scan_val *v, char *buf, size_t cap)
{
	const char *p = v->p + 1, *e = v->p + v->len - 1;
	size_t n = 0;

	if (!v->esc) {
		n = (size_t)(e - p);
		if (n >= cap)
			return (-1);
		memcpy(buf, p, n);
	} else {
		while (p < e) {
			if (n + 1 >= cap)
				return (-1);
			buf[n++] = *p == '\\' ? unesc(&p) : *p++;
		}
	}
	buf[n] = '\0';
	return ((long)n);
}

int64_t
scan_int(const struct scan_val *v)
{
	const char *p = v->p, *e = v->p + v->len;
	int neg = *p == '-';
	int64_t n = 0;

	for (p += neg; p < e; p++)
		n = n * 10 + (*p - '0');
	return (neg ? -n : n);
}

/* thoth_json_path on a canonical line: properties stand in for missing
 * top-level fields; a component of 256 bytes or more finds nothing. */
int
scan_path(const struct scan_rec *r, const char *path, struct scan_val *v)
{
	const char *p = path, *dot;
	struct scan_val props;
	int top = 1, found;
	size_t n;

	v->p = r->line;
	v->len = (uint32_t)r->len;
	v->type = SV_OBJ;
	v->esc = 0;
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= 256 || v->type != SV_OBJ)
			return (0);
		if (top) {
			found = scan_get(r, p, n, v) || (scan_get(r,
			    "properties", 10, &props) &&
			    scan_obj_get(&props, p, n, v));
		} else {
			struct scan_val parent = *v;
			found = scan_obj_get(&parent, p, n, v);
		}
		if (!found)
			return (0);
		top = 0;
		p = dot != NULL ? dot + 1 : p + n;
	}
	return (1);
}

const char *
scan_id(const struct scan_rec *r)
{
	struct scan_val v;
	unsigned c, bad = 0;
	size_t i;

	if (!scan_get(r, "id", 2, &v) || v.type != SV_STR ||
	    v.len != THOTH_ID_LEN + 2)
		return (NULL);
	/* Without a branch per digit, which no processor can guess. */
	for (i = 1; i <= THOTH_ID_LEN; i++) {
		c = (unsigned char)v.p[i];
		bad |= ((unsigned)(c - '0') > 9) & ((unsigned)(c - 'a') > 5);
	}
	return (bad ? NULL : v.p + 1);
}
