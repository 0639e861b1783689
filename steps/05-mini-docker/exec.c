/*
 * exec.c: `mini-docker exec`, a new process inside a running container.
 *
 *     $ docker exec <CONTAINER-ID> <COMANDO>        # the slides
 *     $ mini-docker exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...
 *     $ nsenter -t PID --all setpriv ... CMD        # what it does, by hand
 *
 * A container is a process and the namespaces around it, so joining one is
 * joining those namespaces, as nsenter(1) does, plus the rest of what makes it
 * that container:
 *   1. its cgroup: we write our PID into its cgroup.procs (limits apply to us too)
 *   2. its namespaces: setns(2) on a pidfd of its PID 1 with every flag at once
 *      (Linux 5.8; one file of /proc/PID/ns at a time before that); a new PID
 *      namespace holds only the children made after setns, hence the fork
 *   3. its user, environment and working directory (from the container's own
 *      /etc/passwd: the mount namespace is joined by then)
 *   4. its capabilities, no_new_privs and seccomp filter, made again from the
 *      options run was given (security.c)
 * Until the command's execve the joining process runs our binary inside the
 * container, with the container's capabilities: it is not dumpable from before
 * it joins (nothing inside may ptrace it or open its /proc/PID/exe), its
 * seccomp filter is loaded before the fork that makes it visible there, and it
 * closes every descriptor the caller gave it.
 * The exit status is the command's, as docker exec's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "become.h"
#include "container.h"
#include "exec.h"
#include "narrate.h"
#include "opts.h"
#include "pty.h"
#include "security.h"
#include "state.h"
#include "util.h"

/* Only in an ASan build (make SAN=1): LeakSanitizer checks for leaks at exit
 * from a tracer it clones, and after setns(CLONE_NEWPID) that clone is born in
 * the container's PID namespace, where it cannot see us: it quits and we would
 * wait for it for ever. So exec checks before it joins; elsewhere this is NULL. */
extern void __lsan_do_leak_check(void) __attribute__((weak));

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	int flag;
	const char *name;
} all_ns[] = {
    {CLONE_NEWUSER, "user"}, {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWIPC, "ipc"},
    {CLONE_NEWUTS, "uts"},   {CLONE_NEWNET, "net"},	  {CLONE_NEWPID, "pid"},
    {CLONE_NEWTIME, "time"}, {CLONE_NEWNS, "mnt"},
};

/* The namespaces where PID differs from us: joining one's own user namespace is an error. */
static int ns_flags(pid_t pid)
{
	int flags = 0;
	for (size_t i = 0; i < sizeof(all_ns) / sizeof(all_ns[0]); i++) {
		char path[64], self[64];
		struct stat a, b;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, all_ns[i].name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", all_ns[i].name);
		if (stat(path, &a) == 0 && stat(self, &b) == 0 && a.st_ino != b.st_ino)
			flags |= all_ns[i].flag;
	}
	return flags;
}

static int join_namespaces(pid_t pid, const char *start, struct md_error *err)
{
	int flags = ns_flags(pid);
	/* EXERCISE 05.7: exec: join the running container's namespaces, as nsenter --target PID --all
	 * hint: nsenter --target PID --all: a pidfd can name every namespace of a process at once
	 * more: pidfd = pidfd_open(pid) (syscall(SYS_pidfd_open, pid, 0)); check proc_start_time(pid) still equals
	 * more: start (the PID may be reused); setns(pidfd, flags) joins them all (Linux 5.8). Before 5.8: open
	 * more: /proc/PID/ns/NAME for each namespace in flags (all_ns[], the user namespace first), then
	 * more: setns(fd, its flag) one by one
	 * tests: 05-lifecycle
	 * stub: (void)flags; (void)start; return md_fail(err, "TODO 05.7: join the namespaces of PID %d", pid);
	 */
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	char now[32];
	/* the pidfd names the process for good; check it is still the container's PID 1 */
	proc_start_time(pid, now, sizeof(now));
	if (pidfd >= 0 && strcmp(now, start)) {
		close(pidfd);
		return md_fail(err, "the container's process %d is gone", pid);
	}
	narrate("setns(pidfd_open(%d), 0x%x)", "nsenter --target %d --all", pid, flags, pid);
	if (pidfd >= 0 && setns(pidfd, flags) == 0) {
		close(pidfd);
		return 0;
	}
	if (pidfd >= 0)
		close(pidfd);
	/* before Linux 5.8: one namespace file at a time, the user namespace first */
	int fds[8];
	for (size_t i = 0; i < 8; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, all_ns[i].name);
		fds[i] = flags & all_ns[i].flag ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	}
	int rc = 0;
	for (size_t i = 0; i < 8; i++) {
		if (fds[i] < 0)
			continue;
		if (!rc && setns(fds[i], all_ns[i].flag) < 0)
			rc = md_fail_errno(err, "setns(/proc/%d/ns/%s)", pid, all_ns[i].name);
		close(fds[i]);
	}
	return rc;
	/* END EXERCISE */
}

