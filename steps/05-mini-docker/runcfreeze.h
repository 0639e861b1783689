/* runcfreeze.h: mini-runc pause, resume, ps: the container's cgroup (runcfreeze.c) */
#ifndef MD_RUNCFREEZE_H
#define MD_RUNCFREEZE_H

#include <jansson.h>
#include <stddef.h>

/* create, cgroup v1: a freezer cgroup beside DIRS with the init PID in it, into FREEZER ("" if none) */
int runc_freezer_v1(const char *dirs, const char *pid, char *freezer, size_t size);
/* ON: freeze the container's cgroup, else thaw it; returns once the kernel says it is done */
int runc_freeze(json_t *j, int on);
/* pause ID (ON) or resume ID */
int runc_pause(const char *id, int on);
/* ps ID: its cgroup's processes, a table or (FORMAT json) their PIDs */
int runc_ps(const char *id, const char *format);

#endif
