/* ipam.h: addresses on the bridge: leases under a lock, /etc/hosts of peers (ipam.c) */
#ifndef MD_IPAM_H
#define MD_IPAM_H

#include <netinet/in.h>

#include "bridge.h"
#include "error.h"
#include "mini-docker.h"

int ipam_allocate(const struct md_opts *o, const char *id, const char *hostname, const char *name,
		  const char *aliases, struct lease *l, struct md_error *err);
void ipam_release(const struct md_opts *o, const char *id);
/* rewrite every leased container's hosts file (ROOT/containers/ID/hosts) in place */
void ipam_write_hosts(const struct md_opts *o);
int resolv_conf_write(const char *path, struct md_error *err);

#endif
