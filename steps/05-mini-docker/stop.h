/* stop.h: stop, kill, wait, rm: acting on containers (stop.c) */
#ifndef MD_STOP_H
#define MD_STOP_H

#include "mini-docker.h"

int cmd_stop(const struct md_opts *o, int argc, char **argv);
int cmd_kill(const struct md_opts *o, int argc, char **argv);
int cmd_wait(const struct md_opts *o, int argc, char **argv);
int cmd_container_rm(const struct md_opts *o, int argc, char **argv);

#endif
