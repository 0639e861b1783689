/*
 * box, step 04: network namespaces
 *
 * chroot (step 01) changed what "/" means and nothing else. A namespace gives
 * a process its own copy of one kind of global resource: its own PID numbers,
 * its own mount table, hostname, SysV IPC, cgroup root, clocks and user ids.
 * The talk does it by hand:
 *
 *     $ unshare --pid --fork --mount-proc bash      # ps shows only bash
 *     $ unshare -U --map-root-user bash             # root, yet ls /root is denied
 *     $ unshare -T --boottime 100000000 bash        # uptime -s moves back in time
 *     $ lsns; ls -l /proc/$$/ns
 *
 * box (step 02's, with its cgroup limits) now clones the child into new PID,
 * mount, UTS, IPC, cgroup (and, when asked, user and time) namespaces, then swaps its root with pivot_root(2): unlike
 * chroot, the host's tree is unmounted from the container's view, so the step 01
 * escape finds nothing to climb to. The command is PID 1 and sees only its own
 * processes in a fresh /proc. Not root? box runs rootless, in a user namespace
 * where you are root but the host's files are not yours.
 *
 * Step 04 adds a network namespace: the container gets its own interfaces,
 * addresses, routes and ports, starting with nothing but a loopback that is
 * down. The talk wires one up by hand:
 *
 *     $ ip netns add pippo
 *     $ ip netns exec pippo ip link set lo up
 *     $ ip link add veth0 type veth peer veth1 netns pippo
 *     $ ip link set veth0 up
 *     $ ping6 fe80::...%veth0
 *
 * box does the same over rtnetlink (libnl-route): a veth pair, one end on the
 * host (veth-boxN), the other as eth0 inside, IPv4 addresses from a /30 of
 * --subnet and a default route via the host end; IPv6 link-local works by
 * itself. --network none leaves only lo, --network host shares the host's.
 *
 * Usage: box [-v] [--cpus N] [-m SIZE] [--pids-limit N] [--hostname NAME] [--userns]
 *            [--init] [--boottime-offset SECS] [--monotonic-offset SECS]
 *            [--network veth|none|host] [--subnet CIDR]
 *            ROOTFS [CMD [ARG...]]      (CMD defaults to /bin/sh)
 */
/*
 * Contents, in the order main() runs them:
 *   parse_args() ... cgroup_create()  as in step 03 (--network, --subnet)
 *   namespace_flags()        + CLONE_NEWNET, unless --network host (04.1)
 *   veth_create()            in box: a free /30, the veth pair (04.2), the host end .1 and up
 *     eth0_configure()       inside, as ip netns exec: lo, eth0 and the default route (04.3)
 *   child()                  lo up with --network none; then as in step 03
 * Beyond the lesson, marked BEYOND THE LESSON ... END BEYOND: a /30 nobody uses,
 * --subnet's checks, two boxes at once, plus step 03's (make diff STEP=4 LESSON=1).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* box's own failures exit 125, as docker run does; 126/127/128+N are the command's */
#define EXIT_BOX 125

struct config {
	int verbose;
	const char *rootfs;
	char **argv; /* the command to run inside */
	double cpus;      /* --cpus: CPUs' worth of time, 0 = no limit */
	long long memory; /* --memory: bytes, 0 = no limit */
	long pids;        /* --pids-limit: tasks, 0 = no limit */
	char id[13];          /* a short random id: the default hostname */
	const char *hostname; /* --hostname NAME, else id */
	int userns;           /* --userns, or not root (rootless): a user namespace */
	int init;             /* --init: a tiny init is PID 1, the command PID 2 */
	int timens;           /* a time namespace with these offsets (seconds) */
	long long boottime_offset, monotonic_offset;
	int network;              /* --network: NET_VETH, NET_NONE or NET_HOST */
	struct in_addr subnet;    /* --subnet: carved into one /30 per container */
	int subnet_prefix;
};

static int verbose;
static volatile pid_t child_pid;
static ino_t host_mnt_ns, host_uts_ns; /* the host's: never to be changed by the child */
static volatile sig_atomic_t ended_by; /* the signal box ended a PID 1 with (no handler) */

/* Print "box: MESSAGE" (with %m for errno) and exit: the single-file steps stop at the first error. */
static void die(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	fputs("box: ", stderr);
	va_start(ap, fmt);
	errno = saved;
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_BOX);
}

/*
 * -v narrates each kernel operation next to the shell command that does the same:
 *     => chroot("rootfs")                          $ chroot rootfs
 * Both formats take the same arguments, from the first.
 */
static void say(const char *call, const char *shell, ...)
{
	char buf[512];
	va_list ap, again;
	if (!verbose)
		return;
	va_start(ap, shell);
	va_copy(again, ap);
	vsnprintf(buf, sizeof(buf), call, ap);
	fprintf(stderr, "=> %-44s", buf);
	vsnprintf(buf, sizeof(buf), shell, again);
	va_end(again);
	va_end(ap);
	fprintf(stderr, " $ %s\n", buf);
}

static void usage(FILE *out, int status)
{
	fprintf(out, "usage: box [OPTIONS] ROOTFS [CMD [ARG...]]\n"
		     "\n"
		     "Run CMD (default /bin/sh) with ROOTFS as its root directory, in a cgroup,\n"
		     "in new PID, mount, UTS, IPC, cgroup and network namespaces.\n"
		     "\n"
		     "  --cpus N          at most N CPUs' worth of time (0.5: half a CPU)\n"
		     "  -m, --memory SIZE at most SIZE of memory, swap included (64M, 1g ...)\n"
		     "  --pids-limit N    at most N tasks (processes and threads) at once\n"
		     "  --hostname NAME          the container's hostname (default: a short id)\n"
		     "  --userns                 a user namespace: root inside is you outside\n"
		     "                           (automatic when box is not run as root)\n"
		     "  --init                   a tiny init as PID 1: forwards signals, reaps zombies\n"
		     "  --boottime-offset SECS   a time namespace: CLOCK_BOOTTIME (uptime) + SECS\n"
		     "  --monotonic-offset SECS  a time namespace: CLOCK_MONOTONIC + SECS\n"
		     "  --network veth           a network namespace, with a veth pair to the host (default)\n"
		     "  --network none           a network namespace with only lo (default when rootless)\n"
		     "  --network host           the host's network\n"
		     "  --subnet CIDR            the private range of the veths' /30s (default 10.200.0.0/16)\n"
		     "  -v, --verbose   narrate each system call with the matching shell command\n"
		     "  -h, --help      show this help\n");
	exit(status);
}

/* BEYOND THE LESSON: docker's forms of --cpus, --memory and --pids-limit, checked */
/* --cpus 0.5: a share of one CPU's time, as docker run --cpus (0.01 up to every CPU). */
static double parse_cpus(const char *s)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char *end = (char *)s;
	errno = 0;
	double v = *s && !s[strspn(s, "0123456789.")] ? strtod(s, &end) : -1;
	if (v < 0 || *end || errno || v < 0.01 || v > ncpu)
		die("--cpus '%s': give a number of CPUs from 0.01 to %ld (this host has %ld), "
		    "e.g. --cpus 0.5 for half a CPU",
		    s, ncpu, ncpu);
	return v;
}

/* --memory 64M: bytes, with an optional unit k, m, g (and an optional b: 64mb), as docker. */
static long long parse_memory(const char *s)
{
	const long long min = 6 << 20; /* docker's minimum: less cannot even start a shell */
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
		die("--memory '%s': give a size in bytes, with k, m or g for KiB, MiB, GiB "
		    "(e.g. --memory 64M)",
		    s);
	if ((long long)(v << shift) < min)
		die("--memory '%s': the smallest memory limit is 6M (as docker's)", s);
	return (long long)(v << shift);
}

/* --pids-limit 20: how many tasks may exist at once in the cgroup. */
static long parse_pids(const char *s)
{
	char *end = (char *)s;
	errno = 0;
	long v = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
	if (*end || errno || v < 1 || v > 4194304) /* PID_MAX_LIMIT */
		die("--pids-limit '%s': give a number of tasks from 1 to 4194304 (e.g. --pids-limit 100)", s);
	return v;
}
/* END BEYOND */

/* BEYOND THE LESSON: the offsets' seconds, checked */
/* A number of seconds for --*-offset, or a clear error. */
static long long parse_seconds(const char *option, const char *text)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		die("%s %s: give a whole number of seconds, e.g. %s 86400", option, text, option);
	return v;
}
/* END BEYOND */

/* --network veth|none|host, as docker run --network bridge|none|host */
enum network { NET_VETH = 1, NET_NONE, NET_HOST };
static const char *const network_names[] = {[NET_VETH] = "veth", [NET_NONE] = "none", [NET_HOST] = "host"};

static int parse_network(const char *text)
{
	for (int i = NET_VETH; i <= NET_HOST; i++)
		if (strcmp(text, network_names[i]) == 0)
			return i;
	die("--network %s: unknown mode: use veth (the default), none (only lo) or host", text);
	return 0;
}

