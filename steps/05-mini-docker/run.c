/*
 * run.c: `mini-docker run`, the command line and the image's config.
 *
 *     $ docker run -it alpine                 # the slides
 *     $ mini-docker run -it 127.0.0.1:5000/alpine sh
 *     $ mini-docker run --rootfs build/rootfs /bin/sh   # a plain directory, as box
 *
 * The image's config says what to run (Entrypoint + Cmd), with which
 * environment (Env), where (WorkingDir) and as whom (User); the command line
 * overrides each of them, as docker run does. Then the steps of the workshop
 * happen in order: a cgroup (02), namespaces and pivot_root (03), a network
 * (04), and the defaults a real engine adds: fewer capabilities, seccomp,
 * masked /proc files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "container.h"
#include "image.h"
#include "ipam.h"
#include "lifecycle.h"
#include "mounts.h"
#include "narrate.h"
#include "net.h"
#include "ns.h"
#include "opts.h"
#include "pty.h"
#include "record.h"
#include "rootfs.h"
#include "run.h"
#include "security.h"
#include "signals.h"
#include "state.h"
#include "store.h"
#include "util.h"


static void run_usage(FILE *f)
{
	fprintf(f, "Usage: mini-docker run [OPTIONS] IMAGE [CMD [ARG...]]\n"
		   "       mini-docker run [OPTIONS] --rootfs DIR [CMD [ARG...]]\n\n"
		   "  --rm                      remove the container (its writes too) when it ends\n"
		   "  --name NAME               a name for mini-docker rm NAME\n"
		   "  -e, --env K=V | K         an environment variable (K alone: the host's value)\n"
		   "  --env-file FILE           K=V lines\n"
		   "  -w, --workdir DIR         the working directory (made if missing)\n"
		   "  -u, --user USER[:GROUP]   names from the image's /etc/passwd, or numbers\n"
		   "  --entrypoint CMD          instead of the image's Entrypoint ('' clears it)\n"
		   "  -h, --hostname NAME       the container's hostname (default: the short id)\n"
		   "  -v, --volume SRC:DST[:ro] a host directory (or a named volume) at DST\n"
		   "  --tmpfs DST               a tmpfs at DST\n"
		   "  --read-only               / read-only (volumes and tmpfs stay writable)\n"
		   "  --cpus N, -m/--memory SIZE, --pids-limit N, --cgroup-parent NAME   cgroup limits\n"
		   "                            (--pids-limit: 2048 unless given, -1 for none)\n"
		   "  --network bridge|veth|none|host|NAME  (default bridge; none when rootless), --subnet CIDR (veth)\n"
		   "                            NAME: a network of `network create` (peers by name on it only)\n"
		   "  -d, --detach              run in the background: print the ID; a monitor keeps its logs\n"
		   "  -p, --publish [IP:]HOSTPORT:CTRPORT[/udp]   publish a port of the bridge network\n"
		   "  --network-alias NAME      one more name peers reach it by    --stop-signal SIG, --stop-timeout S\n"
		   "  -i, --interactive         pass stdin on      -t, --tty   a pseudo-terminal\n"
		   "  --init                    a tiny init as PID 1\n"
		   "  --cap-add CAP, --cap-drop CAP (ALL too), --privileged\n"
		   "  --security-opt seccomp=unconfined | no-new-privileges[=false]  (on unless =false or --privileged)\n"
		   "  --userns                  a user namespace (always when not root)\n"
		   "  --boottime-offset SECS, --monotonic-offset SECS   a time namespace\n");
}

/* --cpus 0.5: a share of one CPU's time, as docker run --cpus (0.01 up to every CPU). */
/* copy of step 02's parse_cpus() (steps/02-cgroups/box.c); scripts/check-copies */
static int parse_cpus(const char *opt, const char *s, double *out, struct md_error *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char *end = (char *)s;
	errno = 0;
	double v = *s && !s[strspn(s, "0123456789.")] ? strtod(s, &end) : -1;
	if (v < 0 || *end || errno || v < 0.01 || v > ncpu)
		return md_fail(err, "%s '%s': give a number of CPUs from 0.01 to %ld (this host has %ld), e.g. --cpus 0.5",
			       opt, s, ncpu, ncpu);
	*out = v;
	return 0;
}

