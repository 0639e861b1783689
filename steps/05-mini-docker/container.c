/*
 * container.c: what a container leaves in the store, and `rm`.
 *
 *     ROOT/containers/ID/state.json   id, name, image, status, pid, exit code,
 *                                     its cgroups and veth (for rm after a crash)
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

#include "run.h"
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

static int name_ok(const char *n)
{
	if (!*n || strlen(n) > 100 || n[0] == '.' || n[0] == '-')
		return 0;
	for (const char *p = n; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

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
	char *link = xasprintf("%s/%s", names, c->name);
	free(names);
	if (symlink(c->id, link) < 0) {
		int e = errno;
		free(link);
		if (e == EEXIST)
			return md_fail(err, "the name %s is already in use by a container (mini-docker rm %s removes it)",
				       c->name, c->name);
		errno = e;
		return md_fail_errno(err, "symlink %s", c->name);
	}
	free(link);
	c->dir = xasprintf("%s/containers/%s", o->root, c->id);
	if (mkdir(c->dir, 0700) < 0) {
		md_fail_errno(err, "mkdir %s", c->dir);
		char *l = xasprintf("%s/containers/names/%s", o->root, c->name);
		unlink(l);
		free(l);
		return -1;
	}
	char created[32], engine[16], start[32];
	time_t now = time(NULL);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	/* who is making it: if that process is gone before it runs, ps says dead, not created */
	snprintf(engine, sizeof(engine), "%d", (int)getpid());
	proc_start_time(getpid(), start, sizeof(start));
	return container_state(c, err, "id", c->id, "name", c->name, "image", c->image ? c->image : "", "created",
			       created, "status", "created", "engine_pid", engine, "engine_start", start, NULL);
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

static void destroy_dir(const char *root, const char *id, const char *name, int volumes)
{
	char *dir = xasprintf("%s/containers/%s", root, id);
	char *state = xasprintf("%s/state.json", dir);
	json_t *j = json_load_file(state, 0, NULL);
	if (volumes)
		remove_listed(json_string_value(json_object_get(j, "anon_volumes")));
	cgroup_remove_dirs(json_string_value(json_object_get(j, "cgroups")));
	/* no veth to delete: the kernel destroyed it with the container's network namespace (and the
	 * name veth-boxN may belong to another container by now) */
	narrate("rm -r %s", "rm -rf %s", dir);
	/* under the state lock: an engine about to record the end waits, then sees the directory gone */
	int lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (lock >= 0 && flock(lock, LOCK_EX) < 0 && errno == EINTR)
		;
	rm_rf(dir);
	if (lock >= 0)
		close(lock);
	char *link = xasprintf("%s/containers/names/%s", root, name);
	char target[80];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n > 0 && (target[n] = 0, !strcmp(target, id)))
		unlink(link);
	free(link);
	json_decref(j);
	free(state);
	free(dir);
}

void container_destroy(struct container *c, const struct run_config *rc)
{
	(void)rc;
	destroy_dir(c->o->root, c->id, c->name, 1);
}
