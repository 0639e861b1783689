/*
 * bridge.c: the bridge mini0 and a veth per container (docker's bridge network).
 *
 *     $ ip link add mini0 type bridge
 *     $ ip addr add 10.88.0.1/16 dev mini0; ip addr add fd00:88::1/64 dev mini0
 *     $ ip link set mini0 up
 *     $ ip link add mdXXXX type veth peer eth0 netns PID
 *     $ ip link set mdXXXX master mini0 up
 *     $ nsenter -t PID -n ip addr add 10.88.0.2/16 dev eth0 ...
 *
 * Step 04 gave each container its own cable to the host (a veth pair and a
 * /30). A bridge is a switch: every container's veth plugs into it, so they
 * share one subnet and talk to each other directly, and the host talks to
 * all of them through the bridge's own address, which is their gateway.
 * Addresses come from ipam.c. When the container's network namespace goes,
 * the kernel deletes its veth pair; the last container out deletes mini0.
 *
 * A network of the user's (`network create NAME`, compose's PROJECT_default)
 * is one more switch: a bridge md-ID12 with a subnet of its own, made by
 * `network create` and deleted by `network rm`, as docker's br-ID12. Its
 * containers are plugged into it only, so they reach each other and not the
 * containers of mini0 or of another network (the host routes between its
 * bridges only when it forwards).
 *
 * Outbound NAT (iptables -t nat ... MASQUERADE) is added only when the host
 * already forwards (net.ipv4.ip_forward = 1): mini-docker never turns routing
 * on for you, as docker does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge.h"
#include "container.h"
#include "narrate.h"
#include "net.h"
#include "state.h"

extern char **environ;

static struct nl_sock *rtnl(struct md_error *err)
{
	struct nl_sock *s = nl_socket_alloc();
	int e;
	if (!s) {
		md_fail(err, "nl_socket_alloc: out of memory");
		return NULL;
	}
	if ((e = nl_connect(s, NETLINK_ROUTE)) < 0) {
		md_fail(err, "netlink socket: %s", nl_geterror(e));
		nl_socket_free(s);
		return NULL;
	}
	return s;
}

/* copy of step 04's link_up() (steps/04-netns/box.c); scripts/check-copies */
static int link_up(struct nl_sock *s, const char *name, int master, struct md_error *err)
{
	struct rtnl_link *link, *change;
	int e;
	if ((e = rtnl_link_get_kernel(s, 0, name, &link)) < 0)
		return md_fail(err, "ip link show %s: %s", name, nl_geterror(e));
	change = rtnl_link_alloc();
	rtnl_link_set_flags(change, IFF_UP);
	if (master)
		rtnl_link_set_master(change, master);
	e = rtnl_link_change(s, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (e < 0)
		return md_fail(err, "ip link set %s%s up: %s", name, master ? " master (the bridge)" : "",
			       nl_geterror(e));
	return 0;
}

static int addr_add(struct nl_sock *s, const char *dev, int family, const void *ip, int prefix,
		    struct md_error *err)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(family, ip, family == AF_INET ? 4 : 16);
	char text[INET6_ADDRSTRLEN];
	int e;
	inet_ntop(family, ip, text, sizeof(text));
	narrate("RTM_NEWADDR %s/%d dev %s", "ip addr add %s/%d dev %s", text, prefix, dev);
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(a, if_nametoindex(dev));
	rtnl_addr_set_local(a, local);
	if (family == AF_INET6)
		rtnl_addr_set_flags(
		    a, IFA_F_NODAD); /* usable at once: no duplicate detection on our own switch */
	e = rtnl_addr_add(s, a, 0);
	nl_addr_put(local);
	rtnl_addr_put(a);
	if (e < 0 && e != -NLE_EXIST)
		return md_fail(err, "ip addr add %s/%d dev %s: %s", text, prefix, dev,
			       nl_geterror(e));
	return 0;
}

