/*
 * store.c - the object store front: picks a backend from THOTH_STORE,
 * checks keys, and keeps the info.json conventions in one place.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

/* The per-user default store: $XDG_DATA_HOME/thoth, ~/.local/share/thoth. */
static char *
default_store(void)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (xdg != NULL && *xdg == '/')
		return (thoth_xasprintf("%s/thoth", xdg));
	return (thoth_xasprintf("%s/.local/share/thoth",
	    home != NULL && *home != '\0' ? home : "/tmp"));
}

static int
unlinked(void)
{
	return (thoth_fail("this tool reads only the index of an S3 store"));
}

static int
no_exists(struct thoth_store *st, const char *key)
{
	(void)st; (void)key;
	return (unlinked());
}

static int
no_get(struct thoth_store *st, const char *key, char **buf, size_t *len)
{
	(void)st; (void)key; (void)buf; (void)len;
	return (unlinked());
}

static int
no_list(struct thoth_store *st, const char *prefix, const char *after,
    thoth_list_fn fn, void *arg)
{
	(void)st; (void)prefix; (void)after; (void)fn; (void)arg;
	return (unlinked());
}

static int
no_put(struct thoth_store *st, const char *key, const void *buf, size_t len)
{
	(void)st; (void)key; (void)buf; (void)len;
	return (unlinked());
}

static int
no_put_file(struct thoth_store *st, const char *key, const char *path,
    thoth_progress_fn progress, void *arg)
{
	(void)st; (void)key; (void)path; (void)progress; (void)arg;
	return (unlinked());
}

static int
no_get_file(struct thoth_store *st, const char *key, const char *path)
{
	(void)st; (void)key; (void)path;
	return (unlinked());
}

/* no_exists serves as del too: same signature, same answer. */
static const struct thoth_store_ops index_only_ops = {
	.exists = no_exists, .get = no_get, .put = no_put,
	.put_file = no_put_file, .get_file = no_get_file, .del = no_exists,
	.list = no_list,
};

/*
 * Tools built without the S3 backend (thoth-filter, thoth-report: see
 * the Makefile) still find an S3 store's index; any other operation
 * fails with a clear message.
 */
static int
s3_index_only(struct thoth_store *st, const char *url)
{
	struct s3_where w;

	if (s3_where(&w, url) != 0)
		return (-1);
	st->root = s3_where_root(&w);
	st->index_dir = s3_where_index_dir(&w);
	s3_where_free(&w);
	st->ops = &index_only_ops;
	return (0);
}

struct thoth_store *
thoth_store_open(const char *url)
{
	struct thoth_store *st = thoth_xmalloc(sizeof (*st));
	char *dflt = NULL;
	int rv;

	memset(st, 0, sizeof (*st));
	if (url == NULL || *url == '\0')
		url = getenv("THOTH_STORE");
	if (url == NULL || *url == '\0')
		url = dflt = default_store();
	st->url = thoth_xstrdup(url);
	if (strncmp(url, "s3://", 5) == 0)
		rv = thoth_store_s3_init != NULL ? thoth_store_s3_init(st, url) :
		    s3_index_only(st, url);
	else if (strncmp(url, "file://", 7) == 0)
		rv = thoth_store_dir_init(st, url + 7);
	else if (strstr(url, "://") != NULL)
		rv = thoth_fail("%s: unknown store scheme (use a directory, "
		    "file:// or s3://)", url);
	else
		rv = thoth_store_dir_init(st, url);
	free(dflt);
	if (rv != 0) {
		free(st->url);
		free(st);
		return (NULL);
	}
	return (st);
}

void
thoth_store_close(struct thoth_store *st)
{
	if (st == NULL)
		return;
	if (st->ops->close != NULL)
		st->ops->close(st);
	free(st->url);
	free(st->root);
	free(st->index_dir);
	free(st);
}

const char *
thoth_store_url(const struct thoth_store *st)
{
	return (st->url);
}

/*
 * Keys are relative paths of plain names: no empty, "." or ".."
 * components, nothing that could climb out of the store, no control
 * characters.  This is the store's one guard against hostile names.
 */
static int
check_key(const char *key)
{
	const char *p = key;

	if (*key == '\0' || *key == '/')
		return (thoth_fail("'%s': bad store key", key));
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return (thoth_fail("bad store key: control character"));
		if ((p == key || p[-1] == '/') && (*p == '/' || (*p == '.' &&
		    (p[1] == '\0' || p[1] == '/' || (p[1] == '.' &&
		    (p[2] == '\0' || p[2] == '/'))))))
			return (thoth_fail("'%s': bad store key", key));
	}
	return (0);
}

char *
thoth_store_path(const struct thoth_store *st, const char *key)
{
	return (thoth_xasprintf("%s/%s", st->root, key));
}

