/*
 * ocirun.c: the container's init, as `mini-runc create` makes it.
 *
 * The same road as ns.c's child for `mini-docker run`, with the stops a
 * config.json names instead of docker's options, and one more at the end:
 *
 *   engine  setns into a pid namespace to join (it takes effect for children)
 *           clone3 into the new namespaces, born in the cgroup (ns.c's clone_child)
 *           cgroup.procs (v1), uid_map/gid_map from the config, oom_score_adj, then "go"
 *   init    setns into the namespaces to join (user first), unshare(CLONE_NEWCGROUP)
 *           hostname; / private; the rootfs bound on itself (rootfs.c)
 *           the config's mounts in order (/dev: mounts.c's, runc's nodes), linux.devices
 *           the console (pty.c: its master over --console-socket)
 *           a byte to `create` ("h") and wait: create runs the create-time hooks
 *           (prestart, createRuntime, createContainer: runc.c), then "go on"
 *           pivot_root . . (or, --no-pivot, mount --move . / and chroot)
 *           sysctl, maskedPaths and readonlyPaths (mounts.c), root.readonly
 *           umask, rlimits; then become.c: user, caps, no_new_privs,
 *           seccomp, and the gate: a byte to `create` ("ready"), then
 *           open(exec.fifo, O_WRONLY), which blocks until `start` opens it
 *           to read (fifo(7)); execve right after.
 *
 * Unlike run's child, the init has no parent-death signal: `create` exits and
 * the container stays, as the runtime spec wants (podman's conmon reaps it).
 * A failure before the gate prints "mini-docker: ..." and exits 125; create
 * sees the ready pipe close without a byte and undoes what it made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "become.h"
#include "cgroups.h"
#include "mounts.h"
#include "narrate.h"
#include "ns.h"
#include "ocirun.h"
#include "pty.h"
#include "rootfs.h"

/* mkdir -p DST under the new root (cwd), a component at a time, symlinks refused; FILE: the last is a file */
static void make_target(const char *dst, int file)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dst);
	for (char *p = path;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		if (c || !file) {
			mount_point(path, 0755);
		} else {
			int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd < 0)
				child_die("create %s inside the rootfs: %m", path);
			close(fd);
		}
		*p = c;
		if (!c)
			break;
	}
}

