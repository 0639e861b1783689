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
 * This file: the command line and the lifecycle (create, start, state, kill,
 * delete, run; spec, list, features). What the commands share, the state and
 * the status below, is runcstate.c; exec is runcexec.c; pause, resume and ps,
 * on the cgroup, are runcfreeze.c.
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
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "narrate.h"
#include "ocirun.h"
#include "ocispec.h"
#include "pty.h"
#include "runcexec.h"
#include "runcfreeze.h"
#include "runcstate.h"
#include "signals.h"
#include "state.h"
#include "util.h"

/* what delete removes, in reverse of create: the cgroup (its processes killed first), the state
 * dir; then the poststop hooks */
static void remove_container(const char *id, json_t *j)
{
	if (j)
		cgroup_remove_dirs(state_str(j, "cgroups"));
	char *dir = runc_path(id, NULL);
	rm_rf(dir);
	free(dir);
	if (j)
		runc_hooks(id, j, "poststop", "stopped", 0, 1);
}


struct create_args {
	const char *id, *bundle, *pid_file, *console;
	int no_pivot, detach, preserve_fds;
	int console_fd; /* run in the foreground: our end for the pty's master instead of --console-socket, or -1 */
};

/* what create does while its init waits before pivot_root */
struct pivot_stop {
	const struct create_args *a;
	struct oci_config *oc;
	const char *state;
	char *freezer; /* a v1 freezer cgroup made for it, or "" */
	size_t freezer_size;
	json_t *j; /* the state written */
};

/* The init has its mounts, not yet its root (runtime-spec: the create-time hooks' point): the
 * state file, the v1 freezer, then prestart, createRuntime (ours) and createContainer (the
 * container's namespaces: the host's tree with the rootfs mounted in it, as runc's). */
static int before_pivot(pid_t pid, void *arg, struct md_error *err)
{
	struct pivot_stop *p = arg;
	char num[32], start[32], now[40];
	snprintf(num, sizeof(num), "%d", pid);
	if (runc_freezer_v1(cgroup_dirs(), num, p->freezer, p->freezer_size) < 0)
		return -1;
	char *dirs = xasprintf("%s%s%s", cgroup_dirs(), *p->freezer ? " " : "", p->freezer);
	proc_start_time(pid, start, sizeof(start));
	time_now(now, sizeof(now));
	json_t *j = p->j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", p->a->id, "init_pid", num, "init_start",
				     start, "bundle", p->oc->bundle, "created", now, "cgroups", dirs);
	free(dirs);
	if (p->oc->annotations)
		json_object_set(j, "annotations", p->oc->annotations);
	if (json_object_get(p->oc->json, "hooks"))
		json_object_set(j, "hooks", json_object_get(p->oc->json, "hooks"));
	char *text = json_dumps(j, JSON_INDENT(2));
	int w = write_file_atomic(p->state, text, strlen(text), err);
	free(text);
	if (w < 0)
		return -1;
	/* a failing hook fails create, undone */
	if (runc_hooks(p->a->id, j, "prestart", "creating", 0, 0) ||
	    runc_hooks(p->a->id, j, "createRuntime", "creating", 0, 0) ||
	    runc_hooks(p->a->id, j, "createContainer", "creating", 1, 0))
		return -1;
	return 0;
}

