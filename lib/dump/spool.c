/*
 * spool.c - what systemd-coredump says about a core it stored, beyond
 * the core itself: its file name, core.COMM.UID.BOOTID.PID.USEC with
 * .zst, .xz, .lz4 or .gz when compressed, and its user.coredump.*
 * extended attributes.  The core's notes stay the reference for pid,
 * uid, signal, command and executable; this adds when it was made (a
 * Linux core carries no time, and the file's mtime is when it was
 * written or copied), the boot and the host name.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "dump/dump.h"

#define BOOT_ID_LEN 32

static int
all(const char *s, size_t n, int (*is)(int))
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is((unsigned char)s[i]))
			return (0);
	}
	return (n > 0);
}

static int
ishex(int c)
{
	return (isdigit(c) || (c >= 'a' && c <= 'f'));
}

/* The n-th dot-separated field from the end of s[0, *len), which is cut
 * before it: its start, and its length in *flen. */
static const char *
field_back(const char *s, size_t *len, size_t *flen)
{
	const char *dot = memrchr(s, '.', *len);

	if (dot == NULL)
		return (NULL);
	*flen = *len - (size_t)(dot + 1 - s);
	*len = (size_t)(dot - s);
	return (dot + 1);
}

/* BOOTID and USEC of a name core.COMM.UID.BOOTID.PID.USEC[.EXT]. */
static int
spool_name(const char *name, char boot_id[BOOT_ID_LEN + 1], int64_t *usec)
{
	static const char *const ext[] = { ".zst", ".xz", ".lz4", ".gz" };
	size_t len = strlen(name), n, i;
	const char *f[4];
	size_t fl[4];

	for (i = 0; i < sizeof (ext) / sizeof (ext[0]); i++) {
		n = strlen(ext[i]);
		if (len > n && strcmp(name + len - n, ext[i]) == 0) {
			len -= n;
			break;
		}
	}
	for (i = 0; i < 4; i++) {
		if ((f[i] = field_back(name, &len, &fl[i])) == NULL)
			return (0);
	}
	/* f[0] USEC, f[1] PID, f[2] BOOTID, f[3] UID; name[0, len) core.COMM */
	if (!all(f[0], fl[0], isdigit) || fl[0] > 18 ||
	    !all(f[1], fl[1], isdigit) || fl[2] != BOOT_ID_LEN ||
	    !all(f[2], fl[2], ishex) || !all(f[3], fl[3], isdigit) ||
	    len <= 5 || strncmp(name, "core.", 5) != 0)
		return (0);
	memcpy(boot_id, f[2], BOOT_ID_LEN);
	boot_id[BOOT_ID_LEN] = '\0';
	*usec = strtoll(f[0], NULL, 10);
	return (1);
}

/* An attribute's value as a string (NULL if absent or empty). */
static char *
attr(const char *path, const char *name)
{
	char buf[1024];
	ssize_t n = getxattr(path, name, buf, sizeof (buf) - 1);

	if (n <= 0)
		return (NULL);
	buf[n] = '\0';
	return (thoth_xstrdup(buf));
}

json_t *
dump_spool(const char *path, int64_t *time)
{
	const char *base = strrchr(path, '/');
	char boot_id[BOOT_ID_LEN + 1], *ts, *host, *end;
	int64_t usec = -1, v;
	json_t *o;

	base = base != NULL ? base + 1 : path;
	ts = attr(path, "user.coredump.timestamp");
	host = attr(path, "user.coredump.hostname");
	if (!spool_name(base, boot_id, &usec) && ts == NULL && host == NULL)
		return (NULL);
	o = json_object();
	if (usec >= 0)
		json_object_set_new(o, "boot_id", json_string(boot_id));
	if (host != NULL)
		json_object_set_new(o, "hostname", thoth_json_string(host,
		    strlen(host)));
	if (ts != NULL && (v = strtoll(ts, &end, 10)) >= 0 && *end == '\0')
		usec = v;
	if (usec >= 0)
		*time = usec / 1000000;
	free(ts);
	free(host);
	return (o);
}
