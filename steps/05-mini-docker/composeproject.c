/*
 * composeproject.c: compose_load, the file as a whole. Which file (compose.yaml,
 * or docker compose's other names), the .env beside it, the project's name (-p,
 * COMPOSE_PROJECT_NAME, name:, the directory's), the top-level volumes: and
 * networks:, each service (composeservice.c), then the start order: each service
 * after what it depends on, a cycle an error that names it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "composefile.h"
#include "composeload.h"
#include "composeproject.h"
#include "util.h"

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
	if (!n && (n = cf_lookup(l, "COMPOSE_PROJECT_NAME", 20)) && *n)
		from = "COMPOSE_PROJECT_NAME";
	else if (!given && name_node) {
		from = "name";
		if (!(n = cf_value(l, name_node, "name")))
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
		return name_node && !strcmp(from, "name") ? cf_at(l, name_node, msg, n, from)
							  : md_fail(l->err, msg, n, from);
	}
	l->p->name = pool_strdup(l->pool, n);
	return 0;
}

/* top-level volumes: NAME: (nothing, or x-* keys); driver, external ... are not supported */
static int top_volumes(struct loader *l, yaml_node_t *n, struct strs *declared)
{
	int count;
	struct pair *ps = cf_is_null(n) ? NULL : cf_mapping(l, n, "volumes", &count);
	if (!ps)
		return cf_is_null(n) ? 0 : -1;
	declared->v = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(char *));
	l->p->volumes.v = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(char *));
	for (int i = 0; i < count; i++) {
		const char *name = cf_scalar(ps[i].key);
		if (!docker_name_ok(name))
			return cf_at(l, ps[i].key,
				  "volumes: '%s': use letters, digits, _ . - (not first)", name);
		if (!cf_is_null(ps[i].value)) {
			int nk;
			struct pair *ks = cf_mapping(l, ps[i].value, "volumes", &nk);
			if (!ks)
				return -1;
			for (int k = 0; k < nk; k++)
				if (!cf_extension(cf_scalar(ks[k].key)))
					return cf_at(
					    l, ks[k].key,
					    "volumes.%s: '%s' is not supported: a volume here is a "
					    "directory of the store (ROOT/volumes/%s_%s)",
					    name, cf_scalar(ks[k].key), l->p->name, name);
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
	struct pair *ps = cf_is_null(n) ? NULL : cf_mapping(l, n, "networks", &count);
	if (!ps)
		return cf_is_null(n) ? 0 : -1;
	for (int i = 0; i < count; i++)
		if (strcmp(cf_scalar(ps[i].key), "default") && !cf_extension(cf_scalar(ps[i].key)))
			return cf_at(l, ps[i].key,
				  "networks: '%s': only the default network is supported (every "
				  "service of the project is on PROJECT_default)",
				  cf_scalar(ps[i].key));
	return 0;
}

static int project(struct loader *l, yaml_node_t *root, const char *given)
{
	struct compose_project *p = l->p;
	yaml_node_t *services = NULL, *volumes = NULL, *nets = NULL, *name = NULL;
	int count, ns;
	struct strs declared = {0};
	struct pair *ps = cf_mapping(l, root, "the file", &count);
	if (!ps)
		return -1;
	for (int i = 0; i < count; i++) {
		const char *k = cf_scalar(ps[i].key);
		if (!strcmp(k, "services"))
			services = ps[i].value;
		else if (!strcmp(k, "volumes"))
			volumes = ps[i].value;
		else if (!strcmp(k, "networks"))
			nets = ps[i].value;
		else if (!strcmp(k, "name"))
			name = ps[i].value;
		else if (strcmp(k, "version") &&
			 !cf_extension(k)) /* version: obsolete, and ignored, as compose v2 */
			return cf_unknown(l, ps[i].key, "the top level",
				       "services, volumes, networks, name, version");
	}
	l->dotenv = dotenv(l);
	if (project_name(l, given, name) < 0)
		return -1;
	if (!services || cf_is_null(services))
		return cf_at(l, root,
			  "no services: (a compose file lists its services under services:)");
	if ((volumes && top_volumes(l, volumes, &declared) < 0) ||
	    (nets && top_networks(l, nets) < 0))
		return -1;
	struct pair *ss = cf_mapping(l, services, "services", &ns);
	if (!ss)
		return -1;
	p->services = pool_alloc(l->pool, (size_t)(ns + 1) * sizeof(*p->services));
	for (int i = 0; i < ns; i++) { /* every name first: depends_on may name a later service */
		struct compose_service *s = &p->services[i];
		s->name = pool_strdup(l->pool, cf_scalar(ss[i].key));
		s->line = (int)ss[i].key->start_mark.line + 1;
		if (!docker_name_ok(s->name))
			return cf_at(l, ss[i].key,
				  "services: '%s': a service's name is letters, digits, _ . - (not "
				  "first)",
				  s->name);
	}
	p->n_services = ns;
	for (int i = 0; i < ns; i++)
		if (cf_service(l, &p->services[i], ss[i].value, &declared) < 0)
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
