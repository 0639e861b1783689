/*
 * narrate.c: watching the engine work, from outside.
 *
 * -v narrates each step as two columns: the call mini-docker makes and the
 * shell command that does the same, as box's say() in steps 01-04:
 *
 *     => clone(CLONE_NEWPID|CLONE_NEWNS|...)         $ unshare --pid --mount --fork ...
 *     => GET http://127.0.0.1:5000/v2/               $ curl -L http://127.0.0.1:5000/v2/
 *
 * Both halves (images and containers) narrate here; main sets md_verbose once.
 * test_pause() lets the fault tests stop the engine at a named point.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "narrate.h"
#include "util.h"

int md_verbose;

/* copy of step 01's say() (steps/01-chroot/box.c); scripts/check-copies */
void narrate(const char *call, const char *shell, ...)
{
	char buf[1024];
	va_list ap, again;
	if (!md_verbose)
		return;
	va_start(ap, shell);
	va_copy(again, ap);
	vsnprintf(buf, sizeof(buf), call, ap);
	fprintf(stderr, "=> %-44s", buf);
	vsnprintf(buf, sizeof(buf), shell, again);
	va_end(again);
	va_end(ap);
	fprintf(stderr, " $ %s\n", buf);
}

/*
 * Fault injection, for tests/05-faults.bats only: with MINI_DOCKER_TEST_PAUSE=POINT:FILE
 * the process reaching POINT writes ENGINE (the PID to SIGKILL: the foreground
 * run, or run -d's monitor) to FILE and waits there for a SIGCONT, so the test
 * kills the engine exactly there instead of guessing with sleeps. POINTs, in
 * order: record (record.c: state.json written, not yet renamed into place),
 * created (the record and the name, nothing else yet), cgroup (made, no
 * process yet), cloned (the child waits for its go),
 * network (the veth is up), mounts (the child has its rootfs, /proc, /dev), user
 * (the child has its new uid, before it sets its parent-death signal again);
 * and in exec: exec-cgroup (joined the cgroup; writes exec's PID), exec (the
 * joining child, in the container, before it closes the caller's descriptors
 * and calls execve; writes its PID as the container sees it).
 * Not SIGSTOP: PID 1 of a namespace ignores the signals it has no handler for.
 * FILE is opened at the point asked for, or at cgroup (run) or exec-cgroup (exec),
 * whatever the point: the last points that still see the host's files. The child,
 * after pivot_root (or exec's setns) and clearenv, uses the descriptor and the
 * value it inherited.
 */
static volatile sig_atomic_t resumed;

static void on_cont(int sig)
{
	(void)sig;
	resumed = 1;
}

void test_pause(const char *point, pid_t engine)
{
	static int fd = -1;
	static char *v; /* the child clears its environment: keep the value */
	size_t n = strlen(point);
	char line[32];
	if (!v && getenv("MINI_DOCKER_TEST_PAUSE"))
		v = xstrdup(getenv("MINI_DOCKER_TEST_PAUSE"));
	if (!v || !strchr(v, ':'))
		return;
	int match = !strncmp(v, point, n) && v[n] == ':';
	/* the last points on the host's files: past them, exec and the child see the container's */
	if (fd < 0 && (match || !strcmp(point, "cgroup") || !strcmp(point, "exec-cgroup")))
		fd = open(strchr(v, ':') + 1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!match)
		return;
	struct sigaction sa = {.sa_handler = on_cont}, old;
	sigset_t cont, mask;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&cont);
	sigaddset(&cont, SIGCONT);
	sigprocmask(SIG_BLOCK, &cont, &mask);
	sigaction(SIGCONT, &sa, &old);
	resumed = 0;
	int len = snprintf(line, sizeof(line), "%d\n", (int)engine);
	(void)!write(fd, line, len);
	sigdelset(&mask, SIGCONT);
	while (!resumed)
		sigsuspend(&mask);
	sigaction(SIGCONT, &old, NULL);
	sigprocmask(SIG_UNBLOCK, &cont, NULL);
}
