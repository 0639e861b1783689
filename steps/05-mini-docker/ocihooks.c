/*
 * ocihooks.c: config.json's hooks, for mini-runc (runtime-spec config.md, "POSIX-platform Hooks").
 *
 * A hook is a program the runtime runs at a point of the lifecycle: `path` (absolute),
 * `args` (its argv, args[0] included), `env` (its whole environment), `timeout` (seconds).
 * The container's state, the JSON `mini-runc state` prints, goes on its stdin: that is how
 * a hook learns the container's pid (to set up its network namespace, say). A non-zero exit,
 * a signal or the timeout is a failure; what a failure does depends on when (runc.c).
 *
 *   prestart, createRuntime  create, in the runtime's namespaces
 *   createContainer          create, in the container's namespaces (exec.c's exec_join), before pivot_root
 *   startContainer           start, in the container's namespaces, before the process runs
 *   poststart                start, in the runtime's namespaces, once it runs
 *   poststop                 delete, in the runtime's namespaces
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "narrate.h"
#include "ocihooks.h"
#include "util.h"

static const char *const kinds[] = {"prestart",       "createRuntime", "createContainer",
				    "startContainer", "poststart",     "poststop"};

static int strings_ok(json_t *a)
{
	size_t i;
	json_t *v;
	if (a && !json_is_array(a))
		return 0;
	json_array_foreach(a, i, v) if (!json_is_string(v)) return 0;
	return 1;
}

int oci_hooks_check(json_t *hooks, struct md_error *err)
{
	const char *kind;
	json_t *list, *h;
	size_t i, k;
	if (!json_is_object(hooks))
		return md_fail(err, "hooks: not an object");
	json_object_foreach(hooks, kind, list) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kind, kinds[k]); k++)
			;
		if (k == sizeof(kinds) / sizeof(kinds[0]))
			continue; /* newer than us: the spec says to ignore what we do not know */
		if (!json_is_array(list))
			return md_fail(err, "hooks.%s: not an array", kind);
		json_array_foreach(list, i, h) {
			const char *path = json_string_value(json_object_get(h, "path"));
			json_t *t = json_object_get(h, "timeout");
			if (!path || *path != '/')
				return md_fail(err, "hooks.%s[%zu].path: must be an absolute path", kind, i);
			if (!strings_ok(json_object_get(h, "args")) || !strings_ok(json_object_get(h, "env")))
				return md_fail(err, "hooks.%s[%zu]: args and env must be arrays of strings", kind, i);
			if (t && (!json_is_integer(t) || json_integer_value(t) <= 0))
				return md_fail(err, "hooks.%s[%zu].timeout: must be a number of seconds above 0", kind, i);
		}
	}
	return 0;
}

/* a JSON array of strings as a NULL-terminated vector pointing into it; empty: {FIRST} */
static char **vector(json_t *a, const char *first)
{
	size_t n = json_array_size(a), k = 0;
	char **v = xcalloc(n + 2, sizeof(char *));
	if (!n && first)
		v[k++] = (char *)first;
	for (size_t i = 0; i < n; i++)
		v[k++] = (char *)json_string_value(json_array_get(a, i));
	return v;
}

/* in the child: stdin the state, into the container when JOIN (then a grandchild, in its PID ns) */
static void hook_child(json_t *h, int in, const struct oci_join *join)
{
	const char *path = json_string_value(json_object_get(h, "path"));
	/* the path resolves in the runtime's namespaces (the spec), before we join the container's;
	 * not close-on-exec: a script's interpreter reads it as /dev/fd/N (fexecve(3)) */
	int fd = open(path, O_RDONLY);
	if (fd < 0 || dup2(in, 0) < 0) {
		fprintf(stderr, "mini-runc: hook %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (join) {
		struct md_error err;
		if (exec_join(join->pid, join->start, join->cgroups, &err) < 0) {
			fprintf(stderr, "mini-runc: hook: %s\n", err.msg);
			_exit(126);
		}
		pid_t p = fork();
		int st;
		if (p < 0)
			_exit(126);
		if (p > 0) {
			while (waitpid(p, &st, 0) < 0 && errno == EINTR)
				;
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a timeout kills the child: this goes too */
	}
	char **argv = vector(json_object_get(h, "args"), path), **envp = vector(json_object_get(h, "env"), NULL);
	fexecve(fd, argv, envp);
	fprintf(stderr, "mini-runc: hook %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* one hook: 0 when it exited 0 within its timeout */
static int run_one(json_t *h, const char *kind, size_t i, const char *state, const struct oci_join *join,
		   struct md_error *err)
{
	int sv[2];
	const char *path = json_string_value(json_object_get(h, "path"));
	json_int_t timeout = json_integer_value(json_object_get(h, "timeout"));
	/* a socket, not a pipe: MSG_NOSIGNAL, so a hook that reads nothing does not SIGPIPE us */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return md_fail_errno(err, "hooks.%s[%zu]: socketpair", kind, i);
	narrate("fork(); execve(\"%s\") < state", "echo \"$STATE\" | %s  # hooks.%s", path, path, kind);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		hook_child(h, sv[1], join);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return md_fail_errno(err, "hooks.%s[%zu]: fork", kind, i);
	}
	if (send(sv[0], state, strlen(state), MSG_NOSIGNAL) < 0 && errno != EPIPE)
		fprintf(stderr, "mini-runc: hooks.%s[%zu]: the state on its stdin: %s\n", kind, i, strerror(errno));
	close(sv[0]);
	int st = 0, done = 0;
	for (long ms = 0; !done; ms += 10) {
		pid_t r = waitpid(pid, &st, timeout ? WNOHANG : 0);
		if (r == pid)
			done = 1;
		else if (r < 0 && errno != EINTR)
			return md_fail_errno(err, "hooks.%s[%zu]: waitpid", kind, i);
		else if (timeout && ms >= timeout * 1000) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			return md_fail(err, "hooks.%s[%zu] %s: timed out after %lld s", kind, i, path, (long long)timeout);
		} else if (r == 0)
			nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	if (WIFSIGNALED(st))
		return md_fail(err, "hooks.%s[%zu] %s: killed by signal %d", kind, i, path, WTERMSIG(st));
	if (WEXITSTATUS(st))
		return md_fail(err, "hooks.%s[%zu] %s: exit status %d", kind, i, path, WEXITSTATUS(st));
	return 0;
}

int oci_hooks_run(json_t *hooks, const char *kind, json_t *state, const struct oci_join *join, struct md_error *err)
{
	json_t *list = json_object_get(hooks, kind), *h;
	size_t i;
	if (!json_array_size(list))
		return 0;
	char *text = json_dumps(state, JSON_COMPACT);
	int rc = 0;
	json_array_foreach(list, i, h) {
		if ((rc = run_one(h, kind, i, text, join, err)) < 0)
			break;
	}
	free(text);
	return rc;
}
