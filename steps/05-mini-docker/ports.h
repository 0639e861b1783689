/* ports.h: -p HOSTPORT:CTRPORT: a userspace proxy in the monitor (ports.c) */
#ifndef MD_PORTS_H
#define MD_PORTS_H

#include <netinet/in.h>

#include "error.h"

/* what -p asked for, the sockets and the proxy's threads; lives as long as the process */
struct ports;
struct ports *ports_new(void);
/* -p [IP:]HOSTPORT:CTRPORT[/udp], one more */
int ports_parse(struct ports *pp, const char *spec, struct md_error *err);
/* listen on each host port (before the container starts: a taken port fails run) */
int ports_bind(struct ports *pp, struct md_error *err);
/* "0.0.0.0:8080->80/tcp, ..." for ps and the state */
const char *ports_text(struct ports *pp);
/* the container is at CTR: the proxy starts */
int ports_start(struct ports *pp, struct in_addr ctr);
/* the proxy and its connections end, the sockets close (PP may be NULL) */
void ports_stop(struct ports *pp);

#endif
