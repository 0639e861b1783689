/*
 * archive.c: images as files, without a registry.
 *
 *     mini-docker save -o FILE IMAGE...   an OCI image layout in a tar, with
 *                                         Docker's manifest.json too (docker load reads it)
 *     mini-docker load -i PATH            an OCI layout (a directory or a tar, maybe
 *                                         compressed) or the tar of `docker save`
 *
 * Loading trusts nothing in the archive: it is unpacked with the same in-root
 * code as a layer, each blob is checked against its digest while copied into
 * the staging dir, and image_commit checks each layer's DiffID.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "lazy.h" /* libarchive: save loads it, load through unpack_blob */
#include "opts.h"
#include "ref.h"
#include "registry.h"
#include "unpack.h"

#define DOCKER_CONFIG_MT "application/vnd.docker.container.image.v1+json"

/* --- save -------------------------------------------------------------------------- */

static int add_buf(struct archive *a, const char *name, const void *buf, size_t len, struct md_error *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, len);
	archive_entry_set_mtime(e, time(NULL), 0);
	int rc = archive_write_header(a, e) == ARCHIVE_OK && archive_write_data(a, buf, len) == (la_ssize_t)len ? 0 : -1;
	archive_entry_free(e);
	return rc ? md_fail(err, "writing %s: %s", name, archive_error_string(a)) : 0;
}

static int add_file(struct archive *a, const char *name, const char *path, struct md_error *err)
{
	struct stat st;
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return md_fail_errno(err, "open %s", path);
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		rc = md_fail(err, "writing %s: %s", name, archive_error_string(a));
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, n) != n)
			rc = md_fail(err, "writing %s: %s", name, archive_error_string(a));
	archive_entry_free(e);
	close(fd);
	return rc;
}

static int write_layout(struct store *s, json_t *idx, int argc, char **argv, struct archive *a, struct md_error *err)
{
	json_t *out = json_pack("{s:i,s:[]}", "schemaVersion", 2, "manifests"), *docker = json_array();
	json_t *blobs = json_object();
	int rc = -1;
	for (int i = 0; i < argc; i++) {
		json_t *desc, *m, *c, *l;
		size_t k;
		if (store_find(s, idx, argv[i], &desc, &m, &c, err) < 0)
			goto out;
		const char *name = json_string_value(json_object_get(json_object_get(desc, "annotations"), REF_NAME_ANNOTATION));
		const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
		json_t *d = json_deep_copy(desc), *layers = json_array();
		json_object_set_new(d, "annotations", json_pack("{s:s,s:s}", REF_NAME_ANNOTATION, name, "io.containerd.image.name", name));
		json_array_append_new(json_object_get(out, "manifests"), d);
		json_object_set_new(blobs, json_string_value(json_object_get(desc, "digest")), json_true());
		json_object_set_new(blobs, cd, json_true());
		json_array_foreach(json_object_get(m, "layers"), k, l)
		{
			const char *ld = json_string_value(json_object_get(l, "digest"));
			json_object_set_new(blobs, ld, json_true());
			json_array_append_new(layers, json_sprintf("blobs/sha256/%s", digest_hex(ld)));
		}
		char *cpath = xasprintf("blobs/sha256/%s", digest_hex(cd));
		json_array_append_new(docker, json_pack("{s:s,s:[s],s:o}", "Config", cpath, "RepoTags", name, "Layers", layers));
		free(cpath);
		json_decref(m);
		json_decref(c);
	}
	const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
	char *it = json_dumps(out, JSON_INDENT(2)), *dt = json_dumps(docker, 0);
	rc = add_buf(a, "oci-layout", layout, strlen(layout), err);
	if (rc == 0)
		rc = add_buf(a, "index.json", it, strlen(it), err);
	if (rc == 0)
		rc = add_buf(a, "manifest.json", dt, strlen(dt), err);
	free(it);
	free(dt);
	const char *dg;
	json_t *v;
	json_object_foreach(blobs, dg, v)
	{
		char *name = xasprintf("blobs/sha256/%s", digest_hex(dg)), *path = store_blob_path(s, dg);
		if (rc == 0)
			rc = add_file(a, name, path, err);
		free(name);
		free(path);
	}
out:
	json_decref(out);
	json_decref(docker);
	json_decref(blobs);
	return rc;
}

