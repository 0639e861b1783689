/*
 * composeops.c: compose's commands on a project that is up: `down` (the
 * containers, then the network, -v the named volumes), `ps`, `exec` and
 * `config` (the project as compose understood it). `up` and `logs` are compose.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "composeengine.h"
#include "narrate.h"
#include "opts.h"
#include "state.h"
#include "util.h"

int compose_down(struct ctx *c, int argc, char **argv)
{
	int volumes = 0, k, n, rc = 0;
	const char *timeout = NULL;
	enum { VOLUMES, TIMEOUT, ORPHANS };
	static const struct md_option options[] = {
	    [VOLUMES] = {"volumes", 'v', MD_FLAG},
	    [TIMEOUT] = {"timeout", 't', MD_VALUE},
	    [ORPHANS] = {"remove-orphans", 0,
			 MD_FLAG}, /* every container of the project goes anyway */
	};
	struct md_getopt g;
	struct md_error err;
	md_getopt_init(&g, "compose down", "compose down [-v] [-t SECS]", options, MD_N(options),
		       MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		if (k == VOLUMES)
			volumes = 1;
		else if (k == TIMEOUT)
			timeout = g.value;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (g.optind < argc)
		return md_usage("compose down [-v] [-t SECS]");
	struct member *m = members(c, &n);
	if (n >
	    0) { /* stop (the last started first), then rm; then the project's network */
		struct args stop = engine_args(c, "stop"), rm = engine_args(c, "rm");
		if (timeout)
			args_add(&stop, "-t"), args_add(&stop, timeout);
		args_add(&rm, "-f");
		int base = stop.n;
		for (int i = n - 1; i >= 0; i--) {
			if (!strcmp(m[i].status, "running"))
				args_add(&stop, m[i].name);
			args_add(&rm, m[i].name);
		}
		if (stop.n > base)
			rc |= engine(c, &stop, QUIET, NULL) != 0;
		else
			free(stop.v);
		rc |= engine(c, &rm, QUIET, NULL) != 0;
		for (int i = 0; i < n && !c->dry_run; i++)
			fprintf(stderr, " Container %s  Removed\n", m[i].name);
	}
	members_free(m, n);
	if (network_exists(c)) { /* after the containers: network rm refuses one in use */
		struct args a = engine_args(c, "network");
		args_add(&a, "rm"), args_add(&a, network_name(c));
		if (engine(c, &a, QUIET, NULL) != 0)
			rc = 1;
		else if (!c->dry_run)
			fprintf(stderr, " Network %s  Removed\n", network_name(c));
	}
	/* -v: the named volumes, directories of the store; no command of the engine removes one */
	for (int i = 0; volumes && i < c->p.volumes.n; i++) {
		char *dir = xasprintf("%s/volumes/%s", c->o->root, c->p.volumes.v[i]);
		struct stat sb;
		if (c->dry_run)
			printf("rm -rf %s\n", dir);
		else if (lstat(dir, &sb) == 0) {
			narrate("rm_rf(\"%s\")", "rm -rf %s", dir);
			if (rm_rf(dir) < 0) {
				fprintf(stderr, "mini-docker: volume %s: could not remove %s\n",
					c->p.volumes.v[i], dir);
				rc = 1;
			} else {
				fprintf(stderr, " Volume %s  Removed\n", c->p.volumes.v[i]);
			}
		}
		free(dir);
	}
	return rc;
}