/* create: everything up to the gate; *PID the init. On failure nothing stays. */
static int create(const struct create_args *a, struct oci_config *oc, pid_t *pid)
{
	struct md_error err = {0};
	char *dir = runc_path(a->id, NULL), *fifo = runc_path(a->id, "exec.fifo");
	char *state = runc_path(a->id, "state.json");
	int rc = 1, made = 0, console = -1, gate = -1;
	char freezer[4200] = "";
	json_t *j = NULL;
	*pid = -1;
	memset(oc, 0, sizeof(*oc));
	if (!runc_id_ok(a->id)) {
		rc = runc_fail("container ID %s: letters, digits and _+-. only, not starting with a dot",
			       a->id ? a->id : "(none)");
		goto out;
	}
	if (oci_load(a->bundle, oc, &err) < 0) {
		rc = runc_fail("%s", err.msg);
		goto out;
	}
	oc->preserve_fds = a->preserve_fds;
	if (oc->terminal && !a->console && a->console_fd < 0) {
		rc = runc_fail("process.terminal is true: give --console-socket (its pty's master goes there)");
		goto out;
	}
	if (!oc->terminal && a->console) {
		rc = runc_fail("--console-socket without process.terminal: nothing to send");
		goto out;
	}
	if (mkdir_p(runc_root, 0700, &err) < 0) {
		rc = runc_fail("--root: %s", err.msg);
		goto out;
	}
	if (mkdir(dir, 0700) < 0) {
		rc = errno == EEXIST ? runc_fail("container %s exists already", a->id)
				     : runc_fail("mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	made = 1;
	char cgpath[2048];
	if (!oc->rc.cgroup_path) { /* runc's default is /ID; ours groups them, as mini-docker's */
		snprintf(cgpath, sizeof(cgpath), "mini-runc/%s", a->id);
		oc->rc.cgroup_path = cgpath;
	}
	if (cgroup_setup(&oc->rc, &err) < 0) {
		rc = runc_fail("%s", err.msg);
		goto out;
	}
	/* 0622: the init may write to it after it changed its uid (runc's exec.fifo); an O_PATH fd
	 * of it goes to the init, which may not be allowed into ROOT (a user namespace's root) */
	if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0 || (gate = open(fifo, O_PATH | O_CLOEXEC)) < 0) {
		rc = runc_fail("mkfifo %s: %s", fifo, strerror(errno));
		goto out;
	}
	if (a->console && (console = runc_console_connect(a->console)) < 0) {
		rc = runc_fail("--console-socket %s: %s", a->console, strerror(errno));
		goto out;
	}
	if (!a->console && oc->terminal)
		console = a->console_fd; /* the caller's: not closed here */
	err.msg[0] = 0;
	struct pivot_stop stop = {.a = a, .oc = oc, .state = state, .freezer = freezer, .freezer_size = sizeof(freezer)};
	*pid = oci_create_init(oc, &(struct oci_create){.fifo = gate, .console = console, .no_pivot = a->no_pivot,
							.before_pivot = before_pivot, .arg = &stop},
			       &err);
	j = stop.j;
	if (*pid < 0) {
		if (err.msg[0]) /* else before_pivot said why */
			runc_fail("%s", err.msg);
		goto out;
	}
	if (a->pid_file && runc_pid_file(a->pid_file, *pid))
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
	json_t *j = runc_load(id);
	pid_t pid;
	if (!j)
		return 1;
	const char *s = runc_status(id, j, &pid);
	if (strcmp(s, "created")) {
		json_decref(j);
		return runc_fail("container %s is %s, not created: cannot start it", id, s);
	}
	/* the spec: a failing startContainer hook stops the container */
	if (runc_hooks(id, j, "startContainer", "created", 1, 0)) {
		kill(pid, SIGKILL);
		json_decref(j);
		return 1;
	}
	char *fifo = runc_path(id, "exec.fifo");
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc = 0;
	char byte;
	/* the init may have died meanwhile: wait for its byte a while, not forever */
	if (fd < 0 || poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 10000) != 1 || read(fd, &byte, 1) != 1)
		rc = runc_fail("start %s: the init did not answer on exec.fifo", id);
	else
		unlink(fifo);
	if (fd >= 0)
		close(fd);
	free(fifo);
	if (!rc)
		runc_hooks(id, j, "poststart", "running", 0, 1);
	json_decref(j);
	return rc;
}

static int cmd_state(const char *id)
{
	json_t *j = runc_load(id);
	if (!j)
		return 1;
	json_t *out = runc_spec_state(id, j);
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
		return runc_fail("kill: %s is not a signal (a name: TERM, SIGKILL, or a number)", sig_name);
	json_t *j = runc_load(id);
	pid_t pid;
	if (!j)
		return 1;
	const char *s = runc_status(id, j, &pid);
	int rc = 0;
	if (!pid) {
		rc = runc_fail("container %s is %s: no process to signal", id, s);
	} else if (all) {
		/* every process of its cgroup */
		json_t *pids = runc_cgroup_pids(j), *p;
		size_t i;
		json_array_foreach(pids, i, p)
			kill(json_integer_value(p), sig);
		if (!pids)
			kill(pid, sig);
		json_decref(pids);
	} else if (kill(pid, sig) < 0) {
		rc = runc_fail("kill %d: %s", pid, strerror(errno));
	}
	json_decref(j);
	return rc;
}

