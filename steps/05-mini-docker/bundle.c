/*
 * bundle.c: an OCI runtime bundle from an image, for runc, crun, systemd-nspawn.
 *
 *     $ mini-docker unpack --bundle 127.0.0.1:5000/busybox /tmp/bb
 *     $ runc run --bundle /tmp/bb bb1          # or: crun run --bundle /tmp/bb bb1
 *     $ umoci unpack --image LAYOUT:TAG /tmp/bb   # what the tools do, for comparison
 *
 * The slides' third specification: the OCI runtime spec says what an engine
 * hands a runtime. A bundle is a directory with rootfs/ (the image's layers,
 * flattened: images.c) and config.json, written here from the image's config:
 *
 *   process.args    Entrypoint, then Cmd (as `docker run IMAGE` would run)
 *   process.env     a default PATH, then the image's Env (a later K replaces it)
 *   process.cwd     WorkingDir, or /
 *   process.user    User, resolved in the rootfs's own etc/passwd and etc/group
 *                   (a runtime takes numbers only), the primary group among the others
 *   capabilities    Docker's 14; no_new_privs; RLIMIT_NOFILE 1024 (runc spec's)
 *   mounts          /proc, /dev and its pts, shm, mqueue, /sys and its cgroup,
 *                   read-only where runc's own `runc spec` makes them so
 *   linux           new pid, network (lo only), ipc, uts, mount, cgroup namespaces;
 *                   the masked and read-only paths mini-docker uses (mounts.c), and
 *                   runc spec's device rule: deny them all (the runtime then allows
 *                   /dev/null, zero, tty ...). It is needed: without it, crun on a
 *                   cgroup v1 host lets the container open a loop or zram disk.
 *   ociVersion      "1.0.0": every field written here is in runtime-spec 1.0.0, and
 *                   systemd-nspawn 252 --oci-bundle refuses any other version ("OCI
 *                   bundle version not supported: 1.0.2"); runc and crun take it.
 *
 * No seccomp profile (`runc spec` writes none either: an engine adds its own),
 * and the image's Volumes are not mounted: a bundle is the runtime's half only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "bundle.h"
#include "mounts.h"
#include "security.h"
#include "util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Entrypoint then Cmd, each a JSON array of strings (or null) */
static json_t *args_of(json_t *cc)
{
	json_t *args = json_array(), *v;
	size_t i;
	const char *keys[] = {"Entrypoint", "Cmd"};
	for (int k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(cc, keys[k]), i, v)
		{
			if (json_is_string(v))
				json_array_append(args, v);
		}
	}
	return args;
}

/* a default PATH, then the image's Env (a later K=... replaces an earlier one), then HOME
 * from the user's passwd entry when the image sets none (as docker's and umoci's) */
static json_t *env_of(json_t *cc, const char *home)
{
	json_t *env = json_array(), *v;
	size_t i;
	json_array_append_new(env, json_string(DEFAULT_PATH));
	json_array_foreach(json_object_get(cc, "Env"), i, v)
	{
		const char *kv = json_string_value(v);
		if (!kv || !strchr(kv, '='))
			continue;
		size_t klen = strcspn(kv, "="), j;
		json_t *old;
		for (j = 0; j < json_array_size(env); j++) {
			old = json_array_get(env, j);
			if (!strncmp(json_string_value(old), kv, klen + 1))
				break;
		}
		if (j < json_array_size(env))
			json_array_set(env, j, v);
		else
			json_array_append(env, v);
	}
	int has_home = 0;
	json_array_foreach(env, i, v)
	{
		has_home |= !strncmp(json_string_value(v), "HOME=", 5);
	}
	if (!has_home) {
		char *kv = xasprintf("HOME=%s", home && *home ? home : "/");
		json_array_append_new(env, json_string(kv));
		free(kv);
	}
	return env;
}

/* User, as numbers from the rootfs's own files (a runtime reads none); its HOME (malloc'd) */
static json_t *user_of(json_t *cc, int rootfd, char **home, struct md_error *err)
{
	uid_t uid = 0;
	gid_t gid = 0, groups[64];
	int n = 0;
	char why[600];
	if (user_lookup(rootfd, json_string_value(json_object_get(cc, "User")), &uid, &gid, groups, &n, home, why,
			sizeof(why)) < 0) {
		md_fail(err, "%s", why);
		return NULL;
	}
	json_t *more = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(more, json_integer(groups[i]));
	return json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)uid, "gid", (json_int_t)gid, "additionalGids", more);
}

static json_t *mnt(const char *dst, const char *type, const char *src, const char *options)
{
	json_t *opts = json_array();
	char *copy = xstrdup(options), *save;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
		json_array_append_new(opts, json_string(o));
	free(copy);
	return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src, "options", opts);
}

/* runc spec's mounts */
static json_t *mounts(void)
{
	return json_pack("[o,o,o,o,o,o,o]", mnt("/proc", "proc", "proc", "nosuid,noexec,nodev"),
			 mnt("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"),
			 mnt("/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"),
			 mnt("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"),
			 mnt("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
			 mnt("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"),
			 mnt("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"));
}

/* "proc/kcore" ... as "/proc/kcore" */
static json_t *paths(const char *(*nth)(size_t))
{
	json_t *list = json_array();
	const char *p;
	for (size_t i = 0; (p = nth(i)); i++) {
		char *abs = xasprintf("/%s", p);
		json_array_append_new(list, json_string(abs));
		free(abs);
	}
	return list;
}

static json_t *capabilities(void)
{
	json_t *set = json_array();
	char buf[64];
	for (size_t i = 0; caps_default_name(i, buf, sizeof(buf)); i++)
		json_array_append_new(set, json_string(buf));
	return json_pack("{s:O,s:O,s:o,s:[],s:[]}", "bounding", set, "effective", set, "permitted", set,
			 "inheritable", "ambient");
}

json_t *bundle_config(json_t *image_config, int rootfd, struct md_error *err)
{
	json_t *cc = json_object_get(image_config, "config");
	json_t *args = args_of(cc), *user, *spec;
	char *home = NULL;
	if (!json_array_size(args)) {
		json_decref(args);
		md_fail(err, "the image has no Entrypoint or Cmd: a bundle needs a command");
		return NULL;
	}
	if (!(user = user_of(cc, rootfd, &home, err))) {
		json_decref(args);
		free(home);
		return NULL;
	}
	const char *cwd = json_string_value(json_object_get(cc, "WorkingDir"));
	spec = json_pack(
	    "{s:s,"
	    " s:{s:b,s:o,s:o,s:o,s:s,s:o,s:[{s:s,s:i,s:i}],s:b},"
	    " s:{s:s,s:b},s:s,s:o,"
	    " s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}],s:o,s:o,s:{s:[{s:b,s:s}]}}}",
	    "ociVersion", "1.0.0",
	    "process", "terminal", 0, "user", user, "args", args, "env", env_of(cc, home), "cwd", cwd && *cwd ? cwd : "/",
	    "capabilities", capabilities(), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
	    "noNewPrivileges", 1,
	    "root", "path", "rootfs", "readonly", 0, "hostname", "mini-docker", "mounts", mounts(),
	    "linux", "namespaces", "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
	    "type", "cgroup", "maskedPaths", paths(mounts_masked), "readonlyPaths", paths(mounts_readonly), "resources",
	    "devices", "allow", 0, "access", "rwm");
	free(home);
	return spec;
}
