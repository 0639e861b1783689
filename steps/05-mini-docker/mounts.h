/* mounts.h: /proc, /dev, /sys, masked paths, volumes, --tmpfs (mounts.c) */
#ifndef MD_MOUNTS_H
#define MD_MOUNTS_H

#include <jansson.h>

#include "container.h"

/* in the child, cwd = the new root, before pivot_root */
void mounts_setup(const struct container *c, const struct run_config *rc);
/* after pivot_root: --read-only */
void mounts_finish(const struct run_config *rc);
int volumes_parse(struct run_config *rc, struct container *c, json_t *image_volumes, struct md_error *err);
void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		  const char *shell);

/* runc's masked and read-only paths, relative ("proc/kcore"): the Ith, NULL after the last */
const char *mounts_masked(size_t i);
const char *mounts_readonly(size_t i);

#endif
