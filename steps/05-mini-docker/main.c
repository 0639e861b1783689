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

#include "image.h"
#include "mini-docker.h"
#include "exec.h"
#include "lifecycle.h"
#include "narrate.h"
#include "prune.h"
#include "run.h"
#include "registry.h"

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
	{"rmi", cmd_rmi, "rmi [-f] IMAGE...                             remove images (and what no other image needs)"},
	{"unpack", cmd_unpack, "unpack IMAGE DIR                              flatten an image into a plain rootfs DIR"},
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
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: mini-docker [--root DIR] [--authfile F] [--ca-file F] [--certs-dir D]\n"
		   "                   [--insecure-registry HOST] [--low-speed-limit BYTES] [--low-speed-time SECS]\n"
		   "                   [--pull-timeout SECS] [--retry N] [--retry-delay SECS] [-v] COMMAND [ARGS...]\n\n"
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
	int from_stdin = 0;
	struct md_error err;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-u") || !strcmp(argv[i], "--username")) && i + 1 < argc)
			user = argv[++i];
		else if ((!strcmp(argv[i], "-p") || !strcmp(argv[i], "--password")) && i + 1 < argc)
			pass = argv[++i];
		else if (!strcmp(argv[i], "--password-stdin"))
			from_stdin = 1;
		else if (argv[i][0] != '-' && !host)
			host = argv[i];
		else {
			fprintf(stderr, "mini-docker: login: unknown argument %s\n", argv[i]);
			return EXIT_ENGINE;
		}
	}
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

int main(int argc, char **argv)
{
	struct md_opts o = {0};
	const char *env = getenv("MINI_DOCKER_ROOT");
	int i;
	o.root = env && *env ? env : "/var/lib/mini-docker";
	o.max_unpack = env_u64("MINI_DOCKER_MAX_UNPACK", 16ULL << 30);
	o.max_entries = env_u64("MINI_DOCKER_MAX_ENTRIES", 1000000);
	o.tty = isatty(1);
	o.low_speed_limit = 1024;
	o.low_speed_time = 30;
	o.pull_timeout = 3600;
	o.retries = 3;
	o.retry_delay = -1;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		int has = i + 1 < argc;
		if (!strcmp(a, "--root") && has)
			o.root = argv[++i];
		else if (!strcmp(a, "--authfile") && has)
			o.authfile = argv[++i];
		else if (!strcmp(a, "--ca-file") && has)
			o.ca_file = argv[++i];
		else if (!strcmp(a, "--certs-dir") && has)
			o.certs_dir = argv[++i];
		else if (!strcmp(a, "--insecure-registry") && has && o.n_insecure < MAX_INSECURE)
			o.insecure[o.n_insecure++] = argv[++i];
		else if (!strcmp(a, "--low-speed-limit") && has) {
			if (number_opt(a, argv[++i], 0, 1L << 40, &o.low_speed_limit) < 0)
				return EXIT_ENGINE;
		} else if (!strcmp(a, "--low-speed-time") && has) {
			if (number_opt(a, argv[++i], 1, 86400, &o.low_speed_time) < 0)
				return EXIT_ENGINE;
		} else if (!strcmp(a, "--pull-timeout") && has) {
			if (number_opt(a, argv[++i], 0, 30L * 86400, &o.pull_timeout) < 0)
				return EXIT_ENGINE;
		} else if (!strcmp(a, "--retry") && has) {
			long n;
			if (number_opt(a, argv[++i], 0, 100, &n) < 0)
				return EXIT_ENGINE;
			o.retries = (int)n;
		} else if (!strcmp(a, "--retry-delay") && has) {
			if (number_opt(a, argv[++i], 0, 3600, &o.retry_delay) < 0)
				return EXIT_ENGINE;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			md_verbose = 1;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "mini-docker: unknown global option %s (global options come before the command; "
					"see mini-docker --help)\n", a);
			return EXIT_ENGINE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_ENGINE;
	}
	o.root = store_root(o.root, env && *env);
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
