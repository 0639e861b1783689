/*
 * layer.h: a directory of changes -> an OCI layer, the inverse of unpack.h.
 *
 * A layer is a tar of the files one build step added or changed, gzip-compressed
 * (OCI image spec, layer.md: "Representing Changes"). Deletions are files too,
 * since a tar cannot hold an absence:
 *   - ".wh.NAME", an empty file, deletes NAME of the layers below;
 *   - "DIR/.wh..wh..opq" makes DIR opaque: it hides everything the layers below
 *     put in DIR, and only this layer's children of DIR remain.
 * overlayfs records the same two facts in its upper dir its own way
 * (Documentation/filesystems/overlayfs.rst): a deleted NAME is a char device
 * 0:0 named NAME, an opaque dir has the xattr trusted.overlay.opaque="y"
 * (user.overlay.opaque with -o userxattr). layer_write turns the one into the other.
 *
 * A layer has two digests: the DiffID, sha256 of the tar (the image config lists
 * it in rootfs.diff_ids), and the digest of the blob, the gzip of that tar (the
 * manifest lists it, the registry stores it under it).
 */
#ifndef MD_LAYER_H
#define MD_LAYER_H

#include <stdint.h>

#include "error.h"
#include "util.h"

/*
 * Write the directory UPPER (an overlayfs upper dir, or any dir of new files) as an OCI layer:
 * a tar, gzip-compressed, into the new file OUT (created 0600, must not exist).
 * DIGEST gets "sha256:HEX" of OUT (the blob's digest), DIFF_ID "sha256:HEX" of the uncompressed tar,
 * SIZE OUT's size in bytes. On failure OUT is removed.
 */
int layer_write(const char *upper, const char *out, char digest[DIGEST_LEN], char diff_id[DIGEST_LEN], uint64_t *size,
		struct md_error *err);

#endif
