/*
 * net.c: --network veth|none|host, as step 04 over rtnetlink (libnl-route-3).
 *
 *   veth  (the default as root) a network namespace and a veth pair: the host
 *         end veth-box<N> with .1 of the N-th /30 of --subnet (10.200.0.0/16),
 *         eth0 inside with .2 and a default route via .1
 *   none  a network namespace with only lo (the default rootless: a veth end
 *         in the host's namespace needs root there)
 *   host  the host's network namespace
 * The pair needs no removal: when the container's namespace goes, the kernel
 * destroys both ends. `rm` deletes the host end anyway if a crash left it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "narrate.h"
#include "net.h"

/* copy of step 04's parse_subnet() (steps/04-netns/box.c); scripts/check-copies */
int net_parse_subnet(const char *text, struct run_config *rc, struct md_error *err)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	char *end = NULL;
	long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
	struct in_addr addr;
	if (!slash || (size_t)(slash - text) >= sizeof(ip) || end == slash + 1 || *end || prefix < 8 || prefix > 30)
		return md_fail(err, "--subnet %s: give an IPv4 range as ADDRESS/PREFIX, the prefix from 8 to 30, "
				    "e.g. 10.200.0.0/16", text);
	memcpy(ip, text, slash - text);
	ip[slash - text] = '\0';
	if (inet_pton(AF_INET, ip, &addr) != 1)
		return md_fail(err, "--subnet %s: %s is not an IPv4 address", text, ip);
	uint32_t a = ntohl(addr.s_addr), mask = ~0u << (32 - prefix);
	if (a & ~mask) {
		addr.s_addr = htonl(a & mask);
		return md_fail(err, "--subnet %s: the address has bits set past the prefix: did you mean %s/%ld?", text,
			       inet_ntop(AF_INET, &addr, ip, sizeof(ip)), prefix);
	}
	if (!((a >> 24) == 10) && !((a >> 20) == (172 << 4 | 1) && prefix >= 12) &&
	    !((a >> 16) == (192 << 8 | 168) && prefix >= 16))
		return md_fail(err, "--subnet %s is not a private range: use one inside 10.0.0.0/8, 172.16.0.0/12 "
				    "or 192.168.0.0/16", text);
	rc->subnet = addr;
	rc->subnet_prefix = (int)prefix;
	return 0;
}

/* copy of step 04's rtnl_open() (steps/04-netns/box.c); scripts/check-copies */
static struct nl_sock *rtnl_open(struct md_error *err)
{
	struct nl_sock *sock = nl_socket_alloc();
	int e;
	if (!sock) {
		md_fail(err, "nl_socket_alloc: out of memory");
		return NULL;
	}
	if ((e = nl_connect(sock, NETLINK_ROUTE)) < 0) {
		md_fail(err, "netlink socket (NETLINK_ROUTE): %s", nl_geterror(e));
		nl_socket_free(sock);
		return NULL;
	}
	return sock;
}

