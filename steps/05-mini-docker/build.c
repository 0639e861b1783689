/*
 * build.c: mini-docker build [-t NAME[:TAG]]... [-f FILE] [--build-arg K=V]...
 *                            [--no-cache] [--target STAGE] [--network none|host] CONTEXT
 *
 *     $ docker build -t rantune .          # the slides: a Dockerfile becomes an image
 *
 * A Dockerfile is a list of instructions, each applied to the image the ones
 * before it made. Docker's first builder did exactly what this file does, step
 * by step, with the engine's own parts:
 *
 *   FROM busybox        the state starts as that image: its config and layers
 *                       (pulled when missing; `scratch`: no layer at all)
 *   ENV, WORKDIR, USER, CMD, ENTRYPOINT, LABEL, EXPOSE, VOLUME, STOPSIGNAL,
 *   SHELL, ARG          change the config only (history says "empty_layer")
 *   RUN CMD             the layers mounted with overlayfs and a fresh upper
 *                       dir on top; `mini-docker run --rm --rootfs THAT CMD`
 *                       runs CMD in a container (namespaces, cgroup, seccomp:
 *                       the run half, unchanged); what CMD wrote is the upper
 *                       dir, and the upper dir becomes the new layer (layer.c:
 *                       a tar with whiteouts, gzip, digest, DiffID)
 *   COPY SRC DEST       the same, with the files of the context written into
 *                       the overlay instead of a command (buildcopy.c)
 *
 * Each layer goes into the store as pull puts one there (blob, then the layer
 * unpacked under ROOT/layers/CHAINID), so the next RUN stands on exactly what
 * a puller of the image will get. At the end the config (with its history)
 * and an OCI manifest are committed, the names last (image.c: image_commit).
 *
 * The cache: every step has a key, sha256 of the key before it and of what
 * the step does (its instruction after variables, the ARG values, for COPY the
 * sha256 of the files). ROOT/build-cache/KEY keeps what the step made (its
 * layer, its history entry). A step whose key is there is not run again
 * ("Using cache"); a build whose every step hits makes the same image, to the
 * byte. gc keeps what the cache names (store.c); system prune empties it.
 *
 * Here: the command line, the Dockerfile read and its steps in order, FROM,
 * ARG and the instructions that change the config only. RUN and COPY are
 * buildfs.c's; the state, the cache and the commits buildstate.c's.
 *
 * The build runs in a mount namespace of its own: each overlay it mounts goes
 * away with it, even when it is killed. A failed step (a RUN that exits 1, a
 * COPY of nothing) stops the build with the Dockerfile's line, and nothing is
 * named: the layers made so far stay only as cache.
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
#include <unistd.h>

#include "build.h"
#include "buildstate.h"
#include "image.h"
#include "opts.h"
#include "ref.h"
#include "store.h"

/* --- the instructions ---------------------------------------------------------------------- */

static void host_platform_into(json_t *config)
{
	json_object_set_new(config, "os", json_string("linux"));
#if defined(__x86_64__)
	json_object_set_new(config, "architecture", json_string("amd64"));
#elif defined(__aarch64__)
	json_object_set_new(config, "architecture", json_string("arm64"));
#else
	json_object_set_new(config, "architecture", json_string("unknown"));
#endif
}

/* FROM IMAGE|scratch|STAGE [AS NAME] */
static int do_from(struct build *b, struct df_instr *in, char **words, int n, struct md_error *err)
{
	if (n != 1 && !(n == 3 && !strcasecmp(words[1], "AS")))
		return md_fail(err, "FROM takes IMAGE [AS NAME], not '%s'", in->args);
	if (b->n_stages == MAX_STAGES)
		return md_fail(err, "more than %d stages", MAX_STAGES);
	struct bstage *st = &b->stages[b->n_stages], *from = find_stage(b, words[0]);
	memset(st, 0, sizeof(*st));
	st->name = n == 3 ? xstrdup(words[2]) : NULL;
	st->args = json_object();
	st->layers = json_array();
	b->n_stages++;
	if (from) {
		st->config = json_deep_copy(from->config);
		json_array_extend(st->layers, from->layers);
		memcpy(st->key, from->key, sizeof(st->key));
		memcpy(st->created, from->created, sizeof(st->created));
		return 0;
	}
	if (!strcmp(words[0], "scratch")) {
		st->config = json_pack("{s:{},s:{s:s,s:[]},s:[]}", "config", "rootfs", "type", "layers", "diff_ids",
				       "history");
		host_platform_into(st->config);
		return sha256_buf("scratch", 7, st->key, err);
	}
	json_t *m = NULL, *c = NULL;
	if (load_image(b, words[0], &m, &c, err) < 0)
		return -1;
	st->config = c;
	json_array_extend(st->layers, json_object_get(m, "layers"));
	json_decref(m);
	/* its config digest is the image: the key every step above it builds on */
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = sha256_buf(text, strlen(text), st->key, err);
	free(text);
	const char *t = json_string_value(json_object_get(c, "created"));
	snprintf(st->created, sizeof(st->created), "%s", t ? t : "");
	return rc;
}

