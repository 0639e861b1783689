/* ps.h: ps, logs, inspect: what the records say (ps.c) */
#ifndef MD_PS_H
#define MD_PS_H

#include "mini-docker.h"

int cmd_container_ps(const struct md_opts *o, int argc, char **argv);
int cmd_logs(const struct md_opts *o, int argc, char **argv);
/* a container's state, or (not a container) an image's config and layers, as JSON */
int cmd_container_inspect(const struct md_opts *o, int argc, char **argv);

#endif
