/*
 * composeservice.c: a service of compose.yaml, key by key, each checked.
 *
 *     services:
 *       web:
 *         image: busybox
 *         ports: ["127.0.0.1:8080:80"]
 *         volumes: [./html:/www:ro, data:/data]
 *         depends_on: {db: {condition: service_healthy}}
 *         healthcheck: {test: [CMD, wget, -q, localhost], interval: 5s}
 *
 * What each key becomes is final when compose.c reads it: paths absolute, named
 * volumes PROJECT_NAME, ports and durations checked, a healthcheck's test a
 * command. An unknown key, a bad value: an error with its line, before anything runs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "composefile.h"
#include "composeload.h"
#include "util.h"

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
		cf_at(l, n,
		   "%s: the long syntax (type:, source:, target:) is not supported: write "
		   "SRC:DST[:ro]",
		   where);
		return NULL;
	}
	const char *spec = cf_value(l, n, where);
	if (!spec)
		return NULL;
	char *copy = pool_strdup(l->pool, spec), *parts[4] = {0}, *save;
	int k = 0;
	for (char *t = strtok_r(copy, ":", &save); t && k < 4; t = strtok_r(NULL, ":", &save))
		parts[k++] = t;
	if (k < 1 || k > 3 || (k == 3 && strcmp(parts[2], "ro") && strcmp(parts[2], "rw")) ||
	    parts[k == 1 ? 0 : 1][0] != '/') {
		cf_at(l, n, "%s: '%s': write SRC:DST[:ro|rw] (DST absolute), NAME:DST or DST", where,
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
		cf_at(l, n,
		   "%s: the named volume '%s' is not declared: add it under the top-level volumes:",
		   where, src);
		return NULL;
	}
	return pool_printf(l->pool, "%s_%s:%s%s", l->p->name, src, parts[1], mode);
}

/* build: CONTEXT, or {context, dockerfile, args} */
static int build(struct loader *l, yaml_node_t *n, struct compose_service *s, const char *where)
{
	if (cf_scalar(n)) {
		const char *c = cf_value(l, n, where);
		return c ? (s->build_context = path(l, c), 0) : -1;
	}
	int count;
	struct pair *ps = cf_mapping(l, n, where, &count);
	if (!ps)
		return -1;
	s->build_context = l->p->dir;
	for (int i = 0; i < count; i++) {
		const char *k = cf_scalar(ps[i].key), *v;
		yaml_node_t *val = ps[i].value;
		if (cf_extension(k))
			continue;
		if (!strcmp(k, "context") && (v = cf_value(l, val, where)))
			s->build_context = path(l, v);
		else if (!strcmp(k, "dockerfile") && (v = cf_value(l, val, where)))
			s->dockerfile = v;
		else if (!strcmp(k, "args")) {
			if (cf_kv_list(l, val, pool_printf(l->pool, "%s.args", where),
				    &s->build_args) < 0)
				return -1;
		} else if (strcmp(k, "context") && strcmp(k, "dockerfile"))
			return cf_unknown(l, ps[i].key, where, "context, dockerfile, args");
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
		if (cf_list(l, n, where, 0, &names) < 0)
			return -1;
		count = names.n;
	} else if (!(ps = cf_mapping(l, n, where, &count)))
		return -1;
	s->deps = pool_alloc(l->pool, (size_t)(count + 1) * sizeof(*s->deps));
	for (int i = 0; i < count; i++) {
		const char *dep = ps ? cf_scalar(ps[i].key) : names.v[i];
		yaml_node_t *where_node = ps ? ps[i].key : n;
		struct compose_dep *d = &s->deps[s->n_deps++];
		if ((d->service = compose_service_index(p, dep)) < 0)
			return cf_at(l, where_node,
				  "%s: depends on '%s', which is not a service of this file", where,
				  dep);
		if (!ps || cf_is_null(ps[i].value))
			continue;
		int nc;
		struct pair *cs =
		    cf_mapping(l, ps[i].value, pool_printf(l->pool, "%s.%s", where, dep), &nc);
		if (!cs)
			return -1;
		for (int c = 0; c < nc; c++) {
			const char *k = cf_scalar(cs[c].key), *v;
			if (cf_extension(k) || !strcmp(k, "required") || !strcmp(k, "restart"))
				continue;
			if (strcmp(k, "condition"))
				return cf_unknown(l, cs[c].key, where, "condition");
			if (!(v = cf_value(l, cs[c].value, where)))
				return -1;
			d->line = (int)cs[c].value->start_mark.line + 1;
			if (!strcmp(v, "service_completed_successfully"))
				d->completed = 1;
			else if (!strcmp(v, "service_healthy"))
				d->healthy = 1; /* its healthcheck: checked once every service is read */
			else if (strcmp(v, "service_started"))
				return cf_at(l, cs[c].value,
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
		if (cf_list(l, n, where, 0, &names) < 0)
			return -1;
		for (int i = 0; i < names.n; i++)
			if (strcmp(names.v[i], "default"))
				return cf_at(l, n,
					  "%s: only the network 'default' is supported "
					  "(mini-docker makes one network a project, "
					  "PROJECT_default), not '%s'",
					  where, names.v[i]);
		return 0;
	}
	int count;
	struct pair *ps = cf_mapping(l, n, where, &count);
	if (!ps)
		return -1;
	for (int i = 0; i < count; i++) {
		if (strcmp(cf_scalar(ps[i].key), "default"))
			return cf_at(l, ps[i].key,
				  "%s: only the network 'default' is supported (mini-docker makes "
				  "one network a project, "
				  "PROJECT_default), not '%s'",
				  where, cf_scalar(ps[i].key));
		if (cf_is_null(ps[i].value))
			continue;
		int nk;
		struct pair *ks = cf_mapping(l, ps[i].value, where, &nk);
		if (!ks)
			return -1;
		for (int k = 0; k < nk; k++) {
			if (cf_extension(cf_scalar(ks[k].key)))
				continue;
			if (strcmp(cf_scalar(ks[k].key), "aliases"))
				return cf_unknown(l, ks[k].key,
					       pool_printf(l->pool, "%s.default", where),
					       "aliases");
			if (cf_list(l, ks[k].value, where, 0, &s->aliases) < 0)
				return -1;
			for (int a = 0; a < s->aliases.n; a++)
				if (!docker_name_ok(s->aliases.v[a]))
					return cf_at(l, ks[k].value,
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
	struct pair *ps = cf_mapping(l, n, where, &count);
	if (!ps)
		return -1;
	h->interval = h->timeout = 30;
	h->retries = 3;
	for (int i = 0; i < count; i++) {
		const char *k = cf_scalar(ps[i].key), *v;
		yaml_node_t *val = ps[i].value;
		long *secs = !strcmp(k, "interval")	  ? &h->interval
			     : !strcmp(k, "timeout")	  ? &h->timeout
			     : !strcmp(k, "start_period") ? &h->start_period
							  : NULL;
		if (cf_extension(k) || !strcmp(k, "start_interval")) /* no faster checks while starting */
			continue;
		if (!strcmp(k, "disable")) {
			if (cf_boolean(l, val, where, &disable) < 0)
				return -1;
		} else if (!strcmp(k, "test")) {
			if (val->type != YAML_SEQUENCE_NODE) {
				if (!(v = cf_value(l, val, where)))
					return -1;
				shell_test(l, &h->test, v);
			} else if (cf_list(l, val, where, 0, &h->test) < 0) {
				return -1;
			} else if (h->test.n == 1 && !strcmp(h->test.v[0], "NONE")) {
				h->test.n = 0;
			} else if (h->test.n >= 2 && !strcmp(h->test.v[0], "CMD")) {
				h->test.v++, h->test.n--;
			} else if (h->test.n == 2 && !strcmp(h->test.v[0], "CMD-SHELL")) {
				shell_test(l, &h->test, h->test.v[1]);
			} else {
				return cf_at(l, val,
					  "%s: give [\"CMD\", ARG...], [\"CMD-SHELL\", \"COMMAND\"], "
					  "[\"NONE\"] or a string",
					  where);
			}
		} else if (!strcmp(k, "retries")) {
			char *end;
			if (!(v = cf_value(l, val, where)))
				return -1;
			h->retries = strtol(v, &end, 10);
			if (!*v || *end || h->retries < 1 || h->retries > 1000)
				return cf_at(l, val, "%s: retries: give a whole number from 1 to 1000",
					  where);
		} else if (secs) {
			if (!(v = cf_value(l, val, where)))
				return -1;
			if (duration(v, secs) < 0 || (*secs == 0 && secs != &h->start_period))
				return cf_at(l, val,
					  "%s: %s: '%s': give a duration such as 10s, 1m30s (at most "
					  "24h)",
					  where, k, v);
		} else {
			return cf_unknown(l, ps[i].key, where,
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
	const char *k = cf_scalar(key) ? cf_scalar(key) : "", *str; /* collect() checked it is one */
	const char *where = pool_printf(l->pool, "services.%s.%s", s->name, k);
	if (cf_extension(k))
		return 0;
	if (!strcmp(k, "image")) {
		s->image_line = (int)v->start_mark.line + 1;
		return (s->image = cf_value(l, v, where)) ? 0 : -1;
	}
	if (!strcmp(k, "build"))
		return build(l, v, s, where);
	if (!strcmp(k, "command")) {
		s->has_command = !cf_is_null(v);
		return cf_is_null(v) ? 0 : cf_command(l, v, where, &s->command);
	}
	if (!strcmp(k, "entrypoint"))
		return cf_is_null(v) ? 0 : cf_command(l, v, where, &s->entrypoint);
	if (!strcmp(k, "environment"))
		return cf_kv_list(l, v, where, &s->env);
	if (!strcmp(k, "env_file")) {
		if (cf_list(l, v, where, 1, &s->env_files) < 0)
			return -1;
		for (int i = 0; i < s->env_files.n; i++) {
			s->env_files.v[i] = (char *)path(l, s->env_files.v[i]);
			if (access(s->env_files.v[i], R_OK) < 0)
				return cf_at(l, v, "%s: %s: %s", where, s->env_files.v[i],
					  strerror(errno));
		}
		return 0;
	}
	if (!strcmp(k, "ports")) {
		if (cf_list(l, v, where, 0, &s->ports) < 0)
			return -1;
		for (int i = 0; i < s->ports.n; i++)
			if (!port_ok(s->ports.v[i]))
				return cf_at(l, v,
					  "%s: '%s': write [IP:]HOSTPORT:CTRPORT[/udp], e.g. "
					  "\"127.0.0.1:8080:80\"",
					  where, s->ports.v[i]);
		return 0;
	}
	if (!strcmp(k, "volumes")) {
		if (v->type != YAML_SEQUENCE_NODE)
			return cf_at(l, v, "%s: must be a list", where);
		yaml_node_item_t *it = v->data.sequence.items.start;
		s->volumes.v = pool_alloc(l->pool, (size_t)(v->data.sequence.items.top - it + 1) *
						       sizeof(char *));
		for (; it < v->data.sequence.items.top; it++)
			if (!(s->volumes.v[s->volumes.n++] =
				  (char *)volume(l, cf_node(l, *it), declared, where)))
				return -1;
		return 0;
	}
	if (!strcmp(k, "depends_on")) {
		s->deps_line = (int)key->start_mark.line + 1;
		return depends_on(l, v, s, where);
	}
	if (!strcmp(k, "restart")) {
		if (!(str = cf_value(l, v, where)))
			return -1;
		if (strcmp(str, "no"))
			return cf_at(l, v,
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
		if (!(s->container_name = cf_value(l, v, where)))
			return -1;
		return docker_name_ok(s->container_name)
			   ? 0
			   : cf_at(l, v, "%s: '%s': use letters, digits, _ . - (not first)", where,
				s->container_name);
	}
	if (!strcmp(k, "hostname"))
		return (s->hostname = cf_value(l, v, where)) ? 0 : -1;
	if (!strcmp(k, "working_dir")) {
		if (!(s->working_dir = cf_value(l, v, where)))
			return -1;
		return s->working_dir[0] == '/'
			   ? 0
			   : cf_at(l, v, "%s: '%s' must be an absolute path", where, s->working_dir);
	}
	if (!strcmp(k, "user"))
		return (s->user = cf_value(l, v, where)) ? 0 : -1;
	if (!strcmp(k, "stop_signal"))
		return (s->stop_signal = cf_value(l, v, where)) ? 0 : -1;
	if (!strcmp(k, "stop_grace_period")) {
		if (!(str = cf_value(l, v, where)))
			return -1;
		return duration(str, &s->stop_grace) == 0
			   ? 0
			   : cf_at(l, v, "%s: '%s': give a duration such as 10s, 1m30s (at most 24h)",
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
			return cf_boolean(l, v, where, (int *)((char *)s + flags[i].off));
	if (!strcmp(k, "cap_add"))
		return cf_list(l, v, where, 0, &s->cap_add);
	if (!strcmp(k, "cap_drop"))
		return cf_list(l, v, where, 0, &s->cap_drop);
	return cf_unknown(l, key, pool_printf(l->pool, "services.%s", s->name), SERVICE_KEYS);
}

int cf_service(struct loader *l, struct compose_service *s, yaml_node_t *n,
		   const struct strs *declared)
{
	int count;
	struct pair *ps = cf_mapping(l, n, pool_printf(l->pool, "services.%s", s->name), &count);
	if (!ps)
		return -1;
	s->stop_grace = -1;
	for (int i = 0; i < count; i++)
		if (service_key(l, s, ps[i].key, ps[i].value, declared) < 0)
			return -1;
	if (!s->image && !s->build_context)
		return cf_at(l, n, "services.%s: give an image: or a build:", s->name);
	if (!s->image) { /* built, and named as docker compose names it */
		s->image = pool_printf(l->pool, "%s-%s", l->p->name, s->name);
		s->image_line = s->line;
	}
	return 0;
}
