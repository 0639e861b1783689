/*
 * buildcopy.c: COPY and ADD of mini-docker build, and .dockerignore.
 *
 *     COPY [--chown=USER[:GROUP]] [--from=STAGE] SRC... DEST
 *
 * Two worlds meet here, and neither may reach out of itself:
 *   - the sources are looked up in the build context (or in another stage's
 *     rootfs, for --from) with openat2(2) RESOLVE_IN_ROOT: a symlink in the
 *     context that points at /etc/shadow resolves inside the context, and
 *     `COPY ../x` is refused, as docker refuses what is outside the context;
 *   - the destination is in the image being built (its overlay), and a symlink
 *     the image holds (/app -> /etc) must not lead the copy to the host's /etc:
 *     every directory on the way is opened inside the rootfs the same way
 *     (unpack.c's unpack_resolve_dir, the function that unpacks layers safely).
 * Inside a copied directory, symlinks are copied as symlinks, never followed.
 *
 * What is copied keeps its mode and mtime; the owner is 0:0 unless --chown
 * names one (looked up in the image's /etc/passwd and /etc/group, as run -u).
 * ADD does the same, and a local tar archive (gzip, bzip2, xz, zstd or plain)
 * is unpacked at DEST instead; ADD of a URL is refused (RUN wget does it).
 *
 * .dockerignore: one pattern a line (# comments), `*` `?` `[...]` inside a
 * path element, `**` for any number of them, `!PATTERN` takes a path back; the
 * last pattern that matches a path (or a directory above it) decides.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buildcopy.h"
#include "lazy.h"
#include "security.h"
#include "unpack.h"

#define MAX_MATCHES 4096

/* --- .dockerignore ---------------------------------------------------------------------- */

struct ignore {
	char **pat;
	int *keep; /* "!pattern" */
	int n;
};

/* "./a//b/" -> "a/b"; -1 when it climbs out of the context with '..' */
static int clean(const char *in, char *out, size_t len)
{
	size_t n = 0;
	const char *p = in;
	out[0] = 0;
	while (*p) {
		while (*p == '/')
			p++;
		size_t cl = strcspn(p, "/");
		if (!cl)
			break;
		if (cl == 2 && !strncmp(p, "..", 2)) {
			char *up = strrchr(out, '/');
			if (!n)
				return -1;
			n = up ? (size_t)(up - out) : 0;
			out[n] = 0;
		} else if (!(cl == 1 && *p == '.')) {
			if (n + cl + 2 > len)
				return -1;
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, cl);
			n += cl;
			out[n] = 0;
		}
		p += cl;
	}
	return 0;
}

