/*
 * ns.c: the container process, from clone(2) to execve(2).
 *
 * The engine clones one child into new PID, mount, UTS, IPC, network (and,
 * rootless or with --userns, user) namespaces, born in its cgroup
 * (CLONE_INTO_CGROUP). The child waits on a pipe until the engine has written
 * its uid_map and made its veth, then, in this order (runc and crun's):
 *
 *   cgroup namespace, time namespace, hostname, network inside
 *   mount --make-rprivate /; the rootfs (overlay or bind); /proc /dev /sys;
 *   volumes; masked paths; the pty; pivot_root . .; umount -l .
 *   --read-only; the user from /etc/passwd inside; WorkingDir; Env
 *   capabilities and no_new_privs; --init; seccomp; execve
 *
 * A failure in the child prints "mini-docker: ..." and exits 125; the engine
 * then removes what it made (cgroup, veth, and with --rm the container dir).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "become.h"
#include "bridge.h"
#include "cgroups.h"
#include "container.h"
#include "mounts.h"
#include "narrate.h"
#include "net.h"
#include "ns.h"
#include "pty.h"
#include "record.h"
#include "rootfs.h"
#include "signals.h"
#include "state.h"
#include "util.h"

ino_t host_mnt_ns;
static pid_t engine;		/* the process that clones the container (run, or run -d's monitor) */
/*
 * The write end of the sync pipe stays open in the engine until it exits: the
 * child's read end then sees EOF. The kernel closes a dying process's files
 * before it sends its children their parent-death signal, so a child that set
 * PR_SET_PDEATHSIG and then finds no EOF is sure to get the signal if the engine dies.
 */
static int life_line = -1;
static int engine_is_root; /* not rootless: the engine's binary is a host root's */

/* copy of step 03's write_file() (steps/03-namespaces/box.c); scripts/check-copies */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = strlen(text);
	int rc = write(fd, text, len) == len ? 0 : -1;
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int ns_write_file(const char *path, const char *text)
{
	return write_text(path, text);
}

/* One line of /proc/self/timens_offsets, "CLOCK SECONDS 0", narrated as the echo that writes it. */
/* copy of step 03's write_offset() (steps/03-namespaces/box.c); scripts/check-copies */
static void write_offset(const char *clock, long long seconds)
{
	char line[64];
	snprintf(line, sizeof(line), "%s %lld 0", clock, seconds);
	narrate("write(\"/proc/self/timens_offsets\", \"%s\")", "echo '%s' > /proc/self/timens_offsets", line);
	if (write_text("/proc/self/timens_offsets", line) < 0)
		child_die("write %s to /proc/self/timens_offsets: %m", line);
}

/* unshare -T --boottime N: only our children enter it, so we setns into it ourselves (step 03) */
/* copy of step 03's enter_time_namespace() (steps/03-namespaces/box.c); scripts/check-copies */
static void enter_time_namespace(const struct run_config *rc)
{
	narrate("unshare(CLONE_NEWTIME)", "unshare --time");
	if (unshare(CLONE_NEWTIME) < 0)
		child_die("unshare(CLONE_NEWTIME): %m%s",
			  errno == EINVAL ? " (time namespaces need Linux 5.6 with CONFIG_TIME_NS)" : "");
	/* only the clocks asked for: the others keep the host's time */
	if (rc->monotonic_offset)
		write_offset("monotonic", rc->monotonic_offset);
	if (rc->boottime_offset)
		write_offset("boottime", rc->boottime_offset);
	narrate("setns(time_for_children, CLONE_NEWTIME)", "nsenter --time=/proc/self/ns/time_for_children");
	int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
		child_die("setns(time_for_children): %m");
	close(fd);
}

void ns_enter_time(const struct run_config *rc)
{
	enter_time_namespace(rc);
}

