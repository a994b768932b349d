/*
 * signature.c - crash signatures: the rules file and the signature of a
 * record (see thoth-sign(1)).
 *
 * A signature buckets dumps of the same crash: the crashing program,
 * the signal and the top frames of the stack that say where it went
 * wrong, after the frames of abort/raise/assert and process start-up
 * are skipped.  Offsets and symbol versions are dropped so that a
 * rebuild of the same code keeps its signatures; a frame without a
 * symbol keeps its offset and names its build-id, and build_text signs
 * the same frames by build-id and offset only (stack_pcs), which
 * symbols arriving later do not change.  The rules are a text
 * file users edit; its "version" is stored with every signature so that
 * "thoth resign" can tell old signatures from new ones.
 */
#include <err.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "thoth.h"

#define SIG_MAX_FRAMES 16

struct thoth_sigrules {
	char *path;
	char *version;
	int frames;
	int strip_offsets;
	char **skip_frame;	/* globs; with '`' they match module`func */
	size_t nskip_frame;
	char **skip_module;
	size_t nskip_module;
	char **stop_frame;	/* globs as skip_frame's */
	size_t nstop_frame;
};

void
thoth_sigrules_free(struct thoth_sigrules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nskip_frame; i++)
		free(r->skip_frame[i]);
	for (i = 0; i < r->nskip_module; i++)
		free(r->skip_module[i]);
	for (i = 0; i < r->nstop_frame; i++)
		free(r->stop_frame[i]);
	free(r->stop_frame);
	free(r->skip_frame);
	free(r->skip_module);
	free(r->version);
	free(r->path);
	free(r);
}

const char *
thoth_sigrules_version(const struct thoth_sigrules *r)
{
	return (r->version);
}

const char *
thoth_sigrules_file(const struct thoth_sigrules *r)
{
	return (r->path);
}

static void
add_glob(char ***v, size_t *n, const char *glob)
{
	char **nv = realloc(*v, (*n + 1) * sizeof (**v));

	if (nv == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	nv[(*n)++] = thoth_xstrdup(glob);
	*v = nv;
}

/* One line "directive [argument]"; 0 or -1 with errbuf (no location). */
static int
rule_line(struct thoth_sigrules *r, const char *dir, const char *arg)
{
	char *end;
	long n;

	if (strcmp(dir, "strip-offsets") == 0 && *arg == '\0') {
		r->strip_offsets = 1;
		return (0);
	}
	if (*arg == '\0')
		return (thoth_fail("'%s': missing argument or unknown "
		    "directive", dir));
	if (strcmp(dir, "version") == 0) {
		free(r->version);
		r->version = thoth_xstrdup(arg);
	} else if (strcmp(dir, "frames") == 0) {
		n = strtol(arg, &end, 10);
		if (*end != '\0' || n < 0 || n > SIG_MAX_FRAMES)
			return (thoth_fail("'%s': frames must be 0 to %d", arg,
			    SIG_MAX_FRAMES));
		r->frames = (int)n;
	} else if (strcmp(dir, "skip-frame") == 0) {
		add_glob(&r->skip_frame, &r->nskip_frame, arg);
	} else if (strcmp(dir, "stop-frame") == 0) {
		add_glob(&r->stop_frame, &r->nstop_frame, arg);
	} else if (strcmp(dir, "skip-module") == 0) {
		add_glob(&r->skip_module, &r->nskip_module, arg);
	} else {
		return (thoth_fail("'%s': unknown directive", dir));
	}
	return (0);
}

/* Splits a line into directive and argument; comments start with '#'. */
static int
parse_line(struct thoth_sigrules *r, char *line)
{
	char *p, *arg, *end;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	p = line + strspn(line, " \t\r\n");
	if (*p == '\0')
		return (0);
	arg = p + strcspn(p, " \t\r\n");
	if (*arg != '\0')
		*arg++ = '\0';
	arg += strspn(arg, " \t");
	end = arg + strlen(arg);
	while (end > arg && strchr(" \t\r\n", end[-1]) != NULL)
		*--end = '\0';
	if (strchr(arg, ' ') != NULL || strchr(arg, '\t') != NULL)
		return (thoth_fail("'%s': one argument only", arg));
	return (rule_line(r, p, arg));
}

static struct thoth_sigrules *
parse_rules(const char *path, char *text)
{
	struct thoth_sigrules *r = thoth_xmalloc(sizeof (*r));
	char *line, *next;
	size_t lineno = 0;

	memset(r, 0, sizeof (*r));
	r->frames = 3;
	r->path = thoth_xstrdup(path);
	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (parse_line(r, line) != 0) {
			char why[sizeof (thoth_errbuf)];
			memcpy(why, thoth_errbuf, sizeof (why));
			thoth_fail("%s:%zu: %s", path, lineno, why);
			thoth_sigrules_free(r);
			return (NULL);
		}
	}
	if (r->version == NULL) {
		thoth_fail("%s: no \"version\" line", path);
		thoth_sigrules_free(r);
		return (NULL);
	}
	return (r);
}

