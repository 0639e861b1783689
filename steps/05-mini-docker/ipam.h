/* ipam.h: addresses on the bridge: leases under a lock, /etc/hosts of peers (ipam.c) */
#ifndef MD_IPAM_H
#define MD_IPAM_H

#include <netinet/in.h>

#include "bridge.h"
#include "error.h"
#include "mini-docker.h"

/* an address on NET for container ID (its /etc/hosts and its peers' rewritten), NET's bridge made */
int ipam_allocate(const struct md_opts *o, const struct network *net, const char *id,
		  const char *hostname, const char *name, const char *aliases, struct lease *l,
		  struct md_error *err);
/* ID's address back, on the network its record names */
void ipam_release(const struct md_opts *o, const char *id);

/* the network NAME: "bridge" (or "default") is mini0, else the store's; "not found" in ERR */
int ipam_network(const struct md_opts *o, const char *name, struct network *n,
		 struct md_error *err);
/* the names of the store's networks, sorted (free each and the array) */
char **ipam_networks(const struct md_opts *o, int *count);
/* network create: SUBNET/PREFIX, or with SUBNET NULL the lowest free 10.89.N.0/24; the bridge too */
int ipam_network_create(const struct md_opts *o, const char *name, const struct in_addr *subnet,
			int prefix, struct network *n, struct md_error *err);
/* network rm: the bridge, its NAT rule and ROOT/networks/NAME; fails while a container is on it */
int ipam_network_remove(const struct md_opts *o, const char *name, struct md_error *err);
/* the running containers on N (of this store), each "NAME IPV4/PREFIX ID" (free each and the array) */
char **ipam_network_members(const struct md_opts *o, const struct network *n, int *count,
			    struct md_error *err);
int resolv_conf_write(const char *path, struct md_error *err);

#endif
