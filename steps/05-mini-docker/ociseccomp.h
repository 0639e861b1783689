/* ociseccomp.h: linux.seccomp of a config.json, compiled with libseccomp (ociseccomp.c) */
#ifndef MD_OCISECCOMP_H
#define MD_OCISECCOMP_H

#include <jansson.h>

#include "error.h"

/* the spec's profile into a program for security.c's seccomp_apply, or -1 with ERR */
int oci_seccomp(json_t *profile, struct md_error *err);

#endif