static int route_default(struct nl_sock *s, int family, const void *gw, struct md_error *err)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *hop = rtnl_route_nh_alloc();
	struct nl_addr *any, *via = nl_addr_build(family, gw, family == AF_INET ? 4 : 16);
	char text[INET6_ADDRSTRLEN];
	int e;
	inet_ntop(family, gw, text, sizeof(text));
	narrate("RTM_NEWROUTE default via %s", "ip %2$sroute add default via %1$s dev eth0", text,
		family == AF_INET6 ? "-6 " : "");
	nl_addr_parse("default", family, &any);
	rtnl_route_set_family(route, family);
	rtnl_route_set_dst(route, any);
	rtnl_route_nh_set_gateway(hop, via);
	rtnl_route_nh_set_ifindex(hop, if_nametoindex("eth0"));
	rtnl_route_add_nexthop(route, hop);
	e = rtnl_route_add(s, route, NLM_F_CREATE | NLM_F_EXCL);
	nl_addr_put(any);
	nl_addr_put(via);
	rtnl_route_put(route);
	if (e < 0)
		return md_fail(err, "ip route add default via %s dev eth0: %s", text,
			       nl_geterror(e));
	return 0;
}

static int have_ipv6(void)
{
	return access("/proc/sys/net/ipv6", F_OK) == 0;
}

static int run_quiet(char *const argv[])
{
	pid_t pid;
	int status, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (null >= 0) {
		posix_spawn_file_actions_adddup2(&fa, null, 1);
		posix_spawn_file_actions_adddup2(&fa, null, 2);
	}
	int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (null >= 0)
		close(null);
	if (e)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int forwarding(void)
{
	char c = '0';
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!read(fd, &c, 1);
		close(fd);
	}
	return c == '1';
}

/* iptables -t nat -A|-D|-C POSTROUTING -s 10.88.0.0/16 ! -o mini0 -j MASQUERADE (0: done, -C: present) */
static int nat_rule(const struct network *n, const char *op)
{
	char subnet[INET_ADDRSTRLEN + 4], bridge[sizeof(n->bridge)];
	inet_ntop(AF_INET, &n->subnet, subnet, INET_ADDRSTRLEN);
	snprintf(subnet + strlen(subnet), sizeof(subnet) - strlen(subnet), "/%d", n->prefix);
	snprintf(bridge, sizeof(bridge), "%s", n->bridge);
	char *argv[] = {"iptables", "-w", "-t", "nat",	       (char *)op,   "POSTROUTING", "-s",
			subnet,	    "!",  "-o", bridge, "-j", "MASQUERADE", NULL};
	if (strcmp(op, "-C"))
		narrate("outbound NAT (%s)",
			"iptables -t nat %s POSTROUTING -s %s ! -o %s -j MASQUERADE", op, subnet,
			bridge);
	return run_quiet(argv);
}

/*
 * A network of the user's is isolated, as docker's (its DOCKER-ISOLATION chains): on a
 * host that forwards, the host would route between its bridges, so nothing may open a
 * connection into md-X from another link, and md-X none into mini0 (replies still pass):
 *
 *     iptables -I FORWARD -o md-X ! -i md-X -m conntrack --ctstate NEW -j DROP
 *     iptables -I FORWARD -i md-X -o mini0 -j DROP
 *
 * OP is -I, -D or -C (0: done, or present); K, which of the two.
 */
static int isolation_rule(const struct network *n, const char *op, int k)
{
	char bridge[sizeof(n->bridge)];
	snprintf(bridge, sizeof(bridge), "%s", n->bridge);
	char *in[] = {"iptables", "-w",	   (char *)op, "FORWARD", "-o",	 bridge, "!",	 "-i",
		      bridge,	  "-m",	   "conntrack", "--ctstate", "NEW", "-j",   "DROP", NULL};
	char *out[] = {"iptables", "-w", (char *)op, "FORWARD", "-i", bridge, "-o", BRIDGE_NAME,
		       "-j",	   "DROP", NULL};
	if (strcmp(op, "-C"))
		narrate(k ? "isolation (%s %s -> " BRIDGE_NAME ")" : "isolation (%s -> %s)",
			k ? "iptables %s FORWARD -i %s -o " BRIDGE_NAME " -j DROP"
			  : "iptables %1$s FORWARD -o %2$s ! -i %2$s -m conntrack --ctstate NEW -j DROP",
			op, bridge);
	return run_quiet(k ? out : in);
}