int cmd_save(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	json_t *idx = NULL;
	struct archive *a = NULL;
	char *tmp = NULL;
	const char *file = NULL;
	int rc = EXIT_ENGINE, k;
	static const struct md_option options[] = {{"output", 'o', MD_VALUE}};
	struct md_getopt g;
	md_getopt_init(&g, "save", "save -o FILE IMAGE...", options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		file = g.value;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	err.msg[0] = 0;
	if (!file || g.optind == argc) {
		fprintf(stderr, "mini-docker: usage: mini-docker save -o FILE IMAGE...\n");
		return EXIT_ENGINE;
	}
	if (lazy_archive(&err) < 0)
		goto fail;
	if (store_open(&s, o, &err) < 0)
		goto fail;
	if (store_index_load(&s, &idx, &err) < 0)
		goto out;
	/* written under a temporary name: FILE is complete or absent */
	tmp = xasprintf("%s.tmp.%d", file, (int)getpid());
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		md_fail(&err, "create %s: %s", tmp, archive_error_string(a));
		goto out;
	}
	if (write_layout(&s, idx, argc - g.optind, argv + g.optind, a, &err) < 0 || archive_write_close(a) != ARCHIVE_OK) {
		if (!err.msg[0])
			md_fail(&err, "write %s: %s", tmp, archive_error_string(a));
		goto out;
	}
	if (rename(tmp, file) < 0) {
		md_fail_errno(&err, "rename %s to %s", tmp, file);
		goto out;
	}
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	if (tmp && rc)
		unlink(tmp);
	free(tmp);
	json_decref(idx);
	store_close(&s);
fail:
	if (rc)
		fprintf(stderr, "mini-docker: save: %s\n", err.msg);
	return rc;
}

/* --- load -------------------------------------------------------------------------- */

/* copy SRC to STAGE/HEX, checking that its sha256 is DIGEST */
static int copy_verified(const char *src, const char *stage, const char *digest, struct md_error *err)
{
	char *dst = xasprintf("%s/%s", stage, digest_hex(digest)), buf[65536], got[DIGEST_LEN];
	struct sha256 h;
	ssize_t n;
	int in = -1, out = -1, rc = -1;
	if (access(dst, F_OK) == 0) { /* already staged */
		free(dst);
		return 0;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		md_fail_errno(err, "blob %s: open %s", digest, src);
		goto out;
	}
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		md_fail_errno(err, "create %s", dst);
		goto out;
	}
	if (sha256_init(&h, err) < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		sha256_update(&h, buf, n);
		if (write(out, buf, n) != n) {
			md_fail_errno(err, "write %s", dst);
			sha256_free(&h);
			goto out;
		}
	}
	sha256_final(&h, got);
	if (n < 0)
		md_fail_errno(err, "read %s", src);
	else if (strcmp(got, digest))
		md_fail(err, "blob %s: its content hashes to %s: refusing the archive", digest, got);
	else
		rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc < 0)
		unlink(dst);
	free(dst);
	return rc;
}

static char *layout_blob(const char *layout, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", layout, digest_hex(digest));
}

/* the name a loaded image gets: a full reference from the annotations, or localhost/BASENAME:TAG */
static void load_name(json_t *desc, const char *path, char *out, size_t len)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *n = json_string_value(json_object_get(ann, "io.containerd.image.name"));
	struct image_ref r;
	struct md_error ignored;
	if (!n)
		n = json_string_value(json_object_get(ann, REF_NAME_ANNOTATION));
	if (n && (strchr(n, '/') || strchr(n, ':')) && ref_parse(n, &r, &ignored) == 0) {
		ref_string(&r, out, len);
		return;
	}
	char *copy = xstrdup(path), *base = basename(copy);
	base[strcspn(base, ".")] = 0;
	for (char *p = base; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = '-';
	snprintf(out, len, "localhost/%s:%s", *base ? base : "loaded", n && *n ? n : "latest");
	if (ref_parse(out, &r, &ignored) < 0)
		snprintf(out, len, "localhost/loaded:latest");
	free(copy);
}

