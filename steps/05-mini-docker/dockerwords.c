/*
 * dockerwords.c: Docker's word expansion (see dockerwords.h), as BuildKit's
 * shell lexer (frontend/dockerfile/shell) does it, which is smaller than sh(1):
 * no globs, no command substitution.
 *
 *     ENV DIR="/my dir"           words: $VAR expanded, quotes removed, split on blanks
 *     COPY $SRC ${DEST:-/app}/    ${VAR:-word}, ${VAR:+word}, ${VAR:?message}
 *     RUN echo '$HOME'            single quotes: nothing expanded (RUN itself is not: its shell does it)
 */
#define _GNU_SOURCE
#include "dockerwords.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mini-docker.h"
#include "util.h"

void __attribute__((noreturn)) df_out_of_memory(void)
{
	fputs("mini-docker: out of memory\n", stderr);
	exit(EXIT_ENGINE);
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			df_out_of_memory();
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

void sbuf_addc(struct sbuf *b, char c)
{
	sbuf_add(b, &c, 1);
}

/* the string made ("" if none), handed over: B is empty again */
char *sbuf_take(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	memset(b, 0, sizeof(*b));
	return s;
}

/* append S to the NULL-terminated array *V of *N strings */
void strv_push(char ***v, int *n, char *s)
{
	char **p = realloc(*v, (*n + 2) * sizeof(*p));
	if (!p)
		df_out_of_memory();
	p[(*n)++] = s;
	p[*n] = NULL;
	*v = p;
}

void dockerfile_words_free(char **words)
{
	for (char **w = words; w && *w; w++)
		free(*w);
	free(words);
}

/* Go's unicode.IsSpace for the bytes we meet: what separates words and ends a keyword */
int df_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* ---- words: $VAR, quotes, escapes ---- */

struct lex {
	const char *s; /* the whole text, for messages */
	const char *p; /* the next char */
	char escape;
	char *const *vars;
	int n_vars;
	struct md_error *err;
};

/*
 * The words being gathered. Quoted text, escaped chars and literal chars join
 * the current word; an unquoted blank, also one in an unquoted $VAR's value,
 * ends it. An empty word is never kept: Docker drops "" too.
 */
struct words {
	char **v;
	int n;
	struct sbuf cur;
};

static void words_end(struct words *w)
{
	if (w->cur.len)
		strv_push(&w->v, &w->n, sbuf_take(&w->cur));
}

static void words_split(struct words *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (df_blank(s[i]))
			words_end(w);
		else
			sbuf_addc(&w->cur, s[i]);
	}
}

static int lex_fail(struct lex *lx, const char *why)
{
	return md_fail(lx->err, "'%.200s': %s", lx->s, why);
}

/* a variable's name after '$': NAME_1, or digits ($1), or one special char ($$, $@): sh(1)'s rule */
static size_t name_len(const char *p)
{
	size_t n = 0;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)p[n]))
			n++;
		return n;
	}
	if (*p && strchr("*#@?-$!", *p))
		return 1;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

/* the value of NAME (N bytes) in VARS, the last "NAME=..." winning; NULL when unset */
static const char *lookup(const struct lex *lx, const char *name, size_t n)
{
	for (int i = lx->n_vars - 1; i >= 0; i--)
		if (!strncmp(lx->vars[i], name, n) && lx->vars[i][n] == '=')
			return lx->vars[i] + n + 1;
	return NULL;
}

static int lex_until(struct lex *lx, char stop, struct sbuf *out, struct words *w);

/* ${NAME...} after the "${": the modifiers :- :+ - + :? ? */
static int lex_braces(struct lex *lx, struct sbuf *out)
{
	size_t n = name_len(lx->p);
	if (!n && !*lx->p)
		return lex_fail(lx, "a ${ without its } (${NAME})");
	if (!n)
		return lex_fail(lx,
				"bad substitution: a name must follow ${ (${NAME}, ${NAME:-x})");
	const char *name = lx->p, *val = lookup(lx, name, n);
	lx->p += n;
	char op = *lx->p;
	if (op == '}') {
		lx->p++;
		if (val)
			sbuf_add(out, val, strlen(val));
		return 0;
	}
	int colon = op == ':';
	if (colon)
		op = *++lx->p;
	if (!op)
		return lex_fail(lx, "a ${ without its } (${NAME})");
	if (!strchr("-+?", op))
		return lex_fail(
		    lx, "unsupported substitution (a Dockerfile knows ${NAME}, ${NAME:-default}, "
			"${NAME:+alternative}, ${NAME-default}, ${NAME+alternative}, "
			"${NAME:?message})");
	lx->p++;
	/* the word after the modifier is itself expanded, quotes and all, up to the '}' */
	struct sbuf word = {0};
	sbuf_add(&word, "", 0);
	if (lex_until(lx, '}', &word, NULL) < 0) {
		free(word.s);
		return -1;
	}
	/* ':' counts an empty value as unset */
	int unset = !val || (colon && !*val);
	int rc = 0;
	if (op == '-')
		sbuf_add(out, unset ? word.s : val, strlen(unset ? word.s : val));
	else if (op == '+' && !unset)
		sbuf_add(out, word.s, word.len);
	else if (op == '?' && unset)
		rc = md_fail(lx->err, "%.*s: %s", (int)n, name,
			     *word.s ? word.s : "is not set (give it a value with ARG or ENV)");
	else if (op == '?')
		sbuf_add(out, val, strlen(val));
	free(word.s);
	return rc;
}

