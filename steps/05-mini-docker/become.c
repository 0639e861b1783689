/*
 * become.c: the last steps of a container's process, shared by run and exec.
 *
 * run's child (ns.c, after pivot_root) and exec's child (exec.c, after it
 * joined the namespaces) end the same way: from "I am in the container" to
 * "I am the command". Both do it here, so they cannot drift apart:
 *
 *   the user     -u USER, from the container's own /etc/passwd and /etc/group
 *   the place    chdir WorkingDir (run makes it, as docker; exec's -w must exist)
 *   the env      only what the container was given: clearenv, then K=V in
 *                order (a later K replaces an earlier one), HOME, HOSTNAME
 *   stdin        the pty's slave (-t), else /dev/null unless -i
 *   privileges   setgroups, setgid, setuid, capabilities, no_new_privs
 *   descriptors  nothing of the caller's above 2 reaches the command
 *   seccomp      last before execve (run; exec's parent took it before fork)
 *   execve       127 not found, 126 not executable, as docker
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "become.h"
#include "container.h"
#include "narrate.h"
#include "pty.h"
#include "security.h"

/* mkdir -p inside the container (after pivot_root: "/" is the container's) */
static void make_workdir(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				child_die("WorkingDir %s: mkdir %s: %m", dir, path);
			*p = c;
			if (!c)
				break;
		}
	}
}

/* --init: a tiny init as PID 1 (tini, docker run --init): forwards signals, reaps orphans (step 03) */
/* copy of step 03's run_init() (steps/03-namespaces/box.c); scripts/check-copies */
static void run_init(void)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	narrate("fork()", "(the command becomes PID 2, the init stays PID 1)");
	pid_t cmd = fork();
	if (cmd < 0)
		child_die("fork: %m");
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	for (;;) {
		int sig = sigwaitinfo(&all, NULL);
		if (sig > 0 && sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == cmd)
				_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
	}
}

/*
 * mini-runc: `create` is done once we get here, `start` is the go. Opening a FIFO to
 * write blocks until someone opens it to read (fifo(7)): `start` does, as runc's
 * exec.fifo. The O_PATH fd was taken before pivot_root; /proc/self/fd reopens it.
 */
static void wait_for_start(const struct become *b)
{
	char path[64];
	if (b->ready >= 0 && (write(b->ready, "", 1) != 1 || close(b->ready) < 0))
		child_die("tell create we are ready: %m");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b->gate);
	narrate("open(\"exec.fifo\", O_WRONLY)", "# created: waiting for start");
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		child_die("wait for start on exec.fifo: %m");
	close(fd);
	close(b->gate);
}

void become_command(const struct run_config *rc, const struct become *b)
{
	uid_t uid = 0;
	gid_t gid = 0, groups[64];
	int n_groups = 0;
	char *home = NULL;
	if (b->ids) {
		uid = b->uid;
		gid = b->gid;
		for (n_groups = 0; n_groups < b->n_groups && n_groups < 64; n_groups++)
			groups[n_groups] = b->groups[n_groups];
	} else {
		user_resolve(rc, &uid, &gid, groups, &n_groups, &home);
	}
	if (b->make_cwd)
		make_workdir(b->cwd);
	narrate("chdir(\"%s\")", "cd %s", b->cwd);
	if (chdir(b->cwd) < 0)
		child_die("the working directory %s: %m", b->cwd);

	clearenv();
	for (char **e = b->envp; e && *e; e++)
		putenv(*e);
	if (!getenv("HOME"))
		setenv("HOME", home ? home : "/", 1);
	if (b->hostname && !getenv("HOSTNAME")) /* docker's; an OCI process gets its env as written */
		setenv("HOSTNAME", b->hostname, 1);

	if (b->slave >= 0)
		pty_child_attach(b->slave);
	else if (!b->interactive) { /* no -i: the command reads nothing, as docker's */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0)
			child_die("stdin from /dev/null: %m");
		close(null);
	}

	/* without no_new_privs the kernel loads a filter only for CAP_SYS_ADMIN: first, then */
	int filter_first = b->seccomp && !nnp_on(rc);
	if (filter_first)
		seccomp_apply(rc);
	security_apply(rc, uid, gid, groups, n_groups);
	test_pause(b->pause, b->engine);
	if (b->life_line >= 0) {
		/* a new uid (-u USER) cleared the parent-death signal: set it again, and if the
		 * engine died meanwhile (EOF on the sync pipe) nobody would send it, so go now
		 * (runc checks too) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (poll(&(struct pollfd){.fd = b->life_line, .events = POLLIN}, 1, 0) != 0)
			_exit(EXIT_ENGINE);
		close(b->life_line);
	}
	if (b->gate >= 0)
		wait_for_start(b);
	close_inherited_fds(b->preserve_fds);
	if (b->seccomp && !filter_first)
		seccomp_apply(rc);
	if (b->init)
		run_init();
	narrate("execvp(\"%s\", ...)", "exec %s", b->argv[0]);
	execvp(b->argv[0], b->argv);
	int e = errno;
	fprintf(stderr, "mini-docker: exec \"%s\": %s%s\n", b->argv[0], strerror(e),
		e == ENOENT && !strchr(b->argv[0], '/') ? " (not in the container's $PATH)" : "");
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}
