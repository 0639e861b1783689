/* rootfs.h: what becomes the container's "/" (rootfs.c) */
#ifndef MD_ROOTFS_H
#define MD_ROOTFS_H

#include "container.h"

int rootfs_prepare(struct container *c, struct run_config *rc, struct md_error *err);
/* in the child: mount the rootfs (overlay, or copy, or bind) and chdir into it */
void rootfs_enter(struct container *c, const struct run_config *rc);

#endif
