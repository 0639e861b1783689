/*
 * http.h: the registry client's insides, shared by its three files:
 *     http.c      one HTTP exchange over libcurl: headers, bodies, redirects by hand
 *     registry.c  a registry: TLS and its CAs, auth (Basic, Bearer tokens), retries, pulls
 *     upload.c    push's half of the API: blobs and manifests going up
 * The rest of mini-docker sees only registry.h.
 */
#ifndef MD_HTTP_H
#define MD_HTTP_H

#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "lazy.h" /* libcurl's types; its functions are dlopen'd (registry.c's curl_start) */
#include "mini-docker.h"
#include "util.h"

#define MAX_ERROR_BODY (64 << 10) /* an error body longer than this is not read on (an endless 404) */
#define MAX_RETRY_WAIT 60         /* seconds: a Retry-After longer than this is not waited for */

/* One registry, as registry_open found it: what every request to it shares. */
struct registry {
	const struct md_opts *o;
	char host[256]; /* host[:port] as the user wrote it */
	char base[300]; /* "https://host" or "http://host" */
	char repo[256];
	int verify;     /* verify the TLS peer (off only for an --insecure-registry with a bad cert) */
	char *ca_blob;  /* system CAs + --ca-file + certs.d/HOST/ca.crt, or NULL */
	size_t ca_len;
	char *user, *pass;
	pthread_mutex_t lock; /* layers are fetched by several threads: guards auth */
	char *auth;           /* "Bearer x" / "Basic y" or NULL */
	CURLcode last_curl;   /* of the last request: decides the fallback to plain http */
	int64_t deadline;     /* CLOCK_MONOTONIC ms when the pull must end (--pull-timeout), or 0 */
	int push;             /* tokens for pull,push (registry_open_push) */
};

/* One HTTP exchange: where its body goes and what came back. */
struct http {
	const char *url;
	const char *method; /* NULL: GET; "HEAD", or "POST"/"PUT" with the body below */
	const char *body;   /* a body in memory (a manifest), BODY_LEN bytes of BODY_TYPE ... */
	size_t body_len;
	const char *body_type;
	int body_fd;        /* ... or from a file (a blob), BODY_SIZE bytes: 0 means none (stdin is never one) */
	uint64_t body_size;
	uint64_t body_off;  /* ... from this byte of the file (a chunk of a blob) */
	uint64_t body_sent;
	int content_range;  /* say which bytes they are: Content-Range: OFF-LAST (a PATCH of a chunked upload) */
	char location[2048]; /* the Location header of the answer (an upload's next URL) */
	char digest[DIGEST_LEN]; /* its Docker-Content-Digest header */
	const char *accept;
	const char *auth; /* Authorization value, or NULL */
	int fd;           /* body to this file, hashed, at most max bytes; or -1 for memory */
	struct sha256 *hash;
	uint64_t max, got;
	char *mem;
	size_t memlen;
	void (*progress)(void *ctx, uint64_t done); /* a progress_fn (registry.h) */
	void *pctx;
	long status;
	char ctype[128];
	char *www_auth;
	int www_auth_long; /* a challenge longer than we read: refused, not cut */
	char errbody[2048];
	size_t errlen;
	uint64_t errtotal; /* bytes of error body read: at most MAX_ERROR_BODY */
	int errbody_cut;   /* ... and there was more */
	uint64_t range_from; /* ask for the body from this byte on (a resumed blob), or 0 */
	int64_t range_start; /* the first byte of a 206 answer (Content-Range), or -1 */
	int body_started;    /* the body callback has seen this response */
	int bad_range;       /* a 206 that does not start where we asked */
	long retry_after;    /* seconds, from Retry-After, or -1 */
	int attempts;        /* how many requests get_retrying made */
	int too_big;
	int write_errno; /* why writing the body failed (a full disk) */
	char curlerr[CURL_ERROR_SIZE];
};

/* ---- http.c ---- */
/* H's request, with redirects followed by hand (Authorization only to the first origin): 0 when an
 * answer came (any status: see h->status), -1 with ERR when none did */
int http_get(struct registry *r, struct http *h, struct md_error *err);
/* free what an exchange allocated (its body in memory, its challenge) */
void http_done(struct http *h);
/* forget what a file body holds: the next bytes are its first (-1: h->write_errno says why) */
int restart_body(struct http *h);
/* "scheme://host:port" of URL; with WRITTEN, "host[:port]" as a user writes it */
void url_origin(const char *url, char *out, size_t len, int written);
/* the registry's own words from an error body ({"errors":[{"code","message"}]}) */
void registry_message(struct http *h, char *out, size_t len);
/* ERR for an answer that is not what WHAT needed (401, 403, 404, 429...): always -1 */
int status_failure(struct registry *r, struct http *h, const char *what, struct md_error *err);

/* ---- registry.c ---- */
/* http_get with our Authorization (a 401 answered once), tried again after transient failures */
int get_retrying(struct registry *r, struct http *h, struct md_error *err);

#endif
