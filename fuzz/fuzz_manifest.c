/*
 * fuzz_manifest: manifests, indexes and configs (image.c, store.c).
 * The first byte picks the Content-Type the "registry" sent (none, each of
 * the four manifest types, a wrong one); the rest is the body. Then what a
 * pull does with it: choose a platform from an index, check a manifest,
 * and read the same bytes as an image config (diff_ids -> ChainIDs).
 * Every refusal comes with a message; nothing leaks (ASan's leak check).
 */
#include <stdio.h>

#include "common.h"
#include "image.h"
#include "registry.h"
#include "store.h"

static const char *ctypes[] = {NULL, "", MT_OCI_INDEX, MT_OCI_MANIFEST, MT_DOCKER_LIST, MT_DOCKER_MANIFEST,
			       "application/json", "text/html"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_opts o = {.root = "/nonexistent"};
	struct md_error err = {0};
	int is_index = -1;
	if (size < 1)
		return 0;
	const char *ctype = ctypes[data[0] % (sizeof(ctypes) / sizeof(*ctypes))];
	if (data[0] & 0x80)
		o.platform = (data[0] & 0x40) ? "linux/arm64/v8" : "linux/arm";
	json_t *m = image_parse_manifest((const char *)data + 1, size - 1, ctype, &is_index, &err);
	if (!m) {
		CHECK(err.msg[0]);
	} else {
		CHECK(is_index == 0 || is_index == 1);
		CHECK(json_is_object(m));
		CHECK(json_string_value(json_object_get(m, "mediaType")));
		if (is_index) {
			const char *d = image_choose_platform(&o, m, &err);
			CHECK(d ? digest_valid(d) : err.msg[0] != 0);
		} else if (image_check_manifest(m, &err) == 0) {
			json_t *l;
			size_t i;
			CHECK(digest_valid(json_string_value(json_object_get(json_object_get(m, "config"), "digest"))));
			json_array_foreach(json_object_get(m, "layers"), i, l)
				CHECK(digest_valid(json_string_value(json_object_get(l, "digest"))));
		} else {
			CHECK(err.msg[0]);
		}
		json_decref(m);
	}
	/* the same bytes as an image config */
	json_t *c = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (c) {
		char chains[128][DIGEST_LEN];
		size_t n = 0;
		if (chain_ids(c, chains, 128, &n, &err) == 0) {
			CHECK(n <= 128);
			for (size_t i = 0; i < n; i++)
				CHECK(digest_valid(chains[i]));
		}
		json_decref(c);
	}
	return 0;
}
