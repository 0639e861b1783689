/*
 * store.c: a content-addressed image store.
 *
 * Blobs are named by their sha256, so a blob is either absent or complete:
 * each is written under tmp/, verified, fsync'ed and renamed into blobs/sha256/.
 * index.json, the only file that names images, is replaced last, in one
 * rename(2). A pull killed at any point leaves at most some unreferenced
 * blobs and a staging dir in tmp/ that the next writer removes: no reader
 * ever sees a half image. Writers take flock(ROOT/lock) to change images/ and
 * layers/; readers need no lock. Downloading needs none either: a pull makes its
 * stage under the lock, flocks the stage dir itself, lets ROOT/lock go while it
 * downloads, and takes it again to commit. So a pull that trickles does not stop
 * another, and the next writer clears only the stages whose flock is free (their
 * writer died: the kernel dropped its locks).
 */
#define _GNU_SOURCE
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "narrate.h"
#include "ref.h"

int store_open(struct store *s, const struct md_opts *o, struct md_error *err)
{
	char *p;
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->lockfd = -1;
	s->stagefd = -1;
	s->root = xstrdup(o->root);
	s->layout = xasprintf("%s/images", o->root);
	s->layers = xasprintf("%s/layers", o->root);
	s->tmp = xasprintf("%s/tmp", o->root);
	/* a ROOT we make is for its owner alone (0700, as podman's storage; Docker's 0710 lets a
	 * group of remapped users through, which mini-docker has none of). A ROOT that exists is
	 * the user's choice and keeps its mode; volumes/ is tightened anyway (mounts.c). */
	char *parent = xstrdup(o->root), *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mkdir_p(parent, 0755, err) == 0 && mkdir(o->root, 0700) == 0)
			narrate("mkdir(\"%s\", 0700)", "mkdir -m 0700 %s", o->root);
	}
	free(parent);
	p = xasprintf("%s/blobs/sha256", s->layout);
	int rc = mkdir_p(p, 0755, err);
	free(p);
	if (rc < 0 || mkdir_p(s->layers, 0700, err) < 0 || mkdir_p(s->tmp, 0700, err) < 0) {
		md_context(err, "the store %s (choose another with --root DIR or MINI_DOCKER_ROOT)", o->root);
		store_close(s);
		return -1;
	}
	/* the two files that make images/ an OCI image layout */
	p = xasprintf("%s/oci-layout", s->layout);
	if (access(p, F_OK) < 0) {
		const char *v = "{\"imageLayoutVersion\":\"1.0.0\"}";
		rc = write_file_atomic(p, v, strlen(v), err);
	}
	free(p);
	p = xasprintf("%s/index.json", s->layout);
	if (rc == 0 && access(p, F_OK) < 0) {
		const char *v = "{\"schemaVersion\":2,\"manifests\":[]}";
		rc = write_file_atomic(p, v, strlen(v), err);
	}
	free(p);
	if (rc < 0)
		store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	if (s->stagefd >= 0)
		close(s->stagefd);
	free(s->root);
	free(s->layout);
	free(s->layers);
	free(s->tmp);
	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	s->stagefd = -1;
}

void store_unlock(struct store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
}

/* a stage in tmp/ whose writer is gone: nobody holds its flock (or it is not a stage dir) */
static int abandoned(int tmpfd, const char *name)
{
	int fd = openat(tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 1;
	int free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_;
}

int store_lock(struct store *s, struct md_error *err)
{
	char *p = xasprintf("%s/lock", s->root);
	s->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		md_fail_errno(err, "open %s", p);
		free(p);
		return -1;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			md_fail_errno(err, "flock %s", p);
			free(p);
			return -1;
		}
		fprintf(stderr, "waiting for another mini-docker writing to %s\n", s->root);
		if (flock(s->lockfd, LOCK_EX) < 0) {
			md_fail_errno(err, "flock %s", p);
			free(p);
			return -1;
		}
	}
	free(p);
	/* we are the only writer: a stage in tmp/ that no live download holds was left by a writer that died */
	DIR *d = opendir(s->tmp);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && abandoned(dirfd(d), e->d_name))
			rm_rf_at(dirfd(d), e->d_name);
	if (d)
		closedir(d);
	return 0;
}

int store_stage(struct store *s, const char *what, char **dir, struct md_error *err)
{
	char *p = xasprintf("%s/%s-XXXXXX", s->tmp, what);
	if (!mkdtemp(p)) {
		md_fail_errno(err, "mkdtemp %s", p);
		free(p);
		return -1;
	}
	/* ours while we live: made and flock'ed under ROOT/lock, so no writer clears it in between */
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		md_fail_errno(err, "flock %s", p);
		if (fd >= 0)
			close(fd);
		rmdir(p);
		free(p);
		return -1;
	}
	if (s->stagefd >= 0)
		close(s->stagefd);
	s->stagefd = fd;
	*dir = p;
	return 0;
}

char *store_blob_path(struct store *s, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", s->layout, digest_hex(digest));
}

