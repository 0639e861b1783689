/*
 * fuzz_ref: image references (ref.c). Whatever the input, ref_parse returns
 * 0 or -1 with a message; what it accepts is a name the store and the URL
 * builder can use: a valid repository, no "..", no '/' or odd bytes in the
 * registry, and it parses again to the same thing (a fixed point).
 */
#include <stdio.h>

#include "common.h"
#include "ref.h"

static void check_accepted(const struct image_ref *r)
{
	CHECK(r->registry[0]);
	CHECK(!strchr(r->registry, '/'));
	CHECK(!strstr(r->registry, ".."));
	for (const char *p = r->registry; *p; p++)
		CHECK(*p > ' ' && *p < 0x7f && !strchr("@#?%\\\"'<>`{}|^", *p));
	CHECK(r->repo[0] && r->repo[0] != '/');
	CHECK(!strstr(r->repo, ".."));
	CHECK(!strstr(r->repo, "//"));
	CHECK(r->tag[0] || r->digest[0]);
	CHECK(!r->digest[0] || digest_valid(r->digest));
	CHECK(ref_api_host(r)[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_ref r, again;
	struct md_error err = {0};
	char *s = nul_copy(data, size), full[1200];
	if (ref_parse(s, &r, &err) == 0) {
		check_accepted(&r);
		/* the canonical form parses to the same reference */
		ref_string(&r, full, sizeof(full));
		if (strlen(full) < 590) {
			CHECK(ref_parse(full, &again, &err) == 0);
			CHECK(!strcmp(again.registry, r.registry) && !strcmp(again.repo, r.repo));
			CHECK(!strcmp(again.tag, r.tag) || (!r.tag[0] && r.digest[0]));
		}
	} else {
		CHECK(err.msg[0]);
	}
	free(s);
	return 0;
}
