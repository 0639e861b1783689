/*
 * devices.c: which device nodes the container may open (runc's default list).
 *
 * Root in a container keeps CAP_MKNOD (Docker's 14), and the rootfs is not
 * mounted nodev: nothing in the file system stops `mknod /sda b 8 0` followed
 * by reading the host's disk. The devices cgroup does. Like runc, mini-docker
 * lets the container make any node (mknod, "m") but open only these:
 *
 *     c 1:3 null   c 1:5 zero   c 1:7 full   c 1:8 random   c 1:9 urandom
 *     c 5:0 tty    c 5:1 console   c 5:2 ptmx   c 136:* pts   c 10:200 net/tun
 *
 * Anything else answers EPERM at open(2), whoever the container's user is.
 *   v1: the devices controller: `echo a > devices.deny`, then a line per
 *       device in devices.allow ("c 1:3 rwm")
 *   v2: there is no such file; the kernel runs an eBPF program of type
 *       BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup on each mknod and
 *       open of a device: it reads (type, access, major, minor) and returns
 *       1 (allow) or 0 (EPERM). We write that program here, instruction by
 *       instruction, from the same list (bpf(2), linux/bpf.h).
 * --privileged skips both, as Docker: every device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices.h"
#include "narrate.h"

static const struct {
	char type;	  /* 'c' or 'b' */
	int major, minor; /* -1: any */
	const char *what;
} allowed[] = {
    {'c', 1, 3, "null"},       {'c', 1, 5, "zero"},    {'c', 1, 7, "full"},
    {'c', 1, 8, "random"},     {'c', 1, 9, "urandom"}, {'c', 5, 0, "tty"},
    {'c', 5, 1, "console"},    {'c', 5, 2, "ptmx"},    {'c', 136, -1, "pts"},
    {'c', 10, 200, "net/tun"},
};
#define N_ALLOWED (sizeof(allowed) / sizeof(allowed[0]))

/* 1 when the list already lets the container open device TYPE MAJOR:MINOR (-1: any), or
 * every such device: an engine's allow rule (containerd sends runc's list) asks nothing more */
int devices_in_list(char type, long major, long minor)
{
	for (size_t i = 0; i < N_ALLOWED; i++)
		if (allowed[i].type == type && allowed[i].major == major &&
		    (allowed[i].minor == -1 || allowed[i].minor == minor))
			return 1;
	return 0;
}

/* "c 1:3 rwm" */
static void rule_text(size_t i, char *out, size_t len)
{
	char minor[16] = "*";
	if (allowed[i].minor >= 0)
		snprintf(minor, sizeof(minor), "%d", allowed[i].minor);
	snprintf(out, len, "%c %d:%s rwm", allowed[i].type, allowed[i].major, minor);
}

/*
 * v1: the Ith line to write into the devices controller as FILE, VALUE:
 * deny everything (the child inherited "a *:* rwm"), let it mknod, then the
 * list. 0 after the last one. cgroups.c writes them, narrated as echo.
 */
int devices_v1_line(size_t i, const char **file, char *value, size_t len)
{
	static const char *const first[][2] = {
		{"devices.deny", "a"}, {"devices.allow", "c *:* m"}, {"devices.allow", "b *:* m"}};
	size_t n_first = sizeof(first) / sizeof(first[0]);
	if (i < n_first) {
		*file = first[i][0];
		snprintf(value, len, "%s", first[i][1]);
		return 1;
	}
	if (i - n_first >= N_ALLOWED)
		return 0;
	*file = "devices.allow";
	rule_text(i - n_first, value, len);
	return 1;
}

/* The few instructions we need (the kernel's BPF_* macros are not in its uapi headers). */
#define LDX_W(dst, src, at)                                                                        \
	((struct bpf_insn){                                                                        \
	    .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = dst, .src_reg = src, .off = at})
#define ALU_K(op, dst, k)                                                                          \
	((struct bpf_insn){.code = BPF_ALU64 | op | BPF_K, .dst_reg = dst, .imm = k})
#define MOV_X(dst, src)                                                                            \
	((struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = dst, .src_reg = src})
#define JNE_K(dst, k, skip)                                                                        \
	((struct bpf_insn){                                                                        \
	    .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = dst, .off = skip, .imm = k})
