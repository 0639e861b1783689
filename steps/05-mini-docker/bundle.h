/* bundle.h: an OCI runtime bundle's config.json from an image (bundle.c) */
#ifndef MD_BUNDLE_H
#define MD_BUNDLE_H

#include <jansson.h>

#include "error.h"

/*
 * config.json (OCI runtime spec 1.0.2) for IMAGE_CONFIG (the image's config
 * blob), its user resolved in the rootfs open at ROOTFD; NULL with ERR filled.
 */
json_t *bundle_config(json_t *image_config, int rootfd, struct md_error *err);

#endif
