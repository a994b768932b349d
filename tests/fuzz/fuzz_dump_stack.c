/*
 * fuzz_dump_stack.c - fuzz_dump_meta.c with stack unwinding on
 * (libdwfl reads the hostile core's memory, modules and link_map).
 * Slower: run it on a smaller budget.
 */
#define FUZZ_STACK 1
#include "fuzz_dump_meta.c"
