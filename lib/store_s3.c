/*
 * store_s3.c - S3-compatible object store backend (see issue 3).
 */
#include "store_impl.h"

int
thoth_store_s3_init(struct thoth_store *st, const char *url)
{
	(void)st;
	return (thoth_fail("%s: the S3 backend is not built yet", url));
}
