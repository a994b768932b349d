/*
 * spec.c - dump specifications: parsing and matching (thoth-filter(1)).
 *
 * A spec is a list of tokens, all of which must hold:
 *	HEX		the record's id starts with HEX (one such token)
 *	path=glob	the value at path (dotted, arrays mean "any
 *			element") matches the fnmatch(3) pattern glob
 *	path=undefined	nothing is at path
 *	mtime=AGE	uploaded within the last AGE
 *	otime=AGE	uploaded more than AGE ago
 *	limit=N		at most N records (the caller enforces it)
 *	dump=stdin	the id is one of those read by thoth_spec_add_ids
 *
 * Everything is checked while parsing, so that a bad spec fails before
 * any input is read.  thoth_spec_match is the reference matcher, on
 * jansson records; scan/spec.c matches canonical raw lines the same way.
 */
#include <err.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "spec_impl.h"

#define MAX_SHOWN	40	/* bytes of a bad id line quoted in errors */

/* "a.b.c" into "a\0b\0c"; empty components are an error. */
static int
split_path(struct token *t, const char *arg, size_t len)
{
	size_t i;

	t->name = thoth_xmalloc(len + 1);
	memcpy(t->name, arg, len);
	t->name[len] = '\0';
	t->ncomp = 1;
	for (i = 0; i < len; i++) {
		if (t->name[i] != '.')
			continue;
		if (i == 0 || i == len - 1 || t->name[i + 1] == '.')
			return (thoth_fail("%s: empty component in field "
			    "name", arg));
		t->name[i] = '\0';
		t->ncomp++;
	}
	return (0);
}

static int
parse_age(struct thoth_spec *spec, const char *arg, const char *value,
    int upper)
{
	char why[sizeof (thoth_errbuf)];
	int64_t age;

	if (thoth_parse_age(value, &age) != 0) {
		memcpy(why, thoth_errbuf, sizeof (why));
		return (thoth_fail("%s: %s", arg, why));
	}
	int64_t bound = thoth_now() - age;
	if (upper && bound < spec->hi)
		spec->hi = bound;
	if (!upper && bound > spec->lo)
		spec->lo = bound;
	spec->timed = 1;
	return (0);
}

static int
parse_limit(struct thoth_spec *spec, const char *arg, const char *value)
{
	char *end;
	long n;

	if (*value < '0' || *value > '9')
		return (thoth_fail("%s: limit must be a positive integer", arg));
	errno = 0;
	n = strtol(value, &end, 10);
	if (*end != '\0' || n <= 0 || errno != 0)
		return (thoth_fail("%s: limit must be a positive integer", arg));
	if (spec->limit < 0 || n < spec->limit)
		spec->limit = n;
	return (0);
}

/* mtime, otime, limit, dump: 1 if name is none of them. */
static int
parse_special(struct thoth_spec *spec, const char *arg, size_t namelen,
    const char *value)
{
#define IS(s)	(namelen == sizeof (s) - 1 && strncmp(arg, s, namelen) == 0)
	if (IS("mtime"))
		return (parse_age(spec, arg, value, 0));
	if (IS("otime"))
		return (parse_age(spec, arg, value, 1));
	if (IS("limit"))
		return (parse_limit(spec, arg, value));
	if (IS("dump")) {
		if (strcmp(value, "stdin") != 0)
			return (thoth_fail("%s: the only dump= token is "
			    "dump=stdin", arg));
		spec->want_stdin = 1;
		return (0);
	}
	return (1);
#undef IS
}

static int
parse_prefix(struct thoth_spec *spec, const char *arg)
{
	if (*arg == '\0')
		return (thoth_fail("empty spec token"));
	if (!thoth_is_hex_prefix(arg))
		return (thoth_fail("%s: neither a dump id (1 to 32 lowercase "
		    "hex digits) nor prop=value", arg));
	if (spec->prefix != NULL)
		return (thoth_fail("%s: only one dump id may be given "
		    "(already have %s)", arg, spec->prefix));
	spec->prefix = thoth_xstrdup(arg);
	return (0);
}

static int
parse_token(struct thoth_spec *spec, const char *arg)
{
	const char *eq = strchr(arg, '='), *value;
	struct token *t;
	int rv;

	if (eq == NULL)
		return (parse_prefix(spec, arg));
	value = eq + 1;
	if (eq == arg)
		return (thoth_fail("%s: empty field name", arg));
	if (*value == '=')
		return (thoth_fail("%s: write field=value, with one '='",
		    arg));
	if ((rv = parse_special(spec, arg, (size_t)(eq - arg), value)) <= 0)
		return (rv);
	if (*value == '\0')
		return (thoth_fail("%s: empty value; use %.*sundefined for an "
		    "absent field", arg, (int)(value - arg), arg));
	t = &spec->toks[spec->ntoks];
	memset(t, 0, sizeof (*t));
	if (split_path(t, arg, (size_t)(eq - arg)) != 0) {
		free(t->name);
		return (-1);
	}
	spec->ntoks++;
	if (strcmp(value, "undefined") != 0) {
		t->value = thoth_xstrdup(value);
		t->vlen = strlen(value);
		t->kind = strpbrk(value, "*?[\\") == NULL ? PAT_LITERAL :
		    strpbrk(value, "?[\\") == NULL ? PAT_STARS : PAT_FNMATCH;
		if (t->kind == PAT_STARS) {
			t->pre = strcspn(value, "*");
			t->suf = t->vlen - 1 - (size_t)(strrchr(value, '*') -
			    value);
		}
	}
	return (0);
}

