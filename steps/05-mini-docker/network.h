/* network.h: network create|ls|rm|inspect: the user's bridge networks (network.c) */
#ifndef MD_NETWORK_H
#define MD_NETWORK_H

#include "mini-docker.h"

int cmd_network(const struct md_opts *o, int argc, char **argv);

#endif