static void child_main(struct container *c, struct run_config *rc, int sync_fd, int sock)
{
	struct net_info ni;
	ssize_t n;
	signals_child(); /* the engine's handlers and blocked signals are not the command's */
	/* if the engine dies, even of SIGKILL, we die too: and with PID 1 the whole namespace */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while ((n = read(sync_fd, &ni, sizeof(ni))) < 0 && errno == EINTR)
		;
	if (n != sizeof(ni))
		_exit(EXIT_ENGINE); /* the engine failed (it said why) or was killed */

	narrate("unshare(CLONE_NEWCGROUP)", "unshare --cgroup");
	if (unshare(CLONE_NEWCGROUP) < 0)
		child_die("unshare(CLONE_NEWCGROUP): %m");
	if (rc->timens)
		enter_time_namespace(rc);
	/* an exec may join as soon as we run: until execve, nothing in here may trace us or open
	 * /proc/1/exe, the engine's binary (CVE-2019-5736; --init keeps it for good). Rootless: the
	 * binary is not ours to write, and a non-dumpable process's /proc files would be the host
	 * root's, out of our own exec's reach. */
	if (engine_is_root && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_die("prctl(PR_SET_DUMPABLE, 0): %m");
	narrate("sethostname(\"%s\")", "hostname %s", rc->hostname);
	if (sethostname(rc->hostname, strlen(rc->hostname)) < 0)
		child_die("sethostname(%s): %m", rc->hostname);
	if (rc->network != NET_HOST) {
		net_setup_child(rc, &ni);
		/* any group may open ICMP echo sockets, as Docker sets it: ping without CAP_NET_RAW
		 * (a sysctl of this network namespace only; none of the host's) */
		narrate("write(\"/proc/sys/net/ipv4/ping_group_range\", \"0 2147483647\")",
			"sysctl -w net.ipv4.ping_group_range='0 2147483647'");
		(void)write_text("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
		/* (rootless: EINVAL, the gids are not mapped in our user namespace; ping stays root's) */
	}

	struct stat st;
	if (stat("/proc/self/ns/mnt", &st) < 0 || st.st_ino == host_mnt_ns)
		child_die("still in the host's mount namespace: refusing to change its mounts");
	/* our mounts must not propagate to the host (systemd makes "/" shared) */
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "mount --make-rprivate /");
	rootfs_enter(c, rc);
	mounts_setup(c, rc);
	test_pause("mounts", engine);
	int slave = rc->tty ? pty_child_open(sock, rc->tty_size.ws_row ? &rc->tty_size : NULL) : -1;
	if (sock >= 0)
		close(sock);

	narrate("pivot_root(\".\", \".\")", "pivot_root . .");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_die("pivot_root(%s): %m", c->rootfs);
	narrate("umount2(\".\", MNT_DETACH)", "umount -l .");
	if (umount2(".", MNT_DETACH) < 0)
		child_die("umount2(old root): %m");
	if (chdir("/") < 0)
		child_die("chdir(/): %m");
	mounts_finish(rc);

	/* as whom, where, with what: from inside the container's own files (become.c) */
	become_command(rc, &(struct become){
		.argv = rc->argv, .envp = rc->envp, .cwd = rc->cwd, .make_cwd = 1, .hostname = rc->hostname,
		.interactive = rc->interactive, .slave = slave, .pause = "user", .engine = engine,
		.life_line = sync_fd, .seccomp = 1, .init = rc->init, .ready = -1, .gate = -1,
	});
}

/* copy of step 04's namespace_flags() (steps/04-netns/box.c); scripts/check-copies */
static unsigned long namespace_flags(const struct run_config *rc)
{
	static const struct { unsigned long flag; const char *name, *shell; } namespaces[] = {
		{CLONE_NEWUSER, "CLONE_NEWUSER", "unshare --user --map-root-user"},
		{CLONE_NEWPID, "CLONE_NEWPID", "unshare --pid --fork"},
		{CLONE_NEWNS, "CLONE_NEWNS", "unshare --mount"},
		{CLONE_NEWUTS, "CLONE_NEWUTS", "unshare --uts"},
		{CLONE_NEWIPC, "CLONE_NEWIPC", "unshare --ipc"},
		{CLONE_NEWNET, "CLONE_NEWNET", "unshare --net"},
	};
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	if (rc->userns)
		flags |= CLONE_NEWUSER;
	if (rc->network != NET_HOST)
		flags |= CLONE_NEWNET;
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		if (flags & namespaces[i].flag)
			narrate("clone3(%s)%.0s", "%.0s%s", namespaces[i].name, namespaces[i].shell);
	return flags;
}

/* map root inside to us outside, as unshare --map-root-user (step 03) */
/* copy of step 03's write_id_maps() (steps/03-namespaces/box.c); scripts/check-copies */
static int write_id_maps(pid_t pid, struct md_error *err)
{
	char path[64], map[64];
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	snprintf(map, sizeof(map), "0 %d 1", geteuid());
	narrate("write(\"%s\", \"%s\")", "echo '%2$s' > %1$s", path, map);
	if (write_text(path, map) < 0)
		return md_fail_errno(err, "write %s", path);
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		narrate("write(\"%s\", \"deny\")", "echo deny > %s", path);
		if (write_text(path, "deny") < 0)
			return md_fail_errno(err, "write %s", path);
	}
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	snprintf(map, sizeof(map), "0 %d 1", getegid());
	narrate("write(\"%s\", \"%s\")", "echo '%2$s' > %1$s", path, map);
	if (write_text(path, map) < 0)
		return md_fail_errno(err, "write %s", path);
	return 0;
}

/*
 * clone3(2) into FLAGS' namespaces, born in the cgroup *CGFD (v2), with the
 * default signal handlers; on older kernels without those two, then clone(2)
 * where there is no clone3 (Linux < 5.3, valgrind): *CGFD becomes -1 when the
 * child is not in its cgroup yet (cgroup_add does it). *HOW names the call.
 */
