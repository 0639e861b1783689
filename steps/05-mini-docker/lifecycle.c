/*
 * lifecycle.c: docker's everyday commands, without a daemon to ask.
 *
 *     $ docker ps                       # the slides
 *     $ mini-docker ps [-a] [-q]        # running (-a: every) container
 *     $ mini-docker logs [-f] [--tail N] [-t] CONTAINER
 *     $ mini-docker stop [-t SECS] CONTAINER...    # StopSignal, then SIGKILL
 *     $ mini-docker kill [-s SIGNAL] CONTAINER...
 *     $ mini-docker rm [-f] CONTAINER...
 *     $ mini-docker wait CONTAINER...              # prints the exit codes
 *     $ mini-docker inspect CONTAINER...           # JSON, as docker inspect
 *
 * A CONTAINER is a name, a full ID or any unique prefix of one. Each command
 * reads state.json (state.c) and acts on the PIDs it names, after checking
 * that they are still the same processes.
 *
 * The first part of this file is run's side of the story: the options of
 * this half (-d, -p, --network-alias, --stop-signal) and the hooks run.c
 * calls as the container is made, started and ended.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "image.h"
#include "ipam.h"
#include "lifecycle.h"
#include "monitor.h"
#include "narrate.h"
#include "opts.h"
#include "ports.h"
#include "record.h"
#include "state.h"
#include "util.h"



int parse_signal(const char *s)
{
	char *end;
	if (!s || !*s)
		return -1;
	if (isdigit((unsigned char)*s)) {
		long n = strtol(s, &end, 10);
		return *end || n < 1 || n >= NSIG ? -1 : (int)n;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && !strcasecmp(s, name))
			return sig;
	}
	return -1;
}

const char *signal_name(int sig)
{
	static char buf[16];
	const char *name = sigabbrev_np(sig);
	snprintf(buf, sizeof(buf), "SIG%s", name ? name : "?");
	return buf;
}

/* ---- run's hooks ---- */

int lifecycle_option(struct run_config *rc, const char *lng, const char *shown, const char *v,
		     struct md_error *err)
{
	if (!strcmp(lng, "detach")) {
		rc->detach = 1;
	} else if (!strcmp(lng, "publish")) {
		if (!rc->ports)
			rc->ports = ports_new();
		if (ports_parse(rc->ports, v, err) < 0)
			return -1;
	} else if (!strcmp(lng, "network-alias")) {
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
				return md_fail(err, "%s '%s': use letters, digits, - . _", shown,
					       v);
		size_t len = strlen(rc->aliases);
		if (!*v || len + strlen(v) + 2 > sizeof(rc->aliases))
			return md_fail(err, "%s '%s': empty, or too many aliases", shown, v);
		snprintf(rc->aliases + len, sizeof(rc->aliases) - len, "%s%s", len ? " " : "", v);
	} else if (!strcmp(lng, "stop-signal")) {
		if ((rc->stop_signal_opt = parse_signal(v)) < 0)
			return md_fail(err,
				       "%s %s: give a signal name or number (SIGTERM, USR1, 15)",
				       shown, v);
	} else if (!strcmp(lng, "stop-timeout")) {
		char *end;
		long t = strtol(v, &end, 10);
		if (!*v || *end || t < 0 || t > 86400)
			return md_fail(err, "%s %s: give whole seconds", shown, v);
		rc->stop_timeout = (int)t;
	} else {
		return 0;
	}
	return 1;
}

