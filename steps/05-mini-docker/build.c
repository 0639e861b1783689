/*
 * build.c: mini-docker build [-t NAME[:TAG]]... [-f FILE] [--build-arg K=V]...
 *                            [--no-cache] [--target STAGE] [--network none|host] CONTEXT
 *
 *     $ docker build -t rantune .          # the slides: a Dockerfile becomes an image
 *
 * A Dockerfile is a list of instructions, each applied to the image the ones
 * before it made. Docker's first builder did exactly what this file does, step
 * by step, with the engine's own parts:
 *
 *   FROM busybox        the state starts as that image: its config and layers
 *                       (pulled when missing; `scratch`: no layer at all)
 *   ENV, WORKDIR, USER, CMD, ENTRYPOINT, LABEL, EXPOSE, VOLUME, STOPSIGNAL,
 *   SHELL, ARG          change the config only (history says "empty_layer")
 *   RUN CMD             the layers mounted with overlayfs and a fresh upper
 *                       dir on top; `mini-docker run --rm --rootfs THAT CMD`
 *                       runs CMD in a container (namespaces, cgroup, seccomp:
 *                       the run half, unchanged); what CMD wrote is the upper
 *                       dir, and the upper dir becomes the new layer (layer.c:
 *                       a tar with whiteouts, gzip, digest, DiffID)
 *   COPY SRC DEST       the same, with the files of the context written into
 *                       the overlay instead of a command (buildcopy.c)
 *
 * Each layer goes into the store as pull puts one there (blob, then the layer
 * unpacked under ROOT/layers/CHAINID), so the next RUN stands on exactly what
 * a puller of the image will get. At the end the config (with its history)
 * and an OCI manifest are committed, the names last (image.c: image_commit).
 *
 * The cache: every step has a key, sha256 of the key before it and of what
 * the step does (its instruction after variables, the ARG values, for COPY the
 * sha256 of the files). ROOT/build-cache/KEY keeps what the step made (its
 * layer, its history entry). A step whose key is there is not run again
 * ("Using cache"); a build whose every step hits makes the same image, to the
 * byte. gc keeps what the cache names (store.c); system prune empties it.
 *
 * The build runs in a mount namespace of its own: each overlay it mounts goes
 * away with it, even when it is killed. A failed step (a RUN that exits 1, a
 * COPY of nothing) stops the build with the Dockerfile's line, and nothing is
 * named: the layers made so far stay only as cache.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "buildcopy.h"
#include "dockerfile.h"
#include "image.h"
#include "layer.h"
#include "narrate.h"
#include "opts.h"
#include "ref.h"
#include "registry.h"
#include "state.h"
#include "store.h"

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

static void stage_free(struct bstage *st)
{
	free(st->name);
	json_decref(st->config);
	json_decref(st->layers);
	json_decref(st->args);
}

/* --- variables: what $NAME means in an instruction ------------------------------------ */

/* "K=V" strings: the stage's ARG values first, then the config's Env (an ENV wins over an ARG) */
static char **stage_vars(struct build *b, struct bstage *st, int *n)
{
	json_t *env = json_object_get(json_object_get(st->config, "config"), "Env"), *v;
	const char *k;
	size_t i;
	char **out = xcalloc(json_object_size(st->args) + json_array_size(env) + 1, sizeof(char *));
	*n = 0;
	(void)b;
	json_object_foreach(st->args, k, v) if (json_is_string(v)) out[(*n)++] = xasprintf("%s=%s", k, json_string_value(v));
	json_array_foreach(env, i, v) out[(*n)++] = xstrdup(json_string_value(v));
	return out;
}

static void vars_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The value of ARG NAME: --build-arg first, then DEFAULT (maybe NULL) */
static json_t *arg_value(struct build *b, const char *name, const char *def)
{
	size_t len = strlen(name);
	for (int i = 0; i < b->n_build_args; i++) {
		const char *a = b->build_args[i];
		if (!strncmp(a, name, len) && a[len] == '=')
			return json_string(a + len + 1);
		if (!strcmp(a, name)) {
			const char *h = getenv(name);
			return h ? json_string(h) : json_null();
		}
	}
	return def ? json_string(def) : json_null();
}

/* --- the cache ------------------------------------------------------------------------ */

/* KEY = sha256(the key before + "\n" + TEXT): one step further */
static int next_key(struct bstage *st, const char *text, struct md_error *err)
{
	char *buf = xasprintf("%s\n%s", st->key, text);
	int rc = sha256_buf(buf, strlen(buf), st->key, err);
	free(buf);
	return rc;
}

static char *cache_path(struct build *b, const char *key)
{
	return xasprintf("%s/build-cache/%s", b->o->root, digest_hex(key));
}

/* the step cached under ST's key, when it is whole: its layer still in the store */
static json_t *cache_get(struct build *b, struct bstage *st)
{
	if (b->no_cache)
		return NULL;
	char *p = cache_path(b, st->key), *buf = NULL;
	size_t len;
	struct md_error ignored;
	json_t *j = NULL;
	if (read_file(p, 1 << 20, &buf, &len, &ignored) == 0)
		j = json_loadb(buf, len, 0, NULL);
	free(p);
	free(buf);
	json_t *layer = json_object_get(j, "layer");
	if (j && layer) {
		const char *d = json_string_value(json_object_get(layer, "digest"));
		const char *chain = json_string_value(json_object_get(j, "chain_id"));
		char *dir = chain && digest_valid(chain) ? store_layer_path(&b->s, chain) : NULL;
		int whole = d && digest_valid(d) && store_has_blob(&b->s, d) && dir && access(dir, F_OK) == 0;
		free(dir);
		if (!whole) {
			json_decref(j);
			j = NULL;
		}
	}
	if (j && !json_is_object(json_object_get(j, "history"))) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int cache_put(struct build *b, struct bstage *st, json_t *entry, struct md_error *err)
{
	char *dir = xasprintf("%s/build-cache", b->o->root), *p = cache_path(b, st->key);
	char *text = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = mkdir_p(dir, 0700, err);
	if (rc == 0)
		rc = write_file_atomic(p, text, strlen(text), err);
	free(text);
	free(p);
	free(dir);
	return rc;
}

/* --- the state: config, layers, history ------------------------------------------------ */

static json_t *cfg(struct bstage *st)
{
	json_t *c = json_object_get(st->config, "config");
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(st->config, "config", c);
	}
	return c;
}

