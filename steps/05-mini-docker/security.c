/*
 * security.c: the user the command runs as, and what root inside may not do.
 *
 * Root in a container is root on the host's kernel (with --userns, only
 * inside its user namespace). Docker's defaults narrow it down, and so do we,
 * in crun's order, just before execve:
 *   1. the user: -u or the image's User, looked up in the container's own
 *      /etc/passwd and /etc/group (never the host's: CVE-2024-9676), regular
 *      files only and at most 1 MiB (a FIFO or /dev/zero there cannot hang us)
 *   2. no_new_privs: no setuid binary, no file capability gives more back
 *   3. capabilities: Docker's 14 (CapEff 00000000a80425fb) in the bounding,
 *      permitted and effective sets; none inheritable, none ambient;
 *      --cap-add / --cap-drop change the list, --privileged keeps them all
 *   4. seccomp: a filter the kernel runs on every system call: Docker's
 *      default profile, an allow-list (every other call answers EPERM) with
 *      its argument rules (clone without namespace flags, personality, no
 *      AF_VSOCK socket) and the calls a kept capability lets in (mount,
 *      unshare, setns with CAP_SYS_ADMIN, ptrace's kin with CAP_SYS_PTRACE
 *      ...); clone3 answers ENOSYS, so libc falls back to clone, whose flags
 *      a filter can see (clone3 passes them in memory).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container.h"
#include "narrate.h"
#include "security.h"
#include "util.h"

#define NCAPS 64
static int caps[NCAPS]; /* 1: the container keeps this capability */

static const cap_value_t docker_default[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
	CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

/* the Ith of Docker's default capabilities as the OCI runtime spec names it ("CAP_CHOWN"); NULL after */
const char *caps_default_name(size_t i, char *buf, size_t len)
{
	if (i >= sizeof(docker_default) / sizeof(docker_default[0]))
		return NULL;
	char *name = cap_to_name(docker_default[i]);
	snprintf(buf, len, "%s", name ? name : "?");
	cap_free(name);
	for (char *p = buf; *p; p++)
		*p = toupper((unsigned char)*p);
	return buf;
}

/*
 * "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> CAP_NET_ADMIN; "ALL" -> -2; else -1.
 * Exactly a name: cap_from_name() reads a prefix ("sys_admin2", "sys_admin,net_admin"
 * and "SYS_ADMIN " gave CAP_SYS_ADMIN), so the number must name back to what was given.
 */
static int cap_number(const char *name)
{
	char buf[64];
	cap_value_t v;
	if (!strcasecmp(name, "all"))
		return -2;
	if (!strncasecmp(name, "cap_", 4))
		name += 4;
	if (snprintf(buf, sizeof(buf), "cap_%s", name) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_')
			return -1;
		*p = tolower((unsigned char)*p);
	}
	if (cap_from_name(buf, &v) < 0 || v < 0 || v >= NCAPS)
		return -1;
	char *back = cap_to_name(v);
	int exact = back && !strcmp(back, buf);
	cap_free(back);
	return exact ? (int)v : -1;
}

int caps_parse(const struct run_config *rc, struct md_error *err)
{
	int last = cap_max_bits();
	memset(caps, 0, sizeof(caps));
	for (size_t i = 0; i < sizeof(docker_default) / sizeof(docker_default[0]); i++)
		caps[docker_default[i]] = 1;
	for (int i = 0; i < rc->n_cap_drop; i++)
		if (cap_number(rc->cap_drop[i]) == -2)
			memset(caps, 0, sizeof(caps));
	for (int i = 0; i < rc->n_cap_add; i++) {
		int c = cap_number(rc->cap_add[i]);
		if (c == -1)
			return md_fail(err, "--cap-add %s: no such capability (see capabilities(7))", rc->cap_add[i]);
		for (int k = 0; k < last && k < NCAPS; k++)
			if (c == -2 || k == c)
				caps[k] = 1;
	}
	for (int i = 0; i < rc->n_cap_drop; i++) {
		int c = cap_number(rc->cap_drop[i]);
		if (c == -1)
			return md_fail(err, "--cap-drop %s: no such capability (see capabilities(7))", rc->cap_drop[i]);
		if (c >= 0)
			caps[c] = 0;
	}
	if (rc->privileged)
		for (int k = 0; k < last && k < NCAPS; k++)
			caps[k] = 1;
	/* nobody can give what it does not have: our own bounding set caps theirs */
	for (int k = 0; k < NCAPS; k++)
		if (caps[k] && (k >= last || cap_get_bound(k) != 1))
			caps[k] = 0;
	return 0;
}

/*
 * mini-runc: an OCI config names each of the five sets itself (capabilities(7)):
 * SETS[s][k] is 1 when capability k is in set s; caps[] is then the bounding set.
 */
static int oci_caps;
static char oci_sets[CAPS_SETS][NCAPS];

void caps_oci_begin(void)
{
	oci_caps = 1;
	memset(caps, 0, sizeof(caps));
	memset(oci_sets, 0, sizeof(oci_sets));
}

int caps_oci_add(int set, const char *name, struct md_error *err)
{
	int c = cap_number(name);
	if (c < 0 || set < 0 || set >= CAPS_SETS)
		return md_fail(err, "%s: no such capability (see capabilities(7))", name);
	oci_sets[set][c] = 1;
	if (set == CAPS_BOUNDING)
		caps[c] = 1;
	return 0;
}

/* after setuid (PR_SET_KEEPCAPS kept the permitted set of a uid other than 0): as runc sets them */
static void oci_capset(void)
{
	static const cap_flag_t flags[] = {[CAPS_EFFECTIVE] = CAP_EFFECTIVE, [CAPS_PERMITTED] = CAP_PERMITTED,
					   [CAPS_INHERITABLE] = CAP_INHERITABLE};
	cap_t c = cap_init();
	for (int s = CAPS_EFFECTIVE; s <= CAPS_INHERITABLE; s++)
		for (cap_value_t k = 0; k < NCAPS; k++)
			if (oci_sets[s][k] && cap_set_flag(c, flags[s], 1, &k, CAP_SET) < 0)
				child_die("cap_set_flag: %m");
	narrate("capset(effective, permitted, inheritable)", "capsh --caps=...  # process.capabilities");
	if (cap_set_proc(c) < 0)
		child_die("capset (process.capabilities: is effective within permitted?): %m");
	cap_free(c);
	for (int k = 0; k < NCAPS; k++)
		if (oci_sets[CAPS_AMBIENT][k] && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, k, 0, 0) < 0)
			child_die("raise ambient capability %d (it must be permitted and inheritable): %m", k);
}

