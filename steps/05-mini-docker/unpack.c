/*
 * unpack.c: layers are tar archives; applying one safely is the hard part.
 *
 * By hand:  $ mkdir rootfs && tar -xzf layer.tar.gz -C rootfs
 * but tar trusts the archive. A layer is data from the network, so:
 *   - every path is resolved inside the root with openat2(2) RESOLVE_IN_ROOT:
 *     "..", an absolute symlink, or a symlink planted by an earlier entry
 *     cannot lead outside (CVE-2021-29136, CVE-2021-32760, CVE-2018-15664);
 *     entries with ".." in their own name are refused outright;
 *   - files are created with O_EXCL|O_NOFOLLOW, owners and modes set on the
 *     fd (fchown, fchmod), never through a path that could be a symlink;
 *   - device nodes are refused (only the 0/0 whiteout of overlayfs is kept);
 *   - the unpacked size and the number of entries are capped (gzip bombs).
 *
 * Whiteouts (OCI image spec, layer.md): ".wh.NAME" deletes NAME of the layers
 * below; ".wh..wh..opq" hides everything below in its directory. In a layer
 * dir for overlayfs they become what overlayfs understands: a char device 0/0,
 * and the xattr trusted.overlay.opaque="y". When flattening, they delete.
 */
#define _GNU_SOURCE
#include "lazy.h" /* libarchive, dlopen'd by unpack_blob */
#include "unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct dirtime {
	char *path;
	struct timespec ts[2];
};

struct unpacker {
	const struct unpack_opts *o;
	int rootfd;
	struct archive *outer; /* decompresses: the raw stream of the tar */
	struct sha256 hash;    /* of that stream: the DiffID */
	uint64_t raw_bytes, file_bytes, entries;
	char buf[65536];
	/* paths this layer created and every directory above them (an opaque whiteout keeps
	 * them): a hash set, jansson's object, so each check is O(1) and not a scan of them all */
	json_t *made;
	struct dirtime *dirs; /* directory times, set last (creating children changes them) */
	size_t n_dirs, cap_dirs;
	int is_root;
};

/* --- in-root path resolution ------------------------------------------------ */

/* Open directory PATH (relative, "" = the root) inside ROOTFD: symlinks resolve as if ROOTFD were "/". */
static int open_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	/* kernels before 5.6: walk component by component and refuse any symlink */
	char *copy = xstrdup(path), *save = NULL, *comp;
	fd = dup(rootfd);
	for (comp = strtok_r(copy, "/", &save); comp && fd >= 0; comp = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

/* The same, creating missing directories (0755) on the way, as tar does. */
static int open_dir_create(int rootfd, const char *path)
{
	int fd = open_in_root(rootfd, path);
	if (fd >= 0 || errno != ENOENT || !*path)
		return fd;
	char *copy = xstrdup(path), *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	if (slash)
		*slash = 0;
	int parent = open_dir_create(rootfd, slash ? copy : "");
	if (parent >= 0) {
		if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST) {
			close(parent);
			free(copy);
			return -1;
		}
		close(parent);
		fd = open_in_root(rootfd, path);
	}
	free(copy);
	return fd;
}

/*
 * "./usr//bin/" -> "usr/bin". Refuses ".." anywhere: a layer has no business
 * naming its parent. Returns 0, or -1 with the reason in WHY.
 */
static int clean_path(const char *in, char *out, size_t len, const char **why)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p + strcspn(p, "/");
		size_t cl = e - p;
		if (cl == 0)
			break;
		if (cl == 2 && !strncmp(p, "..", 2)) {
			*why = "the path climbs out with '..'";
			return -1;
		}
		if (!(cl == 1 && *p == '.')) {
			if (n + cl + 2 > len) {
				*why = "the path is too long";
				return -1;
			}
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, cl);
			n += cl;
		}
		p = e;
	}
	out[n] = 0;
	return 0;
}

/* The resolver alone (fuzz/ drives it): check entry NAME, then open its directory in-root, creating it. */
int unpack_resolve_dir(int rootfd, const char *name, const char **why)
{
	char path[4096];
	if (clean_path(name, path, sizeof(path), why) < 0)
		return -1;
	return open_dir_create(rootfd, path);
}

