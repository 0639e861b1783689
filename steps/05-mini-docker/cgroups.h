/* cgroups.h: --cpus, --memory, --pids-limit: cgroup v2, v1 fallback (cgroups.c) */
#ifndef MD_CGROUPS_H
#define MD_CGROUPS_H

#include <sys/types.h>

#include "container.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

int cgroup_setup(const struct run_config *rc, struct md_error *err);
int cgroup_clone_fd(void);                 /* v2: for CLONE_INTO_CGROUP, or -1 */
int cgroup_add(pid_t pid, struct md_error *err); /* v1 (or no clone3): write cgroup.procs */
void cgroup_report(double wall);
int cgroup_oom_killed(void);
void cgroup_remove(void);
/* the cgroup directories, space separated (for the state file and rm) */
const char *cgroup_dirs(void);
/* the directories made for the container (at most MAX), and whether they are cgroup v2's */
int cgroup_own_dirs(const char **dirs, int max, int *v2);
void cgroup_remove_dirs(const char *dirs);

#endif
