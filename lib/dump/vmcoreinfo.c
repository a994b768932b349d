/*
 * vmcoreinfo.c - the VMCOREINFO text that the kernel puts in its crash
 * dumps ("KEY=value" lines), read by both the ELF vmcore reader
 * (elf.c) and the makedumpfile reader (kdump.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dump/dump.h"

json_t *
dump_vmcoreinfo(const unsigned char *p, size_t n, const char *key)
{
	size_t klen = strlen(key), i = 0, end;

	while (i < n) {
		for (end = i; end < n && p[end] != '\n' && p[end] != '\0'; end++)
			continue;
		if (end - i > klen && memcmp(p + i, key, klen) == 0 &&
		    p[i + klen] == '=')
			return (end - i > klen + 1 ? thoth_json_string(
			    (const char *)p + i + klen + 1, end - i - klen - 1) :
			    NULL);
		if (end < n && p[end] == '\0')
			break;
		i = end + 1;
	}
	return (NULL);
}

int64_t
dump_vmcoreinfo_time(const unsigned char *p, size_t n)
{
	json_t *v = dump_vmcoreinfo(p, n, "CRASHTIME");
	char *end;
	long long t;

	if (v == NULL)
		return (0);
	t = strtoll(json_string_value(v), &end, 10);
	if (*end != '\0' || t < 0)
		t = 0;
	json_decref(v);
	return (t);
}