/* one more history entry; the step's time is the cached one when it hit */
static void add_history(struct bstage *st, json_t *entry)
{
	json_t *h = json_object_get(st->config, "history");
	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(st->config, "history", h);
	}
	json_array_append(h, entry);
	const char *t = json_string_value(json_object_get(entry, "created"));
	if (t)
		snprintf(st->created, sizeof(st->created), "%s", t);
}

static json_t *history_entry(const char *created_by, int empty)
{
	char now[40];
	time_now(now, sizeof(now));
	json_t *h = json_pack("{s:s,s:s,s:s}", "created", now, "created_by", created_by, "comment", "mini-docker build");
	if (empty)
		json_object_set_new(h, "empty_layer", json_true());
	return h;
}

/*
 * A step that changes the config only: its history entry, cached so that a rebuild is the same to the byte.
 * KEY: what the step did (the instruction and the config it made).
 */
static int config_step(struct build *b, struct bstage *st, const char *key, const char *created_by,
		       struct md_error *err)
{
	if (next_key(st, key, err) < 0)
		return -1;
	json_t *hit = cache_get(b, st), *h;
	if (hit) {
		h = json_incref(json_object_get(hit, "history"));
		json_decref(hit);
	} else {
		h = history_entry(created_by, 1);
		json_t *entry = json_pack("{s:O}", "history", h);
		int rc = cache_put(b, st, entry, err);
		json_decref(entry);
		if (rc < 0) {
			json_decref(h);
			return -1;
		}
	}
	add_history(st, h);
	json_decref(h);
	return 0;
}

/* the layer of a cache entry (or one just made) on top of ST */
static void add_layer(struct bstage *st, json_t *entry)
{
	json_array_append(st->layers, json_object_get(entry, "layer"));
	json_t *rootfs = json_object_get(st->config, "rootfs");
	if (!json_is_object(rootfs)) {
		rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
		json_object_set_new(st->config, "rootfs", rootfs);
	}
	json_array_append(json_object_get(rootfs, "diff_ids"), json_object_get(entry, "diff_id"));
	add_history(st, json_object_get(entry, "history"));
}

/* --- overlays --------------------------------------------------------------------------- */

/* ROOT/layers/CHAIN of each layer of ST, top first, ':'-joined (overlayfs' lowerdir); "" for none */
static int stage_lower(struct build *b, struct bstage *st, char **lower, struct md_error *err)
{
	char chains[MAX_LAYERS][DIGEST_LEN];
	size_t n = 0;
	if (json_array_size(json_object_get(json_object_get(st->config, "rootfs"), "diff_ids")) &&
	    chain_ids(st->config, chains, MAX_LAYERS, &n, err) < 0)
		return -1;
	*lower = xstrdup("");
	for (size_t i = n; i-- > 0;) {
		char *p = store_layer_path(&b->s, chains[i]), *l;
		if (access(p, F_OK) < 0) {
			md_fail(err, "the layer %s is not in the store (removed while we built?): build again", p);
			free(p);
			return -1;
		}
		l = xasprintf("%s%s%s", *lower, **lower ? ":" : "", digest_hex(chains[i]));
		free(p);
		free(*lower);
		*lower = l;
	}
	return 0;
}

/*
 * Mount ST's layers at a new DIR/rootfs: with an upper dir to write in (RUN, COPY), or
 * read-only (COPY --from). The lower dirs are named relative to ROOT/layers, as rootfs.c
 * does: 64 hex digits a layer keep the options under a page.
 */
static int stage_mount(struct build *b, struct bstage *st, int writable, char **dir, struct md_error *err)
{
	char *lower = NULL, *opts = NULL, *rootfs;
	int rc = -1, here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*dir = xasprintf("%s/mnt-%d", b->stage, ++b->mounts);
	rootfs = xasprintf("%s/rootfs", *dir);
	if (here < 0 || stage_lower(b, st, &lower, err) < 0)
		goto out;
	char *empty = xasprintf("%s/empty", b->stage);
	mkdir(empty, 0755);
	/* overlayfs wants two lower dirs when there is no upper one, and one at least: an empty dir does */
	opts = writable ? xasprintf("lowerdir=%s%s%s,upperdir=%s/upper,workdir=%s/work", lower, *lower ? ":" : "",
				    empty, *dir, *dir)
			: xasprintf("lowerdir=%s%s%s", lower, *lower ? ":" : "", empty);
	free(empty);
	char *upper = xasprintf("%s/upper", *dir), *work = xasprintf("%s/work", *dir);
	int made = mkdir(*dir, 0700) == 0 && mkdir(rootfs, 0755) == 0 &&
		   (!writable || (mkdir(upper, 0755) == 0 && mkdir(work, 0700) == 0));
	free(upper);
	free(work);
	if (!made) {
		md_fail_errno(err, "mkdir %s", *dir);
		goto out;
	}
	if (chdir(b->s.layers) < 0) {
		md_fail_errno(err, "chdir %s", b->s.layers);
		goto out;
	}
	/* every changed file whole in the upper dir (no metacopy, no redirect): layer.c makes a layer of it */
	char *whole = writable ? xasprintf("%s,metacopy=off,redirect_dir=off", opts) : xstrdup(opts);
	narrate("mount(\"overlay\", \"%s\", \"overlay\", %s)", "mount -t overlay overlay -o %s %s", rootfs, whole, rootfs);
	if (mount("overlay", rootfs, "overlay", 0, whole) < 0 && (errno != EINVAL || mount("overlay", rootfs, "overlay", 0, opts) < 0))
		md_fail_errno(err, "mount -t overlay overlay -o %s %s", whole, rootfs);
	else
		rc = 0;
	free(whole);
	if (fchdir(here) < 0 && rc == 0)
		rc = md_fail_errno(err, "fchdir back");
out:
	if (here >= 0)
		close(here);
	free(lower);
	free(opts);
	free(rootfs);
	return rc;
}

static void stage_umount(const char *dir)
{
	char *rootfs = xasprintf("%s/rootfs", dir);
	umount2(rootfs, MNT_DETACH);
	free(rootfs);
}

