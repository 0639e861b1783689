/*
 * pull.c: mini-docker pull [REGISTRY/]NAME[:TAG|@DIGEST]
 *
 * What `docker pull busybox` does, in order:
 *   1. complete the name (ref.c) and find the registry (registry.c: ping, auth);
 *   2. GET the manifest; an index (several platforms) leads to this host's manifest;
 *   3. GET the config and each layer not in the store yet, several at once,
 *      each checked against its digest as it streams in (into a stage in ROOT/tmp,
 *      without the store's lock: another pull goes on meanwhile);
 *   4. with the lock, unpack each layer, checking its DiffID, and move everything
 *      into place (image.c: image_commit); the name appears in index.json last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "opts.h"
#include "ref.h"
#include "registry.h"

#define PARALLEL 3

struct layer_job {
	const char *digest;
	int64_t size;
	uint64_t done;
	const char *state; /* "Waiting", "Downloading", "Pull complete", "Already exists", "Failed" */
};

struct pull {
	const struct md_opts *o;
	FILE *out; /* the progress: stdout for pull, stderr for run (stdout is the container's) */
	int tty;   /* OUT is a terminal: bars redrawn in place */
	struct registry *reg;
	struct store *store;
	const char *stage;
	struct layer_job *jobs;
	size_t n, next;
	int failed, drawn;
	struct md_error err;
	pthread_mutex_t lock;
	struct timespec last_draw;
};

/* --- progress: bars on a terminal (as docker pull), one line per layer otherwise --- */

static void draw(struct pull *p, int force)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - p->last_draw.tv_sec) * 1000 + (now.tv_nsec - p->last_draw.tv_nsec) / 1000000;
	if (!force && ms < 100)
		return;
	p->last_draw = now;
	if (p->drawn)
		fprintf(p->out, "\033[%zuA", p->n);
	for (size_t i = 0; i < p->n; i++) {
		struct layer_job *j = &p->jobs[i];
		char bar[32] = "", hd[32], ht[32];
		if (!strcmp(j->state, "Downloading") && j->size > 0) {
			int w = (int)(25 * j->done / j->size);
			memset(bar, '=', w);
			bar[w] = '>';
			memset(bar + w + 1, ' ', 25 - w);
			bar[26] = 0;
			human_size(j->done, hd, sizeof(hd));
			human_size(j->size, ht, sizeof(ht));
			fprintf(p->out, "\033[2K%.12s: %s [%s] %s/%s\n", j->digest + 7, j->state, bar, hd, ht);
		} else {
			fprintf(p->out, "\033[2K%.12s: %s\n", j->digest + 7, j->state);
		}
	}
	p->drawn = 1;
	fflush(p->out);
}

static void set_state(struct pull *p, struct layer_job *j, const char *state)
{
	pthread_mutex_lock(&p->lock);
	j->state = state;
	if (p->tty)
		draw(p, 1);
	else if (strcmp(state, "Downloading") && strcmp(state, "Waiting"))
		fprintf(p->out, "%.12s: %s\n", j->digest + 7, state);
	pthread_mutex_unlock(&p->lock);
}

static void on_progress(void *ctx, uint64_t done)
{
	struct layer_job *j = ctx;
	j->done = done;
}

struct progress_ctx {
	struct pull *p;
	struct layer_job *j;
};

static void on_progress_draw(void *ctx, uint64_t done)
{
	struct progress_ctx *c = ctx;
	on_progress(c->j, done);
	if (c->p->tty && pthread_mutex_trylock(&c->p->lock) == 0) {
		draw(c->p, 0);
		pthread_mutex_unlock(&c->p->lock);
	}
}