const char *caps_effective_hex(void)
{
	static char hex[17];
	unsigned long long m = 0;
	for (int k = 0; k < NCAPS; k++)
		if (caps[k])
			m |= 1ULL << k;
	snprintf(hex, sizeof(hex), "%016llx", m);
	return hex;
}

/* A file of the container's /etc: a regular file, at most 1 MiB, or NULL. */
/* etc/NAME of the root ROOTFD (AT_FDCWD: "/", the container's once pivoted), resolved inside it */
static char *read_etc(int rootfd, const char *name)
{
	char path[64];
	snprintf(path, sizeof(path), "%setc/%s", rootfd == AT_FDCWD ? "/" : "", name);
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = rootfd == AT_FDCWD ? open(path, (int)how.flags) : (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		close(fd);
		return NULL;
	}
	char *buf = xcalloc(1, st.st_size + 1);
	ssize_t n, got = 0;
	while (got < st.st_size && (n = read(fd, buf + got, st.st_size - got)) > 0)
		got += n;
	buf[got] = 0;
	close(fd);
	return buf;
}

static int numeric(const char *s, unsigned long *out)
{
	char *end;
	if (!*s || !isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*end && !errno && *out < 0xffffffffUL;
}

/* Field F (0-based) of the ':'-separated LINE, copied into OUT. */
static void field(const char *line, int f, char *out, size_t len)
{
	while (f-- > 0 && line)
		line = strchr(line, ':') ? strchr(line, ':') + 1 : NULL;
	size_t n = line ? strcspn(line, ":\n") : 0;
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), line ? line : "");
}

