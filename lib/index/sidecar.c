/*
 * sidecar.c - base.ndjson.idx: the base summed up by blocks, so
 * that a time range reads a few blocks, whatever the size of the index.
 *
 * A block holds the lines starting in 64 KiB of the base; its entry
 * gives the offset and number of its first line, the least and greatest
 * time a spec's mtime/otime compares ("uploaded", else "time"), and
 * whether some line is a bad record (which the scan must still report)
 * or not canonical (so the literal prefilter, scan/lit.c, may pass over
 * the lines of the others without reading them), and where its filter
 * is: a Bloom filter (bloom.c) of the keys of its lines (scan/keys.c),
 * sized by how many distinct keys the block has, so that a spec such as
 * ticket=OS-1234 or an id prefix reads only the blocks that may hold
 * it.  Blocks with a bad or other line have no filter: they are read.
 * Every 256 blocks are summed up again, so that a range looks at a few
 * hundred entries and the blocks of those that may hold some of it.
 * The header names the base it describes (device, inode, size, mtime):
 * a summary of any other file is stale and is made again, by whoever
 * needs it first (compaction, or a reader).  Skipping blocks changes
 * nothing printed: no record in them matches, none is reported, and
 * when the journal is not empty only a base sorted by "time" (noted
 * here) is skipped in, so journal records keep their place.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"

#define MAGIC	"THOTHIX4"
#define BLOCK	(64 << 10)	/* THOTH_INDEX_BLOCK, for tests, may say less */
#define SUPER	256	/* blocks per entry of the second level */

enum { B_BAD = 1, B_TIMED = 2, B_SLOW = 4 };	/* SLOW: not canonical */

struct head {
	char magic[8];
	uint64_t dev, ino, size;
	int64_t sec, nsec;
	uint64_t nblocks;	/* then nsuper entries of SUPER blocks each */
	uint32_t sorted, block;
	uint64_t nbuckets;	/* then the filters' 32-byte buckets */
};

struct block {
	uint64_t off, line0;
	int64_t min, max;
	uint32_t flags;
	uint32_t bloom;		/* its filter's first bucket; it ends where
				 * the next block's starts */
};

struct line_info {		/* what a worker says of one line */
	uint64_t off;
	int64_t mt, key;
	uint32_t flags;		/* B_BAD, B_TIMED (mt is set) */
	uint32_t nkeys;		/* then its keys, 8 bytes each */
};

struct summary {
	const char *map;	/* the base */
	struct head h;
	struct block *b, *sup;
	size_t cap;
	int64_t last;
	uint64_t *keys;		/* the current block's, while building */
	size_t nkeys, kcap;
	uint64_t *set;		/* for distinct() */
	size_t setcap;
	uint32_t *bloom;	/* the filters, 8 words a bucket */
	size_t bcap;
	void *mapped;		/* the summary file, when loaded */
	size_t maplen;
};

/* A line's facts as thoth_index_scan and thoth_spec_match see them. */
static void
slow_info(const char *s, size_t len, struct line_info *li)
{
	json_t *rec = json_loadb(s, len, 0, NULL);
	const json_t *v;

	if (thoth_record_id(rec) == NULL) {
		li->flags = B_BAD;
	} else {
		li->key = index_rec_time(rec);
		if ((v = json_object_get(rec, "uploaded")) == NULL)
			v = json_object_get(rec, "time");
		if (json_is_integer(v)) {
			li->mt = json_integer_value(v);
			li->flags = B_TIMED;
		}
	}
	json_decref(rec);
}

static void
put_key(void *arg, uint64_t key)
{
	scan_bytes(arg, &key, sizeof (key));
}

static void
info_line(void *arg, void *wctx, struct scan_out *out, const char *s,
    size_t len)
{
	struct summary *sum = arg;
	struct scan_rec *r = wctx;
	struct line_info li = { (uint64_t)(s - sum->map), 0, 0, 0, 0 };
	struct scan_val v;
	size_t at = out->len;

	if (scan_line(r, s, len) != 0 || scan_id(r) == NULL) {
		slow_info(s, len, &li);
		li.flags |= B_SLOW;
		scan_bytes(out, &li, sizeof (li));
		return;
	}
	if (scan_get(r, "time", 4, &v) && v.type == SV_NUM)
		li.key = scan_int(&v);
	if ((scan_get(r, "uploaded", 8, &v) ||
	    scan_get(r, "time", 4, &v)) && v.type == SV_NUM) {
		li.mt = scan_int(&v);
		li.flags = B_TIMED;
	}
	scan_bytes(out, &li, sizeof (li));
	scan_keys_line(r, put_key, out);
	((struct line_info *)(void *)(out->buf + at))->nkeys =
	    (uint32_t)((out->len - at - sizeof (li)) / sizeof (uint64_t));
}

