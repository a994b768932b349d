/*
 * dir.c - the directory store: <root>/<key> on a local filesystem.
 *
 * Objects are written under a dot-name in their final directory and
 * renamed into place, so a reader never sees a partial object; names
 * starting with '.' are never listed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "store/backend.h"

static char *
dir_local(const struct thoth_store *st, const char *key)
{
	return (thoth_xasprintf("%s/%s", st->root, key));
}

/*
 * "<root>/.part/.<id>.<name>.part.<pid>": the temporary of a dump being
 * copied in.  All in one place, so that every later copy into the store
 * (and thoth index) sweeps what killed uploads left, whichever dump they
 * were copying; renamed into place on the same filesystem.
 */
static char *
temp_name(const struct thoth_store *st, const char *key)
{
	char *name = thoth_xstrdup(key), *p, *tmp;

	for (p = name; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	tmp = thoth_xasprintf("%s/%s/.%s.part.%ld", st->root, DIR_PARTS, name,
	    (long)getpid());
	free(name);
	return (tmp);
}

static int
make_parent(const char *path)
{
	char *dir = thoth_xstrdup(path), *slash = strrchr(dir, '/');
	int rv;

	*slash = '\0';
	if ((rv = thoth_mkdirs(dir, 0755)) == 0)
		thoth_sweep_stale(dir);
	free(dir);
	return (rv);
}

static int
dir_exists(struct thoth_store *st, const char *key)
{
	char *path = dir_local(st, key);
	struct stat sb;
	int rv = 0;

	if (stat(path, &sb) != 0)
		rv = errno == ENOENT ? 1 : thoth_fail("%s: %s", path,
		    strerror(errno));
	free(path);
	return (rv);
}

static int
dir_get(struct thoth_store *st, const char *key, char **buf, size_t *len)
{
	char *path = dir_local(st, key);
	int rv = thoth_read_file(path, buf, len);

	free(path);
	return (rv);
}

/* Every writer sweeps what killed uploads left: one small directory. */
static int
dir_put(struct thoth_store *st, const char *key, const void *buf, size_t len)
{
	char *path = dir_local(st, key);
	int rv = make_parent(path);

	thoth_store_sweep(st);

	if (rv == 0)
		rv = thoth_write_file_atomic(path, buf, len);
	free(path);
	return (rv);
}

#define STEP	(8 << 20)	/* bytes between progress reports */
#define COPY_BUF (1 << 20)	/* bytes copied through user space at once */
#define ZERO_BLOCK 4096		/* zeros left as a hole: a page, a block */

struct copy {
	int in, out;
	const char *what, *to;	/* the source, the file written */
	thoth_progress_fn progress;
	void *arg;
	uint64_t done, total;
};

/* pwrite(2) of all n bytes at off. */
static int
write_at(struct copy *cp, const char *buf, size_t n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(cp->out, buf, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			return (thoth_fail("%s: write: %s", cp->to,
			    strerror(errno)));
		}
		buf += w;
		n -= (size_t)w;
		off += w;
	}
	return (0);
}

static int
all_zero(const char *p, size_t n)
{
	return (n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0));
}

/*
 * The n bytes of buf, read at off, but for the blocks (ZERO_BLOCK
 * bytes, aligned in the file) that hold only zeros: those are left as
 * holes, read back as zeros.  A core holds pages the process zeroed
 * and never wrote again; cp --sparse does the same.
 */
static int
write_data(struct copy *cp, const char *buf, size_t n, off_t off)
{
	size_t i = 0, run = 0, len;

	while (i < n) {
		len = ZERO_BLOCK - (size_t)((off + (off_t)i) % ZERO_BLOCK);
		if (len > n - i)
			len = n - i;
		if (!all_zero(buf + i, len)) {
			i += len;
			continue;
		}
		if (i > run && write_at(cp, buf + run, i - run,
		    off + (off_t)run) != 0)
			return (-1);
		i += len;
		run = i;
	}
	return (n > run ? write_at(cp, buf + run, n - run, off + (off_t)run) :
	    0);
}

/* Up to want bytes at off, through buf.  Bytes copied, 0 at the end of
 * the file, -1. */
static ssize_t
copy_some(struct copy *cp, char *buf, off_t off, size_t want)
{
	ssize_t n;

	while ((n = pread(cp->in, buf, want, off)) < 0 && errno == EINTR)
		continue;
	if (n < 0)
		return (thoth_fail("%s: read: %s", cp->what, strerror(errno)));
	return (n > 0 && write_data(cp, buf, (size_t)n, off) != 0 ? -1 : n);
}

/* The bytes [off, end) of the input to the same place in the output. */
static int
copy_range(struct copy *cp, off_t off, off_t end)
{
	static char buf[COPY_BUF];
	ssize_t n;

	while (off < end) {
		n = copy_some(cp, buf, off, (size_t)(end - off) < COPY_BUF ?
		    (size_t)(end - off) : COPY_BUF);
		if (n <= 0)
			return (n < 0 ? -1 : 0);	/* shrank: stop there */
		off += n;
		cp->done += (uint64_t)n;
		if (cp->progress != NULL)
			cp->progress(cp->arg, cp->done, cp->total);
	}
	return (0);
}

/*
 * Only the data of a sparse file is copied: a core's holes (memory the
 * process never touched) stay holes, and the output is cut to the
 * input's size so that a trailing hole is kept too.  Where the input
 * cannot say where its data is, all of it is data.
 */
