/*
 * lifecycle.h: run's hooks for detached containers and the bridge (lifecycle.c).
 * The files of detached containers and the bridge network, each with its header:
 *
 *   state.c      the container records: lookup by name or id prefix, locked updates
 *   monitor.c    run -d: the per-container monitor (conmon's job): logs, exit status
 *   lifecycle.c  run's hooks: the record, the lease, the monitor, the ports
 *   ps.c         ps, logs, inspect
 *   stop.c       stop, kill, wait, rm
 *   exec.c       exec: join a running container's namespaces, cgroup, privileges
 *   ipam.c       addresses on the bridge: leases under a lock, /etc/hosts of peers
 *   bridge.c     the bridge mini0, a veth per container, outbound NAT
 *   ports.c      -p HOSTPORT:CTRPORT: a userspace proxy in the monitor
 */
#ifndef MD_LIFECYCLE_H
#define MD_LIFECYCLE_H

#include <sys/types.h>

#include "container.h"

/* ---- run's hooks ---- */
/* run: options of this half (-d, -p, --network-alias, --stop-signal); 1 when it was one of ours */
int lifecycle_option(struct run_config *rc, const char *lng, const char *shown, const char *v,
		     struct md_error *err);
/* run, once the container exists: the lease, hosts and resolv.conf, the published ports' sockets */
int lifecycle_prepare(struct container *c, struct run_config *rc, struct md_error *err);
/* run, after ns_start succeeded: the proxy and (run -d) the log thread start; the starter is told */
void lifecycle_started(struct container *c, struct run_config *rc, pid_t pid);
/* run, when the container has ended (or failed to start): logs drained, proxy stopped, lease freed */
void lifecycle_end(struct container *c, struct run_config *rc, int status);

#endif
