/*
 * dockerfile.c: the Dockerfile parser (see dockerfile.h),
 * as https://docs.docker.com/reference/dockerfile/ describes them:
 *
 *     # escape=`                  parser directives: at the very top only
 *     FROM busybox                a keyword (any case), then its arguments
 *     # a comment                 a line whose first non-blank is '#'
 *     RUN echo a && `             the escape char last on a line: the next line
 *         echo b                  joins it ("echo a &&     echo b": no space added)
 *     COPY --chown=1:1 a /a       --flags, then the arguments
 *     ENV DIR="/my dir"           words: $VAR expanded, quotes removed, split on blanks
 *
 * A comment or an empty line inside a continued instruction is dropped, as
 * Docker does. The words ($VAR, quotes, escapes) are dockerwords.c's, expanded
 * by the builder one instruction at a time.
 */
#define _GNU_SOURCE
#include "dockerfile.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dockerwords.h"
#include "util.h"

/* ---- instructions ---- */

enum { TAKES_FLAGS = 1, TAKES_JSON = 2 };

static const struct keyword {
	const char *name;
	int takes;
	const char *needs; /* the error when it has no arguments */
} keywords[] = {
    {"FROM", TAKES_FLAGS, "needs an image (FROM IMAGE [AS NAME], or FROM scratch)"},
    {"RUN", TAKES_FLAGS | TAKES_JSON,
     "needs a command (RUN COMMAND, or RUN [\"EXECUTABLE\", \"ARG\"...])"},
    {"CMD", TAKES_JSON,
     "needs a command (CMD COMMAND, CMD [\"EXECUTABLE\", \"ARG\"...], or CMD [] for none)"},
    {"LABEL", 0, "needs a label (LABEL KEY=VALUE...)"},
    {"MAINTAINER", 0, "needs a name (or better: LABEL org.opencontainers.image.authors=NAME)"},
    {"EXPOSE", 0, "needs a port (EXPOSE 80, EXPOSE 53/udp)"},
    {"ENV", 0, "needs a variable (ENV KEY=VALUE...)"},
    {"ADD", TAKES_FLAGS | TAKES_JSON, "needs sources and a destination (ADD SRC... DEST)"},
    {"COPY", TAKES_FLAGS | TAKES_JSON, "needs sources and a destination (COPY SRC... DEST)"},
    {"ENTRYPOINT", TAKES_JSON,
     "needs a command (ENTRYPOINT [\"EXECUTABLE\", \"ARG\"...], ENTRYPOINT COMMAND, or ENTRYPOINT "
     "[] for none)"},
    {"VOLUME", TAKES_JSON, "needs a path (VOLUME /data)"},
    {"USER", 0, "needs a user (USER NAME[:GROUP] or USER UID[:GID])"},
    {"WORKDIR", 0, "needs a directory (WORKDIR /app)"},
    {"ARG", 0, "needs a name (ARG NAME[=DEFAULT])"},
    {"ONBUILD", 0, "needs an instruction (ONBUILD RUN make)"},
    {"STOPSIGNAL", 0, "needs a signal (STOPSIGNAL SIGTERM)"},
    {"HEALTHCHECK", TAKES_FLAGS,
     "needs CMD and a command, or NONE (HEALTHCHECK --interval=30s CMD COMMAND)"},
    {"SHELL", TAKES_JSON, "needs a JSON array (SHELL [\"/bin/sh\", \"-c\"])"},
};

static const struct keyword *keyword(const char *cmd)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (!strcmp(keywords[i].name, cmd))
			return &keywords[i];
	return NULL;
}

static void instr_free(struct df_instr *in)
{
	free(in->cmd);
	dockerfile_words_free(in->flags);
	free(in->args);
	dockerfile_words_free(in->argv);
	free(in->original);
	memset(in, 0, sizeof(*in));
}

/*
 * The leading "--name=value" words of P into IN->flags, quotes removed and
 * the escape char escaping; a word "--" alone ends them. Returns the rest.
 */
