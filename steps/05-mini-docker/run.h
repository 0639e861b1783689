/*
 * run.h: the run half of mini-docker: containers.
 *
 * `mini-docker run` is steps 01-04 put together, as a real runtime does it:
 *   run.c        the command line and the image config (Entrypoint, Cmd, Env, User ...)
 *   container.h  the types: run_config (what run was asked), container
 *   record.c     ids, names, the per-container directory under the store, rm
 *   rootfs.c     overlayfs from the image's layers (or a copy), or --rootfs DIR
 *   mounts.c     /proc, /dev, /sys, masked and read-only paths, volumes, --tmpfs
 *   ns.c         clone(2) into namespaces, uid/gid maps, pivot_root, the child's life
 *   become.c     the child's last steps to execve (shared with exec)
 *   signals.c    the engine between the terminal and the container: hold, forward, wait
 *   cgroups.c    --cpus, --memory, --pids-limit (cgroup v2, v1 fallback)
 *   devices.c    the devices the container may open (devices cgroup, or eBPF on v2)
 *   net.c        --network veth|none|host (a veth pair over rtnetlink)
 *   security.c   capabilities, no_new_privs, seccomp, the user to run as
 *   pty.c        -t: a pseudo-terminal, raw mode, SIGWINCH
 */
#ifndef MD_RUN_H
#define MD_RUN_H

#include "mini-docker.h"

int cmd_run(const struct md_opts *o, int argc, char **argv);

#endif
