/*
 * buildfs.c: the two instructions of a Dockerfile that write files, and so a layer.
 *
 *   RUN CMD         the stage's layers mounted with overlayfs under a fresh upper
 *                   dir; `mini-docker run --rm --rootfs THAT CMD` runs CMD in a
 *                   container (the run half, unchanged); the upper dir is the layer
 *   COPY SRC DEST   the same, with files of the context (or of another stage,
 *                   --from) written into the overlay by buildcopy.c
 *
 * Each is a step of the cache first (buildstate.c): a hit adds the cached layer
 * and runs nothing.
 *
 *     $ mount -t overlay overlay -o lowerdir=L2:L1,upperdir=U,workdir=W rootfs
 *     $ mini-docker run --rm --rootfs rootfs sh -c 'CMD'; umount rootfs   # U is the layer
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buildcopy.h"
#include "buildstate.h"
#include "narrate.h"

/*
 * The start of RUN and COPY: the step's key one further by KEY (buildstate.c), then its
 * layer from the cache (0: ST has it now, nothing to run) or, on a miss, the stage's
 * layers mounted writable at a new DIR/rootfs for the step to write in (1). -1: an error.
 */
static int cached_or_mounted(struct build *b, struct bstage *st, const char *key, char **dir, struct md_error *err)
{
	if (next_key(st, key, err) < 0)
		return -1;
	json_t *hit = cache_get(b, st);
	if (!hit)
		return stage_mount(b, st, 1, dir, err) < 0 ? -1 : 1;
	printf("--> Using cache %.12s\n", digest_hex(json_string_value(json_object_get(json_object_get(hit, "layer"), "digest"))));
	add_layer(st, hit);
	json_decref(hit);
	return 0;
}

/* the Env a RUN gets: the config's, and each ARG with a value that no ENV overrides (docker's way) */
static json_t *run_env(struct bstage *st)
{
	json_t *env = json_deep_copy(json_object_get(cfg(st), "Env")), *v;
	const char *k;
	if (!json_is_array(env)) {
		json_decref(env);
		env = json_array();
	}
	json_object_foreach(st->args, k, v)
	{
		if (!json_is_string(v))
			continue;
		size_t i, len = strlen(k);
		json_t *e;
		int shadowed = 0;
		json_array_foreach(env, i, e) shadowed |= !strncmp(json_string_value(e), k, len) && json_string_value(e)[len] == '=';
		if (!shadowed)
			json_array_append_new(env, json_sprintf("%s=%s", k, json_string_value(v)));
	}
	return env;
}

/*
 * The empty files and dirs `run` makes as mount points (/etc/hostname, /proc...) when the
 * image has none are not what the command wrote: they leave the upper dir before it is a layer.
 */
static const char *const mountpoints[] = {"etc/hostname", "etc/hosts", "etc/resolv.conf", "proc", "sys", "dev", "etc"};

#define N_MOUNTPOINTS (sizeof(mountpoints) / sizeof(mountpoints[0]))

static void mountpoints_seen(const char *rootfs, int *had)
{
	for (size_t i = 0; i < N_MOUNTPOINTS; i++) {
		char *p = xasprintf("%s/%s", rootfs, mountpoints[i]);
		struct stat st;
		had[i] = lstat(p, &st) == 0;
		free(p);
	}
}

static void mountpoints_drop(const char *upper, const int *had)
{
	for (size_t i = 0; i < N_MOUNTPOINTS; i++) {
		if (had[i])
			continue;
		char *p = xasprintf("%s/%s", upper, mountpoints[i]);
		struct stat st;
		if (lstat(p, &st) == 0 && ((S_ISREG(st.st_mode) && st.st_size == 0) || S_ISDIR(st.st_mode)))
			S_ISDIR(st.st_mode) ? rmdir(p) : unlink(p); /* rmdir: only when the command left it empty */
		free(p);
	}
}