/* The block's distinct keys, moved to the front of sum->keys; by a
 * table of open addressing, since the keys are hashes already (0 marks
 * an empty slot, so a key 0 is kept aside).  Their number. */
static size_t
distinct(struct summary *sum)
{
	size_t cap = 64, i, j, n = 0;
	uint64_t k;
	int zero = 0;

	while (cap < 2 * sum->nkeys)
		cap *= 2;
	sum->set = thoth_grow(sum->set, &sum->setcap, cap, sizeof (*sum->set));
	memset(sum->set, 0, cap * sizeof (*sum->set));
	for (i = 0; i < sum->nkeys; i++) {
		if ((k = sum->keys[i]) == 0) {
			if (!zero++)
				sum->keys[n++] = 0;
			continue;
		}
		for (j = k & (cap - 1); sum->set[j] != 0 && sum->set[j] != k;
		    j = (j + 1) & (cap - 1))
			continue;
		if (sum->set[j] == 0)
			sum->keys[n++] = sum->set[j] = k;
	}
	return (n);
}

/* The last block's filter, from the keys its lines gave: none for a
 * block that is read whatever its keys. */
static void
end_block(struct summary *sum)
{
	struct block *b = &sum->b[sum->h.nblocks - 1];
	size_t i, n, nb;

	if (sum->nkeys > 0 && !(b->flags & (B_BAD | B_SLOW))) {
		n = distinct(sum);
		nb = bloom_buckets(n);
		if (sum->h.nbuckets + nb > UINT32_MAX)
			errx(THOTH_EXIT_FAIL, "index summary: too many keys");
		sum->bloom = thoth_grow(sum->bloom, &sum->bcap,
		    8 * (sum->h.nbuckets + nb), sizeof (*sum->bloom));
		memset(sum->bloom + 8 * sum->h.nbuckets, 0, 32 * nb);
		for (i = 0; i < n; i++)
			bloom_add(sum->bloom + 8 * sum->h.nbuckets, nb,
			    sum->keys[i], sum->h.nblocks - 1);
		sum->h.nbuckets += nb;
	}
	sum->nkeys = 0;
}

/* A line's keys, for its block's filter. */
static void
add_keys(struct summary *sum, const uint64_t *keys, size_t n)
{
	if (n == 0)
		return;
	sum->keys = thoth_grow(sum->keys, &sum->kcap, sum->nkeys + n,
	    sizeof (*keys));
	memcpy(sum->keys + sum->nkeys, keys, n * sizeof (*keys));
	sum->nkeys += n;
}

static int
info_consume(void *arg, struct scan_out *out, size_t line0)
{
	struct summary *sum = arg;
	const struct line_info *li;
	const char *p = out->buf;
	size_t k;
	struct block *b;

	if (out->len == 0)
		return (0);
	for (k = 0; p < out->buf + out->len; k++,
	    p += sizeof (*li) + li->nkeys * 8) {
		li = (const void *)p;
		b = sum->h.nblocks > 0 ? &sum->b[sum->h.nblocks - 1] : NULL;
		if (b == NULL || b->off / sum->h.block != li->off /
		    sum->h.block) {
			if (b != NULL)
				end_block(sum);
			sum->b = thoth_grow(sum->b, &sum->cap,
			    sum->h.nblocks + 1, sizeof (*b));
			b = &sum->b[sum->h.nblocks++];
			memset(b, 0, sizeof (*b));
			b->off = li->off;
			b->line0 = line0 + k;
			b->min = INT64_MAX;
			b->max = INT64_MIN;
			b->bloom = (uint32_t)sum->h.nbuckets;
		}
		b->flags |= li->flags;
		add_keys(sum, (const uint64_t *)(li + 1), li->nkeys);
		if (li->flags & B_BAD)
			continue;
		if (li->key < sum->last)
			sum->h.sorted = 0;
		sum->last = li->key;
		if (li->flags & B_TIMED) {
			b->min = li->mt < b->min ? li->mt : b->min;
			b->max = li->mt > b->max ? li->mt : b->max;
		}
	}
	return (0);
}

static size_t
nsuper(const struct head *h)
{
	return ((size_t)(h->nblocks + SUPER - 1) / SUPER);
}

/* The second level, from the blocks. */
static void
make_supers(struct summary *sum)
{
	size_t i, n = nsuper(&sum->h);
	struct block *s, *b;

	sum->sup = thoth_xmalloc((n ? n : 1) * sizeof (*s));
	for (i = 0; i < sum->h.nblocks; i++) {
		b = &sum->b[i];
		s = &sum->sup[i / SUPER];
		if (i % SUPER == 0) {
			*s = *b;
			continue;
		}
		s->flags |= b->flags;
		s->min = b->min < s->min ? b->min : s->min;
		s->max = b->max > s->max ? b->max : s->max;
	}
}

