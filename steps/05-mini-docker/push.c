/*
 * push.c: mini-docker push [REGISTRY/]NAME[:TAG]
 *
 *     $ docker push 127.0.0.1:5000/rantune          # the slides' loop: build, push, pull elsewhere
 *     $ mini-docker tag busybox 127.0.0.1:5000/mybox && mini-docker push 127.0.0.1:5000/mybox
 *
 * What pull does, backwards (the OCI distribution spec's push):
 *   1. for the config and each layer: HEAD /v2/NAME/blobs/DIGEST; a blob the
 *      registry has already is not sent again ("Layer already exists");
 *   2. else POST /v2/NAME/blobs/uploads/ opens an upload, and one PUT to its
 *      Location with ?digest=DIGEST sends the whole blob (monolithic upload);
 *      a blob over --chunk-size (64 MiB) goes in PATCHes of that size first,
 *      each to the Location the last answer gave (chunked upload); the
 *      registry hashes it and refuses it if it is not what it is named. When
 *      an image of the store from the same registry lists the blob (the image
 *      a build started FROM), the POST asks ?mount=DIGEST&from=THAT-REPO
 *      first: the registry links the blob it has ("Mounted from"), 201, and
 *      nothing is sent;
 *   3. last, PUT /v2/NAME/manifests/TAG with the manifest's own bytes and media
 *      type: the tag appears only once everything it points at is there
 *      (--format v2s2|oci: the manifest rewritten with the other family's
 *      media types first, the blobs unchanged).
 * The bytes sent are the store's own, so the digests do not change: an image
 * pushed and pulled back is the same image, blob for blob.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "opts.h"
#include "ref.h"
#include "registry.h"

/*
 * A repository of the same registry that has DIGEST already, as the store knows it: an image
 * of the store named REGISTRY/OTHER whose manifest lists it as a layer or its config (the
 * image a build started FROM, pulled from there). NULL when none. Malloc'd.
 */
static char *mount_source(struct store *s, json_t *idx, const struct image_ref *to, const char *digest)
{
	json_t *d, *l;
	size_t i, j;
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		const char *name = json_string_value(json_object_get(json_object_get(d, "annotations"), REF_NAME_ANNOTATION));
		struct image_ref r;
		struct md_error ignored;
		json_t *m, *c;
		if (!name || ref_parse(name, &r, &ignored) < 0 || strcmp(r.registry, to->registry) || !strcmp(r.repo, to->repo))
			continue;
		if (store_load(s, d, &m, &c, &ignored) < 0)
			continue;
		const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
		int has = cd && !strcmp(cd, digest);
		json_array_foreach(json_object_get(m, "layers"), j, l) has |= !strcmp(json_string_value(json_object_get(l, "digest")), digest);
		json_decref(m);
		json_decref(c);
		if (has)
			return xstrdup(r.repo);
	}
	return NULL;
}

/* on a terminal, the blob being sent as a bar redrawn in place (as docker push); elsewhere nothing until it is done */
struct bar {
	const char *digest;
	uint64_t size;
	struct timespec last;
};

static void draw_bar(void *ctx, uint64_t done)
{
	struct bar *b = ctx;
	struct timespec now;
	char hd[32], ht[32], bar[32];
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - b->last.tv_sec) * 1000 + (now.tv_nsec - b->last.tv_nsec) / 1000000 < 100 && done < b->size)
		return;
	b->last = now;
	int w = b->size ? (int)(25 * (done > b->size ? b->size : done) / b->size) : 25;
	memset(bar, '=', w);
	bar[w] = '>';
	memset(bar + w + 1, ' ', 25 - w);
	bar[26] = 0;
	human_size(done, hd, sizeof(hd));
	human_size(b->size, ht, sizeof(ht));
	printf("\r\033[2K%.12s: Pushing [%s] %s/%s", b->digest + 7, bar, hd, ht);
	fflush(stdout);
}

/* one blob of the image: there already, mounted from another repository, or uploaded */
static int push_blob(struct registry *r, struct store *s, json_t *idx, const struct image_ref *to, json_t *desc,
		     struct md_error *err)
{
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	json_int_t size = json_integer_value(json_object_get(desc, "size"));
	if (!digest)
		return md_fail(err, "a descriptor without a digest in the manifest: the store is damaged");
	int there = registry_blob_exists(r, digest, err);
	if (there < 0)
		return -1;
	if (there) {
		printf("%.12s: Layer already exists\n", digest + 7);
		return 0;
	}
	char *path = store_blob_path(s, digest), *from = mount_source(s, idx, to, digest);
	struct bar b = {.digest = digest, .size = (uint64_t)size};
	int tty = s->o->tty && isatty(1);
	int rc = registry_blob_upload(r, digest, path, (uint64_t)size, from, tty ? draw_bar : NULL, &b, err);
	if (tty)
		printf("\r\033[2K"); /* the bar gives way to the blob's last word */
	if (rc == 1)
		printf("%.12s: Mounted from %s\n", digest + 7, from);
	else if (rc == 0)
		printf("%.12s: Pushed\n", digest + 7);
	free(path);
	free(from);
	fflush(stdout);
	return rc < 0 ? -1 : 0;
}