/* BEYOND THE LESSON: --subnet, checked: a private IPv4 range */
/* --subnet ADDRESS/PREFIX: a private IPv4 range (RFC 1918), one /30 of it per container */
static void parse_subnet(const char *text, struct config *cfg)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	char *end = NULL;
	long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
	struct in_addr addr;

	if (!slash || (size_t)(slash - text) >= sizeof(ip) || end == slash + 1 || *end || prefix < 8 ||
	    prefix > 30)
		die("--subnet %s: give an IPv4 range as ADDRESS/PREFIX, the prefix from 8 to 30, "
		    "e.g. 10.200.0.0/16", text);
	memcpy(ip, text, slash - text);
	ip[slash - text] = '\0';
	if (inet_pton(AF_INET, ip, &addr) != 1)
		die("--subnet %s: %s is not an IPv4 address", text, ip);
	uint32_t a = ntohl(addr.s_addr), mask = ~0u << (32 - prefix);
	if (a & ~mask) {
		addr.s_addr = htonl(a & mask);
		die("--subnet %s: the address has bits set past the prefix: did you mean %s/%ld?", text,
		    inet_ntop(AF_INET, &addr, ip, sizeof(ip)), prefix);
	}
	/* never take addresses that are somebody else's on the internet */
	if (!((a >> 24) == 10) && !((a >> 20) == (172 << 4 | 1) && prefix >= 12) &&
	    !((a >> 16) == (192 << 8 | 168) && prefix >= 16))
		die("--subnet %s is not a private range: use one inside 10.0.0.0/8, 172.16.0.0/12 "
		    "or 192.168.0.0/16", text);
	cfg->subnet = addr;
	cfg->subnet_prefix = (int)prefix;
}
/* END BEYOND */

static struct config parse_args(int argc, char **argv)
{
	static char *default_cmd[] = {"/bin/sh", NULL};
	enum { OPT_CPUS = 256, OPT_PIDS, OPT_HOSTNAME, OPT_USERNS, OPT_INIT, OPT_BOOTTIME, OPT_MONOTONIC };
	enum { OPT_NETWORK = 512, OPT_SUBNET };
	static const struct option options[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"cpus", required_argument, NULL, OPT_CPUS},
		{"memory", required_argument, NULL, 'm'},
		{"pids-limit", required_argument, NULL, OPT_PIDS},
		{"hostname", required_argument, NULL, OPT_HOSTNAME},
		{"userns", no_argument, NULL, OPT_USERNS},
		{"init", no_argument, NULL, OPT_INIT},
		{"boottime-offset", required_argument, NULL, OPT_BOOTTIME},
		{"monotonic-offset", required_argument, NULL, OPT_MONOTONIC},
		{"network", required_argument, NULL, OPT_NETWORK},
		{"subnet", required_argument, NULL, OPT_SUBNET},
		{0},
	};
	struct config cfg = {0};
	int opt;
	parse_subnet("10.200.0.0/16", &cfg);

	/* "+": stop at ROOTFS, so options of CMD stay CMD's */
	while ((opt = getopt_long(argc, argv, "+vhm:", options, NULL)) != -1) {
		switch (opt) {
		case 'v':
			cfg.verbose = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case OPT_CPUS:
			cfg.cpus = parse_cpus(optarg);
			break;
		case 'm':
			cfg.memory = parse_memory(optarg);
			break;
		case OPT_PIDS:
			cfg.pids = parse_pids(optarg);
			break;
		case OPT_HOSTNAME:
			cfg.hostname = optarg;
			break;
		case OPT_USERNS:
			cfg.userns = 1;
			break;
		case OPT_INIT:
			cfg.init = 1;
			break;
		case OPT_BOOTTIME:
			cfg.timens = 1;
			cfg.boottime_offset = parse_seconds("--boottime-offset", optarg);
			break;
		case OPT_MONOTONIC:
			cfg.timens = 1;
			cfg.monotonic_offset = parse_seconds("--monotonic-offset", optarg);
			break;
		case OPT_NETWORK:
			cfg.network = parse_network(optarg);
			break;
		case OPT_SUBNET:
			parse_subnet(optarg, &cfg);
			break;
		default:
			usage(stderr, EXIT_BOX);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "box: missing ROOTFS: give the directory to use as /, e.g. "
				"sudo box build/rootfs /bin/sh\n");
		exit(EXIT_BOX);
	}
	cfg.rootfs = argv[optind++];
	cfg.argv = optind < argc ? &argv[optind] : default_cmd;

	/* a short random id, as docker's container ids: the hostname unless given */
	unsigned char bytes[6];
	if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
		die("getrandom: %m");
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(cfg.id + 2 * i, 3, "%02x", bytes[i]);
	return cfg;
}

static void check_rootfs(const char *rootfs)
{
	struct stat st;
	if (stat(rootfs, &st) < 0)
		die("rootfs %s: %m: give a directory holding a root filesystem (make builds "
		    "one in build/rootfs)",
		    rootfs);
	if (!S_ISDIR(st.st_mode))
		die("rootfs %s is not a directory", rootfs);
}

/*
 * cgroups. A cgroup is a directory of a special filesystem; its files are
 * the knobs (cgroup(7), Documentation/admin-guide/cgroup-v2.rst):
 *   v2, one tree:  /sys/fs/cgroup/box/ID/{cpu.max,memory.max,pids.max,cgroup.procs}
 *   v1, one tree per controller: /sys/fs/cgroup/cpu/.../box/ID/cpu.cfs_quota_us,
 *     /sys/fs/cgroup/memory/.../box/ID/memory.limit_in_bytes, /sys/fs/cgroup/pids/...
 * ID is box's PID: unique while box runs.
 */
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CPU_PERIOD 100000 /* microseconds: --cpus 0.5 is 50000 of every 100000 */

static struct cgroup {
	int v2;               /* 1: the unified hierarchy (v2); 0: v1 hierarchies */
	int n;                /* how many directories: 1 on v2, one per hierarchy on v1 */
	char dir[4][PATH_MAX];
	/* the directory holding each controller's files, NULL when there is none */
	const char *cpu, *cpuacct, *memory, *pids;
	int fd;               /* v2: dir[0] opened, for clone3(CLONE_INTO_CGROUP) */
	int created;          /* something to remove at exit */
	pid_t owner;          /* box, not its child (exit handlers run in both) */
} cg = {.fd = -1};

/* echo VALUE > DIR/FILE, narrated as such; -1 with errno on failure. */
static int cg_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	say("write(%s, \"%s\")", "echo \"%2$s\" > %3$s", file, value, path);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static void cg_write_or_die(const char *dir, const char *file, const char *value)
{
	if (cg_write(dir, file, value) < 0)
		die("echo \"%s\" > %s/%s: %m%s", value, dir, file,
		    errno == EBUSY && !strcmp(file, "cgroup.subtree_control")
			    ? " (the no-internal-processes rule: a cgroup that has processes cannot "
			      "hand controllers to its children; move them into a child cgroup first)"
			    : "");
}

/* BEYOND THE LESSON: reading a cgroup's files back (-v's report at exit, the OOM check) */
/* The contents of DIR/FILE (small files), or NULL when it cannot be read. */
static char *cg_read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* The number after "KEY " in a flat-keyed file (cpu.stat, memory.events), or -1. */
static long long cg_key(const char *dir, const char *file, const char *key)
{
	char buf[4096];
	size_t len = strlen(key);
	if (!cg_read(dir, file, buf, sizeof(buf)))
		return -1;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, key, len) && line[len] == ' ')
			return atoll(line + len + 1);
	return -1;
}
/* END BEYOND */