/* Lines starting in the same BLOCK bytes make a block. */
static uint32_t
block_size(void)
{
	const char *s = getenv("THOTH_INDEX_BLOCK");
	long n = s != NULL ? strtol(s, NULL, 10) : 0;

	return (n > 0 && n < BLOCK ? (uint32_t)n : BLOCK);
}

static void
identify(struct head *h, const struct stat *sb)
{
	memset(h, 0, sizeof (*h));
	memcpy(h->magic, MAGIC, sizeof (h->magic));
	h->dev = (uint64_t)sb->st_dev;
	h->ino = (uint64_t)sb->st_ino;
	h->size = (uint64_t)sb->st_size;
	h->sec = (int64_t)sb->st_mtim.tv_sec;
	h->nsec = (int64_t)sb->st_mtim.tv_nsec;
	h->block = block_size();
}

/* Reads the whole base; 0 or -1. */
static int
build(struct summary *sum, const char *map, size_t size)
{
	static const struct scan_ops ops = { scan_rec_new, scan_rec_free, info_line,
	    info_consume };
	struct scan_seg whole = { 0, size, 0, NULL };

	sum->map = map;
	sum->h.sorted = 1;
	sum->last = INT64_MIN;
	if (scan_map(map, size, &whole, 1, 1, &ops, sum) != 0)
		return (-1);
	if (sum->h.nblocks > 0)
		end_block(sum);
	free(sum->keys);
	free(sum->set);
	sum->keys = sum->set = NULL;
	make_supers(sum);
	return (0);
}

static int
save(const char *path, const struct summary *sum)
{
	char *tmp = thoth_temp_name(path);
	size_t n = sum->h.nblocks * sizeof (struct block);
	size_t ns = nsuper(&sum->h) * sizeof (struct block);
	size_t nf = sum->h.nbuckets * 32;
	int fd, rv = -1;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		goto out;
	if (write(fd, &sum->h, sizeof (sum->h)) == sizeof (sum->h) &&
	    write(fd, sum->b, n) == (ssize_t)n &&
	    write(fd, sum->sup, ns) == (ssize_t)ns &&
	    (nf == 0 || write(fd, sum->bloom, nf) == (ssize_t)nf) &&
	    fsync(fd) == 0 &&
	    close(fd) == 0 && rename(tmp, path) == 0)
		rv = 0;
	else
		(void) unlink(tmp);
out:
	free(tmp);
	return (rv);
}

/* A damaged summary must not send a reader outside the base, nor
 * outside the filters: block offsets inside it and strictly increasing,
 * filters in order. */
static int
blocks_sane(const struct head *h, const struct block *b)
{
	uint64_t i;

	for (i = 0; i < h->nblocks; i++) {
		if (b[i].off >= h->size || (i > 0 && b[i].off <= b[i - 1].off))
			return (0);
		if (b[i].bloom > h->nbuckets ||
		    (i > 0 && b[i].bloom < b[i - 1].bloom))
			return (0);
	}
	return (1);
}

/* The size of a summary file with this header, or 0 if it cannot be. */
static size_t
file_size(const struct head *h)
{
	if (h->nblocks > SIZE_MAX / 64 || h->nbuckets > UINT32_MAX)
		return (0);
	return (sizeof (*h) + (h->nblocks + nsuper(h)) *
	    sizeof (struct block) + h->nbuckets * 32);
}

/* The saved summary if it is of this very base (mapped, not copied:
 * a range reads only some of it); 0, or -1. */
static int
load(const char *path, const struct head *want, struct summary *sum)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const struct head *h;
	struct stat sb;
	void *map;

	if (fd < 0)
		return (-1);
	if (fstat(fd, &sb) != 0 || (size_t)sb.st_size < sizeof (*h) ||
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		close(fd);
		return (-1);
	}
	close(fd);
	h = map;
	if (memcmp(want, h, offsetof(struct head, nblocks)) != 0 ||
	    h->block != want->block || file_size(h) == 0 ||
	    (size_t)sb.st_size != file_size(h)) {
		munmap(map, (size_t)sb.st_size);
		return (-1);
	}
	if (!blocks_sane(h, (const struct block *)(h + 1))) {
		munmap(map, (size_t)sb.st_size);
		return (-1);
	}
	sum->h = *h;
	sum->b = (struct block *)(h + 1);
	sum->sup = sum->b + h->nblocks;
	sum->bloom = (uint32_t *)(sum->sup + nsuper(h));
	sum->mapped = map;
	sum->maplen = (size_t)sb.st_size;
	return (0);
}

