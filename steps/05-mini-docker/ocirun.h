/* ocirun.h: the container's init for mini-runc, from clone to the exec.fifo gate (ocirun.c) */
#ifndef MD_OCIRUN_H
#define MD_OCIRUN_H

#include <sys/types.h>

#include "error.h"
#include "ocispec.h"

struct oci_create {
	int fifo;           /* exec.fifo, an O_PATH fd: the init blocks opening it to write until `start` */
	int console;        /* --console-socket, connected (the pty's master goes there), or -1 */
	int no_pivot;       /* --no-pivot: MS_MOVE and chroot instead of pivot_root */
	/* called while the init waits with its mounts made, before pivot_root: the point of the
	 * spec's create-time hooks. Non-zero stops create (it said why; ERR may stay empty) */
	int (*before_pivot)(pid_t pid, void *arg, struct md_error *err);
	void *arg;
};

/* clone the init into OC's namespaces and cgroup and set it up to the gate: its PID, or -1 */
pid_t oci_create_init(struct oci_config *oc, const struct oci_create *how, struct md_error *err);
/* inside the container: umask, rlimits, then become.c (user, caps, no_new_privs, seccomp) to
 * execve of OC's process; READY and GATE as struct become's (-1, -1: mini-runc exec) */
void oci_become(const struct oci_config *oc, int slave, int ready, int gate) __attribute__((noreturn));

#endif
