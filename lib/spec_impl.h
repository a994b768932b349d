/*
 * spec_impl.h - a parsed dump specification (lib/spec.c, lib/scan/spec.c).
 */
#ifndef THOTH_SPEC_IMPL_H
#define THOTH_SPEC_IMPL_H

#include "thoth.h"

enum { PAT_LITERAL, PAT_STARS, PAT_FNMATCH };

struct token {
	char *name;		/* path components, NUL-separated */
	size_t ncomp;
	char *value;		/* pattern; NULL for "undefined" */
	size_t vlen;
	int kind;		/* PAT_*: literal, '*' the only special, other */
	size_t pre, suf;	/* PAT_STARS: bytes before the first '*', after
				 * the last */
};

struct thoth_spec {
	struct token *toks;
	size_t ntoks;
	char *prefix;		/* the id token, or NULL */
	long limit;		/* -1 if none */
	int want_stdin;		/* dump=stdin */
	int timed;		/* mtime= or otime= given */
	int64_t lo, hi;		/* uploaded in [lo, hi) */
	char **ids;		/* from dump=stdin, sorted */
	size_t nids, idcap;
	uint64_t idlens;	/* bit n set: some id is n digits long */
};

/* Is some id read by thoth_spec_add_ids a prefix of id (32 digits)? */
int spec_ids_match(const struct thoth_spec *spec, const char *id);
int spec_id_match(const struct thoth_spec *spec, const char *id); /* prefix and dump=stdin */
/* Does s (n bytes, NUL-terminated) match t's pattern? */
int spec_value_match(const struct token *t, const char *s, size_t n);

#endif
