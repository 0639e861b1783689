/*
 * composefile.c: compose.yaml into a project (composefile.h), checked before
 * anything runs.
 *
 *     services:
 *       web:
 *         image: busybox
 *         command: httpd -f -p 80
 *         ports: ["127.0.0.1:8080:80"]
 *       client:
 *         image: busybox
 *         depends_on: [web]
 *
 * libyaml's document loader (yaml_parser_load) gives a tree of nodes, each with
 * the line it starts on, and resolves anchors and aliases (&base, *base) for us.
 * Three things are ours: the merge key (`<<: *base`, a YAML 1.1 idea that libyaml
 * leaves to the application), interpolation (${VAR}, ${VAR:-default}, $$) from the
 * environment and a .env file beside the compose file, and the compose schema
 * itself: an unknown key is an error with its line, never ignored, because a
 * typo ('healtcheck') that is silently dropped is a bug found in production.
 * x-* keys are the compose spec's place for your own (anchors to merge).
 *
 * Here: the pool the project's strings live in, and the loader's tools every
 * key is read with (composeload.h): where a node is (for the errors), its
 * value interpolated, a list, a mapping with its merges, an unknown key.
 * A service's keys are composeservice.c's; the file, .env, the project's name
 * and the start order composeproject.c's.
 */
#define _GNU_SOURCE
#include "composefile.h"
#include "composeload.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

/* ---- the pool: a project's strings live as long as the project ---- */

struct pool_block {
	struct pool_block *next;
	max_align_t data[];
};

void *pool_alloc(struct pool *p, size_t size)
{
	struct pool_block *b = xcalloc(1, sizeof(*b) + size + 1);
	b->next = p->blocks;
	p->blocks = b;
	return b->data;
}

char *pool_strdup(struct pool *p, const char *s)
{
	return strcpy(pool_alloc(p, strlen(s) + 1), s);
}