void bridge_default(struct network *n)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "bridge");
	snprintf(n->bridge, sizeof(n->bridge), "%s", BRIDGE_NAME);
	inet_pton(AF_INET, BRIDGE_SUBNET, &n->subnet);
	n->prefix = BRIDGE_PREFIX;
	n->v6 = 1;
	inet_pton(AF_INET6, BRIDGE_SUBNET6, &n->subnet6);
	n->prefix6 = BRIDGE_PREFIX6;
}

/* the bridge's own address, .1 / ::1: the containers' gateway */
static void gateway(const struct network *n, struct in_addr *gw, struct in6_addr *gw6)
{
	gw->s_addr = htonl(ntohl(n->subnet.s_addr) + 1);
	*gw6 = n->subnet6;
	gw6->s6_addr[15] = 1;
}

int bridge_ensure(const struct network *n, struct md_error *err)
{
	struct nl_sock *s = rtnl(err);
	struct rtnl_link *link;
	struct in_addr gw;
	struct in6_addr gw6;
	int e, rc = -1;
	if (!s)
		return -1;
	if (rtnl_link_get_kernel(s, 0, n->bridge, &link) == 0) {
		rtnl_link_put(link);
		nl_socket_free(s);
		return 0;
	}
	narrate("RTM_NEWLINK %s type bridge", "ip link add %s type bridge", n->bridge);
	if ((e = rtnl_link_bridge_add(s, n->bridge)) < 0 && e != -NLE_EXIST) {
		md_fail(err, "ip link add %s type bridge: %s%s", n->bridge, nl_geterror(e),
			e == -NLE_OPNOTSUPP ? " (is the bridge module available? modprobe bridge)"
					    : "");
		goto out;
	}
	gateway(n, &gw, &gw6);
	if (addr_add(s, n->bridge, AF_INET, &gw, n->prefix, err) < 0)
		goto out;
	if (n->v6 && have_ipv6())
		addr_add(s, n->bridge, AF_INET6, &gw6, n->prefix6,
			 err); /* IPv6 is a bonus: not fatal */
	narrate("RTM_NEWLINK %s up", "ip link set %s up", n->bridge);
	if (link_up(s, n->bridge, 0, err) < 0)
		goto out;
	if (forwarding())
		nat_rule(n, "-A");
	for (int k = 0; k < 2 && n->id[0] && forwarding(); k++)
		isolation_rule(n, "-I", k);
	rc = 0;
out:
	nl_socket_free(s);
	return rc;
}

void bridge_detach(const char *id)
{
	char host_end[IFNAMSIZ];
	snprintf(host_end, sizeof(host_end), "md%.12s", id);
	/* the kernel drops the pair with the container's network namespace, but that
	 * cleanup is asynchronous (a workqueue): rm must not leave the link behind */
	net_remove(host_end);
}

void bridge_remove(const struct network *n)
{
	struct md_error err;
	struct nl_sock *s = rtnl(&err);
	struct rtnl_link *link;
	if (!s)
		return;
	if (rtnl_link_get_kernel(s, 0, n->bridge, &link) == 0) {
		narrate("RTM_DELLINK %s", "ip link del %s  # %s", n->bridge,
			n->id[0] ? "network rm" : "the last container is gone");
		rtnl_link_delete(s, link);
		rtnl_link_put(link);
		if (nat_rule(n, "-C") == 0) /* -C: is there one to delete? */
			nat_rule(n, "-D");
		for (int k = 0; k < 2 && n->id[0]; k++)
			if (isolation_rule(n, "-C", k) == 0)
				isolation_rule(n, "-D", k);
	}
	nl_socket_free(s);
}

/* The inside: lo, eth0 with both addresses, the default routes through the bridge. */
static int configure_inside(struct nl_sock *s, const struct network *n, const struct lease *l,
			    struct md_error *err)
{
	struct in_addr gw;
	struct in6_addr gw6;
	gateway(n, &gw, &gw6);
	narrate("RTM_NEWLINK lo up", "ip link set lo up");
	if (link_up(s, "lo", 0, err) < 0 || addr_add(s, "eth0", AF_INET, &l->ip, n->prefix, err) < 0)
		return -1;
	struct md_error ignored;
	int v6 = n->v6 && have_ipv6() &&
		 addr_add(s, "eth0", AF_INET6, &l->ip6, n->prefix6, &ignored) == 0;
	narrate("RTM_NEWLINK eth0 up", "ip link set eth0 up");
	if (link_up(s, "eth0", 0, err) < 0 || route_default(s, AF_INET, &gw, err) < 0)
		return -1;
	if (v6) /* a host booted with ipv6.disable=1 has none: the container then has IPv4 only */
		route_default(s, AF_INET6, &gw6, &ignored);
	return 0;
}

