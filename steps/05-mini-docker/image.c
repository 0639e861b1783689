/*
 * image.c: what an image is (OCI image spec):
 *
 *     manifest  {"config": {digest}, "layers": [{mediaType, digest, size}, ...]}
 *     config    {"architecture", "os", "config": {Entrypoint, Cmd, Env ...},
 *                "rootfs": {"diff_ids": [sha256 of each layer, uncompressed]}}
 *     layers    tar archives (gzip, zstd, or plain), applied in order
 *
 * and the commands that read images from the store: images, rmi, inspect, unpack.
 */
#define _GNU_SOURCE
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ref.h"
#include "registry.h"
#include "unpack.h"


static const char *layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar",
	NULL,
};

json_t *image_parse_manifest(const char *body, size_t len, const char *ctype, int *is_index, struct md_error *err)
{
	json_error_t je;
	json_t *m = json_loadb(body, len, 0, &je);
	if (!json_is_object(m)) {
		json_decref(m);
		md_fail(err, "the manifest is not a JSON object (%s)", je.text);
		return NULL;
	}
	if (json_object_get(m, "mediaType") && !json_is_string(json_object_get(m, "mediaType"))) {
		md_fail(err, "the manifest's mediaType is not a string: refusing it");
		json_decref(m);
		return NULL;
	}
	const char *mt = json_string_value(json_object_get(m, "mediaType"));
	if (!mt || !*mt)
		mt = ctype;
	/* the body says what it is; the header must say the same (CVE-2021-41190) */
	if (ctype && *ctype && strcmp(mt, ctype)) {
		md_fail(err, "the manifest's mediaType %s contradicts its Content-Type %s: refusing it", mt, ctype);
		json_decref(m);
		return NULL;
	}
	if (json_object_get(m, "manifests") && json_object_get(m, "layers")) {
		md_fail(err, "the manifest has both manifests and layers: refusing an ambiguous document");
		json_decref(m);
		return NULL;
	}
	if (!mt || !*mt)
		mt = json_object_get(m, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST;
	if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)) {
		*is_index = 1;
	} else if (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST)) {
		*is_index = 0;
	} else {
		md_fail(err, "unsupported manifest media type %s (we read OCI and Docker schema 2 manifests and indexes)", mt);
		json_decref(m);
		return NULL;
	}
	if (json_integer_value(json_object_get(m, "schemaVersion")) != 2) {
		md_fail(err, "unsupported manifest schemaVersion (want 2)");
		json_decref(m);
		return NULL;
	}
	if (!json_object_get(m, "mediaType"))
		json_object_set_new(m, "mediaType", json_string(mt));
	return m;
}

/* uname -m -> GOARCH, as the platform objects of an index spell it */
static void host_platform(const struct md_opts *o, char *os, char *arch, char *variant)
{
	struct utsname u;
	strcpy(os, "linux");
	variant[0] = 0;
	if (o->platform) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", o->platform);
		char *a = strchr(buf, '/'), *v = a ? strchr(a + 1, '/') : NULL;
		if (v)
			*v++ = 0, snprintf(variant, 32, "%.31s", v);
		if (a)
			*a++ = 0, snprintf(arch, 32, "%.31s", a);
		snprintf(os, 32, "%.31s", buf);
		return;
	}
	uname(&u);
	if (!strcmp(u.machine, "x86_64"))
		strcpy(arch, "amd64");
	else if (!strcmp(u.machine, "aarch64"))
		strcpy(arch, "arm64"), strcpy(variant, "v8");
	else if (!strncmp(u.machine, "armv7", 5))
		strcpy(arch, "arm"), strcpy(variant, "v7");
	else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
		strcpy(arch, "386");
	else
		snprintf(arch, 32, "%.31s", u.machine);
}

const char *image_choose_platform(const struct md_opts *o, json_t *index, struct md_error *err)
{
	char os[32], arch[32], variant[32], seen[512] = "";
	size_t i;
	json_t *d;
	const char *best = NULL;
	host_platform(o, os, arch, variant);
	json_array_foreach(json_object_get(index, "manifests"), i, d)
	{
		json_t *p = json_object_get(d, "platform");
		const char *pos = json_string_value(json_object_get(p, "os"));
		const char *parch = json_string_value(json_object_get(p, "architecture"));
		const char *pvar = json_string_value(json_object_get(p, "variant"));
		const char *kind = json_string_value(json_object_get(json_object_get(d, "annotations"),
								    "vnd.docker.reference.type"));
		if (kind && !strcmp(kind, "attestation-manifest"))
			continue; /* build provenance (platform unknown/unknown), not an image */
		if (!pos || !parch)
			continue;
		size_t n = strlen(seen);
		snprintf(seen + n, sizeof(seen) - n, "%s%s/%s%s%s", n ? ", " : "", pos, parch, pvar ? "/" : "", pvar ? pvar : "");
		if (strcmp(pos, os) || strcmp(parch, arch))
			continue;
		if (variant[0] && pvar && strcmp(pvar, variant))
			continue;
		if (!best || (variant[0] && pvar))
			best = json_string_value(json_object_get(d, "digest"));
	}
	if (!best) {
		md_fail(err, "no image for %s/%s%s%s in the index (it has: %s); choose one with --platform", os, arch,
			variant[0] ? "/" : "", variant, seen[0] ? seen : "nothing");
		return NULL;
	}
	if (!digest_valid(best)) {
		md_fail(err, "the index names a bad digest '%s'", best);
		return NULL;
	}
	return best;
}