int store_has_blob(struct store *s, const char *digest)
{
	char *p = store_blob_path(s, digest);
	int ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

char *store_layer_path(struct store *s, const char *chain_id)
{
	return xasprintf("%s/%s", s->layers, digest_hex(chain_id));
}

int store_put_blob(struct store *s, const char *digest, const char *src, struct md_error *err)
{
	char *dst = store_blob_path(s, digest);
	int rc = 0;
	if (access(dst, F_OK) == 0)
		unlink(src);
	else if (rename(src, dst) < 0)
		rc = md_fail_errno(err, "rename %s to %s", src, dst);
	free(dst);
	return rc;
}

int store_read_blob(struct store *s, const char *digest, size_t max, char **buf, size_t *len, struct md_error *err)
{
	char *p = store_blob_path(s, digest);
	int rc = read_file(p, max, buf, len, err);
	free(p);
	return rc;
}

int store_index_load(struct store *s, json_t **idx, struct md_error *err)
{
	json_error_t je;
	char *p = xasprintf("%s/index.json", s->layout);
	json_t *j = json_load_file(p, 0, &je);
	if (!j || !json_is_array(json_object_get(j, "manifests"))) {
		md_fail(err, "%s is damaged (%s): remove the store or fix it by hand", p, j ? "no manifests" : je.text);
		json_decref(j);
		free(p);
		return -1;
	}
	free(p);
	*idx = j;
	return 0;
}

int store_index_save(struct store *s, json_t *idx, struct md_error *err)
{
	char *p = xasprintf("%s/index.json", s->layout);
	char *text = json_dumps(idx, JSON_INDENT(2));
	int rc = write_file_atomic(p, text, strlen(text), err);
	free(text);
	free(p);
	return rc;
}

static const char *ref_name_of(json_t *desc)
{
	return json_string_value(json_object_get(json_object_get(desc, "annotations"), REF_NAME_ANNOTATION));
}

void store_index_set(json_t *idx, const char *name, json_t *desc)
{
	json_t *list = json_object_get(idx, "manifests");
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d)
	{
		const char *n = ref_name_of(d);
		if (n && !strcmp(n, name)) {
			json_array_remove(list, i);
			break;
		}
	}
	json_t *copy = json_deep_copy(desc);
	json_object_del(copy, "platform");
	json_object_set_new(copy, "annotations", json_pack("{s:s}", REF_NAME_ANNOTATION, name));
	json_array_append_new(list, copy);
}

static json_t *load_json_blob(struct store *s, const char *digest, struct md_error *err)
{
	char *buf;
	size_t len;
	json_error_t je;
	if (!digest_valid(digest)) {
		md_fail(err, "store: bad digest '%s' in index.json", digest ? digest : "(none)");
		return NULL;
	}
	if (store_read_blob(s, digest, 16 << 20, &buf, &len, err) < 0)
		return NULL;
	json_t *j = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!j)
		md_fail(err, "blob %s: not JSON (%s)", digest, je.text);
	return j;
}

int store_find(struct store *s, json_t *idx, const char *name, json_t **desc, json_t **manifest, json_t **config,
	       struct md_error *err)
{
	struct image_ref r;
	char full[600] = "", by_id[DIGEST_LEN] = "";
	struct md_error ignored;
	size_t i;
	json_t *d, *found = NULL;
	if (ref_parse(name, &r, &ignored) == 0)
		ref_string(&r, full, sizeof(full));
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		const char *n = ref_name_of(d);
		if (n && (!strcmp(n, full) || !strcmp(n, name))) {
			found = d;
			break;
		}
	}
	if (!found && strlen(name) >= 4 && strlen(name) <= 71) {
		/* an image ID: a prefix of the config digest, as `docker images` shows it */
		const char *hex = !strncmp(name, "sha256:", 7) ? name + 7 : name;
		json_array_foreach(json_object_get(idx, "manifests"), i, d)
		{
			json_t *m = load_json_blob(s, json_string_value(json_object_get(d, "digest")), &ignored);
			const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
			if (cd && digest_valid(cd) && !strncmp(cd + 7, hex, strlen(hex))) {
				if (by_id[0] && strcmp(by_id, cd)) {
					json_decref(m);
					return md_fail(err, "image ID %s is ambiguous: give more digits", name);
				}
				snprintf(by_id, sizeof(by_id), "%s", cd);
				found = found ? found : d;
			}
			json_decref(m);
		}
	}
	if (!found)
		return md_fail(err, "no such image: %s (mini-docker images lists them; mini-docker pull %s fetches it)", full[0] ? full : name, name);
	*desc = found;
	return store_load(s, found, manifest, config, err);
}

int store_load(struct store *s, json_t *desc, json_t **manifest, json_t **config, struct md_error *err)
{
	json_t *m = load_json_blob(s, json_string_value(json_object_get(desc, "digest")), err);
	if (!m)
		return -1;
	json_t *c = load_json_blob(s, json_string_value(json_object_get(json_object_get(m, "config"), "digest")), err);
	if (!c) {
		json_decref(m);
		return -1;
	}
	*manifest = m;
	*config = c;
	return 0;
}

