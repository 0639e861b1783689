/*
 * http.c: one HTTP exchange of the registry client, over libcurl.
 *
 *     $ curl -si -H 'Accept: ...' -H 'Authorization: Bearer ...' https://HOST/v2/NAME/manifests/REF
 *
 * A request (struct http, in http.h) says where its body goes: memory (a manifest,
 * a token), or a file hashed as it is written (a blob), at most so many bytes. The
 * answer's status, headers (WWW-Authenticate, Location, Content-Range, Retry-After,
 * Docker-Content-Digest) and the start of an error body come back in the same struct.
 * Redirects are followed by hand, so that Authorization never goes to another origin.
 * What to do with an answer (log in, retry, resume) is registry.c's business.
 */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "narrate.h"
#include "util.h"

#define MAX_REDIRECTS 5

static size_t on_header(char *buf, size_t size, size_t n, void *p)
{
	struct http *h = p;
	size_t len = size * n;
	char line[4096];
	snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), buf);
	line[strcspn(line, "\r\n")] = 0;
	if (!strncasecmp(line, "HTTP/", 5)) { /* a new response (after a 100 or a redirect) */
		free(h->www_auth);
		h->www_auth = NULL;
		h->www_auth_long = 0;
		h->ctype[0] = 0;
		h->retry_after = -1;
		h->range_start = -1;
	} else if (!strncasecmp(line, "Retry-After:", 12)) {
		/* seconds (an HTTP date is read as "soon": we wait our own backoff) */
		char *end;
		long v = strtol(line + 12, &end, 10);
		while (*end == ' ')
			end++;
		h->retry_after = end != line + 12 && !*end && v >= 0 ? v : -1;
	} else if (!strncasecmp(line, "Content-Range:", 14)) {
		long long a;
		if (sscanf(line + 14, " bytes %lld-", &a) == 1)
			h->range_start = a;
	} else if (!strncasecmp(line, "Location:", 9)) {
		const char *v = line + 9;
		while (*v == ' ')
			v++;
		snprintf(h->location, sizeof(h->location), "%.2000s", v);
	} else if (!strncasecmp(line, "Docker-Content-Digest:", 22)) {
		const char *v = line + 22;
		while (*v == ' ')
			v++;
		snprintf(h->digest, sizeof(h->digest), "%.*s", (int)strcspn(v, " "), v);
	} else if (!strncasecmp(line, "Content-Type:", 13)) {
		const char *v = line + 13;
		while (*v == ' ')
			v++;
		snprintf(h->ctype, sizeof(h->ctype), "%.*s", (int)strcspn(v, "; "), v);
	} else if (!strncasecmp(line, "WWW-Authenticate:", 17)) {
		char *old = h->www_auth;
		if (len >= sizeof(line) - 1 || (old && strlen(old) > 16384))
			h->www_auth_long = 1;
		h->www_auth = old ? xasprintf("%s, %s", old, line + 17) : xstrdup(line + 17);
		free(old);
	}
	return len;
}

/* forget what a file body holds: the next bytes are its first */
int restart_body(struct http *h)
{
	struct md_error ignored;
	h->got = 0;
	if (h->fd < 0) {
		h->memlen = 0;
		return 0;
	}
	if (ftruncate(h->fd, 0) < 0 || lseek(h->fd, 0, SEEK_SET) < 0) {
		h->write_errno = errno;
		return -1;
	}
	sha256_free(h->hash);
	return sha256_init(h->hash, &ignored);
}

static size_t on_body(char *buf, size_t size, size_t n, void *p)
{
	struct http *h = p;
	size_t len = size * n;
	if (h->status >= 300 || h->status == 0) {
		/* error bodies (JSON with the registry's message) are kept for the message; an
		 * endless one (a 404 that never ends) is not read past MAX_ERROR_BODY */
		size_t k = len < sizeof(h->errbody) - 1 - h->errlen ? len : sizeof(h->errbody) - 1 - h->errlen;
		memcpy(h->errbody + h->errlen, buf, k);
		h->errlen += k;
		h->errbody[h->errlen] = 0;
		h->errtotal += len;
		if (h->errtotal > MAX_ERROR_BODY) {
			h->errbody_cut = 1;
			return 0; /* aborts the transfer: the status is all we need */
		}
		return len;
	}
	if (!h->body_started) {
		h->body_started = 1;
		if (h->range_from && h->status == 206 && h->range_start != (int64_t)h->got) {
			h->bad_range = 1; /* not the part we asked for: start over */
			return 0;
		}
		if (h->got && h->status == 200 && restart_body(h) < 0)
			return 0; /* the whole blob instead of the rest we asked for: take it from byte 0 */
	}
	if (h->got + len > h->max) {
		h->too_big = 1;
		return 0; /* aborts the transfer */
	}
	h->got += len;
	if (h->fd >= 0) {
		for (size_t off = 0; off < len;) {
			ssize_t w = write(h->fd, buf + off, len - off);
			if (w < 0) {
				h->write_errno = errno;
				return 0;
			}
			off += w;
		}
		sha256_update(h->hash, buf, len);
	} else {
		char *m = realloc(h->mem, h->memlen + len + 1);
		if (!m)
			return 0;
		h->mem = m;
		memcpy(h->mem + h->memlen, buf, len);
		h->memlen += len;
		h->mem[h->memlen] = 0;
	}
	return len;
}

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct http *h = p;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (h->progress && h->status < 300) /* a blob coming (pull) or going (push) */
		h->progress(h->pctx, h->body_fd > 0 ? h->body_off + h->body_sent : h->got);
	return 0;
}

