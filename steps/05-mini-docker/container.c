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
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
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
	char created[32];
	time_t now = time(NULL);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	return container_state(c, err, "id", c->id, "name", c->name, "image", c->image ? c->image : "", "created",
			       created, "status", "created", NULL);
}

int container_state(struct container *c, struct md_error *err, ...)
{
	char *path = xasprintf("%s/state.json", c->dir);
	json_t *j = json_load_file(path, 0, NULL);
	va_list ap;
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	va_start(ap, err);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		json_object_set_new(j, k, json_string(v ? v : ""));
	}
	va_end(ap);
	char *text = json_dumps(j, JSON_INDENT(2));
	int rc = write_file_atomic(path, text, strlen(text), err);
	free(text);
	free(path);
	json_decref(j);
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
	narrate("rm -r %s", "rm -rf %s", dir, dir);
	rm_rf(dir);
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

/* The ID for NAME, a full ID, or a unique ID prefix. */
static int find(const char *root, const char *what, char id[65], struct md_error *err)
{
	char *link = xasprintf("%s/containers/names/%s", root, what);
	ssize_t n = readlink(link, id, 64);
	free(link);
	if (n > 0) {
		id[n] = 0;
		return 0;
	}
	char *dir = xasprintf("%s/containers", root);
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d))) {
		if (strlen(e->d_name) != 64 || strncmp(e->d_name, what, strlen(what)))
			continue;
		if (found++)
			break;
		snprintf(id, 65, "%s", e->d_name);
	}
	if (d)
		closedir(d);
	free(dir);
	if (found == 1 && strlen(what) >= 3)
		return 0;
	return md_fail(err, found > 1 ? "%s: more than one container has an ID starting so: give more of it"
				     : "no such container: %s", what);
}

static int alive(json_t *j)
{
	int pid = atoi(json_string_value(json_object_get(j, "pid")) ?: "0");
	const char *start = json_string_value(json_object_get(j, "pid_start"));
	char path[64], buf[1024];
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* field 22, starttime: the same PID may be another process now */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p && start && atoll(p + 1) == atoll(start) ? pid : 0;
}

int cmd_rm(const struct md_opts *o, int argc, char **argv)
{
	int force = 0, volumes = 0, rc = 0, i;
	struct md_error err;
	md_verbose = o->verbose;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'f')
				force = 1;
			else if (*p == 'v')
				volumes = 1;
			else if (!strcmp(argv[i], "--force"))
				force = 1, p = " ";
			else if (!strcmp(argv[i], "--volumes"))
				volumes = 1, p = " ";
			else {
				fprintf(stderr, "mini-docker: usage: mini-docker rm [-f] [-v] CONTAINER...\n");
				return EXIT_ENGINE;
			}
			if (*p == ' ')
				break;
		}
	}
	if (i == argc) {
		fprintf(stderr, "mini-docker: usage: mini-docker rm [-f] [-v] CONTAINER...\n");
		return EXIT_ENGINE;
	}
	for (; i < argc; i++) {
		char id[65];
		if (find(o->root, argv[i], id, &err) < 0) {
			fprintf(stderr, "mini-docker: %s\n", err.msg);
			rc = 1;
			continue;
		}
		char *state = xasprintf("%s/containers/%s/state.json", o->root, id);
		json_t *j = json_load_file(state, 0, NULL);
		free(state);
		int pid = alive(j);
		if (pid && !force) {
			fprintf(stderr, "mini-docker: container %s is running: stop it first, or rm -f kills it\n", argv[i]);
			json_decref(j);
			rc = 1;
			continue;
		}
		if (pid) {
			narrate("kill(%d, SIGKILL)", "kill -9 %d", pid, pid);
			kill(pid, SIGKILL);
			for (int k = 0; k < 100 && kill(pid, 0) == 0; k++)
				usleep(20000);
		}
		const char *name = json_string_value(json_object_get(j, "name"));
		char *n = xstrdup(name ? name : "");
		json_decref(j);
		destroy_dir(o->root, id, n, volumes);
		free(n);
		printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_ps(const struct md_opts *o, int argc, char **argv)
{
	int all = argc > 1 && (!strcmp(argv[1], "-a") || !strcmp(argv[1], "--all"));
	char *dir = xasprintf("%s/containers", o->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	printf("%-12s  %-28s  %-10s  %s\n", "CONTAINER ID", "IMAGE", "STATUS", "NAMES");
	while (d && (e = readdir(d))) {
		if (strlen(e->d_name) != 64)
			continue;
		char *state = xasprintf("%s/%s/state.json", dir, e->d_name);
		json_t *j = json_load_file(state, 0, NULL);
		free(state);
		int up = alive(j);
		const char *st = up ? "running" : json_string_value(json_object_get(j, "status"));
		char status[64];
		if (st && !strcmp(st, "exited"))
			snprintf(status, sizeof(status), "exited(%s)", json_string_value(json_object_get(j, "exit_code")) ?: "?");
		else
			snprintf(status, sizeof(status), "%s", up ? "running" : "stopped");
		if (up || all)
			printf("%.12s  %-28.28s  %-10s  %s\n", e->d_name, json_string_value(json_object_get(j, "image")) ?: "",
			       status, json_string_value(json_object_get(j, "name")) ?: "");
		json_decref(j);
	}
	if (d)
		closedir(d);
	free(dir);
	return 0;
}
