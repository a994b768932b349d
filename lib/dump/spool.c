/*
 * spool.c - what systemd-coredump says about a core it stored, beyond
 * the core itself: its file name, core.COMM.UID.BOOTID.PID.USEC with
 * .zst, .xz, .lz4 or .gz when compressed, and its user.coredump.*
 * extended attributes.  The core's notes stay the reference for pid,
 * uid, signal, command and executable; this adds when it was made (a
 * Linux core carries no time, and the file's mtime is when it was
 * written or copied), the boot and the host name; and the key of the
 * core's journal entry (boot id, pid, time stamp), which journal.c
 * reads.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "dump/dump.h"

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

/* The length of a spool name without its compression suffix. */
size_t
dump_spool_stem(const char *name)
{
	static const char *const ext[] = { ".zst", ".xz", ".lz4", ".gz" };
	size_t len = strlen(name), n, i;

	for (i = 0; i < sizeof (ext) / sizeof (ext[0]); i++) {
		n = strlen(ext[i]);
		if (len > n && strcmp(name + len - n, ext[i]) == 0)
			return (len - n);
	}
	return (len);
}

/* BOOTID, PID and USEC of a name core.COMM.UID.BOOTID.PID.USEC[.EXT]. */
static int
spool_name(const char *name, struct dump_spool *s)
{
	size_t len = dump_spool_stem(name), i;
	const char *f[4];
	size_t fl[4];

	for (i = 0; i < 4; i++) {
		if ((f[i] = field_back(name, &len, &fl[i])) == NULL)
			return (0);
	}
	/* f[0] USEC, f[1] PID, f[2] BOOTID, f[3] UID; name[0, len) core.COMM */
	if (!all(f[0], fl[0], isdigit) || fl[0] > 18 ||
	    !all(f[1], fl[1], isdigit) || fl[1] > 18 ||
	    fl[2] != DUMP_BOOT_ID_LEN || !all(f[2], fl[2], ishex) ||
	    !all(f[3], fl[3], isdigit) || len <= 5 ||
	    strncmp(name, "core.", 5) != 0)
		return (0);
	memcpy(s->boot_id, f[2], DUMP_BOOT_ID_LEN);
	s->boot_id[DUMP_BOOT_ID_LEN] = '\0';
	s->pid = strtoll(f[1], NULL, 10);
	s->usec = strtoll(f[0], NULL, 10);
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

int
dump_spool_read(const char *path, struct dump_spool *s)
{
	const char *base = strrchr(path, '/');
	char *ts, *end;
	int64_t v;

	base = base != NULL ? base + 1 : path;
	memset(s, 0, sizeof (*s));
	s->pid = s->usec = -1;
	ts = attr(path, "user.coredump.timestamp");
	s->hostname = attr(path, "user.coredump.hostname");
	if (!spool_name(base, s) && ts == NULL && s->hostname == NULL)
		return (0);
	if (ts != NULL && (v = strtoll(ts, &end, 10)) >= 0 && *end == '\0')
		s->usec = v;
	free(ts);
	return (1);
}

json_t *
dump_spool(const char *path, int64_t *time)
{
	struct dump_spool s;
	json_t *o;

	if (!dump_spool_read(path, &s))
		return (NULL);
	o = json_object();
	if (s.boot_id[0] != '\0')
		json_object_set_new(o, "boot_id", json_string(s.boot_id));
	if (s.hostname != NULL)
		json_object_set_new(o, "hostname", thoth_json_string(s.hostname,
		    strlen(s.hostname)));
	if (s.usec >= 0)
		*time = s.usec / 1000000;
	free(s.hostname);
	return (o);
}