static char *join_argv(char **argv)
{
	size_t len = 1;
	for (char **a = argv; a && *a; a++)
		len += strlen(*a) + 1;
	char *s = xcalloc(1, len);
	for (char **a = argv; a && *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

/* What exec, stop, ps and inspect will need to know, in one write of state.json (each is a
 * read, a rewrite and a rename): the environment as a JSON array (a value may hold a newline) */
static int record_config(struct container *c, const struct run_config *rc, struct md_error *err)
{
	char sig[16], timeout[16];
	snprintf(sig, sizeof(sig), "%d", rc->stop_signal ? rc->stop_signal : SIGTERM);
	snprintf(timeout, sizeof(timeout), "%d", rc->stop_timeout);
	char *cmd = join_argv(rc->argv);
	json_t *envs = json_array();
	for (char **e = rc->envp; e && *e; e++)
		json_array_append_new(envs, json_string(*e));
	char *env = json_dumps(envs, JSON_COMPACT);
	json_decref(envs);
	char caps[2][MAX_LIST * 24] = {"", ""};
	for (int k = 0; k < rc->n_cap_add; k++)
		snprintf(caps[0] + strlen(caps[0]), sizeof(caps[0]) - strlen(caps[0]), "%s ",
			 rc->cap_add[k]);
	for (int k = 0; k < rc->n_cap_drop; k++)
		snprintf(caps[1] + strlen(caps[1]), sizeof(caps[1]) - strlen(caps[1]), "%s ",
			 rc->cap_drop[k]);
	json_t *args = json_array();
	for (char **a = rc->argv; a && *a; a++)
		json_array_append_new(args, json_string(*a));
	char *args_text = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	int r =
	    state_set(c->o, c->id, err, "env", env, "user", rc->user ? rc->user : "", "workdir",
		      rc->cwd ? rc->cwd : "/", "cap_add", caps[0], "cap_drop", caps[1],
		      "privileged", rc->privileged ? "1" : "0", "no_seccomp",
		      rc->no_seccomp ? "1" : "0", "userns", rc->userns ? "1" : "0",
		      "args", args_text, "command", cmd, "stop_signal", sig,
		      "stop_timeout", timeout, "detached", rc->detach ? "1" : "0",
		      "hostname", rc->hostname, "network",
		      rc->network == NET_BRIDGE ? "bridge"
		      : rc->network == NET_HOST ? "host"
		      : rc->network == NET_NONE ? "none"
						: "veth",
		      NULL);
	free(cmd);
	free(env);
	free(args_text);
	return r;
}

/* The bridge network: an address (ipam.c), and /etc/hosts and /etc/resolv.conf of ours,
 * bind-mounted over the image's */
static int join_bridge(struct container *c, struct run_config *rc, struct md_error *err)
{
	struct lease l;
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN];
	if (ipam_allocate(c->o, c->id, rc->hostname, c->name, rc->aliases, &l, err) < 0)
		return md_context(err, "network %s", BRIDGE_NAME);
	c->leased = 1;
	inet_ntop(AF_INET, &l.ip, ip, sizeof(ip));
	inet_ntop(AF_INET6, &l.ip6, ip6, sizeof(ip6));
	if (state_set(c->o, c->id, err, "ip", ip, "ip6", ip6, "aliases", rc->aliases, NULL) < 0)
		return -1;
	if (rc->n_volume_args + 2 > MAX_LIST)
		return md_fail(err, "too many volumes");
	char *dir = realpath(c->dir, NULL);
	if (!dir)
		return md_fail_errno(err, "realpath %s", c->dir);
	char *resolv = xasprintf("%s/resolv.conf", dir);
	int r = resolv_conf_write(resolv, err);
	if (r == 0) {
		rc->volume_args[rc->n_volume_args++] = xasprintf("%s/hosts:/etc/hosts", dir);
		rc->volume_args[rc->n_volume_args++] = xasprintf("%s:/etc/resolv.conf", resolv);
	}
	free(resolv);
	free(dir);
	return r;
}

int lifecycle_prepare(struct container *c, struct run_config *rc, struct md_error *err)
{
	if (rc->stop_signal_opt)
		rc->stop_signal = rc->stop_signal_opt;
	if (rc->ports && rc->network != NET_BRIDGE)
		return md_fail(err,
			       "-p publishes a port of the bridge network: it needs --network "
			       "bridge (the default%s)",
			       geteuid() ? " as root; rootless containers get --network none" : "");
	if (record_config(c, rc, err) < 0)
		return -1;
	if (rc->network == NET_BRIDGE && join_bridge(c, rc, err) < 0)
		return -1;
	/* run -d: from here on, the monitor (its messages still reach the starter's terminal) */
	if (rc->detach && monitor_fork(c, rc, err) < 0)
		return -1;
	if (rc->ports) {
		if (ports_bind(rc->ports, err) < 0)
			return -1;
		if (state_set(c->o, c->id, err, "ports", ports_text(rc->ports), NULL) < 0)
			return -1;
	}
	return 0;
}

void lifecycle_started(struct container *c, struct run_config *rc, pid_t pid)
{
	/* started_at: ns_start wrote it with the PID, in the same write of state.json */
	if (rc->ports) {
		json_t *j = state_load(c->o, c->id);
		struct in_addr ip;
		if (inet_pton(AF_INET, state_str(j, "ip"), &ip) == 1)
			ports_start(rc->ports, ip);
		json_decref(j);
	}
	monitor_started(c, rc, pid);
}

void lifecycle_end(struct container *c, struct run_config *rc, int status)
{
	ports_stop(rc->ports);
	monitor_end(rc->monitor, status);
	/* finished_at: run writes it with the exit code (with --rm, nothing: the record goes) */
	if (c->leased)
		ipam_release(c->o, c->id);
	c->leased = 0;
}

/* ---- the commands ---- */

static void usage_fail(const char *usage)
{
	fprintf(stderr, "mini-docker: usage: mini-docker %s\n", usage);
}

static json_t *load_or_complain(const struct md_opts *o, const char *what, char id[65])
{
	struct md_error err;
	json_t *j = state_open(o, what, id, &err);
	if (!j)
		fprintf(stderr, "mini-docker: %s\n", err.msg);
	return j;
}

static void fit(char *out, size_t len, const char *s, size_t max)
{
	if (strlen(s) <= max)
		snprintf(out, len, "%s", s);
	else
		snprintf(out, len, "%.*s…", (int)max - 1, s);
}

static void status_text(json_t *j, char *out, size_t len)
{
	const char *st = state_status(j, NULL);
	struct timespec ts;
	char d[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = ts.tv_sec + ts.tv_nsec / 1e9;
	if (!strcmp(st, "running")) {
		human_duration(now - time_parse(state_str(j, "started_at")[0]
						    ? state_str(j, "started_at")
						    : state_str(j, "created")),
			       d, sizeof(d));
		snprintf(out, len, "Up %s", d);
	} else if (!strcmp(st, "exited")) {
		const char *fin = state_str(j, "finished_at");
		human_duration(now - time_parse(*fin ? fin : state_str(j, "created")), d,
			       sizeof(d));
		snprintf(out, len, "Exited (%s) %s ago",
			 *state_str(j, "exit_code") ? state_str(j, "exit_code") : "?", d);
	} else if (!strcmp(st, "dead")) {
		snprintf(out, len, "Dead (its %s was killed)",
			 *state_str(j, "monitor_pid") ? "monitor" : "engine");
	} else {
		snprintf(out, len, "Created");
	}
}

struct row {
	double created;
	char *col[7];
};

static int by_created(const void *a, const void *b)
{
	double x = ((const struct row *)a)->created, y = ((const struct row *)b)->created;
	return x < y ? 1 : x > y ? -1 : 0;
}

int cmd_container_ps(const struct md_opts *o, int argc, char **argv)
{
	int all = 0, quiet = 0, no_trunc = 0, n = 0, k;
	const char *usage = "ps [-a] [-q] [--no-trunc]";
	enum { ALL, QUIET, NO_TRUNC };
	static const struct md_option options[] = {
	    [ALL] = {"all", 'a', MD_FLAG},
	    [QUIET] = {"quiet", 'q', MD_FLAG},
	    [NO_TRUNC] = {"no-trunc", 0, MD_FLAG},
	};
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "ps", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0) {
		switch (k) {
		case ALL:
			all = 1;
			break;
		case QUIET:
			quiet = 1;
			break;
		case NO_TRUNC:
			no_trunc = 1;
			break;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	if (g.optind < argc) {
		usage_fail(usage);
		return EXIT_ENGINE;
	}
	char **ids = state_list(o, &n);
	struct row *rows = xcalloc(n + 1, sizeof(*rows));
	int nr = 0;
	static const char *head[7] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
				      "STATUS",	      "PORTS", "NAMES"};
	size_t width[7];
	for (int k = 0; k < 7; k++)
		width[k] = strlen(head[k]);
	for (int i = 0; i < n; i++) {
		json_t *j = state_load(o, ids[i]);
		const char *st = j ? state_status(j, NULL) : "";
		if (j && (all || !strcmp(st, "running"))) {
			struct row *r = &rows[nr++];
			char buf[512], cmd[256], d[64];
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			r->created = time_parse(state_str(j, "created"));
			r->col[0] = xasprintf("%.*s", no_trunc ? 64 : 12, ids[i]);
			r->col[1] = xstrdup(state_str(j, "image"));
			snprintf(buf, sizeof(buf), "\"%s\"", state_str(j, "command"));
			fit(cmd, sizeof(cmd), buf, no_trunc ? 250 : 20);
			r->col[2] = xstrdup(cmd);
			human_duration(ts.tv_sec - r->created, d, sizeof(d));
			r->col[3] = xasprintf("%s ago", d);
			status_text(j, buf, sizeof(buf));
			r->col[4] = xstrdup(buf);
			r->col[5] = xstrdup(!strcmp(st, "running") ? state_str(j, "ports") : "");
			r->col[6] = xstrdup(state_str(j, "name"));
			for (int k = 0; k < 7; k++) {
				size_t w = strlen(r->col[k]);
				if (strstr(r->col[k], "…"))
					w -= 2; /* three bytes, one column */
				if (w > width[k])
					width[k] = w;
			}
		}
		json_decref(j);
		free(ids[i]);
	}
	free(ids);
	qsort(rows, nr, sizeof(*rows), by_created);
	if (!quiet) {
		for (int k = 0; k < 7; k++)
			printf(k < 6 ? "%-*s   " : "%.*s\n", k < 6 ? (int)width[k] : 99, head[k]);
	}
	for (int i = 0; i < nr; i++) {
		if (quiet)
			printf("%s\n", rows[i].col[0]);
		else
			for (int k = 0; k < 7; k++) {
				int extra = strstr(rows[i].col[k], "…") ? 2 : 0;
				printf(k < 6 ? "%-*s   " : "%.*s\n",
				       k < 6 ? (int)width[k] + extra : 999, rows[i].col[k]);
			}
		for (int k = 0; k < 7; k++)
			free(rows[i].col[k]);
	}
	free(rows);
	return 0;
}

/* ---- logs ---- */

static int print_entries(const char *path, off_t *offset, long tail, int timestamps)
{
	char *buf;
	size_t len;
	struct md_error err;
	if (read_file(path, 1UL << 31, &buf, &len, &err) < 0)
		return -1;
	size_t start = *offset <= (off_t)len ? (size_t)*offset : 0;
	/* --tail N: only the last N complete lines (a half-written last one is not among them) */
	if (tail >= 0) {
		size_t p = len;
		while (p > start && buf[p - 1] != '\n')
			p--;
		for (long lines = 0; p > start && lines < tail; lines++) {
			p--; /* the newline that ends this line */
			while (p > start && buf[p - 1] != '\n')
				p--;
		}
		start = p;
	}
	size_t end = start;
	for (size_t i = start; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = 0;
		json_t *j = json_loads(buf + end, 0, NULL);
		end = i + 1;
		if (!j)
			continue;
		size_t n = json_string_length(json_object_get(j, "log"));
		const char *text = json_string_value(json_object_get(j, "log"));
		FILE *f = !strcmp(state_str(j, "stream"), "stderr") ? stderr : stdout;
		if (timestamps)
			fprintf(f, "%s ", state_str(j, "time"));
		if (text)
			fwrite(text, 1, n, f);
		fflush(f);
		json_decref(j);
	}
	*offset = end; /* a half-written last line waits for the next round */
	free(buf);
	return 0;
}

int cmd_logs(const struct md_opts *o, int argc, char **argv)
{
	int follow = 0, timestamps = 0, i, k;
	long tail = -1;
	const char *usage = "logs [-f] [--tail N] [-t] CONTAINER";
	enum { FOLLOW, TIMESTAMPS, TAIL };
	static const struct md_option options[] = {
	    [FOLLOW] = {"follow", 'f', MD_FLAG},
	    [TIMESTAMPS] = {"timestamps", 't', MD_FLAG},
	    [TAIL] = {"tail", 'n', MD_VALUE},
	};
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "logs", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0) {
		switch (k) {
		case FOLLOW:
			follow = 1;
			break;
		case TIMESTAMPS:
			timestamps = 1;
			break;
		case TAIL:
			tail = !strcmp(g.value, "all") ? -1 : atol(g.value);
			break;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i != argc - 1)
		return usage_fail(usage), EXIT_ENGINE;
	char id[65];
	json_t *j = load_or_complain(o, argv[i], id);
	if (!j)
		return 1;
	const char *log = state_str(j, "log_path");
	if (!*log) {
		fprintf(stderr,
			"mini-docker: %s ran in the foreground: its output went to the terminal, "
			"there is no log "
			"(run -d keeps one)\n",
			argv[i]);
		json_decref(j);
		return 1;
	}
	char *path = xstrdup(log);
	json_decref(j);
	off_t offset = 0;
	print_entries(path, &offset, tail, timestamps);
	while (follow) {
		json_t *s = state_load(o, id);
		int running = s && !strcmp(state_status(s, NULL), "running");
		json_decref(s);
		usleep(100000);
		print_entries(path, &offset, -1, timestamps);
		if (!running)
			break; /* a last read after it ended: the monitor flushed everything */
	}
	free(path);
	return 0;
}

/* ---- stop, kill, wait ---- */

/* Until PID is gone (pidfd_open(2) + poll: we are not its parent), at most MS ms; 1 when it went */
static int wait_gone(pid_t pid, const char *start, int ms)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);
	char now[32];
	proc_start_time(pid, now, sizeof(now));
	if (fd < 0 || strcmp(now, start)) { /* gone already, or another process by now */
		if (fd >= 0)
			close(fd);
		return !strcmp(now, "0") || strcmp(now, start);
	}
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	int r;
	while ((r = poll(&pf, 1, ms)) < 0 && errno == EINTR)
		;
	close(fd);
	if (r > 0)
		return 1;
	proc_start_time(pid, now, sizeof(now));
	return !strcmp(now, "0");
}

