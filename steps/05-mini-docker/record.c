/*
 * record.c: what a container leaves in the store, and `rm`.
 *
 *     ROOT/containers/ID/state.json   id, name, image, status, pid, exit code,
 *                                     its cgroups and veth (for rm after a crash)
 *     ROOT/containers/ID/spare        room kept for the last state.json on a full disk
 *     ROOT/containers/ID/upper, work  overlayfs: the container's own writes
 *     ROOT/containers/ID/rootfs       where the overlay is mounted (in the
 *                                     container's mount namespace only), or the copy
 *     ROOT/containers/names/NAME      a symlink to ID: the name is taken
 *     ROOT/volumes/NAME/_data         named (and anonymous) volumes
 *
 * Mounts are made inside the container's own mount namespace, so they vanish
 * with it, even when mini-docker is killed; what may outlive a killed engine
 * is on disk (the directory above), a cgroup and a veth: `mini-docker rm`
 * removes them, reading state.json.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "container.h"
#include "narrate.h"
#include "record.h"
#include "state.h"
#include "util.h"

void random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		for (size_t i = 0; i < nbytes; i++) /* getrandom cannot fail for 64 bytes; still */
			b[i] = (unsigned char)(rand() ^ getpid() ^ time(NULL));
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* docker's rule (util.c), at most 100 characters */
static int name_ok(const char *n)
{
	return strlen(n) <= 100 && docker_name_ok(n);
}

/* ROOT/containers/.new-PID-ID: a record PID is making; left over once PID is gone (killed) */
void containers_sweep_new(const struct md_opts *o)
{
	char *dir = xasprintf("%s/containers", o->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	int pid;
	while (d && (e = readdir(d)))
		if (sscanf(e->d_name, ".new-%d-", &pid) == 1 && pid > 0 && kill(pid, 0) < 0 && errno == ESRCH) {
			narrate("rm -r %s/%s", "rm -rf %s/%s  # its engine was killed", dir, e->d_name);
			rm_rf_at(dirfd(d), e->d_name);
		}
	if (d)
		closedir(d);
	free(dir);
}

/*
 * ROOT/containers/ID/spare: 64 KiB set aside for the record's last word. The
 * container's upper dir is on the same disk: when it fills it, the monitor must
 * still write how the container ended (else ps says Dead, not Exited). state.c
 * gives these blocks back when a write of state.json finds the disk full.
 */
static void reserve_spare(const char *dir)
{
	char *path = xasprintf("%s/%s", dir, STATE_SPARE);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 && posix_fallocate(fd, 0, 64 << 10) != 0)
		unlink(path); /* no room even now: the record goes without */
	if (fd >= 0)
		close(fd);
	free(path);
}

/* NAME's link aims at a container that is not there: left by a crash, never by a live run or rm */
static int name_dangling(const struct md_opts *o, const char *link)
{
	char target[80];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	char *dir = xasprintf("%s/containers/%s", o->root, target);
	int gone = access(dir, F_OK) < 0 && errno == ENOENT;
	free(dir);
	return gone;
}

/*
 * The record is made whole under a temporary name, then renamed into place, and
 * the name is taken last: a container is listed (ps, rm, prune) only with its
 * state.json, and named only once it is listed. A kill at any moment leaves
 * nothing listed (the next create or prune removes the temporary directory), or
 * a record that names the process making it (ps -a: Dead; rm and prune clean it).
 * rm takes the name away before the directory, so a name never outlives its record.
 */
int container_create(struct container *c, const struct md_opts *o, const char *name, struct md_error *err)
{
	char *names = xasprintf("%s/containers/names", o->root);
	c->o = o;
	random_hex(c->id, 32);
	/* ids that look like numbers would be confused with short ids: docker avoids them too */
	if (strspn(c->id, "0123456789") >= 12)
		c->id[0] = 'a';
	if (name && !name_ok(name)) {
		free(names);
		return md_fail(err, "--name '%s': use letters, digits, _ . - (not first)", name);
	}
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	if (!name)
		snprintf(c->name, sizeof(c->name), "md_%.12s", c->id);
	if (mkdir_p(names, 0700, err) < 0) {
		free(names);
		return md_context(err, "the container store under %s", o->root);
	}
	containers_sweep_new(o);
	char created[32], engine[16], start[32];
	time_t now = time(NULL);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	/* who is making it: if that process is gone before it runs, ps says dead, not created */
	snprintf(engine, sizeof(engine), "%d", (int)getpid());
	proc_start_time(getpid(), start, sizeof(start));
	/* image_id and layers: what it needs of the store, from the start (rmi refuses, gc keeps them) */
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", c->id, "name", c->name, "image",
			      c->image ? c->image : "", "image_id", c->image_id ? c->image_id : "", "layers",
			      c->lower ? c->lower : "", "created", created, "status", "created", "engine_pid", engine,
			      "engine_start", start);
	char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	char *tmp = xasprintf("%s/containers/.new-%d-%s", o->root, (int)getpid(), c->id);
	char *state = xasprintf("%s/state.json", tmp);
	c->dir = xasprintf("%s/containers/%s", o->root, c->id);
	int rc = mkdir(tmp, 0700) < 0 ? md_fail_errno(err, "mkdir %s", tmp) : write_file_replace(state, text, strlen(text), err);
	if (rc == 0)
		reserve_spare(tmp);
	if (rc == 0)
		test_pause("record", getpid());
	if (rc == 0 && rename(tmp, c->dir) < 0)
		rc = md_fail_errno(err, "rename %s %s", tmp, c->dir);
	if (rc < 0)
		rm_rf(tmp);
	free(text);
	free(state);
	free(tmp);
	if (rc < 0) {
		free(names);
		return -1;
	}
	/* symlink(2) fails when the name exists: of two runs with one name, one gets it */
	char *link = xasprintf("%s/%s", names, c->name);
	free(names);
	while (symlink(c->id, link) < 0) {
		int e = errno;
		if (e == EEXIST && name_dangling(o, link) && unlink(link) == 0)
			continue;
		free(link);
		rm_rf(c->dir);
		if (e == EEXIST)
			return md_fail(err, "the name %s is already in use by a container (mini-docker rm %s removes it)",
				       c->name, c->name);
		errno = e;
		return md_fail_errno(err, "symlink %s", c->name);
	}
	free(link);
	return 0;
}

