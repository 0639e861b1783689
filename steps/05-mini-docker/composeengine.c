/*
 * composeengine.c: compose's hands. mini-docker has no daemon to ask, so compose
 * runs the engine's own commands, each in a process of its own: fork(2), then
 * execv(2) of /proc/self/exe (this very program), with the global options
 * passed through; --dry-run prints the command line instead.
 *
 *     mini-docker --root R run -d --name PROJECT-web-1 --network PROJECT_default ...
 *
 * And its eyes: the project's containers are those whose record (state.json)
 * says compose_project PROJECT, or that bear a name one of its services would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "composeengine.h"
#include "ipam.h"
#include "narrate.h"
#include "state.h"
#include "store.h"
#include "util.h"

void args_add(struct args *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 32;
		a->v = realloc(a->v, (size_t)a->cap * sizeof(char *));
		if (!a->v)
			abort();
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* FLAG VALUE for each value of L (run -e K=V -e ...) */
void args_add_each(struct args *a, const char *flag, const struct strs *l)
{
	for (int i = 0; i < l->n; i++)
		args_add(a, flag), args_add(a, l->v[i]);
}

/* FLAG VALUE when the key was given (VALUE not NULL) */
void args_add_opt(struct args *a, const char *flag, const char *value)
{
	if (value)
		args_add(a, flag), args_add(a, value);
}

/* FLAG alone when the key is true */
void args_add_flag(struct args *a, const char *flag, int on)
{
	if (on)
		args_add(a, flag);
}

/* "mini-docker --root R" then the global options as they were given, before any command */
struct args engine_args(struct ctx *c, const char *cmd)
{
	struct args a = {0};
	args_add(&a, "mini-docker");
	for (int i = 0; i < c->o->n_global; i++)
		args_add(&a, c->o->global_argv[i]);
	args_add(&a, cmd);
	return a;
}

/* a command line as a shell would take it back: 'quoted' where needed */
void args_print(FILE *f, const char **argv)
{
	for (const char **a = argv; *a; a++) {
		int plain = **a && !(*a)[strcspn(*a, " \t\n'\"\\$`|&;<>()*?[]{}#~!")];
		if (plain)
			fprintf(f, "%s%s", a == argv ? "" : " ", *a);
		else {
			fprintf(f, "%s'", a == argv ? "" : " ");
			for (const char *p = *a; *p; p++)
				fprintf(f, *p == '\'' ? "'\\''" : "%c", *p);
			fputc('\'', f);
		}
	}
	fputc('\n', f);
}

/*
 * fork + execv(/proc/self/exe, ARGV): the engine again, in a child. QUIET: its stdout to
 * /dev/null; CAPTURE: its stdout into a pipe, whose read end is *FD; FOLLOWER: its stdout
 * and stderr into that pipe, in a process group of its own (Ctrl-C is for us to handle),
 * ended when we end (PR_SET_PDEATHSIG). Returns the child's PID, -1 when fork failed.
 */
pid_t engine_spawn(struct args *a, int flags, int *fd)
{
	int pfd[2] = {-1, -1};
	fflush(stdout);
	fflush(stderr);
	if ((flags & (CAPTURE | FOLLOWER)) && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	narrate("fork(), execv(\"/proc/self/exe\", ...)", "%s ...", a->v[0]);
	pid_t pid = fork();
	if (pid == 0) {
		if (flags & FOLLOWER) {
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			dup2(pfd[1], 2);
		}
		if (pfd[1] >= 0)
			dup2(pfd[1], 1);
		if (flags & QUIET) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
		}
		execv("/proc/self/exe", (char **)a->v);
		_exit(127);
	}
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (pid < 0) {
		if (pfd[0] >= 0)
			close(pfd[0]);
		return -1;
	}
	if (fd)
		*fd = pfd[0];
	return pid;
}

int engine_wait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the command A and wait for it; its exit status. --dry-run: print it, run nothing.
 * OUT (when not NULL): what it printed on stdout, malloc'd ("" in a dry run). */