/* The monitor writes the exit status once the container is gone: wait for it (bounded). */
static void wait_recorded(const struct md_opts *o, const char *id)
{
	for (int k = 0; k < 100; k++) {
		json_t *j = state_load(o, id);
		const char *st = j ? state_status(j, NULL) : "exited";
		int done = strcmp(st, "running") && !state_alive(j, "monitor_pid", "monitor_start");
		json_decref(j);
		if (done || !j)
			return;
		usleep(50000);
	}
}

static int signal_one(const struct md_opts *o, const char *what, int sig, int timeout, int stop)
{
	char id[65];
	json_t *j = load_or_complain(o, what, id);
	pid_t pid;
	if (!j)
		return 1;
	const char *st = state_status(j, &pid);
	char start[32];
	snprintf(start, sizeof(start), "%s", state_str(j, "pid_start"));
	if (!pid) {
		json_decref(j);
		if (stop) { /* docker stop of a stopped container is fine */
			printf("%s\n", what);
			return 0;
		}
		fprintf(stderr, "mini-docker: container %s is not running (%s)\n", what, st);
		return 1;
	}
	if (sig == 0)
		sig = atoi(state_str(j, "stop_signal")) ?: SIGTERM;
	json_decref(j);
	/* narrate's two formats read the same arguments */
	narrate("kill(%d, SIG%s)", "kill -%2$s %1$d", pid, signal_name(sig) + 3);
	if (kill(pid, sig) < 0 && errno != ESRCH) {
		fprintf(stderr, "mini-docker: kill %s %s: %s\n", signal_name(sig), what,
			strerror(errno));
		return 1;
	}
	if (stop) {
		/* PID 1 of a namespace ignores signals it has no handler for: then the timeout, then SIGKILL */
		if (!wait_gone(pid, start, timeout * 1000)) {
			narrate("kill(%d, SIGKILL)  # %d s passed", "kill -KILL %d", pid, timeout,
				pid);
			kill(pid, SIGKILL);
			wait_gone(pid, start, 10000);
		}
		wait_recorded(o, id);
	}
	printf("%s\n", what);
	return 0;
}

