/*
 * journal.c - what systemd-coredump wrote to the journal about a core
 * it stored: the unit, slice and cgroup of the process and its whole
 * command line, which the core does not have (its psargs stop at 80
 * bytes).  Read with libsystemd's sd-journal, linked only into
 * thoth-meta.
 *
 * systemd-coredump logs one entry per core, MESSAGE_ID
 * fc2e22bc6ee647b6b90729ab34a250b1, with COREDUMP_PID (the pid in the
 * initial namespace, as in the spool name), COREDUMP_TIMESTAMP (the
 * name's USEC) and _BOOT_ID.  The entry of a core is the one with its
 * name's boot id and pid, its time stamp and, when the entry names the
 * file it stored, the same file name (compression suffix aside):
 * pids are reused, and a pulled core from another host has another
 * boot id, so no other crash's fields can be taken.  Entries that
 * match but differ make no answer at all.
 *
 * The journal is optional: none, an unreadable one or no entry leaves
 * the fields out, silently, since an ingest from cron on a host
 * without a journal is normal.  Only a journal named by THOTH_JOURNAL
 * that cannot be opened is reported, once.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "dump/dump.h"

#define COREDUMP_MESSAGE_ID "fc2e22bc6ee647b6b90729ab34a250b1"
/* Entries of one boot and pid looked at: more is not a core's entry. */
#define ENTRIES_MAX 16

struct thoth_journal {
	sd_journal *j;
	int state;		/* 0 not opened yet, 1 open, -1 off or unusable */
};

/* The COREDUMP_* fields kept, and their record names. */
static const struct {
	const char *field, *key;
	int integer;
} fields[] = {
	{ "COREDUMP_UNIT", "unit", 0 },
	{ "COREDUMP_USER_UNIT", "user_unit", 0 },
	{ "COREDUMP_SLICE", "slice", 0 },
	{ "COREDUMP_CGROUP", "cgroup", 0 },
	{ "COREDUMP_OWNER_UID", "owner_uid", 1 },
	{ "COREDUMP_CMDLINE", "cmdline", 0 },
};

struct thoth_journal *
thoth_journal_new(void)
{
	struct thoth_journal *jr = thoth_xmalloc(sizeof (*jr));

	jr->j = NULL;
	jr->state = 0;
	return (jr);
}

void
thoth_journal_free(struct thoth_journal *jr)
{
	if (jr == NULL)
		return;
	if (jr->j != NULL)
		sd_journal_close(jr->j);
	free(jr);
}

/*
 * THOTH_JOURNAL: unset or empty, this host's journals, system and
 * users' (systemd-coredump's entry of a user's process may be in the
 * user's journal), as coredumpctl reads them; "off", none; else a
 * directory or one file.  0, or -1 with errbuf for a named journal.
 */
static int
journal_open(struct thoth_journal *jr)
{
	const char *set = getenv("THOTH_JOURNAL");
	const char *files[2] = { set, NULL };
	struct stat st;
	int r;

	jr->state = -1;
	if (set != NULL && strcmp(set, "off") == 0)
		return (0);
	if (set == NULL || *set == '\0')
		r = sd_journal_open(&jr->j, SD_JOURNAL_LOCAL_ONLY);
	else if (stat(set, &st) == 0 && S_ISDIR(st.st_mode))
		r = sd_journal_open_directory(&jr->j, set, 0);
	else
		r = sd_journal_open_files(&jr->j, files, 0);
	if (r < 0) {
		jr->j = NULL;
		if (set != NULL && *set != '\0')
			return (thoth_fail("%s: cannot read the journal: %s",
			    set, strerror(-r)));
		return (0);
	}
	jr->state = 1;
	return (0);
}

/* The value of field in the current entry: 1, or 0 if it has none.
 * *v stays valid until the next read of the entry. */
static int
entry_get(sd_journal *j, const char *field, const char **v, size_t *len)
{
	size_t fl = strlen(field), n;
	const void *d;

	if (sd_journal_get_data(j, field, &d, &n) < 0 || n <= fl ||
	    memcmp(d, field, fl) != 0 || ((const char *)d)[fl] != '=')
		return (0);
	*v = (const char *)d + fl + 1;
	*len = n - fl - 1;
	return (1);
}

