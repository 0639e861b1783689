/*
 * compose.h: `mini-docker compose`: a project of containers from compose.yaml (compose.c),
 * each service run with the engine's own commands; the file is read by composefile.c.
 */
#ifndef MD_COMPOSE_H
#define MD_COMPOSE_H

#include "mini-docker.h"

int cmd_compose(const struct md_opts *o, int argc, char **argv);

#endif
