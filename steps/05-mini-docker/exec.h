/* exec.h: exec: join a running container's namespaces, cgroup, privileges (exec.c) */
#ifndef MD_EXEC_H
#define MD_EXEC_H

#include "mini-docker.h"

int cmd_exec(const struct md_opts *o, int argc, char **argv);

#endif