int chain_ids(json_t *config, char (*out)[DIGEST_LEN], size_t max, size_t *n, struct md_error *err)
{
	json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t i;
	json_t *v;
	if (!json_is_array(ids))
		return md_fail(err, "the image config has no rootfs.diff_ids");
	if (json_array_size(ids) > max)
		return md_fail(err, "the image has %zu layers: more than %zu", json_array_size(ids), max);
	json_array_foreach(ids, i, v)
	{
		const char *diff = json_string_value(v);
		if (!digest_valid(diff))
			return md_fail(err, "the image config has a bad diff_id '%s'", diff ? diff : "(not a string)");
		/* EXERCISE 05.2: the ChainID of layers 0..i, the key of an unpacked layer dir
		 * hint: a layer's key names it and every layer below it
		 * more: ChainID(L0) = DiffID(L0); ChainID(L0..Li) = sha256 of the string "ChainID(L0..Li-1) DiffID(Li)"
		 * more: (one space): xasprintf() the string, sha256_buf() it into out[i], free it
		 * tests: 05-images
		 * stub: (void)out; return md_fail(err, "TODO 05.2: ChainID of %s", diff);
		 */
		if (i == 0) {
			snprintf(out[0], DIGEST_LEN, "%s", diff);
		} else {
			char *s = xasprintf("%s %s", out[i - 1], diff);
			int rc = sha256_buf(s, strlen(s), out[i], err);
			free(s);
			if (rc < 0)
				return -1;
		}
		/* END EXERCISE */
	}
	*n = json_array_size(ids);
	return 0;
}

/* the names of the blobs and layers reachable from index.json */
static int mark(struct store *s, json_t *keep, struct md_error *err)
{
	json_t *idx, *d;
	size_t i, j;
	if (store_index_load(s, &idx, err) < 0)
		return -1;
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		const char *md = json_string_value(json_object_get(d, "digest"));
		json_t *m = load_json_blob(s, md, err), *l;
		if (!m)
			continue; /* keep going: a damaged image must not stop the others' gc */
		json_object_set_new(keep, digest_hex(md), json_true());
		const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
		if (cd && digest_valid(cd)) {
			json_object_set_new(keep, digest_hex(cd), json_true());
			json_t *c = load_json_blob(s, cd, err);
			char chains[128][DIGEST_LEN];
			size_t n = 0;
			if (c && chain_ids(c, chains, 128, &n, err) == 0)
				for (size_t k = 0; k < n; k++)
					json_object_set_new(keep, digest_hex(chains[k]), json_true());
			json_decref(c);
		}
		json_array_foreach(json_object_get(m, "layers"), j, l)
		{
			const char *ld = json_string_value(json_object_get(l, "digest"));
			if (ld && digest_valid(ld))
				json_object_set_new(keep, digest_hex(ld), json_true());
		}
		json_decref(m);
	}
	json_decref(idx);
	return 0;
}

/* what the build cache (ROOT/build-cache/KEY, build.c) still needs: each entry's layer */
static void mark_cache(struct store *s, json_t *keep)
{
	char *dir = xasprintf("%s/build-cache", s->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *p = xasprintf("%s/%s", dir, e->d_name), *buf = NULL;
		size_t len;
		struct md_error ignored;
		json_t *j = e->d_name[0] != '.' && read_file(p, 1 << 20, &buf, &len, &ignored) == 0 ? json_loadb(buf, len, 0, NULL) : NULL;
		const char *ld = json_string_value(json_object_get(json_object_get(j, "layer"), "digest"));
		const char *chain = json_string_value(json_object_get(j, "chain_id"));
		if (ld && digest_valid(ld))
			json_object_set_new(keep, digest_hex(ld), json_true());
		if (chain && digest_valid(chain))
			json_object_set_new(keep, digest_hex(chain), json_true());
		json_decref(j);
		free(buf);
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
}

int store_cache_clear(struct store *s)
{
	char *dir = xasprintf("%s/build-cache", s->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	if (d)
		closedir(d);
	free(dir);
	return n;
}

/* remove what KEEP does not name; a failure is kept in ERR (the others are still tried) */
static int sweep(const char *dir, json_t *keep, const char *what, struct md_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || json_object_get(keep, e->d_name))
			continue;
		if (rm_rf_at(dirfd(d), e->d_name) == 0)
			printf("Deleted: %s sha256:%s\n", what, e->d_name);
		else if (rc == 0)
			rc = md_fail_errno(err, "could not remove all of %s/%s (what is left stays there; remove it by hand)",
					   dir, e->d_name);
	}
	if (d)
		closedir(d);
	return rc;
}

int store_gc(struct store *s, struct md_error *err)
{
	json_t *keep = json_object();
	char *blobs = xasprintf("%s/blobs/sha256", s->layout);
	int rc = mark(s, keep, err);
	containers_keep_layers(s->o, keep); /* an image rmi -f untagged may still run */
	mark_cache(s, keep);		    /* a build's next run stands on these */
	if (rc == 0) {
		rc = sweep(blobs, keep, "blob", err);
		if (sweep(s->layers, keep, "layer", rc < 0 ? &(struct md_error){0} : err) < 0)
			rc = -1;
	}
	free(blobs);
	json_decref(keep);
	return rc;
}
