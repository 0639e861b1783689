/*
 * composefile.h: a compose file (compose.yaml) read into a project: its types
 * (compose_load, in composeproject.h, fills them; composefile.c has the pool).
 *
 * The YAML comes from libyaml, whose document loader keeps each node's line, so
 * every error can say where it is ("compose.yaml:7: services.web: unknown key
 * 'healtcheck'"), the way dockerfile.c names a Dockerfile's line. What this file
 * gives compose.c is checked and final: ${VAR} interpolated, paths absolute,
 * named volumes prefixed with the project's name, services in start order.
 */
#ifndef MD_COMPOSEFILE_H
#define MD_COMPOSEFILE_H

#include "error.h"

/* every string and array of a project: one list of allocations, freed at once */
struct pool {
	struct pool_block *blocks;
};

struct compose_dep {
	int service;   /* index into project.services */
	int completed; /* condition: service_completed_successfully (else service_started) */
	int healthy;   /* condition: service_healthy */
	int line;      /* the condition's line, for messages */
};

/* a NULL-terminated list of strings and its length */
struct strs {
	char **v;
	int n;
};

/* healthcheck: what compose up runs (exec) while a service_healthy dependent waits */
struct compose_health {
	struct strs test; /* the command (CMD-SHELL's: sh -c CMD); n 0: none, or disable: */
	long interval, timeout, start_period; /* seconds: 30, 30, 0 unless given */
	long retries;			      /* 3 unless given */
};

struct compose_service {
	const char *name;
	int line;	   /* where its key is, for messages */
	const char *image; /* image: (or PROJECT-SERVICE when only build: gives one) */
	int image_line;
	const char *build_context;	 /* absolute; NULL: no build: */
	const char *dockerfile;		 /* absolute; NULL: the context's Dockerfile */
	struct strs build_args;		 /* K=V */
	struct strs command, entrypoint; /* entrypoint.v NULL: not given; n 0: given empty */
	int has_command;
	struct strs env;       /* K=V, or K alone: the host's value (run -e K) */
	struct strs env_files; /* absolute paths */
	struct strs ports;     /* [IP:]HOST:CTR[/udp], checked with ports.c */
	struct strs volumes;   /* run -v's SRC:DST[:ro], SRC absolute or PROJECT_NAME */
	struct strs aliases;   /* networks: default: aliases: */
	struct strs cap_add, cap_drop;
	struct compose_dep *deps;
	int n_deps, deps_line; /* depends_on:'s line */
	const char *container_name, *hostname, *working_dir, *user, *stop_signal;
	int tty, stdin_open, read_only, privileged, init;
	long stop_grace; /* seconds; -1 when not given */
	struct compose_health health;
};

struct compose_project {
	struct pool pool;
	const char *file; /* as the user named it, for messages */
	const char *dir;  /* absolute: where relative paths start */
	const char *name; /* the project's name */
	struct compose_service *services;
	int n_services;
	int *order;	     /* services in start order: each after what it depends on */
	struct strs volumes; /* the named volumes' full names, PROJECT_NAME */
};

/* compose_load (composeproject.h) reads a file into a project; this frees it */
void compose_free(struct compose_project *p);
/* the service called NAME, or -1 */
int compose_service_index(const struct compose_project *p, const char *name);

/* the pool: the project's strings and arrays, freed at once; compose.c's strings too */
void *pool_alloc(struct pool *p, size_t size);
char *pool_strdup(struct pool *p, const char *s);
char *pool_printf(struct pool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