/* --- the decompressed stream, hashed as the tar reader pulls it --------------- */

static la_ssize_t read_raw(struct archive *a, void *p, const void **buf)
{
	struct unpacker *u = p;
	(void)a;
	la_ssize_t n = archive_read_data(u->outer, u->buf, sizeof(u->buf));
	if (n > 0) {
		sha256_update(&u->hash, u->buf, n);
		u->raw_bytes += n;
		if (u->raw_bytes > u->o->max_bytes + (64 << 20)) {
			archive_set_error(a, EFBIG, "decompresses to more than the cap");
			return -1;
		}
	} else if (n < 0) { /* a broken gzip: say why on the tar, whose error the caller prints */
		const char *why = archive_error_string(u->outer);
		archive_set_error(a, archive_errno(u->outer), "%s", why ? why : "the compressed stream is broken");
	}
	*buf = u->buf;
	return n;
}

/* --- helpers for one entry ----------------------------------------------------- */

static int refuse(struct unpacker *u, struct md_error *err, const char *path, const char *why)
{
	/* a name can be 300 KB long: shorten it, so the reason still fits in the message */
	return md_fail(err, "%s: entry '%.200s%s': %s: refusing the layer", u->o->label, path, strlen(path) > 200 ? "..." : "",
		       why);
}

static void remember(struct unpacker *u, const char *path)
{
	if (u->o->mode != UNPACK_FLATTEN)
		return;
	if (!u->made)
		u->made = json_object();
	/* "a/b/c" and its directories "a/b", "a": each added once (a known one has its parents in) */
	char *p = xstrdup(path);
	for (char *slash; !json_object_get(u->made, p); *slash = 0) {
		json_object_set_new_nocheck(u->made, p, json_true());
		if (!(slash = strrchr(p, '/')))
			break;
	}
	free(p);
}

/* PATH, or something below it, was made by this layer */
static int made_here(struct unpacker *u, const char *path)
{
	return u->made && json_object_get(u->made, path);
}

/* owner, mode, xattrs on an fd we opened ourselves (never through a path) */
static int set_meta_fd(struct unpacker *u, int fd, struct archive_entry *e, const char *path, struct md_error *err)
{
	const char *name;
	const void *value;
	size_t size;
	if (u->is_root && u->o->mode != UNPACK_FILES &&
	    fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return md_fail_errno(err, "%s: chown %s", u->o->label, path);
	/* after chown, which clears setuid bits */
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return md_fail_errno(err, "%s: chmod %s", u->o->label, path);
	archive_entry_xattr_reset(e);
	while (u->o->mode != UNPACK_FILES && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13))
			continue; /* overlayfs' own markers are the engine's to set, not the image's */
		if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP && errno != EPERM)
			return md_fail_errno(err, "%s: setxattr %s on %s", u->o->label, name, path);
	}
	return 0;
}

static void remember_dirtime(struct unpacker *u, const char *path, struct archive_entry *e)
{
	if (u->n_dirs == u->cap_dirs) {
		u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
		u->dirs = realloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
		if (!u->dirs) {
			fputs("mini-docker: out of memory\n", stderr);
			exit(125);
		}
	}
	struct dirtime *d = &u->dirs[u->n_dirs++];
	d->path = xstrdup(path);
	d->ts[0].tv_sec = archive_entry_atime(e);
	d->ts[0].tv_nsec = archive_entry_atime_nsec(e);
	d->ts[1].tv_sec = archive_entry_mtime(e);
	d->ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (!archive_entry_atime_is_set(e))
		d->ts[0] = d->ts[1];
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	}
}

