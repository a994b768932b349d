/*
 * keys.c - the keys of the index's block filters (index/sidecar.c): a
 * hash of each (path, value) pair that a spec token field=value can
 * ask for, on the fields people select on, so that a block whose
 * filter lacks a token's key is known to hold no record it matches.
 *
 * Both sides are here, so that they cannot drift apart.  A canonical
 * line gives, for each field of SELECTIVE at the top level and for
 * "properties", every value the spec matcher (scan/spec.c) can reach:
 * through objects, arrays standing for each of their elements, a
 * string as its unescaped contents, any other value as its raw text
 * (an object too, which a token may compare whole).  A property P is
 * given twice, as "properties.P" and as "P", since a name that is not
 * a field of the record is looked up in its properties.  Any other
 * field F gives only a key saying that the record has F.  The id also
 * gives its first 4 and 8 digits, for id prefixes.
 * A spec gives a need for each token with a literal value: its key
 * (path, value), or, when the path starts with a field F outside
 * SELECTIVE, that key or F's: a record it matches has the value (among
 * its properties) or a field F of its own, unknown here.  An id prefix
 * of at least 4 digits gives one too.  Any other token says nothing.
 * What a key is, is part of the summary's format: a change here must
 * change MAGIC in index/sidecar.c, so that old summaries are made again.
 */
#include <stdlib.h>
#include <string.h>

#include "spec_impl.h"
#include "scan/scan.h"

#define SMALL	256	/* strings unescaped on the stack; longer on the heap */
#define C1	UINT64_C(0x87c37b91114253d5)
#define C2	UINT64_C(0x4cf5ad432745937f)

/* Fields whose values are summed up; any other path is read as before. */
#define F(s)	{ s, sizeof (s) - 1 }
static const struct {
	const char *name;
	size_t len;
} selective[] = {
	F("id"), F("ticket"), F("signature"), F("cmd"), F("node"),
	F("hostname"), F("exe"), F("platform"), F("boot_id"), F("zone"),
	F("dump_uuid"), F("properties"), { NULL, 0 }
};
#undef F

/* The id prefixes, under paths no spec token can name. */
static const size_t prefix_len[] = { 8, 4 };
static const char *const prefix_path[] = { ".id8", ".id4" };

struct walk {
	scan_key_fn *fn;
	void *arg;
};

static uint64_t
rotl(uint64_t x, int r)
{
	return ((x << r) | (x >> (64 - r)));
}

/* One part of a key (a path component or the value), 8 bytes a step,
 * its length folded in so that parts cannot run into each other. */
static uint64_t
mix(uint64_t h, const char *s, size_t n)
{
	uint64_t w;
	size_t len = n;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = rotl(h ^ (w * C1), 29) * C2;
	}
	w = 0;
	memcpy(&w, s, n);
	return (rotl(h ^ (w * C1) ^ len, 29) * C2);
}

/* The key of a value (n bytes) under a path hashed as h. */
static uint64_t
finish(uint64_t h, const char *s, size_t n)
{
	h = mix(h ^ UINT64_C(0x9e3779b97f4a7c15), s, n);
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return (h ^ (h >> 33));
}

/* A path hashed from nothing, component by component; the names of
 * the fields a record has, outside SELECTIVE, from TOP. */
#define ROOT	UINT64_C(0x243f6a8885a308d3)
#define TOP	UINT64_C(0x13198a2e03707344)

/* A string's contents (v quoted) or a key's (v not), unescaped, mixed
 * into h, or finished as a value. */
static uint64_t
str_hash(uint64_t h, const struct scan_val *v, int quoted, int value)
{
	struct scan_val q = *v;
	char small[SMALL], *buf = small;
	long n;

	if (!quoted) {
		q.p--;
		q.len += 2;
	}
	if (!q.esc) {
		return (value ? finish(h, q.p + 1, q.len - 2) :
		    mix(h, q.p + 1, q.len - 2));
	}
	if (q.len > sizeof (small))
		buf = thoth_xmalloc(q.len);
	n = scan_str(&q, buf, q.len > sizeof (small) ? q.len : sizeof (small));
	h = value ? finish(h, buf, (size_t)n) : mix(h, buf, (size_t)n);
	if (buf != small)
		free(buf);
	return (h);
}

