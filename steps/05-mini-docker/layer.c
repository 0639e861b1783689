/*
 * layer.c: an overlayfs upper dir -> an OCI layer (layer.h): unpack.c backwards.
 *
 * By hand, nearly:
 *     $ tar --sort=name --numeric-owner --xattrs -C upper -cf - . | gzip -n > layer.tar.gz
 * but tar would keep overlayfs's whiteouts as devices and its opaque mark as a
 * trusted.* xattr that no other engine reads. Here:
 *   - a whiteout (char 0:0 NAME) becomes the empty file ".wh.NAME"; an opaque dir
 *     gets the empty file ".wh..wh..opq" right after its own entry (layer.md).
 *     Both have mode 0, as overlayfs's whiteout itself: markers, never files to open;
 *   - the same tree gives the same bytes, so a rebuild gives the same digests:
 *     names sorted, owners as numbers, mtimes in whole seconds, no atime or ctime,
 *     xattrs sorted, a gzip header with no name and no time;
 *   - the walk never follows a symlink: each name is opened from its parent's fd,
 *     with O_NOFOLLOW (openat(2)), and links are read with readlinkat(2);
 *   - one pass gives both digests: libarchive hands each block of the tar to
 *     tar_block(), which hashes it (the DiffID) and deflates it with zlib, whose
 *     output is hashed (the digest) and written to OUT.
 */
#define _GNU_SOURCE
#define ZLIB_CONST
#include "lazy.h" /* libarchive, dlopen'd by layer_write */
#include "layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include "narrate.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct layer {
	const char *upper, *out;
	struct md_error *err;
	struct archive *a;
	int fd; /* OUT */
	z_stream z;
	int z_ready;
	int failed;		 /* tar_block failed (ERR says why): write no more */
	struct sha256 tar_hash;	 /* of the tar: the DiffID */
	struct sha256 blob_hash; /* of OUT: the digest */
	uint64_t size;
	json_t *inodes; /* "dev:ino" -> the name it got first in the layer, for hard links */
	unsigned char zbuf[65536];
	char buf[65536];
};

/* one name of a directory, and the name it gets in the layer */
struct child {
	char *name;
	char *key; /* "NAME/" (a dir), ".wh.NAME" (a whiteout), or NAME: sorting by it sorts the full names */
	struct stat st;
};

static int walk(struct layer *l, int dfd, const char *dir);

