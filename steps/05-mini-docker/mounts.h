/* mounts.h: /proc, /dev, /sys, masked paths, volumes, --tmpfs (mounts.c) */
#ifndef MD_MOUNTS_H
#define MD_MOUNTS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "container.h"

/* in the child, cwd = the new root, before pivot_root */
void mounts_setup(const struct container *c, const struct run_config *rc);
/* after pivot_root: --read-only */
void mounts_finish(const struct run_config *rc);
int volumes_parse(struct run_config *rc, struct container *c, json_t *image_volumes, struct md_error *err);
void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		  const char *shell);

/* the pieces mini-runc (ocirun.c) puts together from a config.json; in the child, cwd = the new root */
void mount_point(const char *name, mode_t mode); /* mkdir NAME unless there; a symlink is refused */
void mount_dev(const struct container *c);      /* tmpfs /dev, runc's nodes and links, pts, shm, mqueue */
void mount_cgroup(const struct run_config *rc); /* sys/fs/cgroup: the container's own cgroup, read-only */
int make_readonly(const char *path, int at_flags);
void mask_paths(const char *const *masked, size_t n_masked, const char *const *readonly, size_t n_readonly);

/* runc's masked and read-only paths, relative ("proc/kcore"): the Ith, NULL after the last */
const char *mounts_masked(size_t i);
const char *mounts_readonly(size_t i);

#endif
