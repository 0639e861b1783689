/* mini-docker.h: the options every command sees (global options come before the command). */
#ifndef MINI_DOCKER_H
#define MINI_DOCKER_H

#include <stdint.h>

/* the engine's own failures exit 125, as docker's do */
#define EXIT_ENGINE 125
#define MAX_INSECURE 16

struct md_opts {
	const char *root;      /* the store: --root, MINI_DOCKER_ROOT, /var/lib/mini-docker */
	const char *authfile;  /* --authfile, REGISTRY_AUTH_FILE, or podman's default */
	const char *ca_file;   /* --ca-file: one more CA to trust */
	const char *certs_dir; /* --certs-dir: instead of /etc/containers/certs.d, /etc/docker/certs.d */
	const char *insecure[MAX_INSECURE]; /* --insecure-registry HOST[:PORT] */
	int n_insecure;
	const char *platform;  /* --platform os/arch[/variant]; default: this host's */
	int tty;               /* progress bars when stdout is a terminal */
	uint64_t max_unpack;   /* bytes one layer may unpack to */
	uint64_t max_entries;  /* entries one layer may hold */
	/* how long a registry may keep us waiting (--low-speed-limit, --low-speed-time, --pull-timeout) */
	long low_speed_limit;  /* bytes a second, averaged over low_speed_time: less is a stalled transfer */
	long low_speed_time;   /* seconds */
	long pull_timeout;     /* seconds a whole pull may take; 0: no deadline */
	int retries;           /* --retry: attempts after a transient answer (429, 5xx, a cut transfer) */
	long retry_delay;      /* --retry-delay SECS between attempts; -1: 1 s, doubling */
	uint64_t chunk_size;
	/* the global options as given (argv between "mini-docker" and the command): compose runs
	 * the engine again with them */
	char **global_argv;
	int n_global;   /* --chunk-size: push sends a bigger blob in PATCHes of this size; 0: one PUT */
};

#endif
