/* ns.h: clone(2) into namespaces, id maps, pivot_root, the child's life (ns.c) */
#ifndef MD_NS_H
#define MD_NS_H

#include <sys/types.h>

#include "container.h"

pid_t ns_start(struct container *c, struct run_config *rc, struct md_error *err);
extern ino_t host_mnt_ns;

#endif