/* `mini-docker run --rm --rootfs ROOTFS ... CMD`: the run half as it is, in our mount namespace */
static int run_in(struct build *b, struct bstage *st, const char *rootfs, json_t *cmd, struct md_error *err)
{
	json_t *env = run_env(st), *v;
	const char *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	const char *user = json_string_value(json_object_get(cfg(st), "User"));
	size_t n = 16 + 2 * json_array_size(env) + json_array_size(cmd), k = 0, i;
	char **argv = xcalloc(n, sizeof(char *));
	argv[k++] = "mini-docker";
	argv[k++] = "--root";
	argv[k++] = (char *)b->o->root;
	if (md_verbose)
		argv[k++] = "-v";
	argv[k++] = "run";
	argv[k++] = "--rm";
	argv[k++] = "--rootfs";
	argv[k++] = (char *)rootfs;
	argv[k++] = "--network";
	argv[k++] = (char *)b->network;
	json_array_foreach(env, i, v)
	{
		argv[k++] = "-e";
		argv[k++] = (char *)json_string_value(v);
	}
	if (wd && *wd)
		argv[k++] = "-w", argv[k++] = (char *)wd;
	if (user && *user)
		argv[k++] = "-u", argv[k++] = (char *)user;
	argv[k++] = "--";
	json_array_foreach(cmd, i, v) argv[k++] = (char *)json_string_value(v);
	fflush(stdout);
	fflush(stderr);
	int status = -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* a build killed takes its RUN along: run passes the SIGTERM on and removes the container */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
			_exit(EXIT_ENGINE);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "mini-docker: build: exec /proc/self/exe: %m\n");
		_exit(EXIT_ENGINE);
	}
	if (pid < 0)
		md_fail_errno(err, "fork");
	else
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	free(argv);
	json_decref(env);
	if (pid < 0)
		return -1;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code != 0)
		return md_fail(err, "the command returned a non-zero code: %d", code);
	return 0;
}

int build_run(struct build *b, struct bstage *st, struct df_instr *in, struct md_error *err)
{
	for (int i = 0; i < in->n_flags; i++) {
		const char *f = in->flags[i], *v = f + 10;
		if (strncmp(f, "--network=", 10))
			return md_fail(err, "RUN %s: not supported here (RUN --network=none|host|bridge is)", f);
		if (strcmp(v, "none") && strcmp(v, "host") && strcmp(v, "bridge"))
			return md_fail(err, "RUN %s: use none, host or bridge", f);
	}
	json_t *cmd = command_of(st, in), *env = run_env(st);
	char *argtext = json_dumps(cmd, JSON_COMPACT), *envtext = json_dumps(env, JSON_COMPACT);
	const char *user = json_string_value(json_object_get(cfg(st), "User"));
	const char *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	char *key = xasprintf("RUN %s env=%s user=%s workdir=%s", argtext, envtext, user ? user : "",
			      wd ? wd : "");
	char *created_by = in->json ? xasprintf("RUN %s", argtext) : xasprintf("RUN %s", in->args);
	char *dir = NULL, *rootfs = NULL, *upper = NULL;
	const char *net = b->network;
	int rc = -1, mounted = 0, had[N_MOUNTPOINTS];
	free(envtext);
	json_decref(env);
	for (int i = 0; i < in->n_flags; i++)
		b->network = in->flags[i] + 10;
	int go = cached_or_mounted(b, st, key, &dir, err);
	if (go <= 0) {
		rc = go;
		goto out;
	}
	mounted = 1;
	rootfs = xasprintf("%s/rootfs", dir);
	upper = xasprintf("%s/upper", dir);
	mountpoints_seen(rootfs, had);
	if (run_in(b, st, rootfs, cmd, err) < 0)
		goto out;
	stage_umount(dir);
	mounted = 0;
	mountpoints_drop(upper, had);
	rc = commit_layer(b, st, upper, created_by, err);
out:
	b->network = net;
	if (mounted)
		stage_umount(dir);
	if (dir)
		rm_rf(dir);
	free(dir);
	free(rootfs);
	free(upper);
	free(key);
	free(created_by);
	free(argtext);
	json_decref(cmd);
	return rc;
}