/* ENV K=V K2="v 2" | ENV K the rest; LABEL K=V...: into LIST as "K=V" (ENV) or OBJECT's keys (LABEL) */
static int do_env_label(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n,
			struct md_error *err)
{
	int label = !strcmp(in->cmd, "LABEL");
	json_t *c = cfg(st);
	if (n >= 1 && !strchr(words[0], '=')) { /* the old form: ENV K V V */
		if (label)
			return md_fail(err, "LABEL takes KEY=VALUE pairs");
		const char *rest = in->args + strcspn(in->args, " \t");
		rest += strspn(rest, " \t");
		int nv;
		char **vars = stage_vars(b, st, &nv);
		char *v = dockerfile_word(rest, b->df.escape, vars, nv, err);
		vars_free(vars, nv);
		if (!v)
			return -1;
		char *kv = xasprintf("%s=%s", words[0], v);
		free(v);
		words = (char *[]){kv, NULL};
		n = 1;
		int rc = do_env_label(b, st, in, words, n, err);
		free(kv);
		return rc;
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(words[i], '=');
		if (!eq || eq == words[i])
			return md_fail(err, "%s %s: give KEY=VALUE", in->cmd, words[i]);
		*eq = 0;
		if (label) {
			json_t *l = json_object_get(c, "Labels");
			if (!json_is_object(l)) {
				l = json_object();
				json_object_set_new(c, "Labels", l);
			}
			json_object_set_new(l, words[i], json_string(eq + 1));
			continue;
		}
		json_t *env = json_object_get(c, "Env"), *e;
		size_t k, len = strlen(words[i]);
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(c, "Env", env);
		}
		char *kv = xasprintf("%s=%s", words[i], eq + 1);
		int replaced = 0;
		json_array_foreach(env, k, e)
		{
			const char *s = json_string_value(e);
			if (s && !strncmp(s, words[i], len) && s[len] == '=') {
				json_array_set_new(env, k, json_string(kv));
				replaced = 1;
				break;
			}
		}
		if (!replaced)
			json_array_append_new(env, json_string(kv));
		free(kv);
	}
	return 0;
}

