/*
 * run.c - the lines of a file in chunks, on every core, in order.
 *
 * A chunk is a range of bytes; it owns the lines that start in it (a
 * line straddling its end belongs to it, the next chunk skips that
 * line's tail).  Regular files are mapped and workers find their line
 * boundaries themselves; pipes are read by the main thread into buffers
 * cut after a newline.  Workers turn chunks into outputs, which the main
 * thread consumes strictly in chunk order, so output order is input
 * order.  At most a few chunks are in flight and the pages of a mapped
 * chunk are dropped once it is read: memory does not grow with the
 * input.  THOTH_SCAN_THREADS and THOTH_SCAN_CHUNK (bytes) override the
 * defaults, for tests.
 */
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/scan.h"

#define CHUNK		(1 << 20)
#define MAXTHREADS	16
#define PAGE		4096

struct chunk {
	const char *base;	/* the mapping, or a buffer (owned) */
	size_t size;		/* readable bytes from base */
	size_t a, b;		/* owns the lines starting in [a, b) */
	size_t seg;		/* start of the segment: a line start */
	size_t line0;		/* lines before the segment, or -1 */
	int torn, mapped, state;
	const struct scan_lit *lit;	/* the segment's prefilter */
	char *own;		/* stream buffer */
	size_t owncap;
	struct scan_out out;
};

enum { EMPTY, READY, BUSY, DONE };

struct engine {
	const struct scan_ops *ops;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t todo, done;
	struct chunk *slots;
	size_t nslots, filled, taken, consumed;
	int quit, cancel;
	void *wctx[MAXTHREADS];
	pthread_t tid[MAXTHREADS];
	int nthreads, started, registered;
	size_t chunk, line, released;
	int (*fill)(struct engine *, struct chunk *, void *);
	void *src;
};

static size_t
env_size(const char *name, size_t dflt, size_t max)
{
	const char *s = getenv(name);
	long long n;

	if (s == NULL || *s == '\0' || (n = strtoll(s, NULL, 10)) <= 0)
		return (dflt);
	return ((size_t)n < max ? (size_t)n : max);
}

void *
scan_rec_new(void *arg)
{
	(void)arg;
	return (thoth_xmalloc(sizeof (struct scan_rec)));
}

void
scan_rec_free(void *arg, void *wctx)
{
	(void)arg;
	free(wctx);
}

int
scan_reference(void)
{
	const char *s = getenv("THOTH_SCAN");

	return (s != NULL && strcmp(s, "jansson") == 0);
}

void
scan_put(struct scan_out *out, const char *s, size_t len)
{
	out->buf = thoth_grow(out->buf, &out->cap, out->len + len + 1, 1);
	memcpy(out->buf + out->len, s, len);
	out->len += len;
	out->buf[out->len++] = '\n';
	out->nrec++;
}

void
scan_bytes(struct scan_out *out, const void *p, size_t len)
{
	out->buf = thoth_grow(out->buf, &out->cap, out->len + len, 1);
	memcpy(out->buf + out->len, p, len);
	out->len += len;
}

static struct scan_ev *
new_ev(struct scan_out *out, int kind)
{
	struct scan_ev *ev;

	out->ev = thoth_grow(out->ev, &out->evcap, out->nev + 1, sizeof (*ev));
	ev = &out->ev[out->nev++];
	memset(ev, 0, sizeof (*ev));
	ev->kind = kind;
	ev->off = out->len;
	ev->nrec = out->nrec;
	ev->line = out->nlines;
	return (ev);
}

void
scan_warn(struct scan_out *out, const char *fmt, ...)
{
	struct scan_ev *ev = new_ev(out, SCAN_WARN);
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&ev->msg, fmt, ap) < 0)
		err(THOTH_EXIT_FAIL, "out of memory");
	va_end(ap);
}

void
scan_time(struct scan_out *out, int64_t key)
{
	new_ev(out, SCAN_TIME)->key = key;
}

static void
out_reset(struct scan_out *out)
{
	size_t i;

	for (i = 0; i < out->nev; i++)
		free(out->ev[i].msg);
	out->len = out->nrec = out->nev = out->nlines = 0;
	out->runmax = INT64_MIN;
}

