/*
 * mini-runc: the OCI runtime command line (runtime-spec runtime.md), on step
 * 05's engine. podman, containerd and CRI-O start containers by calling a
 * binary like this one (runc, crun) on a bundle: a directory with config.json
 * and the root filesystem it names.
 *
 * Usage: mini-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...
 *   create ID [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N]
 *   start ID          state ID          kill ID [SIGNAL] [--all]
 *   delete [--force] ID                 run ID [--bundle DIR] [--detach] ...
 *   spec [--bundle DIR]                 list [--format table|json]     features
 *   ps ID [--format table|json]        pause ID          resume ID
 *   exec [--process FILE] [--detach] [--pid-file F] [--console-socket S] [--tty]
 *        [--cwd DIR] [--env K=V] [--user UID[:GID]] ID [ARGS...]
 *
 * Its own binary, not a mode of mini-docker: engines call a runtime by its
 * path with runc's flags (podman --runtime PATH), and mini-docker's global
 * options and command names (run, kill, rm ...) mean other things. It links
 * the same objects (ns.c's clone, mounts.c, cgroups.c, security.c, become.c);
 * main.c is left out, so no mini-docker command can be reached from it.
 *
 * State: ROOT/ID/state.json (ROOT: --root, default /run/mini-runc) and
 * ROOT/ID/exec.fifo while the container is created but not started. The
 * status is read from the kernel, not remembered: the init's PID alive (and
 * the same process: its start time) with the FIFO there is "created", without
 * it "running" (or "paused" when its cgroup freezer says frozen), a dead or
 * zombie init "stopped".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "exec.h"
#include "narrate.h"
#include "ns.h"
#include "ocihooks.h"
#include "ocirun.h"
#include "ocispec.h"
#include "pty.h"
#include "signals.h"
#include "state.h"
#include "util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static const char *root = "/run/mini-runc";
static const char *log_file, *log_format = "text";

/* one line on stderr, and in --log (JSON lines with --log-format json: podman reads them) */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mini-runc: %s\n", msg);
	FILE *f = log_file ? fopen(log_file, "ae") : NULL;
	if (f && !strcmp(log_format, "json")) {
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
static int id_ok(const char *id)
{
	if (!id || !*id || *id == '.' || strlen(id) > 1024)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
			return 0;
	return 1;
}

static char *path_of(const char *id, const char *name)
{
	return xasprintf("%s/%s%s%s", root, id, name ? "/" : "", name ? name : "");
}

static json_t *load(const char *id)
{
	if (!id_ok(id)) {
		fail("container ID %s: not a valid ID", id ? id : "(none)");
		return NULL;
	}
	char *path = path_of(id, "state.json");
	json_t *j = json_load_file(path, 0, NULL);
	free(path);
	if (!j)
		fail("container %s does not exist", id);
	return j;
}

/*
 * pause and resume: the cgroup freezer. v2: DIR/cgroup.freeze (1, 0), done when cgroup.events
 * says "frozen 1"; v1: freezer.state (FROZEN, THAWED; FREEZING on the way) of a freezer
 * cgroup made beside the others at create (cgroups.c's limits need no freezer hierarchy).
 * FILE: the freezer's file for the state's dirs DIRS; 0, or -1 when there is none.
 */
static int freezer_file(const char *dirs, char *file, size_t size, int *v2)
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

static int frozen(json_t *j)
{
	char file[4200], text[256] = "";
	int v2;
	if (freezer_file(state_str(j, "cgroups"), file, sizeof(file), &v2) < 0)
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
static const char *status(const char *id, json_t *j, pid_t *pid)
{
	*pid = state_alive(j, "init_pid", "init_start");
	if (!*pid)
		return "stopped";
	char *fifo = path_of(id, "exec.fifo");
	int created = access(fifo, F_OK) == 0;
	free(fifo);
	return created ? "created" : frozen(j) ? "paused" : "running";
}

/* the PIDs in the container's cgroup (the first hierarchy lists them all), as a JSON array */
static json_t *cgroup_pids(json_t *j)
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
static json_t *spec_state(const char *id, json_t *j)
{
	pid_t pid;
	const char *s = status(id, j, &pid);
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
static int hooks(const char *id, json_t *j, const char *kind, const char *now, int in, int warn)
{
	json_t *h = json_object_get(j, "hooks");
	if (!json_array_size(json_object_get(h, kind)))
		return 0;
	json_t *st = spec_state(id, j);
	json_object_set_new(st, "status", json_string(now));
	struct oci_join join = {.pid = json_integer_value(json_object_get(st, "pid")),
				.start = state_str(j, "init_start"), .cgroups = state_str(j, "cgroups")};
	struct md_error err;
	int rc = 0;
	if (oci_hooks_run(h, kind, st, in ? &join : NULL, &err) < 0)
		rc = warn ? (fail("warning: %s", err.msg), 0) : fail("%s", err.msg);
	json_decref(st);
	return rc;
}

/* what delete removes, in reverse of create: the cgroup (its processes killed first), the state
 * dir; then the poststop hooks */
static void remove_container(const char *id, json_t *j)
{
	if (j)
		cgroup_remove_dirs(state_str(j, "cgroups"));
	char *dir = path_of(id, NULL);
	rm_rf(dir);
	free(dir);
	if (j)
		hooks(id, j, "poststop", "stopped", 0, 1);
}

static int write_pid_file(const char *file, pid_t pid)
{
	char num[32];
	struct md_error err;
	snprintf(num, sizeof(num), "%d", pid);
	if (write_file_atomic(file, num, strlen(num), &err) < 0)
		return fail("--pid-file: %s", err.msg);
	return 0;
}

static int console_connect(const char *path)
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

/* v1: a freezer cgroup for pause, at the path of DIRS' first one under CGROUP_ROOT/freezer, with
 * the init (PID) in it: its children are born there. Into FREEZER ("" on v2, or no freezer). */
static int freezer_v1(const char *dirs, const char *pid, char *freezer, size_t size)
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
	int rc = mkdir_p(freezer, 0755, &err) < 0 ? fail("the freezer cgroup: %s", err.msg)
		 : ns_write_file(procs, pid) < 0 ? fail("echo %s > %s: %s", pid, procs, strerror(errno)) : 0;
	free(procs);
	return rc ? -1 : 0;
}

struct create_args {
	const char *id, *bundle, *pid_file, *console;
	int no_pivot, detach, preserve_fds;
	int console_fd; /* run in the foreground: our end for the pty's master instead of --console-socket, or -1 */
};

/* create: everything up to the gate; *PID the init. On failure nothing stays. */
static int create(const struct create_args *a, struct oci_config *oc, pid_t *pid)
{
	struct md_error err = {0};
	char *dir = path_of(a->id, NULL), *fifo = path_of(a->id, "exec.fifo"), *state = path_of(a->id, "state.json");
	int rc = 1, made = 0, console = -1, gate = -1;
	char freezer[4200] = "";
	json_t *j = NULL;
	*pid = -1;
	memset(oc, 0, sizeof(*oc));
	if (!id_ok(a->id)) {
		rc = fail("container ID %s: letters, digits and _+-. only, not starting with a dot", a->id ? a->id : "(none)");
		goto out;
	}
	if (oci_load(a->bundle, oc, &err) < 0) {
		rc = fail("%s", err.msg);
		goto out;
	}
	oc->preserve_fds = a->preserve_fds;
	if (oc->terminal && !a->console && a->console_fd < 0) {
		rc = fail("process.terminal is true: give --console-socket (its pty's master goes there)");
		goto out;
	}
	if (!oc->terminal && a->console) {
		rc = fail("--console-socket without process.terminal: nothing to send");
		goto out;
	}
	if (mkdir_p(root, 0700, &err) < 0) {
		rc = fail("--root: %s", err.msg);
		goto out;
	}
	if (mkdir(dir, 0700) < 0) {
		rc = errno == EEXIST ? fail("container %s exists already", a->id) : fail("mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	made = 1;
	char cgpath[2048];
	if (!oc->rc.cgroup_path) { /* runc's default is /ID; ours groups them, as mini-docker's */
		snprintf(cgpath, sizeof(cgpath), "mini-runc/%s", a->id);
		oc->rc.cgroup_path = cgpath;
	}
	if (cgroup_setup(&oc->rc, &err) < 0) {
		rc = fail("%s", err.msg);
		goto out;
	}
	/* 0622: the init may write to it after it changed its uid (runc's exec.fifo); an O_PATH fd
	 * of it goes to the init, which may not be allowed into ROOT (a user namespace's root) */
	if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0 || (gate = open(fifo, O_PATH | O_CLOEXEC)) < 0) {
		rc = fail("mkfifo %s: %s", fifo, strerror(errno));
		goto out;
	}
	if (a->console && (console = console_connect(a->console)) < 0) {
		rc = fail("--console-socket %s: %s", a->console, strerror(errno));
		goto out;
	}
	if (!a->console && oc->terminal)
		console = a->console_fd; /* the caller's: not closed here */
	*pid = oci_create_init(oc, &(struct oci_create){.fifo = gate, .console = console, .no_pivot = a->no_pivot},
			       &err);
	if (*pid < 0) {
		rc = fail("%s", err.msg);
		goto out;
	}
	char num[32], start[32], now[40];
	snprintf(num, sizeof(num), "%d", *pid);
	if (freezer_v1(cgroup_dirs(), num, freezer, sizeof(freezer)) < 0)
		goto out;
	char *dirs = xasprintf("%s%s%s", cgroup_dirs(), *freezer ? " " : "", freezer);
	proc_start_time(*pid, start, sizeof(start));
	time_now(now, sizeof(now));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", a->id, "init_pid", num, "init_start", start, "bundle",
		      oc->bundle, "created", now, "cgroups", dirs);
	free(dirs);
	if (oc->annotations)
		json_object_set(j, "annotations", oc->annotations);
	if (json_object_get(oc->json, "hooks"))
		json_object_set(j, "hooks", json_object_get(oc->json, "hooks"));
	char *text = json_dumps(j, JSON_INDENT(2));
	int w = write_file_atomic(state, text, strlen(text), &err);
	free(text);
	if (w < 0) {
		rc = fail("%s", err.msg);
		goto out;
	}
	/* the init waits at the gate, its namespaces made: a failing hook fails create, undone */
	if (hooks(a->id, j, "prestart", "creating", 0, 0) || hooks(a->id, j, "createRuntime", "creating", 0, 0) ||
	    hooks(a->id, j, "createContainer", "creating", 1, 0))
		goto out;
	if (a->pid_file && write_pid_file(a->pid_file, *pid))
		goto out;
	rc = 0;
out:
	if (console >= 0 && console != a->console_fd)
		close(console);
	if (gate >= 0)
		close(gate);
	if (rc && *pid > 0) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		*pid = -1;
	}
	json_decref(j);
	if (rc) {
		cgroup_remove();
		if (*freezer)
			rmdir(freezer);
		if (made)
			rm_rf(dir);
	}
	free(dir);
	free(fifo);
	free(state);
	return rc;
}

/* start: open exec.fifo to read: the init's open to write returns, it reads nothing more and execs */
static int start(const char *id)
{
	json_t *j = load(id);
	pid_t pid;
	if (!j)
		return 1;
	const char *s = status(id, j, &pid);
	if (strcmp(s, "created")) {
		json_decref(j);
		return fail("container %s is %s, not created: cannot start it", id, s);
	}
	/* the spec: a failing startContainer hook stops the container */
	if (hooks(id, j, "startContainer", "created", 1, 0)) {
		kill(pid, SIGKILL);
		json_decref(j);
		return 1;
	}
	char *fifo = path_of(id, "exec.fifo");
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc = 0;
	char byte;
	/* the init may have died meanwhile: wait for its byte a while, not forever */
	if (fd < 0 || poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 10000) != 1 || read(fd, &byte, 1) != 1)
		rc = fail("start %s: the init did not answer on exec.fifo", id);
	else
		unlink(fifo);
	if (fd >= 0)
		close(fd);
	free(fifo);
	if (!rc)
		hooks(id, j, "poststart", "running", 0, 1);
	json_decref(j);
	return rc;
}

