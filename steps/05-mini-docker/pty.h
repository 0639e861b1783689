/* pty.h: -t: a pseudo-terminal, raw mode, SIGWINCH (pty.c) */
#ifndef MD_PTY_H
#define MD_PTY_H

#include <sys/types.h>

#include "error.h"

struct winsize;
/* in the child: a pty of the container's devpts; the master goes to the engine over SOCK.
 * SIZE (mini-runc's process.consoleSize), when not NULL, is the window size it starts with */
int pty_child_open(int sock, const struct winsize *size);
/* the same pty without /dev/console (mini-runc exec --tty): its number in *N */
int pty_open_send(int sock, int *n, const struct winsize *size);
void pty_child_attach(int slave);
/* in the engine */
int pty_receive(int sock, struct md_error *err);
void pty_pump(int master, int interactive, pid_t child);
void pty_restore(void);
/* the size of our terminal (stdin) into *SIZE; 0 when stdin is not a terminal with one */
int pty_our_size(struct winsize *size);

#endif
