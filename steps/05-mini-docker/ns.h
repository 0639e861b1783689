/* ns.h: clone(2) into namespaces, id maps, pivot_root, the child's life (ns.c) */
#ifndef MD_NS_H
#define MD_NS_H

#include <sys/types.h>

#include "container.h"

pid_t ns_start(struct container *c, struct run_config *rc, struct md_error *err);
extern ino_t host_mnt_ns;
/* mini-runc (ocirun.c) builds its own child from these */
pid_t clone_child(unsigned long flags, int *cgfd, const char **how);
int ns_write_file(const char *path, const char *text); /* open, write TEXT, close: /proc and /sys files */
void ns_enter_time(const struct run_config *rc); /* a new time namespace with RC's offsets, entered */

#endif
