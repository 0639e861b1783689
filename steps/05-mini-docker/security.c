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
 *   4. seccomp: a filter the kernel runs on every system call. Docker's
 *      profile is an allowlist; ours denies its dangerous ones (EPERM):
 *      keyctl, mount, unshare, setns, bpf, kexec, modules, clone with
 *      namespace flags ...; and clone3 answers ENOSYS, so libc falls back to
 *      clone, whose flags a filter can see (clone3 passes them in memory).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

#define NCAPS 64
static int caps[NCAPS]; /* 1: the container keeps this capability */

static const cap_value_t docker_default[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
	CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

/* "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> CAP_NET_ADMIN; "ALL" -> -2 */
static int cap_number(const char *name)
{
	char buf[64];
	cap_value_t v;
	if (!strcasecmp(name, "all"))
		return -2;
	if (!strncasecmp(name, "cap_", 4))
		name += 4;
	snprintf(buf, sizeof(buf), "cap_%s", name);
	for (char *p = buf; *p; p++)
		*p = tolower((unsigned char)*p);
	return cap_from_name(buf, &v) == 0 && v >= 0 && v < NCAPS ? (int)v : -1;
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
static char *read_etc(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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

void user_resolve(const struct run_config *rc, uid_t *uid, gid_t *gid, gid_t *groups, int *n_groups, char **home)
{
	char spec[256], name[256] = "", v[256];
	unsigned long n;
	snprintf(spec, sizeof(spec), "%s", rc->user ? rc->user : "0");
	char *group = strchr(spec, ':');
	if (group)
		*group++ = 0;
	char *passwd = read_etc("/etc/passwd"), *grp = read_etc("/etc/group");
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
		if (!(line = lookup(passwd, 0, spec)))
			child_die("unable to find user %s: no matching entries in the container's /etc/passwd", spec);
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
		} else
			child_die("unable to find group %s: no matching entries in the container's /etc/group", group);
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
	free(passwd);
	free(grp);
}

void security_apply(const struct run_config *rc, uid_t uid, gid_t gid, const gid_t *groups, int n_groups)
{
	int last = cap_max_bits();
	/* EXERCISE 05.4: bound the capabilities: drop from the bounding set every one we do not keep
	 * hint: caps[k] is 1 for the capabilities the container keeps (Docker's 14, --cap-add/--cap-drop);
	 * hint: cap_drop_bound(k) is prctl(PR_CAPBSET_DROP, k): no exec can ever regain k
	 * tests: 05-run
	 * stub: (void)last; child_die("TODO 05.4: drop the capabilities the container does not keep");
	 */
	/* the bounding set first: it needs CAP_SETPCAP, which we still have */
	narrate("prctl(PR_CAPBSET_DROP, ...)", "capsh --drop=...  # keep %s", caps_effective_hex());
	for (int k = 0; k < last && k < NCAPS; k++)
		if (!caps[k] && cap_drop_bound(k) < 0 && errno != EINVAL)
			child_die("drop capability %d from the bounding set: %m", k);
	/* END EXERCISE */
	narrate("setgroups, setgid(%u), setuid(%u)", "setpriv --regid=%u --reuid=%u --init-groups", (unsigned)gid,
		(unsigned)uid);
	if (setgroups(n_groups, groups) < 0 && !(errno == EPERM && rc->userns))
		child_die("setgroups: %m");
	if (setresgid(gid, gid, gid) < 0)
		child_die("setgid(%u): %m%s", (unsigned)gid, rc->userns ? " (rootless: only root is mapped)" : "");
	/* a non-root uid loses every capability here, as in Docker */
	if (setresuid(uid, uid, uid) < 0)
		child_die("setuid(%u): %m%s", (unsigned)uid, rc->userns ? " (rootless: only root is mapped)" : "");
	narrate("prctl(PR_SET_NO_NEW_PRIVS, 1)", "setpriv --no-new-privs");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_die("prctl(PR_SET_NO_NEW_PRIVS): %m");
	cap_reset_ambient();
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

/* Docker's refusals: group, then the capability that lifts them (-1: none does). */
static const struct {
	int cap;
	const char *names[16];
} denied[] = {
	{-1, {"keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "create_module",
	      "get_kernel_syms", "query_module", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "vm86",
	      "vm86old", "lookup_dcookie"}},
	{CAP_SYS_ADMIN, {"mount", "umount", "umount2", "unshare", "setns", "pivot_root", "swapon", "swapoff",
			 "quotactl", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount",
			 "mount_setattr"}},
	{CAP_SYS_ADMIN, {"bpf", "perf_event_open", "fanotify_init", "name_to_handle_at", "setdomainname",
			 "sethostname", "userfaultfd", "lookup_dcookie"}},
	{CAP_SYS_MODULE, {"init_module", "finit_module", "delete_module"}},
	{CAP_SYS_BOOT, {"reboot"}},
	{CAP_SYS_TIME, {"settimeofday", "stime", "clock_settime", "clock_adjtime"}},
	{CAP_SYS_PTRACE, {"process_vm_readv", "process_vm_writev", "kcmp"}},
	{CAP_SYS_RAWIO, {"iopl", "ioperm"}},
	{CAP_SYS_PACCT, {"acct"}},
	{CAP_SYSLOG, {"syslog"}},
	{CAP_SYS_TTY_CONFIG, {"vhangup"}},
	{CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
	{CAP_SYS_NICE, {"mbind", "set_mempolicy", "move_pages"}},
};

void seccomp_apply(const struct run_config *rc)
{
	if (rc->privileged || rc->no_seccomp) {
		narrate("no seccomp filter", "# --%s", rc->privileged ? "privileged" : "security-opt seccomp=unconfined");
		return;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = ctx ? 0 : -ENOMEM;
	if (!ctx)
		child_die("seccomp_init: out of memory");
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) { /* 32-bit programs too, not killed */
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	for (size_t g = 0; g < sizeof(denied) / sizeof(denied[0]); g++) {
		if (denied[g].cap >= 0 && caps[denied[g].cap])
			continue;
		for (int i = 0; i < 16 && denied[g].names[i]; i++) {
			int nr = seccomp_syscall_resolve_name(denied[g].names[i]);
			if (nr != __NR_SCMP_ERROR && (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0 && r != -EEXIST)
				break;
			r = 0;
		}
	}
	if (!caps[CAP_SYS_ADMIN]) {
		/* clone(2) that makes a namespace: one rule a flag (a filter compares, it cannot AND-test "any") */
		static const unsigned long ns[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
						   CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET};
		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]) && r >= 0; i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
		/* clone3 keeps its flags in memory, out of a filter's sight: "not here", libc uses clone */
		if (r >= 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	}
	/* no sockets to the hypervisor (AF_VSOCK, 40) */
	if (r >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, 40, 0));
	if (r < 0)
		child_die("seccomp rules: %s", strerror(-r));
	narrate("seccomp(SECCOMP_SET_MODE_FILTER, ...)", "# docker's default seccomp profile: keyctl, mount, unshare ... -> EPERM");
	if ((r = seccomp_load(ctx)) < 0)
		child_die("seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
}
