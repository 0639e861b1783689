/*
 * stop.c: docker's commands that act on a container, without a daemon to ask:
 *
 *     $ mini-docker stop [-t SECS] CONTAINER...    # StopSignal, then SIGKILL
 *     $ mini-docker kill [-s SIGNAL] CONTAINER...
 *     $ mini-docker wait CONTAINER...              # prints the exit codes
 *     $ mini-docker rm [-f] [-v] CONTAINER...
 *
 * Each reads state.json (state.c) and signals the PIDs it names, after checking
 * that they are still the same processes (their start time).
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
#include "ipam.h"
#include "narrate.h"
#include "opts.h"
#include "record.h"
#include "signals.h"
#include "state.h"
#include "stop.h"
#include "util.h"

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

/* A container stop has signalled and waits for: every one is signalled first, as docker's CLI does */
struct stopping {
	char id[65], start[32];
	pid_t pid;	 /* 0: not running (docker stop of a stopped container is fine) */
	long long until; /* CLOCK_MONOTONIC ms: then SIGKILL */
};

/*
 * Send SIG (0: the container's StopSignal) to container WHAT's PID 1. kill
 * prints WHAT then; stop (S given) records what to wait for in S instead.
 */
static int signal_one(const struct md_opts *o, const char *what, int sig, struct stopping *s)
{
	char id[65];
	json_t *j = state_open_said(o, what, id);
	pid_t pid;
	if (!j)
		return 1;
	const char *st = state_status(j, &pid);
	char start[32];
	snprintf(start, sizeof(start), "%s", state_str(j, "pid_start"));
	if (!pid) {
		json_decref(j);
		if (s) {
			s->pid = 0;
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
	if (!s) {
		printf("%s\n", what);
		return 0;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->start, sizeof(s->start), "%s", start);
	s->pid = pid;
	return 0;
}

/* Wait for a container stop signalled: PID 1 of a namespace ignores a signal it has no handler for, so at S's deadline SIGKILL */
static void stop_wait(const struct md_opts *o, const struct stopping *s, int timeout)
{
	if (!s->pid)
		return;
	long long left = s->until - monotonic_ms();
	if (!wait_gone(s->pid, s->start, left > 0 ? (int)left : 0)) {
		narrate("kill(%d, SIGKILL)  # %d s passed", "kill -KILL %d", s->pid, timeout, s->pid);
		kill(s->pid, SIGKILL);
		wait_gone(s->pid, s->start, 10000);
	}
	wait_recorded(o, s->id);
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
			return md_usage(usage), EXIT_ENGINE;
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i == argc)
		return md_usage(usage), EXIT_ENGINE;
	int n = argc - i;
	struct stopping *s = xcalloc(n, sizeof(*s));
	int *t = xcalloc(n, sizeof(*t)), *ok = xcalloc(n, sizeof(*ok));
	/* every container gets its signal first, then each is waited for until its own deadline: N containers take the longest timeout, not the sum */
	for (k = 0; k < n; k++) {
		t[k] = timeout;
		if (t[k] < 0) { /* the container's own --stop-timeout, else docker's 10 s */
			char id[65];
			struct md_error err;
			json_t *j =
			    state_find(o, argv[i + k], id, &err) == 0 ? state_load(o, id) : NULL;
			t[k] = j && *state_str(j, "stop_timeout") ? atoi(state_str(j, "stop_timeout"))
								  : 10;
			json_decref(j);
		}
		ok[k] = signal_one(o, argv[i + k], 0, &s[k]) == 0;
		s[k].until = monotonic_ms() + t[k] * 1000LL;
		rc |= !ok[k];
	}
	for (k = 0; k < n; k++)
		if (ok[k]) {
			stop_wait(o, &s[k], t[k]);
			printf("%s\n", argv[i + k]);
		}
	free(s), free(t), free(ok);
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
			return md_usage(usage), EXIT_ENGINE;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i == argc)
		return md_usage(usage), EXIT_ENGINE;
	for (; i < argc; i++)
		rc |= signal_one(o, argv[i], sig, NULL);
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
		return md_usage("wait CONTAINER..."), EXIT_ENGINE;
	for (int i = g.optind; i < argc; i++) {
		char id[65];
		json_t *j = state_open_said(o, argv[i], id);
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
		return md_usage(usage), EXIT_ENGINE;
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