/* --- a new layer ------------------------------------------------------------------------- */

/*
 * The upper dir UPPER of a RUN or COPY becomes a layer: a blob in the store and the layer
 * unpacked under ROOT/layers/CHAINID, as pull puts one there; then the step's cache entry.
 */
static int commit_layer(struct build *b, struct bstage *st, const char *upper, const char *created_by,
			struct md_error *err)
{
	char digest[DIGEST_LEN], diff_id[DIGEST_LEN], chain[DIGEST_LEN];
	uint64_t size;
	char *blob = xasprintf("%s/layer.tar.gz", b->stage);
	json_t *entry = NULL;
	int rc = -1, locked = 0;
	if (layer_write(upper, blob, digest, diff_id, &size, err) < 0)
		goto out;
	/* ChainID: the DiffID alone for the first layer, else sha256(parent's ChainID + " " + DiffID) */
	json_t *ids = json_object_get(json_object_get(st->config, "rootfs"), "diff_ids");
	if (json_array_size(ids) >= BUILD_LAYERS) {
		md_fail(err, "more than %d layers: merge some RUN lines (cmd1 && cmd2)", BUILD_LAYERS);
		goto out;
	}
	if (!json_array_size(ids))
		snprintf(chain, sizeof(chain), "%s", diff_id);
	else {
		char parents[MAX_LAYERS][DIGEST_LEN];
		size_t n;
		if (chain_ids(st->config, parents, MAX_LAYERS, &n, err) < 0)
			goto out;
		char *text = xasprintf("%s %s", parents[n - 1], diff_id);
		int r = sha256_buf(text, strlen(text), chain, err);
		free(text);
		if (r < 0)
			goto out;
	}
	if (store_lock(&b->s, err) < 0)
		goto out;
	locked = 1;
	if (image_add_layer(&b->s, b->stage, blob, digest, diff_id, chain, err) < 0)
		goto out;
	json_t *h = history_entry(created_by, 0);
	entry = json_pack("{s:{s:s,s:s,s:I},s:s,s:s,s:o}", "layer", "mediaType", MT_OCI_LAYER_GZIP, "digest", digest,
			  "size", (json_int_t)size, "diff_id", diff_id, "chain_id", chain, "history", h);
	if (cache_put(b, st, entry, err) < 0)
		goto out;
	add_layer(st, entry);
	printf("--> %.12s\n", digest_hex(digest));
	rc = 0;
out:
	if (locked)
		store_unlock(&b->s);
	unlink(blob);
	free(blob);
	json_decref(entry);
	return rc;
}

/* --- the instructions ----------------------------------------------------------------------- */

static struct bstage *find_stage(struct build *b, const char *name)
{
	for (int i = 0; i < b->n_stages; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", i);
		if ((b->stages[i].name && !strcasecmp(b->stages[i].name, name)) || !strcmp(num, name))
			return &b->stages[i];
	}
	return NULL;
}

static void host_platform_into(json_t *config)
{
	json_object_set_new(config, "os", json_string("linux"));
#if defined(__x86_64__)
	json_object_set_new(config, "architecture", json_string("amd64"));
#elif defined(__aarch64__)
	json_object_set_new(config, "architecture", json_string("arm64"));
#else
	json_object_set_new(config, "architecture", json_string("unknown"));
#endif
}

/* the image NAME from the store, pulled when it is not there */
static int load_image(struct build *b, const char *name, json_t **manifest, json_t **config, struct md_error *err)
{
	json_t *idx = NULL, *desc;
	int rc = store_index_load(&b->s, &idx, err);
	if (rc == 0 && store_find(&b->s, idx, name, &desc, manifest, config, err) < 0) {
		json_decref(idx);
		idx = NULL;
		if (image_pull(b->o, name, stdout, err) < 0)
			return -1;
		rc = store_index_load(&b->s, &idx, err);
		if (rc == 0)
			rc = store_find(&b->s, idx, name, &desc, manifest, config, err);
	}
	json_decref(idx);
	return rc;
}

/* FROM IMAGE|scratch|STAGE [AS NAME] */
static int do_from(struct build *b, struct df_instr *in, char **words, int n, struct md_error *err)
{
	if (n != 1 && !(n == 3 && !strcasecmp(words[1], "AS")))
		return md_fail(err, "FROM takes IMAGE [AS NAME], not '%s'", in->args);
	if (b->n_stages == MAX_STAGES)
		return md_fail(err, "more than %d stages", MAX_STAGES);
	struct bstage *st = &b->stages[b->n_stages], *from = find_stage(b, words[0]);
	memset(st, 0, sizeof(*st));
	st->name = n == 3 ? xstrdup(words[2]) : NULL;
	st->args = json_object();
	st->layers = json_array();
	b->n_stages++;
	if (from) {
		st->config = json_deep_copy(from->config);
		json_array_extend(st->layers, from->layers);
		memcpy(st->key, from->key, sizeof(st->key));
		memcpy(st->created, from->created, sizeof(st->created));
		return 0;
	}
	if (!strcmp(words[0], "scratch")) {
		st->config = json_pack("{s:{},s:{s:s,s:[]},s:[]}", "config", "rootfs", "type", "layers", "diff_ids",
				       "history");
		host_platform_into(st->config);
		return sha256_buf("scratch", 7, st->key, err);
	}
	json_t *m = NULL, *c = NULL;
	if (load_image(b, words[0], &m, &c, err) < 0)
		return -1;
	st->config = c;
	json_array_extend(st->layers, json_object_get(m, "layers"));
	json_decref(m);
	/* its config digest is the image: the key every step above it builds on */
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = sha256_buf(text, strlen(text), st->key, err);
	free(text);
	const char *t = json_string_value(json_object_get(c, "created"));
	snprintf(st->created, sizeof(st->created), "%s", t ? t : "");
	return rc;
}

