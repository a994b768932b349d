/*
 * illumos.c - illumos dumps: kernel crash dumps (dumphdr_t, as
 * savecore writes vmdump.N and vmcore.N) and the notes of process
 * cores (psinfo_t, pstatus_t, utsname, zone name).
 *
 * Layouts are those of illumos sys/dumphdr.h and sys/procfs.h, for a
 * 32- or 64-bit system (dump_wordsize; the core's ELF class) of either
 * byte order (SPARC is big-endian).  A crash dump's id is the digest
 * of its header's bytes, dump_magic to dump_uuid.
 */
#include <string.h>

#include "dump/dump.h"

#define DUMP_VERSION_MAX 64
#define DF_COMPLETE 0x2
#define DF_COMPRESSED 0x8
#define SYS_NMLN 257
#define HDR_UTSNAME 56			/* after 4 uint32 and 5 offset_t */
#define HDR_PLATFORM (HDR_UTSNAME + 5 * SYS_NMLN)
#define HDR_PANIC (HDR_PLATFORM + SYS_NMLN)
#define HDR_CRASHTIME (HDR_PANIC + 200 + 2)	/* time_t, aligned to 4/8 */
/* dump_uuid[37] after the crash time, 5 longs, 2 size_t and a uint32 */
#define HDR_UUID(w) (HDR_CRASHTIME + 8 * (w) + 4)
#define HDR_LEN(w) (HDR_UUID(w) + 37)

/* Note types of illumos process cores (sys/elf.h). */
#define NT_PSTATUS 10
#define NT_PSINFO 13
#define NT_UTSNAME 15
#define NT_ZONENAME 21

int
dump_illumos_check(struct dump *d)
{
	const unsigned char *h;
	uint64_t version, word;

	d->msb = d->head[0] == 0xde;
	if ((h = dump_bytes(d, 0, 16)) == NULL)
		return (-1);
	version = dump_rd(d, h + 4, 4);
	word = dump_rd(d, h + 12, 4);
	if (version == 0 || version > DUMP_VERSION_MAX)
		return (thoth_fail("bad illumos dump version %ju",
		    (uintmax_t)version));
	if (word != 32 && word != 64)
		return (thoth_fail("bad illumos dump word size %ju",
		    (uintmax_t)word));
	d->word = (size_t)word / 8;
	d->hdr_len = HDR_LEN(d->word);
	if ((d->hdr = dump_bytes(d, 0, d->hdr_len)) == NULL)
		return (-1);
	if ((int64_t)dump_rd(d, d->hdr + HDR_CRASHTIME, d->word) > 0)
		d->time = (int64_t)dump_rd(d, d->hdr + HDR_CRASHTIME, d->word);
	return (0);
}

int
dump_illumos_meta(struct dump *d, json_t *rec)
{
	const unsigned char *h = d->hdr;
	uint64_t flags = dump_rd(d, h + 8, 4);

	dump_set(rec, "platform", dump_chars(h + HDR_UTSNAME + 3 * SYS_NMLN,
	    SYS_NMLN, 0));
	dump_set(rec, "node", dump_chars(h + HDR_UTSNAME + SYS_NMLN,
	    SYS_NMLN, 0));
	json_object_set_new(rec, "time", json_integer(d->time));
	dump_set(rec, "panic", dump_chars(h + HDR_PANIC, 200, 0));
	dump_set(rec, "dump_uuid", dump_chars(h + HDR_UUID(d->word), 37, 0));
	json_object_set_new(rec, "dump_format", json_string(
	    flags & DF_COMPRESSED ? "illumos-vmdump" : "illumos"));
	json_object_set_new(rec, "dump_complete",
	    json_boolean(flags & DF_COMPLETE));
	return (0);
}

/* illumos signal numbers (sys/iso/signal_iso.h), not Linux's. */
json_t *
dump_illumos_signal(int sig)
{
	static const char *const names[] = { NULL, "HUP", "INT", "QUIT",
	    "ILL", "TRAP", "ABRT", "EMT", "FPE", "KILL", "BUS", "SEGV", "SYS",
	    "PIPE", "ALRM", "TERM", "USR1", "USR2", "CHLD", "PWR", "WINCH",
	    "URG", "POLL", "STOP", "TSTP", "CONT", "TTIN", "TTOU", "VTALRM",
	    "PROF", "XCPU", "XFSZ", "WAITING", "LWP", "FREEZE", "THAW",
	    "CANCEL", "LOST", "XRES", "JVM1", "JVM2", "INFO" };
	char buf[32];

	if (sig <= 0)
		return (NULL);
	if ((size_t)sig < sizeof (names) / sizeof (names[0]))
		snprintf(buf, sizeof (buf), "SIG%s", names[sig]);
	else
		snprintf(buf, sizeof (buf), "%d", sig);
	return (json_string(buf));
}

/*
 * psinfo_t: pr_pid at 8, pr_uid at 24; then pr_addr, 3 size_t, a dev_t
 * (words), 2 shorts, 3 timestruc_t (aligned to a word), pr_fname[16]
 * and pr_psargs[80].
 */
static void
note_psinfo(struct dump *d, json_t *rec, const unsigned char *p, size_t n)
{
	size_t fname = d->word == 8 ? 136 : 88;
	char pid[16];

	if (n < fname + 16 + 80)
		return;
	snprintf(pid, sizeof (pid), "%d", (int32_t)dump_rd(d, p + 8, 4));
	json_object_set_new(rec, "pid", json_string(pid));
	dump_set(rec, "cmd", dump_chars(p + fname, 16, 0));
	dump_set(rec, "psargs", dump_chars(p + fname + 16, 80, 1));
	json_object_set_new(rec, "uid", json_integer(dump_rd(d, p + 24, 4)));
}

/* pstatus_t: its pr_lwp (lwpstatus_t) at 384 (LP64) or 336: pr_cursig
 * at 12, pr_info (siginfo_t, si_signo first) at 16. */
static int
note_pstatus(struct dump *d, const unsigned char *p, size_t n)
{
	size_t lwp = d->word == 8 ? 384 : 336;
	int sig;

	if (n < lwp + 20)
		return (0);
	if ((sig = (int16_t)dump_rd(d, p + lwp + 12, 2)) > 0)
		return (sig);
	return ((int32_t)dump_rd(d, p + lwp + 16, 4));
}

struct illumos_core {
	json_t *rec;
	int sig;
};

static void
illumos_note(struct dump *d, const char *name, size_t namesz, uint32_t type,
    const unsigned char *desc, size_t n, void *arg)
{
	struct illumos_core *c = arg;

	if (!dump_note_is(name, namesz, "CORE"))
		return;
	switch (type) {
	case NT_PSINFO:
		note_psinfo(d, c->rec, desc, n);
		break;
	case NT_PSTATUS:
		c->sig = note_pstatus(d, desc, n);
		break;
	case NT_UTSNAME:
		if (n >= 4 * SYS_NMLN) {
			dump_set(c->rec, "node", dump_chars(desc + SYS_NMLN,
			    SYS_NMLN, 0));
			dump_set(c->rec, "platform", dump_chars(desc +
			    3 * SYS_NMLN, SYS_NMLN, 0));
		}
		break;
	case NT_ZONENAME:
		dump_set(c->rec, "zone", dump_chars(desc, n, 0));
		break;
	}
}

int
dump_illumos_core_meta(struct dump *d, json_t *rec)
{
	struct illumos_core c = { rec, 0 };

	if (dump_elf_notes(d, illumos_note, &c) != 0)
		return (-1);
	dump_set(rec, "signal", dump_illumos_signal(c.sig));
	return (0);
}