/* echo $$ > .../cgroup.procs for each of the container's cgroups (v2, or each v1 hierarchy) */
static int join_cgroups(const char *dirs, struct md_error *err)
{
	char *copy = xstrdup(dirs), *save, *d;
	int rc = 0;
	for (d = strtok_r(copy, " ", &save); d && !rc; d = strtok_r(NULL, " ", &save)) {
		char *procs = xasprintf("%s/cgroup.procs", d), pid[32];
		int fd = open(procs, O_WRONLY | O_CLOEXEC),
		    n = snprintf(pid, sizeof(pid), "%d", getpid());
		narrate("write(\"%s\", \"%s\")", "echo $$ > %s", procs, pid, procs);
		if (fd < 0 || write(fd, pid, n) != n)
			rc = md_fail_errno(err, "join the container's cgroup %s", procs);
		if (fd >= 0)
			close(fd);
		free(procs);
	}
	free(copy);
	return rc;
}

/* "a b c" -> rc->LIST */
static void split_into(const char *s, const char **list, int *n)
{
	char *copy = xstrdup(s), *save, *w;
	int first = *n;
	for (w = strtok_r(copy, " ", &save); w && *n < MAX_LIST; w = strtok_r(NULL, " ", &save))
		list[(*n)++] = w;
	if (*n == first) /* no word: nothing points into the copy */
		free(copy);
}

/* What exec was asked, and what it learned from the container's record. */
struct exec_job {
	const char *what; /* CONTAINER, as given */
	char **cmd;
	const char *workdir, *user;
	int interactive, tty;
	char *extra_env[MAX_LIST]; /* -e, resolved: K=V each (ours) */
	int n_extra;
	/* from state.json */
	struct run_config rc; /* what run was told: the same capabilities, seccomp filter, user */
	pid_t pid;
	char *start, *cgroups, *hostname, *own_user, *own_cwd; /* copies (ours) */
	const char *cwd;
	json_t *env;  /* the container's environment: a JSON array, as run wrote it */
	char **envp;  /* -t's TERM, that environment, then -e (a later K replaces an earlier one) */
};

/* -e K=V, or -e K: the caller's value of K (nothing when it has none), as docker exec */
static int exec_env(struct exec_job *x, const char *kv, struct md_error *err)
{
	if (x->n_extra >= MAX_LIST)
		return md_fail(err, "exec: more than %d -e options", MAX_LIST);
	if (kv[0] == '=' || !kv[0])
		return md_fail(err, "exec -e '%s': the variable has no name", kv);
	if (strchr(kv, '='))
		x->extra_env[x->n_extra++] = xstrdup(kv);
	else if (getenv(kv))
		x->extra_env[x->n_extra++] = xasprintf("%s=%s", kv, getenv(kv));
	return 0;
}

#define EXEC_USAGE "exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD..."

