/* net.h: --network veth|none|host: a veth pair over rtnetlink (net.c) */
#ifndef MD_NET_H
#define MD_NET_H

#include <netinet/in.h>

#include "container.h"

struct net_info {
	int slot;              /* -1: no veth */
	char host_end[16];
	struct in_addr host_ip, ctr_ip;
	int prefix;
};
int net_parse_subnet(const char *text, struct run_config *rc, struct md_error *err);
/* in the engine: the veth pair, its host end, the container end moved into PID's namespace */
int net_setup_host(const struct run_config *rc, pid_t pid, struct net_info *ni, struct md_error *err);
/* in the child: lo up, eth0 with its address, the default route */
void net_setup_child(const struct run_config *rc, const struct net_info *ni);
void net_remove(const char *host_end);
/* NET/PREFIX holds an address or a route of this namespace: 1; free: 0; -1 with ERR */
int net_subnet_used(struct in_addr net, int prefix, struct md_error *err);

#endif
