/* ports.h: -p HOSTPORT:CTRPORT: a userspace proxy in the monitor (ports.c) */
#ifndef MD_PORTS_H
#define MD_PORTS_H

#include <netinet/in.h>

#include "error.h"

int ports_parse(const char *spec, struct md_error *err);
int ports_bind(struct md_error *err);
/* "0.0.0.0:8080->80/tcp, ..." for ps and the state */
const char *ports_text(void);
int ports_start(struct in_addr ctr);
void ports_stop(void);

#endif