static int cmd_state(const char *id)
{
	json_t *j = load(id);
	if (!j)
		return 1;
	json_t *out = spec_state(id, j);
	char *text = json_dumps(out, JSON_INDENT(2));
	puts(text);
	free(text);
	json_decref(out);
	json_decref(j);
	return 0;
}

static int cmd_kill(const char *id, const char *sig_name, int all)
{
	int sig = sig_name ? parse_signal(sig_name) : SIGTERM;
	if (sig < 0)
		return fail("kill: %s is not a signal (a name: TERM, SIGKILL, or a number)", sig_name);
	json_t *j = load(id);
	pid_t pid;
	if (!j)
		return 1;
	const char *s = status(id, j, &pid);
	int rc = 0;
	if (!pid) {
		rc = fail("container %s is %s: no process to signal", id, s);
	} else if (all) {
		/* every process of its cgroup */
		json_t *pids = cgroup_pids(j), *p;
		size_t i;
		json_array_foreach(pids, i, p)
			kill(json_integer_value(p), sig);
		if (!pids)
			kill(pid, sig);
		json_decref(pids);
	} else if (kill(pid, sig) < 0) {
		rc = fail("kill %d: %s", pid, strerror(errno));
	}
	json_decref(j);
	return rc;
}

/* write the freezer's file: ON, freeze; else thaw. Waits (a while) until the kernel says it is done. */
static int freeze(json_t *j, int on)
{
	char file[4200];
	int v2;
	if (freezer_file(state_str(j, "cgroups"), file, sizeof(file), &v2) < 0)
		return fail("no cgroup freezer for this container (cgroup v2, or v1's freezer hierarchy, needed)");
	narrate("write(\"%s\", \"%s\")", "echo %2$s > %1$s", file, v2 ? (on ? "1" : "0") : on ? "FROZEN" : "THAWED");
	if (ns_write_file(file, v2 ? (on ? "1" : "0") : on ? "FROZEN" : "THAWED") < 0)
		return fail("echo > %s: %s", file, strerror(errno));
	for (int i = 0; i < 500; i++) { /* v1: FREEZING until every task stopped; v2: cgroup.events */
		if (frozen(j) == on)
			return 0;
		usleep(10000);
	}
	return fail("%s: the cgroup did not %s within 5 s", file, on ? "freeze" : "thaw");
}