static void
summary_free(struct summary *sum)
{
	if (sum->mapped != NULL) {
		munmap(sum->mapped, sum->maplen);
	} else {
		free(sum->b);
		free(sum->sup);
		free(sum->bloom);
		free(sum->keys);
		free(sum->set);
	}
	sum->mapped = NULL;
	sum->b = sum->sup = NULL;
	sum->bloom = NULL;
	sum->keys = sum->set = NULL;
}

/* The summary of the base open as fd, from the file or made now. */
static int
summary(struct thoth_index *ix, int fd, const char *map, size_t size,
    struct summary *sum)
{
	char *path = thoth_xasprintf("%s/base.ndjson.idx", thoth_index_dir(ix));
	struct head want;
	struct stat sb;
	int rv = -1;

	memset(sum, 0, sizeof (*sum));
	if (fstat(fd, &sb) != 0)
		goto out;
	identify(&want, &sb);
	if ((rv = load(path, &want, sum)) == 0)
		goto out;
	sum->h = want;
	if ((rv = build(sum, map, size)) == 0)
		(void) save(path, sum);	/* read-only index: next time again */
out:
	free(path);
	return (rv);
}

/* Can no line of b hold a record in the time range [lo, hi)?  Without
 * a range, any can. */
static int
out_of_range(const struct block *b, int64_t lo, int64_t hi)
{
	if (lo == INT64_MIN && hi == INT64_MAX)
		return (0);
	return (!(b->flags & B_BAD) && (!(b->flags & B_TIMED) ||
	    b->max < lo || b->min >= hi));
}

/* Does block i's filter say that none of its lines meets one of the
 * needs that every matching record meets?  Blocks without a filter (a
 * bad or other line) may hold anything. */
static int
lacks_key(const struct summary *sum, size_t i, const struct index_want *w)
{
	const struct block *b = &sum->b[i];
	uint64_t end = i + 1 < sum->h.nblocks ? sum->b[i + 1].bloom :
	    sum->h.nbuckets;
	size_t k, nb = (size_t)(end - b->bloom);
	const uint32_t *f;

	if (b->flags & (B_BAD | B_SLOW) || nb == 0)
		return (0);
	f = sum->bloom + 8 * (size_t)b->bloom;
	for (k = 0; k < w->nneeds; k++)
		if (!bloom_may(f, nb, w->needs[k].key, i) &&
		    (w->needs[k].alt == 0 || !bloom_may(f, nb,
		    w->needs[k].alt, i)))
			return (1);
	return (0);
}

/* Adds block i to the segments, merging it with the last one when both
 * are read the same way: with the literals lit only where every line is
 * canonical. */
static void
add_block(const struct summary *sum, size_t i, size_t size,
    struct scan_seg *segs, size_t *n, const struct scan_lit *lit)
{
	const struct block *b = &sum->b[i];
	size_t end = i + 1 < sum->h.nblocks ? sum->b[i + 1].off : size;

	if (b->flags & (B_BAD | B_SLOW))
		lit = NULL;
	if (*n > 0 && segs[*n - 1].end == b->off && segs[*n - 1].lit == lit) {
		segs[*n - 1].end = end;
		return;
	}
	segs[*n].start = b->off;
	segs[*n].end = end;
	segs[*n].lit = lit;
	segs[(*n)++].line0 = b->line0;
}

struct scan_seg *
index_sidecar_segments(struct thoth_index *ix, int fd, const char *map,
    size_t size, const struct index_want *w, int journal, size_t *nsegs)
{
	struct summary sum;
	struct scan_seg *segs = NULL;
	size_t i, k, n = 0;

	if (summary(ix, fd, map, size, &sum) != 0 ||
	    (journal && !sum.h.sorted)) {
		summary_free(&sum);
		return (NULL);
	}
	segs = thoth_xmalloc((sum.h.nblocks + 1) * sizeof (*segs));
	for (k = 0; k < nsuper(&sum.h); k++) {
		if (out_of_range(&sum.sup[k], w->lo, w->hi))
			continue;
		for (i = k * SUPER; i < (k + 1) * SUPER && i < sum.h.nblocks;
		    i++)
			if (!out_of_range(&sum.b[i], w->lo, w->hi) &&
			    !lacks_key(&sum, i, w))
				add_block(&sum, i, size, segs, &n, w->lit);
	}
	summary_free(&sum);
	*nsegs = n;
	return (segs);
}

int
index_sidecar_build(struct thoth_index *ix)
{
	char *path = thoth_xasprintf("%s/base.ndjson", thoth_index_dir(ix));
	struct summary sum;
	struct stat sb;
	void *map;
	int fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0 &&
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) != MAP_FAILED) {
		rv = summary(ix, fd, map, (size_t)sb.st_size, &sum);
		summary_free(&sum);
		munmap(map, (size_t)sb.st_size);
	}
	close(fd);
out:
	free(path);
	return (rv);
}
