/*
 * compose.c: `mini-docker compose`, a project of containers from compose.yaml.
 *
 *     $ docker compose up -d                  # what it imitates
 *     $ mini-docker compose up -d
 *     $ mini-docker compose ps
 *     $ mini-docker compose logs -f web
 *     $ mini-docker compose down -v
 *
 * docker compose is a client: it asks the daemon to create and start each
 * container. mini-docker has no daemon, so compose runs the engine's own
 * commands, each in a process of its own: fork(2), then execv(2) of
 * /proc/self/exe (this very program) with the global options passed through:
 *
 *     (once)        ->  mini-docker --root R network create PROJECT_default
 *     services.web  ->  mini-docker --root R run -d --name PROJECT-web-1 --network PROJECT_default
 *                                   --network-alias web ... IMAGE CMD
 *
 * Each project has a network of its own, as docker compose's PROJECT_default:
 * its services find each other by their names, and no other project's
 * containers are on it (two projects may each have a `web`). `down` removes
 * the containers, then the network.
 * `--dry-run` prints those command lines and runs none of them, so the mapping
 * is there to read. Which containers belong to a project? Their records say so:
 * after `run -d` prints the ID, compose adds compose_project, compose_service and
 * compose_hash (the hash of the command that made it) to its state.json, as
 * docker compose puts labels on its containers. The name PROJECT-SERVICE-1 (or
 * container_name) finds one whose record lacks them (compose killed just then).
 * `up` again keeps a container that runs with the same hash and recreates the others.
 *
 * Here: `up` (the network, images, containers in start order, the waits of
 * depends_on) and `logs` (also `up` in the foreground), and the command table.
 * The engine's commands and the project's containers are composeengine.c's;
 * `down`, `ps`, `exec`, `config` composeops.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compose.h"
#include "composeengine.h"
#include "composeproject.h"
#include "opts.h"
#include "state.h"
#include "util.h"

/* ---- up ---- */

/* network create PROJECT_default, unless it is there (up) */
static int network_up(struct ctx *c)
{
	if (network_exists(c))
		return 0;
	struct args a = engine_args(c, "network");
	args_add(&a, "create"), args_add(&a, network_name(c));
	int r = engine(c, &a, QUIET, NULL);
	if (r != 0) {
		fprintf(stderr, "mini-docker: compose up: network create %s failed (exit %d, above)\n",
			network_name(c), r);
		return -1;
	}
	if (!c->dry_run)
		fprintf(stderr, " Network %s  Created\n", network_name(c));
	return 0;
}

/* services.S as `run -d`'s options, in the order docker compose's keys map to docker run's */
static struct args run_args(struct ctx *c, const struct compose_service *s)
{
	struct pool *pool = &c->p.pool;
	struct args a = engine_args(c, "run");
	args_add(&a, "-d");
	args_add(&a, "--name");
	args_add(&a, container_name(c, s));
	args_add(&a, "--network"); /* the project's own network ... */
	args_add(&a, network_name(c));
	args_add(&a, "--network-alias"); /* ... where peers reach it by the service's name */
	args_add(&a, s->name);
	args_add_each(&a, "--network-alias", &s->aliases);
	args_add_opt(&a, "--hostname", s->hostname);
	args_add_each(&a, "--env-file", &s->env_files); /* first: environment: wins over env_file: */
	args_add_each(&a, "-e", &s->env);
	args_add_each(&a, "-p", &s->ports);
	args_add_each(&a, "-v", &s->volumes);
	args_add_opt(&a, "-w", s->working_dir);
	args_add_opt(&a, "-u", s->user);
	args_add_flag(&a, "-t", s->tty);
	args_add_flag(&a, "-i", s->stdin_open);
	args_add_flag(&a, "--read-only", s->read_only);
	args_add_flag(&a, "--privileged", s->privileged);
	args_add_flag(&a, "--init", s->init);
	args_add_each(&a, "--cap-add", &s->cap_add);
	args_add_each(&a, "--cap-drop", &s->cap_drop);
	args_add_opt(&a, "--stop-signal", s->stop_signal);
	if (s->stop_grace >= 0)
		args_add(&a, "--stop-timeout"), args_add(&a, pool_printf(pool, "%ld", s->stop_grace));
	/* run's --entrypoint is one program: the rest of a list goes in front of the command */
	if (s->entrypoint.v)
		args_add(&a, "--entrypoint"), args_add(&a, s->entrypoint.n ? s->entrypoint.v[0] : "");
	args_add(&a, s->image);
	for (int i = 1; i < s->entrypoint.n; i++)
		args_add(&a, s->entrypoint.v[i]);
	for (int i = 0; s->has_command && i < s->command.n; i++)
		args_add(&a, s->command.v[i]);
	return a;
}