/* BEYOND THE LESSON: which cgroup version this host has (statfs, as runc and crun tell) */
/* Is "/sys/fs/cgroup" v2, as runc and crun tell: statfs(2) and the filesystem's magic number. */
static int cgroup_is_v2(void)
{
	struct statfs fs;
	if (statfs(CGROUP_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
		say("statfs(\"" CGROUP_ROOT "\"): cgroup2, unified", "stat -fc %%T " CGROUP_ROOT "  # cgroup2fs");
		return 1;
	}
	if (statfs(CGROUP_ROOT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		say("statfs(\"" CGROUP_ROOT "\"): tmpfs, hybrid: controllers on v1",
		    "stat -fc %%T " CGROUP_ROOT "/unified  # cgroup2fs, but cpu, memory, pids are v1");
	else
		say("statfs(\"" CGROUP_ROOT "\"): legacy, cgroup v1", "mount -t cgroup  # one per controller");
	return 0;
}
/* END BEYOND */

/* BEYOND THE LESSON: cgroup v1: where box itself runs in a hierarchy */
/* The cgroup box runs in, in the v1 hierarchy of CONTROLLER: "/" or "/some/path". */
static void own_cgroup(const char *controller, char *out, size_t size)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/cgroup", "re");
	snprintf(out, size, "/");
	while (f && fgets(line, sizeof(line), f)) { /* "4:memory:/path" or "2:cpu,cpuacct:/path" */
		char *list = strchr(line, ':'), *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		for (char *c = strtok(list + 1, ","); c; c = strtok(NULL, ","))
			if (!strcmp(c, controller))
				snprintf(out, size, "%s", path);
	}
	if (f)
		fclose(f);
}
/* END BEYOND */

/*
 * Decide where the cgroup goes and which controllers it has. A limit whose
 * controller this host lacks is an error; the others are optional (they only
 * feed the numbers -v prints at exit).
 */
static void cgroup_find(const struct config *cfg)
{
	static const char *const names[] = {"cpu", "cpuacct", "memory", "pids"};
	const char **where[] = {&cg.cpu, &cg.cpuacct, &cg.memory, &cg.pids};
	const char *flag[] = {cfg->cpus > 0 ? "--cpus" : NULL, NULL,
			      cfg->memory > 0 ? "--memory" : NULL, cfg->pids > 0 ? "--pids-limit" : NULL};
	char real[4][PATH_MAX];

	cg.owner = getpid();
	if ((cg.v2 = cgroup_is_v2())) {
		/* BEYOND THE LESSON: what this host's cgroup v2 offers, for the check below */
		/* one tree: box's cgroups sit at its top, /sys/fs/cgroup/box/ID */
		char have[512] = "";
		cg_read(CGROUP_ROOT, "cgroup.controllers", have, sizeof(have));
		have[strcspn(have, "\n")] = '\0';
		say("read(cgroup.controllers): %s", "cat " CGROUP_ROOT "/cgroup.controllers", have);
		/* END BEYOND */
		cg.n = 1;
		snprintf(cg.dir[0], PATH_MAX, CGROUP_ROOT "/box/%d", (int)cg.owner);
		/* BEYOND THE LESSON: a limit whose controller this host lacks is a clear error */
		for (int i = 0; i < 4; i++) {
			char word[32];
			snprintf(word, sizeof(word), " %s ", names[i]);
			char padded[520];
			snprintf(padded, sizeof(padded), " %s ", have);
			/* v2 counts CPU time in every cgroup (cpu.stat): no cpuacct needed */
			if (i == 1 || strstr(padded, word))
				*where[i] = cg.dir[0];
			else if (flag[i])
				die("%s needs the cgroup v2 %s controller, and " CGROUP_ROOT
				    "/cgroup.controllers lists only \"%s\" (enable it in the kernel, or "
				    "free it from v1: see WORKSHOP.md, Step 02)",
				    flag[i], names[i], have);
		}
		/* END BEYOND */
		return;
	}
	/* BEYOND THE LESSON: cgroup v1 and hybrid hosts: one hierarchy per controller */
	/* v1: one hierarchy per controller; box nests its cgroup under its own one */
	for (int i = 0; i < 4; i++) {
		char mount[64], own[PATH_MAX];
		struct statfs fs;
		snprintf(mount, sizeof(mount), CGROUP_ROOT "/%s", names[i]);
		if (statfs(mount, &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC || !realpath(mount, real[cg.n])) {
			if (flag[i])
				die("%s needs the cgroup v1 %s controller, not mounted at %s (mount -t cgroup "
				    "-o %s cgroup %s, or boot with cgroup v2)",
				    flag[i], names[i], mount, names[i], mount);
			continue;
		}
		/* cpu and cpuacct often share one hierarchy (/sys/fs/cgroup/cpu,cpuacct) */
		for (int j = 0; j < cg.n; j++)
			if (!strcmp(real[j], real[cg.n]))
				*where[i] = cg.dir[j];
		if (*where[i])
			continue;
		own_cgroup(names[i], own, sizeof(own));
		if (snprintf(cg.dir[cg.n], PATH_MAX, "%s%s/box/%d", real[cg.n], strcmp(own, "/") ? own : "",
			     (int)cg.owner) >= PATH_MAX)
			die("the cgroup path under %s%s is too long", real[cg.n], own);
		*where[i] = cg.dir[cg.n++];
	}
	if (!cg.n)
		say("no cgroup controller found: no limits, no cgroup", "ls " CGROUP_ROOT "  # empty");
	/* END BEYOND */
}

/* mkdir PATH, narrated; an existing one is fine when EXIST_OK. */
static void cg_mkdir(const char *path, int exist_ok)
{
	if (exist_ok && access(path, F_OK) == 0)
		return;
	say("mkdir(\"%s\")", "mkdir %s", path);
	if (mkdir(path, 0755) == 0 || (exist_ok && errno == EEXIST))
		return;
	/* BEYOND THE LESSON: the leftover of a box killed with SIGKILL */
	/* box names its cgroup after its PID, and a box killed by SIGKILL cannot remove it:
	 * when that PID comes round again, the empty leftover goes (rmdir fails if in use) */
	if (errno == EEXIST) {
		if (rmdir(path) == 0) {
			say("rmdir(\"%s\")", "rmdir %s  # a leftover of a killed box", path);
			if (mkdir(path, 0755) == 0)
				return;
		} else {
			errno = EEXIST;
		}
	}
	/* END BEYOND */
	die("mkdir %s: %m%s", path,
		    errno == EROFS ? " (cgroups are read-only here: inside a container, run it with "
				     "--privileged or --cgroupns=private)" : "");
}

/*
 * The parents: /sys/fs/cgroup/box on v2, whose files exist only for the
 * controllers its parent "hands down" (+cpu in cgroup.subtree_control).
 */
static void cgroup_prepare(void)
{
	char parent[PATH_MAX];
	/* BEYOND THE LESSON: cgroup v1: the parents in each hierarchy */
	if (!cg.v2) {
		for (int i = 0; i < cg.n; i++) {
			snprintf(parent, sizeof(parent), "%s", cg.dir[i]);
			*strrchr(parent, '/') = '\0';
			cg_mkdir(parent, 1);
		}
		return;
	}
	/* END BEYOND */
	const char *tops[] = {CGROUP_ROOT, CGROUP_ROOT "/box"};
	for (int t = 0; t < 2; t++) {
		if (t == 1)
			cg_mkdir(tops[1], 1);
		const char *enable[] = {cg.cpu ? "+cpu" : NULL, cg.memory ? "+memory" : NULL, cg.pids ? "+pids" : NULL};
		for (int i = 0; i < 3; i++)
			if (enable[i])
				cg_write_or_die(tops[t], "cgroup.subtree_control", enable[i]);
	}
}

/* BEYOND THE LESSON: sizes as the user wrote them, for messages */
/* "64M": a size as the user would write it. */
static const char *human(long long bytes, char *buf, size_t size)
{
	static const char units[][2] = {"", "K", "M", "G"};
	int u = 0;
	while (u < 3 && bytes >= 1024 && bytes % 1024 == 0)
		bytes /= 1024, u++;
	snprintf(buf, size, "%lld%s", bytes, units[u]);
	return buf;
}
/* END BEYOND */

/* Make the cgroup and write the limits: after this, cgroup_remove() must run. */
static void cgroup_create(const struct config *cfg)
{
	char value[64];
	cgroup_prepare();
	cg.created = 1; /* from the first mkdir on, cgroup_remove() has work to do */
	/* EXERCISE 02.1: make the cgroup (mkdir) and write the limits into its files
	 * hint: the slides: mkdir /sys/fs/cgroup/pippo, then echo each limit into a file of it
	 * more: cg_mkdir() each of cg.dir[0 .. cg.n-1]; then, for each limit given (> 0), cg_write_or_die()
	 * more: (it narrates for -v) into the controller's directory (cg.cpu, cg.memory, cg.pids):
	 * more: v2: cpu.max "QUOTA 100000" (QUOTA = cfg->cpus * CPU_PERIOD), memory.max BYTES, pids.max N;
	 * more: v1: cpu.cfs_period_us then cpu.cfs_quota_us, memory.limit_in_bytes, pids.max.
	 * more: Swap too, or the excess is swapped out instead of stopped: memory.swap.max 0 (v2) or
	 * more: memory.memsw.limit_in_bytes BYTES (v1), each only where the file exists (ENOENT: skip)
	 * stub: (void)cfg; (void)value; die("TODO 02.1: mkdir %s and write the limits", cg.dir[0]);
	 */
	for (int i = 0; i < cg.n; i++)
		cg_mkdir(cg.dir[i], 0);
	if (cfg->cpus > 0) {
		long quota = (long)(cfg->cpus * CPU_PERIOD + 0.5);
		if (cg.v2) {
			snprintf(value, sizeof(value), "%ld %d", quota, CPU_PERIOD);
			cg_write_or_die(cg.cpu, "cpu.max", value);
		} else {
			/* BEYOND THE LESSON: cgroup v1's two files for a CPU share */
			snprintf(value, sizeof(value), "%d", CPU_PERIOD);
			cg_write_or_die(cg.cpu, "cpu.cfs_period_us", value);
			snprintf(value, sizeof(value), "%ld", quota);
			cg_write_or_die(cg.cpu, "cpu.cfs_quota_us", value);
			/* END BEYOND */
		}
	}
	if (cfg->memory > 0) {
		/* limit swap too, or the kernel swaps the excess out instead of stopping it */
		snprintf(value, sizeof(value), "%lld", cfg->memory);
		cg_write_or_die(cg.memory, cg.v2 ? "memory.max" : "memory.limit_in_bytes", value);
		if (cg.v2 && cg_write(cg.memory, "memory.swap.max", "0") < 0 && errno != ENOENT)
			die("echo 0 > %s/memory.swap.max: %m", cg.memory);
		/* BEYOND THE LESSON: cgroup v1's swap limit */
		if (!cg.v2 && cg_write(cg.memory, "memory.memsw.limit_in_bytes", value) < 0 && errno != ENOENT)
			die("echo %s > %s/memory.memsw.limit_in_bytes: %m", value, cg.memory);
		/* END BEYOND */
	}
	if (cfg->pids > 0) {
		snprintf(value, sizeof(value), "%ld", cfg->pids);
		cg_write_or_die(cg.pids, "pids.max", value);
	}
	/* END EXERCISE */
	if (cg.v2 && (cg.fd = open(cg.dir[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open %s: %m", cg.dir[0]);
}

/*
 * Start the child inside the cgroup. It must never run a line of the command
 * outside: a fork bomb is fast. The child waits on a pipe until main() says
 * go (see there), so it is enough that it is inside by then.
 */
static pid_t fork_into_cgroup(unsigned long flags)
{
	/* EXERCISE 02.2: start the child inside the cgroup (the slides: echo PID > cgroup.procs)
	 * hint: the slides: echo PID > cgroup.procs; on cgroup v2 a child can even be born inside
	 * more: v2 (cg.fd >= 0): clone3(2) with .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
	 * more: .cgroup = cg.fd (syscall(SYS_clone3, &args, sizeof(args))); say() it as the code around does
	 * more: (-v is read). When clone3 fails with ENOSYS or E2BIG (before 5.7), or on v1: fork(2), and the
	 * more: parent writes the child's PID into cgroup.procs of every cg.dir[] with cg_write_or_die()
	 * stub: (void)flags; return fork();
	 */
	if (cg.fd >= 0) {
		struct clone_args args = {.flags = CLONE_INTO_CGROUP | flags, .exit_signal = SIGCHLD, .cgroup = cg.fd};
		say("clone3(CLONE_INTO_CGROUP, %s)", "(a new process, born in %s)", cg.dir[0]);
		pid_t pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0)
			return pid;
		if (errno != ENOSYS && errno != E2BIG)
			die("clone3(CLONE_INTO_CGROUP, %s): %m", cg.dir[0]);
	}
	/* fork(2) with namespaces: clone3(2) with no new stack returns twice, as fork does */
	struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};
	say("clone3(namespaces)", "(a new process for the command, in new namespaces)");
	pid_t pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid > 0) {
		char value[16];
		snprintf(value, sizeof(value), "%d", (int)pid);
		for (int i = 0; i < cg.n; i++)
			cg_write_or_die(cg.dir[i], "cgroup.procs", value);
	}
	return pid;
	/* END EXERCISE */
}

/* BEYOND THE LESSON: what the cgroup measured (-v), and whether the OOM killer struck */
/* -v: what the cgroup measured (cpu.stat / cpuacct.usage, memory peak, pids peak). */
static void cgroup_report(double wall)
{
	char line[256], files[3 * PATH_MAX], cpu[32] = "?", mem[32] = "?", pids[32] = "?", buf[64];
	long long v;
	if (!verbose || !cg.created || !cg.n)
		return;
	if (cg.cpuacct && cg.v2 && (v = cg_key(cg.cpuacct, "cpu.stat", "usage_usec")) >= 0)
		snprintf(cpu, sizeof(cpu), "%.3fs", v / 1e6);
	if (cg.cpuacct && !cg.v2 && cg_read(cg.cpuacct, "cpuacct.usage", buf, sizeof(buf)))
		snprintf(cpu, sizeof(cpu), "%.3fs", atoll(buf) / 1e9);
	const char *peak = cg.v2 ? "memory.peak" : "memory.max_usage_in_bytes";
	if (cg.memory && cg_read(cg.memory, peak, buf, sizeof(buf)))
		snprintf(mem, sizeof(mem), "%.1fM", atoll(buf) / 1048576.0);
	if (cg.pids && cg_read(cg.pids, "pids.peak", buf, sizeof(buf)))
		snprintf(pids, sizeof(pids), "%lld", atoll(buf));
	snprintf(line, sizeof(line), "cgroup used %s of CPU in %.3fs, memory peak %s, pids peak %s",
		 cpu, wall, mem, pids);
	snprintf(files, sizeof(files), "cat %s/%s %s/%s %s/pids.peak", cg.cpuacct ? cg.cpuacct : "?",
		 cg.v2 ? "cpu.stat" : "cpuacct.usage", cg.memory ? cg.memory : "?", peak,
		 cg.pids ? cg.pids : "?");
	say("%s", "%.0s%s", line, files); /* the line as an argument, never as a format */
}

/* Did the kernel's OOM killer kill something in the cgroup? (memory.events / memory.oom_control) */
static int cgroup_oom_killed(void)
{
	if (!cg.created || !cg.memory)
		return 0;
	if (cg.v2)
		return cg_key(cg.memory, "memory.events", "oom_kill") > 0;
	long long kills = cg_key(cg.memory, "memory.oom_control", "oom_kill");
	if (kills >= 0)
		return kills > 0;
	char buf[32]; /* kernels before 4.13 have no counter: the limit was hit at least */
	return cg_read(cg.memory, "memory.failcnt", buf, sizeof(buf)) && atoll(buf) > 0;
}
/* END BEYOND */

/*
 * Kill whatever is still in the cgroup (the command's own children outlive it
 * otherwise), then remove it: a cgroup with tasks in it cannot be removed.
 * Runs at the end of main() and at exit (die() after the cgroup exists).
 */
static void cgroup_remove(void)
{
	if (!cg.created || getpid() != cg.owner)
		return;
	cg.created = 0;
	/* EXERCISE 02.3: kill what is left in the cgroup, then rmdir(2) it
	 * hint: a cgroup with tasks in it cannot be removed: empty it first
	 * more: v2: cg_write(cg.dir[0], "cgroup.kill", "1") kills them all (Linux 5.14; ENOENT before);
	 * more: then for each cg.dir[]: read its cgroup.procs and kill(PID, SIGKILL) each, again until it
	 * more: reads empty (a few ms apart), then rmdir(2) it, retrying on EBUSY while the tasks finish dying;
	 * more: ENOENT is fine (nothing to remove)
	 * stub: return;
	 */
	if (cg.v2 && cg_write(cg.dir[0], "cgroup.kill", "1") < 0 && errno != ENOENT)
		fprintf(stderr, "box: echo 1 > %s/cgroup.kill: %s\n", cg.dir[0], strerror(errno));
	for (int i = 0; i < cg.n; i++) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg.dir[i]);
		/* BEYOND THE LESSON: before Linux 5.14 and on v1 there is no cgroup.kill: kill them one by one */
		for (int round = 0; round < 500; round++) { /* 5 s at most */
			FILE *f = fopen(path, "re");
			int pid, left = 0;
			while (f && fscanf(f, "%d", &pid) == 1) {
				left++;
				say("kill(%d, SIGKILL)", "kill -9 %d  # still in the cgroup", pid);
				kill(pid, SIGKILL);
			}
			if (f)
				fclose(f);
			if (!left)
				break;
			usleep(10000);
		}
		/* END BEYOND */
		say("rmdir(\"%s\")", "rmdir %s", cg.dir[i]);
		int gone, tries = 0;
		while (!(gone = rmdir(cg.dir[i]) == 0) && errno == EBUSY && tries++ < 200)
			usleep(10000);
		if (!gone && errno != ENOENT)
			fprintf(stderr, "box: rmdir %s: %s (remove it by hand)\n", cg.dir[i], strerror(errno));
	}
	/* END EXERCISE */
}

/* Write TEXT into a file of /proc or /sys (uid_map, timens_offsets ...), narrated as echo. */
static void write_file(const char *path, const char *text)
{
	say("write(\"%s\", \"%s\")", "echo '%2$s' > %1$s", path, text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %m", path);
	ssize_t len = strlen(text);
	if (write(fd, text, len) != len)
		die("write \"%s\" to %s: %m", text, path);
	close(fd);
}

/* BEYOND THE LESSON: the names of mount flags, for -v */
/* The names of MS_* flags, for the narration of mount(2). */
static const char *mount_flags(unsigned long flags)
{
	static const struct { unsigned long flag; const char *name; } names[] = {
		{MS_REC, "MS_REC"}, {MS_PRIVATE, "MS_PRIVATE"}, {MS_BIND, "MS_BIND"},
		{MS_RDONLY, "MS_RDONLY"}, {MS_NOSUID, "MS_NOSUID"}, {MS_NODEV, "MS_NODEV"},
		{MS_NOEXEC, "MS_NOEXEC"}, {MS_STRICTATIME, "MS_STRICTATIME"},
	};
	static char buf[160];
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].flag)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 buf[0] ? "|" : "", names[i].name);
	return buf[0] ? buf : "0";
}
/* END BEYOND */