struct thoth_spec *
thoth_spec_parse(int argc, char **argv)
{
	struct thoth_spec *spec = thoth_xmalloc(sizeof (*spec));
	int i;

	memset(spec, 0, sizeof (*spec));
	spec->toks = thoth_xmalloc(sizeof (struct token) * (size_t)argc);
	spec->limit = -1;
	spec->lo = INT64_MIN;
	spec->hi = INT64_MAX;
	for (i = 0; i < argc; i++) {
		if (parse_token(spec, argv[i]) != 0) {
			thoth_spec_free(spec);
			return (NULL);
		}
	}
	return (spec);
}

void
thoth_spec_free(struct thoth_spec *spec)
{
	size_t i;

	if (spec == NULL)
		return;
	for (i = 0; i < spec->ntoks; i++) {
		free(spec->toks[i].name);
		free(spec->toks[i].value);
	}
	for (i = 0; i < spec->nids; i++)
		free(spec->ids[i]);
	free(spec->ids);
	free(spec->toks);
	free(spec->prefix);
	free(spec);
}

/* memmem(3) for the short strings of records: no setup per call. */
static const char *
find(const char *s, size_t n, const char *w, size_t m)
{
	const char *p = s, *end = s + n;

	if (m == 0)
		return (s);
	while (n >= m && (p = memchr(p, w[0], (size_t)(end - p) - m + 1))
	    != NULL) {
		if (memcmp(p + 1, w + 1, m - 1) == 0)
			return (p);
		p++;
		if ((size_t)(end - p) < m)
			break;
	}
	return (NULL);
}

/* Pattern made of literal parts and '*': what fnmatch(3) with no flags
 * decides in the C locale, the parts in between found leftmost first. */
static int
stars_match(const struct token *t, const char *s, size_t n)
{
	const char *pat = t->value, *seg, *end, *hit;
	const char *last = pat + t->vlen - t->suf - 1;
	size_t len;

	if (n < t->pre + t->suf || memcmp(s, pat, t->pre) != 0 ||
	    memcmp(s + n - t->suf, last + 1, t->suf) != 0)
		return (0);
	s += t->pre;
	n -= t->pre + t->suf;
	for (seg = pat + t->pre + 1; seg < last; seg = end + 1) {
		end = memchr(seg, '*', (size_t)(last - seg) + 1);
		if ((len = (size_t)(end - seg)) == 0)
			continue;
		if ((hit = find(s, n, seg, len)) == NULL)
			return (0);
		n -= (size_t)(hit - s) + len;
		s = hit + len;
	}
	return (1);
}

int
spec_value_match(const struct token *t, const char *s, size_t n)
{
	switch (t->kind) {
	case PAT_LITERAL:
		return (n == t->vlen && memcmp(s, t->value, n) == 0);
	case PAT_STARS:
		return (stars_match(t, s, n));
	default:
		return (fnmatch(t->value, s, 0) == 0);
	}
}

/* Does the value v at the end of a path match t's pattern? */
static int
value_match(const struct token *t, const json_t *v)
{
	char buf[32];
	const char *s;
	char *text = NULL;
	int rv;

	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v)) {
		snprintf(buf, sizeof (buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = buf;
	} else
		s = text = thoth_json_line(v);
	if (t->kind == PAT_LITERAL)
		rv = strcmp(s, t->value) == 0;
	else
		rv = fnmatch(t->value, s, 0) == 0;
	free(text);
	return (rv);
}

/*
 * Walks the path components comp[0..n) from v: an array on the way (or
 * at the end) stands for each of its elements.  Returns 1 if some value
 * at the path matches t, or, for "undefined" (t->value NULL), if some
 * value exists at all.
 */
static int
walk(const struct token *t, const json_t *v, const char *comp, size_t n)
{
	size_t i;
	json_t *e;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (walk(t, e, comp, n))
				return (1);
		return (0);
	}
	if (n == 0)
		return (t->value == NULL || value_match(t, v));
	v = json_object_get(v, comp);
	if (v == NULL)
		return (0);
	return (walk(t, v, comp + strlen(comp) + 1, n - 1));
}

