/*
 * mounts.c: what a container sees besides its image.
 *
 * In the child, in its own mount namespace, with the rootfs as the current
 * directory (before pivot_root), as runc and crun do:
 *   /proc      a fresh proc for the PID namespace; some files hidden (masked:
 *              /dev/null or an empty read-only tmpfs over them) and some made
 *              read-only (/proc/sys: sysctls are the host kernel's!)
 *   /dev       a tmpfs with a few nodes, its own devpts, shm and mqueue
 *   /sys       read-only (--privileged: writable; nothing masked)
 *   volumes    -v SRC:DST[:ro]: bind mounts, recursive and private; named and
 *              anonymous volumes are directories of the store; --tmpfs DST
 * The mount point of a volume is made inside the rootfs one component at a
 * time, never following a symlink: an image cannot point DST at the host.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroups.h"
#include "container.h"
#include "mounts.h"
#include "narrate.h"
#include "record.h"
#include "util.h"

/* copy of step 03's mount_flags() (steps/03-namespaces/box.c); scripts/check-copies */
static const char *mount_flags(unsigned long flags)
{
	static const struct { unsigned long flag; const char *name; } names[] = {
		{MS_REC, "MS_REC"}, {MS_PRIVATE, "MS_PRIVATE"}, {MS_BIND, "MS_BIND"}, {MS_RDONLY, "MS_RDONLY"},
		{MS_NOSUID, "MS_NOSUID"}, {MS_NODEV, "MS_NODEV"}, {MS_NOEXEC, "MS_NOEXEC"},
		{MS_STRICTATIME, "MS_STRICTATIME"}, {MS_REMOUNT, "MS_REMOUNT"},
	};
	static char buf[200];
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].flag)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? "|" : "", names[i].name);
	return buf[0] ? buf : "0";
}

/* copy of step 03's do_mount() (steps/03-namespaces/box.c); scripts/check-copies */
void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags, const char *data,
		  const char *shell)
{
	narrate("mount(\"%s\", \"%s\", %s, %s)%.0s", "%.0s%.0s%.0s%.0s%s", src ? src : "none", dst,
		type ? type : "NULL", mount_flags(flags), shell);
	if (mount(src, dst, type, flags, data) < 0)
		child_die("mount %s on %s (%s): %m", src ? src : "none", dst, type ? type : mount_flags(flags));
}

/* ---- the engine: -v, --tmpfs and the image's Volumes into rc->volumes ---- */

static int add_volume(struct run_config *rc, char *src, const char *dst, int ro, int anon, int tmpfs,
		      struct md_error *err)
{
	size_t len = strlen(dst);
	if (dst[0] != '/' || !strcmp(dst, "/") || strstr(dst, "/../") || (len >= 3 && !strcmp(dst + len - 3, "/..")))
		return md_fail(err, "volume target '%s': give an absolute path other than / (and without ..)", dst);
	for (int i = 0; i < rc->n_volumes; i++)
		if (!strcmp(rc->volumes[i].dst, dst))
			return md_fail(err, "two volumes at %s", dst);
	if (rc->n_volumes >= (int)(sizeof(rc->volumes) / sizeof(rc->volumes[0])))
		return md_fail(err, "too many volumes");
	struct volume *v = &rc->volumes[rc->n_volumes++];
	v->src = src;
	v->dst = xstrdup(dst);
	v->ro = ro;
	v->anon = anon;
	v->tmpfs = tmpfs;
	return 0;
}

