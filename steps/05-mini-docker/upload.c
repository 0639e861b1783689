/*
 * upload.c: push's half of the distribution spec (docker push): blobs and
 * manifests going up to a registry that registry_open_push opened.
 *
 *     HEAD  /v2/NAME/blobs/DIGEST                  there already?
 *     POST  /v2/NAME/blobs/uploads/[?mount=DIGEST&from=OTHER]   open an upload (or link the blob)
 *     PATCH LOCATION  (Content-Range: A-B)         a chunk, when the blob is big
 *     PUT   LOCATION?digest=DIGEST                 the rest, and the upload ends
 *     PUT   /v2/NAME/manifests/TAG                 the manifest last: now the tag exists
 *
 * Each request goes through registry.c's get_retrying (auth, retries); push.c
 * decides what to send and in which order.
 */
#define _GNU_SOURCE
#include "registry.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "narrate.h"
#include "util.h"

/* An upload's Location, relative or absolute, made absolute, with QUERY appended */
static char *next_url(struct registry *r, const char *location, const char *query)
{
	char *url = location[0] == '/' ? xasprintf("%s%s", r->base, location) : xstrdup(location);
	if (query) {
		char *q = xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', query);
		free(url);
		url = q;
	}
	return url;
}

int registry_blob_exists(struct registry *r, const char *digest, struct md_error *err)
{
	struct http h = {.fd = -1, .max = 1 << 16, .method = "HEAD"};
	char *url = xasprintf("%s/v2/%s/blobs/%s", r->base, r->repo, digest);
	h.url = url;
	int rc = get_retrying(r, &h, err);
	if (rc == 0 && h.status != 200 && h.status != 404)
		rc = status_failure(r, &h, digest, err);
	http_done(&h);
	free(url);
	return rc < 0 ? -1 : h.status == 200;
}

/* the upload at LOCATION (an answer's Location header) takes the bytes OFF..OFF+LEN-1 of FD in one PATCH */
static int upload_chunk(struct registry *r, char **location, int fd, uint64_t off, uint64_t len, progress_fn fn,
			void *ctx, struct md_error *err)
{
	struct http h = {.fd = -1, .max = 1 << 16, .method = "PATCH", .body_fd = fd, .body_size = len,
			 .body_off = off, .content_range = 1, .progress = fn, .pctx = ctx};
	char *url = next_url(r, *location, NULL);
	int rc = -1;
	h.url = url;
	narrate("a chunk: bytes %2$llu-%3$llu of the blob%1$.0s", "# the next PATCH carries Content-Range: %2$llu-%3$llu%1$.0s",
		url, (unsigned long long)off, (unsigned long long)(off + len - 1));
	if (get_retrying(r, &h, err) < 0)
		goto out;
	if (h.status != 202 || !h.location[0]) {
		status_failure(r, &h, "sending a chunk", err);
		goto out;
	}
	free(*location);
	*location = xstrdup(h.location); /* each answer says where the next bytes go */
	rc = 0;
out:
	http_done(&h);
	free(url);
	return rc;
}

int registry_blob_upload(struct registry *r, const char *digest, const char *path, uint64_t size, const char *from,
			 progress_fn fn, void *ctx, struct md_error *err)
{
	/*
	 * POST .../blobs/uploads/ opens an upload (with ?mount=DIGEST&from=REPO, the registry may
	 * instead link the blob it has in REPO: 201, nothing to send); its Location takes the blob:
	 * in one PUT, or (bigger than --chunk-size) in PATCHes of that size and a PUT that ends it.
	 */
	struct http h = {.fd = -1, .max = 1 << 16, .method = "POST"};
	char *url = from ? xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", r->base, r->repo, digest, from)
			 : xasprintf("%s/v2/%s/blobs/uploads/", r->base, r->repo);
	char *put = NULL, *q = NULL, *location = NULL;
	uint64_t chunk = r->o->chunk_size, off = 0;
	int rc = -1, fd = -1;
	h.url = url;
	if (get_retrying(r, &h, err) < 0)
		goto out;
	if (from && h.status == 201) { /* mounted: the registry had it, under another name */
		rc = 1;
		goto out;
	}
	if (h.status != 202 || !h.location[0]) {
		status_failure(r, &h, "starting an upload", err);
		goto out;
	}
	location = xstrdup(h.location);
	http_done(&h);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		md_fail_errno(err, "open %s", path);
		goto out;
	}
	if (chunk && size > chunk)
		for (; off < size; off += chunk)
			if (upload_chunk(r, &location, fd, off, size - off < chunk ? size - off : chunk, fn, ctx, err) < 0)
				goto out;
	q = xasprintf("digest=%s", digest);
	put = next_url(r, location, q);
	/* the PUT carries what is left: the whole blob, or nothing after the chunks */
	h = (struct http){.fd = -1, .max = 1 << 16, .method = "PUT", .body_fd = off ? 0 : fd, .body_size = off ? 0 : size,
			  .progress = off ? NULL : fn, .pctx = ctx};
	h.url = put;
	if (get_retrying(r, &h, err) < 0)
		goto out;
	if (h.status != 201) {
		status_failure(r, &h, digest, err);
		goto out;
	}
	/* the registry computed the digest itself: it must be the one we named */
	if (h.digest[0] && strcmp(h.digest, digest)) {
		md_fail(err, "blob %s: the registry stored it as %s", digest, h.digest);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	http_done(&h);
	free(url);
	free(put);
	free(q);
	free(location);
	return rc;
}

int registry_manifest_put(struct registry *r, const char *reference, const char *body, size_t len,
			  const char *media_type, char *digest, struct md_error *err)
{
	struct http h = {.fd = -1, .max = 1 << 16, .method = "PUT", .body = body, .body_len = len, .body_type = media_type};
	char *url = xasprintf("%s/v2/%s/manifests/%s", r->base, r->repo, reference);
	int rc = -1;
	h.url = url;
	if (get_retrying(r, &h, err) < 0)
		goto out;
	if (h.status != 201) {
		status_failure(r, &h, "putting the manifest", err);
		goto out;
	}
	snprintf(digest, DIGEST_LEN, "%s", h.digest);
	rc = 0;
out:
	http_done(&h);
	free(url);
	return rc;
}