static int cmd_delete(const char *id, int force)
{
	pid_t pid;
	char *state = runc_id_ok(id) ? runc_path(id, "state.json") : NULL;
	if (state && access(state, F_OK) < 0 && errno == ENOENT) {
		/* gone, or a directory a create cut short left without state.json: runc removes
		 * it, and with --force says nothing (containerd's shim deletes --force again when
		 * it cleans up after the container) */
		char *dir = runc_path(id, NULL);
		rm_rf(dir);
		free(dir);
		free(state);
		return force ? 0 : runc_fail("container %s does not exist", id);
	}
	free(state);
	json_t *j = runc_load(id);
	if (!j)
		return 1;
	const char *s = runc_status(id, j, &pid);
	if (pid && !force) {
		json_decref(j);
		return runc_fail("container %s is %s: stop it first, or delete --force", id, s);
	}
	if (pid) {
		if (runc_frozen(j)) /* a frozen (v1) task takes no SIGKILL until thawed: runc thaws too */
			runc_freeze(j, 0);
		kill(pid, SIGKILL);
		for (int i = 0; i < 500 && state_alive(j, "init_pid", "init_start"); i++)
			usleep(10000);
	}
	remove_container(id, j);
	json_decref(j);
	return 0;
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
		rc = runc_fail("%s", err.msg);
		cmd_delete(a->id, 1);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (rc)
		return 1;
	if (!a->detach)
		runc_forward_signals(pid, 0);
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
	json_t *j = runc_load(a->id);
	remove_container(a->id, j);
	json_decref(j);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static int cmd_spec(const char *bundle)
{
	char *path = xasprintf("%s/config.json", bundle ? bundle : ".");
	json_t *j = oci_default_spec();
	int rc = 0;
	if (access(path, F_OK) == 0)
		rc = runc_fail("%s exists: remove it first", path);
	else if (json_dump_file(j, path, JSON_INDENT(2)) < 0)
		rc = runc_fail("write %s: %s", path, strerror(errno));
	json_decref(j);
	free(path);
	return rc;
}

static int cmd_list(const char *format, int quiet)
{
	json_t *all = json_array();
	DIR *d = opendir(runc_root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *path = runc_path(e->d_name, "state.json");
		json_t *j = runc_id_ok(e->d_name) ? json_load_file(path, 0, NULL) : NULL;
		free(path);
		if (!j)
			continue;
		json_array_append_new(all, runc_spec_state(e->d_name, j));
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
		"{s:s, s:s, s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s], s:{s:[s,s,s,s,s,s,s,s], s:{s:b, s:b, s:b}, s:{s:b, s:[s,s,s,s,s,s,s], "
		"s:[s,s,s,s,s,s,s], s:[]}}, s:{s:s}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION, "mountOptions", "ro", "rw", "nosuid", "nodev",
		"noexec", "bind", "rbind", "hooks", "prestart", "createRuntime", "createContainer", "startContainer",
		"poststart", "poststop", "linux", "namespaces", "pid", "network", "mount", "ipc", "uts", "user",
		"cgroup", "time", "cgroup", "v1", 1, "v2", 1, "systemd", 0, "seccomp", "enabled", 1, "actions", "SCMP_ACT_ALLOW",
		"SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
		"SCMP_ACT_LOG", "operators", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
		"SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", "archs", "annotations",
		"org.opencontainers.runc.version", "mini-runc");
	if (!j)
		return runc_fail("features: internal error");
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
				return runc_fail("exec: more than 64 --env");
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
				return runc_fail("--preserve-fds %s: a number of descriptors, 0 to 1024", optarg);
			a.preserve_fds = x.preserve_fds = n; /* 3..3+N-1 go to the container's process */
			break;
		}
		default: return runc_fail("%s: unknown option %s", cmd, argv[optind - 1]);
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
		return runc_ps(a.id, format);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		return runc_pause(a.id, !strcmp(cmd, "pause"));
	return runc_fail("%s: unknown command (see mini-runc --help)", cmd);
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *eq = strchr(a, '='), *v = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		int takes = 0;
		if (!strncmp(a, "--root", len) && len == 6)
			runc_root = v, takes = 1;
		else if (!strncmp(a, "--log", len) && len == 5)
			runc_log_file = v, takes = 1;
		else if (!strncmp(a, "--log-format", len) && len == 12)
			runc_log_format = v, takes = 1;
		else if (!strcmp(a, "--debug"))
			md_verbose = 1;
		else if (!strcmp(a, "--systemd-cgroup"))
			return runc_fail(
				"--systemd-cgroup: mini-runc manages cgroupfs only (podman: --cgroup-manager cgroupfs)");
		else if (!strncmp(a, "--rootless", 10))
			takes = !eq && v && (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "auto"));
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(), 0;
		else if (!strcmp(a, "-v") || !strcmp(a, "--version"))
			return printf("mini-runc version 0.1\nspec: %s\n", OCI_VERSION), 0;
		else
			return runc_fail("unknown global option %s", a);
		if (takes && !v)
			return runc_fail("%.*s needs a value", (int)len, a);
		if (takes && !eq)
			i++;
	}
	if (runc_log_format && strcmp(runc_log_format, "text") && strcmp(runc_log_format, "json"))
		return runc_fail("--log-format %s: text or json", runc_log_format);
	if (i >= argc)
		return usage();
	return command(argc - i, argv + i);
}