static int
copy_fd(struct copy *cp, off_t size)
{
	off_t off = 0, data, hole;

	while (off < size) {
		if ((data = lseek(cp->in, off, SEEK_DATA)) < 0) {
			if (errno == ENXIO)
				break;		/* a hole up to the end */
			data = off;
			hole = size;
		} else if ((hole = lseek(cp->in, data, SEEK_HOLE)) < 0)
			hole = size;
		if (copy_range(cp, data, hole > size ? size : hole) != 0)
			return (-1);
		off = hole;
	}
	if (ftruncate(cp->out, size) != 0)
		return (thoth_fail("%s: %s", cp->to, strerror(errno)));
	return (0);
}

/*
 * Copies src to dst through tmp: nobody ever sees dst half-written.
 * Only a regular file is copied (never a device or a pipe).  The copy
 * gets src's permissions (a core the kernel wrote 0600 stays private)
 * further narrowed by mode.
 */
static int
copy_atomic(const char *src, const char *dst, const char *tmp, mode_t mode,
    thoth_progress_fn progress, void *arg)
{
	struct copy cp = { -1, -1, src, tmp, progress, arg, 0, 0 };
	struct stat sb;
	int rv = -1;

	if ((cp.in = open(src, O_RDONLY)) < 0 || fstat(cp.in, &sb) != 0)
		thoth_fail("%s: %s", src, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		thoth_fail("%s: not a regular file", src);
	else if ((cp.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC,
	    sb.st_mode & mode & 0666)) < 0)
		thoth_fail("%s: %s", tmp, strerror(errno));
	else {
		cp.total = (uint64_t)sb.st_size;
		rv = copy_fd(&cp, sb.st_size);
	}
	if (cp.out >= 0 && (fdatasync(cp.out) != 0 || close(cp.out) != 0) &&
	    rv == 0)
		rv = thoth_fail("%s: %s", tmp, strerror(errno));
	if (cp.in >= 0)
		close(cp.in);
	if (rv == 0 && rename(tmp, dst) != 0)
		rv = thoth_fail("%s: %s", dst, strerror(errno));
	if (rv != 0)
		(void) unlink(tmp);
	return (rv);
}

static int
dir_put_file(struct thoth_store *st, const char *key, const char *src,
    thoth_progress_fn progress, void *arg)
{
	char *path = dir_local(st, key), *tmp = temp_name(st, key);
	int rv = make_parent(tmp);

	if (rv == 0)
		rv = make_parent(path);

	if (rv == 0)
		rv = copy_atomic(src, path, tmp, 0666, progress, arg);
	free(tmp);
	free(path);
	return (rv);
}

/* Downloads are private to the user: 0600. */
static int
dir_get_file(struct thoth_store *st, const char *key, const char *dst)
{
	char *path = dir_local(st, key);
	char *tmp = thoth_xasprintf("%s.part.%ld", dst, (long)getpid());
	int rv = dir_exists(st, key);

	if (rv == 0)
		rv = copy_atomic(path, dst, tmp, 0600, NULL, NULL);
	free(tmp);
	free(path);
	return (rv);
}

static int
dir_del(struct thoth_store *st, const char *key)
{
	char *path = dir_local(st, key);
	int rv = 0;

	if (unlink(path) != 0 && errno != ENOENT)
		rv = thoth_fail("%s: %s", path, strerror(errno));
	free(path);
	return (rv);
}

/* d_type is DT_UNKNOWN on some filesystems: then ask stat(2). */
static int
is_dir(const char *parent, const struct dirent *de)
{
	struct stat sb;
	char *path;
	int rv;

	if (de->d_type != DT_UNKNOWN)
		return (de->d_type == DT_DIR);
	path = thoth_xasprintf("%s/%s", parent, de->d_name);
	rv = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
	free(path);
	return (rv);
}

static int
dir_list(struct thoth_store *st, const char *prefix, const char *after,
    thoth_list_fn fn, void *arg)
{
	char *path = *prefix ? dir_local(st, prefix) : thoth_xstrdup(st->root);
	DIR *d = opendir(path);
	struct dirent *de;
	int rv = 0;

	if (d == NULL) {
		rv = errno == ENOENT ? 0 : thoth_fail("%s: %s", path,
		    strerror(errno));
		free(path);
		return (rv);
	}
	while (rv == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (after != NULL &&
		    strcmp(de->d_name, after) <= 0))
			continue;
		if (is_dir(path, de)) {
			char *name = thoth_xasprintf("%s/", de->d_name);
			rv = fn(name, arg);
			free(name);
		} else {
			rv = fn(de->d_name, arg);
		}
	}
	closedir(d);
	free(path);
	return (rv < 0 ? -1 : 0);
}

static const struct thoth_store_ops dir_ops = {
	.exists = dir_exists, .get = dir_get, .put = dir_put,
	.put_file = dir_put_file, .get_file = dir_get_file, .del = dir_del,
	.list = dir_list, .local = dir_local,
};

/* What killed uploads left in a directory store; nothing elsewhere (an
 * S3 upload becomes visible only once complete). */
void
thoth_store_sweep(struct thoth_store *st)
{
	char *dir;

	if (st->ops != &dir_ops)
		return;
	dir = thoth_xasprintf("%s/%s", st->root, DIR_PARTS);
	thoth_sweep_stale(dir);
	free(dir);
}

int
thoth_store_dir_init(struct thoth_store *st, const char *path)
{
	char cwd[PATH_MAX];

	if (*path == '\0')
		return (thoth_fail("empty store directory"));
	if (*path == '/')
		st->root = thoth_xstrdup(path);
	else if (getcwd(cwd, sizeof (cwd)) != NULL)
		st->root = thoth_xasprintf("%s/%s", cwd, path);
	else
		return (thoth_fail("%s: %s", path, strerror(errno)));
	while (strlen(st->root) > 1 && st->root[strlen(st->root) - 1] == '/')
		st->root[strlen(st->root) - 1] = '\0';
	st->ops = &dir_ops;
	st->index_dir = thoth_xasprintf("%s/index", st->root);
	return (0);
}