/* The line of FILE whose field KEYF is KEY, or NULL. */
static const char *lookup(const char *file, int keyf, const char *key)
{
	char v[256];
	for (const char *line = file; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		field(line, keyf, v, sizeof(v));
		if (!strcmp(v, key))
			return line;
	}
	return NULL;
}

int user_lookup(int rootfd, const char *user, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home,
		char *why, size_t whylen)
{
	char spec[256], name[256] = "", v[256];
	unsigned long n;
	snprintf(spec, sizeof(spec), "%s", user && *user ? user : "0");
	char *group = strchr(spec, ':');
	if (group)
		*group++ = 0;
	char *passwd = read_etc(rootfd, "passwd"), *grp = read_etc(rootfd, "group");
	int rc = 0;
	const char *line;
	*n_groups = 0;
	if (numeric(spec, &n)) {
		*uid = n;
		*gid = 0;
		snprintf(v, sizeof(v), "%lu", n);
		if ((line = lookup(passwd, 2, v))) {
			field(line, 0, name, sizeof(name));
			field(line, 3, v, sizeof(v));
			*gid = atoi(v);
		}
	} else {
		if (!(line = lookup(passwd, 0, spec))) {
			snprintf(why, whylen, "unable to find user %s: no matching entries in the container's /etc/passwd", spec);
			rc = -1;
			goto out;
		}
		snprintf(name, sizeof(name), "%s", spec);
		field(line, 2, v, sizeof(v));
		*uid = atoi(v);
		field(line, 3, v, sizeof(v));
		*gid = atoi(v);
	}
	if (line) {
		field(line, 5, v, sizeof(v));
		*home = xstrdup(v);
	}
	if (group) {
		if (numeric(group, &n))
			*gid = n;
		else if ((line = lookup(grp, 0, group))) {
			field(line, 2, v, sizeof(v));
			*gid = atoi(v);
		} else {
			snprintf(why, whylen, "unable to find group %s: no matching entries in the container's /etc/group", group);
			rc = -1;
			goto out;
		}
	} else if (*name) {
		/* the user's supplementary groups: /etc/group lines listing the name */
		for (line = grp; line && *line && *n_groups < 64; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			char members[1024];
			field(line, 3, members, sizeof(members));
			for (char *m = strtok(members, ","); m; m = strtok(NULL, ","))
				if (!strcmp(m, name)) {
					field(line, 2, v, sizeof(v));
					groups[(*n_groups)++] = atoi(v);
					break;
				}
		}
	}
	/* the primary group is one of them too: /etc/group need not list the user in it, and a
	 * process whose groups lack its own gid can be denied by a file's group bits where it
	 * should pass (or pass a negative group ACL: CVE-2022-36109, fixed so in Docker 20.10.18) */
	int has = 0;
	for (int k = 0; k < *n_groups; k++)
		has |= groups[k] == *gid;
	if (!has && *n_groups < 64)
		groups[(*n_groups)++] = *gid;
out:
	free(passwd);
	free(grp);
	return rc;
}

void user_resolve(const struct run_config *rc, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home)
{
	char why[600];
	if (user_lookup(AT_FDCWD, rc->user, uid, gid, groups, n_groups, home, why, sizeof(why)) < 0)
		child_die("%s", why);
}

