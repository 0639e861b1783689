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
 */
#define _GNU_SOURCE
#include "compose.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "composefile.h"
#include "container.h"
#include "ipam.h"
#include "narrate.h"
#include "opts.h"
#include "state.h"
#include "store.h"
#include "util.h"

struct ctx {
	const struct md_opts *o;
	struct compose_project p;
	int dry_run;
};

/* ---- the engine's own commands, run as children of ours ---- */

struct args {
	const char **v;
	int n, cap;
};

static void add(struct args *a, const char *s)
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
static void add_each(struct args *a, const char *flag, const struct strs *l)
{
	for (int i = 0; i < l->n; i++)
		add(a, flag), add(a, l->v[i]);
}

/* FLAG VALUE when the key was given (VALUE not NULL) */
static void add_opt(struct args *a, const char *flag, const char *value)
{
	if (value)
		add(a, flag), add(a, value);
}

/* FLAG alone when the key is true */
static void add_flag(struct args *a, const char *flag, int on)
{
	if (on)
		add(a, flag);
}

/* "mini-docker --root R" then the global options as they were given, before any command */
static struct args engine_args(struct ctx *c, const char *cmd)
{
	struct args a = {0};
	add(&a, "mini-docker");
	for (int i = 0; i < c->o->n_global; i++)
		add(&a, c->o->global_argv[i]);
	add(&a, cmd);
	return a;
}

/* a command line as a shell would take it back: 'quoted' where needed */
static void print_line(FILE *f, const char **argv)
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

enum { QUIET = 1, CAPTURE = 2, FOLLOWER = 4 };

/*
 * fork + execv(/proc/self/exe, ARGV): the engine again, in a child. QUIET: its stdout to
 * /dev/null; CAPTURE: its stdout into a pipe, whose read end is *FD; FOLLOWER: its stdout
 * and stderr into that pipe, in a process group of its own (Ctrl-C is for us to handle),
 * ended when we end (PR_SET_PDEATHSIG). Returns the child's PID, -1 when fork failed.
 */
static pid_t spawn(struct args *a, int flags, int *fd)
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

static int exit_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the command A and wait for it; its exit status. --dry-run: print it, run nothing.
 * OUT (when not NULL): what it printed on stdout, malloc'd ("" in a dry run). */
static int engine(struct ctx *c, struct args *a, int flags, char **out)
{
	int fd = -1, status;
	if (out)
		*out = NULL;
	if (c->dry_run) {
		print_line(stdout, a->v);
		free(a->v);
		if (out)
			*out = xstrdup("");
		return 0;
	}
	pid_t pid = spawn(a, flags | (out ? CAPTURE : 0), out ? &fd : NULL);
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
	status = exit_status(pid);
	return status;
}

/* ---- the project's containers ---- */

static const char *container_name(struct ctx *c, const struct compose_service *s)
{
	return s->container_name ? s->container_name
				 : pool_printf(&c->p.pool, "%s-%s-1", c->p.name, s->name);
}

/* what `logs` prefixes its lines with: SERVICE-1 (or the container_name) */
static const char *short_name(struct ctx *c, const struct compose_service *s)
{
	return s->container_name ? s->container_name : pool_printf(&c->p.pool, "%s-1", s->name);
}

struct member {
	char id[65];
	const char *name, *service, *status;
	json_t *state;
};

/*
 * The project's containers, in the order of the file's services: those whose record says
 * compose_project PROJECT, and those named as one of its services would be. Free with members_free.
 */
static struct member *members(struct ctx *c, int *count)
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

static void members_free(struct member *m, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(m[i].state);
	free(m);
}

/* The image's ID (its config's digest) when it is in the store, else "" */
static void image_id(struct ctx *c, const char *image, char out[DIGEST_LEN])
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

/* ---- up ---- */

/* PROJECT_default: the project's network, as docker compose names it */
static const char *network_name(struct ctx *c)
{
	return pool_printf(&c->p.pool, "%s_default", c->p.name);
}

static int network_exists(struct ctx *c)
{
	struct network n;
	struct md_error err;
	return ipam_network(c->o, network_name(c), &n, &err) == 0;
}

