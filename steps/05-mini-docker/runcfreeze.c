/*
 * runcfreeze.c: mini-runc pause, resume and ps, on the container's cgroup. pause freezes
 * every process of it at once (the cgroup freezer: runcstate.c says which file), the way
 * docker pause and podman pause do; ps lists its cgroup.procs (podman top, ctr task ps).
 * On cgroup v1 the freezer is a hierarchy of its own: create puts the init in a freezer
 * cgroup too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroups.h"
#include "narrate.h"
#include "ns.h"
#include "runcfreeze.h"
#include "runcstate.h"
#include "state.h"
#include "util.h"

/* v1: a freezer cgroup for pause, at the path of DIRS' first one under CGROUP_ROOT/freezer, with
 * the init (PID) in it: its children are born there. Into FREEZER ("" on v2, or no freezer). */
int runc_freezer_v1(const char *dirs, const char *pid, char *freezer, size_t size)
{
	struct statfs fs;
	struct md_error err;
	const char *rest = strncmp(dirs, CGROUP_ROOT "/", strlen(CGROUP_ROOT "/")) ? NULL
		: strchr(dirs + strlen(CGROUP_ROOT "/"), '/');
	if (!rest || (statfs(CGROUP_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) ||
	    statfs(CGROUP_ROOT "/freezer", &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC)
		return 0;
	snprintf(freezer, size, CGROUP_ROOT "/freezer%.*s", (int)strcspn(rest, " "), rest);
	char *procs = xasprintf("%s/cgroup.procs", freezer);
	int rc = mkdir_p(freezer, 0755, &err) < 0 ? runc_fail("the freezer cgroup: %s", err.msg)
		 : ns_write_file(procs, pid) < 0 ? runc_fail("echo %s > %s: %s", pid, procs, strerror(errno)) : 0;
	free(procs);
	return rc ? -1 : 0;
}

/* write the freezer's file: ON, freeze; else thaw. Waits (a while) until the kernel says it is done. */
int runc_freeze(json_t *j, int on)
{
	char file[4200];
	int v2;
	if (runc_freezer_file(state_str(j, "cgroups"), file, sizeof(file), &v2) < 0)
		return runc_fail("no cgroup freezer for this container (cgroup v2, or v1's freezer hierarchy, needed)");
	narrate("write(\"%s\", \"%s\")", "echo %2$s > %1$s", file, v2 ? (on ? "1" : "0") : on ? "FROZEN" : "THAWED");
	if (ns_write_file(file, v2 ? (on ? "1" : "0") : on ? "FROZEN" : "THAWED") < 0)
		return runc_fail("echo > %s: %s", file, strerror(errno));
	for (int i = 0; i < 500; i++) { /* v1: FREEZING until every task stopped; v2: cgroup.events */
		if (runc_frozen(j) == on)
			return 0;
		usleep(10000);
	}
	return runc_fail("%s: the cgroup did not %s within 5 s", file, on ? "freeze" : "thaw");
}

int runc_pause(const char *id, int on)
{
	json_t *j = runc_load(id);
	pid_t pid;
	if (!j)
		return 1;
	const char *s = runc_status(id, j, &pid);
	int rc = strcmp(s, on ? "running" : "paused")
			 ? runc_fail("container %s is %s, not %s: cannot %s it", id, s, on ? "running" : "paused",
				     on ? "pause" : "resume")
			 : runc_freeze(j, on);
	json_decref(j);
	return rc;
}

/* ps: the container's processes; json: their PIDs (what podman top and containerd read) */
int runc_ps(const char *id, const char *format)
{
	if (format && strcmp(format, "table") && strcmp(format, "json"))
		return runc_fail("ps --format %s: table or json", format);
	json_t *j = runc_load(id), *pids, *p;
	if (!j)
		return 1;
	if (!(pids = runc_cgroup_pids(j)))
		pids = json_array(); /* no cgroup (rootless) or gone: nothing in it */
	size_t i;
	if (format && !strcmp(format, "json")) {
		char *text = json_dumps(pids, JSON_COMPACT);
		puts(text);
		free(text);
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		json_array_foreach(pids, i, p) {
			char path[64], cmd[256] = "";
			snprintf(path, sizeof(path), "/proc/%lld/cmdline", json_integer_value(p));
			FILE *f = fopen(path, "re");
			size_t n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
			for (size_t k = 0; k + 1 < n; k++)
				cmd[k] = cmd[k] ? cmd[k] : ' ';
			if (f)
				fclose(f);
			printf("%-8lld %s\n", json_integer_value(p), cmd);
		}
	}
	json_decref(pids);
	json_decref(j);
	return 0;
}
