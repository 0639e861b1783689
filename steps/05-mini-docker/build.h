/* build.h: mini-docker build, an image from a Dockerfile (build.c) */
#ifndef MD_BUILD_H
#define MD_BUILD_H
#include "mini-docker.h"

int cmd_build(const struct md_opts *o, int argc, char **argv);

#endif
