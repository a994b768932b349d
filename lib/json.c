/*
 * json.c - the one JSON writer and the field paths of dump specs.
 *
 * Records are written compact, one per line, keys in insertion order;
 * strings from dumps go through thoth_json_string, which maps invalid
 * UTF-8 to U+FFFD so that a record always stays valid JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "thoth.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return (s[0] == 0 ? 0 : 1);
	if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07; }
	else return (0);
	if (len > n)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (len);
}

int
thoth_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	for (; i < n; i += k) {
		if ((k = utf8_seq(u + i, n - i)) == 0)
			return (0);
	}
	return (1);
}

json_t *
thoth_json_string(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = thoth_xmalloc(n * 3 + 1), *o = out;
	size_t i = 0, k;
	json_t *v;

	while (i < n) {
		if ((k = utf8_seq(u + i, n - i)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			i++;
			continue;
		}
		memcpy(o, u + i, k);
		o += k;
		i += k;
	}
	v = json_stringn(out, (size_t)(o - out));
	free(out);
	return (v);
}

char *
thoth_json_line(const json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL)
		return (thoth_xstrdup("null"));
	return (s);
}

int
thoth_json_print(FILE *fp, const json_t *rec)
{
	char *s = thoth_json_line(rec);
	int rv = fprintf(fp, "%s\n", s) < 0 ? -1 : 0;

	free(s);
	return (rv);
}

char *
thoth_json_scalar(const json_t *v)
{
	if (json_is_string(v))
		return (thoth_xstrdup(json_string_value(v)));
	return (thoth_json_line(v));
}

/*
 * Looks up "a.b.c".  A name that is not a field of the record is looked
 * for under "properties", so "triage.engineer" finds what users set with
 * "thoth set ID triage ...".  Arrays are not descended: the matcher does
 * that, since an array component means "any element".
 */
const json_t *
thoth_json_path(const json_t *rec, const char *path)
{
	const json_t *v = rec;
	const char *p = path, *dot;
	char key[256];

	while (v != NULL && *p != '\0') {
		dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof (key) || !json_is_object(v))
			return (NULL);
		memcpy(key, p, n);
		key[n] = '\0';
		const json_t *next = json_object_get(v, key);
		if (next == NULL && v == rec) {
			const json_t *props = json_object_get(rec, "properties");
			next = json_object_get(props, key);
		}
		v = next;
		p = dot ? dot + 1 : p + n;
	}
	return (v);
}

/* Sets "a.b.c" = value, creating objects on the way. Steals value. */
int
thoth_json_set_path(json_t *rec, const char *path, json_t *value)
{
	char *copy = thoth_xstrdup(path), *p = copy, *dot;
	json_t *v = rec;

	while ((dot = strchr(p, '.')) != NULL) {
		*dot = '\0';
		json_t *next = json_object_get(v, p);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(v, p, next);
		}
		v = next;
		p = dot + 1;
	}
	int rv = (*p == '\0' || json_object_set_new(v, p, value) != 0) ? -1 : 0;
	free(copy);
	return (rv);
}

/* Removes "a.b.c"; 0 if removed, 1 if it was not there. */
int
thoth_json_del_path(json_t *rec, const char *path)
{
	char *copy = thoth_xstrdup(path), *p = copy, *dot;
	json_t *v = rec;
	int rv;

	while ((dot = strchr(p, '.')) != NULL && v != NULL) {
		*dot = '\0';
		v = json_object_get(v, p);
		p = dot + 1;
	}
	rv = (json_is_object(v) && json_object_del(v, p) == 0) ? 0 : 1;
	free(copy);
	return (rv);
}