int
scan_deliver(const struct scan_out *out, const char *name, size_t line0,
    thoth_lines_fn fn, void *arg, int *failed)
{
	size_t i, off = 0, nrec = 0, end, endrec;

	for (i = 0; i <= out->nev; i++) {
		const struct scan_ev *ev = i < out->nev ? &out->ev[i] : NULL;
		end = ev != NULL ? ev->off : out->len;
		endrec = ev != NULL ? ev->nrec : out->nrec;
		if (endrec > nrec && fn(out->buf + off, end - off,
		    endrec - nrec, arg))
			return (1);
		off = end;
		nrec = endrec;
		if (ev != NULL && ev->kind == SCAN_WARN) {
			warnx("%s:%zu: %s", name, line0 + ev->line, ev->msg);
			*failed = 1;
		}
	}
	return (0);
}

/*
 * The lines from p that the chunk owns and that hold its literals: the
 * search stops at the end of the line that straddles the chunk's end,
 * and lines are not counted (a segment with literals has no line to
 * warn about; the next segment says where it starts).
 */
static void
run_lit(struct engine *en, void *wctx, struct chunk *c, size_t p)
{
	const char *base = c->base, *nl, *hit, *lim;
	size_t start, end;

	nl = memchr(base + c->b - 1, '\n', c->size - (c->b - 1));
	lim = nl != NULL ? nl : base + c->size;
	while (p < c->b && (hit = scan_lit_find(c->lit, base + p, lim)) !=
	    NULL) {
		nl = memrchr(base + p, '\n', (size_t)(hit - (base + p)));
		if ((start = nl != NULL ? (size_t)(nl - base) + 1 : p) >= c->b)
			break;
		nl = memchr(hit, '\n', (size_t)(base + c->size - hit));
		if (nl == NULL && c->torn)
			break;
		end = nl != NULL ? (size_t)(nl - base) : c->size;
		if (scan_lit_line(c->lit, base + start, end - start))
			en->ops->line(en->arg, wctx, &c->out, base + start,
			    end - start);
		p = end + 1;
	}
}

/* The lines a chunk owns, one by one to ops->line. */
static void
run_chunk(struct engine *en, void *wctx, struct chunk *c)
{
	const char *base = c->base, *nl;
	size_t p = c->a, end;

	out_reset(&c->out);
	c->out.trusted = c->lit != NULL;
	if (p != c->seg && base[p - 1] != '\n') {
		nl = memchr(base + p, '\n', c->size - p);
		p = nl != NULL ? (size_t)(nl - base) + 1 : c->size;
	}
	if (c->lit != NULL) {
		run_lit(en, wctx, c, p);
		return;
	}
	while (p < c->b) {
		nl = memchr(base + p, '\n', c->size - p);
		if (nl == NULL && c->torn)
			break;
		end = nl != NULL ? (size_t)(nl - base) : c->size;
		c->out.nlines++;
		en->ops->line(en->arg, wctx, &c->out, base + p, end - p);
		p = end + 1;
	}
}

/*
 * Once a chunk is consumed, no worker reads before its start again (the
 * one byte a worker reads before its own chunk belongs to the chunk
 * before, consumed earlier): the pages up to there are given back.  A
 * page given back too early would be read again, with its neighbours,
 * and stay.
 */
static void
release(struct engine *en, const struct chunk *c)
{
	size_t upto = c->a & ~(size_t)(PAGE - 1);

	if (!c->mapped)
		return;
	if (en->released == (size_t)-1 || en->released > upto)
		en->released = upto;
	if (upto > en->released)
		(void) madvise((char *)c->base + en->released,
		    upto - en->released, MADV_DONTNEED);
	en->released = upto;
}

static void *
worker(void *varg)
{
	struct engine *en = varg;
	struct chunk *c;
	void *wctx;
	int me;

	pthread_mutex_lock(&en->mu);
	me = en->registered++;
	pthread_mutex_unlock(&en->mu);
	wctx = en->ops->wnew != NULL ? en->ops->wnew(en->arg) : NULL;
	en->wctx[me] = wctx;
	pthread_mutex_lock(&en->mu);
	for (;;) {
		while (!en->quit && en->taken == en->filled)
			pthread_cond_wait(&en->todo, &en->mu);
		if (en->taken == en->filled)
			break;
		c = &en->slots[en->taken++ % en->nslots];
		c->state = BUSY;
		int skip = en->cancel;
		pthread_mutex_unlock(&en->mu);
		if (skip)
			out_reset(&c->out);
		else
			run_chunk(en, wctx, c);
		pthread_mutex_lock(&en->mu);
		c->state = DONE;
		pthread_cond_broadcast(&en->done);
	}
	pthread_mutex_unlock(&en->mu);
	return (NULL);
}

