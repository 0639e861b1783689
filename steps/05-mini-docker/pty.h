/* pty.h: -t: a pseudo-terminal, raw mode, SIGWINCH (pty.c) */
#ifndef MD_PTY_H
#define MD_PTY_H

#include <sys/types.h>

#include "error.h"

/* in the child: a pty of the container's devpts; the master goes to the engine over SOCK */
int pty_child_open(int sock);
/* the same pty without /dev/console (mini-runc exec --tty): its number in *N */
int pty_open_send(int sock, int *n);
void pty_child_attach(int slave);
/* in the engine */
int pty_receive(int sock, struct md_error *err);
void pty_pump(int master, int interactive, pid_t child);
void pty_restore(void);

#endif
