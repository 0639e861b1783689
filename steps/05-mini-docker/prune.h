/* prune.h: system prune: stopped containers, then what no image refers to (prune.c) */
#ifndef MD_PRUNE_H
#define MD_PRUNE_H

#include "mini-docker.h"

int cmd_system(const struct md_opts *o, int argc, char **argv);

#endif