static int load_manifest(struct store *s, const char *layout, const char *stage, const char *digest,
			 const char *media_type, const char *name, struct md_error *err)
{
	char *path = layout_blob(layout, digest), *body = NULL;
	size_t len;
	int is_index = 0, rc = -1;
	json_t *m = NULL, *l;
	size_t i;
	if (copy_verified(path, stage, digest, err) < 0)
		goto out;
	free(path);
	path = xasprintf("%s/%s", stage, digest_hex(digest));
	if (read_file(path, 4 << 20, &body, &len, err) < 0)
		goto out;
	if (!(m = image_parse_manifest(body, len, media_type, &is_index, err)))
		goto out;
	if (is_index) {
		const char *d = image_choose_platform(s->o, m, err);
		char sub[DIGEST_LEN];
		if (!d)
			goto out;
		snprintf(sub, sizeof(sub), "%s", d);
		const char *mt = NULL;
		json_array_foreach(json_object_get(m, "manifests"), i, l)
			if (!strcmp(json_string_value(json_object_get(l, "digest")), sub))
				mt = json_string_value(json_object_get(l, "mediaType"));
		rc = load_manifest(s, layout, stage, sub, mt, name, err);
		goto out;
	}
	if (image_check_manifest(m, err) < 0)
		goto out;
	free(path);
	const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	path = layout_blob(layout, cd);
	if (copy_verified(path, stage, cd, err) < 0)
		goto out;
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		const char *ld = json_string_value(json_object_get(l, "digest"));
		free(path);
		path = layout_blob(layout, ld);
		if (!store_has_blob(s, ld) && copy_verified(path, stage, ld, err) < 0)
			goto out;
	}
	const char *names[1] = {name};
	if (image_commit(s, stage, body, len, json_string_value(json_object_get(m, "mediaType")), names, 1, err) < 0)
		goto out;
	printf("Loaded image: %s\n", name);
	rc = 0;
out:
	json_decref(m);
	free(body);
	free(path);
	return rc;
}

/* docker save's older form: manifest.json lists Config and Layers (plain tars) by path */
static int load_docker(struct store *s, const char *dir, const char *stage, struct md_error *err)
{
	char *mpath = xasprintf("%s/manifest.json", dir);
	json_t *list = json_load_file(mpath, 0, NULL), *e;
	size_t i;
	int rc = 0;
	free(mpath);
	if (!json_is_array(list)) {
		json_decref(list);
		return md_fail(err, "neither index.json (OCI layout) nor a valid manifest.json (docker save) in the archive");
	}
	json_array_foreach(list, i, e)
	{
		json_t *layers = json_array(), *l;
		const char *cfg = json_string_value(json_object_get(e, "Config")), *p;
		char digest[DIGEST_LEN], *path;
		size_t k;
		struct stat st;
		json_t *todo = json_array();
		json_array_append(todo, json_object_get(e, "Config"));
		json_array_extend(todo, json_object_get(e, "Layers"));
		json_array_foreach(todo, k, l)
		{
			p = json_string_value(l);
			if (!p || *p == '/' || strstr(p, "..")) {
				rc = md_fail(err, "manifest.json names '%s': refusing a path outside the archive", p ? p : "(none)");
				break;
			}
			path = xasprintf("%s/%s", dir, p);
			if (stat(path, &st) < 0 || sha256_file(path, digest, err) < 0 || copy_verified(path, stage, digest, err) < 0) {
				if (!rc)
					rc = md_fail_errno(err, "%s", p);
				free(path);
				break;
			}
			free(path);
			if (k > 0)
				json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType", "application/vnd.docker.image.rootfs.diff.tar",
									"digest", digest, "size", (json_int_t)st.st_size));
			else
				json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType", DOCKER_CONFIG_MT, "digest", digest,
									"size", (json_int_t)st.st_size));
		}
		json_decref(todo);
		if (rc < 0 || !cfg) {
			json_decref(layers);
			rc = rc < 0 ? rc : md_fail(err, "manifest.json: an entry without Config");
			break;
		}
		json_t *config = json_incref(json_array_get(layers, 0));
		json_array_remove(layers, 0);
		json_t *m = json_pack("{s:i,s:s,s:o,s:o}", "schemaVersion", 2, "mediaType", MT_DOCKER_MANIFEST, "config", config,
				      "layers", layers);
		char *body = json_dumps(m, JSON_COMPACT);
		json_decref(m);
		const char *tag = json_string_value(json_array_get(json_object_get(e, "RepoTags"), 0));
		char name[600];
		struct image_ref r;
		if (tag && ref_parse(tag, &r, err) == 0)
			ref_string(&r, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "localhost/loaded:%zu", i);
		const char *names[1] = {name};
		rc = image_commit(s, stage, body, strlen(body), MT_DOCKER_MANIFEST, names, 1, err);
		free(body);
		if (rc < 0)
			break;
		printf("Loaded image: %s\n", name);
	}
	json_decref(list);
	return rc;
}

