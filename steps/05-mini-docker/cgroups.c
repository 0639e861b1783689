/*
 * cgroups.c: --cpus, --memory, --pids-limit, as in step 02.
 * pids.max is 2048 unless --pids-limit says otherwise (-1: none), as podman.
 *
 *   v2, one tree:    /sys/fs/cgroup/PARENT/ID/{cpu.max,memory.max,pids.max}
 *   v1, one per controller: /sys/fs/cgroup/cpu/OWN/PARENT/ID/cpu.cfs_quota_us ...
 * PARENT is --cgroup-parent (default mini-docker), ID the engine's PID: unique
 * while it runs (state.json keeps the paths, so rm finds them after a crash).
 * The child is born inside (clone3 CLONE_INTO_CGROUP on v2) or moved in before
 * it runs a line of the command. At the end whatever is left in the cgroup is
 * killed and the cgroup removed.
 * Without limits a cgroup is still made when possible (to measure, and to
 * kill every process of the container at the end); a rootless engine that may
 * not make one runs without.
 * The devices the container may open are limited here too (devices.c): the
 * devices controller on v1, an eBPF program attached to the cgroup on v2.
 * mini-runc's linux.resources.cpu.cpus and .mems (the CPUs and memory nodes the
 * container may run on) are the cpuset controller's cpuset.cpus and cpuset.mems:
 * v2 enables +cpuset only when they are given; on v1 a mini-runc container is in
 * the cpuset hierarchy too, as runc puts it in every hierarchy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroups.h"
#include "container.h"
#include "devices.h"
#include "narrate.h"
#include "util.h"

#define CPU_PERIOD 100000

static struct {
	int v2, n;
	char dir[6][PATH_MAX];
	const char *cpu, *cpuacct, *memory, *pids, *cpuset, *devices; /* devices: v1 only (v2: devices.c's eBPF) */
	int fd, created;
	pid_t owner;
	char list[6 * PATH_MAX + 8];
} cg = {.fd = -1};

/* copy of step 02's cg_write() (steps/02-cgroups/box.c); scripts/check-copies */
static int cg_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	narrate("write(%s, \"%s\")", "echo \"%2$s\" > %3$s", file, value, path);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int cg_write_err(const char *dir, const char *file, const char *value, struct md_error *err)
{
	if (cg_write(dir, file, value) == 0)
		return 0;
	return md_fail_errno(err, "echo \"%s\" > %s/%s", value, dir, file);
}

/* copy of step 02's cg_read() (steps/02-cgroups/box.c); scripts/check-copies */
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

/* copy of step 02's cg_key() (steps/02-cgroups/box.c); scripts/check-copies */
static long long cg_key(const char *dir, const char *file, const char *key)
{
	char buf[4096];
	size_t len = strlen(key);
	if (!cg_read(dir, file, buf, sizeof(buf)))
		return -1;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, key, len) && line[len] == ' ')
			return atoll(line + len + 1);
	return -1;
}

/* CONTROLLER's path in SELF, the text of /proc/self/cgroup ("4:cpu,cpuacct:/a/b" lines) */
/* copy of step 02's own_cgroup() (steps/02-cgroups/box.c); scripts/check-copies */
static void own_cgroup(const char *self, const char *controller, char *out, size_t size)
{
	char line[PATH_MAX + 128];
	snprintf(out, size, "/");
	for (const char *p = self; *p;) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		char *list = strchr(line, ':'), *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		for (char *c = strtok(list + 1, ","); c; c = strtok(NULL, ","))
			if (!strcmp(c, controller))
				snprintf(out, size, "%s", path);
	}
}