/* copy of step 04's link_up() (steps/04-netns/box.c); scripts/check-copies */
static int link_up(struct nl_sock *sock, const char *name, struct md_error *err)
{
	struct rtnl_link *link, *change;
	int e;
	narrate("RTM_NEWLINK %s IFF_UP", "ip link set %s up", name);
	if ((e = rtnl_link_get_kernel(sock, 0, name, &link)) < 0)
		return md_fail(err, "ip link show %s: %s", name, nl_geterror(e));
	change = rtnl_link_alloc();
	rtnl_link_set_flags(change, IFF_UP);
	e = rtnl_link_change(sock, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	return e < 0 ? md_fail(err, "ip link set %s up: %s", name, nl_geterror(e)) : 0;
}

/* copy of step 04's addr_add() (steps/04-netns/box.c); scripts/check-copies */
static int addr_add(struct nl_sock *sock, const char *name, struct in_addr ip, int prefix, struct md_error *err)
{
	char text[INET_ADDRSTRLEN];
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(AF_INET, &ip, sizeof(ip));
	inet_ntop(AF_INET, &ip, text, sizeof(text));
	narrate("RTM_NEWADDR %s/%d dev %s", "ip addr add %s/%d dev %s", text, prefix, name);
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(addr, if_nametoindex(name));
	rtnl_addr_set_local(addr, local);
	int e = rtnl_addr_add(sock, addr, 0);
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return e < 0 ? md_fail(err, "ip addr add %s/%d dev %s: %s", text, prefix, name, nl_geterror(e)) : 0;
}

void net_setup_child(const struct run_config *rc, const struct net_info *ni)
{
	struct md_error err;
	(void)rc;
	(void)ni;
	struct nl_sock *sock = rtnl_open(&err);
	if (!sock || link_up(sock, "lo", &err) < 0)
		child_die("%s", err.msg);
	nl_socket_free(sock);
}

/* copy of step 04's overlaps() (steps/04-netns/box.c); scripts/check-copies */
static int overlaps(uint32_t a, int alen, uint32_t b, int blen)
{
	int len = alen < blen ? alen : blen;
	uint32_t mask = len ? ~0u << (32 - len) : 0;
	return ((a ^ b) & mask) == 0;
}

/* copy of step 04's slot_taken() (steps/04-netns/box.c); scripts/check-copies */
static int slot_taken(struct nl_cache *addrs, struct nl_cache *routes, struct nl_cache *links, uint32_t net,
		      const char *name)
{
	struct rtnl_link *link = rtnl_link_get_by_name(links, name);
	if (link) {
		rtnl_link_put(link);
		return 1;
	}
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(addr);
		uint32_t a;
		if (rtnl_addr_get_family(addr) != AF_INET || !local)
			continue;
		memcpy(&a, nl_addr_get_binary_addr(local), sizeof(a));
		if (overlaps(ntohl(a), rtnl_addr_get_prefixlen(addr), net, 30))
			return 1;
	}
	/* a route there (not the default one, which leads everywhere) means the host uses it */
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct nl_addr *dst = rtnl_route_get_dst((struct rtnl_route *)o);
		uint32_t a;
		if (!dst || nl_addr_get_family(dst) != AF_INET || nl_addr_get_prefixlen(dst) == 0)
			continue;
		memcpy(&a, nl_addr_get_binary_addr(dst), sizeof(a));
		if (overlaps(ntohl(a), nl_addr_get_prefixlen(dst), net, 30))
			return 1;
	}
	return 0;
}

/* NET/PREFIX holds an address or a route of this namespace: 1 (0: free, -1: ERR), by
 * slot_taken's test for each /30 in it (network create's subnets, ipam.c) */
int net_subnet_used(struct in_addr net, int prefix, struct md_error *err)
{
	struct nl_sock *sock = rtnl_open(err);
	struct nl_cache *addrs = NULL, *links = NULL, *routes = NULL;
	int e, used = 0;
	if (!sock)
		return -1;
	if ((e = rtnl_addr_alloc_cache(sock, &addrs)) < 0 || (e = rtnl_link_alloc_cache(sock, AF_UNSPEC, &links)) < 0 ||
	    (e = rtnl_route_alloc_cache(sock, AF_INET, 0, &routes)) < 0)
		used = md_fail(err, "ip addr show: %s", nl_geterror(e));
	for (uint32_t slot = 0; !used && slot < 1u << (30 - prefix); slot++)
		used = slot_taken(addrs, routes, links, ntohl(net.s_addr) + 4 * slot, "");
	nl_cache_free(addrs);
	nl_cache_free(links);
	nl_cache_free(routes);
	nl_socket_free(sock);
	return used;
}

/* eth0's address, up, the default route: from inside the container's namespace (ip netns exec) */
/* copy of step 04's eth0_configure() (steps/04-netns/box.c); scripts/check-copies */
static int eth0_configure(pid_t pid, const struct net_info *ni, struct md_error *err)
{
	char path[64], gateway[INET_ADDRSTRLEN];
	int rc = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int container = open(path, O_RDONLY | O_CLOEXEC);
	if (host < 0 || container < 0) {
		md_fail_errno(err, "open %s", host < 0 ? "/proc/self/ns/net" : path);
		goto out;
	}
	narrate("setns(\"%s\", CLONE_NEWNET)", "nsenter --net=%s  # ip netns exec", path);
	if (setns(container, CLONE_NEWNET) < 0) {
		md_fail_errno(err, "setns(%s)", path);
		goto out;
	}
	struct nl_sock *sock = rtnl_open(err);
	if (sock && addr_add(sock, "eth0", ni->ctr_ip, ni->prefix, err) == 0 && link_up(sock, "eth0", err) == 0) {
		struct rtnl_route *route = rtnl_route_alloc();
		struct rtnl_nexthop *hop = rtnl_route_nh_alloc();
		struct nl_addr *any, *via = nl_addr_build(AF_INET, &ni->host_ip, sizeof(ni->host_ip));
		inet_ntop(AF_INET, &ni->host_ip, gateway, sizeof(gateway));
		narrate("RTM_NEWROUTE default via %s", "ip route add default via %s dev eth0", gateway);
		nl_addr_parse("default", AF_INET, &any);
		rtnl_route_set_family(route, AF_INET);
		rtnl_route_set_dst(route, any);
		rtnl_route_nh_set_gateway(hop, via);
		rtnl_route_nh_set_ifindex(hop, if_nametoindex("eth0"));
		rtnl_route_add_nexthop(route, hop);
		int e = rtnl_route_add(sock, route, NLM_F_CREATE | NLM_F_EXCL);
		rc = e < 0 ? md_fail(err, "ip route add default via %s dev eth0: %s", gateway, nl_geterror(e)) : 0;
		nl_addr_put(any);
		nl_addr_put(via);
		rtnl_route_put(route);
	}
	if (sock)
		nl_socket_free(sock);
	narrate("setns(host's /proc/self/ns/net)", "exit  # back in the host's network namespace");
	if (setns(host, CLONE_NEWNET) < 0) /* the engine must not stay in there */
		child_die("setns(back to the host's network namespace): %m");
out:
	if (host >= 0)
		close(host);
	if (container >= 0)
		close(container);
	return rc;
}