void security_apply(const struct run_config *rc, uid_t uid, gid_t gid, const gid_t *groups, int n_groups)
{
	int last = cap_max_bits();
	/* EXERCISE 05.4: bound the capabilities: drop from the bounding set every one we do not keep
	 * hint: the bounding set caps what any later exec can ever get back
	 * more: caps[k] is 1 for the capabilities the container keeps (Docker's 14, --cap-add/--cap-drop):
	 * more: for each k below last, cap_drop_bound(k) (prctl(PR_CAPBSET_DROP, k)) those not kept; EINVAL
	 * more: means the kernel does not know k: skip it. Narrate it first, as the code around does
	 * tests: 05-run
	 * stub: (void)last; child_die("TODO 05.4: drop the capabilities the container does not keep");
	 */
	/* the bounding set first: it needs CAP_SETPCAP, which we still have */
	narrate("prctl(PR_CAPBSET_DROP, ...)", "capsh --drop=...  # keep %s", caps_effective_hex());
	for (int k = 0; k < last && k < NCAPS; k++)
		if (!caps[k] && cap_drop_bound(k) < 0 && errno != EINVAL)
			child_die("drop capability %d from the bounding set: %m", k);
	/* END EXERCISE */
	if (oci_caps && uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		child_die("prctl(PR_SET_KEEPCAPS): %m");
	narrate("setgroups, setgid(%u), setuid(%u)", "setpriv --regid=%u --reuid=%u --init-groups", (unsigned)gid,
		(unsigned)uid);
	if (setgroups(n_groups, groups) < 0 && !(errno == EPERM && rc->userns))
		child_die("setgroups: %m");
	if (setresgid(gid, gid, gid) < 0)
		child_die("setgid(%u): %m%s", (unsigned)gid, rc->userns ? " (rootless: only root is mapped)" : "");
	/* a non-root uid loses every capability here, as in Docker */
	if (setresuid(uid, uid, uid) < 0)
		child_die("setuid(%u): %m%s", (unsigned)uid, rc->userns ? " (rootless: only root is mapped)" : "");
	if (nnp_on(rc)) {
		narrate("prctl(PR_SET_NO_NEW_PRIVS, 1)", "setpriv --no-new-privs");
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			child_die("prctl(PR_SET_NO_NEW_PRIVS): %m");
	}
	cap_reset_ambient();
	if (oci_caps) {
		oci_capset();
		return;
	}
	if (uid != 0)
		return;
	cap_t c = cap_init(); /* all clear: inheritable stays empty */
	cap_value_t list[NCAPS];
	int n = 0;
	for (int k = 0; k < last && k < NCAPS; k++)
		if (caps[k])
			list[n++] = k;
	if (n && (cap_set_flag(c, CAP_PERMITTED, n, list, CAP_SET) < 0 ||
		  cap_set_flag(c, CAP_EFFECTIVE, n, list, CAP_SET) < 0))
		child_die("cap_set_flag: %m");
	narrate("capset(permitted = effective = %s)", "capsh --caps=...  # CapEff %s", caps_effective_hex());
	if (cap_set_proc(c) < 0)
		child_die("capset: %m");
	cap_free(c);
}

/*
 * The descriptors we were started with (a shell's `3<file`, a caller's socket)
 * lead to host files: none above stderr may reach the container, as runc
 * (--preserve-fds 0). Each becomes close-on-exec, so execve drops them all while
 * the engine's own (run -d's exec pipe: EOF at execve) work until then.
 * close_range(2) with CLOSE_RANGE_CLOEXEC is Linux 5.11; before, one at a time.
 */
void close_inherited_fds(int keep)
{
	for (int fd = 3; fd < 3 + keep; fd++)
		fcntl(fd, F_SETFD, 0);
	narrate("close_range(%d, ~0U, CLOSE_RANGE_CLOEXEC)", "# no descriptor of the caller's above %d goes in", 3 + keep,
		2 + keep);
	if (syscall(SYS_close_range, 3 + keep, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0)
		return;
	struct rlimit rl;
	int top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1 << 20 ? (int)rl.rlim_cur : 1 << 20;
	for (int fd = 3 + keep; fd < top; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Docker's default seccomp profile (moby profiles/seccomp/default.json), x86 and
 * arm: an allow-list. What is not on it answers EPERM (its defaultErrnoRet), so a
 * system call added to the kernel after the list was written is refused too.
 */
static const char *const allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod",
	"chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
	"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
	"connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
	"execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
	"fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
	"fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
	"fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
	"futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
	"getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
	"getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
	"getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
	"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
	"io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
	"io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
	"lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore",
	"mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
	"mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	"munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
	"openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
	"pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
	"process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
	"readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	"remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
	"sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
	"sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
	"semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
	"setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
	"setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
	"set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt",
	"shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
	"socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
	"timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	"tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime",
	"utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
	"writev",
	/* Linux 4.8 and later: ptrace no longer gets around seccomp */
	"process_vm_readv", "process_vm_writev", "ptrace",
	/* per architecture (a name this one lacks resolves to nothing and is skipped) */
	"arch_prctl", "modify_ldt", "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
	"cacheflush", "set_tls",
};

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Docker's additions for a capability the container keeps: group, then the calls it lets in. */
static const struct {
	int cap;
	const char *names[24];
} allowed_with[] = {
	{CAP_SYS_ADMIN, {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
			 "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
			 "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
			 "umount2", "unshare"}},
	{CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
	{CAP_SYS_BOOT, {"reboot"}},
	{CAP_SYS_CHROOT, {"chroot"}},
	{CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module"}},
	{CAP_SYS_PACCT, {"acct"}},
	{CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
	{CAP_SYS_RAWIO, {"iopl", "ioperm"}},
	{CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
	{CAP_SYS_TTY_CONFIG, {"vhangup"}},
	{CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
	{CAP_SYSLOG, {"syslog"}},
	{CAP_BPF, {"bpf"}},
	{CAP_PERFMON, {"perf_event_open"}},
};

/* allow NAME (with the argument rule, if any); a name this kernel or libseccomp lacks is skipped */
static int allow(scmp_filter_ctx ctx, const char *name, unsigned n_args, const struct scmp_arg_cmp *arg)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n_args, arg);
	return r == -EEXIST ? 0 : r;
}

int nnp_on(const struct run_config *rc)
{
	return rc->nnp ? rc->nnp > 0 : !rc->privileged;
}

/*
 * Docker's profile as libseccomp rules: the allow-list, the capability-dependent
 * additions, the argument rules. Returns libseccomp's error (< 0) or 0.
 */
static int seccomp_rules(scmp_filter_ctx ctx)
{
	int r = 0;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) { /* 32-bit programs too, not killed */
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && r >= 0; i++)
		r = allow(ctx, allowed[i], 0, NULL);
	for (size_t g = 0; g < sizeof(allowed_with) / sizeof(allowed_with[0]) && r >= 0; g++)
		for (int i = 0; i < 24 && allowed_with[g].names[i] && caps[allowed_with[g].cap] && r >= 0; i++)
			r = allow(ctx, allowed_with[g].names[i], 0, NULL);
	/* personality(2): Linux, its 32-bit flavour, without address randomisation as Docker lists, and the query */
	static const unsigned long personas[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]) && r >= 0; i++)
		r = allow(ctx, "personality", 1, &SCMP_A0(SCMP_CMP_EQ, personas[i], 0));
	/* no sockets to the hypervisor (AF_VSOCK, 40) */
	if (r >= 0)
		r = allow(ctx, "socket", 1, &SCMP_A0(SCMP_CMP_NE, 40, 0));
	if (!caps[CAP_SYS_ADMIN] && r >= 0) {
		/* clone(2) without a namespace flag (CLONE_NEWNS ... CLONE_NEWNET, CLONE_NEWCGROUP: 0x7e020000) */
		r = allow(ctx, "clone", 1, &SCMP_A0(SCMP_CMP_MASKED_EQ, 0x7e020000UL, 0));
		/* clone3 keeps its flags in memory, out of a filter's sight: "not here", libc uses clone */
		if (r >= 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	}
	return r;
}

/*
 * Compiling those rules costs about 5 ms a CPU architecture (x86-64, and its 32-bit
 * x86 and x32 programs: about 17 ms), at every run: more than the rest of a start. The
 * program only depends on the rules and the capabilities kept, so the engine compiles
 * it once into ROOT/seccomp/KEY.bpf (KEY: a hash of what goes in) and each run loads
 * that, as a cache; the child gets it in memory before pivot_root hides the store.
 */
static struct sock_filter *prepared;
static unsigned short n_prepared;

/* FNV-1a over what the program is made of: a cache key, not a defence (the store is 0700) */
static uint64_t rules_key(void)
{
	uint64_t h = 1469598103934665603ULL;
	char buf[64];
#define MIX(s) for (const char *p_ = (s); *p_; p_++) h = (h ^ (unsigned char)*p_) * 1099511628211ULL
	MIX("mini-docker seccomp v1");
	snprintf(buf, sizeof(buf), " arch %u", seccomp_arch_native());
	MIX(buf);
	for (int k = 0; k < NCAPS; k++)
		MIX(caps[k] ? "1" : "0");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		MIX(allowed[i]);
	for (size_t g = 0; g < sizeof(allowed_with) / sizeof(allowed_with[0]); g++)
		for (int i = 0; i < 24 && allowed_with[g].names[i]; i++)
			MIX(allowed_with[g].names[i]);
#undef MIX
	return h;
}

/* a compiled program read back: a whole number of instructions, 1 to BPF_MAXINSNS of them */
int seccomp_take_program(const char *buf, size_t len)
{
	if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -1;
	prepared = xcalloc(1, len);
	memcpy(prepared, buf, len);
	n_prepared = len / sizeof(struct sock_filter);
	return 0;
}

int seccomp_prepare(const struct run_config *rc, struct md_error *err)
{
	if (rc->privileged || rc->no_seccomp || prepared)
		return 0;
	char *dir = xasprintf("%s/seccomp", rc->o->root);
	char *path = xasprintf("%s/%016llx.bpf", dir, (unsigned long long)rules_key());
	char *buf = NULL, *tmp = NULL;
	size_t len;
	struct md_error none;
	int rc_ = -1, fd = -1;
	if (read_file(path, 1 << 20, &buf, &len, &none) == 0 && seccomp_take_program(buf, len) == 0) {
		narrate("the seccomp program compiled before: %s", "# docker's profile, from the cache: %s", path);
		rc_ = 0;
		goto out;
	}
	/* compile it: libseccomp writes the program (seccomp_export_bpf), we keep it */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx) {
		md_fail(err, "seccomp_init: out of memory");
		goto out;
	}
	int r = seccomp_rules(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		md_fail(err, "seccomp rules: %s", strerror(-r));
		goto out;
	}
	tmp = xasprintf("%s/.%d.bpf", dir, (int)getpid());
	if (mkdir_p(dir, 0700, err) < 0 || (fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (r = seccomp_export_bpf(ctx, fd)) < 0) {
		seccomp_release(ctx);
		if (fd < 0)
			md_fail_errno(err, "%s", tmp);
		else
			md_fail(err, "seccomp_export_bpf: %s", strerror(-r));
		goto out;
	}
	seccomp_release(ctx);
	narrate("compile docker's seccomp profile into %s", "# once: later runs load it", path);
	free(buf); /* a damaged cache file's content, read above */
	buf = NULL;
	if (read_file(tmp, 1 << 20, &buf, &len, err) < 0)
		goto out;
	if (seccomp_take_program(buf, len) < 0) {
		md_fail(err, "libseccomp wrote %zu bytes into %s: not a program", len, tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		md_fail_errno(err, "rename %s", path);
		goto out;
	}
	rc_ = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(buf);
	free(tmp);
	free(path);
	free(dir);
	return rc_;
}

void seccomp_apply(const struct run_config *rc)
{
	if (rc->privileged || rc->no_seccomp) {
		narrate("no seccomp filter", "# --%s", rc->privileged ? "privileged" : "security-opt seccomp=unconfined");
		return;
	}
	narrate("seccomp(SECCOMP_SET_MODE_FILTER, ...)", "# docker's default seccomp profile: an allow-list, the rest -> EPERM");
	/* with no_new_privs the kernel lets anyone load a filter; without, only CAP_SYS_ADMIN (become.c) */
	if (nnp_on(rc) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_die("prctl(PR_SET_NO_NEW_PRIVS): %m");
	if (prepared) {
		struct sock_fprog prog = {.len = n_prepared, .filter = prepared};
		/* seccomp(2) is Linux 3.17; before it (and under valgrind, which lacks it) the prctl */
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 &&
		    (errno != ENOSYS || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0))
			child_die("seccomp(SECCOMP_SET_MODE_FILTER): %m");
		return;
	}
	/* not prepared (a caller that could not reach the store): compile it here */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r;
	if (!ctx)
		child_die("seccomp_init: out of memory");
	if ((r = seccomp_rules(ctx)) < 0 || (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		child_die("seccomp rules: %s", strerror(-r));
	if ((r = seccomp_load(ctx)) < 0)
		child_die("seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
}