/* DIR/NAME, or NAME at the top (DIR "") */
static char *join(const char *dir, const char *name)
{
	return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

static int is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* --- the compressed side: zlib's gzip, hashed as written ------------------------------------------------- */

static int out_write(struct layer *l, const void *buf, size_t len)
{
	const char *p = buf;
	sha256_update(&l->blob_hash, buf, len);
	l->size += len;
	while (len > 0) {
		ssize_t n = write(l->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return md_fail_errno(l->err, "layer: writing %s", l->out);
		p += n;
		len -= n;
	}
	return 0;
}

/* deflate(3) LEN bytes into OUT; FLUSH is Z_NO_FLUSH, or Z_FINISH once at the end (zlib.h's loop) */
static int gzip_write(struct layer *l, const void *buf, size_t len, int flush)
{
	int r;
	l->z.next_in = buf;
	l->z.avail_in = len;
	do {
		l->z.next_out = l->zbuf;
		l->z.avail_out = sizeof(l->zbuf);
		if ((r = deflate(&l->z, flush)) == Z_STREAM_ERROR)
			return md_fail(l->err, "layer: gzip: deflate failed");
		if (out_write(l, l->zbuf, sizeof(l->zbuf) - l->z.avail_out) < 0)
			return -1;
	} while (l->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
	return 0;
}

/* libarchive's write callback (archive_write_open(3)): each block of the tar, as it will be compressed */
static la_ssize_t tar_block(struct archive *a, void *p, const void *buf, size_t len)
{
	struct layer *l = p;
	if (l->failed)
		return -1;
	sha256_update(&l->tar_hash, buf, len);
	if (gzip_write(l, buf, len, Z_NO_FLUSH) < 0) {
		l->failed = 1;
		archive_set_error(a, l->err->errnum, "%s", l->err->msg);
		return -1;
	}
	return len;
}

/* --- entries ---------------------------------------------------------------------------------------------- */

/* ARCHIVE_WARN: a name that is not UTF-8 in this locale; pax stores its bytes as they are (hdrcharset) */
static int put_header(struct layer *l, struct archive_entry *e, const char *name)
{
	int r = archive_write_header(l->a, e);
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return 0;
	return l->failed ? -1 : md_fail(l->err, "layer: entry %s: %s", name, archive_error_string(l->a));
}

/* What a layer keeps of ST: type, mode bits, owner as numbers (no names: they are the host's), mtime. */
static struct archive_entry *new_entry(const char *name, const struct stat *st, mode_t type, mode_t perm)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	/* whole seconds, as docker: restricted pax writes nanoseconds only in an entry that needs a
	 * pax header for something else (an xattr, a long name), so they would come and go with those */
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	return e;
}

/* ".wh.NAME" or "DIR/.wh..wh..opq": an empty file with the owner and mtime of what it stands for */
static int marker(struct layer *l, const char *name, const struct stat *st)
{
	struct archive_entry *e = new_entry(name, st, AE_IFREG, 0);
	archive_entry_set_size(e, 0);
	int rc = put_header(l, e, name);
	archive_entry_free(e);
	return rc;
}

/* the xattrs an image carries (xattr(7)): file capabilities and the user's own; not overlayfs's
 * (trusted.overlay.*, user.overlay.*), nor the build host's SELinux label */
static int keep_xattr(const char *name)
{
	if (!strncmp(name, "user.overlay.", 13) || !strcmp(name, "security.selinux"))
		return 0;
	return !strncmp(name, "user.", 5) || !strncmp(name, "security.", 9);
}

/* "opaque" for trusted.overlay.opaque and user.overlay.opaque (overlayfs -o userxattr); else NULL */
static const char *overlay_xattr(const char *name)
{
	if (!strncmp(name, "trusted.overlay.", 16))
		return name + 16;
	return strncmp(name, "user.overlay.", 13) ? NULL : name + 13;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Copy the xattrs of FD to E, by name (flistxattr(2) lists them in the file system's order).
 * OPAQUE is set if overlayfs marked the dir opaque. A file whose data overlayfs left in the
 * lower layers (metacopy, redirect_dir) is refused: UPPER alone does not hold it.
 */
static int add_xattrs(struct layer *l, int fd, struct archive_entry *e, const char *path, int *opaque)
{
	ssize_t len = flistxattr(fd, NULL, 0), vlen;
	char *list = NULL, **names = NULL, *value = NULL;
	size_t n = 0;
	int rc = -1;
	if (len > 0) {
		list = xcalloc(1, len);
		len = flistxattr(fd, list, len);
	}
	if (len < 0 && errno != ENOTSUP) {
		md_fail_errno(l->err, "layer: listing the xattrs of %s/%s", l->upper, path);
		goto out;
	}
	names = xcalloc(len > 0 ? len : 1, sizeof(*names));
	for (char *p = list; len > 0 && p < list + len; p += strlen(p) + 1)
		names[n++] = p;
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		const char *ov = overlay_xattr(names[i]);
		if (ov && (!strcmp(ov, "metacopy") || !strcmp(ov, "redirect"))) {
			md_fail(l->err,
				"layer: %s/%s has %s: its content is in the lower layers (mount the overlay "
				"with metacopy=off,redirect_dir=off)",
				l->upper, path, names[i]);
			goto out;
		}
		int is_opaque = ov && !strcmp(ov, "opaque");
		if (!is_opaque && !keep_xattr(names[i]))
			continue;
		free(value);
		value = NULL;
		if ((vlen = fgetxattr(fd, names[i], NULL, 0)) >= 0)
			vlen = fgetxattr(fd, names[i], value = xcalloc(1, vlen + 1), vlen);
		if (vlen < 0) {
			md_fail_errno(l->err, "layer: reading xattr %s of %s/%s", names[i], l->upper, path);
			goto out;
		}
		if (is_opaque)
			*opaque |= vlen == 1 && value[0] == 'y';
		else
			archive_entry_xattr_add_entry(e, names[i], value, vlen);
	}
	rc = 0;
out:
	free(value);
	free(names);
	free(list);
	return rc;
}

/* A directory: its entry, its opaque marker if any, then what it holds. */
static int put_dir(struct layer *l, int dfd, const struct child *c, const char *path, const char *name)
{
	int opaque = 0, rc = -1;
	int fd = openat(dfd, c->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return md_fail_errno(l->err, "layer: opening %s/%s", l->upper, path);
	struct archive_entry *e = new_entry(name, &c->st, AE_IFDIR, c->st.st_mode & 07777);
	if (add_xattrs(l, fd, e, path, &opaque) == 0 && put_header(l, e, name) == 0) {
		char *wh = xasprintf("%s" WH_OPAQUE, name);
		rc = opaque ? marker(l, wh, &c->st) : 0;
		free(wh);
		if (rc == 0)
			rc = walk(l, fd, path);
	}
	archive_entry_free(e);
	close(fd);
	return rc;
}

/* A regular file: O_NONBLOCK, should it have become a FIFO since, which would block the open. */
static int put_file(struct layer *l, int dfd, const struct child *c, const char *path, struct archive_entry *e)
{
	struct stat st;
	int opaque = 0, rc = -1;
	int fd = openat(dfd, c->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		md_fail_errno(l->err, "layer: reading %s/%s", l->upper, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		md_fail(l->err, "layer: %s/%s changed while being read", l->upper, path);
		goto out;
	}
	archive_entry_set_size(e, st.st_size);
	if (add_xattrs(l, fd, e, path, &opaque) < 0 || put_header(l, e, path) < 0)
		goto out;
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = read(fd, l->buf, left < (off_t)sizeof(l->buf) ? (size_t)left : sizeof(l->buf));
		if (n <= 0) {
			if (n == 0)
				errno = ENODATA; /* it shrank: the tar would be short */
			md_fail_errno(l->err, "layer: reading %s/%s", l->upper, path);
			goto out;
		}
		if (archive_write_data(l->a, l->buf, n) != n) {
			if (!l->failed)
				md_fail(l->err, "layer: entry %s: %s", path, archive_error_string(l->a));
			goto out;
		}
		left -= n;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* the name ST's inode got first in this layer; or NULL, and NAME is that first name */
static const char *first_link(struct layer *l, const struct stat *st, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
	json_t *v = json_object_get(l->inodes, key);
	if (v)
		return json_string_value(v);
	json_object_set_new_nocheck(l->inodes, key, json_string_nocheck(name)); /* names need not be UTF-8 */
	return NULL;
}

/* A file, a symlink or a FIFO, or a hard link to the first name of its inode. */
static int put_other(struct layer *l, int dfd, const struct child *c, const char *path)
{
	const struct stat *st = &c->st;
	struct archive_entry *e = new_entry(path, st, st->st_mode & S_IFMT, st->st_mode & 07777);
	const char *first = st->st_nlink > 1 ? first_link(l, st, path) : NULL;
	char target[PATH_MAX];
	ssize_t n;
	int rc = -1;
	if (first) {
		archive_entry_set_hardlink(e, first);
		archive_entry_set_size(e, 0);
		rc = put_header(l, e, path);
	} else if (S_ISREG(st->st_mode)) {
		rc = put_file(l, dfd, c, path, e);
	} else if (S_ISLNK(st->st_mode)) {
		if ((n = readlinkat(dfd, c->name, target, sizeof(target) - 1)) < 0) {
			md_fail_errno(l->err, "layer: reading the symlink %s/%s", l->upper, path);
		} else {
			target[n] = 0;
			archive_entry_set_symlink(e, target);
			rc = put_header(l, e, path);
		}
	} else { /* a FIFO: user.* xattrs are for files and dirs only (xattr(7)) */
		rc = put_header(l, e, path);
	}
	archive_entry_free(e);
	return rc;
}

/* One name of a directory of UPPER (DIR in the layer, "" at the top). */
static int put_child(struct layer *l, int dfd, const struct child *c, const char *dir)
{
	const struct stat *st = &c->st;
	char *path = join(dir, c->name), *name = join(dir, c->key); /* in UPPER, in the layer */
	int rc = 0;
	if (S_ISDIR(st->st_mode))
		rc = put_dir(l, dfd, c, path, name);
	else if (is_whiteout(st))
		rc = marker(l, name, st);
	else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) /* as unpack.c: layers make no devices */
		fprintf(stderr,
			"mini-docker: warning: layer: skipped '%s/%s', a device node (%s %u:%u): "
			"layers make no devices\n",
			l->upper, path, S_ISBLK(st->st_mode) ? "block" : "char", major(st->st_rdev),
			minor(st->st_rdev));
	else if (S_ISSOCK(st->st_mode))
		fprintf(stderr, "mini-docker: warning: layer: skipped '%s/%s', a socket\n", l->upper, path);
	else
		rc = put_other(l, dfd, c, path);
	free(path);
	free(name);
	return rc;
}

/* --- the walk ---------------------------------------------------------------------------------------------- */

static void free_children(struct child *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].key);
	}
	free(v);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct child *)a)->key, ((const struct child *)b)->key);
}

