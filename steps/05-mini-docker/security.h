/* security.h: capabilities, no_new_privs, seccomp, the user to run as (security.c) */
#ifndef MD_SECURITY_H
#define MD_SECURITY_H

#include <sys/types.h>

#include "container.h"

int caps_parse(const struct run_config *rc, struct md_error *err);
/* in the child, after pivot_root: the user (from /etc/passwd, /etc/group inside) */
void user_resolve(const struct run_config *rc, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home);
void security_apply(const struct run_config *rc, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);
/*
 * no_new_privs: on here unless --security-opt no-new-privileges=false or
 * --privileged (Docker's default is off; runc's spec and this engine keep it on)
 */
int nnp_on(const struct run_config *rc);
/* just before execve (with no_new_privs off: before the capabilities go, see become.c) */
void seccomp_apply(const struct run_config *rc);
/* every descriptor above 2 close-on-exec (the caller's must not reach the container) */
void close_inherited_fds(void);
const char *caps_effective_hex(void);

#endif