/* mount(2), narrated with the mount(8) command that does the same. */
static void do_mount(const char *source, const char *target, const char *type,
		     unsigned long flags, const char *data, const char *shell)
{
	/* "%.0s" skips an argument: the shell command is the last one */
	say("mount(\"%s\", \"%s\", %s, %s)%.0s", "%.0s%.0s%.0s%.0s%s", source ? source : "none",
	    target, type ? type : "NULL", mount_flags(flags), shell);
	if (mount(source, target, type, flags, data) < 0)
		die("mount %s on %s (%s): %m", source ? source : "none", target,
		    type ? type : mount_flags(flags));
}

/* LESSON PART 2: the time namespace (03.6) */
/* One line of /proc/self/timens_offsets: "CLOCK SECONDS NANOSECONDS". */
static void write_offset(const char *clock, long long seconds)
{
	char line[64];
	snprintf(line, sizeof(line), "%s %lld 0", clock, seconds);
	write_file("/proc/self/timens_offsets", line);
}

/*
 * A time namespace gives the container its own CLOCK_MONOTONIC and CLOCK_BOOTTIME
 * (uptime), shifted by offsets: the talk's `unshare -T --boottime N`.
 */
static void enter_time_namespace(const struct config *cfg)
{
	/* EXERCISE 03.6: enter a new time namespace with the offsets
	 * hint: time namespaces move only future children, as CLONE_NEWPID; offsets go in before anyone is inside
	 * more: unshare(CLONE_NEWTIME) (EINVAL: no time namespaces in this kernel); write_offset("monotonic",
	 * more: SECS) and write_offset("boottime", SECS) for each offset given (non-zero), into
	 * more: /proc/self/timens_offsets while no process is inside (later: EACCES); then
	 * more: setns(open("/proc/self/ns/time_for_children"), CLONE_NEWTIME) moves box itself in
	 * stub: (void)cfg; die("TODO 03.6: the time namespace (--boottime-offset, --monotonic-offset) is not written yet");
	 */
	say("unshare(CLONE_NEWTIME)", "unshare --time");
	if (unshare(CLONE_NEWTIME) < 0)
		die("unshare(CLONE_NEWTIME): %m%s",
		    errno == EINVAL ? " (time namespaces need Linux 5.6 with CONFIG_TIME_NS)" : "");
	/* only the clocks asked for: the others keep the host's time */
	if (cfg->monotonic_offset)
		write_offset("monotonic", cfg->monotonic_offset);
	if (cfg->boottime_offset)
		write_offset("boottime", cfg->boottime_offset);
	/* unlike `unshare --fork`, box does not fork again: it joins the namespace itself */
	say("setns(time_for_children, CLONE_NEWTIME)", "nsenter --time=/proc/self/ns/time_for_children");
	int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
		die("setns(time_for_children): %m");
	close(fd);
	/* END EXERCISE */
}
/* END PART 2 */