#define EXIT_INSN() ((struct bpf_insn){.code = BPF_JMP | BPF_EXIT})

/*
 * R1 points to struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}
 * access_type = (BPF_DEVCG_ACC_MKNOD|READ|WRITE) << 16 | BPF_DEVCG_DEV_BLOCK|CHAR
 *   r2 = type, r3 = access, r4 = major, r5 = minor
 *   if (access & ~MKNOD) == 0: return 1          (mknod of anything: "c *:* m", "b *:* m")
 *   for each device: if type, major (and minor) match: return 1
 *   return 0
 */
static int devices_program(struct bpf_insn *p)
{
	int n = 0;
	p[n++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
	p[n++] = ALU_K(BPF_AND, BPF_REG_2, 0xffff);
	p[n++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
	p[n++] = ALU_K(BPF_RSH, BPF_REG_3, 16);
	p[n++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
	p[n++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);
	p[n++] = MOV_X(BPF_REG_0, BPF_REG_3);
	p[n++] = ALU_K(BPF_AND, BPF_REG_0, ~BPF_DEVCG_ACC_MKNOD);
	p[n++] = JNE_K(BPF_REG_0, 0, 2);
	p[n++] = ALU_K(BPF_MOV, BPF_REG_0, 1);
	p[n++] = EXIT_INSN();
	for (size_t i = 0; i < N_ALLOWED; i++) {
		int len = allowed[i].minor >= 0 ? 5 : 4; /* the tests, then "return 1" */
		int type = allowed[i].type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
		p[n++] = JNE_K(BPF_REG_2, type, len - 1);
		p[n++] = JNE_K(BPF_REG_4, allowed[i].major, len - 2);
		if (allowed[i].minor >= 0)
			p[n++] = JNE_K(BPF_REG_5, allowed[i].minor, len - 3);
		p[n++] = ALU_K(BPF_MOV, BPF_REG_0, 1);
		p[n++] = EXIT_INSN();
	}
	p[n++] = ALU_K(BPF_MOV, BPF_REG_0, 0);
	p[n++] = EXIT_INSN();
	return n;
}

int devices_v2(int cgroup_fd, const char *dir, struct md_error *err)
{
	struct bpf_insn prog[16 + 5 * N_ALLOWED];
	static char log[1 << 16];
	union bpf_attr load = {0}, attach = {0};
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (unsigned long)prog;
	load.insn_cnt = devices_program(prog);
	load.license = (unsigned long)"GPL";
	char what[32]; /* both formats of narrate read the same arguments: strings */
	snprintf(what, sizeof(what), "%u instructions", load.insn_cnt);
	narrate("bpf(BPF_PROG_LOAD, CGROUP_DEVICE, %s)%.0s",
		"%.0s# %s: the devices allow-list as an eBPF program", what, dir);
	int fd = syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (fd < 0 && errno != EPERM) { /* again with the verifier's log, for its last word */
		int saved = errno;
		load.log_buf = (unsigned long)log;
		load.log_size = sizeof(log);
		load.log_level = 1;
		if ((fd = syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load))) < 0) {
			char *end = log + strlen(log);
			while (end > log && end[-1] == '\n')
				*--end = 0;
			char *last = strrchr(log, '\n');
			errno = saved;
			return md_fail_errno(
			    err, "bpf(BPF_PROG_LOAD) of the device program (verifier: %s)",
			    last ? last + 1 : log);
		}
	}
	if (fd < 0)
		return md_fail_errno(err, "bpf(BPF_PROG_LOAD) of the device program");
	/* ALLOW_MULTI, as runc: a program of the parent's (systemd's) keeps running too */
	attach.target_fd = cgroup_fd;
	attach.attach_bpf_fd = fd;
	attach.attach_type = BPF_CGROUP_DEVICE;
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	narrate("bpf(BPF_PROG_ATTACH, %s, BPF_CGROUP_DEVICE)",
		"bpftool cgroup attach %s device pinned PROG multi", dir, dir);
	int r = syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
	int saved = errno;
	close(fd); /* the cgroup holds the program now */
	errno = saved;
	return r < 0 ? md_fail_errno(err, "bpf(BPF_PROG_ATTACH) of the device program to %s", dir)
		     : 0;
}