static int cmd_pause(const char *id, int on)
{
	json_t *j = load(id);
	pid_t pid;
	if (!j)
		return 1;
	const char *s = status(id, j, &pid);
	int rc = strcmp(s, on ? "running" : "paused")
			 ? fail("container %s is %s, not %s: cannot %s it", id, s, on ? "running" : "paused",
				on ? "pause" : "resume")
			 : freeze(j, on);
	json_decref(j);
	return rc;
}

/* ps: the container's processes; json: their PIDs (what podman top and containerd read) */
static int cmd_ps(const char *id, const char *format)
{
	if (format && strcmp(format, "table") && strcmp(format, "json"))
		return fail("ps --format %s: table or json", format);
	json_t *j = load(id), *pids, *p;
	if (!j)
		return 1;
	if (!(pids = cgroup_pids(j)))
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

static int cmd_delete(const char *id, int force)
{
	json_t *j = load(id);
	pid_t pid;
	if (!j)
		return force && id_ok(id) ? 0 : 1; /* --force on what is gone: runc says nothing */
	const char *s = status(id, j, &pid);
	if (pid && !force) {
		json_decref(j);
		return fail("container %s is %s: stop it first, or delete --force", id, s);
	}
	if (pid) {
		if (frozen(j)) /* a frozen (v1) task takes no SIGKILL until thawed: runc thaws too */
			freeze(j, 0);
		kill(pid, SIGKILL);
		for (int i = 0; i < 500 && state_alive(j, "init_pid", "init_start"); i++)
			usleep(10000);
	}
	remove_container(id, j);
	json_decref(j);
	return 0;
}

static pid_t foreground; /* run: the init, to pass the terminal's signals on */
static void pass_on(int sig)
{
	if (foreground > 0)
		kill(foreground, sig);
}

static int cmd_run(const struct create_args *a)
{
	struct oci_config oc;
	struct create_args own = *a;
	struct md_error err;
	pid_t pid;
	int sv[2] = {-1, -1}, master = -1;
	/* in the foreground without --console-socket a terminal is ours, as runc's: the init sends
	 * the pty's master over a socketpair, and our terminal is pumped to and from it (pty.c) */
	if (!a->detach && !a->console && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0)
		own.console_fd = sv[1];
	int rc = create(&own, &oc, &pid), terminal = oc.terminal;
	oci_free(&oc);
	if (sv[1] >= 0)
		close(sv[1]);
	if (!rc && terminal && sv[0] >= 0 && (master = pty_receive(sv[0], &err)) < 0) {
		rc = fail("%s", err.msg);
		cmd_delete(a->id, 1);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (rc)
		return 1;
	foreground = pid;
	if (!a->detach) {
		int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], pass_on);
	}
	if (start(a->id)) {
		if (master >= 0)
			close(master);
		cmd_delete(a->id, 1);
		return 1;
	}
	if (a->detach)
		return 0;
	if (master >= 0)
		pty_pump(master, 1, pid); /* until the container's side of the pty closes */
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	json_t *j = load(a->id);
	remove_container(a->id, j);
	json_decref(j);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

struct exec_args {
	const char *process, *cwd, *user, *pid_file, *console;
	const char *env[64];
	int n_env, tty, detach, preserve_fds;
	char **argv; /* ARGS, NULL-terminated (none with --process) */
};

/* exec's process: --process FILE (the spec's process object) as given, or the config's with
 * ARGS, --cwd, --env, --user UID[:GID], --tty over it (runc exec's flags) */
static json_t *exec_process(const struct exec_args *a, const struct oci_config *oc)
{
	json_error_t je;
	if (a->process) {
		json_t *p = json_load_file(a->process, JSON_REJECT_DUPLICATES, &je);
		if (!p || !json_is_object(p))
			fail("--process %s: %s", a->process, p ? "not a JSON object" : je.text);
		if (p && !json_is_object(p))
			json_decref(p), p = NULL;
		return p;
	}
	json_t *p = json_deep_copy(json_object_get(oc->json, "process")), *args = json_array(), *env;
	for (char **s = a->argv; *s; s++)
		json_array_append_new(args, json_string(*s));
	json_object_set_new(p, "args", args);
	if (a->cwd)
		json_object_set_new(p, "cwd", json_string(a->cwd));
	if (!json_is_array(env = json_object_get(p, "env")))
		json_object_set_new(p, "env", env = json_array());
	for (int i = 0; i < a->n_env; i++)
		json_array_append_new(env, json_string(a->env[i]));
	json_object_set_new(p, "terminal", json_boolean(a->tty));
	if (a->user) {
		char *end;
		long uid = strtol(a->user, &end, 10), gid = 0;
		if (*end == ':')
			gid = strtol(end + 1, &end, 10);
		if (end == a->user || *end || uid < 0 || gid < 0) {
			json_decref(p);
			fail("--user %s: UID or UID:GID, numeric", a->user);
			return NULL;
		}
		json_t *u = json_object_get(p, "user");
		if (!json_is_object(u))
			json_object_set_new(p, "user", u = json_object());
		json_object_set_new(u, "uid", json_integer(uid));
		json_object_set_new(u, "gid", json_integer(gid));
	}
	return p;
}

/* in a child (the joiner): into the container (exec.c's exec_join), then fork the process that
 * becomes the command, born in the container's PID namespace; its PID (ours) goes up REPORT */
static void exec_joiner(json_t *j, pid_t init, const struct oci_config *oc, int console, int report)
{
	struct md_error err;
	if (exec_join(init, state_str(j, "init_start"), state_str(j, "cgroups"), &err) < 0) {
		fail("exec: %s", err.msg);
		_exit(EXIT_ENGINE);
	}
	int n, slave = oc->terminal ? pty_open_send(console, &n) : -1; /* cwd: the container's / */
	pid_t child = fork();
	if (child == 0) {
		close(report);
		oci_become(oc, slave, -1, -1);
	}
	if (child < 0 || write(report, &child, sizeof(child)) != sizeof(child))
		_exit(EXIT_ENGINE);
	_exit(0);
}

/* exec: a new process in a running container, as runc exec (podman exec, ctr task exec) */
static int runc_exec(const char *id, const struct exec_args *a)
{
	json_t *j = load(id), *p = NULL;
	pid_t init, child = -1;
	struct oci_config oc = {0};
	struct md_error err;
	int rc = 1, console = -1, report[2] = {-1, -1};
	if (!j)
		return 1;
	const char *s = status(id, j, &init);
	if (strcmp(s, "running")) {
		rc = fail("container %s is %s, not running: cannot exec in it", id, s);
		goto out;
	}
	if (oci_load(state_str(j, "bundle"), &oc, &err) < 0) {
		rc = fail("%s", err.msg);
		goto out;
	}
	if (!(p = exec_process(a, &oc)))
		goto out;
	if (oci_process(p, &oc, &err) < 0) {
		rc = fail("exec: %s", err.msg);
		goto out;
	}
	oc.preserve_fds = a->preserve_fds;
	if (oc.terminal != !!a->console) {
		rc = fail(oc.terminal ? "exec with a terminal: give --console-socket (its pty's master goes there)"
				      : "--console-socket without a terminal (--tty or process.terminal): nothing to send");
		goto out;
	}
	if (a->console && (console = console_connect(a->console)) < 0) {
		rc = fail("--console-socket %s: %s", a->console, strerror(errno));
		goto out;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		rc = fail("pipe: %s", strerror(errno));
		goto out;
	}
	/* foreground: the command is reparented to us when the joiner exits, for its status */
	if (!a->detach && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		rc = fail("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t joiner = fork();
	if (joiner == 0) {
		close(report[0]);
		exec_joiner(j, init, &oc, console, report[1]);
	}
	close(report[1]);
	report[1] = -1;
	if (joiner < 0 || read(report[0], &child, sizeof(child)) != sizeof(child))
		child = -1;
	while (joiner > 0 && waitpid(joiner, NULL, 0) < 0 && errno == EINTR)
		;
	if (child < 0) {
		rc = joiner < 0 ? fail("fork: %s", strerror(errno)) : EXIT_ENGINE; /* the joiner said why */
		goto out;
	}
	if (a->pid_file && write_pid_file(a->pid_file, child)) {
		kill(child, SIGKILL);
		goto out;
	}
	if (a->detach) {
		rc = 0;
		goto out;
	}
	foreground = child;
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], pass_on);
	int st;
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR) {
			rc = fail("waitpid %d: %s", child, strerror(errno));
			goto out;
		}
	rc = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
out:
	for (int i = 0; i < 2; i++)
		if (report[i] >= 0)
			close(report[i]);
	if (console >= 0)
		close(console);
	oci_free(&oc);
	json_decref(p);
	json_decref(j);
	return rc;
}

