/* registry.h: a client of the OCI distribution spec (the registry HTTP API, v2). */
#ifndef MD_REGISTRY_H
#define MD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mini-docker.h"
#include "util.h"

struct registry;

/* Find how to talk to HOST (https, or http for loopback / --insecure-registry), ping /v2/ and log in for REPO. */
int registry_open(struct registry **out, const struct md_opts *o, const char *host, const char *repo, struct md_error *err);
void registry_close(struct registry *r);
/* GET /v2/REPO/manifests/REFERENCE with the four manifest media types in Accept. */
int registry_manifest(struct registry *r, const char *reference, char **body, size_t *len, char *ctype,
		      size_t ctlen, struct md_error *err);

typedef void (*progress_fn)(void *ctx, uint64_t done);
/* GET /v2/REPO/blobs/DIGEST into DEST (created), checking SIZE and sha256 while it streams. */
int registry_blob(struct registry *r, const char *digest, int64_t size, const char *dest, progress_fn fn, void *ctx,
		  struct md_error *err);
/* ---- push (push.c) ---- */
/* registry_open, with tokens that may push to REPO */
int registry_open_push(struct registry **out, const struct md_opts *o, const char *host, const char *repo,
		       struct md_error *err);
/* HEAD /v2/REPO/blobs/DIGEST: 1 there, 0 not, -1 error */
int registry_blob_exists(struct registry *r, const char *digest, struct md_error *err);
/*
 * POST /v2/REPO/blobs/uploads/, then PUT its Location?digest=DIGEST with the file PATH (SIZE bytes;
 * over --chunk-size, PATCHes of that size first). With FROM, ask the registry to mount the blob from
 * the repository FROM first. FN(CTX, bytes sent) as they go. 0 sent, 1 mounted, -1 error.
 */
int registry_blob_upload(struct registry *r, const char *digest, const char *path, uint64_t size, const char *from,
			 progress_fn fn, void *ctx, struct md_error *err);
/* PUT /v2/REPO/manifests/REFERENCE; DIGEST (DIGEST_LEN) gets what the registry says it is */
int registry_manifest_put(struct registry *r, const char *reference, const char *body, size_t len,
			  const char *media_type, char *digest, struct md_error *err);

/* Check USER/PASS against HOST's /v2/ and keep them in auth.json. */
int registry_login(const struct md_opts *o, const char *host, const char *user, const char *pass, struct md_error *err);

/* the media types of manifests we read */
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

#endif
