/*
 * rootfs.c: the container's root filesystem.
 *
 * An image is a stack of read-only layers (ROOT/layers/CHAINID, unpacked once
 * by pull). Each container gets its own writable layer on top with overlayfs:
 *
 *     $ mount -t overlay overlay \
 *         -o lowerdir=TOP:...:BOTTOM,upperdir=ID/upper,workdir=ID/work ID/rootfs
 *
 * Reads fall through to the layers; a write copies the file up into upper/;
 * a delete leaves a whiteout there. The layers stay shared by every container
 * of the image, and `rm` (or --rm) removes exactly what this container wrote.
 * The mount is made inside the container's mount namespace, so it disappears
 * with the container even when mini-docker is killed.
 *
 * When overlayfs cannot be used (an old kernel without unprivileged overlay,
 * a filesystem it refuses as upper), the layers are copied (unpacked again)
 * into ID/rootfs instead: slower and bigger, and we say so.
 * --rootfs DIR skips all this: DIR itself becomes "/", as box does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "container.h"
#include "mounts.h"
#include "narrate.h"
#include "rootfs.h"
#include "unpack.h"
#include "util.h"

static char *overlay_options(const struct container *c, int userxattr)
{
	/* EXERCISE 05.6: the overlay: the image's layers read-only below, the container's writes above
	 * hint: overlayfs: the layers read-only below, the container's writes above, a work dir beside
	 * more: "lowerdir=TOP:...:BOTTOM,upperdir=DIR/upper,workdir=DIR/work": c->lower is the lower list
	 * more: already, c->dir the container's directory; add ",userxattr" in a user namespace
	 * tests: 05-run
	 * stub: (void)c; (void)userxattr; return xstrdup("TODO-05.6");
	 */
	/* lowerdir is relative to ROOT/layers (we chdir there): 64 hex digits a layer keep it short */
	return xasprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work%s", c->lower, c->dir, c->dir,
			 userxattr ? ",userxattr" : "");
	/* END EXERCISE */
}

/* mount(2) the overlay on c->rootfs; -1 with errno on failure. */
static int overlay_mount(const struct container *c, int userns, int quiet)
{
	int saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;
	if (saved < 0 || chdir(c->layers) < 0)
		goto out;
	/* in a user namespace overlayfs keeps its whiteouts and opaque marks in user.* xattrs */
	for (int userxattr = userns; userxattr >= 0 && rc < 0; userxattr--) {
		char *opts = overlay_options(c, userxattr);
		if (!quiet) {
			char *call = xasprintf("mount(\"overlay\", \"%s\", \"overlay\", %s)", c->rootfs, opts);
			char *shell = xasprintf("cd %s; mount -t overlay overlay -o %s %s", c->layers, opts, c->rootfs);
			narrate("%s%.0s", "%.0s%s", call, shell);
			free(call);
			free(shell);
		}
		rc = mount("overlay", c->rootfs, "overlay", 0, opts);
		free(opts);
	}
	int e = errno;
	if (fchdir(saved) < 0)
		rc = -1;
	errno = e;
out:
	if (saved >= 0)
		close(saved);
	return rc;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0) {
			/* the probe then fails, and says nothing: the copy is the answer */
		}
		close(fd);
	}
}

/*
 * Can this container's overlay be mounted? Try it, in a throwaway process with
 * a mount namespace of its own (and a user namespace when rootless, as the
 * container will have): nothing of the try stays behind.
 */