static int cmd_spec(const char *bundle)
{
	char *path = xasprintf("%s/config.json", bundle ? bundle : ".");
	json_t *j = oci_default_spec();
	int rc = 0;
	if (access(path, F_OK) == 0)
		rc = fail("%s exists: remove it first", path);
	else if (json_dump_file(j, path, JSON_INDENT(2)) < 0)
		rc = fail("write %s: %s", path, strerror(errno));
	json_decref(j);
	free(path);
	return rc;
}

static int cmd_list(const char *format, int quiet)
{
	json_t *all = json_array();
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *path = path_of(e->d_name, "state.json");
		json_t *j = id_ok(e->d_name) ? json_load_file(path, 0, NULL) : NULL;
		free(path);
		if (!j)
			continue;
		json_array_append_new(all, spec_state(e->d_name, j));
		json_decref(j);
	}
	if (d)
		closedir(d);
	size_t i;
	json_t *s;
	if (format && !strcmp(format, "json")) {
		char *text = json_dumps(all, JSON_COMPACT);
		puts(text);
		free(text);
	} else {
		if (!quiet)
			printf("%-20s %-8s %-10s %s\n", "ID", "PID", "STATUS", "BUNDLE");
		json_array_foreach(all, i, s) {
			if (quiet)
				printf("%s\n", json_string_value(json_object_get(s, "id")));
			else
				printf("%-20s %-8lld %-10s %s\n", json_string_value(json_object_get(s, "id")),
				       json_integer_value(json_object_get(s, "pid")),
				       json_string_value(json_object_get(s, "status")),
				       json_string_value(json_object_get(s, "bundle")));
		}
	}
	json_decref(all);
	return 0;
}

