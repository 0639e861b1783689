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
 */
#define _GNU_SOURCE
#include "composefile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

struct loader {
	struct compose_project *p;
	struct pool *pool;
	yaml_document_t doc;
	const char *file;
	char **dotenv; /* .env's K=V lines, NULL-terminated */
	struct md_error *err;
};

/* "compose.yaml:7: services.web: ..." ; returns -1 */
static int at(struct loader *l, yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int at(struct loader *l, yaml_node_t *n, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return md_fail(l->err, "%s:%lu: %s", l->file,
		       n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
}

static yaml_node_t *node(struct loader *l, int index)
{
	return yaml_document_get_node(&l->doc, index);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* ~, null and nothing at all (`key:`), when not quoted */
static int is_null(yaml_node_t *n)
{
	const char *s = scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

/* ---- interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $VAR, $$ ---- */

/* the shell's environment first, then .env (as docker compose: the shell wins) */
static const char *lookup(struct loader *l, const char *name, size_t len)
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
		return at(
		    l, n,
		    "invalid interpolation ${%.*s}: a variable's name is letters, digits and _",
		    (int)len, s);
	const char *v = lookup(l, s, k), *op = s + k, *word = op;
	size_t wlen = 0;
	int colon = k < len && *op == ':';
	if (k < len) {
		word = op + colon + 1;
		wlen = len - k - colon - 1;
		if (colon + k >= len || !strchr("-?+", op[colon]))
			return at(l, n,
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
		return at(l, n, "required variable %.*s is missing a value: %.*s", (int)k, s,
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
		return at(l, n, "interpolation nested too deeply");
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
				return at(l, n, "invalid interpolation '%.*s': no closing }",
					  (int)(len - i), s + i);
			if (braced(l, n, s + i + 2, j - i - 2, out, depth) < 0)
				return -1;
			i = j;
		} else if (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '_') {
			size_t j = i + 1;
			while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_'))
				j++;
			const char *v = lookup(l, s + i + 1, j - i - 1);
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
static const char *value(struct loader *l, yaml_node_t *n, const char *where)
{
	const char *s = scalar(n);
	if (!s || is_null(n)) {
		at(l, n, "%s: must be a string", where);
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

static int boolean(struct loader *l, yaml_node_t *n, const char *where, int *out)
{
	const char *s = value(l, n, where);
	if (!s)
		return -1;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		*out = 1;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no"))
		*out = 0;
	else
		return at(l, n, "%s: '%s' is not a boolean: write true or false", where, s);
	return 0;
}

/* a sequence of strings (or, with ONE_OK, a single string) */
static int list(struct loader *l, yaml_node_t *n, const char *where, int one_ok, struct strs *out)
{
	if (one_ok && scalar(n) && !is_null(n)) {
		out->v = pool_alloc(l->pool, 2 * sizeof(char *));
		out->n = 1;
		return (out->v[0] = (char *)value(l, n, where)) ? 0 : -1;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return at(l, n, "%s: must be a list%s", where, one_ok ? " or a string" : "");
	int k = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	out->v = pool_alloc(l->pool, (size_t)(k + 1) * sizeof(char *));
	out->n = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		const char *s = value(l, node(l, *it), where);
		if (!s)
			return -1;
		out->v[out->n++] = (char *)s;
	}
	return 0;
}

/* ---- mappings, with the merge key <<: *anchor (YAML 1.1's merge type) ---- */

struct pair {
	yaml_node_t *key, *value;
};

struct pairs {
	struct pair *v;
	int n, cap;
};

static int has_key(const struct pairs *ps, const char *k)
{
	for (int i = 0; i < ps->n; i++)
		if (!strcmp(scalar(ps->v[i].key), k))
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
		return at(l, map, "%s: merges (<<) nested too deeply", where);
	yaml_node_pair_t *p, *start = map->data.mapping.pairs.start,
			     *top = map->data.mapping.pairs.top;
	for (p = start; p < top; p++) {
		yaml_node_t *k = node(l, p->key);
		if (!scalar(k))
			return at(l, k, "%s: a key must be a string", where);
		if (!strcmp(scalar(k), "<<"))
			continue;
		if (has_key(ps, scalar(k))) {
			if (own)
				return at(l, k, "%s: the key '%s' is there twice", where,
					  scalar(k));
			continue; /* merged: the mapping's own key wins, then the earlier merge */
		}
		add_pair(ps, k, node(l, p->value));
	}
	for (p = start; p < top; p++) {
		yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
		if (strcmp(scalar(k), "<<"))
			continue;
		yaml_node_item_t one = p->value, *it = &one, *end = &one + 1;
		if (v->type == YAML_SEQUENCE_NODE)
			it = v->data.sequence.items.start, end = v->data.sequence.items.top;
		for (; it < end; it++) {
			yaml_node_t *m = node(l, *it);
			if (m->type != YAML_MAPPING_NODE)
				return at(l, k,
					  "%s: << merges a mapping (<<: *anchor) or a list of them",
					  where);
			if (collect(l, m, where, ps, 0, depth + 1) < 0)
				return -1;
		}
	}
	return 0;
}

/* N's keys and values, merges done; NULL with ERR when N is not a mapping */
static struct pair *mapping(struct loader *l, yaml_node_t *n, const char *where, int *count)
{
	struct pairs ps = {0};
	if (n->type != YAML_MAPPING_NODE) {
		at(l, n, "%s: must be a mapping (key: value)", where);
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

static int extension(const char *key)
{
	return !strncmp(key, "x-", 2);
}

static int unknown(struct loader *l, yaml_node_t *k, const char *where, const char *known)
{
	return at(
	    l, k,
	    "%s: unknown key '%s' (mini-docker compose knows %s; your own keys start with x-)",
	    where, scalar(k), known);
}

/* environment: / build.args: as a mapping (K: V, K: null) or a list ("K=V", "K") */
static int kv_list(struct loader *l, yaml_node_t *n, const char *where, struct strs *out)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return list(l, n, where, 0, out);
	int count;
	struct pair *ps = mapping(l, n, where, &count);
	if (!ps)
		return -1;
	out->v = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(char *));
	for (out->n = 0; out->n < count; out->n++) {
		const char *k = scalar(ps[out->n].key), *v = "";
		if (is_null(ps[out->n].value)) { /* K: alone, the host's value (run -e K) */
			out->v[out->n] = pool_strdup(l->pool, k);
			continue;
		}
		if (!(v = value(l, ps[out->n].value, where)))
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
				return at(l, n, "%s: a quote (%c) is not closed", where, q);
		}
		*w++ = 0;
	}
	out->v[out->n] = NULL;
	return 0;
}

static int command(struct loader *l, yaml_node_t *n, const char *where, struct strs *out)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return list(l, n, where, 0, out);
	const char *s = value(l, n, where);
	return s ? shell_split(l, n, s, where, out) : -1;
}

/* a path of the compose file, from its directory */
static const char *path(struct loader *l, const char *p)
{
	if (p[0] == '/')
		return p;
	if (p[0] == '~' && (p[1] == '/' || !p[1]) && getenv("HOME"))
		return pool_printf(l->pool, "%s%s", getenv("HOME"), p + 1);
	return pool_printf(l->pool, "%s/%s", l->p->dir,
			   !strcmp(p, ".")		? ""
			   : p[0] == '.' && p[1] == '/' ? p + 2
							: p);
}

/* ---- a service's keys ---- */

static int port_number(const char *s, int empty_ok)
{
	char *end;
	long n = strtol(s, &end, 10);
	return (!*s && empty_ok) ||
	       (*s && isdigit((unsigned char)*s) && !*end && n >= 1 && n <= 65535);
}

/* [IP:]HOST:CTR[/tcp|/udp] (or CTR alone), the grammar of run -p (ports.c) */
static int port_ok(const char *spec)
{
	char buf[128], *parts[3], *ip = NULL, *s = buf, *proto;
	int n = 0;
	if (strlen(spec) >= sizeof(buf))
		return 0;
	strcpy(buf, spec);
	if ((proto = strchr(buf, '/'))) {
		*proto++ = 0;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
			return 0;
	}
	if (*s == '[') { /* [::1]:8080:80 */
		char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return 0;
		*close = 0;
		ip = s + 1;
		s = close + 2;
	}
	for (char *t = s;; n++) {
		char *colon = strchr(t, ':');
		if (n == 3 || (n == 2 && ip))
			return 0;
		parts[n] = t;
		if (!colon) {
			n++;
			break;
		}
		*colon = 0;
		t = colon + 1;
	}
	if (n == 3)
		ip = parts[0];
	unsigned char any[16];
	if (ip && *ip && inet_pton(AF_INET, ip, any) != 1 && inet_pton(AF_INET6, ip, any) != 1)
		return 0;
	return port_number(parts[n - 1], 0) && (n < 2 || port_number(parts[n - 2], 1));
}

/* stop_grace_period: 10s, 1m30s, 1h, 500ms (Go's durations), or whole seconds; rounded up */
static int duration(const char *s, long *secs)
{
	double total = 0;
	char *end;
	if (!*s)
		return -1;
	while (*s) {
		double v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		if (!*s && total == 0) /* a plain number: seconds */
			total = v;
		else if (!strncmp(s, "ms", 2))
			total += v / 1000, s += 2;
		else if (*s == 'h' || *s == 'm' || *s == 's')
			total += v * (*s == 'h' ? 3600 : *s == 'm' ? 60 : 1), s++;
		else
			return -1;
	}
	*secs = (long)total + (total > (long)total);
	return total > 86400 ? -1 : 0;
}

/* the loader's extra state while the services are read */
struct names {
	struct strs declared; /* top-level volumes:, as written */
};

/* volumes: - ./dir:/dst[:ro], - NAME:/dst (declared at the top), - /dst (anonymous) */
static const char *volume(struct loader *l, yaml_node_t *n, const struct strs *declared,
			  const char *where)
{
	if (n->type == YAML_MAPPING_NODE) {
		at(l, n,
		   "%s: the long syntax (type:, source:, target:) is not supported: write "
		   "SRC:DST[:ro]",
		   where);
		return NULL;
	}
	const char *spec = value(l, n, where);
	if (!spec)
		return NULL;
	char *copy = pool_strdup(l->pool, spec), *parts[4] = {0}, *save;
	int k = 0;
	for (char *t = strtok_r(copy, ":", &save); t && k < 4; t = strtok_r(NULL, ":", &save))
		parts[k++] = t;
	if (k < 1 || k > 3 || (k == 3 && strcmp(parts[2], "ro") && strcmp(parts[2], "rw")) ||
	    parts[k == 1 ? 0 : 1][0] != '/') {
		at(l, n, "%s: '%s': write SRC:DST[:ro|rw] (DST absolute), NAME:DST or DST", where,
		   spec);
		return NULL;
	}
	if (k == 1)
		return spec;
	const char *src = parts[0], *mode = k == 3 ? pool_printf(l->pool, ":%s", parts[2]) : "";
	if (src[0] == '/' || src[0] == '.' || src[0] == '~')
		return pool_printf(l->pool, "%s:%s%s", path(l, src), parts[1], mode);
	int found = 0;
	for (int i = 0; i < declared->n && !found; i++)
		found = !strcmp(declared->v[i], src);
	if (!found) {
		at(l, n,
		   "%s: the named volume '%s' is not declared: add it under the top-level volumes:",
		   where, src);
		return NULL;
	}
	return pool_printf(l->pool, "%s_%s:%s%s", l->p->name, src, parts[1], mode);
}

/* build: CONTEXT, or {context, dockerfile, args} */
static int build(struct loader *l, yaml_node_t *n, struct compose_service *s, const char *where)
{
	if (scalar(n)) {
		const char *c = value(l, n, where);
		return c ? (s->build_context = path(l, c), 0) : -1;
	}
	int count;
	struct pair *ps = mapping(l, n, where, &count);
	if (!ps)
		return -1;
	s->build_context = l->p->dir;
	for (int i = 0; i < count; i++) {
		const char *k = scalar(ps[i].key), *v;
		yaml_node_t *val = ps[i].value;
		if (extension(k))
			continue;
		if (!strcmp(k, "context") && (v = value(l, val, where)))
			s->build_context = path(l, v);
		else if (!strcmp(k, "dockerfile") && (v = value(l, val, where)))
			s->dockerfile = v;
		else if (!strcmp(k, "args")) {
			if (kv_list(l, val, pool_printf(l->pool, "%s.args", where),
				    &s->build_args) < 0)
				return -1;
		} else if (strcmp(k, "context") && strcmp(k, "dockerfile"))
			return unknown(l, ps[i].key, where, "context, dockerfile, args");
		else
			return -1;
	}
	if (s->dockerfile && s->dockerfile[0] != '/') /* the Dockerfile is found from the context */
		s->dockerfile = pool_printf(l->pool, "%s/%s", s->build_context, s->dockerfile);
	return 0;
}

/* depends_on: [a, b] or {a: {condition: service_started | service_completed_successfully |
 * service_healthy}} */
static int depends_on(struct loader *l, yaml_node_t *n, struct compose_service *s,
		      const char *where)
{
	struct compose_project *p = l->p;
	struct strs names = {0};
	struct pair *ps = NULL;
	int count = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		if (list(l, n, where, 0, &names) < 0)
			return -1;
		count = names.n;
	} else if (!(ps = mapping(l, n, where, &count)))
		return -1;
	s->deps = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(*s->deps));
	for (int i = 0; i < count; i++) {
		const char *dep = ps ? scalar(ps[i].key) : names.v[i];
		yaml_node_t *where_node = ps ? ps[i].key : n;
		struct compose_dep *d = &s->deps[s->n_deps++];
		if ((d->service = compose_service_index(p, dep)) < 0)
			return at(l, where_node,
				  "%s: depends on '%s', which is not a service of this file", where,
				  dep);
		if (!ps || is_null(ps[i].value))
			continue;
		int nc;
		struct pair *cs =
		    mapping(l, ps[i].value, pool_printf(l->pool, "%s.%s", where, dep), &nc);
		if (!cs)
			return -1;
		for (int c = 0; c < nc; c++) {
			const char *k = scalar(cs[c].key), *v;
			if (extension(k) || !strcmp(k, "required") || !strcmp(k, "restart"))
				continue;
			if (strcmp(k, "condition"))
				return unknown(l, cs[c].key, where, "condition");
			if (!(v = value(l, cs[c].value, where)))
				return -1;
			d->line = (int)cs[c].value->start_mark.line + 1;
			if (!strcmp(v, "service_completed_successfully"))
				d->completed = 1;
			else if (!strcmp(v, "service_healthy"))
				d->healthy = 1; /* its healthcheck: checked once every service is read */
			else if (strcmp(v, "service_started"))
				return at(l, cs[c].value,
					  "%s: unknown condition '%s' (service_started, "
					  "service_completed_successfully, service_healthy)",
					  where, v);
		}
	}
	return 0;
}

/* networks: [default] or {default: {aliases: [...]}}: mini-docker makes one network a project, PROJECT_default */
static int networks(struct loader *l, yaml_node_t *n, struct compose_service *s, const char *where)
{
	struct strs names = {0};
	if (n->type == YAML_SEQUENCE_NODE) {
		if (list(l, n, where, 0, &names) < 0)
			return -1;
		for (int i = 0; i < names.n; i++)
			if (strcmp(names.v[i], "default"))
				return at(l, n,
					  "%s: only the network 'default' is supported "
					  "(mini-docker makes one network a project, "
					  "PROJECT_default), not '%s'",
					  where, names.v[i]);
		return 0;
	}
	int count;
	struct pair *ps = mapping(l, n, where, &count);
	if (!ps)
		return -1;
	for (int i = 0; i < count; i++) {
		if (strcmp(scalar(ps[i].key), "default"))
			return at(l, ps[i].key,
				  "%s: only the network 'default' is supported (mini-docker makes "
				  "one network a project, "
				  "PROJECT_default), not '%s'",
				  where, scalar(ps[i].key));
		if (is_null(ps[i].value))
			continue;
		int nk;
		struct pair *ks = mapping(l, ps[i].value, where, &nk);
		if (!ks)
			return -1;
		for (int k = 0; k < nk; k++) {
			if (extension(scalar(ks[k].key)))
				continue;
			if (strcmp(scalar(ks[k].key), "aliases"))
				return unknown(l, ks[k].key,
					       pool_printf(l->pool, "%s.default", where),
					       "aliases");
			if (list(l, ks[k].value, where, 0, &s->aliases) < 0)
				return -1;
			for (int a = 0; a < s->aliases.n; a++)
				if (!docker_name_ok(s->aliases.v[a]))
					return at(l, ks[k].value,
						  "%s: alias '%s': use letters, digits, - . _",
						  where, s->aliases.v[a]);
		}
	}
	return 0;
}

/*
 * healthcheck: test (["CMD", ...], ["CMD-SHELL", "CMD"] or a string, as CMD-SHELL;
 * ["NONE"]: none), interval, timeout, start_period, start_interval (durations), retries,
 * disable. mini-docker's engine keeps no health status: compose up runs the test with
 * exec while a dependent waits (compose.c wait_healthy).
 */
/* the test as CMD-SHELL runs it: sh -c CMD */
static void shell_test(struct loader *l, struct strs *test, const char *cmd)
{
	test->v = pool_alloc(l->pool, 4 * sizeof(char *));
	test->v[0] = pool_strdup(l->pool, "sh");
	test->v[1] = pool_strdup(l->pool, "-c");
	test->v[2] = pool_strdup(l->pool, cmd);
	test->n = 3;
}

static int healthcheck(struct loader *l, yaml_node_t *n, struct compose_service *s,
		       const char *where)
{
	int count, disable = 0;
	struct compose_health *h = &s->health;
	struct pair *ps = mapping(l, n, where, &count);
	if (!ps)
		return -1;
	h->interval = h->timeout = 30;
	h->retries = 3;
	for (int i = 0; i < count; i++) {
		const char *k = scalar(ps[i].key), *v;
		yaml_node_t *val = ps[i].value;
		long *secs = !strcmp(k, "interval")	  ? &h->interval
			     : !strcmp(k, "timeout")	  ? &h->timeout
			     : !strcmp(k, "start_period") ? &h->start_period
							  : NULL;
		if (extension(k) || !strcmp(k, "start_interval")) /* no faster checks while starting */
			continue;
		if (!strcmp(k, "disable")) {
			if (boolean(l, val, where, &disable) < 0)
				return -1;
		} else if (!strcmp(k, "test")) {
			if (val->type != YAML_SEQUENCE_NODE) {
				if (!(v = value(l, val, where)))
					return -1;
				shell_test(l, &h->test, v);
			} else if (list(l, val, where, 0, &h->test) < 0) {
				return -1;
			} else if (h->test.n == 1 && !strcmp(h->test.v[0], "NONE")) {
				h->test.n = 0;
			} else if (h->test.n >= 2 && !strcmp(h->test.v[0], "CMD")) {
				h->test.v++, h->test.n--;
			} else if (h->test.n == 2 && !strcmp(h->test.v[0], "CMD-SHELL")) {
				shell_test(l, &h->test, h->test.v[1]);
			} else {
				return at(l, val,
					  "%s: give [\"CMD\", ARG...], [\"CMD-SHELL\", \"COMMAND\"], "
					  "[\"NONE\"] or a string",
					  where);
			}
		} else if (!strcmp(k, "retries")) {
			char *end;
			if (!(v = value(l, val, where)))
				return -1;
			h->retries = strtol(v, &end, 10);
			if (!*v || *end || h->retries < 1 || h->retries > 1000)
				return at(l, val, "%s: retries: give a whole number from 1 to 1000",
					  where);
		} else if (secs) {
			if (!(v = value(l, val, where)))
				return -1;
			if (duration(v, secs) < 0 || (*secs == 0 && secs != &h->start_period))
				return at(l, val,
					  "%s: %s: '%s': give a duration such as 10s, 1m30s (at most "
					  "24h)",
					  where, k, v);
		} else {
			return unknown(l, ps[i].key, where,
				       "test, interval, timeout, start_period, start_interval, "
				       "retries, disable");
		}
	}
	if (disable)
		h->test.n = 0;
	return 0;
}

/* clang-format off */
#define SERVICE_KEYS \
	"image, build, command, entrypoint, environment, env_file, ports, volumes, depends_on, " \
	"restart, networks, container_name, hostname, working_dir, user, tty, stdin_open, " \
	"read_only, privileged, init, cap_add, cap_drop, stop_signal, stop_grace_period, " \
	"healthcheck"
/* clang-format on */

/* one key of a service; 0 when done, -1 with ERR */
static int service_key(struct loader *l, struct compose_service *s, yaml_node_t *key,
		       yaml_node_t *v, const struct strs *declared)
{
	const char *k = scalar(key) ? scalar(key) : "", *str; /* collect() checked it is one */
	const char *where = pool_printf(l->pool, "services.%s.%s", s->name, k);
	if (extension(k))
		return 0;
	if (!strcmp(k, "image")) {
		s->image_line = (int)v->start_mark.line + 1;
		return (s->image = value(l, v, where)) ? 0 : -1;
	}
	if (!strcmp(k, "build"))
		return build(l, v, s, where);
	if (!strcmp(k, "command")) {
		s->has_command = !is_null(v);
		return is_null(v) ? 0 : command(l, v, where, &s->command);
	}
	if (!strcmp(k, "entrypoint"))
		return is_null(v) ? 0 : command(l, v, where, &s->entrypoint);
	if (!strcmp(k, "environment"))
		return kv_list(l, v, where, &s->env);
	if (!strcmp(k, "env_file")) {
		if (list(l, v, where, 1, &s->env_files) < 0)
			return -1;
		for (int i = 0; i < s->env_files.n; i++) {
			s->env_files.v[i] = (char *)path(l, s->env_files.v[i]);
			if (access(s->env_files.v[i], R_OK) < 0)
				return at(l, v, "%s: %s: %s", where, s->env_files.v[i],
					  strerror(errno));
		}
		return 0;
	}
	if (!strcmp(k, "ports")) {
		if (list(l, v, where, 0, &s->ports) < 0)
			return -1;
		for (int i = 0; i < s->ports.n; i++)
			if (!port_ok(s->ports.v[i]))
				return at(l, v,
					  "%s: '%s': write [IP:]HOSTPORT:CTRPORT[/udp], e.g. "
					  "\"127.0.0.1:8080:80\"",
					  where, s->ports.v[i]);
		return 0;
	}
	if (!strcmp(k, "volumes")) {
		if (v->type != YAML_SEQUENCE_NODE)
			return at(l, v, "%s: must be a list", where);
		yaml_node_item_t *it = v->data.sequence.items.start;
		s->volumes.v = pool_alloc(l->pool, (size_t)(v->data.sequence.items.top - it + 1) *
						       sizeof(char *));
		for (; it < v->data.sequence.items.top; it++)
			if (!(s->volumes.v[s->volumes.n++] =
				  (char *)volume(l, node(l, *it), declared, where)))
				return -1;
		return 0;
	}
	if (!strcmp(k, "depends_on")) {
		s->deps_line = (int)key->start_mark.line + 1;
		return depends_on(l, v, s, where);
	}
	if (!strcmp(k, "restart")) {
		if (!(str = value(l, v, where)))
			return -1;
		if (strcmp(str, "no"))
			return at(l, v,
				  "%s: '%s' is not supported: mini-docker has no daemon to restart "
				  "containers "
				  "(remove it, or write \"no\")",
				  where, str);
		return 0;
	}
	if (!strcmp(k, "networks"))
		return networks(l, v, s, where);
	if (!strcmp(k, "healthcheck"))
		return healthcheck(l, v, s, where);
	if (!strcmp(k, "container_name")) {
		if (!(s->container_name = value(l, v, where)))
			return -1;
		return docker_name_ok(s->container_name)
			   ? 0
			   : at(l, v, "%s: '%s': use letters, digits, _ . - (not first)", where,
				s->container_name);
	}
	if (!strcmp(k, "hostname"))
		return (s->hostname = value(l, v, where)) ? 0 : -1;
	if (!strcmp(k, "working_dir")) {
		if (!(s->working_dir = value(l, v, where)))
			return -1;
		return s->working_dir[0] == '/'
			   ? 0
			   : at(l, v, "%s: '%s' must be an absolute path", where, s->working_dir);
	}
	if (!strcmp(k, "user"))
		return (s->user = value(l, v, where)) ? 0 : -1;
	if (!strcmp(k, "stop_signal"))
		return (s->stop_signal = value(l, v, where)) ? 0 : -1;
	if (!strcmp(k, "stop_grace_period")) {
		if (!(str = value(l, v, where)))
			return -1;
		return duration(str, &s->stop_grace) == 0
			   ? 0
			   : at(l, v, "%s: '%s': give a duration such as 10s, 1m30s (at most 24h)",
				where, str);
	}
	static const struct {
		const char *key;
		size_t off;
	} flags[] = {
	    {"tty", offsetof(struct compose_service, tty)},
	    {"stdin_open", offsetof(struct compose_service, stdin_open)},
	    {"read_only", offsetof(struct compose_service, read_only)},
	    {"privileged", offsetof(struct compose_service, privileged)},
	    {"init", offsetof(struct compose_service, init)},
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(k, flags[i].key))
			return boolean(l, v, where, (int *)((char *)s + flags[i].off));
	if (!strcmp(k, "cap_add"))
		return list(l, v, where, 0, &s->cap_add);
	if (!strcmp(k, "cap_drop"))
		return list(l, v, where, 0, &s->cap_drop);
	return unknown(l, key, pool_printf(l->pool, "services.%s", s->name), SERVICE_KEYS);
}

static int service(struct loader *l, struct compose_service *s, yaml_node_t *n,
		   const struct strs *declared)
{
	int count;
	struct pair *ps = mapping(l, n, pool_printf(l->pool, "services.%s", s->name), &count);
	if (!ps)
		return -1;
	s->stop_grace = -1;
	for (int i = 0; i < count; i++)
		if (service_key(l, s, ps[i].key, ps[i].value, declared) < 0)
			return -1;
	if (!s->image && !s->build_context)
		return at(l, n, "services.%s: give an image: or a build:", s->name);
	if (!s->image) { /* built, and named as docker compose names it */
		s->image = pool_printf(l->pool, "%s-%s", l->p->name, s->name);
		s->image_line = s->line;
	}
	return 0;
}

/* ---- the start order: each service after what it depends on (a depth-first walk) ---- */

static int visit(struct loader *l, int i, char *mark, int *path, int depth)
{
	struct compose_project *p = l->p;
	if (mark[i] == 2)
		return 0;
	path[depth] = i;
	if (mark[i] == 1) { /* back on the path: a cycle; name it, from where it starts */
		char text[1024] = "";
		int from = depth;
		while (from > 0 && path[--from] != i)
			;
		for (int k = from; k <= depth; k++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
				 k > from ? " -> " : "", p->services[path[k]].name);
		return md_fail(
		    l->err, "%s:%d: services.%s.depends_on: a cycle: %s (nothing can start first)",
		    l->file, p->services[i].deps_line, p->services[i].name, text);
	}
	mark[i] = 1;
	for (int d = 0; d < p->services[i].n_deps; d++) {
		const struct compose_dep *dep = &p->services[i].deps[d];
		if (dep->healthy && !p->services[dep->service].health.test.n)
			return md_fail(l->err,
				       "%s:%d: services.%s.depends_on.%s: condition service_healthy, "
				       "but %s has no healthcheck: (or it is disabled)",
				       l->file, dep->line, p->services[i].name,
				       p->services[dep->service].name, p->services[dep->service].name);
		if (visit(l, dep->service, mark, path, depth + 1) < 0)
			return -1;
	}
	mark[i] = 2;
	return 0;
}

static int order(struct loader *l)
{
	struct compose_project *p = l->p;
	char *mark = pool_alloc(l->pool, (size_t)p->n_services + 1);
	int *path = pool_alloc(l->pool, (size_t)(p->n_services + 2) * sizeof(int));
	int done = 0;
	p->order = pool_alloc(l->pool, (size_t)(p->n_services + 1) * sizeof(int));
	for (int i = 0; i < p->n_services; i++) {
		if (visit(l, i, mark, path, 0) < 0)
			return -1;
	}
	/* a service is placed once all its dependencies are: repeat until all are (n rounds at most) */
	memset(mark, 0, (size_t)p->n_services);
	while (done < p->n_services)
		for (int i = 0; i < p->n_services; i++) {
			int ready = !mark[i];
			for (int d = 0; d < p->services[i].n_deps && ready; d++)
				ready = mark[p->services[i].deps[d].service];
			if (ready) {
				mark[i] = 1;
				p->order[done++] = i;
			}
		}
	return 0;
}

/* ---- the file, .env, the project's name ---- */

/* .env beside the compose file: K=V lines, # comments, 'quoted' or "quoted" values, export K=V */
static char **dotenv(struct loader *l)
{
	char *path = xasprintf("%s/.env", l->p->dir), *buf, *save;
	size_t len, n = 0;
	struct md_error ignored;
	int r = read_file(path, 1 << 20, &buf, &len, &ignored);
	free(path);
	if (r < 0)
		return NULL;
	char **out = pool_alloc(l->pool, (len / 2 + 2) * sizeof(char *));
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = 0;
		while (isspace((unsigned char)*line))
			line++;
		if (!strncmp(line, "export ", 7))
			line += 7;
		char *eq = strchr(line, '=');
		if (!*line || *line == '#' || !eq)
			continue;
		char *v = eq + 1, q = *v;
		if ((q == '"' || q == '\'') && strrchr(v + 1, q))
			*strrchr(++v, q) = 0;
		else if (strstr(v, " #"))
			*strstr(v, " #") = 0;
		out[n++] = pool_printf(l->pool, "%.*s=%s", (int)(eq - line), line, v);
	}
	free(buf);
	return out;
}

/* a project's name: lowercase letters, digits, - and _, starting with a letter or digit */
static int project_name_ok(const char *s)
{
	if (!*s || !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("-_", *s))
			return 0;
	return 1;
}

/* -p NAME, else COMPOSE_PROJECT_NAME (environment, .env), else the file's name:, else the directory's
 * basename, lowercased and with what a name cannot hold left out (as docker compose does) */
static int project_name(struct loader *l, const char *given, yaml_node_t *name_node)
{
	const char *from = "-p", *n = given;
	if (!n && (n = lookup(l, "COMPOSE_PROJECT_NAME", 20)) && *n)
		from = "COMPOSE_PROJECT_NAME";
	else if (!given && name_node) {
		from = "name";
		if (!(n = value(l, name_node, "name")))
			return -1;
	} else if (!given) {
		const char *base = strrchr(l->p->dir, '/') + 1;
		char *norm = pool_alloc(l->pool, strlen(base) + 1), *w = norm;
		for (; *base; base++)
			if (isalnum((unsigned char)*base) ||
			    ((*base == '-' || *base == '_') && w > norm))
				*w++ = (char)tolower((unsigned char)*base);
		if (!*norm)
			return md_fail(
			    l->err, "the directory %s gives no project name: give one with -p NAME",
			    l->p->dir);
		l->p->name = norm;
		return 0;
	}
	if (!project_name_ok(n)) {
		const char *msg = "project name '%s' (%s): use lowercase letters, digits, - and _, "
				  "starting with a "
				  "letter or digit";
		return name_node && !strcmp(from, "name") ? at(l, name_node, msg, n, from)
							  : md_fail(l->err, msg, n, from);
	}
	l->p->name = pool_strdup(l->pool, n);
	return 0;
}

/* top-level volumes: NAME: (nothing, or x-* keys); driver, external ... are not supported */
static int top_volumes(struct loader *l, yaml_node_t *n, struct strs *declared)
{
	int count;
	struct pair *ps = is_null(n) ? NULL : mapping(l, n, "volumes", &count);
	if (!ps)
		return is_null(n) ? 0 : -1;
	declared->v = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(char *));
	l->p->volumes.v = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(char *));
	for (int i = 0; i < count; i++) {
		const char *name = scalar(ps[i].key);
		if (!docker_name_ok(name))
			return at(l, ps[i].key,
				  "volumes: '%s': use letters, digits, _ . - (not first)", name);
		if (!is_null(ps[i].value)) {
			int nk;
			struct pair *ks = mapping(l, ps[i].value, "volumes", &nk);
			if (!ks)
				return -1;
			for (int k = 0; k < nk; k++)
				if (!extension(scalar(ks[k].key)))
					return at(
					    l, ks[k].key,
					    "volumes.%s: '%s' is not supported: a volume here is a "
					    "directory of the store (ROOT/volumes/%s_%s)",
					    name, scalar(ks[k].key), l->p->name, name);
		}
		declared->v[declared->n++] = pool_strdup(l->pool, name);
		l->p->volumes.v[l->p->volumes.n++] =
		    pool_printf(l->pool, "%s_%s", l->p->name, name);
	}
	return 0;
}

/* networks: at the top, only default (and nothing in it but x-* keys) */
static int top_networks(struct loader *l, yaml_node_t *n)
{
	int count;
	struct pair *ps = is_null(n) ? NULL : mapping(l, n, "networks", &count);
	if (!ps)
		return is_null(n) ? 0 : -1;
	for (int i = 0; i < count; i++)
		if (strcmp(scalar(ps[i].key), "default") && !extension(scalar(ps[i].key)))
			return at(l, ps[i].key,
				  "networks: '%s': only the default network is supported (every "
				  "service of the project is on PROJECT_default)",
				  scalar(ps[i].key));
	return 0;
}

static int project(struct loader *l, yaml_node_t *root, const char *given)
{
	struct compose_project *p = l->p;
	yaml_node_t *services = NULL, *volumes = NULL, *nets = NULL, *name = NULL;
	int count, ns;
	struct strs declared = {0};
	struct pair *ps = mapping(l, root, "the file", &count);
	if (!ps)
		return -1;
	for (int i = 0; i < count; i++) {
		const char *k = scalar(ps[i].key);
		if (!strcmp(k, "services"))
			services = ps[i].value;
		else if (!strcmp(k, "volumes"))
			volumes = ps[i].value;
		else if (!strcmp(k, "networks"))
			nets = ps[i].value;
		else if (!strcmp(k, "name"))
			name = ps[i].value;
		else if (strcmp(k, "version") &&
			 !extension(k)) /* version: obsolete, and ignored, as compose v2 */
			return unknown(l, ps[i].key, "the top level",
				       "services, volumes, networks, name, version");
	}
	l->dotenv = dotenv(l);
	if (project_name(l, given, name) < 0)
		return -1;
	if (!services || is_null(services))
		return at(l, root,
			  "no services: (a compose file lists its services under services:)");
	if ((volumes && top_volumes(l, volumes, &declared) < 0) ||
	    (nets && top_networks(l, nets) < 0))
		return -1;
	struct pair *ss = mapping(l, services, "services", &ns);
	if (!ss)
		return -1;
	p->services = pool_alloc(l->pool, (size_t)(ns + 1) * sizeof(*p->services));
	for (int i = 0; i < ns; i++) { /* every name first: depends_on may name a later service */
		struct compose_service *s = &p->services[i];
		s->name = pool_strdup(l->pool, scalar(ss[i].key));
		s->line = (int)ss[i].key->start_mark.line + 1;
		if (!docker_name_ok(s->name))
			return at(l, ss[i].key,
				  "services: '%s': a service's name is letters, digits, _ . - (not "
				  "first)",
				  s->name);
	}
	p->n_services = ns;
	for (int i = 0; i < ns; i++)
		if (service(l, &p->services[i], ss[i].value, &declared) < 0)
			return -1;
	return order(l);
}

/* the compose file: FILE, else the first of docker compose's names in the working directory */
static const char *find_file(const char *file, struct md_error *err)
{
	static const char *names[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
				      "docker-compose.yaml"};
	if (file)
		return access(file, R_OK) == 0 ? file : (md_fail_errno(err, "-f %s", file), NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (access(names[i], R_OK) == 0)
			return names[i];
	md_fail(
	    err,
	    "no compose file here: none of compose.yaml, compose.yml, docker-compose.yml (give one "
	    "with -f FILE)");
	return NULL;
}

int compose_load(struct compose_project *p, const char *file, const char *name,
		 struct md_error *err)
{
	struct loader l = {.p = p, .pool = &p->pool, .err = err};
	yaml_parser_t parser;
	char *text, *dir;
	size_t len;
	memset(p, 0, sizeof(*p));
	if (!(file = find_file(file, err)) || read_file(file, 4 << 20, &text, &len, err) < 0)
		return -1;
	l.file = p->file = pool_strdup(&p->pool, file);
	char *copy = xstrdup(file), *slash = strrchr(copy, '/');
	if (slash)
		*(slash == copy ? slash + 1 : slash) = 0;
	dir = realpath(slash ? copy : ".", NULL);
	free(copy);
	if (!dir) {
		free(text);
		compose_free(p);
		return md_fail_errno(err, "%s: its directory", file);
	}
	p->dir = pool_strdup(&p->pool, dir);
	free(dir);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int r = -1;
	if (!yaml_parser_load(&parser, &l.doc)) {
		md_fail(err, "%s:%lu: %s%s%s", file, (unsigned long)parser.problem_mark.line + 1,
			parser.context ? parser.context : "", parser.context ? ", " : "",
			parser.problem ? parser.problem : "not YAML");
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&l.doc);
		r = root ? project(&l, root, name) : md_fail(err, "%s: the file is empty", file);
		yaml_document_delete(&l.doc);
	}
	yaml_parser_delete(&parser);
	free(text);
	if (r < 0)
		compose_free(p);
	return r;
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
