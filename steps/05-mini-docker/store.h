/*
 * store.h: where images live.
 *
 *     ROOT/images/            an OCI image layout (oci-layout, index.json, blobs/sha256/HEX)
 *     ROOT/layers/CHAINID/    each layer unpacked, in overlayfs form, keyed by ChainID
 *     ROOT/tmp/               staging: everything is written here, then renamed into place
 *     ROOT/build-cache/KEY    what a step of mini-docker build made (build.c): kept by gc
 *     ROOT/lock               flock(2): one writer at a time changes images/ and layers/
 *
 * A pull downloads into a stage of its own without ROOT/lock (each stage dir is
 * flock'ed by its writer while it lives), and takes ROOT/lock only to commit.
 */
#ifndef MD_STORE_H
#define MD_STORE_H

#include <jansson.h>

#include "error.h"
#include "mini-docker.h"
#include "util.h"

struct store {
	const struct md_opts *o;
	char *root, *layout, *layers, *tmp;
	int lockfd;
	int stagefd; /* our stage dir, flock'ed: a live writer's stage is not cleared */
};

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

int store_open(struct store *s, const struct md_opts *o, struct md_error *err);
void store_close(struct store *s);
/* Take the writer's lock (waits for another writer), then clear what a dead writer left in tmp/
 * (a stage nobody holds a flock on). */
int store_lock(struct store *s, struct md_error *err);
void store_unlock(struct store *s);
/* A fresh staging directory under tmp/ (malloc'd path), flock'ed until store_close; needs the lock. */
int store_stage(struct store *s, const char *what, char **dir, struct md_error *err);

char *store_blob_path(struct store *s, const char *digest);
int store_has_blob(struct store *s, const char *digest);
char *store_layer_path(struct store *s, const char *chain_id);
/* Move a verified blob file into blobs/sha256 (no-op when it is already there). */
int store_put_blob(struct store *s, const char *digest, const char *src, struct md_error *err);
int store_read_blob(struct store *s, const char *digest, size_t max, char **buf, size_t *len, struct md_error *err);

int store_index_load(struct store *s, json_t **idx, struct md_error *err);
int store_index_save(struct store *s, json_t *idx, struct md_error *err);
/* Point NAME at DESC (a manifest descriptor) in index.json, replacing what NAME pointed at. */
void store_index_set(json_t *idx, const char *name, json_t *desc);

/*
 * Find an image by name (busybox, 127.0.0.1:5000/app:1) or by ID prefix: its
 * manifest descriptor in index.json (borrowed from IDX), its manifest and config.
 */
int store_find(struct store *s, json_t *idx, const char *name, json_t **desc, json_t **manifest, json_t **config,
	       struct md_error *err);
/* Empty the build cache (ROOT/build-cache, build.c); how many entries went. With the store locked. */
int store_cache_clear(struct store *s);
/* The manifest and config of the image DESC (an entry of index.json) names. */
int store_load(struct store *s, json_t *desc, json_t **manifest, json_t **config, struct md_error *err);
/* Remove blobs and unpacked layers that no image in index.json needs, nor any container. */
int store_gc(struct store *s, struct md_error *err);
/* record.c: the layers (ChainID hex) the store's containers use, as keys of KEEP */
void containers_keep_layers(const struct md_opts *o, json_t *keep);
/* record.c: 1 when a container made from the image ID runs (or is being made), 2 when one is stopped,
 * 0 when none; USER is its id */
int containers_using_image(const struct md_opts *o, const char *image_id, char user[65]);

/* the most layers an image may have here */
#define MAX_LAYERS 128
/* ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(n)) */
int chain_ids(json_t *config, char (*out)[DIGEST_LEN], size_t max, size_t *n, struct md_error *err);

#endif
