/* signals.h: how the engine holds, forwards and waits (signals.c) */
#ifndef MD_SIGNALS_H
#define MD_SIGNALS_H

#include <sys/types.h>

/* run, once the container's record exists: block the signals to pass on, keep those that come */
void signals_hold(void);
/* 1: let the held signals in (around clone(2), run -t's pump); 0: hold them again */
void signals_open(int open);
/* the container is PID: what came goes to it */
void signals_release(pid_t pid);
/* wait for PID, passing signals on; its status as a shell gives it (128+N: killed by N) */
int signals_wait(pid_t pid);
/* run -d's starter gives the handling up; the container's first process too */
void signals_restore(void);
void signals_child(void);

/* a signal by name or number: "SIGTERM", "term", "15" (-1: none such); and its name */
int parse_signal(const char *s);
const char *signal_name(int sig);

#endif
