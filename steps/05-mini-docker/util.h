/* util.h: small helpers shared by the engine: digests, files, directories. */
#ifndef MD_UTIL_H
#define MD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "sha256:" + 64 hex digits + NUL */
#define DIGEST_LEN 72

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

int sha256_init(struct sha256 *h, struct md_error *err);
void sha256_update(struct sha256 *h, const void *buf, size_t len);
/* Write "sha256:<hex>" into OUT and release the context. */
void sha256_final(struct sha256 *h, char out[DIGEST_LEN]);
void sha256_free(struct sha256 *h);
int sha256_buf(const void *buf, size_t len, char out[DIGEST_LEN], struct md_error *err);
int sha256_file(const char *path, char out[DIGEST_LEN], struct md_error *err);

/* A digest we accept: "sha256:" and 64 lowercase hex digits. */
int digest_valid(const char *d);
/* The hex part of a valid digest. */
const char *digest_hex(const char *d);

/* Read a whole file (at most MAX bytes) into a NUL-terminated malloc'd buffer. */
int read_file(const char *path, size_t max, char **buf, size_t *len, struct md_error *err);
/* Write a file under a temporary name, fsync, and rename it over PATH. */
int write_file_atomic(const char *path, const void *buf, size_t len, struct md_error *err);
/* The same without the fsync: readers still see the old file or the new one, but
 * a crash of the machine may lose it (for what a reboot makes stale anyway) */
int write_file_replace(const char *path, const void *buf, size_t len, struct md_error *err);
int mkdir_p(const char *path, unsigned mode, struct md_error *err);
int docker_name_ok(const char *s);
/* Remove NAME under DIRFD and everything below it, never following symlinks. */
int rm_rf_at(int dirfd, const char *name);
int rm_rf(const char *path);
/* Bytes used by the files under PATH. */
uint64_t du_bytes(const char *path);
/* CLOCK_MONOTONIC in milliseconds: for deadlines, never the date */
int64_t monotonic_ms(void);
/* "12.3MB" */
void human_size(uint64_t n, char *buf, size_t len);
/* asprintf that exits on out-of-memory (the one failure the engine does not unwind) */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

#endif
