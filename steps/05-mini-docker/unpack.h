/* unpack.h: apply one layer (a tar, maybe gzip or zstd) to a directory, safely. */
#ifndef MD_UNPACK_H
#define MD_UNPACK_H

#include <stdint.h>

#include "error.h"
#include "util.h"

enum unpack_mode {
	UNPACK_LAYER,   /* one layer's own dir for overlayfs: whiteouts become char 0/0 and trusted.overlay.opaque */
	UNPACK_FLATTEN, /* onto the layers below in the same dir: whiteouts delete (what umoci unpack gives) */
	UNPACK_FILES,   /* an archive of plain files and dirs (load -i): no whiteouts, no owners */
};

struct unpack_opts {
	enum unpack_mode mode;
	uint64_t max_bytes;   /* refuse a layer that unpacks to more */
	uint64_t max_entries; /* refuse a layer with more entries */
	const char *label;    /* "layer sha256:abcd..." for messages */
};

/*
 * Extract the tar in BLOB under the directory ROOTFD. Every path is resolved
 * inside ROOTFD (openat2 RESOLVE_IN_ROOT): nothing is written outside it.
 * DIFFID receives the sha256 of the uncompressed tar (checked against the config).
 */
int unpack_blob(const char *blob, int rootfd, const struct unpack_opts *o, char diffid[DIGEST_LEN], struct md_error *err);
/* clean_path + open_dir_create for one entry name (for fuzz/): an fd, or -1 (WHY set when the name is refused) */
int unpack_resolve_dir(int rootfd, const char *name, const char **why);

#endif