/* --memory 64M: bytes, with k, m, g (and an optional b), as docker; at least 6M. */
/* copy of step 02's parse_memory() (steps/02-cgroups/box.c); scripts/check-copies */
static int parse_memory(const char *opt, const char *s, long long *out, struct md_error *err)
{
	unsigned long long v = 0;
	int shift = 0;
	char *end = (char *)s;
	errno = 0;
	if (isdigit((unsigned char)*s))
		v = strtoull(s, &end, 10);
	switch (tolower((unsigned char)*end)) {
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (end == s || !isdigit((unsigned char)*s) || *end || errno || v > (unsigned long long)LLONG_MAX >> shift)
		return md_fail(err, "%s '%s': give a size in bytes, with k, m or g for KiB, MiB, GiB (e.g. --memory 64M)", opt, s);
	if ((long long)(v << shift) < 6 << 20)
		return md_fail(err, "%s '%s': the smallest memory limit is 6M (as docker's)", opt, s);
	*out = (long long)(v << shift);
	return 0;
}

/* copy of step 02's parse_pids() (steps/02-cgroups/box.c); scripts/check-copies */
static int parse_long(const char *opt, const char *s, long lo, long hi, long *out, struct md_error *err)
{
	char *end = (char *)s;
	errno = 0;
	long v = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : lo - 1;
	if (*end || errno || v < lo || v > hi)
		return md_fail(err, "%s '%s': give a whole number from %ld to %ld", opt, s, lo, hi);
	*out = v;
	return 0;
}

/* copy of step 03's parse_seconds() (steps/03-namespaces/box.c); scripts/check-copies */
static int parse_seconds(const char *opt, const char *s, long long *out, struct md_error *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return md_fail(err, "%s %s: give a whole number of seconds, e.g. %s 86400", opt, s, opt);
	*out = v;
	return 0;
}

static int add_env(struct run_config *rc, const char *kv, struct md_error *err)
{
	if (rc->n_env >= (int)(sizeof(rc->env) / sizeof(rc->env[0])))
		return md_fail(err, "too many environment variables");
	if (!strchr(kv, '=')) { /* -e NAME: the host's value, or nothing */
		const char *v = getenv(kv);
		if (!v)
			return 0;
		rc->env[rc->n_env++] = xasprintf("%s=%s", kv, v);
		return 0;
	}
	if (kv[0] == '=')
		return md_fail(err, "-e '%s': the variable has no name", kv);
	rc->env[rc->n_env++] = xstrdup(kv);
	return 0;
}

static int env_file(struct run_config *rc, const char *path, struct md_error *err)
{
	char *buf, *line, *save;
	size_t len;
	if (read_file(path, 1 << 20, &buf, &len, err) < 0)
		return md_context(err, "--env-file");
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = 0;
		while (isspace((unsigned char)*line))
			line++;
		if (!*line || *line == '#')
			continue;
		if (add_env(rc, line, err) < 0) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

/* --security-opt seccomp=unconfined | no-new-privileges[=true|=false] (":" as docker's older spelling) */
static int security_opt(struct run_config *rc, const char *v, struct md_error *err)
{
	if (!strcmp(v, "seccomp=unconfined") || !strcmp(v, "seccomp:unconfined"))
		rc->no_seccomp = 1;
	else if (!strcmp(v, "no-new-privileges") || !strcmp(v, "no-new-privileges:true") ||
		 !strcmp(v, "no-new-privileges=true"))
		rc->nnp = 1;
	else if (!strcmp(v, "no-new-privileges:false") || !strcmp(v, "no-new-privileges=false"))
		rc->nnp = -1; /* setuid programs (su, ping on older images) work: Docker's default */
	else
		return md_fail(err, "--security-opt %s: mini-docker knows seccomp=unconfined and "
				    "no-new-privileges[=true|=false]", v);
	return 0;
}

/* for opts.c: a flag may be written --rm=true, and parse_args judges its word (--userns=host) */
enum { NOARG = MD_FLAG_EQ, ARG = MD_VALUE };
static const struct md_option run_options[] = {
	{"rm", 0, NOARG}, {"interactive", 'i', NOARG}, {"tty", 't', NOARG}, {"init", 0, NOARG},
	{"read-only", 0, NOARG}, {"privileged", 0, NOARG}, {"userns", 0, NOARG}, {"help", 0, NOARG},
	{"name", 0, ARG}, {"env", 'e', ARG}, {"env-file", 0, ARG}, {"workdir", 'w', ARG},
	{"user", 'u', ARG}, {"entrypoint", 0, ARG}, {"hostname", 'h', ARG}, {"volume", 'v', ARG},
	{"tmpfs", 0, ARG}, {"cpus", 0, ARG}, {"memory", 'm', ARG}, {"pids-limit", 0, ARG},
	{"network", 0, ARG}, {"net", 0, ARG}, {"subnet", 0, ARG}, {"cap-add", 0, ARG},
	{"cap-drop", 0, ARG}, {"security-opt", 0, ARG}, {"rootfs", 0, ARG}, {"cgroup-parent", 0, ARG},
	{"boottime-offset", 0, ARG}, {"monotonic-offset", 0, ARG},
	/* lifecycle.c (run's hooks) */
	{"detach", 'd', NOARG}, {"publish", 'p', ARG}, {"network-alias", 0, ARG}, {"stop-signal", 0, ARG},
	{"stop-timeout", 0, ARG},
};
#define N_OPTIONS (sizeof(run_options) / sizeof(run_options[0]))

static int option(struct run_config *rc, const char *lng, const char *shown, const char *v, struct md_error *err)
{
	int mine = lifecycle_option(rc, lng, shown, v, err); /* -d, -p ... */
	if (mine)
		return mine < 0 ? -1 : 0;
	if (!strcmp(lng, "rm")) rc->rm = 1;
	else if (!strcmp(lng, "interactive")) rc->interactive = 1;
	else if (!strcmp(lng, "tty")) rc->tty = 1;
	else if (!strcmp(lng, "init")) rc->init = 1;
	else if (!strcmp(lng, "read-only")) rc->read_only = 1;
	else if (!strcmp(lng, "privileged")) rc->privileged = 1;
	else if (!strcmp(lng, "userns")) rc->userns = 1;
	else if (!strcmp(lng, "name")) rc->name = v;
	else if (!strcmp(lng, "env")) return add_env(rc, v, err);
	else if (!strcmp(lng, "env-file")) return env_file(rc, v, err);
	else if (!strcmp(lng, "workdir")) {
		if (v[0] != '/')
			return md_fail(err, "%s %s: the working directory must be an absolute path", shown, v);
		rc->workdir = v;
	} else if (!strcmp(lng, "user")) rc->user = v;
	else if (!strcmp(lng, "entrypoint")) rc->entrypoint = v;
	else if (!strcmp(lng, "hostname")) {
		if (!*v || strlen(v) > 64)
			return md_fail(err, "%s '%s': a hostname has 1 to 64 characters", shown, v);
		rc->hostname = v;
	} else if (!strcmp(lng, "volume")) {
		if (rc->n_volume_args >= MAX_LIST)
			return md_fail(err, "too many volumes");
		rc->volume_args[rc->n_volume_args++] = (char *)v;
	} else if (!strcmp(lng, "tmpfs")) {
		if (rc->n_tmpfs_args >= MAX_LIST)
			return md_fail(err, "too many tmpfs");
		rc->tmpfs_args[rc->n_tmpfs_args++] = (char *)v;
	} else if (!strcmp(lng, "cpus")) return parse_cpus(shown, v, &rc->cpus, err);
	else if (!strcmp(lng, "memory")) return parse_memory(shown, v, &rc->memory, err);
	else if (!strcmp(lng, "pids-limit") && !strcmp(v, "-1")) rc->pids = -1; /* no limit (default: PIDS_DEFAULT) */
	else if (!strcmp(lng, "pids-limit")) return parse_long(shown, v, 1, 4194304, &rc->pids, err);
	else if (!strcmp(lng, "network") || !strcmp(lng, "net")) {
		if (!strcmp(v, "bridge") || !strcmp(v, "default")) {
			rc->network = NET_BRIDGE;
			rc->network_name = NULL;
		}
		else if (!strcmp(v, "veth"))
			rc->network = NET_VETH;
		else if (!strcmp(v, "none")) rc->network = NET_NONE;
		else if (!strcmp(v, "host")) rc->network = NET_HOST;
		else if (docker_name_ok(v)) { /* a network of `network create` (ipam.c) */
			rc->network = NET_BRIDGE;
			rc->network_name = v;
		} else
			return md_fail(err, "%s %s: use bridge (the default), veth, none (only lo), host, or the name of a network", shown, v);
	} else if (!strcmp(lng, "subnet")) return net_parse_subnet(v, rc, err);
	else if (!strcmp(lng, "cap-add") || !strcmp(lng, "cap-drop")) {
		int add = lng[4] == 'a';
		if ((add ? rc->n_cap_add : rc->n_cap_drop) >= MAX_LIST)
			return md_fail(err, "too many %s", shown);
		if (add)
			rc->cap_add[rc->n_cap_add++] = v;
		else
			rc->cap_drop[rc->n_cap_drop++] = v;
	} else if (!strcmp(lng, "security-opt")) return security_opt(rc, v, err);
	else if (!strcmp(lng, "rootfs")) rc->rootfs_dir = v;
	else if (!strcmp(lng, "cgroup-parent")) {
		if (!*v || strstr(v, "..") || v[0] == '/')
			return md_fail(err, "%s '%s': give a relative cgroup name such as mini-docker", shown, v);
		rc->cgroup_parent = v;
	} else if (!strcmp(lng, "boottime-offset")) {
		rc->timens = 1;
		return parse_seconds(shown, v, &rc->boottime_offset, err);
	} else if (!strcmp(lng, "monotonic-offset")) {
		rc->timens = 1;
		return parse_seconds(shown, v, &rc->monotonic_offset, err);
	}
	return 0;
}

/* docker's command line: options, then IMAGE (or --rootfs DIR), then the command and its own options. */
static int parse_args(struct run_config *rc, int argc, char **argv, struct md_error *err)
{
	struct md_getopt g;
	int k, i;
	md_getopt_init(&g, "run", NULL, run_options, N_OPTIONS, MD_FIRST, argc, argv);
	while ((k = md_getopt(&g, err)) >= 0) {
		const char *lng = run_options[k].lng, *v = g.value;
		if (!strcmp(lng, "help")) {
			run_usage(stdout);
			exit(0);
		}
		if (run_options[k].arg == NOARG && v) { /* --rm=true: how docker writes a flag too */
			if (!strcmp(lng, "userns") && (!strcmp(v, "host") || !*v))
				continue; /* --userns=host: what root gets anyway */
			if (strcmp(v, "true") && strcmp(v, "private"))
				return md_fail(err, "run: %s=%s takes no value", g.shown, v);
			v = NULL;
		}
		if (option(rc, lng, g.shown, v, err) < 0)
			return -1;
	}
	if (k != MD_OPT_END)
		return -1;
	i = g.optind;
	if (!rc->rootfs_dir) {
		if (i >= argc)
			return md_fail(err, "run: give an IMAGE (or --rootfs DIR) to run, e.g. mini-docker run busybox echo hi");
		rc->image = argv[i++];
	}
	rc->cmd = i < argc ? argv + i : NULL;
	rc->n_cmd = argc - i;
	return 0;
}

/* The strings of a JSON array, appended to OUT (NULL-terminated, N counted). */
static void push_strings(json_t *arr, char **out, int *n, int max)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_string(v) && *n < max - 1) out[(*n)++] = xstrdup(json_string_value(v));
	out[*n] = NULL;
}

