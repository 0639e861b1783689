/* monitor.h: run -d: the per-container monitor, conmon's job: logs, exit status (monitor.c) */
#ifndef MD_MONITOR_H
#define MD_MONITOR_H

#include <sys/types.h>

#include "container.h"

/*
 * run -d, right after lifecycle_prepare: fork the monitor. Returns 0 in the
 * monitor (RC->monitor set), which goes on with run; in the starter it does not return: it exits
 * after printing the container's ID (or the monitor's error).
 */
int monitor_fork(struct container *c, struct run_config *rc, struct md_error *err);
/* the container runs as PID: the log thread starts, the starter is told */
void monitor_started(struct container *c, struct run_config *rc, pid_t pid);
/* it ended with STATUS: logs drained, the starter told if it still waits */
void monitor_end(struct monitor *m, int status);

#endif
