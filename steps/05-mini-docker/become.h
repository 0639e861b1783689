/* become.h: what run's child and exec's child share, from inside the container to execve (become.c) */
#ifndef MD_BECOME_H
#define MD_BECOME_H

#include <sys/types.h>

#include "container.h"

struct become {
	char **argv, **envp;     /* envp: K=V, a later K replaces an earlier one */
	const char *cwd, *hostname;
	int make_cwd;            /* run: mkdir -p the WorkingDir (docker does); exec -w: must exist */
	int interactive, slave;  /* -i; -t: the pty's slave (else -1) */
	const char *pause;       /* test_pause's point once the user is set */
	pid_t engine;            /* ... and the PID it reports */
	int life_line;           /* run: the sync pipe (EOF: the engine died); exec: -1 */
	int seccomp;             /* apply the filter here (run); exec's parent did before its fork */
	int init;                /* --init: a tiny init stays PID 1 */
	/* mini-runc: the config's numeric ids instead of a name looked up in /etc/passwd */
	int ids;                 /* 1: uid, gid, groups below are the user (additionalGids exactly) */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
	int ready;               /* mini-runc create: a byte here when all but execve is done (else -1) */
	int gate;                /* ... then open this O_PATH fd of exec.fifo to write: blocks until start */
	int preserve_fds;        /* mini-runc --preserve-fds N: 3..3+N-1 stay open through execve */
};
void become_command(const struct run_config *rc, const struct become *b) __attribute__((noreturn));

#endif