int compose_ps(struct ctx *c, int argc, char **argv)
{
	int all = 0, quiet = 0, k, n;
	enum { ALL, QUIET_ };
	static const struct md_option options[] = {
	    [ALL] = {"all", 'a', MD_FLAG}, [QUIET_] = {"quiet", 'q', MD_FLAG}};
	struct md_getopt g;
	struct md_error err;
	md_getopt_init(&g, "compose ps", "compose ps [-a] [-q]", options, MD_N(options),
		       MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		*(k == ALL ? &all : &quiet) = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	struct member *m = members(c, &n);
	char(*status)[64] = xcalloc(n ? n : 1, sizeof(*status));
	/* the columns are as wide as their widest cell, three spaces apart, as docker's */
	int w[4] = {4, 5, 7, 6}; /* NAME IMAGE SERVICE STATUS */
	for (int i = 0; i < n; i++) {
		if (!strcmp(m[i].status, "exited"))
			snprintf(status[i], sizeof(status[i]), "Exited (%s)",
				 state_str(m[i].state, "exit_code"));
		else
			snprintf(status[i], sizeof(status[i]), "%s",
				 !strcmp(m[i].status, "running") ? "Up" : m[i].status);
		const char *cell[4] = {m[i].name, state_str(m[i].state, "image"), m[i].service,
				       status[i]};
		for (int k2 = 0; k2 < 4; k2++)
			if ((int)strlen(cell[k2]) > w[k2])
				w[k2] = (int)strlen(cell[k2]);
	}
	if (!quiet)
		printf("%-*s   %-*s   %-*s   %-*s   %s\n", w[0], "NAME", w[1], "IMAGE", w[2],
		       "SERVICE", w[3], "STATUS", "PORTS");
	for (int i = 0; i < n; i++) {
		int running = !strcmp(m[i].status, "running");
		if (!all && !running)
			continue;
		if (quiet) {
			printf("%s\n", m[i].id);
			continue;
		}
		printf("%-*s   %-*s   %-*s   %-*s   %s\n", w[0], m[i].name, w[1],
		       state_str(m[i].state, "image"), w[2], m[i].service, w[3], status[i],
		       running ? state_str(m[i].state, "ports") : "");
	}
	free(status);
	members_free(m, n);
	return 0;
}

/* exec SERVICE CMD: the engine's exec in this very process (execv), with -i, and -t on a terminal */
int compose_exec(struct ctx *c, int argc, char **argv)
{
	int k, no_tty = 0;
	const char *usage = "compose exec [-T] [-e K=V] [-u USER] [-w DIR] SERVICE CMD...";
	enum { NO_TTY, ENV, USER, WORKDIR };
	static const struct md_option options[] = {
	    [NO_TTY] = {"no-TTY", 'T', MD_FLAG},
	    [ENV] = {"env", 'e', MD_VALUE},
	    [USER] = {"user", 'u', MD_VALUE},
	    [WORKDIR] = {"workdir", 'w', MD_VALUE},
	};
	struct md_getopt g;
	struct md_error err;
	struct args a = engine_args(c, "exec");
	args_add(&a, "-i");
	md_getopt_init(&g, "compose exec", usage, options, MD_N(options), MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		if (k == NO_TTY)
			no_tty = 1;
		else
			args_add(&a, k == ENV ? "-e" : k == USER ? "-u" : "-w"), args_add(&a, g.value);
	}
	if (k != MD_OPT_END || argc - g.optind < 2) {
		free(a.v);
		return k != MD_OPT_END ? md_getopt_status(k, &err) : md_usage(usage);
	}
	int s = compose_service_index(&c->p, argv[g.optind]);
	if (s < 0) {
		free(a.v);
		fprintf(stderr, "mini-docker: compose exec: no such service: %s\n", argv[g.optind]);
		return 1;
	}
	if (!no_tty && isatty(0) && isatty(1))
		args_add(&a, "-t");
	args_add(&a, container_name(c, &c->p.services[s]));
	for (int i = g.optind + 1; i < argc; i++)
		args_add(&a, argv[i]);
	if (c->dry_run) {
		args_print(stdout, a.v);
		free(a.v);
		return 0;
	}
	fflush(stdout);
	execv("/proc/self/exe", (char **)a.v);
	fprintf(stderr, "mini-docker: execv /proc/self/exe: %s\n", strerror(errno));
	free(a.v);
	return EXIT_ENGINE;
}

/* config: the project as compose understood it, in YAML (what each key became) */
static void yaml_list(const char *key, const struct strs *l)
{
	if (!l->n)
		return;
	printf("    %s:\n", key);
	for (int i = 0; i < l->n; i++)
		printf("      - \"%s\"\n", l->v[i]);
}

int compose_config(struct ctx *c, int argc, char **argv)
{
	(void)argc, (void)argv;
	printf("name: %s\nservices:\n", c->p.name);
	for (int o = 0; o < c->p.n_services; o++) {
		const struct compose_service *s = &c->p.services[c->p.order[o]];
		printf("  %s:\n    container_name: %s\n    image: %s\n", s->name,
		       container_name(c, s), s->image);
		if (s->build_context)
			printf("    build:\n      context: %s\n%s%s%s", s->build_context,
			       s->dockerfile ? "      dockerfile: " : "",
			       s->dockerfile ? s->dockerfile : "", s->dockerfile ? "\n" : "");
		if (s->entrypoint.v)
			yaml_list("entrypoint", &s->entrypoint);
		if (s->has_command)
			yaml_list("command", &s->command);
		if (s->n_deps) {
			printf("    depends_on:\n");
			for (int d = 0; d < s->n_deps; d++)
				printf("      %s:\n        condition: %s\n",
				       c->p.services[s->deps[d].service].name,
				       s->deps[d].completed ? "service_completed_successfully"
				       : s->deps[d].healthy ? "service_healthy"
							    : "service_started");
		}
		yaml_list("env_file", &s->env_files);
		yaml_list("environment", &s->env);
		yaml_list("ports", &s->ports);
		yaml_list("volumes", &s->volumes);
		yaml_list("networks.default.aliases", &s->aliases);
		yaml_list("healthcheck.test", &s->health.test);
		if (s->health.test.n)
			printf("    healthcheck.interval: %lds\n    healthcheck.timeout: %lds\n"
			       "    healthcheck.start_period: %lds\n    healthcheck.retries: %ld\n",
			       s->health.interval, s->health.timeout, s->health.start_period,
			       s->health.retries);
	}
	if (c->p.volumes.n)
		printf("volumes:\n");
	for (int i = 0; i < c->p.volumes.n; i++)
		printf("  %s: {}\n", c->p.volumes.v[i]);
	return 0;
}
