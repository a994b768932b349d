/*
 * stack.c - the crashing thread's stack of a Linux process core, through
 * libdwfl: the record's stack, stack_depth and stack_status.
 *
 * Frames are "module`function+0xoff" (module: basename of the file
 * without the kernel's " (deleted)"; offset from the symbol to the
 * frame's pc), "module@BUILDID+0xoff" (no symbol: offset from the
 * module's load address; "module+0xoff" if it has no build-id) or
 * "0xpc" (no module).  "stack_pcs" has, for every frame, where its pc
 * lies whatever the symbols: "BUILDID+0xoff", so that thoth-sign can
 * sign a frame the same whether or not its symbols were found (ASLR
 * moves load addresses, not offsets within a module).  Callers are
 * looked up at pc - 1, as eu-stack does, so that a call at the end of
 * a function names that function.
 *
 * C++ and Rust names (legacy and v0) are demangled by libiberty's
 * cplus_demangle: one call for both (DMGL_AUTO tries Rust, then C++),
 * and Rust's per-build hashes and crate disambiguators are left out, so
 * a rebuild keeps its frames; libstdc++'s __cxa_demangle knows only C++
 * and would keep Rust's "::h0123..." hashes.  Parameters are kept, as
 * eu-stack and gdb print them.
 *
 * A deep stack (runaway recursion) keeps its INNER innermost and OUTER
 * outermost frames around one marker frame "... N frames ...", and
 * stack_depth says how deep it was.  Only the kept frames are looked
 * up.  An x86-64 core is unwound in time linear in its depth
 * (unwind.c: 0.6 s for 262,000 frames), up to UNWIND_MAX frames; other
 * machines go through libdwfl's own core attach, quadratic (1.3 s for
 * 8,000 frames), up to SLOW_MAX.  A stack cut there has stack_status
 * "DEPTH+", and its outermost frames kept are the last unwound.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>

#include "dump/dump.h"

#define INNER 192		/* innermost frames kept */
#define OUTER 64		/* outermost frames kept */
#define UNWIND_MAX 1000000	/* frames unwound at most: see above */
#define SLOW_MAX 4096
#define DELETED " (deleted)"

struct pc {
	Dwarf_Addr pc;
	bool activation;
	Dwarf_Word sp;		/* x86-64 (fast): its stack pointer */
};

struct frames {
	Dwfl *dwfl;
	pid_t tid;			/* the thread wanted */
	struct pc inner[INNER];
	struct pc outer[OUTER];		/* a ring: the last OUTER frames */
	size_t depth;			/* frames unwound */
	size_t max;			/* at most */
	int fast;			/* unwind.c's attach (x86-64) */
	int started;			/* the thread was unwound */
	int skip;			/* a session's first frame: known */
	Dwarf_Word regs[17];		/* fast: the last frame's registers */
	char why[128];			/* why it has no frame */
};

/* The module's file name, without directories and " (deleted)". */
static char *
module_base(Dwfl_Module *mod, Dwarf_Addr *start)
{
	const char *name = dwfl_module_info(mod, NULL, start, NULL, NULL,
	    NULL, NULL, NULL), *slash;
	size_t n, d = strlen(DELETED);

	if (name == NULL)
		name = "?";
	if ((slash = strrchr(name, '/')) != NULL)
		name = slash + 1;
	n = strlen(name);
	if (n > d && strcmp(name + n - d, DELETED) == 0)
		n -= d;
	return (thoth_xasprintf("%.*s", (int)n, name));
}

/*
 * A signal handler returns to its restorer (Go's runtime.sigreturn),
 * which libdwfl does not know as a signal frame: pc is the restorer's
 * first byte and pc - 1 often in no function at all.  Then the symbol
 * that starts at pc.
 */
static const char *
restorer(Dwfl_Module *mod, Dwarf_Addr pc, Dwarf_Addr *adj, GElf_Off *off)
{
	const char *sym;
	GElf_Sym es;

	sym = dwfl_module_addrinfo(mod, pc, off, &es, NULL, NULL, NULL);
	if (sym == NULL || *off != 0)
		return (NULL);
	*adj = pc;
	return (sym);
}

/* The frame's module (NULL if none) and symbol (NULL if none), the
 * address it was looked up at and the offset from the symbol to it. */
