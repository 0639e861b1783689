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
 *      type: the tag appears only once everything it points at is there.
 * The bytes sent are the store's own, so the digests do not change: an image
 * pushed and pulled back is the same image, blob for blob.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "opts.h"
#include "ref.h"
#include "registry.h"

/*
 * A repository of the same registry that has DIGEST already, as the store knows it: an image
 * of the store named REGISTRY/OTHER whose manifest lists it (the image a build started FROM,
 * pulled from there). NULL when none. Malloc'd.
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
		int has = 0;
		json_array_foreach(json_object_get(m, "layers"), j, l) has |= !strcmp(json_string_value(json_object_get(l, "digest")), digest);
		json_decref(m);
		json_decref(c);
		if (has)
			return xstrdup(r.repo);
	}
	return NULL;
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
	int rc = registry_blob_upload(r, digest, path, (uint64_t)size, from, err);
	if (rc == 1)
		printf("%.12s: Mounted from %s\n", digest + 7, from);
	else if (rc == 0)
		printf("%.12s: Pushed\n", digest + 7);
	free(path);
	free(from);
	fflush(stdout);
	return rc < 0 ? -1 : 0;
}

static int push(const struct md_opts *o, const char *name, struct md_error *err)
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
	int k;
	md_getopt_init(&g, "push", "push [REGISTRY/]NAME[:TAG]", NULL, 0, MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 1)
		return md_usage("push [REGISTRY/]NAME[:TAG]");
	if (push(o, argv[g.optind], &err) < 0) {
		fflush(stdout);
		fprintf(stderr, "mini-docker: %s\n", err.msg);
		return EXIT_ENGINE;
	}
	return 0;
}