int image_check_manifest(json_t *m, struct md_error *err)
{
	json_t *c = json_object_get(m, "config"), *l;
	const char *cmt = json_string_value(json_object_get(c, "mediaType"));
	size_t i;
	if (!digest_valid(json_string_value(json_object_get(c, "digest"))))
		return md_fail(err, "the manifest has no valid config digest");
	if (cmt && strcmp(cmt, "application/vnd.oci.image.config.v1+json") &&
	    strcmp(cmt, "application/vnd.docker.container.image.v1+json"))
		return md_fail(err, "this is not a container image: its config is %s (an artifact?)", cmt);
	if (!json_is_array(json_object_get(m, "layers")) || json_array_size(json_object_get(m, "layers")) > MAX_LAYERS)
		return md_fail(err, "the manifest's layers are missing or more than %d", MAX_LAYERS);
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		const char *mt = json_string_value(json_object_get(l, "mediaType")), *dg;
		int ok = 0;
		for (int k = 0; mt && layer_types[k]; k++)
			ok |= !strcmp(mt, layer_types[k]);
		if (!ok)
			return md_fail(err, "layer %zu has unsupported media type %s", i + 1, mt ? mt : "(none)");
		dg = json_string_value(json_object_get(l, "digest"));
		if (!digest_valid(dg) || json_integer_value(json_object_get(l, "size")) < 0)
			return md_fail(err, "layer %zu has a bad digest or size", i + 1);
	}
	return 0;
}

/* where a blob is while committing: staged (just downloaded) or already stored */
static char *blob_src(struct store *s, const char *stage, const char *digest)
{
	char *p = xasprintf("%s/%s", stage, digest_hex(digest));
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return store_blob_path(s, digest);
}