/* The names in DFD (DIR in the layer), in the layer's order: strcmp of the full names, so parents first. */
static int read_dir(struct layer *l, int dfd, const char *dir, struct child **out, size_t *count)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* its own offset for readdir */
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct child *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int wh_name = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return md_fail_errno(l->err, "layer: opening %s/%s", l->upper, dir);
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap)
			v = realloc(v, (cap = cap ? 2 * cap : 32) * sizeof(*v));
		if (!v) {
			fputs("mini-docker: out of memory\n", stderr);
			exit(125);
		}
		struct child *c = &v[n];
		if (fstatat(dfd, de->d_name, &c->st, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		if (!strncmp(de->d_name, WH_PREFIX, strlen(WH_PREFIX)) && !is_whiteout(&c->st)) {
			wh_name = 1;
			break;
		}
		c->name = xstrdup(de->d_name);
		c->key = S_ISDIR(c->st.st_mode) ? xasprintf("%s/", c->name)
			 : is_whiteout(&c->st)	? xasprintf(WH_PREFIX "%s", c->name)
						: xstrdup(c->name);
		n++;
	}
	if (wh_name || errno) {
		int saved = errno;
		char *path = de ? join(dir, de->d_name) : xstrdup(dir);
		errno = saved;
		if (wh_name)
			md_fail(l->err,
				"layer: %s/%s: a name starting with " WH_PREFIX " is a whiteout in a layer "
				"(OCI image spec, layer.md): rename it",
				l->upper, path);
		else
			md_fail_errno(l->err, "layer: reading %s/%s", l->upper, path);
		free(path);
		closedir(d);
		free_children(v, n);
		return -1;
	}
	closedir(d);
	if (n) /* an empty dir has no array at all: qsort wants one */
		qsort(v, n, sizeof(*v), by_key);
	*out = v;
	*count = n;
	return 0;
}