/* The shipped rules, found relative to the running program:
 * PREFIX/bin/../share/thoth (installed) or bin/../share (source tree). */
static char *
default_rules(void)
{
	static const char *const rel[] = { "../share/thoth/signature.rules",
	    "../share/signature.rules" };
	char exe[PATH_MAX], *slash, *path;
	ssize_t n;
	size_t i;

	if ((n = readlink("/proc/self/exe", exe, sizeof (exe) - 1)) < 0)
		return (NULL);
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return (NULL);
	*slash = '\0';
	for (i = 0; i < sizeof (rel) / sizeof (rel[0]); i++) {
		path = thoth_xasprintf("%s/%s", exe, rel[i]);
		if (access(path, R_OK) == 0)
			return (path);
		free(path);
	}
	return (NULL);
}

struct thoth_sigrules *
thoth_sigrules_load(const char *path)
{
	struct thoth_sigrules *r;
	char *def = NULL, *text;
	size_t len;
	int rv;

	if (path == NULL)
		path = getenv("THOTH_SIGNATURE_RULES");
	if (path == NULL || *path == '\0') {
		if ((path = def = default_rules()) == NULL) {
			thoth_fail("no signature rules installed (set "
			    "THOTH_SIGNATURE_RULES)");
			return (NULL);
		}
	}
	if ((rv = thoth_read_file(path, &text, &len)) != 0) {
		if (rv > 0)
			thoth_fail("%s: no such file", path);
		free(def);
		return (NULL);
	}
	if (memchr(text, '\0', len) != NULL) {
		thoth_fail("%s: not a text file", path);
		r = NULL;
	} else {
		r = parse_rules(path, text);
	}
	free(text);
	free(def);
	return (r);
}

/*
 * One frame of "stack": "module`func+0xoff", "module@BUILDID+0xoff" or
 * "module+0xoff" (no symbol) or "0xaddr".  Splits it into module and
 * function, the function without offset or symbol version
 * ("__libc_start_main@@GLIBC_2.34"), and says where an unsymbolized
 * frame's offset starts and whether it names its build-id.
 */
struct frame {
	char module[256];
	char func[1024];
	const char *offset;	/* no symbol: "+0x..." or "" */
	int pinned;		/* no symbol: "@BUILDID" */
};

static void
split_frame(const char *s, struct frame *f)
{
	const char *tick = strchr(s, '`'), *plus, *at;
	size_t n;

	f->module[0] = f->func[0] = '\0';
	f->offset = "";
	f->pinned = 0;
	if (tick == NULL) {
		plus = strstr(s, "+0x");
		n = plus != NULL ? (size_t)(plus - s) : strlen(s);
		if ((at = memchr(s, '@', n)) != NULL)
			f->pinned = 1;
		snprintf(f->module, sizeof (f->module), "%.*s",
		    (int)(at != NULL ? (size_t)(at - s) : n), s);
		f->offset = s + n;
		return;
	}
	snprintf(f->module, sizeof (f->module), "%.*s", (int)(tick - s), s);
	snprintf(f->func, sizeof (f->func), "%s", tick + 1);
	if ((plus = strstr(f->func, "+0x")) != NULL &&
	    strspn(plus + 3, "0123456789abcdefABCDEF") == strlen(plus + 3))
		f->func[plus - f->func] = '\0';
	if (f->func[0] != '@' && (plus = strchr(f->func, '@')) != NULL)
		f->func[plus - f->func] = '\0';
}

/* Whether a frame glob matches: with '`' "module`function", else the
 * function (never a frame without a symbol). */
static int
frame_matches(char *const *globs, size_t n, const struct frame *f)
{
	char both[sizeof (f->module) + sizeof (f->func) + 1];
	size_t i;

	snprintf(both, sizeof (both), "%s`%s", f->module, f->func);
	for (i = 0; i < n; i++) {
		if (strchr(globs[i], '`') != NULL ? fnmatch(globs[i], both,
		    0) == 0 : f->func[0] != '\0' && fnmatch(globs[i],
		    f->func, 0) == 0)
			return (1);
	}
	return (0);
}

static int
skipped(const struct thoth_sigrules *r, const struct frame *f)
{
	size_t i;

	for (i = 0; i < r->nskip_module; i++) {
		if (fnmatch(r->skip_module[i], f->module, 0) == 0)
			return (1);
	}
	return (frame_matches(r->skip_frame, r->nskip_frame, f));
}

/*
 * The build-id of the module named so in rec's "build_ids", if exactly
 * one file of that name is there: records made before frames named
 * their build-id ("dash+0xceda") get it when they are signed again.
 */
static const char *
module_build_id(const json_t *rec, const char *module)
{
	const char *file, *slash, *id = NULL;
	const json_t *v;
	size_t i;
	int seen = 0;	/* a file without "id" (Go's) counts as one too */

	json_array_foreach(json_object_get(rec, "build_ids"), i, v) {
		if ((file = json_string_value(json_object_get(v, "file"))) ==
		    NULL)
			continue;
		if ((slash = strrchr(file, '/')) != NULL)
			file = slash + 1;
		if (strcmp(file, module) != 0)
			continue;
		if (seen++)
			return (NULL);
		id = json_string_value(json_object_get(v, "id"));
	}
	return (id);
}