char *pool_printf(struct pool *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = pool_alloc(p, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void pool_free(struct pool *p)
{
	while (p->blocks) {
		struct pool_block *next = p->blocks->next;
		free(p->blocks);
		p->blocks = next;
	}
}

/* ---- the loader: the document, where we are, the variables ---- */

/* "compose.yaml:7: services.web: ..." ; returns -1 */
int cf_at(struct loader *l, yaml_node_t *n, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return md_fail(l->err, "%s:%lu: %s", l->file,
		       n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
}

yaml_node_t *cf_node(struct loader *l, int index)
{
	return yaml_document_get_node(&l->doc, index);
}

const char *cf_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* ~, null and nothing at all (`key:`), when not quoted */
int cf_is_null(yaml_node_t *n)
{
	const char *s = cf_scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

/* ---- interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $VAR, $$ ---- */

/* the shell's environment first, then .env (as docker compose: the shell wins) */
const char *cf_lookup(struct loader *l, const char *name, size_t len)
{
	char key[256];
	snprintf(key, sizeof(key), "%.*s", (int)len, name);
	const char *v = getenv(key);
	if (v)
		return v;
	for (char **e = l->dotenv; e && *e; e++)
		if (!strncmp(*e, key, len) && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

static int interpolate_into(struct loader *l, yaml_node_t *n, const char *s, size_t len, FILE *out,
			    int depth);

/* ${...} with S at the name and LEN up to the matching '}' */
static int braced(struct loader *l, yaml_node_t *n, const char *s, size_t len, FILE *out, int depth)
{
	size_t k = 0;
	while (k < len && (isalnum((unsigned char)s[k]) || s[k] == '_'))
		k++;
	if (!k || isdigit((unsigned char)s[0]))
		return cf_at(
		    l, n,
		    "invalid interpolation ${%.*s}: a variable's name is letters, digits and _",
		    (int)len, s);
	const char *v = cf_lookup(l, s, k), *op = s + k, *word = op;
	size_t wlen = 0;
	int colon = k < len && *op == ':';
	if (k < len) {
		word = op + colon + 1;
		wlen = len - k - colon - 1;
		if (colon + k >= len || !strchr("-?+", op[colon]))
			return cf_at(l, n,
				  "invalid interpolation ${%.*s}: use ${VAR}, ${VAR:-default} or "
				  "${VAR:?error}",
				  (int)len, s);
	}
	int unset = !v || (colon && !*v); /* with ':' an empty value counts as unset */
	char o = k < len ? op[colon] : 0;
	if (o == '-' && unset)
		return interpolate_into(l, n, word, wlen, out, depth + 1);
	if (o == '+')
		return unset ? 0 : interpolate_into(l, n, word, wlen, out, depth + 1);
	if (o == '?' && unset)
		return cf_at(l, n, "required variable %.*s is missing a value: %.*s", (int)k, s,
			  (int)wlen, word);
	if (!v && !o)
		fprintf(stderr,
			"WARN: the %.*s variable is not set. Defaulting to a blank string.\n",
			(int)k, s);
	fputs(v ? v : "", out);
	return 0;
}

static int interpolate_into(struct loader *l, yaml_node_t *n, const char *s, size_t len, FILE *out,
			    int depth)
{
	if (depth > 8)
		return cf_at(l, n, "interpolation nested too deeply");
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '$' || i + 1 == len) {
			fputc(s[i], out);
			continue;
		}
		if (s[i + 1] == '$') { /* $$: a literal $ (for the container's shell) */
			fputc('$', out);
			i++;
		} else if (s[i + 1] == '{') {
			size_t j = i + 2;
			for (int open = 1; j < len;
			     j++) /* the matching }: a default may hold ${...} */
				if (s[j] == '{' && s[j - 1] == '$')
					open++;
				else if (s[j] == '}' && !--open)
					break;
			if (j >= len)
				return cf_at(l, n, "invalid interpolation '%.*s': no closing }",
					  (int)(len - i), s + i);
			if (braced(l, n, s + i + 2, j - i - 2, out, depth) < 0)
				return -1;
			i = j;
		} else if (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '_') {
			size_t j = i + 1;
			while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_'))
				j++;
			const char *v = cf_lookup(l, s + i + 1, j - i - 1);
			if (!v)
				fprintf(stderr,
					"WARN: the %.*s variable is not set. Defaulting to a blank "
					"string.\n",
					(int)(j - i - 1), s + i + 1);
			fputs(v ? v : "", out);
			i = j - 1;
		} else {
			fputc('$', out);
		}
	}
	return 0;
}

/* a scalar's value, interpolated, in the pool; NULL (ERR filled) when it is not a scalar */
const char *cf_value(struct loader *l, yaml_node_t *n, const char *where)
{
	const char *s = cf_scalar(n);
	if (!s || cf_is_null(n)) {
		cf_at(l, n, "%s: must be a string", where);
		return NULL;
	}
	if (!strchr(s, '$'))
		return pool_strdup(l->pool, s);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int r = interpolate_into(l, n, s, n->data.scalar.length, out, 0);
	fclose(out);
	const char *v = r < 0 ? NULL : pool_strdup(l->pool, buf);
	free(buf);
	return v;
}

int cf_boolean(struct loader *l, yaml_node_t *n, const char *where, int *out)
{
	const char *s = cf_value(l, n, where);
	if (!s)
		return -1;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		*out = 1;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no"))
		*out = 0;
	else
		return cf_at(l, n, "%s: '%s' is not a boolean: write true or false", where, s);
	return 0;
}

/* a sequence of strings (or, with ONE_OK, a single string) */
int cf_list(struct loader *l, yaml_node_t *n, const char *where, int one_ok, struct strs *out)
{
	if (one_ok && cf_scalar(n) && !cf_is_null(n)) {
		out->v = pool_alloc(l->pool, 2 * sizeof(char *));
		out->n = 1;
		return (out->v[0] = (char *)cf_value(l, n, where)) ? 0 : -1;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return cf_at(l, n, "%s: must be a list%s", where, one_ok ? " or a string" : "");
	int k = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	out->v = pool_alloc(l->pool, (size_t)(k + 1) * sizeof(char *));
	out->n = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		const char *s = cf_value(l, cf_node(l, *it), where);
		if (!s)
			return -1;
		out->v[out->n++] = (char *)s;
	}
	return 0;
}

/* ---- mappings, with the merge key <<: *anchor (YAML 1.1's merge type) ---- */

struct pairs {
	struct pair *v;
	int n, cap;
};

static int has_key(const struct pairs *ps, const char *k)
{
	for (int i = 0; i < ps->n; i++)
		if (!strcmp(cf_scalar(ps->v[i].key), k))
			return 1;
	return 0;
}

static void add_pair(struct pairs *ps, yaml_node_t *k, yaml_node_t *v)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 16;
		ps->v = realloc(ps->v, (size_t)ps->cap * sizeof(*ps->v));
		if (!ps->v)
			abort();
	}
	ps->v[ps->n++] = (struct pair){k, v};
}

/* MAP's own keys first (a repeated one is an error), then what << merges in and they lack */
static int collect(struct loader *l, yaml_node_t *map, const char *where, struct pairs *ps, int own,
		   int depth)
{
	if (depth > 16)
		return cf_at(l, map, "%s: merges (<<) nested too deeply", where);
	yaml_node_pair_t *p, *start = map->data.mapping.pairs.start,
			     *top = map->data.mapping.pairs.top;
	for (p = start; p < top; p++) {
		yaml_node_t *k = cf_node(l, p->key);
		if (!cf_scalar(k))
			return cf_at(l, k, "%s: a key must be a string", where);
		if (!strcmp(cf_scalar(k), "<<"))
			continue;
		if (has_key(ps, cf_scalar(k))) {
			if (own)
				return cf_at(l, k, "%s: the key '%s' is there twice", where,
					  cf_scalar(k));
			continue; /* merged: the mapping's own key wins, then the earlier merge */
		}
		add_pair(ps, k, cf_node(l, p->value));
	}
	for (p = start; p < top; p++) {
		yaml_node_t *k = cf_node(l, p->key), *v = cf_node(l, p->value);
		if (strcmp(cf_scalar(k), "<<"))
			continue;
		yaml_node_item_t one = p->value, *it = &one, *end = &one + 1;
		if (v->type == YAML_SEQUENCE_NODE)
			it = v->data.sequence.items.start, end = v->data.sequence.items.top;
		for (; it < end; it++) {
			yaml_node_t *m = cf_node(l, *it);
			if (m->type != YAML_MAPPING_NODE)
				return cf_at(l, k,
					  "%s: << merges a mapping (<<: *anchor) or a list of them",
					  where);
			if (collect(l, m, where, ps, 0, depth + 1) < 0)
				return -1;
		}
	}
	return 0;
}

/* N's keys and values, merges done; NULL with ERR when N is not a mapping */
struct pair *cf_mapping(struct loader *l, yaml_node_t *n, const char *where, int *count)
{
	struct pairs ps = {0};
	if (n->type != YAML_MAPPING_NODE) {
		cf_at(l, n, "%s: must be a mapping (key: value)", where);
		return NULL;
	}
	if (collect(l, n, where, &ps, 1, 0) < 0) {
		free(ps.v);
		return NULL;
	}
	struct pair *out = pool_alloc(l->pool, (size_t)(ps.n + 1) * sizeof(*out));
	memcpy(out, ps.v, (size_t)ps.n * sizeof(*out));
	free(ps.v);
	*count = ps.n;
	return out;
}

int cf_extension(const char *key)
{
	return !strncmp(key, "x-", 2);
}

int cf_unknown(struct loader *l, yaml_node_t *k, const char *where, const char *known)
{
	return cf_at(
	    l, k,
	    "%s: unknown key '%s' (mini-docker compose knows %s; your own keys start with x-)",
	    where, cf_scalar(k), known);
}

/* environment: / build.args: as a mapping (K: V, K: null) or a list ("K=V", "K") */
int cf_kv_list(struct loader *l, yaml_node_t *n, const char *where, struct strs *out)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return cf_list(l, n, where, 0, out);
	int count;
	struct pair *ps = cf_mapping(l, n, where, &count);
	if (!ps)
		return -1;
	out->v = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(char *));
	for (out->n = 0; out->n < count; out->n++) {
		const char *k = cf_scalar(ps[out->n].key), *v = "";
		if (cf_is_null(ps[out->n].value)) { /* K: alone, the host's value (run -e K) */
			out->v[out->n] = pool_strdup(l->pool, k);
			continue;
		}
		if (!(v = cf_value(l, ps[out->n].value, where)))
			return -1;
		out->v[out->n] = pool_printf(l->pool, "%s=%s", k, v);
	}
	return 0;
}

