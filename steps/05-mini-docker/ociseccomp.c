/*
 * ociseccomp.c: linux.seccomp of a config.json (runtime-spec config-linux.md
 * "Seccomp") compiled with libseccomp, in the engine, before the clone: a
 * profile libseccomp refuses fails `create`, not the container. The program
 * goes to security.c, whose seccomp_apply() loads it just before execve, the
 * place it loads Docker's profile for mini-docker.
 *
 *   defaultAction, defaultErrnoRet   seccomp_init(action)
 *   architectures                    seccomp_arch_add ("SCMP_ARCH_X86" -> "x86")
 *   syscalls[].names/action/errnoRet seccomp_rule_add_array, a rule per name;
 *   syscalls[].args                  index, value, valueTwo, op (SCMP_CMP_*)
 * A name this libseccomp does not know is skipped (runc does the same: a
 * profile names calls of newer kernels). flags and listenerPath are refused.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ociseccomp.h"
#include "security.h"
#include "util.h"

static int action(json_t *j, const char *key, const char *errno_key, uint32_t *out, struct md_error *err)
{
	const char *name = json_string_value(json_object_get(j, key));
	json_t *e = json_object_get(j, errno_key);
	int errnum = e ? (int)json_integer_value(e) : EPERM;
	if (!name)
		return md_fail(err, "%s: missing", key);
	if (!strcmp(name, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO(errnum);
	else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_TRACE"))
		*out = SCMP_ACT_TRACE(errnum);
	else if (!strcmp(name, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else
		return md_fail(err, "%s %s: not supported by mini-runc", key, name);
	return 0;
}

static int compare(json_t *a, struct scmp_arg_cmp *c, struct md_error *err)
{
	static const struct { const char *name; enum scmp_compare op; } ops[] = {
		{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
		{"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
		{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
	};
	const char *op = json_string_value(json_object_get(a, "op"));
	json_int_t index = json_integer_value(json_object_get(a, "index"));
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (op && !strcmp(op, ops[k].name) && index >= 0 && index < 6) {
			*c = (struct scmp_arg_cmp){.arg = index, .op = ops[k].op,
						   .datum_a = (uint64_t)json_integer_value(json_object_get(a, "value")),
						   .datum_b = (uint64_t)json_integer_value(json_object_get(a, "valueTwo"))};
			return 0;
		}
	return md_fail(err, "args: op %s, index %lld: not a comparison", op ? op : "(none)", (long long)index);
}

static int rules(scmp_filter_ctx ctx, json_t *syscalls, uint32_t def, struct md_error *err)
{
	size_t i, k, n;
	json_t *s, *name, *a;
	json_array_foreach(syscalls, i, s) {
		uint32_t act;
		struct scmp_arg_cmp cmp[6];
		unsigned n_cmp = 0;
		if (action(s, "action", "errnoRet", &act, err) < 0)
			return md_context(err, "syscalls[%zu]", i);
		json_array_foreach(json_object_get(s, "args"), k, a) {
			if (n_cmp >= 6 || compare(a, &cmp[n_cmp++], err) < 0)
				return md_context(err, "syscalls[%zu]", i);
		}
		if (act == def) /* libseccomp refuses a rule that does what the default does */
			continue;
		json_array_foreach(json_object_get(s, "names"), n, name) {
			int nr = seccomp_syscall_resolve_name(json_string_value(name) ? json_string_value(name) : "");
			if (nr == __NR_SCMP_ERROR)
				continue;
			int r = seccomp_rule_add_array(ctx, act, nr, n_cmp, cmp);
			if (r < 0)
				return md_fail(err, "syscalls[%zu] %s: %s", i, json_string_value(name), strerror(-r));
		}
	}
	return 0;
}

static int architectures(scmp_filter_ctx ctx, json_t *archs, struct md_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(archs, i, v) {
		const char *name = json_string_value(v);
		char lower[32];
		if (!name || strncmp(name, "SCMP_ARCH_", 10) || strlen(name) - 10 >= sizeof(lower))
			return md_fail(err, "architectures[%zu]: not an SCMP_ARCH_ name", i);
		for (size_t k = 0; k <= strlen(name + 10); k++)
			lower[k] = tolower((unsigned char)name[10 + k]);
		uint32_t arch = seccomp_arch_resolve_name(lower);
		if (!arch)
			return md_fail(err, "architectures: %s: unknown to libseccomp", name);
		int r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return md_fail(err, "architectures: %s: %s", name, strerror(-r));
	}
	return 0;
}

int oci_seccomp(json_t *profile, struct md_error *err)
{
	uint32_t def;
	if (action(profile, "defaultAction", "defaultErrnoRet", &def, err) < 0)
		return -1;
	if (json_array_size(json_object_get(profile, "flags")) || json_object_get(profile, "listenerPath"))
		return md_fail(err, "flags and listenerPath: not supported by mini-runc yet");
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return md_fail(err, "seccomp_init: refused the default action");
	int fd = -1, rc = -1;
	char *buf = NULL;
	size_t len;
	if (architectures(ctx, json_object_get(profile, "architectures"), err) < 0 ||
	    rules(ctx, json_object_get(profile, "syscalls"), def, err) < 0)
		goto out;
	/* the program as bytes (seccomp_export_bpf writes to a descriptor): a memfd, read back */
	int r;
	if ((fd = memfd_create("seccomp", MFD_CLOEXEC)) < 0 || (r = seccomp_export_bpf(ctx, fd)) < 0) {
		md_fail(err, "seccomp_export_bpf: %s", fd < 0 ? strerror(errno) : strerror(-r));
		goto out;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (read_file(path, 1 << 20, &buf, &len, err) < 0)
		goto out;
	if (seccomp_take_program(buf, len) < 0) {
		md_fail(err, "libseccomp wrote %zu bytes: not a program", len);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	seccomp_release(ctx);
	return rc;
}