static Dwfl_Module *
frame_symbol(Dwfl *dwfl, const struct pc *f, const char **sym,
    Dwarf_Addr *adj, GElf_Off *off)
{
	Dwfl_Module *mod;
	GElf_Sym es;

	*adj = f->activation ? f->pc : f->pc - 1;
	*sym = NULL;
	if ((mod = dwfl_addrmodule(dwfl, *adj)) == NULL)
		return (NULL);
	*sym = dwfl_module_addrinfo(mod, *adj, off, &es, NULL, NULL, NULL);
	if (*sym == NULL && *adj != f->pc)
		*sym = restorer(mod, f->pc, adj, off);
	return (mod);
}

/* A string of s, which it frees. */
static json_t *
json_take(char *s)
{
	json_t *v = thoth_json_string(s, strlen(s));

	free(s);
	return (v);
}

/*
 * The frame, for "stack", and where its pc lies, for "stack_pcs":
 * "BUILDID+0xOFF" (OFF from the module's load address, so the same on
 * every host and run whatever the symbols), or "module+0xOFF" for a
 * module without a build-id, or "0xPC" outside any module.  A frame
 * without a symbol is its module's name and that ("module@BUILDID+0xOFF").
 */
static void
frame_strings(Dwfl *dwfl, const struct pc *f, json_t **frame, json_t **pc)
{
	Dwarf_Addr adj, start = 0;
	const char *sym;
	char *base, *plain, *id, *where;
	GElf_Off off = 0;
	Dwfl_Module *mod = frame_symbol(dwfl, f, &sym, &adj, &off);

	if (mod == NULL) {
		where = thoth_xasprintf("0x%jx", (uintmax_t)f->pc);
		*frame = thoth_json_string(where, strlen(where));
		*pc = json_take(where);
		return;
	}
	base = module_base(mod, &start);
	id = dump_module_build_id(mod);
	where = thoth_xasprintf("%s+0x%jx", id != NULL ? id : base,
	    (uintmax_t)(f->pc - start));
	plain = sym != NULL ? cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI |
	    DMGL_AUTO) : NULL;
	if (sym != NULL)
		*frame = json_take(thoth_xasprintf("%s`%s+0x%jx", base,
		    plain != NULL ? plain : sym, (uintmax_t)(off + (f->pc - adj))));
	else if (id != NULL)
		*frame = json_take(thoth_xasprintf("%s@%s", base, where));
	else
		*frame = thoth_json_string(where, strlen(where));
	*pc = json_take(where);
	free(plain);
	free(id);
	free(base);
}

/* The module's GNU build-id in hex (allocated), or NULL. */
char *
dump_module_build_id(Dwfl_Module *mod)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bits;
	GElf_Addr vaddr;
	char *id;
	int len, i;

	if ((len = dwfl_module_build_id(mod, &bits, &vaddr)) <= 0)
		return (NULL);
	id = thoth_xmalloc(2 * (size_t)len + 1);
	for (i = 0; i < len; i++) {
		id[2 * i] = hex[bits[i] >> 4];
		id[2 * i + 1] = hex[bits[i] & 0xf];
	}
	id[2 * len] = '\0';
	return (id);
}

/* A frame's DWARF registers 0-16 (x86-64), 0 for those unknown. */
static void
frame_regs(Dwfl_Frame *state, Dwarf_Word regs[17], Dwarf_Addr pc)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (dwfl_frame_reg(state, i, &regs[i]) != 0)
			regs[i] = 0;
	}
	regs[16] = pc;
}

static int
frame_cb(Dwfl_Frame *state, void *arg)
{
	struct frames *fr = arg;
	struct pc f;

	if (!dwfl_frame_pc(state, &f.pc, &f.activation))
		return (DWARF_CB_ABORT);
	if (fr->skip) {
		fr->skip = 0;
		return (DWARF_CB_OK);
	}
	if (fr->fast)
		frame_regs(state, fr->regs, f.pc);
	f.sp = fr->fast ? fr->regs[7] : 0;
	if (fr->depth < INNER)
		fr->inner[fr->depth] = f;
	else
		fr->outer[(fr->depth - INNER) % OUTER] = f;
	fr->depth++;
	return (fr->depth < fr->max ? DWARF_CB_OK : DWARF_CB_ABORT);
}

/*
 * Walks every thread but unwinds only the one wanted: libdwfl frees
 * its core thread iterator only at the end of the notes, so stopping
 * early (or dwfl_getthread_frames) would leak it.  An unwinder stops
 * with an error at the outermost frame more often than not; only a
 * stack with no frame at all is a failure.
 */
static int
thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct frames *fr = arg;

	if (dwfl_thread_tid(thread) != fr->tid || fr->started)
		return (DWARF_CB_OK);
	fr->started = 1;
	if (dwfl_thread_getframes(thread, frame_cb, fr) != 0 &&
	    fr->depth == 0)
		snprintf(fr->why, sizeof (fr->why), "%s", dwfl_errmsg(-1));
	return (DWARF_CB_OK);
}