int cmd_stop(const struct md_opts *o, int argc, char **argv)
{
	int i, k, rc = 0, timeout = -1;
	const char *usage = "stop [-t SECS] CONTAINER...";
	static const struct md_option options[] = {{"time", 't', MD_VALUE},
						   {"timeout", 0, MD_VALUE}};
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "stop", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0) { /* -t, --time, --timeout: the same */
		char *end;
		if ((timeout = strtol(g.value, &end, 10)) < 0 || *end || !*g.value)
			return usage_fail(usage), EXIT_ENGINE;
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i == argc)
		return usage_fail(usage), EXIT_ENGINE;
	for (; i < argc; i++) {
		int t = timeout;
		if (t < 0) { /* the container's own --stop-timeout, else docker's 10 s */
			char id[65];
			struct md_error err;
			json_t *j =
			    state_find(o, argv[i], id, &err) == 0 ? state_load(o, id) : NULL;
			t = j && *state_str(j, "stop_timeout") ? atoi(state_str(j, "stop_timeout"))
							       : 10;
			json_decref(j);
		}
		rc |= signal_one(o, argv[i], 0, t, 1);
	}
	return rc;
}

int cmd_kill(const struct md_opts *o, int argc, char **argv)
{
	int i, k, rc = 0, sig = SIGKILL;
	const char *usage = "kill [-s SIGNAL] CONTAINER...";
	static const struct md_option options[] = {{"signal", 's', MD_VALUE}};
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "kill", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0)
		if ((sig = parse_signal(g.value)) < 0)
			return usage_fail(usage), EXIT_ENGINE;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i == argc)
		return usage_fail(usage), EXIT_ENGINE;
	for (; i < argc; i++)
		rc |= signal_one(o, argv[i], sig, 0, 0);
	return rc;
}