/* ENV K=V K2="v 2" | ENV K the rest; LABEL K=V...: into LIST as "K=V" (ENV) or OBJECT's keys (LABEL) */
static int do_env_label(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n,
			struct md_error *err)
{
	int label = !strcmp(in->cmd, "LABEL");
	json_t *c = cfg(st);
	if (n >= 1 && !strchr(words[0], '=')) { /* the old form: ENV K V V */
		if (label)
			return md_fail(err, "LABEL takes KEY=VALUE pairs");
		const char *rest = in->args + strcspn(in->args, " \t");
		rest += strspn(rest, " \t");
		int nv;
		char **vars = stage_vars(b, st, &nv);
		char *v = dockerfile_word(rest, b->df.escape, vars, nv, err);
		vars_free(vars, nv);
		if (!v)
			return -1;
		char *kv = xasprintf("%s=%s", words[0], v);
		free(v);
		words = (char *[]){kv, NULL};
		n = 1;
		int rc = do_env_label(b, st, in, words, n, err);
		free(kv);
		return rc;
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(words[i], '=');
		if (!eq || eq == words[i])
			return md_fail(err, "%s %s: give KEY=VALUE", in->cmd, words[i]);
		*eq = 0;
		if (label) {
			json_t *l = json_object_get(c, "Labels");
			if (!json_is_object(l)) {
				l = json_object();
				json_object_set_new(c, "Labels", l);
			}
			json_object_set_new(l, words[i], json_string(eq + 1));
			continue;
		}
		json_t *env = json_object_get(c, "Env"), *e;
		size_t k, len = strlen(words[i]);
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(c, "Env", env);
		}
		char *kv = xasprintf("%s=%s", words[i], eq + 1);
		int replaced = 0;
		json_array_foreach(env, k, e)
		{
			const char *s = json_string_value(e);
			if (s && !strncmp(s, words[i], len) && s[len] == '=') {
				json_array_set_new(env, k, json_string(kv));
				replaced = 1;
				break;
			}
		}
		if (!replaced)
			json_array_append_new(env, json_string(kv));
		free(kv);
	}
	return 0;
}

/* ARG NAME[=DEFAULT]...: declared in the stage, valued by --build-arg, else the default (or the global one) */
static int do_arg(struct build *b, struct bstage *st, char **words, int n, struct md_error *err)
{
	json_t *into = st ? st->args : b->global_args;
	for (int i = 0; i < n; i++) {
		char *eq = strchr(words[i], '=');
		if (eq)
			*eq = 0;
		const char *def = eq ? eq + 1 : NULL;
		if (!def && st && json_is_string(json_object_get(b->global_args, words[i])))
			def = json_string_value(json_object_get(b->global_args, words[i]));
		if (!*words[i])
			return md_fail(err, "ARG needs a NAME");
		json_t *v = arg_value(b, words[i], def);
		json_object_set_new(into, words[i], v);
		if (st) {
			/* the value is part of what follows: another --build-arg, another cache key */
			char *text = xasprintf("ARG %s=%s", words[i], json_is_string(v) ? json_string_value(v) : "(none)");
			int rc = next_key(st, text, err);
			free(text);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* exec form as it is; shell form: the config's Shell (or /bin/sh -c) and the line */
static json_t *command_of(struct bstage *st, struct df_instr *in)
{
	json_t *a = json_array();
	if (in->json) {
		for (int i = 0; i < in->argc; i++)
			json_array_append_new(a, json_string(in->argv[i]));
		return a;
	}
	json_t *shell = json_object_get(cfg(st), "Shell");
	if (json_array_size(shell)) {
		json_array_extend(a, shell);
	} else {
		json_t *sh = json_pack("[s,s]", "/bin/sh", "-c");
		json_array_extend(a, sh); /* extend copies the references: ours goes */
		json_decref(sh);
	}
	json_array_append_new(a, json_string(in->args));
	return a;
}

/* CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, SHELL, MAINTAINER */
static int do_config(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n,
		     struct md_error *err)
{
	json_t *c = cfg(st);
	const char *k = in->cmd;
	(void)b;
	if (!strcmp(k, "CMD") || !strcmp(k, "ENTRYPOINT")) {
		json_object_set_new(c, !strcmp(k, "CMD") ? "Cmd" : "Entrypoint", command_of(st, in));
		if (!strcmp(k, "ENTRYPOINT")) /* as docker: a new ENTRYPOINT drops the CMD it inherited */
			json_object_set_new(c, "Cmd", json_null());
	} else if (!strcmp(k, "SHELL")) {
		if (!in->json)
			return md_fail(err, "SHELL takes the JSON form: SHELL [\"/bin/sh\", \"-c\"]");
		json_object_set_new(c, "Shell", command_of(st, in));
	} else if (!strcmp(k, "WORKDIR") || !strcmp(k, "USER") || !strcmp(k, "STOPSIGNAL")) {
		if (n != 1)
			return md_fail(err, "%s takes one value, not '%s'", k, in->args);
		const char *key = !strcmp(k, "WORKDIR") ? "WorkingDir" : !strcmp(k, "USER") ? "User" : "StopSignal";
		char *v = xstrdup(words[0]);
		if (!strcmp(k, "WORKDIR") && v[0] != '/') { /* relative to the one before */
			const char *was = json_string_value(json_object_get(c, "WorkingDir"));
			char *abs = xasprintf("%s/%s", was && *was ? was : "", v);
			free(v);
			v = abs;
		}
		json_object_set_new(c, key, json_string(v));
		free(v);
	} else if (!strcmp(k, "EXPOSE") || !strcmp(k, "VOLUME")) {
		const char *key = !strcmp(k, "EXPOSE") ? "ExposedPorts" : "Volumes";
		json_t *o = json_object_get(c, key);
		if (!json_is_object(o)) {
			o = json_object();
			json_object_set_new(c, key, o);
		}
		for (int i = 0; i < (in->json ? in->argc : n); i++) {
			const char *w = in->json ? in->argv[i] : words[i];
			char *name = !strcmp(key, "ExposedPorts") && !strchr(w, '/') ? xasprintf("%s/tcp", w) : xstrdup(w);
			if (!strcmp(key, "Volumes") && name[0] != '/') {
				free(name);
				return md_fail(err, "VOLUME %s: give an absolute path", w);
			}
			json_object_set_new(o, name, json_object());
			free(name);
		}
	} else if (!strcmp(k, "MAINTAINER")) {
		json_t *l = json_object_get(c, "Labels");
		if (!json_is_object(l)) {
			l = json_object();
			json_object_set_new(c, "Labels", l);
		}
		json_object_set_new(l, "maintainer", json_string(in->args));
	}
	return 0;
}

/* the Env a RUN gets: the config's, and each ARG with a value that no ENV overrides (docker's way) */
static json_t *run_env(struct bstage *st)
{
	json_t *env = json_deep_copy(json_object_get(cfg(st), "Env")), *v;
	const char *k;
	if (!json_is_array(env)) {
		json_decref(env);
		env = json_array();
	}
	json_object_foreach(st->args, k, v)
	{
		if (!json_is_string(v))
			continue;
		size_t i, len = strlen(k);
		json_t *e;
		int shadowed = 0;
		json_array_foreach(env, i, e) shadowed |= !strncmp(json_string_value(e), k, len) && json_string_value(e)[len] == '=';
		if (!shadowed)
			json_array_append_new(env, json_sprintf("%s=%s", k, json_string_value(v)));
	}
	return env;
}

/*
 * The empty files and dirs `run` makes as mount points (/etc/hostname, /proc...) when the
 * image has none are not what the command wrote: they leave the upper dir before it is a layer.
 */
static const char *const mountpoints[] = {"etc/hostname", "etc/hosts", "etc/resolv.conf", "proc", "sys", "dev", "etc"};
#define N_MOUNTPOINTS (sizeof(mountpoints) / sizeof(mountpoints[0]))

static void mountpoints_seen(const char *rootfs, int *had)
{
	for (size_t i = 0; i < N_MOUNTPOINTS; i++) {
		char *p = xasprintf("%s/%s", rootfs, mountpoints[i]);
		struct stat st;
		had[i] = lstat(p, &st) == 0;
		free(p);
	}
}

static void mountpoints_drop(const char *upper, const int *had)
{
	for (size_t i = 0; i < N_MOUNTPOINTS; i++) {
		if (had[i])
			continue;
		char *p = xasprintf("%s/%s", upper, mountpoints[i]);
		struct stat st;
		if (lstat(p, &st) == 0 && ((S_ISREG(st.st_mode) && st.st_size == 0) || S_ISDIR(st.st_mode)))
			S_ISDIR(st.st_mode) ? rmdir(p) : unlink(p); /* rmdir: only when the command left it empty */
		free(p);
	}
}

/* `mini-docker run --rm --rootfs ROOTFS ... CMD`: the run half as it is, in our mount namespace */
static int run_in(struct build *b, struct bstage *st, const char *rootfs, json_t *cmd, struct md_error *err)
{
	json_t *env = run_env(st), *v;
	const char *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	const char *user = json_string_value(json_object_get(cfg(st), "User"));
	size_t n = 16 + 2 * json_array_size(env) + json_array_size(cmd), k = 0, i;
	char **argv = xcalloc(n, sizeof(char *));
	argv[k++] = "mini-docker";
	argv[k++] = "--root";
	argv[k++] = (char *)b->o->root;
	if (md_verbose)
		argv[k++] = "-v";
	argv[k++] = "run";
	argv[k++] = "--rm";
	argv[k++] = "--rootfs";
	argv[k++] = (char *)rootfs;
	argv[k++] = "--network";
	argv[k++] = (char *)b->network;
	json_array_foreach(env, i, v)
	{
		argv[k++] = "-e";
		argv[k++] = (char *)json_string_value(v);
	}
	if (wd && *wd)
		argv[k++] = "-w", argv[k++] = (char *)wd;
	if (user && *user)
		argv[k++] = "-u", argv[k++] = (char *)user;
	argv[k++] = "--";
	json_array_foreach(cmd, i, v) argv[k++] = (char *)json_string_value(v);
	fflush(stdout);
	fflush(stderr);
	int status = -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* a build killed takes its RUN along: run passes the SIGTERM on and removes the container */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
			_exit(EXIT_ENGINE);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "mini-docker: build: exec /proc/self/exe: %m\n");
		_exit(EXIT_ENGINE);
	}
	if (pid < 0)
		md_fail_errno(err, "fork");
	else
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	free(argv);
	json_decref(env);
	if (pid < 0)
		return -1;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code != 0)
		return md_fail(err, "the command returned a non-zero code: %d", code);
	return 0;
}

