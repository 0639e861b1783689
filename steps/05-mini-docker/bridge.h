/* bridge.h: the bridge mini0 (and one per user network), a veth per container, outbound NAT (bridge.c) */
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

/* mini0's struct network: "bridge", 10.88.0.0/16 and fd00:88::/64 */
void bridge_default(struct network *n);
/* N's bridge, its gateway address and (on a forwarding host) its NAT rule, unless it is there */
int bridge_ensure(const struct network *n, struct md_error *err);
/* N's bridge and its NAT rule, when they are there */
void bridge_remove(const struct network *n);
/* Delete the host end (mdID) of a container's veth now, not when the kernel gets to its netns */
void bridge_detach(const char *id);
/* ns.c, with the child waiting: the veth to RC's network's bridge and eth0's addresses */
int bridge_attach(struct container *c, const struct run_config *rc, pid_t pid,
		  struct md_error *err);

#endif
