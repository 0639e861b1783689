/*
 * signals.c: the engine between the terminal and the container.
 *
 * A foreground `mini-docker run` stands where the container's command would:
 * a `kill` or a Ctrl-C meant for the command reaches the engine. As docker's
 * client does (--sig-proxy), the engine passes them on, and waits for the
 * container's init to report its status as its own (128+N for a signal N).
 *
 *   signals_hold     from the moment the record exists: block, keep what comes
 *   signals_open     let them in: around clone(2), and while run -t pumps the terminal
 *   signals_release  the container exists: pass on what came
 *   signals_wait     wait for it, forwarding; 128+N as a shell reports it
 *   signals_restore  run -d's starter: back to default
 *   signals_child    in the container's first process: not the engine's handlers
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mini-docker.h"
#include "narrate.h"
#include "signals.h"

static volatile pid_t child_pid;
static volatile sig_atomic_t pending_sig;
static volatile sig_atomic_t came; /* signals that came before the container existed: bit N for signal N */
static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
static const int terminal[] = {SIGINT, SIGQUIT}; /* Ctrl-C, Ctrl-\ */
static struct sigaction terminal_was[2];
static sigset_t open_mask, held_mask; /* the mask we were started with (the container gets it back); with the held */

/* Signals sent to mini-docker (kill PID-OF-MINI-DOCKER) are passed on to the container, or kept for it. */
static void forward(int sig)
{
	if (child_pid > 0) {
		kill(child_pid, sig);
		pending_sig = sig;
	} else {
		came |= (sig_atomic_t)(1u << sig);
	}
}

static void on_child(int sig)
{
	(void)sig; /* only to end signals_wait's sigsuspend */
}

/*
 * From the moment the container's record exists, a signal must neither kill the
 * engine half-way (a Ctrl-C would leave a record that --rm promised to remove)
 * nor be forwarded to a container that does not exist yet (and be lost). So the
 * forwarded signals, SIGINT, SIGQUIT and SIGCHLD are blocked (held by the kernel
 * as pending) until the container's PID is known; then signals_release() passes
 * on what came, and signals_wait() takes the rest in sigsuspend(2) only, where none
 * can slip between a look at pending_sig and the wait. Threads started after
 * this (the log, the port proxy) inherit the mask: the main thread gets them all.
 * SIGINT and SIGQUIT our caller ignores (a background job of a shell) stay ignored.
 */
void signals_hold(void)
{
	struct sigaction sa = {.sa_handler = forward}; /* no SA_RESTART: sigsuspend returns */
	sigemptyset(&held_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&held_mask, forwarded[i]);
	sigaddset(&held_mask, SIGINT);
	sigaddset(&held_mask, SIGQUIT);
	sigaddset(&held_mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &held_mask, &open_mask);
	sigprocmask(SIG_BLOCK, NULL, &held_mask);
	sa.sa_mask = held_mask; /* one handler at a time: `came` is theirs */
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	for (size_t i = 0; i < sizeof(terminal) / sizeof(terminal[0]); i++)
		if (sigaction(terminal[i], NULL, &terminal_was[i]) == 0 && terminal_was[i].sa_handler != SIG_IGN)
			sigaction(terminal[i], &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
}

/*
 * Let the held signals in (OPEN 1) or hold them again (0). ns.c, around
 * clone(2): the child must not start with them blocked (it would stay deaf to
 * them until it resets its mask, and the engine could forward one meanwhile);
 * for those microseconds forward() keeps what comes in `came`, for
 * signals_release(). run -t: they act at once while the terminal is pumped.
 */
void signals_open(int open)
{
	sigprocmask(SIG_SETMASK, open ? &open_mask : &held_mask, NULL);
}

/*
 * The container is PID: what came goes to it. A Ctrl-C from now on reaches it
 * from the terminal itself (same process group), so the engine ignores SIGINT and
 * SIGQUIT; one that came before, the container never saw: pass it on.
 */
void signals_release(pid_t pid)
{
	sigset_t pending;
	child_pid = pid;
	sigpending(&pending);
	for (size_t i = 0; i < sizeof(terminal) / sizeof(terminal[0]); i++) {
		struct sigaction now;
		sigaction(terminal[i], NULL, &now);
		if (now.sa_handler == forward && sigismember(&pending, terminal[i]))
			came |= (sig_atomic_t)(1u << terminal[i]);
		signal(terminal[i], SIG_IGN); /* (a pending one is dropped) */
	}
	for (int sig = 1; sig < 32; sig++)
		if ((unsigned)came >> sig & 1) {
			kill(pid, sig);
			pending_sig = sig;
		}
	came = 0;
}

/* run -d's starter, which only relays the monitor's messages: signals act on it as on any command */
void signals_restore(void)
{
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		signal(forwarded[i], SIG_DFL);
	for (size_t i = 0; i < sizeof(terminal) / sizeof(terminal[0]); i++)
		sigaction(terminal[i], &terminal_was[i], NULL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
}

/* ns.c, in the container's first process: the engine's handlers and mask are not the command's */
void signals_child(void)
{
	static const int reset[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD};
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
}

/* Does PID catch (or block, as --init's sigwaitinfo does) SIG? From /proc/PID/status. */
static int handles(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask = 0, m;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if ((sscanf(line, "SigCgt: %llx", &m) == 1 || sscanf(line, "SigBlk: %llx", &m) == 1))
			mask |= m;
	if (f)
		fclose(f);
	return (mask >> (sig - 1)) & 1;
}

/*
 * Wait for the container's init; its exit status becomes ours (128+N when a
 * signal N killed it). PID 1 of a namespace gets only the signals it has a
 * handler for: a forwarded SIGTERM to a command that never expected to be
 * init would be dropped, and mini-docker would hang. Then we do what the
 * signal's default action would have done outside a PID namespace: end the
 * container (SIGKILL), and report 128+N for the signal that was sent.
 */
int signals_wait(pid_t pid)
{
	int status, emulated = 0;
	narrate("waitpid(%d)", "wait %d", pid);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return EXIT_ENGINE;
		int sig = pending_sig;
		pending_sig = 0;
		if (!sig) {
			sigsuspend(&open_mask); /* until SIGCHLD or a forwarded signal */
			continue;
		}
		if (!emulated && !handles(pid, sig)) {
			usleep(100000); /* it may be installing a handler right now */
			if (!handles(pid, sig)) {
				char call[96], shell[96];
				snprintf(call, sizeof(call), "PID 1 has no handler for signal %d: kill(%d, SIGKILL)", sig, pid);
				snprintf(shell, sizeof(shell), "kill -9 %d  # as SIG%s would", pid, sigabbrev_np(sig));
				narrate("%s%.0s", "%.0s%s", call, shell);
				emulated = sig;
				kill(pid, SIGKILL);
			}
		}
	}
	child_pid = 0;
	if (WIFSIGNALED(status)) {
		int sig = emulated && WTERMSIG(status) == SIGKILL ? emulated : WTERMSIG(status);
		narrate("command killed by signal %d (%s)", "echo $?  # 128+%d", sig, strsignal(sig), sig);
		return 128 + sig;
	}
	narrate("command exited with status %d", "echo $?  # %d", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

/* ---- names: "SIGTERM", "term", "TERM" or "15" (stop-signal, kill -s, inspect) ---- */

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
