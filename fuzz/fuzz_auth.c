/*
 * fuzz_auth: WWW-Authenticate challenges (auth.c). Any header: no overflow,
 * at most MAX challenges, every scheme, name and value NUL-terminated
 * within its field, and challenge_param finds what was parsed.
 */
#include <stdio.h>

#include "auth.h"
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct challenge ch[MAX_CHALLENGES];
	char *s = nul_copy(data, size);
	memset(ch, 0xA5, sizeof(ch)); /* garbage, as on the stack: the parser must terminate what it writes */
	int n = auth_parse_challenges(s, ch, MAX_CHALLENGES);
	CHECK(n >= 0 && n <= MAX_CHALLENGES);
	for (int i = 0; i < n; i++) {
		CHECK(memchr(ch[i].scheme, 0, sizeof(ch[i].scheme)));
		CHECK(ch[i].scheme[0]);
		CHECK(ch[i].n_params >= 0 && ch[i].n_params <= MAX_PARAMS);
		for (int k = 0; k < ch[i].n_params; k++) {
			CHECK(memchr(ch[i].param[k].name, 0, sizeof(ch[i].param[k].name)));
			CHECK(memchr(ch[i].param[k].value, 0, sizeof(ch[i].param[k].value)));
			CHECK(challenge_param(&ch[i], ch[i].param[k].name) != NULL);
		}
		(void)challenge_param(&ch[i], "realm");
	}
	free(s);
	return 0;
}
