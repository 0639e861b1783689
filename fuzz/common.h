/* common.h: what every harness needs: a NUL-terminated copy of the input, and say() (main.c has it). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mini-docker.h"

/* the engine narrates with say(); main.c defines it, and main.c is not linked in */
void say(const struct md_opts *o, const char *fmt, ...)
{
	(void)o, (void)fmt;
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
