/*
 * mini-docker: a daemonless mini container engine (step 05 of the workshop).
 *
 * This half is about images: where a root filesystem comes from when you
 * type `docker run busybox`. It speaks to real registries, keeps images in an
 * OCI image layout, and unpacks layers without trusting them.
 *
 * Usage: mini-docker [GLOBAL OPTIONS] COMMAND [ARGS...]
 *
 * Global options come before the command, as Docker's do:
 *   --root DIR                 the store (MINI_DOCKER_ROOT; default /var/lib/mini-docker)
 *   --authfile FILE            credentials (REGISTRY_AUTH_FILE; as podman)
 *   --ca-file FILE             one more CA to trust for registries
 *   --certs-dir DIR            per-registry CAs: DIR/HOST:PORT/ca.crt
 *                              (default /etc/containers/certs.d and /etc/docker/certs.d)
 *   --insecure-registry HOST   allow plain http (or an untrusted certificate) for HOST
 *   --low-speed-limit BYTES    a transfer slower than BYTES/s ...
 *   --low-speed-time SECS      ... for SECS is stalled: an error (default 1024 B/s for 30 s)
 *   --pull-timeout SECS        the deadline of a whole pull (default 3600; 0: none)
 *   --retry N                  attempts after 429, 5xx or a cut transfer (default 3)
 *   --retry-delay SECS         between attempts (default 1 s, doubling; Retry-After wins)
 *   -v, --verbose              narrate each request
 *
 * Each command lives in the file of its concern; main only dispatches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "build.h"
#include "compose.h"
#include "exec.h"
#include "image.h"
#include "mini-docker.h"
#include "narrate.h"
#include "network.h"
#include "opts.h"
#include "prune.h"
#include "ps.h"
#include "registry.h"
#include "run.h"
#include "stop.h"

int cmd_pull(const struct md_opts *o, int argc, char **argv);
int cmd_load(const struct md_opts *o, int argc, char **argv);
int cmd_save(const struct md_opts *o, int argc, char **argv);
/* a global option's number: all digits, within [min, max]; else a one-line error */
static int number_opt(const char *flag, const char *v, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max) {
		fprintf(stderr, "mini-docker: %s wants a whole number from %ld to %ld, got '%s'\n", flag, min, max, v);
		return -1;
	}
	*out = n;
	return 0;
}

static int cmd_login(const struct md_opts *o, int argc, char **argv);

struct command {
	const char *name;
	int (*fn)(const struct md_opts *o, int argc, char **argv);
	const char *usage;
};