pid_t clone_child(unsigned long flags, int *cgfd, const char **how)
{
	/* CLONE_CLEAR_SIGHAND (Linux 5.5): born with default handlers, never running the engine's */
	struct clone_args args = {.flags = flags | CLONE_CLEAR_SIGHAND, .exit_signal = SIGCHLD};
	if (*cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = *cgfd;
		narrate("clone3(CLONE_INTO_CGROUP)", "(born in its cgroup)");
	}
	fflush(stdout);
	fflush(stderr);
	*how = "clone3";
	signals_open(1); /* the child starts with the caller's mask, not the engine's held signals */
	pid_t pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && (errno == E2BIG || errno == EINVAL)) { /* an older kernel: without both */
		args.flags &= ~(unsigned long)(CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND);
		*cgfd = -1;
		pid = syscall(SYS_clone3, &args, sizeof(args));
	}
	if (pid < 0 && errno == ENOSYS) {
		/* no clone3: clone(2) as fork does, then cgroup_add */
		narrate("clone(namespaces | SIGCHLD)", "(no clone3 here: clone, then into its cgroup)");
		*cgfd = -1;
		*how = "clone";
		pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	}
	if (pid != 0) {
		int e = errno;
		signals_open(0);
		errno = e;
	}
	return pid;
}

/*
 * The engine's side of the handshake with its child, in order: clone, the
 * cgroup (v1), the id maps, the network, the record, then "go" on the sync
 * pipe, and the pty's master back (-t). One function so that the order, and
 * each failure's cleanup (kill the child, remove the veth), read top to bottom.
 */
pid_t ns_start(struct container *c, struct run_config *rc, struct md_error *err)
{
	int sync_pipe[2], sock[2] = {-1, -1};
	struct stat st;
	struct net_info ni = {.slot = -1};
	c->master = -1;
	if (stat("/proc/self/ns/mnt", &st) < 0)
		return md_fail_errno(err, "stat /proc/self/ns/mnt (is /proc mounted?)");
	host_mnt_ns = st.st_ino;
	if (pipe2(sync_pipe, O_CLOEXEC) < 0)
		return md_fail_errno(err, "pipe");
	if (rc->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
		return md_fail_errno(err, "socketpair");

	engine = getpid();
	engine_is_root = geteuid() == 0;
	int cgfd = cgroup_clone_fd();
	const char *how;
	pid_t pid = clone_child(namespace_flags(rc), &cgfd, &how);
	if (pid < 0) {
		md_fail_errno(err, "%s(namespaces)", how);
		if (errno == EPERM || errno == ENOSPC || errno == EUSERS)
			md_context(err, "user namespaces disabled? (sysctl user.max_user_namespaces, "
					"kernel.unprivileged_userns_clone)");
		goto fail_early;
	}
	if (pid == 0) {
		close(sync_pipe[1]);
		if (sock[0] >= 0)
			close(sock[0]);
		child_main(c, rc, sync_pipe[0], sock[1]);
	}
	c->pid = pid;
	close(sync_pipe[0]);
	if (sock[1] >= 0)
		close(sock[1]);
	test_pause("cloned", engine);
	if (cgfd < 0 && cgroup_add(pid, err) < 0)
		goto fail;
	if (rc->userns && write_id_maps(pid, err) < 0)
		goto fail;
	if (rc->network == NET_VETH && net_setup_host(rc, pid, &ni, err) < 0)
		goto fail;
	if (rc->network == NET_BRIDGE && bridge_attach(c, rc, pid, err) < 0)
		goto fail;
	test_pause("network", engine);
	char num[32], start[32], now[40];
	snprintf(num, sizeof(num), "%d", pid);
	proc_start_time(pid, start, sizeof(start));
	time_now(now, sizeof(now));
	if (container_state(c, err, "status", "running", "pid", num, "pid_start", start, "started_at", now, "cgroups",
			    cgroup_dirs(), "veth", ni.slot >= 0 ? ni.host_end : "", NULL) < 0)
		goto fail;
	/* go: the child reads this (or EOF if we died) */
	if (write(sync_pipe[1], &ni, sizeof(ni)) != sizeof(ni)) {
		md_fail_errno(err, "wake the container");
		goto fail;
	}
	life_line = sync_pipe[1]; /* open until we exit (O_CLOEXEC: no command inherits it) */
	if (rc->tty) {
		c->master = pty_receive(sock[0], err);
		close(sock[0]);
		if (c->master < 0)
			goto fail_killed;
	}
	return pid;
fail:
	close(sync_pipe[1]);
	if (sock[0] >= 0)
		close(sock[0]);
fail_killed:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (ni.slot >= 0)
		net_remove(ni.host_end);
	return -1;
fail_early:
	close(sync_pipe[0]);
	close(sync_pipe[1]);
	if (sock[0] >= 0) {
		close(sock[0]);
		close(sock[1]);
	}
	return -1;
}
