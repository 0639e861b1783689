/* devices.h: the devices a container may open, runc's list; not for --privileged (devices.c) */
#ifndef MD_DEVICES_H
#define MD_DEVICES_H

#include <stddef.h>

#include "error.h"

int devices_in_list(char type, long major, long minor);
int devices_v1_line(size_t i, const char **file, char *value, size_t len);
int devices_v2(int cgroup_fd, const char *dir, struct md_error *err);

#endif