/*
 * store_gc's question (store.c): the layers the containers of the store still use.
 * rmi -f of an image a container runs from takes the name away, not the files
 * under the container: they go with a later rmi or prune, once it is removed.
 */
void containers_keep_layers(const struct md_opts *o, json_t *keep)
{
	int n = 0;
	char **ids = state_list(o, &n);
	for (int i = 0; i < n; i++) {
		json_t *j = state_load(o, ids[i]);
		char *layers = xstrdup(state_str(j, "layers")), *save, *l;
		for (l = strtok_r(layers, ":", &save); l; l = strtok_r(NULL, ":", &save))
			json_object_set_new(keep, l, json_true());
		free(layers);
		json_decref(j);
		free(ids[i]);
	}
	free(ids);
}

/* A container whose image is ID (a config digest): 1 and its id in USER when one runs or is being made, 2 when
 * one exists that does not run, 0 when none */
int containers_using_image(const struct md_opts *o, const char *image_id, char user[65])
{
	int n = 0, found = 0;
	char **ids = state_list(o, &n);
	for (int i = 0; i < n; i++) {
		json_t *j = state_load(o, ids[i]);
		pid_t pid = 0;
		if (j && !strcmp(state_str(j, "image_id"), image_id)) {
			const char *st = state_status(j, &pid);
			int running = pid || !strcmp(st, "created");
			if (!found || (running && found == 2)) {
				found = running ? 1 : 2;
				snprintf(user, 65, "%s", ids[i]);
			}
		}
		json_decref(j);
		free(ids[i]);
	}
	free(ids);
	return found;
}

/* state.json of the container, under its lock, as every writer does (state.c) */
int container_state(struct container *c, struct md_error *err, ...)
{
	va_list ap;
	va_start(ap, err);
	int rc = state_vset(c->o, c->id, err, ap);
	va_end(ap);
	return rc;
}

/* Anonymous volumes are listed in state.json as "anon_volumes": "DIR DIR ...". */
static void remove_listed(const char *list)
{
	char *copy = xstrdup(list ? list : ""), *save, *p;
	for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save))
		rm_rf(p);
	free(copy);
}

static void destroy_dir(const char *root, const char *id, int volumes)
{
	char *dir = xasprintf("%s/containers/%s", root, id);
	char *state = xasprintf("%s/state.json", dir);
	json_t *j = json_load_file(state, 0, NULL);
	if (volumes)
		remove_listed(json_string_value(json_object_get(j, "anon_volumes")));
	cgroup_remove_dirs(json_string_value(json_object_get(j, "cgroups")));
	/* no veth to delete: the kernel destroyed it with the container's network namespace (and the
	 * name veth-boxN may belong to another container by now) */
	/* the name first: killed after it, rm leaves a record that ps still lists, never a name
	 * taken by nothing. Every name aimed at ID, whatever state.json says (it may be lost). */
	char *names = xasprintf("%s/containers/names", root);
	DIR *d = opendir(names);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char target[80];
		ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = 0, !strcmp(target, id)))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	free(names);
	narrate("rm -r %s", "rm -rf %s", dir);
	/* under the state lock: an engine about to record the end waits, then sees the directory gone */
	int lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (lock >= 0 && flock(lock, LOCK_EX) < 0 && errno == EINTR)
		;
	if (rm_rf(dir) < 0) /* any depth: rm_rf holds two descriptors, not one per level */
		fprintf(stderr, "mini-docker: could not remove all of %s: %s (remove what is left by hand)\n", dir,
			strerror(errno));
	if (lock >= 0)
		close(lock);
	json_decref(j);
	free(state);
	free(dir);
}

void container_destroy(struct container *c, const struct run_config *rc)
{
	(void)rc;
	destroy_dir(c->o->root, c->id, 1);
}