static const char *take_flags(const char *p, char escape, struct df_instr *in)
{
	for (;;) {
		while (df_blank(*p))
			p++;
		if (p[0] != '-' || p[1] != '-')
			return p;
		struct sbuf f = {0};
		char quote = 0;
		for (; *p && (quote || !df_blank(*p)); p++) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '\'' || *p == '"'))
				quote = *p;
			else if (*p == escape && p[1])
				sbuf_addc(&f, *++p);
			else if (*p != escape)
				sbuf_addc(&f, *p);
		}
		if (f.len == 2 && !strcmp(f.s, "--")) {
			free(f.s);
			return p;
		}
		strv_push(&in->flags, &in->n_flags, sbuf_take(&f));
	}
}

/*
 * The exec form: S a JSON array of strings into IN->argv. Anything else that
 * starts with '[' is the shell form (Docker's rule); an array of other things
 * than strings is an error.
 */
static int exec_form(const char *s, const char *name, struct df_instr *in, struct md_error *err)
{
	if (*s != '[')
		return 0;
	json_t *a = json_loads(s, 0, NULL);
	if (!a || !json_is_array(a)) {
		json_decref(a);
		return 0;
	}
	size_t n = json_array_size(a);
	for (size_t i = 0; i < n; i++) {
		if (!json_is_string(json_array_get(a, i))) {
			json_decref(a);
			return md_fail(err,
				       "%s:%d: %s: a JSON array here holds strings only (quote "
				       "each element: [\"sleep\", \"10\"])",
				       name, in->line, in->cmd);
		}
	}
	in->argv = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		in->argv[i] = xstrdup(json_string_value(json_array_get(a, i)));
	in->argc = (int)n;
	in->json = 1;
	json_decref(a);
	return 0;
}

/* HEALTHCHECK [--flags] CMD COMMAND, or HEALTHCHECK NONE */
static int healthcheck(const char *name, struct df_instr *in, struct md_error *err)
{
	size_t n = strcspn(in->args, " \t\v\f\r");
	const char *rest = in->args + n;
	while (df_blank(*rest))
		rest++;
	if (n == 4 && !strncasecmp(in->args, "NONE", 4)) {
		if (*rest)
			return md_fail(err,
				       "%s:%d: HEALTHCHECK NONE takes no arguments (it turns off "
				       "the image's health check)",
				       name, in->line);
		return 0;
	}
	if (n != 3 || strncasecmp(in->args, "CMD", 3))
		return md_fail(err,
			       "%s:%d: HEALTHCHECK %.*s: unknown type (HEALTHCHECK [OPTIONS] CMD "
			       "COMMAND, or HEALTHCHECK NONE)",
			       name, in->line, (int)(n > 40 ? 40 : n), in->args);
	if (!*rest)
		return md_fail(err,
			       "%s:%d: HEALTHCHECK CMD needs a command (HEALTHCHECK CMD curl -f "
			       "http://localhost/)",
			       name, in->line);
	return exec_form(rest, name, in, err);
}

static int parse_instr(const char *text, size_t len, int line, const char *name, char escape,
		       struct df_instr *in, struct md_error *err);

/* ONBUILD TRIGGER: the trigger is an instruction of its own, checked as one */
static int onbuild(const char *name, char escape, struct df_instr *in, struct md_error *err)
{
	struct df_instr trigger;
	if (parse_instr(in->args, strlen(in->args), in->line, name, escape, &trigger, err) < 0)
		return -1;
	int rc = 0;
	if (!strcmp(trigger.cmd, "ONBUILD") || !strcmp(trigger.cmd, "FROM") ||
	    !strcmp(trigger.cmd, "MAINTAINER"))
		rc = md_fail(err,
			     "%s:%d: ONBUILD %s is not allowed (a trigger runs in the stage FROM "
			     "this image)",
			     name, in->line, trigger.cmd);
	instr_free(&trigger);
	return rc;
}

static const char *instr_list(void)
{
	static char buf[256];
	if (!buf[0])
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 i ? ", " : "", keywords[i].name);
	return buf;
}

