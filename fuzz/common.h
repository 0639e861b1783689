/* common.h: what every harness needs: a NUL-terminated copy of the input, and the run half's one function the images half calls. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mini-docker.h"
#include "store.h"

/* store_gc asks the containers (record.c, not linked in) which layers they use: none run here */
void containers_keep_layers(const struct md_opts *o, json_t *keep)
{
	(void)o, (void)keep;
}

static inline char *nul_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fuzz: invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__);             \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#endif