/* A frame as the signature has it: "module`function" when it has a
 * symbol and offsets are stripped, else as it is, but a frame without
 * a symbol always with its module's build-id when known, the same on
 * every host and at every load address. */
static void
print_frame(const struct thoth_sigrules *r, const json_t *rec,
    const char *s, const struct frame *f, FILE *text)
{
	const char *id;

	if (r->strip_offsets && f->func[0] != '\0')
		fprintf(text, " %s`%s", f->module, f->func);
	else if (f->func[0] == '\0' && !f->pinned && *f->offset != '\0' &&
	    (id = module_build_id(rec, f->module)) != NULL)
		fprintf(text, " %s@%s%s", f->module, id, f->offset);
	else
		fprintf(text, " %s", s);
}

/* rec's "stack_pcs", if it has one string for each frame of "stack". */
static const json_t *
stack_pcs(const json_t *rec)
{
	const json_t *pcs = json_object_get(rec, "stack_pcs"), *v;
	size_t i;

	if (json_array_size(pcs) == 0 || json_array_size(pcs) !=
	    json_array_size(json_object_get(rec, "stack")))
		return (NULL);
	json_array_foreach(pcs, i, v) {
		if (!json_is_string(v))
			return (NULL);
	}
	return (pcs);
}

/* Appends the top meaningful frames of rec's stack to text, and where
 * their pcs lie (stack_pcs) to build when it is not NULL; none from a
 * stop-frame outward (start-up: "_start" has no symbol in a stripped
 * executable, so only stopping at libc's frame leaves it out always). */
static void
add_frames(const struct thoth_sigrules *r, const json_t *rec, FILE *text,
    FILE *build)
{
	const json_t *pcs = stack_pcs(rec), *v;
	struct frame f;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(rec, "stack"), i, v) {
		if (n >= r->frames)
			break;
		if (!json_is_string(v))
			continue;
		split_frame(json_string_value(v), &f);
		if (frame_matches(r->stop_frame, r->nstop_frame, &f))
			break;
		if (skipped(r, &f))
			continue;
		print_frame(r, rec, json_string_value(v), &f, text);
		if (build != NULL)
			fprintf(build, " %s", json_string_value(
			    json_array_get(pcs, i)));
		n++;
	}
}

static const char *
field_or_dash(const json_t *rec, const char *name)
{
	const char *s = json_string_value(json_object_get(rec, name));

	return (s != NULL && *s != '\0' ? s : "-");
}

/* The first 16 hex digits of the SHA-256 of text; -1 with errbuf. */
static int
sha16(const char *text, size_t len, char sum[17])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t i;

	if (EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL) != 1)
		return (thoth_fail("SHA-256 failed"));
	for (i = 0; i < 8; i++) {
		sum[2 * i] = hex[md[i] >> 4];
		sum[2 * i + 1] = hex[md[i] & 0xf];
	}
	sum[16] = '\0';
	return (0);
}

/* sig's NAME_text and NAME_hash ("text" and "hash" when name is ""). */
static int
set_text(json_t *sig, const char *name, char *text, size_t len)
{
	char sum[17], *k;

	if (sha16(text, len, sum) != 0)
		return (-1);
	k = thoth_xasprintf("%s%stext", name, *name ? "_" : "");
	json_object_set_new(sig, k, thoth_json_string(text, len));
	free(k);
	k = thoth_xasprintf("%s%shash", name, *name ? "_" : "");
	json_object_set_new(sig, k, json_string(sum));
	free(k);
	return (0);
}

static FILE *
memstream(char **text, size_t *len, const json_t *rec)
{
	FILE *fp = open_memstream(text, len);

	if (fp == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	fprintf(fp, "%s %s", field_or_dash(rec, "cmd"),
	    field_or_dash(rec, "signal"));
	return (fp);
}

/*
 * {text, hash, rules}, and {build_text, build_hash} when the record has
 * stack_pcs: the same frames, each where its pc lies in its build
 * ("BUILDID+0xoff"), the same whether or not symbols were found.
 */
json_t *
thoth_signature(const struct thoth_sigrules *r, const json_t *rec)
{
	char *text = NULL, *build = NULL;
	size_t len = 0, blen = 0;
	FILE *fp = memstream(&text, &len, rec), *bp = NULL;
	json_t *sig = json_object();
	int rv;

	if (stack_pcs(rec) != NULL)
		bp = memstream(&build, &blen, rec);
	add_frames(r, rec, fp, bp);
	fclose(fp);
	if (bp != NULL)
		fclose(bp);
	rv = set_text(sig, "", text, len);
	json_object_set_new(sig, "rules", thoth_json_string(r->version,
	    strlen(r->version)));
	if (rv == 0 && build != NULL)
		rv = set_text(sig, "build", build, blen);
	free(text);
	free(build);
	if (rv != 0) {
		json_decref(sig);
		return (NULL);
	}
	return (sig);
}
