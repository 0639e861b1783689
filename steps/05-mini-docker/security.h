/* security.h: capabilities, no_new_privs, seccomp, the user to run as (security.c) */
#ifndef MD_SECURITY_H
#define MD_SECURITY_H

#include <sys/types.h>

#include "container.h"

int caps_parse(const struct run_config *rc, struct md_error *err);
/* mini-runc: the five sets of an OCI config instead (caps_parse's are then not used) */
enum { CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_PERMITTED, CAPS_INHERITABLE, CAPS_AMBIENT, CAPS_SETS };
void caps_oci_begin(void);
int caps_oci_add(int set, const char *name, struct md_error *err);
/*
 * USER (NAME|UID[:GROUP|GID], "" is root) from etc/passwd and etc/group under ROOTFD
 * (AT_FDCWD: "/"), resolved inside that root: the ids, the supplementary groups (the
 * primary one among them) and the home; or -1 with WHY
 */
int user_lookup(int rootfd, const char *user, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home,
		char *why, size_t whylen);
/* in the child, after pivot_root: the user (from /etc/passwd, /etc/group inside) */
void user_resolve(const struct run_config *rc, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home);
void security_apply(const struct run_config *rc, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);
/*
 * no_new_privs: on here unless --security-opt no-new-privileges=false or
 * --privileged (Docker's default is off; runc's spec and this engine keep it on)
 */
int nnp_on(const struct run_config *rc);
/* in the engine, the store still in sight: Docker's profile compiled, or loaded from ROOT/seccomp */
int seccomp_prepare(const struct run_config *rc, struct md_error *err);
/* a compiled filter (struct sock_filter[]) to load instead of Docker's (mini-runc: the config's); -1: not one */
int seccomp_take_program(const char *buf, size_t len);
/* just before execve (with no_new_privs off: before the capabilities go, see become.c) */
void seccomp_apply(const struct run_config *rc);
/* every descriptor above 2+KEEP close-on-exec (the caller's must not reach the container);
 * KEEP: mini-runc --preserve-fds, 3..3+KEEP-1 go in (not close-on-exec) */
void close_inherited_fds(int keep);
const char *caps_effective_hex(void);
/* the Ith of Docker's 14 default capabilities, "CAP_CHOWN" ... (into BUF); NULL after the last */
const char *caps_default_name(size_t i, char *buf, size_t len);

#endif