/* FNV-1a over the command and the image's ID: what `up` compares to keep a container */
static const char *config_hash(struct ctx *c, const struct args *a, const char *image)
{
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i <= a->n; i++) {
		const char *s = i < a->n ? a->v[i] : image;
		for (; *s; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL; /* the end of a word: "ab" "c" is not "a" "bc" */
	}
	return pool_printf(&c->p.pool, "%016llx", (unsigned long long)h);
}

/* the image of S, built (build:, when missing or with --build) or pulled (when missing) */
static int ensure_image(struct ctx *c, const struct compose_service *s, int force_build)
{
	char id[DIGEST_LEN];
	image_id_of(c, s->image, id);
	if (s->build_context && (force_build || !*id)) {
		struct args a = engine_args(c, "build");
		args_add(&a, "-t"), args_add(&a, s->image);
		if (s->dockerfile)
			args_add(&a, "-f"), args_add(&a, s->dockerfile);
		for (int i = 0; i < s->build_args.n; i++)
			args_add(&a, "--build-arg"), args_add(&a, s->build_args.v[i]);
		args_add(&a, s->build_context);
		if (engine(c, &a, 0, NULL) != 0) {
			fprintf(stderr,
				"mini-docker: %s:%d: services.%s.build: the build of %s failed "
				"(above)\n",
				c->p.file, s->line, s->name, s->image);
			return -1;
		}
	} else if (!*id) {
		struct args a = engine_args(c, "pull");
		args_add(&a, s->image);
		if (engine(c, &a, 0, NULL) != 0) {
			fprintf(stderr,
				"mini-docker: %s:%d: services.%s.image: '%s' is not in the store "
				"and the pull "
				"failed (above): pull or load it, or give the service a build:\n",
				c->p.file, s->image_line, s->name, s->image);
			return -1;
		}
	}
	return 0;
}

/* S and what it depends on, marked in WANT */
static void want(struct ctx *c, int s, char *want_)
{
	if (want_[s])
		return;
	want_[s] = 1;
	for (int d = 0; d < c->p.services[s].n_deps; d++)
		want(c, c->p.services[s].deps[d].service, want_);
}

/* depends_on with condition service_completed_successfully: `wait` for it, and its code must be 0 */
static int wait_completed(struct ctx *c, const struct compose_service *s)
{
	for (int d = 0; d < s->n_deps; d++) {
		if (!s->deps[d].completed)
			continue;
		const struct compose_service *dep = &c->p.services[s->deps[d].service];
		struct args a = engine_args(c, "wait");
		char *out;
		args_add(&a, container_name(c, dep));
		int r = engine(c, &a, 0, &out);
		int code = r == 0 && !c->dry_run ? atoi(out) : r;
		free(out);
		if (code != 0) {
			fprintf(stderr,
				"mini-docker: service %s didn't complete successfully: exit %d (%s "
				"waits for it)\n",
				dep->name, code, s->name);
			return -1;
		}
	}
	return 0;
}