int engine(struct ctx *c, struct args *a, int flags, char **out)
{
	int fd = -1, status;
	if (out)
		*out = NULL;
	if (c->dry_run) {
		args_print(stdout, a->v);
		free(a->v);
		if (out)
			*out = xstrdup("");
		return 0;
	}
	pid_t pid = engine_spawn(a, flags | (out ? CAPTURE : 0), out ? &fd : NULL);
	free(a->v);
	if (pid < 0)
		return 125;
	if (out) {
		size_t len = 0, cap = 256;
		char *buf = xcalloc(1, cap);
		ssize_t r;
		while ((r = read(fd, buf + len, cap - len - 1)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			if ((len += (size_t)r) + 1 == cap && !(buf = realloc(buf, cap *= 2)))
				abort();
		}
		buf[len] = 0;
		close(fd);
		*out = buf;
	}
	status = engine_wait(pid);
	return status;
}

const char *container_name(struct ctx *c, const struct compose_service *s)
{
	return s->container_name ? s->container_name
				 : pool_printf(&c->p.pool, "%s-%s-1", c->p.name, s->name);
}

/* what `logs` prefixes its lines with: SERVICE-1 (or the container_name) */
const char *short_name(struct ctx *c, const struct compose_service *s)
{
	return s->container_name ? s->container_name : pool_printf(&c->p.pool, "%s-1", s->name);
}

/*
 * The project's containers, in the order of the file's services: those whose record says
 * compose_project PROJECT, and those named as one of its services would be. Free with members_free.
 */
struct member *members(struct ctx *c, int *count)
{
	int n = 0, k = 0;
	char **ids = state_list(c->o, &n);
	struct member *m = xcalloc((size_t)n + 1, sizeof(*m));
	for (int i = 0; i < n; i++) {
		json_t *j = state_load(c->o, ids[i]);
		const char *name = state_str(j, "name"), *service = NULL;
		if (j && !strcmp(state_str(j, "compose_project"), c->p.name))
			service = state_str(j, "compose_service");
		for (int s = 0; j && !service && s < c->p.n_services; s++)
			if (!strcmp(name, container_name(c, &c->p.services[s])))
				service = c->p.services[s].name;
		if (!service) {
			json_decref(j);
			free(ids[i]);
			continue;
		}
		snprintf(m[k].id, sizeof(m[k].id), "%s", ids[i]);
		m[k].state = j;
		m[k].name = name;
		m[k].service = service;
		m[k++].status = state_status(j, NULL);
		free(ids[i]);
	}
	free(ids);
	/* in the file's order of services (the order they start in) */
	for (int a = 1; a < k; a++)
		for (int b = a; b > 0 && compose_service_index(&c->p, m[b].service) <
					     compose_service_index(&c->p, m[b - 1].service);
		     b--) {
			struct member t = m[b];
			m[b] = m[b - 1];
			m[b - 1] = t;
		}
	*count = k;
	return m;
}

void members_free(struct member *m, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(m[i].state);
	free(m);
}

/* The image's ID (its config's digest) when it is in the store, else "" */
void image_id_of(struct ctx *c, const char *image, char out[DIGEST_LEN])
{
	struct store s;
	struct md_error err;
	json_t *idx = NULL, *desc, *m = NULL, *cfg = NULL;
	out[0] = 0;
	if (store_open(&s, c->o, &err) < 0)
		return;
	if (store_index_load(&s, &idx, &err) == 0 &&
	    store_find(&s, idx, image, &desc, &m, &cfg, &err) == 0)
		snprintf(out, DIGEST_LEN, "%s",
			 json_string_value(json_object_get(json_object_get(m, "config"), "digest"))
			     ?: "");
	json_decref(cfg);
	json_decref(m);
	json_decref(idx);
	store_close(&s);
}

/* PROJECT_default: the project's network, as docker compose names it */
const char *network_name(struct ctx *c)
{
	return pool_printf(&c->p.pool, "%s_default", c->p.name);
}

int network_exists(struct ctx *c)
{
	struct network n;
	struct md_error err;
	return ipam_network(c->o, network_name(c), &n, &err) == 0;
}
