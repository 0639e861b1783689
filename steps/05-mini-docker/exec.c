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

/* -e K=V, or -e K: the caller's value of K (nothing when it has none), as docker exec */
static int exec_env(const char *kv, char **list, int *n)
{
	if (*n >= MAX_LIST) {
		fprintf(stderr, "mini-docker: exec: more than %d -e options\n", MAX_LIST);
		return -1;
	}
	if (kv[0] == '=' || !kv[0]) {
		fprintf(stderr, "mini-docker: exec -e '%s': the variable has no name\n", kv);
		return -1;
	}
	if (strchr(kv, '='))
		list[(*n)++] = xstrdup(kv);
	else if (getenv(kv))
		list[(*n)++] = xasprintf("%s=%s", kv, getenv(kv));
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "mini-docker: usage: mini-docker exec [-i] [-t] [-e K=V] [-w DIR] [-u "
			"USER] CONTAINER CMD...\n");
	return EXIT_ENGINE;
}

int cmd_exec(const struct md_opts *o, int argc, char **argv)
{
	static struct run_config rc;
	struct md_error err;
	const char *workdir = NULL, *user = NULL;
	char *extra_env[MAX_LIST];
	int n_extra = 0, i, k, interactive = 0, tty = 0;
	enum { INTERACTIVE, TTY, ENV, WORKDIR, USER };
	static const struct md_option options[] = {
	    [INTERACTIVE] = {"interactive", 'i', MD_FLAG},
	    [TTY] = {"tty", 't', MD_FLAG},
	    [ENV] = {"env", 'e', MD_VALUE},
	    [WORKDIR] = {"workdir", 'w', MD_VALUE},
	    [USER] = {"user", 'u', MD_VALUE},
	};
	struct md_getopt g;
	/* the first operand ends them: exec ID ls -l gives -l to ls */
	md_getopt_init(&g, "exec", "exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...",
		       options, MD_N(options), MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		switch (k) {
		case INTERACTIVE:
			interactive = 1;
			break;
		case TTY:
			tty = 1;
			break;
		case WORKDIR:
			workdir = g.value;
			break;
		case USER:
			user = g.value;
			break;
		case ENV:
			if (exec_env(g.value, extra_env, &n_extra) < 0)
				return EXIT_ENGINE;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	i = g.optind;
	if (argc - i < 2)
		return usage();
	char id[65];
	json_t *j;
	pid_t pid;
	if (!(j = state_open(o, argv[i], id, &err))) {
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	if (strcmp(state_status(j, &pid), "running")) {
		fprintf(stderr,
			"mini-docker: container %s is not running (%s): exec needs a running "
			"container\n",
			argv[i], state_status(j, NULL));
		json_decref(j);
		return EXIT_ENGINE;
	}
	if (workdir && workdir[0] != '/') {
		json_decref(j);
		return fprintf(stderr, "mini-docker: exec -w %s: give an absolute path\n", workdir),
		       EXIT_ENGINE;
	}
	char **cmd = argv + i + 1;

	/* what run was told: the same capabilities, seccomp filter, user */
	rc.o = o;
	split_into(state_str(j, "cap_add"), rc.cap_add, &rc.n_cap_add);
	split_into(state_str(j, "cap_drop"), rc.cap_drop, &rc.n_cap_drop);
	rc.privileged = !strcmp(state_str(j, "privileged"), "1");
	rc.no_seccomp = !strcmp(state_str(j, "no_seccomp"), "1");
	rc.userns = !strcmp(state_str(j, "userns"), "1");
	/* the copies to free (the others are argv's, or "/") */
	char *own_user = NULL, *own_cwd = NULL;
	rc.user = user			  ? user
		  : *state_str(j, "user") ? (own_user = xstrdup(state_str(j, "user")))
					  : NULL;
	const char *cwd = workdir		     ? workdir
			  : *state_str(j, "workdir") ? (own_cwd = xstrdup(state_str(j, "workdir")))
						     : "/";
	char *hostname = xstrdup(state_str(j, "hostname"));
	/* a JSON array, as run wrote it: a value may hold a newline */
	json_t *env = json_loads(state_str(j, "env"), 0, NULL);
	/* -t's TERM, the container's environment, then -e (a later K replaces an earlier one) */
	char **envp = xcalloc(json_array_size(env) + n_extra + 2, sizeof(*envp));
	size_t ne = 0;
	if (tty)
		envp[ne++] = "TERM=xterm";
	for (size_t k = 0; k < json_array_size(env); k++)
		if (json_is_string(json_array_get(env, k)))
			envp[ne++] = (char *)json_string_value(json_array_get(env, k));
	for (int k = 0; k < n_extra; k++)
		envp[ne++] = extra_env[k];
	char *start = xstrdup(state_str(j, "pid_start"));
	char *cgroups = xstrdup(state_str(j, "cgroups"));
	json_decref(j);
	if (caps_parse(&rc, &err) < 0)
		goto fail;

	int joined = !*cgroups || join_cgroups(cgroups, &err) == 0;
	free(cgroups);
	if (!joined)
		goto fail;
	test_pause("exec-cgroup", getpid());
	if (__lsan_do_leak_check) /* make SAN=1: now, not at exit (see above) */
		__lsan_do_leak_check();
	/* from here to execve nothing in the container may trace us or open /proc/PID/exe, the
	 * engine's binary (CVE-2016-9962, CVE-2019-5736): a non-dumpable process is reachable only
	 * with CAP_SYS_PTRACE. It is kept over fork; execve of the command ends it, as runc init's. */
	narrate("prctl(PR_SET_DUMPABLE, 0)",
		"# until execve: no ptrace, no /proc/PID/exe from the container");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		md_fail_errno(&err, "prctl(PR_SET_DUMPABLE, 0)");
		goto fail;
	}
	if (join_namespaces(pid, start, &err) < 0)
		goto fail;
	/* -t: a pty of the container's own devpts (we are in its mount namespace now) */
	int master = -1, slave = -1;
	if (tty) {
		int unlock = 0;
		master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
		    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
			md_fail_errno(&err, "a pty in the container (/dev/pts/ptmx)");
			goto fail;
		}
	}
	/* the filter before the fork: the child is born under it, so no process of the container
	 * ever sees it unfiltered (it applies to us too: we only wait and copy bytes from here) */
	seccomp_apply(&rc);
	fflush(stdout);
	fflush(stderr);
	narrate("fork()", "# the child is born in the container's PID namespace");
	pid_t child = fork();
	if (child < 0) {
		md_fail_errno(&err, "fork");
		goto fail;
	}
	if (child == 0) {
		if (master >= 0)
			close(master);
		become_command(&rc, &(struct become){
			.argv = cmd, .envp = envp, .cwd = cwd, .hostname = hostname, .interactive = interactive,
			.slave = slave, .pause = "exec", .engine = getpid(), /* our PID inside: where the container would aim */
			.life_line = -1,
		});
	}
	if (slave >= 0)
		close(slave);
	if (master >= 0)
		pty_pump(master, interactive, child);
	int status, result = EXIT_ENGINE;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			goto out;
	pty_restore();
	result = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	goto out;
fail:
	fprintf(stderr, "mini-docker: exec %s: %s\n", argv[i], err.msg);
	result = EXIT_ENGINE;
out:
	/* our copies (the child had its own): a short life, but valgrind counts them lost */
	free(own_user);
	free(own_cwd);
	free(hostname);
	json_decref(env);
	free(envp);
	for (int k = 0; k < n_extra; k++)
		free(extra_env[k]);
	free(start);
	return result;
}