static int do_run(struct build *b, struct bstage *st, struct df_instr *in, struct md_error *err)
{
	for (int i = 0; i < in->n_flags; i++) {
		const char *f = in->flags[i], *v = f + 10;
		if (strncmp(f, "--network=", 10))
			return md_fail(err, "RUN %s: not supported here (RUN --network=none|host|bridge is)", f);
		if (strcmp(v, "none") && strcmp(v, "host") && strcmp(v, "bridge"))
			return md_fail(err, "RUN %s: use none, host or bridge", f);
	}
	json_t *cmd = command_of(st, in), *env = run_env(st);
	char *argtext = json_dumps(cmd, JSON_COMPACT), *envtext = json_dumps(env, JSON_COMPACT);
	const char *user = json_string_value(json_object_get(cfg(st), "User"));
	const char *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	char *key = xasprintf("RUN %s env=%s user=%s workdir=%s", argtext, envtext, user ? user : "",
			      wd ? wd : "");
	char *created_by = in->json ? xasprintf("RUN %s", argtext) : xasprintf("RUN %s", in->args);
	char *dir = NULL, *rootfs = NULL, *upper = NULL;
	const char *net = b->network;
	int rc = -1, mounted = 0, had[N_MOUNTPOINTS];
	free(envtext);
	json_decref(env);
	for (int i = 0; i < in->n_flags; i++)
		b->network = in->flags[i] + 10;
	if (next_key(st, key, err) < 0)
		goto out;
	json_t *hit = cache_get(b, st);
	if (hit) {
		printf("--> Using cache %.12s\n", digest_hex(json_string_value(json_object_get(json_object_get(hit, "layer"), "digest"))));
		add_layer(st, hit);
		json_decref(hit);
		rc = 0;
		goto out;
	}
	if (stage_mount(b, st, 1, &dir, err) < 0)
		goto out;
	mounted = 1;
	rootfs = xasprintf("%s/rootfs", dir);
	upper = xasprintf("%s/upper", dir);
	mountpoints_seen(rootfs, had);
	if (run_in(b, st, rootfs, cmd, err) < 0)
		goto out;
	stage_umount(dir);
	mounted = 0;
	mountpoints_drop(upper, had);
	rc = commit_layer(b, st, upper, created_by, err);
out:
	b->network = net;
	if (mounted)
		stage_umount(dir);
	if (dir)
		rm_rf(dir);
	free(dir);
	free(rootfs);
	free(upper);
	free(key);
	free(created_by);
	free(argtext);
	json_decref(cmd);
	return rc;
}