/* copy of step 02's cgroup_find() (steps/02-cgroups/box.c); scripts/check-copies */
static int find(const struct run_config *rc, const char *parent, struct md_error *err)
{
	static const char *const names[] = {"cpu", "cpuacct", "memory", "pids", "cpuset", "devices"};
	const char **where[] = {&cg.cpu, &cg.cpuacct, &cg.memory, &cg.pids, &cg.cpuset, &cg.devices};
	int cpuset = rc->cpuset_cpus || rc->cpuset_mems;
	const char *flag[] = {rc->cpus > 0 ? "--cpus" : NULL, NULL, rc->memory > 0 ? "--memory" : NULL,
			      rc->pids > 0 ? "--pids-limit" : NULL, cpuset ? "linux.resources.cpu.cpus/mems" : NULL,
			      NULL};
	char real[6][PATH_MAX], self[8192] = "";
	struct statfs fs;
	cg.owner = getpid();
	if (statfs(CGROUP_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
		char have[512] = "", padded[520];
		cg.v2 = 1;
		narrate("statfs(\"" CGROUP_ROOT "\"): cgroup2, unified", "stat -fc %%T " CGROUP_ROOT "  # cgroup2fs");
		cg_read(CGROUP_ROOT, "cgroup.controllers", have, sizeof(have));
		have[strcspn(have, "\n")] = '\0';
		snprintf(padded, sizeof(padded), " %s ", have);
		cg.n = 1;
		snprintf(cg.dir[0], PATH_MAX, CGROUP_ROOT "/%s/%d", parent, (int)cg.owner);
		for (int i = 0; i < 5; i++) {
			char word[32];
			snprintf(word, sizeof(word), " %s ", names[i]);
			if (i == 4 && !cpuset) /* enabled only when asked: it would do nothing */
				continue;
			if (i == 1 || strstr(padded, word))
				*where[i] = cg.dir[0];
			else if (flag[i])
				return md_fail(err, "%s needs the cgroup v2 %s controller, and " CGROUP_ROOT
						    "/cgroup.controllers lists only \"%s\"", flag[i], names[i], have);
		}
		return 0;
	}
	narrate("statfs(\"" CGROUP_ROOT "\"): not cgroup2: controllers on v1", "stat -fc %%T " CGROUP_ROOT);
	for (int i = 0; i < 6; i++) {
		char mount[64], own[PATH_MAX];
		if (i == 4 && !cpuset && !rc->cgroup_path) /* mini-docker's containers: not in cpuset's */
			continue;
		snprintf(mount, sizeof(mount), CGROUP_ROOT "/%s", names[i]);
		if (statfs(mount, &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC || !realpath(mount, real[cg.n])) {
			if (flag[i])
				return md_fail(err, "%s needs the cgroup v1 %s controller, not mounted at %s (or boot with "
						    "cgroup v2)", flag[i], names[i], mount);
			continue;
		}
		for (int j = 0; j < cg.n; j++)
			if (!strcmp(real[j], real[cg.n]))
				*where[i] = cg.dir[j];
		if (*where[i])
			continue;
		if (!self[0]) /* read once for the six controllers */
			cg_read("/proc/self", "cgroup", self, sizeof(self));
		own_cgroup(self, names[i], own, sizeof(own));
		if (snprintf(cg.dir[cg.n], PATH_MAX, "%s%s/%s/%d", real[cg.n], strcmp(own, "/") ? own : "", parent,
			     (int)cg.owner) >= PATH_MAX)
			return md_fail(err, "the cgroup path under %s%s is too long", real[cg.n], own);
		*where[i] = cg.dir[cg.n++];
	}
	return 0;
}

/*
 * mini-runc: linux.cgroupsPath names the cgroup itself. find() made PARENT/PID
 * under our own cgroup of each hierarchy: "/a/b" is from the hierarchy's root
 * instead, "a/b" from our own cgroup, as runc reads it.
 */
static int oci_path(const struct run_config *rc, struct md_error *err)
{
	if ((rc->cpu_quota > 0 || rc->cpu_shares > 0) && !cg.cpu)
		return md_fail(err, "linux.resources.cpu needs the cpu controller (cgroup v2's, or v1's at "
				    CGROUP_ROOT "/cpu)");
	for (int i = 0; rc->cgroup_path && i < cg.n; i++) {
		int abs = *rc->cgroup_path == '/';
		char *end = cg.dir[i] + strlen(cg.dir[i]);
		if (abs) /* CGROUP_ROOT on v2, CGROUP_ROOT/HIERARCHY on v1 */
			end = cg.v2 ? cg.dir[i] + strlen(CGROUP_ROOT) : strchr(cg.dir[i] + strlen(CGROUP_ROOT "/"), '/');
		for (int up = abs ? 0 : 2; up > 0; up--) /* drop "/PARENT/PID" */
			while (end > cg.dir[i] && *--end != '/')
				;
		if (!end || (size_t)(end - cg.dir[i]) + strlen(rc->cgroup_path) + 2 >= PATH_MAX)
			return md_fail(err, "cgroupsPath %s: too long", rc->cgroup_path);
		snprintf(end, PATH_MAX - (end - cg.dir[i]), "%s%s", abs ? "" : "/", rc->cgroup_path);
	}
	return 0;
}

/* copy of step 02's cg_mkdir() (steps/02-cgroups/box.c); scripts/check-copies */
static int mkdir_narrated(const char *path, int exist_ok)
{
	if (exist_ok && access(path, F_OK) == 0)
		return 0;
	narrate("mkdir(\"%s\")", "mkdir %s", path);
	if (mkdir(path, 0755) == 0 || (exist_ok && errno == EEXIST))
		return 0;
	/* named after our PID: a leftover of a run killed by SIGKILL goes (rmdir fails if in use) */
	if (errno == EEXIST) {
		if (rmdir(path) == 0) {
			narrate("rmdir(\"%s\")", "rmdir %s  # a leftover of a killed run", path);
			return mkdir(path, 0755);
		}
		errno = EEXIST;
	}
	return -1;
}

/* v2, a cgroupsPath several levels down: mkdir each ancestor of PATH and enable ENABLE in it */
static int enable_down(const char *path, const char *const enable[4], struct md_error *err)
{
	char sub[PATH_MAX];
	for (const char *p = path + strlen(CGROUP_ROOT) + 1; (p = strchr(p, '/')); p++) {
		snprintf(sub, sizeof(sub), "%.*s", (int)(p - path), path);
		if (mkdir_narrated(sub, 1) < 0)
			return md_fail_errno(err, "mkdir %s", sub);
		for (int i = 0; i < 4; i++)
			if (enable[i] && cg_write_err(sub, "cgroup.subtree_control", enable[i], err) < 0)
				return -1;
	}
	return 0;
}

/*
 * v1: a new cpuset cgroup has empty cpuset.cpus and cpuset.mems, and no task may
 * join it (ENOSPC) until they are set: each level of PATH below the hierarchy's
 * root that is empty gets its parent's, from the top down (as runc does).
 */
static int cpuset_fill(const char *path, struct md_error *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char sub[PATH_MAX], up[PATH_MAX], buf[1024];
	const char *p = strchr(path + strlen(CGROUP_ROOT "/"), '/'); /* below CGROUP_ROOT/cpuset */
	while (p) {
		const char *next = strchr(p + 1, '/');
		snprintf(up, sizeof(up), "%.*s", (int)(p - path), path);
		snprintf(sub, sizeof(sub), "%.*s", (int)(next ? next - path : (long)strlen(path)), path);
		for (int f = 0; f < 2; f++) {
			if (!cg_read(sub, files[f], buf, sizeof(buf)))
				return md_fail_errno(err, "cat %s/%s", sub, files[f]);
			if (buf[0] != '\n' && buf[0])
				continue;
			if (!cg_read(up, files[f], buf, sizeof(buf)))
				return md_fail_errno(err, "cat %s/%s", up, files[f]);
			buf[strcspn(buf, "\n")] = '\0';
			if (cg_write_err(sub, files[f], buf, err) < 0)
				return -1;
		}
		p = next;
	}
	return 0;
}

/* linux.resources.cpu.cpus or .mems (WHAT): VALUE, a list such as "0-1,3", into cpuset.WHAT */
static int cpuset_write(const char *value, const char *what, struct md_error *err)
{
	char file[32], have[256] = "?", up[PATH_MAX];
	if (!value)
		return 0;
	snprintf(file, sizeof(file), "cpuset.%s", what);
	if (cg_write(cg.cpuset, file, value) == 0)
		return 0;
	if (errno != EINVAL && errno != ERANGE)
		return md_fail_errno(err, "echo \"%s\" > %s/%s", value, cg.cpuset, file);
	/* the common cause: a CPU or node the host (or the parent cgroup) does not have */
	snprintf(up, sizeof(up), "%.*s", (int)(strrchr(cg.cpuset, '/') - cg.cpuset), cg.cpuset);
	snprintf(file, sizeof(file), cg.v2 ? "cpuset.%s.effective" : "cpuset.effective_%s", what);
	if (cg_read(up, file, have, sizeof(have)))
		have[strcspn(have, "\n")] = '\0';
	return md_fail(err, "linux.resources.cpu.%s \"%s\": not a list of %s this cgroup may use (%s/%s: \"%s\")",
		       what, value, !strcmp(what, "cpus") ? "CPUs" : "memory nodes", up, file, have);
}

static int create(const struct run_config *rc, const char *parent, struct md_error *err)
{
	char value[64], path[PATH_MAX];
	if (cg.v2) {
		snprintf(path, sizeof(path), CGROUP_ROOT "/%s", parent);
		if (rc->cgroup_path) /* the leaf's own parent, made with its ancestors as the one below */
			snprintf(path, sizeof(path), "%.*s", (int)(strrchr(cg.dir[0], '/') - cg.dir[0]), cg.dir[0]);
		const char *enable[] = {cg.cpu ? "+cpu" : NULL, cg.memory ? "+memory" : NULL, cg.pids ? "+pids" : NULL,
					cg.cpuset ? "+cpuset" : NULL};
		const char *tops[] = {CGROUP_ROOT, path};
		for (int t = 0; t < 2; t++) {
			if (t == 1 && !strcmp(path, CGROUP_ROOT))
				break;
			if (t == 1 && rc->cgroup_path && enable_down(path, enable, err) < 0)
				return -1;
			if (t == 1 && mkdir_narrated(path, 1) < 0)
				return md_fail_errno(err, "mkdir %s", path);
			for (int i = 0; i < 4; i++)
				if (enable[i] && cg_write_err(tops[t], "cgroup.subtree_control", enable[i], err) < 0)
					return -1;
		}
	} else {
		for (int i = 0; i < cg.n; i++) {
			snprintf(path, sizeof(path), "%s", cg.dir[i]);
			*strrchr(path, '/') = '\0';
			if (rc->cgroup_path ? mkdir_p(path, 0755, err) < 0 : mkdir_narrated(path, 1) < 0)
				return md_fail_errno(err, "mkdir %s", path);
		}
	}
	for (int i = 0; i < cg.n; i++) {
		if (mkdir_narrated(cg.dir[i], 0) < 0)
			return md_fail_errno(err, "mkdir %s", cg.dir[i]);
		cg.created = i + 1;
	}
	if (cg.cpuset && !cg.v2 && cpuset_fill(cg.cpuset, err) < 0)
		return -1;
	if (cpuset_write(rc->cpuset_mems, "mems", err) < 0 || cpuset_write(rc->cpuset_cpus, "cpus", err) < 0)
		return -1;
	if (rc->cpu_shares > 0) {
		/* v2's weight is 1..10000 where v1's shares are 2..262144 (runc's conversion) */
		unsigned long w = 1 + ((rc->cpu_shares < 2 ? 2 : rc->cpu_shares) - 2) * 9999 / 262142;
		snprintf(value, sizeof(value), "%lu", cg.v2 ? (w > 10000 ? 10000 : w) : rc->cpu_shares);
		if (cg_write_err(cg.cpu, cg.v2 ? "cpu.weight" : "cpu.shares", value, err) < 0)
			return -1;
	}
	if (rc->cpus > 0 || rc->cpu_quota > 0) {
		long period = rc->cpu_quota > 0 && rc->cpu_period > 0 ? rc->cpu_period : CPU_PERIOD;
		long quota = rc->cpu_quota > 0 ? (long)rc->cpu_quota : (long)(rc->cpus * CPU_PERIOD + 0.5);
		if (cg.v2) {
			snprintf(value, sizeof(value), "%ld %ld", quota, period);
			if (cg_write_err(cg.cpu, "cpu.max", value, err) < 0)
				return -1;
		} else {
			snprintf(value, sizeof(value), "%ld", period);
			if (cg_write_err(cg.cpu, "cpu.cfs_period_us", value, err) < 0)
				return -1;
			snprintf(value, sizeof(value), "%ld", quota);
			if (cg_write_err(cg.cpu, "cpu.cfs_quota_us", value, err) < 0)
				return -1;
		}
	}
	if (rc->memory > 0) {
		/* swap too, or the kernel swaps the excess out instead of stopping it */
		snprintf(value, sizeof(value), "%lld", rc->memory);
		if (cg_write_err(cg.memory, cg.v2 ? "memory.max" : "memory.limit_in_bytes", value, err) < 0)
			return -1;
		if (cg.v2 && cg_write(cg.memory, "memory.swap.max", "0") < 0 && errno != ENOENT)
			return md_fail_errno(err, "echo 0 > %s/memory.swap.max", cg.memory);
		if (!cg.v2 && cg_write(cg.memory, "memory.memsw.limit_in_bytes", value) < 0 && errno != ENOENT)
			return md_fail_errno(err, "echo %s > %s/memory.memsw.limit_in_bytes", value, cg.memory);
	}
	if (rc->pids > 0 || (rc->pids == 0 && cg.pids)) {
		snprintf(value, sizeof(value), "%ld", rc->pids > 0 ? rc->pids : PIDS_DEFAULT);
		if (cg_write_err(cg.pids, "pids.max", value, err) < 0)
			return -1;
	}
	if (cg.v2 && (cg.fd = open(cg.dir[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return md_fail_errno(err, "open %s", cg.dir[0]);
	/* a mknod'ed disk of the host must not open: runc's device allow-list (rootless: the kernel
	 * refuses mknod of a device in a user namespace, and loading the program needs CAP_BPF) */
	if (rc->privileged || geteuid() != 0)
		return 0;
	if (cg.v2)
		return devices_v2(cg.fd, cg.dir[0], err);
	const char *file;
	char line[32];
	for (size_t i = 0; cg.devices && devices_v1_line(i, &file, line, sizeof(line)); i++)
		if (cg_write_err(cg.devices, file, line, err) < 0)
			return -1;
	return 0;
}

int cgroup_setup(const struct run_config *rc, struct md_error *err)
{
	const char *parent = rc->cgroup_parent ? rc->cgroup_parent : "mini-docker";
	int limits = rc->cpus > 0 || rc->memory > 0 || rc->pids > 0 || rc->cpu_quota > 0 || rc->cpu_shares > 0 ||
		     rc->cpuset_cpus || rc->cpuset_mems;
	if (find(rc, parent, err) < 0 || oci_path(rc, err) < 0)
		return -1;
	if (!cg.n) {
		narrate("no cgroup controller found: no limits, no cgroup", "ls " CGROUP_ROOT "  # empty");
		return 0;
	}
	if (create(rc, parent, err) == 0)
		return 0;
	cgroup_remove();
	if (limits || geteuid() == 0 || (err->errnum != EACCES && err->errnum != EROFS && err->errnum != EPERM))
		return md_context(err, "the container's cgroup%s", geteuid() ? " (rootless: no cgroup of ours is "
									   "delegated to us)" : "");
	narrate("cgroups are not ours to make (rootless): no cgroup", "# %s", err->msg);
	cg.n = 0;
	return 0;
}

int cgroup_clone_fd(void)
{
	return cg.fd;
}

int cgroup_add(pid_t pid, struct md_error *err)
{
	char value[16];
	snprintf(value, sizeof(value), "%d", (int)pid);
	for (int i = 0; i < cg.created; i++)
		if (cg_write_err(cg.dir[i], "cgroup.procs", value, err) < 0)
			return -1;
	return 0;
}

/* copy of step 02's cgroup_report() (steps/02-cgroups/box.c); scripts/check-copies */
void cgroup_report(double wall)
{
	char line[256], files[3 * PATH_MAX], cpu[32] = "?", mem[32] = "?", pids[32] = "?", buf[64];
	long long v;
	if (!md_verbose || !cg.created)
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
	snprintf(line, sizeof(line), "cgroup used %s of CPU in %.3fs, memory peak %s, pids peak %s", cpu, wall, mem, pids);
	snprintf(files, sizeof(files), "cat %s/%s %s/%s %s/pids.peak", cg.cpuacct ? cg.cpuacct : "?",
		 cg.v2 ? "cpu.stat" : "cpuacct.usage", cg.memory ? cg.memory : "?", peak, cg.pids ? cg.pids : "?");
	narrate("%s", "%.0s%s", line, files); /* the shell half skips the line: cat FILES */
}

/* copy of step 02's cgroup_oom_killed() (steps/02-cgroups/box.c); scripts/check-copies */
int cgroup_oom_killed(void)
{
	if (!cg.created || !cg.memory)
		return 0;
	if (cg.v2)
		return cg_key(cg.memory, "memory.events", "oom_kill") > 0;
	long long kills = cg_key(cg.memory, "memory.oom_control", "oom_kill");
	if (kills >= 0)
		return kills > 0;
	char buf[32];
	return cg_read(cg.memory, "memory.failcnt", buf, sizeof(buf)) && atoll(buf) > 0;
}

/* kill what is left in DIR (cgroup.kill on v2 5.14+, else one by one), then rmdir it */
/* copy of step 02's cgroup_remove() (steps/02-cgroups/box.c); scripts/check-copies */
static void remove_one(const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat st;
	if (stat(dir, &st) < 0)
		return;
	if (cg_write(dir, "cgroup.kill", "1") < 0 && errno != ENOENT)
		fprintf(stderr, "mini-docker: echo 1 > %s/cgroup.kill: %s\n", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 500; round++) {
		FILE *f = fopen(path, "re");
		int pid, left = 0;
		while (f && fscanf(f, "%d", &pid) == 1) {
			left++;
			narrate("kill(%d, SIGKILL)", "kill -9 %d  # still in the cgroup", pid);
			kill(pid, SIGKILL);
		}
		if (f)
			fclose(f);
		if (!left)
			break;
		usleep(10000);
	}
	narrate("rmdir(\"%s\")", "rmdir %s", dir);
	int gone, tries = 0;
	while (!(gone = rmdir(dir) == 0) && errno == EBUSY && tries++ < 200)
		usleep(10000);
	if (!gone && errno != ENOENT)
		fprintf(stderr, "mini-docker: rmdir %s: %s (remove it by hand)\n", dir, strerror(errno));
}

void cgroup_remove(void)
{
	if (!cg.created || getpid() != cg.owner)
		return;
	int n = cg.created;
	cg.created = 0;
	if (cg.fd >= 0) {
		close(cg.fd);
		cg.fd = -1;
	}
	for (int i = 0; i < n; i++)
		remove_one(cg.dir[i]);
}

int cgroup_own_dirs(const char **dirs, int max, int *v2)
{
	int n = 0;
	*v2 = cg.v2;
	for (int i = 0; i < cg.created && n < max; i++)
		dirs[n++] = cg.dir[i];
	return n;
}

const char *cgroup_dirs(void)
{
	cg.list[0] = 0;
	for (int i = 0; i < cg.created; i++)
		snprintf(cg.list + strlen(cg.list), sizeof(cg.list) - strlen(cg.list), "%s%s", i ? " " : "", cg.dir[i]);
	return cg.list;
}

void cgroup_remove_dirs(const char *dirs)
{
	char *copy = xstrdup(dirs ? dirs : ""), *save, *p;
	for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save))
		if (!strncmp(p, CGROUP_ROOT "/", strlen(CGROUP_ROOT) + 1) && !strstr(p, "/../"))
			remove_one(p);
	free(copy);
}
