/* record.h: a container's record in the store: ROOT/containers/ID, its name, rm (record.c) */
#ifndef MD_RECORD_H
#define MD_RECORD_H

#include "container.h"

int container_create(struct container *c, const struct md_opts *o, const char *name, struct md_error *err);
/* remove ROOT/containers/.new-PID-ID records whose run was killed while making them */
void containers_sweep_new(const struct md_opts *o);
/* Write ROOT/containers/ID/state.json from KEY, VALUE pairs (NULL-terminated; values are strings). */
int container_state(struct container *c, struct md_error *err, ...);
/* Remove the container's directory, its name, its anonymous volumes. */
void container_destroy(struct container *c, const struct run_config *rc);
void random_hex(char *out, size_t nbytes);

#endif