static int signal_number(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"HUP", SIGHUP},
		{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}, {"STOP", SIGSTOP},
	};
	if (!s || !*s)
		return SIGTERM;
	if (isdigit((unsigned char)*s))
		return atoi(s) > 0 && atoi(s) < NSIG ? atoi(s) : SIGTERM;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return SIGTERM;
}

/*
 * The image's config merged with the command line, as docker does:
 *   argv = (--entrypoint, else Entrypoint) + (CMD given, else Cmd; --entrypoint alone drops Cmd)
 *   Env  = a default PATH, the image's Env, then -e / --env-file (later wins)
 */
static int merge_config(struct run_config *rc, json_t *config, struct md_error *err)
{
	json_t *cc = json_object_get(config, "config"); /* NULL for --rootfs */
	static char *argv_buf[1024];
	int n = 0;
	if (rc->entrypoint) {
		if (*rc->entrypoint)
			argv_buf[n++] = xstrdup(rc->entrypoint);
	} else {
		push_strings(json_object_get(cc, "Entrypoint"), argv_buf, &n, 512);
	}
	if (rc->n_cmd > 0) {
		for (int i = 0; i < rc->n_cmd && n < 1022; i++)
			argv_buf[n++] = rc->cmd[i];
	} else if (!rc->entrypoint) {
		push_strings(json_object_get(cc, "Cmd"), argv_buf, &n, 1023);
	}
	if (n == 0 && rc->rootfs_dir)
		argv_buf[n++] = "/bin/sh"; /* box's default */
	argv_buf[n] = NULL;
	if (n == 0)
		return md_fail(err, "no command: the image has no Entrypoint or Cmd; give one after the image name");
	rc->argv = argv_buf;

	/* the environment: later entries replace earlier ones with the same name */
	static char *env_buf[MAX_LIST * 8];
	int ne = 0;
	char *all[MAX_LIST * 8];
	int na = 0;
	all[na++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	push_strings(json_object_get(cc, "Env"), all, &na, MAX_LIST * 4);
	int pushed = na; /* all[1..pushed): our copies of the image's Env */
	for (int i = 0; i < rc->n_env && na < MAX_LIST * 8 - 2; i++)
		all[na++] = rc->env[i];
	if (rc->tty && na < MAX_LIST * 8 - 2)
		all[na++] = "TERM=xterm";
	for (int i = 0; i < na; i++) {
		size_t klen = strcspn(all[i], "=");
		int j;
		for (j = 0; j < ne; j++)
			if (!strncmp(env_buf[j], all[i], klen) && env_buf[j][klen] == '=')
				break;
		if (j < ne && rc->tty && i == na - 1 && !strncmp(all[i], "TERM=", 5))
			continue; /* our TERM=xterm only when nothing set TERM */
		env_buf[j] = all[i];
		if (j == ne)
			ne++;
	}
	env_buf[ne] = NULL;
	rc->envp = env_buf;
	for (int i = 1; i < pushed; i++) { /* a copy that a later entry replaced is no one's now */
		int kept = 0;
		for (int j = 0; j < ne && !kept; j++)
			kept = env_buf[j] == all[i];
		if (!kept)
			free(all[i]);
	}

	if (!rc->workdir) {
		const char *wd = json_string_value(json_object_get(cc, "WorkingDir"));
		rc->workdir = wd && wd[0] == '/' ? wd : NULL;
	}
	rc->cwd = rc->workdir ? rc->workdir : "/";
	if (!rc->user) {
		const char *u = json_string_value(json_object_get(cc, "User"));
		rc->user = u && *u ? u : NULL;
	}
	rc->stop_signal = signal_number(json_string_value(json_object_get(cc, "StopSignal")));
	return 0;
}

/* Find the image in the store; pull it first when it is not there, as docker run does. */
static json_t *image_config(struct run_config *rc, struct container *c, struct md_error *err)
{
	struct store s;
	json_t *idx = NULL, *desc, *m = NULL, *cfg = NULL;
	struct md_error miss;
	if (store_open(&s, rc->o, err) < 0)
		return NULL;
	if (store_index_load(&s, &idx, err) < 0)
		goto out;
	if (store_find(&s, idx, rc->image, &desc, &m, &cfg, &miss) < 0) {
		json_decref(idx);
		idx = NULL;
		fprintf(stderr, "Unable to find image '%s' locally\n", rc->image);
		/* the pull's progress goes to stderr: stdout is the container's */
		if (image_pull(rc->o, rc->image, stderr, err) < 0) {
			md_context(err, "%s is not in the store", rc->image);
			goto out;
		}
		if (store_index_load(&s, &idx, err) < 0 || store_find(&s, idx, rc->image, &desc, &m, &cfg, err) < 0)
			goto out;
	}
	/* the layers, bottom first, by ChainID: ROOT/layers/HEX each */
	char chains[128][DIGEST_LEN];
	size_t n = 0;
	if (chain_ids(cfg, chains, 128, &n, err) < 0) {
		json_decref(cfg);
		cfg = NULL;
		goto out;
	}
	size_t cap = n * 66 + 1;
	c->lower = xcalloc(1, cap);
	for (size_t i = n; i-- > 0;) { /* overlay: the top layer first */
		strcat(c->lower, digest_hex(chains[i]));
		if (i)
			strcat(c->lower, ":");
	}
	c->layers = xstrdup(s.layers);
	c->image_id = xstrdup(json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
	c->blobs = xcalloc(n + 1, sizeof(char *));
	json_t *l;
	size_t i;
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		if (i < n)
			c->blobs[c->n_blobs++] = store_blob_path(&s, json_string_value(json_object_get(l, "digest")));
	}
	if (n == 0) { /* an image with no layers: an empty lowerdir is not allowed */
		free(c->lower);
		c->lower = NULL;
	}
out:
	json_decref(m);
	json_decref(idx);
	store_close(&s);
	return cfg;
}


static int fail(struct md_error *err)
{
	fflush(stdout);
	fprintf(stderr, "mini-docker: %s\n", err->msg);
	return EXIT_ENGINE;
}

/* What becomes "/": --rootfs DIR as it is, or the image (pulled when missing) and its CONFIG. */
static int choose_root(struct run_config *rc, struct container *c, json_t **config, struct md_error *err)
{
	if (!rc->rootfs_dir) {
		if (!(*config = image_config(rc, c, err)))
			return -1;
		c->image = xstrdup(rc->image);
		return 0;
	}
	struct stat st;
	if (stat(rc->rootfs_dir, &st) < 0)
		return md_fail_errno(err, "rootfs %s: give a directory holding a root filesystem (make builds one "
					  "in build/rootfs)", rc->rootfs_dir);
	if (!S_ISDIR(st.st_mode))
		return md_fail(err, "rootfs %s is not a directory", rc->rootfs_dir);
	c->rootfs = realpath(rc->rootfs_dir, NULL);
	c->plain = 1;
	c->image = xasprintf("--rootfs %s", c->rootfs);
	return 0;
}

/* The kernel's OOM killer ended it: say so, with the limit as it was given (64M, not 67108864). */
static void say_oom(long long memory)
{
	char size[32];
	const char *unit = "KMG";
	int u = -1;
	while (u < 2 && memory >= 1024 && memory % 1024 == 0)
		memory /= 1024, u++;
	snprintf(size, sizeof(size), "%lld%.*s", memory, u >= 0, u >= 0 ? unit + u : "");
	fprintf(stderr, "mini-docker: killed: out of memory (memory limit %s)\n", size);
}

/*
 * docker run, in the order things happen. Longer than our other functions on
 * purpose: it is the table of contents of the run half, every step a call and
 * every failure the one exit at the end that removes what was made.
 */
int cmd_run(const struct md_opts *o, int argc, char **argv)
{
	static struct run_config rc;
	static struct container c;
	struct md_error err;
	json_t *config = NULL;
	int status = EXIT_ENGINE, created = 0;
	char num[32] = "125";

	err.msg[0] = 0;
	rc.o = o;
	rc.network = geteuid() == 0 ? NET_BRIDGE : NET_NONE;
	rc.stop_timeout = 10;
	if (parse_args(&rc, argc, argv, &err) < 0)
		return fail(&err);
	/* -t: the pty starts with our terminal's size, as docker's ConsoleSize: a program that asks
	 * at once must not see 0x0 before pty_pump copies it (with -d, before stdin is /dev/null) */
	if (rc.tty && !pty_our_size(&rc.tty_size))
		rc.tty_size = (struct winsize){0}; /* none: the pty starts at 0x0, as a pipe's */
	if (geteuid() != 0)
		rc.userns = 1; /* rootless: a user namespace where we are root (and nobody else) */
	if ((rc.network == NET_VETH || rc.network == NET_BRIDGE) && geteuid() != 0) {
		fprintf(stderr, "mini-docker: --network veth or bridge needs root (a veth end in the host's namespace): rootless "
				"containers get --network none\n");
		return EXIT_ENGINE;
	}
	if (!rc.subnet_prefix && net_parse_subnet("10.200.0.0/16", &rc, &err) < 0)
		return fail(&err);
	/* the network's bridge and subnet (mini0's, or --network NAME's): none, nothing made */
	if (rc.network == NET_BRIDGE && ipam_network(o, rc.network_name ? rc.network_name : "bridge", &rc.net, &err) < 0)
		return fail(&err);
	if (caps_parse(&rc, &err) < 0 || seccomp_prepare(&rc, &err) < 0)
		return fail(&err);
	if (choose_root(&rc, &c, &config, &err) < 0)
		return fail(&err);
	if (merge_config(&rc, config, &err) < 0)
		goto out;
	signals_hold();
	if (container_create(&c, o, rc.name, &err) < 0)
		goto out;
	created = 1;
	test_pause("created", getpid());
	if (!rc.hostname) {
		/* the short id, or with --network host the host's own name, as docker's */
		static char name[65];
		if (rc.network != NET_HOST || gethostname(name, sizeof(name) - 1) < 0)
			snprintf(name, sizeof(name), "%.12s", c.id);
		rc.hostname = name;
	}
	c.userns = rc.userns;
	/* the bridge's address, /etc/hosts, -p's sockets; with -d the monitor goes on from here */
	if (lifecycle_prepare(&c, &rc, &err) < 0)
		goto out;
	if (volumes_parse(&rc, &c, json_object_get(json_object_get(config, "config"), "Volumes"), &err) < 0 || rootfs_prepare(&c, &rc, &err) < 0)
		goto out;
	if (cgroup_setup(&rc, &err) < 0)
		goto out;
	/* at once, so that rm finds the cgroup even if we are killed before the container runs */
	if (container_state(&c, &err, "cgroups", cgroup_dirs(), NULL) < 0)
		goto out;
	test_pause("cgroup", getpid());
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = ns_start(&c, &rc, &err);
	if (pid < 0)
		goto out;
	signals_release(pid);
	lifecycle_started(&c, &rc, pid);
	if (c.master >= 0) { /* -t: the forwarded signals act at once while the terminal is pumped */
		signals_open(1);
		pty_pump(c.master, rc.interactive, pid);
		signals_open(0);
	}
	status = signals_wait(pid);
	pty_restore();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cgroup_report(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (status == 128 + SIGKILL && rc.memory > 0 && cgroup_oom_killed())
		say_oom(rc.memory);
	snprintf(num, sizeof(num), "%d", status);
	err.msg[0] = 0;
out:
	pty_restore();
	cgroup_remove();
	if (status == EXIT_ENGINE && err.msg[0])
		fail(&err);
	if (created)
		lifecycle_end(&c, &rc, status);
	if (created) {
		char now[40];
		time_now(now, sizeof(now));
		if (rc.rm)
			container_destroy(&c, &rc);
		else if (container_state(&c, &err, "status", "exited", "exit_code", num, "pid", "0", "cgroups", "",
					 "finished_at", now, NULL) < 0)
			fail(&err);
	}
	json_decref(config);
	return status;
}