/* network create PROJECT_default, unless it is there (up) */
static int network_up(struct ctx *c)
{
	if (network_exists(c))
		return 0;
	struct args a = engine_args(c, "network");
	add(&a, "create"), add(&a, network_name(c));
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
	add(&a, "-d");
	add(&a, "--name");
	add(&a, container_name(c, s));
	add(&a, "--network"); /* the project's own network ... */
	add(&a, network_name(c));
	add(&a, "--network-alias"); /* ... where peers reach it by the service's name */
	add(&a, s->name);
	add_each(&a, "--network-alias", &s->aliases);
	add_opt(&a, "--hostname", s->hostname);
	add_each(&a, "--env-file", &s->env_files); /* first: environment: wins over env_file: */
	add_each(&a, "-e", &s->env);
	add_each(&a, "-p", &s->ports);
	add_each(&a, "-v", &s->volumes);
	add_opt(&a, "-w", s->working_dir);
	add_opt(&a, "-u", s->user);
	add_flag(&a, "-t", s->tty);
	add_flag(&a, "-i", s->stdin_open);
	add_flag(&a, "--read-only", s->read_only);
	add_flag(&a, "--privileged", s->privileged);
	add_flag(&a, "--init", s->init);
	add_each(&a, "--cap-add", &s->cap_add);
	add_each(&a, "--cap-drop", &s->cap_drop);
	add_opt(&a, "--stop-signal", s->stop_signal);
	if (s->stop_grace >= 0)
		add(&a, "--stop-timeout"), add(&a, pool_printf(pool, "%ld", s->stop_grace));
	/* run's --entrypoint is one program: the rest of a list goes in front of the command */
	if (s->entrypoint.v)
		add(&a, "--entrypoint"), add(&a, s->entrypoint.n ? s->entrypoint.v[0] : "");
	add(&a, s->image);
	for (int i = 1; i < s->entrypoint.n; i++)
		add(&a, s->entrypoint.v[i]);
	for (int i = 0; s->has_command && i < s->command.n; i++)
		add(&a, s->command.v[i]);
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
	image_id(c, s->image, id);
	if (s->build_context && (force_build || !*id)) {
		struct args a = engine_args(c, "build");
		add(&a, "-t"), add(&a, s->image);
		if (s->dockerfile)
			add(&a, "-f"), add(&a, s->dockerfile);
		for (int i = 0; i < s->build_args.n; i++)
			add(&a, "--build-arg"), add(&a, s->build_args.v[i]);
		add(&a, s->build_context);
		if (engine(c, &a, 0, NULL) != 0) {
			fprintf(stderr,
				"mini-docker: %s:%d: services.%s.build: the build of %s failed "
				"(above)\n",
				c->p.file, s->line, s->name, s->image);
			return -1;
		}
	} else if (!*id) {
		struct args a = engine_args(c, "pull");
		add(&a, s->image);
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
		add(&a, container_name(c, dep));
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
	add(&a, container_name(c, s));
	for (int i = 0; i < s->health.test.n; i++)
		add(&a, s->health.test.v[i]);
	if (c->dry_run)
		return engine(c, &a, QUIET, NULL);
	pid_t pid = spawn(&a, QUIET, NULL);
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
	image_id(c, s->image, id);
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
		add(&rm, "-f"), add(&rm, name);
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
		add(&a, st[i].name);
	fprintf(stderr,
		force ? "Killing...\n" : "Gracefully stopping... (press Ctrl+C again to force)\n");
	pid_t pid = spawn(&a, QUIET, NULL);
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
			add(&a, "-f");
		add(&a, st[k].name);
		if (c->dry_run) {
			print_line(stdout, a.v);
			free(a.v);
			continue;
		}
		st[k].pid = spawn(&a, FOLLOWER, &st[k].fd);
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
				kill(stopper, SIGKILL), exit_status(stopper);
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
			exit_status(st[i].pid);
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
		exit_status(stopper);
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

/* ---- down, ps, exec, config ---- */

static int compose_down(struct ctx *c, int argc, char **argv)
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
			add(&stop, "-t"), add(&stop, timeout);
		add(&rm, "-f");
		int base = stop.n;
		for (int i = n - 1; i >= 0; i--) {
			if (!strcmp(m[i].status, "running"))
				add(&stop, m[i].name);
			add(&rm, m[i].name);
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
		add(&a, "rm"), add(&a, network_name(c));
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

static int compose_ps(struct ctx *c, int argc, char **argv)
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
static int compose_exec(struct ctx *c, int argc, char **argv)
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
	add(&a, "-i");
	md_getopt_init(&g, "compose exec", usage, options, MD_N(options), MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		if (k == NO_TTY)
			no_tty = 1;
		else
			add(&a, k == ENV ? "-e" : k == USER ? "-u" : "-w"), add(&a, g.value);
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
		add(&a, "-t");
	add(&a, container_name(c, &c->p.services[s]));
	for (int i = g.optind + 1; i < argc; i++)
		add(&a, argv[i]);
	if (c->dry_run) {
		print_line(stdout, a.v);
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

static int compose_config(struct ctx *c, int argc, char **argv)
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