static int load(const struct md_opts *o, const char *path, struct md_error *err)
{
	struct store s;
	struct stat st;
	char *stage = NULL, *dir = NULL, *p;
	int rc = -1, fd = -1;
	if (stat(path, &st) < 0)
		return md_fail_errno(err, "load: %s", path);
	if (store_open(&s, o, err) < 0)
		return -1;
	if (store_lock(&s, err) < 0 || store_stage(&s, "load", &stage, err) < 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		dir = xstrdup(path);
	} else {
		/* a tar (maybe compressed): unpacked as carefully as a layer, files and dirs only */
		char diff[DIGEST_LEN];
		struct unpack_opts uo = {.mode = UNPACK_FILES, .max_bytes = o->max_unpack, .max_entries = o->max_entries,
					 .label = path};
		dir = xasprintf("%s/archive", stage);
		if (mkdir(dir, 0700) < 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			md_fail_errno(err, "mkdir %s", dir);
			goto out;
		}
		if (unpack_blob(path, fd, &uo, diff, err) < 0)
			goto out;
	}
	p = xasprintf("%s/index.json", dir);
	json_t *idx = access(p, F_OK) == 0 ? json_load_file(p, 0, NULL) : NULL, *d;
	free(p);
	if (!idx) {
		rc = load_docker(&s, dir, stage, err);
		goto out;
	}
	size_t i;
	rc = 0;
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		const char *dg = json_string_value(json_object_get(d, "digest"));
		char name[600];
		if (!digest_valid(dg)) {
			rc = md_fail(err, "index.json names a bad digest");
			break;
		}
		load_name(d, path, name, sizeof(name));
		if ((rc = load_manifest(&s, dir, stage, dg, json_string_value(json_object_get(d, "mediaType")), name, err)) < 0)
			break;
	}
	if (rc == 0 && json_array_size(json_object_get(idx, "manifests")) == 0)
		rc = md_fail(err, "%s: index.json lists no image", path);
	json_decref(idx);
out:
	if (fd >= 0)
		close(fd);
	if (stage) {
		rm_rf(stage);
		free(stage);
	}
	free(dir);
	store_close(&s);
	return rc;
}

int cmd_load(const struct md_opts *o, int argc, char **argv)
{
	struct md_error err;
	const char *path = NULL;
	int k;
	static const struct md_option options[] = {{"input", 'i', MD_VALUE}};
	struct md_getopt g;
	md_getopt_init(&g, "load", "load -i PATH (an OCI layout dir or tar, or a docker save tar)", options,
		       MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		path = g.value;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (!path || g.optind != argc) {
		fprintf(stderr, "mini-docker: usage: mini-docker load -i PATH (an OCI layout dir or tar, or a docker save tar)\n");
		return EXIT_ENGINE;
	}
	if (load(o, path, &err) < 0) {
		fprintf(stderr, "mini-docker: load %s: %s\n", path, err.msg);
		return EXIT_ENGINE;
	}
	return 0;
}