static int walk(struct layer *l, int dfd, const char *dir)
{
	struct child *v = NULL;
	size_t n = 0;
	int rc = 0;
	if (read_dir(l, dfd, dir, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = put_child(l, dfd, &v[i], dir);
	free_children(v, n);
	return rc;
}

/* --- the layer --------------------------------------------------------------------------------------------- */

/* the tar of UPPER through tar_block, then the end of the gzip stream */
static int write_tar(struct layer *l, int rootfd)
{
	l->a = archive_write_new();
	archive_write_set_format_pax_restricted(l->a);
	/* xattrs as SCHILY.xattr.NAME only, the records docker and containerd read (an older
	 * libarchive without the option writes its LIBARCHIVE.xattr copy as well: harmless) */
	archive_write_set_format_option(l->a, "pax", "xattrheader", "SCHILY");
	if (archive_write_open(l->a, l, NULL, tar_block, NULL) != ARCHIVE_OK)
		return md_fail(l->err, "layer: %s", archive_error_string(l->a));
	if (walk(l, rootfd, "") < 0)
		return -1;
	if (archive_write_close(l->a) != ARCHIVE_OK)
		return l->failed ? -1 : md_fail(l->err, "layer: %s", archive_error_string(l->a));
	return gzip_write(l, NULL, 0, Z_FINISH);
}

int layer_write(const char *upper, const char *out, char digest[DIGEST_LEN], char diff_id[DIGEST_LEN], uint64_t *size,
		struct md_error *err)
{
	struct layer *l;
	int rootfd = -1, created = 0, closed, rc = -1;

	if (lazy_archive(err) < 0)
		return -1;
	narrate("layer_write(\"%s\")", "tar --sort=name --numeric-owner --xattrs -C %s -c . | gzip -n > %s", upper,
		out);
	l = xcalloc(1, sizeof(*l));
	*l = (struct layer){.upper = upper, .out = out, .err = err, .fd = -1};
	if ((rootfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		md_fail_errno(err, "layer: opening %s", upper);
		goto out;
	}
	if ((l->fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		md_fail_errno(err, "layer: creating %s", out);
		goto out;
	}
	created = 1;
	if (sha256_init(&l->tar_hash, err) < 0 || sha256_init(&l->blob_hash, err) < 0)
		goto out;
	/* gzip framing (windowBits 15 + 16, zlib.h): zlib's header has no name and time 0, as gzip -n */
	if (deflateInit2(&l->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		md_fail(err, "layer: gzip: deflateInit2 failed");
		goto out;
	}
	l->z_ready = 1;
	l->inodes = json_object();
	if (write_tar(l, rootfd) < 0)
		goto out;
	/* OUT goes into the store as a blob under its digest: on disk before it is named (registry.c too) */
	if (fsync(l->fd) < 0) {
		md_fail_errno(err, "layer: writing %s", out);
		goto out;
	}
	closed = close(l->fd);
	l->fd = -1;
	if (closed < 0) {
		md_fail_errno(err, "layer: writing %s", out);
		goto out;
	}
	sha256_final(&l->tar_hash, diff_id);
	sha256_final(&l->blob_hash, digest);
	*size = l->size;
	rc = 0;
out:
	l->failed = 1; /* archive_write_free would flush what is left through tar_block */
	if (l->a)
		archive_write_free(l->a);
	if (l->z_ready)
		deflateEnd(&l->z);
	if (l->tar_hash.ctx)
		sha256_free(&l->tar_hash);
	if (l->blob_hash.ctx)
		sha256_free(&l->blob_hash);
	json_decref(l->inodes);
	if (l->fd >= 0)
		close(l->fd);
	if (rc < 0 && created)
		unlink(out);
	if (rootfd >= 0)
		close(rootfd);
	free(l);
	return rc;
}
