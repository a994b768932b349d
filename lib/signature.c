/*
 * signature.c - crash signatures: the rules file and the signature of a
 * record (see thoth-sign(1)).
 *
 * A signature buckets dumps of the same crash: the crashing program,
 * the signal and the top frames of the stack that say where it went
 * wrong, after the frames of abort/raise/assert and process start-up
 * are skipped.  Offsets and symbol versions are dropped so that a
 * rebuild of the same code keeps its signatures.  The rules are a text
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
 * One frame of "stack": "module`func+0xoff", "module+0xoff" (no symbol)
 * or "0xaddr".  Splits it into module and function, the function
 * without offset or symbol version ("__libc_start_main@@GLIBC_2.34").
 */
struct frame {
	char module[256];
	char func[1024];
};

static void
split_frame(const char *s, struct frame *f)
{
	const char *tick = strchr(s, '`'), *plus;
	size_t n;

	f->module[0] = f->func[0] = '\0';
	if (tick == NULL) {
		plus = strstr(s, "+0x");
		n = plus != NULL ? (size_t)(plus - s) : strlen(s);
		snprintf(f->module, sizeof (f->module), "%.*s", (int)n, s);
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

static int
skipped(const struct thoth_sigrules *r, const struct frame *f)
{
	char both[sizeof (f->module) + sizeof (f->func) + 1];
	size_t i;

	snprintf(both, sizeof (both), "%s`%s", f->module, f->func);
	for (i = 0; i < r->nskip_module; i++) {
		if (fnmatch(r->skip_module[i], f->module, 0) == 0)
			return (1);
	}
	for (i = 0; i < r->nskip_frame; i++) {
		const char *g = r->skip_frame[i];
		if (strchr(g, '`') != NULL ? fnmatch(g, both, 0) == 0 :
		    f->func[0] != '\0' && fnmatch(g, f->func, 0) == 0)
			return (1);
	}
	return (0);
}

/* Appends the top meaningful frames of rec's stack to text. */
static void
add_frames(const struct thoth_sigrules *r, const json_t *rec, FILE *text)
{
	const json_t *v;
	struct frame f;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(rec, "stack"), i, v) {
		if (n >= r->frames)
			break;
		if (!json_is_string(v))
			continue;
		split_frame(json_string_value(v), &f);
		if (skipped(r, &f))
			continue;
		/* Unsymbolized frames keep their offset: it is all they have. */
		if (r->strip_offsets && f.func[0] != '\0')
			fprintf(text, " %s`%s", f.module, f.func);
		else
			fprintf(text, " %s", json_string_value(v));
		n++;
	}
}

static const char *
field_or_dash(const json_t *rec, const char *name)
{
	const char *s = json_string_value(json_object_get(rec, name));

	return (s != NULL && *s != '\0' ? s : "-");
}

json_t *
thoth_signature(const struct thoth_sigrules *r, const json_t *rec)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char *text = NULL, sum[17];
	size_t len = 0, i;
	FILE *fp = open_memstream(&text, &len);
	json_t *sig;

	if (fp == NULL)
		err(THOTH_EXIT_FAIL, "out of memory");
	fprintf(fp, "%s %s", field_or_dash(rec, "cmd"),
	    field_or_dash(rec, "signal"));
	add_frames(r, rec, fp);
	fclose(fp);
	if (EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL) != 1) {
		free(text);
		thoth_fail("SHA-256 failed");
		return (NULL);
	}
	for (i = 0; i < 8; i++) {
		sum[2 * i] = hex[md[i] >> 4];
		sum[2 * i + 1] = hex[md[i] & 0xf];
	}
	sum[16] = '\0';
	sig = json_object();
	json_object_set_new(sig, "text", thoth_json_string(text, len));
	json_object_set_new(sig, "hash", json_string(sum));
	json_object_set_new(sig, "rules", thoth_json_string(r->version,
	    strlen(r->version)));
	free(text);
	return (sig);
}