/* BEYOND THE LESSON: a safety net for a learner's clone flags */
/*
 * Never change the host's mounts or hostname: if a clone flag is missing (a
 * learner's exercise), the child is still in the host's namespace and
 * pivot_root would swap the root of the whole machine.
 */
static void check_namespaces(void)
{
	static const struct { const char *path; const ino_t *host; const char *flag; } ns[] = {
		{"/proc/self/ns/mnt", &host_mnt_ns, "CLONE_NEWNS"},
		{"/proc/self/ns/uts", &host_uts_ns, "CLONE_NEWUTS"},
	};
	struct stat st;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (stat(ns[i].path, &st) < 0)
			die("stat %s: %m", ns[i].path);
		if (st.st_ino == *ns[i].host)
			die("still in the host's namespace %s: refusing to change it "
			    "(is %s missing from the clone flags?)", ns[i].path, ns[i].flag);
	}
}
/* END BEYOND */

/* BEYOND THE LESSON: /dev and /sys as runc makes them (and the rootless way: bind the host's) */
/*
 * A minimal /dev, as runc and crun make it: a tmpfs with the six nodes every
 * program expects, a private devpts for terminals, shm and mqueue. Inside a user
 * namespace mknod(2) is not allowed (a device node is a key to the hardware),
 * so the host's nodes are bind-mounted instead, as rootless podman does.
 */
static void mount_dev(const struct config *cfg)
{
	static const struct { const char *name; unsigned major, minor; } nodes[] = {
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
		{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
	};
	static const char *links[][2] = {
		{"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
		{"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
		{"pts/ptmx", "dev/ptmx"},
	};
	char path[64], host[64], shell[256];

	do_mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
		 "mount -t tmpfs -o nosuid,strictatime,mode=755 tmpfs dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "dev/%s", nodes[i].name);
		if (!cfg->userns) {
			say("mknod(\"%s\", S_IFCHR|0666, %u:%u)", "mknod -m 666 %s c %u %u", path,
			    nodes[i].major, nodes[i].minor);
			if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0 ||
			    chmod(path, 0666) < 0)
				die("mknod %s: %m", path);
			continue;
		}
		snprintf(host, sizeof(host), "/dev/%s", nodes[i].name);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			die("create %s: %m", path);
		close(fd);
		snprintf(shell, sizeof(shell), "touch %s; mount --bind %s %s", path, host, path);
		do_mount(host, path, NULL, MS_BIND, NULL, shell);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			die("symlink %s -> %s: %m", links[i][1], links[i][0]);

	/* newinstance: the container's own ptys, not the host's (gid 5 is "tty") */
	if (mkdir("dev/pts", 0755) < 0)
		die("mkdir dev/pts: %m");
	do_mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 cfg->userns ? "newinstance,ptmxmode=0666,mode=0620"
			     : "newinstance,ptmxmode=0666,mode=0620,gid=5",
		 "mount -t devpts -o newinstance,ptmxmode=0666 devpts dev/pts");
	if (mkdir("dev/shm", 01777) < 0)
		die("mkdir dev/shm: %m");
	do_mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
		 "mount -t tmpfs -o mode=1777 shm dev/shm");
	/* the POSIX message queues of our own IPC namespace */
	if (mkdir("dev/mqueue", 0755) < 0)
		die("mkdir dev/mqueue: %m");
	do_mount("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		 "mount -t mqueue mqueue dev/mqueue");
}

/*
 * /sys, read-only: the container may look at the kernel's devices, not change
 * them. A fresh sysfs (its /sys/class/net lists the interfaces of the network
 * namespace) can be mounted only by whoever owns the network namespace: ours,
 * unless --network host. There, in a user namespace, bind the host's /sys
 * instead and make every mount under it read-only.
 */
static void mount_sys(const struct config *cfg)
{
	if (!cfg->userns || cfg->network != NET_HOST) {
		do_mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			 "mount -t sysfs -o ro sysfs sys");
		return;
	}
	do_mount("/sys", "sys", NULL, MS_BIND | MS_REC, NULL, "mount --rbind /sys sys");
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	say("mount_setattr(\"sys\", AT_RECURSIVE, MOUNT_ATTR_RDONLY)", "mount -o remount,bind,ro sys  # and each mount below");
	if (mount_setattr(AT_FDCWD, "sys", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		die("mount_setattr(sys, read-only): %m (needs Linux 5.12)");
}
/* END BEYOND */

/* BEYOND THE LESSON: mount points a bare rootfs lacks, made safely */
/*
 * The slides' rootfs (`mkdir scatola; cp busybox scatola`) has no proc, sys or
 * dev: make the mount points, as runc does. Only inside the rootfs: the cwd is
 * ROOTFS and each name is one component, and one that is a symlink (proc -> /)
 * is refused, since mount(2) would follow it out of the rootfs.
 */
static void make_mount_points(void)
{
	static const struct { const char *name; mode_t mode; } points[] = {
		{"proc", 0555}, {"sys", 0555}, {"dev", 0755},
	};
	struct stat st;
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		const char *name = points[i].name;
		if (mkdir(name, points[i].mode) == 0)
			say("mkdir(\"%s\")", "mkdir %s", name);
		else if (errno != EEXIST)
			die("mkdir %s inside the rootfs: %m", name);
		if (lstat(name, &st) < 0)
			die("stat %s inside the rootfs: %m", name);
		if (!S_ISDIR(st.st_mode))
			die("%s inside the rootfs is not a directory%s: refusing to mount on it", name,
			    S_ISLNK(st.st_mode) ? " but a symlink (not followed)" : "");
	}
}
/* END BEYOND */

/* Runs in the child: the namespaces' content, then ROOTFS as the root. */
static void enter_rootfs(const struct config *cfg)
{
	/* EXERCISE 03.3: make every mount private, then bind ROOTFS onto itself
	 * hint: two mounts before pivot_root: one so nothing propagates to the host, one so ROOTFS is a mount
	 * more: do_mount() (it narrates): NULL on "/" with MS_REC | MS_PRIVATE (systemd makes "/" shared, and
	 * more: pivot_root(2) refuses shared mounts), then cfg->rootfs onto itself with MS_BIND | MS_REC:
	 * more: pivot_root needs the new root to be a mount point
	 * stub: die("TODO 03.3: make / private and bind-mount %s onto itself", cfg->rootfs);
	 */
	do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "mount --make-rprivate /");
	char shell[512];
	snprintf(shell, sizeof(shell), "mount --rbind %s %s", cfg->rootfs, cfg->rootfs);
	do_mount(cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL, shell);
	/* END EXERCISE */
	say("chdir(\"%s\")", "cd %s", cfg->rootfs);
	if (chdir(cfg->rootfs) < 0)
		die("chdir(%s): %m", cfg->rootfs);
	make_mount_points();

	/* EXERCISE 03.4: mount a fresh /proc for our PID namespace
	 * hint: `unshare --mount-proc`: a proc mount shows the PID namespace of whoever mounts it
	 * more: do_mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, shell): we are in
	 * more: ROOTFS already (its proc exists: make_mount_points). Before pivot_root: in a user namespace the
	 * more: kernel allows a new proc only where a full one is still visible
	 * stub: die("TODO 03.4: mount /proc inside %s", cfg->rootfs);
	 */
	do_mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		 "mount -t proc proc proc  # unshare --mount-proc");
	/* END EXERCISE */
	mount_dev(cfg);
	mount_sys(cfg);

	say("pivot_root(\".\", \".\")", "pivot_root . .");
	/* EXERCISE 03.5: make ROOTFS the root with pivot_root(2), then detach the old root
	 * hint: pivot_root(2) swaps the roots; then the old one, stacked on the new, must go
	 * more: syscall(SYS_pivot_root, ".", ".") (cwd is ROOTFS, a mount: the old root lands on top of it),
	 * more: umount2(".", MNT_DETACH) takes the old root away for good, chdir("/"). die() on each failure.
	 * more: The pivot_root line of -v is said just above
	 * stub: die("TODO 03.5: pivot_root into %s is not written yet", cfg->rootfs);
	 */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root(%s): %m", cfg->rootfs);
	say("umount2(\".\", MNT_DETACH)", "umount -l .");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount2(old root): %m");
	say("chdir(\"/\")", "cd /");
	if (chdir("/") < 0)
		die("chdir(/) inside %s: %m", cfg->rootfs);
	/* END EXERCISE */
}

