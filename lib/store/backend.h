/*
 * lib/store/ - the object store: the front every tool uses (store.c:
 * opening a store by URL, key checks, the thoth_store_* part of
 * thoth.h), the directory backend (dir.c), and where an S3 store's
 * local index lives, worked out without libcurl (where.c) so that
 * thoth-filter and thoth-report need no network code.  The S3 backend
 * itself is lib/store/s3/, linked only into the tools that talk to the
 * store and reached only through thoth_store_s3_init.  The store calls
 * only lib/; the index calls the store, never the other way.  This
 * header is what a backend provides; keys are validated by store.c
 * before they reach a backend.
 */
#ifndef THOTH_STORE_BACKEND_H
#define THOTH_STORE_BACKEND_H

#include "thoth.h"

/* Directory store: where dumps are copied before their rename. */
#define DIR_PARTS ".part"

struct thoth_store_ops {
	int (*exists)(struct thoth_store *, const char *key);
	int (*get)(struct thoth_store *, const char *key, char **buf, size_t *len);
	int (*put)(struct thoth_store *, const char *key, const void *buf,
	    size_t len);
	int (*put_file)(struct thoth_store *, const char *key, const char *path,
	    thoth_progress_fn progress, void *arg);
	int (*get_file)(struct thoth_store *, const char *key, const char *path);
	int (*del)(struct thoth_store *, const char *key);
	/* after: NULL, or only names that sort after it */
	int (*list)(struct thoth_store *, const char *prefix, const char *after,
	    thoth_list_fn fn, void *arg);
	char *(*local)(const struct thoth_store *, const char *key);
	/* optional: NULL means one get at a time */
	int (*get_many)(struct thoth_store *, char *const *keys, size_t n,
	    thoth_get_fn fn, void *arg);
	void (*close)(struct thoth_store *);
};

struct thoth_store {
	const struct thoth_store_ops *ops;
	char *url;		/* as given, for messages */
	char *root;		/* directory, or "s3://bucket/prefix" */
	char *index_dir;	/* default index directory */
	void *priv;		/* backend state */
};

int thoth_store_dir_init(struct thoth_store *st, const char *path);
/* The S3 backend (store/s3/s3.c, s3_*.c: libcurl) is linked only into the
 * tools that talk to the store; store/store.c refers to it weakly. */
int thoth_store_s3_init(struct thoth_store *st, const char *url)
    __attribute__((weak));

/* store/where.c: an s3:// URL's parts, without libcurl. */
struct s3_where {
	char *endpoint;		/* scheme://host[:port], no '/' at the end */
	char *bucket;
	char *prefix;		/* "" or "dir/sub/" */
	char *region;
};
int s3_where(struct s3_where *w, const char *url);
void s3_where_free(struct s3_where *w);
char *s3_where_root(const struct s3_where *w);
char *s3_where_index_dir(const struct s3_where *w);
const char *s3_env(const char *name);	/* set and not empty, or NULL */
char *s3_encode(const char *s, int keep_slash);

#endif
