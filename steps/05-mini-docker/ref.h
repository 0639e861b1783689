/* ref.h: image references, normalized as Docker does (docker/distribution reference). */
#ifndef MD_REF_H
#define MD_REF_H

#include "error.h"
#include "util.h"

struct image_ref {
	char registry[256]; /* "docker.io", "127.0.0.1:5000", "quay.io" */
	char repo[256];     /* "library/busybox" */
	char tag[129];      /* "latest", or "" when pulled by digest only */
	char digest[DIGEST_LEN];
};

/* Parse [REGISTRY/]NAME[:TAG][@DIGEST]: docker.io and library/ are implied, tag defaults to latest. */
int ref_parse(const char *s, struct image_ref *r, struct md_error *err);
/* The host to talk to: docker.io is served by registry-1.docker.io. */
const char *ref_api_host(const struct image_ref *r);
/* "docker.io/library/busybox:latest" or ".../busybox@sha256:..." into BUF */
void ref_string(const struct image_ref *r, char *buf, size_t len);
/* "registry/repo" */
void ref_name(const struct image_ref *r, char *buf, size_t len);

#endif