/* A header callback cannot see the status, so the body callback asks curl through this. */
static CURL *current_easy(CURL *set, int get)
{
	static __thread CURL *c;
	if (!get)
		c = set;
	return c;
}

static size_t on_body_status(char *buf, size_t size, size_t n, void *p)
{
	struct http *h = p;
	if (h->status == 0)
		curl_easy_getinfo(current_easy(NULL, 1), CURLINFO_RESPONSE_CODE, &h->status);
	return on_body(buf, size, n, p);
}

/* what an exchange allocated: its body in memory, the challenge it answered with */
void http_done(struct http *h)
{
	free(h->mem);
	free(h->www_auth);
	h->mem = h->www_auth = NULL;
}

/* a file body, for curl to send */
static size_t on_read(char *buf, size_t size, size_t n, void *p)
{
	struct http *h = p;
	size_t want = size * n;
	if (want > h->body_size - h->body_sent)
		want = h->body_size - h->body_sent;
	ssize_t got = want ? read(h->body_fd, buf, want) : 0;
	if (got > 0)
		h->body_sent += got;
	return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

/* One request, no redirect followed: the CURLcode; the status, headers and body are in H. */
static CURLcode http_once(struct registry *r, struct http *h, char *location, size_t loclen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char *line = NULL;
	CURLcode rc;
	h->curlerr[0] = 0;
	if (!c)
		return CURLE_OUT_OF_MEMORY;
	h->status = 0;
	h->body_started = 0;
	h->bad_range = 0;
	h->retry_after = -1;
	h->range_start = -1;
	if (r->deadline) {
		int64_t left = r->deadline - monotonic_ms();
		if (left <= 0) {
			snprintf(h->curlerr, sizeof(h->curlerr), "the pull took longer than --pull-timeout %ld s",
				 r->o->pull_timeout);
			curl_easy_cleanup(c);
			return CURLE_OPERATION_TIMEDOUT;
		}
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	}
	if (h->range_from) {
		line = xasprintf("Range: bytes=%llu-", (unsigned long long)h->range_from);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (h->accept) {
		line = xasprintf("Accept: %s", h->accept);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (h->auth) {
		line = xasprintf("Authorization: %s", h->auth);
		hdrs = curl_slist_append(hdrs, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	const char *method = h->method ? h->method : "GET";
	if (h->content_range && h->body_size) {
		line = xasprintf("Content-Range: %llu-%llu", (unsigned long long)h->body_off,
				 (unsigned long long)(h->body_off + h->body_size - 1));
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (h->body || h->body_fd > 0) {
		line = xasprintf("Content-Type: %s", h->body_type ? h->body_type : "application/octet-stream");
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (h->body_fd > 0) { /* a blob (or a chunk): streamed from its file, from its first byte each attempt */
		lseek(h->body_fd, (off_t)h->body_off, SEEK_SET);
		h->body_sent = 0;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, h);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)h->body_size);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body ? h->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(h->body ? h->body_len : 0));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	h->location[0] = 0;
	h->digest[0] = 0;
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mini-docker/0.5");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_status);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curlerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	/* a stalled transfer (under --low-speed-limit bytes/s for --low-speed-time s) is an error, not a hang */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, r->o->low_speed_limit);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, r->o->low_speed_time);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, (long)r->verify);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, r->verify ? 2L : 0L);
	if (r->ca_blob) {
		struct curl_blob b = {.data = r->ca_blob, .len = r->ca_len, .flags = CURL_BLOB_NOCOPY};
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
	}
	current_easy(c, 0);
	if (!strcmp(method, "GET"))
		narrate("GET %s", "curl -L %s", h->url);
	else
		narrate("%s %s", "curl -X %s %s", method, h->url);
	rc = curl_easy_perform(c);
	if (h->status == 0)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	location[0] = 0;
	if (rc == CURLE_OK && h->status >= 300 && h->status < 400) {
		char *loc = NULL;
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		if (loc)
			snprintf(location, loclen, "%s", loc);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	return rc;
}

/*
 * "scheme://host:port" of a URL (the origin), for comparing where a redirect goes;
 * with WRITTEN, "host" or "host:port" as a user would write it (--insecure-registry).
 */
void url_origin(const char *url, char *out, size_t len, int written)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	out[0] = 0;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
		curl_url_get(u, CURLUPART_HOST, &host, 0);
		curl_url_get(u, CURLUPART_PORT, &port, written ? 0 : CURLU_DEFAULT_PORT);
		if (written)
			snprintf(out, len, "%s%s%s", host ? host : "", port ? ":" : "", port ? port : "");
		else
			snprintf(out, len, "%s://%s:%s", scheme ? scheme : "", host ? host : "", port ? port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static int curl_failure(struct registry *r, struct http *h, CURLcode rc, struct md_error *err)
{
	const char *why = h->curlerr[0] ? h->curlerr : curl_easy_strerror(rc);
	if (rc == CURLE_WRITE_ERROR && h->write_errno)
		return md_fail(err, "%s: saving the download: %s", h->url, strerror(h->write_errno));
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return md_fail(err, "cannot connect to %s: %s (is the registry running? check the name and port)", r->host, why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return md_fail(err, "unknown registry host %s: %s (check the image name)", r->host, why);
	case CURLE_PEER_FAILED_VERIFICATION:
		return md_fail(err, "the TLS certificate of %s is not trusted: %s (give its CA with --ca-file FILE or put it in "
				    "certs.d/%s/ca.crt)", r->host, why, r->host);
	case CURLE_OPERATION_TIMEDOUT:
		if (r->deadline && monotonic_ms() >= r->deadline - 100)
			return md_fail(err, "%s: the pull took longer than --pull-timeout %ld s (give it more, or 0 for no "
					    "deadline)", r->host, r->o->pull_timeout);
		return md_fail(err, "%s: timed out: %s (a stalled or slow registry; --low-speed-limit, --low-speed-time and "
				    "--pull-timeout change the limits)", r->host, why);
	default:
		return md_fail(err, "%s: %s", h->url, why);
	}
}

/*
 * GET with redirects followed by hand. Authorization goes only where the first
 * request went: same scheme, host and port (as curl since CVE-2022-27776). A
 * redirect to another host (a CDN), or from https to http on the same host:port,
 * gets none: credentials are never sent in clear after the registry spoke TLS.
 */
int http_get(struct registry *r, struct http *h, struct md_error *err)
{
	char location[4096], here[300], there[300], *url = xstrdup(h->url);
	const char *auth = h->auth;
	int n;
	url_origin(url, here, sizeof(here), 0);
	for (n = 0;; n++) {
		h->url = url;
		h->auth = auth;
		CURLcode rc = http_once(r, h, location, sizeof(location));
		r->last_curl = rc;
		if (rc != CURLE_OK && !h->too_big && !h->errbody_cut) {
			curl_failure(r, h, rc, err);
			free(url);
			return -1;
		}
		if (!location[0] || n == MAX_REDIRECTS)
			break;
		url_origin(location, there, sizeof(there), 0);
		if (auth && strcmp(here, there)) {
			narrate("redirected to %s: no Authorization header for another %s", "curl %s  # no -H Authorization%.0s",
				there, strncmp(here, there, strcspn(here, ":")) ? "scheme (never in clear)" : "host");
			auth = NULL;
		}
		/* a redirect's own body went to errbody; a file body keeps what it has (a resumed blob) */
		h->errlen = 0;
		h->errtotal = 0;
		h->errbody_cut = 0;
		h->errbody[0] = 0;
		free(url);
		url = xstrdup(location);
	}
	h->url = NULL;
	free(url);
	return 0;
}

/* The registry's own words from an error body: {"errors":[{"code":"...","message":"..."}]} */
void registry_message(struct http *h, char *out, size_t len)
{
	if (h->errbody_cut) { /* not JSON we could read to its end */
		snprintf(out, len, "an error body longer than %d KiB: stopped reading it", MAX_ERROR_BODY >> 10);
		return;
	}
	json_t *j = json_loads(h->errbody, 0, NULL);
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	if (code || msg)
		snprintf(out, len, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	else
		snprintf(out, len, "%.200s", h->errbody[0] ? h->errbody : "no message");
	out[strcspn(out, "\r\n")] = 0;
	json_decref(j);
}

int status_failure(struct registry *r, struct http *h, const char *what, struct md_error *err)
{
	char msg[600];
	registry_message(h, msg, sizeof(msg));
	if (h->attempts > 1) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, "; %d attempts", h->attempts);
	}
	if (h->retry_after > MAX_RETRY_WAIT) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, "; it asks us to wait %ld s", h->retry_after);
	}
	switch (h->status) {
	case 401:
		return md_fail(err, "%s: %s said 401 unauthorized (%s): log in with mini-docker login %s", what, r->host, msg, r->host);
	case 403:
		return md_fail(err, "%s: %s said 403 denied (%s): these credentials may not pull %s", what, r->host, msg, r->repo);
	case 404:
		return md_fail(err, "%s: %s said 404 not found (%s): check the name and tag", what, r->host, msg);
	case 429:
		return md_fail(err, "%s: %s said 429 too many requests (%s): wait and try again, or log in", what, r->host, msg);
	default:
		return md_fail(err, "%s: %s answered HTTP %ld (%s)", what, r->host, h->status, msg);
	}
}