/* Whether the current entry is of this core: its time stamp, and the
 * file it names if it names one (either may be compressed since). */
static int
entry_is(sd_journal *j, const struct dump_spool *s, const char *base)
{
	const char *v, *b;
	size_t len;
	char ts[24], *name;
	int same;

	snprintf(ts, sizeof (ts), "%lld", (long long)s->usec);
	if (!entry_get(j, "COREDUMP_TIMESTAMP", &v, &len) ||
	    len != strlen(ts) || memcmp(v, ts, len) != 0)
		return (0);
	if (!entry_get(j, "COREDUMP_FILENAME", &v, &len))
		return (1);
	b = memrchr(v, '/', len);
	b = b != NULL ? b + 1 : v;
	name = thoth_xasprintf("%.*s", (int)(len - (size_t)(b - v)), b);
	same = dump_spool_stem(name) == dump_spool_stem(base) &&
	    memcmp(name, base, dump_spool_stem(base)) == 0;
	free(name);
	return (same);
}

/* The kept fields of the current entry, as record fields. */
static json_t *
entry_fields(sd_journal *j)
{
	json_t *o = json_object();
	const char *v;
	size_t len, i;
	char num[24], *end;
	long long n;

	for (i = 0; i < sizeof (fields) / sizeof (fields[0]); i++) {
		if (!entry_get(j, fields[i].field, &v, &len) || len == 0)
			continue;
		if (!fields[i].integer) {
			json_object_set_new(o, fields[i].key,
			    thoth_json_string(v, len));
			continue;
		}
		if (len >= sizeof (num))
			continue;
		memcpy(num, v, len);
		num[len] = '\0';
		n = strtoll(num, &end, 10);
		if (*end == '\0' && n >= 0)
			json_object_set_new(o, fields[i].key, json_integer(n));
	}
	return (o);
}

static int
add_match(sd_journal *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
add_match(sd_journal *j, const char *fmt, ...)
{
	char m[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof (m), fmt, ap);
	va_end(ap);
	return (sd_journal_add_match(j, m, 0));
}

/* The fields of the one entry of this core, or NULL: none, more than
 * ENTRIES_MAX candidates, or two that differ. */
static json_t *
lookup(sd_journal *j, const struct dump_spool *s, const char *base)
{
	json_t *found = NULL, *o;
	int i, r, same;

	sd_journal_flush_matches(j);
	if (add_match(j, "MESSAGE_ID=%s", COREDUMP_MESSAGE_ID) < 0 ||
	    add_match(j, "COREDUMP_PID=%lld", (long long)s->pid) < 0 ||
	    add_match(j, "_BOOT_ID=%s", s->boot_id) < 0 ||
	    sd_journal_seek_head(j) < 0)
		return (NULL);
	for (i = 0; (r = sd_journal_next(j)) > 0 && i < ENTRIES_MAX; i++) {
		if (!entry_is(j, s, base))
			continue;
		o = entry_fields(j);
		if (found == NULL) {
			found = o;
			continue;
		}
		same = json_equal(found, o);
		json_decref(o);
		if (!same)
			break;
	}
	if (r != 0) {	/* an error, an entry unread or two that differ */
		json_decref(found);
		return (NULL);
	}
	return (found);
}

int
thoth_journal_coredump(struct thoth_journal *jr, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	struct dump_spool s;
	char *path, *base;
	json_t *o = NULL;
	int rv = 0;

	if (jr->state < 0 || type == NULL || strcmp(type, "core") != 0 ||
	    (path = thoth_record_file(rec)) == NULL)
		return (0);
	if (dump_spool_read(path, &s) && s.boot_id[0] != '\0' &&
	    s.pid >= 0 && s.usec >= 0) {
		if (jr->state == 0)
			rv = journal_open(jr);
		base = strrchr(path, '/');
		if (jr->state > 0)
			o = lookup(jr->j, &s, base != NULL ? base + 1 : path);
		if (o != NULL)
			json_object_update(rec, o);
		json_decref(o);
	}
	free(s.hostname);
	free(path);
	return (rv);
}
