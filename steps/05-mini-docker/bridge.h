/* bridge.h: the bridge mini0, a veth per container, outbound NAT (bridge.c) */
#ifndef MD_BRIDGE_H
#define MD_BRIDGE_H

#include <sys/types.h>

#include "container.h"

int bridge_ensure(struct md_error *err);
void bridge_remove(void);
/* Delete the host end (mdID) of a container's veth now, not when the kernel gets to its netns */
void bridge_detach(const char *id);
/* ns.c, with the child waiting: the veth to the bridge and eth0's addresses */
int bridge_attach(struct container *c, const struct run_config *rc, pid_t pid,
		  struct md_error *err);

#endif
