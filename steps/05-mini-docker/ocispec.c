/*
 * ocispec.c: a bundle's config.json (OCI runtime-spec, config.md and
 * config-linux.md) read into the engine's own run_config, so that mini-runc
 * runs it with the code `mini-docker run` uses: cgroups.c reads the limits,
 * security.c the capabilities, mounts.c the masked and read-only paths,
 * become.c the process.
 *
 * The spec says a runtime MUST ignore properties it does not know (they may be
 * newer than it): those are ignored. A property it knows but this runtime does
 * not honour yet (intelRdt, personality, realtime CPU time ...) is an error that
 * names it: a container that runs without what it asked for is worse than one
 * that does not run. apparmorProfile, selinuxLabel and mountLabel are read and
 * not applied (no LSM is switched here): the README says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devices.h"
#include "mounts.h"
#include "ocihooks.h"
#include "ociseccomp.h"
#include "ocispec.h"
#include "security.h"
#include "util.h"

/* a path of the config inside the container: absolute, no ".." component; "" is "/" */
static const char *inside(const char *path, const char *what, struct md_error *err)
{
	if (!path || *path != '/')
		return md_fail(err, "%s %s: not an absolute path", what, path ? path : "(none)"), NULL;
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || !p[2]))
			return md_fail(err, "%s %s: \"..\" is refused", what, path), NULL;
	while (*path == '/')
		path++;
	return path;
}

/* an array of strings (or absent): into a NULL-terminated char * array pointing into the JSON */
static int strings(json_t *a, const char *what, char ***out, int *n, struct md_error *err)
{
	size_t i;
	json_t *v;
	*out = xcalloc(json_array_size(a) + 1, sizeof(char *));
	*n = 0;
	if (a && !json_is_array(a))
		return md_fail(err, "%s: not an array", what);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return md_fail(err, "%s[%zu]: not a string", what, i);
		(*out)[(*n)++] = (char *)json_string_value(v);
	}
	return 0;
}

/* a property this runtime does not honour yet: an error when it is there and not empty */
static int unsupported(json_t *parent, const char *key, const char *where, struct md_error *err)
{
	json_t *v = json_object_get(parent, key);
	if (!v || json_is_null(v) || (json_is_array(v) && !json_array_size(v)) ||
	    (json_is_object(v) && !json_object_size(v)))
		return 0;
	return md_fail(err, "%s%s: not supported by mini-runc yet (remove it from config.json)", where, key);
}