static int overlay_works(const struct container *c)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t p = fork();
	if (p < 0)
		return 0;
	if (p == 0) {
		char map[64];
		if (unshare(CLONE_NEWNS | (c->userns ? CLONE_NEWUSER : 0)) < 0)
			_exit(1);
		if (c->userns) {
			snprintf(map, sizeof(map), "0 %u 1", uid);
			write_text("/proc/self/uid_map", map);
			write_text("/proc/self/setgroups", "deny");
			snprintf(map, sizeof(map), "0 %u 1", gid);
			write_text("/proc/self/gid_map", map);
		}
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(1);
		_exit(overlay_mount(c, c->userns, 1) < 0 ? 1 : 0);
	}
	int status;
	while (waitpid(p, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	/* the try wrote a work/ dir owned by the try's root: empty it for the real mount */
	char *work = xasprintf("%s/work", c->dir);
	rm_rf(work);
	mkdir(work, 0700);
	free(work);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Can ROOT/layers keep overlayfs's marks? An opaque directory is one with the
 * xattr trusted.overlay.opaque (user.overlay.opaque for a user): a file system
 * without such xattrs (tmpfs before Linux 6.6, for a user) unpacks layers
 * without them (unpack.c), and those layers cannot be stacked.
 */
static int marks_kept(const char *layers)
{
	char probe[PATH_MAX];
	snprintf(probe, sizeof(probe), "%s/.xattr-probe-%d", layers, (int)getpid());
	if (mkdir(probe, 0700) < 0)
		return 1; /* cannot tell: let the mount try */
	int ok = setxattr(probe, "trusted.overlay.opaque", "y", 1, 0) == 0 ||
		 setxattr(probe, "user.overlay.opaque", "y", 1, 0) == 0;
	rmdir(probe);
	return ok;
}

/*
 * overlay_works, asked once: its try costs every run a process and a mount
 * namespace made and torn down (milliseconds), and the answer changes only with
 * the kernel, the file system under ROOT/layers and rootless or not. So a yes
 * is kept in ROOT/overlay-works with those three, and asked again when one
 * changes. A long stack of layers is always tried: its lowerdir may not fit in
 * the one page of options mount(2) takes.
 */
static int overlay_usable(const struct container *c)
{
	struct utsname u;
	struct statfs fs;
	struct stat st;
	struct md_error err;
	/* on the stack: overlay_works() forks, and its child _exit()s without freeing */
	char path[PATH_MAX], key[512] = "", *had = NULL;
	size_t len;
	int ok = 0;
	snprintf(path, sizeof(path), "%s/overlay-works", c->o->root);
	if (c->n_blobs <= 32 && uname(&u) == 0 && statfs(c->layers, &fs) == 0 && stat(c->layers, &st) == 0)
		snprintf(key, sizeof(key), "kernel %s, fs 0x%lx dev %lu, %s\n", u.release,
			 (unsigned long)fs.f_type, (unsigned long)st.st_dev, c->userns ? "rootless" : "root");
	if (*key && read_file(path, 4096, &had, &len, &err) == 0 && !strcmp(had, key))
		ok = 1;
	free(had);
	if (!ok && marks_kept(c->layers) && (ok = overlay_works(c)) && *key)
		write_file_replace(path, key, strlen(key), &err); /* no harm if it fails: we try next time */
	return ok;
}

/* The fallback: unpack every layer, bottom first, into ID/rootfs (whiteouts delete). */
static int copy_layers(struct container *c, struct md_error *err)
{
	int fd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return md_fail_errno(err, "open %s", c->rootfs);
	for (int i = 0; i < c->n_blobs; i++) {
		char label[64], got[DIGEST_LEN];
		struct unpack_opts uo = {.mode = UNPACK_FLATTEN, .max_bytes = c->o->max_unpack,
					 .max_entries = c->o->max_entries, .label = label};
		snprintf(label, sizeof(label), "layer %d", i + 1);
		char *shell = xasprintf("tar -xf %s -C %s", c->blobs[i], c->rootfs);
		narrate("unpack(%s)%.0s", "%.0s%s", label, shell);
		free(shell);
		if (unpack_blob(c->blobs[i], fd, &uo, got, err) < 0) {
			close(fd);
			return md_context(err, "copying the image into %s", c->rootfs);
		}
	}
	close(fd);
	return 0;
}

int rootfs_prepare(struct container *c, struct run_config *rc, struct md_error *err)
{
	(void)rc;
	if (c->plain)
		return 0;
	char *upper = xasprintf("%s/upper", c->dir), *work = xasprintf("%s/work", c->dir);
	c->rootfs = xasprintf("%s/rootfs", c->dir);
	int r = mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(c->rootfs, 0755) < 0;
	free(upper);
	free(work);
	if (r)
		return md_fail_errno(err, "mkdir under %s", c->dir);
	if (!c->lower) { /* no layers at all: an empty directory is the image */
		c->plain = 1;
		return 0;
	}
	const char *no = getenv("MINI_DOCKER_NO_OVERLAY");
	if ((!no || !*no || !strcmp(no, "0")) && overlay_usable(c))
		return 0;
	fprintf(stderr, "mini-docker: overlayfs cannot be used here%s: copying the image's layers into %s "
			"instead (slower, and it takes disk space)\n",
		no && *no && strcmp(no, "0") ? " (MINI_DOCKER_NO_OVERLAY is set)" : "", c->rootfs);
	free(c->lower);
	c->lower = NULL;
	c->plain = 1;
	return copy_layers(c, err);
}

void rootfs_enter(struct container *c, const struct run_config *rc)
{
	(void)rc;
	if (c->lower) {
		if (overlay_mount(c, c->userns, 0) < 0)
			child_die("mount overlay on %s: %m (try MINI_DOCKER_NO_OVERLAY=1 to copy the layers instead)",
				  c->rootfs);
	} else {
		/* pivot_root needs the new root to be a mount point: bind it onto itself */
		char shell[PATH_MAX + 64];
		snprintf(shell, sizeof(shell), "mount --rbind %s %s", c->rootfs, c->rootfs);
		mount_or_die(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL, shell);
	}
	narrate("chdir(\"%s\")", "cd %s", c->rootfs);
	if (chdir(c->rootfs) < 0)
		child_die("chdir(%s): %m", c->rootfs);
}