int cmd_wait(const struct md_opts *o, int argc, char **argv)
{
	int rc = 0, k;
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "wait", "wait CONTAINER...", NULL, 0, MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0)
		; /* none but --help */
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	if (g.optind == argc)
		return usage_fail("wait CONTAINER..."), EXIT_ENGINE;
	for (int i = g.optind; i < argc; i++) {
		char id[65];
		json_t *j = load_or_complain(o, argv[i], id);
		pid_t pid;
		if (!j) {
			rc = 1;
			continue;
		}
		state_status(j, &pid);
		char start[32];
		snprintf(start, sizeof(start), "%s", state_str(j, "pid_start"));
		json_decref(j);
		if (pid)
			while (!wait_gone(pid, start, 1000))
				;
		wait_recorded(o, id);
		j = state_load(o, id);
		const char *st = j ? state_status(j, NULL) : "removed";
		/* dead: the monitor was killed, and the container with it (SIGKILL: 137) */
		printf("%s\n", !strcmp(st, "dead")	    ? "137"
			       : *state_str(j, "exit_code") ? state_str(j, "exit_code")
							    : "0");
		json_decref(j);
	}
	return rc;
}

/* ---- rm ---- */

int cmd_container_rm(const struct md_opts *o, int argc, char **argv)
{
	int force = 0, i, k, rc = 0;
	const char *usage = "rm [-f] [-v] CONTAINER...";
	enum { FORCE, VOLUMES };
	static const struct md_option options[] = {
	    [FORCE] = {"force", 'f', MD_FLAG}, [VOLUMES] = {"volumes", 'v', MD_FLAG}};
	struct md_getopt g;
	struct md_error opt_err;
	/* docker rm ID -f too: options anywhere */
	md_getopt_init(&g, "rm", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0)
		force |= k == FORCE; /* -v: the anonymous volumes go with the container anyway */
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i == argc)
		return usage_fail(usage), EXIT_ENGINE;
	for (; i < argc; i++) {
		char id[65];
		struct md_error err;
		pid_t pid, mon;
		if (state_find(o, argv[i], id, &err) < 0) {
			fprintf(stderr, "mini-docker: %s\n", err.msg);
			rc = 1;
			continue;
		}
		json_t *j = state_load(o, id);
		if (!j) /* a half-made or damaged container: still removable */
			j = json_object();
		state_status(j, &pid);
		if (pid && !force) {
			fprintf(stderr,
				"mini-docker: container %s is running: stop it first, or rm -f "
				"kills it\n",
				argv[i]);
			json_decref(j);
			rc = 1;
			continue;
		}
		char start[32];
		snprintf(start, sizeof(start), "%s", state_str(j, "pid_start"));
		if (pid) {
			narrate("kill(%d, SIGKILL)", "kill -KILL %d", pid);
			kill(pid, SIGKILL);
			wait_gone(pid, start, 10000);
		}
		/* its monitor records the end (and with --rm removes it): let it finish, else stop it */
		if ((mon = state_alive(j, "monitor_pid", "monitor_start"))) {
			char mstart[32];
			snprintf(mstart, sizeof(mstart), "%s", state_str(j, "monitor_start"));
			if (!wait_gone(mon, mstart, 5000)) {
				kill(mon, SIGKILL);
				wait_gone(mon, mstart, 5000);
			}
		}
		/* a foreground run records the end too: let it (it is someone's terminal: never killed) */
		if ((mon = state_alive(j, "engine_pid", "engine_start"))) {
			char estart[32];
			snprintf(estart, sizeof(estart), "%s", state_str(j, "engine_start"));
			wait_gone(mon, estart, 5000);
		}
		json_decref(j);
		struct container c = {.o = o};
		snprintf(c.id, sizeof(c.id), "%s", id);
		j = state_load(o, id);
		snprintf(c.name, sizeof(c.name), "%s", state_str(j, "name"));
		json_decref(j);
		ipam_release(o, id);
		c.dir = xasprintf("%s/containers/%s", o->root, id);
		container_destroy(&c, NULL); /* also when the directory went already: the name goes */
		free(c.dir);
		printf("%s\n", argv[i]);
	}
	return rc;
}

