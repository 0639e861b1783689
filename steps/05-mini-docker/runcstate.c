/*
 * runcstate.c: what mini-runc's commands share (runc.c, runcexec.c, runcfreeze.c): its
 * errors, the container's ID and state.json under --root, its status read from the
 * kernel (runc.c's head comment), the spec's state and the hooks that get it on stdin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroups.h"
#include "ocihooks.h"
#include "ocispec.h"
#include "runcstate.h"
#include "state.h"
#include "util.h"

const char *runc_root = "/run/mini-runc";
const char *runc_log_file, *runc_log_format = "text";

/* one line on stderr, and in --log (JSON lines with --log-format json: podman reads them) */
int runc_fail(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mini-runc: %s\n", msg);
	FILE *f = runc_log_file ? fopen(runc_log_file, "ae") : NULL;
	if (f && !strcmp(runc_log_format, "json")) {
		char now[40];
		time_now(now, sizeof(now));
		json_t *j = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", msg, "time", now);
		json_dumpf(j, f, JSON_COMPACT);
		fputc('\n', f);
		json_decref(j);
	} else if (f) {
		fprintf(f, "mini-runc: %s\n", msg);
	}
	if (f)
		fclose(f);
	return 1;
}

/* the spec leaves IDs to the runtime: runc's rule, a name that is also a safe file name */
int runc_id_ok(const char *id)
{
	if (!id || !*id || *id == '.' || strlen(id) > 1024)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
			return 0;
	return 1;
}

char *runc_path(const char *id, const char *name)
{
	return xasprintf("%s/%s%s%s", runc_root, id, name ? "/" : "", name ? name : "");
}

json_t *runc_load(const char *id)
{
	if (!runc_id_ok(id)) {
		runc_fail("container ID %s: not a valid ID", id ? id : "(none)");
		return NULL;
	}
	char *path = runc_path(id, "state.json");
	json_t *j = json_load_file(path, 0, NULL);
	free(path);
	if (!j)
		runc_fail("container %s does not exist", id);
	return j;
}

/*
 * the cgroup freezer (pause and resume: runcfreeze.c). v2: DIR/cgroup.freeze (1, 0), done when
 * cgroup.events says "frozen 1"; v1: freezer.state (FROZEN, THAWED; FREEZING on the way) of a
 * freezer cgroup made beside the others at create (cgroups.c's limits need no freezer hierarchy).
 * FILE: the freezer's file for the state's dirs DIRS; 0, or -1 when there is none.
 */
int runc_freezer_file(const char *dirs, char *file, size_t size, int *v2)
{
	char *copy = xstrdup(dirs), *save, *d;
	int rc = -1;
	for (d = strtok_r(copy, " ", &save); d && rc; d = strtok_r(NULL, " ", &save)) {
		*v2 = strncmp(d, CGROUP_ROOT "/freezer/", strlen(CGROUP_ROOT "/freezer/")) != 0;
		snprintf(file, size, "%s/%s", d, *v2 ? "cgroup.freeze" : "freezer.state");
		rc = access(file, F_OK);
	}
	free(copy);
	return rc;
}

int runc_frozen(json_t *j)
{
	char file[4200], text[256] = "";
	int v2;
	if (runc_freezer_file(state_str(j, "cgroups"), file, sizeof(file), &v2) < 0)
		return 0;
	if (v2)
		strcpy(strrchr(file, '/'), "/cgroup.events");
	FILE *f = fopen(file, "re");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[n] = 0;
	if (f)
		fclose(f);
	return v2 ? strstr(text, "frozen 1") != NULL : !strncmp(text, "FROZEN", 6);
}

/* from the kernel, each time: see the head comment */
const char *runc_status(const char *id, json_t *j, pid_t *pid)
{
	*pid = state_alive(j, "init_pid", "init_start");
	if (!*pid)
		return "stopped";
	char *fifo = runc_path(id, "exec.fifo");
	int created = access(fifo, F_OK) == 0;
	free(fifo);
	return created ? "created" : runc_frozen(j) ? "paused" : "running";
}

/* the PIDs in the container's cgroup (the first hierarchy lists them all), as a JSON array */
json_t *runc_cgroup_pids(json_t *j)
{
	char dirs[8192];
	snprintf(dirs, sizeof(dirs), "%s", state_str(j, "cgroups"));
	dirs[strcspn(dirs, " ")] = 0;
	char *procs = xasprintf("%s/cgroup.procs", dirs);
	FILE *f = *dirs ? fopen(procs, "re") : NULL;
	json_t *pids = f ? json_array() : NULL;
	int p;
	while (f && fscanf(f, "%d", &p) == 1)
		json_array_append_new(pids, json_integer(p));
	if (f)
		fclose(f);
	free(procs);
	return pids;
}

/* the spec's state: ociVersion, id, status, pid (not when stopped), bundle, annotations */
json_t *runc_spec_state(const char *id, json_t *j)
{
	pid_t pid;
	const char *s = runc_status(id, j, &pid);
	json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "ociVersion", OCI_VERSION, "id", id, "status", s, "bundle",
				state_str(j, "bundle"));
	if (pid)
		json_object_set_new(out, "pid", json_integer(pid));
	json_t *a = json_object_get(j, "annotations");
	json_object_set_new(out, "annotations", a ? json_deep_copy(a) : json_object());
	json_object_set(out, "created", json_object_get(j, "created"));
	return out;
}

/*
 * config.json's hooks of KIND (state.json keeps them from create), the state on their stdin
 * with the status the spec gives that point; IN: in the container's namespaces (ocihooks.c).
 * A failure: 1 and its error; WARN (poststart, poststop): a warning, and on.
 */
int runc_hooks(const char *id, json_t *j, const char *kind, const char *now, int in, int warn)
{
	json_t *h = json_object_get(j, "hooks");
	if (!json_array_size(json_object_get(h, kind)))
		return 0;
	json_t *st = runc_spec_state(id, j);
	json_object_set_new(st, "status", json_string(now));
	struct oci_join join = {.pid = json_integer_value(json_object_get(st, "pid")),
				.start = state_str(j, "init_start"), .cgroups = state_str(j, "cgroups")};
	struct md_error err;
	int rc = 0;
	if (oci_hooks_run(h, kind, st, in ? &join : NULL, &err) < 0)
		rc = warn ? (runc_fail("warning: %s", err.msg), 0) : runc_fail("%s", err.msg);
	json_decref(st);
	return rc;
}

int runc_pid_file(const char *file, pid_t pid)
{
	char num[32];
	struct md_error err;
	snprintf(num, sizeof(num), "%d", pid);
	if (write_file_atomic(file, num, strlen(num), &err) < 0)
		return runc_fail("--pid-file: %s", err.msg);
	return 0;
}

int runc_console_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return errno = ENAMETOOLONG, -1;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static pid_t foreground; /* run, exec: the process to pass the terminal's signals on to */
static void pass_on(int sig)
{
	if (foreground > 0)
		kill(foreground, sig);
}

void runc_forward_signals(pid_t pid, int winch)
{
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}; /* SIGWINCH last */
	size_t n = sizeof(sigs) / sizeof(sigs[0]) - (winch ? 0 : 1);
	foreground = pid;
	for (size_t i = 0; i < n; i++)
		signal(sigs[i], pass_on);
}
