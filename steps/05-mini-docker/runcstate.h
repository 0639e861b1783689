/* runcstate.h: what mini-runc's commands share: errors, IDs, state.json, status, hooks (runcstate.c) */
#ifndef MD_RUNCSTATE_H
#define MD_RUNCSTATE_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* the global options, set once by main (runc.c): --root (default /run/mini-runc), --log, --log-format */
extern const char *runc_root, *runc_log_file, *runc_log_format;

/* "mini-runc: MSG" on stderr, and in --log (a JSON line with --log-format json); returns 1 */
int runc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* letters, digits and _+-., not starting with a dot, at most 1024: a safe file name */
int runc_id_ok(const char *id);
/* ROOT/ID, or ROOT/ID/NAME: malloc'd */
char *runc_path(const char *id, const char *name);
/* ROOT/ID/state.json, or NULL with the error said (no such container, an invalid ID) */
json_t *runc_load(const char *id);

/* the freezer's file (v2 cgroup.freeze, v1 freezer.state) among the cgroup dirs DIRS, *V2 which */
int runc_freezer_file(const char *dirs, char *file, size_t size, int *v2);
/* 1 when the container's cgroup is frozen (paused) */
int runc_frozen(json_t *j);
/* created, running, paused or stopped, from the kernel; *PID the init's, 0 when stopped */
const char *runc_status(const char *id, json_t *j, pid_t *pid);
/* the PIDs of the container's cgroup as a JSON array, NULL when it has none */
json_t *runc_cgroup_pids(json_t *j);
/* the spec's state: ociVersion, id, status, pid, bundle, annotations */
json_t *runc_spec_state(const char *id, json_t *j);
/* the hooks of KIND, STATUS NOW in the state on their stdin; IN: in the container; WARN: only warn */
int runc_hooks(const char *id, json_t *j, const char *kind, const char *now, int in, int warn);

/* --pid-file FILE: PID, written atomically; 0, or 1 with the error said */
int runc_pid_file(const char *file, pid_t pid);
/* a connected fd to the --console-socket PATH (the pty's master is sent there), or -1 and errno */
int runc_console_connect(const char *path);
/* in the foreground: the terminal's signals (SIGINT, SIGTERM ...; SIGWINCH too with WINCH) to PID */
void runc_forward_signals(pid_t pid, int winch);

#endif