/* COPY/ADD [--chown=U[:G]] [--from=STAGE|IMAGE] SRC... DEST */
int build_copy(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n,
		   struct md_error *err)
{
	const char *from = NULL, *chown = NULL;
	char **list = in->json ? in->argv : words;
	int count = in->json ? in->argc : n, rc = -1, mounted_from = 0, mounted = 0;
	char *from_dir = NULL, *dir = NULL, *dest = NULL, *key = NULL, *srcs_text = NULL;
	struct bstage image_stage = {0}, *src_stage = NULL;
	struct copy_job j = {.ctxfd = b->ctxfd, .ctxname = "the build context", .ignore = b->ignore, .o = b->o,
			     .add = !strcmp(in->cmd, "ADD")};
	for (int i = 0; i < in->n_flags; i++) {
		if (!strncmp(in->flags[i], "--from=", 7) && j.add == 0)
			from = in->flags[i] + 7;
		else if (!strncmp(in->flags[i], "--chown=", 8))
			chown = in->flags[i] + 8;
		else if (!strncmp(in->flags[i], "--chmod=", 8) || !strncmp(in->flags[i], "--link", 6))
			return md_fail(err, "%s %s is not supported here (--chown and COPY --from are)", in->cmd, in->flags[i]);
		else
			return md_fail(err, "%s: unknown flag %s", in->cmd, in->flags[i]);
	}
	if (count < 2)
		return md_fail(err, "%s needs a source and a destination: %s SRC... DEST", in->cmd, in->cmd);
	const char *d = list[count - 1], *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	dest = d[0] == '/' ? xstrdup(d) : xasprintf("%s/%s", wd && *wd ? wd : "", d);
	j.srcs = list;
	j.n_srcs = count - 1;
	j.dest = dest;
	j.dest_dir = d[strlen(d) - 1] == '/' || count > 2;
	j.chown = chown;
	if (from) {
		/* another stage's rootfs (or an image's), mounted read-only: the sources are looked up there */
		src_stage = find_stage(b, from);
		if (src_stage == st)
			return md_fail(err, "COPY --from=%s names the stage being built", from);
		if (!src_stage) {
			json_t *m = NULL;
			if (load_image(b, from, &m, &image_stage.config, err) < 0)
				goto out;
			json_decref(m);
			src_stage = &image_stage;
		}
		if (stage_mount(b, src_stage, 0, &from_dir, err) < 0)
			goto out;
		mounted_from = 1;
		char *r = xasprintf("%s/rootfs", from_dir);
		j.ctxfd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
		free(r);
		if (j.ctxfd < 0) {
			md_fail_errno(err, "open stage %s", from);
			goto out;
		}
		j.ctxname = from;
		j.ignore = NULL;
	}
	char hash[DIGEST_LEN];
	if (copy_hash(&j, hash, err) < 0)
		goto out;
	srcs_text = xstrdup("");
	for (int i = 0; i < j.n_srcs; i++) {
		char *t = xasprintf("%s%s%s", srcs_text, i ? " " : "", list[i]);
		free(srcs_text);
		srcs_text = t;
	}
	key = xasprintf("%s %s %s chown=%s from=%s files=%s", in->cmd, srcs_text, dest, chown ? chown : "",
			from ? from : "", hash);
	int go = cached_or_mounted(b, st, key, &dir, err);
	if (go <= 0) {
		rc = go;
		goto out;
	}
	mounted = 1;
	char *rootfs = xasprintf("%s/rootfs", dir);
	rc = copy_run(&j, rootfs, err);
	free(rootfs);
	if (rc < 0)
		goto out;
	stage_umount(dir);
	mounted = 0;
	char *upper = xasprintf("%s/upper", dir);
	char *created_by = xasprintf("%s %s%s%s%s", in->cmd, from ? "--from=" : "", from ? from : "", from ? " " : "",
				     in->args);
	rc = commit_layer(b, st, upper, created_by, err);
	free(created_by);
	free(upper);
out:
	if (mounted)
		stage_umount(dir);
	if (dir)
		rm_rf(dir);
	if (mounted_from)
		stage_umount(from_dir);
	if (from_dir)
		rm_rf(from_dir);
	if (from && j.ctxfd >= 0 && j.ctxfd != b->ctxfd)
		close(j.ctxfd);
	if (src_stage == &image_stage)
		json_decref(image_stage.config);
	free(from_dir);
	free(dir);
	free(dest);
	free(key);
	free(srcs_text);
	return rc;
}