/* How many frames are kept, and the i-th of them, innermost first. */
static size_t
nkept(const struct frames *fr)
{
	return (fr->depth < INNER + OUTER ? fr->depth : INNER + OUTER);
}

static const struct pc *
kept(const struct frames *fr, size_t i)
{
	size_t rest = fr->depth - INNER;

	if (i < INNER)
		return (&fr->inner[i]);
	i -= INNER;
	return (&fr->outer[(rest > OUTER ? rest % OUTER + i : i) % OUTER]);
}

/* The kept frames ("stack") and their pcs ("stack_pcs"), with the
 * marker where frames were left out in both. */
static void
stack_arrays(const struct frames *fr, json_t *rec)
{
	json_t *stack = json_array(), *pcs = json_array(), *frame, *pc;
	size_t i;

	for (i = 0; i < nkept(fr); i++) {
		if (i == INNER && fr->depth > INNER + OUTER) {
			pc = json_take(thoth_xasprintf("... %zu frames ...",
			    fr->depth - INNER - OUTER));
			json_array_append(stack, pc);
			json_array_append_new(pcs, pc);
		}
		frame_strings(fr->dwfl, kept(fr, i), &frame, &pc);
		json_array_append_new(stack, frame);
		json_array_append_new(pcs, pc);
	}
	json_object_set_new(rec, "stack", stack);
	json_object_set_new(rec, "stack_pcs", pcs);
}

/* Whether name is an item of the ", "-separated list. */
static int
listed(const char *list, const char *name)
{
	char *l, *n;
	int yes;

	if (list == NULL)
		return (0);
	l = thoth_xasprintf(", %s, ", list);
	n = thoth_xasprintf(", %s, ", name);
	yes = strstr(l, n) != NULL;
	free(l);
	free(n);
	return (yes);
}

/* The modules of the kept frames without a symbol (stripped, or their
 * files not found), each once, ", "-separated; but an executable whose
 * file was not found (no ELF: no symbols, no unwind tables) is said by
 * exe_missing. */
static char *
unsymbolized_modules(const struct frames *fr, const char *exe,
    int *exe_missing)
{
	char *list = NULL, *base, *s;
	const char *sym;
	Dwfl_Module *mod;
	Dwarf_Addr adj, bias;
	GElf_Off off;
	size_t i;

	for (i = 0; i < nkept(fr); i++) {
		mod = frame_symbol(fr->dwfl, kept(fr, i), &sym, &adj, &off);
		if (mod == NULL || sym != NULL)
			continue;
		base = module_base(mod, NULL);
		if (exe != NULL && strcmp(base, exe) == 0 &&
		    dwfl_module_getelf(mod, &bias) == NULL)
			*exe_missing = 1;
		else if (!listed(list, base)) {
			s = thoth_xasprintf("%s%s%s", list ? list : "",
			    list ? ", " : "", base);
			free(list);
			list = s;
		}
		free(base);
	}
	return (list);
}

/*
 * "complete", or what is wrong with the stack, "; "-separated:
 * "truncated at N of DEPTH frames" (frames left out; DEPTH+ when the
 * unwinding gave up), "partial: executable missing", "partial:
 * unsymbolized modules: A, B" (frames without a symbol), "partial:
 * core truncated" (its memory
 * cut short: the unwinding stops where the stack's pages are missing).
 */
