/* util.c: digests (OpenSSL EVP), files written atomically, recursive removal. */
#define _GNU_SOURCE
#include "lazy.h" /* libcrypto, dlopen'd by sha256_init */
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sha256_init(struct sha256 *h, struct md_error *err)
{
	if (lazy_crypto(err) < 0)
		return -1;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return md_fail(err, "sha256: OpenSSL could not start a digest");
	}
	h->ctx = c;
	return 0;
}

void sha256_update(struct sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

void sha256_final(struct sha256 *h, char out[DIGEST_LEN])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
	sha256_free(h);
}

void sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int sha256_buf(const void *buf, size_t len, char out[DIGEST_LEN], struct md_error *err)
{
	struct sha256 h;
	if (sha256_init(&h, err) < 0)
		return -1;
	sha256_update(&h, buf, len);
	sha256_final(&h, out);
	return 0;
}

int sha256_file(const char *path, char out[DIGEST_LEN], struct md_error *err)
{
	char buf[65536];
	struct sha256 h;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return md_fail_errno(err, "open %s", path);
	if (sha256_init(&h, err) < 0) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&h, buf, n);
	if (n < 0) {
		md_fail_errno(err, "read %s", path);
		sha256_free(&h);
		close(fd);
		return -1;
	}
	close(fd);
	sha256_final(&h, out);
	return 0;
}

int digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

const char *digest_hex(const char *d)
{
	return d + 7;
}

int read_file(const char *path, size_t max, char **buf, size_t *len, struct md_error *err)
{
	struct stat st;
	char *b;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return md_fail_errno(err, "open %s", path);
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
		close(fd);
		return md_fail(err, "%s: larger than %zu bytes", path, max);
	}
	b = malloc(st.st_size + 1);
	if (!b) {
		close(fd);
		return md_fail(err, "%s: out of memory", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, st.st_size - got);
		if (n <= 0) {
			md_fail_errno(err, "read %s", path);
			free(b);
			close(fd);
			return -1;
		}
		got += n;
	}
	close(fd);
	b[got] = 0;
	*buf = b;
	if (len)
		*len = got;
	return 0;
}

static int write_file_rename(const char *path, const void *buf, size_t len, int durable, struct md_error *err)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	const char *p = buf;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		md_fail_errno(err, "create %s", tmp);
		free(tmp);
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			md_fail_errno(err, "write %s", tmp);
			goto fail;
		}
		p += n;
		len -= n;
	}
	if (durable && fsync(fd) < 0) {
		md_fail_errno(err, "fsync %s", tmp);
		goto fail;
	}
	close(fd);
	fd = -1;
	/* rename(2) is atomic: a reader sees the old file or the new one, never half */
	if (rename(tmp, path) < 0) {
		md_fail_errno(err, "rename %s to %s", tmp, path);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int write_file_atomic(const char *path, const void *buf, size_t len, struct md_error *err)
{
	return write_file_rename(path, buf, len, 1, err);
}

int write_file_replace(const char *path, const void *buf, size_t len, struct md_error *err)
{
	return write_file_rename(path, buf, len, 0, err);
}

int mkdir_p(const char *path, unsigned mode, struct md_error *err)
{
	char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				md_fail_errno(err, "mkdir %s", p);
				free(p);
				return -1;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return 0;
}

/*
 * rm -rf NAME (in directory AT), however deep, with two descriptors at a time:
 * go down into the first subdirectory, unlinking files on the way; when a
 * directory holds no more subdirectories, climb back up through ".." (checked
 * to be the directory we came from: its device and inode) and rmdir it. The
 * names and inodes of the way down are kept in memory, not as open
 * descriptors, so a tree thousands of levels deep does not exhaust them.
 * Returns -1 (errno set) as soon as something cannot be removed.
 */
struct rm_level {
	char *name; /* of this directory in its parent */
	dev_t dev;  /* of the parent */
	ino_t ino;
};

/* unlink what DIRFD holds that is not a directory; *SUB = the name of a subdirectory, or NULL */
static int rm_files(int dirfd, char **sub)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int rc = 0;
	*sub = NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (!*sub && (e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode))
			*sub = xstrdup(e->d_name);
		else if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT) {
			rc = -1;
			break;
		}
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

int rm_rf_at(int at, const char *name)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0);
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct rm_level *way = NULL;
	size_t depth = 0, cap = 0;
	int rc = 0;
	for (;;) {
		char *sub;
		if (rm_files(fd, &sub) < 0) {
			rc = -1;
			break;
		}
		if (sub) { /* down one level */
			struct stat here;
			int child = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (child < 0 || fstat(fd, &here) < 0) {
				if (child >= 0)
					close(child);
				free(sub);
				rc = -1;
				break;
			}
			if (depth == cap) {
				cap = cap ? 2 * cap : 64;
				way = realloc(way, cap * sizeof(*way));
				if (!way) {
					fputs("mini-docker: out of memory\n", stderr);
					exit(125);
				}
			}
			way[depth++] = (struct rm_level){sub, here.st_dev, here.st_ino};
			close(fd);
			fd = child;
			continue;
		}
		if (depth == 0)
			break;
		/* empty: up one level, to the directory we came from and no other, and rmdir this one */
		struct rm_level *l = &way[--depth];
		struct stat up;
		int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || fstat(parent, &up) < 0 || up.st_dev != l->dev || up.st_ino != l->ino) {
			if (parent >= 0)
				close(parent);
			errno = parent < 0 ? errno : ESTALE; /* moved while we removed it: stop here */
			free(l->name);
			rc = -1;
			break;
		}
		close(fd);
		fd = parent;
		int r = unlinkat(fd, l->name, AT_REMOVEDIR);
		free(l->name);
		if (r < 0) {
			rc = -1;
			break;
		}
	}
	int saved = errno;
	close(fd);
	while (depth > 0)
		free(way[--depth].name);
	free(way);
	if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0)
		return -1;
	errno = saved;
	return rc;
}

int rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

static uint64_t du_at(int at, const char *name)
{
	struct stat st;
	uint64_t n = 0;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n += du_at(dirfd(d), e->d_name);
	closedir(d);
	return n;
}

uint64_t du_bytes(const char *path)
{
	return du_at(AT_FDCWD, path);
}

int64_t monotonic_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void human_size(uint64_t n, char *buf, size_t len)
{
	const char *u[] = {"B", "kB", "MB", "GB", "TB"};
	double v = n;
	int i = 0;
	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)n);
	else
		snprintf(buf, len, "%.3g%s", v, u[i]);
}

char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("mini-docker: out of memory\n", stderr);
		exit(125);
	}
	va_end(ap);
	return s;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p) {
		fputs("mini-docker: out of memory\n", stderr);
		exit(125);
	}
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		fputs("mini-docker: out of memory\n", stderr);
		exit(125);
	}
	return p;
}

/* A name as docker takes one for a container, a volume or a compose service:
 * [A-Za-z0-9][A-Za-z0-9_.-]*. Nothing that could be a path, an option or empty. */
int docker_name_ok(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}