/* COPY/ADD [--chown=U[:G]] [--from=STAGE|IMAGE] SRC... DEST */
static int do_copy(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n,
		   struct md_error *err)
{
	const char *from = NULL, *chown = NULL;
	char **list = in->json ? in->argv : words;
	int count = in->json ? in->argc : n, rc = -1, mounted_from = 0, mounted = 0;
	char *from_dir = NULL, *dir = NULL, *dest = NULL, *key = NULL, *srcs_text = NULL;
	struct bstage image_stage = {0}, *src_stage = NULL;
	struct copy_job j = {.ctxfd = b->ctxfd, .ctxname = "the build context", .ignore = b->ignore, .o = b->o,
			     .add = !strcmp(in->cmd, "ADD")};
	for (int i = 0; i < in->n_flags; i++) {
		if (!strncmp(in->flags[i], "--from=", 7) && j.add == 0)
			from = in->flags[i] + 7;
		else if (!strncmp(in->flags[i], "--chown=", 8))
			chown = in->flags[i] + 8;
		else if (!strncmp(in->flags[i], "--chmod=", 8) || !strncmp(in->flags[i], "--link", 6))
			return md_fail(err, "%s %s is not supported here (--chown and COPY --from are)", in->cmd, in->flags[i]);
		else
			return md_fail(err, "%s: unknown flag %s", in->cmd, in->flags[i]);
	}
	if (count < 2)
		return md_fail(err, "%s needs a source and a destination: %s SRC... DEST", in->cmd, in->cmd);
	const char *d = list[count - 1], *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	dest = d[0] == '/' ? xstrdup(d) : xasprintf("%s/%s", wd && *wd ? wd : "", d);
	j.srcs = list;
	j.n_srcs = count - 1;
	j.dest = dest;
	j.dest_dir = d[strlen(d) - 1] == '/' || count > 2;
	j.chown = chown;
	if (from) {
		/* another stage's rootfs (or an image's), mounted read-only: the sources are looked up there */
		src_stage = find_stage(b, from);
		if (src_stage == st)
			return md_fail(err, "COPY --from=%s names the stage being built", from);
		if (!src_stage) {
			json_t *m = NULL;
			if (load_image(b, from, &m, &image_stage.config, err) < 0)
				goto out;
			json_decref(m);
			src_stage = &image_stage;
		}
		if (stage_mount(b, src_stage, 0, &from_dir, err) < 0)
			goto out;
		mounted_from = 1;
		char *r = xasprintf("%s/rootfs", from_dir);
		j.ctxfd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
		free(r);
		if (j.ctxfd < 0) {
			md_fail_errno(err, "open stage %s", from);
			goto out;
		}
		j.ctxname = from;
		j.ignore = NULL;
	}
	char hash[DIGEST_LEN];
	if (copy_hash(&j, hash, err) < 0)
		goto out;
	srcs_text = xstrdup("");
	for (int i = 0; i < j.n_srcs; i++) {
		char *t = xasprintf("%s%s%s", srcs_text, i ? " " : "", list[i]);
		free(srcs_text);
		srcs_text = t;
	}
	key = xasprintf("%s %s %s chown=%s from=%s files=%s", in->cmd, srcs_text, dest, chown ? chown : "",
			from ? from : "", hash);
	if (next_key(st, key, err) < 0)
		goto out;
	json_t *hit = cache_get(b, st);
	if (hit) {
		printf("--> Using cache %.12s\n", digest_hex(json_string_value(json_object_get(json_object_get(hit, "layer"), "digest"))));
		add_layer(st, hit);
		json_decref(hit);
		rc = 0;
		goto out;
	}
	if (stage_mount(b, st, 1, &dir, err) < 0)
		goto out;
	mounted = 1;
	char *rootfs = xasprintf("%s/rootfs", dir);
	rc = copy_run(&j, rootfs, err);
	free(rootfs);
	if (rc < 0)
		goto out;
	stage_umount(dir);
	mounted = 0;
	char *upper = xasprintf("%s/upper", dir);
	char *created_by = xasprintf("%s %s%s%s%s", in->cmd, from ? "--from=" : "", from ? from : "", from ? " " : "",
				     in->args);
	rc = commit_layer(b, st, upper, created_by, err);
	free(created_by);
	free(upper);
out:
	if (mounted)
		stage_umount(dir);
	if (dir)
		rm_rf(dir);
	if (mounted_from)
		stage_umount(from_dir);
	if (from_dir)
		rm_rf(from_dir);
	if (from && j.ctxfd >= 0 && j.ctxfd != b->ctxfd)
		close(j.ctxfd);
	if (src_stage == &image_stage)
		json_decref(image_stage.config);
	free(from_dir);
	free(dir);
	free(dest);
	free(key);
	free(srcs_text);
	return rc;
}

/* the words of IN with the stage's variables expanded (docker expands these instructions' words) */
static int expand_words(struct build *b, struct bstage *st, struct df_instr *in, char ***words, int *n,
			struct md_error *err)
{
	int nv = 0;
	char **vars = st ? stage_vars(b, st, &nv) : NULL;
	if (!st) { /* before the first FROM: the global ARGs */
		const char *k;
		json_t *v;
		vars = xcalloc(json_object_size(b->global_args) + 1, sizeof(char *));
		json_object_foreach(b->global_args, k, v) if (json_is_string(v)) vars[nv++] = xasprintf("%s=%s", k, json_string_value(v));
	}
	int rc = dockerfile_words(in->args, b->df.escape, vars, nv, words, n, err);
	vars_free(vars, nv);
	return rc;
}

static int single_word(const char *k)
{
	return !strcmp(k, "WORKDIR") || !strcmp(k, "USER") || !strcmp(k, "STOPSIGNAL");
}