int ignore_load(int ctxfd, struct ignore **ig, struct md_error *err)
{
	*ig = NULL;
	int fd = openat(ctxfd, ".dockerignore", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : md_fail_errno(err, ".dockerignore");
	FILE *f = fdopen(fd, "r");
	char line[4096];
	struct ignore *g = xcalloc(1, sizeof(*g));
	while (f && fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t"), buf[4096];
		s[strcspn(s, "\r\n")] = 0;
		for (size_t e = strlen(s); e && (s[e - 1] == ' ' || s[e - 1] == '\t');)
			s[--e] = 0;
		if (!*s || *s == '#')
			continue;
		int keep = *s == '!';
		if (clean(s + keep, buf, sizeof(buf)) < 0 || !*buf)
			continue;
		g->pat = realloc(g->pat, (g->n + 1) * sizeof(char *));
		g->keep = realloc(g->keep, (g->n + 1) * sizeof(int));
		g->pat[g->n] = xstrdup(buf);
		g->keep[g->n++] = keep;
	}
	if (f)
		fclose(f);
	*ig = g;
	return 0;
}

void ignore_free(struct ignore *ig)
{
	if (!ig)
		return;
	for (int i = 0; i < ig->n; i++)
		free(ig->pat[i]);
	free(ig->pat);
	free(ig->keep);
	free(ig);
}

/* PAT against PATH element by element; "**" takes any number of elements */
static int match(const char *pat, const char *path)
{
	if (!*pat)
		return !*path;
	size_t pl = strcspn(pat, "/");
	const char *pnext = pat[pl] ? pat + pl + 1 : pat + pl;
	if (pl == 2 && !strncmp(pat, "**", 2)) {
		for (const char *p = path;; p += strcspn(p, "/") + 1) {
			if (match(pnext, p))
				return 1;
			if (!p[strcspn(p, "/")])
				return !*pnext;
		}
	}
	if (!*path)
		return 0;
	size_t sl = strcspn(path, "/");
	char pe[1024], se[1024];
	if (pl >= sizeof(pe) || sl >= sizeof(se))
		return 0;
	memcpy(pe, pat, pl), pe[pl] = 0;
	memcpy(se, path, sl), se[sl] = 0;
	if (fnmatch(pe, se, 0))
		return 0;
	return match(pnext, path[sl] ? path + sl + 1 : path + sl);
}

/* 1 when REL (cleaned, relative to the context) is left out of the build */
static int ignored(const struct ignore *ig, const char *rel)
{
	int out = 0;
	if (!ig || !*rel)
		return 0;
	for (int i = 0; i < ig->n; i++) {
		char buf[4096];
		snprintf(buf, sizeof(buf), "%s", rel);
		/* the path, or one of the directories above it */
		for (char *end = buf + strlen(buf);;) {
			*end = 0;
			if (match(ig->pat[i], buf)) {
				out = !ig->keep[i];
				break;
			}
			end = strrchr(buf, '/');
			if (!end)
				break;
		}
	}
	return out;
}

/* --- the sources ------------------------------------------------------------------------- */

/* PATH inside ROOTFD, symlinks resolved as if ROOTFD were "/" (openat2(2)) */
static int in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	return openat(rootfd, *path ? path : ".", flags | O_NOFOLLOW | O_CLOEXEC); /* before 5.6: no symlink at all */
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SRC as written -> the paths it names in the context, sorted (a wildcard in the last element) */
static int expand(const struct copy_job *j, const char *src, char ***out, int *n, struct md_error *err)
{
	char rel[4096];
	*out = NULL;
	*n = 0;
	if (strstr(src, "://"))
		return md_fail(err, "%s: a URL: ADD of a URL is not supported here (RUN wget -O DEST URL is)", src);
	if (clean(src, rel, sizeof(rel)) < 0)
		return md_fail(err, "%s: outside %s (sources are relative to it, without '..' above it)", src, j->ctxname);
	char *base = strrchr(rel, '/'), dir[4096];
	const char *name = base ? base + 1 : rel;
	snprintf(dir, sizeof(dir), "%.*s", base ? (int)(base - rel) : 0, rel);
	if (!strpbrk(name, "*?[")) {
		*out = xcalloc(1, sizeof(char *));
		(*out)[(*n)++] = xstrdup(rel);
		return 0;
	}
	int fd = in_root(j->ctxfd, dir, O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	*out = xcalloc(MAX_MATCHES, sizeof(char *));
	while ((e = readdir(d)) && *n < MAX_MATCHES)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !fnmatch(name, e->d_name, 0))
			(*out)[(*n)++] = *dir ? xasprintf("%s/%s", dir, e->d_name) : xstrdup(e->d_name);
	closedir(d);
	qsort(*out, *n, sizeof(char *), by_name);
	return 0;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- the hash: what the sources hold ------------------------------------------------------ */

static int hash_file(struct sha256 *h, int fd)
{
	char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(h, buf, r);
	return r < 0 ? -1 : 0;
}

/* REL (in the context, opened as FD) and, for a directory, everything under it not ignored */
static int hash_tree(const struct copy_job *j, struct sha256 *h, int at, const char *name, const char *rel,
		     struct md_error *err)
{
	struct stat st;
	char head[4200], link[4096];
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
		return md_fail_errno(err, "%s", rel);
	snprintf(head, sizeof(head), "%s\n%o %lld\n", rel, st.st_mode, (long long)(S_ISREG(st.st_mode) ? st.st_size : 0));
	sha256_update(h, head, strlen(head) + 1);
	if (S_ISLNK(st.st_mode)) {
		ssize_t l = readlinkat(at, name, link, sizeof(link) - 1);
		if (l > 0)
			sha256_update(h, link, l);
		return 0;
	}
	int fd = -2, flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
	if ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && *name)
		fd = openat(at, name, flags);
	else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) { /* AT is the source itself, opened O_PATH */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", at);
		fd = open(proc, flags & ~O_NOFOLLOW);
	}
	if (fd == -1)
		return md_fail_errno(err, "%s", rel);
	if (S_ISREG(st.st_mode)) {
		int r = hash_file(h, fd);
		close(fd);
		return r < 0 ? md_fail_errno(err, "reading %s", rel) : 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = fdopendir(fd);
	struct dirent *e;
	char **names = NULL;
	int n = 0, rc = 0;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names = realloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(e->d_name);
	}
	if (n) /* an empty directory: no list at all (qsort(NULL) is undefined) */
		qsort(names, n, sizeof(char *), by_name);
	for (int i = 0; i < n && rc == 0; i++) {
		char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		if (!(j->ignore && ignored(j->ignore, r)))
			rc = hash_tree(j, h, dirfd(d), names[i], r, err);
		free(r);
	}
	free_list(names, n);
	if (d)
		closedir(d);
	return rc;
}

