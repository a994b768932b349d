/*
 * answer.c - what an S3 answer means: success, an absent object (and
 * not an absent bucket or upload), and the one line that tells people
 * what went wrong, never with the secret.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "store/s3/s3.h"

int
s3_req_ok(const struct s3_req *r)
{
	return (r->cres == CURLE_OK && r->status >= 200 && r->status < 300);
}

int
s3_req_absent(const struct s3_req *r)
{
	return (r->cres == CURLE_OK && r->status == 404 &&
	    strcmp(r->code, "NoSuchBucket") != 0 && strcmp(r->code,
	    "NoSuchUpload") != 0);
}

static const char *
region_wanted(struct s3_req *r)
{
	char *reg;

	if (r->region[0] == '\0' && r->resp != NULL &&
	    (reg = s3_xml_text(r->resp, r->resp_len, "Region", NULL)) != NULL) {
		snprintf(r->region, sizeof (r->region), "%s", reg);
		free(reg);
	}
	return (r->region[0] != '\0' && strcmp(r->region, r->s3->where.region) != 0 ?
	    r->region : NULL);
}

static int
is_auth_error(const char *code)
{
	return (strcmp(code, "AccessDenied") == 0 || strcmp(code,
	    "InvalidAccessKeyId") == 0 || strcmp(code, "SignatureDoesNotMatch")
	    == 0 || strcmp(code, "InvalidToken") == 0 || strcmp(code,
	    "ExpiredToken") == 0 || strcmp(code, "RequestTimeTooSkewed") == 0);
}

/* One line saying what went wrong, for people; never the secret. */
void
s3_explain(struct s3_req *r)
{
	struct s3 *s3 = r->s3;
	const char *reg, *c = r->code[0] != '\0' ? r->code : NULL;
	char tries[32] = "", *m;

	if (r->msg[0] != '\0')
		return;
	if (r->tries > 1)
		snprintf(tries, sizeof (tries), " (%d tries)", r->tries);
	if (r->cres == CURLE_OPERATION_TIMEDOUT) {
		snprintf(r->msg, sizeof (r->msg), "%s: no answer in %ld s "
		    "(THOTH_S3_TIMEOUT)%s", s3->where.endpoint, s3->timeout,
		    tries);
	} else if (r->cres != CURLE_OK) {
		snprintf(r->msg, sizeof (r->msg), "%s: %s%s", s3->where.endpoint,
		    r->cerr[0] != '\0' ? r->cerr : curl_easy_strerror(r->cres),
		    tries);
	} else if (r->status == 403 || (c != NULL && is_auth_error(c))) {
		snprintf(r->msg, sizeof (r->msg), "access denied to bucket %s "
		    "for access key id %s (%s)", s3->where.bucket, s3->key_id,
		    c != NULL ? c : "HTTP 403");
	} else if (c != NULL && strcmp(c, "NoSuchBucket") == 0) {
		snprintf(r->msg, sizeof (r->msg), "bucket %s does not exist at %s",
		    s3->where.bucket, s3->where.endpoint);
	} else if ((reg = region_wanted(r)) != NULL || r->status == 301 ||
	    (c != NULL && (strcmp(c, "PermanentRedirect") == 0 ||
	    strcmp(c, "AuthorizationHeaderMalformed") == 0))) {
		if (reg != NULL)
			snprintf(r->msg, sizeof (r->msg), "bucket %s is in region "
			    "%s, not %s: set AWS_REGION=%s", s3->where.bucket, reg,
			    s3->where.region, reg);
		else
			snprintf(r->msg, sizeof (r->msg), "bucket %s is not in "
			    "region %s at %s (%s)", s3->where.bucket, s3->where.region,
			    s3->where.endpoint, c != NULL ? c : "HTTP 301");
	} else if (s3_req_absent(r)) {
		snprintf(r->msg, sizeof (r->msg), "%s: no such object", r->what);
	} else {
		m = r->resp != NULL ? s3_xml_text(r->resp, r->resp_len,
		    "Message", NULL) : NULL;
		snprintf(r->msg, sizeof (r->msg), "%s %s: HTTP %ld%s%s%s%.200s%s",
		    r->method, r->what, r->status, c != NULL ? " " : "",
		    c != NULL ? c : "", m != NULL ? ": " : "", m != NULL ? m : "",
		    tries);
		free(m);
	}
}
