/*
 * composeengine.h: what compose's files share. compose.c has `up` and `logs`
 * and the command table; composeops.c `down`, `ps`, `exec` and `config`; both
 * run the engine's own commands and find the project's containers through
 * composeengine.c.
 */
#ifndef MD_COMPOSEENGINE_H
#define MD_COMPOSEENGINE_H

#include <jansson.h>
#include <stdio.h>
#include <sys/types.h>

#include "composefile.h"
#include "mini-docker.h"
#include "util.h"

/* what one compose command works on: the options, the project, --dry-run */
struct ctx {
	const struct md_opts *o;
	struct compose_project p;
	int dry_run;
};

/* ---- the engine's own commands, run as children of ours ---- */

/* a command line being built: NULL-terminated */
struct args {
	const char **v;
	int n, cap;
};

void args_add(struct args *a, const char *s);
/* FLAG VALUE for each value of L (run -e K=V -e ...) */
void args_add_each(struct args *a, const char *flag, const struct strs *l);
/* FLAG VALUE when the key was given (VALUE not NULL) */
void args_add_opt(struct args *a, const char *flag, const char *value);
/* FLAG alone when the key is true */
void args_add_flag(struct args *a, const char *flag, int on);
/* "mini-docker --root R" then the global options as they were given, then CMD */
struct args engine_args(struct ctx *c, const char *cmd);
/* a command line as a shell would take it back: 'quoted' where needed */
void args_print(FILE *f, const char **argv);

enum { QUIET = 1, CAPTURE = 2, FOLLOWER = 4 };
/* fork + execv(/proc/self/exe, A): the engine again, in a child (FLAGS: above); its PID or -1 */
pid_t engine_spawn(struct args *a, int flags, int *fd);
/* wait for PID: its exit status (128+N for a signal) */
int engine_wait(pid_t pid);
/* run A and wait for it (--dry-run: print it): its exit status; OUT: its stdout, malloc'd */
int engine(struct ctx *c, struct args *a, int flags, char **out);

/* ---- the project's containers ---- */

/* PROJECT-SERVICE-1, or the service's container_name */
const char *container_name(struct ctx *c, const struct compose_service *s);
/* what `logs` prefixes its lines with: SERVICE-1 (or the container_name) */
const char *short_name(struct ctx *c, const struct compose_service *s);

struct member {
	char id[65];
	const char *name, *service, *status;
	json_t *state;
};

/* the project's containers, in the order of the file's services; free with members_free */
struct member *members(struct ctx *c, int *count);
void members_free(struct member *m, int n);
/* the image's ID (its config's digest) when it is in the store, else "" */
void image_id_of(struct ctx *c, const char *image, char out[DIGEST_LEN]);
/* PROJECT_default: the project's network, as docker compose names it */
const char *network_name(struct ctx *c);
int network_exists(struct ctx *c);

/* ---- composeops.c ---- */
int compose_down(struct ctx *c, int argc, char **argv);
int compose_ps(struct ctx *c, int argc, char **argv);
int compose_exec(struct ctx *c, int argc, char **argv);
int compose_config(struct ctx *c, int argc, char **argv);

#endif