/* one entry of the config's "mounts"; DEV: /dev was made whole by mounts.c */
static void oci_mount(const struct oci_config *oc, const struct oci_mount *m, int *dev)
{
	char shell[8192];
	const char *type = m->type ? m->type : "bind";
	if (!strcmp(m->dst, "dev") && !strcmp(type, "tmpfs")) {
		mount_dev(&oc->c); /* runc's /dev: tmpfs, the nodes, pts, shm, mqueue (README: options of these) */
		*dev = 1;
		return;
	}
	if (*dev && (!strcmp(m->dst, "dev/pts") || !strcmp(m->dst, "dev/shm") || !strcmp(m->dst, "dev/mqueue")))
		return;
	if (!strcmp(type, "cgroup") && !strcmp(m->dst, "sys/fs/cgroup")) {
		mount_cgroup(&oc->rc); /* the container's own cgroup, read-only */
		return;
	}
	struct stat st;
	make_target(m->dst, (m->flags & MS_BIND) && stat(m->src, &st) == 0 && !S_ISDIR(st.st_mode));
	if (m->flags & MS_BIND) {
		snprintf(shell, sizeof(shell), "mount --%s %s %s", m->flags & MS_REC ? "rbind" : "bind", m->src, m->dst);
		mount_or_die(m->src, m->dst, NULL, m->flags & (MS_BIND | MS_REC), NULL, shell);
		unsigned long extra = m->flags & ~(MS_BIND | MS_REC);
		struct statvfs sv;
		if (extra && statvfs(m->dst, &sv) == 0) {
			/* a bind takes its flags only from a remount; a user namespace may not clear locked ones */
			extra |= (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
				 (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
			snprintf(shell, sizeof(shell), "mount -o remount,bind,... %s", m->dst);
			mount_or_die(NULL, m->dst, NULL, MS_REMOUNT | MS_BIND | extra, NULL, shell);
		}
	} else {
		snprintf(shell, sizeof(shell), "mount -t %s -o %s %s %s", type, m->data[0] ? m->data : "defaults",
			 m->src ? m->src : type, m->dst);
		mount_or_die(m->src ? m->src : type, m->dst, type, m->flags, m->data[0] ? m->data : NULL, shell);
	}
	if (m->propagation)
		mount_or_die(NULL, m->dst, NULL, m->propagation, NULL, "mount --make-...");
}

/* linux.devices: mknod each (in a user namespace, where mknod is refused, a bind of the host's node) */
static void make_devices(const struct oci_config *oc)
{
	for (int i = 0; i < oc->n_devices; i++) {
		const char *path = oc->devices[i].path;
		char shell[8300], host[4097];
		make_target(path, 1);
		if (oc->c.userns) {
			snprintf(host, sizeof(host), "/%s", path);
			snprintf(shell, sizeof(shell), "mount --bind %s %s", host, path);
			mount_or_die(host, path, NULL, MS_BIND, NULL, shell);
			continue;
		}
		narrate("mknod(\"%s\", 0%o, %u:%u)", "mknod %s ...", path, (unsigned)oc->devices[i].mode,
			major(oc->devices[i].dev), minor(oc->devices[i].dev));
		if (unlink(path) < 0 || mknod(path, oc->devices[i].mode, oc->devices[i].dev) < 0 ||
		    chmod(path, oc->devices[i].mode & 07777) < 0 || chown(path, oc->devices[i].uid, oc->devices[i].gid) < 0)
			child_die("linux.devices: mknod %s: %m", path);
	}
}

/*
 * the namespaces the config names by path: the user namespace first (it owns the
 * others). All are opened before the first setns: joining a mount namespace
 * changes what a path such as /proc/PID/ns/net names (its / and our cwd are its).
 */
static void join_namespaces(const struct oci_config *oc)
{
	int fds[sizeof(oc->joins) / sizeof(oc->joins[0])];
	for (int i = 0; i < oc->n_joins; i++)
		if (oc->joins[i].flag != CLONE_NEWPID && (fds[i] = open(oc->joins[i].path, O_RDONLY | O_CLOEXEC)) < 0)
			child_die("open the namespace %s: %m", oc->joins[i].path);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < oc->n_joins; i++) {
			if ((oc->joins[i].flag == CLONE_NEWUSER) != !pass || oc->joins[i].flag == CLONE_NEWPID)
				continue;
			narrate("setns(\"%s\")", "nsenter --... %s", oc->joins[i].path);
			if (setns(fds[i], oc->joins[i].flag) < 0)
				child_die("join the namespace %s: %m", oc->joins[i].path);
			close(fds[i]);
		}
}

/* after pivot_root: linux.sysctl, as `sysctl -w` (net.ipv4.ip_forward -> /proc/sys/net/ipv4/ip_forward) */
static void sysctls(const struct oci_config *oc)
{
	for (int i = 0; i < oc->n_sysctl; i++) {
		char path[512];
		snprintf(path, sizeof(path), "/proc/sys/%s", oc->sysctl[i][0]);
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		narrate("write(\"%s\", \"%s\")", "sysctl -w %s=%s", path, oc->sysctl[i][1]);
		if (ns_write_file(path, oc->sysctl[i][1]) < 0)
			child_die("sysctl %s=%s: %m", oc->sysctl[i][0], oc->sysctl[i][1]);
	}
}

static void enter_root(const struct oci_config *oc, int no_pivot)
{
	if (no_pivot) {
		/* runc --no-pivot: for a root that cannot be pivoted (an initramfs) */
		mount_or_die(".", "/", NULL, MS_MOVE, NULL, "mount --move . /");
		narrate("chroot(\".\")", "chroot .");
		if (chroot(".") < 0)
			child_die("chroot(%s): %m", oc->c.rootfs);
	} else {
		narrate("pivot_root(\".\", \".\")", "pivot_root . .");
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			child_die("pivot_root(%s): %m (try --no-pivot)", oc->c.rootfs);
		narrate("umount2(\".\", MNT_DETACH)", "umount -l .");
		if (umount2(".", MNT_DETACH) < 0)
			child_die("umount2(old root): %m");
	}
	if (chdir("/") < 0)
		child_die("chdir(/): %m");
	if (oc->rootfs_propagation != (MS_PRIVATE | MS_REC))
		mount_or_die(NULL, "/", NULL, oc->rootfs_propagation, NULL, "mount --make-r... /  # rootfsPropagation");
}

static void init_main(struct oci_config *oc, const struct oci_create *how, int go, int ready)
{
	char byte;
	ssize_t n;
	while ((n = read(go, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(EXIT_ENGINE); /* create failed (it said why) or was killed */
	join_namespaces(oc);
	if (oc->rc.userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		child_die("become root of the user namespace: %m (is 0 in uidMappings and gidMappings?)");
	if (oc->clone_flags & CLONE_NEWCGROUP) {
		narrate("unshare(CLONE_NEWCGROUP)", "unshare --cgroup");
		if (unshare(CLONE_NEWCGROUP) < 0)
			child_die("unshare(CLONE_NEWCGROUP): %m");
	}
	if (oc->rc.timens)
		ns_enter_time(&oc->rc); /* linux.timeOffsets: ns.c's, as run --boottime */
	/* CVE-2019-5736: nothing in the container may open /proc/1/exe, our binary, until execve */
	if (geteuid() == 0 && !oc->rc.userns && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_die("prctl(PR_SET_DUMPABLE, 0): %m");
	if (oc->rc.hostname && *oc->rc.hostname) {
		narrate("sethostname(\"%s\")", "hostname %s", oc->rc.hostname);
		if (sethostname(oc->rc.hostname, strlen(oc->rc.hostname)) < 0)
			child_die("sethostname(%s): %m", oc->rc.hostname);
	}
	if (oc->domainname && *oc->domainname) {
		narrate("setdomainname(\"%s\")", "domainname %s", oc->domainname);
		if (setdomainname(oc->domainname, strlen(oc->domainname)) < 0)
			child_die("setdomainname(%s): %m", oc->domainname);
	}
	struct stat st;
	if (stat("/proc/self/ns/mnt", &st) < 0 || st.st_ino == host_mnt_ns)
		child_die("still in the host's mount namespace: refusing to change its mounts");
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "mount --make-rprivate /");
	rootfs_enter(&oc->c, &oc->rc);
	int dev = 0;
	for (int i = 0; i < oc->n_mounts; i++)
		oci_mount(oc, &oc->mounts[i], &dev);
	make_devices(oc);
	int slave = -1;
	if (oc->terminal)
		slave = pty_child_open(how->console, oc->has_console_size ? &oc->console_size : NULL);
	if (how->console >= 0)
		close(how->console);
	/* the spec's point for the create-time hooks: the mounts made, the root not yet pivoted
	 * (a createContainer hook in our mount namespace sees the host's tree, the rootfs in it) */
	if (how->before_pivot) {
		if (write(ready, "h", 1) != 1)
			_exit(EXIT_ENGINE);
		while ((n = read(go, &byte, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(EXIT_ENGINE); /* a hook failed: create kills us */
	}
	close(go);
	enter_root(oc, how->no_pivot);
	sysctls(oc);
	mask_paths(oc->masked, oc->n_masked, oc->readonly, oc->n_readonly);
	mounts_finish(&oc->rc);
	oci_become(oc, slave, ready, how->fifo);
}

void oci_become(const struct oci_config *oc, int slave, int ready, int gate)
{
	umask(oc->umask);
	for (int i = 0; i < oc->n_rlimits; i++)
		if (setrlimit(oc->rlimits[i].resource, &oc->rlimits[i].limit) < 0)
			child_die("process.rlimits[%d]: setrlimit: %m", i);
	become_command(&oc->rc, &(struct become){
		.argv = oc->rc.argv, .envp = oc->rc.envp, .cwd = oc->rc.cwd, .make_cwd = gate >= 0, /* runc: the init's */
		.interactive = 1, .slave = slave, .pause = "user", .engine = getppid(), .life_line = -1,
		.seccomp = 1, .ids = 1, .uid = oc->uid, .gid = oc->gid, .groups = oc->groups,
		.n_groups = oc->n_groups, .ready = ready, .gate = gate, .preserve_fds = oc->preserve_fds,
	});
}

/* /proc/PID/FILE: the id maps, setgroups, oom_score_adj */
static int write_map(pid_t pid, const char *file, const char *map, struct md_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	narrate("write(\"%s\", \"%s\")", "echo '%2$s' > %1$s", path, map);
	if (ns_write_file(path, map) < 0)
		return md_fail_errno(err, "write %s", path);
	return 0;
}

pid_t oci_create_init(struct oci_config *oc, const struct oci_create *how, struct md_error *err)
{
	int go[2], ready[2];
	struct stat st;
	if (stat("/proc/self/ns/mnt", &st) < 0)
		return md_fail_errno(err, "stat /proc/self/ns/mnt (is /proc mounted?)");
	host_mnt_ns = st.st_ino;
	for (int i = 0; i < oc->n_joins; i++) {
		if (oc->joins[i].flag != CLONE_NEWPID)
			continue;
		/* setns into a pid namespace moves only our children there: the init, next */
		int fd = open(oc->joins[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWPID) < 0) {
			md_fail_errno(err, "join the pid namespace %s", oc->joins[i].path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	if (pipe2(go, O_CLOEXEC) < 0)
		return md_fail_errno(err, "pipe");
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return md_fail_errno(err, "pipe");
	}
	int cgfd = cgroup_clone_fd();
	const char *call;
	pid_t pid = clone_child(oc->clone_flags & ~(unsigned long)CLONE_NEWCGROUP, &cgfd, &call);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		init_main(oc, how, go[0], ready[1]);
	}
	close(go[0]);
	close(ready[1]);
	if (pid < 0) {
		md_fail_errno(err, "%s(namespaces)", call);
		goto out;
	}
	if ((cgfd < 0 && cgroup_add(pid, err) < 0) ||
	    (oc->rc.userns && (write_map(pid, "uid_map", oc->uid_map, err) < 0 ||
			       (geteuid() != 0 && write_map(pid, "setgroups", "deny", err) < 0) ||
			       write_map(pid, "gid_map", oc->gid_map, err) < 0)))
		goto fail;
	/* by the engine, as runc: lowering it takes CAP_SYS_RESOURCE of the host, not the container's */
	char value[16];
	snprintf(value, sizeof(value), "%d", oc->oom_score_adj);
	if (oc->has_oom_score_adj && write_map(pid, "oom_score_adj", value, err) < 0)
		goto fail;
	if (write(go[1], "g", 1) != 1) {
		md_fail_errno(err, "wake the container's init");
		goto fail;
	}
	char byte;
	ssize_t n;
	while ((n = read(ready[0], &byte, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && byte == 'h') {
		/* before pivot_root: create's hooks, then on to the gate */
		if (how->before_pivot(pid, how->arg, err) != 0)
			goto fail;
		if (write(go[1], "c", 1) != 1) {
			md_fail_errno(err, "wake the container's init");
			goto fail;
		}
		while ((n = read(ready[0], &byte, 1)) < 0 && errno == EINTR)
			;
	}
	if (n == 1)
		goto out;
	md_fail(err, "the container's init failed before its command (see its error above)");
fail:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pid = -1;
out:
	close(go[1]);
	close(ready[0]);
	return pid;
}
