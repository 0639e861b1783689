/*
 * runcexec.c: mini-runc exec, a new process in a running container (podman exec, ctr task
 * exec): a child joins the init's namespaces and cgroup (exec.c's exec_join) and forks the
 * process, born in the container's PID namespace, that becomes the command (ocirun.c's
 * oci_become). With a terminal its pty's master goes to --console-socket, as create's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "ocirun.h"
#include "ocispec.h"
#include "pty.h"
#include "runcexec.h"
#include "runcstate.h"
#include "state.h"
#include "util.h"

/* exec's process: --process FILE (the spec's process object) as given, or the config's with
 * ARGS, --cwd, --env, --user UID[:GID], --tty over it (runc exec's flags) */
static json_t *exec_process(const struct exec_args *a, const struct oci_config *oc)
{
	json_error_t je;
	if (a->process) {
		json_t *p = json_load_file(a->process, JSON_REJECT_DUPLICATES, &je);
		if (!p || !json_is_object(p))
			runc_fail("--process %s: %s", a->process, p ? "not a JSON object" : je.text);
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
			runc_fail("--user %s: UID or UID:GID, numeric", a->user);
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
		runc_fail("exec: %s", err.msg);
		_exit(EXIT_ENGINE);
	}
	const struct winsize *size = oc->has_console_size ? &oc->console_size : NULL;
	int n, slave = oc->terminal ? pty_open_send(console, &n, size) : -1; /* cwd: the container's / */
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
int runc_exec(const char *id, const struct exec_args *a)
{
	json_t *j = runc_load(id), *p = NULL;
	pid_t init, child = -1;
	struct oci_config oc = {0};
	struct md_error err;
	int rc = 1, console = -1, report[2] = {-1, -1};
	if (!j)
		return 1;
	const char *s = runc_status(id, j, &init);
	if (strcmp(s, "running")) {
		rc = runc_fail("container %s is %s, not running: cannot exec in it", id, s);
		goto out;
	}
	if (oci_load(state_str(j, "bundle"), &oc, &err) < 0) {
		rc = runc_fail("%s", err.msg);
		goto out;
	}
	if (!(p = exec_process(a, &oc)))
		goto out;
	if (oci_process(p, &oc, &err) < 0) {
		rc = runc_fail("exec: %s", err.msg);
		goto out;
	}
	oc.preserve_fds = a->preserve_fds;
	if (oc.terminal != !!a->console) {
		rc = runc_fail(oc.terminal ? "exec with a terminal: give --console-socket (its pty's master goes there)"
					   : "--console-socket without a terminal (--tty or process.terminal): nothing to send");
		goto out;
	}
	if (a->console && (console = runc_console_connect(a->console)) < 0) {
		rc = runc_fail("--console-socket %s: %s", a->console, strerror(errno));
		goto out;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		rc = runc_fail("pipe: %s", strerror(errno));
		goto out;
	}
	/* foreground: the command is reparented to us when the joiner exits, for its status */
	if (!a->detach && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		rc = runc_fail("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
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
		rc = joiner < 0 ? runc_fail("fork: %s", strerror(errno)) : EXIT_ENGINE; /* the joiner said why */
		goto out;
	}
	if (a->pid_file && runc_pid_file(a->pid_file, child)) {
		kill(child, SIGKILL);
		goto out;
	}
	if (a->detach) {
		rc = 0;
		goto out;
	}
	runc_forward_signals(child, 1);
	int st;
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR) {
			rc = runc_fail("waitpid %d: %s", child, strerror(errno));
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