static const struct { const char *name; int resource; } rlimit_names[] = {
	{"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

static int rlimits(json_t *a, struct oci_config *oc, struct md_error *err)
{
	size_t i, k;
	json_t *v;
	json_array_foreach(a, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		for (k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
			if (type && !strcmp(type, rlimit_names[k].name))
				break;
		if (k == sizeof(rlimit_names) / sizeof(rlimit_names[0]) || oc->n_rlimits >= RLIM_NLIMITS)
			return md_fail(err, "process.rlimits: unknown type %s", type ? type : "(none)");
		oc->rlimits[oc->n_rlimits].resource = rlimit_names[k].resource;
		oc->rlimits[oc->n_rlimits].limit.rlim_cur = json_integer_value(json_object_get(v, "soft"));
		oc->rlimits[oc->n_rlimits++].limit.rlim_max = json_integer_value(json_object_get(v, "hard"));
	}
	return 0;
}

/* process.capabilities: the five sets as given (security.c sets them as runc: capabilities(7)) */
static int capabilities(json_t *caps, struct md_error *err)
{
	static const char *const sets[CAPS_SETS] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
	size_t i;
	json_t *v;
	caps_oci_begin();
	for (int s = 0; s < CAPS_SETS; s++)
		json_array_foreach(json_object_get(caps, sets[s]), i, v) {
			if (caps_oci_add(s, json_string_value(v) ? json_string_value(v) : "(not a string)", err) < 0)
				return md_context(err, "process.capabilities.%s", sets[s]);
		}
	return 0;
}

static int process(json_t *p, struct oci_config *oc, struct md_error *err)
{
	struct run_config *rc = &oc->rc;
	json_t *user = json_object_get(p, "user");
	if (!json_is_object(p))
		return md_fail(err, "process: missing");
	if (strings(json_object_get(p, "args"), "process.args", &rc->argv, &rc->n_cmd, err) < 0 ||
	    strings(json_object_get(p, "env"), "process.env", &rc->envp, &rc->n_env, err) < 0)
		return -1;
	if (!rc->n_cmd)
		return md_fail(err, "process.args: empty (what should the container run?)");
	rc->cwd = json_string_value(json_object_get(p, "cwd"));
	if (!rc->cwd || *rc->cwd != '/')
		return md_fail(err, "process.cwd: must be an absolute path");
	oc->terminal = json_is_true(json_object_get(p, "terminal"));
	/* the spec: ignored without a terminal; runc and crun set it before the program runs */
	json_t *size = json_object_get(p, "consoleSize");
	oc->has_console_size = oc->terminal && size;
	if (oc->has_console_size) {
		json_int_t h = json_integer_value(json_object_get(size, "height"));
		json_int_t w = json_integer_value(json_object_get(size, "width"));
		if (!json_is_integer(json_object_get(size, "height")) || !json_is_integer(json_object_get(size, "width")) ||
		    h < 0 || w < 0 || h > 65535 || w > 65535)
			return md_fail(err, "process.consoleSize: height and width must be integers from 0 to 65535");
		oc->console_size = (struct winsize){.ws_row = h, .ws_col = w};
	}
	oc->uid = json_integer_value(json_object_get(user, "uid"));
	oc->gid = json_integer_value(json_object_get(user, "gid"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(user, "additionalGids"), i, v) {
		if (oc->n_groups >= 64)
			return md_fail(err, "process.user.additionalGids: more than 64");
		oc->groups[oc->n_groups++] = json_integer_value(v);
	}
	if (capabilities(json_object_get(p, "capabilities"), err) < 0) /* none given: the process gets none */
		return -1;
	if (rlimits(json_object_get(p, "rlimits"), oc, err) < 0)
		return -1;
	rc->nnp = json_is_true(json_object_get(p, "noNewPrivileges")) ? 1 : -1;
	if ((v = json_object_get(p, "oomScoreAdj"))) {
		oc->oom_score_adj = json_integer_value(v);
		oc->has_oom_score_adj = 1;
	}
	oc->umask = json_object_get(user, "umask") ? json_integer_value(json_object_get(user, "umask")) & 0777 : 022;
	if (unsupported(p, "ioPriority", "process.", err) < 0 ||
	    unsupported(p, "scheduler", "process.", err) < 0 || unsupported(p, "execCPUAffinity", "process.", err) < 0)
		return -1;
	return 0;
}

int oci_process(json_t *p, struct oci_config *oc, struct md_error *err)
{
	free(oc->rc.argv);
	free(oc->rc.envp);
	oc->rc.argv = oc->rc.envp = NULL;
	oc->n_groups = oc->n_rlimits = oc->has_oom_score_adj = 0;
	return process(p, oc, err);
}

static const struct { const char *name; unsigned long set, clear, propagation; } mount_options[] = {
	{"ro", MS_RDONLY, 0, 0}, {"rw", 0, MS_RDONLY, 0}, {"nosuid", MS_NOSUID, 0, 0}, {"suid", 0, MS_NOSUID, 0},
	{"nodev", MS_NODEV, 0, 0}, {"dev", 0, MS_NODEV, 0}, {"noexec", MS_NOEXEC, 0, 0}, {"exec", 0, MS_NOEXEC, 0},
	{"sync", MS_SYNCHRONOUS, 0, 0}, {"async", 0, MS_SYNCHRONOUS, 0}, {"noatime", MS_NOATIME, 0, 0},
	{"atime", 0, MS_NOATIME, 0}, {"nodiratime", MS_NODIRATIME, 0, 0}, {"diratime", 0, MS_NODIRATIME, 0},
	{"relatime", MS_RELATIME, 0, 0}, {"norelatime", 0, MS_RELATIME, 0}, {"strictatime", MS_STRICTATIME, 0, 0},
	{"nostrictatime", 0, MS_STRICTATIME, 0}, {"bind", MS_BIND, 0, 0}, {"rbind", MS_BIND | MS_REC, 0, 0},
	{"private", 0, 0, MS_PRIVATE}, {"rprivate", 0, 0, MS_PRIVATE | MS_REC}, {"shared", 0, 0, MS_SHARED},
	{"rshared", 0, 0, MS_SHARED | MS_REC}, {"slave", 0, 0, MS_SLAVE}, {"rslave", 0, 0, MS_SLAVE | MS_REC},
	{"unbindable", 0, 0, MS_UNBINDABLE}, {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC},
};

static int propagation(const char *name, unsigned long *out)
{
	for (size_t k = 0; k < sizeof(mount_options) / sizeof(mount_options[0]); k++)
		if (!strcmp(name, mount_options[k].name) && mount_options[k].propagation) {
			*out = mount_options[k].propagation;
			return 0;
		}
	return -1;
}

static int one_mount(json_t *j, struct oci_mount *m, struct md_error *err)
{
	size_t i, k;
	json_t *v;
	if (!(m->dst = inside(json_string_value(json_object_get(j, "destination")), "mounts: destination", err)))
		return -1;
	m->type = json_string_value(json_object_get(j, "type"));
	m->src = json_string_value(json_object_get(j, "source"));
	json_array_foreach(json_object_get(j, "options"), i, v) {
		const char *o = json_string_value(v);
		if (!o)
			return md_fail(err, "mounts: %s: an option is not a string", m->dst);
		for (k = 0; k < sizeof(mount_options) / sizeof(mount_options[0]); k++)
			if (!strcmp(o, mount_options[k].name))
				break;
		if (k < sizeof(mount_options) / sizeof(mount_options[0])) {
			m->flags = (m->flags | mount_options[k].set) & ~mount_options[k].clear;
			m->propagation |= mount_options[k].propagation;
		} else if (!strcmp(o, "remount") || !strcmp(o, "tmpcopyup") || !strncmp(o, "idmap", 5)) {
			return md_fail(err, "mounts: %s: option %s is not supported by mini-runc yet", m->dst, o);
		} else if (snprintf(m->data + strlen(m->data), sizeof(m->data) - strlen(m->data), "%s%s",
				    m->data[0] ? "," : "", o) >= (int)(sizeof(m->data) - strlen(m->data))) {
			return md_fail(err, "mounts: %s: options too long", m->dst);
		}
	}
	if (m->type && !strcmp(m->type, "bind"))
		m->flags |= MS_BIND;
	if (!m->type && !(m->flags & MS_BIND))
		return md_fail(err, "mounts: %s: no type and not a bind mount", m->dst);
	if ((m->flags & MS_BIND) && (!m->src || *m->src != '/'))
		return md_fail(err, "mounts: %s: a bind mount's source must be an absolute path", m->dst);
	return 0;
}

static int mounts(json_t *a, struct oci_config *oc, struct md_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (oc->n_mounts >= OCI_MAX)
			return md_fail(err, "mounts: more than %d", OCI_MAX);
		if (one_mount(v, &oc->mounts[oc->n_mounts], err) < 0)
			return -1;
		oc->n_mounts++;
	}
	return 0;
}

static int paths(json_t *a, const char *what, const char **out, int *n, struct md_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (*n >= OCI_MAX)
			return md_fail(err, "%s: more than %d", what, OCI_MAX);
		if (!(out[(*n)++] = inside(json_string_value(v), what, err)))
			return -1;
	}
	return 0;
}

static const struct { const char *type; int flag; } ns_types[] = {
	{"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS}, {"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS}, {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

static int namespaces(json_t *a, struct oci_config *oc, struct md_error *err)
{
	size_t i, k;
	json_t *v;
	int mnt = 0; /* a mount namespace joined */
	json_array_foreach(a, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *path = json_string_value(json_object_get(v, "path"));
		for (k = 0; k < sizeof(ns_types) / sizeof(ns_types[0]); k++)
			if (type && !strcmp(type, ns_types[k].type))
				break;
		if (k == sizeof(ns_types) / sizeof(ns_types[0]))
			return md_fail(err, "linux.namespaces: type %s is not supported by mini-runc yet",
				       type ? type : "(none)");
		if (path && *path) {
			if (oc->n_joins == sizeof(oc->joins) / sizeof(oc->joins[0]))
				return md_fail(err, "linux.namespaces: more than %d to join", oc->n_joins);
			oc->joins[oc->n_joins].flag = ns_types[k].flag;
			oc->joins[oc->n_joins++].path = path;
			mnt |= ns_types[k].flag == CLONE_NEWNS;
		} else if (ns_types[k].flag == CLONE_NEWTIME) {
			oc->rc.timens = 1; /* unshared by the init, as ns.c's child does: clone3 cannot make it */
		} else {
			oc->clone_flags |= ns_types[k].flag;
		}
	}
	/* the init's mounts (/ private, the rootfs, pivot_root) would change the host's */
	if (!(oc->clone_flags & CLONE_NEWNS) && !mnt)
		return md_fail(err, "linux.namespaces: mini-runc needs a mount namespace, new (type \"mount\") "
				    "or joined (with its path)");
	return 0;
}

static int id_map(json_t *a, const char *what, char *out, size_t len, struct md_error *err)
{
	size_t i;
	json_t *v;
	out[0] = 0;
	json_array_foreach(a, i, v) {
		size_t used = strlen(out);
		if (snprintf(out + used, len - used, "%lld %lld %lld\n",
			     json_integer_value(json_object_get(v, "containerID")),
			     json_integer_value(json_object_get(v, "hostID")),
			     json_integer_value(json_object_get(v, "size"))) >= (int)(len - used))
			return md_fail(err, "%s: too many ranges", what);
	}
	return 0;
}

static int resources(json_t *r, struct oci_config *oc, struct md_error *err)
{
	struct run_config *rc = &oc->rc;
	json_t *mem = json_object_get(r, "memory"), *cpu = json_object_get(r, "cpu"), *pids = json_object_get(r, "pids");
	size_t i;
	json_t *v;
	rc->memory = json_integer_value(json_object_get(mem, "limit"));
	json_int_t swap = json_integer_value(json_object_get(mem, "swap"));
	if (swap > 0 && swap != rc->memory)
		return md_fail(err, "linux.resources.memory.swap: mini-runc sets swap to the limit (no swap) only");
	rc->cpu_quota = json_integer_value(json_object_get(cpu, "quota"));
	rc->cpu_period = json_integer_value(json_object_get(cpu, "period"));
	rc->cpu_shares = json_integer_value(json_object_get(cpu, "shares"));
	rc->pids = json_integer_value(json_object_get(pids, "limit"));
	if (rc->pids <= 0)
		rc->pids = -1; /* none: the spec's default, not podman's 2048 */
	/* "deny every device", and allow rules that runc's default list (devices.c) already
	 * grants, as containerd sends: cgroups.c applies that list, no other */
	json_array_foreach(json_object_get(r, "devices"), i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		json_t *major = json_object_get(v, "major"), *minor = json_object_get(v, "minor");
		if (!json_is_true(json_object_get(v, "allow")) ? major || minor
		    : !type || strlen(type) != 1 || !json_is_integer(major) ||
			  !devices_in_list(type[0], json_integer_value(major), minor ? json_integer_value(minor) : -1))
			return md_fail(err, "linux.resources.devices[%zu]: only a rule denying all devices, and "
					    "rules allowing what runc's default allow-list has, are read (that list is "
					    "applied)", i);
	}
	const char *no[] = {"blockIO", "hugepageLimits", "network", "rdma", "unified"};
	for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++)
		if (unsupported(r, no[k], "linux.resources.", err) < 0)
			return -1;
	const char *lists[] = {"cpus", "mems"}, **into[] = {&rc->cpuset_cpus, &rc->cpuset_mems};
	for (int k = 0; k < 2; k++) {
		json_t *list = json_object_get(cpu, lists[k]);
		const char *s = json_string_value(list);
		if (list && !json_is_null(list) && (!s || strspn(s, "0123456789,-") != strlen(s)))
			return md_fail(err, "linux.resources.cpu.%s \"%s\": not a list such as \"0-1,3\"", lists[k],
				       s ? s : "(not a string)");
		*into[k] = s && *s ? s : NULL; /* "": the parent's, as not given */
	}
	if (unsupported(cpu, "realtimeRuntime", "linux.resources.cpu.", err) < 0)
		return -1;
	return 0;
}

/* linux.devices: the nodes to make in the container (path, type c/b/u/p, major, minor, fileMode, uid, gid) */
static int devices(json_t *a, struct oci_config *oc, struct md_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		json_t *mode = json_object_get(v, "fileMode");
		if (oc->n_devices >= OCI_MAX)
			return md_fail(err, "linux.devices: more than %d", OCI_MAX);
		if (!(oc->devices[oc->n_devices].path = inside(json_string_value(json_object_get(v, "path")),
								"linux.devices: path", err)))
			return -1;
		if (!type || strlen(type) != 1 || !strchr("cbup", *type))
			return md_fail(err, "linux.devices[%zu]: type %s: c, b, u or p", i, type ? type : "(none)");
		oc->devices[oc->n_devices].mode = (*type == 'b' ? S_IFBLK : *type == 'p' ? S_IFIFO : S_IFCHR) |
						  (mode ? json_integer_value(mode) & 07777 : 0666);
		oc->devices[oc->n_devices].dev = makedev(json_integer_value(json_object_get(v, "major")),
							 json_integer_value(json_object_get(v, "minor")));
		oc->devices[oc->n_devices].uid = json_integer_value(json_object_get(v, "uid"));
		oc->devices[oc->n_devices++].gid = json_integer_value(json_object_get(v, "gid"));
	}
	return 0;
}

/* linux.timeOffsets: {"monotonic": {"secs": N, "nanosecs": 0}, "boottime": ...}, in a new time namespace */
static int time_offsets(json_t *o, struct oci_config *oc, struct md_error *err)
{
	const char *clock;
	json_t *v;
	if (!o || json_is_null(o))
		return 0;
	if (!oc->rc.timens)
		return md_fail(err, "linux.timeOffsets: needs a new time namespace (linux.namespaces type \"time\")");
	json_object_foreach(o, clock, v) {
		long long secs = json_integer_value(json_object_get(v, "secs"));
		if (json_integer_value(json_object_get(v, "nanosecs")))
			return md_fail(err, "linux.timeOffsets.%s.nanosecs: mini-runc moves clocks by whole seconds", clock);
		if (!strcmp(clock, "monotonic"))
			oc->rc.monotonic_offset = secs;
		else if (!strcmp(clock, "boottime"))
			oc->rc.boottime_offset = secs;
		else
			return md_fail(err, "linux.timeOffsets: %s is not a clock of a time namespace (monotonic, boottime)",
				       clock);
	}
	return 0;
}

static int linux_section(json_t *l, struct oci_config *oc, struct md_error *err)
{
	const char *key;
	json_t *v;
	if (namespaces(json_object_get(l, "namespaces"), oc, err) < 0 ||
	    time_offsets(json_object_get(l, "timeOffsets"), oc, err) < 0)
		return -1;
	if (oc->clone_flags & CLONE_NEWUSER) {
		if (id_map(json_object_get(l, "uidMappings"), "linux.uidMappings", oc->uid_map, sizeof(oc->uid_map), err) <
			    0 ||
		    id_map(json_object_get(l, "gidMappings"), "linux.gidMappings", oc->gid_map, sizeof(oc->gid_map), err) < 0)
			return -1;
		if (!oc->uid_map[0] || !oc->gid_map[0])
			return md_fail(err, "linux.uidMappings and gidMappings: needed with a new user namespace");
		oc->rc.userns = oc->c.userns = 1;
	} else if (json_array_size(json_object_get(l, "uidMappings"))) {
		return md_fail(err, "linux.uidMappings: given without a new user namespace");
	}
	if (resources(json_object_get(l, "resources"), oc, err) < 0 || devices(json_object_get(l, "devices"), oc, err) < 0)
		return -1;
	if ((oc->rc.cgroup_path = json_string_value(json_object_get(l, "cgroupsPath")))) {
		if (strchr(oc->rc.cgroup_path, ':'))
			return md_fail(err, "linux.cgroupsPath %s: a systemd slice:prefix:name path; mini-runc "
					    "manages cgroupfs paths only", oc->rc.cgroup_path);
		if (strstr(oc->rc.cgroup_path, "..") || !*oc->rc.cgroup_path)
			return md_fail(err, "linux.cgroupsPath %s: refused", oc->rc.cgroup_path);
	}
	if (paths(json_object_get(l, "maskedPaths"), "linux.maskedPaths", oc->masked, &oc->n_masked, err) < 0 ||
	    paths(json_object_get(l, "readonlyPaths"), "linux.readonlyPaths", oc->readonly, &oc->n_readonly, err) < 0)
		return -1;
	json_object_foreach(json_object_get(l, "sysctl"), key, v) {
		if (oc->n_sysctl >= OCI_MAX || !json_is_string(v) || strstr(key, "..") || strchr(key, '/'))
			return md_fail(err, "linux.sysctl %s: refused", key);
		oc->sysctl[oc->n_sysctl][0] = key;
		oc->sysctl[oc->n_sysctl++][1] = json_string_value(v);
	}
	oc->rootfs_propagation = MS_PRIVATE | MS_REC;
	if ((v = json_object_get(l, "rootfsPropagation")) &&
	    propagation(json_string_value(v) ? json_string_value(v) : "", &oc->rootfs_propagation) < 0)
		return md_fail(err, "linux.rootfsPropagation: %s is not a propagation", json_string_value(v));
	oc->rc.no_seccomp = 1;
	if ((v = json_object_get(l, "seccomp")) && !json_is_null(v)) {
		if (oci_seccomp(v, err) < 0)
			return md_context(err, "linux.seccomp");
		oc->rc.no_seccomp = 0;
	}
	const char *no[] = {"intelRdt", "personality", "memoryPolicy"};
	for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++)
		if (unsupported(l, no[k], "linux.", err) < 0)
			return -1;
	return 0;
}

int oci_load(const char *bundle, struct oci_config *oc, struct md_error *err)
{
	json_error_t je;
	memset(oc, 0, sizeof(*oc));
	if (!(oc->bundle = realpath(bundle, NULL)))
		return md_fail_errno(err, "bundle %s", bundle);
	char *path = xasprintf("%s/config.json", oc->bundle);
	oc->json = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!oc->json) {
		md_fail(err, "%s: %s (line %d)", path, je.text, je.line);
		free(path);
		return -1;
	}
	free(path);
	json_t *j = oc->json, *root = json_object_get(j, "root"), *v;
	const char *version = json_string_value(json_object_get(j, "ociVersion"));
	if (!version || strncmp(version, "1.", 2))
		return md_fail(err, "config.json: ociVersion %s: this runtime speaks 1.x", version ? version : "missing");
	const char *rootfs = json_string_value(json_object_get(root, "path"));
	if (!rootfs)
		return md_fail(err, "config.json: root.path missing");
	oc->c.rootfs = *rootfs == '/' ? xstrdup(rootfs) : xasprintf("%s/%s", oc->bundle, rootfs);
	oc->c.plain = 1;
	oc->rc.read_only = json_is_true(json_object_get(root, "readonly"));
	oc->rc.network = NET_HOST; /* mounts.c: sysfs is mounted fresh unless user ns without net ns */
	if (linux_section(json_object_get(j, "linux"), oc, err) < 0 || process(json_object_get(j, "process"), oc, err) < 0 ||
	    mounts(json_object_get(j, "mounts"), oc, err) < 0)
		return -1;
	if (oc->clone_flags & CLONE_NEWNET)
		oc->rc.network = NET_NONE;
	for (int i = 0; i < oc->n_joins; i++)
		if (oc->joins[i].flag == CLONE_NEWNET)
			oc->rc.network = NET_NONE;
	oc->rc.hostname = json_string_value(json_object_get(j, "hostname"));
	int uts = oc->clone_flags & CLONE_NEWUTS;
	for (int i = 0; i < oc->n_joins; i++)
		uts |= oc->joins[i].flag == CLONE_NEWUTS;
	if (oc->rc.hostname && *oc->rc.hostname && !uts)
		return md_fail(err, "hostname: needs a uts namespace of the container's own (linux.namespaces)");
	oc->domainname = json_string_value(json_object_get(j, "domainname"));
	if (oc->domainname && *oc->domainname && !uts)
		return md_fail(err, "domainname: needs a uts namespace of the container's own (linux.namespaces)");
	if ((v = json_object_get(j, "hooks")) && !json_is_null(v) && oci_hooks_check(v, err) < 0)
		return -1;
	oc->annotations = json_object_get(j, "annotations");
	return 0;
}