char *
thoth_store_local(const struct thoth_store *st, const char *key)
{
	if (check_key(key) != 0 || st->ops->local == NULL)
		return (NULL);
	return (st->ops->local(st, key));
}


int
thoth_store_exists(struct thoth_store *st, const char *key)
{
	return (check_key(key) != 0 ? -1 : st->ops->exists(st, key));
}

int
thoth_store_get(struct thoth_store *st, const char *key, char **buf,
    size_t *len)
{
	return (check_key(key) != 0 ? -1 : st->ops->get(st, key, buf, len));
}

int
thoth_store_put(struct thoth_store *st, const char *key, const void *buf,
    size_t len)
{
	return (check_key(key) != 0 ? -1 : st->ops->put(st, key, buf, len));
}

int
thoth_store_put_file(struct thoth_store *st, const char *key,
    const char *path, thoth_progress_fn progress, void *arg)
{
	if (check_key(key) != 0)
		return (-1);
	return (st->ops->put_file(st, key, path, progress, arg));
}

int
thoth_store_get_file(struct thoth_store *st, const char *key,
    const char *path)
{
	return (check_key(key) != 0 ? -1 : st->ops->get_file(st, key, path));
}

int
thoth_store_delete(struct thoth_store *st, const char *key)
{
	return (check_key(key) != 0 ? -1 : st->ops->del(st, key));
}

int
thoth_store_list(struct thoth_store *st, const char *prefix,
    thoth_list_fn fn, void *arg)
{
	return (thoth_store_list_after(st, prefix, NULL, fn, arg));
}

int
thoth_store_list_after(struct thoth_store *st, const char *prefix,
    const char *after, thoth_list_fn fn, void *arg)
{
	if (*prefix != '\0' && check_key(prefix) != 0)
		return (-1);
	return (st->ops->list(st, prefix, after, fn, arg));
}

int
thoth_store_get_many(struct thoth_store *st, char *const *keys, size_t n,
    thoth_get_fn fn, void *arg)
{
	char *buf;
	size_t i, len;
	int rv;

	for (i = 0; i < n; i++) {
		if (check_key(keys[i]) != 0)
			return (-1);
	}
	if (st->ops->get_many != NULL)
		return (st->ops->get_many(st, keys, n, fn, arg));
	for (i = 0; i < n; i++) {
		buf = NULL;
		len = 0;
		rv = st->ops->get(st, keys[i], &buf, &len);
		rv = fn(keys[i], rv, rv == 0 ? buf : NULL, rv == 0 ? len : 0, arg);
		free(buf);
		if (rv < 0)
			return (-1);
	}
	return (0);
}

/*
 * What an info.json must be: an object whose "id" is the name of its
 * directory (an edit through a copy with another id would overwrite
 * that other dump's record).
 */
int
thoth_info_check(const json_t *rec, const char *id, const char *where)
{
	const char *has = thoth_record_id(rec);

	if (!json_is_object(rec))
		return (thoth_fail("%s: not a JSON object", where));
	if (has == NULL || strcmp(has, id) != 0)
		return (thoth_fail("%s: its \"id\" is %s, not %s (its "
		    "directory)", where, has != NULL ? has : "missing or bad",
		    id));
	return (0);
}

int
thoth_store_get_info(struct thoth_store *st, const char *id, json_t **rec)
{
	char key[THOTH_ID_LEN + 16], where[PATH_MAX + 64], *buf;
	size_t len;
	json_error_t jerr;
	int rv;

	if (!thoth_is_id(id))
		return (thoth_fail("'%s': not a dump id", id));
	snprintf(key, sizeof (key), "%s/info.json", id);
	if ((rv = thoth_store_get(st, key, &buf, &len)) != 0)
		return (rv);
	*rec = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (*rec == NULL)
		return (thoth_fail("%s/%s: bad JSON: %s", st->root, key,
		    jerr.text));
	snprintf(where, sizeof (where), "%s/%s", st->root, key);
	if (thoth_info_check(*rec, id, where) != 0) {
		json_decref(*rec);
		*rec = NULL;
		return (-1);
	}
	return (0);
}

/* info.json is written whole, pretty-printed for people who look. */
int
thoth_store_put_info(struct thoth_store *st, const json_t *rec)
{
	const char *id = thoth_record_id(rec);
	char key[THOTH_ID_LEN + 16], *text;
	int rv;

	if (id == NULL)
		return (thoth_fail("record without a valid id"));
	snprintf(key, sizeof (key), "%s/info.json", id);
	if ((text = json_dumps(rec, JSON_INDENT(2))) == NULL)
		return (thoth_fail("%s: cannot encode record", id));
	char *line = thoth_xasprintf("%s\n", text);
	rv = thoth_store_put(st, key, line, strlen(line));
	free(line);
	free(text);
	return (rv);
}