/* hint: bytes to read if known (0 if not); one chunk's worth is read
 * without threads. */
static void
engine_init(struct engine *en, const struct scan_ops *ops, void *arg,
    size_t hint)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(en, 0, sizeof (*en));
	en->ops = ops;
	en->arg = arg;
	en->nthreads = (int)env_size("THOTH_SCAN_THREADS",
	    ncpu > 0 ? (size_t)ncpu : 1, MAXTHREADS);
	en->chunk = env_size("THOTH_SCAN_CHUNK", CHUNK, SIZE_MAX / 4);
	if (hint > 0 && hint <= en->chunk)
		en->nthreads = 1;
	en->nslots = en->nthreads > 1 ? (size_t)en->nthreads * 3 : 1;
	en->released = (size_t)-1;
	en->slots = thoth_xmalloc(en->nslots * sizeof (struct chunk));
	memset(en->slots, 0, en->nslots * sizeof (struct chunk));
	pthread_mutex_init(&en->mu, NULL);
	pthread_cond_init(&en->todo, NULL);
	pthread_cond_init(&en->done, NULL);
}

static void
engine_start(struct engine *en)
{
	int i;

	if (en->nthreads <= 1) {
		en->wctx[0] = en->ops->wnew != NULL ? en->ops->wnew(en->arg) :
		    NULL;
		return;
	}
	json_decref(json_object());	/* jansson's hash seed, made once */
	for (i = 0; i < en->nthreads; i++) {
		if (pthread_create(&en->tid[i], NULL, worker, en) != 0)
			err(THOTH_EXIT_FAIL, "pthread_create");
		en->started++;
	}
}

static void
engine_end(struct engine *en)
{
	size_t i;
	int k, n = en->nthreads <= 1 ? 1 : en->started;

	pthread_mutex_lock(&en->mu);
	en->quit = 1;
	pthread_cond_broadcast(&en->todo);
	pthread_mutex_unlock(&en->mu);
	for (k = 0; k < en->started; k++)
		pthread_join(en->tid[k], NULL);
	for (k = 0; k < n; k++)
		if (en->ops->wfree != NULL)
			en->ops->wfree(en->arg, en->wctx[k]);
	for (i = 0; i < en->nslots; i++) {
		out_reset(&en->slots[i].out);
		free(en->slots[i].out.buf);
		free(en->slots[i].out.ev);
		free(en->slots[i].own);
	}
	free(en->slots);
	pthread_mutex_destroy(&en->mu);
	pthread_cond_destroy(&en->todo);
	pthread_cond_destroy(&en->done);
}

/* Hands a filled chunk to the workers (or reads it here, alone). */
static void
dispatch(struct engine *en, struct chunk *c)
{
	if (en->nthreads <= 1) {
		run_chunk(en, en->wctx[0], c);
		c->state = DONE;
		en->filled++;
		en->taken++;
		return;
	}
	pthread_mutex_lock(&en->mu);
	c->state = READY;
	en->filled++;
	pthread_cond_signal(&en->todo);
	pthread_mutex_unlock(&en->mu);
}

/* The next chunk's output, once done; 1 if the consumer stopped. */
static int
collect(struct engine *en, int stop)
{
	struct chunk *c = &en->slots[en->consumed % en->nslots];

	pthread_mutex_lock(&en->mu);
	while (c->state != DONE)
		pthread_cond_wait(&en->done, &en->mu);
	pthread_mutex_unlock(&en->mu);
	if (c->line0 != (size_t)-1)
		en->line = c->line0;
	release(en, c);
	if (!stop && en->ops->consume(en->arg, &c->out, en->line)) {
		stop = 1;
		pthread_mutex_lock(&en->mu);
		en->cancel = 1;
		pthread_mutex_unlock(&en->mu);
	}
	en->line += c->out.nlines;
	pthread_mutex_lock(&en->mu);
	c->state = EMPTY;
	en->consumed++;
	pthread_mutex_unlock(&en->mu);
	return (stop);
}

static int
drive(struct engine *en)
{
	int stop = 0, more = 1;
	struct chunk *c;

	engine_start(en);
	for (;;) {
		while (more && !stop && en->filled - en->consumed < en->nslots) {
			c = &en->slots[en->filled % en->nslots];
			if ((more = en->fill(en, c, en->src)) != 0)
				dispatch(en, c);
		}
		if (en->consumed == en->filled)
			break;
		stop = collect(en, stop);
	}
	engine_end(en);
	return (stop);
}

