/*
 * unwind.c - the crashing thread of an x86-64 Linux core for libdwfl's
 * unwinder, its memory read with pread.
 *
 * dwfl_core_file_attach reads the core's memory through libelf's
 * elf_getdata_rawchunk, which elfutils 0.188 keeps in a list it
 * searches from the start on every read: unwinding costs time
 * quadratic in the depth (1.3 s for 8,000 frames, a quarter of an hour
 * for a 200,000-frame overflow).  Here the thread's registers come from
 * its NT_PRSTATUS and each read finds its PT_LOAD (the last one found
 * first) and preads it: linear.  Other machines keep libdwfl's attach.
 * The same callbacks start another session from given registers, those
 * a signal saved (stack.c, past Go's signal frames).
 */
#include <elf.h>
#include <string.h>
#include <elfutils/libdwfl.h>

#include "dump/dump.h"

#define PR_REG_OFF 112		/* pr_reg in x86-64's struct elf_prstatus */
#define PR_NREG 27		/* user_regs_struct: 27 longs */

#define UC_GREGS 40		/* uc_mcontext.gregs in x86-64's ucontext_t */

/* user_regs_struct's index of each DWARF register 0-16 (rax, rdx, rcx,
 * rbx, rsi, rdi, rbp, rsp, r8-r15, rip), and gregs' index of each. */
static const int dwarf_of_user[17] = {
	10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16
};
static const int dwarf_of_greg[17] = {
	13, 12, 14, 11, 9, 8, 10, 15, 0, 1, 2, 3, 4, 5, 6, 7, 16
};

struct proc {
	struct dump *d;
	pid_t tid;
	const unsigned char *prstatus;	/* registers from here, */
	Dwarf_Word regs[17];		/* or from here if prstatus is NULL */
	size_t last;			/* the PT_LOAD read last */
	int given;			/* next_thread gave the thread */
};

static pid_t
next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct proc *p = arg;

	(void)dwfl;
	if (p->given)
		return (0);
	p->given = 1;
	*thread_argp = p;
	return (p->tid);
}

static int
in_load(const struct dump_phdr *ph, uint64_t addr, size_t len)
{
	return (ph->type == PT_LOAD && addr >= ph->vaddr &&
	    ph->filesz >= len && addr - ph->vaddr <= ph->filesz - len);
}

int
dump_core_mem(struct dump *d, uint64_t addr, void *buf, size_t len,
    size_t *hint)
{
	const struct dump_phdr *ph;
	size_t i = *hint;

	if (i >= d->phnum || !in_load(&d->ph[i], addr, len)) {
		for (i = 0; i < d->phnum && !in_load(&d->ph[i], addr, len);
		    i++)
			continue;
		if (i == d->phnum)
			return (-1);
		*hint = i;
	}
	ph = &d->ph[i];
	return (dump_read(d, ph->offset + (addr - ph->vaddr), buf, len));
}

static bool
memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct proc *p = arg;
	unsigned char buf[8];

	(void)dwfl;
	if (dump_core_mem(p->d, addr, buf, 8, &p->last) != 0)
		return (false);
	*result = (Dwarf_Word)dump_rd(p->d, buf, 8);
	return (true);
}

static bool
set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct proc *p = arg;
	Dwarf_Word regs[17];
	size_t i;

	for (i = 0; i < 17; i++)
		regs[i] = p->prstatus == NULL ? p->regs[i] :
		    (Dwarf_Word)dump_rd(p->d, p->prstatus + PR_REG_OFF +
		    8 * (size_t)dwarf_of_user[i], 8);
	if (!dwfl_thread_state_registers(thread, 0, 17, regs))
		return (false);
	dwfl_thread_state_register_pc(thread, regs[16]);
	return (true);
}

static const Dwfl_Thread_Callbacks callbacks = {
	.next_thread = next_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* Static: libdwfl keeps the callbacks' argument until dwfl_end, and a
 * tool reads one core at a time. */
static struct proc proc;

int
dump_unwind_attach(struct dump *d, Elf *elf, Dwfl *dwfl, int64_t tid,
    const unsigned char *prstatus, size_t len, int *fast)
{
	*fast = 0;
	if (d->ehdr.e_machine != EM_X86_64 || d->ehdr.e_ident[EI_CLASS] !=
	    ELFCLASS64 || d->z != NULL || prstatus == NULL ||
	    len < PR_REG_OFF + 8 * PR_NREG || d->phnum == 0)
		return (dwfl_core_file_attach(dwfl, elf));
	proc = (struct proc){ .d = d, .tid = (pid_t)tid, .prstatus = prstatus };
	*fast = 1;
	return (dwfl_attach_state(dwfl, elf, (pid_t)tid, &callbacks, &proc) ?
	    (int)tid : -1);
}

int
dump_unwind_regs(struct dump *d, Elf *elf, Dwfl *dwfl, int64_t tid,
    const Dwarf_Word regs[17])
{
	proc = (struct proc){ .d = d, .tid = (pid_t)tid };
	memcpy(proc.regs, regs, sizeof (proc.regs));
	return (dwfl_attach_state(dwfl, elf, (pid_t)tid, &callbacks, &proc) ?
	    (int)tid : -1);
}

int
dump_sigframe_regs(struct dump *d, uint64_t uc, Dwarf_Word regs[17])
{
	unsigned char g[17 * 8];
	size_t hint = 0, i;

	if (dump_core_mem(d, uc + UC_GREGS, g, sizeof (g), &hint) != 0)
		return (-1);
	for (i = 0; i < 17; i++)
		regs[i] = (Dwarf_Word)dump_rd(d, g + 8 *
		    (size_t)dwarf_of_greg[i], 8);
	return (0);
}