/* "$NAME" or "${...}"; a '$' not followed by a name is a '$' */
static int lex_dollar(struct lex *lx, struct sbuf *out)
{
	lx->p++;
	if (*lx->p == '{') {
		lx->p++;
		return lex_braces(lx, out);
	}
	size_t n = name_len(lx->p);
	if (!n) {
		sbuf_addc(out, '$');
		return 0;
	}
	const char *val = lookup(lx, lx->p, n);
	if (val)
		sbuf_add(out, val, strlen(val));
	lx->p += n;
	return 0;
}

/* '...': every char as it is, no variables, no escapes */
static int lex_single(struct lex *lx, struct sbuf *out)
{
	const char *end = strchr(++lx->p, '\'');
	if (!end)
		return lex_fail(lx, "a ' is not closed (end the quoted text with ')");
	sbuf_add(out, lx->p, end - lx->p);
	lx->p = end + 1;
	return 0;
}

/* "...": variables expanded; the escape char escapes only " $ and itself, else stays */
static int lex_double(struct lex *lx, struct sbuf *out)
{
	lx->p++;
	for (;;) {
		char c = *lx->p;
		if (!c)
			return lex_fail(lx, "a \" is not closed (end the quoted text with \")");
		if (c == '"') {
			lx->p++;
			return 0;
		}
		if (c == '$') {
			if (lex_dollar(lx, out) < 0)
				return -1;
			continue;
		}
		lx->p++;
		if (c == lx->escape && *lx->p &&
		    (*lx->p == '"' || *lx->p == '$' || *lx->p == lx->escape))
			c = *lx->p++;
		sbuf_addc(out, c);
	}
}

/*
 * Read up to STOP ('}' inside ${NAME:-word}, 0 for the end) into OUT, and into
 * W's words when W: what came from quotes or escapes joins a word whole, an
 * unquoted $VAR's value and plain text are split on blanks.
 */
static int lex_until(struct lex *lx, char stop, struct sbuf *out, struct words *w)
{
	for (;;) {
		char c = *lx->p;
		size_t mark = out->len;
		int rc = 0, whole = c == '"' || c == '\'' || c == lx->escape;
		if (!c)
			return stop ? lex_fail(lx, "a ${ without its } (${NAME})") : 0;
		if (stop && c == stop) {
			lx->p++;
			return 0;
		}
		if (c == '$') {
			rc = lex_dollar(lx, out);
		} else if (c == '"') {
			rc = lex_double(lx, out);
		} else if (c == '\'') {
			rc = lex_single(lx, out);
		} else if (c == lx->escape) {
			if (lx->p[1]) /* an escape char at the very end is dropped */
				sbuf_addc(out, lx->p[1]);
			lx->p += lx->p[1] ? 2 : 1;
		} else {
			sbuf_addc(out, c);
			lx->p++;
		}
		if (rc < 0)
			return -1;
		if (w && whole)
			sbuf_add(&w->cur, out->s + mark, out->len - mark);
		else if (w)
			words_split(w, out->s + mark, out->len - mark);
	}
}

static int lex_run(const char *s, char escape, char *const *vars, int n_vars, struct sbuf *out,
		   struct words *w, struct md_error *err)
{
	struct lex lx = {s, s, escape ? escape : '\\', vars, n_vars, err};
	sbuf_add(out, "", 0);
	return lex_until(&lx, 0, out, w);
}

int dockerfile_words(const char *s, char escape, char *const *vars, int n_vars, char ***words,
		     int *n, struct md_error *err)
{
	struct words w = {0};
	struct sbuf out = {0};
	int rc = lex_run(s, escape, vars, n_vars, &out, &w, err);
	free(out.s);
	if (rc < 0) {
		free(w.cur.s);
		dockerfile_words_free(w.v);
		return -1;
	}
	words_end(&w);
	free(w.cur.s);
	*words = w.v ? w.v : xcalloc(1, sizeof(char *));
	*n = w.n;
	return 0;
}

char *dockerfile_word(const char *s, char escape, char *const *vars, int n_vars,
		      struct md_error *err)
{
	struct sbuf out = {0};
	if (lex_run(s, escape, vars, n_vars, &out, NULL, err) < 0) {
		free(out.s);
		return NULL;
	}
	return sbuf_take(&out);
}