int copy_hash(const struct copy_job *j, char out[DIGEST_LEN], struct md_error *err)
{
	struct sha256 h;
	int rc = 0;
	if (sha256_init(&h, err) < 0)
		return -1;
	for (int i = 0; i < j->n_srcs && rc == 0; i++) {
		char **list;
		int n, found = 0;
		if (expand(j, j->srcs[i], &list, &n, err) < 0) {
			rc = -1;
			break;
		}
		for (int k = 0; k < n && rc == 0; k++) {
			if (j->ignore && ignored(j->ignore, list[k]))
				continue;
			int fd = in_root(j->ctxfd, list[k], O_PATH);
			if (fd < 0)
				continue;
			found++;
			rc = hash_tree(j, &h, fd, "", list[k], err);
			close(fd);
		}
		free_list(list, n);
		if (rc == 0 && !found)
			rc = md_fail(err, "%s: no such file or directory in %s%s", j->srcs[i], j->ctxname,
				     j->ignore ? " (or .dockerignore leaves it out)" : "");
	}
	sha256_final(&h, out);
	sha256_free(&h);
	return rc;
}

/* --- the copy -------------------------------------------------------------------------- */

struct copier {
	const struct copy_job *j;
	int rootfd;
	uid_t uid;
	gid_t gid;
	struct md_error *err;
};