/* The command line: 1 to go on, else the exit status (0 after --help). */
static int exec_parse(struct exec_job *x, int argc, char **argv)
{
	enum { INTERACTIVE, TTY, ENV, WORKDIR, USER };
	static const struct md_option options[] = {
	    [INTERACTIVE] = {"interactive", 'i', MD_FLAG},
	    [TTY] = {"tty", 't', MD_FLAG},
	    [ENV] = {"env", 'e', MD_VALUE},
	    [WORKDIR] = {"workdir", 'w', MD_VALUE},
	    [USER] = {"user", 'u', MD_VALUE},
	};
	struct md_error err;
	struct md_getopt g;
	int k;
	/* the first operand ends them: exec ID ls -l gives -l to ls */
	md_getopt_init(&g, "exec", EXEC_USAGE, options, MD_N(options), MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		switch (k) {
		case INTERACTIVE:
			x->interactive = 1;
			break;
		case TTY:
			x->tty = 1;
			break;
		case WORKDIR:
			x->workdir = g.value;
			break;
		case USER:
			x->user = g.value;
			break;
		case ENV:
			if (exec_env(x, g.value, &err) < 0) {
				fprintf(stderr, "mini-docker: %s\n", err.msg);
				return EXIT_ENGINE;
			}
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind < 2) {
		fprintf(stderr, "mini-docker: usage: mini-docker " EXEC_USAGE "\n");
		return EXIT_ENGINE;
	}
	if (x->workdir && x->workdir[0] != '/') {
		fprintf(stderr, "mini-docker: exec -w %s: give an absolute path\n", x->workdir);
		return EXIT_ENGINE;
	}
	x->what = argv[g.optind];
	x->cmd = argv + g.optind + 1;
	return 1;
}

/* The container's record: it must be running; what run was told comes back from it. */
static int exec_load(const struct md_opts *o, struct exec_job *x, struct md_error *err)
{
	char id[65];
	json_t *j = state_open(o, x->what, id, err);
	if (!j)
		return -1;
	if (strcmp(state_status(j, &x->pid), "running")) {
		md_fail(err, "container %s is not running (%s): exec needs a running container", x->what,
			state_status(j, NULL));
		json_decref(j);
		return -1;
	}
	struct run_config *rc = &x->rc;
	rc->o = o;
	split_into(state_str(j, "cap_add"), rc->cap_add, &rc->n_cap_add);
	split_into(state_str(j, "cap_drop"), rc->cap_drop, &rc->n_cap_drop);
	rc->privileged = !strcmp(state_str(j, "privileged"), "1");
	rc->nnp = strcmp(state_str(j, "no_new_privs"), "0") ? 1 : -1; /* a record without it: on */
	rc->no_seccomp = !strcmp(state_str(j, "no_seccomp"), "1");
	rc->userns = !strcmp(state_str(j, "userns"), "1");
	rc->user = x->user ? x->user : *state_str(j, "user") ? (x->own_user = xstrdup(state_str(j, "user"))) : NULL;
	x->cwd = x->workdir ? x->workdir : *state_str(j, "workdir") ? (x->own_cwd = xstrdup(state_str(j, "workdir"))) : "/";
	x->hostname = xstrdup(state_str(j, "hostname"));
	x->env = json_loads(state_str(j, "env"), 0, NULL); /* a value may hold a newline */
	x->envp = xcalloc(json_array_size(x->env) + x->n_extra + 2, sizeof(*x->envp));
	size_t ne = 0;
	if (x->tty)
		x->envp[ne++] = "TERM=xterm";
	for (size_t k = 0; k < json_array_size(x->env); k++)
		if (json_is_string(json_array_get(x->env, k)))
			x->envp[ne++] = (char *)json_string_value(json_array_get(x->env, k));
	for (int k = 0; k < x->n_extra; k++)
		x->envp[ne++] = x->extra_env[k];
	x->start = xstrdup(state_str(j, "pid_start"));
	x->cgroups = xstrdup(state_str(j, "cgroups"));
	json_decref(j);
	return caps_parse(rc, err) < 0 || seccomp_prepare(rc, err) < 0 ? -1 : 0;
}

/*
 * Become part of the container, in order: its cgroup, non-dumpable, its
 * namespaces (exec_join, mini-runc exec's too), a pty of its devpts (-t), its seccomp filter. Our own process
 * from here on only forks, waits and copies bytes.
 */
int exec_join(pid_t pid, const char *start, const char *cgroups, struct md_error *err)
{
	if (*cgroups && join_cgroups(cgroups, err) < 0)
		return -1;
	test_pause("exec-cgroup", getpid());
	/* from here to execve nothing in the container may trace us or open /proc/PID/exe, the
	 * engine's binary (CVE-2016-9962, CVE-2019-5736): a non-dumpable process is reachable only
	 * with CAP_SYS_PTRACE. It is kept over fork; execve of the command ends it, as runc init's. */
	narrate("prctl(PR_SET_DUMPABLE, 0)",
		"# until execve: no ptrace, no /proc/PID/exe from the container");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return md_fail_errno(err, "prctl(PR_SET_DUMPABLE, 0)");
	return join_namespaces(pid, start, err);
}

static int exec_enter(struct exec_job *x, int *master, int *slave, struct md_error *err)
{
	/* make SAN=1: now, not at exit (see above). Not in exec_join: mini-runc joins in a child
	 * that never exits through atexit, and there a check reported the parent's live JSON as leaked */
	if (__lsan_do_leak_check)
		__lsan_do_leak_check();
	if (exec_join(x->pid, x->start, x->cgroups, err) < 0)
		return -1;
	/* -t: a pty of the container's own devpts (we are in its mount namespace now) */
	if (x->tty) {
		int unlock = 0;
		*master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (*master < 0 || ioctl(*master, TIOCSPTLCK, &unlock) < 0 ||
		    (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			return md_fail_errno(err, "a pty in the container (/dev/pts/ptmx)");
		struct winsize ws; /* our size before the fork: the command never sees 0x0 */
		if (pty_our_size(&ws) && ioctl(*master, TIOCSWINSZ, &ws) < 0)
			return md_fail_errno(err, "set the pty's size");
	}
	/* the filter before the fork: the child is born under it, so no process of the container
	 * ever sees it unfiltered (it applies to us too) */
	seccomp_apply(&x->rc);
	return 0;
}

/* Fork the command's process (become.c takes it to execve); its status is ours. */
static int exec_run(struct exec_job *x, int master, int slave, struct md_error *err)
{
	fflush(stdout);
	fflush(stderr);
	narrate("fork()", "# the child is born in the container's PID namespace");
	pid_t child = fork();
	if (child < 0)
		return md_fail_errno(err, "fork");
	if (child == 0) {
		if (master >= 0)
			close(master);
		become_command(&x->rc, &(struct become){
			.argv = x->cmd, .envp = x->envp, .cwd = x->cwd, .hostname = x->hostname,
			.interactive = x->interactive, .slave = slave, .pause = "exec",
			.engine = getpid(), /* our PID inside: where the container would aim */
			.life_line = -1, .ready = -1, .gate = -1,
		});
	}
	if (slave >= 0)
		close(slave);
	if (master >= 0)
		pty_pump(master, x->interactive, child);
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return md_fail_errno(err, "waitpid");
	pty_restore();
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* our copies (the child had its own): a short life, but valgrind counts them lost */
static void exec_free(struct exec_job *x)
{
	free(x->own_user);
	free(x->own_cwd);
	free(x->hostname);
	json_decref(x->env);
	free(x->envp);
	for (int k = 0; k < x->n_extra; k++)
		free(x->extra_env[k]);
	free(x->start);
	free(x->cgroups);
}

int cmd_exec(const struct md_opts *o, int argc, char **argv)
{
	static struct exec_job x;
	struct md_error err;
	int master = -1, slave = -1, result = exec_parse(&x, argc, argv);
	if (result != 1) {
		exec_free(&x);
		return result;
	}
	if (exec_load(o, &x, &err) < 0) {
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		result = EXIT_ENGINE;
	} else if (exec_enter(&x, &master, &slave, &err) < 0 || (result = exec_run(&x, master, slave, &err)) < 0) {
		fprintf(stderr, "mini-docker: exec %s: %s\n", x.what, err.msg);
		result = EXIT_ENGINE;
	}
	exec_free(&x);
	return result;
}