int net_setup_host(const struct run_config *rc, pid_t pid, struct net_info *ni, struct md_error *err)
{
	struct nl_sock *sock = rtnl_open(err);
	uint32_t base = ntohl(rc->subnet.s_addr);
	unsigned slots = 1u << (30 - rc->subnet_prefix);
	char text[INET_ADDRSTRLEN], name[IFNAMSIZ];
	if (!sock)
		return -1;
	ni->slot = -1;
	for (unsigned slot = 0;; slot++) {
		struct nl_cache *addrs, *links, *routes;
		int e;
		if ((e = rtnl_addr_alloc_cache(sock, &addrs)) < 0 || (e = rtnl_link_alloc_cache(sock, AF_UNSPEC, &links)) < 0 ||
		    (e = rtnl_route_alloc_cache(sock, AF_INET, 0, &routes)) < 0) {
			nl_socket_free(sock);
			return md_fail(err, "ip addr show: %s", nl_geterror(e));
		}
		for (; slot < slots; slot++) {
			snprintf(name, sizeof(name), "veth-box%u", slot & 0x3fffff);
			if (!slot_taken(addrs, routes, links, base + 4 * slot, name))
				break;
		}
		nl_cache_free(addrs);
		nl_cache_free(links);
		nl_cache_free(routes);
		if (slot >= slots) {
			nl_socket_free(sock);
			return md_fail(err, "no free /30 left in --subnet %s/%d: give another or a larger private range",
				       inet_ntop(AF_INET, &rc->subnet, text, sizeof(text)), rc->subnet_prefix);
		}
		narrate("RTM_GETADDR: %s/30 is free", "ip -4 addr  # %s/30 is free",
			inet_ntop(AF_INET, &(struct in_addr){htonl(base + 4 * slot)}, text, sizeof(text)), text);
		narrate("RTM_NEWLINK %s type veth", "ip link add %s type veth peer name eth0 netns %d", name, pid);
		e = rtnl_link_veth_add(sock, name, "eth0", pid);
		if (e == -NLE_EXIST) /* the name is the lock: another container took this slot since we looked */
			continue;
		if (e < 0) {
			nl_socket_free(sock);
			return md_fail(err, "ip link add %s type veth peer name eth0 netns %d: %s", name, pid, nl_geterror(e));
		}
		ni->slot = (int)slot;
		snprintf(ni->host_end, sizeof(ni->host_end), "%s", name);
		ni->host_ip.s_addr = htonl(base + 4 * slot + 1);
		ni->ctr_ip.s_addr = htonl(base + 4 * slot + 2);
		ni->prefix = 30;
		break;
	}
	int rc2 = addr_add(sock, ni->host_end, ni->host_ip, 30, err) == 0 && link_up(sock, ni->host_end, err) == 0 ? 0 : -1;
	nl_socket_free(sock);
	if (rc2 < 0)
		return -1;
	return eth0_configure(pid, ni, err);
}

void net_remove(const char *host_end)
{
	struct md_error err;
	struct nl_sock *sock = rtnl_open(&err);
	struct rtnl_link *link;
	if (!sock)
		return;
	if (rtnl_link_get_kernel(sock, 0, host_end, &link) == 0) {
		narrate("RTM_DELLINK %s", "ip link del %s", host_end);
		rtnl_link_delete(sock, link);
		rtnl_link_put(link);
	}
	nl_socket_free(sock);
}