/* runtime-spec features.md: what this runtime knows, for engines to ask */
static int cmd_features(void)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s], s:{s:[s,s,s,s,s,s,s], s:{s:b, s:b, s:b}, s:{s:b, s:[s,s,s,s,s,s,s], "
		"s:[s,s,s,s,s,s,s,s], s:[]}}, s:{s:s}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION, "mountOptions", "ro", "rw", "nosuid", "nodev",
		"noexec", "bind", "rbind", "hooks", "prestart", "createRuntime", "createContainer", "startContainer",
		"poststart", "poststop", "linux", "namespaces", "pid", "network", "mount", "ipc", "uts", "user",
		"cgroup", "cgroup", "v1", 1, "v2", 1, "systemd", 0, "seccomp", "enabled", 1, "actions", "SCMP_ACT_ALLOW",
		"SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
		"SCMP_ACT_LOG", "operators", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
		"SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_MASKED_EQ", "archs", "annotations",
		"org.opencontainers.runc.version", "mini-runc");
	if (!j)
		return fail("features: internal error");
	char *text = json_dumps(j, JSON_INDENT(2));
	puts(text);
	free(text);
	json_decref(j);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: mini-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND\n"
			"  create ID [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N]\n"
			"  start ID | state ID | kill ID [SIGNAL] [--all] | delete [--force] ID\n"
			"  run ID [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] [--no-pivot]\n"
			"  exec [--process FILE | ...] [--detach] [--pid-file F] [--console-socket S] [--tty]\n"
			"       [--cwd DIR] [--env K=V] [--user UID[:GID]] ID [ARGS...]\n"
			"  ps [--format table|json] ID | pause ID | resume ID\n"
			"  spec [--bundle DIR] | list [--format table|json] [-q] | features\n");
	return 2;
}