/* the run half (containers) adds its commands here */
static const struct command commands[] = {
	{"pull", cmd_pull, "pull [--platform OS/ARCH] [REGISTRY/]NAME[:TAG|@DIGEST]   fetch an image from a registry"},
	{"images", cmd_images, "images [-q]                                   list images in the store"},
	{"inspect", cmd_container_inspect, "inspect CONTAINER|IMAGE...                    a container's state, or an image's config and layers, as JSON"},
	{"history", cmd_history, "history [--no-trunc] IMAGE                     how an image was made: its steps, newest first, with their layers' sizes"},
	{"rmi", cmd_rmi, "rmi [-f] IMAGE...                             remove images (and what no other image needs)"},
	{"build", cmd_build, "build [-t NAME[:TAG]] [-f FILE] [--build-arg K=V] [--no-cache] CONTEXT   an image from a Dockerfile (build --help)"},
	{"push", cmd_push, "push [--format oci|v2s2] [REGISTRY/]NAME[:TAG]   send an image to a registry (blobs it lacks, then the manifest)"},
	{"tag", cmd_tag, "tag SOURCE TARGET[:TAG]                        one more name for an image (nothing is copied)"},
	{"unpack", cmd_unpack, "unpack [--bundle] IMAGE DIR                   flatten an image into a rootfs DIR (--bundle: DIR/rootfs and an OCI config.json for runc)"},
	{"load", cmd_load, "load -i PATH                                  import an OCI layout (dir or tar) or a docker save tar"},
	{"save", cmd_save, "save -o FILE IMAGE...                         write images as an OCI layout tar (docker load reads it)"},
	{"login", cmd_login, "login [-u USER] [-p PASS | --password-stdin] HOST   check and keep credentials"},
	{"run", cmd_run, "run [OPTIONS] IMAGE|--rootfs DIR [CMD...]        run a command in a new container (run --help)"},
	{"rm", cmd_container_rm, "rm [-f] [-v] CONTAINER...                     remove containers (their writes, cgroup, address, anonymous volumes)"},
	{"ps", cmd_container_ps, "ps [-a] [-q] [--no-trunc]                     list running containers (-a: every one)"},
	{"logs", cmd_logs, "logs [-f] [--tail N] [-t] CONTAINER           what a detached container wrote"},
	{"stop", cmd_stop, "stop [-t SECS] CONTAINER...                   its StopSignal, then SIGKILL after SECS (10)"},
	{"kill", cmd_kill, "kill [-s SIGNAL] CONTAINER...                 send a signal (default SIGKILL)"},
	{"wait", cmd_wait, "wait CONTAINER...                             until they end; print their exit codes"},
	{"system", cmd_system, "system prune                                  remove stopped containers, then unused layers and blobs"},
	{"exec", cmd_exec, "exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...   run CMD in a running container"},
	{"network", cmd_network, "network create [--subnet CIDR] NAME | ls | rm NAME... | inspect NAME...   bridge networks of your own"},
	{"compose", cmd_compose, "compose [-f FILE] [-p NAME] [--dry-run] up|down|ps|logs|exec|config   a project of containers from compose.yaml"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: mini-docker [--root DIR] [--authfile F] [--ca-file F] [--certs-dir D]\n"
		   "                   [--insecure-registry HOST] [--low-speed-limit BYTES] [--low-speed-time SECS]\n"
		   "                   [--pull-timeout SECS] [--retry N] [--retry-delay SECS] [--chunk-size BYTES]\n"
		   "                   [-v] COMMAND [ARGS...]\n\n"
		   "Commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->usage);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return def;
	unsigned long long n = strtoull(v, &end, 10);
	return *end ? def : n;
}

static int cmd_login(const struct md_opts *o, int argc, char **argv)
{
	const char *user = NULL, *pass = NULL, *host = NULL;
	char ubuf[256], pbuf[512];
	int from_stdin = 0, k;
	struct md_error err;
	enum { USERNAME, PASSWORD, PASSWORD_STDIN };
	static const struct md_option options[] = {
	    [USERNAME] = {"username", 'u', MD_VALUE},
	    [PASSWORD] = {"password", 'p', MD_VALUE},
	    [PASSWORD_STDIN] = {"password-stdin", 0, MD_FLAG},
	};
	struct md_getopt g;
	md_getopt_init(&g, "login", "login [-u USER] [-p PASS | --password-stdin] HOST", options,
		       MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		switch (k) {
		case USERNAME:
			user = g.value;
			break;
		case PASSWORD:
			pass = g.value;
			break;
		case PASSWORD_STDIN:
			from_stdin = 1;
			break;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind > 1) {
		fprintf(stderr, "mini-docker: login: unknown argument %s\n", argv[g.optind + 1]);
		return EXIT_ENGINE;
	}
	host = g.optind < argc ? argv[g.optind] : NULL;
	if (!host) {
		fprintf(stderr, "mini-docker: usage: mini-docker login [-u USER] [-p PASS | --password-stdin] HOST\n");
		return EXIT_ENGINE;
	}
	if (!user) {
		fprintf(stderr, "Username: ");
		if (!fgets(ubuf, sizeof(ubuf), stdin))
			return EXIT_ENGINE;
		ubuf[strcspn(ubuf, "\n")] = 0;
		user = ubuf;
	}
	if (!pass) {
		struct termios t, quiet;
		int echo_off = !from_stdin && isatty(0) && tcgetattr(0, &t) == 0;
		if (!from_stdin)
			fprintf(stderr, "Password: ");
		if (echo_off) {
			quiet = t;
			quiet.c_lflag &= ~ECHO;
			tcsetattr(0, TCSANOW, &quiet);
		}
		char *got = fgets(pbuf, sizeof(pbuf), stdin);
		if (echo_off) {
			tcsetattr(0, TCSANOW, &t);
			fputc('\n', stderr);
		}
		if (!got)
			return EXIT_ENGINE;
		pbuf[strcspn(pbuf, "\n")] = 0;
		pass = pbuf;
	}
	if (registry_login(o, host, user, pass, &err) < 0) {
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	return 0;
}

/*
 * The store's directory, always absolute: overlayfs and the container's own
 * mount namespace resolve paths from elsewhere than our cwd. Without --root or
 * MINI_DOCKER_ROOT, a user who is not root gets a store of their own, as
 * rootless podman does ($XDG_DATA_HOME/mini-docker, ~/.local/share/mini-docker).
 */
static const char *store_root(const char *root, int from_env)
{
	static char buf[PATH_MAX];
	const char *home = getenv("HOME"), *xdg = getenv("XDG_DATA_HOME");
	if (geteuid() != 0 && !from_env && !strcmp(root, "/var/lib/mini-docker")) {
		if (xdg && *xdg == '/')
			snprintf(buf, sizeof(buf), "%s/mini-docker", xdg);
		else if (home && *home == '/')
			snprintf(buf, sizeof(buf), "%s/.local/share/mini-docker", home);
		else
			return root;
		return buf;
	}
	if (root[0] == '/' || !getcwd(buf, sizeof(buf) - strlen(root) - 2))
		return root;
	strcat(buf, "/");
	strcat(buf, root);
	return buf;
}

/*
 * The global options, before the command (as docker's). Returns the index of
 * the command in ARGV, or -1 - STATUS when main is to exit with STATUS (after
 * --help: 0, EXIT_ENGINE after an error it printed).
 */
static int global_options(struct md_opts *o, int argc, char **argv)
{
	enum { ROOT, AUTHFILE, CA_FILE, CERTS_DIR, INSECURE, LOW_SPEED_LIMIT, LOW_SPEED_TIME,
	       PULL_TIMEOUT, RETRY, RETRY_DELAY, CHUNK_SIZE, VERBOSE, HELP };
	static const struct md_option options[] = {
	    [ROOT] = {"root", 0, MD_VALUE},
	    [AUTHFILE] = {"authfile", 0, MD_VALUE},
	    [CA_FILE] = {"ca-file", 0, MD_VALUE},
	    [CERTS_DIR] = {"certs-dir", 0, MD_VALUE},
	    [INSECURE] = {"insecure-registry", 0, MD_VALUE},
	    [LOW_SPEED_LIMIT] = {"low-speed-limit", 0, MD_VALUE},
	    [LOW_SPEED_TIME] = {"low-speed-time", 0, MD_VALUE},
	    [PULL_TIMEOUT] = {"pull-timeout", 0, MD_VALUE},
	    [RETRY] = {"retry", 0, MD_VALUE},
	    [RETRY_DELAY] = {"retry-delay", 0, MD_VALUE},
	    [CHUNK_SIZE] = {"chunk-size", 0, MD_VALUE},
	    [VERBOSE] = {"verbose", 'v', MD_FLAG},
	    [HELP] = {"help", 'h', MD_FLAG},
	};
	struct md_getopt g;
	struct md_error err;
	long n;
	int k;
	/* the command's name ends them: what follows is the command's (NULL: "unknown global option") */
	md_getopt_init(&g, NULL, NULL, options, MD_N(options), MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		const char *v = g.value;
		switch (k) {
		case ROOT:
			o->root = v;
			break;
		case AUTHFILE:
			o->authfile = v;
			break;
		case CA_FILE:
			o->ca_file = v;
			break;
		case CERTS_DIR:
			o->certs_dir = v;
			break;
		case INSECURE:
			if (o->n_insecure == MAX_INSECURE) {
				fprintf(stderr, "mini-docker: --insecure-registry %s: at most %d of them\n", v,
					MAX_INSECURE);
				return -(EXIT_ENGINE + 1);
			}
			o->insecure[o->n_insecure++] = v;
			break;
		case LOW_SPEED_LIMIT:
			if (number_opt(g.shown, v, 0, 1L << 40, &o->low_speed_limit) < 0)
				return -(EXIT_ENGINE + 1);
			break;
		case LOW_SPEED_TIME:
			if (number_opt(g.shown, v, 1, 86400, &o->low_speed_time) < 0)
				return -(EXIT_ENGINE + 1);
			break;
		case PULL_TIMEOUT:
			if (number_opt(g.shown, v, 0, 30L * 86400, &o->pull_timeout) < 0)
				return -(EXIT_ENGINE + 1);
			break;
		case RETRY:
			if (number_opt(g.shown, v, 0, 100, &n) < 0)
				return -(EXIT_ENGINE + 1);
			o->retries = (int)n;
			break;
		case RETRY_DELAY:
			if (number_opt(g.shown, v, 0, 3600, &o->retry_delay) < 0)
				return -(EXIT_ENGINE + 1);
			break;
		case CHUNK_SIZE: /* push: a blob bigger than this goes in PATCHes of this size; 0: one PUT */
			if (number_opt(g.shown, v, 0, 1L << 40, &n) < 0)
				return -(EXIT_ENGINE + 1);
			o->chunk_size = (uint64_t)n;
			break;
		case VERBOSE:
			md_verbose = 1;
			break;
		case HELP:
			usage(stdout);
			return -1;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err) ? -(EXIT_ENGINE + 1) : -1;
	return g.optind;
}

int main(int argc, char **argv)
{
	struct md_opts o = {0};
	const char *env = getenv("MINI_DOCKER_ROOT");
	o.root = env && *env ? env : "/var/lib/mini-docker";
	o.max_unpack = env_u64("MINI_DOCKER_MAX_UNPACK", 16ULL << 30);
	o.max_entries = env_u64("MINI_DOCKER_MAX_ENTRIES", 1000000);
	o.tty = isatty(1);
	o.low_speed_limit = 1024;
	o.low_speed_time = 30;
	o.pull_timeout = 3600;
	o.retries = 3;
	o.retry_delay = -1;
	o.chunk_size = 64ULL << 20;

	int i = global_options(&o, argc, argv);
	if (i < 0)
		return -i - 1;
	if (i == argc) {
		usage(stderr);
		return EXIT_ENGINE;
	}
	o.root = store_root(o.root, env && *env);
	o.global_argv = argv + 1;
	o.n_global = i - 1;
	for (const struct command *c = commands; c->name; c++) {
		if (strcmp(c->name, argv[i]))
			continue;
		int rc = c->fn(&o, argc - i, argv + i);
		fflush(stdout);
		return rc;
	}
	fprintf(stderr, "mini-docker: unknown command '%s' (see mini-docker --help)\n", argv[i]);
	return EXIT_ENGINE;
}