/* the same for an instruction that takes one word: WORDS = {the word, NULL} */
static int expand_word(struct build *b, struct bstage *st, struct df_instr *in, char ***words, struct md_error *err)
{
	int nv = 0;
	char **vars = stage_vars(b, st, &nv);
	char *w = dockerfile_word(in->args, b->df.escape, vars, nv, err);
	vars_free(vars, nv);
	if (!w)
		return -1;
	*words = xcalloc(2, sizeof(char *));
	(*words)[0] = w;
	return 0;
}

static int step(struct build *b, struct df_instr *in, struct md_error *err)
{
	const char *k = in->cmd;
	struct bstage *st = b->n_stages ? &b->stages[b->n_stages - 1] : NULL;
	char **words = NULL;
	int n = 0, rc = -1;
	int raw = !strcmp(k, "RUN") || !strcmp(k, "CMD") || !strcmp(k, "ENTRYPOINT") || !strcmp(k, "SHELL") ||
		  !strcmp(k, "MAINTAINER") || in->json;
	if (!strcmp(k, "FROM")) { /* a FROM sees only the global ARGs */
		if (expand_words(b, NULL, in, &words, &n, err) < 0)
			return -1;
		rc = do_from(b, in, words, n, err);
		goto out;
	}
	if (!st && strcmp(k, "ARG"))
		return md_fail(err, "%s before FROM: only ARG may come first", k);
	if (!raw && single_word(k)) { /* WORKDIR /my dir: one word, spaces and all */
		if (expand_word(b, st, in, &words, err) < 0)
			return -1;
		n = 1;
	} else if (!raw && expand_words(b, st, in, &words, &n, err) < 0)
		return -1;
	if (!strcmp(k, "ARG")) {
		rc = do_arg(b, st, words, n, err);
		goto out;
	}
	if (!strcmp(k, "RUN"))
		rc = do_run(b, st, in, err);
	else if (!strcmp(k, "COPY") || !strcmp(k, "ADD"))
		rc = do_copy(b, st, in, words, n, err);
	else if (!strcmp(k, "ONBUILD") || !strcmp(k, "HEALTHCHECK"))
		rc = md_fail(err, "%s is not supported by mini-docker build (yet)", k);
	else {
		rc = (!strcmp(k, "ENV") || !strcmp(k, "LABEL")) ? do_env_label(b, st, in, words, n, err)
								 : do_config(b, st, in, words, n, err);
		if (rc == 0) {
			/* the step's key: the instruction and the config it made (an ENV $X that expanded anew differs) */
			char *text = json_dumps(cfg(st), JSON_COMPACT | JSON_SORT_KEYS);
			char *key = xasprintf("%s\nconfig=%s", in->original, text);
			rc = config_step(b, st, key, in->original, err);
			free(key);
			free(text);
		}
	}
out:
	dockerfile_words_free(words);
	return rc;
}

/* --- the image at the end ------------------------------------------------------------------- */

static int commit_image(struct build *b, struct bstage *st, char id[DIGEST_LEN], struct md_error *err)
{
	json_t *config = json_deep_copy(st->config), *m = NULL;
	char cdigest[DIGEST_LEN];
	char *ctext = NULL, *mtext = NULL, *cpath = NULL;
	int rc = -1, locked = 0;
	/* the time of the last step: a build from the cache alone is the same image, byte for byte */
	json_object_set_new(config, "created", json_string(st->created[0] ? st->created : "1970-01-01T00:00:00Z"));
	if (!json_object_get(config, "rootfs"))
		json_object_set_new(config, "rootfs", json_pack("{s:s,s:[]}", "type", "layers", "diff_ids"));
	ctext = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
	if (sha256_buf(ctext, strlen(ctext), cdigest, err) < 0)
		goto out;
	m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST, "config",
		      "mediaType", "application/vnd.oci.image.config.v1+json", "digest", cdigest, "size",
		      (json_int_t)strlen(ctext), "layers", st->layers);
	mtext = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	cpath = xasprintf("%s/%s", b->stage, digest_hex(cdigest));
	if (write_file_atomic(cpath, ctext, strlen(ctext), err) < 0)
		goto out;
	if (store_lock(&b->s, err) < 0)
		goto out;
	locked = 1;
	char full[MAX_TAGS][600];
	const char *names[MAX_TAGS];
	for (int i = 0; i < b->n_tags; i++) {
		struct image_ref r;
		if (ref_parse(b->tags[i], &r, err) < 0)
			goto out;
		ref_string(&r, full[i], sizeof(full[i]));
		names[i] = full[i];
	}
	if (image_commit(&b->s, b->stage, mtext, strlen(mtext), MT_OCI_MANIFEST, names, b->n_tags, err) < 0)
		goto out;
	memcpy(id, cdigest, DIGEST_LEN);
	rc = 0;
out:
	if (locked)
		store_unlock(&b->s);
	free(ctext);
	free(mtext);
	free(cpath);
	json_decref(m);
	json_decref(config);
	return rc;
}

/* --- the command ----------------------------------------------------------------------------- */