/*
 * push --format oci|v2s2: the same image under the other family's media types (podman's
 * --format). The config and the layers are the same bytes, so only the manifest changes
 * (and its digest): {OCI, Docker} pairs of the config and of each layer type.
 */
static const char *const kinds[][2] = {
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"},
    {"application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
    {"application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar"},
};

static int convert(json_t *desc, int to_docker, struct md_error *err)
{
	const char *t = json_string_value(json_object_get(desc, "mediaType"));
	for (size_t i = 0; t && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(t, kinds[i][0]) || !strcmp(t, kinds[i][1])) {
			json_object_set_new(desc, "mediaType", json_string(kinds[i][to_docker]));
			return 0;
		}
	return md_fail(err, "--format %s: a blob of type %s has no such type there (zstd layers are OCI only)",
		       to_docker ? "v2s2" : "oci", t ? t : "(none)");
}

/* BODY (the stored manifest) in FORMAT: a new body when it differs, else BODY itself */
static int manifest_as(const char *format, char **body, size_t *len, const char **mtype, struct md_error *err)
{
	int to_docker = !strcmp(format, "v2s2");
	const char *want = to_docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;
	if (*mtype && !strcmp(*mtype, want))
		return 0;
	json_t *m = json_loadb(*body, *len, 0, NULL), *l;
	size_t i;
	int rc = m ? convert(json_object_get(m, "config"), to_docker, err) : md_fail(err, "the manifest is not JSON");
	json_array_foreach(json_object_get(m, "layers"), i, l) if (rc == 0) rc = convert(l, to_docker, err);
	if (rc == 0) {
		json_object_set_new(m, "mediaType", json_string(want));
		json_object_del(m, "annotations");
		free(*body);
		*body = json_dumps(m, JSON_COMPACT);
		*len = strlen(*body);
		*mtype = want;
	}
	json_decref(m);
	return rc;
}

static int push(const struct md_opts *o, const char *name, const char *format, struct md_error *err)
{
	struct image_ref ref;
	struct store s;
	struct registry *r = NULL;
	json_t *idx = NULL, *desc, *m = NULL, *c = NULL, *l;
	char *body = NULL, got[DIGEST_LEN] = "";
	size_t len, i;
	int rc = -1;
	if (ref_parse(name, &ref, err) < 0)
		return -1;
	if (ref.digest[0])
		return md_fail(err, "push %s: push a NAME[:TAG]; a digest names what is there already", name);
	if (store_open(&s, o, err) < 0)
		return -1;
	if (store_index_load(&s, &idx, err) < 0 || store_find(&s, idx, name, &desc, &m, &c, err) < 0)
		goto out;
	const char *mdigest = json_string_value(json_object_get(desc, "digest"));
	const char *mtype = json_string_value(json_object_get(desc, "mediaType"));
	if (!mdigest || store_read_blob(&s, mdigest, 4 << 20, &body, &len, err) < 0)
		goto out;
	if (format && manifest_as(format, &body, &len, &mtype, err) < 0)
		goto out;
	if (registry_open_push(&r, o, ref_api_host(&ref), ref.repo, err) < 0)
		goto out;
	printf("The push refers to repository [%s/%s]\n", ref.registry, ref.repo);
	fflush(stdout);
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		if (push_blob(r, &s, idx, &ref, l, err) < 0)
			goto out;
	}
	if (push_blob(r, &s, idx, &ref, json_object_get(m, "config"), err) < 0 ||
	    registry_manifest_put(r, ref.tag, body, len, mtype ? mtype : MT_OCI_MANIFEST, got, err) < 0)
		goto out;
	printf("%s: digest: %s size: %zu\n", ref.tag, got[0] ? got : mdigest, len);
	rc = 0;
out:
	registry_close(r);
	free(body);
	json_decref(m);
	json_decref(c);
	json_decref(idx);
	store_close(&s);
	if (rc < 0)
		md_context(err, "push %s", name);
	return rc;
}

int cmd_push(const struct md_opts *o, int argc, char **argv)
{
	struct md_error err;
	struct md_getopt g;
	const char *format = NULL;
	int k;
	static const struct md_option options[] = {{"format", 0, MD_VALUE}};
	static const char usage[] = "push [--format oci|v2s2] [REGISTRY/]NAME[:TAG]";
	md_getopt_init(&g, "push", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		format = g.value;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 1)
		return md_usage(usage);
	if (format && strcmp(format, "oci") && strcmp(format, "v2s2")) {
		fprintf(stderr, "mini-docker: push: --format %s: use oci or v2s2 (Docker's v2 schema 2)\n", format);
		return EXIT_ENGINE;
	}
	if (push(o, argv[g.optind], format, &err) < 0) {
		fflush(stdout);
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	return 0;
}
