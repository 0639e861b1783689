/*
 * box, step 02: cgroups
 *
 * Step 01 changed what "/" means; a process in the box could still eat every
 * CPU, all the memory and every PID of the host. cgroups (control groups) are
 * the kernel's way to limit what a group of processes uses. The talk does it
 * by hand:
 *
 *     $ mount | grep cgroup                       # where the hierarchy lives
 *     $ cat /sys/fs/cgroup/cgroup.controllers     # what it can limit
 *     $ mkdir /sys/fs/cgroup/pippo                # a new cgroup is a directory
 *     $ echo 20835 > /sys/fs/cgroup/pippo/cgroup.procs
 *     $ echo "50000 100000" > /sys/fs/cgroup/pippo/cpu.max   # half a CPU
 *
 * box does the same for its command, with docker run's flags (--cpus,
 * --memory, --pids-limit): it makes /sys/fs/cgroup/box/ID, writes the limits,
 * starts the child inside it before the command runs, and removes it when
 * the command is over. Hosts with the older cgroup v1 (one hierarchy per
 * controller: /sys/fs/cgroup/cpu, /sys/fs/cgroup/memory ...) get the same
 * limits through v1's files; -v tells which kind this host has.
 *
 * Usage: box [-v] [--cpus N] [-m SIZE] [--pids-limit N] ROOTFS [CMD [ARG...]]
 */
/*
 * Contents, in the order main() runs them:
 *   parse_args(), check_rootfs()  the command line (--cpus, --memory, --pids-limit)
 *   cgroup_find()                 where the cgroup goes: /sys/fs/cgroup/box/ID
 *   cgroup_create()               the lesson: mkdir, the limits into its files (02.1)
 *   fork_into_cgroup()            the child, inside the cgroup before it runs anything (02.2)
 *   child(), wait_for()           as in step 01
 *   cgroup_remove()               kill what is left, rmdir (02.3)
 * Beyond the lesson, marked BEYOND THE LESSON ... END BEYOND where it sits, for the room
 * to skip (make diff STEP=2 LESSON=1 leaves it out): cgroup v1 and hybrid hosts, docker's
 * forms of the flags, the leftover of a killed box, -v's report, the OOM message.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
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
};

static int verbose;
static volatile pid_t child_pid;

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
	fprintf(out, "usage: box [-v] [--cpus N] [-m SIZE] [--pids-limit N] ROOTFS [CMD [ARG...]]\n"
		     "\n"
		     "Run CMD (default /bin/sh) with ROOTFS as its root directory, in a cgroup.\n"
		     "\n"
		     "  --cpus N          at most N CPUs' worth of time (0.5: half a CPU)\n"
		     "  -m, --memory SIZE at most SIZE of memory, swap included (64M, 1g ...)\n"
		     "  --pids-limit N    at most N tasks (processes and threads) at once\n"
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

static struct config parse_args(int argc, char **argv)
{
	static char *default_cmd[] = {"/bin/sh", NULL};
	enum { OPT_CPUS = 256, OPT_PIDS };
	static const struct option options[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"cpus", required_argument, NULL, OPT_CPUS},
		{"memory", required_argument, NULL, 'm'},
		{"pids-limit", required_argument, NULL, OPT_PIDS},
		{0},
	};
	struct config cfg = {0};
	int opt;

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
static pid_t fork_into_cgroup(void)
{
	/* EXERCISE 02.2: start the child inside the cgroup (the slides: echo PID > cgroup.procs)
	 * hint: the slides: echo PID > cgroup.procs; on cgroup v2 a child can even be born inside
	 * more: v2 (cg.fd >= 0): clone3(2) with .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
	 * more: .cgroup = cg.fd (syscall(SYS_clone3, &args, sizeof(args))); say() it as the code around does
	 * more: (-v is read). When clone3 fails with ENOSYS or E2BIG (before 5.7), or on v1: fork(2), and the
	 * more: parent writes the child's PID into cgroup.procs of every cg.dir[] with cg_write_or_die()
	 * stub: return fork();
	 */
	if (cg.fd >= 0) {
		struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = cg.fd};
		say("clone3(CLONE_INTO_CGROUP, %s)", "(a new process, born in %s)", cg.dir[0]);
		pid_t pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0)
			return pid;
		if (errno != ENOSYS && errno != E2BIG)
			die("clone3(CLONE_INTO_CGROUP, %s): %m", cg.dir[0]);
	}
	say("fork()", "(a new process for the command)");
	pid_t pid = fork();
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

/* Runs in the child: enter the rootfs, then become the command. */
static void child(const struct config *cfg)
{
	/* Ctrl-C and Ctrl-\ are the command's to handle, not ignored as in box */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);

	say("chroot(\"%s\")", "chroot %s", cfg->rootfs);
	/* EXERCISE 01.1: make ROOTFS the root directory: chroot(2), then chdir("/")
	 * hint: chroot(2) changes what "/" means; where is the current directory after it?
	 * more: chroot(cfg->rootfs), then chdir("/"): chroot alone leaves the current directory outside the
	 * more: new root, and the escape climbs out from there. Each call that fails: die() with the call,
	 * more: the path and %m (EPERM: not root). The chroot line of -v is said just above.
	 * stub: die("TODO 01.1: chroot(2) into %s is not written yet", cfg->rootfs);
	 */
	if (chroot(cfg->rootfs) < 0)
		die("chroot(%s): %m%s", cfg->rootfs,
		    errno == EPERM ? " (chroot needs root: run box with sudo)" : "");
	say("chdir(\"/\")", "cd /");
	if (chdir("/") < 0)
		die("chdir(/) inside %s: %m", cfg->rootfs);
	/* END EXERCISE */

	say("execvp(\"%s\", ...)", "exec %s", cfg->argv[0]);
	execvp(cfg->argv[0], cfg->argv);
	/* exit statuses as a shell's: 127 not found, 126 found but not executable */
	fprintf(stderr, "box: %s: %s (inside %s)\n", cfg->argv[0], strerror(errno), cfg->rootfs);
	_exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

/* Signals sent to box (kill PID-OF-BOX) are passed on to the command. */
static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
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
	if (geteuid() != 0)
		die("chroot(2) needs root (CAP_SYS_CHROOT): run sudo %s", argv[0]);
	check_rootfs(cfg.rootfs);
	cgroup_find(&cfg);
	atexit(cgroup_remove); /* also when box dies half-way */
	cgroup_create(&cfg);

	setup_signals();
	/* the child waits for a byte on this pipe: it runs nothing before it is in the cgroup */
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		die("pipe: %m");
	pid_t pid = fork_into_cgroup();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		char byte;
		close(go[1]);
		if (read(go[0], &byte, 1) != 1)
			_exit(EXIT_BOX); /* box died before saying go */
		close(go[0]);
		child(&cfg);
	}
	child_pid = pid;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write(go[1], "g", 1) != 1)
		die("pipe: %m");
	close(go[0]);
	close(go[1]);
	int status = wait_for(pid);
	child_pid = 0;
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