static int build_open(struct build *b, const char *context, const char *file, struct md_error *err)
{
	char *text = NULL, *path = NULL;
	size_t len;
	int rc = -1;
	b->ctxfd = -1;
	if (!(b->context = realpath(context, NULL)))
		return md_fail_errno(err, "the build context %s", context);
	if ((b->ctxfd = open(b->context, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return md_fail_errno(err, "the build context %s: give a directory", context);
	path = file ? xstrdup(file) : xasprintf("%s/Dockerfile", b->context);
	b->file = file ? file : "Dockerfile";
	if (read_file(path, 1 << 20, &text, &len, err) < 0) {
		md_context(err, "no Dockerfile (give one with -f FILE, or put a Dockerfile in %s)", context);
		goto out;
	}
	if (dockerfile_parse(text, len, b->file, &b->df, err) < 0 || ignore_load(b->ctxfd, &b->ignore, err) < 0)
		goto out;
	if (store_open(&b->s, b->o, err) < 0)
		goto out;
	if (store_lock(&b->s, err) < 0 || store_stage(&b->s, "build", &b->stage, err) < 0)
		goto out;
	store_unlock(&b->s);
	/* our mounts are ours alone, and go when we do (a build killed leaves no overlay behind) */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		md_fail_errno(err, "a mount namespace for the build (build needs root)");
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(path);
	return rc;
}

static void build_close(struct build *b)
{
	for (int i = 0; i < b->n_stages; i++)
		stage_free(&b->stages[i]);
	if (b->stage) {
		rm_rf(b->stage);
		free(b->stage);
	}
	if (b->s.root)
		store_close(&b->s);
	if (b->ctxfd >= 0)
		close(b->ctxfd);
	ignore_free(b->ignore);
	dockerfile_free(&b->df);
	json_decref(b->global_args);
	free(b->context);
}

/* the instructions to run: up to the end of the --target stage */
static int count_steps(struct build *b, int *last, struct md_error *err)
{
	*last = b->df.n;
	if (!b->target)
		return b->df.n;
	for (int i = 0, seen = 0; i < b->df.n; i++) {
		if (strcmp(b->df.v[i].cmd, "FROM"))
			continue;
		if (seen) {
			*last = i;
			return i;
		}
		char *as = strcasestr(b->df.v[i].args, " as ");
		if (as && !strcasecmp(as + 4 + strspn(as + 4, " \t"), b->target))
			seen = 1;
	}
	for (int i = 0; i < b->df.n; i++)
		if (!strcmp(b->df.v[i].cmd, "FROM")) {
			char *as = strcasestr(b->df.v[i].args, " as ");
			if (as && !strcasecmp(as + 4 + strspn(as + 4, " \t"), b->target))
				return b->df.n;
		}
	return md_fail(err, "--target %s: no stage of %s is named so (FROM IMAGE AS %s)", b->target, b->file, b->target);
}

static int build(struct build *b, const char *context, const char *file, struct md_error *err)
{
	int last;
	char id[DIGEST_LEN];
	if (build_open(b, context, file, err) < 0)
		return -1;
	b->global_args = json_object();
	if ((b->steps = count_steps(b, &last, err)) < 0)
		return -1;
	for (int i = 0; i < last; i++) {
		struct df_instr *in = &b->df.v[i];
		printf("STEP %d/%d: %s\n", i + 1, b->steps, in->original);
		fflush(stdout);
		if (step(b, in, err) < 0)
			return md_context(err, "%s:%d: %s", b->file, in->line, in->original);
		fflush(stdout);
	}
	if (!b->n_stages)
		return md_fail(err, "%s has no FROM", b->file);
	if (commit_image(b, &b->stages[b->n_stages - 1], id, err) < 0)
		return -1;
	printf("COMMIT%s%s\n", b->n_tags ? " " : "", b->n_tags ? b->tags[0] : "");
	for (int i = 0; i < b->n_tags; i++) {
		struct image_ref r;
		char full[600];
		if (ref_parse(b->tags[i], &r, err) == 0 && (ref_string(&r, full, sizeof(full)), 1))
			printf("Successfully tagged %s\n", full);
	}
	printf("%s\n", digest_hex(id));
	return 0;
}

int cmd_build(const struct md_opts *o, int argc, char **argv)
{
	enum { TAG, FILE_, BUILD_ARG, NO_CACHE, TARGET, NETWORK, PLATFORM, QUIET, PULL, RM };
	static const struct md_option options[] = {
	    [TAG] = {"tag", 't', MD_VALUE},	     [FILE_] = {"file", 'f', MD_VALUE},
	    [BUILD_ARG] = {"build-arg", 0, MD_VALUE}, [NO_CACHE] = {"no-cache", 0, MD_FLAG},
	    [TARGET] = {"target", 0, MD_VALUE},	     [NETWORK] = {"network", 0, MD_VALUE},
	    [PLATFORM] = {"platform", 0, MD_VALUE},   [QUIET] = {"quiet", 'q', MD_FLAG},
	    [PULL] = {"pull", 0, MD_FLAG},	     [RM] = {"rm", 0, MD_FLAG},
	};
	static const char usage[] = "build [-t NAME[:TAG]]... [-f FILE] [--build-arg K=V]... [--no-cache] "
				    "[--target STAGE] [--network none|host] CONTEXT";
	static struct build b;
	struct md_error err = {0};
	struct md_getopt g;
	const char *file = NULL;
	int k, rc = 0;
	b.o = o;
	b.network = "none";
	b.ctxfd = -1;
	md_getopt_init(&g, "build", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while (rc == 0 && (k = md_getopt(&g, &err)) >= 0) {
		const char *v = g.value;
		if (k == TAG && b.n_tags < MAX_TAGS)
			b.tags[b.n_tags++] = v;
		else if (k == TAG)
			rc = md_fail(&err, "build: at most %d -t", MAX_TAGS);
		else if (k == FILE_)
			file = v;
		else if (k == BUILD_ARG && b.n_build_args < MAX_BUILD_ARGS)
			b.build_args[b.n_build_args++] = (char *)v;
		else if (k == NO_CACHE)
			b.no_cache = 1;
		else if (k == TARGET)
			b.target = v;
		else if (k == NETWORK && (!strcmp(v, "none") || !strcmp(v, "host") || !strcmp(v, "bridge")))
			b.network = v;
		else if (k == NETWORK)
			rc = md_fail(&err, "build: --network %s: use none (the default), host or bridge", v);
		else if (k == PLATFORM && strcmp(v, "linux/amd64") && strcmp(v, "linux/arm64"))
			rc = md_fail(&err, "build: --platform %s: this builder runs RUN natively: only this host's platform", v);
	}
	if (rc < 0) {
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 1)
		return md_usage(usage);
	for (int i = 0; i < b.n_tags; i++) {
		struct image_ref r;
		if (ref_parse(b.tags[i], &r, &err) < 0 || r.digest[0]) {
			fprintf(stderr, "mini-docker: build: -t %s: give NAME[:TAG]%s%s\n", b.tags[i], r.digest[0] ? "" : ": ",
				r.digest[0] ? "" : err.msg);
			return EXIT_ENGINE;
		}
	}
	if (build(&b, argv[g.optind], file, &err) < 0) {
		fflush(stdout);
		fprintf(stderr, "mini-docker: build: %s\n", err.msg);
		rc = EXIT_ENGINE;
	}
	build_close(&b);
	return rc;
}