/* One instruction from its joined line TEXT (LEN bytes), which starts at LINE. */
static int parse_instr(const char *text, size_t len, int line, const char *name, char escape,
		       struct df_instr *in, struct md_error *err)
{
	memset(in, 0, sizeof(*in));
	while (len && df_blank(*text))
		text++, len--;
	while (len && df_blank(text[len - 1]))
		len--;
	in->line = line;
	in->original = xasprintf("%.*s", (int)len, text);
	size_t kw = strcspn(in->original, " \t\v\f\r");
	in->cmd = xasprintf("%.*s", (int)kw, in->original);
	for (char *c = in->cmd; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	const struct keyword *k = keyword(in->cmd);
	if (!k) {
		md_fail(err, "%s:%d: unknown instruction: %.40s (the instructions are %s)", name,
			line, in->cmd, instr_list());
		goto fail;
	}
	const char *rest = in->original + kw;
	while (df_blank(*rest))
		rest++;
	if (k->takes & TAKES_FLAGS)
		rest = take_flags(rest, escape, in);
	while (df_blank(*rest))
		rest++;
	in->args = xstrdup(rest);
	if ((k->takes & TAKES_JSON) && exec_form(in->args, name, in, err) < 0)
		goto fail;
	/* CMD [] and ENTRYPOINT [] clear what the base image set; elsewhere nothing is nothing */
	if (!*in->args ||
	    (in->json && !in->argc && strcmp(in->cmd, "CMD") && strcmp(in->cmd, "ENTRYPOINT"))) {
		md_fail(err, "%s:%d: %s %s", name, line, in->cmd, k->needs);
		goto fail;
	}
	if (!strcmp(in->cmd, "SHELL") && !in->json) {
		md_fail(err,
			"%s:%d: SHELL takes the JSON form only (SHELL [\"/bin/bash\", \"-c\"])",
			name, line);
		goto fail;
	}
	if (!strcmp(in->cmd, "HEALTHCHECK") && healthcheck(name, in, err) < 0)
		goto fail;
	if (!strcmp(in->cmd, "ONBUILD") && onbuild(name, escape, in, err) < 0)
		goto fail;
	return 0;
fail:
	instr_free(in);
	return -1;
}

/* ---- lines ---- */

struct reader {
	const char *p, *end;
	int line; /* of the line last read, 1-based */
};

/* The next line (without its "\n" or "\r\n") into S, N; 0 at the end. */
static int next_line(struct reader *r, const char **s, size_t *n)
{
	if (r->p >= r->end)
		return 0;
	const char *nl = memchr(r->p, '\n', r->end - r->p), *e = nl ? nl : r->end;
	*s = r->p;
	*n = e - r->p;
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	r->p = nl ? nl + 1 : r->end;
	r->line++;
	return 1;
}

static void ltrim(const char **s, size_t *n)
{
	while (*n && df_blank(**s))
		(*s)++, (*n)--;
}

/*
 * "# name = value" (a parser directive's shape): the name is a letter, then
 * letters and digits; blanks may go around the '='. NAME, VALUE are spans of S.
 */
static int directive_shape(const char *s, size_t n, const char **name, size_t *nlen,
			   const char **val, size_t *vlen)
{
	size_t i = 1;
	if (!n || s[0] != '#')
		return 0;
	while (i < n && df_blank(s[i]))
		i++;
	*name = s + i;
	if (i == n || !isalpha((unsigned char)s[i]))
		return 0;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	*nlen = s + i - *name;
	while (i < n && df_blank(s[i]))
		i++;
	if (i == n || s[i++] != '=')
		return 0;
	while (i < n && df_blank(s[i]))
		i++;
	while (n > i && df_blank(s[n - 1]))
		n--;
	*val = s + i;
	*vlen = n - i;
	return *vlen > 0;
}

/*
 * A parser directive at the top of the file: 1 if the line is one (escape=
 * sets DF->escape; syntax= and check= are BuildKit's, read and ignored), 0 if
 * not: then directives are over and the line is whatever it is (a comment).
 */
static int directive(const char *s, size_t n, int line, const char *name, unsigned *seen,
		     struct dockerfile *df, struct md_error *err)
{
	static const char *known[] = {"escape", "syntax", "check"};
	enum { N_KNOWN = sizeof(known) / sizeof(known[0]) };
	const char *dn, *val;
	size_t dlen, vlen, k;
	if (!directive_shape(s, n, &dn, &dlen, &val, &vlen))
		return 0;
	for (k = 0; k < N_KNOWN; k++)
		if (strlen(known[k]) == dlen && !strncasecmp(dn, known[k], dlen))
			break;
	if (k ==
	    N_KNOWN) /* an unknown directive is a comment, and so is every directive after it */
		return 0;
	if (*seen & (1u << k))
		return md_fail(
		    err, "%s:%d: a second %s directive (a parser directive may be given once)",
		    name, line, known[k]);
	*seen |= 1u << k;
	if (k == 0) {
		if (vlen != 1 || (*val != '\\' && *val != '`'))
			return md_fail(
			    err, "%s:%d: escape=%.*s: the escape char is \\ or ` (# escape=`)",
			    name, line, (int)(vlen > 20 ? 20 : vlen), val);
		df->escape = *val;
	}
	return 1;
}

/* Append line S (N bytes) to L; 1 if it ends with the escape char (blanks after it allowed): continued */
static int add_line(struct sbuf *l, const char *s, size_t n, char escape)
{
	size_t e = n;
	while (e && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	int more = e && s[e - 1] == escape;
	sbuf_add(l, s, more ? e - 1 : n);
	return more;
}

static int comment_or_empty(const char *s, size_t n)
{
	ltrim(&s, &n);
	return !n || *s == '#';
}

static int parse_lines(const char *text, size_t len, const char *name, struct dockerfile *df,
		       struct md_error *err)
{
	struct reader r = {text, text + len, 0};
	const char *s;
	size_t n, cap = 0;
	unsigned seen = 0;
	int directives = 1, from = 0;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) /* a UTF-8 byte-order mark */
		r.p += 3;
	while (next_line(&r, &s, &n)) {
		ltrim(&s, &n);
		if (directives) {
			int rc = directive(s, n, r.line, name, &seen, df, err);
			if (rc < 0)
				return -1;
			if (rc)
				continue;
			directives = 0;
		}
		if (comment_or_empty(s, n))
			continue;
		/* continuation lines keep their indentation: Docker joins them as they are */
		int start = r.line;
		struct sbuf l = {0};
		int more = add_line(&l, s, n, df->escape);
		while (more && next_line(&r, &s, &n))
			if (!comment_or_empty(s, n))
				more = add_line(&l, s, n, df->escape);
		struct df_instr in;
		size_t k = l.len;
		const char *t = l.s;
		ltrim(&t, &k);
		if (!k) { /* a lone escape char: nothing */
			free(l.s);
			continue;
		}
		int rc = parse_instr(l.s, l.len, start, name, df->escape, &in, err);
		free(l.s);
		if (rc < 0)
			return -1;
		if (!from && strcmp(in.cmd, "FROM") && strcmp(in.cmd, "ARG")) {
			md_fail(err,
				"%s:%d: %s before FROM (a Dockerfile starts with FROM IMAGE; only "
				"ARG may come before it)",
				name, start, in.cmd);
			instr_free(&in);
			return -1;
		}
		from |= !strcmp(in.cmd, "FROM");
		if ((size_t)df->n == cap) {
			cap = cap ? 2 * cap : 16;
			struct df_instr *v = realloc(df->v, cap * sizeof(*v));
			if (!v)
				df_out_of_memory();
			df->v = v;
		}
		df->v[df->n++] = in;
	}
	if (!from)
		return md_fail(err,
			       "%s: no FROM instruction: a Dockerfile starts with FROM IMAGE (or "
			       "FROM scratch)",
			       name);
	return 0;
}

int dockerfile_parse(const char *text, size_t len, const char *name, struct dockerfile *df,
		     struct md_error *err)
{
	memset(df, 0, sizeof(*df));
	df->escape = '\\';
	const char *nul = memchr(text, 0, len);
	if (nul) {
		int line = 1;
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		return md_fail(err, "%s:%d: a NUL byte (a Dockerfile is text)", name, line);
	}
	if (parse_lines(text, len, name, df, err) < 0) {
		dockerfile_free(df);
		return -1;
	}
	return 0;
}

void dockerfile_free(struct dockerfile *df)
{
	for (int i = 0; i < df->n; i++)
		instr_free(&df->v[i]);
	free(df->v);
	memset(df, 0, sizeof(*df));
	df->escape = '\\';
}
