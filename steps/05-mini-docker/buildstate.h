/*
 * buildstate.h: what build's three files share. build.c reads the Dockerfile
 * and runs its steps; buildfs.c has the two that write a layer (RUN, COPY/ADD);
 * buildstate.c keeps the state they change: each stage's config, layers and
 * history, the variables, the step cache, the overlays, the commits.
 */
#ifndef MD_BUILDSTATE_H
#define MD_BUILDSTATE_H

#include <jansson.h>

#include "buildcopy.h"
#include "dockerfile.h"
#include "mini-docker.h"
#include "store.h"
#include "util.h"

#define MAX_STAGES 32
#define MAX_TAGS 16
#define MAX_BUILD_ARGS 64
#define BUILD_LAYERS 120 /* image.c keeps 128 at most: a few for the base */

/* the state one FROM starts: the image being made */
struct bstage {
	char *name;	    /* FROM ... AS NAME, or NULL */
	json_t *config;	    /* the image config: architecture, os, config, rootfs.diff_ids, history */
	json_t *layers;	    /* the manifest's layer descriptors, bottom first */
	json_t *args;	    /* the ARGs declared in this stage: name -> value (null: no value) */
	char key[DIGEST_LEN]; /* the cache key of the state so far */
	char created[40];   /* the time of its last step (from the cache when it hit) */
};

struct build {
	const struct md_opts *o;
	struct store s;
	char *stage;	    /* ROOT/tmp/build-XXXX: our scratch space */
	char *context;	    /* CONTEXT, absolute */
	int ctxfd;
	struct ignore *ignore;
	struct dockerfile df;
	const char *file;   /* "Dockerfile", as given */
	char *build_args[MAX_BUILD_ARGS]; /* --build-arg K=V (K alone: the host's value) */
	int n_build_args;
	json_t *global_args; /* ARGs before the first FROM */
	const char *tags[MAX_TAGS];
	int n_tags;
	const char *target, *network;
	int no_cache;
	struct bstage stages[MAX_STAGES];
	int n_stages;
	int step, steps;    /* "STEP 3/7" */
	int mounts;	    /* overlays mounted so far (each gets a dir of its own) */
};

/* ---- buildstate.c ---- */
void stage_free(struct bstage *st);
/* "K=V" strings: the stage's ARG values first, then the config's Env (an ENV wins over an ARG) */
char **stage_vars(struct build *b, struct bstage *st, int *n);
void vars_free(char **v, int n);
/* The value of ARG NAME: --build-arg first, then DEF (maybe NULL) */
json_t *arg_value(struct build *b, const char *name, const char *def);
/* ST's cache key one step further: sha256(the key before + "\n" + TEXT) */
int next_key(struct bstage *st, const char *text, struct md_error *err);
/* the step cached under ST's key, when it is whole (its layer still in the store), or NULL */
json_t *cache_get(struct build *b, struct bstage *st);
/* ST's config's "config" object (made when missing) */
json_t *cfg(struct bstage *st);
/* a step that changes the config only: its history entry, cached under KEY */
int config_step(struct build *b, struct bstage *st, const char *key, const char *created_by, struct md_error *err);
/* the layer of a cache entry (or one just made) on top of ST */
void add_layer(struct bstage *st, json_t *entry);
/* ST's layers mounted with overlayfs at a new DIR/rootfs: WRITABLE (an upper dir) or read-only */
int stage_mount(struct build *b, struct bstage *st, int writable, char **dir, struct md_error *err);
void stage_umount(const char *dir);
/* the upper dir UPPER of a RUN or COPY becomes ST's next layer, in the store and the cache */
int commit_layer(struct build *b, struct bstage *st, const char *upper, const char *created_by,
		 struct md_error *err);
/* the stage named NAME (FROM ... AS NAME) or numbered so, or NULL */
struct bstage *find_stage(struct build *b, const char *name);
/* the image NAME from the store, pulled when missing */
int load_image(struct build *b, const char *name, json_t **manifest, json_t **config, struct md_error *err);
/* the command of a RUN, CMD, ENTRYPOINT or SHELL: its JSON form, or the shell form under SHELL */
json_t *command_of(struct bstage *st, struct df_instr *in);
/* ST's config and an OCI manifest into the store, named by every -t; ID gets the config's digest */
int commit_image(struct build *b, struct bstage *st, char id[DIGEST_LEN], struct md_error *err);

/* ---- buildfs.c ---- */
/* RUN [--network=...] CMD: CMD in a container on the stage's overlay; what it wrote is a layer */
int build_run(struct build *b, struct bstage *st, struct df_instr *in, struct md_error *err);
/* COPY/ADD [--chown=U[:G]] [--from=STAGE|IMAGE] SRC... DEST: files into a new layer */
int build_copy(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n, struct md_error *err);

#endif