/* ".wh..wh..opq" in DIR: hide what the layers below put there */
static int opaque(struct unpacker *u, int dirfd, const char *dir, struct md_error *err)
{
	if (u->o->mode == UNPACK_LAYER) {
		if (fsetxattr(dirfd, "trusted.overlay.opaque", "y", 1, 0) < 0 &&
		    fsetxattr(dirfd, "user.overlay.opaque", "y", 1, 0) < 0) {
			/* a file system with no such xattrs (tmpfs before Linux 6.6, for a user): this
			 * layer cannot be stacked, and run copies the image's layers instead (rootfs.c) */
			if (errno == ENOTSUP)
				return 0;
			return md_fail_errno(err, "%s: mark %s opaque (setxattr trusted.overlay.opaque)", u->o->label, dir);
		}
		return 0;
	}
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return md_fail_errno(err, "%s: open %s", u->o->label, dir);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *p = *dir ? xasprintf("%s/%s", dir, de->d_name) : xstrdup(de->d_name);
		if (!made_here(u, p))
			rm_rf_at(dirfd, de->d_name);
		free(p);
	}
	closedir(d);
	return 0;
}

static int whiteout(struct unpacker *u, int dirfd, const char *name, struct md_error *err)
{
	/* EXERCISE 05.3: a whiteout deletes NAME of the layers below
	 * hint: a whiteout .wh.NAME deletes NAME of the layers below
	 * more: rm_rf_at(dirfd, name) removes what a lower layer put there; for overlayfs layer dirs
	 * more: (u->o->mode == UNPACK_LAYER) mknodat() a char device 0/0 in its place: overlayfs's whiteout
	 * tests: 05-images
	 * stub: (void)dirfd; return md_fail(err, "%s: TODO 05.3: whiteout %s", u->o->label, name);
	 */
	if (rm_rf_at(dirfd, name) < 0)
		return md_fail_errno(err, "%s: remove %s for its whiteout", u->o->label, name);
	if (u->o->mode == UNPACK_LAYER && mknodat(dirfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return md_fail_errno(err, "%s: mknod whiteout %s (char 0:0)", u->o->label, name);
	return 0;
	/* END EXERCISE */
}

static int write_data(struct unpacker *u, struct archive *a, int fd, const char *path, struct md_error *err)
{
	la_ssize_t n;
	char buf[65536];
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		u->file_bytes += n;
		if (u->file_bytes > u->o->max_bytes)
			return md_fail(err, "%s: entry '%s': the layer unpacks to more than %llu bytes: refusing it "
					    "(MINI_DOCKER_MAX_UNPACK raises the cap)",
				       u->o->label, path, (unsigned long long)u->o->max_bytes);
		for (la_ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0)
				return md_fail_errno(err, "%s: write %s", u->o->label, path);
			off += w;
		}
	}
	if (n < 0)
		return md_fail(err, "%s: reading '%s': %s", u->o->label, path, archive_error_string(a));
	return 0;
}

/* --- one entry ------------------------------------------------------------------ */

/* A hard link: its target must be a file of this root, found in-root too. */
static int hard_link(struct unpacker *u, int dfd, const char *base, const char *path, const char *hl,
		     struct md_error *err)
{
	char target[4096];
	const char *why = NULL;
	struct stat st;
	char tdir[4096];
	if (clean_path(hl, target, sizeof(target), &why) < 0)
		return refuse(u, err, path, "a hard link whose target climbs out with '..'");
	snprintf(tdir, sizeof(tdir), "%s", target);
	char *ts_ = strrchr(tdir, '/');
	const char *tbase = ts_ ? target + (ts_ - tdir) + 1 : target;
	if (ts_)
		*ts_ = 0;
	else
		tdir[0] = 0;
	int tfd = open_in_root(u->rootfd, tdir);
	if (tfd < 0 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
		if (tfd >= 0)
			close(tfd);
		return refuse(u, err, path, "a hard link to a file that is not in the image");
	}
	if (linkat(tfd, tbase, dfd, base, 0) < 0) {
		md_fail_errno(err, "%s: link %s to %s", u->o->label, path, target);
		close(tfd);
		return -1;
	}
	close(tfd);
	return 0;
}