/* ARG NAME[=DEFAULT]...: declared in the stage, valued by --build-arg, else the default (or the global one) */
static int do_arg(struct build *b, struct bstage *st, char **words, int n, struct md_error *err)
{
	json_t *into = st ? st->args : b->global_args;
	for (int i = 0; i < n; i++) {
		char *eq = strchr(words[i], '=');
		if (eq)
			*eq = 0;
		const char *def = eq ? eq + 1 : NULL;
		if (!def && st && json_is_string(json_object_get(b->global_args, words[i])))
			def = json_string_value(json_object_get(b->global_args, words[i]));
		if (!*words[i])
			return md_fail(err, "ARG needs a NAME");
		json_t *v = arg_value(b, words[i], def);
		json_object_set_new(into, words[i], v);
		if (st) {
			/* the value is part of what follows: another --build-arg, another cache key */
			char *text = xasprintf("ARG %s=%s", words[i], json_is_string(v) ? json_string_value(v) : "(none)");
			int rc = next_key(st, text, err);
			free(text);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, SHELL, MAINTAINER */
static int do_config(struct build *b, struct bstage *st, struct df_instr *in, char **words, int n,
		     struct md_error *err)
{
	json_t *c = cfg(st);
	const char *k = in->cmd;
	(void)b;
	if (!strcmp(k, "CMD") || !strcmp(k, "ENTRYPOINT")) {
		json_object_set_new(c, !strcmp(k, "CMD") ? "Cmd" : "Entrypoint", command_of(st, in));
		if (!strcmp(k, "ENTRYPOINT")) /* as docker: a new ENTRYPOINT drops the CMD it inherited */
			json_object_set_new(c, "Cmd", json_null());
	} else if (!strcmp(k, "SHELL")) {
		if (!in->json)
			return md_fail(err, "SHELL takes the JSON form: SHELL [\"/bin/sh\", \"-c\"]");
		json_object_set_new(c, "Shell", command_of(st, in));
	} else if (!strcmp(k, "WORKDIR") || !strcmp(k, "USER") || !strcmp(k, "STOPSIGNAL")) {
		if (n != 1)
			return md_fail(err, "%s takes one value, not '%s'", k, in->args);
		const char *key = !strcmp(k, "WORKDIR") ? "WorkingDir" : !strcmp(k, "USER") ? "User" : "StopSignal";
		char *v = xstrdup(words[0]);
		if (!strcmp(k, "WORKDIR") && v[0] != '/') { /* relative to the one before */
			const char *was = json_string_value(json_object_get(c, "WorkingDir"));
			char *abs = xasprintf("%s/%s", was && *was ? was : "", v);
			free(v);
			v = abs;
		}
		json_object_set_new(c, key, json_string(v));
		free(v);
	} else if (!strcmp(k, "EXPOSE") || !strcmp(k, "VOLUME")) {
		const char *key = !strcmp(k, "EXPOSE") ? "ExposedPorts" : "Volumes";
		json_t *o = json_object_get(c, key);
		if (!json_is_object(o)) {
			o = json_object();
			json_object_set_new(c, key, o);
		}
		for (int i = 0; i < (in->json ? in->argc : n); i++) {
			const char *w = in->json ? in->argv[i] : words[i];
			char *name = !strcmp(key, "ExposedPorts") && !strchr(w, '/') ? xasprintf("%s/tcp", w) : xstrdup(w);
			if (!strcmp(key, "Volumes") && name[0] != '/') {
				free(name);
				return md_fail(err, "VOLUME %s: give an absolute path", w);
			}
			json_object_set_new(o, name, json_object());
			free(name);
		}
	} else if (!strcmp(k, "MAINTAINER")) {
		json_t *l = json_object_get(c, "Labels");
		if (!json_is_object(l)) {
			l = json_object();
			json_object_set_new(c, "Labels", l);
		}
		json_object_set_new(l, "maintainer", json_string(in->args));
	}
	return 0;
}

/* the words of IN with the stage's variables expanded (docker expands these instructions' words) */
static int expand_words(struct build *b, struct bstage *st, struct df_instr *in, char ***words, int *n,
			struct md_error *err)
{
	int nv = 0;
	char **vars = st ? stage_vars(b, st, &nv) : NULL;
	if (!st) { /* before the first FROM: the global ARGs */
		const char *k;
		json_t *v;
		vars = xcalloc(json_object_size(b->global_args) + 1, sizeof(char *));
		json_object_foreach(b->global_args, k, v) if (json_is_string(v)) vars[nv++] = xasprintf("%s=%s", k, json_string_value(v));
	}
	int rc = dockerfile_words(in->args, b->df.escape, vars, nv, words, n, err);
	vars_free(vars, nv);
	return rc;
}

static int single_word(const char *k)
{
	return !strcmp(k, "WORKDIR") || !strcmp(k, "USER") || !strcmp(k, "STOPSIGNAL");
}

/* the same for an instruction that takes one word: WORDS = {the word, NULL} */
static int expand_word(struct build *b, struct bstage *st, struct df_instr *in, char ***words, struct md_error *err)
{
	int nv = 0;
	char **vars = stage_vars(b, st, &nv);
	char *w = dockerfile_word(in->args, b->df.escape, vars, nv, err);
	vars_free(vars, nv);
	if (!w)
		return -1;
	*words = xcalloc(2, sizeof(char *));
	(*words)[0] = w;
	return 0;
}

static int step(struct build *b, struct df_instr *in, struct md_error *err)
{
	const char *k = in->cmd;
	struct bstage *st = b->n_stages ? &b->stages[b->n_stages - 1] : NULL;
	char **words = NULL;
	int n = 0, rc = -1;
	int raw = !strcmp(k, "RUN") || !strcmp(k, "CMD") || !strcmp(k, "ENTRYPOINT") || !strcmp(k, "SHELL") ||
		  !strcmp(k, "MAINTAINER") || in->json;
	if (!strcmp(k, "FROM")) { /* a FROM sees only the global ARGs */
		if (expand_words(b, NULL, in, &words, &n, err) < 0)
			return -1;
		rc = do_from(b, in, words, n, err);
		goto out;
	}
	if (!st && strcmp(k, "ARG"))
		return md_fail(err, "%s before FROM: only ARG may come first", k);
	if (!raw && single_word(k)) { /* WORKDIR /my dir: one word, spaces and all */
		if (expand_word(b, st, in, &words, err) < 0)
			return -1;
		n = 1;
	} else if (!raw && expand_words(b, st, in, &words, &n, err) < 0)
		return -1;
	if (!strcmp(k, "ARG")) {
		rc = do_arg(b, st, words, n, err);
		goto out;
	}
	if (!strcmp(k, "RUN"))
		rc = build_run(b, st, in, err);
	else if (!strcmp(k, "COPY") || !strcmp(k, "ADD"))
		rc = build_copy(b, st, in, words, n, err);
	else if (!strcmp(k, "ONBUILD") || !strcmp(k, "HEALTHCHECK"))
		rc = md_fail(err, "%s is not supported by mini-docker build (yet)", k);
	else {
		rc = (!strcmp(k, "ENV") || !strcmp(k, "LABEL")) ? do_env_label(b, st, in, words, n, err)
								 : do_config(b, st, in, words, n, err);
		if (rc == 0) {
			/* the step's key: the instruction and the config it made (an ENV $X that expanded anew differs) */
			char *text = json_dumps(cfg(st), JSON_COMPACT | JSON_SORT_KEYS);
			char *key = xasprintf("%s\nconfig=%s", in->original, text);
			rc = config_step(b, st, key, in->original, err);
			free(key);
			free(text);
		}
	}
out:
	dockerfile_words_free(words);
	return rc;
}

/* --- the command --------------------------------------------------------------------------- */

static int build_open(struct build *b, const char *context, const char *file, struct md_error *err)
{
	char *text = NULL, *path = NULL;
	size_t len;
	int rc = -1;
	b->ctxfd = -1;
	if (!(b->context = realpath(context, NULL)))
		return md_fail_errno(err, "the build context %s", context);
	if ((b->ctxfd = open(b->context, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return md_fail_errno(err, "the build context %s: give a directory", context);
	path = file ? xstrdup(file) : xasprintf("%s/Dockerfile", b->context);
	b->file = file ? file : "Dockerfile";
	if (read_file(path, 1 << 20, &text, &len, err) < 0) {
		md_context(err, "no Dockerfile (give one with -f FILE, or put a Dockerfile in %s)", context);
		goto out;
	}
	if (dockerfile_parse(text, len, b->file, &b->df, err) < 0 || ignore_load(b->ctxfd, &b->ignore, err) < 0)
		goto out;
	if (store_open(&b->s, b->o, err) < 0)
		goto out;
	if (store_lock(&b->s, err) < 0 || store_stage(&b->s, "build", &b->stage, err) < 0)
		goto out;
	store_unlock(&b->s);
	/* our mounts are ours alone, and go when we do (a build killed leaves no overlay behind) */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		md_fail_errno(err, "a mount namespace for the build (build needs root)");
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(path);
	return rc;
}

static void build_close(struct build *b)
{
	for (int i = 0; i < b->n_stages; i++)
		stage_free(&b->stages[i]);
	if (b->stage) {
		rm_rf(b->stage);
		free(b->stage);
	}
	if (b->s.root)
		store_close(&b->s);
	if (b->ctxfd >= 0)
		close(b->ctxfd);
	ignore_free(b->ignore);
	dockerfile_free(&b->df);
	json_decref(b->global_args);
	free(b->context);
}

/* the instructions to run: up to the end of the --target stage */
static int count_steps(struct build *b, int *last, struct md_error *err)
{
	*last = b->df.n;
	if (!b->target)
		return b->df.n;
	for (int i = 0, seen = 0; i < b->df.n; i++) {
		if (strcmp(b->df.v[i].cmd, "FROM"))
			continue;
		if (seen) {
			*last = i;
			return i;
		}
		char *as = strcasestr(b->df.v[i].args, " as ");
		if (as && !strcasecmp(as + 4 + strspn(as + 4, " \t"), b->target))
			seen = 1;
	}
	for (int i = 0; i < b->df.n; i++)
		if (!strcmp(b->df.v[i].cmd, "FROM")) {
			char *as = strcasestr(b->df.v[i].args, " as ");
			if (as && !strcasecmp(as + 4 + strspn(as + 4, " \t"), b->target))
				return b->df.n;
		}
	return md_fail(err, "--target %s: no stage of %s is named so (FROM IMAGE AS %s)", b->target, b->file, b->target);
}

static int build(struct build *b, const char *context, const char *file, struct md_error *err)
{
	int last;
	char id[DIGEST_LEN];
	if (build_open(b, context, file, err) < 0)
		return -1;
	b->global_args = json_object();
	if ((b->steps = count_steps(b, &last, err)) < 0)
		return -1;
	for (int i = 0; i < last; i++) {
		struct df_instr *in = &b->df.v[i];
		printf("STEP %d/%d: %s\n", i + 1, b->steps, in->original);
		fflush(stdout);
		if (step(b, in, err) < 0)
			return md_context(err, "%s:%d: %s", b->file, in->line, in->original);
		fflush(stdout);
	}
	if (!b->n_stages)
		return md_fail(err, "%s has no FROM", b->file);
	if (commit_image(b, &b->stages[b->n_stages - 1], id, err) < 0)
		return -1;
	printf("COMMIT%s%s\n", b->n_tags ? " " : "", b->n_tags ? b->tags[0] : "");
	for (int i = 0; i < b->n_tags; i++) {
		struct image_ref r;
		char full[600];
		if (ref_parse(b->tags[i], &r, err) == 0 && (ref_string(&r, full, sizeof(full)), 1))
			printf("Successfully tagged %s\n", full);
	}
	printf("%s\n", digest_hex(id));
	return 0;
}

int cmd_build(const struct md_opts *o, int argc, char **argv)
{
	enum { TAG, FILE_, BUILD_ARG, NO_CACHE, TARGET, NETWORK, PLATFORM, QUIET, PULL, RM };
	static const struct md_option options[] = {
	    [TAG] = {"tag", 't', MD_VALUE},	     [FILE_] = {"file", 'f', MD_VALUE},
	    [BUILD_ARG] = {"build-arg", 0, MD_VALUE}, [NO_CACHE] = {"no-cache", 0, MD_FLAG},
	    [TARGET] = {"target", 0, MD_VALUE},	     [NETWORK] = {"network", 0, MD_VALUE},
	    [PLATFORM] = {"platform", 0, MD_VALUE},   [QUIET] = {"quiet", 'q', MD_FLAG},
	    [PULL] = {"pull", 0, MD_FLAG},	     [RM] = {"rm", 0, MD_FLAG},
	};
	static const char usage[] = "build [-t NAME[:TAG]]... [-f FILE] [--build-arg K=V]... [--no-cache] "
				    "[--target STAGE] [--network none|host] CONTEXT";
	static struct build b;
	struct md_error err = {0};
	struct md_getopt g;
	const char *file = NULL;
	int k, rc = 0;
	b.o = o;
	b.network = "none";
	b.ctxfd = -1;
	md_getopt_init(&g, "build", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while (rc == 0 && (k = md_getopt(&g, &err)) >= 0) {
		const char *v = g.value;
		if (k == TAG && b.n_tags < MAX_TAGS)
			b.tags[b.n_tags++] = v;
		else if (k == TAG)
			rc = md_fail(&err, "build: at most %d -t", MAX_TAGS);
		else if (k == FILE_)
			file = v;
		else if (k == BUILD_ARG && b.n_build_args < MAX_BUILD_ARGS)
			b.build_args[b.n_build_args++] = (char *)v;
		else if (k == NO_CACHE)
			b.no_cache = 1;
		else if (k == TARGET)
			b.target = v;
		else if (k == NETWORK && (!strcmp(v, "none") || !strcmp(v, "host") || !strcmp(v, "bridge")))
			b.network = v;
		else if (k == NETWORK)
			rc = md_fail(&err, "build: --network %s: use none (the default), host or bridge", v);
		else if (k == PLATFORM && strcmp(v, "linux/amd64") && strcmp(v, "linux/arm64"))
			rc = md_fail(&err, "build: --platform %s: this builder runs RUN natively: only this host's platform", v);
	}
	if (rc < 0) {
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 1)
		return md_usage(usage);
	for (int i = 0; i < b.n_tags; i++) {
		struct image_ref r;
		if (ref_parse(b.tags[i], &r, &err) < 0 || r.digest[0]) {
			fprintf(stderr, "mini-docker: build: -t %s: give NAME[:TAG]%s%s\n", b.tags[i], r.digest[0] ? "" : ": ",
				r.digest[0] ? "" : err.msg);
			return EXIT_ENGINE;
		}
	}
	if (build(&b, argv[g.optind], file, &err) < 0) {
		fflush(stdout);
		fprintf(stderr, "mini-docker: build: %s\n", err.msg);
		rc = EXIT_ENGINE;
	}
	build_close(&b);
	return rc;
}