int bridge_attach(struct container *c, const struct run_config *rc, pid_t pid, struct md_error *err)
{
	char host_end[IFNAMSIZ], path[64];
	struct lease l;
	int rcode = -1;
	const struct network *net = &rc->net;
	json_t *j = state_load(c->o, c->id);
	if (inet_pton(AF_INET, state_str(j, "ip"), &l.ip) != 1 ||
	    inet_pton(AF_INET6, state_str(j, "ip6"), &l.ip6) != 1) {
		json_decref(j);
		return md_fail(err, "container %.12s has no address on %s", c->id, net->bridge);
	}
	json_decref(j);
	struct nl_sock *s = rtnl(err);
	if (!s)
		return -1;
	snprintf(host_end, sizeof(host_end), "md%.12s", c->id);
	/* EXERCISE 05.9: the container's cable, plugged into the switch: a veth pair, its host end master mini0 up
	 * hint: the slides' bridge: a veth pair per container, its host end enslaved to the network's bridge (mini0) and up
	 * more: rtnl_link_veth_add(s, host_end, "eth0", pid) (on error md_fail, nl_socket_free(s), return -1);
	 * more: master = if_nametoindex(net->bridge) (0: the bridge is gone, md_fail and goto out); then
	 * more: link_up(s, host_end, master, err) sets IFLA_MASTER and IFF_UP in one request (goto out on error)
	 * tests: 05-network
	 * stub: md_fail(err, "TODO 05.9: veth %s <-> eth0 (netns of %d), master %s", host_end, pid, net->bridge); goto out;
	 */
	narrate("RTM_NEWLINK %s type veth peer eth0 netns %d",
		"ip link add %s type veth peer eth0 netns %d", host_end, pid);
	int e = rtnl_link_veth_add(s, host_end, "eth0", pid);
	if (e < 0) {
		md_fail(err, "ip link add %s type veth peer eth0 netns %d: %s", host_end, pid,
			nl_geterror(e));
		nl_socket_free(s);
		return -1;
	}
	narrate("RTM_NEWLINK %s master %s up", "ip link set %s master %s up", host_end, net->bridge);
	int master = if_nametoindex(net->bridge);
	if (!master) {
		md_fail(err, "the bridge %s is gone (did something delete it?)", net->bridge);
		goto out;
	}
	if (link_up(s, host_end, master, err) < 0)
		goto out;
	/* END EXERCISE */

	/* inside, as `ip netns exec`: this thread enters the container's netns and comes back */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int ctr = open(path, O_RDONLY | O_CLOEXEC);
	if (host < 0 || ctr < 0) {
		md_fail_errno(err, "open %s", host < 0 ? "/proc/thread-self/ns/net" : path);
		goto close_fds;
	}
	narrate("setns(\"%s\", CLONE_NEWNET)", "nsenter --net=%s", path);
	if (setns(ctr, CLONE_NEWNET) < 0) {
		md_fail_errno(err, "setns(%s)", path);
		goto close_fds;
	}
	struct nl_sock *in = rtnl(err);
	if (in) {
		rcode = configure_inside(in, net, &l, err);
		nl_socket_free(in);
	}
	if (setns(host, CLONE_NEWNET) < 0) /* the engine must not stay inside */
		abort();
close_fds:
	if (host >= 0)
		close(host);
	if (ctr >= 0)
		close(ctr);
out:
	if (rcode < 0) {
		struct rtnl_link *link;
		if (rtnl_link_get_kernel(s, 0, host_end, &link) == 0) {
			rtnl_link_delete(s, link);
			rtnl_link_put(link);
		}
	}
	nl_socket_free(s);
	return rcode;
}