/* a worker: take the next layer, download it into the stage, until none is left */
static void *worker(void *arg)
{
	struct pull *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->failed || p->next == p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		struct layer_job *j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->lock);
		if (!strcmp(j->state, "Already exists"))
			continue;
		struct md_error err;
		struct progress_ctx pc = {p, j};
		char *dest = xasprintf("%s/%s", p->stage, digest_hex(j->digest));
		set_state(p, j, "Downloading");
		int rc = registry_blob(p->reg, j->digest, j->size, dest, on_progress_draw, &pc, &err);
		free(dest);
		set_state(p, j, rc < 0 ? "Failed" : "Download complete");
		if (rc < 0) {
			pthread_mutex_lock(&p->lock);
			if (!p->failed)
				p->err = err;
			p->failed = 1;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static int fetch_layers(struct pull *p, json_t *m, struct md_error *err)
{
	json_t *layers = json_object_get(m, "layers"), *l;
	pthread_t th[PARALLEL];
	size_t i;
	int nth = 0;
	p->n = json_array_size(layers);
	p->jobs = xcalloc(p->n ? p->n : 1, sizeof(*p->jobs));
	json_array_foreach(layers, i, l)
	{
		p->jobs[i].digest = json_string_value(json_object_get(l, "digest"));
		p->jobs[i].size = json_integer_value(json_object_get(l, "size"));
		p->jobs[i].state = store_has_blob(p->store, p->jobs[i].digest) ? "Already exists" : "Waiting";
		if (!p->tty && p->jobs[i].state[0] == 'A')
			fprintf(p->out, "%.12s: Already exists\n", p->jobs[i].digest + 7);
	}
	if (p->tty)
		draw(p, 1);
	for (int k = 0; k < PARALLEL && (size_t)k < p->n; k++)
		if (pthread_create(&th[nth], NULL, worker, p) == 0)
			nth++;
	if (nth == 0 && p->n)
		worker(p);
	for (int k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	if (p->failed) {
		*err = p->err;
		return -1;
	}
	return 0;
}

/* GET a manifest; check its digest when we asked for one; follow an index to our platform */
static int get_manifest(struct pull *p, const struct image_ref *r, char **body, size_t *len, char *ctype,
			char *digest, struct md_error *err)
{
	char want[DIGEST_LEN + 130];
	int is_index = 0;
	snprintf(want, sizeof(want), "%s", r->digest[0] ? r->digest : r->tag);
	for (int depth = 0;; depth++) {
		if (registry_manifest(p->reg, want, body, len, ctype, 128, err) < 0)
			return -1;
		if (sha256_buf(*body, *len, digest, err) < 0)
			goto fail;
		if (digest_valid(want) && strcmp(digest, want)) {
			md_fail(err, "the manifest %s hashes to %s: refusing it (the registry served wrong data)", want, digest);
			goto fail;
		}
		json_t *m = image_parse_manifest(*body, *len, ctype, &is_index, err);
		if (!m)
			goto fail;
		if (!is_index) {
			json_decref(m);
			return 0;
		}
		const char *d = depth == 0 ? image_choose_platform(p->o, m, err) : NULL;
		if (depth > 0)
			md_fail(err, "an index inside an index: not supported");
		if (d) {
			fprintf(p->out, "Index %.19s: this host is %s, choosing %.19s\n", digest, p->o->platform ? p->o->platform : "linux", d);
			snprintf(want, sizeof(want), "%s", d);
		}
		json_decref(m);
		if (!d)
			goto fail;
		free(*body);
		*body = NULL;
	}
fail:
	free(*body);
	*body = NULL;
	return -1;
}

int image_pull(const struct md_opts *o, const char *name, FILE *out, struct md_error *err)
{
	struct image_ref r;
	struct store s = {.lockfd = -1, .stagefd = -1};
	struct pull p = {.o = o, .out = out, .tty = o->tty && isatty(fileno(out)), .store = &s,
			 .lock = PTHREAD_MUTEX_INITIALIZER};
	char full[600], ctype[128], mdigest[DIGEST_LEN], *body = NULL, *stage = NULL;
	size_t len = 0;
	json_t *m = NULL;
	int rc = -1, is_index;

	if (ref_parse(name, &r, err) < 0)
		return -1;
	ref_string(&r, full, sizeof(full));
	if (store_open(&s, o, err) < 0)
		return -1;
	/* the lock only to make the stage: the download goes on without it (store.c) */
	if (store_lock(&s, err) < 0 || store_stage(&s, "pull", &stage, err) < 0)
		goto out;
	store_unlock(&s);
	p.stage = stage;
	if (registry_open(&p.reg, o, ref_api_host(&r), r.repo, err) < 0)
		goto out;
	fprintf(out, "%s: Pulling from %s/%s\n", r.tag[0] ? r.tag : r.digest, r.registry, r.repo);
	if (get_manifest(&p, &r, &body, &len, ctype, mdigest, err) < 0)
		goto out;
	if (!(m = image_parse_manifest(body, len, ctype, &is_index, err)) || image_check_manifest(m, err) < 0)
		goto out;

	/* the config first (small), then the layers in parallel */
	const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	json_int_t csize = json_integer_value(json_object_get(json_object_get(m, "config"), "size"));
	if (!store_has_blob(&s, cd)) {
		char *dest = xasprintf("%s/%s", stage, digest_hex(cd));
		int r2 = registry_blob(p.reg, cd, csize, dest, NULL, NULL, err);
		free(dest);
		if (r2 < 0)
			goto out;
	}
	if (fetch_layers(&p, m, err) < 0)
		goto out;
	fprintf(out, "Extracting and checking layers\n");
	fflush(out);
	const char *names[1] = {full};
	if (store_lock(&s, err) < 0)
		goto out;
	if (image_commit(&s, stage, body, len, ctype, names, 1, err) < 0)
		goto out;
	fprintf(out, "Digest: %s\nStatus: Downloaded %s\n%s\n", mdigest, full, full);
	rc = 0;
out:
	if (stage) {
		rm_rf(stage);
		free(stage);
	}
	free(p.jobs);
	json_decref(m);
	free(body);
	registry_close(p.reg);
	store_close(&s);
	if (rc < 0)
		md_context(err, "pull %s", name);
	return rc;
}

int cmd_pull(const struct md_opts *o, int argc, char **argv)
{
	struct md_error err;
	struct md_opts mine = *o;
	int k;
	static const struct md_option options[] = {{"platform", 0, MD_VALUE}};
	struct md_getopt g;
	md_getopt_init(&g, "pull", "pull [--platform OS/ARCH[/VARIANT]] [REGISTRY/]NAME[:TAG|@DIGEST]", options,
		       MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0) { /* pull --platform linux/arm64 NAME */
		mine.platform = g.value;
		o = &mine;
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	argv += g.optind - 1; /* argv[1] NAME */
	argc -= g.optind - 1;
	if (argc != 2) {
		fprintf(stderr, "mini-docker: usage: mini-docker pull [--platform OS/ARCH[/VARIANT]] [REGISTRY/]NAME[:TAG|@DIGEST]\n");
		return EXIT_ENGINE;
	}
	if (image_pull(o, argv[1], stdout, &err) < 0) {
		fflush(stdout);
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	return 0;
}
