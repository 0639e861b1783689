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
 *      the registry hashes it and refuses it if it is not what it is named;
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

/* one blob of the image: there already, or uploaded */
static int push_blob(struct registry *r, struct store *s, json_t *desc, struct md_error *err)
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
	char *path = store_blob_path(s, digest);
	int rc = registry_blob_upload(r, digest, path, (uint64_t)size, err);
	free(path);
	if (rc == 0)
		printf("%.12s: Pushed\n", digest + 7);
	fflush(stdout);
	return rc;
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
		if (push_blob(r, &s, l, err) < 0)
			goto out;
	}
	if (push_blob(r, &s, json_object_get(m, "config"), err) < 0 ||
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
