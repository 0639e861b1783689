/* exec.h: exec: join a running container's namespaces, cgroup, privileges (exec.c) */
#ifndef MD_EXEC_H
#define MD_EXEC_H

#include <sys/types.h>

#include "error.h"
#include "mini-docker.h"

int cmd_exec(const struct md_opts *o, int argc, char **argv);
/* the caller into the cgroups CGROUPS ("DIR DIR ..."), non-dumpable, into the namespaces of PID
 * (still the process that started at START): what follows runs inside; its children in its PID ns */
int exec_join(pid_t pid, const char *start, const char *cgroups, struct md_error *err);

#endif
