/*
 * buildstate.c: the state a build changes, one step at a time, and what keeps it.
 *
 *   a stage         one FROM: an image config (Env, Cmd, ...; rootfs.diff_ids;
 *                   history) and its layers, as a manifest lists them
 *   variables       what $NAME means in an instruction: the stage's ARGs, then its Env
 *   the step cache  ROOT/build-cache/KEY, KEY = sha256(the key before + the step):
 *                   what the step made (a layer, a history entry); a hit is not run again
 *   overlays        the stage's layers, from ROOT/layers, under a fresh upper dir
 *                   (RUN, COPY) or read-only (COPY --from)
 *   commits         an upper dir into a layer (layer.c), into the store as pull puts
 *                   one there; at the end the config and a manifest, named last
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildstate.h"
#include "image.h"
#include "layer.h"
#include "narrate.h"
#include "ref.h"
#include "registry.h"
#include "state.h" /* time_now */

void stage_free(struct bstage *st)
{
	free(st->name);
	json_decref(st->config);
	json_decref(st->layers);
	json_decref(st->args);
}

/* --- variables: what $NAME means in an instruction ----------------------------------------- */

/* "K=V" strings: the stage's ARG values first, then the config's Env (an ENV wins over an ARG) */
char **stage_vars(struct build *b, struct bstage *st, int *n)
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

void vars_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The value of ARG NAME: --build-arg first, then DEFAULT (maybe NULL) */
json_t *arg_value(struct build *b, const char *name, const char *def)
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

/* --- the cache ----------------------------------------------------------------------------- */

/* KEY = sha256(the key before + "\n" + TEXT): one step further */
int next_key(struct bstage *st, const char *text, struct md_error *err)
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
json_t *cache_get(struct build *b, struct bstage *st)
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

/* --- the state: config, layers, history ---------------------------------------------------- */

json_t *cfg(struct bstage *st)
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
int config_step(struct build *b, struct bstage *st, const char *key, const char *created_by,
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
void add_layer(struct bstage *st, json_t *entry)
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

/* --- overlays ------------------------------------------------------------------------------ */

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
int stage_mount(struct build *b, struct bstage *st, int writable, char **dir, struct md_error *err)
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

void stage_umount(const char *dir)
{
	char *rootfs = xasprintf("%s/rootfs", dir);
	umount2(rootfs, MNT_DETACH);
	free(rootfs);
}

/* --- a new layer --------------------------------------------------------------------------- */

/*
 * The upper dir UPPER of a RUN or COPY becomes a layer: a blob in the store and the layer
 * unpacked under ROOT/layers/CHAINID, as pull puts one there; then the step's cache entry.
 */
int commit_layer(struct build *b, struct bstage *st, const char *upper, const char *created_by,
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

/* --- the stages, and the images they start from -------------------------------------------- */

struct bstage *find_stage(struct build *b, const char *name)
{
	for (int i = 0; i < b->n_stages; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", i);
		if ((b->stages[i].name && !strcasecmp(b->stages[i].name, name)) || !strcmp(num, name))
			return &b->stages[i];
	}
	return NULL;
}

/* the image NAME from the store, pulled when it is not there */
int load_image(struct build *b, const char *name, json_t **manifest, json_t **config, struct md_error *err)
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

/* exec form as it is; shell form: the config's Shell (or /bin/sh -c) and the line */
json_t *command_of(struct bstage *st, struct df_instr *in)
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

/* --- the image at the end ------------------------------------------------------------------ */

int commit_image(struct build *b, struct bstage *st, char id[DIGEST_LEN], struct md_error *err)
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
