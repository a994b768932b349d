/*
 * thoth-store - read and write objects of the store by key
 *
 * thoth-store put KEY        store stdin as KEY
 * thoth-store get KEY [FILE] copy KEY to stdout or to FILE
 * thoth-store ls [PREFIX]    list keys under PREFIX ("analyzers/")
 * thoth-store rm KEY         delete KEY
 * thoth-store path KEY       print KEY's local file (directory store)
 *
 * For analyzers and fetching dumps; records are not involved.  Keys
 * are relative paths without "." or ".." components.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thoth.h"

static const char usage_text[] =
    "usage: thoth-store put KEY | get KEY [FILE] | "
    "ls [PREFIX] | rm KEY | path KEY\n";

static void
usage(void)
{
	thoth_usage(usage_text);
}

static int
print_name(const char *name, void *arg)
{
	const char *prefix = arg;
	size_t n = strlen(prefix);

	printf("%s%s%s\n", prefix, n > 0 && prefix[n - 1] != '/' ? "/" : "",
	    name);
	return (0);
}

static int
put_stdin(struct thoth_store *st, const char *key)
{
	char *buf;
	size_t len;
	int rv = thoth_read_stream(stdin, "stdin", &buf, &len);

	if (rv == 0) {
		rv = thoth_store_put(st, key, buf, len);
		free(buf);
	}
	return (rv);
}

static int
get_stdout(struct thoth_store *st, const char *key)
{
	char *buf;
	size_t len;
	int rv = thoth_store_get(st, key, &buf, &len);

	if (rv == 0) {
		fwrite(buf, 1, len, stdout);
		free(buf);
	}
	return (rv);
}

static int
run(struct thoth_store *st, const char *verb, int argc, char **argv)
{
	const char *key = argc > 0 ? argv[0] : "";
	char *path;

	if (strcmp(verb, "ls") == 0 && argc <= 1)
		return (thoth_store_list(st, key, print_name, (void *)key));
	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(verb, "get") != 0))
		usage();
	if (strcmp(verb, "put") == 0)
		return (put_stdin(st, key));
	if (strcmp(verb, "get") == 0)
		return (argc == 2 ? thoth_store_get_file(st, key, argv[1]) :
		    get_stdout(st, key));
	if (strcmp(verb, "rm") == 0)
		return (thoth_store_delete(st, key));
	if (strcmp(verb, "path") == 0) {
		int rv = thoth_store_exists(st, key);
		if (rv != 0)
			return (rv);
		if ((path = thoth_store_local(st, key)) == NULL)
			return (thoth_fail("not a local store"));
		printf("%s\n", path);
		free(path);
		return (0);
	}
	usage();
	return (-1);
}

int
main(int argc, char **argv)
{
	struct thoth_store *st;
	int rv;

	thoth_help(argc, argv, usage_text);
	if (getopt(argc, argv, "") != -1 || argc - optind < 1)
		usage();
	atexit(thoth_close_stdout);
	if ((st = thoth_store_open(NULL)) == NULL)
		errx(THOTH_EXIT_FAIL, "%s", thoth_errbuf);
	rv = run(st, argv[optind], argc - optind - 1, argv + optind + 1);
	if (rv > 0)
		warnx("%s: no such object in %s", argv[optind + 1],
		    thoth_store_url(st));
	else if (rv < 0)
		warnx("%s: %s", argc - optind > 1 ? argv[optind + 1] : "store",
		    thoth_errbuf);
	thoth_store_close(st);
	return (rv > 0 ? THOTH_EXIT_NOTFOUND : rv < 0 ? THOTH_EXIT_FAIL : 0);
}