/* LESSON PART 2: an init for PID 1 (--init) */
/*
 * --init: PID 1 of a namespace is special. The kernel delivers it only the
 * signals it has a handler for (from inside; from the host, SIGKILL too), so a
 * command that never expected to be init ignores `kill -TERM`; and every
 * orphan of the namespace becomes its child, a zombie until it waits for it.
 * This tiny init (as tini, or docker run --init) runs the command as PID 2,
 * passes every signal on to it and reaps whatever exits. It returns in the
 * command's process; the init itself exits with the command's status.
 */
static void run_init(void)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	say("fork()", "(the command becomes PID 2, box's init stays PID 1)");
	pid_t cmd = fork();
	if (cmd < 0)
		die("fork: %m");
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	/* blocked signals are queued even for PID 1: take them one by one */
	for (;;) {
		int sig = sigwaitinfo(&all, NULL);
		if (sig > 0 && sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == cmd)
				_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
	}
}
/* END PART 2 */

/*
 * The network is configured over rtnetlink, the socket interface that ip(8)
 * itself speaks: each request below is one `ip` command. libnl-route builds
 * the messages. A netlink socket belongs to the network namespace it was made
 * in, so the same calls configure the host or the container.
 */
static struct nl_sock *rtnl_open(void)
{
	struct nl_sock *sock = nl_socket_alloc();
	int err;
	if (!sock)
		die("nl_socket_alloc: out of memory");
	if ((err = nl_connect(sock, NETLINK_ROUTE)) < 0)
		die("netlink socket (NETLINK_ROUTE): %s", nl_geterror(err));
	return sock;
}

/* ip link set NAME up (libnl returns -NLE_* codes, not errno: nl_geterror() spells them out) */
static void link_up(struct nl_sock *sock, const char *name)
{
	struct rtnl_link *link, *change;
	int err;
	say("RTM_NEWLINK %s IFF_UP", "ip link set %s up", name);
	if ((err = rtnl_link_get_kernel(sock, 0, name, &link)) < 0)
		die("ip link show %s: %s", name, nl_geterror(err));
	change = rtnl_link_alloc();
	rtnl_link_set_flags(change, IFF_UP);
	if ((err = rtnl_link_change(sock, link, change, 0)) < 0)
		die("ip link set %s up: %s", name, nl_geterror(err));
	rtnl_link_put(change);
	rtnl_link_put(link);
}

/* ip addr add ADDRESS/PREFIX dev NAME */
static void addr_add(struct nl_sock *sock, const char *name, struct in_addr ip, int prefix)
{
	char text[INET_ADDRSTRLEN];
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(AF_INET, &ip, sizeof(ip));
	int err;

	inet_ntop(AF_INET, &ip, text, sizeof(text));
	say("RTM_NEWADDR %s/%d dev %s", "ip addr add %s/%d dev %s", text, prefix, name);
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(addr, if_nametoindex(name));
	rtnl_addr_set_local(addr, local);
	if ((err = rtnl_addr_add(sock, addr, 0)) < 0)
		die("ip addr add %s/%d dev %s: %s", text, prefix, name, nl_geterror(err));
	nl_addr_put(local);
	rtnl_addr_put(addr);
}

/* Runs in the child with --network none: its network namespace has only lo, and it is down. */
static void lo_up(void)
{
	struct nl_sock *sock = rtnl_open();
	link_up(sock, "lo");
	nl_socket_free(sock);
}

/* The host end of a container's veth pair: veth-box<N> for the N-th /30 of --subnet. */
static void host_end_name(char name[IFNAMSIZ], unsigned slot)
{
	/* a /8 has 2^22 /30s: "veth-box" and at most 7 digits fit in IFNAMSIZ */
	snprintf(name, IFNAMSIZ, "veth-box%u", slot & 0x3fffff);
}

/* BEYOND THE LESSON: a /30 nobody on this host uses (addresses, routes, other boxes) */
/* Do the prefixes A/ALEN and B/BLEN share an address? (host byte order) */
static int overlaps(uint32_t a, int alen, uint32_t b, int blen)
{
	int len = alen < blen ? alen : blen;
	uint32_t mask = len ? ~0u << (32 - len) : 0;
	return ((a ^ b) & mask) == 0;
}

/*
 * Is the /30 at NET (number SLOT of --subnet) taken on this host? It is when
 * an IPv4 address of any link falls in it (another box's host end, or a
 * network of the host's own), when a route leads there (a VPN's, say), or
 * when veth-box<SLOT> exists: another box made it and is about to give it its
 * address.
 */
static int slot_taken(struct nl_cache *addrs, struct nl_cache *routes, struct nl_cache *links,
		      uint32_t net, unsigned slot)
{
	char name[IFNAMSIZ];
	host_end_name(name, slot);
	struct rtnl_link *link = rtnl_link_get_by_name(links, name);
	if (link) {
		rtnl_link_put(link);
		return 1;
	}
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(addr);
		uint32_t a;
		if (rtnl_addr_get_family(addr) != AF_INET || !local)
			continue;
		memcpy(&a, nl_addr_get_binary_addr(local), sizeof(a));
		if (overlaps(ntohl(a), rtnl_addr_get_prefixlen(addr), net, 30))
			return 1;
	}
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct nl_addr *dst = rtnl_route_get_dst((struct rtnl_route *)o);
		uint32_t a;
		/* the default route (0.0.0.0/0) leads everywhere: it takes nothing */
		if (!dst || nl_addr_get_family(dst) != AF_INET || nl_addr_get_prefixlen(dst) == 0)
			continue;
		memcpy(&a, nl_addr_get_binary_addr(dst), sizeof(a));
		if (overlaps(ntohl(a), nl_addr_get_prefixlen(dst), net, 30))
			return 1;
	}
	return 0;
}
/* END BEYOND */

/* A container's /30: network .0, the host end .1, the container .2, broadcast .3 */
struct netconf {
	char host_end[IFNAMSIZ]; /* the host end of the veth pair */
	struct in_addr gateway;  /* the host end's address: the container's default route */
	struct in_addr addr;     /* the container's address, on eth0 */
};

/*
 * Runs in box: configure the container's end from inside its network namespace,
 * as the slides' `ip netns exec pippo ip ...` does: setns(2) into it, a netlink
 * socket made there, and back to the host's namespace.
 */