static int
token_match(const struct token *t, const json_t *rec)
{
	/* The first component goes through thoth_json_path for its
	 * fallback to "properties"; the rest are walked here. */
	const json_t *v = thoth_json_path(rec, t->name);
	int found = v != NULL && walk(t, v, t->name + strlen(t->name) + 1,
	    t->ncomp - 1);

	return (t->value == NULL ? !found : found);
}

static int
time_match(const struct thoth_spec *spec, const json_t *rec)
{
	const json_t *v = json_object_get(rec, "uploaded");

	if (v == NULL)
		v = json_object_get(rec, "time");
	if (!json_is_integer(v))
		return (0);
	json_int_t t = json_integer_value(v);
	return (t >= spec->lo && t < spec->hi);
}

static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Is some id read from stdin a prefix of id? One lookup per length. */
int
spec_ids_match(const struct thoth_spec *spec, const char *id)
{
	char buf[THOTH_ID_LEN + 1], *key = buf;
	size_t n;

	for (n = 1; n <= THOTH_ID_LEN; n++) {
		if ((spec->idlens & (UINT64_C(1) << n)) == 0)
			continue;
		memcpy(buf, id, n);
		buf[n] = '\0';
		if (bsearch(&key, spec->ids, spec->nids, sizeof (char *),
		    cmp_str) != NULL)
			return (1);
	}
	return (0);
}

int
thoth_spec_match(const struct thoth_spec *spec, const json_t *rec)
{
	size_t i;

	if (spec->timed && !time_match(spec, rec))
		return (0);
	if ((spec->prefix != NULL || spec->want_stdin) &&
	    !spec_id_match(spec, thoth_record_id(rec)))
		return (0);
	for (i = 0; i < spec->ntoks; i++)
		if (!token_match(&spec->toks[i], rec))
			return (0);
	return (1);
}

/* The id tokens: the prefix given, and the ids of dump=stdin. */
int
spec_id_match(const struct thoth_spec *spec, const char *id)
{
	if (id == NULL)
		return (0);
	if (spec->prefix != NULL &&
	    strncmp(id, spec->prefix, strlen(spec->prefix)) != 0)
		return (0);
	return (!spec->want_stdin || spec_ids_match(spec, id));
}

long
thoth_spec_limit(const struct thoth_spec *spec)
{
	return (spec->limit);
}

int
thoth_spec_wants_stdin(const struct thoth_spec *spec)
{
	return (spec->want_stdin);
}

const char *
thoth_spec_prefix(const struct thoth_spec *spec)
{
	return (spec->prefix);
}

void
thoth_spec_time_range(const struct thoth_spec *spec, int64_t *lo, int64_t *hi)
{
	*lo = spec->lo;
	*hi = spec->hi;
}

/* The id on one line: the line itself, or the "id" of an NDJSON record. */
static char *
line_id(char *line)
{
	json_t *rec;
	char *id = NULL;

	if (*line != '{')
		return (thoth_is_hex_prefix(line) ? thoth_xstrdup(line) : NULL);
	if ((rec = json_loads(line, 0, NULL)) == NULL)
		return (NULL);
	const char *s = json_string_value(json_object_get(rec, "id"));
	if (s != NULL && thoth_is_hex_prefix(s))
		id = thoth_xstrdup(s);
	json_decref(rec);
	return (id);
}

static void
add_id(struct thoth_spec *spec, char *id)
{
	if (spec->nids == spec->idcap) {
		spec->idcap = spec->idcap ? spec->idcap * 2 : 64;
		char **n = realloc(spec->ids, spec->idcap * sizeof (char *));
		if (n == NULL)
			err(THOTH_EXIT_FAIL, "out of memory");
		spec->ids = n;
	}
	spec->ids[spec->nids++] = id;
	spec->idlens |= UINT64_C(1) << strlen(id);
}

/*
 * Reads ids or prefixes for dump=stdin, one per line (blank lines are
 * skipped), or NDJSON records whose "id" is taken.  A line that is
 * neither fails the whole spec: a typo must not silently shrink it.
 */
int
thoth_spec_add_ids(struct thoth_spec *spec, FILE *fp, const char *name)
{
	char *line = NULL, *s, *id;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rv = 0;

	while (rv == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len > 0 && strchr(" \t\r\n", line[len - 1]) != NULL)
			line[--len] = '\0';
		s = line + strspn(line, " \t");
		if (*s == '\0')
			continue;
		if ((id = line_id(s)) == NULL)
			rv = thoth_fail("%s:%zu: '%.*s%s': not a dump id", name,
			    lineno, MAX_SHOWN, s,
			    strlen(s) > MAX_SHOWN ? "..." : "");
		else
			add_id(spec, id);
	}
	if (rv == 0 && ferror(fp))
		rv = thoth_fail("%s: read error", name);
	free(line);
	if (spec->nids > 0)
		qsort(spec->ids, spec->nids, sizeof (char *), cmp_str);
	return (rv);
}
