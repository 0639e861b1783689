/* image.h: images made of a manifest, a config and layers; the commands that read the store. */
#ifndef MD_IMAGE_H
#define MD_IMAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "mini-docker.h"
#include "store.h"

/* Parse a manifest or an index; its mediaType must agree with the Content-Type it came with (CVE-2021-41190). */
json_t *image_parse_manifest(const char *body, size_t len, const char *ctype, int *is_index, struct md_error *err);
/* From an index, the manifest for this host (or --platform); attestations are skipped. */
const char *image_choose_platform(const struct md_opts *o, json_t *index, struct md_error *err);
/* Check a manifest: schema 2, a container image config, layers of a type we can unpack. */
int image_check_manifest(json_t *m, struct md_error *err);

/*
 * Put an image into the store: unpack each layer not there yet (checking its
 * DiffID), move the blobs and layer dirs from STAGE into place, then name it
 * in index.json. Blobs are looked for in STAGE (named by their hex) and then
 * in the store. Called with the store locked.
 */
int image_commit(struct store *s, const char *stage, const char *manifest, size_t mlen, const char *media_type,
		 const char **names, int n_names, struct md_error *err);

/* build.c: a layer it made (the file BLOB in STAGE) into the store: unpacked at ROOT/layers/CHAIN, then
 * the blob; with the store locked */
int image_add_layer(struct store *s, const char *stage, const char *blob, const char *digest, const char *diff_id,
		    const char *chain, struct md_error *err);
/*
 * pull.c: fetch NAME from its registry into the store (what `mini-docker pull`
 * and `run` of an image not in the store both do); the progress goes to OUT.
 */
int image_pull(const struct md_opts *o, const char *name, FILE *out, struct md_error *err);

int cmd_images(const struct md_opts *o, int argc, char **argv);
int cmd_rmi(const struct md_opts *o, int argc, char **argv);
int cmd_inspect(const struct md_opts *o, int argc, char **argv);
int cmd_history(const struct md_opts *o, int argc, char **argv);
int cmd_unpack(const struct md_opts *o, int argc, char **argv);
int cmd_tag(const struct md_opts *o, int argc, char **argv);
/* push.c */
int cmd_push(const struct md_opts *o, int argc, char **argv);

#endif
