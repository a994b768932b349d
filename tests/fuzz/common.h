/*
 * common.h - helpers shared by the libFuzzer harnesses of tests/fuzz.
 *
 * Inputs reach the library as files, the way the tools meet them: a
 * memfd written from the input and named /proc/self/fd/N, so nothing
 * touches the disk and every run sees a fresh file of exactly the
 * input's bytes.  A harness checks the library's own contracts (valid
 * JSON out, ids of 32 hex digits, fast paths equal to the reference)
 * and calls fuzz_die() when one is broken: libFuzzer then saves the
 * input like any crash.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "thoth.h"

/* A contract is broken: say which and abort (libFuzzer keeps the input). */
#define fuzz_die(...) do {						\
	fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

struct fuzz_file {
	int fd;
	char path[64];
};

/* The file, made once per process and rewritten with each input. */
static inline const char *
fuzz_file_put(struct fuzz_file *f, const void *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	if (f->path[0] == '\0') {
		if ((f->fd = memfd_create("fuzz", 0)) < 0)
			fuzz_die("memfd_create failed");
		snprintf(f->path, sizeof (f->path), "/proc/self/fd/%d", f->fd);
	}
	if (ftruncate(f->fd, 0) != 0)
		fuzz_die("ftruncate failed");
	while (off < len) {
		if ((n = pwrite(f->fd, (const char *)buf + off, len - off,
		    (off_t)off)) <= 0)
			fuzz_die("pwrite failed");
		off += (size_t)n;
	}
	return (f->path);
}

/* A growing buffer of output lines. */
/* Runs fn on a NUL-terminated copy of a non-empty input: harnesses whose
 * inputs are text (tokens, lines) take C strings. */
static inline int
fuzz_text(const uint8_t *data, size_t size, void (*fn)(char *, size_t))
{
	char *text;

	if (size == 0)
		return (0);
	if ((text = malloc(size + 1)) == NULL)
		fuzz_die("out of memory");
	memcpy(text, data, size);
	text[size] = '\0';
	fn(text, size);
	free(text);
	return (0);
}

struct fuzz_buf {
	char *p;
	size_t len, cap;
};

static inline void
fuzz_buf_add(struct fuzz_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			fuzz_die("out of memory");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
fuzz_buf_free(struct fuzz_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* A record must come out as one line of JSON that reads back equal. */
static inline void
fuzz_check_json(const json_t *rec, const char *what)
{
	char *line = thoth_json_line(rec);
	json_error_t jerr;
	json_t *back;

	if (strchr(line, '\n') != NULL)
		fuzz_die("%s: record line has a newline: %s", what, line);
	if ((back = json_loads(line, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		fuzz_die("%s: record does not read back: %s: %s", what,
		    jerr.text, line);
	if (!json_equal(back, (json_t *)rec))
		fuzz_die("%s: record reads back different: %s", what, line);
	json_decref(back);
	free(line);
}

/* Splits s (NUL-terminated, modified) at separator characters into at
 * most max words; returns how many. */
static inline int
fuzz_words(char *s, const char *sep, char **argv, int max)
{
	int n = 0;
	char *w;

	while (n < max && (w = strsep(&s, sep)) != NULL) {
		if (*w != '\0')
			argv[n++] = w;
	}
	return (n);
}

#endif