static int set_meta(struct copier *c, int dirfd, const char *name, const struct stat *st)
{
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	if (fchownat(dirfd, name, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return md_fail_errno(c->err, "chown %s", name);
	/* after the chown, which clears set-user-ID */
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return md_fail_errno(c->err, "chmod %s", name);
	if (utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		return md_fail_errno(c->err, "touch %s", name);
	return 0;
}

static int copy_data(int from, int to)
{
	char buf[65536];
	ssize_t r;
	while ((r = read(from, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(to, buf + off, r - off);
			if (w < 0)
				return -1;
			off += w;
		}
	return r < 0 ? -1 : 0;
}

/* the entry NAME of SRCDIR (REL in the context) as NAME in DSTDIR, a directory with what it holds */
static int copy_entry(struct copier *c, int srcdir, const char *name, int dstdir, const char *dname, const char *rel)
{
	struct stat st;
	int rc = -1, in = -1, out = -1;
	if (fstatat(srcdir, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
		return md_fail_errno(c->err, "%s", rel);
	if (S_ISLNK(st.st_mode)) {
		char link[4096];
		ssize_t l = readlinkat(srcdir, name, link, sizeof(link) - 1);
		if (l < 0)
			return md_fail_errno(c->err, "readlink %s", rel);
		link[l] = 0;
		unlinkat(dstdir, dname, 0);
		if (symlinkat(link, dstdir, dname) < 0)
			return md_fail_errno(c->err, "symlink %s", rel);
		return set_meta(c, dstdir, dname, &st);
	}
	if (S_ISREG(st.st_mode)) {
		/* NAME "": SRCDIR is the file itself (a source named on its own) */
		in = *name ? openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : dup(srcdir);
		out = openat(dstdir, dname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (in < 0 || out < 0)
			md_fail_errno(c->err, "%s %s", in < 0 ? "reading" : "writing", rel);
		else if (copy_data(in, out) < 0)
			md_fail_errno(c->err, "copying %s", rel);
		else
			rc = set_meta(c, dstdir, dname, &st);
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mini-docker: build: %s: skipping what is neither a file, a directory nor a symlink\n", rel);
		return 0;
	}
	if (mkdirat(dstdir, dname, 0700) < 0 && errno != EEXIST)
		return md_fail_errno(c->err, "mkdir %s", rel);
	in = openat(srcdir, *name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	out = openat(dstdir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0 || out < 0) {
		md_fail_errno(c->err, "%s %s", in < 0 ? "reading" : "a directory at", rel);
		goto out;
	}
	DIR *d = fdopendir(in);
	struct dirent *e;
	in = -1;
	rc = 0;
	while (rc == 0 && d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (!(c->j->ignore && ignored(c->j->ignore, r)))
			rc = copy_entry(c, dirfd(d), e->d_name, out, e->d_name, r);
		free(r);
	}
	if (d)
		closedir(d);
	if (rc == 0)
		rc = set_meta(c, dstdir, dname, &st);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* ADD: a tar archive? (the magic of tar, gzip, bzip2, xz, zstd) */
static int is_archive(int fd)
{
	unsigned char b[512];
	ssize_t n = pread(fd, b, sizeof(b), 0);
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return 1;
	if (n >= 3 && !memcmp(b, "BZh", 3))
		return 1;
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ", 5))
		return 1;
	if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return 1;
	return n >= 262 && !memcmp(b + 257, "ustar", 5);
}

/* one source path REL: a directory's contents into DEST, a file into DEST or DEST/NAME */
static int copy_source(struct copier *c, const char *rel)
{
	const struct copy_job *j = c->j;
	const char *why = NULL, *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	int src = in_root(j->ctxfd, rel, O_RDONLY), rc = -1, dst = -1;
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		return md_fail_errno(c->err, "%s", rel);
	if (S_ISDIR(st.st_mode)) {
		if ((dst = unpack_resolve_dir(c->rootfd, j->dest, &why)) < 0)
			goto fail_dest;
		rc = 0;
		DIR *d = fdopendir(src);
		struct dirent *e;
		src = -1;
		while (rc == 0 && d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
			if (!(j->ignore && ignored(j->ignore, r)))
				rc = copy_entry(c, dirfd(d), e->d_name, dst, e->d_name, r);
			free(r);
		}
		if (d)
			closedir(d);
		goto out;
	}
	if (j->add && S_ISREG(st.st_mode) && is_archive(src)) {
		char label[256], diff[DIGEST_LEN], proc[64];
		struct unpack_opts uo = {.mode = UNPACK_FILES, .max_bytes = j->o->max_unpack,
					 .max_entries = j->o->max_entries, .label = label};
		snprintf(label, sizeof(label), "ADD %s", rel);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
		if ((dst = unpack_resolve_dir(c->rootfd, j->dest, &why)) < 0)
			goto fail_dest;
		rc = unpack_blob(proc, dst, &uo, diff, c->err);
		goto out;
	}
	/* a file: into DEST when it is a directory (or said to be one), else as DEST */
	char *dest = xstrdup(j->dest), *name;
	int into = j->dest_dir, probe = in_root(c->rootfd, dest + strspn(dest, "/"), O_PATH | O_DIRECTORY);
	if (probe >= 0) {
		into = 1;
		close(probe);
	}
	if (into) {
		dst = unpack_resolve_dir(c->rootfd, dest, &why);
		name = xstrdup(base);
	} else {
		char *slash = strrchr(dest, '/');
		name = xstrdup(slash ? slash + 1 : dest);
		if (slash)
			*slash = 0;
		dst = unpack_resolve_dir(c->rootfd, dest, &why);
	}
	free(dest);
	if (dst >= 0) {
		rc = copy_entry(c, src, "", dst, name, rel);
		free(name);
		goto out;
	}
	free(name);
fail_dest:
	if (why)
		md_fail(c->err, "%s: %s", j->dest, why);
	else
		md_fail_errno(c->err, "the destination %s in the image", j->dest);
out:
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	return rc;
}

int copy_run(const struct copy_job *j, const char *rootfs, struct md_error *err)
{
	struct copier c = {.j = j, .err = err};
	char why[256] = "";
	int rc = 0;
	if (j->add && lazy_archive(err) < 0)
		return -1;
	if ((c.rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return md_fail_errno(err, "open %s", rootfs);
	if (j->chown) {
		gid_t groups[64];
		int ng = 64;
		char *home = NULL;
		if (user_lookup(c.rootfd, j->chown, &c.uid, &c.gid, groups, &ng, &home, why, sizeof(why)) < 0)
			rc = md_fail(err, "--chown=%s: %s", j->chown, why);
		else if (!strchr(j->chown, ':'))
			c.gid = c.uid; /* docker's rule: a user without a group gets the GID of the same number */
		free(home);
	}
	for (int i = 0; i < j->n_srcs && rc == 0; i++) {
		char **list;
		int n;
		if (expand(j, j->srcs[i], &list, &n, err) < 0) {
			rc = -1;
			break;
		}
		for (int k = 0; k < n && rc == 0; k++)
			if (!(j->ignore && ignored(j->ignore, list[k])))
				rc = copy_source(&c, list[k]);
		free_list(list, n);
	}
	close(c.rootfd);
	return rc;
}
