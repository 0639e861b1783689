/*
 * run.h: the run half of mini-docker: containers.
 *
 * `mini-docker run` is steps 01-04 put together, as a real runtime does it:
 *   run.c        the command line and the image config (Entrypoint, Cmd, Env, User ...)
 *   container.c  ids, names, the per-container directory under the store, rm
 *   rootfs.c     overlayfs from the image's layers (or a copy), or --rootfs DIR
 *   mounts.c     /proc, /dev, /sys, masked and read-only paths, volumes, --tmpfs
 *   ns.c         clone(2) into namespaces, uid/gid maps, pivot_root, the child's life
 *   cgroups.c    --cpus, --memory, --pids-limit (cgroup v2, v1 fallback)
 *   devices.c    the devices the container may open (devices cgroup, or eBPF on v2)
 *   net.c        --network veth|none|host (a veth pair over rtnetlink)
 *   security.c   capabilities, no_new_privs, seccomp, the user to run as
 *   pty.c        -t: a pseudo-terminal, raw mode, SIGWINCH
 */
#ifndef MD_RUN_H
#define MD_RUN_H

#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "mini-docker.h"
#include "narrate.h"
#include "signals.h"

#define MAX_LIST 64
/* podman's default --pids-limit: a fork bomb stops there, a real workload does not */
#define PIDS_DEFAULT 2048

enum network { NET_VETH = 1, NET_NONE, NET_HOST, NET_BRIDGE /* lifecycle.h: bridge.c */ };

/* A mount the container asked for: -v, --tmpfs, an image's anonymous volume. */
struct volume {
	char *src;   /* host path (bind), or NULL for a tmpfs */
	char *dst;   /* absolute path inside the container */
	int ro;      /* :ro */
	int anon;    /* made for this container: removed with it (--rm) */
	int tmpfs;   /* --tmpfs DST */
};

/* Everything `run` was asked, after the image config is merged in. */
struct run_config {
	const struct md_opts *o;
	/* the command line */
	int rm, interactive, tty, init, read_only, privileged, no_seccomp, userns;
	const char *name, *workdir, *user, *hostname, *rootfs_dir, *image, *cgroup_parent;
	const char *entrypoint; /* --entrypoint: NULL when not given, "" to clear the image's */
	char *env[MAX_LIST * 4];
	int n_env;
	char *volume_args[MAX_LIST];
	int n_volume_args;
	char *tmpfs_args[MAX_LIST];
	int n_tmpfs_args;
	const char *cap_add[MAX_LIST], *cap_drop[MAX_LIST];
	int n_cap_add, n_cap_drop;
	double cpus;
	long long memory;
	long pids; /* --pids-limit: 0 not given (PIDS_DEFAULT where there is a pids controller), -1 none */
	int network;
	struct in_addr subnet;
	int subnet_prefix;
	int timens;
	long long boottime_offset, monotonic_offset;
	char **cmd; /* CMD... after IMAGE (NULL when none) */
	int n_cmd;

	/* what the container runs, from the command line and the image's config */
	char **argv;
	char **envp;
	const char *cwd;
	int stop_signal;
	struct volume volumes[MAX_LIST * 2];
	int n_volumes;
};

/* The runtime state of one container, in the engine (the parent). */
struct container {
	const struct md_opts *o;
	char id[65], name[128];
	char *dir;      /* ROOT/containers/ID */
	char *rootfs;   /* what becomes "/": the overlay mount point, the copy, or --rootfs DIR */
	char *lower;    /* overlay lowerdir (layer dirs relative to ROOT/layers), or NULL */
	char *layers;   /* ROOT/layers */
	char *image;    /* the image's name, for messages and the state */
	char *image_id; /* its config's digest: rmi and the store's gc ask the state who uses it */
	char **blobs;   /* the layer blobs, bottom first: for the copy fallback */
	int n_blobs;
	int plain;      /* --rootfs DIR: no overlay, no copy */
	pid_t pid;      /* the container's init, as the host sees it */
	int userns;
	int master;     /* -t: the pty's master end, in the engine (else -1) */
};

/* run.c */
int cmd_run(const struct md_opts *o, int argc, char **argv);