/* Every value reachable from v under the path hashed as h. */
static void
walk(const struct walk *w, uint64_t h, const struct scan_val *v)
{
	struct scan_val k, e;
	const char *cur = NULL;

	if (v->type == SV_ARR) {
		while (scan_arr_next(v, &cur, &e))
			walk(w, h, &e);
		return;
	}
	w->fn(w->arg, v->type == SV_STR ? str_hash(h, v, 1, 1) :
	    finish(h, v->p, v->len));
	while (v->type == SV_OBJ && scan_obj_next(v, &cur, &k, &e))
		walk(w, str_hash(h, &k, 0, 0), &e);
}

static int
is_selective(const char *s, size_t n)
{
	size_t i;

	for (i = 0; selective[i].name != NULL; i++)
		if (selective[i].len == n && memcmp(selective[i].name, s, n) == 0)
			return (1);
	return (0);
}

static uint64_t
id_prefix_key(size_t i, const char *id)
{
	return (finish(mix(ROOT, prefix_path[i], strlen(prefix_path[i])), id,
	    prefix_len[i]));
}

void
scan_keys_line(const struct scan_rec *r, scan_key_fn *fn, void *arg)
{
	struct walk w = { fn, arg };
	struct scan_val k, e;
	const char *id = scan_id(r), *cur;
	size_t i;

	for (i = 0; id != NULL && i < sizeof (prefix_len) / sizeof (*prefix_len);
	    i++)
		fn(arg, id_prefix_key(i, id));
	for (i = 0; i < (size_t)r->n; i++) {
		if (r->key[i].esc || !is_selective(r->key[i].p,
		    r->key[i].len)) {
			fn(arg, finish(str_hash(TOP, &r->key[i], 0, 0), "", 0));
			continue;
		}
		walk(&w, mix(ROOT, r->key[i].p, r->key[i].len), &r->val[i]);
		if (r->key[i].len != 10 || memcmp(r->key[i].p, "properties",
		    10) != 0)
			continue;
		for (cur = NULL; scan_obj_next(&r->val[i], &cur, &k, &e); )
			walk(&w, str_hash(ROOT, &k, 0, 0), &e);
	}
}

/* What token t needs, or 0 when it can say nothing of a block. */
static int
token_need(const struct token *t, struct scan_need *need)
{
	const char *c = t->name;
	uint64_t h = ROOT;
	size_t i;

	if (t->value == NULL || t->kind != PAT_LITERAL)
		return (0);
	for (i = 0; i < t->ncomp; i++, c += strlen(c) + 1)
		h = mix(h, c, strlen(c));
	need->key = finish(h, t->value, t->vlen);
	need->alt = is_selective(t->name, strlen(t->name)) ? 0 :
	    finish(mix(TOP, t->name, strlen(t->name)), "", 0);
	return (1);
}

/* An id prefix as a token id=PREFIX* or a bare PREFIX: its key, or 0. */
static uint64_t
prefix_key(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof (prefix_len) / sizeof (*prefix_len); i++)
		if (n >= prefix_len[i])
			return (id_prefix_key(i, p));
	return (0);
}

size_t
scan_keys_spec(const struct thoth_spec *spec, struct scan_need *needs,
    size_t max)
{
	const struct token *t;
	size_t i, n = 0;

	if (spec->prefix != NULL && max > 0 && (needs[n].key =
	    prefix_key(spec->prefix, strlen(spec->prefix))) != 0)
		needs[n++].alt = 0;
	for (i = 0; i < spec->ntoks && n < max; i++) {
		t = &spec->toks[i];
		if (token_need(t, &needs[n])) {
			n++;
		} else if (t->kind == PAT_STARS && t->ncomp == 1 &&
		    strcmp(t->name, "id") == 0 && t->pre + 1 == t->vlen &&
		    (needs[n].key = prefix_key(t->value, t->pre)) != 0) {
			needs[n++].alt = 0;
		}
	}
	return (n);
}
