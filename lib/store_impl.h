/*
 * store_impl.h - what a store backend provides (private to lib/store*.c).
 * Keys are validated by store.c before they reach a backend.
 */
#ifndef THOTH_STORE_IMPL_H
#define THOTH_STORE_IMPL_H

#include "thoth.h"

struct thoth_store_ops {
	int (*exists)(struct thoth_store *, const char *key);
	int (*get)(struct thoth_store *, const char *key, char **buf, size_t *len);
	int (*put)(struct thoth_store *, const char *key, const void *buf,
	    size_t len);
	int (*put_file)(struct thoth_store *, const char *key, const char *path,
	    thoth_progress_fn progress, void *arg);
	int (*get_file)(struct thoth_store *, const char *key, const char *path);
	int (*del)(struct thoth_store *, const char *key);
	int (*list)(struct thoth_store *, const char *prefix, thoth_list_fn fn,
	    void *arg);
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
int thoth_store_s3_init(struct thoth_store *st, const char *url);

#endif
