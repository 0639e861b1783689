/* bridge.h: the bridge mini0, a veth per container, outbound NAT (bridge.c) */
#ifndef MD_BRIDGE_H
#define MD_BRIDGE_H

#include <netinet/in.h>
#include <sys/types.h>

#include "container.h"

/* the bridge: an IPv4 /16 and an IPv6 ULA /64, the bridge itself is .1 / ::1 */
#define BRIDGE_NAME    "mini0"
#define BRIDGE_SUBNET  "10.88.0.0"
#define BRIDGE_PREFIX  16
#define BRIDGE_SUBNET6 "fd00:88::"
#define BRIDGE_PREFIX6 64

struct lease {
	struct in_addr ip;
	struct in6_addr ip6;
};

int bridge_ensure(struct md_error *err);
void bridge_remove(void);
/* Delete the host end (mdID) of a container's veth now, not when the kernel gets to its netns */
void bridge_detach(const char *id);
/* ns.c, with the child waiting: the veth to the bridge and eth0's addresses */
int bridge_attach(struct container *c, const struct run_config *rc, pid_t pid,
		  struct md_error *err);

#endif
