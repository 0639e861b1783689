/*
 * lifecycle.h: detached containers and the bridge network (issue 9).
 *
 *   state.c      the container records: lookup by name or id prefix, locked updates
 *   monitor.c    run -d: the per-container monitor (conmon's job): logs, exit status
 *   lifecycle.c  ps, logs, stop, kill, rm, wait, inspect
 *   exec.c       exec: join a running container's namespaces, cgroup, privileges
 *   ipam.c       addresses on the bridge: leases under a lock, /etc/hosts of peers
 *   bridge.c     the bridge mini0, a veth per container, outbound NAT
 *   ports.c      -p HOSTPORT:CTRPORT: a userspace proxy in the monitor
 */
#ifndef MD_LIFECYCLE_H
#define MD_LIFECYCLE_H

#include <netinet/in.h>

#include "run.h"
#include "state.h"

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

/* ---- the commands (main.c's table) ---- */
int cmd_container_ps(const struct md_opts *o, int argc, char **argv);
int cmd_logs(const struct md_opts *o, int argc, char **argv);
int cmd_stop(const struct md_opts *o, int argc, char **argv);
int cmd_kill(const struct md_opts *o, int argc, char **argv);
int cmd_container_rm(const struct md_opts *o, int argc, char **argv);
/* system prune (prune.c): stopped containers, then what no image refers to */
int cmd_system(const struct md_opts *o, int argc, char **argv);
int cmd_wait(const struct md_opts *o, int argc, char **argv);
int cmd_container_inspect(const struct md_opts *o, int argc, char **argv);
int cmd_exec(const struct md_opts *o, int argc, char **argv);

/* ---- run's hooks ---- */
/* run: options of this half (-d, -p, --network-alias, --stop-signal); 1 when it was one of ours */
int lifecycle_option(struct run_config *rc, const char *lng, const char *shown, const char *v,
		     struct md_error *err);
/* run, once the container exists: the lease, hosts and resolv.conf, the published ports' sockets */
int lifecycle_prepare(struct container *c, struct run_config *rc, struct md_error *err);
/*
 * run -d, right after lifecycle_prepare: fork the monitor. Returns 0 in the
 * monitor, which goes on with run; in the starter it does not return: it exits
 * after printing the container's ID (or the monitor's error).
 */
int monitor_fork(struct container *c, struct run_config *rc, struct md_error *err);
/* ns.c, with the child waiting: the veth to the bridge and eth0's addresses */
int bridge_attach(struct container *c, const struct run_config *rc, pid_t pid,
		  struct md_error *err);
/* run, after ns_start succeeded: the proxy and (run -d) the log thread start; the starter is told */
void lifecycle_started(struct container *c, struct run_config *rc, pid_t pid);
/* run, when the container has ended (or failed to start): logs drained, proxy stopped, lease freed */
void lifecycle_end(struct container *c, struct run_config *rc, int status);

/* ---- shared between the files ---- */
/* ipam.c */
int ipam_allocate(const struct md_opts *o, const char *id, const char *hostname, const char *name,
		  const char *aliases, struct lease *l, struct md_error *err);
void ipam_release(const struct md_opts *o, const char *id);
/* rewrite every leased container's hosts file (ROOT/containers/ID/hosts) in place */
void ipam_write_hosts(const struct md_opts *o);
int resolv_conf_write(const char *path, struct md_error *err);
/* bridge.c */
int bridge_ensure(struct md_error *err);
void bridge_remove(void);
/* Delete the host end (mdID) of a container's veth now, not when the kernel gets to its netns */
void bridge_detach(const char *id);
/* ports.c */
int ports_parse(const char *spec, struct md_error *err);
int ports_bind(struct md_error *err);
/* "0.0.0.0:8080->80/tcp, ..." for ps and the state */
const char *ports_text(void);
int ports_start(struct in_addr ctr);
void ports_stop(void);
/* monitor.c */
int monitor_active(void);
/* lifecycle.c */
int parse_signal(const char *s);
const char *signal_name(int sig);

#endif