void oci_free(struct oci_config *oc)
{
	free(oc->rc.argv);
	free(oc->rc.envp);
	free(oc->c.rootfs);
	free(oc->bundle);
	json_decref(oc->json);
}

json_t *oci_default_spec(void)
{
	const char *caps = "[\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]";
	char *text = xasprintf(
		"{\"ociVersion\": \"" OCI_VERSION "\","
		" \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0}, \"args\": [\"sh\"],"
		" \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\"],"
		" \"cwd\": \"/\", \"capabilities\": {\"bounding\": %s, \"effective\": %s, \"permitted\": %s},"
		" \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
		" \"noNewPrivileges\": true},"
		" \"root\": {\"path\": \"rootfs\", \"readonly\": true}, \"hostname\": \"mini-runc\","
		" \"mounts\": ["
		"{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
		"{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
		" \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
		"{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","
		" \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},"
		"{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","
		" \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"
		"{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\","
		" \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"
		"{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
		" \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"
		"{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","
		" \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}],"
		" \"linux\": {\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
		" \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},"
		" {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],"
		" \"maskedPaths\": [], \"readonlyPaths\": []}}",
		caps, caps, caps);
	json_t *j = json_loads(text, 0, NULL), *l = json_object_get(j, "linux");
	free(text);
	/* runc's lists, as mini-docker run uses them (mounts.c) */
	for (size_t i = 0; mounts_masked(i); i++)
		json_array_append_new(json_object_get(l, "maskedPaths"), json_sprintf("/%s", mounts_masked(i)));
	for (size_t i = 0; mounts_readonly(i); i++)
		json_array_append_new(json_object_get(l, "readonlyPaths"), json_sprintf("/%s", mounts_readonly(i)));
	return j;
}
