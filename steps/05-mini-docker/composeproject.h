/* composeproject.h: a compose file read into a project (composeproject.c; the types are composefile.h's) */
#ifndef MD_COMPOSEPROJECT_H
#define MD_COMPOSEPROJECT_H

#include "composefile.h"
#include "error.h"

/*
 * Read FILE (NULL: compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in
 * the working directory) into P. NAME: -p's project name, or NULL (COMPOSE_PROJECT_NAME,
 * the file's name:, the directory's basename). On failure P holds nothing to free.
 */
int compose_load(struct compose_project *p, const char *file, const char *name, struct md_error *err);

#endif