/* A directory, a file (its data), a symlink or a FIFO named BASE in DFD, with its owner, mode and times. */
static int create(struct unpacker *u, struct archive *a, struct archive_entry *e, int dfd, const char *base,
		  const char *path, struct timespec ts[2], struct md_error *err)
{
	mode_t type = archive_entry_filetype(e);
	int fd = -1, rc = -1;
	switch (type) {
	case AE_IFDIR:
		if (mkdirat(dfd, base, 0700) < 0 && errno != EEXIST) {
			md_fail_errno(err, "%s: mkdir %s", u->o->label, path);
			goto out;
		}
		fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			md_fail_errno(err, "%s: open %s", u->o->label, path);
			goto out;
		}
		rc = set_meta_fd(u, fd, e, path, err);
		remember_dirtime(u, path, e);
		break;
	case AE_IFREG:
		fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			md_fail_errno(err, "%s: create %s", u->o->label, path);
			goto out;
		}
		rc = write_data(u, a, fd, path, err);
		if (rc == 0)
			rc = set_meta_fd(u, fd, e, path, err);
		if (rc == 0 && futimens(fd, ts) < 0)
			rc = md_fail_errno(err, "%s: set times of %s", u->o->label, path);
		break;
	case AE_IFLNK:
		/* the target is stored as written: it is resolved in-root whenever it is used */
		if (symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", dfd, base) < 0) {
			md_fail_errno(err, "%s: symlink %s", u->o->label, path);
			goto out;
		}
		if (u->is_root && fchownat(dfd, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0) {
			md_fail_errno(err, "%s: chown %s", u->o->label, path);
			goto out;
		}
		utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
		rc = 0;
		break;
	case AE_IFIFO:
		if (mknodat(dfd, base, S_IFIFO | 0600, 0) < 0) {
			md_fail_errno(err, "%s: mkfifo %s", u->o->label, path);
			goto out;
		}
		fd = openat(dfd, base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		rc = fd < 0 ? md_fail_errno(err, "%s: open %s", u->o->label, path) : set_meta_fd(u, fd, e, path, err);
		break;
	default:
		rc = refuse(u, err, path, "an entry type we do not know");
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int entry(struct unpacker *u, struct archive *a, struct archive_entry *e, struct md_error *err)
{
	char path[4096], dir[4096];
	const char *why = NULL, *base;
	mode_t type = archive_entry_filetype(e);
	struct timespec ts[2];
	struct stat st;
	int dfd = -1, rc = -1;
	const char *raw = archive_entry_pathname(e);

	if (!raw || clean_path(raw, path, sizeof(path), &why) < 0)
		return refuse(u, err, raw ? raw : "(no name)", why ? why : "no name");
	if (++u->entries > u->o->max_entries)
		return refuse(u, err, path, "too many entries in one layer (MINI_DOCKER_MAX_ENTRIES raises the cap)");
	if (!*path)
		return 0; /* "./": the root itself stays as the engine made it */
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	base = slash ? path + (slash - dir) + 1 : path;
	if (slash)
		*slash = 0;
	else
		dir[0] = 0;

	/*
	 * A device node is never made: one of the host's disks would be a way out. A
	 * real rootfs tarball (debootstrap, mmdebstrap, podman import) has a few in
	 * /dev, and the container never sees them anyway (its /dev is a tmpfs of
	 * ours, mounts.c): so they are skipped with a warning, not a refused image,
	 * as are sockets (a listening socket is no file to unpack; tar skips them).
	 */
	if ((type == AE_IFCHR || type == AE_IFBLK) && (archive_entry_rdevmajor(e) || archive_entry_rdevminor(e) || type == AE_IFBLK)) {
		if (u->o->mode == UNPACK_FILES)
			return refuse(u, err, path, "an archive to load holds only files and directories");
		fprintf(stderr, "mini-docker: warning: %s: skipped '%.200s', a device node (%s %u:%u): layers make no devices\n",
			u->o->label, path, type == AE_IFBLK ? "block" : "char", (unsigned)archive_entry_rdevmajor(e),
			(unsigned)archive_entry_rdevminor(e));
		return 0;
	}
	if (type == AE_IFSOCK) {
		fprintf(stderr, "mini-docker: warning: %s: skipped '%.200s', a socket\n", u->o->label, path);
		return 0;
	}
	if (u->o->mode == UNPACK_FILES && type != AE_IFDIR && type != AE_IFREG)
		return refuse(u, err, path, "an archive to load holds only files and directories");

	dfd = open_dir_create(u->rootfd, dir);
	if (dfd < 0) {
		md_fail_errno(err, "%s: entry '%s': open its directory '%s' inside the root", u->o->label, path, dir);
		goto out;
	}

	/* whiteouts */
	if (u->o->mode != UNPACK_FILES && !strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) {
		if (!strcmp(base, WH_OPAQUE))
			rc = opaque(u, dfd, dir, err);
		else if (!strncmp(base, WH_PREFIX WH_PREFIX, 2 * strlen(WH_PREFIX)) || !base[4] ||
			 !strcmp(base + 4, ".") || !strcmp(base + 4, ".."))
			rc = refuse(u, err, path, "an unknown or empty whiteout");
		else
			rc = whiteout(u, dfd, base + 4, err);
		goto out;
	}
	if (type == AE_IFCHR) { /* char 0/0: a whiteout already in overlayfs form */
		rc = whiteout(u, dfd, base, err);
		goto out;
	}

	/* what is there already goes, unless a directory meets a directory */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(S_ISDIR(st.st_mode) && type == AE_IFDIR))
		if (rm_rf_at(dfd, base) < 0) {
			md_fail_errno(err, "%s: replace %s", u->o->label, path);
			goto out;
		}
	remember(u, path);
	entry_times(e, ts);

	const char *hl = archive_entry_hardlink(e);
	rc = hl ? hard_link(u, dfd, base, path, hl, err) : create(u, a, e, dfd, base, path, ts, err);
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int unpack_blob(const char *blob, int rootfd, const struct unpack_opts *o, char diffid[DIGEST_LEN], struct md_error *err)
{
	struct unpacker u = {.o = o, .rootfd = rootfd, .is_root = geteuid() == 0};
	struct archive *tar = NULL;
	struct archive_entry *e;
	int rc = -1, r;

	if (lazy_archive(err) < 0)
		return -1;
	if (sha256_init(&u.hash, err) < 0)
		return -1;
	/* outer: gzip, zstd or nothing -> the raw tar stream */
	u.outer = archive_read_new();
	archive_read_support_filter_all(u.outer);
	archive_read_support_format_raw(u.outer);
	if (archive_read_open_filename(u.outer, blob, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(u.outer, &e) != ARCHIVE_OK) {
		md_fail(err, "%s: %s", o->label, archive_error_string(u.outer));
		goto out;
	}
	/* inner: the tar, reading through read_raw, which hashes every byte */
	tar = archive_read_new();
	archive_read_support_format_tar(tar);
	if (archive_read_open(tar, &u, NULL, read_raw, NULL) != ARCHIVE_OK) {
		md_fail(err, "%s: not a tar archive: %s", o->label, archive_error_string(tar));
		goto out;
	}
	while ((r = archive_read_next_header(tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
		if (entry(&u, tar, e, err) < 0)
			goto out;
	if (r != ARCHIVE_EOF) {
		md_fail(err, "%s: broken tar: %s", o->label, archive_error_string(tar));
		goto out;
	}
	/* the DiffID covers the whole stream, with the padding after the last entry */
	la_ssize_t n;
	while ((n = archive_read_data(u.outer, u.buf, sizeof(u.buf))) > 0)
		sha256_update(&u.hash, u.buf, n);
	if (n < 0) {
		md_fail(err, "%s: %s", o->label, archive_error_string(u.outer));
		goto out;
	}
	sha256_final(&u.hash, diffid);
	/* directory times last: creating their children changed them */
	for (size_t i = u.n_dirs; i-- > 0;) {
		int fd = open_in_root(rootfd, u.dirs[i].path);
		if (fd >= 0) {
			futimens(fd, u.dirs[i].ts);
			close(fd);
		}
	}
	rc = 0;
out:
	if (u.hash.ctx)
		sha256_free(&u.hash);
	if (tar)
		archive_read_free(tar);
	archive_read_free(u.outer);
	json_decref(u.made);
	for (size_t i = 0; i < u.n_dirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	return rc;
}