static void eth0_configure(pid_t pid, const struct netconf *nc)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int container = open(path, O_RDONLY | O_CLOEXEC);
	if (host < 0 || container < 0)
		die("open %s: %m", host < 0 ? "/proc/self/ns/net" : path);
	say("setns(\"%s\", CLONE_NEWNET)", "nsenter --net=%s  # ip netns exec", path);
	if (setns(container, CLONE_NEWNET) < 0)
		die("setns(%s): %m", path);
	struct nl_sock *sock = rtnl_open();

	/* EXERCISE 04.3: configure the inside: lo up, eth0 its address and up, the default route via the host end
	 * hint: the slides' `ip netns exec pippo ip ...`: what the inside needs, in the order ip would do it
	 * more: we are inside already (setns above): link_up(sock, "lo"); addr_add(sock, "eth0", nc->addr, 30);
	 * more: link_up(sock, "eth0"); then `ip route add default via GATEWAY dev eth0`: an rtnl_route with
	 * more: dst "default" (nl_addr_parse, AF_INET) and one rtnl_nexthop with gateway nc->gateway and
	 * more: ifindex if_nametoindex("eth0"), added with NLM_F_CREATE | NLM_F_EXCL. say() the route
	 * more: ("RTM_NEWROUTE default via %s", "ip route add default via %s dev eth0"): -v is read
	 * stub: (void)nc;
	 */
	link_up(sock, "lo");
	addr_add(sock, "eth0", nc->addr, 30);
	link_up(sock, "eth0");

	char gateway[INET_ADDRSTRLEN];
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *hop = rtnl_route_nh_alloc();
	struct nl_addr *any, *via = nl_addr_build(AF_INET, &nc->gateway, sizeof(nc->gateway));
	int err;
	inet_ntop(AF_INET, &nc->gateway, gateway, sizeof(gateway));
	say("RTM_NEWROUTE default via %s", "ip route add default via %s dev eth0", gateway);
	nl_addr_parse("default", AF_INET, &any);
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_dst(route, any);
	rtnl_route_nh_set_gateway(hop, via);
	rtnl_route_nh_set_ifindex(hop, if_nametoindex("eth0"));
	rtnl_route_add_nexthop(route, hop);
	if ((err = rtnl_route_add(sock, route, NLM_F_CREATE | NLM_F_EXCL)) < 0)
		die("ip route add default via %s dev eth0: %s", gateway, nl_geterror(err));
	nl_addr_put(any);
	nl_addr_put(via);
	rtnl_route_put(route);
	/* END EXERCISE */

	nl_socket_free(sock);
	say("setns(host's /proc/self/ns/net)", "exit  # back in the host's network namespace");
	if (setns(host, CLONE_NEWNET) < 0)
		die("setns(back to the host's network namespace): %m");
	close(container);
	close(host);
}

/*
 * Runs in box, once the child exists in its own network namespace: the veth
 * pair, a virtual cable with one end here and the other, eth0, in there. The
 * host end gets .1 of a /30 that no address or route of the host uses, eth0 .2.
 * Nothing deletes the pair later: when the last process of the container is
 * gone, the kernel destroys its network namespace and the veth with it (one
 * end gone takes the other), even when box itself was killed.
 */
static void veth_create(const struct config *cfg, pid_t pid)
{
	struct nl_sock *sock = rtnl_open();
	uint32_t base = ntohl(cfg->subnet.s_addr);
	unsigned slots = 1u << (30 - cfg->subnet_prefix);
	struct netconf nc = {0};
	char text[INET_ADDRSTRLEN];

	for (unsigned slot = 0;; slot++) {
		struct nl_cache *addrs, *routes, *links;
		struct rtnl_link *mine;
		int err;

		/* the links, addresses and routes of the host: take the first /30 nobody uses */
		if ((err = rtnl_addr_alloc_cache(sock, &addrs)) < 0 ||
		    (err = rtnl_route_alloc_cache(sock, AF_INET, 0, &routes)) < 0 ||
		    (err = rtnl_link_alloc_cache(sock, AF_UNSPEC, &links)) < 0)
			die("ip addr show: %s", nl_geterror(err));
		while (slot < slots && slot_taken(addrs, routes, links, base + 4 * slot, slot))
			slot++;
		nl_cache_free(addrs);
		nl_cache_free(routes);
		nl_cache_free(links);
		if (slot >= slots)
			die("no free /30 left in --subnet %s/%d: each one is in use on this host "
			    "(ip -4 addr, ip -4 route): give another or a larger private range",
			    inet_ntop(AF_INET, &cfg->subnet, text, sizeof(text)), cfg->subnet_prefix);
		host_end_name(nc.host_end, slot);
		nc.gateway.s_addr = htonl(base + 4 * slot + 1);
		nc.addr.s_addr = htonl(base + 4 * slot + 2);
		say("RTM_GETADDR, RTM_GETROUTE: %s/30 is free", "ip -4 addr; ip -4 route  # %s/30 is free",
		    inet_ntop(AF_INET, &(struct in_addr){htonl(base + 4 * slot)}, text, sizeof(text)));

		say("RTM_NEWLINK %s type veth", "ip link add %s type veth peer name eth0 netns %d",
		    nc.host_end, pid);
		/* EXERCISE 04.2: create the veth pair: nc.host_end here, its peer "eth0" in the netns of pid
		 * hint: the slides' `ip link add veth0 type veth peer veth1 netns pippo`: here, with a PID for the netns
		 * more: err = rtnl_link_veth_add(sock, nc.host_end, "eth0", pid): one RTM_NEWLINK makes both ends and
		 * more: moves the peer, named eth0, into the network namespace of pid; it returns 0 or -NLE_*
		 * more: (the code after the exercise handles -NLE_EXIST). Its -v line is said just above
		 * stub: die("TODO 04.2: create the veth pair %s <-> eth0 (in the netns of %d)", nc.host_end, pid);
		 */
		err = rtnl_link_veth_add(sock, nc.host_end, "eth0", pid);
		/* END EXERCISE */
		/* BEYOND THE LESSON: two boxes at once: the name is the lock; errors explained */
		/* the name is the lock: another box made veth-box<slot> since we looked */
		if (err == -NLE_EXIST && rtnl_link_get_kernel(sock, 0, nc.host_end, &mine) == 0) {
			rtnl_link_put(mine);
			continue;
		}
		if (err < 0)
			die("ip link add %s type veth peer name eth0 netns %d: %s%s", nc.host_end, pid,
			    nl_geterror(err),
			    err == -NLE_OPNOTSUPP ? " (no veth in this kernel? modprobe veth)"
			    : err == -NLE_EXIST   ? " (eth0 exists already: is the child in a network namespace of its own?)"
						  : "");
		/* END BEYOND */
		break;
	}
	addr_add(sock, nc.host_end, nc.gateway, 30);
	link_up(sock, nc.host_end);
	nl_socket_free(sock);
	eth0_configure(pid, &nc);
}

/* Runs in the child: enter the rootfs, then become the command. */
static void child(const struct config *cfg)
{
	/* Ctrl-C and Ctrl-\ are the command's to handle, not ignored as in box */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);

	check_namespaces();
	/* now (after step 02 put us into our cgroup): that cgroup is "/" in here */
	say("unshare(CLONE_NEWCGROUP)", "unshare --cgroup");
	if (unshare(CLONE_NEWCGROUP) < 0)
		die("unshare(CLONE_NEWCGROUP): %m");
	if (cfg->network == NET_NONE)
		lo_up();
	if (cfg->timens)
		enter_time_namespace(cfg);
	say("sethostname(\"%s\")", "hostname %s", cfg->hostname);
	if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		die("sethostname(%s): %m", cfg->hostname);
	enter_rootfs(cfg);
	if (cfg->init)
		run_init();

	say("execvp(\"%s\", ...)", "exec %s", cfg->argv[0]);
	execvp(cfg->argv[0], cfg->argv);
	/* exit statuses as a shell's: 127 not found, 126 found but not executable */
	fprintf(stderr, "box: %s: %s (inside %s)\n", cfg->argv[0], strerror(errno), cfg->rootfs);
	_exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

