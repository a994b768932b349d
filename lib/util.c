/*
 * util.c - errors, allocation, ages, ids and small file helpers.
 */
#include <errno.h>
#include <ftw.h>
#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "thoth.h"

char thoth_errbuf[512];

/* Records why something failed, for the caller to print; returns -1. */
int
thoth_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(thoth_errbuf, sizeof (thoth_errbuf), fmt, ap);
	va_end(ap);
	return (-1);
}

void *
thoth_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	return (p);
}

/* p, an array of *cap elements of size bytes, grown (doubling) to hold
 * need of them. */
void *
thoth_grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return (p);
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 64;
	if ((p = realloc(p, *cap * size)) == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	return (p);
}

char *
thoth_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	return (p);
}

char *
thoth_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		err(THOTH_EXIT_FAIL, "out of memory");
	va_end(ap);
	return (s);
}

int64_t
thoth_now(void)
{
	const char *fake = getenv("THOTH_NOW");	/* for tests of ages */

	if (fake != NULL && *fake != '\0')
		return (strtoll(fake, NULL, 10));
	return ((int64_t)time(NULL));
}

/* "90s", "30m", "6h", "3d", "2w", "1y"; a bare number means seconds. */
int
thoth_parse_age(const char *s, int64_t *seconds)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 }, { 'y', 365 * 86400 },
	};
	char *end;
	long long n;
	size_t i;

	if (*s < '0' || *s > '9')
		return (thoth_fail("bad age '%s': expected a number and "
		    "one of s m h d w y", s));
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n > INT32_MAX)
		return (thoth_fail("bad age '%s': too large", s));
	if (*end == '\0') {
		*seconds = n;
		return (0);
	}
	for (i = 0; i < sizeof (units) / sizeof (units[0]); i++) {
		if (end[0] == units[i].unit && end[1] == '\0') {
			*seconds = n * units[i].secs;
			return (0);
		}
	}
	return (thoth_fail("bad age '%s': expected a number and one of "
	    "s m h d w y", s));
}

int
thoth_is_hex_prefix(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return (n > 0 && n <= THOTH_ID_LEN && s[n] == '\0');
}

int
thoth_is_id(const char *s)
{
	return (thoth_is_hex_prefix(s) && strlen(s) == THOTH_ID_LEN);
}

/* mkdir -p */
int
thoth_mkdirs(const char *path, mode_t mode)
{
	char *p = thoth_xstrdup(path), *s;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			thoth_fail("%s: %s", p, strerror(errno));
			free(p);
			return (-1);
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return (0);
}

/*
 * "<dir>/.<name>.tmp.<pid>": where path is written before its rename.
 * The dot keeps it out of listings; the pid lets thoth_sweep_stale
 * tell a killed writer's leftovers.
 */
char *
thoth_temp_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return (thoth_xasprintf(".%s.tmp.%ld", path, (long)getpid()));
	return (thoth_xasprintf("%.*s/.%s.tmp.%ld", (int)(slash - path), path,
	    slash + 1, (long)getpid()));
}

/* Writes thoth_temp_name(path), fsyncs it and renames it over path. */
int
thoth_write_file_atomic(const char *path, const void *buf, size_t len)
{
	char *tmp = thoth_temp_name(path);
	const char *p = buf;
	int fd, rv = -1;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		thoth_fail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			thoth_fail("%s: %s", tmp, strerror(errno));
			close(fd);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		thoth_fail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		thoth_fail("%s: %s", path, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (rv != 0)
		(void) unlink(tmp);
	free(tmp);
	return (rv);
}

/* Reads a whole small file, NUL-terminated. 0, 1 if absent, -1. */
int
thoth_read_file(const char *path, char **bufp, size_t *lenp)
{
	FILE *fp = fopen(path, "r");
	int rv;

	if (fp == NULL) {
		if (errno == ENOENT)
			return (1);
		return (thoth_fail("%s: %s", path, strerror(errno)));
	}
	rv = thoth_read_stream(fp, path, bufp, lenp);
	fclose(fp);
	return (rv);
}

/* Reads fp to its end, NUL-terminated. 0, or -1 naming what. */
int
thoth_read_stream(FILE *fp, const char *what, char **bufp, size_t *lenp)
{
	char *buf = NULL, chunk[65536];
	size_t len = 0, n;
	FILE *mem = open_memstream(&buf, &len);

	if (mem == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	while ((n = fread(chunk, 1, sizeof (chunk), fp)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(mem);
	if (ferror(fp)) {
		free(buf);
		return (thoth_fail("%s: read error", what));
	}
	*bufp = buf;
	if (lenp != NULL)
		*lenp = len;
	return (0);
}

/* Output errors (a full disk, a closed pipe) must not pass silently. */
void
thoth_close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (errno == EPIPE)
			_exit(THOTH_EXIT_FAIL);
		err(THOTH_EXIT_FAIL, "stdout");
	}
}

#define STALE_SECONDS 600	/* a live writer touches its file more often */

/* ".NAME.part.PID" or ".NAME.tmp.PID": the PID of the writer, or 0. */
static long
temp_owner(const char *name)
{
	const char *dot = strrchr(name, '.');
	char *end;
	long pid;

	if (name[0] != '.' || dot == NULL || (strstr(name, ".part.") == NULL &&
	    strstr(name, ".tmp.") == NULL))
		return (0);
	pid = strtol(dot + 1, &end, 10);
	return (*end == '\0' && pid > 0 ? pid : 0);
}

/*
 * Temporaries of writers that were killed: gone once their process is
 * and they have not changed for a while (the store may be shared over
 * NFS, where another host's writer has a PID we cannot see).
 */
void
thoth_sweep_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;
	long pid;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if ((pid = temp_owner(de->d_name)) == 0 ||
		    (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;
		char *path = thoth_xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &sb) == 0 &&
		    sb.st_mtime < time(NULL) - STALE_SECONDS)
			(void) unlink(path);
		free(path);
	}
	if (d != NULL)
		closedir(d);
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path));
}

/* Removes a directory and all in it (or nothing, if it is not there). */
int
thoth_remove_tree(const char *path)
{
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT)
		return (thoth_fail("%s: %s", path, strerror(errno)));
	return (0);
}
