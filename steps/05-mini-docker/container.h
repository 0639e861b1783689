/*
 * container.h: what a container is, in the run half of mini-docker: the
 * options run was given (struct run_config) and the engine's view of one
 * container (struct container). Types only: every file of the run half reads
 * them, and this header calls nothing, so it sits below all of them.
 */
#ifndef MD_CONTAINER_H
#define MD_CONTAINER_H

#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "error.h"
#include "mini-docker.h"

struct monitor;
struct ports;

#define MAX_LIST 64
/* podman's default --pids-limit: a fork bomb stops there, a real workload does not */
#define PIDS_DEFAULT 2048

enum net_mode { NET_VETH = 1, NET_NONE, NET_HOST, NET_BRIDGE /* bridge.c */ };

/*
 * A network of bridge mode (ipam.c keeps them, bridge.c plugs containers in):
 * "bridge" is mini0, the default; `network create NAME` makes others, each a
 * bridge md-ID12 with an IPv4 subnet of its own (no IPv6, as docker's user networks).
 */
struct network {
	char name[128];	       /* "bridge", or the user's name */
	char id[65];	       /* "" for mini0 */
	char bridge[16];       /* the link: mini0, md-0123456789ab (IFNAMSIZ) */
	struct in_addr subnet; /* .1 is the bridge, the gateway */
	int prefix;
	int v6; /* mini0 only: an IPv6 ULA /64 too */
	struct in6_addr subnet6;
	int prefix6;
};

/* A mount the container asked for: -v, --tmpfs, an image's anonymous volume. */
struct volume {
	char *src;   /* host path (bind), or NULL for a tmpfs */
	char *dst;   /* absolute path inside the container */
	int ro;      /* :ro */
	int anon;    /* made for this container: removed with it (--rm) */
	int tmpfs;   /* --tmpfs DST */
	int fresh;   /* made by this run: the image's files at DST are copied in first, as docker's */
};

/* Everything `run` was asked, after the image config is merged in. */
struct run_config {
	const struct md_opts *o;
	/* the command line */
	int rm, interactive, tty, init, read_only, privileged, no_seccomp, userns;
	struct winsize tty_size; /* -t: the size of the terminal run started from (0x0: none), the pty's at start */
	int nnp; /* no_new_privs: 0 not said (on, off with --privileged), 1 on, -1 off (security.c nnp_on) */
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
	/* mini-runc (ocispec.c): linux.cgroupsPath and the cpu resources as the OCI config gives them */
	const char *cgroup_path;  /* the container's cgroup itself ("/a/b": from each hierarchy's root) */
	long long cpu_quota;      /* cpu.quota (µs per period), with cpu_period; 0: not given */
	long cpu_period;
	unsigned long cpu_shares; /* cpu.shares (v1), as cpu.weight on v2; 0: not given */
	const char *cpuset_cpus, *cpuset_mems; /* cpu.cpus, cpu.mems ("0-1,3"): cpuset.cpus, cpuset.mems */
	long pids; /* --pids-limit: 0 not given (PIDS_DEFAULT where there is a pids controller), -1 none */
	int network;
	const char *network_name; /* --network NAME of a user network (NULL: bridge, mini0) */
	struct network net;	  /* NET_BRIDGE: the network, loaded by lifecycle.c */
	struct in_addr subnet;
	int subnet_prefix;
	int timens;
	long long boottime_offset, monotonic_offset;
	/* lifecycle.c's options: -d, -p, --network-alias, --stop-signal, --stop-timeout */
	int detach;
	struct ports *ports;    /* -p: ports.c (NULL when none) */
	struct monitor *monitor; /* run -d: this process is the container's monitor (monitor.c) */
	char aliases[512];      /* space separated */
	int stop_signal_opt;    /* 0: the image's StopSignal, else SIGTERM */
	int stop_timeout;       /* seconds (10 unless given) */
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
	int leased;     /* it holds an address on the bridge (ipam.c) */
};

#endif