/* container.c */
int container_create(struct container *c, const struct md_opts *o, const char *name, struct md_error *err);
/* remove ROOT/containers/.new-PID-ID records whose run was killed while making them */
void containers_sweep_new(const struct md_opts *o);
/* Write ROOT/containers/ID/state.json from KEY, VALUE pairs (NULL-terminated; values are strings). */
int container_state(struct container *c, struct md_error *err, ...);
/* Remove the container's directory, its name, its anonymous volumes. */
void container_destroy(struct container *c, const struct run_config *rc);
void random_hex(char *out, size_t nbytes);

/* rootfs.c */
int rootfs_prepare(struct container *c, struct run_config *rc, struct md_error *err);
/* in the child: mount the rootfs (overlay, or copy, or bind) and chdir into it */
void rootfs_enter(struct container *c, const struct run_config *rc);

/* mounts.c: in the child, cwd = the new root, before pivot_root */
void mounts_setup(const struct container *c, const struct run_config *rc);
/* after pivot_root: --read-only */
void mounts_finish(const struct run_config *rc);
int volumes_parse(struct run_config *rc, struct container *c, json_t *image_volumes, struct md_error *err);
void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		  const char *shell);

/* become.c: what run's child and exec's child share, from inside the container to execve */
struct become {
	char **argv, **envp;     /* envp: K=V, a later K replaces an earlier one */
	const char *cwd, *hostname;
	int make_cwd;            /* run: mkdir -p the WorkingDir (docker does); exec -w: must exist */
	int interactive, slave;  /* -i; -t: the pty's slave (else -1) */
	const char *pause;       /* test_pause's point once the user is set */
	pid_t engine;            /* ... and the PID it reports */
	int life_line;           /* run: the sync pipe (EOF: the engine died); exec: -1 */
	int seccomp;             /* apply the filter here (run); exec's parent did before its fork */
	int init;                /* --init: a tiny init stays PID 1 */
};
void become_command(const struct run_config *rc, const struct become *b) __attribute__((noreturn));

/* ns.c */
pid_t ns_start(struct container *c, struct run_config *rc, struct md_error *err);
extern ino_t host_mnt_ns;

/* cgroups.c */
int cgroup_setup(const struct run_config *rc, struct md_error *err);
int cgroup_clone_fd(void);                 /* v2: for CLONE_INTO_CGROUP, or -1 */
int cgroup_add(pid_t pid, struct md_error *err); /* v1 (or no clone3): write cgroup.procs */
void cgroup_report(double wall);
int cgroup_oom_killed(void);
void cgroup_remove(void);
/* the cgroup directories, space separated (for the state file and rm) */
const char *cgroup_dirs(void);
void cgroup_remove_dirs(const char *dirs);

/* devices.c: the devices a container may open (runc's list); not for --privileged */
int devices_v1_line(size_t i, const char **file, char *value, size_t len);
int devices_v2(int cgroup_fd, const char *dir, struct md_error *err);

/* net.c */
struct net_info {
	int slot;              /* -1: no veth */
	char host_end[16];
	struct in_addr host_ip, ctr_ip;
	int prefix;
};
int net_parse_subnet(const char *text, struct run_config *rc, struct md_error *err);
/* in the engine: the veth pair, its host end, the container end moved into PID's namespace */
int net_setup_host(const struct run_config *rc, pid_t pid, struct net_info *ni, struct md_error *err);
/* in the child: lo up, eth0 with its address, the default route */
void net_setup_child(const struct run_config *rc, const struct net_info *ni);
void net_remove(const char *host_end);

/* security.c */
int caps_parse(const struct run_config *rc, struct md_error *err);
/* in the child, after pivot_root: the user (from /etc/passwd, /etc/group inside) */
void user_resolve(const struct run_config *rc, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home);
void security_apply(const struct run_config *rc, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);
/* just before execve */
void seccomp_apply(const struct run_config *rc);
/* every descriptor above 2 close-on-exec (the caller's must not reach the container) */
void close_inherited_fds(void);
const char *caps_effective_hex(void);

/* pty.c */
/* in the child: a pty of the container's devpts; the master goes to the engine over SOCK */
int pty_child_open(int sock);
void pty_child_attach(int slave);
/* in the engine */
int pty_receive(int sock, struct md_error *err);
void pty_pump(int master, int interactive, pid_t child);
void pty_restore(void);

#endif