/* The namespaces the child is cloned into, each narrated with its unshare(1) option. */
static unsigned long namespace_flags(const struct config *cfg)
{
	static const struct { unsigned long flag; const char *name, *shell; } namespaces[] = {
		{CLONE_NEWUSER, "CLONE_NEWUSER", "unshare --user --map-root-user"},
		{CLONE_NEWPID, "CLONE_NEWPID", "unshare --pid --fork"},
		{CLONE_NEWNS, "CLONE_NEWNS", "unshare --mount"},
		{CLONE_NEWUTS, "CLONE_NEWUTS", "unshare --uts"},
		{CLONE_NEWIPC, "CLONE_NEWIPC", "unshare --ipc"},
		{CLONE_NEWNET, "CLONE_NEWNET", "unshare --net"},
	};
	unsigned long flags = 0;
	/* EXERCISE 03.1: the clone flags: new PID, mount, UTS and IPC namespaces (and user with --userns)
	 * hint: one clone flag per namespace of the talk's unshare(1) options; which one owns the others?
	 * more: flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC, and | CLONE_NEWUSER when
	 * more: cfg->userns: clone(2) makes the user namespace first, and it owns the others
	 * stub: (void)cfg; die("TODO 03.1: the namespaces of clone(2) are not chosen yet");
	 */
	flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	if (cfg->userns)
		flags |= CLONE_NEWUSER;
	/* END EXERCISE */
	/* EXERCISE 04.1: a network namespace of its own, unless --network host
	 * hint: the slides' `unshare --net`: one more clone flag, except when the host's network is asked for
	 * more: flags |= CLONE_NEWNET unless cfg->network == NET_HOST: the child starts with only lo (down)
	 * stub: die("TODO 04.1: no network namespace for --network %s yet", network_names[cfg->network]);
	 */
	if (cfg->network != NET_HOST)
		flags |= CLONE_NEWNET;
	/* END EXERCISE */
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		if (flags & namespaces[i].flag)
			say("clone3(%s)%.0s", "%.0s%s", namespaces[i].name, namespaces[i].shell);
	return flags;
}

/* LESSON PART 2: the user namespace and rootless box (03.2) */
/*
 * Runs in box: a new user namespace starts with no ids at all (the command
 * would be nobody, 65534, as after `unshare -U`). Map root inside to our uid
 * and gid outside, as `unshare --map-root-user` does. Without privilege one
 * line mapping our own id is all we may write, and only after denying
 * setgroups(2), which could otherwise drop a group that denies us access.
 */
static void write_id_maps(pid_t pid)
{
	char path[64], map[64];
	/* EXERCISE 03.2: map root inside the user namespace to our uid and gid outside
	 * hint: root inside is one uid outside: a line "INSIDE OUTSIDE COUNT" in /proc/PID/uid_map
	 * more: write_file() (it narrates for -v) "0 UID 1" into /proc/PID/uid_map, UID = geteuid(); when not
	 * more: root, "deny" into /proc/PID/setgroups first (the kernel refuses gid_map before that), then
	 * more: "0 GID 1" into /proc/PID/gid_map, GID = getegid()
	 * stub: (void)path; (void)map; die("TODO 03.2: uid_map and gid_map of %d are not written yet", pid);
	 */
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	snprintf(map, sizeof(map), "0 %d 1", geteuid());
	write_file(path, map);
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		write_file(path, "deny");
	}
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	snprintf(map, sizeof(map), "0 %d 1", getegid());
	write_file(path, map);
	/* END EXERCISE */
}
/* END PART 2 */

/* BEYOND THE LESSON: whether PID 1 takes a signal (/proc/PID/status) */
/*
 * Does PID catch, block or ignore SIG? The masks of /proc/PID/status (SigBlk,
 * SigIgn, SigCgt, in hex), read with async-signal-safe calls only.
 */
static int takes_signal(pid_t pid, int sig)
{
	char path[32] = "/proc/", digits[16], buf[4096];
	int n = 0, len = 6;
	for (pid_t p = pid; p > 0; p /= 10)
		digits[n++] = '0' + p % 10;
	while (n > 0)
		path[len++] = digits[--n];
	memcpy(path + len, "/status", 8);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1; /* gone, or unknown: just pass the signal on */
	ssize_t got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	static const char *const masks[] = {"SigBlk:", "SigIgn:", "SigCgt:"};
	for (int m = 0; m < 3; m++) {
		char *hex = strstr(buf, masks[m]);
		unsigned long long bits = 0;
		for (hex = hex ? hex + 7 : buf + got; *hex == '\t' || *hex == ' '; hex++)
			;
		for (; (*hex >= '0' && *hex <= '9') || (*hex >= 'a' && *hex <= 'f'); hex++)
			bits = bits << 4 | (unsigned)(*hex <= '9' ? *hex - '0' : *hex - 'a' + 10);
		if (bits & 1ULL << (sig - 1))
			return 1;
	}
	return 0;
}
/* END BEYOND */

/*
 * Signals sent to box (kill PID-OF-BOX) are passed on to the command. But the
 * command is PID 1 of its namespace now, and the kernel spares a namespace's
 * init every signal it has no handler for (kill -TERM does nothing to a PID 1
 * `sleep`). So when PID 1 does not take the signal, box applies the default
 * action itself: SIGKILL to PID 1 ends the whole namespace, and box reports
 * 128+SIG as for any other process. (--init runs an init that takes them all.)
 */
static void forward_signal(int sig)
{
	if (child_pid <= 0)
		return;
	if (takes_signal(child_pid, sig)) {
		kill(child_pid, sig);
		return;
	}
	ended_by = sig;
	kill(child_pid, SIGKILL);
}

static void setup_signals(void)
{
	static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	/* the terminal sends Ctrl-C to the whole foreground group: the command gets it itself */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
}

/* Wait for the command; its exit status becomes box's (128+N when killed by signal N). */
static int wait_for(pid_t pid)
{
	int status;
	say("waitpid(%d)", "wait %d", pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid(%d): %m", pid);
	if (WIFSIGNALED(status)) {
		say("command killed by signal %d (%s)", "echo $?  # 128+%d", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	say("command exited with status %d", "echo $?  # %d", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct config cfg = parse_args(argc, argv);
	verbose = cfg.verbose;
	/* not root: rootless, in a user namespace where we are root (and nobody else) */
	if (geteuid() != 0)
		cfg.userns = 1;
	/* a veth needs root on the host (CAP_NET_ADMIN there): rootless, only lo */
	if (!cfg.network)
		cfg.network = geteuid() == 0 ? NET_VETH : NET_NONE;
	if (cfg.network == NET_VETH && geteuid() != 0)
		die("--network veth needs root: only root on the host may add its end of a veth "
		    "pair (run with sudo, or use --network none)");
	if (!cfg.hostname)
		cfg.hostname = cfg.id;
	check_rootfs(cfg.rootfs);
	/* rootless: no cgroup, box may not make one (a cgroup delegated to you is not used) */
	if (geteuid() == 0)
		cgroup_find(&cfg);
	else if (cfg.cpus > 0 || cfg.memory > 0 || cfg.pids > 0)
		die("rootless: --cpus, --memory and --pids-limit need a cgroup, and only root may make "
		    "one under " CGROUP_ROOT ": run box with sudo, or without limits");
	else
		say("not root: rootless, no cgroup and no limits", "unshare --user --map-root-user ...");
	atexit(cgroup_remove); /* also when box dies half-way */
	cgroup_create(&cfg);

	/* BEYOND THE LESSON: the host's namespaces, for the safety net */
	struct stat ns;
	if (stat("/proc/self/ns/mnt", &ns) < 0)
		die("stat /proc/self/ns/mnt: %m (is /proc mounted?)");
	host_mnt_ns = ns.st_ino;
	if (stat("/proc/self/ns/uts", &ns) < 0)
		die("stat /proc/self/ns/uts: %m");
	host_uts_ns = ns.st_ino;
	/* END BEYOND */
	setup_signals();
	/* the child waits for a byte on this pipe: it runs nothing before it is in the cgroup
	 * and, with a user namespace, before box has written its uid_map and gid_map */
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		die("pipe: %m");
	pid_t pid = fork_into_cgroup(namespace_flags(&cfg));
	if (pid < 0)
		die("clone3(namespaces): %m%s", errno == EPERM || errno == ENOSPC || errno == EUSERS
			? " (user namespaces disabled? see sysctl user.max_user_namespaces and "
			  "kernel.unprivileged_userns_clone)" : "");
	if (pid == 0) {
		char byte;
		close(go[1]);
		/* if box dies, even of SIGKILL, we die too: and with PID 1 the whole namespace */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &byte, 1) != 1)
			_exit(EXIT_BOX); /* box died before saying go */
		close(go[0]);
		child(&cfg);
	}
	child_pid = pid;
	if (cfg.userns)
		write_id_maps(pid);
	if (cfg.network == NET_VETH)
		veth_create(&cfg, pid);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write(go[1], "g", 1) != 1)
		die("pipe: %m");
	close(go[0]);
	close(go[1]);
	int status = wait_for(pid);
	child_pid = 0;
	/* BEYOND THE LESSON: a PID 1 ended by box reports the signal sent */
	if (ended_by && status == 128 + SIGKILL) {
		say("PID 1 had no handler for signal %d: box ended it", "echo $?  # 128+%d", ended_by);
		status = 128 + ended_by;
	}
	/* END BEYOND */
	/* BEYOND THE LESSON: the report at exit (-v) and the OOM message */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cgroup_report(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (status == 128 + SIGKILL && cfg.memory > 0 && cgroup_oom_killed()) {
		char size[32];
		fprintf(stderr, "box: killed: out of memory (memory limit %s)\n",
			human(cfg.memory, size, sizeof(size)));
	}
	/* END BEYOND */
	cgroup_remove();
	return status;
}