struct map_src {
	const char *base;
	size_t size, i, next;
	const struct scan_seg *segs;
	size_t nsegs;
	int torn;
};

static int
fill_map(struct engine *en, struct chunk *c, void *arg)
{
	struct map_src *m = arg;
	const struct scan_seg *s;

	while (m->i < m->nsegs && m->next >= m->segs[m->i].end)
		if (++m->i < m->nsegs)
			m->next = m->segs[m->i].start;
	if (m->i == m->nsegs)
		return (0);
	s = &m->segs[m->i];
	c->base = m->base;
	c->size = m->size;
	c->mapped = 1;
	c->torn = m->torn;
	c->lit = s->lit;
	c->seg = s->start;
	c->line0 = m->next == s->start ? s->line0 : (size_t)-1;
	c->a = m->next;
	c->b = s->end - m->next > en->chunk ? m->next + en->chunk : s->end;
	m->next = c->b;
	return (1);
}

int
scan_map(const char *base, size_t size, const struct scan_seg *segs,
    size_t nsegs, int torn, const struct scan_ops *ops, void *arg)
{
	struct map_src m = { base, size, 0, 0, segs, nsegs, torn };
	struct engine en;
	size_t i, total = 0;

	for (i = 0; i < nsegs; i++)
		total += segs[i].end - segs[i].start;
	if (nsegs > 0)
		m.next = segs[0].start;
	engine_init(&en, ops, arg, total > 0 ? total : 1);
	en.fill = fill_map;
	en.src = &m;
	return (drive(&en));
}

struct stream_src {
	int fd, eof, err;
	char *carry;
	size_t ncarry, carrycap;
};

/* Reads until buf holds want bytes or the input ends. */
static size_t
read_some(struct stream_src *s, char *buf, size_t have, size_t want)
{
	ssize_t n;

	while (!s->eof && have < want) {
		n = read(s->fd, buf + have, want - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->eof = 1;
			s->err = n < 0 ? errno : 0;
			break;
		}
		have += (size_t)n;
	}
	return (have);
}

/* A buffer of whole lines (the last one may lack its '\n' at the end). */
static int
fill_stream(struct engine *en, struct chunk *c, void *arg)
{
	struct stream_src *s = arg;
	size_t have = s->ncarry, want = en->chunk, cut;
	const char *nl;

	for (;;) {
		c->own = thoth_grow(c->own, &c->owncap, want > have ? want : have, 1);
		if (have == s->ncarry && have > 0)
			memcpy(c->own, s->carry, s->ncarry);
		have = read_some(s, c->own, have, want);
		nl = have > 0 ? memrchr(c->own, '\n', have) : NULL;
		if (nl != NULL || s->eof)
			break;
		want = have * 2;	/* a line longer than a chunk */
	}
	cut = nl != NULL && !s->eof ? (size_t)(nl - c->own) + 1 : have;
	if ((s->ncarry = have - cut) > 0) {
		s->carry = thoth_grow(s->carry, &s->carrycap, s->ncarry, 1);
		memcpy(s->carry, c->own + cut, s->ncarry);
	}
	if (cut == 0)
		return (0);
	c->base = c->own;
	c->size = c->b = cut;
	c->a = c->seg = 0;
	c->mapped = c->torn = 0;
	c->lit = NULL;
	c->line0 = (size_t)-1;
	return (1);
}

int
scan_fd(int fd, const struct scan_ops *ops, void *arg)
{
	struct stream_src s = { fd, 0, 0, NULL, 0, 0 };
	struct scan_seg seg;
	struct engine en;
	struct stat sb;
	off_t off;
	void *map;
	int rv;

	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (off = lseek(fd, 0, SEEK_CUR)) >= 0) {
		if (sb.st_size <= off)
			return (0);
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0);
		if (map != MAP_FAILED) {
			seg.start = (size_t)off;
			seg.end = (size_t)sb.st_size;
			seg.line0 = 0;
			seg.lit = NULL;
			rv = scan_map(map, seg.end, &seg, 1, 0, ops, arg);
			munmap(map, seg.end);
			(void) lseek(fd, sb.st_size, SEEK_SET);
			return (rv);
		}
	}
	engine_init(&en, ops, arg, 0);
	en.fill = fill_stream;
	en.src = &s;
	en.line = 0;
	rv = drive(&en);
	free(s.carry);
	if (rv == 0 && s.err != 0) {
		errno = s.err;
		return (-1);
	}
	return (rv);
}