static json_t *
stack_status(const struct dump *d, const struct frames *fr,
    const json_t *rec)
{
	const char *exe = json_string_value(json_object_get(rec, "exe")), *sl;
	char *text = NULL, *list;
	size_t len = 0;
	int exe_missing = 0;
	FILE *fp = open_memstream(&text, &len);
	json_t *v;

	if (fp == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	if (exe != NULL && (sl = strrchr(exe, '/')) != NULL)
		exe = sl + 1;
	if (fr->depth > nkept(fr) || fr->depth >= fr->max)
		fprintf(fp, "; truncated at %zu of %zu%s frames", nkept(fr),
		    fr->depth, fr->depth >= fr->max ? "+" : "");
	list = unsymbolized_modules(fr, exe, &exe_missing);
	if (exe_missing)
		fprintf(fp, "; partial: executable missing");
	if (list != NULL)
		fprintf(fp, "; partial: unsymbolized modules: %s", list);
	if (d->expected > 0)
		fprintf(fp, "; partial: core truncated");
	free(list);
	fclose(fp);
	v = json_string(len > 0 ? text + 2 : "complete");
	free(text);
	return (v);
}

static int
named(const struct frames *fr, size_t i, const char *prefix, int *at_start)
{
	const char *sym;
	Dwarf_Addr adj;
	GElf_Off off;

	if (frame_symbol(fr->dwfl, kept(fr, i), &sym, &adj, &off) == NULL ||
	    sym == NULL)
		return (0);
	*at_start = adj == kept(fr, i)->pc && off == 0;
	return (strncmp(sym, prefix, strlen(prefix)) == 0);
}

/*
 * Where libdwfl stops in a Go program, with the registers to go on
 * from: Go's signal handler returns through runtime.sigreturn, which
 * libdwfl does not know as a signal frame (the kernel's ucontext_t is
 * at its stack pointer); and runtime.sigpanic, which the handler makes
 * the faulting goroutine call, returns to the faulting instruction
 * itself, where libdwfl looks for the caller's unwind tables one byte
 * early.  1 with regs (and *skip: that frame is already there), or 0.
 */
static int
go_resume(struct dump *d, struct frames *fr, Dwarf_Word regs[17], int *skip)
{
	size_t n = nkept(fr);
	int start;

	if (n == 0 || fr->depth >= fr->max)
		return (0);
	*skip = 0;
	if (named(fr, n - 1, "runtime.sigreturn", &start))
		return (kept(fr, n - 1)->sp != 0 &&
		    dump_sigframe_regs(d, kept(fr, n - 1)->sp, regs) == 0);
	if (n >= 2 && named(fr, n - 2, "runtime.sigpanic", &start) &&
	    named(fr, n - 1, "", &start) && start) {
		memcpy(regs, fr->regs, sizeof (fr->regs));
		*skip = 1;
		return (1);
	}
	return (0);
}

/* The unwinding goes on past Go's signal frames, each in a session of
 * its own (a Dwfl takes one attach), at most eight times. */
static void
go_signal_frames(struct dump *d, Elf *elf, struct frames *fr)
{
	Dwarf_Word regs[17];
	Dwfl *dwfl;
	int n, skip;

	for (n = 0; n < 8 && go_resume(d, fr, regs, &skip); n++) {
		if ((dwfl = dump_dwfl_more()) == NULL)
			return;
		fr->started = 0;
		fr->skip = skip;
		if (dwfl_core_file_report(dwfl, elf, NULL) >= 0 &&
		    dwfl_report_end(dwfl, NULL, NULL) == 0 &&
		    dump_unwind_regs(d, elf, dwfl, fr->tid, regs) >= 0)
			(void) dwfl_getthreads(dwfl, thread_cb, fr);
		fr->skip = 0;
		dwfl_end(dwfl);
	}
}

static void
unwind(struct dump *d, struct frames *fr, size_t max)
{
	fr->max = max;
	if (dwfl_getthreads(fr->dwfl, thread_cb, fr) < 0 && fr->depth == 0)
		warnx("%s: cannot unwind: %s", d->path, dwfl_errmsg(-1));
	else if (fr->depth == 0)
		warnx("%s: cannot unwind thread %jd: %s", d->path,
		    (intmax_t)fr->tid, fr->why);
}

void
dump_core_stack(struct dump *d, Elf *elf, Dwfl *dwfl, json_t *rec,
    int64_t tid, const unsigned char *prstatus, size_t len)
{
	struct frames *fr = thoth_xmalloc(sizeof (*fr));
	int fast = 0;

	memset(fr, 0, sizeof (*fr));
	fr->dwfl = dwfl;
	fr->tid = (pid_t)tid;
	snprintf(fr->why, sizeof (fr->why), "no such thread");
	if (tid < 0)
		warnx("%s: cannot unwind: no NT_PRSTATUS", d->path);
	else if (dump_unwind_attach(d, elf, dwfl, tid, prstatus, len,
	    &fast) < 0)
		warnx("%s: cannot unwind: %s", d->path, dwfl_errmsg(-1));
	else {
		fr->fast = fast;
		unwind(d, fr, fast ? UNWIND_MAX : SLOW_MAX);
		if (fast)
			go_signal_frames(d, elf, fr);
	}
	if (fr->depth > 0) {
		stack_arrays(fr, rec);
		json_object_set_new(rec, "stack_depth",
		    json_integer((json_int_t)fr->depth));
		json_object_set_new(rec, "stack_status", stack_status(d, fr,
		    rec));
	}
	free(fr);
}