/* a command's options (getopt_long: before or after the ID, as runc's), then exactly WANT operands */
static int command(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bundle", required_argument, 0, 'b'}, {"pid-file", required_argument, 0, 'I'},
		{"console-socket", required_argument, 0, 'c'}, {"no-pivot", no_argument, 0, 'P'},
		{"detach", no_argument, 0, 'd'}, {"force", no_argument, 0, 'f'}, {"all", no_argument, 0, 'a'},
		{"format", required_argument, 0, 'F'}, {"quiet", no_argument, 0, 'q'},
		{"no-new-keyring", no_argument, 0, 'K'}, {"preserve-fds", required_argument, 0, 'R'},
		{"process", required_argument, 0, 'p'}, {"cwd", required_argument, 0, 'C'},
		{"env", required_argument, 0, 'e'}, {"user", required_argument, 0, 'u'}, {"tty", no_argument, 0, 't'},
		{0, 0, 0, 0},
	};
	const char *cmd = argv[0];
	struct create_args a = {.bundle = ".", .console_fd = -1};
	struct exec_args x = {0};
	const char *format = NULL;
	int force = 0, all = 0, quiet = 0, c;
	optind = 1;
	opterr = 0;
	/* exec: options before the ID only (runc's), so that exec ID ls -l gives -l to ls */
	while ((c = getopt_long(argc, argv, strcmp(cmd, "exec") ? "b:dfaqF:" : "+b:dp:e:u:t", opts, NULL)) != -1) {
		switch (c) {
		case 'b': a.bundle = optarg; break;
		case 'I': a.pid_file = x.pid_file = optarg; break;
		case 'c': a.console = x.console = optarg; break;
		case 'P': a.no_pivot = 1; break;
		case 'd': a.detach = x.detach = 1; break;
		case 'p': x.process = optarg; break;
		case 'C': x.cwd = optarg; break;
		case 'u': x.user = optarg; break;
		case 't': x.tty = 1; break;
		case 'e':
			if (x.n_env >= 64)
				return fail("exec: more than 64 --env");
			x.env[x.n_env++] = optarg;
			break;
		case 'f': force = 1; break;
		case 'a': all = 1; break;
		case 'F': format = optarg; break;
		case 'q': quiet = 1; break;
		case 'K': break; /* no session keyring is made in any case */
		case 'R': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (end == optarg || *end || n < 0 || n > 1024)
				return fail("--preserve-fds %s: a number of descriptors, 0 to 1024", optarg);
			a.preserve_fds = x.preserve_fds = n; /* 3..3+N-1 go to the container's process */
			break;
		}
		default: return fail("%s: unknown option %s", cmd, argv[optind - 1]);
		}
	}
	char **ops = argv + optind;
	int n = argc - optind;
	a.id = n ? ops[0] : NULL;
	if (!strcmp(cmd, "spec"))
		return n ? usage() : cmd_spec(a.bundle);
	if (!strcmp(cmd, "list"))
		return n ? usage() : cmd_list(format, quiet);
	if (!strcmp(cmd, "features"))
		return n ? usage() : cmd_features();
	if (!strcmp(cmd, "exec")) {
		x.argv = ops + (n > 0);
		if (n < 1 || (x.process ? n != 1 : n < 2))
			return usage();
		return runc_exec(a.id, &x);
	}
	if (!strcmp(cmd, "kill"))
		return n < 1 || n > 2 ? usage() : cmd_kill(a.id, n == 2 ? ops[1] : NULL, all);
	if (n != 1)
		return usage();
	if (!strcmp(cmd, "create")) {
		struct oci_config oc;
		pid_t pid;
		int rc = create(&a, &oc, &pid);
		oci_free(&oc);
		return rc;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(&a);
	if (!strcmp(cmd, "start"))
		return start(a.id);
	if (!strcmp(cmd, "state"))
		return cmd_state(a.id);
	if (!strcmp(cmd, "delete"))
		return cmd_delete(a.id, force);
	if (!strcmp(cmd, "ps"))
		return cmd_ps(a.id, format);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		return cmd_pause(a.id, !strcmp(cmd, "pause"));
	return fail("%s: unknown command (see mini-runc --help)", cmd);
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *eq = strchr(a, '='), *v = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		int takes = 0;
		if (!strncmp(a, "--root", len) && len == 6)
			root = v, takes = 1;
		else if (!strncmp(a, "--log", len) && len == 5)
			log_file = v, takes = 1;
		else if (!strncmp(a, "--log-format", len) && len == 12)
			log_format = v, takes = 1;
		else if (!strcmp(a, "--debug"))
			md_verbose = 1;
		else if (!strcmp(a, "--systemd-cgroup"))
			return fail("--systemd-cgroup: mini-runc manages cgroupfs only (podman: --cgroup-manager cgroupfs)");
		else if (!strncmp(a, "--rootless", 10))
			takes = !eq && v && (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "auto"));
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(), 0;
		else if (!strcmp(a, "-v") || !strcmp(a, "--version"))
			return printf("mini-runc version 0.1\nspec: %s\n", OCI_VERSION), 0;
		else
			return fail("unknown global option %s", a);
		if (takes && !v)
			return fail("%.*s needs a value", (int)len, a);
		if (takes && !eq)
			i++;
	}
	if (log_format && strcmp(log_format, "text") && strcmp(log_format, "json"))
		return fail("--log-format %s: text or json", log_format);
	if (i >= argc)
		return usage();
	return command(argc - i, argv + i);
}