static int unpack_layer(struct store *s, const char *stage, json_t *layer, size_t i, const char *diff_id,
			const char *chain, struct md_error *err)
{
	const char *digest = json_string_value(json_object_get(layer, "digest"));
	char *dir = xasprintf("%s/layer-%s", stage, digest_hex(chain)), *blob = blob_src(s, stage, digest);
	char label[128], got[DIGEST_LEN];
	struct unpack_opts uo = {.mode = UNPACK_LAYER, .max_bytes = s->o->max_unpack, .max_entries = s->o->max_entries,
				 .label = label};
	int rc = -1, fd = -1;
	snprintf(label, sizeof(label), "layer %zu (%.19s)", i + 1, digest);
	if (mkdir(dir, 0755) < 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		md_fail_errno(err, "mkdir %s", dir);
		goto out;
	}
	if (unpack_blob(blob, fd, &uo, got, err) < 0)
		goto out;
	/* the uncompressed tar must be the one the config names: a tampered layer stops here */
	if (strcmp(got, diff_id)) {
		md_fail(err, "%s uncompresses to %s but the config says diff_id %s: refusing the image", label, got, diff_id);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	free(blob);
	return rc;
}

/*
 * build.c: a layer it made (BLOB, a file in STAGE) into the store, as pull puts one there:
 * unpacked under ROOT/layers/CHAIN unless that is there already (checking its DiffID on the
 * way), then the blob itself moved into blobs/. Called with the store locked.
 */
int image_add_layer(struct store *s, const char *stage, const char *blob, const char *digest, const char *diff_id,
		    const char *chain, struct md_error *err)
{
	char *have = store_layer_path(s, chain), *dir = xasprintf("%s/layer-%s", stage, digest_hex(chain));
	char label[128], got[DIGEST_LEN];
	struct unpack_opts uo = {.mode = UNPACK_LAYER, .max_bytes = s->o->max_unpack, .max_entries = s->o->max_entries,
				 .label = label};
	int rc = -1, fd = -1;
	snprintf(label, sizeof(label), "the new layer (%.19s)", digest);
	if (access(have, F_OK) == 0) {
		rc = store_put_blob(s, digest, blob, err);
		goto out;
	}
	if (mkdir(dir, 0755) < 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		md_fail_errno(err, "mkdir %s", dir);
		goto out;
	}
	if (unpack_blob(blob, fd, &uo, got, err) < 0)
		goto out;
	if (strcmp(got, diff_id)) {
		md_fail(err, "%s uncompresses to %s, not the %s it was written as", label, got, diff_id);
		goto out;
	}
	if (store_put_blob(s, digest, blob, err) < 0)
		goto out;
	if (rename(dir, have) < 0) {
		md_fail_errno(err, "rename %s to %s", dir, have);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		rm_rf(dir);
	free(have);
	free(dir);
	return rc;
}

static int move_into_place(struct store *s, const char *stage, json_t *m, const char *mdigest,
			   char (*chains)[DIGEST_LEN], size_t n, struct md_error *err)
{
	const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	json_t *l;
	size_t i;
	char *p;
	/* blobs first, the layer dirs next, index.json last: a name only ever points at complete content */
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		const char *d = json_string_value(json_object_get(l, "digest"));
		p = xasprintf("%s/%s", stage, digest_hex(d));
		if (access(p, F_OK) == 0 && store_put_blob(s, d, p, err) < 0) {
			free(p);
			return -1;
		}
		free(p);
	}
	const char *more[2] = {cd, mdigest};
	for (int k = 0; k < 2; k++) {
		p = xasprintf("%s/%s", stage, digest_hex(more[k]));
		if (access(p, F_OK) == 0 && store_put_blob(s, more[k], p, err) < 0) {
			free(p);
			return -1;
		}
		free(p);
	}
	for (i = 0; i < n; i++) {
		char *src = xasprintf("%s/layer-%s", stage, digest_hex(chains[i])), *dst = store_layer_path(s, chains[i]);
		int rc = 0;
		if (access(src, F_OK) == 0 && rename(src, dst) < 0)
			rc = md_fail_errno(err, "rename %s to %s", src, dst);
		free(src);
		free(dst);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int image_commit(struct store *s, const char *stage, const char *manifest, size_t mlen, const char *media_type,
		 const char **names, int n_names, struct md_error *err)
{
	char mdigest[DIGEST_LEN], cdigest[DIGEST_LEN], chains[MAX_LAYERS][DIGEST_LEN];
	char *cbuf = NULL, *cpath = NULL, *mpath = NULL;
	size_t clen, n = 0, i;
	json_t *m = NULL, *config = NULL, *idx = NULL, *l;
	int is_index = 0, rc = -1;

	if (sha256_buf(manifest, mlen, mdigest, err) < 0)
		return -1;
	if (!(m = image_parse_manifest(manifest, mlen, media_type, &is_index, err)))
		return -1;
	if (is_index) {
		md_fail(err, "internal: image_commit got an index");
		goto out;
	}
	if (image_check_manifest(m, err) < 0)
		goto out;
	const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	cpath = blob_src(s, stage, cd);
	if (read_file(cpath, 16 << 20, &cbuf, &clen, err) < 0 || sha256_buf(cbuf, clen, cdigest, err) < 0)
		goto out;
	if (strcmp(cdigest, cd)) {
		md_fail(err, "the config blob hashes to %s, not %s: refusing it", cdigest, cd);
		goto out;
	}
	if (!(config = json_loadb(cbuf, clen, 0, NULL))) {
		md_fail(err, "the config %s is not JSON", cd);
		goto out;
	}
	if (chain_ids(config, chains, MAX_LAYERS, &n, err) < 0)
		goto out;
	if (n != json_array_size(json_object_get(m, "layers"))) {
		md_fail(err, "the manifest has %zu layers but the config lists %zu diff_ids: refusing the image",
			json_array_size(json_object_get(m, "layers")), n);
		goto out;
	}
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		char *have = store_layer_path(s, chains[i]);
		int present = access(have, F_OK) == 0;
		free(have);
		if (present)
			continue; /* same ChainID: the same filesystem, already unpacked */
		const char *diff = json_string_value(json_array_get(json_object_get(json_object_get(config, "rootfs"), "diff_ids"), i));
		if (unpack_layer(s, stage, l, i, diff, chains[i], err) < 0)
			goto out;
	}
	/* the manifest itself is a blob too */
	mpath = xasprintf("%s/%s", stage, digest_hex(mdigest));
	if (!store_has_blob(s, mdigest) && write_file_atomic(mpath, manifest, mlen, err) < 0)
		goto out;
	if (move_into_place(s, stage, m, mdigest, chains, n, err) < 0)
		goto out;
	if (store_index_load(s, &idx, err) < 0)
		goto out;
	json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", json_string_value(json_object_get(m, "mediaType")),
				 "digest", mdigest, "size", (json_int_t)mlen);
	for (int k = 0; k < n_names; k++)
		store_index_set(idx, names[k], desc);
	if (!n_names) { /* a build without -t: an image without a name (images shows <none>), once */
		json_t *d;
		size_t j;
		int there = 0;
		json_array_foreach(json_object_get(idx, "manifests"), j, d) there |= !strcmp(json_string_value(json_object_get(d, "digest")), mdigest);
		if (!there)
			json_array_append(json_object_get(idx, "manifests"), desc);
	}
	json_decref(desc);
	rc = store_index_save(s, idx, err);
out:
	json_decref(idx);
	json_decref(config);
	json_decref(m);
	free(cbuf);
	free(cpath);
	free(mpath);
	return rc;
}