/* command: "httpd -f -p 80" is split as a shell would (quotes, backslashes), with no shell after */
static int shell_split(struct loader *l, yaml_node_t *n, const char *s, const char *where,
		       struct strs *out)
{
	size_t len = strlen(s);
	char *buf = pool_alloc(l->pool, len + 1), *w = buf;
	out->v = pool_alloc(l->pool, (len / 2 + 2) * sizeof(char *));
	out->n = 0;
	for (const char *p = s; *p;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		out->v[out->n++] = w;
		for (char q = 0; *p && (q || !isspace((unsigned char)*p)); p++) {
			if (!q && (*p == '\'' || *p == '"'))
				q = *p;
			else if (q && *p == q)
				q = 0;
			else if (*p == '\\' && p[1] && q != '\'' && (!q || strchr("\"\\$`", p[1])))
				*w++ = *++p;
			else
				*w++ = *p;
			if (q && !p[1])
				return cf_at(l, n, "%s: a quote (%c) is not closed", where, q);
		}
		*w++ = 0;
	}
	out->v[out->n] = NULL;
	return 0;
}

int cf_command(struct loader *l, yaml_node_t *n, const char *where, struct strs *out)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return cf_list(l, n, where, 0, out);
	const char *s = cf_value(l, n, where);
	return s ? shell_split(l, n, s, where, out) : -1;
}

void compose_free(struct compose_project *p)
{
	pool_free(&p->pool);
	memset(p, 0, sizeof(*p));
}

int compose_service_index(const struct compose_project *p, const char *name)
{
	for (int i = 0; i < p->n_services; i++)
		if (!strcmp(p->services[i].name, name))
			return i;
	return -1;
}