/* ROOT/volumes/NAME/_data, made when missing, as docker's named volumes */
static char *volume_dir(const struct md_opts *o, const char *name, int *fresh, struct md_error *err)
{
	char *top = xasprintf("%s/volumes", o->root), *d;
	/* volumes/ is for root alone (as podman's storage, 0700): a setuid file a container
	 * writes into a volume must not be reachable, so not runnable, by another host user.
	 * It is ours, so an older store's 0755 is tightened too. */
	int rc = mkdir_p(top, 0700, err);
	if (rc == 0 && chmod(top, 0700) < 0)
		rc = md_fail_errno(err, "chmod 0700 %s", top);
	free(top);
	d = xasprintf("%s/volumes/%s/_data", o->root, name);
	*fresh = access(d, F_OK) < 0; /* made now: the image's files go in first (mounts_setup) */
	if (rc < 0 || mkdir_p(d, 0755, err) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

static int anonymous(struct run_config *rc, struct container *c, const char *dst, struct md_error *err)
{
	char name[65];
	random_hex(name, 32);
	int fresh;
	char *d = volume_dir(rc->o, name, &fresh, err);
	if (!d)
		return -1;
	char *top = xasprintf("%s/volumes/%s", rc->o->root, name);
	char *state = xasprintf("%s/state.json", c->dir), *list = NULL, *old = NULL;
	/* remember it, so rm -v and --rm remove it */
	json_t *j = json_load_file(state, 0, NULL);
	const char *prev = json_string_value(json_object_get(j, "anon_volumes"));
	old = xstrdup(prev ? prev : "");
	list = *old ? xasprintf("%s %s", old, top) : xstrdup(top);
	json_decref(j);
	int r = container_state(c, err, "anon_volumes", list, NULL);
	free(state);
	free(list);
	free(old);
	free(top);
	if (r < 0 || add_volume(rc, d, dst, 0, 1, 0, err) < 0)
		return -1;
	rc->volumes[rc->n_volumes - 1].fresh = fresh;
	return 0;
}

int volumes_parse(struct run_config *rc, struct container *c, json_t *image_volumes, struct md_error *err)
{
	for (int i = 0; i < rc->n_volume_args; i++) {
		char *spec = xstrdup(rc->volume_args[i]);
		char *parts[4] = {0};
		int n = 0;
		for (char *p = spec, *save; n < 4 && (p = strtok_r(n ? NULL : p, ":", &save));)
			parts[n++] = p;
		int ro = 0;
		if (n == 3 && (!strcmp(parts[2], "ro") || !strcmp(parts[2], "rw")))
			ro = !strcmp(parts[2], "ro");
		else if (n != 2 && n != 1)
			return md_fail(err, "-v %s: give SRC:DST[:ro|rw], NAME:DST or DST", rc->volume_args[i]);
		if (n == 1) {
			if (anonymous(rc, c, parts[0], err) < 0)
				return -1;
			continue;
		}
		char *src;
		int fresh = 0;
		if (parts[0][0] == '/' || parts[0][0] == '.' || parts[0][0] == '~') {
			/* a host path: docker makes it when it is missing */
			if (access(parts[0], F_OK) < 0 && mkdir_p(parts[0], 0755, err) < 0)
				return md_context(err, "-v %s", rc->volume_args[i]);
			if (!(src = realpath(parts[0], NULL)))
				return md_fail_errno(err, "-v %s: %s", rc->volume_args[i], parts[0]);
		} else if (docker_name_ok(parts[0])) {
			if (!(src = volume_dir(rc->o, parts[0], &fresh, err)))
				return md_context(err, "volume %s", parts[0]);
		} else {
			return md_fail(err, "-v %s: '%s' is neither a path (/..., ./...) nor a volume name", rc->volume_args[i],
				       parts[0]);
		}
		if (add_volume(rc, src, parts[1], ro, 0, 0, err) < 0)
			return md_context(err, "-v %s", rc->volume_args[i]);
		rc->volumes[rc->n_volumes - 1].fresh = fresh; /* a host path never is: docker copies into volumes only */
		free(spec);
	}
	for (int i = 0; i < rc->n_tmpfs_args; i++) {
		char *dst = xstrdup(rc->tmpfs_args[i]);
		dst[strcspn(dst, ":")] = 0;
		int bad = add_volume(rc, NULL, dst, 0, 0, 1, err) < 0; /* it keeps a copy */
		free(dst);
		if (bad)
			return md_context(err, "--tmpfs %s", rc->tmpfs_args[i]);
	}
	/* the image's Volumes: an anonymous volume each, unless -v already put something there */
	const char *dst;
	json_t *ignored;
	json_object_foreach(image_volumes, dst, ignored)
	{
		int taken = 0;
		for (int i = 0; i < rc->n_volumes; i++)
			taken |= !strcmp(rc->volumes[i].dst, dst);
		if (!taken && anonymous(rc, c, dst, err) < 0)
			return md_context(err, "the image's volume %s", dst);
	}
	return 0;
}


/* ---- the child ---- */

/*
 * Open (making what is missing) PATH inside the directory ROOTFD, one
 * component at a time with O_NOFOLLOW: a symlink in the image cannot send us
 * outside. The last component is a directory, or a file when FILE.
 */
static int open_target(int rootfd, const char *path, int file)
{
	char *copy = xstrdup(path), *save, *part, *next;
	int fd = dup(rootfd);
	part = strtok_r(copy, "/", &save);
	while (fd >= 0 && part) {
		next = strtok_r(NULL, "/", &save);
		int last = next == NULL, nfd;
		if (!strcmp(part, ".") || !strcmp(part, "..")) {
			close(fd);
			fd = -1;
			errno = EINVAL;
			break;
		}
		if (last && file) {
			nfd = openat(fd, part, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
		} else {
			if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST)
				nfd = -1;
			else
				nfd = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		close(fd);
		fd = nfd;
		part = next;
	}
	free(copy);
	return fd;
}

/*
 * Without the new mount API (Linux < 5.12; and valgrind, which does not know
 * these system calls): mount(2) onto the fd's /proc/self/fd/N, as runc does.
 * A read-only remount there reaches the volume's own mount, not those below
 * it: a read-only volume is refused rather than half read-only.
 */
static void bind_volume_old_api(int target, const struct volume *v)
{
	char fdpath[64];
	if (v->ro)
		child_die("read-only volume %s: needs mount_setattr(2) (Linux 5.12)", v->dst);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", target);
	char *shell = xasprintf("mount --rbind %s .%s  # no open_tree here", v->src, v->dst);
	/* private already: a copy of what mount --make-rprivate / (ns.c) made private in this namespace */
	mount_or_die(v->src, fdpath, NULL, MS_BIND | MS_REC, NULL, shell);
	free(shell);
	close(target);
}

/*
 * Docker's copy-up: a volume made by this run, mounted where the image has files,
 * starts with a copy of them (owners, modes, times), not empty. FROM is the image's
 * directory (inside the rootfs), TO the volume's. Nothing is followed: a symlink is
 * copied as a symlink, so the image cannot make us read or write outside either.
 * Device nodes, sockets and FIFOs are left out (docker copies them; a layer here
 * cannot hold a device anyway).
 */
static void copy_up(int from, int to, const char *where)
{
	DIR *d = fdopendir(dup(from));
	struct dirent *e;
	if (!d)
		child_die("copy the image's %s into its new volume: %m", where);
	while ((e = readdir(d))) {
		struct stat st;
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int a, b;
			if (mkdirat(to, n, 0700) < 0 ||
			    (a = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				child_die("copy the image's %s/%s into its new volume: %m", where, n);
			if ((b = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				child_die("open the volume's %s: %m", n);
			copy_up(a, b, n);
			close(a);
			close(b);
		} else if (S_ISREG(st.st_mode)) {
			int a = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int b = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			char buf[65536];
			ssize_t got;
			if (a < 0 || b < 0)
				child_die("copy the image's %s/%s into its new volume: %m", where, n);
			while ((got = read(a, buf, sizeof(buf))) > 0)
				if (write(b, buf, got) != got)
					child_die("copy the image's %s/%s into its new volume: %m", where, n);
			close(a);
			close(b);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t len = readlinkat(from, n, target, sizeof(target) - 1);
			if (len < 0 || (target[len] = 0, symlinkat(target, to, n) < 0))
				child_die("copy the symlink %s/%s into its new volume: %m", where, n);
		} else {
			continue;
		}
		/* rootless: only our own ids are mapped, the others stay ours (EINVAL) */
		if (fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
			child_die("chown the volume's %s: %m", n);
		if (!S_ISLNK(st.st_mode) && fchmodat(to, n, st.st_mode & 07777, 0) < 0)
			child_die("chmod the volume's %s: %m", n);
		utimensat(to, n, (struct timespec[]){st.st_atim, st.st_mtim}, AT_SYMLINK_NOFOLLOW);
	}
	closedir(d);
}

/* A new volume over a directory of the image: its files, and the directory's owner and mode. */
static void copy_up_into(int target, const struct volume *v)
{
	struct stat st;
	int to = open(v->src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fstat(target, &st) < 0 || !S_ISDIR(st.st_mode) || to < 0) {
		if (to >= 0)
			close(to);
		return;
	}
	narrate("copy %s's files into its new volume", "cp -a .%s/. %s", v->dst, v->src);
	copy_up(target, to, v->dst);
	if (fchown(to, st.st_uid, st.st_gid) < 0 && errno != EINVAL)
		child_die("chown %s: %m", v->src);
	if (fchmod(to, st.st_mode & 07777) < 0)
		child_die("chmod %s: %m", v->src);
	close(to);
}

static void bind_volume(int rootfd, const struct volume *v)
{
	struct stat st;
	if (stat(v->src, &st) < 0)
		child_die("volume %s: %m", v->src);
	int target = open_target(rootfd, v->dst, !S_ISDIR(st.st_mode));
	if (target < 0)
		child_die("volume target %s inside the container: %m (a symlink there is not followed)", v->dst);
	if (v->fresh)
		copy_up_into(target, v);
	/* the new mount API: a copy of SRC's tree, made private (and read-only), moved onto the fd */
	char *shell = xasprintf("mount --rbind --make-rprivate %s .%s%s", v->src, v->dst,
				v->ro ? "  # and mount -o remount,bind,ro" : "");
	narrate("open_tree(\"%s\", OPEN_TREE_CLONE|AT_RECURSIVE), move_mount(%s)%.0s", "%.0s%.0s%s", v->src, v->dst,
		shell);
	free(shell);
	int tree = syscall(SYS_open_tree, AT_FDCWD, v->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0 && errno == ENOSYS) {
		bind_volume_old_api(target, v);
		return;
	}
	if (tree < 0)
		child_die("open_tree(%s): %m", v->src);
	struct mount_attr attr = {.propagation = MS_PRIVATE, .attr_set = v->ro ? MOUNT_ATTR_RDONLY : 0};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		child_die("mount_setattr(%s%s): %m", v->src, v->ro ? ", read-only" : "");
	if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		child_die("move_mount(%s onto %s): %m", v->src, v->dst);
	close(tree);
	close(target);
}

static void tmpfs_volume(int rootfd, const struct volume *v)
{
	int target = open_target(rootfd, v->dst, 0);
	if (target < 0)
		child_die("--tmpfs %s inside the container: %m", v->dst);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", target);
	char shell[PATH_MAX];
	snprintf(shell, sizeof(shell), "mount -t tmpfs -o nosuid,nodev tmpfs .%s", v->dst);
	mount_or_die("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", shell);
	close(target);
}

/*
 * A mount point of the rootfs (the cwd), made when missing as runc does (the slides'
 * `mkdir scatola; cp busybox scatola` has none); one that is a symlink is refused:
 * mount(2) would follow it out of the rootfs.
 */
void mount_point(const char *name, mode_t mode)
{
	struct stat st;
	if (mkdir(name, mode) == 0)
		narrate("mkdir(\"%s\")", "mkdir %s", name);
	else if (errno != EEXIST)
		child_die("mkdir %s inside the rootfs: %m", name);
	if (lstat(name, &st) < 0)
		child_die("stat %s inside the rootfs: %m", name);
	if (!S_ISDIR(st.st_mode))
		child_die("%s inside the rootfs is not a directory%s: refusing to mount on it", name,
			  S_ISLNK(st.st_mode) ? " but a symlink (not followed)" : "");
}

/* A minimal /dev, as in step 03 (bind the host's nodes in a user namespace: no mknod there). */
/* copy of step 03's mount_dev() (steps/03-namespaces/box.c); scripts/check-copies */
void mount_dev(const struct container *c)
{
	static const struct { const char *name; unsigned major, minor; } nodes[] = {
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
	};
	static const char *links[][2] = {
		{"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"}, {"/proc/self/fd/1", "dev/stdout"},
		{"/proc/self/fd/2", "dev/stderr"}, {"pts/ptmx", "dev/ptmx"},
	};
	char path[64], host[64], shell[256];
	mount_point("dev", 0755);
	mount_or_die("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
		     "mount -t tmpfs -o nosuid,strictatime,mode=755 tmpfs dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "dev/%s", nodes[i].name);
		if (!c->userns) {
			narrate("mknod(\"%s\", S_IFCHR|0666, %u:%u)", "mknod -m 666 %s c %u %u", path, nodes[i].major,
				nodes[i].minor);
			if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0 || chmod(path, 0666) < 0)
				child_die("mknod %s: %m", path);
			continue;
		}
		snprintf(host, sizeof(host), "/dev/%s", nodes[i].name);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			child_die("create %s: %m", path);
		close(fd);
		snprintf(shell, sizeof(shell), "touch %s; mount --bind %s %s", path, host, path);
		mount_or_die(host, path, NULL, MS_BIND, NULL, shell);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			child_die("symlink %s -> %s: %m", links[i][1], links[i][0]);
	if (mkdir("dev/pts", 0755) < 0)
		child_die("mkdir dev/pts: %m");
	mount_or_die("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     c->userns ? "newinstance,ptmxmode=0666,mode=0620" : "newinstance,ptmxmode=0666,mode=0620,gid=5",
		     "mount -t devpts -o newinstance,ptmxmode=0666 devpts dev/pts");
	if (mkdir("dev/shm", 01777) < 0)
		child_die("mkdir dev/shm: %m");
	mount_or_die("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
		     "mount -t tmpfs -o mode=1777 shm dev/shm");
	if (mkdir("dev/mqueue", 0755) < 0)
		child_die("mkdir dev/mqueue: %m");
	mount_or_die("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		     "mount -t mqueue mqueue dev/mqueue");
}

/*
 * --privileged: every device node of the host's /dev, made again in ours (as
 * Docker: /dev/loop-control, the disks, /dev/net/tun ...), with its mode and
 * owner. Not /dev/pts, shm, mqueue (ours are the container's own), nor console.
 * HOST is a directory under /dev, DEPTH how far down we still go.
 */
static void host_devices(const char *host, int depth)
{
	DIR *d = opendir(host);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char from[PATH_MAX], to[PATH_MAX];
		struct stat st;
		if (e->d_name[0] == '.' || (depth == 3 && (!strcmp(e->d_name, "pts") || !strcmp(e->d_name, "shm") ||
							    !strcmp(e->d_name, "mqueue") || !strcmp(e->d_name, "console"))))
			continue;
		snprintf(from, sizeof(from), "%s/%s", host, e->d_name);
		snprintf(to, sizeof(to), "%s", from + 1); /* "dev/...": under the new root (our cwd) */
		if (lstat(from, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			if (mkdir(to, st.st_mode & 07777) < 0 && errno != EEXIST)
				child_die("mkdir %s: %m", to);
			host_devices(from, depth - 1);
		} else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && access(to, F_OK) < 0) {
			if (mknod(to, st.st_mode, st.st_rdev) < 0 || chown(to, st.st_uid, st.st_gid) < 0)
				child_die("mknod %s (%u:%u): %m", to, major(st.st_rdev), minor(st.st_rdev));
		}
	}
	if (d)
		closedir(d);
}

/* /sys read-only; in a user namespace sharing the host's network, a recursive bind instead (step 04) */
/* copy of step 04's mount_sys() (steps/04-netns/box.c); scripts/check-copies */
static void mount_sys(const struct container *c, const struct run_config *rc)
{
	unsigned long ro = rc->privileged ? 0 : MS_RDONLY;
	mount_point("sys", 0555);
	if (!c->userns || rc->network != NET_HOST) {
		mount_or_die("sysfs", "sys", "sysfs", ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			     ro ? "mount -t sysfs -o ro sysfs sys" : "mount -t sysfs sysfs sys");
		return;
	}
	mount_or_die("/sys", "sys", NULL, MS_BIND | MS_REC, NULL, "mount --rbind /sys sys");
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	narrate("mount_setattr(\"sys\", AT_RECURSIVE, MOUNT_ATTR_RDONLY)", "mount -o remount,bind,ro sys  # and below");
	if (!rc->privileged && syscall(SYS_mount_setattr, AT_FDCWD, "sys", AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		child_die("mount_setattr(sys, read-only): %m (needs Linux 5.12)");
}

/* mount_setattr(PATH, RDONLY); without it (see bind_volume_old_api) a remount of PATH's own mount,
 * keeping its nosuid/nodev/noexec (a user namespace may not clear them) */
int make_readonly(const char *path, int at_flags)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	struct statvfs sv;
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, at_flags, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS || statvfs(path, &sv) < 0)
		return -1;
	unsigned long keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
			     (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
	narrate("mount(\"%s\", MS_REMOUNT|MS_BIND|MS_RDONLY)", "mount -o remount,bind,ro %s  # (no mount_setattr here)",
		path);
	return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
}

/*
 * /sys/fs/cgroup: the container's own cgroup, read-only, as runc mounts it, so
 * that it can read its limits (cat /sys/fs/cgroup/memory.max). v2: a cgroup2
 * mount, whose root is the container's cgroup (we are in our cgroup namespace);
 * v1: a tmpfs with each hierarchy's directory of ours bound at its name.
 */
void mount_cgroup(const struct run_config *rc)
{
	const char *dirs[8];
	int v2, n = cgroup_own_dirs(dirs, 8, &v2);
	unsigned long ro = rc->privileged ? 0 : MS_RDONLY;
	if (n == 0) /* no cgroup of ours (rootless without delegation): sysfs's empty directory stays */
		return;
	if (v2) {
		mount_or_die("cgroup2", "sys/fs/cgroup", "cgroup2", ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			     ro ? "mount -t cgroup2 -o ro cgroup2 sys/fs/cgroup" : "mount -t cgroup2 cgroup2 sys/fs/cgroup");
		return;
	}
	mount_or_die("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755",
		     "mount -t tmpfs -o mode=755 tmpfs sys/fs/cgroup");
	for (int i = 0; i < n; i++) {
		/* /sys/fs/cgroup/HIERARCHY/...: bound at sys/fs/cgroup/HIERARCHY */
		const char *h = dirs[i] + strlen("/sys/fs/cgroup/");
		char name[64], dst[128];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(h, "/"), h);
		snprintf(dst, sizeof(dst), "sys/fs/cgroup/%s", name);
		if (mkdir(dst, 0555) < 0 && errno != EEXIST)
			child_die("mkdir %s: %m", dst);
		char shell[PATH_MAX + 160];
		snprintf(shell, sizeof(shell), "mount --bind %s %s", dirs[i], dst);
		mount_or_die(dirs[i], dst, NULL, MS_BIND, NULL, shell);
		if (ro && make_readonly(dst, 0) < 0)
			child_die("%s read-only: %m", dst);
	}
	if (ro && make_readonly("sys/fs/cgroup", 0) < 0)
		child_die("sys/fs/cgroup read-only: %m");
}

/* runc's and Docker's lists (REFERENCE.md) */
static const char *const runc_masked[] = {
	"proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats", "proc/timer_list",
	"proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap",
};
static const char *const runc_readonly[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"};

const char *mounts_masked(size_t i)
{
	return i < sizeof(runc_masked) / sizeof(runc_masked[0]) ? runc_masked[i] : NULL;
}

const char *mounts_readonly(size_t i)
{
	return i < sizeof(runc_readonly) / sizeof(runc_readonly[0]) ? runc_readonly[i] : NULL;
}

/* MASKED and READONLY: paths relative to the new root (runc's lists, or an OCI config's) */
void mask_paths(const char *const *masked, size_t n_masked, const char *const *readonly, size_t n_readonly)
{
	/* EXERCISE 05.5: hide what of /proc and /sys leaks the host, freeze what could change it (runc's lists)
	 * hint: what of /proc and /sys leaks the host? runc hides some paths and freezes others
	 * more: masked[]: a directory gets an empty read-only tmpfs over it (size=0), a file /dev/null
	 * more: bind-mounted on it (mount_or_die narrates; skip what lstat does not find). readonly[]: bind
	 * more: each onto itself (MS_BIND | MS_REC), then make_readonly(path, AT_RECURSIVE)
	 * tests: 05-run
	 * stub: (void)masked; (void)n_masked; (void)readonly; (void)n_readonly; child_die("TODO 05.5: mask /proc/kcore and friends, make /proc/sys read-only");
	 */
	for (size_t i = 0; i < n_masked; i++) {
		struct stat st;
		char shell[128];
		if (lstat(masked[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			snprintf(shell, sizeof(shell), "mount -t tmpfs -o ro tmpfs %s  # masked", masked[i]);
			mount_or_die("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0", shell);
		} else {
			snprintf(shell, sizeof(shell), "mount --bind /dev/null %s  # masked", masked[i]);
			mount_or_die("dev/null", masked[i], NULL, MS_BIND, NULL, shell);
		}
	}
	for (size_t i = 0; i < n_readonly; i++) {
		char shell[128];
		if (access(readonly[i], F_OK) < 0)
			continue;
		snprintf(shell, sizeof(shell), "mount --bind %s %s", readonly[i], readonly[i]);
		mount_or_die(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL, shell);
		narrate("mount_setattr(\"%s\", MOUNT_ATTR_RDONLY)", "mount -o remount,bind,ro %s", readonly[i]);
		/* a fresh proc: nothing is mounted below these, so the fallback's remount of one mount is enough */
		if (make_readonly(readonly[i], AT_RECURSIVE) < 0)
			child_die("read-only %s: %m", readonly[i]);
	}
	/* END EXERCISE */
}

void mounts_setup(const struct container *c, const struct run_config *rc)
{
	/* a proc mount shows the PID namespace of whoever mounts it (before pivot_root: see step 03) */
	mount_point("proc", 0555);
	mount_or_die("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		     "mount -t proc proc proc  # unshare --mount-proc");
	mount_dev(c);
	if (rc->privileged && !c->userns) {
		narrate("mknod each device of the host's /dev in dev/", "# --privileged: the host's devices, as Docker's");
		host_devices("/dev", 3);
	}
	mount_sys(c, rc);
	mount_cgroup(rc);
	int rootfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		child_die("open the rootfs: %m");
	for (int i = 0; i < rc->n_volumes; i++) {
		if (rc->volumes[i].tmpfs)
			tmpfs_volume(rootfd, &rc->volumes[i]);
		else
			bind_volume(rootfd, &rc->volumes[i]);
	}
	close(rootfd);
	if (!rc->privileged)
		mask_paths(runc_masked, sizeof(runc_masked) / sizeof(runc_masked[0]), runc_readonly,
			   sizeof(runc_readonly) / sizeof(runc_readonly[0]));
}

void mounts_finish(const struct run_config *rc)
{
	if (!rc->read_only)
		return;
	/* only "/" itself: the volumes, /dev, /proc ... are mounts of their own and stay as they are */
	narrate("mount_setattr(\"/\", MOUNT_ATTR_RDONLY)", "mount -o remount,bind,ro /");
	if (make_readonly("/", 0) < 0)
		child_die("--read-only: make / read-only: %m");
}