/* ---- inspect ---- */

static json_t *ports_json(const char *text)
{
	json_t *ports = json_object();
	char *copy = xstrdup(text), *save, *p;
	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char ip[64], proto[8];
		int host, ctr;
		while (*p == ' ')
			p++;
		char *arrow = strstr(p, "->"), *colon;
		if (!arrow)
			continue;
		*arrow = 0;
		colon = strrchr(p, ':');
		if (!colon || sscanf(colon + 1, "%d", &host) != 1 ||
		    sscanf(arrow + 2, "%d/%7s", &ctr, proto) != 2)
			continue;
		*colon = 0;
		snprintf(ip, sizeof(ip), "%s", p[0] == '[' ? p + 1 : p);
		ip[strcspn(ip, "]")] = 0;
		char key[32], hp[16];
		snprintf(key, sizeof(key), "%d/%s", ctr, proto);
		snprintf(hp, sizeof(hp), "%d", host);
		json_t *list = json_object_get(ports, key);
		if (!list)
			json_object_set_new(ports, key, list = json_array());
		json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hp));
	}
	free(copy);
	return ports;
}

static json_t *inspect_one(const struct md_opts *o, const char *id, json_t *j)
{
	pid_t pid;
	const char *st = state_status(j, &pid);
	json_t *args = json_loads(state_str(j, "args"), 0, NULL);
	const char *path = "";
	if (!json_is_array(args)) {
		json_decref(args);
		args = json_array();
	}
	if (json_array_size(args))
		path = json_string_value(json_array_get(args, 0));
	json_t *out = json_pack(
	    "{s:s,s:s,s:s,s:O,s:{s:s,s:b,s:b,s:i,s:i,s:s,s:s},s:s,s:s,s:s,s:{s:s,s:s,s:s},"
	    "s:{s:s,s:s,s:i,s:s,s:o},s:s,s:s}",
	    "Id", id, "Created", state_str(j, "created"), "Path", path, "Args", args, "State",
	    "Status", st, "Running", !strcmp(st, "running"), "Dead", !strcmp(st, "dead"), "Pid",
	    (int)pid, "ExitCode", !strcmp(st, "dead") ? 137 : atoi(state_str(j, "exit_code")),
	    "StartedAt", state_str(j, "started_at"), "FinishedAt", state_str(j, "finished_at"),
	    "Name", state_str(j, "name"), "Image", state_str(j, "image"), "LogPath",
	    state_str(j, "log_path"), "Config", "Hostname", state_str(j, "hostname"), "StopSignal",
	    signal_name(atoi(state_str(j, "stop_signal")) ?: SIGTERM), "Cmd",
	    state_str(j, "command"), "NetworkSettings", "IPAddress", state_str(j, "ip"),
	    "GlobalIPv6Address", state_str(j, "ip6"), "IPPrefixLen",
	    *state_str(j, "ip") ? BRIDGE_PREFIX : 0, "Bridge",
	    *state_str(j, "ip") ? BRIDGE_NAME : "", "Ports", ports_json(state_str(j, "ports")),
	    "Network", state_str(j, "network"), "MonitorPid", state_str(j, "monitor_pid"));
	json_decref(args);
	(void)o;
	return out;
}

int cmd_container_inspect(const struct md_opts *o, int argc, char **argv)
{
	json_t *all = json_array();
	int containers = 0, k;
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "inspect", "inspect CONTAINER|IMAGE...", NULL, 0, MD_ANYWHERE, argc,
		       argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0)
		; /* none but --help */
	if (k != MD_OPT_END) {
		json_decref(all);
		return md_getopt_status(k, &opt_err);
	}
	argv += g.optind - 1; /* argv[1..] the operands, as cmd_inspect reads them */
	argc -= g.optind - 1;
	for (int i = 1; i < argc; i++) {
		char id[65];
		struct md_error err;
		json_t *j;
		if (argv[i][0] != '-' && state_find(o, argv[i], id, &err) == 0 &&
		    (j = state_load(o, id))) {
			json_array_append_new(all, inspect_one(o, id, j));
			json_decref(j);
			containers++;
		}
	}
	if (containers == 0) { /* not a container: an image, as docker inspect does */
		json_decref(all);
		return cmd_inspect(o, argc, argv);
	}
	char *text = json_dumps(all, JSON_INDENT(4));
	printf("%s\n", text);
	free(text);
	json_decref(all);
	return containers == argc - 1 ? 0 : 1;
}
