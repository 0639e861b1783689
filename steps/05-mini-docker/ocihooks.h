/* ocihooks.h: config.json's hooks, run with the container's state on their stdin (ocihooks.c) */
#ifndef MD_OCIHOOKS_H
#define MD_OCIHOOKS_H

#include <jansson.h>
#include <sys/types.h>

#include "error.h"

/* the container to run a hook in (createContainer, startContainer): its init, as exec_join takes it */
struct oci_join {
	pid_t pid;
	const char *start, *cgroups;
};

/* config.json's "hooks": known kinds, absolute paths, args/env of strings, timeouts above 0 */
int oci_hooks_check(json_t *hooks, struct md_error *err);
/* each hook of KIND in order, STATE on its stdin, in JOIN's namespaces (or ours: NULL); the first failure stops */
int oci_hooks_run(json_t *hooks, const char *kind, json_t *state, const struct oci_join *join, struct md_error *err);

#endif