/* one run of S's healthcheck test in its container (exec), its timeout at most: 0 when it passed */
static int health_probe(struct ctx *c, const struct compose_service *s)
{
	struct args a = engine_args(c, "exec");
	args_add(&a, container_name(c, s));
	for (int i = 0; i < s->health.test.n; i++)
		args_add(&a, s->health.test.v[i]);
	if (c->dry_run)
		return engine(c, &a, QUIET, NULL);
	pid_t pid = engine_spawn(&a, QUIET, NULL);
	free(a.v);
	for (long ms = 0; pid > 0 && ms < s->health.timeout * 1000; ms += 100) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		usleep(100 * 1000);
	}
	if (pid > 0) { /* too slow: a failed check, as docker's timeout */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/*
 * condition: service_healthy: the dependency's healthcheck test passes. As docker's: a check
 * every interval from the start, failures within start_period do not count, RETRIES failures
 * in a row make it unhealthy (and up fails). mini-docker's engine keeps no health status, so
 * compose runs the checks itself, while it waits.
 */
static int wait_healthy(struct ctx *c, const struct compose_service *s)
{
	for (int d = 0; d < s->n_deps; d++) {
		const struct compose_service *dep = &c->p.services[s->deps[d].service];
		const struct compose_health *h = &dep->health;
		if (!s->deps[d].healthy)
			continue;
		if (c->dry_run) {
			health_probe(c, dep);
			continue;
		}
		fprintf(stderr, " Container %s  Waiting\n", container_name(c, dep));
		time_t start = time(NULL);
		long fails = 0;
		for (;;) {
			sleep((unsigned)h->interval);
			if (health_probe(c, dep) == 0)
				break;
			if (time(NULL) - start > h->start_period && ++fails >= h->retries) {
				fprintf(stderr,
					"mini-docker: dependency failed to start: container %s is "
					"unhealthy (%ld failed checks; %s waits for it)\n",
					container_name(c, dep), fails, s->name);
				return -1;
			}
		}
		fprintf(stderr, " Container %s  Healthy\n", container_name(c, dep));
	}
	return 0;
}

/* one service's container: kept when it runs with the same command, else (re)made with run -d */
static int start(struct ctx *c, const struct compose_service *s)
{
	const char *name = container_name(c, s);
	char id[DIGEST_LEN], cid[65];
	struct md_error err;
	struct args a = run_args(c, s);
	image_id_of(c, s->image, id);
	const char *hash = config_hash(c, &a, id);
	json_t *j = state_find(c->o, name, cid, &err) == 0 ? state_load(c->o, cid) : NULL;
	if (j) {
		int same = !strcmp(state_status(j, NULL), "running") &&
			   !strcmp(state_str(j, "compose_hash"), hash);
		json_decref(j);
		if (same) {
			free(a.v);
			if (!c->dry_run)
				fprintf(stderr, " Container %s  Running\n", name);
			return 0;
		}
		struct args rm = engine_args(c, "rm");
		args_add(&rm, "-f"), args_add(&rm, name);
		if (engine(c, &rm, QUIET, NULL) != 0) {
			free(a.v);
			return -1;
		}
		if (!c->dry_run)
			fprintf(stderr, " Container %s  Recreated\n", name);
	}
	char *out;
	int r = engine(c, &a, 0, &out);
	out[strcspn(out, "\n")] = 0;
	if (r != 0) {
		fprintf(stderr, "mini-docker: %s:%d: services.%s: run failed (exit %d, above)\n",
			c->p.file, s->line, s->name, r);
		free(out);
		return -1;
	}
	if (!c->dry_run &&
	    state_set(c->o, out, &err, "compose_project", c->p.name, "compose_service", s->name,
		      "compose_hash", hash, "compose_file", c->p.file, NULL) < 0)
		fprintf(stderr, "mini-docker: %s: %s (compose finds it by its name)\n", name,
			err.msg);
	if (!c->dry_run)
		fprintf(stderr, " Container %s  Started\n", name);
	free(out);
	return 0;
}

static int follow(struct ctx *c, char *want_, int follow_, int up);

/* wanted[s] for each of the N services NAMES (with what they depend on, WITH_DEPS), or NULL
 * after saying which name is no service of the project */
static char *services_named(struct ctx *c, const char *cmd, char **names, int n, int with_deps)
{
	char *wanted = xcalloc((size_t)c->p.n_services + 1, 1);
	for (int i = 0; i < n; i++) {
		int s = compose_service_index(&c->p, names[i]);
		if (s < 0) {
			fprintf(stderr, "mini-docker: compose %s: no such service: %s\n", cmd, names[i]);
			free(wanted);
			return NULL;
		}
		if (with_deps)
			want(c, s, wanted);
		else
			wanted[s] = 1;
	}
	return wanted;
}

static int compose_up(struct ctx *c, int argc, char **argv)
{
	int detach = 0, build = 0, k;
	enum { DETACH, BUILD };
	static const struct md_option options[] = {
	    [DETACH] = {"detach", 'd', MD_FLAG}, [BUILD] = {"build", 0, MD_FLAG}};
	struct md_getopt g;
	struct md_error err;
	md_getopt_init(&g, "compose up", "compose up [-d] [--build] [SERVICE...]", options,
		       MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		*(k == DETACH ? &detach : &build) = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	char *wanted = services_named(c, "up", argv + g.optind, argc - g.optind, 1);
	if (!wanted)
		return 1;
	for (int s = 0; g.optind == argc && s < c->p.n_services; s++)
		wanted[s] = 1;
	/* every image first: a missing one stops the project before anything of it runs */
	int rc = 0;
	for (int i = 0; i < c->p.n_services && !rc; i++) {
		const struct compose_service *s = &c->p.services[c->p.order[i]];
		int seen = 0; /* two services of one image: one pull (or build) */
		for (int j = 0; j < i && !seen; j++)
			seen = wanted[c->p.order[j]] &&
			       !strcmp(c->p.services[c->p.order[j]].image, s->image);
		if (wanted[c->p.order[i]] && !seen && ensure_image(c, s, build) < 0)
			rc = 1;
	}
	if (!rc && network_up(c) < 0)
		rc = 1;
	for (int i = 0; i < c->p.n_services && !rc; i++) {
		const struct compose_service *s = &c->p.services[c->p.order[i]];
		if (wanted[c->p.order[i]] &&
		    (wait_completed(c, s) < 0 || wait_healthy(c, s) < 0 || start(c, s) < 0))
			rc = 1;
	}
	if (!rc && !detach)
		rc = follow(c, wanted, 1, 1);
	free(wanted);
	return rc;
}

/* ---- logs, and up in the foreground ---- */

static volatile sig_atomic_t signals_got, last_signal;

static void on_signal(int sig)
{
	last_signal = sig;
	signals_got++;
}

struct stream {
	pid_t pid;
	int fd;
	const char *prefix, *name;
	char buf[4096];
	size_t len;
};

/* the complete lines in S's buffer, each after its prefix; ALL: the rest too (the stream ended) */
static void emit(struct stream *s, int width, int all)
{
	char *start = s->buf, *nl;
	while ((nl = memchr(start, '\n', s->len - (size_t)(start - s->buf))) ||
	       (all && start < s->buf + s->len)) {
		size_t n = nl ? (size_t)(nl - start) : s->len - (size_t)(start - s->buf);
		printf("%-*s | %.*s\n", width, s->prefix, (int)n, start);
		start += n + (nl != NULL);
	}
	s->len -= (size_t)(start - s->buf);
	memmove(s->buf, start, s->len);
	fflush(stdout);
}

/* Ctrl-C in the foreground: stop every container (and kill them at a second one), as compose */
static pid_t stop_all(struct ctx *c, struct stream *st, int n, int force)
{
	struct args a = engine_args(c, force ? "kill" : "stop");
	for (int i = n - 1; i >= 0; i--) /* the last started first */
		args_add(&a, st[i].name);
	fprintf(stderr,
		force ? "Killing...\n" : "Gracefully stopping... (press Ctrl+C again to force)\n");
	pid_t pid = engine_spawn(&a, QUIET, NULL);
	free(a.v);
	return pid;
}

/*
 * The logs of the services in WANT (all: NULL), each line after "SERVICE-1 | ": one `logs [-f]`
 * per container, read through a pipe each. UP: `up` in the foreground: also "NAME exited with
 * code N" as each ends, and Ctrl-C or SIGTERM stops them all.
 */
static int follow(struct ctx *c, char *want_, int follow_, int up)
{
	int n = 0, width = 0, open_ = 0, rc = 0, stops = 0;
	pid_t stopper = -1;
	struct member *m = members(c, &n);
	struct stream *st = xcalloc((size_t)n + 1, sizeof(*st));
	struct pollfd *pf = xcalloc((size_t)n + 1, sizeof(*pf));
	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	signals_got = 0;
	if (up) { /* no SA_RESTART: poll returns EINTR */
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
	}
	int k = 0;
	for (int i = 0; i < n; i++) {
		int s = compose_service_index(&c->p, m[i].service);
		if (want_ && (s < 0 || !want_[s]))
			continue;
		st[k].name = pool_strdup(&c->p.pool, m[i].name);
		st[k].prefix = s >= 0 ? short_name(c, &c->p.services[s]) : st[k].name;
		struct args a = engine_args(c, "logs");
		if (follow_)
			args_add(&a, "-f");
		args_add(&a, st[k].name);
		if (c->dry_run) {
			args_print(stdout, a.v);
			free(a.v);
			continue;
		}
		st[k].pid = engine_spawn(&a, FOLLOWER, &st[k].fd);
		free(a.v);
		if (st[k].pid < 0)
			continue;
		if ((int)strlen(st[k].prefix) > width)
			width = (int)strlen(st[k].prefix);
		open_++;
		k++;
	}
	members_free(m, n);
	while (open_ > 0) {
		while (stops < signals_got && stops < 2) { /* the first: stop; the second: kill */
			if (stopper > 0)
				kill(stopper, SIGKILL), engine_wait(stopper);
			stopper = stop_all(c, st, k, stops++);
			rc = 128 + last_signal;
		}
		for (int i = 0; i < k; i++)
			pf[i] = (struct pollfd){.fd = st[i].fd, .events = POLLIN};
		if (poll(pf, (nfds_t)k, 200) <=
		    0) /* a signal (EINTR), or one between the check and poll */
			continue;
		for (int i = 0; i < k; i++) {
			if (st[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r =
			    read(st[i].fd, st[i].buf + st[i].len, sizeof(st[i].buf) - st[i].len);
			if (r > 0) {
				st[i].len += (size_t)r;
				emit(&st[i], width, st[i].len == sizeof(st[i].buf));
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			emit(&st[i], width, 1); /* the container ended, or logs did */
			close(st[i].fd);
			st[i].fd = -1;
			engine_wait(st[i].pid);
			open_--;
			if (up) {
				char id[65];
				json_t *j = state_open(c->o, st[i].name, id, &(struct md_error){0});
				fprintf(stderr, "%s exited with code %s\n", st[i].name,
					*state_str(j, "exit_code") ? state_str(j, "exit_code")
								   : "?");
				json_decref(j);
			}
		}
	}
	if (stopper > 0)
		engine_wait(stopper);
	if (up) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	free(pf);
	free(st);
	return rc;
}

static int compose_logs(struct ctx *c, int argc, char **argv)
{
	int follow_ = 0, k, rc;
	static const struct md_option options[] = {{"follow", 'f', MD_FLAG}};
	struct md_getopt g;
	struct md_error err;
	md_getopt_init(&g, "compose logs", "compose logs [-f] [SERVICE...]", options, MD_N(options),
		       MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		follow_ = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	char *wanted = services_named(c, "logs", argv + g.optind, argc - g.optind, 0);
	if (!wanted)
		return 1;
	rc = follow(c, g.optind < argc ? wanted : NULL, follow_, 0);
	free(wanted);
	return rc;
}

/* ---- mini-docker compose [-f FILE] [-p NAME] [--dry-run] COMMAND ---- */

static const struct {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
} commands[] = {
    {"up", compose_up},	    {"down", compose_down}, {"ps", compose_ps},
    {"logs", compose_logs}, {"exec", compose_exec}, {"config", compose_config},
};

int cmd_compose(const struct md_opts *o, int argc, char **argv)
{
	const char *file = NULL, *name = NULL;
	const char *usage =
	    "compose [-f FILE] [-p NAME] [--dry-run] up|down|ps|logs|exec|config ...";
	int k, rc = EXIT_ENGINE;
	enum { FILE_, PROJECT, DRY_RUN };
	static const struct md_option options[] = {
	    [FILE_] = {"file", 'f', MD_VALUE},
	    [PROJECT] = {"project-name", 'p', MD_VALUE},
	    [DRY_RUN] = {"dry-run", 0, MD_FLAG},
	};
	struct md_getopt g;
	struct md_error err;
	struct ctx c = {.o = o};
	md_getopt_init(&g, "compose", usage, options, MD_N(options), MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		if (k == FILE_)
			file = g.value;
		else if (k == PROJECT)
			name = g.value;
		else
			c.dry_run = 1;
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (g.optind == argc)
		return md_usage(usage);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[g.optind]))
			continue;
		int help = 0; /* up --help needs no compose file */
		for (int a = g.optind + 1; a < argc && strcmp(argv[a], "--"); a++)
			help |= !strcmp(argv[a], "--help");
		if (help && commands[i].fn != compose_config)
			return commands[i].fn(&c, argc - g.optind, argv + g.optind);
		if (compose_load(&c.p, file, name, &err) < 0) {
			fprintf(stderr, "mini-docker: %s\n", err.msg);
			return EXIT_ENGINE;
		}
		rc = commands[i].fn(&c, argc - g.optind, argv + g.optind);
		fflush(stdout);
		compose_free(&c.p);
		return rc;
	}
	fprintf(stderr, "mini-docker: compose: unknown command '%s' (%s)\n", argv[g.optind], usage);
	return rc;
}
