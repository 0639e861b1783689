/* runcexec.h: mini-runc exec, a new process in a running container (runcexec.c) */
#ifndef MD_RUNCEXEC_H
#define MD_RUNCEXEC_H

/* exec's options (runc exec's flags), as runc.c's command line read them */
struct exec_args {
	const char *process, *cwd, *user, *pid_file, *console;
	const char *env[64];
	int n_env, tty, detach, preserve_fds;
	char **argv; /* ARGS, NULL-terminated (none with --process) */
};

/* exec in ID: the command's exit status in the foreground, 0 once started with --detach; on a
 * failure (said) 1, or EXIT_ENGINE when the child that joins the container failed */
int runc_exec(const char *id, const struct exec_args *a);

#endif
